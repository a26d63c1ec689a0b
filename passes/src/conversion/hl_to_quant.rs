//! `hl-to-quant`: lowers a calibrated `hl` graph to integer `q` ops.
//!
//! The quantizer (`hailo-quantizer`) decides ranges and precisions and records them on the
//! `hl` ops as attributes; this pass only turns those decisions into types and integers:
//! - `q_range = [lo, hi]`: the float range of the op's result (required on input layers,
//!   weighted layers, average pools, elementwise ops and activations; data-movement ops
//!   keep their input's type);
//! - `q_bits` (8 or 16, default 8): activation bits of the result;
//! - `q_wbits` (4, 8 or 16, default 8): weight bits of a weighted layer;
//! - `q_in_bits` (8 or 16, optional): input bits of a weighted layer (three-part precision
//!   modes such as `a8_w8_a16`); an input of other bits is requantized to them first;
//! - `q_wclip = [t0, t1, ...]`: per-output-channel weight clipping thresholds (default
//!   max |W| of each channel);
//! - `q_bias_mode`: `single_scale_decomposition` or `double_scale_initialization` (default);
//! - `q_bias_correction = [e0, e1, ...]`: per-output-channel amounts subtracted from a
//!   weighted layer's float bias before it is quantized (`quant-bias-correction`).
//!
//! `hl.resize` (nearest and bilinear), `hl.maxpool`, `hl.reshape`, `hl.slice` and `hl.split`
//! move codes and keep their input's type ([`super::lower_layout`]); `hl.concat`
//! requantizes inputs whose type differs from its own. Two-input elementwise layers (add,
//! sub, max, min, mult, div) are in [`super::lower_ew`], weighted layers in
//! [`super::lower_weighted`], and the per-pixel affines (`hl.normalization`,
//! `hl.batch_norm`, `hl.color_conversion`) become 1×1 convolutions in [`super::lower_affine`];
//! transpose, depth_to_space, space_to_depth, feature_shuffle and pad move codes
//! ([`super::lower_rearrange`]). The transformer layers — data-driven `hl.matmul` and
//! `hl.softmax` / `hl.log_softmax` ([`super::lower_attention`]), `hl.layer_norm` / `hl.instance_norm`
//! ([`super::lower_norm`], also `hl.l2_norm`) and `hl.reduce` ([`super::lower_reduce`]) —
//! have integer ops of their own, as do `hl.deconv2d` (in [`super::lower_weighted`]),
//! `hl.prelu` and `hl.ew_pow` (a table, or `exp(b·ln a)` for a run-time exponent;
//! [`super::lower_pointwise`]),
//! `hl.argmax` and `hl.one_hot` ([`super::lower_index`]). A data operand that is an `hl.const` (a position embedding, an attention
//! scale) is quantized on its own 16-bit grid ([`data_operand`]).
//!
//! Graph inputs and outputs stay f32: input layers become `q.quantize`, output layers
//! `q.dequantize`. Host post-processing (`hl.nms`) stays float on dequantized operands
//! ([`super::lower_host`]). Fused ReLU/ReLU6 become the output clamp; other fused activations must be
//! split into `hl.activation` first (the quantizer does), which lowers to `q.lut`. An op with
//! no integer lowering is an error naming its layer; an op whose integer form the Hailo-8
//! cannot run (the lowering's `chip_limit`) is lowered and warned about, naming the limit.

use super::{
    lower_affine, lower_attention, lower_ew, lower_host, lower_index, lower_layout, lower_norm,
    lower_pointwise, lower_rearrange, lower_reduce, lower_weighted, lut,
};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::{Activation, PoolParams};
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::scheme;
use hailo_dialect_quant::{QuantType, Storage};
use hailo_ir::builtin::GRAPH;
use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Diagnostic, ExternalModels, Module, OpId, OpSpec, Type, ValueId};
use rustc_hash::FxHashMap;
use std::sync::LazyLock;

pub struct HlToQuant(NoOptions);

impl PassDef for HlToQuant {
    const NAME: &'static str = "hl-to-quant";
    const SUMMARY: &'static str =
        "Lower calibrated hl ops (q_range/q_bits annotations) to integer q ops";
    const ANCHOR: Option<&'static str> = None;
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        HlToQuant(o)
    }
    fn options(&self) -> &NoOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let graphs: Vec<OpId> = m
            .walk(root)
            .into_iter()
            .filter(|&o| m.op(o).name_str() == GRAPH)
            .collect();
        for g in graphs {
            for (op, msg) in chip_limits(m, g) {
                let loc = m.op(op).loc.clone();
                cx.diags.emit(Diagnostic::warning(loc, msg));
            }
            if let Err((op, msg)) = convert_graph(m, g) {
                let loc = m.op(op).loc.clone();
                return Err(cx.fail(Diagnostic::error(loc, msg)));
            }
        }
        Ok(Preserved::None)
    }
}

pub(super) type Res<T> = Result<T, String>;

/// Lowers every `hl` op of `graph`; on failure returns the offending op and the reason.
pub fn convert_graph(m: &mut Module, graph: OpId) -> Result<(), (OpId, String)> {
    let region = m.op(graph).regions()[0];
    let block = m.region(region).blocks()[0];
    let mut map: FxHashMap<ValueId, ValueId> = FxHashMap::default();
    let mut old = Vec::new();
    for op in m.block_ops(block) {
        let name = m.op(op).name_str();
        if !hl::interfaces::is_hl(m, op) {
            // The terminator and foreign ops read the converted values.
            let operands: Vec<ValueId> = m
                .op(op)
                .operands()
                .iter()
                .map(|v| *map.get(v).unwrap_or(v))
                .collect();
            m.set_operands(op, &operands);
            continue;
        }
        old.push(op);
        if name == hl::Const::NAME {
            continue;
        }
        let new = lower(m, op, &map).map_err(|e| {
            (
                op,
                format!("hl-to-quant: layer '{}' ({name}): {e}", layer(m, op)),
            )
        })?;
        for (i, v) in new.into_iter().enumerate() {
            map.insert(m.result(op, i), v);
        }
    }
    for op in old.into_iter().rev() {
        if m.op(op)
            .results()
            .iter()
            .all(|&r| m.value(r).uses().is_empty())
        {
            m.erase_op(op);
        }
    }
    Ok(())
}

/// The `hl` ops of `graph` whose integer form the Hailo-8 cannot run, each with a message
/// naming the limit: they are lowered and emulated all the same, and warned about.
pub fn chip_limits(m: &Module, graph: OpId) -> Vec<(OpId, String)> {
    m.walk(graph)
        .into_iter()
        .filter_map(|op| {
            let limit = lowerings().get(m, op)?.chip_limit(m, op)?;
            let name = m.op(op).name_str();
            Some((
                op,
                format!("hl-to-quant: layer '{}' ({name}): {limit}", layer(m, op)),
            ))
        })
        .collect()
}

fn layer(m: &Module, op: OpId) -> String {
    m.attr(op, "layer")
        .and_then(Attribute::as_str)
        .unwrap_or("?")
        .to_owned()
}

/// The q type of the result of `op` from its `q_range` and `q_bits`.
pub(super) fn result_type(m: &Module, op: OpId) -> Res<QuantType> {
    let range = m
        .attr(op, "q_range")
        .and_then(Attribute::as_f64_array)
        .ok_or(
        "missing calibration range 'q_range = [lo, hi]' (run the quantizer's calibration first)",
    )?;
    let [lo, hi] = range[..] else {
        return Err(format!("'q_range' must be [lo, hi], got {range:?}"));
    };
    let bits = m
        .attr(op, "q_bits")
        .and_then(Attribute::as_i64)
        .unwrap_or(8);
    let st = Storage::unsigned(bits as u32)
        .ok_or_else(|| format!("'q_bits' must be 8 or 16, got {bits}"))?;
    Ok(scheme::activation_type(lo, hi, st))
}

pub(super) fn qtype_of(m: &Module, v: ValueId) -> Res<QuantType> {
    QuantType::parse(m.value_type(v))
        .ok_or_else(|| format!("operand of type '{}' was not quantized", m.value_type(v)))
}

fn shape_of(m: &Module, v: ValueId) -> Vec<i64> {
    m.value_type(v).shape().unwrap_or(&[]).to_vec()
}

pub(super) fn emit(
    m: &mut Module,
    at: OpId,
    name: &str,
    operands: &[ValueId],
    ty: Type,
    attrs: Vec<(&str, Attribute)>,
) -> ValueId {
    let mut spec = OpSpec::new(name)
        .operands(operands)
        .results(&[ty])
        .loc(m.op(at).loc.clone());
    for (k, v) in attrs {
        spec = spec.attr(k, v);
    }
    if let Some(l) = m.attr(at, "layer").cloned() {
        spec = spec.attr("layer", l);
    }
    let op = m.create_op(spec);
    m.insert_before(at, op);
    m.result(op, 0)
}

pub(super) fn get(map: &FxHashMap<ValueId, ValueId>, v: ValueId) -> Res<ValueId> {
    map.get(&v)
        .copied()
        .ok_or_else(|| "operand is not defined by a lowered op".to_owned())
}

/// The lowered value of data operand `v` of `at`: the result of its lowered producer or,
/// when `v` is an `hl.const`, the constant quantized on its own unsigned 16-bit grid (its
/// range widened to hold 0) as a `q.const` named `<layer>.<what>_q`.
pub(super) fn data_operand(
    m: &mut Module,
    at: OpId,
    map: &FxHashMap<ValueId, ValueId>,
    v: ValueId,
    what: &str,
) -> Res<ValueId> {
    if let Some(&x) = map.get(&v) {
        return Ok(x);
    }
    if m.defining_op(v)
        .and_then(|d| hl::Const::cast(m, d))
        .is_none()
    {
        return get(map, v);
    }
    let vals = lower_weighted::const_values(m, v)?;
    if let Some(x) = vals.iter().find(|x| !x.is_finite()) {
        return Err(format!("constant operand '{what}' holds {x}"));
    }
    let (lo, hi) = vals
        .iter()
        .fold((0.0f64, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    let t = scheme::activation_type(lo, hi, Storage::U16);
    let codes: Vec<i32> = vals
        .iter()
        .map(|&x| scheme::quantize(x, t.scale_at(0), t.zero_point(), Storage::U16) as i32)
        .collect();
    let ty = t.tensor(&shape_of(m, v));
    let key = format!("{}.{what}_q", layer(m, at));
    Ok(lower_weighted::int_const(m, at, &key, &codes, ty))
}

/// The values replacing an op's results, by result index.
pub(super) type Lowered = Res<Vec<ValueId>>;

/// The hl→q lowering interface: emits an op's integer ops (after it, reading the lowered
/// operands through `map`) and returns the values that replace its results. Attached to
/// the `hl` ops here as external models, since lowering needs both dialects.
pub(super) trait LowerToQuant: Sync {
    fn lower(&self, m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered;

    /// The Hailo-8 limit (DFC guide §5.5) that the op's integer form exceeds, if any.
    fn chip_limit(&self, _m: &Module, _op: OpId) -> Option<String> {
        None
    }
}

/// A lowering written as a function.
pub(super) struct Lowering(pub fn(&mut Module, OpId, &FxHashMap<ValueId, ValueId>) -> Lowered);

impl LowerToQuant for Lowering {
    fn lower(&self, m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered {
        (self.0)(m, op, map)
    }
}

/// `hl.ew_pow`: a table, or `exp(b·ln a)`, which the chip cannot run
/// ([`lower_pointwise::pow_chip_limit`]).
struct PowLowering;

impl LowerToQuant for PowLowering {
    fn lower(&self, m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered {
        lower_pointwise::pow(m, op, map).map(|v| vec![v])
    }

    fn chip_limit(&self, m: &Module, op: OpId) -> Option<String> {
        lower_pointwise::pow_chip_limit(m, op)
    }
}

/// A lowering with one result.
macro_rules! single {
    ($f:path) => {
        Lowering(|m, op, map| $f(m, op, map).map(|v| vec![v]))
    };
}

const INPUT: Lowering = Lowering(input_layer);
const OUTPUT: Lowering = Lowering(output_layer);
const MAX_POOL: Lowering = Lowering(max_pool);
const GLOBAL_MAX_POOL: Lowering = Lowering(global_max_pool);
const AVG_POOL: Lowering = Lowering(avg_pool);
const CONCAT: Lowering = Lowering(concat);
const RESHAPE: Lowering = Lowering(reshape);
const ACTIVATION: Lowering = Lowering(activation);
const WEIGHTED: Lowering = single!(lower_weighted::lower);
const REARRANGE: Lowering = single!(lower_rearrange::lower);
const AFFINE: Lowering = single!(lower_affine::lower);
const ELEMENTWISE: Lowering = single!(lower_ew::lower);
const SLICE: Lowering = single!(lower_layout::slice);
const SPLIT: Lowering = Lowering(lower_layout::split);
const RESIZE: Lowering = single!(lower_layout::resize);
const MATMUL: Lowering = single!(lower_attention::matmul);
const SOFTMAX: Lowering = single!(lower_attention::softmax);
const NORM: Lowering = single!(lower_norm::lower);
const REDUCE: Lowering = single!(lower_reduce::lower);
const PRELU: Lowering = single!(lower_pointwise::prelu);
const ARGMAX: Lowering = single!(lower_index::argmax);
const ONE_HOT: Lowering = single!(lower_index::one_hot);
const HOST: Lowering = Lowering(lower_host::lower);

/// Every `hl` op with an integer lowering.
fn lowerings() -> &'static ExternalModels<dyn LowerToQuant> {
    static MODELS: LazyLock<ExternalModels<dyn LowerToQuant>> = LazyLock::new(|| {
        ExternalModels::<dyn LowerToQuant>::new()
            .attach::<hl::InputLayer>(&INPUT)
            .attach::<hl::OutputLayer>(&OUTPUT)
            .attach::<hl::Conv2d>(&WEIGHTED)
            .attach::<hl::DepthwiseConv2d>(&WEIGHTED)
            .attach::<hl::Dense>(&WEIGHTED)
            .attach::<hl::Deconv2d>(&WEIGHTED)
            .attach::<hl::Prelu>(&PRELU)
            .attach::<hl::ArgMax>(&ARGMAX)
            .attach::<hl::OneHot>(&ONE_HOT)
            .attach::<hl::EwPow>(&PowLowering)
            .attach::<hl::Nms>(&HOST)
            .attach::<hl::Transpose>(&REARRANGE)
            .attach::<hl::DepthToSpace>(&REARRANGE)
            .attach::<hl::SpaceToDepth>(&REARRANGE)
            .attach::<hl::FeatureShuffle>(&REARRANGE)
            .attach::<hl::Pad>(&REARRANGE)
            .attach::<hl::FormatConversion>(&REARRANGE)
            .attach::<hl::Normalization>(&AFFINE)
            .attach::<hl::BatchNorm>(&AFFINE)
            .attach::<hl::ColorConversion>(&AFFINE)
            .attach::<hl::MaxPool>(&MAX_POOL)
            .attach::<hl::GlobalMaxPool>(&GLOBAL_MAX_POOL)
            .attach::<hl::AvgPool>(&AVG_POOL)
            .attach::<hl::GlobalAvgPool>(&AVG_POOL)
            .attach::<hl::EwAdd>(&ELEMENTWISE)
            .attach::<hl::EwSub>(&ELEMENTWISE)
            .attach::<hl::EwMax>(&ELEMENTWISE)
            .attach::<hl::EwMin>(&ELEMENTWISE)
            .attach::<hl::EwMult>(&ELEMENTWISE)
            .attach::<hl::EwDiv>(&ELEMENTWISE)
            .attach::<hl::Slice>(&SLICE)
            .attach::<hl::Split>(&SPLIT)
            .attach::<hl::Concat>(&CONCAT)
            .attach::<hl::Resize>(&RESIZE)
            .attach::<hl::Reshape>(&RESHAPE)
            .attach::<hl::ActivationOp>(&ACTIVATION)
            .attach::<hl::MatMul>(&MATMUL)
            .attach::<hl::Softmax>(&SOFTMAX)
            .attach::<hl::LogSoftmax>(&SOFTMAX)
            .attach::<hl::LayerNorm>(&NORM)
            .attach::<hl::InstanceNorm>(&NORM)
            .attach::<hl::L2Norm>(&NORM)
            .attach::<hl::Reduce>(&REDUCE)
    });
    &MODELS
}

fn lower(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered {
    lowerings()
        .get(m, op)
        .ok_or("no integer lowering for this op yet")?
        .lower(m, op, map)
}

fn input_layer(m: &mut Module, op: OpId, _: &FxHashMap<ValueId, ValueId>) -> Lowered {
    let operands = m.op(op).operands().to_vec();
    let out_shape = shape_of(m, m.result(op, 0));
    let t = result_type(m, op)?;
    Ok(vec![emit(
        m,
        op,
        q::QUANTIZE,
        &operands,
        t.tensor(&out_shape),
        vec![],
    )])
}

/// The lowered first operand and the shape of the op's first result.
fn operand_and_shape(
    m: &Module,
    op: OpId,
    map: &FxHashMap<ValueId, ValueId>,
) -> Res<(ValueId, Vec<i64>)> {
    let first = *m.op(op).operands().first().ok_or("has no operand")?;
    Ok((get(map, first)?, shape_of(m, m.result(op, 0))))
}

/// `q.dequantize`, or the output layer kept as it is after a float host post-process.
fn output_layer(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered {
    let (x, out_shape) = operand_and_shape(m, op, map)?;
    if QuantType::parse(m.value_type(x)).is_none() {
        return lower_host::lower(m, op, map);
    }
    Ok(vec![emit(
        m,
        op,
        q::DEQUANTIZE,
        &[x],
        Type::tensor(&out_shape, Type::f32()),
        vec![],
    )])
}

fn max_pool(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered {
    let (x, out_shape) = operand_and_shape(m, op, map)?;
    let p = PoolParams::of(m, op)?;
    let ty = qtype_of(m, x)?.tensor(&out_shape);
    Ok(vec![emit(m, op, q::MAXPOOL, &[x], ty, pool_attrs(&p))])
}

fn global_max_pool(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered {
    let (x, out_shape) = operand_and_shape(m, op, map)?;
    let s = shape_of(m, x);
    let ty = qtype_of(m, x)?.tensor(&out_shape);
    let attrs = vec![
        ("kernel", Attribute::i64_array(&[s[1], s[2]])),
        ("strides", Attribute::i64_array(&[1, 1])),
        ("pads", Attribute::i64_array(&[0, 0, 0, 0])),
    ];
    Ok(vec![emit(m, op, q::MAXPOOL, &[x], ty, attrs)])
}

/// `hl.avgpool` and `hl.global_avgpool`: the window sum rescaled to the result's scale.
fn avg_pool(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered {
    let (x, out_shape) = operand_and_shape(m, op, map)?;
    let (tin, tout) = (qtype_of(m, x)?, result_type(m, op)?);
    let r = scheme::decompose_rescale(tin.scale_at(0) / tout.scale_at(0))?;
    let mut attrs = rescale_attrs(&[r.multiplier], r.shift);
    attrs.push(("clamp", clamp(&tout, Activation::Linear)?));
    let qname = if hl::AvgPool::cast(m, op).is_some() {
        let p = PoolParams::of(m, op)?;
        attrs.extend(pool_attrs(&p));
        attrs.push(("count_include_pad", Attribute::Bool(p.count_include_pad)));
        q::AVGPOOL
    } else {
        q::GLOBAL_AVGPOOL
    };
    Ok(vec![emit(
        m,
        op,
        qname,
        &[x],
        tout.tensor(&out_shape),
        attrs,
    )])
}

/// Inputs of another type than the concat's are requantized to it first; a constant input
/// (a class token) is quantized on its own 16-bit grid, then requantized.
fn concat(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered {
    let operands = m.op(op).operands().to_vec();
    let out_shape = shape_of(m, m.result(op, 0));
    let ins: Vec<ValueId> = operands
        .iter()
        .enumerate()
        .map(|(i, &v)| data_operand(m, op, map, v, &format!("in{i}")))
        .collect::<Res<_>>()?;
    let first = *ins.first().ok_or("has no operand")?;
    let tout = match m.attr(op, "q_range") {
        Some(_) => result_type(m, op)?,
        None => qtype_of(m, first)?,
    };
    let ins = ins
        .into_iter()
        .map(|v| requantize_to(m, op, v, &tout))
        .collect::<Res<Vec<_>>>()?;
    let axis = m.attr(op, "axis").cloned().ok_or("missing 'axis'")?;
    Ok(vec![emit(
        m,
        op,
        q::CONCAT,
        &ins,
        tout.tensor(&out_shape),
        vec![("axis", axis)],
    )])
}

fn reshape(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered {
    let (x, out_shape) = operand_and_shape(m, op, map)?;
    let ty = qtype_of(m, x)?.tensor(&out_shape);
    Ok(vec![emit(m, op, q::RESHAPE, &[x], ty, vec![])])
}

/// A standalone activation becomes a table of output codes per input code.
fn activation(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered {
    let (x, out_shape) = operand_and_shape(m, op, map)?;
    let (tin, tout) = (qtype_of(m, x)?, result_type(m, op)?);
    let view = hailo_dialect_hl::access::OpView::new(m, op);
    let act = Activation::from_attrs(&view, "kind", false)?;
    let table = lut::table(act, &tin, &tout);
    let attrs = vec![("table", Attribute::i64_array(&table))];
    Ok(vec![emit(
        m,
        op,
        q::LUT,
        &[x],
        tout.tensor(&out_shape),
        attrs,
    )])
}

/// The window of a pool; `ceil_mode` only where it adds windows (SAME padding already
/// gives `ceil(i / s)` outputs).
fn pool_attrs(p: &PoolParams) -> Vec<(&'static str, Attribute)> {
    let mut attrs = vec![
        ("kernel", Attribute::i64_array(&p.kernel)),
        ("strides", Attribute::i64_array(&p.strides)),
        ("pads", Attribute::i64_array(&p.pads)),
    ];
    if p.ceil_mode && !p.padding.is_same() {
        attrs.push(("ceil_mode", Attribute::Bool(true)));
    }
    attrs
}

pub(super) fn rescale_attrs(mult: &[i64], shift: u32) -> Vec<(&'static str, Attribute)> {
    vec![
        ("multiplier", Attribute::i64_array(mult)),
        ("shift", Attribute::i64_array(&[shift as i64])),
    ]
}

/// The output code bounds: the storage range, narrowed by a fused ReLU / ReLU6.
pub(super) fn clamp(t: &QuantType, act: Activation) -> Res<Attribute> {
    let st = t.storage();
    let (s, z) = (t.scale_at(0), t.zero_point());
    let (lo, hi) = match act {
        Activation::Linear => (st.qmin(), st.qmax()),
        Activation::Relu => (z.max(st.qmin()), st.qmax()),
        Activation::Relu6 => (z.max(st.qmin()), scheme::quantize(6.0, s, z, st)),
        other => {
            return Err(format!(
                "fused activation '{}' must be split into hl.activation before lowering",
                other.name()
            ))
        }
    };
    Ok(Attribute::i64_array(&[lo, hi]))
}

/// `v` itself when it already has type `t`, else a `q.requantize` to `t`.
pub(super) fn requantize_to(m: &mut Module, at: OpId, v: ValueId, t: &QuantType) -> Res<ValueId> {
    let tin = qtype_of(m, v)?;
    if &tin == t {
        return Ok(v);
    }
    let r = scheme::decompose_rescale(tin.scale_at(0) / t.scale_at(0))?;
    let mut attrs = rescale_attrs(&[r.multiplier], r.shift);
    attrs.push(("clamp", clamp(t, Activation::Linear)?));
    let shape = shape_of(m, v);
    Ok(emit(m, at, q::REQUANTIZE, &[v], t.tensor(&shape), attrs))
}
