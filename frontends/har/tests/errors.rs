//! Bad archives give errors naming the problem, never panics; failed writes leave no file.

mod common;

use common::{ctx, module, scratch};
use hailo_har::{
    read_har, read_members, write_har, write_members, HarError, HarMetadata, METADATA_MEMBER,
};
use std::path::{Path, PathBuf};

fn written(test: &str, gzip: bool) -> (PathBuf, Vec<u8>) {
    let ctx = ctx();
    let path = scratch(test).join("tiny.har");
    write_har(&module(&ctx), &ctx, &HarMetadata::default(), &path, gzip).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

fn read_err(path: &Path) -> HarError {
    match read_har(path, &ctx()) {
        Ok(_) => panic!("{} read without error", path.display()),
        Err(e) => e,
    }
}

/// Members of the written archive with `edit` applied, re-archived at a new path.
fn edited(test: &str, edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> PathBuf {
    let (path, _) = written(test, false);
    let mut members = read_members(&path).unwrap();
    edit(&mut members);
    let out = path.with_file_name("edited.har");
    write_members(&out, &members, false).unwrap();
    out
}

#[test]
fn missing_file_names_the_path() {
    let path = scratch("missing").join("nope.har");
    let e = read_err(&path);
    assert!(matches!(e, HarError::Io { .. }));
    assert!(e.to_string().contains("nope.har"), "{e}");
}

#[test]
fn text_file_is_not_a_tar() {
    let path = scratch("not_tar").join("x.har");
    std::fs::write(&path, "this is a model script, not an archive\n".repeat(40)).unwrap();
    let e = read_err(&path);
    assert!(e.to_string().contains("not a tar archive"), "{e}");
    std::fs::write(&path, "").unwrap();
    assert!(read_err(&path)
        .to_string()
        .contains("not a tar archive: the file is empty"));
}

#[test]
fn every_truncation_is_an_error_or_a_complete_archive() {
    let (path, bytes) = written("truncated", false);
    let members = read_members(&path).unwrap();
    // Up to the last data byte of the last member, a cut loses data; after it, only padding.
    let padded: usize = members
        .iter()
        .map(|(_, d)| 512 + d.len().next_multiple_of(512))
        .sum();
    let last = members.last().unwrap().1.len();
    let complete = padded - last.next_multiple_of(512) + last;
    let cut = path.with_file_name("cut.har");
    for len in (0..bytes.len())
        .step_by(61)
        .chain([511, 512, 513, complete - 1, complete, padded])
    {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        match read_har(&cut, &ctx()) {
            Err(e) => {
                assert!(len < complete, "cut at {len} of a complete archive: {e}");
                assert!(
                    matches!(e, HarError::Tar { .. } | HarError::MissingMember { .. }),
                    "cut at {len}: {e}"
                );
            }
            Ok(_) => assert!(len >= complete, "cut at {len} read fine"),
        }
    }
    std::fs::write(&cut, &bytes[..1000]).unwrap();
    let e = read_err(&cut);
    assert!(e.to_string().contains("truncated archive"), "{e}");
}

#[test]
fn truncated_gzip_is_reported() {
    let (path, bytes) = written("gzip_cut", true);
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = read_err(&path);
    assert!(matches!(e, HarError::Gzip { .. }), "{e}");
    assert!(e.to_string().contains("corrupt gzip stream"), "{e}");
}

#[test]
fn corrupted_header_is_located() {
    let (path, mut bytes) = written("bad_header", false);
    // The second member's header starts after the first member (metadata) and its data.
    let first = read_members(&path).unwrap()[0].1.len();
    let second = 512 + first.next_multiple_of(512);
    bytes[second + 3] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();
    match read_err(&path) {
        HarError::Tar {
            offset, message, ..
        } => {
            assert_eq!(offset, second);
            assert!(message.contains("checksum mismatch"), "{message}");
        }
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn modified_member_fails_its_checksum() {
    let out = edited("checksum", |members| {
        let hn = members.iter_mut().find(|(n, _)| n == "tiny.hn").unwrap();
        let text = String::from_utf8(hn.1.clone())
            .unwrap()
            .replacen("\"relu\"", "\"relu6\"", 1);
        hn.1 = text.into_bytes();
    });
    match read_err(&out) {
        HarError::Checksum {
            member,
            expected,
            actual,
            ..
        } => {
            assert_eq!(member, "tiny.hn");
            assert_ne!(expected, actual);
        }
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn missing_npz_is_named() {
    let out = edited("missing_npz", |members| {
        members.retain(|(n, _)| n != "tiny.npz")
    });
    let e = read_err(&out);
    assert!(
        matches!(&e, HarError::MissingMember { member, .. } if member == "'tiny.npz'"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("members present: [hailo_rs_metadata.json, tiny.hn]"),
        "{e}"
    );
}

#[test]
fn archive_without_hn_or_metadata_is_rejected() {
    let out = edited("no_hn", |members| members.retain(|(n, _)| n == "tiny.npz"));
    let e = read_err(&out);
    assert!(
        e.to_string().contains("exactly one '<net>.hn' (found 0)"),
        "{e}"
    );
}

#[test]
fn bad_json_reports_member_line_and_column() {
    let out = edited("bad_meta_json", |members| {
        members
            .iter_mut()
            .find(|(n, _)| n == METADATA_MEMBER)
            .unwrap()
            .1 = b"{\n  \"format\": oops\n}".to_vec();
    });
    match read_err(&out) {
        HarError::Json {
            member,
            line,
            column,
            ..
        } => assert_eq!((member.as_str(), line, column), (METADATA_MEMBER, 2, 13)),
        e => panic!("unexpected {e}"),
    }
    let out = edited("bad_hn_json", |members| {
        members.retain(|(n, _)| n != METADATA_MEMBER);
        members.iter_mut().find(|(n, _)| n == "tiny.hn").unwrap().1 =
            b"{\"name\": \"tiny\", \"layers\": [1]}".to_vec();
    });
    match read_err(&out) {
        HarError::Json {
            member, message, ..
        } => {
            assert_eq!(member, "tiny.hn");
            assert!(
                message.contains("an object of layers keyed by scoped layer name"),
                "{message}"
            );
        }
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn broken_embedded_ir_is_located() {
    let out = edited("bad_ir", |members| {
        let meta = members
            .iter_mut()
            .find(|(n, _)| n == METADATA_MEMBER)
            .unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&meta.1).unwrap();
        v["module_ir"] = "builtin.module @tiny {\n  %0 = \n}\n".into();
        meta.1 = serde_json::to_vec(&v).unwrap();
    });
    let e = read_err(&out);
    assert!(matches!(e, HarError::Ir { .. }), "{e}");
    assert!(e.to_string().contains("hailo_rs_metadata.json:3:1"), "{e}");
}

/// The foreign-HAR path with the HN passed through `edit`.
fn foreign_with(test: &str, edit: impl FnOnce(&mut serde_json::Value)) -> HarError {
    let out = edited(test, |members| {
        members.retain(|(n, _)| n != METADATA_MEMBER);
        let hn = members.iter_mut().find(|(n, _)| n == "tiny.hn").unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&hn.1).unwrap();
        edit(&mut v);
        hn.1 = serde_json::to_vec(&v).unwrap();
    });
    read_err(&out)
}

#[test]
fn unsupported_layer_types_are_all_listed() {
    let e = foreign_with("unsupported", |hn| {
        hn["layers"]["tiny/conv1"]["type"] = "super_conv".into();
        hn["layers"]["tiny/reshape1"]["type"] = "format_conversion".into();
    });
    match &e {
        HarError::UnsupportedLayers {
            layers, supported, ..
        } => {
            let expected = [
                ("tiny/conv1", "super_conv"),
                ("tiny/reshape1", "format_conversion"),
            ];
            assert_eq!(
                layers
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect::<Vec<_>>(),
                expected
            );
            assert!(
                supported.contains("conv, dw, deconv") && supported.contains("reduce_l2"),
                "{supported}"
            );
        }
        e => panic!("unexpected {e}"),
    }
    assert!(
        e.to_string().contains("'tiny/conv1' (type 'super_conv')"),
        "{e}"
    );
}

#[test]
fn inconsistent_hn_names_the_layer() {
    let e = foreign_with("dangling", |hn| {
        hn["layers"]["tiny/dw1"]["input"] = serde_json::json!(["tiny/conv9"])
    });
    assert_eq!(
        e.to_string().split(".har: ").nth(1).unwrap(),
        "HN layer 'tiny/dw1': input 'tiny/conv9' is not a layer of this HN"
    );
    let e = foreign_with("fused_add", |hn| {
        hn["layers"]["tiny/conv1"]["params"]["elementwise_add"] = true.into()
    });
    assert!(
        e.to_string()
            .contains("'tiny/conv1': has 'elementwise_add: true'"),
        "{e}"
    );
    let e = foreign_with("bad_shape", |hn| {
        hn["layers"]["tiny/fc1"]["output_shapes"] = serde_json::json!([[-1, "ten"]])
    });
    assert!(
        e.to_string()
            .contains("'tiny/fc1': 'output_shapes' must be a list of shapes"),
        "{e}"
    );
}

#[test]
fn broken_npz_is_named() {
    let out = edited("no_kernel", |members| {
        members.retain(|(n, _)| n != METADATA_MEMBER);
        let npz = members.iter_mut().find(|(n, _)| n == "tiny.npz").unwrap();
        npz.1 = b"PK\x03\x04 broken".to_vec();
    });
    let e = read_err(&out);
    assert!(
        matches!(&e, HarError::Npz { member, .. } if member == "tiny.npz"),
        "{e}"
    );
}

#[test]
fn failed_write_leaves_no_file_and_keeps_the_old_one() {
    let ctx = ctx();
    let dir = scratch("atomic");
    let path = dir.join("dup.har");
    // Two ops named conv1: not a valid HN.
    let src = common::source().replace("layer = \"dw1\"", "layer = \"conv1\"");
    let bad = hailo_ir::parse_module(&ctx, "dup.hir", &src).unwrap();
    let e = write_har(&bad, &ctx, &HarMetadata::default(), &path, false).unwrap_err();
    assert!(
        e.to_string()
            .contains("layer name 'conv1' is used by more than one op"),
        "{e}"
    );
    assert!(!path.exists());
    // An existing archive survives a failed overwrite.
    write_har(&module(&ctx), &ctx, &HarMetadata::default(), &path, false).unwrap();
    let before = std::fs::read(&path).unwrap();
    assert!(write_har(&bad, &ctx, &HarMetadata::default(), &path, true).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // The target is a directory: the rename fails and the temporary file is removed.
    let target = dir.join("a-directory.har");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"x").unwrap();
    assert!(matches!(
        write_har(&module(&ctx), &ctx, &HarMetadata::default(), &target, false),
        Err(HarError::Io { .. })
    ));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a-directory.har", "dup.har"]);
}

#[test]
fn deeply_nested_embedded_ir_is_located_not_a_stack_overflow() {
    let out = edited("deep_ir", |members| {
        let meta = members
            .iter_mut()
            .find(|(n, _)| n == METADATA_MEMBER)
            .unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&meta.1).unwrap();
        let depth = 100_000;
        v["module_ir"] = format!(
            "{}{}",
            "builtin.module {\n".repeat(depth),
            "}\n".repeat(depth)
        )
        .into();
        meta.1 = serde_json::to_vec(&v).unwrap();
    });
    let e = read_err(&out);
    assert!(matches!(e, HarError::Ir { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("hailo_rs_metadata.json:129:1"), "{text}");
    assert!(
        text.contains("regions nested more than 128 levels deep"),
        "{text}"
    );
}

#[test]
fn deeply_nested_hn_json_is_an_error() {
    let out = edited("deep_hn", |members| {
        members.retain(|(n, _)| n != METADATA_MEMBER);
        let depth = 100_000;
        members.iter_mut().find(|(n, _)| n == "tiny.hn").unwrap().1 = format!(
            "{{\"name\": \"tiny\", \"net_params\": {}{}, \"layers\": {{}}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        )
        .into_bytes();
    });
    match read_err(&out) {
        HarError::Json {
            member, message, ..
        } => {
            assert_eq!(member, "tiny.hn");
            assert!(message.contains("recursion limit exceeded"), "{message}");
        }
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn hn_shapes_over_the_element_budget_name_the_layer() {
    let e = foreign_with("huge_shape", |hn| {
        hn["layers"]["tiny/fc1"]["output_shapes"] = serde_json::json!([[-1, 1u64 << 40]])
    });
    assert!(
        e.to_string().contains(
            "'tiny/fc1': 'output_shapes' shape [1, 1099511627776] has 1099511627776 elements, \
             over the budget"
        ),
        "{e}"
    );
}

#[test]
fn non_finite_weights_in_a_foreign_archive_name_the_layer() {
    let out = edited("nan_kernel", |members| {
        members.retain(|(n, _)| n != METADATA_MEMBER);
        let npz = members.iter_mut().find(|(n, _)| n == "tiny.npz").unwrap();
        let tmp = scratch("nan_kernel_npz").join("w.npz");
        std::fs::write(&tmp, &npz.1).unwrap();
        let mut arrays = hailo_npz::read_npz(&tmp).unwrap();
        let (_, kernel) = arrays
            .iter_mut()
            .find(|(k, _)| k == "tiny/conv1/kernel:0")
            .expect("conv1 kernel");
        let mut values = kernel.to_f32();
        values.as_slice_mut().unwrap()[3] = f32::NAN;
        *kernel = hailo_npz::NpyArray::F32(values);
        hailo_npz::write_npz(&tmp, &arrays).unwrap();
        npz.1 = std::fs::read(&tmp).unwrap();
    });
    let e = read_err(&out).to_string();
    assert!(
        e.contains(
            "HN layer 'tiny/conv1': the NPZ array 'tiny/conv1/kernel:0' holds NaN or infinity \
             at flat index 3; the archive's weights are damaged"
        ),
        "{e}"
    );
}
