//! `hl-change-output-activation`: the model script's `change_output_activation(output_layer,
//! activation)`. The activation is fused into the layer feeding the output when that layer
//! takes a fused activation and feeds nothing else; otherwise a standalone `hl.activation`
//! is added before the output layer, as the guide says.
//!
//! Any kind of the guide's activation table that `hl` has can be set. Kinds with parameters take
//! them as pass options (`alpha`, `beta`, `min`, `max`, `threshold`, `value`, `exponent`, the
//! names of the `hl` attributes). The model script command has no parameter syntax, so there
//! the frameworks' common defaults apply where the frameworks the guide maps the kind to agree
//! (leaky alpha 0.01, elu alpha 1, swish beta 1); any other parameter must be given.
//!
//! After `nms_postprocess` the detection heads are no longer output layers: setting the
//! activation of the NMS output, or of a head the NMS consumes, is refused with an error asking
//! for `change_output_activation` before `nms_postprocess` (where `hl-nms-postprocess` sees the
//! heads' sigmoid and does not apply it again).

use super::{
    build, fail_at, find_layer, fresh_layer, graphs, layer_name, place_before, retarget_output,
    select_outputs, Res,
};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::access::OpView;
use hailo_dialect_hl::interfaces::{interface, FusedActivation};
use hailo_dialect_hl::ops::activation::{Activation, KINDS};
use hailo_dialect_hl::ActivationOp;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Context, Module, OpId, OpSpec};

hailo_ir::pass_options! {
    pub struct ChangeOutputActivationOptions {
        /// Output layer (or the layer feeding it); every output layer when empty.
        output_layer: String = String::new(),
        /// The new activation (an `hl` activation kind).
        activation: String = String::new(),
        /// leaky / elu slope, hardsigmoid slope.
        alpha: Option<f64> = None,
        /// hardsigmoid offset, swish beta.
        beta: Option<f64> = None,
        /// clip lower bound.
        min: Option<f64> = None,
        /// clip upper bound.
        max: Option<f64> = None,
        /// threshold activation's threshold.
        threshold: Option<f64> = None,
        /// delta / equal / greater / less constant.
        value: Option<f64> = None,
        /// pow exponent.
        exponent: Option<f64> = None,
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

/// Every parameter option, by its `hl` attribute name.
fn given(o: &ChangeOutputActivationOptions) -> [(&'static str, Option<f64>); 7] {
    [
        ("alpha", o.alpha),
        ("beta", o.beta),
        ("min", o.min),
        ("max", o.max),
        ("threshold", o.threshold),
        ("value", o.value),
        ("exponent", o.exponent),
    ]
}

/// The default of a parameter the model script cannot give: only where the frameworks the
/// guide's table maps the kind to agree (torch / ONNX / Keras).
fn default_param(kind: &str, name: &str) -> Option<f64> {
    match (kind, name) {
        ("leaky", "alpha") => Some(0.01),
        ("elu", "alpha") | ("swish", "beta") => Some(1.0),
        _ => None,
    }
}

/// The activation's parameter attributes, checked against what the kind takes.
fn parameters(o: &ChangeOutputActivationOptions) -> Res<Vec<(&'static str, f64)>> {
    let kind = o.activation.as_str();
    let Some((_, names)) = KINDS.iter().find(|(k, _)| *k == kind) else {
        let all: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
        return Err(format!(
            "unknown activation '{kind}'; expected one of: {}",
            all.join(", ")
        ));
    };
    let given = given(o);
    if let Some((extra, _)) = given
        .iter()
        .find(|(n, v)| v.is_some() && !names.contains(n))
    {
        return Err(format!(
            "activation '{kind}' takes no parameter '{extra}'; it takes {}",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ));
    }
    names
        .iter()
        .map(|&n| {
            let v = given.iter().find(|(g, _)| *g == n).and_then(|(_, v)| *v);
            v.or_else(|| default_param(kind, n))
                .map(|v| (n, v))
                .ok_or_else(|| {
                    format!(
                        "activation '{kind}' needs parameter '{n}' (of {}); give it as a pass option: the model script command has no parameter syntax and '{kind}' has no default",
                        names.join(", ")
                    )
                })
        })
        .collect()
}

/// An `hl.activation` of `kind` with its parameters (no operand, no layer yet).
fn standalone(kind: &str, params: &[(&'static str, f64)]) -> OpSpec {
    params.iter().fold(
        OpSpec::new(ActivationOp::NAME).attr("kind", Attribute::str(kind)),
        |spec, &(key, v)| spec.attr(key, Attribute::f64(v)),
    )
}

const AFTER_NMS: &str =
    "put change_output_activation before nms_postprocess in the model script, on the heads' output layers";

/// The error for `layer` when it is a detection head an `hl.nms` consumes (its output layer
/// was replaced by the NMS's).
fn consumed_head(m: &Module, g: OpId, layer: &str) -> Option<String> {
    let op = find_layer(m, g, layer)?;
    let nms = m
        .op(op)
        .results()
        .iter()
        .flat_map(|&r| m.value(r).uses())
        .map(|u| u.op)
        .find(|&u| m.op(u).name_str() == hl::Nms::NAME)?;
    Some(format!(
        "layer '{layer}' is a detection head consumed by nms_postprocess (layer '{}'); {AFTER_NMS}",
        layer_name(m, nms).unwrap_or("?")
    ))
}

fn apply(ctx: &Context, m: &mut Module, g: OpId, o: &ChangeOutputActivationOptions) -> Res<()> {
    let act = o.activation.as_str();
    let params = parameters(o)?;
    // The dialect's check of the values (e.g. clip bounds), on a detached op.
    let probe = m.create_op(standalone(act, &params));
    let checked =
        Activation::from_attrs(&OpView::new(m, probe), "kind", false).and_then(Activation::check);
    m.erase_op(probe);
    checked?;
    let outputs = select_outputs(m, g, &o.output_layer)
        .map_err(|e| consumed_head(m, g, &o.output_layer).unwrap_or(e))?;
    for out in outputs {
        let x = m.operand(out, 0);
        let producer = m.defining_op(x);
        if let Some(nms) = producer.filter(|&p| m.op(p).name_str() == hl::Nms::NAME) {
            return Err(format!(
                "output layer '{}' is the output of nms_postprocess (layer '{}'), not a detection head; {AFTER_NMS}",
                layer_name(m, out).unwrap_or("?"),
                layer_name(m, nms).unwrap_or("?")
            ));
        }
        let fusable = producer.filter(|&p| {
            interface::<dyn FusedActivation>(m, p).is_some() && m.value(x).uses().len() == 1
        });
        match fusable {
            Some(p) => {
                // Parameters of the old activation would be stale.
                for (key, _) in given(o) {
                    m.remove_attr(p, key);
                }
                m.set_attr(p, "activation", Attribute::str(act));
                for &(key, v) in &params {
                    m.set_attr(p, key, Attribute::f64(v));
                }
            }
            None => {
                let layer = fresh_layer(m, g, "activation");
                let spec = standalone(act, &params)
                    .operands(&[x])
                    .attr("layer", Attribute::str(&layer));
                let op = build(ctx, m, spec, m.value_type(x))?;
                place_before(m, out, op);
                let r = m.result(op, 0);
                retarget_output(m, out, r);
            }
        }
    }
    Ok(())
}
