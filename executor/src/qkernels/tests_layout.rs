//! `q.transpose` and `q.pad` on codes against the float kernels on the same values: codes
//! move unchanged, so both must agree exactly (a constant pad writes its code).

use super::shape::{pad, transpose, QPadMode};
use crate::kernels::layout::transpose as ftranspose;
use crate::kernels::shape::{pad as fpad, PadMode};
use ndarray::{ArrayD, IxDyn};

fn codes(shape: &[usize]) -> ArrayD<i32> {
    let mut n = 0i32;
    ArrayD::from_shape_fn(IxDyn(shape), |_| {
        n += 1;
        (n * 37) % 256
    })
}

#[test]
fn transpose_matches_the_float_kernel_for_every_perm_of_rank_4() {
    let x = codes(&[2, 3, 4, 5]);
    let xf = x.mapv(|v| v as f32);
    let mut perms = Vec::new();
    for a in 0..4 {
        for b in (0..4).filter(|&b| b != a) {
            for c in (0..4).filter(|&c| c != a && c != b) {
                perms.push([a, b, c, 6 - a - b - c]);
            }
        }
    }
    assert_eq!(perms.len(), 24);
    for p in perms {
        let y = transpose(x.view(), &p).expect("valid perm");
        assert_eq!(
            y.mapv(|v| v as f32),
            ftranspose(xf.view(), &p).unwrap(),
            "{p:?}"
        );
    }
}

#[test]
fn transpose_rejects_a_non_permutation() {
    let e = transpose(codes(&[2, 3]).view(), &[0, 0]).unwrap_err();
    assert_eq!(e.op, "q.transpose");
    assert_eq!(
        e.message,
        "[0, 0] is not a permutation of the 2 axes of [2, 3]"
    );
}

#[test]
fn pad_matches_the_float_kernel_in_every_mode() {
    let x = codes(&[1, 4, 5, 3]);
    let xf = x.mapv(|v| v as f32);
    let pads = [(0, 0), (2, 1), (3, 0), (1, 2)];
    for (q, f) in [
        (QPadMode::Constant(128), PadMode::Constant(128.0)),
        (QPadMode::Reflect, PadMode::Reflect),
        (QPadMode::Edge, PadMode::Edge),
        (QPadMode::Wrap, PadMode::Wrap),
    ] {
        let y = pad(x.view(), &pads, q).expect("valid pads");
        assert_eq!(y.shape(), &[1, 7, 8, 6]);
        assert_eq!(
            y.mapv(|v| v as f32),
            fpad(xf.view(), &pads, f).unwrap(),
            "{q:?}"
        );
    }
}

#[test]
fn reflect_pad_wider_than_the_axis_is_an_error() {
    let e = pad(codes(&[1, 2]).view(), &[(0, 0), (2, 0)], QPadMode::Reflect).unwrap_err();
    assert_eq!(
        e.message,
        "reflect pads (2, 0) on axis 1 must be smaller than its size 2"
    );
}
