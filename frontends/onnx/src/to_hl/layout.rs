//! Axis bookkeeping between ONNX (NCHW) and `hl` (NHWC) tensors.
//!
//! Every converted tensor carries a permutation `perm`: the `hl` tensor is the ONNX tensor
//! transposed by `perm` (`hl` axis `i` is ONNX axis `perm[i]`). Rank-4 activations use
//! `[0, 2, 3, 1]` (NCHW → NHWC), other ranks the identity, as `net_input_format`'s defaults in
//! guide §8.1. Axes, shapes and constants are remapped through it.

use ndarray::{ArrayD, IxDyn};

/// The layout a tensor of `rank` takes in `hl`: NCHW → NHWC for rank 4, identity otherwise.
pub fn canonical(rank: usize) -> Vec<usize> {
    if rank == 4 {
        vec![0, 2, 3, 1]
    } else {
        (0..rank).collect()
    }
}

/// `out[i] = shape[perm[i]]`.
pub fn permute<T: Copy>(shape: &[T], perm: &[usize]) -> Vec<T> {
    perm.iter().map(|&p| shape[p]).collect()
}

/// The `hl` axis holding ONNX axis `onnx_axis`.
pub fn hl_axis(perm: &[usize], onnx_axis: usize) -> usize {
    perm.iter()
        .position(|&p| p == onnx_axis)
        .unwrap_or(onnx_axis)
}

/// Normalizes a possibly negative ONNX axis against `rank`.
pub fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

/// The transpose that takes a tensor in layout `from` to layout `to` (both relative to the
/// same ONNX tensor): result axis `i` is input axis `r[i]`.
pub fn relayout(from: &[usize], to: &[usize]) -> Vec<usize> {
    to.iter().map(|&a| hl_axis(from, a)).collect()
}

/// Whether transposing a tensor of `shape` by `perm` keeps its elements in the same memory
/// order (only size-1 axes move), so a reshape can do it.
pub fn is_reshape_only(shape: &[usize], perm: &[usize]) -> bool {
    let kept: Vec<usize> = perm.iter().copied().filter(|&a| shape[a] != 1).collect();
    kept.windows(2).all(|w| w[0] < w[1])
}

/// Parses an `--input-format` value (`NCHW`, `NHWC`, `NC`, `NWC`, `NCW`, ...) into the
/// layout permutation of an input of rank `rank`: `hl` wants `N, H, W, C` order (letters absent
/// from the format are skipped).
pub fn parse_format(format: &str, rank: usize) -> Result<Vec<usize>, String> {
    let letters: Vec<char> = format.to_ascii_uppercase().chars().collect();
    if letters.len() != rank {
        return Err(format!(
            "format '{format}' has {} letters but the input has rank {rank}",
            letters.len()
        ));
    }
    let mut seen = Vec::new();
    for &c in &letters {
        if !"NCHW".contains(c) || seen.contains(&c) {
            return Err(format!(
                "format '{format}' must use each of the letters N, C, H, W at most once"
            ));
        }
        seen.push(c);
    }
    let order = ['N', 'H', 'W', 'C'];
    Ok(order
        .iter()
        .filter_map(|c| letters.iter().position(|l| l == c))
        .collect())
}

/// The array transposed by `perm`, in standard (row-major) order.
pub fn transpose_array(a: &ArrayD<f32>, perm: &[usize]) -> ArrayD<f32> {
    a.view()
        .permuted_axes(IxDyn(perm))
        .as_standard_layout()
        .into_owned()
}

/// A constant operand of an elementwise op against data of rank `rank` in layout `perm`:
/// right-aligned to the data's rank (numpy broadcasting), then transposed like the data.
pub fn broadcast_constant(a: &ArrayD<f32>, rank: usize, perm: &[usize]) -> Option<ArrayD<f32>> {
    if a.ndim() > rank {
        return None;
    }
    let mut shape = vec![1; rank - a.ndim()];
    shape.extend_from_slice(a.shape());
    let full = a.to_shape(IxDyn(&shape)).ok()?.to_owned();
    Some(transpose_array(&full, perm))
}

/// For a tensor of ONNX shape `shape` held in layout `perm` and flattened from axis 1 on in
/// `hl` memory order: entry `j` is the ONNX flat (axis 1 on) index of `hl` element `j`.
pub fn flat_order(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    let hl_shape = permute(shape, perm);
    let n: usize = shape[1..].iter().product();
    let mut strides = vec![0usize; shape.len()];
    let mut s = 1;
    for a in (1..shape.len()).rev() {
        strides[a] = s;
        s *= shape[a];
    }
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        out.push((1..shape.len()).map(|i| idx[i] * strides[perm[i]]).sum());
        for i in (1..shape.len()).rev() {
            idx[i] += 1;
            if idx[i] < hl_shape[i] {
                break;
            }
            idx[i] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_map_to_nhwc() {
        assert_eq!(parse_format("NCHW", 4).unwrap(), vec![0, 2, 3, 1]);
        assert_eq!(parse_format("nhwc", 4).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(parse_format("NCW", 3).unwrap(), vec![0, 2, 1]);
        assert!(parse_format("NCHH", 4).is_err());
        assert!(parse_format("NC", 4).is_err());
    }

    #[test]
    fn flat_order_of_nhwc() {
        // ONNX [1, 2, 1, 3] (C=2, W=3): hl element (w, c) is ONNX element c*3 + w.
        assert_eq!(
            flat_order(&[1, 2, 1, 3], &[0, 2, 3, 1]),
            vec![0, 3, 1, 4, 2, 5]
        );
    }

    #[test]
    fn relayout_and_reshape_only() {
        assert_eq!(relayout(&[0, 2, 3, 1], &[0, 1, 2, 3]), vec![0, 3, 1, 2]);
        assert!(is_reshape_only(&[1, 5, 1, 1], &[0, 2, 3, 1]));
        assert!(!is_reshape_only(&[1, 5, 2, 1], &[0, 2, 3, 1]));
    }
}
