//! Budgets checked before allocating or recursing on sizes read from a file.
//!
//! A model declares its tensor shapes; a hostile one declares an input of 2^62 elements,
//! conv pads of 100000 or a resize to 10^6 x 10^6, which parse fine and abort the process
//! later when a buffer of that size is allocated. Every reader checks each shape it creates
//! against one element budget, [`max_elements`], so the failure is a located error at parse
//! time. The default (2^28 elements, 1 GiB of `f32`) is far above any Hailo-8 network; a user
//! who really needs more raises it with the environment variable [`ENV_MAX_ELEMENTS`] (or
//! the `hailo --max-tensor-elements` flag, which sets it for the process).
//!
//! Recursive parsers (IR text, model scripts, HN JSON, protobuf, flatbuffers) stop at
//! [`MAX_NESTING`] levels: real models nest a few levels, and a deeper file would otherwise
//! overflow the stack.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// How deep any recursive parser may nest (brackets, regions, types, locations, ...).
pub const MAX_NESTING: usize = 128;

/// Default budget of elements per tensor.
pub const DEFAULT_MAX_ELEMENTS: u64 = 1 << 28;

/// Environment variable that replaces [`DEFAULT_MAX_ELEMENTS`].
pub const ENV_MAX_ELEMENTS: &str = "HAILO_MAX_TENSOR_ELEMENTS";

/// A budget set for this process by a command-line flag (0: none set).
static SET_BY_FLAG: AtomicU64 = AtomicU64::new(0);

/// Sets the element budget for the rest of the process (the `--max-tensor-elements` flag).
pub fn set_max_elements(n: u64) {
    SET_BY_FLAG.store(n.max(1), Ordering::Relaxed);
}

/// The element budget: the flag's value, else [`ENV_MAX_ELEMENTS`], else the default.
pub fn max_elements() -> u64 {
    static FROM_ENV: OnceLock<u64> = OnceLock::new();
    match SET_BY_FLAG.load(Ordering::Relaxed) {
        0 => *FROM_ENV.get_or_init(|| {
            std::env::var(ENV_MAX_ELEMENTS)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&n| n > 0)
                .unwrap_or(DEFAULT_MAX_ELEMENTS)
        }),
        n => n,
    }
}

/// A shape whose element count is over the budget (or overflows `u64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// The element count, `None` when it overflows.
    pub elements: Option<u64>,
    pub budget: u64,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.elements {
            Some(n) => write!(f, "{n} elements")?,
            None => write!(f, "more than 2^64 elements")?,
        }
        write!(
            f,
            ", over the budget of {} elements per tensor; if the model really needs it, raise \
             the budget with {ENV_MAX_ELEMENTS}=N",
            self.budget
        )
    }
}

impl std::error::Error for TooLarge {}

/// The number of elements of `dims`, or an error when it is over [`max_elements`].
pub fn check_elements(dims: impl IntoIterator<Item = u64>) -> Result<u64, TooLarge> {
    let budget = max_elements();
    let mut n: Option<u64> = Some(1);
    for d in dims {
        n = n.and_then(|n| n.checked_mul(d));
    }
    match n {
        Some(n) if n <= budget => Ok(n),
        elements => Err(TooLarge { elements, budget }),
    }
}

/// [`check_elements`] for signed dimensions (IR, ONNX and TFLite shapes); negative ones
/// count as zero here, the readers reject them with their own message.
pub fn check_shape(dims: &[i64]) -> Result<u64, TooLarge> {
    check_elements(dims.iter().map(|&d| u64::try_from(d).unwrap_or(0)))
}

/// A nesting deeper than [`MAX_NESTING`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooDeep {
    /// What nests (`'['`, `regions`, `types`, ...).
    pub what: &'static str,
}

impl fmt::Display for TooDeep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} nested more than {MAX_NESTING} levels deep; no model nests this deep, the file \
             is damaged or was not written by a model tool",
            self.what
        )
    }
}

impl std::error::Error for TooDeep {}

/// A nesting counter for a recursive parser: [`Depth::enter`] before each recursive step,
/// [`Depth::leave`] after it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Depth(usize);

impl Depth {
    /// One level deeper, or an error past [`MAX_NESTING`].
    pub fn enter(&mut self, what: &'static str) -> Result<(), TooDeep> {
        if self.0 >= MAX_NESTING {
            return Err(TooDeep { what });
        }
        self.0 += 1;
        Ok(())
    }

    pub fn leave(&mut self) {
        self.0 = self.0.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_counts_over_the_budget_or_overflowing_are_refused() {
        assert_eq!(check_shape(&[1, 3, 224, 224]), Ok(3 * 224 * 224));
        let over = check_shape(&[1 << 40]).unwrap_err();
        assert_eq!(over.elements, Some(1 << 40));
        assert_eq!(
            check_shape(&[1 << 62, 1 << 62]).unwrap_err().to_string(),
            format!(
                "more than 2^64 elements, over the budget of {DEFAULT_MAX_ELEMENTS} elements per \
                 tensor; if the model really needs it, raise the budget with \
                 HAILO_MAX_TENSOR_ELEMENTS=N"
            )
        );
    }

    #[test]
    fn depth_stops_at_the_limit_and_recovers_on_leave() {
        let mut d = Depth::default();
        for _ in 0..MAX_NESTING {
            d.enter("'['").unwrap();
        }
        assert_eq!(d.enter("'['"), Err(TooDeep { what: "'['" }));
        d.leave();
        assert!(d.enter("'['").is_ok());
    }
}
