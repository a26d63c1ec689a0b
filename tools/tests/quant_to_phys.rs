//! `quant-to-phys` end to end on the shared `digits_cnn` model: parsed from ONNX, quantized on its
//! calibration set, lowered to `phys`. Every `q` compute layer must become exactly one physical
//! layer of the same name and type (but the Flatten of the global pool's 1x1 map before the dense
//! layer, which goes: the dense layer reads the map), and each weighted layer must get the subclusters and weight
//! bytes the resources doc's formulas give from the `q` op's own shapes (§4: `SC = ceil(MACs × FPS
//! / (64 × 400e6))` on the Hailo-8; one byte per 8-bit weight and four per i32 bias).

use hailo_dialect_phys::{layer_fps, resource_model};
use hailo_dialect_quant::ops as q;
use hailo_ir::pass::{Instrumentation, OpPassManager, Resources};
use hailo_ir::{Attribute, Module, OpId, OpTable};
use hailo_quantizer::{quantize, QuantConfig};
use hailo_target::Target;
use std::collections::BTreeMap;
use std::path::PathBuf;

const FPS: f64 = 40_000.0;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models")
}

fn quantized_digits_cnn() -> Module {
    let model = hailo_onnx::load(models().join("digits_cnn_opset13.onnx")).expect("loads");
    let mut m = hailo_onnx::to_hl::convert(&model, &Default::default())
        .expect("converts")
        .module;
    let calib = hailo_npz::read_npz(models().join("digits_calib.npz"))
        .expect("calibration set reads")
        .into_iter()
        .find(|(k, _)| k.trim_end_matches(".npy") == "x_nhwc")
        .expect("x_nhwc")
        .1
        .to_f32();
    let mut cfg = QuantConfig::default();
    cfg.calibration.calibset_size = 16;
    quantize(&mut m, &[calib], &cfg).expect("quantizes");
    m
}

fn shape(m: &Module, v: hailo_ir::ValueId) -> Vec<u64> {
    let s = m.value_type(v).shape().expect("ranked").to_vec();
    s.into_iter().map(|d| d as u64).collect()
}

fn layer(m: &Module, op: OpId) -> String {
    m.attr(op, "layer")
        .and_then(Attribute::as_str)
        .expect("named")
        .to_owned()
}

/// What the doc's formulas give for a weighted `q` layer (8-bit weights): its MACs per frame
/// and weight bytes; `None` for other layers.
fn expected_work(m: &Module, op: OpId) -> Option<(u64, u64)> {
    let conv = q::Conv2d::cast(m, op).is_some() || q::DepthwiseConv2d::cast(m, op).is_some();
    if !conv && q::Dense::cast(m, op).is_none() {
        return None;
    }
    let o = m.op(op);
    let (kernel, out) = (shape(m, o.operands()[1]), shape(m, o.results()[0]));
    let bias = o.operands().get(2).map_or(0, |&b| 4 * shape(m, b)[0]);
    let kernel_elements: u64 = kernel.iter().product();
    // Convolutions: N·Ho·Wo · kh·kw·(Cin/groups)·Cout, the HWIO kernel holding the last four
    // factors; dense: Cin·Cout, its kernel.
    let pixels: u64 = if conv { out[..3].iter().product() } else { 1 };
    Some((pixels * kernel_elements, kernel_elements + bias))
}

#[test]
fn every_q_layer_of_digits_cnn_becomes_one_phys_layer_with_its_subclusters() {
    let mut m = quantized_digits_cnn();
    let q_ops = OpTable::new(q::defs());
    let graph = m
        .walk(m.top())
        .into_iter()
        .find(|&o| m.op(o).name_str() == hailo_ir::builtin::GRAPH)
        .expect("a graph");
    let stays = |m: &Module, op: OpId| {
        q::Quantize::cast(m, op).is_some()
            || q::Dequantize::cast(m, op).is_some()
            || q::Const::cast(m, op).is_some()
    };
    // A reshape of [N, 1, 1, C] to [N, C] read by dense layers only.
    let flattens = |m: &Module, op: OpId| {
        if q::Reshape::cast(m, op).is_none() {
            return false;
        }
        let x = shape(m, m.op(op).operands()[0]);
        let uses = m.value(m.result(op, 0)).uses();
        x.len() == 4 && x[1..3] == [1, 1] && uses.iter().all(|u| q::Dense::cast(m, u.op).is_some())
    };
    let mut before: BTreeMap<String, (hailo_ir::Type, Option<(u64, u64)>)> = BTreeMap::new();
    let mut flattened = Vec::new();
    for op in m.walk(graph) {
        if flattens(&m, op) {
            flattened.push(layer(&m, op));
        } else if q_ops.def(&m, op).is_some() && !stays(&m, op) {
            let ty = m.value_type(m.result(op, 0));
            let prior = before.insert(layer(&m, op), (ty, expected_work(&m, op)));
            assert!(prior.is_none(), "two q ops named {}", layer(&m, op));
        }
    }
    assert_eq!(flattened, ["reshape1"]);
    let weighted = before.values().filter(|(_, w)| w.is_some()).count();
    assert!(
        before.len() >= 6 && weighted >= 3,
        "digits_cnn lowered to {before:?}"
    );

    let ctx = hailo_tools::context::full_context(false);
    let mut pm = OpPassManager::parse(
        &format!("builtin.module(builtin.graph(quant-to-phys{{fps={FPS}}}))"),
        &hailo_passes::registry(),
    )
    .expect("pipeline parses");
    let mut resources = Resources::new();
    resources.insert(Target::hailo8());
    let top = m.top();
    pm.run_with(
        &mut m,
        &ctx,
        top,
        &mut Instrumentation::default(),
        &resources,
    )
    .unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
    hailo_ir::verifier::verify(&m, &ctx, m.top()).expect("the phys graph verifies");

    let target = Target::hailo8();
    let mut after: BTreeMap<String, OpId> = BTreeMap::new();
    for op in m.walk(graph) {
        assert!(
            q_ops.def(&m, op).is_none() || stays(&m, op),
            "'{}' was not lowered",
            m.op(op).name_str()
        );
        if resource_model(&m, op).is_some() {
            assert!(after.insert(layer(&m, op), op).is_none());
        }
    }
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    let mut most = 0;
    for (name, (ty, work)) in &before {
        let op = after[name];
        assert_eq!(
            m.value_type(m.result(op, 0)),
            *ty,
            "{name} keeps its q type"
        );
        let r = resource_model(&m, op)
            .unwrap()
            .resources(&m, op)
            .expect("resources");
        let Some((macs, bytes)) = work else {
            // Pools: one of each on the core (§4).
            assert_eq!((r.layer_controllers, r.subclusters), (1, 1), "{name}");
            continue;
        };
        let sc = ((FPS * *macs as f64) / (64.0 * 400e6)).ceil().max(1.0) as u32;
        assert_eq!(
            (r.layer_controllers, r.subclusters, r.weight_bytes),
            (1, sc, *bytes),
            "{name}: {macs} MACs"
        );
        assert!(layer_fps(&m, op, &target).unwrap().unwrap() >= FPS);
        most = most.max(sc);
    }
    // The rate asks more than one subcluster of the largest layer, so the count is computed.
    assert!(
        most > 1,
        "no layer needs more than one subcluster at {FPS} fps"
    );
}
