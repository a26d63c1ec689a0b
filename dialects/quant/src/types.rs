//! Quantized element types: `!q.uniform<u8:f32, 0.015686274509803921:64>` (one scale and
//! zero point) and `!q.per_axis<i8:f32, axis = 3, scales = [0.01, 0.02]>` (one scale per
//! slice of `axis`, zero points 0).
//!
//! The IR keeps dialect type bodies verbatim ([`hailo_ir::TypeKind::Dialect`]); this module
//! gives them meaning: [`QuantType::parse`] reads a body, [`QuantType::to_type`] prints the
//! canonical one, so two equal quantized types are the same interned [`Type`]. Scales are
//! printed with Rust's shortest round-trip formatting, so printing and re-parsing is exact.

use hailo_ir::Type;
use std::fmt;

/// The integer codes a quantized value is stored in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    U8,
    U16,
    I4,
    I8,
    I16,
    I32,
}

impl Storage {
    pub const ALL: [Storage; 6] = [
        Storage::U8,
        Storage::U16,
        Storage::I4,
        Storage::I8,
        Storage::I16,
        Storage::I32,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Storage::U8 => "u8",
            Storage::U16 => "u16",
            Storage::I4 => "i4",
            Storage::I8 => "i8",
            Storage::I16 => "i16",
            Storage::I32 => "i32",
        }
    }

    pub fn parse(s: &str) -> Option<Storage> {
        Storage::ALL.into_iter().find(|k| k.name() == s)
    }

    pub fn bits(self) -> u32 {
        match self {
            Storage::U8 | Storage::I8 => 8,
            Storage::U16 | Storage::I16 => 16,
            Storage::I4 => 4,
            Storage::I32 => 32,
        }
    }

    pub fn signed(self) -> bool {
        !matches!(self, Storage::U8 | Storage::U16)
    }

    /// Unsigned activation storage of `bits` (8 or 16).
    pub fn unsigned(bits: u32) -> Option<Storage> {
        match bits {
            8 => Some(Storage::U8),
            16 => Some(Storage::U16),
            _ => None,
        }
    }

    /// Signed weight storage of `bits` (4, 8, 16 or 32).
    pub fn signed_of(bits: u32) -> Option<Storage> {
        match bits {
            4 => Some(Storage::I4),
            8 => Some(Storage::I8),
            16 => Some(Storage::I16),
            32 => Some(Storage::I32),
            _ => None,
        }
    }

    pub fn qmin(self) -> i64 {
        if self.signed() {
            -(1i64 << (self.bits() - 1))
        } else {
            0
        }
    }

    pub fn qmax(self) -> i64 {
        if self.signed() {
            (1i64 << (self.bits() - 1)) - 1
        } else {
            (1i64 << self.bits()) - 1
        }
    }
}

/// A quantized element type.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantType {
    /// x = scale · (q − zero_point).
    Uniform {
        storage: Storage,
        scale: f64,
        zero_point: i64,
    },
    /// x = scales[i] · q along `axis` (zero points are 0: symmetric weights and biases).
    PerAxis {
        storage: Storage,
        axis: usize,
        scales: Vec<f64>,
    },
}

impl QuantType {
    pub fn uniform(storage: Storage, scale: f64, zero_point: i64) -> QuantType {
        QuantType::Uniform {
            storage,
            scale,
            zero_point,
        }
    }

    /// The `!q.uniform<...>` / `!q.per_axis<...>` type, or the element type of a tensor
    /// of one, as a typed value parsed once per interned type; `None` for any other type.
    /// Use [`QuantType::parse_body`] for the reason.
    pub fn of(ty: Type) -> Option<&'static QuantType> {
        ty.element()
            .dialect_value("q", |body| QuantType::parse_body(body).ok())
    }

    /// An owned copy of [`QuantType::of`].
    pub fn parse(ty: Type) -> Option<QuantType> {
        QuantType::of(ty).cloned()
    }

    /// Parses a type body (the text after `!q.`), with a message naming what is wrong.
    pub fn parse_body(body: &str) -> Result<QuantType, String> {
        let (kind, rest) = body
            .split_once('<')
            .ok_or_else(|| format!("quantized type '{body}' has no '<...>' parameters"))?;
        let inner = rest
            .strip_suffix('>')
            .ok_or_else(|| format!("quantized type '{body}' must end with '>'"))?;
        let (head, params) = inner
            .split_once(',')
            .ok_or_else(|| format!("quantized type '{body}' needs 'storage:f32, ...'"))?;
        let (st, expressed) = head.trim().split_once(':').ok_or_else(|| {
            format!("quantized type '{body}': expected 'storage:f32', got '{head}'")
        })?;
        let storage = Storage::parse(st.trim()).ok_or_else(|| {
            format!(
                "quantized type '{body}': unknown storage '{}' (expected u8, u16, i4, i8, i16 or i32)",
                st.trim()
            )
        })?;
        if expressed.trim() != "f32" {
            return Err(format!(
                "quantized type '{body}': expressed type must be f32, got '{}'",
                expressed.trim()
            ));
        }
        match kind {
            "uniform" => parse_uniform(body, storage, params),
            "per_axis" => parse_per_axis(body, storage, params),
            _ => Err(format!(
                "unknown quantized type '!q.{kind}' (expected uniform or per_axis)"
            )),
        }
    }

    pub fn storage(&self) -> Storage {
        match self {
            QuantType::Uniform { storage, .. } | QuantType::PerAxis { storage, .. } => *storage,
        }
    }

    /// The scale of slice `i` (every slice for uniform types).
    pub fn scale_at(&self, i: usize) -> f64 {
        match self {
            QuantType::Uniform { scale, .. } => *scale,
            QuantType::PerAxis { scales, .. } => scales[i.min(scales.len() - 1)],
        }
    }

    pub fn zero_point(&self) -> i64 {
        match self {
            QuantType::Uniform { zero_point, .. } => *zero_point,
            QuantType::PerAxis { .. } => 0,
        }
    }

    /// The interned dialect type (canonical body).
    pub fn to_type(&self) -> Type {
        let text = self.to_string();
        Type::dialect("q", &text)
    }

    /// `tensor<shape x self>`.
    pub fn tensor(&self, shape: &[i64]) -> Type {
        Type::tensor(shape, self.to_type())
    }

    /// The float range the codes can express, `[lo, hi]` (first slice for per-axis types).
    pub fn float_range(&self) -> (f64, f64) {
        let s = self.scale_at(0);
        let z = self.zero_point();
        let st = self.storage();
        (s * (st.qmin() - z) as f64, s * (st.qmax() - z) as f64)
    }
}

fn parse_scale(body: &str, text: &str) -> Result<f64, String> {
    let v: f64 = text.trim().parse().map_err(|_| {
        format!(
            "quantized type '{body}': scale '{}' is not a number",
            text.trim()
        )
    })?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!(
            "quantized type '{body}': scale must be finite and positive, got {v}"
        ));
    }
    Ok(v)
}

fn parse_uniform(body: &str, storage: Storage, params: &str) -> Result<QuantType, String> {
    let (s, z) = params.split_once(':').ok_or_else(|| {
        format!("quantized type '{body}': expected 'scale:zero_point' after the storage")
    })?;
    let scale = parse_scale(body, s)?;
    let zero_point: i64 = z.trim().parse().map_err(|_| {
        format!(
            "quantized type '{body}': zero point '{}' is not an integer",
            z.trim()
        )
    })?;
    if zero_point < storage.qmin() || zero_point > storage.qmax() {
        return Err(format!(
            "quantized type '{body}': zero point {zero_point} is outside the {} range [{}, {}]",
            storage.name(),
            storage.qmin(),
            storage.qmax()
        ));
    }
    Ok(QuantType::Uniform {
        storage,
        scale,
        zero_point,
    })
}

fn parse_per_axis(body: &str, storage: Storage, params: &str) -> Result<QuantType, String> {
    let bad = || format!("quantized type '{body}': expected 'axis = N, scales = [s0, s1, ...]'");
    let (axis_part, scales_part) = params.split_once(',').ok_or_else(bad)?;
    let axis = axis_part
        .trim()
        .strip_prefix("axis")
        .and_then(|r| r.trim().strip_prefix('='))
        .and_then(|r| r.trim().parse::<usize>().ok())
        .ok_or_else(bad)?;
    let list = scales_part
        .trim()
        .strip_prefix("scales")
        .and_then(|r| r.trim().strip_prefix('='))
        .map(str::trim)
        .and_then(|r| r.strip_prefix('['))
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(bad)?;
    let scales = list
        .split(',')
        .map(|s| parse_scale(body, s))
        .collect::<Result<Vec<f64>, String>>()?;
    Ok(QuantType::PerAxis {
        storage,
        axis,
        scales,
    })
}

impl fmt::Display for QuantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantType::Uniform {
                storage,
                scale,
                zero_point,
            } => write!(f, "uniform<{}:f32, {scale:?}:{zero_point}>", storage.name()),
            QuantType::PerAxis {
                storage,
                axis,
                scales,
            } => {
                write!(
                    f,
                    "per_axis<{}:f32, axis = {axis}, scales = [",
                    storage.name()
                )?;
                for (i, s) in scales.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s:?}")?;
                }
                f.write_str("]>")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_round_trip_is_exact() {
        let q = QuantType::uniform(Storage::U8, 4.0 / 255.0, 64);
        let t = q.to_type();
        assert_eq!(t.to_string(), "!q.uniform<u8:f32, 0.01568627450980392:64>");
        assert_eq!(QuantType::parse(t), Some(q));
    }

    #[test]
    fn per_axis_round_trip() {
        let body = "per_axis<i8:f32, axis = 3, scales = [0.5, 0.25]>";
        let q = QuantType::parse_body(body).expect("parses");
        assert_eq!(q.to_string(), body);
        assert_eq!(q.scale_at(1), 0.25);
        assert_eq!(q.zero_point(), 0);
    }

    #[test]
    fn errors_name_the_problem() {
        let e = QuantType::parse_body("uniform<u8:f32, 0.1:300>").unwrap_err();
        assert!(
            e.contains("zero point 300 is outside the u8 range [0, 255]"),
            "{e}"
        );
        let e = QuantType::parse_body("uniform<u7:f32, 0.1:3>").unwrap_err();
        assert!(e.contains("unknown storage 'u7'"), "{e}");
        let e = QuantType::parse_body("uniform<u8:f32, -1.0:3>").unwrap_err();
        assert!(e.contains("scale must be finite and positive"), "{e}");
        let e = QuantType::parse_body("per_axis<i8:f32, axis = x, scales = [1.0]>").unwrap_err();
        assert!(e.contains("expected 'axis = N"), "{e}");
    }

    #[test]
    fn storage_ranges() {
        assert_eq!((Storage::U8.qmin(), Storage::U8.qmax()), (0, 255));
        assert_eq!((Storage::I4.qmin(), Storage::I4.qmax()), (-8, 7));
        assert_eq!((Storage::U16.qmin(), Storage::U16.qmax()), (0, 65535));
    }
}
