//! `phys-remove-nodes`: removes the physical layers a model script names in
//! `remove_node(layer)` (DFC guide §5.4.2: "removing layer from the network ... layers that are
//! given by the hn but we can remove them").
//!
//! Removing a layer means its consumers read what it reads, so only a layer that passes one
//! feature map through unchanged in type can go: one feature-map input whose type is the
//! result's (a shortcut, a same-type format conversion or activation), or any one-input layer
//! whose result only leaves the graph (`q.dequantize`s: the host then receives its input, as when
//! a classifier's softmax is left to the host). Anything else is an error at the layer, saying
//! why: its consumers would read another type.
//!
//! Option `layers`: the names, each a physical layer of the graph.

use hailo_dialect_phys::ops::{self as phys, LayerParams};
use hailo_dialect_phys::resource_model;
use hailo_dialect_quant::ops as q;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId};

hailo_ir::pass_options! {
    pub struct PhysRemoveNodesOptions {
        /// Layers to remove (model script `remove_node(layer)`).
        layers: Vec<String> = Vec::new(),
    }
}

pub struct PhysRemoveNodes(PhysRemoveNodesOptions);

impl PassDef for PhysRemoveNodes {
    const NAME: &'static str = "phys-remove-nodes";
    const SUMMARY: &'static str = "Remove named one-input physical layers (remove_node)";
    const DESCRIPTION: &'static str = "The model script's remove_node commands: each named \
        layer's consumers read its input instead.";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = PhysRemoveNodesOptions;

    fn new(o: PhysRemoveNodesOptions) -> Self {
        PhysRemoveNodes(o)
    }
    fn options(&self) -> &PhysRemoveNodesOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let block = m.region(m.op(graph).regions()[0]).blocks()[0];
        let mut removed = 0;
        for name in &self.0.layers {
            let found = m.block_ops(block).into_iter().find(|&op| {
                resource_model(m, op).is_some()
                    && m.attr(op, "layer").and_then(Attribute::as_str) == Some(name.as_str())
            });
            let Some(op) = found else {
                let msg =
                    format!("'layers' names '{name}', which is no physical layer of this graph");
                return Err(cx.fail_at(m, graph, msg));
            };
            let input = removable(m, op)
                .map_err(|e| cx.fail_at(m, op, format!("cannot remove layer '{name}': {e}")))?;
            let result = m.result(op, 0);
            m.replace_all_uses(result, input);
            m.erase_op(op);
            removed += 1;
        }
        cx.stat("removed", "layers removed", removed);
        Ok(if removed == 0 {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}

/// The value `op`'s consumers read instead of its result, when it can go.
fn removable(m: &Module, op: OpId) -> Result<hailo_ir::ValueId, String> {
    let inputs = match LayerParams::of(m, op) {
        Ok(p) if phys::Layer::cast(m, op).is_some() => p.inputs,
        _ => m.op(op).operands().len(),
    };
    if inputs != 1 || m.op(op).results().len() != 1 {
        return Err(format!(
            "it has {inputs} feature-map inputs; only a one-input layer can be removed"
        ));
    }
    let (input, result) = (m.op(op).operands()[0], m.result(op, 0));
    let uses = m.value(result).uses();
    let leaves = !uses.is_empty() && uses.iter().all(|u| q::Dequantize::cast(m, u.op).is_some());
    if m.value_type(input) != m.value_type(result) && !leaves {
        return Err(format!(
            "its consumers would read '{}' instead of '{}'; only a layer whose result leaves the graph may change the type",
            m.value_type(input),
            m.value_type(result)
        ));
    }
    Ok(input)
}
