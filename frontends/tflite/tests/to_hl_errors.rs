//! Conversion errors and subgraph selection: every unsupported operator is listed with the
//! start/end names that cut it away (and those names work), start/end names are TFLite
//! tensor names (`;`-joined fused names included), and unknown names are reported with the
//! closest names.

mod common;

use std::path::PathBuf;

use hailo_ir::Context;
use hailo_tflite::to_hl::{convert, ConvertError, ConvertOptions, NodeFate};
use hailo_tflite::TfliteGraph;

const CONV1: &str = "digits_cnn_1/relu1_1/Relu;digits_cnn_1/bn1_1/batchnorm/add_1;digits_cnn_1/conv1_1/convolution;digits_cnn_1/bn1_1/batchnorm/sub1";
const CONV2: &str = "digits_cnn_1/relu2_1/Relu;digits_cnn_1/bn2_1/batchnorm/add_1;digits_cnn_1/conv2_1/convolution;digits_cnn_1/bn2_1/batchnorm/sub1";

fn digits() -> TfliteGraph {
    hailo_tflite::read_tflite_file(&common::shared_model("digits_cnn.tflite")).expect("reads")
}

fn unsupported_mid() -> TfliteGraph {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/unsupported_mid.tflite");
    hailo_tflite::read_tflite_file(&p).expect("reads")
}

fn opts(start: &[&str], end: &[&str]) -> ConvertOptions {
    ConvertOptions {
        net_name: None,
        start_node_names: start.iter().map(|s| s.to_string()).collect(),
        end_node_names: end.iter().map(|s| s.to_string()).collect(),
    }
}

/// The conversion error (the module has no `Debug`, so no `expect_err`).
fn error_of(g: &TfliteGraph, o: &ConvertOptions) -> ConvertError {
    match convert(g, o) {
        Ok(_) => panic!("conversion unexpectedly succeeded"),
        Err(e) => e,
    }
}

fn verifies(m: &hailo_ir::Module) {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    hailo_ir::verifier::verify(m, &ctx, m.top()).expect("hl IR verifies");
}

#[test]
fn unsupported_ops_are_all_listed_with_working_cuts() {
    let g = unsupported_mid();
    let err = error_of(&g, &ConvertOptions::default());
    let ConvertError::Unsupported(r) = &err else {
        panic!("wrong error: {err}");
    };
    let nodes: Vec<(&str, &str, usize)> = r
        .nodes
        .iter()
        .map(|n| (n.node.as_str(), n.op.as_str(), n.op_index))
        .collect();
    assert_eq!(nodes, [("Sin", "SIN", 1), ("Floor", "FLOOR", 4)]);
    assert_eq!(
        r.suggested_end_nodes,
        ["Relu;add;Conv2D;add/y1", "strided_slice"]
    );
    assert_eq!(r.suggested_start_nodes, ["Conv2D_12", "Identity"]);
    assert_eq!(
        err.to_string(),
        "2 unsupported operator(s) in the model:\n  'Sin' (SIN, operator 1): operator SIN is not \
         supported by the Hailo TFLite parser\n  'Floor' (FLOOR, operator 4): operator FLOOR is \
         not supported by the Hailo TFLite parser\nto parse the part before them, use \
         --end-node-names 'Relu;add;Conv2D;add/y1' 'strided_slice'\nto parse the part after \
         them, use --start-node-names 'Conv2D_12' 'Identity'\n"
    );
    // Both suggestions parse.
    let ends: Vec<&str> = r.suggested_end_nodes.iter().map(String::as_str).collect();
    let (m, rep) = convert(&g, &opts(&[], &ends)).expect("the part before converts");
    verifies(&m);
    let outs: Vec<(&str, &[usize])> = rep
        .outputs
        .iter()
        .map(|o| (o.original_name.as_str(), &o.shape[..]))
        .collect();
    assert_eq!(
        outs,
        [
            ("Relu;add;Conv2D;add/y1", &[1, 8, 8, 6][..]),
            ("strided_slice", &[1, 8, 8, 2][..])
        ]
    );
    let starts: Vec<&str> = r.suggested_start_nodes.iter().map(String::as_str).collect();
    let (m, rep) = convert(&g, &opts(&starts, &[])).expect("the part after converts");
    verifies(&m);
    let ins: Vec<&str> = rep
        .inputs
        .iter()
        .map(|i| i.original_name.as_str())
        .collect();
    assert_eq!(ins, ["Sin", "Floor"]);
    let fates: Vec<NodeFate> = rep.nodes.iter().map(|n| n.fate).collect();
    assert_eq!(
        fates,
        [
            NodeFate::OutsideSelection,
            NodeFate::OutsideSelection,
            NodeFate::Converted,
            NodeFate::OutsideSelection,
            NodeFate::OutsideSelection,
            NodeFate::Converted
        ]
    );
}

#[test]
fn end_node_is_a_fused_tensor_name() {
    let (m, rep) = convert(&digits(), &opts(&[], &[CONV2])).expect("converts up to conv2");
    verifies(&m);
    assert_eq!(rep.outputs[0].original_name, CONV2);
    assert_eq!(rep.outputs[0].shape, [1, 8, 8, 64]);
    let layers: Vec<String> = rep.nodes.iter().flat_map(|n| n.layers.clone()).collect();
    assert_eq!(layers, ["conv1", "conv1", "conv2", "conv2"]);
    assert_eq!(
        rep.nodes.last().map(|n| n.fate),
        Some(NodeFate::OutsideSelection)
    );
}

#[test]
fn start_node_takes_its_inputs_as_graph_inputs() {
    let (m, rep) = convert(&digits(), &opts(&[CONV1], &[CONV2])).expect("converts");
    verifies(&m);
    assert_eq!(rep.inputs.len(), 1);
    assert_eq!(rep.inputs[0].original_name, "digits_cnn_1/pad1_1/Pad");
    assert_eq!(rep.inputs[0].shape, [1, 34, 34, 3]);
    // The first PAD is outside; conv1 is VALID on the already padded input.
    assert_eq!(rep.nodes[0].fate, NodeFate::OutsideSelection);
    let text = hailo_ir::print_module(
        &m,
        &{
            let mut c = Context::new();
            c.register(hailo_dialect_hl::dialect());
            c
        },
        Default::default(),
    );
    assert!(
        text.contains(r#"layer = "conv1", padding = "EXPLICIT", pads = [0, 0, 0, 0]"#),
        "{text}"
    );
}

#[test]
fn unknown_names_suggest_the_closest_tensors() {
    let err = error_of(&digits(), &opts(&[], &["digits_cnn_1/pool_1/MaxPool"]));
    assert_eq!(
        err.to_string(),
        "end node 'digits_cnn_1/pool_1/MaxPool' is not a tensor of the model; closest names: \
         'digits_cnn_1/pool_1/MaxPool2d', 'digits_cnn_1/pad1_1/Pad', 'digits_cnn_1/pad2_1/Pad'"
    );
    let err = error_of(&digits(), &opts(&["digits_cnn_1/gap_1/Mean"], &[CONV2]));
    assert_eq!(
        err.to_string(),
        "start node 'digits_cnn_1/gap_1/Mean' does not lead to the end nodes; pick a start node \
         that the outputs depend on"
    );
}
