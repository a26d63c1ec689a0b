//! Replaying the vendor's allocation of resnet_v1_50 (issue 20's acceptance item): the network
//! of `shared/models/make_resnet_v1_50.py`, parsed (`hailo-parse`), with its residual adds fused
//! into convs (`hl-fuse-conv-add`) and the script's `normalization1` added, quantized (a8_w8
//! defaults on 2 seeded random samples: the physical graph does not depend on the ranges), then
//! run through the physical pipeline the compilation commands of
//! `shared/corpus/alls/hailo8/base/resnet_v1_50.alls` compile to (`hailo compiler
//! --stop-after=phys`). Its physical layer list (names, defuse types and roles, producers) is
//! diffed against the dump's rows (`shared/data/allocation/dumps.csv`) and its per-cluster
//! layer-controller and subcluster totals against `dumps_clusters.csv`.
//!
//! The test pins the agreement reached today, with every known difference listed: a change
//! that closes one must update the list; one that opens another fails.
//!
//! Needs `.venv/bin/python` with numpy and onnx, as `resnet_v1_50_names.rs` does.

use hailo_ir::pass::{Instrumentation, OpPassManager, Resources};
use hailo_ir::{Attribute, Module};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

const DUMP: &str = "v2.18/hailo8/base/resnet_v1_50.alls";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shared() -> PathBuf {
    repo().join("../shared")
}

/// The rows of `csv` (a file of `shared/data/allocation`) whose `file` is [`DUMP`], as
/// column → value maps.
fn rows(csv: &str) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(shared().join("data/allocation").join(csv))
        .unwrap_or_else(|e| panic!("{csv}: {e}"));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split(',').map(str::to_owned))
                .collect::<BTreeMap<_, _>>()
        })
        .filter(|r| r["file"] == DUMP)
        .collect()
}

fn run(m: &mut Module, pipeline: &str, resources: &Resources) {
    let ctx = hailo_tools::context::full_context(false);
    let mut pm = OpPassManager::parse(pipeline, &hailo_passes::registry()).expect("pipeline");
    let top = m.top();
    pm.run_with(m, &ctx, top, &mut Instrumentation::default(), resources)
        .unwrap_or_else(|f| panic!("{}: {:?}", f.pass, f.diagnostics));
}

fn layer(m: &Module, op: hailo_ir::OpId) -> Option<String> {
    m.attr(op, "layer")
        .and_then(Attribute::as_str)
        .map(str::to_owned)
}

/// The named layers (each `name` or `name:rows[/rows_after]` when a `phys.buffer` sits on
/// the edge) that value `v` comes from, through the unnamed ops between them.
fn producers(
    m: &Module,
    named: &BTreeMap<hailo_ir::ValueId, String>,
    v: hailo_ir::ValueId,
) -> Vec<String> {
    if let Some(n) = named.get(&v) {
        return vec![n.clone()];
    }
    let Some(def) = m.defining_op(v) else {
        return vec![];
    };
    let rows = |k: &str| m.attr(def, k).and_then(Attribute::as_i64);
    let inner: Vec<String> = m
        .op(def)
        .operands()
        .iter()
        .flat_map(|&u| producers(m, named, u))
        .collect();
    match (rows("rows"), rows("rows_after")) {
        (Some(r), None) => inner.into_iter().map(|n| format!("{n}:{r}")).collect(),
        (Some(r), Some(a)) => inner.into_iter().map(|n| format!("{n}:{r}/{a}")).collect(),
        _ => inner,
    }
}

/// One physical layer: (defuse type, producers with the rows buffered on each edge, (cluster,
/// subclusters)).
type Layers = BTreeMap<String, (String, BTreeSet<String>, (String, String))>;

/// The quantized, fused resnet_v1_50 with the script's model modifications.
fn quantized(alls: &str) -> Option<Module> {
    let python = repo().join(".venv/bin/python");
    if !python.exists() {
        eprintln!(
            "SKIPPED resnet_v1_50 replay: {} is missing; run scripts/lit-venv",
            python.display()
        );
        return None;
    }
    let dir = std::env::temp_dir().join(format!("hailo-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // The network is named after the file: the script's globs say `resnet_v1_50/*`.
    let path = dir.join("resnet_v1_50.onnx");
    let status = Command::new(&python)
        .arg(shared().join("models/make_resnet_v1_50.py"))
        .arg(&path)
        .status()
        .expect("the venv python runs");
    assert!(status.success(), "make_resnet_v1_50.py failed: {status}");
    let model = hailo_onnx::load(&path).expect("the generated model loads");
    std::fs::remove_dir_all(&dir).ok();
    let mut m = hailo_onnx::to_hl::convert_owned(model, &Default::default())
        .expect("converts")
        .module;
    let none = Resources::new();
    run(
        &mut m,
        "builtin.module(builtin.graph(hl-fuse-conv-add))",
        &none,
    );
    // Known difference: hl.softmax has no integer lowering, so softmax1 is cut (its input
    // feeds the output) before quantization.
    let softmax: Vec<_> = m
        .walk(m.top())
        .into_iter()
        .filter(|&o| m.op(o).name_str() == "hl.softmax")
        .collect();
    assert_eq!(softmax.len(), 1);
    let (x, y) = (m.operand(softmax[0], 0), m.result(softmax[0], 0));
    m.replace_all_uses(y, x);
    m.erase_op(softmax[0]);
    let ctx = hailo_tools::context::full_context(false);
    let src = hailo_alls::SourceFile::new("resnet_v1_50.alls", alls);
    let checked = hailo_alls::check_source(&src, Default::default());
    // Applies the script's model modifications (normalization1) to `m`.
    hailo_alls::modifications::apply_model_modifications(&mut m, &ctx, &checked.script, &shared())
        .expect("model modifications apply");
    let mut data = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[2, 224, 224, 3]));
    let mut s = 7u64;
    data.mapv_inplace(|_| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 40) as f32 / (1u64 << 24) as f32 * 255.0
    });
    let mut cfg = hailo_quantizer::QuantConfig::default();
    cfg.calibration.calibset_size = 2;
    hailo_quantizer::quantize(&mut m, &[data], &cfg).expect("quantizes");
    Some(m)
}

#[test]
fn resnet_v1_50_replays_the_vendor_allocation() {
    let alls_text =
        std::fs::read_to_string(shared().join("corpus/alls/hailo8/base/resnet_v1_50.alls"))
            .expect("the model script is readable");
    let Some(mut m) = quantized(&alls_text) else {
        return;
    };
    // The compilation commands: the optimization stage is done (its globs name the network,
    // `resnet_v1_50/*`, which the quantized module's layer list does not carry), and so is the
    // normalization1 modification. Known differences: the softmax1 commands name a layer we
    // cut, and `format_conversion` is not honoured yet, so the commands naming its layer
    // auto_reshape_from_input_layer1_to_normalization1 go too; our graph has the Flatten
    // reshape1 between avgpool1 and fc1 that the vendor's HN does not, so the script's
    // buffers(avgpool1, fc1_d*) name no edge of ours, and fc1's parts (rank-2 dense
    // results) have no buffered edges in our graph (buffers(fc1_d*, fc1_dc)).
    let done = [
        "quantization_param",
        "post_quantization_optimization",
        "model_optimization",
        "normalization1 =",
    ];
    let script_text: String = alls_text
        .lines()
        .filter(|l| {
            ![
                "softmax1",
                "auto_reshape_from_input_layer1",
                "buffers(avgpool1, fc1_d",
                "buffers(fc1_d",
            ]
            .iter()
            .any(|n| l.contains(n))
                && !done.iter().any(|d| l.starts_with(d))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let names: Vec<String> = m
        .walk(m.top())
        .into_iter()
        .filter_map(|o| layer(&m, o))
        .collect();
    let script = hailo_tools::phys_script::read("resnet_v1_50.alls", &script_text, &names)
        .expect("the compilation commands read");
    let mut resources = Resources::new();
    resources.insert(hailo_target::Target::hailo8());
    // The physical passes, then the verifier on its own: it rejects layers the vendor
    // allocates (known differences, pinned below).
    let pipeline = script.pipeline();
    let passes = pipeline.replace(",phys-verify", "");
    assert_ne!(passes, pipeline, "the pipeline ends with phys-verify");
    run(&mut m, &passes, &resources);
    let ctx = hailo_tools::context::full_context(false);
    let mut pm = OpPassManager::parse(
        "builtin.module(builtin.graph(phys-verify))",
        &hailo_passes::registry(),
    )
    .expect("pipeline");
    let top = m.top();
    let rejected: Vec<String> = match pm.run_with(
        &mut m,
        &ctx,
        top,
        &mut Instrumentation::default(),
        &resources,
    ) {
        Ok(_) => vec![],
        Err(f) => f.diagnostics.iter().map(|d| d.message.clone()).collect(),
    };

    // Our physical layers: every op with a resource model, plus the graph's boundary layers.
    let mut producer = BTreeMap::new();
    let mut ours = Layers::new();
    let mut per_cluster: BTreeMap<i64, (u32, u32)> = BTreeMap::new();
    for op in m.walk(m.top()) {
        let Some(name) = layer(&m, op) else { continue };
        for &r in m.op(op).results() {
            producer.insert(r, name.clone());
        }
        let Some(rm) = hailo_dialect_phys::resource_model(&m, op) else {
            continue;
        };
        let preds = m
            .op(op)
            .operands()
            .iter()
            .flat_map(|&v| producers(&m, &producer, v))
            .collect();
        let defuse = m
            .attr(op, "defuse")
            .and_then(Attribute::as_str)
            .unwrap_or("")
            .to_owned();
        let cluster = m
            .attr(op, "cluster")
            .and_then(Attribute::as_i64)
            .map_or(String::new(), |v| v.to_string());
        let sc = match rm.resources(&m, op) {
            Ok(r) => r.subclusters.to_string(),
            Err(e) => panic!("{name}: {e}"),
        };
        ours.insert(name.clone(), (defuse, preds, (cluster, sc)));
        if let (Some(c), Ok(r)) = (
            m.attr(op, "cluster").and_then(Attribute::as_i64),
            rm.resources(&m, op),
        ) {
            let t = per_cluster.entry(c).or_default();
            t.0 += r.layer_controllers;
            t.1 += r.subclusters;
        }
    }
    let vendor: Layers = rows("dumps.csv")
        .into_iter()
        .map(|r| {
            let preds = r["buf_in_rows"]
                .split(';')
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect();
            (
                r["layer"].clone(),
                (
                    r["defuse_type"].to_lowercase(),
                    preds,
                    (r["cluster"].clone(), r["subclusters"].clone()),
                ),
            )
        })
        .collect();

    let only_vendor: Vec<&String> = vendor.keys().filter(|n| !ours.contains_key(*n)).collect();
    let only_ours: Vec<&String> = ours.keys().filter(|n| !vendor.contains_key(*n)).collect();
    let both: Vec<&String> = vendor.keys().filter(|n| ours.contains_key(*n)).collect();
    let defuse_differs: Vec<String> = both
        .iter()
        .filter(|n| vendor[**n].0 != ours[**n].0)
        .map(|n| format!("{n}: vendor '{}', ours '{}'", vendor[*n].0, ours[*n].0))
        .collect();
    let edges_differ: Vec<String> = both
        .iter()
        .filter(|n| vendor[**n].1 != ours[**n].1)
        .map(|n| format!("{n}: vendor {:?}, ours {:?}", vendor[*n].1, ours[*n].1))
        .collect();
    let placement_differs: Vec<String> = both
        .iter()
        .filter(|n| vendor[**n].2 != ours[**n].2)
        .map(|n| format!("{n}: vendor {:?}, ours {:?}", vendor[*n].2, ours[*n].2))
        .collect();
    let vendor_clusters: BTreeMap<i64, (u32, u32)> = rows("dumps_clusters.csv")
        .into_iter()
        .map(|r| {
            let n = |k: &str| r[k].parse::<u32>().expect("a count");
            (
                r["cluster"].parse().expect("a cluster"),
                (n("lcu"), n("sc")),
            )
        })
        .collect();
    eprintln!(
        "vendor layers {}, ours {}, common {}\nonly in the dump: {only_vendor:?}\nonly ours: {only_ours:?}\ndefuse type differs: {defuse_differs:#?}\nproducers differ: {edges_differ:#?}\n(cluster, subclusters) differ: {placement_differs:#?}\nphys-verify rejects: {rejected:#?}\nclusters (lcu, sc): vendor {vendor_clusters:?}\n                   ours   {per_cluster:?}",
        vendor.len(),
        ours.len(),
        both.len()
    );
    // The agreement today. Every physical layer of the dump but the two below exists under
    // its name, with the dump's defuse type (but the two partial concats), producers and rows
    // on every edge (but the four below), cluster and subclusters; the per-cluster totals
    // are the dump's.
    assert_eq!((vendor.len(), ours.len(), both.len()), (112, 111, 110));
    // Known: `format_conversion` is not honoured yet; hl.softmax has no integer lowering.
    assert_eq!(
        only_vendor,
        [
            "auto_reshape_from_input_layer1_to_normalization1",
            "softmax1"
        ]
    );
    // Known: our Flatten before the dense layer, which the vendor's HN does not have.
    assert_eq!(only_ours, ["reshape1"]);
    // Known: a script's partial concat is marked as part of the features defuse it feeds.
    assert_eq!(
        defuse_differs,
        [
            "concat_from_conv36_d0-2_to_conv36_dc: vendor '', ours 'features'",
            "concat_from_conv39_d0-2_to_conv39_dc: vendor '', ours 'features'",
        ]
    );
    // Known: reshape1 before fc1's parts; fc1's rank-2 parts have no buffered rows; the
    // missing format conversion before normalization1.
    assert_eq!(
        edges_differ,
        [
            "fc1_d0: vendor {\"avgpool1:16/16\"}, ours {\"reshape1\"}",
            "fc1_d1: vendor {\"avgpool1:16/16\"}, ours {\"reshape1\"}",
            "fc1_dc: vendor {\"fc1_d0:64\", \"fc1_d1:66\"}, ours {\"fc1_d0\", \"fc1_d1\"}",
            "normalization1: vendor {\"auto_reshape_from_input_layer1_to_normalization1:2/48\"}, ours {\"input_layer1:2\"}",
        ]
    );
    assert_eq!(placement_differs, Vec::<String>::new());
    assert_eq!(per_cluster, vendor_clusters);
    // Known: the verifier rejects what the vendor allocates: TF-slim's 1x1 stride-2 max pools
    // of the shortcut subsampling (not in its reading of Table 12) and fc1's rank-2 concat.
    let rejected_layers: Vec<&str> = rejected
        .iter()
        .filter_map(|r| r.split('\'').nth(1))
        .collect();
    assert_eq!(
        rejected_layers,
        ["maxpool2", "maxpool3", "maxpool4", "fc1_dc"],
        "{rejected:#?}"
    );
}
