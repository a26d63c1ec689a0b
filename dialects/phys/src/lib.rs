//! The `phys` dialect: the physical layers a Hailo-8 runs, after a quantized (`q`) graph has been
//! split (defuse), joined (merge), given shortcuts, portals and edge buffers.
//!
//! Its ops ([`ops`]) carry the `q` types of the values they compute and the per-layer decisions the
//! vendor's compiler records in its allocation scripts (subclusters, 16x4 mode, defuse role, buffer
//! rows). Each implements [`ResourceModel`] ([`resources`]), which the allocator, the placer and the
//! context splitter ask for layer controllers, subclusters, APUs, input aligners, memory and the
//! layer's MAC-bound rate on a [`hailo_target::Target`].

pub mod kind;
pub mod ops;
pub mod resources;

pub use kind::{DefuseKind, LayerKind, PortalMemory};
pub use resources::{layer_fps, resource_model, ResourceModel, Resources, Work};

use hailo_ir::Dialect;

pub fn dialect() -> Dialect {
    Dialect {
        name: "phys",
        summary: "Physical layers and resources",
        ops: ops::defs(),
        materialize_constant: None,
        verify_regions: None,
    }
}

#[cfg(test)]
mod tests;
