//! The single entry point to the GEMM crate.
//!
//! Choice of crate, measured on this project's 2-core machine (f32, row-major, im2col
//! shapes of resnet18 layers): `gemm` 0.18 reached 50/68/85/47 GFLOP/s on
//! M×K×N = 3136×576×64, 784×1152×128, 196×2304×256, 49×4608×512 versus 48/65/76/45 for
//! `matrixmultiply` 0.3, and 25 versus 5.6 GFLOP/s on the batch-1 dense shape 1×512×1000.
//! `gemm` also parallelises internally over the current rayon pool (76–100 GFLOP/s on two
//! threads), so it is used for every matrix product.

use ndarray::{ArrayView2, ArrayViewMut2};

/// `c = a · b` (or `c += a · b` when `accumulate`), for views of any strides.
///
/// Shapes must already agree: `a` is M×K, `b` is K×N and `c` is M×N (checked by callers;
/// a mismatch here is a bug in this crate).
pub(crate) fn matmul_into(
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    c: ArrayViewMut2<f32>,
    accumulate: bool,
) {
    matmul_into_with(a, b, c, accumulate, rayon::current_num_threads() > 1)
}

/// [`matmul_into`] with the threading chosen by the caller: `parallel` lets the GEMM use
/// the current rayon pool, otherwise it runs on the calling thread (for callers that
/// already split the work across the pool).
pub(crate) fn matmul_into_with(
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    mut c: ArrayViewMut2<f32>,
    accumulate: bool,
    parallel: bool,
) {
    let (m, k) = a.dim();
    let n = b.dim().1;
    assert!(
        b.dim().0 == k && c.dim() == (m, n),
        "matmul_into: inconsistent shapes {:?} {:?} {:?}",
        a.dim(),
        b.dim(),
        c.dim()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    let parallelism = if parallel {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: the three views are valid for their shapes and strides, `c` is borrowed
    // mutably so it does not alias `a` or `b`, and the dimensions passed match the views.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
