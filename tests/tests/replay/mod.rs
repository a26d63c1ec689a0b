//! The replay of a vendor allocation, shared by the replay tests (`resnet_v1_50_replay.rs`,
//! `stdc1_replay.rs`): a quantized network is run through the physical pipeline that the
//! compilation commands of a model script compile to (`hailo compiler --stop-after=phys`),
//! phys-verify included, and its physical layer list (names, defuse types, producers with the rows
//! buffered on each edge, clusters, subclusters) is diffed against the dump's rows
//! (`shared/data/allocation/dumps.csv`) and its per-cluster layer-controller and subcluster totals
//! against `dumps_clusters.csv`.

use hailo_ir::pass::{Instrumentation, OpPassManager, Resources};
use hailo_ir::{Attribute, Module};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A model script and the `file` tag of its rows in the dump CSVs.
pub struct Replay {
    pub alls: &'static str,
    pub dump: &'static str,
    /// Layer names swapped before the physical passes.
    pub renumber: &'static [(&'static str, &'static str)],
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn shared() -> PathBuf {
    repo().join("../shared")
}

/// The network a generator script writes to `<file>` (in a temporary directory), converted to
/// `hl`; `None`, with a SKIPPED line, when the repo's `.venv` (scripts/lit-venv) is missing.
pub fn generated(generator: &Path, file: &str) -> Option<Module> {
    let python = repo().join(".venv/bin/python");
    if !python.exists() {
        eprintln!(
            "SKIPPED {file}: {} is missing; run scripts/lit-venv",
            python.display()
        );
        return None;
    }
    let dir = std::env::temp_dir().join(format!("hailo-replay-{}-{file}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(file);
    let status = Command::new(&python)
        .arg(generator)
        .arg(&path)
        .status()
        .expect("the venv python runs");
    assert!(status.success(), "{} failed: {status}", generator.display());
    let model = hailo_onnx::load(&path).expect("the generated model loads");
    std::fs::remove_dir_all(&dir).ok();
    Some(
        hailo_onnx::to_hl::convert_owned(model, &Default::default())
            .expect("converts")
            .module,
    )
}

/// Quantizes `m` at the defaults on two seeded noise images of shape `shape` (NHWC, 0–255):
/// the replays compare structure, which the calibration data does not change.
pub fn quantize_on_noise(m: &mut Module, shape: &[usize; 4]) {
    let mut data = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(shape));
    let mut s = 7u64;
    data.mapv_inplace(|_| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 40) as f32 / (1u64 << 24) as f32 * 255.0
    });
    let mut cfg = hailo_quantizer::QuantConfig::default();
    cfg.calibration.calibset_size = shape[0];
    hailo_quantizer::quantize(m, &[data], &cfg).expect("quantizes");
}

/// The rows of `csv` (a file of `shared/data/allocation`) whose `file` is `dump`, as
/// column → value maps.
pub fn rows(csv: &str, dump: &str) -> Vec<BTreeMap<String, String>> {
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
        .filter(|r| r["file"] == dump)
        .collect()
}

pub fn run(m: &mut Module, pipeline: &str, resources: &Resources) {
    let ctx = hailo_tools::context::full_context(false);
    let mut pm = OpPassManager::parse(pipeline, &hailo_passes::registry()).expect("pipeline");
    let top = m.top();
    pm.run_with(m, &ctx, top, &mut Instrumentation::default(), resources)
        .unwrap_or_else(|f| panic!("{}: {:?}", f.pass, f.diagnostics));
}

pub fn layer(m: &Module, op: hailo_ir::OpId) -> Option<String> {
    m.attr(op, "layer")
        .and_then(Attribute::as_str)
        .map(str::to_owned)
}

/// The named layers (each `name` or `name:rows[/rows_after]` when a `phys.buffer` sits on
/// the edge) that value `v` comes from, through the unnamed ops between them.
pub fn producers(
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
pub type Layers = BTreeMap<String, (String, BTreeSet<String>, (String, String))>;

/// What a replay gives: the differences from the dump (each list empty when it is replayed
/// exactly), the layer counts (vendor, ours, common), the in-edges (the dump's `buf_in_rows`
/// entries, producer and rows, and how many of them ours has), the per-cluster totals (ours,
/// vendor), and the physical module.
pub struct Outcome {
    pub counts: (usize, usize, usize),
    pub edges: (usize, usize),
    pub only_vendor: Vec<String>,
    pub only_ours: Vec<String>,
    pub defuse_differs: Vec<String>,
    pub edges_differ: Vec<String>,
    pub placement_differs: Vec<String>,
    pub clusters: (Clusters, Clusters),
    pub module: Module,
}

pub type Clusters = BTreeMap<i64, (u32, u32)>;

/// Runs the compilation commands of `replay.alls` on a copy of `quantized` and diffs the result
/// against the dump.
pub fn replay(quantized: &Module, replay: &Replay) -> Outcome {
    let alls_text = std::fs::read_to_string(shared().join(replay.alls))
        .unwrap_or_else(|e| panic!("{}: {e}", replay.alls));
    let mut m = quantized.clone();
    let ops = m.walk(m.top());
    for &(a, b) in replay.renumber {
        let find = |n: &str| {
            ops.iter()
                .copied()
                .find(|&o| layer(&m, o).as_deref() == Some(n))
                .unwrap_or_else(|| panic!("no layer {n}"))
        };
        let (x, y) = (find(a), find(b));
        m.set_attr(x, "layer", Attribute::str(b));
        m.set_attr(y, "layer", Attribute::str(a));
    }
    // The optimization stage is done (its globs name the network, `resnet_v1_50/*`, which the
    // quantized module's layer list does not carry), and so are the model modifications
    // (`normalization1 = normalization(...)`).
    let done = [
        "quantization_param",
        "pre_quantization_optimization",
        "post_quantization_optimization",
        "model_optimization",
    ];
    let script_text: String = alls_text
        .lines()
        .filter(|l| !done.iter().any(|d| l.starts_with(d)) && !l.contains("= normalization("))
        .map(|l| format!("{l}\n"))
        .collect();
    let names: Vec<String> = m
        .walk(m.top())
        .into_iter()
        .filter_map(|o| layer(&m, o))
        .collect();
    let script = hailo_tools::phys_script::read(replay.alls, &script_text, &names)
        .expect("the compilation commands read");
    let mut resources = Resources::new();
    resources.insert(hailo_target::Target::hailo8());
    run(&mut m, &script.pipeline(), &resources);

    // Our physical layers: every op with a resource model, plus the graph's boundary layers.
    let mut producer = BTreeMap::new();
    let mut ours = Layers::new();
    let mut per_cluster = Clusters::new();
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
        let cluster = m.attr(op, "cluster").and_then(Attribute::as_i64);
        let r = rm
            .resources(&m, op)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        ours.insert(
            name.clone(),
            (
                defuse,
                preds,
                (
                    cluster.map_or(String::new(), |c| c.to_string()),
                    r.subclusters.to_string(),
                ),
            ),
        );
        if let Some(c) = cluster {
            let t = per_cluster.entry(c).or_default();
            t.0 += r.layer_controllers;
            t.1 += r.subclusters;
        }
    }
    let vendor: Layers = rows("dumps.csv", replay.dump)
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
    let both: Vec<&String> = vendor.keys().filter(|n| ours.contains_key(*n)).collect();
    let differ = |f: &dyn Fn(&String) -> Option<String>| both.iter().filter_map(|n| f(n)).collect();
    let vendor_clusters: Clusters = rows("dumps_clusters.csv", replay.dump)
        .into_iter()
        .map(|r| {
            let n = |k: &str| r[k].parse::<u32>().expect("a count");
            (
                r["cluster"].parse().expect("a cluster"),
                (n("lcu"), n("sc")),
            )
        })
        .collect();
    let edge_count = |l: &Layers| l.values().map(|v| v.1.len()).sum::<usize>();
    let matching_edges = both
        .iter()
        .map(|n| vendor[*n].1.intersection(&ours[*n].1).count())
        .sum();
    Outcome {
        counts: (vendor.len(), ours.len(), both.len()),
        edges: (edge_count(&vendor), matching_edges),
        only_vendor: vendor
            .keys()
            .filter(|n| !ours.contains_key(*n))
            .cloned()
            .collect(),
        only_ours: ours
            .keys()
            .filter(|n| !vendor.contains_key(*n))
            .cloned()
            .collect(),
        defuse_differs: differ(&|n| {
            (vendor[n].0 != ours[n].0)
                .then(|| format!("{n}: vendor '{}', ours '{}'", vendor[n].0, ours[n].0))
        }),
        edges_differ: differ(&|n| {
            (vendor[n].1 != ours[n].1)
                .then(|| format!("{n}: vendor {:?}, ours {:?}", vendor[n].1, ours[n].1))
        }),
        placement_differs: differ(&|n| {
            (vendor[n].2 != ours[n].2)
                .then(|| format!("{n}: vendor {:?}, ours {:?}", vendor[n].2, ours[n].2))
        }),
        clusters: (per_cluster, vendor_clusters),
        module: m,
    }
}

pub fn report(name: &str, o: &Outcome) {
    eprintln!(
        "{name}: layers (vendor, ours, common) {:?}; edges (vendor, matching) {:?}\nonly in the dump: {:?}\nonly ours: {:?}\ndefuse type differs: {:#?}\nproducers differ: {:#?}\n(cluster, subclusters) differ: {:#?}\nclusters (lcu, sc): ours {:?}\n                   vendor {:?}",
        o.counts, o.edges, o.only_vendor, o.only_ours, o.defuse_differs, o.edges_differ,
        o.placement_differs, o.clusters.0, o.clusters.1
    );
}

/// Every layer of the dump under its name with its defuse type, producers and rows on every
/// edge, cluster and subclusters, and nothing else; the per-cluster totals are the dump's.
/// `unrecorded`: the layers whose in-edges the dump does not record (no `buffers()` names them),
/// as the producer diff shows them.
pub fn assert_exact(o: &Outcome, layers: usize, edges: usize, unrecorded: &[&str]) {
    let none = Vec::<String>::new();
    assert_eq!(o.only_vendor, none);
    assert_eq!(o.only_ours, none);
    assert_eq!(o.defuse_differs, none);
    assert_eq!(o.edges_differ, unrecorded);
    assert_eq!(o.placement_differs, none);
    assert_eq!(o.counts, (layers, layers, layers));
    assert_eq!(o.edges, (edges, edges));
    assert_eq!(o.clusters.0, o.clusters.1);
}

/// The lowest rate and the layers within 0.01% of it.
pub fn bottleneck(rates: &BTreeMap<String, f64>) -> (f64, Vec<&str>) {
    let min = rates.values().copied().fold(f64::INFINITY, f64::min);
    let layers = rates
        .iter()
        .filter(|(_, &f)| f < min * 1.0001)
        .map(|(n, _)| n.as_str())
        .collect();
    (min, layers)
}

/// Each MAC-driven layer's rate by the resource model (`SC × 64 × 400 MHz × η / MACs`, η = 1 on
/// the built-in Hailo-8), by name.
pub fn rates(m: &Module) -> BTreeMap<String, f64> {
    let target = hailo_target::Target::hailo8();
    m.walk(m.top())
        .into_iter()
        .filter_map(|op| {
            let fps = hailo_dialect_phys::layer_fps(m, op, &target).ok()??;
            Some((layer(m, op)?, fps))
        })
        .collect()
}
