//! Reading a model's input data from disk, the one reader behind `hailo infer --input` and
//! `hailo optimize --calib-set-path` (and tests), so both commands take the same files the
//! same way and report the same mistakes the same way.
//!
//! Formats, as the DFC takes them (guide §4.3.1, §4.3.2):
//! - a `.npy` holding the single input of a single-input model;
//! - an `.npz` with one member per input, keyed by the input layer name (`input_layer1`),
//!   the scoped name (`net/input_layer1`, when the network name is given) or the original
//!   framework name; or, with [`Source::member`], the one member holding a single input;
//! - a directory of `.npy` files (single-input models), concatenated in name order.
//!
//! Samples are on axis 0. A file without the batch axis (rank one less than the input) holds
//! one sample. Rank-4 data is NHWC as the model takes it; [`Layout::Nchw`] transposes it.
//! Float16/float64 data is converted to float32; other dtypes are refused rather than
//! converted, because integer data has almost always skipped the model's preprocessing.
//!
//! [`Purpose`] holds the only differences between the two commands: calibration refuses
//! non-finite values (one NaN poisons every range statistic) and, for a single-input model,
//! takes the one unkeyed `.npz` member whose shape fits (the shared digits set holds `x_nchw`
//! and `x_nhwc`); inference lets NaNs propagate and wants every member keyed (or named with
//! [`Source::member`]). Each command words its shape error as its users and tests know it.
//!
//! Files are read through `hailo-guard` (via `hailo-npz`): only regular files, a sample
//! directory cannot reach outside itself through symlinks, and array sizes are budgeted.

use crate::TensorInfo;
use hailo_npz::{read_npy, read_npz, NpyArray};
use ndarray::{concatenate, ArrayD, Axis, IxDyn};
use std::path::Path;
use thiserror::Error;

/// A dataset that cannot be used for the model, with the file (and member) at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct DatasetError(String);

type Result<T> = std::result::Result<T, DatasetError>;

/// Axis order of rank-4 data on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Layout {
    /// As the model takes it.
    #[default]
    Nhwc,
    /// Transposed to NHWC on reading.
    Nchw,
}

impl Layout {
    /// The CLI spelling (`nhwc`, `nchw`).
    pub fn parse(s: &str) -> Option<Layout> {
        match s {
            "nhwc" => Some(Layout::Nhwc),
            "nchw" => Some(Layout::Nchw),
            _ => None,
        }
    }

    /// The CLI spelling.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Nhwc => "nhwc",
            Layout::Nchw => "nchw",
        }
    }
}

/// What the data is for (see the module documentation for what differs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Inputs to run (`hailo infer`).
    Inference,
    /// A calibration set (`hailo optimize`).
    Calibration,
}

/// Where a dataset is and how to read it.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// A `.npy`, an `.npz` or a directory of `.npy` files.
    pub path: &'a Path,
    pub layout: Layout,
    pub purpose: Purpose,
    /// For a single-input model: the `.npz` member holding the input (`--input-key`).
    pub member: Option<&'a str>,
    /// The network name, under which `.npz` keys may be scoped (`net/input_layer1`).
    pub net: Option<&'a str>,
}

/// The axis order taking NCHW data to NHWC.
const NCHW_TO_NHWC: [usize; 4] = [0, 2, 3, 1];

/// A shape without its sample axis (empty for a scalar).
fn per_sample(shape: &[usize]) -> &[usize] {
    shape.get(1..).unwrap_or(&[])
}

/// Whether data of `shape` (samples first) feeds `info`.
fn fits(shape: &[usize], info: &TensorInfo) -> bool {
    shape.len() == info.shape.len() && per_sample(shape) == per_sample(&info.shape)
}

/// The inputs as messages name them: `input_layer1 (original name 'input')`.
fn names(infos: &[TensorInfo]) -> String {
    infos
        .iter()
        .map(|i| match &i.original_name {
            Some(o) => format!("{} (original name '{o}')", i.name),
            None => i.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_f32(a: NpyArray, what: &str) -> Result<ArrayD<f32>> {
    match a {
        NpyArray::F32(a) => Ok(a),
        a @ (NpyArray::F16(_) | NpyArray::F64(_)) => Ok(a.to_f32()),
        other => Err(DatasetError(format!(
            "{what} has dtype {}; the model takes float32 data (apply the model's preprocessing and convert to float32)",
            other.dtype().name()
        ))),
    }
}

impl Source<'_> {
    /// One array per input of `inputs`, in their order, NHWC with samples on axis 0 (the
    /// same number for every input).
    pub fn read(&self, inputs: &[TensorInfo]) -> Result<Vec<ArrayD<f32>>> {
        let path = self.path;
        let data =
            if let Some(key) = self.member {
                self.read_member(key, inputs)?
            } else if path.is_dir() {
                let info = self.single(inputs, "a directory of .npy samples")?;
                vec![self.read_dir(info)?]
            } else {
                match path.extension().and_then(|e| e.to_str()) {
                    Some("npy") => {
                        let info = self.single(inputs, "a .npy file")?;
                        let a = read_npy(path).map_err(|e| DatasetError(e.to_string()))?;
                        vec![self.prepare(a, info, &path.display().to_string())?]
                    }
                    Some("npz") => self.read_keyed(inputs)?,
                    _ => return Err(self.error(
                        "unknown input format (expected .npy, .npz or a directory of .npy files)",
                    )),
                }
            };
        let counts: Vec<usize> = data.iter().map(|x| x.len_of(Axis(0))).collect();
        if counts.windows(2).any(|w| w[0] != w[1]) {
            let each: Vec<String> = inputs
                .iter()
                .zip(&counts)
                .map(|(i, c)| format!("{} {c}", i.name))
                .collect();
            return Err(self.error(&format!(
                "inputs have different sample counts: {}",
                each.join(", ")
            )));
        }
        Ok(data)
    }

    fn error(&self, msg: &str) -> DatasetError {
        DatasetError(format!("{}: {msg}", self.path.display()))
    }

    /// The one input of a model a `.npy` or a directory (`what`) can feed.
    fn single<'i>(&self, inputs: &'i [TensorInfo], what: &str) -> Result<&'i TensorInfo> {
        match inputs {
            [info] => Ok(info),
            _ => Err(self.error(&format!(
                "{what} holds one input but the model has {} inputs: {}; pass a .npz keyed by these names",
                inputs.len(),
                names(inputs)
            ))),
        }
    }

    /// Adds a missing batch axis and applies the layout to a shape, as [`Source::arrange`]
    /// does to the data.
    fn arranged_shape(&self, shape: &[usize], info: &TensorInfo) -> Vec<usize> {
        let mut s = shape.to_vec();
        if s.len() + 1 == info.shape.len() {
            s.insert(0, 1);
        }
        if self.layout == Layout::Nchw && s.len() == 4 {
            s = NCHW_TO_NHWC.iter().map(|&a| s[a]).collect();
        }
        s
    }

    fn arrange(&self, mut x: ArrayD<f32>, info: &TensorInfo) -> ArrayD<f32> {
        if x.ndim() + 1 == info.shape.len() {
            x = x.insert_axis(Axis(0));
        }
        if self.layout == Layout::Nchw && x.ndim() == 4 {
            x = x
                .permuted_axes(IxDyn(&NCHW_TO_NHWC))
                .as_standard_layout()
                .into_owned();
        }
        x
    }

    /// The array `what` (a file, or `file['member']`) as data for `info`: float32, arranged
    /// and checked.
    fn prepare(&self, a: NpyArray, info: &TensorInfo, what: &str) -> Result<ArrayD<f32>> {
        let x = self.arrange(to_f32(a, what)?, info);
        if !fits(x.shape(), info) {
            return Err(DatasetError(self.shape_error(x.shape(), info, what)));
        }
        if self.purpose == Purpose::Calibration {
            if let Some(pos) = x.iter().position(|v| !v.is_finite()) {
                return Err(DatasetError(format!(
                    "{what}: value at flat index {pos} is not finite (NaN or infinity); clean the calibration data"
                )));
            }
        }
        Ok(x)
    }

    fn shape_error(&self, s: &[usize], info: &TensorInfo, what: &str) -> String {
        let expected = per_sample(&info.shape);
        let mut msg = match self.purpose {
            Purpose::Inference => format!(
                "{what}: input {} has shape {s:?} but the model expects [N, {}] (NHWC)",
                names(std::slice::from_ref(info)),
                expected
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Purpose::Calibration => format!(
                "{what}: shape {s:?} does not fit input '{}' (samples x {expected:?}, NHWC)",
                info.name
            ),
        };
        if self.layout == Layout::Nhwc && s.len() == 4 && [s[2], s[3], s[1]] == expected {
            msg.push_str("; the data looks NCHW: pass --input-layout nchw");
        }
        msg
    }

    /// The directory's `.npy` files in name order, each one sample or a batch, concatenated.
    fn read_dir(&self, info: &TensorInfo) -> Result<ArrayD<f32>> {
        let files = hailo_guard::files::files_in(self.path, "npy")
            .map_err(|e| self.error(&e.to_string()))?;
        if files.is_empty() {
            return Err(self.error("the directory holds no .npy files"));
        }
        let parts = files
            .iter()
            .map(|f| {
                let a = read_npy(f).map_err(|e| DatasetError(e.to_string()))?;
                self.prepare(a, info, &f.display().to_string())
            })
            .collect::<Result<Vec<_>>>()?;
        let views: Vec<_> = parts.iter().map(ArrayD::view).collect();
        concatenate(Axis(0), &views).map_err(|e| self.error(&e.to_string()))
    }

    /// An `.npz` with one member per input, found by name.
    fn read_keyed(&self, inputs: &[TensorInfo]) -> Result<Vec<ArrayD<f32>>> {
        let mut members = read_npz(self.path).map_err(|e| DatasetError(e.to_string()))?;
        let keys: Vec<String> = members.iter().map(|(k, _)| k.clone()).collect();
        inputs
            .iter()
            .map(|info| {
                let scoped = self.net.map(|net| format!("{net}/{}", info.name));
                let named = [
                    Some(&info.name),
                    scoped.as_ref(),
                    info.original_name.as_ref(),
                ];
                let pos = match members.iter().position(|(k, _)| named.contains(&Some(k))) {
                    Some(pos) => pos,
                    None => self.unkeyed(&members, &keys, info, inputs.len())?,
                };
                let (key, a) = members.swap_remove(pos);
                self.prepare(a, info, &format!("{}['{key}']", self.path.display()))
            })
            .collect()
    }

    /// The position of the member standing for `info` when none is named after it: for
    /// calibrating a single-input model, the one member of a fitting shape.
    fn unkeyed(
        &self,
        members: &[(String, NpyArray)],
        keys: &[String],
        info: &TensorInfo,
        n_inputs: usize,
    ) -> Result<usize> {
        let missing = format!(
            "no array for input {}; the archive holds: {}",
            names(std::slice::from_ref(info)),
            keys.join(", ")
        );
        if self.purpose == Purpose::Inference || n_inputs != 1 {
            return Err(self.error(&missing));
        }
        let fitting: Vec<usize> = (0..members.len())
            .filter(|&i| fits(&self.arranged_shape(members[i].1.shape(), info), info))
            .collect();
        match fitting[..] {
            [one] => Ok(one),
            _ => Err(self.error(&format!(
                "{missing}; {} array(s) of a fitting shape: name the array after the input layer{}",
                fitting.len(),
                if self.layout == Layout::Nhwc {
                    " (or pass --input-layout nchw for NCHW data)"
                } else {
                    ""
                }
            ))),
        }
    }

    /// Member `key` of the `.npz`, as the one input of a single-input model.
    fn read_member(&self, key: &str, inputs: &[TensorInfo]) -> Result<Vec<ArrayD<f32>>> {
        let [info] = inputs else {
            return Err(DatasetError(format!(
                "--input-key needs a single-input model; this one has {}: {}",
                inputs.len(),
                names(inputs)
            )));
        };
        let members = read_npz(self.path).map_err(|e| DatasetError(e.to_string()))?;
        let keys: Vec<String> = members.iter().map(|(k, _)| k.clone()).collect();
        let Some((_, a)) = members.into_iter().find(|(k, _)| k == key) else {
            return Err(self.error(&format!(
                "no member '{key}'; the archive holds: {}",
                keys.join(", ")
            )));
        };
        let what = format!("{}['{key}']", self.path.display());
        Ok(vec![self.prepare(a, info, &what)?])
    }
}

/// The calibration set as a pass resource: one array per graph input, samples on axis 0,
/// NHWC (what [`Source::read`] returns). Drivers provide it to data-driven passes.
#[derive(Clone, Debug)]
pub struct CalibrationSet(pub Vec<ArrayD<f32>>);

impl CalibrationSet {
    /// Samples per input (of input 0; the reader checks the others agree).
    pub fn len(&self) -> usize {
        self.0
            .first()
            .and_then(|x| x.shape().first().copied())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::{DatasetError, Layout, Purpose, Source};
    use crate::TensorInfo;
    use hailo_npz::{write_npy, write_npz, NpyArray};
    use ndarray::{ArrayD, IxDyn};
    use std::path::{Path, PathBuf};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hailo-dataset-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    /// An input taking `[N, 2, 2, 3]`.
    fn input(name: &str, original: Option<&str>) -> TensorInfo {
        TensorInfo {
            name: name.into(),
            original_name: original.map(str::to_owned),
            shape: vec![1, 2, 2, 3],
        }
    }

    /// `n` samples of `shape` counting up from `start`.
    fn counting(shape: &[usize], start: f32) -> ArrayD<f32> {
        let len = shape.iter().product::<usize>();
        ArrayD::from_shape_vec(IxDyn(shape), (0..len).map(|i| start + i as f32).collect())
            .expect("shape")
    }

    fn source(path: &Path, purpose: Purpose) -> Source<'_> {
        Source {
            path,
            layout: Layout::Nhwc,
            purpose,
            member: None,
            net: None,
        }
    }

    #[test]
    fn a_npy_feeds_the_single_input_and_gains_a_missing_batch_axis() {
        let dir = scratch("npy");
        let batch = dir.join("batch.npy");
        let x = counting(&[2, 2, 2, 3], 0.0);
        write_npy(&batch, &NpyArray::F32(x.clone())).expect("write");
        let got = source(&batch, Purpose::Inference).read(&[input("input_layer1", None)]);
        assert_eq!(got, Ok(vec![x]));
        let one = dir.join("one.npy");
        let sample = counting(&[2, 2, 3], 5.0);
        write_npy(&one, &NpyArray::F64(sample.mapv(f64::from))).expect("write");
        let got = source(&one, Purpose::Inference).read(&[input("input_layer1", None)]);
        assert_eq!(got, Ok(vec![sample.insert_axis(ndarray::Axis(0))]));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn npz_members_are_found_by_layer_scoped_or_original_name() {
        let dir = scratch("npz");
        let path = dir.join("x.npz");
        let (a, b, c) = (
            counting(&[1, 2, 2, 3], 0.0),
            counting(&[1, 2, 2, 3], 100.0),
            counting(&[1, 2, 2, 3], 200.0),
        );
        write_npz(
            &path,
            &[
                ("images", NpyArray::F32(c.clone())),
                ("net/in2", NpyArray::F32(b.clone())),
                ("in1", NpyArray::F32(a.clone())),
            ],
        )
        .expect("write");
        let inputs = [
            input("in1", None),
            input("in2", None),
            input("in3", Some("images")),
        ];
        let mut src = source(&path, Purpose::Inference);
        src.net = Some("net");
        assert_eq!(src.read(&inputs), Ok(vec![a, b, c.clone()]));
        src.member = Some("images");
        assert_eq!(src.read(&inputs[2..]), Ok(vec![c]));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn nchw_data_is_transposed_to_nhwc() {
        let dir = scratch("nchw");
        let path = dir.join("x.npy");
        // One sample, C = 3, H = W = 2: value = 10 * c + 2 * h + w.
        let nchw = ArrayD::from_shape_fn(IxDyn(&[1, 3, 2, 2]), |i| {
            (10 * i[1] + 2 * i[2] + i[3]) as f32
        });
        write_npy(&path, &NpyArray::F32(nchw)).expect("write");
        let mut src = source(&path, Purpose::Calibration);
        src.layout = Layout::Nchw;
        let got = src.read(&[input("input_layer1", None)]).expect("reads");
        assert_eq!(got[0].shape(), [1, 2, 2, 3]);
        assert_eq!(got[0][[0, 1, 0, 2]], 22.0);
        assert_eq!(got[0][[0, 0, 1, 1]], 11.0);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_directory_concatenates_its_samples_in_name_order() {
        let dir = scratch("dir");
        let (s0, s1) = (counting(&[2, 2, 3], 0.0), counting(&[2, 2, 3], 50.0));
        write_npy(dir.join("b.npy"), &NpyArray::F32(s1.clone())).expect("write");
        write_npy(dir.join("a.npy"), &NpyArray::F32(s0.clone())).expect("write");
        let got = source(&dir, Purpose::Inference)
            .read(&[input("input_layer1", None)])
            .expect("reads");
        let want = ndarray::stack(ndarray::Axis(0), &[s0.view(), s1.view()]).expect("stack");
        assert_eq!(got, vec![want]);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn wrong_shapes_dtypes_and_names_give_exact_errors() {
        let dir = scratch("errors");
        let p = dir.join("nchw.npy");
        write_npy(&p, &NpyArray::F32(counting(&[4, 3, 2, 2], 0.0))).expect("write");
        let inputs = [input("input_layer1", Some("input"))];
        let shown = p.display();
        assert_eq!(
            source(&p, Purpose::Inference).read(&inputs),
            Err(DatasetError(format!(
                "{shown}: input input_layer1 (original name 'input') has shape [4, 3, 2, 2] but \
                 the model expects [N, 2, 2, 3] (NHWC); the data looks NCHW: pass --input-layout nchw"
            )))
        );
        assert_eq!(
            source(&p, Purpose::Calibration).read(&inputs),
            Err(DatasetError(format!(
                "{shown}: shape [4, 3, 2, 2] does not fit input 'input_layer1' (samples x [2, 2, 3], \
                 NHWC); the data looks NCHW: pass --input-layout nchw"
            )))
        );
        let ints = dir.join("ints.npy");
        write_npy(&ints, &NpyArray::U8(ArrayD::zeros(IxDyn(&[1, 2, 2, 3])))).expect("write");
        assert_eq!(
            source(&ints, Purpose::Calibration).read(&inputs),
            Err(DatasetError(format!(
                "{} has dtype uint8; the model takes float32 data (apply the model's \
                 preprocessing and convert to float32)",
                ints.display()
            )))
        );
        let z = dir.join("keys.npz");
        write_npz(
            &z,
            &[("images", NpyArray::F32(counting(&[1, 2, 2, 3], 0.0)))],
        )
        .expect("write");
        assert_eq!(
            source(&z, Purpose::Inference).read(&inputs),
            Err(DatasetError(format!(
                "{}: no array for input input_layer1 (original name 'input'); the archive holds: images",
                z.display()
            )))
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn calibration_takes_the_one_fitting_member_and_refuses_nan() {
        let dir = scratch("calib");
        let z = dir.join("digits.npz");
        let x = counting(&[2, 2, 2, 3], 0.0);
        let nchw = x.view().permuted_axes(IxDyn(&[0, 3, 1, 2])).to_owned();
        write_npz(
            &z,
            &[
                ("x_nchw", NpyArray::F32(nchw)),
                ("x_nhwc", NpyArray::F32(x.clone())),
                ("y", NpyArray::I64(ArrayD::zeros(IxDyn(&[2])))),
            ],
        )
        .expect("write");
        let inputs = [input("input_layer1", None)];
        assert_eq!(source(&z, Purpose::Calibration).read(&inputs), Ok(vec![x]));
        let mut bad = counting(&[2, 2, 2, 3], 0.0);
        bad[[1, 0, 1, 2]] = f32::NAN;
        let p = dir.join("nan.npy");
        write_npy(&p, &NpyArray::F32(bad)).expect("write");
        assert_eq!(
            source(&p, Purpose::Calibration).read(&inputs),
            Err(DatasetError(format!(
                "{}: value at flat index 17 is not finite (NaN or infinity); clean the calibration data",
                p.display()
            )))
        );
        assert!(source(&p, Purpose::Inference).read(&inputs).is_ok());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
