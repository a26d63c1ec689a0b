//! One module per `hailo` subcommand.
pub mod analyze_noise;
pub mod compiler;
pub mod har;
pub mod hef;
pub mod infer;
pub mod model_script;
pub mod optimize;
pub mod parser;
pub mod unimplemented;
