//! Calibration sets as the DFC takes them (guide §4.3.1): one `.npy` for a single-input
//! model, an `.npz` with one array per input layer (keyed by the scoped or bare layer name,
//! or the original framework name), or a directory of `.npy` files concatenated in name
//! order. Samples are on axis 0 in NHWC; `--input-layout nchw` transposes NCHW data. For a
//! single-input model an `.npz` without a layer key may hold exactly one array whose sample
//! shape fits the input (the shared digits set has `x_nchw` and `x_nhwc`).

use crate::error::{QuantError, Result};
use hailo_executor::TensorInfo;
use ndarray::{ArrayD, Axis, IxDyn};
use std::path::Path;

/// Axis order of the calibration data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CalibLayout {
    #[default]
    Nhwc,
    Nchw,
}

fn err(msg: String) -> QuantError {
    QuantError::Calibration(msg)
}

fn to_nhwc(x: ArrayD<f32>, layout: CalibLayout) -> ArrayD<f32> {
    if layout == CalibLayout::Nchw && x.ndim() == 4 {
        x.permuted_axes(IxDyn(&[0, 2, 3, 1]))
            .as_standard_layout()
            .into_owned()
    } else {
        x
    }
}

fn fits(x: &ArrayD<f32>, info: &TensorInfo) -> bool {
    x.ndim() == info.shape.len() && x.shape()[1..] == info.shape[1..]
}

fn check(x: ArrayD<f32>, info: &TensorInfo, what: &str) -> Result<ArrayD<f32>> {
    if !fits(&x, info) {
        return Err(err(format!(
            "{what}: shape {:?} does not fit input '{}' (samples x {:?}, NHWC); pass --input-layout nchw for NCHW data",
            x.shape(),
            info.name,
            &info.shape[1..]
        )));
    }
    if let Some(pos) = x.iter().position(|v| !v.is_finite()) {
        return Err(err(format!(
            "{what}: value at flat index {pos} is not finite (NaN or infinity); clean the calibration data"
        )));
    }
    Ok(x)
}

/// Reads the calibration set at `path` for a model with inputs `inputs`; `net` is the
/// network name (npz keys may be `net/input_layer1`).
pub fn read_calib_set(
    path: &Path,
    inputs: &[TensorInfo],
    net: &str,
    layout: CalibLayout,
) -> Result<Vec<ArrayD<f32>>> {
    let shown = path.display();
    let npy_err = |e: hailo_npz::NpyError| err(format!("{shown}: {e}"));
    if path.is_dir() {
        let files =
            hailo_guard::files::files_in(path, "npy").map_err(|e| err(format!("{shown}: {e}")))?;
        let [info] = inputs else {
            return Err(err(format!(
                "{shown}: a directory of .npy files calibrates single-input models only; use an .npz with one array per input layer"
            )));
        };
        if files.is_empty() {
            return Err(err(format!("{shown}: the directory has no .npy files")));
        }
        let mut parts = Vec::with_capacity(files.len());
        for f in &files {
            let a = hailo_npz::read_npy(f).map_err(npy_err)?.to_f32();
            // A file holds one sample (no batch axis) or a batch.
            let a = if a.ndim() + 1 == info.shape.len() {
                a.insert_axis(Axis(0))
            } else {
                a
            };
            parts.push(check(to_nhwc(a, layout), info, &f.display().to_string())?);
        }
        let views: Vec<_> = parts.iter().map(ArrayD::view).collect();
        return Ok(vec![
            ndarray::concatenate(Axis(0), &views).map_err(|e| err(format!("{shown}: {e}")))?
        ]);
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "npy" => {
            let [info] = inputs else {
                return Err(err(format!(
                    "{shown}: one .npy calibrates single-input models only; this model has {} inputs, use an .npz keyed by input layer",
                    inputs.len()
                )));
            };
            let a = hailo_npz::read_npy(path).map_err(npy_err)?.to_f32();
            Ok(vec![check(to_nhwc(a, layout), info, &shown.to_string())?])
        }
        "npz" => {
            let entries: Vec<(String, ArrayD<f32>)> = hailo_npz::read_npz(path)
                .map_err(npy_err)?
                .into_iter()
                .map(|(k, a)| (k.trim_end_matches(".npy").to_owned(), a.to_f32()))
                .collect();
            let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
            inputs
                .iter()
                .map(|info| {
                    let names = [
                        Some(info.name.clone()),
                        Some(format!("{net}/{}", info.name)),
                        info.original_name.clone(),
                    ];
                    let keyed = entries
                        .iter()
                        .find(|(k, _)| names.iter().flatten().any(|n| n == k));
                    let (key, a) = match keyed {
                        Some(e) => e.clone(),
                        None if inputs.len() == 1 => {
                            let fitting: Vec<_> = entries
                                .iter()
                                .filter(|(_, a)| fits(&to_nhwc(a.clone(), layout), info))
                                .collect();
                            match fitting.as_slice() {
                                [one] => (*one).clone(),
                                _ => return Err(err(format!(
                                    "{shown}: no array named '{}' and {} array(s) of a fitting shape among {keys:?}; name the array after the input layer{}",
                                    info.name,
                                    fitting.len(),
                                    if layout == CalibLayout::Nhwc { " (or pass --input-layout nchw for NCHW data)" } else { "" }
                                ))),
                            }
                        }
                        None => {
                            return Err(err(format!(
                                "{shown}: no array for input layer '{}' (keys: {keys:?}); key each array by its input layer",
                                info.name
                            )))
                        }
                    };
                    check(to_nhwc(a, layout), info, &format!("{shown}['{key}']"))
                })
                .collect()
        }
        _ => Err(err(format!(
            "{shown}: expected a .npy file, an .npz file or a directory of .npy files"
        ))),
    }
}

/// `--use-random-calib-set`: `n` seeded uniform [0, 1) samples per input.
pub fn random_calib_set(inputs: &[TensorInfo], n: usize) -> Vec<ArrayD<f32>> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    inputs
        .iter()
        .map(|info| {
            let mut shape = info.shape.clone();
            if let Some(b) = shape.first_mut() {
                *b = n;
            }
            ArrayD::from_shape_simple_fn(IxDyn(&shape), || {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (s >> 40) as f32 / (1u64 << 24) as f32
            })
        })
        .collect()
}
