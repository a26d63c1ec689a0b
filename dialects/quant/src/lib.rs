//! The `quant` dialect: quantized tensor types (`!q.uniform`, `!q.per_axis`)
//! and integer ops mirroring `hl`. Registered now so its types parse and
//! print; the ops arrive with the quantization work.

use hailo_ir::Dialect;

pub fn dialect() -> Dialect {
    Dialect {
        name: "q",
        summary: "Quantized types and integer ops",
        ops: Vec::new(),
        materialize_constant: None,
    }
}
