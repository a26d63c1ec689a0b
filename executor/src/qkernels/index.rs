//! Integer index kernels: `q.argmax` (the position of the first largest code along an
//! axis) and `q.one_hot` (on/off codes on a new last axis, the class of each input code
//! read from a table).

use super::KernelError;
use hailo_dialect_quant::ops as q;
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

/// The index of the first largest code along `axis`, as a code.
pub fn argmax(x: ArrayViewD<i32>, axis: usize, keepdims: bool) -> Result<ArrayD<i32>, KernelError> {
    if axis >= x.ndim() || x.shape()[axis] == 0 {
        return Err(KernelError::new(
            q::ArgMax::NAME,
            format!("axis {axis} of shape {:?} has no entries", x.shape()),
        ));
    }
    let y = x.map_axis(Axis(axis), |lane| {
        let mut best = 0usize;
        for (i, &v) in lane.iter().enumerate() {
            if v > lane[best] {
                best = i;
            }
        }
        best as i32
    });
    Ok(if keepdims {
        y.insert_axis(Axis(axis))
    } else {
        y
    })
}

/// `on` at the class `table[x − qmin_in]` of every code (none for −1), `off` elsewhere, on a
/// new last axis of `depth`.
pub fn one_hot(
    x: ArrayViewD<i32>,
    qmin_in: i64,
    table: &[i64],
    depth: usize,
    on: i32,
    off: i32,
) -> Result<ArrayD<i32>, KernelError> {
    let mut shape = x.shape().to_vec();
    shape.push(depth);
    let mut y = ArrayD::from_elem(IxDyn(&shape), off);
    let last = Axis(shape.len() - 1);
    for (mut lane, &c) in y.lanes_mut(last).into_iter().zip(x.iter()) {
        let class = usize::try_from(c as i64 - qmin_in)
            .ok()
            .and_then(|i| table.get(i))
            .ok_or_else(|| {
                KernelError::new(
                    q::OneHot::NAME,
                    format!(
                        "input code {c} is outside the table of {} entries",
                        table.len()
                    ),
                )
            })?;
        if let Some(slot) = usize::try_from(*class).ok().filter(|&k| k < depth) {
            lane[slot] = on;
        }
    }
    Ok(y)
}
