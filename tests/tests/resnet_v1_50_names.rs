//! Layer names and graph structure against the vendor's allocation of resnet_v1_50 (issue 14's
//! acceptance item): `shared/models/make_resnet_v1_50.py` writes the TF-slim network behind the
//! v2.18 Hailo-8 allocation dump; parsed by our ONNX frontend (which runs the `hailo-parse`
//! pipeline: folds, fusions, breadth-first layer numbering) and then `hl-fuse-conv-add` (the
//! DFC's `ew_add_fusing`, a pre-quantization step in the guide), every logical layer the model
//! script `shared/corpus/alls/hailo8/base/resnet_v1_50.alls` allocates (conv1…conv53,
//! maxpool1…4, avgpool1, fc1, softmax1, the input and output layers) must exist under the same
//! name with the same producers and consumers as in the dump (`shared/data/allocation/dumps.csv`,
//! its `buf_in_rows` / `buf_out_rows` neighbours). Defuse parts (`conv5_d0`, `conv1_sdc`,
//! `maxpool1_lanes_2`, …) fold into their `orig_layer`; the layers the script itself adds
//! (normalization, format conversion, shortcut and concat routing) are passed through. The
//! fused graph must also compute bit for bit what the unfused one does.
//!
//! Needs `.venv/bin/python` with numpy and onnx (`scripts/lit-venv` installs them; `scripts/test`
//! runs it first). Without that interpreter the test says so and stops.

use hailo_ir::pass::{Instrumentation, OpPassManager};
use hailo_ir::{Attribute, Module};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shared() -> PathBuf {
    repo().join("../shared")
}

type Edges = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>;

/// The logical graph of the dump of model script `dump_file`: layer → (producers, consumers).
fn vendor_graph(dump_file: &str, alls: &str) -> Edges {
    let csv = std::fs::read_to_string(shared().join("data/allocation/dumps.csv"))
        .expect("dumps.csv is readable");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("dumps.csv has no column {name}"))
    };
    let (file, layer, orig, ins, outs) = (
        col("file"),
        col("layer"),
        col("orig_layer"),
        col("buf_in_rows"),
        col("buf_out_rows"),
    );
    let rows: Vec<Vec<&str>> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|r| r.get(file) == Some(&dump_file))
        .collect();
    assert!(rows.len() > 100, "the dump has the rows of {dump_file}");
    let logical: BTreeMap<&str, &str> = rows.iter().map(|r| (r[layer], r[orig])).collect();
    let logical_of = |n: &str| logical.get(n).copied().unwrap_or(n).to_owned();
    // Layers the script creates itself (`x = command(...)`) that are not parts of a layer.
    let created: BTreeSet<String> = alls
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(lhs, _)| lhs))
        .flat_map(|lhs| lhs.split(',').map(|n| n.trim().to_owned()))
        .filter(|n| logical_of(n) == *n)
        .collect();
    let neighbours = |cell: &str| -> Vec<String> {
        cell.split(';')
            .filter(|e| !e.is_empty())
            .map(|e| logical_of(e.split(':').next().unwrap_or(e)))
            .collect()
    };
    let mut succ: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &rows {
        let this = logical_of(r[layer]);
        let edges = neighbours(r[ins])
            .into_iter()
            .map(|p| (p, this.clone()))
            .chain(neighbours(r[outs]).into_iter().map(|c| (this.clone(), c)));
        for (from, to) in edges.filter(|(a, b)| a != b) {
            succ.entry(from).or_default().insert(to);
        }
    }
    // Route through the script's own layers.
    let mut edges = Edges::new();
    let nodes: BTreeSet<String> = succ
        .iter()
        .flat_map(|(a, bs)| std::iter::once(a.clone()).chain(bs.iter().cloned()))
        .filter(|n| !created.contains(n))
        .collect();
    for n in &nodes {
        let mut stack: Vec<String> = succ.get(n).into_iter().flatten().cloned().collect();
        let mut seen = BTreeSet::new();
        while let Some(s) = stack.pop() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if created.contains(&s) {
                stack.extend(succ.get(&s).into_iter().flatten().cloned());
            } else if s != *n {
                edges.entry(n.clone()).or_default().1.insert(s.clone());
                edges.entry(s).or_default().0.insert(n.clone());
            }
        }
        edges.entry(n.clone()).or_default();
    }
    edges
}

/// Our graph's layer → (producers, consumers), over the layers in `keep` (the others are
/// passed through), and the names of the layers passed through.
fn our_graph(m: &Module, keep: &BTreeSet<String>) -> (Edges, BTreeSet<String>) {
    let mut layer_of = BTreeMap::new();
    let mut names = Vec::new();
    for op in m.walk(m.top()) {
        if let Some(name) = m.attr(op, "layer").and_then(Attribute::as_str) {
            for &r in m.op(op).results() {
                layer_of.insert(r, name.to_owned());
            }
            names.push((op, name.to_owned()));
        }
    }
    // Direct producers of each layer (through unnamed ops such as constants: none produce data).
    let mut preds: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (op, name) in &names {
        let p = preds.entry(name.clone()).or_default();
        for v in m.op(*op).operands() {
            if let Some(l) = layer_of.get(v) {
                p.insert(l.clone());
            }
        }
    }
    let skipped: BTreeSet<String> = preds
        .keys()
        .filter(|n| !keep.contains(*n))
        .cloned()
        .collect();
    let mut edges = Edges::new();
    for name in preds.keys().filter(|n| keep.contains(*n)) {
        let mut stack: Vec<String> = preds[name].iter().cloned().collect();
        while let Some(p) = stack.pop() {
            if keep.contains(&p) {
                edges.entry(name.clone()).or_default().0.insert(p.clone());
                edges.entry(p).or_default().1.insert(name.clone());
            } else {
                stack.extend(preds.get(&p).into_iter().flatten().cloned());
            }
        }
        edges.entry(name.clone()).or_default();
    }
    (edges, skipped)
}

fn run(m: &mut Module, pipeline: &str) {
    let ctx = hailo_tools::context::full_context(false);
    let mut pm = OpPassManager::parse(pipeline, &hailo_passes::registry()).expect("pipeline");
    let mut inst = Instrumentation {
        verify_each: true,
        ..Instrumentation::default()
    };
    let top = m.top();
    pm.run(m, &ctx, top, &mut inst)
        .unwrap_or_else(|f| panic!("{}: {:?}", f.pass, f.diagnostics));
}

fn generate(python: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("temp dir");
    let out = dir.join("resnet_v1_50.onnx");
    let status = Command::new(python)
        .arg(shared().join("models/make_resnet_v1_50.py"))
        .arg(&out)
        .status()
        .expect("the venv python runs");
    assert!(status.success(), "make_resnet_v1_50.py failed: {status}");
    out
}

#[test]
fn resnet_v1_50_layers_match_the_vendor_allocation() {
    let python = repo().join(".venv/bin/python");
    if !python.exists() {
        eprintln!(
            "SKIPPED resnet_v1_50_layers_match_the_vendor_allocation: {} is missing; run \
             scripts/lit-venv (installs numpy and onnx) to run this test",
            python.display()
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("hailo-resnet-v1-50-{}", std::process::id()));
    let path = generate(&python, &dir);
    let model = hailo_onnx::load(&path).expect("the generated model loads");
    std::fs::remove_dir_all(&dir).ok();
    let conv = hailo_onnx::to_hl::convert_owned(model, &Default::default()).expect("converts");
    let parsed = conv.module;
    let mut fused = parsed.clone();
    run(&mut fused, "builtin.module(hl-fuse-conv-add)");

    let alls = std::fs::read_to_string(shared().join("corpus/alls/hailo8/base/resnet_v1_50.alls"))
        .expect("the model script is readable");
    let vendor = vendor_graph("v2.18/hailo8/base/resnet_v1_50.alls", &alls);
    let keep: BTreeSet<String> = vendor.keys().cloned().collect();
    for name in &keep {
        assert!(
            alls.contains(name.as_str()),
            "{name} is a layer of the dump but not named in the model script"
        );
    }
    assert_eq!(
        keep.iter().filter(|n| n.starts_with("conv")).count(),
        53,
        "{keep:?}"
    );
    let (ours, skipped) = our_graph(&fused, &keep);
    let missing: Vec<&String> = keep.iter().filter(|n| !ours.contains_key(*n)).collect();
    assert!(
        missing.is_empty(),
        "layers missing from our graph: {missing:?}"
    );
    // Only the Flatten before the dense layer is a layer of ours the HN does not have.
    assert_eq!(
        skipped.iter().map(String::as_str).collect::<Vec<_>>(),
        ["reshape1"]
    );
    for (name, (preds, succs)) in &vendor {
        let (p, s) = &ours[name];
        assert_eq!(
            (p, s),
            (preds, succs),
            "{name}: our (producers, consumers) vs the vendor's"
        );
    }

    // The fusion changes no float result: one input through both graphs, compared bit for bit.
    let x = ndarray::Array::from_shape_fn(ndarray::IxDyn(&[1, 224, 224, 3]), |i| {
        ((i[1] * 7 + i[2] * 3 + i[3]) % 255) as f32 - 120.0
    });
    let out = |m: &Module| {
        hailo_executor::Executor::new(m, "main")
            .expect("prepares")
            .run(std::slice::from_ref(&x))
            .expect("runs")
    };
    let (a, b) = (out(&parsed), out(&fused));
    let bits = |v: &ndarray::ArrayD<f32>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a[0]), bits(&b[0]));
}

/// The same rule on another network and exporter: torchvision's resnet18 (`shared/models`,
/// exported from PyTorch, whose node order puts a block's downsample conv after its two convs)
/// against the resnet18 backbone of the vendor's `detr_resnet_v1_18_bn` allocation. Its stem and
/// four stages (conv1…conv20, maxpool1) must have the vendor's names and, among themselves, the
/// vendor's producers and consumers; breadth-first numbering puts each downsample conv between
/// its block's two convs (conv7, conv12, conv17), as the dump has it.
#[test]
fn resnet18_backbone_layers_match_the_vendor_detr_allocation() {
    let path = shared().join("models/resnet18.onnx");
    let model = hailo_onnx::load(&path).expect("resnet18 loads");
    let mut m = hailo_onnx::to_hl::convert_owned(model, &Default::default())
        .expect("converts")
        .module;
    run(&mut m, "builtin.module(hl-fuse-conv-add)");
    let alls =
        std::fs::read_to_string(shared().join("corpus/alls/hailo8/base/detr_resnet_v1_18_bn.alls"))
            .expect("the model script is readable");
    let vendor = vendor_graph("v2.18/hailo8/base/detr_resnet_v1_18_bn.alls", &alls);
    let backbone: BTreeSet<String> = (1..=20)
        .map(|i| format!("conv{i}"))
        .chain(["maxpool1".to_owned()])
        .collect();
    let within =
        |s: &BTreeSet<String>| -> BTreeSet<String> { s.intersection(&backbone).cloned().collect() };
    let (ours, _) = our_graph(&m, &backbone);
    for name in &backbone {
        let (vp, vs) = &vendor[name];
        let (p, s) = ours
            .get(name)
            .unwrap_or_else(|| panic!("{name} is missing from our graph"));
        assert_eq!(
            (within(p), within(s)),
            (within(vp), within(vs)),
            "{name}: our (producers, consumers) vs the vendor's"
        );
    }
}
