//! Lookup tables for activations on quantized codes: every input code is dequantized, the
//! activation applied in f64 (`Activation::eval`, the dialect's definition), and the result
//! quantized to the output type.

use hailo_dialect_hl::Activation;
use hailo_dialect_quant::{scheme, QuantType};

/// One output code per input code of `input`.
pub fn table(a: Activation, input: &QuantType, output: &QuantType) -> Option<Vec<i64>> {
    let (si, zi) = (input.scale_at(0), input.zero_point());
    let (so, zo) = (output.scale_at(0), output.zero_point());
    let st = input.storage();
    (st.qmin()..=st.qmax())
        .map(|c| {
            a.eval(si * (c - zi) as f64)
                .map(|y| scheme::quantize(y, so, zo, output.storage()))
        })
        .collect()
}
