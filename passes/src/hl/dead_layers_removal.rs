//! `hl-dead-layers-removal`: the guide's `pre_quantization_optimization(dead_layers_removal)`
//! (on by default). A dead layer is a weighted layer whose output is zero whatever its input:
//! every channel has a null kernel and a null activation output (`act(bias) = 0`), which
//! `quant-zero-static-channels` produces for a layer that is 0 over the whole calibration set.
//! Every add that sums it into another tensor of the add's own type (with no fused activation)
//! is replaced by that tensor; when nothing else reads the layer, it goes, with the ops that
//! only fed it. Ops whose results nothing reads go as well.
//!
//! The guide's `validate_change` compares the network's outputs before and after a removal;
//! the pass only removes what adds exactly 0, so the outputs are unchanged by construction
//! and there is nothing for the validation to reject.
//!
//! `hl-dead-layers-removal{policy=enabled}`.

use super::body_ops;
use super::fusion::{absorb, const_values};
use crate::generic::dce::erase_dead;
use hailo_dialect_hl as hl;
use hailo_dialect_hl::interfaces::{interface, FusedActivation, Weights};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Module, OpId, ValueId};

hailo_ir::pass_options! {
    pub struct DeadLayersRemovalOptions {
        /// `enabled`, `allowed` (as enabled) or `disabled` (the guide's `policy`).
        policy: String = "enabled".to_owned(),
    }
}

pub struct DeadLayersRemoval(DeadLayersRemovalOptions);

impl PassDef for DeadLayersRemoval {
    const NAME: &'static str = "hl-dead-layers-removal";
    const SUMMARY: &'static str =
        "Remove weighted layers whose output is always zero from the adds they feed, and unused ops";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = DeadLayersRemovalOptions;

    fn new(o: DeadLayersRemovalOptions) -> Self {
        DeadLayersRemoval(o)
    }
    fn options(&self) -> &DeadLayersRemovalOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        match super::policy_runs(&self.0.policy, "dead-layers-removal", true) {
            Ok(true) => {}
            Ok(false) => return Ok(Preserved::All),
            Err(e) => return Err(cx.fail_at(m, graph, e)),
        }
        let mut adds = 0;
        for op in body_ops(m, graph) {
            if m.is_alive(op) && always_zero(m, op) {
                adds += bypass_adds(m, m.result(op, 0));
            }
        }
        let erased = erase_dead(m, cx.ctx, graph);
        cx.stat("adds", "Adds of a dead layer removed", adds as u64);
        cx.stat("ops", "Unused ops erased", erased);
        Ok(if adds + erased as usize > 0 {
            Preserved::None
        } else {
            Preserved::All
        })
    }
}

/// A weighted op with one result, no operand besides input, kernel and bias, a constant null
/// kernel and a bias its activation maps to 0 (no bias: `act(0) = 0`).
fn always_zero(m: &Module, op: OpId) -> bool {
    let Some(w) = interface::<dyn Weights>(m, op) else {
        return false;
    };
    let ops = m.op(op).operands();
    let bias_index = w.bias().unwrap_or(ops.len());
    if m.op(op).results().len() != 1 || ops.len() > bias_index + 1 {
        return false;
    }
    let act = interface::<dyn FusedActivation>(m, op)
        .and_then(|a| a.activation(m, op).ok())
        .unwrap_or(hl::Activation::Linear);
    let kernel_zero = ops
        .get(w.kernel())
        .and_then(|&k| const_values(m, k))
        .is_some_and(|k| k.iter().all(|&x| x == 0.0));
    let bias_zero = match ops.get(bias_index) {
        Some(&b) => {
            const_values(m, b).is_some_and(|b| b.iter().all(|&x| act.eval(f64::from(x)) == 0.0))
        }
        None => act.eval(0.0) == 0.0,
    };
    kernel_zero && bias_zero
}

/// Replaces every linear add of `zero` and a tensor of the add's type by that tensor; how many.
fn bypass_adds(m: &mut Module, zero: ValueId) -> usize {
    let adds: Vec<(OpId, ValueId)> = m
        .value(zero)
        .uses()
        .iter()
        .filter(|u| hl::EwAdd::cast(m, u.op).is_some() && m.op(u.op).operands().len() == 2)
        .filter_map(|u| {
            let other = m.operand(u.op, 1 - u.index as usize);
            let linear = interface::<dyn FusedActivation>(m, u.op)
                .and_then(|a| a.activation(m, u.op).ok())
                .is_some_and(|a| a == hl::Activation::Linear);
            (linear && other != zero && m.value_type(other) == m.value_type(m.result(u.op, 0)))
                .then_some((u.op, other))
        })
        .collect();
    for &(add, other) in &adds {
        absorb(m, add, other);
    }
    adds.len()
}
