//! `quant-to-phys`: turns a quantized (`q`) graph into the physical layers a Hailo-8 runs, each
//! with a first subcluster count.
//!
//! Every later physical pass (defuse, merge, shortcuts, buffers) and the allocator work on `phys`
//! ops, which carry what a layer costs through their `ResourceModel`; this pass is where a
//! network gets there. It is one-to-one (but for the reshapes around dense layers, below): each
//! `q` compute op becomes one `phys` op with the same
//! result type (the `q` types stay on the values), the same `layer` name and location, and its
//! integer arithmetic (`pads`, `multiplier`, `shift`, `clamp`, `table`, `count_include_pad`,
//! `ceil_mode`) unchanged.
//!
//! | `q` op | becomes |
//! |---|---|
//! | `q.conv2d`, `q.depthwise_conv2d`, `q.dense` | `phys.layer` `conv`, `depthwise`, `dense`: kernel from the kernel operand, strides, dilations, groups; a `q.conv2d` with a fused add is a conv with 2 inputs (the add second, before the kernel) keeping `add_multiplier`/`add_shift` |
//! | `q.deconv2d` | `phys.layer` `deconv` like a conv, keeping `output_padding` (guide §5.5.6; Table 14 is `phys-verify`'s) |
//! | `q.ew_add`, `q.ew_sub`, `q.ew_mult`, `q.ew_div`, `q.ew_max`, `q.ew_min` | `phys.layer` of the same kind with 2 inputs (guide §5.5.10, §5.5.11, §5.5.37) |
//! | `q.matmul` | `phys.layer` `matmul` with 2 inputs, keeping `transpose_b` (guide §5.5.31; MAC-driven) |
//! | `q.maxpool`, `q.avgpool` | `phys.layer` `maxpool`, `avgpool` with their window |
//! | `q.global_avgpool` | `phys.layer` `avgpool` whose window and stride are the input's height and width |
//! | `q.lut` reading a MAC-driven layer (conv, dense, ...) that nothing else reads | nothing: the layer applies the `table` (its APU's activation, as the vendor's layers carry theirs: stdc1's attention `fc1` with its sigmoid) and gives the lut's result type |
//! | any other `q.lut` | `phys.layer` `activation` with its table |
//! | `q.prelu` | `phys.layer` `prelu` with its `slope_multiplier` (an activation with a slope per channel, which no single table holds) |
//! | `q.softmax` | `phys.layer` `softmax` with its table and rescale, off the core (0 subclusters) |
//! | `q.log_softmax` | `phys.layer` `log_softmax`, on the core: the guide (§5.5.19) breaks it into other layers, which a later pass may do; one layer until then |
//! | `q.layer_norm` | `phys.layer` `layer_norm` with gamma and beta as kernel and bias operands, keeping `axes`, `epsilon`, `center`: the guide's "block of several Hailo layers", one layer until a pass decomposes it |
//! | `q.reduce` | `phys.layer` `reduce` with `reduction` (its `kind`), `axes`, `keepdims` (guide §5.5.21–25) |
//! | `q.argmax` | `phys.layer` `argmax` with `axis`, `keepdims` (guide §5.5.20; the dumps' `argmax1`, 1 subcluster) |
//! | `q.resize` | `phys.layer` `resize` with `interpolation` (its `mode`), `coordinate`, `nearest_mode`, `frac_bits`: on the core (guide §5.5.15; 21 of the dumps' 25 resizes take 1 subcluster, the others run on the PPU when a script's `compilation_param` gives them none) |
//! | `q.slice` | `phys.layer` `slice` with `starts`, `ends`, `steps` (guide §5.5.28) |
//! | `q.pad` | `phys.layer` `pad` with its `pads`, `pad_mode`, `pad_value` (guide §5.5.30 "External Padding") |
//! | `q.one_hot` | `phys.layer` `one_hot` with its class `table` and `on`/`off` codes (guide's ONNX table: "Convolution with delta activation") |
//! | `q.requantize` | `phys.layer` `precision_change`, named `<layer>_precision_change` (`hl-to-quant` names a requantize after the layer it feeds) |
//! | `q.concat` | `phys.concat` |
//! | `q.reshape` | `phys.format_conversion` `reshape`: host side (0 subclusters) when it reads a graph input's `q.quantize` or feeds only `q.dequantize`s, else on the core (1 subcluster; resources doc §4) |
//! | `q.reshape` of `[N, 1, 1, C]` to `[N, C]` read only by `q.dense` | nothing: the dense layers read the `[N, 1, 1, C]` map (a dense layer reads a conv's or pool's output directly, DFC guide §5.5.3; the vendor's graphs have no such layer) |
//! | `q.reshape` of a dense layer's `[N, C]` (read by nothing else) to `[N, 1, 1, C]` | nothing: the dense layer's result is the 1×1 map (one row of C features either way; stdc1's attention `fc1` feeds its broadcast `resize2` directly in the dump) |
//! | `q.transpose` | `phys.format_conversion` `transpose` with its `perm`, on the core (guide §5.5.34) |
//! | `q.format_conversion` | `phys.format_conversion` of its camera `conversion` (e.g. `yuy2_to_hailo_yuv`), on the core |
//! | `q.quantize`, `q.dequantize`, `q.const` | stay: HailoRT converts between floats and codes on the host, and the constants are the layers' kernels and biases |
//!
//! Every `q` op has a lowering; an op of another dialect is an error naming its layer, since
//! dropping it would change what the network computes. Physical names are unique: a repeated
//! name gets `_1`, `_2`, ... in graph order.
//!
//! **Subclusters.** The first assignment is the throughput lower bound of the resources doc §4–5:
//! a MAC-driven layer (its `ResourceModel` gives its work) gets the smallest count `n ≤ 8` whose
//! MAC bound `n × 64 × clock × η / MACs` reaches the `fps` option on the driver's target
//! (`hailo-opt --hw-arch`), in 8x8 mode; every other layer gets 1 (§4: "1 LCU, 1 SC, 1 APU, 1 IA
//! each"), but the kinds the vendor runs off the core (softmax) get 0. A layer that even 8
//! subclusters cannot bring to `fps` gets 8: `phys-defuse` with the same `fps` splits it into
//! parts that do. `fps = 0` asks for no rate: 1 subcluster per layer. The DFC gives many
//! layers more than this bound (§5: its greedy spends the budget up to the utilization threshold),
//! which the allocator will do; this pass does not guess that.

use hailo_dialect_phys::ops::{self as phys, LayerParams};
use hailo_dialect_phys::{resource_model, LayerKind};
use hailo_dialect_quant::ops as q;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Diagnostic, ExternalModels, Module, OpId, OpSpec, Traits, ValueId};
use hailo_target::Target;
use rustc_hash::FxHashSet;
use std::sync::LazyLock;

hailo_ir::pass_options! {
    pub struct QuantToPhysOptions {
        /// Frames per second every layer must sustain (the model script's
        /// `performance_param(fps=...)`); 0 asks for none.
        fps: f64 = 0.0,
    }
}

pub struct QuantToPhys(QuantToPhysOptions);

impl PassDef for QuantToPhys {
    const NAME: &'static str = "quant-to-phys";
    const SUMMARY: &'static str =
        "Lower q ops to phys layers, each with the fewest subclusters that reach `fps` on the target";
    const DESCRIPTION: &'static str = "Needs the target description from the driver \
        (hailo-opt --hw-arch NAME, default hailo8). One phys op per q compute op; a layer that \
        8 subclusters cannot bring to `fps` gets 8, for phys-defuse{fps} to split.";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = QuantToPhysOptions;

    fn new(o: QuantToPhysOptions) -> Self {
        QuantToPhys(o)
    }
    fn options(&self) -> &QuantToPhysOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let fps = self.0.fps;
        let graph_error = |cx: &mut PassCx<'_>, msg: String| {
            let loc = m.op(graph).loc.clone();
            cx.fail(Diagnostic::error(loc, format!("{}: {msg}", Self::NAME)))
        };
        if !(fps.is_finite() && fps >= 0.0) {
            return Err(graph_error(
                cx,
                format!("'fps' must be a finite number >= 0, got {fps}"),
            ));
        }
        let Some(target) = cx.resource::<Target>() else {
            return Err(graph_error(
                cx,
                "needs a target description (hailo-opt --hw-arch NAME)".into(),
            ));
        };
        let block = m.region(m.op(graph).regions()[0]).blocks()[0];
        let ops = m.block_ops(block);
        let mut names = Names {
            originals: ops.iter().filter_map(|&o| layer_name(m, o)).collect(),
            // Ops already physical (a second run) keep their names.
            claimed: ops
                .iter()
                .filter(|&&o| resource_model(m, o).is_some())
                .filter_map(|&o| layer_name(m, o))
                .collect(),
        };
        let mut lowered = 0;
        for op in ops {
            if cx.ctx.has_trait(m.op(op).name_str(), Traits::TERMINATOR) {
                continue;
            }
            if resource_model(m, op).is_some() {
                continue;
            }
            let result = lower_op(m, op, fps, target, &mut names).map_err(|e| {
                let name = m.op(op).name_str();
                let layer = layer_name(m, op).unwrap_or_else(|| "?".into());
                format!("{}: layer '{layer}' ({name}): {e}", Self::NAME)
            });
            match result {
                Ok(true) => lowered += 1,
                Ok(false) => {}
                Err(msg) => {
                    let loc = m.op(op).loc.clone();
                    return Err(cx.fail(Diagnostic::error(loc, msg)));
                }
            }
        }
        cx.stat("lowered", "q ops replaced by phys ops", lowered as u64);
        Ok(if lowered == 0 {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}

type Res<T> = Result<T, String>;

fn layer_name(m: &Module, op: OpId) -> Option<String> {
    m.attr(op, "layer")
        .and_then(Attribute::as_str)
        .map(str::to_owned)
}

/// Physical layer names: each given out once, and a suffixed name never takes an original.
struct Names {
    originals: FxHashSet<String>,
    claimed: FxHashSet<String>,
}

impl Names {
    fn claim(&mut self, base: String) -> String {
        let name = if self.claimed.contains(&base) {
            (1..)
                .map(|k| format!("{base}_{k}"))
                .find(|n| !self.claimed.contains(n) && !self.originals.contains(n))
                .expect("an unbounded range has a free name")
        } else {
            base
        };
        self.claimed.insert(name.clone());
        name
    }
}

/// The phys op a `q` op becomes.
struct Built {
    name: &'static str,
    /// Its attributes besides `layer`.
    attrs: Vec<(&'static str, Attribute)>,
    /// Appended to the `q` op's layer name.
    suffix: &'static str,
    /// A compute layer, whose subclusters this pass assigns.
    compute: bool,
    /// Its operands, when not the `q` op's in their order.
    operands: Option<Vec<ValueId>>,
}

/// What a `q` op becomes.
enum Lowered {
    /// One phys op.
    Op(Built),
    /// Nothing: its users read its (only) operand.
    Forward,
    /// Nothing: its operand's producer gives its result type, and its users read that.
    IntoProducer,
    /// Nothing: its operand's producer applies its `table` and gives its result type.
    ActivationOfProducer,
}

/// The lowering of one `q` op type, attached in [`lowerings`].
trait ToPhys: Sync {
    /// `None` when the op stays as it is.
    fn build(&self, m: &Module, op: OpId) -> Res<Option<Lowered>>;
}

/// Ops that stay as they are.
struct Keep;

impl ToPhys for Keep {
    fn build(&self, _: &Module, _: OpId) -> Res<Option<Lowered>> {
        Ok(None)
    }
}

/// Where a layer's window (`kernel`, and `strides` for a global pool) comes from.
#[derive(Clone, Copy)]
enum Window {
    /// No window: `[1, 1]` (dense, elementwise, activation, precision change).
    None,
    /// The first two dimensions of the HWIO kernel operand (convolutions).
    KernelOperand,
    /// The op's own `kernel` and `strides` (pools).
    Attributes,
    /// The input's height and width, as window and stride (global pools).
    WholeInput,
}

/// A `q` op that becomes one `phys.layer` of `kind`.
struct ToLayer {
    kind: LayerKind,
    window: Window,
    suffix: &'static str,
    /// The `q` op's attributes carried beyond its window and arithmetic, each as (`q` name,
    /// `phys.layer` name) ([`phys::OP_SEMANTICS`]).
    carry: &'static [(&'static str, &'static str)],
}

const fn layer(kind: LayerKind, window: Window) -> ToLayer {
    carrying(kind, window, &[])
}

const fn carrying(
    kind: LayerKind,
    window: Window,
    carry: &'static [(&'static str, &'static str)],
) -> ToLayer {
    ToLayer {
        kind,
        window,
        suffix: "",
        carry,
    }
}

fn attr(m: &Module, op: OpId, key: &str) -> Option<Attribute> {
    m.attr(op, key).cloned()
}

impl ToPhys for ToLayer {
    fn build(&self, m: &Module, op: OpId) -> Res<Option<Lowered>> {
        let (lo, _) = self.kind.inputs();
        let mut attrs = vec![("kind", Attribute::str(self.kind.name()))];
        let q_operands = m.op(op).operands();
        // A conv's fused add (`q.conv2d`'s fourth operand) is the layer's second feature map.
        let fused_add = self.kind.weighted() && q_operands.len() == 4;
        let inputs = if fused_add { 2 } else { lo };
        if inputs > 1 {
            attrs.push(("inputs", Attribute::i64(inputs as i64)));
        }
        let operands =
            fused_add.then(|| vec![q_operands[0], q_operands[3], q_operands[1], q_operands[2]]);
        let input = q_operands[0];
        match self.window {
            Window::None => {}
            Window::KernelOperand => {
                let k = m.op(op).operands().get(1).ok_or("has no kernel operand")?;
                match m.value_type(*k).shape().unwrap_or(&[]) {
                    [kh, kw, _, _] => attrs.push(("kernel", Attribute::i64_array(&[*kh, *kw]))),
                    s => return Err(format!("the kernel must be HWIO, got shape {s:?}")),
                }
            }
            Window::Attributes => {
                attrs.extend(attr(m, op, "kernel").map(|a| ("kernel", a)));
                attrs.extend(attr(m, op, "strides").map(|a| ("strides", a)));
            }
            Window::WholeInput => match m.value_type(input).shape().unwrap_or(&[]) {
                [_, h, w, _] => {
                    attrs.push(("kernel", Attribute::i64_array(&[*h, *w])));
                    attrs.push(("strides", Attribute::i64_array(&[*h, *w])));
                }
                s => return Err(format!("the input must be NHWC, got shape {s:?}")),
            },
        }
        if matches!(self.window, Window::KernelOperand) {
            for key in ["strides", "dilations", "groups"] {
                attrs.extend(attr(m, op, key).map(|a| (key, a)));
            }
        }
        for spec in phys::INTEGER_ARITHMETIC {
            attrs.extend(attr(m, op, spec.name).map(|a| (spec.name, a)));
        }
        for &(from, to) in self.carry {
            attrs.extend(attr(m, op, from).map(|a| (to, a)));
        }
        Ok(Some(Lowered::Op(Built {
            name: phys::Layer::NAME,
            attrs,
            suffix: self.suffix,
            compute: true,
            operands,
        })))
    }
}

/// `q.concat` → `phys.concat` on the same (non-negative) axis.
struct ToConcat;

impl ToPhys for ToConcat {
    fn build(&self, m: &Module, op: OpId) -> Res<Option<Lowered>> {
        let rank = m.value_type(m.result(op, 0)).shape().unwrap_or(&[]).len() as i64;
        let axis = q::Concat::cast(m, op)
            .and_then(|c| c.axis(m))
            .unwrap_or(rank - 1);
        let axis = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&axis) {
            return Err(format!("axis {axis} is outside a rank-{rank} result"));
        }
        Ok(Some(Lowered::Op(Built {
            name: phys::Concat::NAME,
            attrs: vec![("axis", Attribute::i64(axis))],
            suffix: "",
            compute: false,
            operands: None,
        })))
    }
}

/// `q.reshape` → `phys.format_conversion`, host side at the graph boundary; nothing when it
/// only flattens a 1×1 map for dense layers ([`flattens_for_dense`]).
struct ToReshape;

/// `op` turns `[N, 1, 1, C]` into `[N, C]` and only `q.dense` ops read it.
fn flattens_for_dense(m: &Module, op: OpId) -> bool {
    let x = m.value_type(m.op(op).operands()[0]).shape().unwrap_or(&[]);
    let y = m.value_type(m.result(op, 0)).shape().unwrap_or(&[]);
    let uses = m.value(m.result(op, 0)).uses();
    matches!((x, y), ([n, 1, 1, c], [n2, c2]) if n == n2 && c == c2)
        && !uses.is_empty()
        && uses.iter().all(|u| q::Dense::cast(m, u.op).is_some())
}

/// A `phys.format_conversion` of `conversion`, with `subclusters` and further attributes.
fn conversion(
    conversion: &str,
    subclusters: bool,
    more: Vec<(&'static str, Attribute)>,
) -> Lowered {
    let mut attrs = vec![
        ("conversion", Attribute::str(conversion)),
        ("subclusters", Attribute::i64(i64::from(subclusters))),
    ];
    attrs.extend(more);
    Lowered::Op(Built {
        name: phys::FormatConversion::NAME,
        attrs,
        suffix: "",
        compute: false,
        operands: None,
    })
}

/// `op` turns the `[N, C]` output of a dense layer that nothing else reads into `[N, 1, 1, C]`.
fn unflattens_dense(m: &Module, op: OpId) -> bool {
    let v = m.op(op).operands()[0];
    let x = m.value_type(v).shape().unwrap_or(&[]);
    let y = m.value_type(m.result(op, 0)).shape().unwrap_or(&[]);
    let dense = m.defining_op(v).is_some_and(|d| {
        q::Dense::cast(m, d).is_some()
            || LayerParams::of(m, d).is_ok_and(|p| p.kind == LayerKind::Dense)
    });
    matches!((x, y), ([n, c], [n2, 1, 1, c2]) if n == n2 && c == c2)
        && dense
        && m.value(v).uses().len() == 1
}

impl ToPhys for ToReshape {
    fn build(&self, m: &Module, op: OpId) -> Res<Option<Lowered>> {
        if flattens_for_dense(m, op) {
            return Ok(Some(Lowered::Forward));
        }
        if unflattens_dense(m, op) {
            return Ok(Some(Lowered::IntoProducer));
        }
        let reads_input = m
            .defining_op(m.op(op).operands()[0])
            .is_some_and(|d| q::Quantize::cast(m, d).is_some());
        let uses = m.value(m.result(op, 0)).uses();
        let feeds_output =
            !uses.is_empty() && uses.iter().all(|u| q::Dequantize::cast(m, u.op).is_some());
        let on_core = !(reads_input || feeds_output);
        Ok(Some(conversion("reshape", on_core, vec![])))
    }
}

/// `q.lut` → the activation of the layer it reads ([`activates_layer`]), else an `activation`
/// layer with its table.
struct ToLut;

/// `op`'s input is the only use of a MAC-driven layer's result with no activation table yet:
/// the layer applies the table on its APU (the vendor's layers carry their activation: stdc1's
/// `fc1` and `fc3` with their sigmoid, no activation layer in the dump).
fn activates_layer(m: &Module, op: OpId) -> bool {
    let v = m.op(op).operands()[0];
    m.value(v).uses().len() == 1
        && m.defining_op(v).is_some_and(|d| {
            phys::Layer::cast(m, d).is_some()
                && m.attr(d, "table").is_none()
                && LayerParams::of(m, d).is_ok_and(|p| p.kind.mac_driven())
        })
}

impl ToPhys for ToLut {
    fn build(&self, m: &Module, op: OpId) -> Res<Option<Lowered>> {
        if activates_layer(m, op) {
            return Ok(Some(Lowered::ActivationOfProducer));
        }
        layer(LayerKind::Activation, Window::None).build(m, op)
    }
}

/// `q.transpose` → a `transpose` `phys.format_conversion` with its `perm`, on the core (the
/// dumps' transposes each take 1 subcluster, e.g. stereonet's `conv17_concat1_transpose`; guide
/// §5.5.34 lists which permutations the chip runs, `phys-verify` checks them).
struct ToTranspose;

impl ToPhys for ToTranspose {
    fn build(&self, m: &Module, op: OpId) -> Res<Option<Lowered>> {
        let perm = attr(m, op, "perm").ok_or("has no 'perm'")?;
        Ok(Some(conversion("transpose", true, vec![("perm", perm)])))
    }
}

/// `q.format_conversion` (a camera format to 3 channels) → a `phys.format_conversion` of the
/// same `conversion`, on the core: the guide's "on-chip NV12->YUV, NV21->YUV" conversions,
/// which `input_conversion` adds "to offload this conversion from the host" (§5.4 model
/// modifications).
struct ToCameraFormat;

impl ToPhys for ToCameraFormat {
    fn build(&self, m: &Module, op: OpId) -> Res<Option<Lowered>> {
        let name = m
            .attr(op, "conversion")
            .and_then(Attribute::as_str)
            .ok_or("has no 'conversion'")?;
        Ok(Some(conversion(name, true, vec![])))
    }
}

static KEEP: Keep = Keep;
static CONV: ToLayer = layer(LayerKind::Conv, Window::KernelOperand);
static DEPTHWISE: ToLayer = layer(LayerKind::Depthwise, Window::KernelOperand);
static DENSE: ToLayer = layer(LayerKind::Dense, Window::None);
static EW_ADD: ToLayer = layer(LayerKind::EwAdd, Window::None);
static EW_SUB: ToLayer = layer(LayerKind::EwSub, Window::None);
static EW_MULT: ToLayer = layer(LayerKind::EwMult, Window::None);
static EW_MAX: ToLayer = layer(LayerKind::EwMax, Window::None);
static EW_MIN: ToLayer = layer(LayerKind::EwMin, Window::None);
static MAXPOOL: ToLayer = layer(LayerKind::MaxPool, Window::Attributes);
static AVGPOOL: ToLayer = layer(LayerKind::AvgPool, Window::Attributes);
static GLOBAL_AVGPOOL: ToLayer = layer(LayerKind::AvgPool, Window::WholeInput);
static LUT: ToLut = ToLut;
static SOFTMAX: ToLayer = layer(LayerKind::Softmax, Window::None);
static REQUANTIZE: ToLayer = ToLayer {
    kind: LayerKind::PrecisionChange,
    window: Window::None,
    suffix: "_precision_change",
    carry: &[],
};
static EW_DIV: ToLayer = layer(LayerKind::EwDiv, Window::None);
static DECONV: ToLayer = carrying(
    LayerKind::Deconv,
    Window::KernelOperand,
    &[("output_padding", "output_padding")],
);
static MATMUL: ToLayer = carrying(
    LayerKind::MatMul,
    Window::None,
    &[("transpose_b", "transpose_b")],
);
static LOG_SOFTMAX: ToLayer = layer(LayerKind::LogSoftmax, Window::None);
static PRELU: ToLayer = layer(LayerKind::Prelu, Window::None);
static ARGMAX: ToLayer = carrying(
    LayerKind::ArgMax,
    Window::None,
    &[("axis", "axis"), ("keepdims", "keepdims")],
);
static REDUCE: ToLayer = carrying(
    LayerKind::Reduce,
    Window::None,
    &[
        ("kind", "reduction"),
        ("axes", "axes"),
        ("keepdims", "keepdims"),
    ],
);
static LAYER_NORM: ToLayer = carrying(
    LayerKind::LayerNorm,
    Window::None,
    &[
        ("axes", "axes"),
        ("epsilon", "epsilon"),
        ("center", "center"),
    ],
);
static RESIZE: ToLayer = carrying(
    LayerKind::Resize,
    Window::None,
    &[
        ("mode", "interpolation"),
        ("coordinate", "coordinate"),
        ("nearest_mode", "nearest_mode"),
        ("frac_bits", "frac_bits"),
    ],
);
static SLICE: ToLayer = carrying(
    LayerKind::Slice,
    Window::None,
    &[("starts", "starts"), ("ends", "ends"), ("steps", "steps")],
);
static PAD: ToLayer = carrying(
    LayerKind::Pad,
    Window::None,
    &[("mode", "pad_mode"), ("value", "pad_value")],
);
static ONE_HOT: ToLayer = carrying(
    LayerKind::OneHot,
    Window::None,
    &[("on", "on"), ("off", "off")],
);
static CONCAT: ToConcat = ToConcat;
static RESHAPE: ToReshape = ToReshape;
static TRANSPOSE: ToTranspose = ToTranspose;
static CAMERA_FORMAT: ToCameraFormat = ToCameraFormat;

/// Every `q` op with a physical lowering (or none needed).
fn lowerings() -> &'static ExternalModels<dyn ToPhys> {
    static MODELS: LazyLock<ExternalModels<dyn ToPhys>> = LazyLock::new(|| {
        ExternalModels::<dyn ToPhys>::new()
            .attach::<q::Quantize>(&KEEP)
            .attach::<q::Dequantize>(&KEEP)
            .attach::<q::Const>(&KEEP)
            .attach::<q::Conv2d>(&CONV)
            .attach::<q::DepthwiseConv2d>(&DEPTHWISE)
            .attach::<q::Dense>(&DENSE)
            .attach::<q::EwAdd>(&EW_ADD)
            .attach::<q::EwSub>(&EW_SUB)
            .attach::<q::EwMult>(&EW_MULT)
            .attach::<q::EwMax>(&EW_MAX)
            .attach::<q::EwMin>(&EW_MIN)
            .attach::<q::MaxPool>(&MAXPOOL)
            .attach::<q::AvgPool>(&AVGPOOL)
            .attach::<q::GlobalAvgPool>(&GLOBAL_AVGPOOL)
            .attach::<q::Lut>(&LUT)
            .attach::<q::Softmax>(&SOFTMAX)
            .attach::<q::Requantize>(&REQUANTIZE)
            .attach::<q::Concat>(&CONCAT)
            .attach::<q::Reshape>(&RESHAPE)
            .attach::<q::Transpose>(&TRANSPOSE)
            .attach::<q::FormatConversion>(&CAMERA_FORMAT)
            .attach::<q::EwDiv>(&EW_DIV)
            .attach::<q::Deconv2d>(&DECONV)
            .attach::<q::MatMul>(&MATMUL)
            .attach::<q::LogSoftmax>(&LOG_SOFTMAX)
            .attach::<q::Prelu>(&PRELU)
            .attach::<q::ArgMax>(&ARGMAX)
            .attach::<q::Reduce>(&REDUCE)
            .attach::<q::LayerNorm>(&LAYER_NORM)
            .attach::<q::Resize>(&RESIZE)
            .attach::<q::Slice>(&SLICE)
            .attach::<q::Pad>(&PAD)
            .attach::<q::OneHot>(&ONE_HOT)
    });
    &MODELS
}

/// Replaces `op` by its phys op and assigns its subclusters; `false` when `op` stays.
fn lower_op(m: &mut Module, op: OpId, fps: f64, target: &Target, names: &mut Names) -> Res<bool> {
    let lowering = lowerings()
        .get(m, op)
        .ok_or("no physical lowering: only q ops lower (quantize the graph first)")?;
    let built = match lowering.build(m, op)? {
        None => return Ok(false),
        Some(
            lowered @ (Lowered::Forward | Lowered::IntoProducer | Lowered::ActivationOfProducer),
        ) => {
            let (x, y) = (m.op(op).operands()[0], m.result(op, 0));
            if let (Lowered::ActivationOfProducer, Some(table), Some(d)) =
                (&lowered, m.attr(op, "table").cloned(), m.defining_op(x))
            {
                m.set_attr(d, "table", table);
            }
            if !matches!(lowered, Lowered::Forward) {
                m.set_value_type(x, m.value_type(y));
            }
            m.replace_all_uses(y, x);
            m.erase_op(op);
            return Ok(true);
        }
        Some(Lowered::Op(built)) => built,
    };
    if m.op(op).results().len() != 1 {
        return Err(format!(
            "expects one result, got {}",
            m.op(op).results().len()
        ));
    }
    let base = layer_name(m, op).ok_or("has no 'layer' name; physical layers are named")?;
    let mut spec = OpSpec::new(built.name)
        .operands(built.operands.as_deref().unwrap_or(m.op(op).operands()))
        .results(&[m.value_type(m.result(op, 0))])
        .loc(m.op(op).loc.clone())
        .attr(
            "layer",
            Attribute::str(&names.claim(format!("{base}{}", built.suffix))),
        );
    for (k, v) in built.attrs {
        spec = spec.attr(k, v);
    }
    let new = m.create_op(spec);
    m.insert_before(op, new);
    if built.compute {
        match subclusters(m, new, fps, target) {
            Ok(n) => m.set_attr(new, "subclusters", Attribute::i64(i64::from(n))),
            Err(e) => {
                m.erase_op(new);
                return Err(e);
            }
        }
    }
    let (old, replacement) = (m.result(op, 0), m.result(new, 0));
    m.replace_all_uses(old, replacement);
    m.erase_op(op);
    Ok(true)
}

/// The fewest subclusters with which `layer` reaches `fps` on `target` by its resource model's
/// MAC bound, at most the target's per-layer limit (`phys-defuse{fps}` splits a layer the limit
/// cannot bring to `fps`); the kind's default (1, or 0 off the core) when the MAC model does not
/// bound it.
fn subclusters(m: &Module, layer: OpId, fps: f64, target: &Target) -> Res<u32> {
    let model = resource_model(m, layer).ok_or("the built op has no resource model")?;
    let Some(work) = model.work(m, layer)? else {
        return Ok(LayerParams::of(m, layer)?.kind.default_subclusters());
    };
    Ok(work
        .fewest_subclusters(fps, target)
        .unwrap_or(target.limits.max_subclusters))
}

#[cfg(test)]
mod tests {
    use hailo_ir::pass::{Instrumentation, OpPassManager, Resources};

    /// `hailo-opt` always provides a target; another driver that does not gets told how to.
    #[test]
    fn without_a_target_the_error_names_the_flag_that_provides_one() {
        let mut ctx = hailo_ir::Context::new();
        ctx.register(hailo_dialect_quant::dialect());
        ctx.register(hailo_dialect_phys::dialect());
        let text = "builtin.module {\n  builtin.graph @g(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {\n    builtin.return %x : tensor<1x2xf32>\n  }\n}\n";
        let mut m = hailo_ir::parse_module(&ctx, "t.hir", text).expect("parses");
        let mut pm = OpPassManager::parse(
            "builtin.module(builtin.graph(quant-to-phys))",
            &crate::registry(),
        )
        .expect("pipeline parses");
        let (top, mut inst) = (m.top(), Instrumentation::default());
        let failure = pm
            .run_with(&mut m, &ctx, top, &mut inst, &Resources::new())
            .expect_err("no target");
        let messages: Vec<String> = inst
            .diagnostics
            .iter()
            .chain(&failure.diagnostics)
            .map(|d| d.message.clone())
            .collect();
        assert_eq!(
            messages,
            ["quant-to-phys: needs a target description (hailo-opt --hw-arch NAME)"]
        );
    }
}
