//! A seeded input mutator for the hostile-input sweep (`tests/tests/mutation_sweep.rs`).
//!
//! cargo-fuzz needs nightly and runs outside CI; this mutator gives the normal test suite a
//! deterministic, stable-Rust smoke run over every reader. Besides the classic byte-level
//! edits (bit flips, truncation, insertion, deletion, duplication, large little-endian
//! integers aimed at length and offset fields) it makes the edits that found real defects:
//! deep nesting of the brackets and keywords the text formats recurse on, and huge or
//! non-finite numbers in text. Mutations favour the first and last 2 KiB of big inputs,
//! where headers, tables and graph structure live (the middle is mostly weights).

/// xorshift64*: small, fast and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What the text formats recurse on (IR text, model scripts, JSON).
const NESTERS: &[&str] = &[
    "[",
    "(",
    "{",
    "<",
    "tensor<",
    "builtin.module {",
    "fused[",
    "{k = ",
    "\"t.a\"() ({",
    "(() -> ",
];

/// Replacements for numbers in text.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1000000",
    "1099511627776",
    "4611686018427387904",
    "99999999999999999999999",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "0x7FC00000",
];

/// Little-endian integers aimed at length, count and offset fields.
const WORDS: &[u64] = &[
    0,
    1,
    0x7F,
    0x80,
    0xFF,
    0xFFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    1 << 40,
    u64::MAX,
];

/// A position in `0..len` (`len > 0`), usually near either end.
fn position(rng: &mut Rng, len: usize) -> usize {
    const EDGE: usize = 2048;
    match rng.below(4) {
        0 if len > EDGE => len - 1 - rng.below(EDGE),
        0 | 1 => rng.below(len.min(EDGE)),
        _ => rng.below(len),
    }
}

/// `seed` with one to four random edits; `text` adds the text-format edits.
pub fn mutate(rng: &mut Rng, seed: &[u8], text: bool) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        edit(rng, &mut out, text);
    }
    out
}

fn edit(rng: &mut Rng, out: &mut Vec<u8>, text: bool) {
    let kinds = if text { 9 } else { 7 };
    if out.is_empty() {
        out.push(rng.next_u64() as u8);
        return;
    }
    let len = out.len();
    match rng.below(kinds) {
        0 => {
            let at = position(rng, len);
            out[at] ^= 1 << rng.below(8);
        }
        1 => {
            let at = position(rng, len);
            let random = rng.next_u64() as u8;
            out[at] = *rng.pick(&[0, 0xFF, 0x7F, 0x80, random]);
        }
        2 => out.truncate(position(rng, len)),
        3 => {
            let at = position(rng, len);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            out.splice(at..at, bytes);
        }
        4 => {
            let at = position(rng, len);
            let end = (at + 1 + rng.below(64)).min(len);
            out.drain(at..end);
        }
        5 => {
            let from = position(rng, len);
            let end = (from + 1 + rng.below(256)).min(len);
            let chunk = out[from..end].to_vec();
            let at = position(rng, len);
            out.splice(at..at, chunk);
        }
        6 => {
            let at = position(rng, len);
            let word = rng.pick(WORDS).to_le_bytes();
            let width = *rng.pick(&[1usize, 2, 4, 8]);
            for (i, b) in word.iter().take(width).enumerate() {
                if let Some(slot) = out.get_mut(at + i) {
                    *slot = *b;
                }
            }
        }
        7 => {
            let at = position(rng, len);
            let depth = *rng.pick(&[200usize, 5_000, 40_000]);
            let nest = rng.pick(NESTERS).repeat(depth);
            out.splice(at..at, nest.into_bytes());
        }
        _ => {
            // Replace the digit run around a random position with an extreme number.
            let at = position(rng, len);
            let Some(start) = (at..len).find(|&i| out[i].is_ascii_digit()) else {
                return;
            };
            let end = (start..len)
                .find(|&i| !out[i].is_ascii_digit())
                .unwrap_or(len);
            let number = rng.pick(NUMBERS).as_bytes().to_vec();
            out.splice(start..end, number);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutants() {
        let seed = b"builtin.module @m { }\n";
        let run = |s| {
            let mut rng = Rng::new(s);
            (0..50)
                .map(|_| mutate(&mut rng, seed, true))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
