//! The `q` dialect: quantized tensor types (`!q.uniform`, `!q.per_axis`, see [`types`]), the
//! quantization scheme's arithmetic ([`scheme`]: scales, zero points, bankers rounding, bias
//! representation and the one rescale decomposition), and integer ops mirroring `hl`
//! ([`ops`]). The `hl-to-quant` conversion in `hailo-passes` produces this dialect; the
//! quantized emulation in `hailo-executor` executes it with its integer kernels.

pub mod ops;
pub mod scheme;
pub mod types;

pub use scheme::{BiasMode, QuantBias, Rescale};
pub use types::{QuantType, Storage};

use hailo_ir::Dialect;

pub fn dialect() -> Dialect {
    Dialect {
        name: "q",
        summary: "Quantized types and integer ops",
        ops: ops::defs(),
        materialize_constant: None,
        verify_regions: None,
    }
}
