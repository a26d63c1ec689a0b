//! Reading and writing NumPy `.npy` arrays and `.npz` archives.
//!
//! The interpreter, the CLI and the test suites exchange tensors with Python tooling
//! (reference outputs, calibration sets, user inputs) through these two formats, so this
//! crate implements them without any Python dependency:
//!
//! * `.npy` format versions 1.0, 2.0 and 3.0, little- and big-endian data, C and Fortran
//!   order, dtypes `bool`, `i8`..`i64`, `u8`..`u64`, `f16`, `f32`, `f64`;
//! * `.npz` zip archives with stored or deflated members.
//!
//! Arrays are always returned in standard (C) layout. Writers emit little-endian, C-order,
//! version 1.0 headers (2.0 when the header does not fit), produce byte-identical files for
//! identical inputs, and replace the destination atomically.

mod array;
pub mod atomic;
mod dtype;
mod error;
mod header;
mod npy;
mod npz;

pub use array::NpyArray;
pub use dtype::DType;
pub use error::{FormatError, NpyError};
pub use npy::{decode_npy, encode_npy, read_npy, write_npy};
pub use npz::{read_npz, write_npz, write_npz_compressed};
