//! Reads the real `.npz` files of the shared model corpus and checks round trips,
//! determinism and error reporting of the writers.

use hailo_npz::{
    decode_npy, encode_npy, read_npy, read_npz, write_npy, write_npz, write_npz_compressed, DType,
    NpyArray, NpyError,
};
use half::f16;
use ndarray::{ArrayD, Axis, IxDyn};
use std::path::{Path, PathBuf};

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/models")
}

/// A fresh scratch directory per test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("hailo-npz-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }
    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("list scratch dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn keys(arrays: &[(String, NpyArray)]) -> Vec<&str> {
    arrays.iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn digits_test_has_consistent_layouts_and_labels() {
    let arrays = read_npz(models().join("digits_test.npz")).expect("read digits_test.npz");
    assert_eq!(keys(&arrays), ["x_nchw", "x_nhwc", "y", "index"]);
    let (NpyArray::F32(nchw), NpyArray::F32(nhwc), NpyArray::I64(y)) =
        (&arrays[0].1, &arrays[1].1, &arrays[2].1)
    else {
        panic!("unexpected dtypes");
    };
    assert_eq!(nchw.shape(), &[359, 3, 32, 32]);
    assert_eq!(nhwc.shape(), &[359, 32, 32, 3]);
    assert_eq!(y.shape(), &[359]);
    // The two layouts hold the same data: this fails if element decoding or order is wrong.
    assert_eq!(nchw.view().permuted_axes(IxDyn(&[0, 2, 3, 1])), nhwc.view());
    assert!(nhwc.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(y.iter().all(|v| (0..10).contains(v)));
    let mut counts = [0usize; 10];
    y.iter().for_each(|&v| counts[v as usize] += 1);
    assert!(
        counts.iter().all(|&c| c > 20),
        "every digit occurs: {counts:?}"
    );
}

#[test]
fn reference_files_have_inputs_then_outputs() {
    for (file, input, output, in_shape, out_shape) in [
        (
            "resnet18_ref.npz",
            "input",
            "logits",
            vec![4, 3, 224, 224],
            vec![4, 1000],
        ),
        (
            "digits_cnn_opset13_ref.npz",
            "input",
            "logits",
            vec![4, 3, 32, 32],
            vec![4, 10],
        ),
        (
            "digits_cnn_tflite_ref.npz",
            "serving_default_input:0",
            "StatefulPartitionedCall_1:0",
            vec![4, 32, 32, 3],
            vec![4, 10],
        ),
    ] {
        let arrays = read_npz(models().join(file)).expect(file);
        assert_eq!(keys(&arrays), [input, output], "{file}");
        assert_eq!(arrays[0].1.shape(), in_shape.as_slice(), "{file}");
        assert_eq!(arrays[1].1.shape(), out_shape.as_slice(), "{file}");
        assert_eq!(arrays[1].1.dtype(), DType::F32);
        assert!(arrays[1].1.to_f32().iter().all(|v| v.is_finite()));
    }
    let calib = read_npz(models().join("calib_image_like_224.npz")).expect("calib");
    assert_eq!(keys(&calib), ["images"]);
    let NpyArray::U8(images) = &calib[0].1 else {
        panic!("calibration images are uint8")
    };
    assert_eq!(images.shape(), &[64, 224, 224, 3]);
    let max = images.iter().copied().max();
    assert!(
        max > Some(200),
        "image-like data spans the uint8 range: {max:?}"
    );
}

#[test]
fn real_archive_round_trips_byte_identically() {
    let scratch = Scratch::new("roundtrip");
    let arrays = read_npz(models().join("digits_cnn_opset17_ref.npz")).expect("read");
    let (a, b) = (scratch.path("a.npz"), scratch.path("b.npz"));
    write_npz(&a, &arrays).expect("write a");
    write_npz(&b, &arrays).expect("write b");
    assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
    assert_eq!(read_npz(&a).expect("read back"), arrays);
    let c = scratch.path("c.npz");
    write_npz_compressed(&c, &arrays).expect("write compressed");
    assert!(std::fs::metadata(&c).expect("c").len() < std::fs::metadata(&a).expect("a").len());
    assert_eq!(read_npz(&c).expect("read compressed"), arrays);
    assert_eq!(
        scratch.entries(),
        ["a.npz", "b.npz", "c.npz"],
        "no temporary files left"
    );
}

fn sample_arrays() -> Vec<(String, NpyArray)> {
    let shape = IxDyn(&[2, 3]);
    let ramp = |scale: f64| (0..6).map(move |i| (i as f64 - 2.5) * scale);
    let arrays: Vec<NpyArray> = vec![
        ArrayD::from_shape_vec(shape.clone(), vec![true, false, true, true, false, false])
            .expect("bool")
            .into(),
        ArrayD::from_shape_vec(shape.clone(), ramp(40.0).map(|v| v as i8).collect())
            .expect("i8")
            .into(),
        ArrayD::from_shape_vec(shape.clone(), (250..=255).collect::<Vec<u8>>())
            .expect("u8")
            .into(),
        ArrayD::from_shape_vec(shape.clone(), ramp(1e4).map(|v| v as i16).collect())
            .expect("i16")
            .into(),
        ArrayD::from_shape_vec(
            shape.clone(),
            (0..6).map(|i| 65_530 + i).collect::<Vec<u16>>(),
        )
        .expect("u16")
        .into(),
        ArrayD::from_shape_vec(shape.clone(), ramp(1e9).map(|v| v as i32).collect())
            .expect("i32")
            .into(),
        ArrayD::from_shape_vec(
            shape.clone(),
            (0..6).map(|i| u32::MAX - i).collect::<Vec<u32>>(),
        )
        .expect("u32")
        .into(),
        ArrayD::from_shape_vec(shape.clone(), ramp(1e18).map(|v| v as i64).collect())
            .expect("i64")
            .into(),
        ArrayD::from_shape_vec(
            shape.clone(),
            (0..6).map(|i| u64::MAX - i).collect::<Vec<u64>>(),
        )
        .expect("u64")
        .into(),
        ArrayD::from_shape_vec(shape.clone(), ramp(0.25).map(f16::from_f64).collect())
            .expect("f16")
            .into(),
        ArrayD::from_shape_vec(shape.clone(), ramp(1.5e-3).map(|v| v as f32).collect())
            .expect("f32")
            .into(),
        ArrayD::from_shape_vec(shape, ramp(1e300).collect())
            .expect("f64")
            .into(),
        ArrayD::from_elem(IxDyn(&[]), 7.0f32).into(),
        ArrayD::<f32>::zeros(IxDyn(&[0, 3])).into(),
    ];
    arrays
        .into_iter()
        .enumerate()
        .map(|(i, a)| (format!("a{i}_{}", a.dtype().name()), a))
        .collect()
}

#[test]
fn every_dtype_round_trips_through_npy_and_npz() {
    let scratch = Scratch::new("dtypes");
    let arrays = sample_arrays();
    for (name, array) in &arrays {
        let path = scratch.path(&format!("{name}.npy"));
        write_npy(&path, array).expect("write npy");
        assert_eq!(&read_npy(&path).expect("read npy"), array, "{name}");
    }
    let npz = scratch.path("all.npz");
    write_npz(&npz, &arrays).expect("write npz");
    assert_eq!(read_npz(&npz).expect("read npz"), arrays);
}

#[test]
fn fortran_order_and_big_endian_decode_to_c_order() {
    // Re-encode a C-order f64 array as big-endian Fortran order by hand.
    let a =
        ArrayD::from_shape_vec(IxDyn(&[2, 3, 2]), (0..12).map(f64::from).collect()).expect("shape");
    let dict = "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3, 2), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    let fortran = a.t(); // Fortran order of `a` is C order of its transpose.
    fortran
        .iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_be_bytes()));
    assert_eq!(
        decode_npy(&bytes).expect("decode"),
        NpyArray::F64(a.clone())
    );
    // And our own encoding of the result is plain little-endian C order.
    let encoded = encode_npy(&NpyArray::F64(a.clone()));
    let data = &encoded[encoded.len() - 96..];
    assert_eq!(data[8..16], 1.0f64.to_le_bytes());
    assert_eq!(a.index_axis(Axis(0), 1)[[0, 0]], 6.0);
}

#[test]
fn errors_name_the_file_and_member() {
    let scratch = Scratch::new("errors");
    let missing = scratch.path("missing.npz");
    let err = read_npz(&missing).expect_err("missing file");
    assert!(matches!(err, NpyError::Io { .. }));
    assert!(err.to_string().contains("missing.npz"), "{err}");

    let err = read_npz(models().join("digits_cnn.tflite")).expect_err("not a zip");
    assert!(
        err.to_string().starts_with(&format!(
            "{}: invalid or unsupported zip archive",
            models().join("digits_cnn.tflite").display()
        )),
        "{err}"
    );

    let err = read_npy(models().join("README.md")).expect_err("not npy");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not a .npy file: the first 6 bytes are not \\x93NUMPY",
            models().join("README.md").display()
        )
    );

    // An archive whose second member is truncated .npy data.
    let bad = scratch.path("bad.npz");
    let good = encode_npy(&NpyArray::F32(ArrayD::zeros(IxDyn(&[4]))));
    {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&bad).expect("create"));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("ok.npy", options).expect("start");
        zip.write_all(&good).expect("write");
        zip.start_file("broken.npy", options).expect("start");
        zip.write_all(&good[..good.len() - 3]).expect("write");
        zip.start_file("notes.txt", options).expect("start");
        zip.finish().expect("finish");
    }
    let err = read_npz(&bad).expect_err("truncated member");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: member 'broken.npy': data section has 13 bytes but shape [4] of float32 needs 16",
            bad.display()
        )
    );

    let arrays = sample_arrays();
    let dup = [("x", &arrays[0].1), ("x", &arrays[1].1)];
    let err = write_npz(scratch.path("dup.npz"), &dup).expect_err("duplicate");
    assert!(matches!(err, NpyError::DuplicateName { ref name, .. } if name == "x"));
    let err = write_npz(scratch.path("no/such/dir.npz"), &arrays).expect_err("no dir");
    assert!(matches!(err, NpyError::Io { .. }));
    assert_eq!(
        scratch.entries(),
        ["bad.npz"],
        "failed writes leave nothing behind"
    );
}
