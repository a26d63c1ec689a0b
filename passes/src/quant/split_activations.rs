//! `quant-split-activations`: graph preparation before calibration. Fused activations that
//! are not a clamp of the accumulator (everything but linear, ReLU and ReLU6) are split off
//! into their own `hl.activation` layer named `<layer>_activation`, so calibration sees the
//! pre-activation range and `hl-to-quant` lowers the activation to a `q.lut` between two
//! quantized types (the Hailo-8 applies such activations in a separate table stage).
//! The new layer records `split_from = "<layer>"`: the model script names the original
//! layer, so `quant-precision` gives the split activation that layer's precision.

use hailo_dialect_hl::interfaces::{interface, FusedActivation};
use hailo_dialect_hl::ops::activation::KINDS;
use hailo_dialect_hl::{Activation, ActivationOp};
use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, OpSpec};
use rustc_hash::FxHashSet;

pub struct SplitActivations(NoOptions);

impl PassDef for SplitActivations {
    const NAME: &'static str = "quant-split-activations";
    const SUMMARY: &'static str =
        "Split fused activations that are not an output clamp into their own hl.activation layers";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        SplitActivations(o)
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
        match split_activations(m, graph) {
            Ok(created) => {
                cx.stat(
                    "split",
                    "Activations split into their own layer",
                    created.len() as u64,
                );
                Ok(Preserved::None)
            }
            Err(e) => Err(cx.fail_at(m, graph, e)),
        }
    }
}

/// Activations the integer ops apply as their output clamp.
pub fn is_clamp(a: Activation) -> bool {
    matches!(a, Activation::Linear | Activation::Relu | Activation::Relu6)
}

/// Splits every non-clamp fused activation of `graph` into an `hl.activation` named
/// `<layer>_activation` (made unique); returns the new layer names.
pub fn split_activations(m: &mut Module, graph: hailo_ir::OpId) -> Result<Vec<String>, String> {
    let mut names: FxHashSet<String> = m
        .walk(graph)
        .into_iter()
        .filter_map(|o| {
            m.attr(o, "layer")
                .and_then(Attribute::as_str)
                .map(str::to_owned)
        })
        .collect();
    let mut created = Vec::new();
    for op in m.walk(graph) {
        let Some(fused) = interface::<dyn FusedActivation>(m, op) else {
            continue;
        };
        if m.attr(op, "activation").is_none() {
            continue;
        }
        let act = fused.activation(m, op).map_err(|e| describe(m, op, &e))?;
        if is_clamp(act) {
            continue;
        }
        let layer = m
            .attr(op, "layer")
            .and_then(Attribute::as_str)
            .unwrap_or("layer")
            .to_owned();
        let mut name = format!("{layer}_activation");
        let mut i = 2;
        while names.contains(&name) {
            name = format!("{layer}_activation{i}");
            i += 1;
        }
        names.insert(name.clone());
        let params: &[&str] = KINDS
            .iter()
            .find(|(k, _)| *k == act.name())
            .map_or(&[], |(_, p)| p);
        let out = m.result(op, 0);
        let mut spec = OpSpec::new(ActivationOp::NAME)
            .operands(&[out])
            .results(&[m.value_type(out)])
            .attr("kind", Attribute::str(act.name()))
            .attr("layer", Attribute::str(&name))
            .attr("split_from", Attribute::str(&layer))
            .loc(m.op(op).loc.clone());
        for p in params {
            if let Some(v) = m.remove_attr(op, p) {
                spec = spec.attr(p, v);
            }
        }
        m.set_attr(op, "activation", Attribute::str("linear"));
        let new = m.create_op(spec);
        match m.next_op(op) {
            Some(next) => m.insert_before(next, new),
            None => return Err(describe(m, op, "is the last op of its block")),
        }
        let y = m.result(new, 0);
        m.replace_all_uses(out, y);
        m.set_operand(new, 0, out);
        created.push(name);
    }
    Ok(created)
}

fn describe(m: &Module, op: OpId, e: &str) -> String {
    format!(
        "layer '{}' ({}): {e}",
        m.attr(op, "layer")
            .and_then(Attribute::as_str)
            .unwrap_or("?"),
        m.op(op).name_str()
    )
}
