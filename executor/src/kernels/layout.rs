//! Data rearrangements: depth_to_space, space_to_depth (NHWC) and general transpose.

use super::error::{ensure, KernelError};
use ndarray::{Array4, ArrayD, ArrayView4, ArrayViewD, IxDyn};

/// Channel order of depth_to_space (ONNX `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthToSpaceMode {
    /// Depth-column-row: input channel `(by·b + bx)·c_out + c` (ONNX default, TF).
    Dcr,
    /// Column-row-depth: input channel `c·b² + by·b + bx` (PyTorch `pixel_shuffle`).
    Crd,
}

/// `[n, h, w, c·b²]` → `[n, h·b, w·b, c]`.
pub fn depth_to_space(
    x: ArrayView4<f32>,
    block: usize,
    mode: DepthToSpaceMode,
) -> Result<Array4<f32>, KernelError> {
    let (n, h, w, c) = x.dim();
    ensure!(
        block > 0 && c % (block * block) == 0,
        "depth_to_space",
        "{c} channels are not divisible by block² = {}",
        block * block
    );
    let co = c / (block * block);
    Ok(Array4::from_shape_fn(
        (n, h * block, w * block, co),
        |(b, y, xx, ch)| {
            let (by, bx) = (y % block, xx % block);
            let src = match mode {
                DepthToSpaceMode::Dcr => (by * block + bx) * co + ch,
                DepthToSpaceMode::Crd => ch * block * block + by * block + bx,
            };
            x[[b, y / block, xx / block, src]]
        },
    ))
}

/// `[n, h, w, c]` → `[n, h/b, w/b, c·b²]`, output channel `(by·b + bx)·c + ch` (ONNX, TF).
pub fn space_to_depth(x: ArrayView4<f32>, block: usize) -> Result<Array4<f32>, KernelError> {
    let (n, h, w, c) = x.dim();
    ensure!(
        block > 0 && h % block == 0 && w % block == 0,
        "space_to_depth",
        "spatial size {h}x{w} is not divisible by block {block}"
    );
    Ok(Array4::from_shape_fn(
        (n, h / block, w / block, c * block * block),
        |(b, y, xx, oc)| {
            let (tap, ch) = (oc / c, oc % c);
            x[[b, y * block + tap / block, xx * block + tap % block, ch]]
        },
    ))
}

/// numpy `transpose(x, perm)`, returned in standard layout (float values or integer codes).
pub fn transpose<A: Clone>(x: ArrayViewD<A>, perm: &[usize]) -> Result<ArrayD<A>, KernelError> {
    let mut seen = vec![false; x.ndim()];
    let valid = perm.len() == x.ndim()
        && perm
            .iter()
            .all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
    ensure!(
        valid,
        "transpose",
        "{perm:?} is not a permutation of the {} axes of {:?}",
        x.ndim(),
        x.shape()
    );
    Ok(x.permuted_axes(IxDyn(perm))
        .as_standard_layout()
        .into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    #[test]
    fn depth_to_space_modes_match_onnx_definitions() {
        // 1x1x1x8 with block 2: c_out = 2.
        let x = Array4::from_shape_vec((1, 1, 1, 8), (0..8).map(|v| v as f32).collect())
            .expect("shape");
        let dcr = depth_to_space(x.view(), 2, DepthToSpaceMode::Dcr).expect("valid");
        // DCR: pixel (by, bx) takes channels (by*2+bx)*2 + c.
        assert_eq!(
            dcr.into_raw_vec_and_offset().0,
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
        );
        let crd = depth_to_space(x.view(), 2, DepthToSpaceMode::Crd).expect("valid");
        // CRD: pixel (by, bx), channel c takes c*4 + by*2 + bx.
        assert_eq!(
            crd.into_raw_vec_and_offset().0,
            vec![0.0, 4.0, 1.0, 5.0, 2.0, 6.0, 3.0, 7.0]
        );
        assert!(depth_to_space(x.view(), 3, DepthToSpaceMode::Dcr).is_err());
    }

    #[test]
    fn space_to_depth_inverts_dcr() {
        let x = crate::kernels::testutil::rand_array(&[2, 4, 6, 3], 5)
            .into_dimensionality()
            .expect("4d");
        let s = space_to_depth(x.view(), 2).expect("valid");
        assert_eq!(s.shape(), &[2, 2, 3, 12]);
        assert_eq!(
            depth_to_space(s.view(), 2, DepthToSpaceMode::Dcr).expect("valid"),
            x
        );
        let err = space_to_depth(x.view(), 4).expect_err("indivisible");
        assert_eq!(
            err.to_string(),
            "space_to_depth: spatial size 4x6 is not divisible by block 4"
        );
    }

    #[test]
    fn transpose_permutes_and_validates() {
        let x = ndarray::Array::from_shape_vec(IxDyn(&[2, 3]), (0..6).map(|v| v as f32).collect())
            .expect("shape");
        let t = transpose(x.view(), &[1, 0]).expect("valid");
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.as_slice(), Some(&[0.0, 3.0, 1.0, 4.0, 2.0, 5.0][..]));
        assert!(transpose(x.view(), &[0, 0]).is_err());
    }
}
