//! `phys-verify`: the physical verifier. Rejects, each at the op it is about, what the target
//! cannot run, so that no later stage (allocator, backend) is handed an impossible layer.
//!
//! The op verifiers of the `phys` dialect already hold every Hailo-8-family chip's universal
//! limits (8 subclusters, 255 buffer rows, the 16x4 table). This pass adds what depends on the
//! target description or on the layer's neighbourhood, and the DFC guide's §5.5 tables:
//!
//! | rule | source |
//! |---|---|
//! | subclusters ≤ the target's `limits.max_subclusters`; buffer rows ≤ its `limits.max_buffer_rows` | target description |
//! | conv, depthwise, pools: padding is VALID, SAME (symmetric) or SAME_TENSORFLOW for the layer's input, window and stride | §5.5.1, §5.5.2, §5.5.4, §5.5.7 |
//! | conv with a fused add (2 inputs): kernel in {1,3,5,7}², stride 1×1, dilation 1×1 | Table 10 |
//! | group conv other than 1×1/1, 1×1/2, 3×3/1, 7×7/2: output features per group a multiple of 8 or < 8 | §5.5.8 |
//! | deconv: (kernel, rate) in Table 14 | Table 14 |
//! | max pool: (kernel, stride) in Table 12, or both between 2 and the input's height and width, or a 1×1 window at a stride above 1 and up to the input's height and width (a subsample: TF-slim's shortcut `subsample`, allocated as `maxpool2`–`4` in both resnet_v1_50 dumps) | Table 12, dumps |
//! | concat: at most 4 inputs, joining the features of NHWC maps or of dense outputs `[N, C]` (a dense layer's features defuse); a spatial defuse's join and the partial concats feeding it also rows or columns | §5.5.5, §5.4.2 (defuse) |
//! | activation: a table with one output code per input code, each in the result's range | the APU's lookup (resources doc §4) |
//! | ew_add/ew_sub/ew_mult/ew_div: both inputs of one shape, or one of them with 1 feature, a 1×1 map, or both (NHWC); ew_max/ew_min: one shape | §5.5.10, §5.5.11, §5.5.37 |
//! | argmax: along the features of an NHWC map of at most 64 features, and the network's last layer (its result reaches only graph outputs, through buffers, defuse joins, output muxes and host-side conversions) | §5.5.20 |
//! | reduce: max and min along the features of an NHWC map; sum along any axes of an NHWC map or the features of `[N, C]`; sum_square along the features or the spatial axes; mean and l2 along any | §5.5.21–25, §5.5.38 |
//! | slice: an NHWC map cropped to a contiguous part (steps of 1) | §5.5.28 |
//! | pad: zeros (constant mode, the input's zero point) around an NHWC map | §5.5.30 |
//! | resize: of an NHWC map; a features broadcast (1 feature to many) or a broadcast of one column to many is nearest-neighbour only; rows scaled at most 4096 times | §5.5.15 |
//! | transpose: width ↔ features, or height ↔ width or height ↔ features of a map under 1.5 MiB | §5.5.34 |
//!
//! Convolution and depthwise kernels, strides and dilations are otherwise free ("any other" in
//! Tables 9 and 15), as are average pools (Table 13).

use hailo_dialect_hl::shape::{dilated, Padding};
use hailo_dialect_phys::ops::{self as phys, LayerParams};
use hailo_dialect_phys::{resource_model, LayerKind};
use hailo_dialect_quant::ops::Dequantize;
use hailo_dialect_quant::QuantType;
use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, ValueId};
use hailo_target::Target;

pub struct PhysVerify(NoOptions);

impl PassDef for PhysVerify {
    const NAME: &'static str = "phys-verify";
    const SUMMARY: &'static str =
        "Reject physical layers the target cannot run (limits, DFC guide 5.5 tables)";
    const DESCRIPTION: &'static str = "Every violation is reported at its op; needs the target \
        description (hailo-opt --hw-arch NAME).";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        PhysVerify(o)
    }
    fn options(&self) -> &NoOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let Some(target) = cx.resource::<Target>() else {
            return Err(cx.fail_at(
                m,
                graph,
                "needs a target description (hailo-opt --hw-arch NAME)",
            ));
        };
        let block = m.region(m.op(graph).regions()[0]).blocks()[0];
        let mut failed = None;
        for op in m.block_ops(block) {
            if resource_model(m, op).is_none() {
                continue;
            }
            for problem in check(m, op, target) {
                let layer = m
                    .attr(op, "layer")
                    .and_then(Attribute::as_str)
                    .map_or_else(String::new, |l| format!("layer '{l}': "));
                failed = Some(cx.fail_at(m, op, format!("{layer}{problem}")));
            }
        }
        match failed {
            Some(f) => Err(f),
            None => Ok(Preserved::All),
        }
    }
}

/// Every rule `op` breaks.
fn check(m: &Module, op: OpId, target: &Target) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(model) = resource_model(m, op) {
        match model.resources(m, op) {
            Ok(r) if r.subclusters > target.limits.max_subclusters => out.push(format!(
                "uses {} subclusters; a layer on {} holds at most {}",
                r.subclusters, target.name, target.limits.max_subclusters
            )),
            Ok(_) => {}
            Err(e) => out.push(e),
        }
    }
    if phys::Buffer::cast(m, op).is_some() {
        let max = i64::from(target.limits.max_buffer_rows);
        for key in ["rows", "rows_after"] {
            match m.attr(op, key).and_then(Attribute::as_i64) {
                Some(r) if r > max => out.push(format!(
                    "'{key}' is {r}; a buffer on {} holds at most {max} rows",
                    target.name
                )),
                _ => {}
            }
        }
    }
    if phys::Concat::cast(m, op).is_some() {
        out.extend(check_concat(m, op));
    }
    if phys::FormatConversion::cast(m, op).is_some() {
        out.extend(check_transpose(m, op));
    }
    if phys::Layer::cast(m, op).is_some() {
        match LayerParams::of(m, op) {
            Ok(p) => out.extend(check_layer(m, op, &p)),
            Err(e) => out.push(e),
        }
    }
    out
}

fn check_concat(m: &Module, op: OpId) -> Option<String> {
    let n = m.op(op).operands().len();
    if n > 4 {
        return Some(format!(
            "concat of {n} inputs; a concat takes at most 4 (DFC guide 5.5.5): chain partial concats"
        ));
    }
    let rank = m
        .value_type(m.result(op, 0))
        .shape()
        .map_or(0, <[i64]>::len);
    let axis = m.attr(op, "axis").and_then(Attribute::as_i64).unwrap_or(3);
    let features = (rank == 4 || rank == 2) && axis == rank as i64 - 1;
    // A spatial defuse's join, or a partial concat feeding one (through its edge's buffer),
    // joins rows or columns.
    let join = is_join(m, op) || feeds_join(m, m.result(op, 0));
    if !(features || (join && rank == 4)) {
        return Some(format!(
            "a concat joins features: of NHWC maps (axis 3, DFC guide 5.5.5) or of dense outputs [N, C] (axis 1); only a spatial defuse's joins take rows or columns; got rank {rank}, axis {axis}"
        ));
    }
    None
}

fn is_join(m: &Module, o: OpId) -> bool {
    phys::Concat::cast(m, o).is_some() && m.attr(o, "defuse").is_some()
}

/// `v` is read by a defuse's join, directly or through a buffer.
fn feeds_join(m: &Module, v: ValueId) -> bool {
    m.value(v).uses().iter().any(|u| {
        is_join(m, u.op)
            || (phys::Buffer::cast(m, u.op).is_some() && feeds_join(m, m.result(u.op, 0)))
    })
}

fn pair(p: [i64; 2]) -> String {
    format!("{}x{}", p[0], p[1])
}

fn check_layer(m: &Module, op: OpId, p: &LayerParams) -> Vec<String> {
    let mut out = Vec::new();
    let (k, s, d) = (p.kernel, p.strides, p.dilations);
    let windowed = matches!(
        p.kind,
        LayerKind::Conv | LayerKind::Depthwise | LayerKind::MaxPool | LayerKind::AvgPool
    );
    if windowed {
        out.extend(check_padding(m, op, p));
    }
    match p.kind {
        LayerKind::Conv if p.inputs == 2 => {
            let odd = |v: i64| matches!(v, 1 | 3 | 5 | 7);
            if !(odd(k[0]) && odd(k[1]) && s == [1, 1] && d == [1, 1]) {
                out.push(format!(
                    "a conv with a fused add takes kernels 1, 3, 5 or 7 in each dimension at stride and dilation 1x1 (DFC guide Table 10), got kernel {}, stride {}, dilation {}",
                    pair(k), pair(s), pair(d)
                ));
            }
        }
        LayerKind::Conv if p.groups > 1 => {
            let free = matches!(
                (k, s),
                ([1, 1], [1, 1] | [2, 2]) | ([3, 3], [1, 1]) | ([7, 7], [2, 2])
            );
            let out_features = m
                .value_type(m.result(op, 0))
                .shape()
                .and_then(|s| s.last().copied())
                .unwrap_or(0);
            let per_group = out_features / p.groups;
            if !free && per_group % 8 != 0 && per_group >= 8 {
                out.push(format!(
                    "a group conv with kernel {} and stride {} needs output features per group a multiple of 8 or fewer than 8 (DFC guide 5.5.8), got {per_group}",
                    pair(k), pair(s)
                ));
            }
        }
        LayerKind::Deconv => {
            const TABLE_14: [([i64; 2], [i64; 2]); 8] = [
                ([16, 16], [8, 8]),
                ([8, 8], [8, 8]),
                ([8, 8], [4, 4]),
                ([4, 4], [4, 4]),
                ([4, 4], [2, 2]),
                ([3, 3], [2, 2]),
                ([2, 2], [2, 2]),
                ([1, 1], [1, 1]),
            ];
            if !TABLE_14.contains(&(k, s)) {
                out.push(format!(
                    "a deconv with kernel {} and rate {} is not in the DFC guide's Table 14",
                    pair(k),
                    pair(s)
                ));
            }
        }
        LayerKind::MaxPool => {
            let listed = matches!(
                (k, s),
                ([2, 2], [1, 1] | [2, 1] | [2, 2])
                    | ([1, 2], [1, 2])
                    | ([3, 3], [1, 1] | [2, 2])
                    | ([5, 5] | [9, 9] | [13, 13], [1, 1])
            );
            let x = m.value_type(m.op(op).operands()[0]).shape().unwrap_or(&[]);
            let within = |lo: i64, v: [i64; 2]| {
                x.len() == 4 && (0..2).all(|i| (lo..=x[i + 1]).contains(&v[i]))
            };
            let any_other = within(2, k) && within(2, s);
            let subsample = k == [1, 1] && s != [1, 1] && within(1, s);
            if !(listed || any_other || subsample) {
                out.push(format!(
                    "a max pool with kernel {} and stride {} is not in the DFC guide's Table 12 (else kernel and stride must be between 2 and the input's height and width, or a 1x1 kernel subsample with a stride above 1)",
                    pair(k),
                    pair(s)
                ));
            }
        }
        LayerKind::Activation => out.extend(check_table(m, op)),
        LayerKind::EwAdd | LayerKind::EwSub | LayerKind::EwMult | LayerKind::EwDiv => {
            out.extend(check_broadcast(m, op, true));
        }
        LayerKind::EwMax | LayerKind::EwMin => out.extend(check_broadcast(m, op, false)),
        LayerKind::ArgMax => out.extend(check_argmax(m, op)),
        LayerKind::Reduce => out.extend(check_reduce(m, op)),
        LayerKind::Slice => out.extend(check_slice(m, op)),
        LayerKind::Pad => out.extend(check_pad(m, op)),
        LayerKind::Resize => out.extend(check_resize(m, op)),
        _ => {}
    }
    out
}

fn shape_of(m: &Module, v: ValueId) -> &'static [i64] {
    m.value_type(v).shape().unwrap_or(&[])
}

fn input_shape(m: &Module, op: OpId) -> &'static [i64] {
    shape_of(m, m.op(op).operands()[0])
}

/// The non-negative axes of `key` on a rank-`rank` input.
fn axes(m: &Module, op: OpId, key: &str, rank: usize) -> Vec<i64> {
    let mut a: Vec<i64> = m
        .attr(op, key)
        .and_then(Attribute::as_i64_array)
        .unwrap_or_default()
        .iter()
        .map(|&x| if x < 0 { x + rank as i64 } else { x })
        .collect();
    a.sort_unstable();
    a
}

/// Elementwise inputs: one shape, or (`broadcast`) the guide's three broadcasts of NHWC maps.
fn check_broadcast(m: &Module, op: OpId, broadcast: bool) -> Option<String> {
    let (a, b) = (input_shape(m, op), shape_of(m, m.op(op).operands()[1]));
    if a == b {
        return None;
    }
    let fits = |big: &[i64], small: &[i64]| match (big, small) {
        ([n, h, w, f], [n2, h2, w2, f2]) => {
            n == n2
                && ((h == h2 && w == w2 && *f2 == 1)
                    || ([*h2, *w2] == [1, 1] && (f == f2 || *f2 == 1)))
        }
        _ => false,
    };
    if broadcast && (fits(a, b) || fits(b, a)) {
        return None;
    }
    let allowed = if broadcast {
        "of one shape, or one of them with 1 feature, a 1x1 map or both (DFC guide 5.5.10)"
    } else {
        "of one shape (DFC guide 5.5.37)"
    };
    Some(format!(
        "elementwise inputs {a:?} and {b:?}: the inputs must be {allowed}"
    ))
}

/// What may sit between a network's last layer and its outputs.
fn reaches_only_outputs(m: &Module, v: ValueId) -> bool {
    let uses = m.value(v).uses();
    !uses.is_empty()
        && uses.iter().all(|u| {
            let o = u.op;
            let relays = phys::Buffer::cast(m, o).is_some()
                || phys::OutputMux::cast(m, o).is_some()
                || (phys::Concat::cast(m, o).is_some() && m.attr(o, "defuse").is_some())
                || (phys::FormatConversion::cast(m, o).is_some()
                    && m.attr(o, "subclusters")
                        .and_then(Attribute::as_i64)
                        .unwrap_or(0)
                        == 0);
            if relays {
                m.op(o)
                    .results()
                    .iter()
                    .all(|&r| reaches_only_outputs(m, r))
            } else {
                Dequantize::cast(m, o).is_some() || m.op(o).name_str() == hailo_ir::builtin::RETURN
            }
        })
}

fn check_argmax(m: &Module, op: OpId) -> Vec<String> {
    let mut out = Vec::new();
    let x = input_shape(m, op);
    let axis = axes(m, op, "axis", x.len());
    match x {
        [_, _, _, f] if axis.is_empty() || axis == [3] => {
            if *f > 64 {
                out.push(format!(
                    "an argmax takes at most 64 features (DFC guide 5.5.20), got {f}"
                ));
            }
        }
        _ => out.push(format!(
            "an argmax runs along the features of an NHWC map (DFC guide 5.5.20), got input {x:?} and axis {axis:?}"
        )),
    }
    if !reaches_only_outputs(m, m.result(op, 0)) {
        out.push(
            "an argmax must be the network's last layer (DFC guide 5.5.20): its result may only reach graph outputs"
                .into(),
        );
    }
    out
}

fn check_reduce(m: &Module, op: OpId) -> Option<String> {
    let x = input_shape(m, op);
    let a = axes(m, op, "axes", x.len());
    let kind = m
        .attr(op, "reduction")
        .and_then(Attribute::as_str)
        .unwrap_or("");
    let ok = match (kind, x.len()) {
        ("max" | "min", 4) => a == [3],
        ("sum", 4) => true,
        ("sum", 2) => a == [1],
        ("sum_square", 4) => a == [3] || a == [1, 2],
        ("mean" | "l2", _) => true,
        _ => false,
    };
    (!ok).then(|| {
        format!(
            "a reduce {kind} along axes {a:?} of a rank-{} input is not supported (DFC guide 5.5.21-25: max and min along the features of an NHWC map, sum along any axes of an NHWC map or the features of [N, C], sum_square along the features or the spatial axes, mean and l2 along any)",
            x.len()
        )
    })
}

fn check_slice(m: &Module, op: OpId) -> Option<String> {
    let x = input_shape(m, op);
    let steps = m
        .attr(op, "steps")
        .and_then(Attribute::as_i64_array)
        .unwrap_or_default();
    if x.len() != 4 || steps.iter().any(|&s| s != 1) {
        return Some(format!(
            "a slice crops a contiguous part of an NHWC map (DFC guide 5.5.28), got input {x:?} and steps {steps:?}"
        ));
    }
    None
}

fn check_pad(m: &Module, op: OpId) -> Option<String> {
    let x = input_shape(m, op);
    let mode = m
        .attr(op, "pad_mode")
        .and_then(Attribute::as_str)
        .unwrap_or("constant");
    let value = m.attr(op, "pad_value").and_then(Attribute::as_i64);
    let zero = QuantType::parse(m.value_type(m.op(op).operands()[0])).map(|q| q.zero_point());
    if x.len() != 4 || mode != "constant" || value != zero {
        return Some(format!(
            "an external pad adds zeros around an NHWC map (DFC guide 5.5.30): constant mode with the input's zero point, got input {x:?}, mode {mode}, value {}",
            value.map_or("none".into(), |v| v.to_string())
        ));
    }
    None
}

fn check_resize(m: &Module, op: OpId) -> Option<String> {
    let (x, y) = (input_shape(m, op), shape_of(m, m.result(op, 0)));
    let ([_, h, w, f], [_, h2, w2, f2]) = (x, y) else {
        return Some(format!(
            "a resize scales an NHWC map (DFC guide 5.5.15), got {x:?} to {y:?}"
        ));
    };
    let nearest = m.attr(op, "interpolation").and_then(Attribute::as_str) != Some("bilinear");
    let broadcast = (*f == 1 && *f2 > 1) || (*w == 1 && *w2 > 1);
    if broadcast && !nearest {
        return Some(format!(
            "a resize from {x:?} to {y:?} broadcasts, which only nearest-neighbour does (DFC guide 5.5.15)"
        ));
    }
    if *h2 > 4096 * h {
        return Some(format!(
            "a resize scales rows at most 4096 times (DFC guide 5.5.15), got {h} to {h2}"
        ));
    }
    None
}

/// The largest map a height transpose holds: "smaller than 1.5MB" (DFC guide 5.5.34), read as
/// 1.5 MiB.
const TRANSPOSE_MAX_BYTES: u64 = 3 << 19;

fn check_transpose(m: &Module, op: OpId) -> Option<String> {
    if m.attr(op, "conversion").and_then(Attribute::as_str) != Some("transpose") {
        return None;
    }
    let perm = m
        .attr(op, "perm")
        .and_then(Attribute::as_i64_array)
        .unwrap_or_default();
    let ty = m.value_type(m.op(op).operands()[0]);
    let bits = QuantType::parse(ty).map_or(8, |q| u64::from(q.storage().bits()));
    let bytes = (ty.num_elements().max(0) as u64 * bits).div_ceil(8);
    match perm[..] {
        [0, 1, 3, 2] => None,
        [0, 2, 1, 3] | [0, 3, 2, 1] if bytes < TRANSPOSE_MAX_BYTES => None,
        [0, 2, 1, 3] | [0, 3, 2, 1] => Some(format!(
            "a transpose of the height buffers the whole map, which must be under 1.5 MiB (DFC guide 5.5.34), got {bytes} bytes"
        )),
        _ => Some(format!(
            "a transpose swaps width and features, height and width, or height and features of an NHWC map (DFC guide 5.5.34), got perm {perm:?}"
        )),
    }
}

/// Padding must be one of the guide's modes for this input, window and stride.
fn check_padding(m: &Module, op: OpId, p: &LayerParams) -> Option<String> {
    let pads = m.attr(op, "pads").and_then(Attribute::as_i64_array)?;
    let x = m.value_type(m.op(op).operands()[0]).shape().unwrap_or(&[]);
    let ([_, h, w, _], [a, b, c, d]) = (x, &pads[..]) else {
        return Some(format!(
            "'pads' must be [top, left, bottom, right] on an NHWC input, got {pads:?}"
        ));
    };
    let pads = [*a, *b, *c, *d];
    let k = [
        dilated(p.kernel[0], p.dilations[0]),
        dilated(p.kernel[1], p.dilations[1]),
    ];
    let modes = [Padding::Valid, Padding::Same, Padding::SameTensorflow];
    if modes
        .iter()
        .any(|mode| mode.pads_2d([*h, *w], k, p.strides) == pads)
    {
        return None;
    }
    Some(format!(
        "pads {pads:?} are none of VALID, SAME or SAME_TENSORFLOW for a {}x{} input, kernel {} and stride {} (DFC guide 5.5)",
        h,
        w,
        pair(p.kernel),
        pair(p.strides)
    ))
}

/// An activation is a lookup: one output code per input code, each one the result can hold.
fn check_table(m: &Module, op: OpId) -> Option<String> {
    let Some(table) = m.attr(op, "table").and_then(Attribute::as_i64_array) else {
        return Some("an activation layer needs its 'table' of output codes".into());
    };
    let input = QuantType::parse(m.value_type(m.op(op).operands()[0]))?;
    let output = QuantType::parse(m.value_type(m.result(op, 0)))?;
    let codes = 1u64 << input.storage().bits();
    if table.len() as u64 != codes {
        return Some(format!(
            "the activation table has {} entries; a {}-bit input needs {codes}",
            table.len(),
            input.storage().bits()
        ));
    }
    let (lo, hi) = (output.storage().qmin(), output.storage().qmax());
    table.iter().position(|v| !(lo..=hi).contains(v)).map(|i| {
        format!(
            "activation table entry {i} ({}) is outside the result's codes {lo}..={hi}",
            table[i]
        )
    })
}
