//! Numeric kernels of the reference interpreter: pure f32 functions over `ndarray` tensors.
//!
//! Every spatial tensor is NHWC with the batch first. Kernels validate shapes and return
//! [`KernelError`] instead of panicking, so a malformed graph surfaces as an error naming the
//! operation. The hot kernels (convolution, depthwise convolution, dense) have `_into`
//! variants that write into a caller-owned output so the interpreter can reuse buffers.
//!
//! Threading: GEMM-based kernels and the row-parallel loops use the current rayon pool;
//! run the interpreter inside `rayon::ThreadPool::install` to choose the thread count
//! (a one-thread pool makes every kernel sequential).

pub mod activation;
pub mod color;
pub mod conv;
pub mod deconv;
pub mod dense;
pub mod depthwise;
pub mod elementwise;
pub mod error;
mod gemm;
pub mod layout;
pub mod nms;
pub mod norm;
pub mod pool;
pub mod postprocess_centernet;
pub mod postprocess_yolov5_seg;
pub mod reduce;
pub mod resize;
pub mod shape;
pub mod softmax;
pub mod vexp;
pub(crate) mod window;

pub use error::KernelError;
pub use window::Padding;

#[cfg(test)]
pub(crate) mod testutil;
