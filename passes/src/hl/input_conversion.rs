//! `hl-input-conversion`: the model script's `input_conversion(input_layer, conversion,
//! emulator_support)`. Color conversions add `hl.color_conversion` with the guide's exact
//! kernel and bias; format conversions add `hl.format_conversion` and change the graph input
//! to the camera layout; hybrid conversions (`yuy2_to_rgb`, `nv12_to_rgb`, `nv21_to_rgb`,
//! `i420_to_rgb`) add the format conversion followed by `yuv_to_rgb`. `emulator_support` is
//! kept on the format conversion: when false, emulation skips it (the data is given already
//! converted), as the guide says.

use super::{
    build, fail_at, graphs, pick_name, reshaped, retype_input, select_inputs, splice_after, Res,
};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::ops::color::{color_matrix, format_input_shape, FORMAT_CONVERSIONS};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Context, Module, OpId, OpSpec};

hailo_ir::pass_options! {
    pub struct InputConversionOptions {
        /// Color, format or hybrid conversion (guide §5.3.3 input_conversion).
        conversion: String = String::new(),
        /// Input layer to convert; every input layer when empty.
        input_layer: String = String::new(),
        /// Emulate the format conversion (calibration data in the source format).
        emulator_support: bool = false,
        /// Names of the created layers, format conversion first for hybrids.
        names: Vec<String> = Vec::new(),
    }
}

pub struct InputConversion(InputConversionOptions);

impl PassDef for InputConversion {
    const NAME: &'static str = "hl-input-conversion";
    const SUMMARY: &'static str =
        "Add color / format / hybrid input conversions after input layers";
    const ANCHOR: Option<&'static str> = None;
    type Options = InputConversionOptions;

    fn new(o: InputConversionOptions) -> Self {
        InputConversion(o)
    }
    fn options(&self) -> &InputConversionOptions {
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

/// The (format, color) steps of a conversion name.
fn steps(conversion: &str) -> Res<(Option<&'static str>, Option<&str>)> {
    let hybrid = |fmt: &'static str| Ok((Some(fmt), Some("yuv_to_rgb")));
    match conversion {
        "yuy2_to_rgb" => hybrid("yuy2_to_hailo_yuv"),
        "nv12_to_rgb" => hybrid("nv12_to_hailo_yuv"),
        "nv21_to_rgb" => hybrid("nv21_to_hailo_yuv"),
        "i420_to_rgb" => hybrid("i420_to_hailo_yuv"),
        c => {
            if let Some(f) = FORMAT_CONVERSIONS.iter().find(|f| **f == c) {
                Ok((Some(f), None))
            } else if color_matrix(c).is_some() {
                Ok((None, Some(c)))
            } else {
                Err(format!(
                    "unknown conversion '{c}'; expected a color conversion (yuv_to_rgb, bgr_to_rgb, ...), a format conversion ({}) or a hybrid one (yuy2_to_rgb, nv12_to_rgb, nv21_to_rgb, i420_to_rgb)",
                    FORMAT_CONVERSIONS.join(", ")
                ))
            }
        }
    }
}

fn apply(ctx: &Context, m: &mut Module, g: OpId, o: &InputConversionOptions) -> Res<()> {
    let (format, color) = steps(&o.conversion)?;
    let inputs = select_inputs(m, g, &o.input_layer)?;
    let per_input = usize::from(format.is_some()) + usize::from(color.is_some());
    for (i, input) in inputs.into_iter().enumerate() {
        let x = m.result(input, 0);
        let ty = m.value_type(x);
        let name = |m: &Module, k: usize, prefix: &str| {
            pick_name(m, g, &o.names, i * per_input + k, prefix)
        };
        // Color first: the format conversion, added last, ends up right after the input.
        if let Some(c) = color {
            let cm = color_matrix(c).ok_or_else(|| format!("unknown color conversion '{c}'"))?;
            let layer = name(m, per_input - 1, "color_conversion")?;
            let spec = OpSpec::new(hl::ColorConversion::NAME)
                .operands(&[x])
                .attr("layer", Attribute::str(&layer))
                .attr("conversion", Attribute::str(c))
                .attr("kernel", Attribute::f64_array(&cm.flat_kernel()))
                .attr("bias", Attribute::f64_array(&cm.bias));
            let op = build(ctx, m, spec, ty)?;
            splice_after(m, input, op, x);
        }
        if let Some(f) = format {
            let layer = name(m, 0, "format_conversion")?;
            let shape = ty.shape().unwrap_or_default();
            let source = format_input_shape(f, shape).map_err(|e| {
                format!(
                    "input layer '{}': {e}",
                    super::layer_name(m, input).unwrap_or("?")
                )
            })?;
            retype_input(m, input, reshaped(ty, &source));
            let spec = OpSpec::new(hl::FormatConversion::NAME)
                .operands(&[x])
                .attr("layer", Attribute::str(&layer))
                .attr("conversion", Attribute::str(f))
                .attr("emulator_support", Attribute::Bool(o.emulator_support));
            let op = build(ctx, m, spec, ty)?;
            splice_after(m, input, op, x);
        }
        super::sync_signature(m, g);
    }
    Ok(())
}
