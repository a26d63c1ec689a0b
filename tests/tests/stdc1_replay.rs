//! Replaying the vendor's Hailo-8 allocation of stdc1 (issue 20's acceptance items): the network
//! of `tests/data/make_stdc1.py` (STDC1-Seg, 1024x1920, read off the dump's layers and edges),
//! parsed, with the script's `normalization1` and its `global_avgpool_reduction` of `avgpool7`
//! (`reducing_avgpool7`), quantized (a8_w8 defaults on 2 seeded random samples: the physical
//! graph does not depend on the ranges), then run through the physical pipeline the
//! compilation commands of `alls/hailo8/base/stdc1.alls` compile to and diffed against the
//! dump's rows (`replay` module).
//!
//! The vendor's parser numbers the broadcasts of the network's three attention products in
//! another order than our breadth-first numbering: its `resize1` is the global context's
//! broadcast (`fc2 -> resize1 -> ew_add1`) and `resize2` the 1/16 attention's
//! (`fc1 -> resize2 -> ew_mult1`), where ours are the other way round (the 1/16 branch is
//! shallower). The replay swaps the two names ([`RENUMBER`]).
//!
//! Needs `.venv/bin/python` with numpy and onnx, as `resnet_v1_50_replay.rs` does.

mod replay;

use hailo_ir::pass::Resources;
use hailo_ir::Module;
use replay::{
    assert_exact, bottleneck, generated, quantize_on_noise, rates, replay, repo, report, run,
    shared, Replay,
};

/// Our `resize1`/`resize2` are the vendor's `resize2`/`resize1` (module doc).
const RENUMBER: &[(&str, &str)] = &[("resize1", "resize2")];

const V2_18: Replay = Replay {
    alls: "corpus/alls/hailo8/base/stdc1.alls",
    dump: "v2.18/hailo8/base/stdc1.alls",
    renumber: RENUMBER,
};

/// The quantized stdc1 with the script's model modifications and its global average pool
/// reduction.
fn quantized() -> Option<Module> {
    let mut m = generated(&repo().join("tests/data/make_stdc1.py"), "stdc1.onnx")?;
    let ctx = hailo_tools::context::full_context(false);
    // The script scopes its normalization to the network (`stdc1/normalization1 = ...`); the
    // module converted from ONNX carries no network scope, so the command is read unscoped.
    let alls = std::fs::read_to_string(shared().join(V2_18.alls))
        .expect("readable")
        .replace("stdc1/normalization1", "normalization1");
    let src = hailo_alls::SourceFile::new("stdc1.alls", &alls);
    let checked = hailo_alls::check_source(&src, Default::default());
    hailo_alls::modifications::apply_model_modifications(&mut m, &ctx, &checked.script, &shared())
        .expect("model modifications apply");
    // pre_quantization_optimization(global_avgpool_reduction, layers=avgpool7,
    // division_factors=[128, 1]).
    run(
        &mut m,
        "builtin.module(hl-global-avgpool-reduction{layers=[avgpool7:128:1]})",
        &Resources::new(),
    );
    quantize_on_noise(&mut m, &[2, 1024, 1920, 3]);
    Some(m)
}

#[test]
fn stdc1_replays_the_v2_18_allocation() {
    let Some(net) = quantized() else { return };
    let o = replay(&net, &V2_18);
    report("stdc1 v2.18", &o);
    assert_exact(&o, 121, 164, &[]);
    // The MAC model bounds the allocation from above (resources doc §9: predicted >= published
    // FPS; 57.6 FPS published for stdc1 on Hailo-8, v2.18). The bottleneck is conv32 (3x3,
    // 256 -> 256 on the 128x240 map) in 6 row parts: the first two hold 22 of the 128 rows,
    // 22 x 240 x 9 x 256 x 256 = 3,114,270,720 MACs on 8 subclusters: 8 x 64 x 400e6 / that
    // = 65.76 FPS; the published 57.6 is 0.876 of it.
    let rates = rates(&o.module);
    let (min, layers) = bottleneck(&rates);
    let bound = 8.0 * 64.0 * 400e6 / (22.0 * 240.0 * 9.0 * 256.0 * 256.0);
    assert!((min - bound).abs() < 1e-9 * bound, "{min} at {layers:?}");
    assert_eq!(layers, ["conv32_sd0", "conv32_sd1"]);
    assert!(min >= 57.6 && (57.6 / min - 0.876).abs() < 0.001, "{min}");
}
