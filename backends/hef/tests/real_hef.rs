//! The facts of the vendor's real HEF (DFC 3.29, Hailo-8) that the issue requires, exactly.

mod common;

use hailo_hef::proto::ActionKind;
use hailo_hef::{check_bytes, Hef, HefInfo, Version};

fn real() -> Hef {
    Hef::from_bytes(&common::real_bytes()).expect("real HEF decodes with a valid checksum")
}

#[test]
fn container_facts() {
    let hef = real();
    let c = &hef.container;
    assert_eq!(c.version, Version::V1);
    assert_eq!(c.version.header_size(), 28);
    assert!(c.checksum_ok());
    assert_eq!(c.stored_checksum.to_string(), "a7bc7593");
    assert_eq!(c.proto.len(), 997_288);
    assert_eq!(c.ccws.len(), 2_506_040);
    assert_eq!(c.ccw_offset(), 28 + 997_288);
}

#[test]
fn ccw_words_one_per_ccw_ptr_action() {
    let hef = real();
    let section = hef.ccw_section().expect("CCW section");
    assert_eq!(section.words.len(), 148);
    assert_eq!(section.links.len(), 148);
    let mut covered: Vec<usize> = Vec::new();
    for link in &section.links {
        let words = link.words.as_ref().expect("action range holds whole CCWs");
        assert_eq!(
            words.len(),
            1,
            "action {} covers exactly one CCW",
            link.path
        );
        covered.push(words.start);
    }
    covered.sort_unstable();
    assert_eq!(
        covered,
        (0..148).collect::<Vec<_>>(),
        "actions and CCWs correspond one to one"
    );
    assert_eq!(section.words.iter().map(|w| w.data.len()).max(), Some(8192));
    let per_channel = section.per_channel();
    assert_eq!(per_channel.iter().map(|c| c.1).sum::<usize>(), 148);
    assert_eq!(per_channel.iter().map(|c| c.2).sum::<u64>(), 2_506_040);
    assert_eq!(
        per_channel.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![0, 1]
    );
}

#[test]
fn header_groups_and_streams() {
    let hef = real();
    let info = HefInfo::new(&hef);
    assert_eq!(info.hw_arch.name, Some("HAILO8P"));
    assert_eq!(info.hw_arch.device, "Hailo-8");
    assert_eq!(info.sdk_version, "3.29.0");
    assert_eq!(info.proto_version, 5);
    let ext: Vec<u32> = info.extensions.iter().map(|e| e.type_index).collect();
    assert_eq!(ext, vec![0, 3, 26, 12]);
    let opt: Vec<u32> = info
        .optional_extensions
        .iter()
        .map(|e| e.type_index)
        .collect();
    assert_eq!(opt, vec![8, 11]);
    assert_eq!(info.network_groups.len(), 1);
    let g = &info.network_groups[0];
    assert_eq!(g.name, "arcface_mobilefacenet");
    assert_eq!(g.context_mode, "Single Context");
    assert_eq!(g.cfg_channels, 2);
    assert_eq!(g.streams.len(), 2);
    let input = g
        .streams
        .iter()
        .find(|s| s.direction == "input")
        .expect("input");
    assert_eq!(input.name, "arcface_mobilefacenet/input_layer1");
    assert_eq!(
        (input.format_order, input.shape, input.data_type),
        (Some("NHWC"), [112, 112, 3], Some("UINT8"))
    );
    let output = g
        .streams
        .iter()
        .find(|s| s.direction == "output")
        .expect("output");
    assert_eq!(output.name, "arcface_mobilefacenet/fc1");
    assert_eq!(
        (output.format_order, output.shape[2], output.data_type),
        (Some("NC"), 512, Some("UINT8"))
    );
    assert_eq!(output.qp_zp, Some(144.0));
    let scale = output.qp_scale.expect("scale");
    assert!((scale - 0.016_738_9).abs() < 1e-7, "qp_scale {scale}");
    assert_eq!(output.qp_zps.len(), 512);
}

#[test]
fn contexts_and_actions() {
    let hef = real();
    let info = HefInfo::new(&hef);
    let g = &info.network_groups[0];
    let prelim = g.preliminary.as_ref().expect("preliminary config");
    assert_eq!(prelim.operations.len(), 1);
    assert_eq!(prelim.operations[0].trigger, "none");
    let count = |k: &str| prelim.action_counts.get(k).copied().unwrap_or(0);
    assert_eq!(count("write_data_ccw_ptr"), 148);
    assert_eq!(count("disable_lcu"), 87);
    assert_eq!(count("enable_lcu"), 87);
    assert_eq!(count("enable_sequencer"), 8);
    assert_eq!(count("wait_for_sequencer"), 8);
    assert_eq!(count("allow_input_dataflow"), 1);
    assert_eq!(g.contexts.len(), 1);
    assert_eq!(
        g.contexts[0].action_counts.get("allow_input_dataflow"),
        Some(&1)
    );
    let first = &hef.proto.network_groups[0]
        .preliminary_config
        .as_ref()
        .expect("prelim")
        .operation[0]
        .actions;
    assert!(matches!(first[0].action, Some(ActionKind::DisableLcu(_))));
}

#[test]
fn real_file_passes_check() {
    let violations = check_bytes(&common::real_bytes());
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn info_json_snapshot() {
    let hef = real();
    let mut info = HefInfo::new(&hef);
    // Keep the snapshot readable: the per-feature vectors are checked above.
    for s in &mut info.network_groups[0].streams {
        s.qp_zps.truncate(4);
        s.qp_scales.truncate(4);
    }
    insta::assert_json_snapshot!(info);
}
