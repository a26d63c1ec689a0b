//! The quantized emulation (`--context quantized`): executes a `q` graph exactly as its types
//! and attributes specify, with the integer kernels of [`crate::qkernels`]; inputs are f32
//! (quantized by `q.quantize` with HailoRT's rule), outputs are dequantized f32. It lives
//! beside the float interpreter so that everything that runs a graph (the quantizer, the
//! passes, `hailo infer`) finds float and integer evaluation in one crate.

use crate::error::{InterpError, Result};
use crate::qkernels::pointwise::Binary;
use crate::qkernels::{self, conv, pointwise, pool, shape, spatial, Requant};
use crate::LayerOutput;
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::QuantType;
use hailo_ir::builtin::{GRAPH, RETURN};
use hailo_ir::{Attribute, Module, OpId, ValueId};
use ndarray::{ArrayD, Axis, Ix4, IxDyn};
use rustc_hash::FxHashMap;

#[derive(Clone, Debug)]
enum Val {
    F(ArrayD<f32>),
    C(ArrayD<i32>),
}

/// A prepared quantized graph (its module is kept; weights are decoded per run).
pub struct QuantInterpreter<'m> {
    m: &'m Module,
    graph: OpId,
    consts: FxHashMap<ValueId, ArrayD<i32>>,
}

fn attr_i64s(m: &Module, op: OpId, k: &str) -> Vec<i64> {
    m.attr(op, k)
        .and_then(Attribute::as_i64_array)
        .unwrap_or_default()
}

impl<'m> QuantInterpreter<'m> {
    /// Prepares the first `builtin.graph` of `m`.
    pub fn new(m: &'m Module) -> Result<Self> {
        let graph = m
            .walk(m.top())
            .into_iter()
            .find(|&o| m.op(o).name_str() == GRAPH)
            .ok_or_else(|| InterpError::Graph("the module has no builtin.graph".into()))?;
        let mut consts = FxHashMap::default();
        for op in m.walk(graph) {
            if m.op(op).name_str() != q::CONST {
                continue;
            }
            let ty = m.value_type(m.result(op, 0));
            let shape: Vec<usize> = ty
                .shape()
                .unwrap_or(&[])
                .iter()
                .map(|&d| d as usize)
                .collect();
            let vals: Vec<i32> = match m.attr(op, "value") {
                Some(Attribute::DenseResource { key, .. }) => m
                    .resources
                    .get(key.as_str())
                    .map(|b| {
                        b.bytes
                            .chunks_exact(4)
                            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                            .collect()
                    })
                    .unwrap_or_default(),
                Some(Attribute::Dense(d)) => d.to_i64_vec().into_iter().map(|v| v as i32).collect(),
                _ => Vec::new(),
            };
            let arr = ArrayD::from_shape_vec(IxDyn(&shape), vals).map_err(|e| {
                InterpError::Quantized {
                    layer: String::new(),
                    op: q::CONST,
                    message: format!("constant does not match its type {ty}: {e}"),
                }
            })?;
            consts.insert(m.result(op, 0), arr);
        }
        Ok(QuantInterpreter { m, graph, consts })
    }

    /// Runs one batch; returns the graph results (f32).
    pub fn run(&self, inputs: &[ArrayD<f32>]) -> Result<Vec<ArrayD<f32>>> {
        self.run_observed(inputs, &mut |_| Ok(()))
    }

    /// Runs one batch, telling `observer` every layer's output, dequantized to f32 (once
    /// per layer: the last op carrying its `layer` name, so a concat's input requantizations
    /// are not reported separately).
    pub fn run_observed(
        &self,
        inputs: &[ArrayD<f32>],
        observer: &mut dyn FnMut(LayerOutput) -> Result<()>,
    ) -> Result<Vec<ArrayD<f32>>> {
        let m = self.m;
        let block = m.region(m.op(self.graph).regions()[0]).blocks()[0];
        let mut last: FxHashMap<&str, OpId> = FxHashMap::default();
        for op in m.block_ops(block) {
            if let Some(l) = m.attr(op, "layer").and_then(Attribute::as_str) {
                last.insert(l, op);
            }
        }
        let mut vals: FxHashMap<ValueId, Val> = FxHashMap::default();
        for (a, x) in m.block(block).args().iter().zip(inputs) {
            vals.insert(*a, Val::F(x.clone()));
        }
        for op in m.block_ops(block) {
            let name = m.op(op).name_str();
            if name == RETURN {
                return m
                    .op(op)
                    .operands()
                    .iter()
                    .map(|v| match vals.get(v) {
                        Some(Val::F(a)) => Ok(a.clone()),
                        _ => Err(self.err(
                            op,
                            "graph result is not an f32 tensor (missing q.dequantize?)",
                        )),
                    })
                    .collect();
            }
            if name == q::CONST {
                continue;
            }
            let out = self.eval(op, &vals).map_err(|e| self.err(op, &e))?;
            let layer = m.attr(op, "layer").and_then(Attribute::as_str);
            if let Some(l) = layer.filter(|l| last.get(l) == Some(&op)) {
                let value = match &out {
                    Val::F(a) => a.clone(),
                    Val::C(c) => {
                        let t = QuantType::parse(m.value_type(m.result(op, 0)))
                            .ok_or_else(|| self.err(op, "result is not quantized"))?;
                        qkernels::dequantize(c.view(), t.scale_at(0) as f32, t.zero_point())
                    }
                };
                observer(LayerOutput {
                    layer: l,
                    op: name,
                    result: 0,
                    value: &value,
                })?;
            }
            vals.insert(m.result(op, 0), out);
        }
        Err(InterpError::Graph("graph has no builtin.return".into()))
    }

    fn err(&self, op: OpId, msg: &str) -> InterpError {
        InterpError::Quantized {
            layer: self
                .m
                .attr(op, "layer")
                .and_then(Attribute::as_str)
                .unwrap_or("?")
                .into(),
            op: self.m.op(op).name_str(),
            message: msg.into(),
        }
    }

    fn eval(&self, op: OpId, vals: &FxHashMap<ValueId, Val>) -> Result<Val, String> {
        let m = self.m;
        let ops = m.op(op).operands();
        let codes = |i: usize| -> Result<&ArrayD<i32>, String> {
            match ops.get(i).and_then(|v| vals.get(v).or(None)) {
                Some(Val::C(c)) => Ok(c),
                _ => ops
                    .get(i)
                    .and_then(|v| self.consts.get(v))
                    .ok_or_else(|| format!("operand {i} is not an integer tensor")),
            }
        };
        let qt = |v: ValueId| {
            QuantType::parse(m.value_type(v))
                .ok_or_else(|| format!("'{}' is not quantized", m.value_type(v)))
        };
        let out_t = qt(m.result(op, 0));
        let requant = |mult: i64, shift: i64, t: &QuantType| -> Requant {
            let c = attr_i64s(m, op, "clamp");
            let st = t.storage();
            Requant {
                multiplier: mult,
                shift: shift as u32,
                zero_point: t.zero_point(),
                lo: *c.first().unwrap_or(&st.qmin()),
                hi: *c.get(1).unwrap_or(&st.qmax()),
            }
        };
        let four = |a: &ArrayD<i32>| {
            a.clone()
                .into_dimensionality::<Ix4>()
                .map_err(|e| e.to_string())
        };
        let name = m.op(op).name_str();
        Ok(match name {
            q::QUANTIZE => {
                let Some(Val::F(x)) = vals.get(&ops[0]) else {
                    return Err("input is not f32".into());
                };
                let t = out_t?;
                let (lo, hi) = t.float_range();
                let st = t.storage();
                Val::C(qkernels::quantize_input(
                    x.view(),
                    t.scale_at(0) as f32,
                    t.zero_point() as f32,
                    (lo as f32, hi as f32),
                    (st.qmin(), st.qmax()),
                ))
            }
            q::DEQUANTIZE => {
                let t = qt(ops[0])?;
                Val::F(qkernels::dequantize(
                    codes(0)?.view(),
                    t.scale_at(0) as f32,
                    t.zero_point(),
                ))
            }
            q::REQUANTIZE => {
                let t = out_t?;
                let r = requant(
                    attr_i64s(m, op, "multiplier")[0],
                    attr_i64s(m, op, "shift")[0],
                    &t,
                );
                Val::C(pointwise::requantize_tensor(
                    codes(0)?.view(),
                    qt(ops[0])?.zero_point(),
                    &r,
                ))
            }
            q::CONV2D | q::DEPTHWISE_CONV2D | q::DENSE => {
                let t = out_t?;
                let x = codes(0)?;
                let mult = attr_i64s(m, op, "multiplier");
                let shift = attr_i64s(m, op, "shift");
                let rq: Vec<Requant> = mult
                    .iter()
                    .enumerate()
                    .map(|(c, &mu)| requant(mu, *shift.get(c).unwrap_or(&shift[0]), &t))
                    .collect();
                let bias: Option<Vec<i64>> =
                    codes(2).ok().map(|b| b.iter().map(|&v| v as i64).collect());
                let zx = qt(ops[0])?.zero_point();
                let k = codes(1)?;
                if name == q::DENSE {
                    let (n, cin) = (x.shape()[0], x.shape()[1]);
                    let x4 = x
                        .clone()
                        .into_shape_with_order((n, 1, 1, cin))
                        .map_err(|e| e.to_string())?;
                    let k4 = k
                        .clone()
                        .into_shape_with_order((1, 1, k.shape()[0], k.shape()[1]))
                        .map_err(|e| e.to_string())?;
                    let g = conv::QConvGeometry {
                        strides: [1, 1],
                        dilations: [1, 1],
                        pads: [0; 4],
                        groups: 1,
                    };
                    let y = conv::conv2d(x4.view(), zx, k4.view(), bias.as_deref(), &g, &rq)
                        .map_err(|e| e.to_string())?;
                    let cout = y.shape()[3];
                    Val::C(
                        y.into_shape_with_order(IxDyn(&[n, cout]))
                            .map_err(|e| e.to_string())?,
                    )
                } else {
                    let x4 = four(x)?;
                    let mut k4 = four(k)?;
                    let groups = if name == q::DEPTHWISE_CONV2D {
                        let cin = x4.dim().3;
                        let (kh, kw, _, cout) = k4.dim();
                        // Depthwise = grouped conv with one input channel per group.
                        k4 = k4
                            .into_shape_with_order((kh, kw, 1, cout))
                            .map_err(|e| e.to_string())?;
                        cin
                    } else {
                        m.attr(op, "groups")
                            .and_then(Attribute::as_i64)
                            .unwrap_or(1) as usize
                    };
                    let us = |k: &str| {
                        attr_i64s(m, op, k)
                            .iter()
                            .map(|&v| v as usize)
                            .collect::<Vec<_>>()
                    };
                    let (s, d, p) = (us("strides"), us("dilations"), us("pads"));
                    let g = conv::QConvGeometry {
                        strides: [s[0], s[1]],
                        dilations: [d[0], d[1]],
                        pads: [p[0], p[1], p[2], p[3]],
                        groups,
                    };
                    Val::C(
                        conv::conv2d(x4.view(), zx, k4.view(), bias.as_deref(), &g, &rq)
                            .map_err(|e| e.to_string())?
                            .into_dyn(),
                    )
                }
            }
            q::EW_ADD | q::EW_SUB | q::EW_MAX | q::EW_MIN | q::EW_MULT | q::EW_DIV => {
                let t = out_t?;
                let mult = attr_i64s(m, op, "multiplier");
                let r = requant(0, attr_i64s(m, op, "shift")[0], &t);
                let pair = || (mult[0], *mult.get(1).unwrap_or(&0));
                let kind = match name {
                    q::EW_ADD => Binary::Add {
                        ma: pair().0,
                        mb: pair().1,
                    },
                    q::EW_SUB => Binary::Sub {
                        ma: pair().0,
                        mb: pair().1,
                    },
                    q::EW_MAX => Binary::Max {
                        ma: pair().0,
                        mb: pair().1,
                    },
                    q::EW_MIN => Binary::Min {
                        ma: pair().0,
                        mb: pair().1,
                    },
                    q::EW_MULT => Binary::Mult { m: mult[0] },
                    _ => Binary::Div { m: mult[0] },
                };
                Val::C(
                    pointwise::binary(
                        codes(0)?.view(),
                        qt(ops[0])?.zero_point(),
                        codes(1)?.view(),
                        qt(ops[1])?.zero_point(),
                        kind,
                        &r,
                    )
                    .map_err(|e| e.to_string())?,
                )
            }
            q::SLICE => Val::C(
                shape::slice(
                    codes(0)?.view(),
                    &attr_i64s(m, op, "starts"),
                    &attr_i64s(m, op, "ends"),
                    &attr_i64s(m, op, "steps"),
                )
                .map_err(|e| e.to_string())?,
            ),
            q::TRANSPOSE => {
                let perm: Vec<usize> = attr_i64s(m, op, "perm")
                    .iter()
                    .map(|&v| v as usize)
                    .collect();
                Val::C(shape::transpose(codes(0)?.view(), &perm).map_err(|e| e.to_string())?)
            }
            q::PAD => {
                // `pads` is all the befores, then all the afters (as `hl.pad`).
                let p = attr_i64s(m, op, "pads");
                let r = p.len() / 2;
                let pairs: Vec<(usize, usize)> =
                    (0..r).map(|a| (p[a] as usize, p[a + r] as usize)).collect();
                let mode = match m.attr(op, "mode").and_then(Attribute::as_str) {
                    Some("reflect") => shape::QPadMode::Reflect,
                    Some("edge") => shape::QPadMode::Edge,
                    Some("wrap") => shape::QPadMode::Wrap,
                    _ => shape::QPadMode::Constant(
                        m.attr(op, "value")
                            .and_then(Attribute::as_i64)
                            .ok_or("a constant pad needs its 'value' code")?
                            as i32,
                    ),
                };
                Val::C(shape::pad(codes(0)?.view(), &pairs, mode).map_err(|e| e.to_string())?)
            }
            q::MAXPOOL | q::AVGPOOL => {
                let us = |k: &str| {
                    attr_i64s(m, op, k)
                        .iter()
                        .map(|&v| v as usize)
                        .collect::<Vec<_>>()
                };
                let (k, s, p) = (us("kernel"), us("strides"), us("pads"));
                let g = pool::QPoolGeometry {
                    kernel: [k[0], k[1]],
                    strides: [s[0], s[1]],
                    pads: [p[0], p[1], p[2], p[3]],
                    count_include_pad: m
                        .attr(op, "count_include_pad")
                        .and_then(Attribute::as_bool)
                        .unwrap_or(false),
                };
                let x4 = four(codes(0)?)?;
                let y = if name == q::MAXPOOL {
                    pool::max_pool(x4.view(), &g)
                } else {
                    let t = out_t?;
                    let r = requant(
                        attr_i64s(m, op, "multiplier")[0],
                        attr_i64s(m, op, "shift")[0],
                        &t,
                    );
                    pool::avg_pool(x4.view(), qt(ops[0])?.zero_point(), &g, &r)
                };
                Val::C(y.map_err(|e| e.to_string())?.into_dyn())
            }
            q::GLOBAL_AVGPOOL => {
                let t = out_t?;
                let r = requant(
                    attr_i64s(m, op, "multiplier")[0],
                    attr_i64s(m, op, "shift")[0],
                    &t,
                );
                Val::C(
                    pool::global_avg_pool(four(codes(0)?)?.view(), qt(ops[0])?.zero_point(), &r)
                        .into_dyn(),
                )
            }
            q::CONCAT => {
                let axis = m.attr(op, "axis").and_then(Attribute::as_i64).unwrap_or(0) as usize;
                let parts: Vec<_> = (0..ops.len())
                    .map(|i| codes(i).map(|c| c.view()))
                    .collect::<Result<_, _>>()?;
                Val::C(ndarray::concatenate(Axis(axis), &parts).map_err(|e| e.to_string())?)
            }
            q::RESHAPE => {
                let x = codes(0)?;
                let mut shape: Vec<usize> = m
                    .value_type(m.result(op, 0))
                    .shape()
                    .unwrap_or(&[])
                    .iter()
                    .map(|&d| d as usize)
                    .collect();
                shape[0] = x.shape()[0];
                Val::C(
                    x.as_standard_layout()
                        .into_owned()
                        .into_shape_with_order(IxDyn(&shape))
                        .map_err(|e| e.to_string())?,
                )
            }
            q::RESIZE => {
                let x4 = four(codes(0)?)?;
                let shape = m.value_type(m.result(op, 0));
                let s = shape.shape().unwrap_or(&[]);
                let (h, w) = (
                    s.get(1).copied().unwrap_or(1),
                    s.get(2).copied().unwrap_or(1),
                );
                let mode = |k: &str, d: &'static str| {
                    m.attr(op, k).and_then(Attribute::as_str).unwrap_or(d)
                };
                let c = mode("coordinate", "half_pixel");
                let n = mode("nearest_mode", "round_prefer_floor");
                let coord = spatial::coordinate_mode(c)
                    .ok_or_else(|| format!("unknown coordinate mode '{c}'"))?;
                let size = [h as usize, w as usize];
                let y = if mode("mode", "nearest") == "bilinear" {
                    let f = m.attr(op, "frac_bits").and_then(Attribute::as_i64);
                    let f = u32::try_from(f.unwrap_or(0)).map_err(|e| e.to_string())?;
                    spatial::resize_bilinear(x4.view(), size, coord, f)
                } else {
                    let near = spatial::nearest_mode(n)
                        .ok_or_else(|| format!("unknown nearest_mode '{n}'"))?;
                    spatial::resize_nearest(x4.view(), size, coord, near)
                };
                Val::C(y.map_err(|e| e.to_string())?.into_dyn())
            }
            q::LUT => {
                let table: Vec<i32> = attr_i64s(m, op, "table")
                    .into_iter()
                    .map(|v| v as i32)
                    .collect();
                Val::C(
                    pointwise::lut(codes(0)?.view(), qt(ops[0])?.storage().qmin(), &table)
                        .map_err(|e| e.to_string())?,
                )
            }
            other => {
                return Err(format!(
                    "the quantized emulation has no kernel for '{other}'"
                ))
            }
        })
    }
}
