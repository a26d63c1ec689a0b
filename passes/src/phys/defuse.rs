//! `phys-defuse`: splits a physical layer into parts and the layer that joins them, as the
//! vendor's compiler does (`defuse(...)` in a model script; resources doc §7).
//!
//! A physical layer holds at most 8 subclusters (resources doc §0), so a layer whose rate needs
//! more is split into parts that each hold at most 8; a manual split comes from the model
//! script. The parts and joins are named and tagged as the vendor's allocation dumps name them
//! (`dumps.csv`, columns `defuse_type` and `defuse_role`):
//!
//! | kind | parts | joined by | part computes (`slice = [lo, hi]`) |
//! |---|---|---|---|
//! | `features` | `<l>_d0`, `<l>_d1`, ... on the layer's inputs | `<l>_dc` (concat on features) | output features `lo..hi` |
//! | `spatial` | `<l>_sd0`, ... on the layer's inputs | `<l>_sdc` (concat on rows) | output rows `lo..hi` |
//! | `spatial_w` | `<l>_sd0`, ... | `<l>_sdc` (concat on columns) | output columns `lo..hi` |
//! | `input_features` | `<l>_d0`, ... each on one result of the splitter `<l>_fs` | `<l>_dc` | input (= output) features `lo..hi` |
//! | `compute_lanes` | one part `<l>_lanes_<n>` (`part = [0, 1]`, n subclusters) after `<l>_lanes_feature_splitter` | `<l>_lanes_concat` | the whole layer on n lanes |
//!
//! Parts keep the logical layer's kernel and bias operands whole and say which slice they
//! compute (`slice`), so the integer arithmetic (`multiplier`, `table`, ...) stays as the `q`
//! layer had it; the resource model counts a feature part's share of the weights. A dimension
//! of `t` split into `n` parts gives the first `t mod n` parts one more than the others.
//!
//! **Automatic** (option `fps` > 0): a MAC-driven layer that the per-layer limit cannot bring
//! to `fps` (its work's MAC bound, as `quant-to-phys{fps}` assigned) is split by features into
//! the fewest parts that each reach `fps` with at most 8 subclusters; a layer whose output is
//! wider than `max-width` (when set) is split by columns. Which width the chip cannot take in one
//! layer is not public (resources doc §7, §10), so `max-width` defaults to no limit.
//!
//! **Manual** (option `layers`): `layer:n[:kind]` per model-script `defuse(layer, n,
//! defuse_type=...)` (`SPATIAL` with `compilation_param(..., defuse_spatial_w=True)` is
//! `spatial_w`). A manual split wins over the automatic one for its layer.
//!
//! **Subclusters** of each part: with `fps`, the fewest that reach it (an error naming the part
//! when 8 do not: split into more parts); without, the layer's count shared out
//! (`ceil(subclusters / n)`). Joins and splitters cost what every helper costs (their resource
//! model).

use hailo_dialect_phys::ops::{self as phys, LayerParams};
use hailo_dialect_phys::{resource_model, DefuseKind, LayerKind};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, OpSpec, Sym, Type};
use hailo_target::Target;
use std::collections::{BTreeMap, BTreeSet};

hailo_ir::pass_options! {
    pub struct PhysDefuseOptions {
        /// Frames per second every layer must sustain; a layer 8 subclusters cannot bring to it
        /// is split by features (0: no automatic split by rate).
        fps: f64 = 0.0,
        /// Output width (columns) above which a layer is split by columns (0: no limit).
        max_width: u64 = 0,
        /// Manual splits, `layer:n[:kind]`, kind one of features (default), spatial,
        /// spatial_w, input_features, compute_lanes.
        layers: Vec<String> = Vec::new(),
    }
}

pub struct PhysDefuse(PhysDefuseOptions);

impl PassDef for PhysDefuse {
    const NAME: &'static str = "phys-defuse";
    const SUMMARY: &'static str =
        "Split physical layers into parts (features, spatial, input features) and their join";
    const DESCRIPTION: &'static str = "Automatic for layers 8 subclusters cannot bring to `fps` \
        or wider than `max-width`; manual from `layers` (the model script's defuse commands). \
        Needs the target description (hailo-opt --hw-arch NAME).";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = PhysDefuseOptions;

    fn new(o: PhysDefuseOptions) -> Self {
        PhysDefuse(o)
    }
    fn options(&self) -> &PhysDefuseOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let o = &self.0;
        if !(o.fps.is_finite() && o.fps >= 0.0) {
            let msg = format!("'fps' must be a finite number >= 0, got {}", o.fps);
            return Err(cx.fail_at(m, graph, msg));
        }
        let Some(target) = cx.resource::<Target>() else {
            return Err(cx.fail_at(
                m,
                graph,
                "needs a target description (hailo-opt --hw-arch NAME)",
            ));
        };
        let mut manual = BTreeMap::new();
        for text in &o.layers {
            let (name, plan) = parse_manual(text).map_err(|e| cx.fail_at(m, graph, e))?;
            if manual.insert(name.clone(), plan).is_some() {
                let msg = format!("layer '{name}' is split twice in 'layers'");
                return Err(cx.fail_at(m, graph, msg));
            }
        }
        let block = m.region(m.op(graph).regions()[0]).blocks()[0];
        let ops = m.block_ops(block);
        let mut names: BTreeSet<String> = ops.iter().filter_map(|&op| layer_name(m, op)).collect();
        for name in manual.keys() {
            if !names.contains(name) {
                let msg = format!("'layers' names '{name}', which is no layer of this graph");
                return Err(cx.fail_at(m, graph, msg));
            }
        }
        let mut split = 0;
        for op in ops {
            let Some(name) = layer_name(m, op) else {
                continue;
            };
            let manual_plan = manual.get(&name).copied();
            if phys::Layer::cast(m, op).is_none() {
                if manual_plan.is_some() {
                    let what = m.op(op).name_str();
                    let msg = format!("layer '{name}' ({what}) is no compute layer to defuse");
                    return Err(cx.fail_at(m, op, msg));
                }
                continue;
            }
            let plan = match manual_plan {
                Some(p) => Some(p),
                None => auto_plan(m, op, o, target)
                    .map_err(|e| cx.fail_at(m, op, format!("layer '{name}': {e}")))?,
            };
            let Some(plan) = plan else { continue };
            let fps = o.fps;
            if let Err(e) = defuse(m, op, &name, plan, fps, target, &mut names) {
                return Err(cx.fail_at(m, op, format!("layer '{name}': {e}")));
            }
            split += 1;
        }
        cx.stat("defused", "layers split into parts", split);
        Ok(if split == 0 {
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

/// How one layer is split.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Plan {
    kind: DefuseKind,
    parts: usize,
    /// Spatial parts split columns instead of rows.
    columns: bool,
}

fn parse_manual(text: &str) -> Res<(String, Plan)> {
    let bad = || {
        format!(
            "'layers' entry '{text}' must be layer:n[:kind] with n >= 2 and kind one of features, spatial, spatial_w, input_features, compute_lanes"
        )
    };
    let mut it = text.split(':');
    let name = it.next().filter(|n| !n.is_empty()).ok_or_else(bad)?;
    let parts = it
        .next()
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n >= 2)
        .ok_or_else(bad)?;
    let (kind, columns) = match it.next() {
        None | Some("features") => (DefuseKind::Features, false),
        Some("spatial") => (DefuseKind::Spatial, false),
        Some("spatial_w") => (DefuseKind::Spatial, true),
        Some("input_features") => (DefuseKind::InputFeatures, false),
        Some("compute_lanes") => (DefuseKind::ComputeLanes, false),
        Some(_) => return Err(bad()),
    };
    if it.next().is_some() {
        return Err(bad());
    }
    let plan = Plan {
        kind,
        parts,
        columns,
    };
    Ok((name.to_owned(), plan))
}

/// The automatic split of `op`, if it needs one.
fn auto_plan(m: &Module, op: OpId, o: &PhysDefuseOptions, target: &Target) -> Res<Option<Plan>> {
    let y = m.value_type(m.result(op, 0)).shape().unwrap_or(&[]);
    if o.max_width > 0 && y.len() == 4 && y[2] as u64 > o.max_width {
        let parts = (y[2] as u64).div_ceil(o.max_width) as usize;
        return Ok(Some(Plan {
            kind: DefuseKind::Spatial,
            parts,
            columns: true,
        }));
    }
    if o.fps == 0.0 {
        return Ok(None);
    }
    let model = resource_model(m, op).ok_or("no resource model")?;
    let Some(work) = model.work(m, op)? else {
        return Ok(None);
    };
    if work.fewest_subclusters(o.fps, target).is_some() {
        return Ok(None);
    }
    // A part computing `s` of the layer's `total` output features runs at `total / s` times the
    // layer's rate, so every part reaches `fps` with the limit once the largest part, of
    // `ceil(total / n)` features, is at most `limit x rate(1) x total / fps`.
    let total = y.last().copied().unwrap_or(0);
    let limit = f64::from(target.limits.max_subclusters);
    let largest = (limit * work.fps(1, target) * total as f64 / o.fps).floor() as i64;
    let parts = (2..=total.max(2)).find(|&n| (total + n - 1) / n <= largest);
    let Some(parts) = parts else {
        return Err(format!(
            "even one output feature per part does not reach fps={} with {limit} subclusters",
            o.fps
        ));
    };
    Ok(Some(Plan {
        kind: DefuseKind::Features,
        parts: parts as usize,
        columns: false,
    }))
}

/// The sizes of `n` parts of `total`: the first `total mod n` one larger.
fn sizes(total: i64, n: usize) -> Vec<i64> {
    let n = n as i64;
    (0..n)
        .map(|i| total / n + i64::from(i < total % n))
        .collect()
}

/// The result axis the parts split, and the suffixes of parts and join.
fn layout(plan: Plan, rank: usize) -> (usize, &'static str, &'static str) {
    match plan.kind {
        DefuseKind::Spatial => (if plan.columns { 2 } else { 1 }, "_sd", "_sdc"),
        _ => (rank - 1, "_d", "_dc"),
    }
}

fn claim(names: &mut BTreeSet<String>, name: String) -> Res<String> {
    if !names.insert(name.clone()) {
        return Err(format!(
            "the part name '{name}' is already a layer of this graph"
        ));
    }
    Ok(name)
}

fn resized(ty: Type, axis: usize, size: i64) -> Type {
    let mut shape = ty.shape().unwrap_or(&[]).to_vec();
    shape[axis] = size;
    Type::tensor(&shape, ty.element())
}

/// Replaces `op` by its parts and their join (and a splitter for input features).
fn defuse(
    m: &mut Module,
    op: OpId,
    name: &str,
    plan: Plan,
    fps: f64,
    target: &Target,
    names: &mut BTreeSet<String>,
) -> Res<()> {
    let p = LayerParams::of(m, op)?;
    if p.defuse.is_some() {
        return Err("is already a defuse part".into());
    }
    let ty = m.value_type(m.result(op, 0));
    let shape = ty.shape().unwrap_or(&[]).to_vec();
    let (axis, part_suffix, join_suffix) = layout(plan, shape.len());
    match plan.kind {
        DefuseKind::Spatial if shape.len() != 4 => {
            return Err(format!(
                "a spatial defuse needs an NHWC result, got shape {shape:?}"
            ))
        }
        DefuseKind::InputFeatures => check_per_feature(m, op, &p)?,
        DefuseKind::ComputeLanes => {
            let limit = target.limits.max_subclusters as usize;
            return compute_lanes(m, op, name, &p, (plan.parts, limit), names);
        }
        _ if shape.is_empty() => return Err("the result has no shape".into()),
        _ => {}
    }
    let total = shape[axis];
    if total < plan.parts as i64 {
        return Err(format!(
            "cannot split {total} along axis {axis} into {} parts",
            plan.parts
        ));
    }
    let kind_name = match plan.kind {
        DefuseKind::Features => "features",
        DefuseKind::Spatial => "spatial",
        DefuseKind::InputFeatures => "input_features",
        DefuseKind::ComputeLanes => "compute_lanes",
    };
    let loc = m.op(op).loc.clone();
    let role = |spec: OpSpec| {
        spec.loc(loc.clone())
            .attr("origin", Attribute::str(name))
            .attr("defuse", Attribute::str(kind_name))
    };
    let sizes = sizes(total, plan.parts);
    let operands = m.op(op).operands().to_vec();
    // Input features: the splitter hands each part its features.
    let inputs: Vec<Vec<_>> = if plan.kind == DefuseKind::InputFeatures {
        let x = operands[0];
        let x_ty = m.value_type(x);
        let rank = x_ty.shape().unwrap_or(&[]).len();
        let types: Vec<Type> = sizes.iter().map(|&s| resized(x_ty, rank - 1, s)).collect();
        let splitter_name = claim(names, format!("{name}_fs"))?;
        let spec = role(OpSpec::new(phys::FeatureSplitter::NAME))
            .operands(&[x])
            .results(&types)
            .attr("layer", Attribute::str(&splitter_name));
        let splitter = m.create_op(spec);
        m.insert_before(op, splitter);
        (0..plan.parts)
            .map(|i| {
                let mut v = operands.clone();
                v[0] = m.result(splitter, i);
                v
            })
            .collect()
    } else {
        vec![operands; plan.parts]
    };
    let kept: Vec<(Sym, Attribute)> = m
        .op(op)
        .attrs()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "layer" | "subclusters"))
        .cloned()
        .collect();
    let share = p.subclusters.div_ceil(plan.parts as u32).max(1);
    let mut parts = Vec::with_capacity(plan.parts);
    let mut lo = 0;
    for (i, &size) in sizes.iter().enumerate() {
        let part_name = claim(names, format!("{name}{part_suffix}{i}"))?;
        let mut spec = OpSpec::new(phys::Layer::NAME)
            .operands(&inputs[i])
            .results(&[resized(ty, axis, size)]);
        spec.attrs = kept.clone();
        let spec = role(spec)
            .attr("layer", Attribute::str(&part_name))
            .attr("part", Attribute::i64_array(&[i as i64, plan.parts as i64]))
            .attr("slice", Attribute::i64_array(&[lo, lo + size]))
            .attr("subclusters", Attribute::i64(i64::from(share)));
        lo += size;
        let part = m.create_op(spec);
        m.insert_before(op, part);
        parts.push(part);
        if fps > 0.0 {
            let sc = part_subclusters(m, part, fps, target)
                .map_err(|e| format!("part '{part_name}': {e}"))?;
            m.set_attr(part, "subclusters", Attribute::i64(i64::from(sc)));
        }
    }
    let join_name = claim(names, format!("{name}{join_suffix}"))?;
    let results: Vec<_> = parts.iter().map(|&p| m.result(p, 0)).collect();
    let spec = role(OpSpec::new(phys::Concat::NAME))
        .operands(&results)
        .results(&[ty])
        .attr("layer", Attribute::str(&join_name))
        .attr("axis", Attribute::i64(axis as i64));
    let join = m.create_op(spec);
    m.insert_before(op, join);
    let (old, new) = (m.result(op, 0), m.result(join, 0));
    m.replace_all_uses(old, new);
    m.erase_op(op);
    Ok(())
}

/// `<l>_lanes_feature_splitter` -> `<l>_lanes_<n>` -> `<l>_lanes_concat`: one part that runs a
/// pool or depthwise layer on `n` compute lanes, one subcluster each (every compute-lanes part in
/// the dumps: 2 lanes, 2 subclusters, 2 APUs, 2 input aligners).
fn compute_lanes(
    m: &mut Module,
    op: OpId,
    name: &str,
    p: &LayerParams,
    (lanes, limit): (usize, usize),
    names: &mut BTreeSet<String>,
) -> Res<()> {
    if !matches!(
        p.kind,
        LayerKind::MaxPool | LayerKind::AvgPool | LayerKind::Depthwise
    ) {
        return Err(format!(
            "a compute-lanes defuse runs a pool or depthwise layer; a {} layer is neither",
            p.kind.name()
        ));
    }
    if lanes > limit {
        return Err(format!(
            "{lanes} lanes need {lanes} subclusters; a layer holds at most {limit}"
        ));
    }
    let loc = m.op(op).loc.clone();
    let role = |spec: OpSpec, layer: &str| {
        spec.loc(loc.clone())
            .attr("layer", Attribute::str(layer))
            .attr("origin", Attribute::str(name))
            .attr("defuse", Attribute::str("compute_lanes"))
    };
    let mut operands = m.op(op).operands().to_vec();
    let x_ty = m.value_type(operands[0]);
    let ty = m.value_type(m.result(op, 0));
    let splitter_name = claim(names, format!("{name}_lanes_feature_splitter"))?;
    let part_name = claim(names, format!("{name}_lanes_{lanes}"))?;
    let join_name = claim(names, format!("{name}_lanes_concat"))?;
    let splitter = m.create_op(
        role(OpSpec::new(phys::FeatureSplitter::NAME), &splitter_name)
            .operands(&operands[..1])
            .results(&[x_ty]),
    );
    m.insert_before(op, splitter);
    operands[0] = m.result(splitter, 0);
    let mut spec = OpSpec::new(phys::Layer::NAME)
        .operands(&operands)
        .results(&[ty]);
    spec.attrs = m
        .op(op)
        .attrs()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "layer" | "subclusters"))
        .cloned()
        .collect();
    let part = m.create_op(
        role(spec, &part_name)
            .attr("part", Attribute::i64_array(&[0, 1]))
            .attr("subclusters", Attribute::i64(lanes as i64)),
    );
    m.insert_before(op, part);
    let join = m.create_op(
        role(OpSpec::new(phys::Concat::NAME), &join_name)
            .operands(&[m.result(part, 0)])
            .results(&[ty])
            .attr("axis", Attribute::i64(3)),
    );
    m.insert_before(op, join);
    let (old, new) = (m.result(op, 0), m.result(join, 0));
    m.replace_all_uses(old, new);
    m.erase_op(op);
    Ok(())
}

/// Input-feature parts each read their own features: only kinds whose output feature `c` reads
/// input feature `c` alone, with one input and as many output features as input features.
fn check_per_feature(m: &Module, op: OpId, p: &LayerParams) -> Res<()> {
    let per_feature = matches!(
        p.kind,
        LayerKind::Depthwise
            | LayerKind::MaxPool
            | LayerKind::AvgPool
            | LayerKind::Activation
            | LayerKind::Prelu
            | LayerKind::PrecisionChange
            | LayerKind::Resize
            | LayerKind::Normalization
    );
    let features = |v| m.value_type(v).shape().and_then(|s| s.last().copied());
    let same = features(m.op(op).operands()[0]) == features(m.result(op, 0));
    if !(per_feature && p.inputs == 1 && same) {
        return Err(format!(
            "an input-features defuse needs a layer whose output features each read one input feature (depthwise, pools, activation, ...); a {} layer does not",
            p.kind.name()
        ));
    }
    Ok(())
}

/// The fewest subclusters with which a part reaches `fps`; 1 when the MAC model does not bound it.
fn part_subclusters(m: &Module, part: OpId, fps: f64, target: &Target) -> Res<u32> {
    let model = resource_model(m, part).ok_or("no resource model")?;
    let Some(work) = model.work(m, part)? else {
        return Ok(1);
    };
    let max = target.limits.max_subclusters;
    work.fewest_subclusters(fps, target).ok_or_else(|| {
        format!(
            "reaches {:.1} fps with {max} subclusters, below fps={fps}; split the layer into more parts",
            work.fps(max, target)
        )
    })
}
