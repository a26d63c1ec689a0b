//! Multiply, divide, max/min, slice and bilinear resize on codes against f64 references of
//! the dequantized computation.

use super::pointwise::{binary, Binary};
use super::shape::slice;
use super::spatial::{coordinate_mode, resize_bilinear};
use super::Requant;
use crate::kernels::resize::{resize, Interpolation, ResizeParams};
use ndarray::{Array4, ArrayD, IxDyn};

fn all_pairs() -> (ArrayD<i32>, ArrayD<i32>) {
    let a = ArrayD::from_shape_fn(IxDyn(&[256, 1]), |i| i[0] as i32);
    let b = ArrayD::from_shape_fn(IxDyn(&[1, 256]), |i| i[1] as i32);
    (a, b)
}

fn out(shift: u32, zp: i64) -> Requant {
    Requant {
        multiplier: 0,
        shift,
        zero_point: zp,
        lo: 0,
        hi: 255,
    }
}

/// Every pair of u8 codes: the result is the exactly rounded real result, clamped.
fn check(op: Binary, rq: &Requant, za: i64, zb: i64, exact: impl Fn(f64, f64) -> f64) {
    let (a, b) = all_pairs();
    let y = binary(a.view(), za, b.view(), zb, op, rq).unwrap();
    for ((i, j), &q) in (0..256)
        .flat_map(|i| (0..256).map(move |j| (i, j)))
        .zip(y.iter())
    {
        let e = exact((i - za) as f64, (j - zb) as f64) + rq.zero_point as f64;
        let e = e.clamp(rq.lo as f64, rq.hi as f64);
        assert!(
            (q as f64 - e).abs() <= 0.5 + 1e-6,
            "{op:?} a={i} b={j}: {q} vs {e}"
        );
    }
}

#[test]
fn mult_rescales_the_product() {
    let (sa, sb, sy) = (0.03, 0.011, 0.05);
    let shift = 40;
    let m = (sa * sb / sy * (1u64 << shift) as f64).round() as i64;
    check(Binary::Mult { m }, &out(shift, 20), 7, 130, |a, b| {
        a * sa * b * sb / sy
    });
}

#[test]
fn div_rounds_the_quotient_and_saturates_on_zero() {
    let (sa, sb, sy) = (0.02, 0.01, 0.1);
    let shift = 28;
    let m = (sa / (sb * sy) * (1u64 << shift) as f64).round() as i64;
    let (za, zb) = (100, 128);
    let rq = out(shift, 30);
    let (a, b) = all_pairs();
    let y = binary(a.view(), za, b.view(), zb, Binary::Div { m }, &rq).unwrap();
    for ((i, j), &q) in (0..256)
        .flat_map(|i| (0..256).map(move |j| (i, j)))
        .zip(y.iter())
    {
        let (x1, x2) = ((i - za) as f64 * sa, (j - zb) as f64 * sb);
        if j == zb {
            let want = match i.cmp(&za) {
                std::cmp::Ordering::Greater => 255,
                std::cmp::Ordering::Less => 0,
                std::cmp::Ordering::Equal => 30,
            };
            assert_eq!(q, want, "a={i} / 0");
            continue;
        }
        let e = (x1 / x2 / sy + 30.0).clamp(0.0, 255.0);
        assert!(
            (q as f64 - e).abs() <= 0.5 + 1e-6,
            "a={i} b={j}: {q} vs {e}"
        );
    }
}

#[test]
fn max_and_min_rescale_each_input() {
    let (sa, sb, sy) = (0.1, 0.04, 0.08);
    let shift = 30;
    let ma = (sa / sy * (1u64 << shift) as f64).round() as i64;
    let mb = (sb / sy * (1u64 << shift) as f64).round() as i64;
    let rq = out(shift, 90);
    check(Binary::Max { ma, mb }, &rq, 50, 10, |a, b| {
        (a * sa).max(b * sb) / sy
    });
    check(Binary::Min { ma, mb }, &rq, 50, 10, |a, b| {
        (a * sa).min(b * sb) / sy
    });
}

#[test]
fn slice_takes_strided_windows_of_non_batch_axes() {
    let x = ArrayD::from_shape_fn(IxDyn(&[2, 5, 4]), |i| {
        (i[0] * 100 + i[1] * 10 + i[2]) as i32
    });
    let y = slice(x.view(), &[1, 1], &[5, 3], &[2, 1]).unwrap();
    assert_eq!(y.shape(), &[2, 2, 2]);
    assert_eq!(
        y.iter().copied().collect::<Vec<_>>(),
        vec![11, 12, 31, 32, 111, 112, 131, 132]
    );
    let e = slice(x.view(), &[0, 0], &[6, 4], &[1, 1]).unwrap_err();
    assert!(
        e.message
            .contains("axis 1: slice [0:6:1] does not fit size 5"),
        "{}",
        e.message
    );
}

#[test]
fn bilinear_codes_match_the_float_kernel_within_half_a_code() {
    let x = Array4::from_shape_fn((2, 3, 5, 2), |(b, i, j, c)| {
        ((b * 37 + i * 71 + j * 13 + c * 101) % 256) as i32
    });
    let xf = x.mapv(|v| v as f32);
    for mode in [
        "half_pixel",
        "align_corners",
        "asymmetric",
        "pytorch_half_pixel",
    ] {
        let coord = coordinate_mode(mode).unwrap();
        let y = resize_bilinear(x.view(), [7, 9], coord, 15).unwrap();
        let p = ResizeParams {
            size: [7, 9],
            scales: None,
            coordinate_mode: coord,
            interpolation: Interpolation::Bilinear,
        };
        let f = resize(xf.view(), &p).unwrap();
        for (q, r) in y.iter().zip(f.iter()) {
            assert!((*q as f32 - r).abs() <= 0.5 + 1e-3, "{mode}: {q} vs {r}");
        }
        // The result keeps the input's type: within its code range, not all equal to the input.
        assert!(y.iter().all(|&q| (0..=255).contains(&q)));
    }
    // Coarse weights (2 bits) differ from fine ones: the fixed-point weights are really used.
    let hp = coordinate_mode("half_pixel").unwrap();
    let coarse = resize_bilinear(x.view(), [7, 9], hp, 2).unwrap();
    let fine = resize_bilinear(x.view(), [7, 9], hp, 15).unwrap();
    assert_ne!(coarse, fine);
}
