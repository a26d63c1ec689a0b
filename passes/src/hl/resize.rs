//! `hl-resize`: the model script's `resize(layer, resize_shapes, resize_method, pixels_mode,
//! engine)`. On an input layer the graph input takes the new `[H, W]` and an `hl.resize` back
//! to the model's size follows the input layer; on an output layer an `hl.resize` to the new
//! size precedes the output layer. Guide defaults: bilinear, align_corners, nn_core.

use super::{
    build, fail_at, graphs, ops_named, pick_name, place_before, reshaped, retarget_output,
    retype_input, select_inputs, select_outputs, shape_of, splice_after, Res,
};
use hailo_dialect_hl as hl;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Context, Module, OpId, OpSpec, ValueId};

hailo_ir::pass_options! {
    pub struct ResizeOptions {
        /// Input or output layer to resize; every input layer when empty.
        layer: String = String::new(),
        /// New [height, width] of the input (or output).
        resize_shapes: Vec<i64> = Vec::new(),
        /// bilinear or nearest_neighbor.
        resize_method: String = "bilinear".to_owned(),
        /// align_corners, half_pixels or disable.
        pixels_mode: String = "align_corners".to_owned(),
        /// nn_core or cpu.
        engine: String = "nn_core".to_owned(),
        /// Names of the created layers; `resize<n>` otherwise.
        names: Vec<String> = Vec::new(),
    }
}

pub struct Resize(ResizeOptions);

impl PassDef for Resize {
    const NAME: &'static str = "hl-resize";
    const SUMMARY: &'static str = "Resize the network's input or output tensors";
    const ANCHOR: Option<&'static str> = None;
    type Options = ResizeOptions;

    fn new(o: ResizeOptions) -> Self {
        Resize(o)
    }
    fn options(&self) -> &ResizeOptions {
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

/// `hl.resize` attributes `(mode, coordinate, nearest_mode)` of the command's method and
/// pixels mode: TF's resize semantics, which the DFC follows.
pub fn resize_attrs(
    method: &str,
    pixels: &str,
) -> Res<(&'static str, &'static str, Option<&'static str>)> {
    let coordinate = match pixels {
        "align_corners" => "align_corners",
        "half_pixels" => "half_pixel",
        "disable" => "asymmetric",
        other => {
            return Err(format!(
                "unknown pixels_mode '{other}'; expected align_corners, half_pixels or disable"
            ))
        }
    };
    match method {
        "bilinear" => Ok(("bilinear", coordinate, None)),
        // TF nearest: floor((o + 0.5) * scale) with half pixels, rounding with align corners.
        "nearest_neighbor" => Ok(match coordinate {
            "half_pixel" => ("nearest", "tf_half_pixel_for_nn", Some("floor")),
            "align_corners" => ("nearest", "align_corners", Some("round_prefer_ceil")),
            _ => ("nearest", "asymmetric", Some("floor")),
        }),
        other => Err(format!(
            "unknown resize_method '{other}'; expected bilinear or nearest_neighbor"
        )),
    }
}

fn apply(ctx: &Context, m: &mut Module, g: OpId, o: &ResizeOptions) -> Res<()> {
    let [h, w] = o.resize_shapes[..] else {
        return Err(format!(
            "resize_shapes must be [height, width], got {:?}",
            o.resize_shapes
        ));
    };
    if h < 1 || w < 1 {
        return Err(format!("resize_shapes must be positive, got [{h}, {w}]"));
    }
    if !matches!(o.engine.as_str(), "nn_core" | "cpu") {
        return Err(format!(
            "unknown engine '{}'; expected nn_core or cpu",
            o.engine
        ));
    }
    let attrs = resize_attrs(&o.resize_method, &o.pixels_mode)?;
    let is_input = o.layer.is_empty()
        || ops_named(m, g, hl::InputLayer::NAME)
            .iter()
            .any(|&op| super::layer_name(m, op) == Some(o.layer.as_str()));
    let targets = if is_input {
        select_inputs(m, g, &o.layer)?
    } else {
        select_outputs(m, g, &o.layer)
            .map_err(|_| format!("no input or output layer named '{}'", o.layer))?
    };
    for (i, layer_op) in targets.into_iter().enumerate() {
        let layer = pick_name(m, g, &o.names, i, "resize")?;
        let value = if is_input {
            m.result(layer_op, 0)
        } else {
            m.operand(layer_op, 0)
        };
        let ty = m.value_type(value);
        let shape = shape_of(m, value);
        if shape.len() != 4 {
            return Err(format!(
                "layer '{layer}': resize needs an [N, H, W, C] tensor, got '{ty}'"
            ));
        }
        let new_shape = [shape[0], h, w, shape[3]];
        hailo_guard::limits::check_shape(&new_shape)
            .map_err(|e| format!("layer '{layer}': resize to {new_shape:?} gives {e}"))?;
        let new_ty = reshaped(ty, &new_shape);
        let spec = |x: ValueId| {
            let mut s = OpSpec::new(hl::Resize::NAME)
                .operands(&[x])
                .attr("layer", Attribute::str(&layer))
                .attr("mode", Attribute::str(attrs.0))
                .attr("coordinate", Attribute::str(attrs.1));
            if let Some(n) = attrs.2 {
                s = s.attr("nearest_mode", Attribute::str(n));
            }
            if o.engine == "cpu" {
                s = s.attr("engine", Attribute::str("cpu"));
            }
            s
        };
        if is_input {
            retype_input(m, layer_op, new_ty);
            let op = build(ctx, m, spec(value), ty)?;
            splice_after(m, layer_op, op, value);
        } else {
            let op = build(ctx, m, spec(value), new_ty)?;
            place_before(m, layer_op, op);
            let r = m.result(op, 0);
            retarget_output(m, layer_op, r);
        }
        super::sync_signature(m, g);
    }
    Ok(())
}
