//! Errors of the quantizer, each naming the layer, input or setting at fault.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum QuantError {
    #[error("calibration: {0}")]
    Calibration(String),
    #[error(transparent)]
    Interp(#[from] hailo_executor::ExecError),
    #[error("{0}")]
    Convert(String),
}

pub type Result<T, E = QuantError> = std::result::Result<T, E>;
