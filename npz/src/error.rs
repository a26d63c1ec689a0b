//! Error types: every error names the file, and for archives the member, it concerns.

use std::path::PathBuf;
use thiserror::Error;

/// A problem with the bytes of one `.npy` document, independent of where it came from.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("not a .npy file: the first 6 bytes are not \\x93NUMPY")]
    BadMagic,
    #[error("unsupported .npy format version {0}.{1} (supported: 1.0, 2.0, 3.0)")]
    UnsupportedVersion(u8, u8),
    #[error(
        "truncated: {what} needs {needed} bytes at offset {offset}, but only {available} remain"
    )]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("malformed header at byte offset {offset}: {message}")]
    BadHeader { offset: usize, message: String },
    #[error("unsupported dtype '{0}' (supported: bool, int8..int64, uint8..uint64, float16, float32, float64)")]
    UnsupportedDtype(String),
    #[error("shape {shape:?} has too many elements to address")]
    ShapeOverflow { shape: Vec<usize> },
    #[error("data section has {actual} bytes but shape {shape:?} of {dtype} needs {expected}")]
    DataSize {
        shape: Vec<usize>,
        dtype: &'static str,
        expected: usize,
        actual: usize,
    },
}

impl From<hailo_guard::files::FileError> for NpyError {
    fn from(e: hailo_guard::files::FileError) -> Self {
        match e {
            hailo_guard::files::FileError::Io { path, source } => NpyError::Io { path, source },
            e => NpyError::NotReadable(e),
        }
    }
}

/// An error while reading or writing a `.npy` or `.npz` file.
#[derive(Debug, Error)]
pub enum NpyError {
    /// The path names something other than a regular file (a FIFO would block forever).
    #[error("{0}")]
    NotReadable(hailo_guard::files::FileError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Format { path: PathBuf, source: FormatError },
    #[error("{}: member '{member}': {source}", path.display())]
    Member {
        path: PathBuf,
        member: String,
        source: FormatError,
    },
    #[error("{}: invalid or unsupported zip archive: {message}", path.display())]
    Zip { path: PathBuf, message: String },
    #[error("{}: member '{member}' is not a .npy file (expected a name ending in .npy)", path.display())]
    NotNpyMember { path: PathBuf, member: String },
    #[error("{}: array name '{name}' is used twice; names must be unique", path.display())]
    DuplicateName { path: PathBuf, name: String },
    #[error("{}: array name must not be empty", path.display())]
    EmptyName { path: PathBuf },
}
