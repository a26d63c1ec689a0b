//! The transformer kernels (matmul, softmax, layer norm, reduce) against f64 references of
//! the dequantized computation: every code within one LSB of the exactly rounded result.

use super::attention::{
    isqrt, layer_norm, log2_q16, log_softmax, matmul, reduce, softmax, ReduceKind,
};
use super::Requant;
use ndarray::{ArrayD, Axis, IxDyn};

/// Seeded codes in `[lo, hi]` (xorshift).
fn codes(shape: &[usize], seed: u64, lo: i32, hi: i32) -> ArrayD<i32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        lo + (s % (hi - lo + 1) as u64) as i32
    })
}

/// The rescale of `ratio` with a 31-bit mantissa, output zero point `zp`, u8 bounds.
fn rq(ratio: f64, zp: i64) -> Requant {
    let shift = (30 - ratio.log2().floor() as i64) as u32;
    Requant {
        multiplier: (ratio * (1u64 << shift) as f64).round() as i64,
        shift,
        zero_point: zp,
        lo: 0,
        hi: 255,
    }
}

/// |code − (exact real / step + zp)| ≤ one LSB after clamping to [0, 255].
fn close(code: i32, exact: f64, r: &Requant) {
    let e = (exact + r.zero_point as f64).clamp(r.lo as f64, r.hi as f64);
    assert!((code as f64 - e).abs() <= 1.0, "code {code} vs exact {e}");
}

#[test]
fn matmul_is_the_zero_point_corrected_product_with_broadcast_batches() {
    let (za, zb, sa, sb, sy) = (100i64, 37i64, 0.02, 0.03, 0.05);
    let a = codes(&[2, 3, 4, 5], 1, 0, 255);
    let b = codes(&[3, 5, 6], 2, 0, 255);
    let r = rq(sa * sb / sy, 128);
    let y = matmul(a.view(), za, b.view(), zb, false, &r).unwrap();
    assert_eq!(y.shape(), &[2, 3, 4, 6]);
    for ((n, h, i, j), &c) in y
        .view()
        .into_dimensionality::<ndarray::Ix4>()
        .unwrap()
        .indexed_iter()
    {
        let exact: f64 = (0..5)
            .map(|k| {
                (a[[n, h, i, k]] as i64 - za) as f64 * sa * (b[[h, k, j]] as i64 - zb) as f64 * sb
            })
            .sum();
        close(c, exact / sy, &r);
    }
    // transpose_b reads b's last two axes swapped.
    let bt = b.view().permuted_axes(IxDyn(&[0, 2, 1])).to_owned();
    let yt = matmul(a.view(), za, bt.view(), zb, true, &r).unwrap();
    assert_eq!(y, yt);
    let e = matmul(a.view(), za, a.view(), zb, false, &r).unwrap_err();
    assert!(e.to_string().contains("inner dimensions differ"), "{e}");
}

#[test]
fn softmax_rows_match_the_float_softmax_and_sum_to_one() {
    let s = 0.05;
    let table: Vec<i64> = (0..256)
        .map(|d| (32768.0 * (-s * d as f64).exp()).round() as i64)
        .collect();
    let sy = 1.0 / 255.0;
    let r = rq(1.0 / sy, 0);
    let x = codes(&[3, 5, 17], 3, 0, 255);
    let y = softmax(x.view(), &table, &r).unwrap();
    for (row, yrow) in x.lanes(Axis(2)).into_iter().zip(y.lanes(Axis(2))) {
        let e: Vec<f64> = row.iter().map(|&v| (s * v as f64).exp()).collect();
        let sum: f64 = e.iter().sum();
        for (&c, ei) in yrow.iter().zip(&e) {
            close(c, ei / sum / sy, &r);
        }
        let total: f64 = yrow.iter().map(|&c| c as f64 * sy).sum();
        assert!((total - 1.0).abs() < 17.0 * sy, "row sums to {total}");
    }
}

#[test]
fn isqrt_is_the_floor_of_the_square_root() {
    for v in (0u128..5000).chain([
        u64::MAX as u128,
        1 << 100,
        (1 << 100) - 1,
        12345678901234567890,
    ]) {
        let r = isqrt(v);
        assert!(r * r <= v && (r + 1) * (r + 1) > v, "isqrt({v}) = {r}");
    }
}

/// Layer norm over the last axis and instance norm over H, W against the f64 formula
/// y = γ·(x − μ)/sqrt(σ² + ε) + β, with γ·sqrt(n) as i16 codes and β as i32 codes.
#[test]
fn layer_and_instance_norm_match_the_float_normalization() {
    let (s, zp) = (0.04, 90i64);
    for (shape, axes) in [(vec![2, 3, 8], vec![2]), (vec![2, 3, 4, 8], vec![1, 2])] {
        let x = codes(&shape, 4, 0, 255);
        let c = *shape.last().unwrap();
        let n: usize = axes.iter().map(|&a| shape[a]).product();
        let eps = 1e-3;
        let e = ((n as f64).powi(3) * eps / (s * s)).round() as i64;
        let gamma_f: Vec<f64> = (0..c).map(|i| 0.5 + 0.25 * i as f64).collect();
        let beta_f: Vec<f64> = (0..c).map(|i| 0.1 * i as f64 - 0.3).collect();
        let sg: Vec<f64> = gamma_f
            .iter()
            .map(|g| g * (n as f64).sqrt() / 32767.0)
            .collect();
        let g: Vec<i64> = vec![32767; c];
        let b: Vec<i64> = beta_f
            .iter()
            .zip(&sg)
            .map(|(b, s)| (b * 32768.0 / s).round() as i64)
            .collect();
        let sy = 8.0 / 255.0;
        let out: Vec<Requant> = sg.iter().map(|s| rq(s / 32768.0 / sy, 128)).collect();
        let y = layer_norm(x.view(), zp, &axes, e, true, &g, &b, &out).unwrap();
        assert_eq!(y.shape(), x.shape());
        let xf = x.mapv(|v| (v as i64 - zp) as f64 * s);
        // Statistics per group: move the reduced axes last.
        let kept: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a)).collect();
        let perm: Vec<usize> = kept.iter().chain(&axes).copied().collect();
        let xp = xf
            .view()
            .permuted_axes(IxDyn(&perm))
            .as_standard_layout()
            .to_owned();
        let yp = y
            .view()
            .permuted_axes(IxDyn(&perm))
            .as_standard_layout()
            .to_owned();
        let chan = |i: usize| -> usize {
            // The channel (original last axis) of flat position i of the permuted layout.
            let shp: Vec<usize> = perm.iter().map(|&a| shape[a]).collect();
            let mut idx = i;
            let mut ch = 0;
            for (k, &d) in shp.iter().enumerate().rev() {
                if perm[k] == shape.len() - 1 {
                    ch = idx % d;
                }
                idx /= d;
            }
            ch
        };
        let (xs, ys) = (xp.as_slice().unwrap(), yp.as_slice().unwrap());
        for (gi, (row, yrow)) in xs.chunks(n).zip(ys.chunks(n)).enumerate() {
            let mu = row.iter().sum::<f64>() / n as f64;
            let var = row.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / n as f64;
            for (i, (&v, &q)) in row.iter().zip(yrow).enumerate() {
                let ch = chan(gi * n + i);
                let exact = gamma_f[ch] * (v - mu) / (var + eps).sqrt() + beta_f[ch];
                close(q, exact / sy, &out[ch]);
            }
        }
    }
}

#[test]
fn reductions_match_the_float_sum_mean_max_min_sum_square_l2() {
    let (s, zp, sy) = (0.02, 60i64, 0.05);
    let x = codes(&[2, 6, 5], 5, 0, 255);
    for (kind, keep) in [
        (ReduceKind::Sum, false),
        (ReduceKind::Mean, true),
        (ReduceKind::Max, false),
        (ReduceKind::Min, true),
    ] {
        let ratio = if kind == ReduceKind::Sum {
            s / sy / 8.0
        } else {
            s / sy
        };
        let r = rq(ratio, 100);
        let y = reduce(x.view(), zp, &[1], keep, kind, &r).unwrap();
        assert_eq!(y.shape(), if keep { &[2, 1, 5][..] } else { &[2, 5][..] });
        for b in 0..2 {
            for c in 0..5 {
                let v: Vec<f64> = (0..6)
                    .map(|h| (x[[b, h, c]] as i64 - zp) as f64 * s)
                    .collect();
                let exact = match kind {
                    ReduceKind::Sum => v.iter().sum::<f64>() / 8.0,
                    ReduceKind::Mean => v.iter().sum::<f64>() / 6.0,
                    ReduceKind::Max => v.iter().cloned().fold(f64::MIN, f64::max),
                    ReduceKind::Min => v.iter().cloned().fold(f64::MAX, f64::min),
                    ReduceKind::SumSquare => v.iter().map(|x| x * x).sum::<f64>() / 2.0,
                    ReduceKind::L2 => v.iter().map(|x| x * x).sum::<f64>().sqrt(),
                };
                let q = y.as_slice().unwrap()[b * 5 + c];
                close(q, exact / sy, &r);
            }
        }
    }
}

#[test]
fn log2_q16_is_within_its_mantissa_table_step() {
    for v in [1u128, 2, 3, 1000, 32768, 32769, 65535, 1 << 40, 123_456_789] {
        let exact = (v as f64).log2() * 65536.0;
        // 10 truncated mantissa bits: at most log2(1 + 2^-10) ≈ 92 q16 units below.
        let got = log2_q16(v) as f64;
        assert!(
            got <= exact + 0.5 && exact - got <= 93.0,
            "log2({v}): {got} vs {exact}"
        );
    }
}

#[test]
fn log_softmax_rows_match_the_float_log_softmax() {
    let s = 0.05;
    let table: Vec<i64> = (0..256)
        .map(|d| (32768.0 * (-s * d as f64).exp()).round() as i64)
        .collect();
    let sy = 12.0 / 255.0;
    // ma/2^shift = S_x/S_y, mb/2^shift = ln2/(2^16·S_y), one shift.
    let shift = 30u32;
    let ma = (s / sy * (1u64 << shift) as f64).round() as i64;
    let mb = (std::f64::consts::LN_2 / 65536.0 / sy * (1u64 << shift) as f64).round() as i64;
    let r = Requant {
        multiplier: 0,
        shift,
        zero_point: 255,
        lo: 0,
        hi: 255,
    };
    let x = codes(&[4, 19], 6, 0, 255);
    let y = log_softmax(x.view(), &table, ma, mb, &r).unwrap();
    for (row, yrow) in x.lanes(Axis(1)).into_iter().zip(y.lanes(Axis(1))) {
        let mx = *row.iter().max().unwrap() as f64;
        let lse = row
            .iter()
            .map(|&v| (s * (v as f64 - mx)).exp())
            .sum::<f64>()
            .ln();
        for (&v, &c) in row.iter().zip(yrow) {
            close(c, (s * (v as f64 - mx) - lse) / sy, &r);
        }
    }
}
