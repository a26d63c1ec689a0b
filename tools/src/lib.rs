//! Library side of the `hailo` and `hailo-opt` binaries: one module per subcommand.
pub mod cmd;
pub mod context;
pub mod instrument;
pub mod opt;
pub mod phys_script;
pub mod pipe;
pub mod resources;
