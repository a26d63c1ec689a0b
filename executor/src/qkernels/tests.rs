//! Integer kernels against naive f64 references of the dequantized computation: every code
//! must be within one LSB of the exactly rounded real result.

use super::conv::{conv2d, QConvGeometry};
use super::pointwise::{binary, lut, Binary};
use super::pool::{avg_pool, global_avg_pool, max_pool, QPoolGeometry};
use super::*;
use ndarray::{Array4, ArrayD, IxDyn};

/// A deterministic pseudo-random code generator (xorshift).
fn codes(len: usize, seed: u64, lo: i32, hi: i32) -> Vec<i32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            lo + (s % (hi - lo + 1) as u64) as i32
        })
        .collect()
}

/// multiplier/shift for `ratio` (31-bit mantissa), as the dialect's decomposition does.
fn rq(ratio: f64, zp: i64, lo: i64, hi: i64) -> Requant {
    let e = ratio.log2().floor() as i64;
    let shift = (30 - e) as u32;
    let multiplier = (ratio * (1u64 << shift) as f64).round() as i64;
    Requant {
        multiplier,
        shift,
        zero_point: zp,
        lo,
        hi,
    }
}

#[test]
fn rescale_rounds_half_up() {
    assert_eq!(rescale(3, 1, 1), 2); // 1.5 -> 2
    assert_eq!(rescale(-3, 1, 1), -1); // -1.5 -> -1
    assert_eq!(rescale(5, 3, 2), 4); // 3.75 -> 4
    let r = Requant {
        multiplier: 1,
        shift: 0,
        zero_point: 10,
        lo: 0,
        hi: 255,
    };
    assert_eq!(requantize(300, &r), 255);
    assert_eq!(requantize(-300, &r), 0);
}

#[test]
fn input_quantization_is_bankers_and_clips_to_limvals() {
    let s = 0.1f32;
    let x = ArrayD::from_shape_vec(IxDyn(&[5]), vec![2.5 * s, 3.5 * s, -1.0, 100.0, 0.0]).unwrap();
    let q = quantize_input(x.view(), s, 0.0, (0.0, 10.0), (0, 255));
    assert_eq!(q.as_slice().unwrap(), &[2, 4, 0, 100, 0]);
    let d = dequantize(q.view(), s, 0);
    assert!((d[[3]] - 10.0).abs() < 1e-5);
}

#[test]
fn grouped_conv_matches_f64_reference_within_one_lsb() {
    let (n, h, w, cin, cout, groups) = (2, 7, 6, 4, 6, 2);
    let (kh, kw) = (3, 2);
    let x = Array4::from_shape_vec((n, h, w, cin), codes(n * h * w * cin, 1, 0, 255)).unwrap();
    let k = Array4::from_shape_vec(
        (kh, kw, cin / groups, cout),
        codes(kh * kw * 2 * cout, 2, -128, 127),
    )
    .unwrap();
    let bias: Vec<i64> = codes(cout, 3, -5000, 5000)
        .iter()
        .map(|&b| b as i64)
        .collect();
    let (sx, zx, sy, zy) = (0.02, 17i64, 0.5, 40i64);
    let sw: Vec<f64> = (0..cout).map(|c| 0.001 * (c + 1) as f64).collect();
    let r: Vec<Requant> = sw.iter().map(|&s| rq(sx * s / sy, zy, 0, 255)).collect();
    let g = QConvGeometry {
        strides: [2, 1],
        dilations: [1, 2],
        pads: [1, 0, 1, 1],
        groups,
    };
    let y = conv2d(x.view(), zx, k.view(), Some(&bias), &g, &r).unwrap();
    assert_eq!(y.dim(), (2, 4, 5, 6));
    let cin_g = cin / groups;
    let mut worst = 0.0f64;
    let mut nonzero = 0;
    for ((b, oy, ox, oc), &q) in y.indexed_iter() {
        let grp = oc / (cout / groups);
        let mut acc = bias[oc] as f64 * sx * sw[oc];
        for i in 0..kh {
            for j in 0..kw {
                let iy = (oy * 2 + i) as isize - 1;
                let ix = (ox + 2 * j) as isize;
                if iy < 0 || iy >= h as isize || ix >= w as isize {
                    continue;
                }
                for c in 0..cin_g {
                    let xv =
                        (x[[b, iy as usize, ix as usize, grp * cin_g + c]] as i64 - zx) as f64 * sx;
                    acc += xv * k[[i, j, c, oc]] as f64 * sw[oc];
                }
            }
        }
        let exact = (acc / sy + zy as f64).clamp(0.0, 255.0);
        worst = worst.max((q as f64 - exact).abs());
        nonzero += usize::from(q != 0 && q != 255);
    }
    assert!(worst <= 0.5 + 1e-6, "worst error {worst} LSB");
    assert!(
        nonzero > 100,
        "the test must exercise the unsaturated range"
    );
}

#[test]
fn pools_match_reference() {
    let x = Array4::from_shape_vec((1, 4, 4, 2), codes(32, 4, 0, 255)).unwrap();
    let g = QPoolGeometry {
        kernel: [2, 2],
        strides: [2, 2],
        pads: [0; 4],
        count_include_pad: false,
        ceil_mode: false,
    };
    let m = max_pool(x.view(), &g).unwrap();
    assert_eq!(
        m[[0, 1, 1, 0]],
        *[
            x[[0, 2, 2, 0]],
            x[[0, 2, 3, 0]],
            x[[0, 3, 2, 0]],
            x[[0, 3, 3, 0]]
        ]
        .iter()
        .max()
        .unwrap()
    );
    // Average with scale change 1/3 -> output in LSB of 1/3 of the input scale.
    let r = rq(3.0, 5, 0, 65535);
    let a = avg_pool(x.view(), 10, &g, &r).unwrap();
    let s: i64 = [
        x[[0, 0, 0, 1]],
        x[[0, 0, 1, 1]],
        x[[0, 1, 0, 1]],
        x[[0, 1, 1, 1]],
    ]
    .iter()
    .map(|&v| v as i64 - 10)
    .sum();
    let exact = s as f64 * 3.0 / 4.0 + 5.0;
    assert!((a[[0, 0, 0, 1]] as f64 - exact).abs() <= 0.5 + 1e-9);
    let gap = global_avg_pool(x.view(), 10, &r);
    let s: i64 = (0..4)
        .flat_map(|i| (0..4).map(move |j| (i, j)))
        .map(|(i, j)| x[[0, i, j, 0]] as i64 - 10)
        .sum();
    assert!((gap[[0, 0, 0, 0]] as f64 - (s as f64 * 3.0 / 16.0 + 5.0)).abs() <= 0.5 + 1e-9);
}

#[test]
fn add_rescales_both_inputs_and_broadcasts() {
    let a = ArrayD::from_shape_vec(IxDyn(&[1, 2, 3]), codes(6, 5, 0, 255)).unwrap();
    let b = ArrayD::from_shape_vec(IxDyn(&[3]), vec![0, 128, 255]).unwrap();
    let (sa, sb, sy) = (0.1, 0.05, 0.2);
    let shift = 30;
    let ma = (sa / sy * (1u64 << shift) as f64).round() as i64;
    let mb = (sb / sy * (1u64 << shift) as f64).round() as i64;
    let out = Requant {
        multiplier: 0,
        shift,
        zero_point: 60,
        lo: 0,
        hi: 255,
    };
    let y = binary(a.view(), 3, b.view(), 128, Binary::Add { ma, mb }, &out).unwrap();
    for ((idx, &q), &av) in y.indexed_iter().zip(a.iter()) {
        let bv = b[[idx[2]]];
        let exact = ((av - 3) as f64 * sa + (bv - 128) as f64 * sb) / sy + 60.0;
        assert!(
            (q as f64 - exact.clamp(0.0, 255.0)).abs() <= 0.5 + 1e-9,
            "{idx:?}"
        );
    }
    let d = binary(a.view(), 3, b.view(), 128, Binary::Sub { ma, mb }, &out).unwrap();
    assert_ne!(d, y);
}

#[test]
fn lut_maps_codes_and_rejects_out_of_table() {
    let table: Vec<i32> = (0..256).map(|i| 255 - i).collect();
    let x = ArrayD::from_shape_vec(IxDyn(&[3]), vec![0, 10, 255]).unwrap();
    assert_eq!(
        lut(x.view(), 0, &table).unwrap().as_slice().unwrap(),
        &[255, 245, 0]
    );
    let bad = ArrayD::from_shape_vec(IxDyn(&[1]), vec![256]).unwrap();
    assert!(lut(bad.view(), 0, &table)
        .unwrap_err()
        .message
        .contains("outside the table of 256"));
}

#[test]
fn nearest_resize_copies_codes() {
    use super::spatial::{coordinate_mode, nearest_mode, resize_nearest};
    let x = Array4::from_shape_vec((1, 2, 2, 1), vec![3, 250, 65535, 0]).unwrap();
    let hp = coordinate_mode("half_pixel").unwrap();
    let rf = nearest_mode("round_prefer_floor").unwrap();
    let y = resize_nearest(x.view(), [4, 4], hp, rf).unwrap();
    let expect = [
        3, 3, 250, 250, 3, 3, 250, 250, 65535, 65535, 0, 0, 65535, 65535, 0, 0,
    ];
    assert_eq!(y.iter().copied().collect::<Vec<_>>(), expect);
    assert!(coordinate_mode("bogus").is_none() && nearest_mode("bogus").is_none());
}
