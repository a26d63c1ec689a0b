//! The ops of the `phys` dialect, each one physical layer (or edge buffer) as the Hailo-8 runs it,
//! on quantized (`!q.uniform` / `!q.per_axis`) tensors.
//!
//! The vendor's compiler turns a quantized network into such layers (defused parts and their
//! concats, splitters, shortcuts, portals, format conversions, buffers on edges); the allocation
//! dumps under `shared/data/allocation/` list them. Each op here is one of those kinds with the
//! attributes the dumps and the model-script commands carry (`compilation_param`,
//! `defuse`, `buffers`, `portal`, `ddr`), and implements [`crate::ResourceModel`] so the allocator
//! reads what it costs without looking at its name.
//!
//! The verifier rejects what no Hailo-8-family chip can run: a layer over 8 subclusters, a buffer
//! over 255 rows ([`hailo_target::HAILO8_LAYER_LIMITS`]), a 16x4 layer outside the DFC guide's
//! Table 7.

use crate::kind::{DefuseKind, LayerKind, PortalMemory};
use crate::resources as rm;
use hailo_dialect_quant::ops::quant_of;
use hailo_ir::{define_op, Attribute, Module, OpDef, OpId};
use hailo_target::{ScMode, HAILO8_LAYER_LIMITS};

type Result<T> = std::result::Result<T, String>;

/// The attributes every phys layer may carry: the logical layer it came from (`origin`, the name
/// before defuse) and its place in a defuse (`defuse` kind; `part = [i, n]` on the parts, none on
/// their concat and splitters; `slice = [lo, hi]` on a part: the output features (features
/// defuse), output rows or columns (spatial) or input features (input features) of the logical
/// layer it computes, with the logical layer's whole kernel and bias as operands).
pub const DEFUSE_ROLE: &[hailo_ir::AttrSpec] = &[
    hailo_ir::AttrSpec {
        name: "origin",
        kind: hailo_ir::AttrKind::Str,
        required: false,
        default: Some("the op's own 'layer'"),
        what: None,
    },
    hailo_ir::AttrSpec {
        name: "defuse",
        kind: hailo_ir::AttrKind::Str,
        required: false,
        default: Some("not defused"),
        what: None,
    },
    hailo_ir::AttrSpec {
        name: "part",
        kind: hailo_ir::AttrKind::I64Array,
        required: false,
        default: None,
        what: None,
    },
    hailo_ir::AttrSpec {
        name: "slice",
        kind: hailo_ir::AttrKind::I64Array,
        required: false,
        default: Some("the whole layer"),
        what: None,
    },
];

/// Where the allocator is asked to put a layer: the model script's `place(cluster, layers)` and
/// `context(...)` commands, kept on the layer for it (and for the cross-cluster buffers of
/// `phys-buffers`).
pub const PLACEMENT: &[hailo_ir::AttrSpec] = &[
    int_attr("cluster", hailo_ir::AttrKind::I64),
    int_attr("context", hailo_ir::AttrKind::I64),
];

/// Two compute layers sharing one layer controller (`merge(layer1, layer2)`, `phys-merge`): both
/// carry the merged layer's name (`merged`) and their place in it (`merge_index`); the one at
/// index 0 holds the shared controller and subclusters, the other costs no layer resources.
pub const MERGE: &[hailo_ir::AttrSpec] = &[
    int_attr("merged", hailo_ir::AttrKind::Str),
    int_attr("merge_index", hailo_ir::AttrKind::I64),
];

/// The integer arithmetic of the `q` op a layer computes, carried unchanged so that the
/// backend emits the same codes the integer emulation computes: padding (`pads`, as the `q`
/// convolutions and pools spell it), the output rescale and saturation (`multiplier`, `shift`,
/// `clamp`), a fused add's rescale to the accumulator (`add_multiplier`, `add_shift`), an
/// activation's table of output codes (`table`: an activation layer's lookup, or the activation
/// a compute layer applies after its rescale, on its APU), an average pool's divisor rule
/// (`count_include_pad`) and a pool's output rounding (`ceil_mode`). The `q` dialect's docs
/// define each.
pub const INTEGER_ARITHMETIC: &[hailo_ir::AttrSpec] = &[
    int_attr("pads", hailo_ir::AttrKind::I64Array),
    int_attr("multiplier", hailo_ir::AttrKind::I64Array),
    int_attr("shift", hailo_ir::AttrKind::I64Array),
    int_attr("clamp", hailo_ir::AttrKind::I64Array),
    int_attr("add_multiplier", hailo_ir::AttrKind::I64Array),
    int_attr("add_shift", hailo_ir::AttrKind::I64Array),
    int_attr("table", hailo_ir::AttrKind::I64Array),
    int_attr("count_include_pad", hailo_ir::AttrKind::Bool),
    int_attr("ceil_mode", hailo_ir::AttrKind::Bool),
    int_attr("slope_multiplier", hailo_ir::AttrKind::I64Array),
];

/// What the `q` op of a layer computes beyond its window and arithmetic, carried unchanged
/// (the `q` dialect's docs define each) under the `q` op's names, but where a `q` name is
/// already a `phys.layer` attribute: a deconv's `output_padding`; a matmul's `transpose_b`; an
/// argmax's `axis`; a reduce's `reduction` (`q.reduce`'s `kind`), `axes` and `keepdims` (also a
/// layer norm's `axes`, with `epsilon` and `center`); a resize's `interpolation` (`q.resize`'s
/// `mode`), `coordinate`, `nearest_mode` and `frac_bits`; a slice's `starts`, `ends` and `steps`;
/// a pad layer's `pad_mode` and `pad_value` (`q.pad`'s `mode` and `value`; its `pads` are
/// `q.pad`'s per-axis `[before..., after...]`); a one-hot's `on` and `off` codes.
pub const OP_SEMANTICS: &[hailo_ir::AttrSpec] = &[
    int_attr("output_padding", hailo_ir::AttrKind::I64Array),
    int_attr("transpose_b", hailo_ir::AttrKind::Bool),
    int_attr("axis", hailo_ir::AttrKind::I64),
    int_attr("reduction", hailo_ir::AttrKind::Str),
    int_attr("axes", hailo_ir::AttrKind::I64Array),
    int_attr("keepdims", hailo_ir::AttrKind::Bool),
    int_attr("epsilon", hailo_ir::AttrKind::I64),
    int_attr("center", hailo_ir::AttrKind::Bool),
    int_attr("interpolation", hailo_ir::AttrKind::Str),
    int_attr("coordinate", hailo_ir::AttrKind::Str),
    int_attr("nearest_mode", hailo_ir::AttrKind::Str),
    int_attr("frac_bits", hailo_ir::AttrKind::I64),
    int_attr("starts", hailo_ir::AttrKind::I64Array),
    int_attr("ends", hailo_ir::AttrKind::I64Array),
    int_attr("steps", hailo_ir::AttrKind::I64Array),
    int_attr("pad_mode", hailo_ir::AttrKind::Str),
    int_attr("pad_value", hailo_ir::AttrKind::I64),
    int_attr("on", hailo_ir::AttrKind::I64),
    int_attr("off", hailo_ir::AttrKind::I64),
];

const fn int_attr(name: &'static str, kind: hailo_ir::AttrKind) -> hailo_ir::AttrSpec {
    hailo_ir::AttrSpec {
        name,
        kind,
        required: false,
        default: None,
        what: None,
    }
}

define_op! {
    /// `%y = phys.layer %x[, %x2], %kernel[, %bias] {kind = "conv", layer = "conv4", kernel = [3, 3], subclusters = 6, ...}`:
    /// one compute layer on one layer controller. The first `inputs` operands are feature maps
    /// (a conv's second input is an elementwise add fused into it); weighted kinds then take a
    /// kernel and an optional bias.
    pub struct Layer = "phys.layer" {
        summary: "physical compute layer", traits: [PURE],
        attrs {
            kind: str [required = "the layer kind, e.g. \"conv\""],
            layer: str [required = "the physical layer name, a string"],
            inputs: i64 [default = "1"],
            kernel: i64_array [default = "[1, 1]"],
            strides: i64_array [default = "[1, 1]"],
            dilations: i64_array [default = "[1, 1]"],
            groups: i64 [default = "1"],
            subclusters: i64 [default = "1 (the allocator sets it)"],
            mode: str [default = "\"8x8\""]
        }
        attr_groups [DEFUSE_ROLE, PLACEMENT, MERGE, INTEGER_ARITHMETIC, OP_SEMANTICS]
        interfaces { crate::ResourceModel => rm::ComputeLayer }
        hooks { verify: v_layer }
    }
}

define_op! {
    /// `%y = phys.concat %a, %b, ... {layer = "conv5_dc", axis = 3}`: joins feature maps (a defuse's
    /// parts when `defuse` is set).
    pub struct Concat = "phys.concat" {
        summary: "physical concat", traits: [PURE],
        attrs { layer: str [required = "the physical layer name, a string"], axis: i64 [default = "3 (features)"] }
        attr_groups [DEFUSE_ROLE, PLACEMENT]
        interfaces { crate::ResourceModel => rm::HELPER }
        hooks { verify: v_concat }
    }
}

define_op! {
    /// `%a, %b = phys.feature_splitter %x {layer = ...}`: splits the features among its results.
    pub struct FeatureSplitter = "phys.feature_splitter" {
        summary: "splits features among physical layers", traits: [PURE],
        operands { input: 0 }
        attrs { layer: str [required = "the physical layer name, a string"] }
        attr_groups [DEFUSE_ROLE, PLACEMENT]
        interfaces { crate::ResourceModel => rm::HELPER }
        hooks { verify: v_feature_splitter }
    }
}

define_op! {
    /// `%a, %b = phys.shape_splitter %x {layer = ..., axis = 2}`: splits rows (axis 1) or columns
    /// (axis 2) among its results, for spatial defuse.
    pub struct ShapeSplitter = "phys.shape_splitter" {
        summary: "splits rows or columns among physical layers", traits: [PURE],
        operands { input: 0 }
        attrs { layer: str [required = "the physical layer name, a string"], axis: i64 [required = "1 (height) or 2 (width)"] }
        attr_groups [DEFUSE_ROLE, PLACEMENT]
        interfaces { crate::ResourceModel => rm::HELPER }
        hooks { verify: v_shape_splitter }
    }
}

define_op! {
    /// `%y = phys.shortcut %x {layer = ...}`: an identity layer that carries a feature map to
    /// another cluster or breaks a long edge.
    pub struct Shortcut = "phys.shortcut" {
        summary: "identity layer between physical layers", traits: [PURE],
        operands { input: 0 }
        attrs { layer: str [required = "the physical layer name, a string"] }
        attr_groups [PLACEMENT]
        interfaces { crate::ResourceModel => rm::HELPER }
        hooks { verify: v_same_type }
    }
}

define_op! {
    /// `%y = phys.portal %x {layer = ..., memory = "l4"}`: a long skip through cluster (L3),
    /// device (L4) or host (DDR) memory; no layer controller, no subcluster.
    pub struct Portal = "phys.portal" {
        summary: "skip connection through L3, L4 or DDR memory", traits: [PURE],
        operands { input: 0 }
        attrs { layer: str [required = "the physical layer name, a string"], memory: str [required = "\"l3\", \"l4\" or \"ddr\""] }
        attr_groups [PLACEMENT]
        interfaces { crate::ResourceModel => rm::PortalCost }
        hooks { verify: v_portal }
    }
}

define_op! {
    /// `%y = phys.format_conversion %x {layer = ..., conversion = "reshape"}`: a change of layout
    /// (reshape, transpose, boundary format); on the host side (0 subclusters) by default.
    pub struct FormatConversion = "phys.format_conversion" {
        summary: "layout or boundary format change", traits: [PURE],
        operands { input: 0 }
        attrs {
            layer: str [required = "the physical layer name, a string"],
            conversion: str [required = "what it converts, e.g. \"reshape\""],
            perm: i64_array [default = "none (a transpose's axis permutation, numpy order)"],
            subclusters: i64 [default = "0 (host side)"]
        }
        attr_groups [PLACEMENT]
        interfaces { crate::ResourceModel => rm::FormatConversionCost }
        hooks { verify: v_format_conversion }
    }
}

define_op! {
    /// `%a2, %b2 = phys.output_mux %a, %b {layer = ...}`: several graph outputs sent to the host
    /// over one stream (`output_mux([a, b])`); its results are its operands again, as the host
    /// splits the stream.
    pub struct OutputMux = "phys.output_mux" {
        summary: "several outputs over one output stream", traits: [PURE],
        attrs { layer: str [required = "the physical layer name, a string"] }
        attr_groups [PLACEMENT]
        interfaces { crate::ResourceModel => rm::HELPER }
        hooks { verify: v_output_mux }
    }
}

define_op! {
    /// `%y = phys.buffer %x {rows = 5, rows_after = 4}`: the rows of its input the edge into the
    /// consumer holds (`buffers(src, dst, rows[, rows_after])`); `rows_after` is the second size on
    /// an edge that crosses clusters. Its input is an NHWC map or a dense output `[N, C]`, which
    /// is one row (the dumps buffer those edges too: `buffers(fc1_d0, fc1_dc, 64)`).
    pub struct Buffer = "phys.buffer" {
        summary: "rows buffered on an edge between physical layers", traits: [PURE],
        operands { input: 0 }
        attrs { rows: i64 [required = "rows before the cluster transition"], rows_after: i64, partial_row: bool [default = "false (FULL_ROW)"] }
        interfaces { crate::ResourceModel => rm::BufferCost }
        hooks { verify: v_buffer }
    }
}

pub fn defs() -> Vec<OpDef> {
    vec![
        Layer::def(),
        Concat::def(),
        FeatureSplitter::def(),
        ShapeSplitter::def(),
        Shortcut::def(),
        Portal::def(),
        FormatConversion::def(),
        OutputMux::def(),
        Buffer::def(),
    ]
}

/// The resolved attributes of a `phys.layer`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerParams {
    pub kind: LayerKind,
    pub inputs: usize,
    pub kernel: [i64; 2],
    pub strides: [i64; 2],
    pub dilations: [i64; 2],
    pub groups: i64,
    pub subclusters: u32,
    pub mode: ScMode,
    pub defuse: Option<(DefuseKind, [i64; 2])>,
}

fn pair(m: &Module, op: OpId, key: &str, default: i64) -> Result<[i64; 2]> {
    match m.attr(op, key).map(|a| a.as_i64_array()) {
        None => Ok([default, default]),
        Some(Some(v)) if v.len() == 2 && v.iter().all(|&x| x >= 1) => Ok([v[0], v[1]]),
        Some(_) => Err(format!(
            "attribute '{key}' must be two positive integers [h, w], got {}",
            m.attr(op, key)
                .map(Attribute::to_string)
                .unwrap_or_default()
        )),
    }
}

/// The per-layer subcluster count in `0..=8`, from attribute `key` (absent: `default`).
fn subclusters(m: &Module, op: OpId, key: &str, default: u32) -> Result<u32> {
    let Some(n) = m.attr(op, key).and_then(Attribute::as_i64) else {
        return Ok(default);
    };
    let max = HAILO8_LAYER_LIMITS.max_subclusters;
    if n < 0 {
        return Err(format!("attribute '{key}' must be >= 0, got {n}"));
    }
    if n > i64::from(max) {
        return Err(format!(
            "uses {n} subclusters; a physical layer holds at most {max} (defuse it into parts)"
        ));
    }
    Ok(n as u32)
}

fn defuse_kind(m: &Module, op: OpId) -> Result<Option<DefuseKind>> {
    let Some(k) = m.attr(op, "defuse").and_then(Attribute::as_str) else {
        return Ok(None);
    };
    DefuseKind::parse(k).map(Some).ok_or_else(|| {
        format!(
            "unknown defuse kind \"{k}\"; expected one of: {}",
            DefuseKind::names()
        )
    })
}

/// The defuse role (`defuse` kind and `part = [i, n]`), if the op is a defused part.
pub fn defuse_role(m: &Module, op: OpId) -> Result<Option<(DefuseKind, [i64; 2])>> {
    let kind = defuse_kind(m, op)?;
    let part = m.attr(op, "part").and_then(Attribute::as_i64_array);
    match (kind, part) {
        (None, None) => Ok(None),
        // A compute-lanes defuse has one part, which runs the lanes (its name says how many).
        (Some(DefuseKind::ComputeLanes), Some(p)) => match p[..] {
            [0, 1] => Ok(Some((DefuseKind::ComputeLanes, [0, 1]))),
            _ => Err(format!(
                "a compute-lanes part is the only one: 'part' must be [0, 1], got {p:?}"
            )),
        },
        (Some(kind), Some(p)) => match p[..] {
            [i, n] if n >= 2 && (0..n).contains(&i) => Ok(Some((kind, [i, n]))),
            _ => Err(format!(
                "attribute 'part' must be [i, n] with n >= 2 and 0 <= i < n, got {p:?}"
            )),
        },
        (Some(_), None) => Err("a defused layer needs 'part = [i, n]'".into()),
        (None, Some(_)) => Err("attribute 'part' needs the 'defuse' kind".into()),
    }
}

impl LayerParams {
    /// Reads and checks a `phys.layer`'s attributes.
    pub fn of(m: &Module, op: OpId) -> Result<LayerParams> {
        let name = m.attr(op, "kind").and_then(Attribute::as_str).unwrap_or("");
        let kind = LayerKind::parse(name).ok_or_else(|| {
            format!(
                "unknown layer kind \"{name}\"; expected one of: {}",
                LayerKind::names()
            )
        })?;
        let inputs = m
            .attr(op, "inputs")
            .and_then(Attribute::as_i64)
            .unwrap_or(1);
        let (lo, hi) = kind.inputs();
        if !(lo as i64..=hi as i64).contains(&inputs) {
            return Err(format!(
                "a {name} layer takes {lo}..={hi} feature-map inputs, 'inputs' is {inputs}"
            ));
        }
        let groups = m
            .attr(op, "groups")
            .and_then(Attribute::as_i64)
            .unwrap_or(1);
        if groups < 1 {
            return Err(format!("attribute 'groups' must be >= 1, got {groups}"));
        }
        let mode_name = m
            .attr(op, "mode")
            .and_then(Attribute::as_str)
            .unwrap_or("8x8");
        let mode = ScMode::parse(mode_name)
            .ok_or_else(|| format!("unknown mode \"{mode_name}\"; expected 8x8 or 16x4"))?;
        let p = LayerParams {
            kind,
            inputs: inputs as usize,
            kernel: pair(m, op, "kernel", 1)?,
            strides: pair(m, op, "strides", 1)?,
            dilations: pair(m, op, "dilations", 1)?,
            groups,
            subclusters: subclusters(m, op, "subclusters", 1)?,
            mode,
            defuse: defuse_role(m, op)?,
        };
        if mode == ScMode::Mode16x4 && !kind.supports_16x4(p.kernel, p.strides, p.dilations) {
            return Err(format!(
                "16x4 mode does not support a {name} layer with kernel {:?}, strides {:?}, dilations {:?} (DFC guide Table 7)",
                p.kernel, p.strides, p.dilations
            ));
        }
        Ok(p)
    }
}

fn check_quantized(m: &Module, op: OpId, data_operands: usize) -> Result<()> {
    let o = m.op(op);
    for (i, &v) in o.operands().iter().enumerate().take(data_operands) {
        quant_of(m.value_type(v), &format!("operand {i}"))?;
    }
    for (i, &r) in o.results().iter().enumerate() {
        quant_of(m.value_type(r), &format!("result {i}"))?;
    }
    Ok(())
}

/// `lo..=hi`, or `at least lo` when unbounded.
fn range((lo, hi): (usize, usize)) -> String {
    if hi == usize::MAX {
        format!("at least {lo}")
    } else {
        format!("{lo}..={hi}")
    }
}

fn counts(m: &Module, op: OpId, operands: (usize, usize), results: (usize, usize)) -> Result<()> {
    let o = m.op(op);
    let (n, r) = (o.operands().len(), o.results().len());
    if !(operands.0..=operands.1).contains(&n) {
        return Err(format!("expects {} operands, got {n}", range(operands)));
    }
    if !(results.0..=results.1).contains(&r) {
        return Err(format!("expects {} results, got {r}", range(results)));
    }
    Ok(())
}

fn v_layer(m: &Module, op: OpId) -> Result<()> {
    let p = LayerParams::of(m, op)?;
    let merged = m.attr(op, "merged").is_some();
    match m.attr(op, "merge_index").and_then(Attribute::as_i64) {
        Some(i) if !merged || i < 0 => {
            return Err(format!(
                "'merge_index' ({i}) needs 'merged' and must be >= 0"
            ))
        }
        None if merged => return Err("a merged layer needs its 'merge_index'".into()),
        _ => {}
    }
    let n = m.op(op).operands().len();
    let (lo, hi, weights) = match p.kind.weighted() {
        true => (
            p.inputs + 1,
            p.inputs + 2,
            ", then a kernel and an optional bias",
        ),
        false => (p.inputs, p.inputs, ""),
    };
    if !(lo..=hi).contains(&n) {
        return Err(format!(
            "expects {} feature-map input(s){weights}, got {n} operand(s)",
            p.inputs
        ));
    }
    counts(m, op, (n, n), (1, 1))?;
    check_quantized(m, op, m.op(op).operands().len())?;
    // The MAC count reads the shapes; a layer whose shapes do not fit its kind is rejected here.
    rm::macs_per_frame(m, op, &p).map(|_| ())
}

/// Concats and splitters of a defuse name its kind (`defuse`) but are no part of it.
fn defuse_join(m: &Module, op: OpId) -> Result<()> {
    if m.attr(op, "part").is_some() {
        return Err("a defuse's concat or splitter takes no 'part'; its parts do".into());
    }
    defuse_kind(m, op).map(|_| ())
}

/// Joins and splitters relay at least two feature maps, except around a compute-lanes part,
/// which is the only one.
fn fan(m: &Module, op: OpId) -> Result<usize> {
    Ok(match defuse_kind(m, op)? {
        Some(DefuseKind::ComputeLanes) => 1,
        _ => 2,
    })
}

fn v_concat(m: &Module, op: OpId) -> Result<()> {
    counts(m, op, (fan(m, op)?, usize::MAX), (1, 1))?;
    check_quantized(m, op, usize::MAX)?;
    defuse_join(m, op)
}

fn v_feature_splitter(m: &Module, op: OpId) -> Result<()> {
    counts(m, op, (1, 1), (fan(m, op)?, usize::MAX))?;
    check_quantized(m, op, 1)?;
    defuse_join(m, op)
}

fn v_shape_splitter(m: &Module, op: OpId) -> Result<()> {
    v_feature_splitter(m, op)?;
    match m.attr(op, "axis").and_then(Attribute::as_i64) {
        Some(1 | 2) => Ok(()),
        other => Err(format!(
            "attribute 'axis' must be 1 (height) or 2 (width), got {}",
            other.map_or("nothing".into(), |a| a.to_string())
        )),
    }
}

fn v_same_type(m: &Module, op: OpId) -> Result<()> {
    counts(m, op, (1, 1), (1, 1))?;
    check_quantized(m, op, 1)?;
    let (a, b) = (
        m.value_type(m.op(op).operands()[0]),
        m.value_type(m.result(op, 0)),
    );
    if a != b {
        return Err(format!(
            "result type '{b}' differs from the operand's '{a}'"
        ));
    }
    Ok(())
}

fn v_portal(m: &Module, op: OpId) -> Result<()> {
    v_same_type(m, op)?;
    let s = m
        .attr(op, "memory")
        .and_then(Attribute::as_str)
        .unwrap_or("");
    PortalMemory::parse(s)
        .map(|_| ())
        .ok_or_else(|| format!("unknown portal memory \"{s}\"; expected l3, l4 or ddr"))
}

fn v_format_conversion(m: &Module, op: OpId) -> Result<()> {
    counts(m, op, (1, 1), (1, 1))?;
    check_quantized(m, op, 1)?;
    subclusters(m, op, "subclusters", 0).map(|_| ())
}

fn v_output_mux(m: &Module, op: OpId) -> Result<()> {
    let n = m.op(op).operands().len();
    counts(m, op, (2, usize::MAX), (n, n))?;
    check_quantized(m, op, usize::MAX)?;
    for (i, (&a, &r)) in m
        .op(op)
        .operands()
        .iter()
        .zip(m.op(op).results())
        .enumerate()
    {
        if m.value_type(a) != m.value_type(r) {
            return Err(format!(
                "result {i} type '{}' differs from operand {i}'s '{}'",
                m.value_type(r),
                m.value_type(a)
            ));
        }
    }
    Ok(())
}

fn v_buffer(m: &Module, op: OpId) -> Result<()> {
    v_same_type(m, op)?;
    let max = i64::from(HAILO8_LAYER_LIMITS.max_buffer_rows);
    for key in ["rows", "rows_after"] {
        if let Some(r) = m.attr(op, key).and_then(Attribute::as_i64) {
            if !(1..=max).contains(&r) {
                return Err(format!("'{key}' is {r}; a buffer holds 1..={max} rows"));
            }
        }
    }
    let shape = m.value_type(m.result(op, 0)).shape().unwrap_or(&[]);
    if shape.len() != 4 && shape.len() != 2 {
        return Err(format!(
            "buffers hold rows of an NHWC feature map or of a dense output [N, C] (one row), got shape {shape:?}"
        ));
    }
    Ok(())
}
