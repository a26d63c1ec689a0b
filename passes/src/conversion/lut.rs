//! Lookup tables for activations on quantized codes: every input code is dequantized, the
//! activation applied in f64 (`Activation::eval`, the dialect's definition), and the result
//! quantized to the output type.

use hailo_dialect_hl::Activation;
use hailo_dialect_quant::{scheme, QuantType};

/// One output code per input code of `input` (a result that is not a number, such as the
/// square root of a negative value, maps to the output's zero point).
pub fn table(a: Activation, input: &QuantType, output: &QuantType) -> Vec<i64> {
    table_of(|x| a.eval(x), input, output)
}

/// [`table`] of any function `f` of the dequantized input.
pub fn table_of(f: impl Fn(f64) -> f64, input: &QuantType, output: &QuantType) -> Vec<i64> {
    let (si, zi) = (input.scale_at(0), input.zero_point());
    let (so, zo) = (output.scale_at(0), output.zero_point());
    let st = input.storage();
    (st.qmin()..=st.qmax())
        .map(|c| {
            let y = f(si * (c - zi) as f64);
            let y = if y.is_nan() { 0.0 } else { y };
            scheme::quantize(y, so, zo, output.storage())
        })
        .collect()
}
