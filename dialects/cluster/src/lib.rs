//! The `cluster` dialect: placement on clusters, contexts, inter-context and
//! DDR transfers. Registered now; ops arrive with placement.

use hailo_ir::Dialect;

pub fn dialect() -> Dialect {
    Dialect {
        name: "cluster",
        summary: "Cluster placement and contexts",
        ops: Vec::new(),
        materialize_constant: None,
        verify_regions: None,
    }
}
