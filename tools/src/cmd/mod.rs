//! One module per `hailo` subcommand.
pub mod unimplemented;
