//! Conversions between dialects. `hl-to-quant` lowers a calibrated float `hl` graph to the
//! integer `q` dialect; `quant-to-phys` turns a `q` graph into the physical layers of `phys`.

mod axes_last;
pub mod hl_to_quant;
mod lower_affine;
mod lower_attention;
mod lower_ew;
mod lower_host;
mod lower_index;
mod lower_layout;
mod lower_norm;
mod lower_pointwise;
mod lower_rearrange;
mod lower_reduce;
mod lower_weighted;
mod lut;
pub mod quant_to_phys;
#[cfg(test)]
mod tests;
