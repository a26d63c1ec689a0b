//! `hl-nms-postprocess`: the model script's `nms_postprocess(config_path, meta_arch, engine,
//! nms_scores_th, nms_iou_th, image_dims, classes, bbox_decoding_only)`. Reads the NMS JSON
//! config (the DFC's format: thresholds, `classes`, `image_dims`, `max_proposals_per_class`,
//! and `bbox_decoders` naming the layers of each detection head) or, without one,
//! auto-detects the heads from the output layers. The heads' output layers are replaced by one
//! `hl.nms` layer and its output layer.
//!
//! CenterNet configs name the heatmap `cls_layer`, the box size map `reg_layer_w` and the
//! center offset map `reg_layer_h` (an assumption: the guide does not define the keys), with the
//! stride as `input_division_factor`. YOLOv5-seg configs name YOLOv5's `encoded_layer`s; the
//! prototype masks (`proto`, whose layer the config does not name) are the remaining output
//! with `proto[0].number` channels.
//!
//! The guide adds the sigmoid between the heads and the NMS "whenever is needed": a head whose
//! value already went through one (`change_output_activation(sigmoid)` before
//! `nms_postprocess`, as the model zoo's YOLOv5 scripts do, fuses it into the head conv) is
//! listed in `sigmoid_applied`, and the decoding does not apply it a second time.

use super::{build, fail_at, fresh_layer, graphs, layer_name, ops_named, shape_of, Res};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::access::OpView;
use hailo_dialect_hl::interfaces::{interface, FusedActivation};
use hailo_dialect_hl::ops::activation::Activation;
use hailo_dialect_hl::ops::postprocess::MetaArch;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Context, Module, OpId, OpSpec, Type, ValueId};
use serde_json::Value;

hailo_ir::pass_options! {
    pub struct NmsPostprocessOptions {
        /// NMS config JSON; auto-detected heads and default values when empty.
        config_path: String = String::new(),
        /// ssd, centernet, yolov5, yolox, yolov5_seg, yolov6, yolov8 or damoyolo.
        meta_arch: String = String::new(),
        /// nn_core, cpu or auto; the guide's default per meta_arch when empty.
        engine: String = String::new(),
        /// Score threshold (default 0.3 without a config).
        nms_scores_th: Option<f64> = None,
        /// IoU threshold (default 0.6 without a config).
        nms_iou_th: Option<f64> = None,
        /// Image [height, width]; the graph input's when empty.
        image_dims: Vec<i64> = Vec::new(),
        /// Number of classes; from the heads' channels when 0.
        classes: i64 = 0,
        /// Decode boxes without score threshold and NMS.
        bbox_decoding_only: bool = false,
    }
}

pub struct NmsPostprocess(NmsPostprocessOptions);

impl PassDef for NmsPostprocess {
    const NAME: &'static str = "hl-nms-postprocess";
    const SUMMARY: &'static str = "Replace detection heads' outputs by box decoding and NMS";
    const ANCHOR: Option<&'static str> = None;
    type Options = NmsPostprocessOptions;

    fn new(o: NmsPostprocessOptions) -> Self {
        NmsPostprocess(o)
    }
    fn options(&self) -> &NmsPostprocessOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        for g in graphs(m, root) {
            if let Err(e) = apply(cx.ctx, m, g, &self.0) {
                return Err(fail_at(cx, m, g, Self::NAME, e));
            }
        }
        Ok(Preserved::None)
    }
}

/// COCO anchors `(w, h)` of YOLOv5's P3, P4, P5 heads, in pixels (the default config's).
const YOLOV5_ANCHORS: [[f64; 6]; 3] = [
    [10., 13., 16., 30., 33., 23.],
    [30., 61., 62., 45., 59., 119.],
    [116., 90., 156., 198., 373., 326.],
];

/// Everything the `hl.nms` op needs, from a config or auto-detection.
#[derive(Debug, Default)]
struct Config {
    heads: Vec<ValueId>,
    strides: Vec<i64>,
    num_anchors: Vec<i64>,
    /// `(h, w)` pairs.
    anchors: Vec<f64>,
    classes: i64,
    scores_th: f64,
    iou_th: f64,
    image_dims: Vec<i64>,
    max_proposals: i64,
    regression_length: i64,
    background: Option<i64>,
    centers_scale: f64,
    dims_scale: f64,
    /// YOLOv5-seg: instances over all classes, and the prototype masks' channels when known.
    max_total: i64,
    proto_channels: Option<i64>,
    proto: Option<ValueId>,
}

fn arch(name: &str) -> Res<MetaArch> {
    MetaArch::parse(name).ok_or_else(|| {
        format!("unknown meta_arch '{name}'; expected ssd, yolov5, yolox, yolov6, yolov8, damoyolo, centernet or yolov5_seg")
    })
}

/// The guide's default engine: nn_core for SSD / CenterNet, auto for YOLOv5, cpu otherwise.
fn default_engine(meta_arch: &str) -> &'static str {
    match meta_arch {
        "ssd" | "centernet" => "nn_core",
        "yolov5" => "auto",
        _ => "cpu",
    }
}

/// The value of the layer named `name` (exactly, or by its name inside its network).
fn layer_value(m: &Module, g: OpId, name: &str) -> Res<ValueId> {
    let ops = super::body_ops(m, g);
    let hit = ops
        .iter()
        .copied()
        .find(|&op| layer_name(m, op) == Some(name))
        .or_else(|| {
            ops.iter().copied().find(|&op| {
                layer_name(m, op)
                    .and_then(|l| l.split_once('/'))
                    .is_some_and(|(_, l)| l == name)
            })
        });
    hit.map(|op| m.result(op, 0))
        .ok_or_else(|| format!("the NMS config names layer '{name}', which is not in the graph"))
}

fn num(v: &Value, key: &str, what: &str) -> Res<Option<f64>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("{what}: '{key}' must be a number, got {x}")),
    }
}

fn nums(v: &Value, key: &str, what: &str) -> Res<Vec<f64>> {
    match v.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|x| {
                x.as_f64()
                    .ok_or_else(|| format!("{what}: '{key}' must list numbers, got {x}"))
            })
            .collect(),
        Some(x) => Err(format!(
            "{what}: '{key}' must be a list of numbers, got {x}"
        )),
    }
}

fn from_json(m: &Module, g: OpId, a: MetaArch, path: &str) -> Res<Config> {
    let bytes = hailo_guard::files::read_regular(std::path::Path::new(path))
        .map_err(|e| format!("NMS config: {e}"))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("NMS config '{path}' is not UTF-8 text; expected a JSON file"))?;
    let j: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{path}:{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
    let mut c = Config {
        classes: num(&j, "classes", path)?.unwrap_or(0.0) as i64,
        scores_th: num(&j, "nms_scores_th", path)?.unwrap_or(0.3),
        iou_th: num(&j, "nms_iou_th", path)?.unwrap_or(0.6),
        image_dims: nums(&j, "image_dims", path)?
            .iter()
            .map(|&d| d as i64)
            .collect(),
        max_proposals: num(&j, "max_proposals_per_class", path)?.unwrap_or(100.0) as i64,
        regression_length: num(&j, "regression_length", path)?.unwrap_or(16.0) as i64,
        centers_scale: num(&j, "centers_scale_factor", path)?.unwrap_or(10.0),
        dims_scale: num(&j, "bbox_dimensions_scale_factor", path)?.unwrap_or(5.0),
        max_total: num(&j, "max_total_proposals", path)?.unwrap_or(100.0) as i64,
        ..Config::default()
    };
    if let Some(Value::Array(protos)) = j.get("proto") {
        let first = protos.first().unwrap_or(&Value::Null);
        c.proto_channels = num(first, "number", &format!("{path}: proto[0]"))?.map(|n| n as i64);
    }
    if j.get("background_removal").and_then(Value::as_bool) == Some(true) {
        c.background = Some(num(&j, "background_removal_index", path)?.unwrap_or(0.0) as i64);
    }
    let Some(Value::Array(decoders)) = j.get("bbox_decoders") else {
        return Err(format!("{path}: expected a 'bbox_decoders' list"));
    };
    let roles: &[&str] = match a {
        MetaArch::Yolov5 | MetaArch::Yolov5Seg => &["encoded_layer"],
        MetaArch::Yolox => &["reg_layer", "objectness_layer", "cls_layer"],
        MetaArch::CenterNet => &["cls_layer", "reg_layer_w", "reg_layer_h"],
        _ => &["reg_layer", "cls_layer"],
    };
    for (k, d) in decoders.iter().enumerate() {
        let what = format!("{path}: bbox_decoders[{k}]");
        for role in roles {
            let name = d.get(*role).and_then(Value::as_str).ok_or_else(|| {
                format!(
                    "{what}: missing '{role}' (the {a:?} post-process reads {})",
                    roles.join(", ")
                )
            })?;
            c.heads.push(layer_value(m, g, name)?);
        }
        if a == MetaArch::CenterNet {
            if let Some(s) = num(&j, "input_division_factor", path)? {
                c.strides.push(s as i64);
            }
        } else if a != MetaArch::Ssd {
            let s = num(d, "stride", &what)?.ok_or_else(|| format!("{what}: missing 'stride'"))?;
            c.strides.push(s as i64);
        }
        if a.anchored() {
            let (h, w) = (nums(d, "h", &what)?, nums(d, "w", &what)?);
            if h.is_empty() || h.len() != w.len() {
                return Err(format!(
                    "{what}: 'h' and 'w' must list the same, non-zero number of anchors"
                ));
            }
            c.num_anchors.push(h.len() as i64);
            c.anchors
                .extend(h.iter().zip(&w).flat_map(|(&h, &w)| [h, w]));
        }
    }
    Ok(c)
}

/// Heads from the output layers: grouped by spatial size, largest first.
fn auto_detect(m: &Module, g: OpId, a: MetaArch, dfl_bins: i64) -> Res<Config> {
    let outs: Vec<ValueId> = ops_named(m, g, hl::OutputLayer::NAME)
        .iter()
        .map(|&o| m.operand(o, 0))
        .collect();
    let mut sizes: Vec<(i64, i64)> = outs
        .iter()
        .map(|&v| shape_of(m, v))
        .filter(|s| s.len() == 4)
        .map(|s| (s[1], s[2]))
        .collect();
    sizes.sort_by(|x, y| y.cmp(x));
    sizes.dedup();
    let mut c = Config {
        regression_length: dfl_bins,
        scores_th: 0.3,
        iou_th: 0.6,
        max_proposals: 100,
        max_total: 100,
        ..Config::default()
    };
    let chans = |v: &ValueId| shape_of(m, *v).get(3).copied().unwrap_or(0);
    if a == MetaArch::Yolov5Seg {
        // The prototype masks: the one output at the largest resolution (stride 4).
        let largest = sizes.first().copied().unwrap_or_default();
        let at = |v: &&ValueId| shape_of(m, **v).get(1..3) == Some(&[largest.0, largest.1][..]);
        let proto: Vec<ValueId> = outs.iter().filter(at).copied().collect();
        let [proto] = proto[..] else {
            return Err(format!(
                "cannot auto-detect the yolov5_seg prototype masks: {} outputs at the largest size {}x{}; give a config_path",
                proto.len(), largest.0, largest.1
            ));
        };
        c.proto = Some(proto);
        c.proto_channels = Some(chans(&proto));
        sizes.remove(0);
    }
    let coeffs = c.proto_channels.unwrap_or(0);
    for &(h, w) in &sizes {
        let here: Vec<ValueId> = outs
            .iter()
            .copied()
            .filter(|&v| {
                let s = shape_of(m, v);
                s.len() == 4 && (s[1], s[2]) == (h, w)
            })
            .collect();
        let pick = |pred: &dyn Fn(i64) -> bool, what: &str| -> Res<ValueId> {
            here.iter().copied().find(|v| pred(chans(v))).ok_or_else(|| {
                format!("cannot auto-detect the {a:?} head at {h}x{w}: no output with {what}; give a config_path")
            })
        };
        match a {
            MetaArch::Yolov5 | MetaArch::Yolov5Seg => {
                let what = if coeffs > 0 {
                    "3·(5 + classes + mask coefficients) channels"
                } else {
                    "3·(5 + classes) channels"
                };
                let v = pick(&|ch| ch % 3 == 0 && ch / 3 > 5 + coeffs, what)?;
                c.classes = chans(&v) / 3 - 5 - coeffs;
                c.heads.push(v);
                c.num_anchors.push(3);
            }
            MetaArch::Yolox => {
                let reg = pick(&|ch| ch == 4, "4 channels (reg)")?;
                let obj = pick(&|ch| ch == 1, "1 channel (objectness)")?;
                let cls = pick(&|ch| ch != 4 && ch != 1, "the class scores")?;
                c.classes = chans(&cls);
                c.heads.extend([reg, obj, cls]);
            }
            MetaArch::Ssd => {
                return Err("ssd anchors cannot be auto-detected; give a config_path".into())
            }
            MetaArch::CenterNet => {
                return Err("centernet's size and offset maps both have 2 channels and cannot be told apart; give a config_path".into())
            }
            _ => {
                let bins = if a == MetaArch::Yolov6 { 1 } else { dfl_bins };
                let reg = pick(
                    &|ch| ch == 4 * bins,
                    &format!("{} channels (reg)", 4 * bins),
                )?;
                let cls = pick(&|ch| ch != 4 * bins, "the class scores")?;
                c.classes = chans(&cls);
                c.heads.extend([reg, cls]);
            }
        }
    }
    if c.heads.is_empty() {
        return Err("no rank-4 output layers to auto-detect detection heads from".into());
    }
    if matches!(a, MetaArch::Yolov5 | MetaArch::Yolov5Seg) {
        if c.num_anchors.len() != 3 {
            return Err(format!(
                "the default YOLOv5 anchors are for 3 heads, found {}; give a config_path",
                c.num_anchors.len()
            ));
        }
        c.anchors = YOLOV5_ANCHORS
            .iter()
            .flat_map(|s| s.chunks(2).flat_map(|p| [p[1], p[0]]))
            .collect();
    }
    Ok(c)
}

fn apply(ctx: &Context, m: &mut Module, g: OpId, o: &NmsPostprocessOptions) -> Res<()> {
    let a = arch(&o.meta_arch)?;
    let engine = if o.engine.is_empty() {
        default_engine(&o.meta_arch)
    } else {
        o.engine.as_str()
    };
    if !matches!(engine, "nn_core" | "cpu" | "auto") {
        return Err(format!(
            "unknown engine '{engine}'; expected nn_core, cpu or auto"
        ));
    }
    let dfl_bins = if a == MetaArch::Damoyolo { 17 } else { 16 };
    let mut c = if o.config_path.is_empty() {
        auto_detect(m, g, a, dfl_bins)?
    } else {
        let set = o.nms_scores_th.is_some()
            || o.nms_iou_th.is_some()
            || !o.image_dims.is_empty()
            || o.classes != 0;
        if set {
            return Err("with config_path, give nms_scores_th, nms_iou_th, image_dims and classes in the file, not as options".into());
        }
        from_json(m, g, a, &o.config_path)?
    };
    if a != MetaArch::Ssd {
        c.strides.truncate(c.heads.len() / a.operands_per_head());
    }
    if o.config_path.is_empty() {
        c.scores_th = o.nms_scores_th.unwrap_or(0.3);
        c.iou_th = o.nms_iou_th.unwrap_or(0.6);
        if o.classes != 0 {
            c.classes = o.classes;
        }
        c.image_dims.clone_from(&o.image_dims);
    }
    if c.image_dims.is_empty() {
        let input = ops_named(m, g, hl::InputLayer::NAME)
            .first()
            .copied()
            .ok_or("the graph has no input layer")?;
        let s = shape_of(m, m.operand(input, 0));
        if s.len() != 4 {
            return Err("cannot take image_dims from a non-image input; give image_dims".into());
        }
        c.image_dims = vec![s[1], s[2]];
    }
    if a != MetaArch::Ssd && c.strides.is_empty() {
        let per = a.operands_per_head();
        c.strides = c
            .heads
            .chunks(per)
            .map(|h| c.image_dims[0] / shape_of(m, h[0])[1].max(1))
            .collect();
    }
    let mut inputs = c.heads.clone();
    if a == MetaArch::Yolov5Seg {
        let proto = match c.proto {
            Some(p) => p,
            None => find_proto(m, g, &c)?,
        };
        inputs.push(proto);
    }
    let layer = fresh_layer(m, g, "nms");
    let mut spec = OpSpec::new(hl::Nms::NAME)
        .operands(&inputs)
        .attr("layer", Attribute::str(&layer))
        .attr("meta_arch", Attribute::str(&o.meta_arch))
        .attr("engine", Attribute::str(engine))
        .attr("classes", Attribute::i64(c.classes))
        .attr("max_proposals_per_class", Attribute::i64(c.max_proposals))
        .attr("score_threshold", Attribute::f64(c.scores_th))
        .attr("iou_threshold", Attribute::f64(c.iou_th))
        .attr("image_dims", Attribute::i64_array(&c.image_dims))
        .attr("bbox_decoding_only", Attribute::Bool(o.bbox_decoding_only));
    if a != MetaArch::Ssd {
        spec = spec.attr("strides", Attribute::i64_array(&c.strides));
    }
    if !c.num_anchors.is_empty() {
        spec = spec
            .attr("num_anchors", Attribute::i64_array(&c.num_anchors))
            .attr("anchors", Attribute::f64_array(&c.anchors));
    }
    if matches!(a, MetaArch::Yolov8 | MetaArch::Damoyolo) {
        spec = spec.attr("regression_length", Attribute::i64(c.regression_length));
    }
    if a == MetaArch::Ssd {
        spec = spec
            .attr("centers_scale_factor", Attribute::f64(c.centers_scale))
            .attr("bbox_dimensions_scale_factor", Attribute::f64(c.dims_scale));
    }
    if let Some(b) = c.background {
        spec = spec
            .attr("background_removal", Attribute::Bool(true))
            .attr("background_removal_index", Attribute::i64(b));
    }
    if a == MetaArch::Yolov5Seg {
        spec = spec.attr("max_total_proposals", Attribute::i64(c.max_total));
    }
    let activated: Vec<i64> = (0..c.heads.len())
        .filter(|&i| sigmoid_applied(m, c.heads[i]))
        .map(|i| i as i64)
        .collect();
    if !activated.is_empty() {
        spec = spec.attr("sigmoid_applied", Attribute::i64_array(&activated));
    }
    let elem = m.value_type(c.heads[0]).element();
    let nms = build(ctx, m, spec, Type::tensor(&[1], elem))?;
    rewire_outputs(m, g, nms, &inputs);
    Ok(())
}

/// Whether `v` is a sigmoid's output: its producer's fused activation (through
/// [`FusedActivation`]) or a standalone `hl.activation` is a sigmoid.
fn sigmoid_applied(m: &Module, v: ValueId) -> bool {
    let Some(p) = m.defining_op(v) else {
        return false;
    };
    let act = if m.op(p).name_str() == hl::ActivationOp::NAME {
        Activation::from_attrs(&OpView::new(m, p), "kind", false)
    } else if let Some(fused) = interface::<dyn FusedActivation>(m, p) {
        fused.activation(m, p)
    } else {
        return false;
    };
    matches!(act, Ok(Activation::Sigmoid))
}

/// YOLOv5-seg's prototype masks when the config does not name them: the one output layer that
/// is not a head and has `proto[0].number` channels (any count when the config has none).
fn find_proto(m: &Module, g: OpId, c: &Config) -> Res<ValueId> {
    let found: Vec<ValueId> = ops_named(m, g, hl::OutputLayer::NAME)
        .iter()
        .map(|&o| m.operand(o, 0))
        .filter(|v| !c.heads.contains(v))
        .filter(|&v| {
            let s = shape_of(m, v);
            s.len() == 4 && c.proto_channels.is_none_or(|n| s[3] == n)
        })
        .collect();
    match found[..] {
        [v] => Ok(v),
        _ => Err(format!(
            "yolov5_seg needs exactly one output layer with the prototype masks ({} channels), found {}",
            c.proto_channels.map_or("any number of".to_owned(), |n| n.to_string()),
            found.len()
        )),
    }
}

/// Removes the output layers of the heads, adds the NMS op and its output layer at the end of
/// the graph, and updates the return and the signature.
fn rewire_outputs(m: &mut Module, g: OpId, nms: OpId, heads: &[ValueId]) {
    let Some(ret) = super::body_ops(m, g).last().copied() else {
        return;
    };
    m.insert_before(ret, nms);
    let value = m.result(nms, 0);
    let mut results: Vec<ValueId> = Vec::new();
    for o in ops_named(m, g, hl::OutputLayer::NAME) {
        if heads.contains(&m.operand(o, 0)) {
            m.replace_all_uses(m.result(o, 0), value);
            m.erase_op(o);
        } else {
            results.push(m.result(o, 0));
        }
    }
    let layer = fresh_layer(m, g, "output_layer");
    let out = m.create_op(
        OpSpec::new(hl::OutputLayer::NAME)
            .operands(&[value])
            .results(&[m.value_type(value)])
            .attr("layer", Attribute::str(&layer)),
    );
    m.insert_before(ret, out);
    results.push(m.result(out, 0));
    m.set_operands(ret, &results);
    super::sync_signature(m, g);
}
