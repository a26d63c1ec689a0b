//! `phys-sub-splitters`: the model script's `aux = feature_splitter(splitter, [a, b])` and
//! `aux = shape_splitter(SPLIT_HEIGHT|SPLIT_WIDTH|SPLIT_FEATURES, splitter, [a, b])` (DFC guide
//! §5.4.2): a splitter layer between an existing splitter and some of its outputs, "to break up a
//! large splitter layer with many outputs into several steps".
//!
//! The existing splitter hands the outputs `a`, `b`, ... read one slice (features, rows or
//! columns); it now hands one slice covering all of theirs (the sum of their sizes along the
//! split axis, at the position of the first of them) to the new splitter, which splits it into
//! the slices `a`, `b`, ... read before. The other outputs keep their slices. Like the vendor's
//! partial concats, the new splitter takes no defuse role.
//!
//! Option `splitters`: `features|height|width:from:dst1+dst2+...[:name]`; the default name is
//! `fs_from_`, `hs_from_` or `ws_from_<from>_to_<dsts>` (the vendor's
//! `ws_from_conv42_ws_to_conv42_sd0-2`), the consumers as a run as `phys-shortcuts` names them.

use hailo_dialect_phys::ops as phys;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, OpSpec, Type, ValueId};

hailo_ir::pass_options! {
    pub struct PhysSubSplittersOptions {
        /// Splitters after splitters, `features|height|width:from:dst1+dst2[:name]` (model script
        /// `feature_splitter(from, [...])`, `shape_splitter(SPLIT_..., from, [...])`).
        splitters: Vec<String> = Vec::new(),
    }
}

pub struct PhysSubSplitters(PhysSubSplittersOptions);

impl PassDef for PhysSubSplitters {
    const NAME: &'static str = "phys-sub-splitters";
    const SUMMARY: &'static str =
        "Put a feature or shape splitter between a splitter and some of its outputs";
    const DESCRIPTION: &'static str = "From the model script's feature_splitter and \
        shape_splitter commands (option `splitters`).";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = PhysSubSplittersOptions;

    fn new(o: PhysSubSplittersOptions) -> Self {
        PhysSubSplitters(o)
    }
    fn options(&self) -> &PhysSubSplittersOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let block = m.region(m.op(graph).regions()[0]).blocks()[0];
        for text in &self.0.splitters {
            let split = parse(text).map_err(|e| cx.fail_at(m, graph, e))?;
            let find = |m: &Module, n: &str| {
                m.block_ops(block)
                    .into_iter()
                    .find(|&o| m.attr(o, "layer").and_then(Attribute::as_str) == Some(n))
            };
            if find(m, &split.name).is_some() {
                return Err(cx.fail_at(
                    m,
                    graph,
                    format!("'{}' is already a layer of this graph", split.name),
                ));
            }
            let Some(from) = find(m, &split.from) else {
                return Err(cx.fail_at(
                    m,
                    graph,
                    format!(
                        "'{}' names '{}', which is no layer of this graph",
                        split.name, split.from
                    ),
                ));
            };
            let mut dsts = Vec::new();
            for d in &split.dsts {
                match find(m, d) {
                    Some(op) => dsts.push((d.as_str(), op)),
                    None => {
                        return Err(cx.fail_at(
                            m,
                            graph,
                            format!(
                                "'{}' names '{d}', which is no layer of this graph",
                                split.name
                            ),
                        ))
                    }
                }
            }
            insert(m, from, &dsts, &split).map_err(|e| cx.fail_at(m, from, e))?;
        }
        cx.stat(
            "splitters",
            "splitters added",
            self.0.splitters.len() as u64,
        );
        Ok(if self.0.splitters.is_empty() {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}

type Res<T> = Result<T, String>;

/// What a splitter splits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Axis {
    Features,
    Height,
    Width,
}

struct Split {
    axis: Axis,
    from: String,
    dsts: Vec<String>,
    name: String,
}

fn parse(text: &str) -> Res<Split> {
    let bad = || {
        format!(
            "'splitters' entry '{text}' must be features|height|width:from:dst1+dst2+...[:name]"
        )
    };
    let f: Vec<&str> = text.split(':').collect();
    let (axis, from, dsts, name) = match f[..] {
        [a, from, dsts] => (a, from, dsts, None),
        [a, from, dsts, name] => (a, from, dsts, Some(name)),
        _ => return Err(bad()),
    };
    let (axis, prefix) = match axis {
        "features" => (Axis::Features, "fs"),
        "height" => (Axis::Height, "hs"),
        "width" => (Axis::Width, "ws"),
        _ => return Err(bad()),
    };
    let dsts: Vec<String> = dsts.split('+').map(str::to_owned).collect();
    if from.is_empty() || dsts.iter().any(String::is_empty) || name == Some("") {
        return Err(bad());
    }
    let default = || {
        let to = match &dsts[..] {
            [one] => one.clone(),
            [first, .., last] => super::range_name(first, last),
            [] => String::new(),
        };
        format!("{prefix}_from_{from}_to_{to}")
    };
    Ok(Split {
        axis,
        name: name.map_or_else(default, str::to_owned),
        from: from.to_owned(),
        dsts,
    })
}

/// The axis `from` splits, checked against the command's.
fn split_axis(m: &Module, from: OpId, split: &Split) -> Res<usize> {
    let rank = m
        .value_type(m.op(from).operands()[0])
        .shape()
        .map_or(0, <[i64]>::len);
    let is_features = phys::FeatureSplitter::cast(m, from).is_some();
    let shape_axis = phys::ShapeSplitter::cast(m, from)
        .and_then(|_| m.attr(from, "axis").and_then(Attribute::as_i64));
    match (split.axis, is_features, shape_axis) {
        (Axis::Features, true, _) => Ok(rank.saturating_sub(1)),
        (Axis::Height, _, Some(1)) => Ok(1),
        (Axis::Width, _, Some(2)) => Ok(2),
        _ => {
            let what = match split.axis {
                Axis::Features => "a feature splitter",
                Axis::Height => "a shape splitter of rows (axis 1)",
                Axis::Width => "a shape splitter of columns (axis 2)",
            };
            Err(format!(
                "'{}': '{}' ({}) is not {what}",
                split.name,
                split.from,
                m.op(from).name_str()
            ))
        }
    }
}

/// `ty` with dimension `axis` set to `size`.
fn resized(ty: Type, axis: usize, size: i64) -> Type {
    let mut shape = ty.shape().unwrap_or(&[]).to_vec();
    shape[axis] = size;
    Type::tensor(&shape, ty.element())
}

fn insert(m: &mut Module, from: OpId, dsts: &[(&str, OpId)], split: &Split) -> Res<()> {
    let axis = split_axis(m, from, split)?;
    let results: Vec<ValueId> = m.op(from).results().to_vec();
    // The splitter output each consumer reads.
    let mut chosen = Vec::new();
    for &(name, dst) in dsts {
        let read: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, &r)| m.op(dst).operands().contains(&r))
            .map(|(i, _)| i)
            .collect();
        match read[..] {
            [i] if !chosen.contains(&i) => chosen.push(i),
            [_] => {
                return Err(format!(
                    "'{}': {name} reads the same output of '{}' as another of the consumers",
                    split.name, split.from
                ))
            }
            _ => {
                return Err(format!(
                    "'{}': {name} does not read one output of '{}'",
                    split.name, split.from
                ))
            }
        }
    }
    if chosen.len() < 2 || chosen.len() == results.len() {
        return Err(format!(
            "'{}' must take at least 2 and not all of the {} outputs of '{}', got {}",
            split.name,
            results.len(),
            split.from,
            chosen.len()
        ));
    }
    let size = |r: ValueId| m.value_type(r).shape().map_or(0, |s| s[axis]);
    let merged = resized(
        m.value_type(results[chosen[0]]),
        axis,
        chosen.iter().map(|&i| size(results[i])).sum(),
    );
    let first = *chosen.iter().min().expect("two or more");
    // The existing splitter, with the chosen outputs replaced by one at the first one's place.
    let kept: Vec<usize> = (0..results.len())
        .filter(|i| !chosen.contains(i) || *i == first)
        .collect();
    let types: Vec<Type> = kept
        .iter()
        .map(|&i| {
            if i == first {
                merged
            } else {
                m.value_type(results[i])
            }
        })
        .collect();
    let mut spec = OpSpec::new(m.op(from).name_str())
        .operands(m.op(from).operands())
        .results(&types)
        .loc(m.op(from).loc.clone());
    spec.attrs = m.op(from).attrs().to_vec();
    let outer = m.create_op(spec);
    m.insert_before(from, outer);
    let at = kept.iter().position(|&i| i == first).expect("kept");
    let chosen_types: Vec<Type> = chosen.iter().map(|&i| m.value_type(results[i])).collect();
    let inner_spec = match split.axis {
        Axis::Features => OpSpec::new(phys::FeatureSplitter::NAME),
        Axis::Height | Axis::Width => {
            OpSpec::new(phys::ShapeSplitter::NAME).attr("axis", Attribute::i64(axis as i64))
        }
    }
    .operands(&[m.result(outer, at)])
    .results(&chosen_types)
    .loc(m.op(from).loc.clone())
    .attr("layer", Attribute::str(&split.name));
    let inner = m.create_op(inner_spec);
    m.insert_before(from, inner);
    for (k, &i) in kept.iter().enumerate() {
        if i != first {
            m.replace_all_uses(results[i], m.result(outer, k));
        }
    }
    for (k, &i) in chosen.iter().enumerate() {
        m.replace_all_uses(results[i], m.result(inner, k));
    }
    m.erase_op(from);
    Ok(())
}
