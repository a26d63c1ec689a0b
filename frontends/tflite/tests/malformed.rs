//! Corrupt input never panics: truncations, byte flips and random bytes all
//! yield either a graph or a `TfliteError`.

mod common;

use hailo_tflite::flatbuf::{Problem, Table};
use hailo_tflite::schema::Model;
use hailo_tflite::{read_tflite, TfliteError};
use proptest::prelude::*;

fn digits_bytes() -> Vec<u8> {
    std::fs::read(common::shared_model("digits_cnn.tflite")).unwrap()
}

/// Byte ranges of the file that are not constant-buffer payload (tables,
/// vtables, vectors of indices, strings): where corruption matters.
fn structural_offsets(bytes: &[u8]) -> Vec<usize> {
    let model = Model::parse(bytes).unwrap();
    let base = bytes.as_ptr() as usize;
    let payload: Vec<(usize, usize)> = model
        .buffers
        .iter()
        .filter(|b| b.data.len() > 64)
        .map(|b| (b.data.as_ptr() as usize - base, b.data.len()))
        .collect();
    (0..bytes.len())
        .filter(|&i| !payload.iter().any(|&(s, n)| i >= s && i < s + n))
        .collect()
}

#[test]
fn truncation_at_many_offsets_never_panics() {
    let bytes = digits_bytes();
    let mut errors = 0;
    let offsets = (0..2048)
        .chain((2048..bytes.len()).step_by(331))
        .chain(structural_offsets(&bytes));
    for len in offsets {
        if read_tflite(&bytes[..len]).is_err() {
            errors += 1;
        }
    }
    assert!(errors > 2048, "truncated files must fail, {errors} errors");
}

#[test]
fn truncated_file_reports_offset() {
    let bytes = digits_bytes();
    let err = read_tflite(&bytes[..bytes.len() / 2]).unwrap_err();
    match err {
        TfliteError::Flatbuffer(e) => {
            assert!(
                matches!(e.problem, Problem::OutOfBounds { len, .. } if len == bytes.len() / 2),
                "{e}"
            );
            assert!(
                e.to_string().starts_with("malformed TFLite flatbuffer: "),
                "{e}"
            );
        }
        other => panic!("expected a flatbuffer error, got {other}"),
    }
    assert!(matches!(
        read_tflite(&bytes[..5]),
        Err(TfliteError::TooShort { len: 5 })
    ));
    let mut wrong_ident = bytes.clone();
    wrong_ident[4..8].copy_from_slice(b"ONNX");
    assert_eq!(
        read_tflite(&wrong_ident).unwrap_err().to_string(),
        "not a TFLite model: file identifier at byte offset 4 is \"ONNX\", expected \"TFL3\""
    );
}

#[test]
fn byte_flips_in_structure_never_panic() {
    let bytes = digits_bytes();
    let offsets = structural_offsets(&bytes);
    let (mut ok, mut failed) = (0, 0);
    let mut corrupt = bytes.clone();
    for &i in &offsets {
        for pattern in [0xFF, 0x80, 0x01] {
            corrupt[i] ^= pattern;
            match read_tflite(&corrupt) {
                Ok(_) => ok += 1,
                Err(_) => failed += 1,
            }
            corrupt[i] = bytes[i];
        }
    }
    assert!(
        failed > offsets.len() / 4,
        "{failed} errors, {ok} successes over {} offsets",
        offsets.len()
    );
}

#[test]
fn out_of_range_input_index_in_real_model() {
    let bytes = digits_bytes();
    // Locate operator 1's `inputs` vector with the generic reader and corrupt input 1.
    let root = Table::root(&bytes, "Model").unwrap();
    let sg = root.tables(2, "subgraphs", "SubGraph").unwrap()[0];
    let op = sg.tables(3, "operators", "Operator").unwrap()[1];
    let inputs = op.vector(1, "inputs", 4).unwrap().unwrap();
    let mut corrupt = bytes.clone();
    let at = inputs.offset() + 4;
    corrupt[at..at + 4].copy_from_slice(&99i32.to_le_bytes());
    let err = read_tflite(&corrupt).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "operator 1 (CONV_2D) input 1 tensor at byte offset {}: index 99 is out of range (there are 19)",
            op.offset()
        )
    );
}

#[test]
fn wrong_union_type_in_real_model() {
    let bytes = digits_bytes();
    let root = Table::root(&bytes, "Model").unwrap();
    let sg = root.tables(2, "subgraphs", "SubGraph").unwrap()[0];
    let op = sg.tables(3, "operators", "Operator").unwrap()[1];
    let mut corrupt = bytes.clone();
    corrupt[op.field_offset(3, "builtin_options_type")] = 22; // PadOptions on a CONV_2D
    let err = read_tflite(&corrupt).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "operator 1 (CONV_2D) at byte offset {}: builtin_options has union type 22, expected 1 (Conv2DOptions)",
            op.offset()
        )
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(mut data in proptest::collection::vec(any::<u8>(), 0..512), ident in any::<bool>()) {
        if ident && data.len() >= 8 {
            data[4..8].copy_from_slice(b"TFL3");
        }
        let _ = read_tflite(&data);
    }

    #[test]
    fn random_patches_of_real_model_never_panic(patches in proptest::collection::vec((0usize..4096, any::<u8>()), 1..8)) {
        let mut bytes = digits_bytes();
        for (pos, value) in patches {
            let structural = bytes.len() - 4096 + pos; // converter output keeps tables at both ends
            bytes[structural] = value;
            bytes[pos] = value;
        }
        let _ = read_tflite(&bytes);
    }
}
