//! The error type shared by all kernels.

use thiserror::Error;

/// A kernel was called with inconsistent shapes or parameters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{op}: {message}")]
pub struct KernelError {
    /// The kernel that rejected its arguments, e.g. `"conv2d"`.
    pub op: &'static str,
    /// What is wrong, with the offending shapes or values.
    pub message: String,
}

impl KernelError {
    pub(crate) fn new(op: &'static str, message: impl Into<String>) -> Self {
        KernelError {
            op,
            message: message.into(),
        }
    }
}

/// Returns `Err(KernelError)` from the enclosing function when `cond` is false.
macro_rules! ensure {
    ($cond:expr, $op:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::kernels::error::KernelError::new($op, format!($($fmt)+)));
        }
    };
}
pub(crate) use ensure;
