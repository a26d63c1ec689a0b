//! Conversions between dialects. `hl-to-quant` lowers a calibrated float `hl` graph to the
//! integer `q` dialect.

pub mod hl_to_quant;
mod lower_affine;
mod lower_ew;
mod lower_layout;
mod lower_rearrange;
mod lower_weighted;
mod lut;
#[cfg(test)]
mod tests;
