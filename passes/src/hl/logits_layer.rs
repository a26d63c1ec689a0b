//! `hl-logits-layer`: the model script's `logits_layer(output_layer, logits_type, axis)`. Adds
//! `hl.softmax` (output of rank 2, at most two softmax layers in the graph) or `hl.argmax`
//! (output of rank 4, over the channels) before the output layer, with the guide's conditions.

use super::{
    build, fail_at, graphs, ops_named, pick_name, place_before, retarget_output, select_outputs,
    shape_of, Res,
};
use hailo_dialect_hl as hl;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Context, Module, OpId, OpSpec, Type};

hailo_ir::pass_options! {
    pub struct LogitsLayerOptions {
        /// Output layer (or the layer feeding it); every output layer when empty.
        output_layer: String = String::new(),
        /// softmax or argmax.
        logits_type: String = String::new(),
        /// Axis of the operation (NHWC; negative counts from the end).
        axis: i64 = -1,
        /// nn_core, cpu or auto.
        engine: String = "nn_core".to_owned(),
        /// Names of the created layers; `softmax<n>` / `argmax<n>` otherwise.
        names: Vec<String> = Vec::new(),
    }
}

pub struct LogitsLayer(LogitsLayerOptions);

impl PassDef for LogitsLayer {
    const NAME: &'static str = "hl-logits-layer";
    const SUMMARY: &'static str = "Add a softmax or argmax logits layer after output layers";
    const ANCHOR: Option<&'static str> = None;
    type Options = LogitsLayerOptions;

    fn new(o: LogitsLayerOptions) -> Self {
        LogitsLayer(o)
    }
    fn options(&self) -> &LogitsLayerOptions {
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

fn apply(ctx: &Context, m: &mut Module, g: OpId, o: &LogitsLayerOptions) -> Res<()> {
    let softmax = match o.logits_type.as_str() {
        "softmax" => true,
        "argmax" => false,
        other => {
            return Err(format!(
                "unknown logits_type '{other}'; expected softmax or argmax"
            ))
        }
    };
    if !matches!(o.engine.as_str(), "nn_core" | "cpu" | "auto") {
        return Err(format!(
            "unknown engine '{}'; expected nn_core, cpu or auto",
            o.engine
        ));
    }
    let outputs = select_outputs(m, g, &o.output_layer)?;
    let existing = ops_named(m, g, hl::Softmax::NAME).len();
    if softmax && existing + outputs.len() >= 3 {
        return Err(format!(
            "a softmax logits layer needs the total number of softmax layers to stay below three; the graph has {existing} and {} would be added",
            outputs.len()
        ));
    }
    for (i, out) in outputs.into_iter().enumerate() {
        let x = m.operand(out, 0);
        let shape = shape_of(m, x);
        let rank = shape.len() as i64;
        let axis = if o.axis < 0 { o.axis + rank } else { o.axis };
        let out_name = super::layer_name(m, out).unwrap_or("?").to_owned();
        let (prefix, result) = if softmax {
            if rank != 2 || axis != 1 {
                return Err(format!(
                    "softmax needs an output of rank 2 and axis 1; '{out_name}' has shape {shape:?} and axis {}",
                    o.axis
                ));
            }
            ("softmax", m.value_type(x))
        } else {
            if rank != 4 || axis != 3 {
                return Err(format!(
                    "argmax needs an output of rank 4 and the channels axis (3); '{out_name}' has shape {shape:?} and axis {}",
                    o.axis
                ));
            }
            (
                "argmax",
                Type::tensor(&[shape[0], shape[1], shape[2], 1], Type::f32()),
            )
        };
        let layer = pick_name(m, g, &o.names, i, prefix)?;
        let mut spec = OpSpec::new(if softmax {
            hl::Softmax::NAME
        } else {
            hl::ArgMax::NAME
        })
        .operands(&[x])
        .attr("layer", Attribute::str(&layer))
        .attr("axis", Attribute::i64(axis));
        if !softmax {
            spec = spec.attr("keepdims", Attribute::Bool(true));
        }
        if o.engine != "nn_core" {
            spec = spec.attr("engine", Attribute::str(&o.engine));
        }
        let op = build(ctx, m, spec, result)?;
        place_before(m, out, op);
        let r = m.result(op, 0);
        retarget_output(m, out, r);
        super::sync_signature(m, g);
    }
    Ok(())
}
