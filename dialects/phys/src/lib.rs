//! The `phys` dialect: physical layers after defuse/merge, shortcuts,
//! portals, buffers and per-layer resources. Registered now; ops arrive
//! with the allocation work.

use hailo_ir::Dialect;

pub fn dialect() -> Dialect {
    Dialect {
        name: "phys",
        summary: "Physical layers and resources",
        ops: Vec::new(),
        materialize_constant: None,
        verify_regions: None,
    }
}
