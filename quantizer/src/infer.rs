//! Quantized emulation of a whole model (`hailo infer --context quantized`): accepts either
//! a module already lowered to `q` or an annotated `hl` module (as a quantized HAR stores
//! it), which is lowered on a copy; runs in batches and returns dequantized outputs, with
//! optional per-layer dumps like the float context's.

use crate::error::{QuantError, Result};
use hailo_dialect_hl::interfaces::is_hl;
use hailo_executor::dump::LayerDump;
use hailo_executor::{Executor, GraphRef};
use hailo_ir::{Context, Module};
use ndarray::{concatenate, ArrayD, Axis};
use std::path::{Path, PathBuf};

/// Samples emulated at once.
const BATCH: usize = 8;

pub(crate) fn context() -> Context {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    ctx.register(hailo_dialect_quant::dialect());
    ctx.register(hailo_dialect_phys::dialect());
    ctx
}

/// True when `m` has `hl` ops carrying the quantizer's annotations.
pub fn is_annotated(m: &Module) -> bool {
    m.walk(m.top())
        .into_iter()
        .any(|o| is_hl(m, o) && m.attr(o, "q_bits").is_some())
}

/// `m` lowered to `q`: a lowered copy when `m` is an annotated `hl` module, else `None`
/// (use `m` itself).
pub fn lowered(m: &Module) -> Result<Option<Module>> {
    if !is_annotated(m) {
        return Ok(None);
    }
    let mut c = m.clone();
    crate::optimize::lower(&mut c)?;
    Ok(Some(c))
}

/// Dequantized outputs of the quantized emulation of `m` on `inputs` (samples on axis 0).
pub fn infer(m: &Module, inputs: &[ArrayD<f32>]) -> Result<Vec<ArrayD<f32>>> {
    run(m, inputs, None).map(|(o, _)| o)
}

/// As [`infer`], also writing every layer's dequantized output to `dir/<layer>.npy`;
/// returns the outputs and the files written.
pub fn infer_with_dump(
    m: &Module,
    inputs: &[ArrayD<f32>],
    dir: &Path,
) -> Result<(Vec<ArrayD<f32>>, Vec<PathBuf>)> {
    run(m, inputs, Some(dir))
}

fn run(
    m: &Module,
    inputs: &[ArrayD<f32>],
    dump: Option<&Path>,
) -> Result<(Vec<ArrayD<f32>>, Vec<PathBuf>)> {
    let copy = lowered(m)?;
    let qi = Executor::new(copy.as_ref().unwrap_or(m), GraphRef::First)?;
    let n = inputs
        .first()
        .map_or(0, |x| x.shape().first().copied().unwrap_or(0));
    let mut dumper = dump.map(LayerDump::new);
    let mut parts: Vec<Vec<ArrayD<f32>>> = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + BATCH).min(n);
        let batch: Vec<ArrayD<f32>> = inputs
            .iter()
            .map(|x| x.slice_axis(Axis(0), (start..end).into()).to_owned())
            .collect();
        let out = match dumper.as_mut() {
            Some(d) => qi.run_observed(&batch, &mut |o| d.record(o))?,
            None => qi.run(&batch)?,
        };
        parts.push(out);
        start = end;
    }
    let outputs = (0..parts.first().map_or(0, Vec::len))
        .map(|i| {
            let views: Vec<_> = parts.iter().map(|p| p[i].view()).collect();
            concatenate(Axis(0), &views)
                .map_err(|e| QuantError::Convert(format!("joining output batches: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let files = match dumper {
        Some(d) => d.finish()?,
        None => Vec::new(),
    };
    Ok((outputs, files))
}
