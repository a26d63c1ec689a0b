//! Library side of the `hailo` and `hailo-opt` binaries: one module per subcommand.
pub mod cmd;
