//! Writing and reading HARs: lossless, deterministic, both containers, the HN view, and
//! the rebuild from HN + NPZ alone.

mod common;

use common::{ctx, module, print, scratch, NET};
use hailo_har::{
    hn_json, read_har, read_members, summarize, write_har, write_members, HarMetadata, HarState,
    METADATA_MEMBER,
};

fn meta() -> HarMetadata {
    HarMetadata {
        model_script: Some("normalization1 = normalization([0, 0, 0], [255, 255, 255])\n".into()),
        ..HarMetadata::new(HarState::FpOptimized, "hailo8l")
    }
}

#[test]
fn round_trip_is_lossless_plain_and_gzip() {
    let ctx = ctx();
    let m = module(&ctx);
    let dir = scratch("lossless");
    for gzip in [false, true] {
        let path = dir.join(format!("tiny-{gzip}.har"));
        write_har(&m, &ctx, &meta(), &path, gzip).unwrap();
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw.starts_with(&[0x1f, 0x8b]), gzip);
        let (back, md) = read_har(&path, &ctx).unwrap();
        assert_eq!(print(&back, &ctx), print(&m, &ctx));
        assert_eq!(back.resources, m.resources, "blob bytes and alignment");
        assert_eq!(
            (md.state, md.hw_arch.as_str(), &md.model_script),
            (HarState::FpOptimized, "hailo8l", &meta().model_script)
        );
        assert_eq!(md.tool_version, meta().tool_version);
        let hashed: Vec<&str> = md.content_hashes.keys().map(String::as_str).collect();
        assert_eq!(hashed, ["tiny.hn", "tiny.npz"]);
        assert!(md.content_hashes.values().all(|h| h.len() == 64));
    }
}

#[test]
fn members_are_sorted_and_named_after_the_network() {
    let ctx = ctx();
    let path = scratch("members").join("m.har");
    write_har(&module(&ctx), &ctx, &meta(), &path, false).unwrap();
    let names: Vec<String> = read_members(&path)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, [METADATA_MEMBER, "tiny.hn", "tiny.npz"]);
}

#[test]
fn writing_twice_gives_identical_bytes() {
    let ctx = ctx();
    let m = module(&ctx);
    let dir = scratch("deterministic");
    for gzip in [false, true] {
        let (a, b, c) = (dir.join("a.har"), dir.join("b.har"), dir.join("c.har"));
        write_har(&m, &ctx, &meta(), &a, gzip).unwrap();
        write_har(&m, &ctx, &meta(), &b, gzip).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        // A module read back writes the same archive again.
        let (back, md) = read_har(&a, &ctx).unwrap();
        write_har(&back, &ctx, &md, &c, gzip).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
    }
}

#[test]
fn hn_view_snapshot() {
    let ctx = ctx();
    let hn = hn_json(&module(&ctx));
    // One line per layer keeps the snapshot reviewable.
    let mut text = format!("name: {}\nnet_params: {}\n", hn["name"], hn["net_params"]);
    for (name, layer) in hn["layers"].as_object().unwrap() {
        text.push_str(&format!("{name}: {layer}\n"));
    }
    insta::assert_snapshot!(text);
}

#[test]
fn npz_holds_hn_keys_as_float32() {
    let ctx = ctx();
    let path = scratch("npz").join("m.har");
    write_har(&module(&ctx), &ctx, &meta(), &path, false).unwrap();
    let npz = read_members(&path)
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == "tiny.npz")
        .unwrap()
        .1;
    let npz_path = path.with_extension("npz");
    std::fs::write(&npz_path, npz).unwrap();
    let arrays = hailo_npz::read_npz(&npz_path).unwrap();
    let keys: Vec<(&str, &[usize])> = arrays
        .iter()
        .map(|(k, a)| (k.as_str(), a.shape()))
        .collect();
    assert_eq!(
        keys,
        [
            ("tiny/conv1/kernel:0", &[3, 3, 3, 8][..]),
            ("tiny/conv1/bias:0", &[8][..]),
            ("tiny/dw1/kernel:0", &[3, 3, 1, 8][..]),
            ("tiny/batch_norm1/moving_mean:0", &[8][..]),
            ("tiny/batch_norm1/moving_variance:0", &[8][..]),
            ("tiny/batch_norm1/gamma:0", &[8][..]),
            ("tiny/batch_norm1/beta:0", &[8][..]),
            ("tiny/fc1/kernel:0", &[48, 10][..]),
            ("tiny/fc1/bias:0", &[10][..]),
            ("tiny/const_input1/const:0", &[1, 1, 1, 4][..]),
        ]
    );
    assert!(arrays.iter().all(|(_, a)| a.as_f32().is_some()));
    // Element 1 of conv1's kernel is sin((1 + seed 0) * 0.37).
    let k = arrays[0].1.as_f32().unwrap();
    assert_eq!(k.as_slice().unwrap()[1], (0.37f32).sin());
}

#[test]
fn har_without_metadata_is_rebuilt_from_hn_and_npz() {
    let ctx = ctx();
    let m = module(&ctx);
    let dir = scratch("foreign");
    let ours = dir.join("ours.har");
    write_har(&m, &ctx, &meta(), &ours, false).unwrap();
    let members: Vec<_> = read_members(&ours)
        .unwrap()
        .into_iter()
        .filter(|(n, _)| n != METADATA_MEMBER)
        .collect();
    for gzip in [false, true] {
        let foreign = dir.join(format!("foreign-{gzip}.har"));
        write_members(&foreign, &members, gzip).unwrap();
        let (back, md) = read_har(&foreign, &ctx).unwrap();
        assert_eq!(print(&back, &ctx), print(&m, &ctx));
        assert_eq!(
            (md.state, md.hw_arch.as_str(), md.model_script),
            (HarState::HailoModel, "hailo8", None)
        );
        assert!(md.tool_version.contains("without hailo-rs metadata"));
        assert!(md.content_hashes.is_empty());
    }
}

#[test]
fn summary_counts_layers_params_and_bytes() {
    let ctx = ctx();
    let s = summarize(&module(&ctx));
    assert_eq!(s.net_name, NET);
    assert_eq!(s.layer_counts.values().sum::<usize>(), 18);
    assert_eq!(
        (
            s.layer_counts["output_layer"],
            s.layer_counts["reduce_mean"],
            s.layer_counts["const_input"]
        ),
        (3, 1, 1)
    );
    // 216+8 (conv1) + 72 (dw1) + 4*8 (batch_norm1) + 480+10 (fc1) + 4 (const_input1).
    assert_eq!((s.params, s.weight_bytes), (822, 822 * 4));
    assert_eq!(
        s.inputs,
        [
            ("tiny/input_layer1".to_string(), vec![-1, 8, 8, 3]),
            ("tiny/input_layer2".to_string(), vec![-1, 4, 4, 8])
        ]
    );
    let outs: Vec<(&str, &[i64])> = s
        .outputs
        .iter()
        .map(|(n, sh)| (n.as_str(), sh.as_slice()))
        .collect();
    assert_eq!(
        outs,
        [
            ("tiny/output_layer1", &[-1, 10][..]),
            ("tiny/output_layer2", &[-1, 4, 4, 16][..]),
            ("tiny/output_layer3", &[-1, 1, 1, 4][..])
        ]
    );
}

#[test]
fn quantization_report_round_trips_as_its_own_member() {
    let ctx = ctx();
    let m = module(&ctx);
    let dir = scratch("quant-report");
    let report = hailo_har::QuantReport {
        calibset_size: 64,
        batch_size: 8,
        snr_samples: 8,
        output_snr_db: vec![Some(31.5), None],
        weight_bit_ratios: [("4".to_string(), 0.25), ("8".to_string(), 0.75)]
            .into_iter()
            .collect(),
        auto_4bit_layers: vec!["conv2".into()],
        layers: vec![hailo_har::LayerQuant {
            layer: "conv1".into(),
            op: "hl.conv2d".into(),
            input_bits: vec![8],
            output_bits: 8,
            weight_bits: Some(4),
            bias_bits: Some(32),
            weights: 216,
            stats_min: -1.5,
            stats_max: 3.25,
            range: Some([-1.5, 3.25]),
            partial_snr_db: Some(24.125),
        }],
        noise: Some(hailo_har::NoiseReport {
            samples: 16,
            layers: vec![hailo_har::LayerNoise {
                layer: "conv1".into(),
                snr_db: Some(8.5),
                partial_snr_db: None,
            }],
        }),
    };
    let quantized = HarMetadata {
        state: HarState::Quantized,
        quantization: Some(report.clone()),
        ..meta()
    };
    let path = dir.join("q.har");
    write_har(&m, &ctx, &quantized, &path, false).unwrap();
    let members = read_members(&path).unwrap();
    assert!(members.iter().any(|(n, _)| n == hailo_har::QUANT_MEMBER));
    let (_, back) = read_har(&path, &ctx).unwrap();
    assert_eq!(back.quantization, Some(report));
    assert!(back.content_hashes.contains_key(hailo_har::QUANT_MEMBER));
    // Without a report the archive has no such member.
    write_har(&m, &ctx, &meta(), &path, false).unwrap();
    assert!(read_members(&path)
        .unwrap()
        .iter()
        .all(|(n, _)| n != hailo_har::QUANT_MEMBER));
}
