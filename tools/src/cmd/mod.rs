//! One module per `hailo` subcommand.
pub mod hef;
pub mod model_script;
pub mod unimplemented;
