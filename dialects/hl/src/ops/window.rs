//! Attributes of sliding-window ops (convolutions and pools): the `padding`
//! mode with its explicit `pads`, read once for verification, shape
//! inference and the interpreter.

use crate::access::{OpView, Result};
use crate::shape::Padding;

/// The padding mode names accepted in `padding`.
pub const PADDING_MODES: &[&str] = &["VALID", "SAME", "SAME_TENSORFLOW", "EXPLICIT"];

/// Reads `padding` and `pads`. An absent `padding` means `EXPLICIT` when
/// `pads` is given and `VALID` otherwise; `pads` with another mode is an error.
pub fn padding(v: &OpView<'_>) -> Result<Padding> {
    let pads = v.opt_i64s("pads")?;
    let default = if pads.is_some() { "EXPLICIT" } else { "VALID" };
    let mode = v.opt_choice("padding", PADDING_MODES)?.unwrap_or(default);
    match (mode, pads) {
        ("EXPLICIT", Some(p)) => Ok(Padding::Explicit(explicit_pads("pads", &p)?)),
        ("EXPLICIT", None) => Err(
            "padding \"EXPLICIT\" requires attribute 'pads' = [top, left, bottom, right]".into(),
        ),
        (mode, Some(_)) => Err(format!(
            "attribute 'pads' is only allowed with padding \"EXPLICIT\", not \"{mode}\""
        )),
        ("SAME", None) => Ok(Padding::Same),
        ("SAME_TENSORFLOW", None) => Ok(Padding::SameTensorflow),
        _ => Ok(Padding::Valid),
    }
}

/// Checks `[top, left, bottom, right]`: four non-negative integers.
pub fn explicit_pads(key: &str, p: &[i64]) -> Result<[i64; 4]> {
    match p {
        [t, l, b, r] if p.iter().all(|&x| x >= 0) => Ok([*t, *l, *b, *r]),
        _ => Err(format!("attribute '{key}' must be four non-negative integers [top, left, bottom, right], got {p:?}")),
    }
}

/// The output `[oh, ow]` of a window of extent `kernel` over `input`, with
/// an error naming the sizes when the window does not fit.
pub fn window_out_2d(
    input: [i64; 2],
    kernel: [i64; 2],
    strides: [i64; 2],
    pads: [i64; 4],
    ceil_mode: bool,
) -> Result<[i64; 2]> {
    let out = |a: usize| {
        crate::shape::window_out(
            input[a],
            kernel[a],
            strides[a],
            (pads[a], pads[a + 2]),
            ceil_mode,
        )
    };
    match (out(0), out(1)) {
        (Some(h), Some(w)) if h >= 1 && w >= 1 => Ok([h, w]),
        _ => Err(format!(
            "window {}x{} does not fit the {}x{} input padded by {pads:?}",
            kernel[0], kernel[1], input[0], input[1]
        )),
    }
}
