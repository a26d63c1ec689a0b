//! Input conversions added by the model script's `input_conversion` (guide §5.3.3):
//! `hl.color_conversion` (a per-pixel 3×3 matrix plus bias, the guide's exact kernels) and
//! `hl.format_conversion` (camera byte layouts YUY2 / NV12 / NV21 / I420 / RGBX to 3-channel
//! YUV or RGB). The tables live here so the pass, the verifier and the interpreter agree.

use super::verify_unary;
use crate::access::{OpView, Result};
use hailo_ir::{define_op, Module, OpDef, OpId, Type};

define_op! {
    /// `y[c] = Σ_k x[k] · kernel[k][c] + bias[c]` on every pixel of `[N, H, W, 3]`.
    pub struct ColorConversion = "hl.color_conversion" {
        summary: "Per-pixel color conversion (3x3 kernel and bias)", traits: [PURE],
        operands { input: 0 }
        attrs { conversion: str, kernel: f64_array, bias: f64_array, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        hooks { verify: verify_unary, infer: infer_color }
    }
}

define_op! {
    /// A camera format (`conversion`) unpacked to `[N, H, W, 3]`.
    pub struct FormatConversion = "hl.format_conversion" {
        summary: "Camera format (YUY2/NV12/NV21/I420/RGBX) to 3 channels", traits: [PURE],
        operands { input: 0 }
        attrs { conversion: str, emulator_support: bool, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        hooks { verify: verify_unary, infer: infer_format }
    }
}

/// A color conversion of the guide: the 3×3 kernel (rows = input channels, columns = output
/// channels) and the bias, exactly as §5.3.3 lists them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColorMatrix {
    pub kernel: [[f64; 3]; 3],
    pub bias: [f64; 3],
}

const SWAP_RB: ColorMatrix = ColorMatrix {
    kernel: [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
    bias: [0.0; 3],
};
const YUV_FULL_TO_RGB: ColorMatrix = ColorMatrix {
    kernel: [[1.0, 1.0, 1.0], [0.0, -0.343, 1.765], [1.4, -0.711, 0.0]],
    bias: [-179.2, 134.912, -225.92],
};
const YUV601_TO_RGB: ColorMatrix = ColorMatrix {
    kernel: [
        [1.164, 1.164, 1.164],
        [0.0, -0.392, 2.017],
        [1.596, -0.813, 0.0],
    ],
    bias: [-222.912, 135.616, -276.8],
};
const YUV709_TO_RGB: ColorMatrix = ColorMatrix {
    kernel: [
        [1.164, 1.164, 1.164],
        [0.0, -0.213, 2.112],
        [1.793, -0.533, 0.0],
    ],
    bias: [-248.128, 76.864, -288.96],
};
const YUV_FULL_TO_BGR: ColorMatrix = ColorMatrix {
    kernel: [[1.0, 1.0, 1.0], [1.765, -0.343, 0.0], [0.0, -0.711, 1.4]],
    bias: [-225.92, 134.912, -179.2],
};
const YUV601_TO_BGR: ColorMatrix = ColorMatrix {
    kernel: [
        [1.164, 1.164, 1.164],
        [2.017, -0.392, 0.0],
        [0.0, -0.813, 1.596],
    ],
    bias: [-276.8, 135.616, -222.912],
};
const YUV709_TO_BGR: ColorMatrix = ColorMatrix {
    kernel: [
        [1.164, 1.164, 1.164],
        [2.112, -0.213, 0.0],
        [0.0, -0.533, 1.793],
    ],
    bias: [-288.96, 76.864, -248.128],
};

/// Every color conversion of the guide with its matrix.
pub const COLOR_CONVERSIONS: &[(&str, ColorMatrix)] = &[
    ("yuv_full_range_to_rgb", YUV_FULL_TO_RGB),
    ("yuv_to_rgb", YUV601_TO_RGB),
    ("yuv601_to_rgb", YUV601_TO_RGB),
    ("yuv709_to_rgb", YUV709_TO_RGB),
    ("yuv_full_range_to_bgr", YUV_FULL_TO_BGR),
    ("yuv_to_bgr", YUV601_TO_BGR),
    ("yuv601_to_bgr", YUV601_TO_BGR),
    ("yuv709_to_bgr", YUV709_TO_BGR),
    ("bgr_to_rgb", SWAP_RB),
    ("rgb_to_bgr", SWAP_RB),
];

/// The matrix of a color conversion name.
pub fn color_matrix(conversion: &str) -> Option<ColorMatrix> {
    COLOR_CONVERSIONS
        .iter()
        .find(|(n, _)| *n == conversion)
        .map(|(_, m)| *m)
}

impl ColorMatrix {
    /// The kernel row-major (`kernel[in * 3 + out]`), as the op's `kernel` attribute stores it.
    pub fn flat_kernel(&self) -> Vec<f64> {
        self.kernel.iter().flatten().copied().collect()
    }
}

/// Format conversions; the source layouts are the frames' memory layouts as OpenCV reads them.
pub const FORMAT_CONVERSIONS: &[&str] = &[
    "yuy2_to_hailo_yuv",
    "nv12_to_hailo_yuv",
    "nv21_to_hailo_yuv",
    "i420_to_hailo_yuv",
    "tf_rgbx_to_hailo_rgb",
];

/// Output shape `[N, H, W, 3]` of a format conversion from its source shape:
/// YUY2 `[N, H, W, 2]` (W even); NV12 / NV21 / I420 `[N, 3H/2, W, 1]` (H, W even; the Y plane
/// then the chroma plane(s)); RGBX `[N, H, W, 4]`.
pub fn format_output_shape(conversion: &str, x: &[i64]) -> Result<Vec<i64>> {
    let [n, h, w, c] = *x else {
        return Err(format!("input must have rank 4, got {x:?}"));
    };
    match conversion {
        "yuy2_to_hailo_yuv" if c == 2 && w % 2 == 0 => Ok(vec![n, h, w, 3]),
        "yuy2_to_hailo_yuv" => Err(format!(
            "yuy2 input must be [N, H, W, 2] with an even W, got {x:?}"
        )),
        "nv12_to_hailo_yuv" | "nv21_to_hailo_yuv" | "i420_to_hailo_yuv"
            if c == 1 && h % 3 == 0 && (2 * h / 3) % 2 == 0 && w % 2 == 0 =>
        {
            Ok(vec![n, 2 * h / 3, w, 3])
        }
        "nv12_to_hailo_yuv" | "nv21_to_hailo_yuv" | "i420_to_hailo_yuv" => Err(format!(
            "{conversion} input must be [N, 3H/2, W, 1] with even H and W, got {x:?}"
        )),
        "tf_rgbx_to_hailo_rgb" if c == 4 => Ok(vec![n, h, w, 3]),
        "tf_rgbx_to_hailo_rgb" => Err(format!("rgbx input must be [N, H, W, 4], got {x:?}")),
        other => Err(format!(
            "unknown conversion \"{other}\"; expected one of: {}",
            FORMAT_CONVERSIONS.join(", ")
        )),
    }
}

/// Source shape of a format conversion producing `[N, H, W, 3]` (the inverse of
/// [`format_output_shape`]).
pub fn format_input_shape(conversion: &str, y: &[i64]) -> Result<Vec<i64>> {
    let [n, h, w, 3] = *y else {
        return Err(format!(
            "{conversion} produces [N, H, W, 3]; the layer it feeds has shape {y:?}"
        ));
    };
    let x = match conversion {
        "yuy2_to_hailo_yuv" => vec![n, h, w, 2],
        "tf_rgbx_to_hailo_rgb" => vec![n, h, w, 4],
        _ => vec![n, h / 2 * 3, w, 1],
    };
    match format_output_shape(conversion, &x) {
        Ok(back) if back == y => Ok(x),
        Ok(_) => Err(format!(
            "{conversion} needs an even height and width, got [{h}, {w}]"
        )),
        Err(e) => Err(e),
    }
}

fn infer_color(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape_rank(0, "input", 4)?;
    if x[3] != 3 {
        return Err(format!("input must have 3 channels, got {}", x[3]));
    }
    let name = v.str("conversion")?;
    let Some(table) = color_matrix(name) else {
        let known: Vec<&str> = COLOR_CONVERSIONS.iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "unknown conversion \"{name}\"; expected one of: {}",
            known.join(", ")
        ));
    };
    if v.f64s("kernel")? != table.flat_kernel() || v.f64s("bias")? != table.bias {
        return Err(format!(
            "kernel and bias must be those of \"{name}\": kernel = {:?}, bias = {:?}",
            table.flat_kernel(),
            table.bias
        ));
    }
    Ok(vec![v.operand_type(0, "input")?])
}

fn infer_format(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape_rank(0, "input", 4)?;
    v.opt_bool("emulator_support")?;
    let y = format_output_shape(v.str("conversion")?, &x)?;
    Ok(vec![Type::tensor(&y, v.elem(0, "input")?)])
}

pub fn defs() -> Vec<OpDef> {
    vec![ColorConversion::def(), FormatConversion::def()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn biases_are_the_kernels_applied_to_the_offsets() {
        // Limited range: Y offset 16, chroma offset 128; full range: chroma offset 128 only.
        for (name, m) in COLOR_CONVERSIONS {
            let offsets = match *name {
                n if n.starts_with("yuv_full") => [0.0, 128.0, 128.0],
                n if n.starts_with("yuv") => [16.0, 128.0, 128.0],
                _ => [0.0; 3],
            };
            for c in 0..3 {
                let expect: f64 = -(0..3).map(|k| offsets[k] * m.kernel[k][c]).sum::<f64>();
                assert!((expect - m.bias[c]).abs() < 1e-9, "{name} bias[{c}]");
            }
        }
    }

    #[test]
    fn format_shapes_round_trip() {
        assert_eq!(
            format_output_shape("nv12_to_hailo_yuv", &[1, 6, 4, 1]),
            Ok(vec![1, 4, 4, 3])
        );
        assert_eq!(
            format_input_shape("i420_to_hailo_yuv", &[1, 4, 4, 3]),
            Ok(vec![1, 6, 4, 1])
        );
        assert_eq!(
            format_input_shape("yuy2_to_hailo_yuv", &[1, 3, 4, 3]),
            Ok(vec![1, 3, 4, 2])
        );
        assert!(format_input_shape("yuy2_to_hailo_yuv", &[1, 3, 5, 3]).is_err());
        assert!(format_input_shape("nv21_to_hailo_yuv", &[1, 3, 4, 3]).is_err());
    }
}
