//! Reference interpreter for hl graphs: evaluates models in f32 on the CPU, NHWC, batched.
//!
//! [`kernels`] holds the IR-independent numeric kernels the interpreter dispatches to.

pub mod kernels;
