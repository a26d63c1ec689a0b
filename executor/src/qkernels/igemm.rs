//! The integer GEMM under the convolutions: C[m, n] = Σ_k A[m, k]·B[k, n] over integer codes,
//! exact. B (the weights) is packed once per plan ([`PackedB`]); A (patches) is built per
//! block of output pixels by the caller.
//!
//! Two fast paths accumulate in `i32`, which the caller allows only when every partial sum
//! is bounded below 2^31; then the result does not depend on the order of summation and
//! every tile gives the same bits:
//! - `u8` × `i8` ([`gemm_u8i8`], 8-bit activations and weights): AVX-512 VNNI `vpdpbusd`
//!   multiplies 4 byte pairs per 32-bit lane, 64 products per instruction;
//! - `i16` × `i16` ([`gemm_i16`]): AVX-512 VNNI `vpdpwssd` or AVX2 `vpmaddwd`, 2 pairs per
//!   lane, chosen at run time.
//!
//! Groups of G consecutive k (G = 4 bytes or 2 `i16`, one 32-bit lane) are the unit: a tile
//! broadcasts A[m, G·q .. G·q + G] as one lane and multiplies it with B's groups of 16
//! consecutive columns. The wide path (`i64`, for 16-bit activations or long reductions)
//! is scalar.

/// Columns per packed block: one 512-bit vector of `i32` accumulators.
pub const NR: usize = 16;
/// Rows of A per tile.
pub const MR: usize = 4;

/// B packed as `[n / NR][k / G][NR][G]` (k padded to a multiple of the group size G, n to
/// a multiple of [`NR`], with zeros), so each step of a tile reads one contiguous group-row
/// of 16 columns.
#[derive(Clone, Debug)]
pub struct PackedB<T> {
    /// k per group: 2 (`i16` tiles) or 4 (`i8` tiles).
    pub group: usize,
    /// Groups of k (k rounded up to a multiple of `group`, divided by it).
    pub kg: usize,
    /// Columns.
    pub n: usize,
    data: Vec<T>,
}

impl<T: Copy + Default> PackedB<T> {
    /// Packs the `k × n` matrix whose entry (k, n) is `at(k, n)` in groups of `group` k.
    pub fn pack(k: usize, n: usize, group: usize, at: impl Fn(usize, usize) -> T) -> PackedB<T> {
        let kg = k.div_ceil(group);
        let blocks = n.div_ceil(NR);
        let mut data = vec![T::default(); blocks * kg * NR * group];
        for (blk, panel) in data.chunks_exact_mut(kg * NR * group).enumerate() {
            for (q, group_row) in panel.chunks_exact_mut(NR * group).enumerate() {
                for col in 0..NR.min(n - blk * NR) {
                    for t in 0..group {
                        if group * q + t < k {
                            group_row[col * group + t] = at(group * q + t, blk * NR + col);
                        }
                    }
                }
            }
        }
        PackedB { group, kg, n, data }
    }
}

impl<T> PackedB<T> {
    /// The row length of A: k padded to whole groups.
    pub fn k_padded(&self) -> usize {
        self.kg * self.group
    }

    /// Columns rounded up to whole blocks (the row length of a C tile buffer).
    pub fn n_padded(&self) -> usize {
        self.n.div_ceil(NR) * NR
    }

    fn panel(&self, blk: usize) -> &[T] {
        let len = self.kg * NR * self.group;
        &self.data[blk * len..][..len]
    }
}

/// Which `i16` tile the CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Avx512Vnni,
    Avx2,
    Scalar,
}

fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
        {
            return Isa::Avx512Vnni;
        }
        if is_x86_feature_detected!("avx2") {
            return Isa::Avx2;
        }
    }
    Isa::Scalar
}

/// C = A·B with `i16` operands and `i32` accumulators. `a` holds `rows` rows of
/// [`PackedB::k_padded`] entries (rows a multiple of [`MR`], padding rows zero); `c` receives `rows` rows of
/// [`PackedB::n_padded`] entries. Exact when every partial sum fits `i32` (the caller's
/// bound).
pub fn gemm_i16(a: &[i16], rows: usize, b: &PackedB<i16>, c: &mut [i32]) {
    let (kpad, ldc) = (b.k_padded(), b.n_padded());
    assert!(
        b.group == 2 && rows.is_multiple_of(MR) && a.len() >= rows * kpad && c.len() >= rows * ldc
    );
    let blocks = ldc / NR;
    let isa = isa();
    for r0 in (0..rows).step_by(MR) {
        let a_tile = &a[r0 * kpad..(r0 + MR) * kpad];
        let c_tile = &mut c[r0 * ldc..(r0 + MR) * ldc];
        let mut blk = 0;
        while blk < blocks {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512Vnni if blk + 1 < blocks => {
                    // SAFETY: the features were detected; the slices cover every access
                    // (asserted above: MR rows of kpad, two panels of kg pairs, MR rows of ldc).
                    unsafe {
                        x86::tile_vnni::<2>(
                            a_tile,
                            kpad,
                            [b.panel(blk), b.panel(blk + 1)],
                            &mut c_tile[blk * NR..],
                            ldc,
                        )
                    };
                    blk += 2;
                }
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512Vnni => {
                    // SAFETY: as above, one panel.
                    unsafe {
                        x86::tile_vnni::<1>(
                            a_tile,
                            kpad,
                            [b.panel(blk)],
                            &mut c_tile[blk * NR..],
                            ldc,
                        )
                    };
                    blk += 1;
                }
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => {
                    // SAFETY: AVX2 was detected; the slices cover every access.
                    unsafe {
                        x86::tile_avx2(a_tile, kpad, b.panel(blk), &mut c_tile[blk * NR..], ldc)
                    };
                    blk += 1;
                }
                _ => {
                    tile_scalar(a_tile, kpad, b.panel(blk), &mut c_tile[blk * NR..], ldc);
                    blk += 1;
                }
            }
        }
    }
}

/// Whether [`gemm_u8i8`] runs on this CPU.
pub fn has_u8i8() -> bool {
    isa() == Isa::Avx512Vnni
}

/// C = A·B with `u8` activations, `i8` weights (B packed in groups of 4) and `i32`
/// accumulators, on AVX-512 VNNI ([`has_u8i8`]); the layout of `a` and `c` as in
/// [`gemm_i16`].
pub fn gemm_u8i8(a: &[u8], rows: usize, b: &PackedB<i8>, c: &mut [i32]) {
    let (kpad, ldc) = (b.k_padded(), b.n_padded());
    assert!(
        b.group == 4 && rows.is_multiple_of(MR) && a.len() >= rows * kpad && c.len() >= rows * ldc
    );
    assert!(has_u8i8(), "gemm_u8i8 needs AVX-512 VNNI");
    let blocks = ldc / NR;
    for r0 in (0..rows).step_by(MR) {
        let a_tile = &a[r0 * kpad..(r0 + MR) * kpad];
        let c_tile = &mut c[r0 * ldc..(r0 + MR) * ldc];
        let mut blk = 0;
        while blk < blocks {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX-512 VNNI was checked; the slices cover every access (asserted
            // above: MR rows of kpad, one or two panels of kg groups, MR rows of ldc).
            unsafe {
                if blk + 1 < blocks {
                    x86::tile_vnni_u8::<2>(
                        a_tile,
                        kpad,
                        [b.panel(blk), b.panel(blk + 1)],
                        &mut c_tile[blk * NR..],
                        ldc,
                    );
                    blk += 2;
                } else {
                    x86::tile_vnni_u8::<1>(
                        a_tile,
                        kpad,
                        [b.panel(blk)],
                        &mut c_tile[blk * NR..],
                        ldc,
                    );
                    blk += 1;
                }
            }
        }
    }
}

/// The portable `i16` tile (CPUs without AVX2).
fn tile_scalar(a: &[i16], kpad: usize, panel: &[i16], c: &mut [i32], ldc: usize) {
    for r in 0..MR {
        let row = &a[r * kpad..][..kpad];
        let mut acc = [0i32; NR];
        for (pair, bp) in row.chunks_exact(2).zip(panel.chunks_exact(NR * 2)) {
            for (col, acc) in acc.iter_mut().enumerate() {
                *acc += i32::from(pair[0]) * i32::from(bp[2 * col])
                    + i32::from(pair[1]) * i32::from(bp[2 * col + 1]);
            }
        }
        c[r * ldc..][..NR].copy_from_slice(&acc);
    }
}

/// C = A·B in `i64` for operands beyond the `i32` bound: `a` holds `rows` rows of
/// [`PackedB::k_padded`] entries (any `rows`), `c` receives `rows` rows of
/// [`PackedB::n_padded`] entries.
pub fn gemm_wide<B: Copy + Into<i64>>(a: &[i32], rows: usize, b: &PackedB<B>, c: &mut [i64]) {
    let (kpad, ldc, g) = (b.k_padded(), b.n_padded(), b.group);
    for r in 0..rows {
        let row = &a[r * kpad..][..kpad];
        for blk in 0..ldc / NR {
            let mut acc = [0i64; NR];
            for (xs, bg) in row.chunks_exact(g).zip(b.panel(blk).chunks_exact(NR * g)) {
                for (col, acc) in acc.iter_mut().enumerate() {
                    for (t, &x) in xs.iter().enumerate() {
                        *acc += i64::from(x) * bg[col * g + t].into();
                    }
                }
            }
            c[r * ldc + blk * NR..][..NR].copy_from_slice(&acc);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{MR, NR};
    use std::arch::x86_64::*;

    /// Defines `$name`, one MR × (NV·16) tile with AVX-512 VNNI over `$a` × `$b` operands in
    /// groups of `$g` k: `$dp` adds the `$g` products of each 32-bit lane's group into the
    /// `i32` accumulator. One body for both operand widths.
    macro_rules! vnni_tile {
        ($(#[$m:meta])* $name:ident, $a:ty, $b:ty, $g:expr, $dp:ident) => {
            $(#[$m])*
            #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
            pub(super) unsafe fn $name<const NV: usize>(
                a: &[$a],
                kpad: usize,
                panels: [&[$b]; NV],
                c: &mut [i32],
                ldc: usize,
            ) {
                let kg = kpad / $g;
                let mut acc = [[_mm512_setzero_si512(); NV]; MR];
                let ap = a.as_ptr();
                for q in 0..kg {
                    let mut bv = [_mm512_setzero_si512(); NV];
                    for v in 0..NV {
                        bv[v] = _mm512_loadu_si512(panels[v].as_ptr().add(q * NR * $g).cast());
                    }
                    for (r, acc_r) in acc.iter_mut().enumerate() {
                        let group = ap.add(r * kpad + $g * q).cast::<i32>().read_unaligned();
                        let av = _mm512_set1_epi32(group);
                        for v in 0..NV {
                            acc_r[v] = $dp(acc_r[v], av, bv[v]);
                        }
                    }
                }
                for (r, acc_r) in acc.iter().enumerate() {
                    for (v, &acc_v) in acc_r.iter().enumerate() {
                        _mm512_storeu_si512(c.as_mut_ptr().add(r * ldc + v * NR).cast(), acc_v);
                    }
                }
            }
        };
    }

    vnni_tile!(
        /// `i16` pairs: `vpdpwssd`.
        tile_vnni, i16, i16, 2, _mm512_dpwssd_epi32
    );
    vnni_tile!(
        /// `u8` × `i8` quads: `vpdpbusd`.
        tile_vnni_u8, u8, i8, 4, _mm512_dpbusd_epi32
    );

    /// One MR × 16 tile with AVX2: `vpmaddwd` multiplies each 32-bit lane's `i16` pair and
    /// adds the two products, then `vpaddd` accumulates.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn tile_avx2(
        a: &[i16],
        kpad: usize,
        panel: &[i16],
        c: &mut [i32],
        ldc: usize,
    ) {
        let kp = kpad / 2;
        let mut acc = [[_mm256_setzero_si256(); 2]; MR];
        let (ap, bp) = (a.as_ptr(), panel.as_ptr());
        for p in 0..kp {
            let b0 = _mm256_loadu_si256(bp.add(p * NR * 2).cast());
            let b1 = _mm256_loadu_si256(bp.add(p * NR * 2 + NR).cast());
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let pair = ap.add(r * kpad + 2 * p).cast::<i32>().read_unaligned();
                let av = _mm256_set1_epi32(pair);
                acc_r[0] = _mm256_add_epi32(acc_r[0], _mm256_madd_epi16(av, b0));
                acc_r[1] = _mm256_add_epi32(acc_r[1], _mm256_madd_epi16(av, b1));
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            let cp = c.as_mut_ptr().add(r * ldc);
            _mm256_storeu_si256(cp.cast(), acc_r[0]);
            _mm256_storeu_si256(cp.add(8).cast(), acc_r[1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference<A: Copy + Into<i64>, B: Copy + Into<i64>>(
        a: &[A],
        kpad: usize,
        rows: usize,
        k: usize,
        b: &[B],
        n: usize,
    ) -> Vec<i64> {
        let mut c = vec![0i64; rows * n];
        for r in 0..rows {
            for j in 0..n {
                c[r * n + j] = (0..k)
                    .map(|t| a[r * kpad + t].into() * b[t * n + j].into())
                    .sum();
            }
        }
        c
    }

    /// The `u8` × `i8` tile (where the CPU has it) and the wide path on the same bytes,
    /// against a plain triple loop, over the extreme codes 0, 255, −128 and 127.
    #[test]
    fn byte_tiles_match_reference_exactly() {
        for (rows, k, n) in [
            (4usize, 27usize, 16usize),
            (8, 147, 40),
            (12, 5, 33),
            (4, 1153, 80),
        ] {
            let kpad = k.div_ceil(4) * 4;
            let mut a = vec![0u8; rows * kpad];
            for r in 0..rows {
                for t in 0..k {
                    a[r * kpad + t] = match (r + t) % 5 {
                        0 => 255,
                        1 => 0,
                        _ => ((r * 37 + t * 11) % 256) as u8,
                    };
                }
            }
            let b: Vec<i8> = (0..k * n)
                .map(|i| match i % 7 {
                    0 => -128,
                    1 => 127,
                    _ => ((i * 29) % 256) as u8 as i8,
                })
                .collect();
            let packed = PackedB::pack(k, n, 4, |t, j| b[t * n + j]);
            let ldc = packed.n_padded();
            let want = reference(&a, kpad, rows, k, &b, n);
            let a32: Vec<i32> = a.iter().map(|&v| i32::from(v)).collect();
            let mut wide = vec![0i64; rows * ldc];
            gemm_wide(&a32, rows, &packed, &mut wide);
            let mut c = vec![0i32; rows * ldc];
            if has_u8i8() {
                gemm_u8i8(&a, rows, &packed, &mut c);
            }
            for r in 0..rows {
                for j in 0..n {
                    let w = want[r * n + j];
                    assert_eq!(wide[r * ldc + j], w, "wide ({rows},{k},{n}) [{r},{j}]");
                    if has_u8i8() {
                        assert_eq!(
                            i64::from(c[r * ldc + j]),
                            w,
                            "vnni ({rows},{k},{n}) [{r},{j}]"
                        );
                    }
                }
            }
        }
    }

    /// Every tile the CPU has (and the portable one) against a plain triple loop, on shapes
    /// with odd k, a partial last column block and an odd number of blocks.
    #[test]
    fn tiles_match_reference_exactly() {
        for (rows, k, n) in [
            (4usize, 27usize, 16usize),
            (8, 64, 40),
            (12, 9, 33),
            (4, 301, 80),
        ] {
            let kpad = k.div_ceil(2) * 2;
            let mut a = vec![0i16; rows * kpad];
            for r in 0..rows {
                for t in 0..k {
                    a[r * kpad + t] = ((r * 37 + t * 11) % 511) as i16 - 255;
                }
            }
            let b: Vec<i16> = (0..k * n).map(|i| ((i * 29) % 255) as i16 - 127).collect();
            let packed = PackedB::pack(k, n, 2, |t, j| b[t * n + j]);
            let ldc = packed.n_padded();
            let want = reference(&a, kpad, rows, k, &b, n);
            let mut c = vec![0i32; rows * ldc];
            gemm_i16(&a, rows, &packed, &mut c);
            let mut portable = vec![0i32; rows * ldc];
            for r0 in (0..rows).step_by(MR) {
                for blk in 0..ldc / NR {
                    tile_scalar(
                        &a[r0 * kpad..],
                        kpad,
                        packed.panel(blk),
                        &mut portable[r0 * ldc + blk * NR..],
                        ldc,
                    );
                }
            }
            let a32: Vec<i32> = a.iter().map(|&v| i32::from(v)).collect();
            let mut wide = vec![0i64; rows * ldc];
            gemm_wide(&a32, rows, &packed, &mut wide);
            for r in 0..rows {
                for j in 0..n {
                    let w = want[r * n + j];
                    assert_eq!(
                        i64::from(c[r * ldc + j]),
                        w,
                        "simd ({rows},{k},{n}) [{r},{j}]"
                    );
                    assert_eq!(i64::from(portable[r * ldc + j]), w, "portable [{r},{j}]");
                    assert_eq!(wide[r * ldc + j], w, "wide [{r},{j}]");
                }
            }
        }
    }
}
