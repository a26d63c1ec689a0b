//! Fully connected layers and batched matrix products.

use super::error::{ensure, KernelError};
use super::gemm::matmul_into;
use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, IxDyn};

fn check_dense(x: &[usize], w: &[usize], bias: Option<&[f32]>) -> Result<[usize; 2], KernelError> {
    const OP: &str = "dense";
    ensure!(
        x[1] == w[0],
        OP,
        "input has {} features but weights {w:?} expect {}",
        x[1],
        w[0]
    );
    if let Some(b) = bias {
        ensure!(
            b.len() == w[1],
            OP,
            "bias has {} values for {} outputs",
            b.len(),
            w[1]
        );
    }
    Ok([x[0], w[1]])
}

/// `x [n, cin] · w [cin, cout] + bias`.
pub fn dense(
    x: ArrayView2<f32>,
    w: ArrayView2<f32>,
    bias: Option<&[f32]>,
) -> Result<Array2<f32>, KernelError> {
    let shape = check_dense(x.shape(), w.shape(), bias)?;
    let mut out = Array2::zeros(shape);
    dense_into(x, w, bias, out.view_mut())?;
    Ok(out)
}

/// [`dense`] writing into `out` `[n, cout]` (any layout).
pub fn dense_into(
    x: ArrayView2<f32>,
    w: ArrayView2<f32>,
    bias: Option<&[f32]>,
    mut out: ArrayViewMut2<f32>,
) -> Result<(), KernelError> {
    let shape = check_dense(x.shape(), w.shape(), bias)?;
    ensure!(
        out.shape() == shape,
        "dense",
        "output buffer has shape {:?}, expected {shape:?}",
        out.shape()
    );
    if let Some(b) = bias {
        out.rows_mut()
            .into_iter()
            .for_each(|mut row| row.iter_mut().zip(b).for_each(|(o, &b)| *o = b));
    }
    matmul_into(x, w, out, bias.is_some());
    Ok(())
}

/// numpy `matmul`: the last two axes are multiplied, leading axes broadcast; a rank-1
/// operand is treated as a row (left) or column (right) vector and that axis is dropped.
pub fn matmul(a: ArrayViewD<f32>, b: ArrayViewD<f32>) -> Result<ArrayD<f32>, KernelError> {
    const OP: &str = "matmul";
    ensure!(
        a.ndim() > 0 && b.ndim() > 0,
        OP,
        "operands must have at least one axis"
    );
    let a2 = if a.ndim() == 1 {
        a.clone().insert_axis(Axis(0))
    } else {
        a.clone()
    };
    let b2 = if b.ndim() == 1 {
        b.clone().insert_axis(Axis(1))
    } else {
        b.clone()
    };
    let (ar, br) = (a2.ndim(), b2.ndim());
    let (m, k) = (a2.shape()[ar - 2], a2.shape()[ar - 1]);
    let (k2, n) = (b2.shape()[br - 2], b2.shape()[br - 1]);
    ensure!(
        k == k2,
        OP,
        "inner dimensions differ: {:?} · {:?}",
        a.shape(),
        b.shape()
    );
    let batch =
        super::elementwise::broadcast_shape(OP, &a2.shape()[..ar - 2], &b2.shape()[..br - 2])?;
    let mut out_shape = batch.clone();
    out_shape.extend([m, n]);
    let mut out = ArrayD::zeros(IxDyn(&out_shape));
    let to_err = |e: ndarray::ShapeError| KernelError::new(OP, e.to_string());
    let count: usize = batch.iter().product();
    let mut out3 = out
        .view_mut()
        .into_shape_with_order(IxDyn(&[count, m, n]))
        .map_err(to_err)?;
    for (i, mut o) in out3.outer_iter_mut().enumerate() {
        let idx = unravel(i, &batch);
        let ai = sub_matrix(&a2, &idx)
            .into_dimensionality()
            .map_err(to_err)?;
        let bi = sub_matrix(&b2, &idx)
            .into_dimensionality()
            .map_err(to_err)?;
        matmul_into(
            ai,
            bi,
            o.view_mut().into_dimensionality().map_err(to_err)?,
            false,
        );
    }
    let mut shape = out.shape().to_vec();
    if b.ndim() == 1 {
        shape.remove(shape.len() - 1);
    }
    if a.ndim() == 1 {
        shape.remove(shape.len() - if b.ndim() == 1 { 1 } else { 2 });
    }
    out.into_shape_with_order(IxDyn(&shape)).map_err(to_err)
}

/// Row-major multi-index of flat position `i` in `dims`.
fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; dims.len()];
    for (slot, &d) in idx.iter_mut().zip(dims).rev() {
        *slot = i % d;
        i /= d;
    }
    idx
}

/// The matrix of `a` at broadcast batch index `idx` (axes of size 1 in `a` broadcast).
fn sub_matrix<'a>(a: &ArrayViewD<'a, f32>, idx: &[usize]) -> ArrayViewD<'a, f32> {
    let lead = a.ndim() - 2;
    let offset = idx.len() - lead;
    let mut v = a.clone();
    for ax in (0..lead).rev() {
        let i = if a.shape()[ax] == 1 {
            0
        } else {
            idx[offset + ax]
        };
        v = v.index_axis_move(Axis(ax), i);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testutil::{assert_close, rand_array};
    use ndarray::{array, Ix2};

    fn naive(a: &ArrayView2<f32>, b: &ArrayView2<f32>) -> Array2<f32> {
        let mut out = Array2::zeros((a.nrows(), b.ncols()));
        for i in 0..a.nrows() {
            for j in 0..b.ncols() {
                out[[i, j]] = (0..a.ncols()).map(|k| a[[i, k]] * b[[k, j]]).sum();
            }
        }
        out
    }

    #[test]
    fn dense_matches_hand_computed_and_naive() {
        let x = array![[1.0f32, 2.0], [3.0, 4.0]];
        let w = array![[1.0f32, 0.0, -1.0], [0.5, 1.0, 2.0]];
        let y = dense(x.view(), w.view(), Some(&[0.0, 1.0, 2.0])).expect("valid");
        assert_eq!(y, array![[2.0, 3.0, 5.0], [5.0, 5.0, 7.0]]);
        let x = rand_array(&[5, 37], 1)
            .into_dimensionality::<Ix2>()
            .expect("2d");
        let w = rand_array(&[37, 13], 2)
            .into_dimensionality::<Ix2>()
            .expect("2d");
        let mut out = Array2::from_elem((5, 13), f32::NAN);
        dense_into(x.view(), w.view(), None, out.view_mut()).expect("valid");
        assert_close(
            &out.into_dyn(),
            &naive(&x.view(), &w.view()).into_dyn(),
            1e-5,
        );
        let err = dense(x.view(), x.view(), None).expect_err("shape");
        assert_eq!(
            err.to_string(),
            "dense: input has 37 features but weights [5, 37] expect 5"
        );
    }

    #[test]
    fn matmul_broadcasts_batches_and_vectors() {
        let a = rand_array(&[2, 1, 3, 4], 3);
        let b = rand_array(&[3, 4, 5], 4);
        let y = matmul(a.view(), b.view()).expect("valid");
        assert_eq!(y.shape(), &[2, 3, 3, 5]);
        for i in 0..2 {
            for j in 0..3 {
                let ai = a.slice(ndarray::s![i, 0, .., ..]);
                let bj = b.slice(ndarray::s![j, .., ..]);
                let yij = y.slice(ndarray::s![i, j, .., ..]).to_owned().into_dyn();
                assert_close(&yij, &naive(&ai, &bj).into_dyn(), 1e-5);
            }
        }
        let v = array![1.0f32, 2.0, 3.0].into_dyn();
        let m = array![[1.0f32, 0.0], [0.0, 1.0], [1.0, 1.0]].into_dyn();
        assert_eq!(
            matmul(v.view(), m.view()).expect("vec-mat"),
            array![4.0f32, 5.0].into_dyn()
        );
        let err = matmul(m.view(), m.view()).expect_err("inner");
        assert_eq!(
            err.to_string(),
            "matmul: inner dimensions differ: [3, 2] · [3, 2]"
        );
    }
}
