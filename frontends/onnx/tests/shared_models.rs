//! Every ONNX model of the shared corpus loads, validates, and shape inference reproduces the
//! output shapes the corpus manifest declares; subgraph selection on the YOLO-like detector.

use std::path::PathBuf;

use hailo_onnx::{load, Dim, OnnxError, Removal};

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models")
}

fn manifest() -> serde_json::Value {
    let text = std::fs::read_to_string(models_dir().join("manifest.json"))
        .expect("manifest.json readable");
    serde_json::from_str(&text).expect("manifest.json is JSON")
}

fn shape_of(v: &serde_json::Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .expect("shape list")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect()
}

#[test]
fn every_shared_onnx_model_loads_with_manifest_shapes() {
    let manifest = manifest();
    let mut checked = 0;
    for entry in manifest["models"].as_array().expect("models list") {
        if entry["format"] != "onnx" {
            continue;
        }
        let file = entry["file"].as_str().expect("file");
        let model = load(models_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(model.issues.is_empty(), "{file}: {:?}", model.issues);
        assert_eq!(
            model.opset(""),
            entry["opset"].as_i64().expect("opset"),
            "{file}"
        );
        let inputs: Vec<(String, Vec<usize>)> = entry["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .map(|i| (i["name"].as_str().expect("name").to_string(), shape_of(i)))
            .collect();
        let got_inputs: Vec<(String, Vec<usize>)> = model
            .inputs
            .iter()
            .map(|i| {
                (
                    i.name.clone(),
                    model.shape(&i.name).expect("input shape").to_vec(),
                )
            })
            .collect();
        assert_eq!(got_inputs, inputs, "{file}");
        for (i, out) in entry["outputs"]
            .as_array()
            .expect("outputs")
            .iter()
            .enumerate()
        {
            let name = out["name"].as_str().expect("name");
            assert_eq!(model.outputs[i].name, name, "{file}");
            assert_eq!(
                model.shape(name),
                Some(&shape_of(out)[..]),
                "{file} output {name}"
            );
        }
        // Every node of the file is either kept or accounted for, and op counts match.
        for (op, count) in entry["ops"].as_object().expect("ops") {
            let kept = model.nodes.iter().filter(|n| &n.op_type == op).count();
            let removed = model.removed.iter().filter(|n| &n.op_type == op).count();
            assert_eq!(
                (kept + removed) as u64,
                count.as_u64().expect("count"),
                "{file} {op}"
            );
        }
        // Every tensor a remaining node touches has a known shape.
        for n in &model.nodes {
            for t in n.inputs.iter().chain(&n.outputs).filter(|t| !t.is_empty()) {
                assert!(
                    model.shape(t).is_some(),
                    "{file}: no shape for '{t}' of node '{}'",
                    n.name
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 8, "ONNX models in the manifest");
}

#[test]
fn squeezenet_identity_weights_are_folded() {
    let model = load(models_dir().join("squeezenet1_1.onnx")).expect("loads");
    let folded = model
        .removed
        .iter()
        .filter(|r| r.op_type == "Identity" && r.reason == Removal::Folded)
        .count();
    assert_eq!(folded, 18);
    assert!(model.nodes.iter().all(|n| n.op_type != "Identity"));
}

#[test]
fn mobilenet_clip_bounds_come_from_constant_nodes() {
    let model = load(models_dir().join("mobilenet_v2.onnx")).expect("loads");
    let clip = model
        .nodes
        .iter()
        .find(|n| n.op_type == "Clip")
        .expect("a Clip");
    let lo = model
        .constant(&clip.inputs[1])
        .expect("min is constant")
        .to_f32();
    let hi = model
        .constant(&clip.inputs[2])
        .expect("max is constant")
        .to_f32();
    assert_eq!(
        (lo.iter().next().copied(), hi.iter().next().copied()),
        (Some(0.0), Some(6.0))
    );
    let constants = model
        .removed
        .iter()
        .filter(|r| r.reason == Removal::Constant)
        .count();
    assert_eq!(constants, 70);
}

#[test]
fn digits_listing_snapshot() {
    let model = load(models_dir().join("digits_cnn_opset13.onnx")).expect("loads");
    insta::assert_snapshot!(model.listing());
}

const YOLO_HEADS: [&str; 3] = ["/heads.2/Conv", "/heads.0/Conv", "/heads.1/Conv"];

#[test]
fn yolo_end_nodes_order_the_outputs() {
    let model = load(models_dir().join("yolo_like_320.onnx")).expect("loads");
    let cut = model.select::<&str, _>(&[], &YOLO_HEADS).expect("selects");
    let outs: Vec<(&str, Option<&[usize]>)> = cut
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), cut.shape(&o.name)))
        .collect();
    assert_eq!(
        outs,
        vec![
            ("head_s32", Some(&[1, 255, 10, 10][..])),
            ("head_s8", Some(&[1, 255, 40, 40][..])),
            ("head_s16", Some(&[1, 255, 20, 20][..])),
        ]
    );
    assert_eq!(cut.nodes.len(), model.nodes.len());
    assert_eq!(cut.inputs.len(), 1);
    assert_eq!(cut.inputs[0].name, "images");

    // Only the stride-32 head: the stride-8 head and its own convolution are cut away.
    let one = model
        .select::<&str, _>(&[], &["/heads.2/Conv"])
        .expect("selects");
    assert_eq!(one.outputs.len(), 1);
    assert!(one.node("/heads.0/Conv").is_none());
    assert!(one.nodes.len() < model.nodes.len());
    assert!(one
        .removed
        .iter()
        .any(|r| r.name == "/heads.0/Conv" && r.reason == Removal::OutsideSelection));
}

#[test]
fn yolo_start_node_makes_its_input_a_graph_input() {
    let model = load(models_dir().join("yolo_like_320.onnx")).expect("loads");
    let cut = model
        .select(&["/heads.1/Conv"], &["/heads.1/Conv"])
        .expect("selects");
    assert_eq!(cut.nodes.len(), 1);
    assert_eq!(cut.inputs.len(), 1);
    assert_eq!(cut.inputs[0].name, "/bu4/cv3/act/Mul_output_0");
    assert_eq!(
        cut.inputs[0].dims,
        Some(vec![
            Dim::Fixed(1),
            Dim::Fixed(128),
            Dim::Fixed(20),
            Dim::Fixed(20)
        ])
    );
    assert_eq!(cut.constants.len(), 2, "weight and bias");
}

#[test]
fn unknown_node_names_are_reported_with_a_suggestion() {
    let model = load(models_dir().join("yolo_like_320.onnx")).expect("loads");
    let err = model
        .select::<&str, _>(&[], &["/heads.0/Con"])
        .expect_err("unknown");
    assert!(matches!(err, OnnxError::UnknownNode { role: "end", .. }));
    assert_eq!(
        err.to_string(),
        "unknown end node '/heads.0/Con'; did you mean '/heads.0/Conv'?"
    );
    let err = model
        .select(&["nonexistent"], &["/heads.0/Conv"])
        .expect_err("unknown");
    assert_eq!(err.to_string(), "unknown start node 'nonexistent'");
    let err = model
        .select(&["/heads.1/Conv"], &["/heads.0/Conv"])
        .expect_err("disjoint");
    assert_eq!(
        err.to_string(),
        "cannot select a subgraph: start node '/heads.1/Conv' does not lead to any of the end nodes"
    );
}
