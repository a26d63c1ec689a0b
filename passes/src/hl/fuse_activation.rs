//! `hl-fuse-activation`: a standalone `hl.activation` whose input is the result of a layer
//! that applies a fused activation (conv, dense, batch norm, elementwise, ...; the
//! `FusedActivation` interface; also through a reshape), still linear and read by nothing else,
//! becomes that layer's
//! activation, as in the DFC's HN where a ReLU after a conv is the conv's `activation`. Only the
//! kinds a layer can fuse (`Activation::fusable`) move; the others stay layers of their own. The
//! activation's original names are appended to the layer's location.

use super::fusion::{absorb, feeding_layer, fuse_locs, rewrite_each, set_activation};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::access::OpView;
use hailo_dialect_hl::interfaces::{interface, FusedActivation};
use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Module, OpId};

pub struct FuseActivation(NoOptions);

impl PassDef for FuseActivation {
    const NAME: &'static str = "hl-fuse-activation";
    const SUMMARY: &'static str =
        "Fuse a standalone activation into the layer before it as that layer's activation";
    const ANCHOR: Option<&'static str> = None;
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        FuseActivation(o)
    }
    fn options(&self) -> &NoOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        _cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        Ok(rewrite_each::<hl::ActivationOp>(m, root, |m, _, act| {
            fuse(m, act)
        }))
    }
}

/// Moves `act` into the layer producing its input; true if it did.
fn fuse(m: &mut Module, act: OpId) -> bool {
    let Ok(kind) = hl::Activation::from_attrs(&OpView::new(m, act), "kind", false) else {
        return false;
    };
    let x = m.operand(act, 0);
    let Some(layer) = feeding_layer(m, x, act, false) else {
        return false;
    };
    let linear = interface::<dyn FusedActivation>(m, layer)
        .and_then(|f| f.activation(m, layer).ok())
        == Some(hl::Activation::Linear);
    if !kind.fusable() || !linear {
        return false;
    }
    set_activation(m, layer, kind);
    fuse_locs(m, layer, act);
    absorb(m, act, x);
    true
}
