//! Layer dumps (`--dump-layers DIR`): every layer's output as `DIR/<layer>.npy`, so a
//! mismatch against a reference can be located layer by layer.
//!
//! Outputs of successive batches are concatenated along axis 0 in memory and written by
//! [`LayerDump::finish`]; dump small data counts.

use crate::error::{ExecError, Result};
use crate::plan::LayerOutput;
use hailo_npz::{write_npy, NpyArray};
use ndarray::{concatenate, ArrayD, Axis};
use std::path::{Path, PathBuf};

/// Collects layer outputs across runs and writes one `.npy` per layer.
#[derive(Debug)]
pub struct LayerDump {
    dir: PathBuf,
    /// Layer names in first-seen (execution) order, with the batches recorded.
    layers: Vec<(String, Vec<ArrayD<f32>>)>,
}

impl LayerDump {
    pub fn new(dir: impl AsRef<Path>) -> Self {
        LayerDump {
            dir: dir.as_ref().to_path_buf(),
            layers: Vec::new(),
        }
    }

    /// Records one layer output (use as the observer of [`crate::Executor::run_observed`]).
    pub fn record(&mut self, out: LayerOutput) -> Result<()> {
        match self.layers.iter_mut().find(|(name, _)| name == out.layer) {
            Some((_, batches)) => batches.push(out.value.clone()),
            None => self
                .layers
                .push((out.layer.to_owned(), vec![out.value.clone()])),
        }
        Ok(())
    }

    /// Creates the directory and writes `<layer>.npy` per layer; returns the files written.
    pub fn finish(self) -> Result<Vec<PathBuf>> {
        let io = |layer: &str, path: &Path, e: std::io::Error| ExecError::Dump {
            layer: layer.to_owned(),
            source: Box::new(hailo_npz::NpyError::Io {
                path: path.to_path_buf(),
                source: e,
            }),
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| io("", &self.dir, e))?;
        let mut written = Vec::new();
        for (layer, batches) in self.layers {
            let views: Vec<_> = batches.iter().map(ArrayD::view).collect();
            let all = concatenate(Axis(0), &views).map_err(|e| ExecError::Layer {
                layer: layer.clone(),
                op: "dump",
                message: format!("batches have inconsistent shapes: {e}"),
            })?;
            let file: String = layer
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let path = self.dir.join(format!("{file}.npy"));
            write_npy(&path, &NpyArray::F32(all)).map_err(|source| ExecError::Dump {
                layer: layer.clone(),
                source: Box::new(source),
            })?;
            written.push(path);
        }
        Ok(written)
    }
}
