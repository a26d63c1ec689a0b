//! Checked access to an op's operands and attributes.
//!
//! Verifiers and shape inference read the same attributes; [`OpView`] reads
//! them once, applies the contract's defaults and turns every malformed input
//! into an error message naming the attribute or operand, so no hook ever
//! panics on bad IR and the messages stay uniform across the dialect.

use hailo_ir::{Attribute, Module, OpId, Type, ValueId};

pub type Result<T> = std::result::Result<T, String>;

/// An op of a module, with checked accessors.
#[derive(Clone, Copy)]
pub struct OpView<'a> {
    pub m: &'a Module,
    pub op: OpId,
}

impl<'a> OpView<'a> {
    pub fn new(m: &'a Module, op: OpId) -> OpView<'a> {
        OpView { m, op }
    }

    pub fn num_operands(&self) -> usize {
        self.m.op(self.op).operands().len()
    }

    /// Requires `min..=max` operands; `what` lists them for the message.
    pub fn expect_operands(&self, min: usize, max: usize, what: &str) -> Result<usize> {
        let n = self.num_operands();
        if n < min || n > max {
            return Err(format!("expects {what}, got {n} operand(s)"));
        }
        Ok(n)
    }

    pub fn expect_results(&self, n: usize) -> Result<()> {
        let got = self.m.op(self.op).results().len();
        if got != n {
            return Err(format!("expects {n} result(s), got {got}"));
        }
        Ok(())
    }

    pub fn operand(&self, i: usize, what: &str) -> Result<ValueId> {
        self.m
            .op(self.op)
            .operands()
            .get(i)
            .copied()
            .ok_or_else(|| format!("missing {what} operand"))
    }

    pub fn operand_type(&self, i: usize, what: &str) -> Result<Type> {
        Ok(self.m.value_type(self.operand(i, what)?))
    }

    /// Shape of operand `i`, which must be a tensor with no empty dimension.
    pub fn shape(&self, i: usize, what: &str) -> Result<Vec<i64>> {
        let ty = self.operand_type(i, what)?;
        match ty.shape() {
            Some(s) if s.iter().all(|&d| d >= 1) => Ok(s.to_vec()),
            Some(_) => Err(format!("{what} '{ty}' has an empty dimension")),
            None => Err(format!("{what} must be a tensor, got '{ty}'")),
        }
    }

    /// Shape of operand `i`, which must be a tensor of rank `rank`.
    pub fn shape_rank(&self, i: usize, what: &str, rank: usize) -> Result<Vec<i64>> {
        let s = self.shape(i, what)?;
        if s.len() != rank {
            return Err(format!(
                "{what} must have rank {rank}, got rank {} ('{}')",
                s.len(),
                self.operand_type(i, what)?
            ));
        }
        Ok(s)
    }

    /// Element type of operand `i`.
    pub fn elem(&self, i: usize, what: &str) -> Result<Type> {
        Ok(self.operand_type(i, what)?.element())
    }

    /// Type of result `i`.
    pub fn result_type(&self, i: usize) -> Result<Type> {
        let r = self
            .m
            .op(self.op)
            .results()
            .get(i)
            .copied()
            .ok_or_else(|| format!("missing result #{i}"))?;
        Ok(self.m.value_type(r))
    }

    /// Shape of result `i`, which must be a tensor.
    pub fn result_shape(&self, i: usize) -> Result<Vec<i64>> {
        let ty = self.result_type(i)?;
        ty.shape()
            .map(<[i64]>::to_vec)
            .ok_or_else(|| format!("result #{i} must be a tensor, got '{ty}'"))
    }

    pub fn attr(&self, key: &str) -> Option<&'a Attribute> {
        self.m.attr(self.op, key)
    }

    fn typed<T>(
        &self,
        key: &str,
        kind: &str,
        get: impl FnOnce(&Attribute) -> Option<T>,
    ) -> Result<Option<T>> {
        match self.attr(key) {
            None => Ok(None),
            Some(a) => get(a)
                .map(Some)
                .ok_or_else(|| format!("attribute '{key}' must be {kind}, got {a}")),
        }
    }

    fn required<T>(&self, key: &str, v: Option<T>, kind: &str) -> Result<T> {
        v.ok_or_else(|| format!("requires attribute '{key}' ({kind})"))
    }

    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>> {
        self.typed(key, "an integer", Attribute::as_i64)
    }

    pub fn i64(&self, key: &str) -> Result<i64> {
        self.required(key, self.opt_i64(key)?, "an integer")
    }

    /// A required integer that must be at least `min`.
    pub fn i64_min(&self, key: &str, min: i64) -> Result<i64> {
        let v = self.i64(key)?;
        if v < min {
            return Err(format!("attribute '{key}' must be >= {min}, got {v}"));
        }
        Ok(v)
    }

    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        self.typed(key, "a number", Attribute::as_f64)
    }

    pub fn f64(&self, key: &str) -> Result<f64> {
        self.required(key, self.opt_f64(key)?, "a number")
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        self.typed(key, "a boolean", Attribute::as_bool)
    }

    pub fn bool(&self, key: &str) -> Result<bool> {
        self.required(key, self.opt_bool(key)?, "a boolean")
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.attr(key) {
            None => Ok(None),
            Some(a) => a
                .as_str()
                .map(Some)
                .ok_or_else(|| format!("attribute '{key}' must be a string, got {a}")),
        }
    }

    pub fn str(&self, key: &str) -> Result<&'a str> {
        self.required(key, self.opt_str(key)?, "a string")
    }

    /// An optional string that must be one of `allowed`.
    pub fn opt_choice(&self, key: &str, allowed: &[&'static str]) -> Result<Option<&'static str>> {
        let Some(s) = self.opt_str(key)? else {
            return Ok(None);
        };
        match allowed.iter().find(|a| **a == s) {
            Some(a) => Ok(Some(*a)),
            None => Err(format!(
                "unknown {key} \"{s}\"; expected one of: {}",
                allowed.join(", ")
            )),
        }
    }

    /// A required string that must be one of `allowed`.
    pub fn choice(&self, key: &str, allowed: &[&'static str]) -> Result<&'static str> {
        let v = self.opt_choice(key, allowed)?;
        v.ok_or_else(|| {
            format!(
                "requires attribute '{key}' (one of: {})",
                allowed.join(", ")
            )
        })
    }

    pub fn opt_i64s(&self, key: &str) -> Result<Option<Vec<i64>>> {
        self.typed(key, "an array of integers", Attribute::as_i64_array)
    }

    pub fn i64s(&self, key: &str) -> Result<Vec<i64>> {
        self.required(key, self.opt_i64s(key)?, "an array of integers")
    }

    /// An integer array of exactly `len` elements.
    pub fn i64s_len(&self, key: &str, len: usize) -> Result<Vec<i64>> {
        let v = self.i64s(key)?;
        if v.len() != len {
            return Err(format!(
                "attribute '{key}' must have {len} element(s), got {}",
                v.len()
            ));
        }
        Ok(v)
    }

    pub fn f64s(&self, key: &str) -> Result<Vec<f64>> {
        let v = self.typed(key, "an array of numbers", Attribute::as_f64_array)?;
        self.required(key, v, "an array of numbers")
    }

    /// An optional `[h, w]` pair of positive integers, `[1, 1]` when absent.
    pub fn positive_pair(&self, key: &str) -> Result<[i64; 2]> {
        match self.opt_i64s(key)? {
            None => Ok([1, 1]),
            Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 1) => Ok([v[0], v[1]]),
            Some(v) => Err(format!(
                "attribute '{key}' must be two positive integers, got {v:?}"
            )),
        }
    }

    /// The Hailo layer name every op but `hl.const` carries.
    pub fn layer(&self) -> Result<&'a str> {
        match self.opt_str("layer")? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err("attribute 'layer' must not be empty".into()),
            None => Err("requires attribute 'layer' (the Hailo layer name, a string)".into()),
        }
    }
}

/// One result of operand 0's element type with the given shape.
pub fn same_elem(v: &OpView<'_>, shape: &[i64]) -> Result<Vec<Type>> {
    Ok(vec![Type::tensor(shape, v.elem(0, "input")?)])
}

/// Checks an axis: `hl` axes are non-negative NHWC axes (frontends normalize
/// negative framework axes), below `rank`.
pub fn axis(key: &str, a: i64, rank: usize) -> Result<usize> {
    if a < 0 || a >= rank as i64 {
        return Err(format!(
            "attribute '{key}' = {a} must be a non-negative axis below the rank {rank}"
        ));
    }
    Ok(a as usize)
}

/// Checks a list of distinct, increasing axes below `rank`.
pub fn axes(key: &str, list: &[i64], rank: usize) -> Result<Vec<usize>> {
    let out = list
        .iter()
        .map(|&a| axis(key, a, rank))
        .collect::<Result<Vec<_>>>()?;
    if out.is_empty() || out.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!(
            "attribute '{key}' must list distinct axes in increasing order, got {list:?}"
        ));
    }
    Ok(out)
}
