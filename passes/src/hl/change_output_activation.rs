//! `hl-change-output-activation`: the model script's `change_output_activation(output_layer,
//! activation)`. The activation is fused into the layer feeding the output when that layer
//! takes a fused activation and feeds nothing else; otherwise a standalone `hl.activation`
//! is added before the output layer, as the guide says.

use super::{
    build, fail_at, fresh_layer, graphs, place_before, retarget_output, select_outputs, Res,
};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Context, Module, OpId, OpSpec};

hailo_ir::pass_options! {
    pub struct ChangeOutputActivationOptions {
        /// Output layer (or the layer feeding it); every output layer when empty.
        output_layer: String = String::new(),
        /// The new activation.
        activation: String = String::new(),
    }
}

pub struct ChangeOutputActivation(ChangeOutputActivationOptions);

impl PassDef for ChangeOutputActivation {
    const NAME: &'static str = "hl-change-output-activation";
    const SUMMARY: &'static str = "Change the activation of output layers";
    const ANCHOR: Option<&'static str> = None;
    type Options = ChangeOutputActivationOptions;

    fn new(o: ChangeOutputActivationOptions) -> Self {
        ChangeOutputActivation(o)
    }
    fn options(&self) -> &ChangeOutputActivationOptions {
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

/// Activations that need no parameter, as `hl` activation kinds.
const PARAMETERLESS: &[&str] = &[
    "linear",
    "relu",
    "relu6",
    "sigmoid",
    "tanh",
    "silu",
    "gelu",
    "mish",
    "hardswish",
    "softplus",
    "softsign",
    "exp",
    "log",
    "sqrt",
    "abs",
];

/// Ops with an `activation` attribute (docs/hl-dialect.md, fused activations).
const FUSING: &[&str] = &[
    "hl.conv2d",
    "hl.depthwise_conv2d",
    "hl.deconv2d",
    "hl.dense",
    "hl.batch_norm",
    "hl.ew_add",
    "hl.ew_sub",
    "hl.ew_mult",
    "hl.ew_div",
    "hl.ew_max",
    "hl.ew_min",
];

fn apply(ctx: &Context, m: &mut Module, g: OpId, o: &ChangeOutputActivationOptions) -> Res<()> {
    let act = o.activation.as_str();
    if !PARAMETERLESS.contains(&act) {
        return Err(format!(
            "activation '{act}' is not supported here: it needs parameters the command cannot give; supported: {}",
            PARAMETERLESS.join(", ")
        ));
    }
    for out in select_outputs(m, g, &o.output_layer)? {
        let x = m.operand(out, 0);
        let producer = m.defining_op(x);
        let fusable = producer
            .filter(|&p| FUSING.contains(&m.op(p).name_str()) && m.value(x).uses().len() == 1);
        match fusable {
            Some(p) => {
                // Parameters of the old activation would be stale.
                for key in [
                    "alpha",
                    "beta",
                    "min",
                    "max",
                    "threshold",
                    "value",
                    "exponent",
                ] {
                    m.remove_attr(p, key);
                }
                m.set_attr(p, "activation", Attribute::str(act));
            }
            None => {
                let layer = fresh_layer(m, g, "activation");
                let spec = OpSpec::new("hl.activation")
                    .operands(&[x])
                    .attr("layer", Attribute::str(&layer))
                    .attr("kind", Attribute::str(act));
                let op = build(ctx, m, spec, m.value_type(x))?;
                place_before(m, out, op);
                let r = m.result(op, 0);
                retarget_output(m, out, r);
            }
        }
    }
    Ok(())
}
