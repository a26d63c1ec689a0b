//! Float evaluation of the `hl` ops: each [`crate::evaluate::Evaluate`] implementation here
//! decodes one op family's attributes into a kernel of [`crate::kernels`].

pub(crate) mod misc;
pub(crate) mod norm;
pub(crate) mod pointwise;
pub(crate) mod postprocess;
pub(crate) mod rearrange;
pub(crate) mod weighted;

use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::kernels::activation::{activate, Activation};
use crate::kernels::KernelError;
use crate::value::Arg;
use ndarray::{ArrayD, ArrayView4, ArrayViewD, Ix4};
use std::borrow::Cow;

/// Operand `i` as a rank-4 float view.
fn rank4<'a>(
    op: &'static str,
    x: &'a ArrayViewD<'a, f32>,
) -> Result<ArrayView4<'a, f32>, KernelError> {
    x.view().into_dimensionality::<Ix4>().map_err(|_| {
        KernelError::new(
            op,
            format!("expects a rank-4 tensor, got shape {:?}", x.shape()),
        )
    })
}

/// A float tensor's elements as one slice (copied only when not contiguous).
fn vector<'a>(x: &'a ArrayViewD<'a, f32>) -> Cow<'a, [f32]> {
    match x.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(x.iter().copied().collect()),
    }
}

/// Operand `i` as a float view.
fn arg<'a>(
    args: &'a [Arg],
    i: usize,
    op: &'static str,
) -> Result<ArrayViewD<'a, f32>, KernelError> {
    args.get(i).ok_or_else(|| missing(op))?.f32(op)
}

/// Operand `i`, if present, as a float view.
fn optional<'a>(
    args: &'a [Arg],
    i: usize,
    op: &'static str,
) -> Result<Option<ArrayViewD<'a, f32>>, KernelError> {
    args.get(i).map(|a| a.f32(op)).transpose()
}

fn with_activation(mut x: ArrayD<f32>, act: Activation) -> ArrayD<f32> {
    activate(act, x.view_mut());
    x
}

fn missing(op: &'static str) -> KernelError {
    KernelError::new(op, "missing operand")
}

/// The first operand, owned.
fn take_first(args: Vec<Arg>, op: &'static str) -> Result<ArrayD<f32>, KernelError> {
    args.into_iter()
        .next()
        .ok_or_else(|| missing(op))?
        .into_f32(op)
}

fn axis_in(r: &OpReader, key: &str, rank: usize) -> Result<usize, ExecError> {
    let a = r.i64(key)?;
    let norm = if a < 0 { a + rank as i64 } else { a };
    usize::try_from(norm)
        .ok()
        .filter(|&v| v < rank)
        .ok_or_else(|| r.err(format!("'{key}' = {a} is out of range for rank {rank}")))
}

fn axes_in(r: &OpReader, key: &str, rank: usize) -> Result<Vec<usize>, ExecError> {
    r.i64s(key)?
        .into_iter()
        .map(|a| {
            let norm = if a < 0 { a + rank as i64 } else { a };
            usize::try_from(norm)
                .ok()
                .filter(|&v| v < rank)
                .ok_or_else(|| r.err(format!("'{key}' entry {a} is out of range for rank {rank}")))
        })
        .collect()
}
