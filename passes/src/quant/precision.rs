//! Precision choices of the model script (guide §5.3): `quantization_param(precision_mode=…)`
//! in its two-part (`a8_w8`: result activation and weight bits) and three-part
//! (`a8_w8_a16`: input activation, weight and result activation bits) forms, and
//! `model_optimization_flavor(compression_level=…)` turned into an automatic 4-bit ratio.

/// Bits of one layer: `input` is set by the three-part modes only (the layer's input is then
/// converted to that precision); two-part modes take the input as its producer makes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Precision {
    pub input: Option<i64>,
    pub weights: i64,
    pub output: i64,
}

impl Precision {
    pub const A8W8: Precision = Precision::two(8, 8);
    pub const A8W4: Precision = Precision::two(8, 4);
    pub const A16W16: Precision = Precision::two(16, 16);
    pub const A16W8: Precision = Precision::two(16, 8);

    const fn two(act: i64, weights: i64) -> Precision {
        Precision {
            input: None,
            weights,
            output: act,
        }
    }

    /// `aX_wY` or `aX_wY_aZ` with X, Z ∈ {8, 16} and Y ∈ {4, 8, 16} (8-bit activations
    /// take 4- or 8-bit weights only, as in the guide's list).
    pub fn parse(s: &str) -> Option<Precision> {
        let parts: Vec<&str> = s.split('_').collect();
        let num = |p: &str, prefix: char, allowed: &[i64]| {
            p.strip_prefix(prefix)
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|v| allowed.contains(v))
        };
        let (a, w) = (
            num(parts.first()?, 'a', &[8, 16])?,
            num(parts.get(1)?, 'w', &[4, 8, 16])?,
        );
        if a == 8 && w == 16 {
            return None;
        }
        match parts.len() {
            2 => Some(Precision::two(a, w)),
            3 => Some(Precision {
                input: Some(a),
                weights: w,
                output: num(parts[2], 'a', &[8, 16])?,
            }),
            _ => None,
        }
    }

    /// (result activation bits, weight bits).
    pub fn bits(self) -> (i64, i64) {
        (self.output, self.weights)
    }
}

/// Networks with fewer weights than this are "not large enough" for `compression_level`
/// (guide §5.3.3: the level is "reverted back to 0" for ResNet-18's 11.7M weights; the exact
/// threshold is not published, this one is inferred from that example).
pub const COMPRESSION_MIN_WEIGHTS: u64 = 12_000_000;

/// The automatic 4-bit weight ratio of `compression_level` (guide table: 0.2 per level) for a
/// network of `total_weights`, or the reason it is not applied.
pub fn compression_ratio(level: u8, total_weights: u64) -> Result<f64, String> {
    if level == 0 {
        return Ok(0.0);
    }
    if total_weights < COMPRESSION_MIN_WEIGHTS {
        return Err(format!(
            "compression_level={level} is reverted to 0: the network has {total_weights} weights, fewer than {COMPRESSION_MIN_WEIGHTS} (set model_optimization_config(compression_params, auto_4bit_weights_ratio=...) to force 4-bit weights)"
        ));
    }
    Ok(f64::from(level.min(5)) / 5.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_two_and_three_part_modes() {
        assert_eq!(Precision::parse("a8_w8"), Some(Precision::A8W8));
        assert_eq!(
            Precision::parse("a16_w4").map(Precision::bits),
            Some((16, 4))
        );
        let p = Precision::parse("a8_w8_a16").expect("valid");
        assert_eq!((p.input, p.bits()), (Some(8), (16, 8)));
        let p = Precision::parse("a16_w16_a8").expect("valid");
        assert_eq!((p.input, p.bits()), (Some(16), (8, 16)));
        for bad in [
            "a8_w16",
            "a8_w16_a16",
            "a4_w8",
            "a8",
            "a8_w8_a16_a8",
            "native",
            "a8_x8",
        ] {
            assert_eq!(Precision::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn compression_levels_follow_the_guide_table() {
        let big = 25_000_000;
        let ratios: Vec<f64> = (0..=5)
            .map(|l| compression_ratio(l, big).expect("large network"))
            .collect();
        assert_eq!(ratios, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let e = compression_ratio(4, 11_700_000).unwrap_err();
        assert!(e.contains("reverted to 0") && e.contains("11700000"), "{e}");
        assert_eq!(compression_ratio(0, 10), Ok(0.0));
    }
}
