//! Axis moves around last-axis integer ops. `q.softmax`, `q.log_softmax` and the affine of
//! `q.layer_norm` work along the last axis; an `hl` op over other axes is lowered as
//! `q.transpose` (the op's axes last, the others in order) → `q.reshape` (the moved axes
//! merged into one) → the last-axis op → `q.reshape` → `q.transpose` back. Transposes and
//! reshapes move codes, so the composition is exactly the op over the original axes.

use super::hl_to_quant::{emit, qtype_of, Res};
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::QuantType;
use hailo_ir::{Attribute, Module, OpId, ValueId};

/// How a tensor of `shape` was moved: `perm` puts the reduced axes last; `merged` is the
/// shape after merging them into one axis.
pub(super) struct Moved {
    shape: Vec<i64>,
    perm: Vec<i64>,
    permuted: Vec<i64>,
    pub merged: Vec<i64>,
}

impl Moved {
    /// The move of `axes` (sorted, distinct) of a tensor of `shape` to one last axis.
    pub fn new(shape: &[i64], axes: &[usize]) -> Moved {
        let rank = shape.len();
        let perm: Vec<usize> = (0..rank)
            .filter(|a| !axes.contains(a))
            .chain(axes.iter().copied())
            .collect();
        let permuted: Vec<i64> = perm.iter().map(|&a| shape[a]).collect();
        let kept = rank - axes.len();
        let mut merged = permuted[..kept].to_vec();
        merged.push(permuted[kept..].iter().product());
        Moved {
            shape: shape.to_vec(),
            perm: perm.iter().map(|&a| a as i64).collect(),
            permuted,
            merged,
        }
    }

    /// True when the move changes nothing (the axes are the last one already).
    pub fn is_identity(&self) -> bool {
        self.merged == self.shape
    }

    /// `x` (of the original shape) transposed and reshaped to [`Moved::merged`].
    pub fn forward(&self, m: &mut Module, at: OpId, x: ValueId) -> Res<ValueId> {
        if self.is_identity() {
            return Ok(x);
        }
        let t = qtype_of(m, x)?;
        let attrs = vec![("perm", Attribute::i64_array(&self.perm))];
        let p = emit(m, at, q::TRANSPOSE, &[x], t.tensor(&self.permuted), attrs);
        Ok(emit(
            m,
            at,
            q::RESHAPE,
            &[p],
            t.tensor(&self.merged),
            vec![],
        ))
    }

    /// `y` (of the merged shape, type `t`) brought back to the original shape.
    pub fn back(&self, m: &mut Module, at: OpId, y: ValueId, t: &QuantType) -> ValueId {
        if self.is_identity() {
            return y;
        }
        let mut inv = vec![0i64; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            inv[p as usize] = i as i64;
        }
        let r = emit(m, at, q::RESHAPE, &[y], t.tensor(&self.permuted), vec![]);
        let attrs = vec![("perm", Attribute::i64_array(&inv))];
        emit(m, at, q::TRANSPOSE, &[r], t.tensor(&self.shape), attrs)
    }
}
