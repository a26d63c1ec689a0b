//! Pure shape arithmetic shared by the ops: padding modes and sliding-window
//! output sizes (conv, pool, deconv) and numpy broadcasting.
//!
//! These functions take plain integers so the interpreter and the HAR writer
//! can compute the same pads and sizes the verifier checks against.

/// How a sliding window pads its input (the `padding` attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding.
    Valid,
    /// Hailo's symmetric padding (DFC guide, "Note about Symmetric Padding"):
    /// `k_eff - 1` pixels in total; the odd pixel goes to the start when the
    /// stride is 1 and to the end otherwise.
    Same,
    /// TensorFlow SAME (= ONNX SAME_UPPER): output `ceil(i / s)`, the odd pixel at the end.
    SameTensorflow,
    /// Explicit `[top, left, bottom, right]`.
    Explicit([i64; 4]),
}

impl Padding {
    /// The attribute spelling of this mode.
    pub fn name(self) -> &'static str {
        match self {
            Padding::Valid => "VALID",
            Padding::Same => "SAME",
            Padding::SameTensorflow => "SAME_TENSORFLOW",
            Padding::Explicit(_) => "EXPLICIT",
        }
    }

    /// Whether the output size is `ceil(i / s)` whatever `ceil_mode` says.
    pub fn is_same(self) -> bool {
        matches!(self, Padding::Same | Padding::SameTensorflow)
    }

    /// `(begin, end)` pads of spatial axis `axis` (0 = H, 1 = W) for input
    /// size `i`, effective (dilated) kernel `k` and stride `s`.
    pub fn pads(self, axis: usize, i: i64, k: i64, s: i64) -> (i64, i64) {
        match self {
            Padding::Valid => (0, 0),
            Padding::Explicit(p) => (p[axis], p[axis + 2]),
            Padding::Same => {
                let total = k.saturating_sub(1).max(0);
                let begin = if s == 1 { total - total / 2 } else { total / 2 };
                (begin, total - begin)
            }
            Padding::SameTensorflow => {
                let out = ceil_div(i, s);
                let total = (out - 1)
                    .saturating_mul(s)
                    .saturating_add(k)
                    .saturating_sub(i)
                    .max(0);
                (total / 2, total - total / 2)
            }
        }
    }

    /// `[top, left, bottom, right]` for an `[ih, iw]` input.
    pub fn pads_2d(self, input: [i64; 2], kernel: [i64; 2], strides: [i64; 2]) -> [i64; 4] {
        let (t, b) = self.pads(0, input[0], kernel[0], strides[0]);
        let (l, r) = self.pads(1, input[1], kernel[1], strides[1]);
        [t, l, b, r]
    }
}

// The arithmetic below saturates: attributes come from files, and a huge stride or
// dilation must give a shape the verifier rejects, not an overflow panic.

/// `ceil(a / b)` for `b > 0`.
pub fn ceil_div(a: i64, b: i64) -> i64 {
    a.saturating_add(b - 1).div_euclid(b)
}

/// The extent of a kernel of size `k` with dilation `d`.
pub fn dilated(k: i64, d: i64) -> i64 {
    (k - 1).saturating_mul(d).saturating_add(1)
}

/// Output size of a sliding window (conv or pool) on one axis, ONNX rules:
/// `floor` (or `ceil` with `ceil_mode`) of `(i + begin + end - k) / s` plus
/// one; with `ceil_mode` a last window starting in the end padding is
/// dropped. `None` when the window does not fit the padded input.
pub fn window_out(
    i: i64,
    k: i64,
    s: i64,
    (begin, end): (i64, i64),
    ceil_mode: bool,
) -> Option<i64> {
    let span = i
        .saturating_add(begin)
        .saturating_add(end)
        .saturating_sub(k);
    if span < 0 {
        return None;
    }
    if !ceil_mode {
        return Some(span / s + 1);
    }
    let out = ceil_div(span, s) + 1;
    Some(if (out - 1).saturating_mul(s) >= i.saturating_add(begin) {
        out - 1
    } else {
        out
    })
}

/// Output size of a transposed convolution on one axis (ONNX ConvTranspose):
/// `s * (i - 1) + output_padding + k - begin - end`.
pub fn deconv_out(i: i64, k: i64, s: i64, (begin, end): (i64, i64), output_padding: i64) -> i64 {
    s.saturating_mul(i - 1)
        .saturating_add(output_padding)
        .saturating_add(k)
        .saturating_sub(begin)
        .saturating_sub(end)
}

/// Numpy broadcasting of two shapes (aligned at the last axis).
pub fn broadcast(a: &[i64], b: &[i64]) -> Result<Vec<i64>, String> {
    let rank = a.len().max(b.len());
    let at = |s: &[i64], i: usize| {
        if i + s.len() >= rank {
            s[i + s.len() - rank]
        } else {
            1
        }
    };
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y || y == 1 => Ok(x),
            (1, y) => Ok(y),
            (x, y) => Err(format!(
                "shapes {a:?} and {b:?} do not broadcast (axis {i}: {x} vs {y})"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_explicit_windows() {
        // 3x3 stride 2 on 224 with pads 1/1 → 112 (ResNet stem pool).
        assert_eq!(window_out(224, 3, 2, (1, 1), false), Some(112));
        assert_eq!(window_out(7, 3, 1, (0, 0), false), Some(5));
        assert_eq!(window_out(2, 3, 1, (0, 0), false), None);
        assert_eq!(window_out(2, 3, 1, (1, 0), false), Some(1));
    }

    #[test]
    fn ceil_mode_matches_onnx() {
        // 6 wide, k=3, s=2: floor → 2, ceil → 3 (last window 4..6 starts inside).
        assert_eq!(window_out(6, 3, 2, (0, 0), false), Some(2));
        assert_eq!(window_out(6, 3, 2, (0, 0), true), Some(3));
        // 5 wide, k=2, s=2, pad end 1: ceil gives 3; the 3rd window starts at 4 < 5: kept.
        assert_eq!(window_out(5, 2, 2, (0, 1), true), Some(3));
        // 4 wide, k=2, s=2, pads 1/1: ceil((4+2-2)/2)+1 = 3, window 3 starts at 4 >= 4+1? no → kept.
        assert_eq!(window_out(4, 2, 2, (1, 1), true), Some(3));
        // 4 wide, k=1, s=2, pad end 1: ceil((4+1-1)/2)+1 = 3, but window 3 starts at 4 = i+begin → dropped.
        assert_eq!(window_out(4, 1, 2, (0, 1), true), Some(2));
    }

    #[test]
    fn same_paddings_give_ceil_i_over_s() {
        for i in 1..20 {
            for k in 1..6 {
                for s in 1..4 {
                    for p in [Padding::Same, Padding::SameTensorflow] {
                        let pads = p.pads(0, i, k, s);
                        assert_eq!(
                            window_out(i, k, s, pads, false),
                            Some(ceil_div(i, s)),
                            "{p:?} i={i} k={k} s={s}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn same_pad_split() {
        // Hailo SAME: even kernel, stride 1 → extra pixel at the start; stride 2 → at the end.
        assert_eq!(Padding::Same.pads(0, 8, 4, 1), (2, 1));
        assert_eq!(Padding::Same.pads(0, 8, 4, 2), (1, 2));
        assert_eq!(Padding::Same.pads(0, 224, 3, 2), (1, 1));
        // TensorFlow SAME on the same input: 0 before, 1 after.
        assert_eq!(Padding::SameTensorflow.pads(0, 224, 3, 2), (0, 1));
        assert_eq!(Padding::SameTensorflow.pads(0, 8, 1, 2), (0, 0));
        assert_eq!(
            Padding::Explicit([1, 2, 3, 4]).pads_2d([8, 8], [3, 3], [1, 1]),
            [1, 2, 3, 4]
        );
    }

    #[test]
    fn deconv_sizes() {
        // ONNX ConvTranspose: 3x3 s2 pads 1/1 output_padding 1 on 8 → 16.
        assert_eq!(deconv_out(8, 3, 2, (1, 1), 1), 16);
        assert_eq!(deconv_out(4, 4, 2, (1, 1), 0), 8);
        // Dilation 2 on a 3-tap kernel is an extent of 5.
        assert_eq!(deconv_out(5, dilated(3, 2), 1, (0, 0), 0), 9);
    }

    #[test]
    fn broadcasting() {
        assert_eq!(broadcast(&[1, 8, 8, 16], &[16]), Ok(vec![1, 8, 8, 16]));
        assert_eq!(
            broadcast(&[1, 1, 8, 1], &[1, 4, 1, 3]),
            Ok(vec![1, 4, 8, 3])
        );
        assert_eq!(broadcast(&[], &[2, 3]), Ok(vec![2, 3]));
        assert_eq!(
            broadcast(&[1, 8, 8, 16], &[1, 8, 8, 3]),
            Err("shapes [1, 8, 8, 16] and [1, 8, 8, 3] do not broadcast (axis 3: 16 vs 3)".into())
        );
    }
}
