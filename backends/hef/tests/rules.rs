//! The minimal HEF passes `check`; one variant per HailoRT 4.23 rule (§3.1) and crash
//! construct (§3.2) is rejected with exactly that rule's named violation.

mod common;

use hailo_hef::proto::*;
use hailo_hef::{check_bytes, check_hef, minimal_hef, Hef, Rule, Version};

fn base(version: Version) -> Hef {
    minimal_hef(&common::tiny(version)).expect("minimal HEF")
}

fn group(h: &mut Hef) -> &mut NetworkGroup {
    &mut h.proto.network_groups[0]
}

fn layers(h: &mut Hef) -> &mut Vec<EdgeLayer> {
    &mut group(h).contexts[0]
        .metadata
        .as_mut()
        .expect("metadata")
        .edge_layers
}

fn info(l: &mut EdgeLayer) -> &mut EdgeLayerInfo {
    match &mut l.edge {
        Some(EdgeKind::LayerInfo(i)) => i,
        _ => panic!("minimal layers are INFO layers"),
    }
}

fn layer_base(h: &mut Hef, i: usize) -> &mut EdgeLayerBase {
    info(&mut layers(h)[i])
        .edge_layer_base
        .as_mut()
        .expect("base")
}

fn op(actions: Vec<ActionKind>, trigger: Option<TriggerKind>) -> Operation {
    Operation {
        trigger: Some(Trigger {
            unique_id: 1,
            trigger,
        }),
        actions: actions
            .into_iter()
            .map(|a| Action {
                unique_id: 2,
                action: Some(a),
            })
            .collect(),
    }
}

fn add_prelim(h: &mut Hef, o: Operation) {
    group(h)
        .preliminary_config
        .get_or_insert_with(Default::default)
        .operation
        .push(o);
}

fn none_trigger() -> Option<TriggerKind> {
    Some(TriggerKind::TriggerNone(Empty {}))
}

/// Re-serialize (checksum recomputed) and check the bytes; return the rules found.
fn rules_of(h: &Hef) -> Vec<Rule> {
    let mut r: Vec<Rule> = check_bytes(&h.to_bytes().expect("write"))
        .into_iter()
        .map(|v| v.rule)
        .collect();
    r.dedup();
    r
}

fn expect_only(h: &Hef, rule: Rule) {
    assert_eq!(rules_of(h), vec![rule], "variant for {rule}");
}

#[test]
fn minimal_hef_passes_in_every_version() {
    for v in [Version::V0, Version::V1, Version::V2, Version::V3] {
        let h = base(v);
        assert_eq!(check_hef(&h), vec![]);
        assert_eq!(rules_of(&h), vec![]);
    }
}

#[test]
fn minimal_proto_is_small() {
    let len = base(Version::V1).encode_proto().len();
    assert!(len < 300, "minimal proto {len} bytes");
}

#[test]
fn extension_rules() {
    let mut h = base(Version::V1);
    h.proto.extensions.push(Extension {
        type_index: 8,
        name: String::new(),
    });
    expect_only(&h, Rule::UnsupportedExtension);
    let mut h = base(Version::V1);
    h.proto.extensions.push(Extension {
        type_index: 33,
        name: String::new(),
    });
    expect_only(&h, Rule::UnsupportedExtension);
    let mut h = base(Version::V1);
    h.proto.optional_extensions.push(Extension {
        type_index: 11,
        name: "HW Padding".into(),
    });
    assert_eq!(rules_of(&h), vec![]);
    let mut h = base(Version::V1);
    h.proto.extensions.clear();
    expect_only(&h, Rule::MissingPeriphCalculation);
    let mut h = base(Version::V1);
    h.proto.header.as_mut().expect("header").version = 0;
    expect_only(&h, Rule::OutdatedHeaderVersion);
}

#[test]
fn trigger_rules() {
    let mut h = base(Version::V1);
    add_prelim(&mut h, op(vec![], None));
    expect_only(&h, Rule::OperationWithoutTrigger);
    let mut h = base(Version::V1);
    add_prelim(
        &mut h,
        op(
            vec![],
            Some(TriggerKind::AllDataWasReceived(ShmifoIndex {
                shmifo_index: 0,
            })),
        ),
    );
    expect_only(&h, Rule::UnsupportedTrigger);
}

#[test]
fn action_rules() {
    let ccw = ActionKind::WriteDataCcw(WriteDataCcw {
        data: vec![0; 16],
        cfg_channel_index: 0,
    });
    let ptr = ActionKind::WriteDataCcwPtr(WriteDataCcwPtr {
        offset: 0,
        size: 16,
        cfg_channel_index: 0,
    });
    let mut h = base(Version::V1);
    add_prelim(&mut h, op(vec![ccw.clone()], none_trigger()));
    expect_only(&h, Rule::InlineCcwInV1Plus);
    let mut h = base(Version::V0);
    add_prelim(&mut h, op(vec![ccw], none_trigger()));
    assert_eq!(rules_of(&h), vec![], "inline CCWs are fine in v0");
    let mut h = base(Version::V0);
    add_prelim(&mut h, op(vec![ptr], none_trigger()));
    expect_only(&h, Rule::CcwPtrInV0);
    for a in [
        ActionKind::WriteData(AddressData::default()),
        ActionKind::WriteCompressedData(AddressData::default()),
    ] {
        let mut h = base(Version::V1);
        group(&mut h).contexts[0]
            .operations
            .push(op(vec![a], none_trigger()));
        expect_only(&h, Rule::UnsupportedAction);
    }
    let mut h = base(Version::V1);
    let mut o = op(vec![], none_trigger());
    o.actions.push(Action {
        unique_id: 3,
        action: None,
    });
    group(&mut h).contexts[0].operations.push(o);
    expect_only(&h, Rule::UnsupportedAction);
}

/// A change to a layer base that breaks one rule.
type Mutation = fn(&mut EdgeLayerBase);

#[test]
fn edge_layer_field_rules() {
    let mut h = base(Version::V1);
    layers(&mut h)[0]
        .context_switch_info
        .as_mut()
        .expect("csi")
        .edge_connection_type = 7;
    assert!(rules_of(&h).contains(&Rule::UnknownConnectionType));
    let cases: [(Mutation, Rule); 8] = [
        (|b| b.format = 9, Rule::UnsupportedFormat),
        (|b| b.data_bytes = 4, Rule::UnsupportedDataBytes),
        (|b| b.host_argmax = true, Rule::HostArgmax),
        (
            |b| b.core_bytes_per_buffer = 65536,
            Rule::BufferGeometryTooLarge,
        ),
        (
            |b| b.core_buffers_per_frame = 70000,
            Rule::BufferGeometryTooLarge,
        ),
        (
            |b| (b.padded_height, b.padded_width, b.padded_features) = (65536, 256, 256),
            Rule::PaddedFrameTooLarge,
        ),
        (|b| b.sys_index = 256, Rule::StreamIndexTooLarge),
        (|b| b.engine_id = 300, Rule::StreamIndexTooLarge),
    ];
    for (mutate, rule) in cases {
        let mut h = base(Version::V1);
        mutate(layer_base(&mut h, 0));
        expect_only(&h, rule);
    }
}

#[test]
fn name_and_uniqueness_rules() {
    let mut h = base(Version::V1);
    info(&mut layers(&mut h)[0]).name = format!("tiny/{}", "x".repeat(123));
    expect_only(&h, Rule::NameTooLong);
    let mut h = base(Version::V1);
    let mut dup = layers(&mut h)[0].clone();
    info(&mut dup)
        .edge_layer_base
        .as_mut()
        .expect("base")
        .sys_index = 5;
    layers(&mut h).push(dup);
    expect_only(&h, Rule::DuplicateBoundaryName);
}

fn ddr_layer(direction: i32, sys_index: u32, peer_sys: u32, bytes_per_buffer: u32) -> EdgeLayer {
    EdgeLayer {
        direction,
        edge: Some(EdgeKind::LayerInfo(EdgeLayerInfo {
            name: format!("tiny/ddr{sys_index}"),
            edge_layer_base: Some(EdgeLayerBase {
                sys_index,
                data_bytes: 1,
                core_bytes_per_buffer: bytes_per_buffer,
                core_buffers_per_frame: 8,
                buffer_indices: vec![ResourceIndices::default()],
                ..Default::default()
            }),
            ..Default::default()
        })),
        context_switch_info: Some(ContextSwitchInfo {
            edge_connection_type: CONNECTION_DDR,
            connected_contexts: vec![ConnectedContextInfo {
                index: 0,
                sys_index: peer_sys,
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn ddr_pair_rule() {
    let mut h = base(Version::V1);
    layers(&mut h).extend([
        ddr_layer(DIRECTION_DEVICE_TO_HOST, 10, 11, 64),
        ddr_layer(DIRECTION_HOST_TO_DEVICE, 11, 10, 64),
    ]);
    assert_eq!(rules_of(&h), vec![], "a proper DDR pair");
    let mut h = base(Version::V1);
    layers(&mut h).push(ddr_layer(DIRECTION_DEVICE_TO_HOST, 10, 11, 64));
    expect_only(&h, Rule::UnpairedDdrLayer);
    let mut h = base(Version::V1);
    layers(&mut h).extend([
        ddr_layer(DIRECTION_DEVICE_TO_HOST, 10, 11, 64),
        ddr_layer(DIRECTION_HOST_TO_DEVICE, 11, 10, 32),
    ]);
    expect_only(&h, Rule::UnpairedDdrLayer);
}

#[test]
fn sorted_output_rules() {
    let mut h = base(Version::V1);
    group(&mut h).sorted_outputs_order.clear();
    expect_only(&h, Rule::MissingSortedOutputs);
    let mut h = base(Version::V1);
    group(&mut h).sorted_outputs_order.clear();
    group(&mut h).contexts[0]
        .metadata
        .as_mut()
        .expect("meta")
        .sorted_outputs_order = vec!["tiny/out".into()];
    assert_eq!(rules_of(&h), vec![], "last context's list is a fallback");
    let mut h = base(Version::V1);
    let mut second = layers(&mut h)[1].clone();
    info(&mut second).name = "tiny/out2".into();
    info(&mut second)
        .edge_layer_base
        .as_mut()
        .expect("base")
        .sys_index = 7;
    layers(&mut h).push(second);
    expect_only(&h, Rule::OutputNotInSortedList);
}

#[test]
fn network_rules() {
    let multi = Extension {
        type_index: 8,
        name: String::new(),
    };
    let mut h = base(Version::V1);
    h.proto.optional_extensions.push(multi.clone());
    group(&mut h).networks_names = vec!["tiny".into()];
    assert_eq!(rules_of(&h), vec![]);
    layers(&mut h)[1].network_index = 1;
    let found = rules_of(&h);
    assert!(found.contains(&Rule::NetworkIndexOutOfRange), "{found:?}");
    let mut h = base(Version::V1);
    layers(&mut h).remove(0);
    expect_only(&h, Rule::NetworkMissingInput);
    let mut h = base(Version::V1);
    layers(&mut h).remove(1);
    group(&mut h).sorted_outputs_order = vec!["tiny/out".into()];
    expect_only(&h, Rule::NetworkMissingOutput);
}

#[test]
fn per_feature_quantization_rules() {
    let per_feature = |h: &mut Hef| {
        h.proto.extensions.push(Extension {
            type_index: 25,
            name: String::new(),
        })
    };
    let set = |l: &mut EdgeLayer, zps: Vec<f64>, scales: Vec<f64>| {
        let n = info(l).numeric_info.as_mut().expect("numeric");
        (n.qp_zps, n.qp_scales) = (zps, scales);
    };
    let mut h = base(Version::V1);
    per_feature(&mut h);
    set(&mut layers(&mut h)[0], vec![128.0; 3], vec![0.02; 3]);
    set(&mut layers(&mut h)[1], vec![128.0; 16], vec![0.02; 16]);
    assert_eq!(rules_of(&h), vec![]);
    let mut bad = h.clone();
    set(&mut layers(&mut bad)[1], vec![128.0; 15], vec![0.02; 15]);
    expect_only(&bad, Rule::PerFeatureQpLength);
    let mut bad = h.clone();
    set(
        &mut layers(&mut bad)[0],
        vec![128.0, 127.0, 128.0],
        vec![0.02; 3],
    );
    expect_only(&bad, Rule::InputQpNotUniform);
}

#[test]
fn crash_constructs() {
    let mut h = base(Version::V1);
    group(&mut h).contexts.clear();
    assert!(rules_of(&h).contains(&Rule::NoContexts));
    let mut h = base(Version::V1);
    layer_base(&mut h, 1).buffer_indices.clear();
    expect_only(&h, Rule::MissingBufferIndices);
    let mut h = base(Version::V1);
    h.proto.header.as_mut().expect("header").hw_arch = 3;
    expect_only(&h, Rule::MultiLayoutWithoutPartials);
    for rule in [
        Rule::NoContexts,
        Rule::MissingBufferIndices,
        Rule::MultiLayoutWithoutPartials,
    ] {
        assert!(rule.crashes_hailort());
    }
}

fn net_flow(core_name: &str) -> Hef {
    let mut h = base(Version::V1);
    h.proto.extensions.push(Extension {
        type_index: 13,
        name: String::new(),
    });
    let g = group(&mut h);
    let core = CoreOp {
        network_group_metadata: g.network_group_metadata.clone(),
        contexts: std::mem::take(&mut g.contexts),
        ..Default::default()
    };
    g.ops.push(Op {
        name: core_name.into(),
        op: Some(OpKind::CoreOp(Box::new(core))),
        ..Default::default()
    });
    h
}

#[test]
fn net_flow_rules() {
    assert_eq!(rules_of(&net_flow("tiny")), vec![]);
    expect_only(&net_flow("other"), Rule::NetFlowNameMismatch);
    let mut h = net_flow("tiny");
    group(&mut h).ops[0].op = Some(OpKind::LogitsOp(vec![]));
    expect_only(&h, Rule::NetFlowWithoutCoreOp);
    let mut h = net_flow("tiny");
    group(&mut h).sorted_outputs_order.clear();
    expect_only(&h, Rule::MissingSortedOutputs);
}

#[test]
fn every_rule_has_a_distinct_name() {
    let mut names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Rule::ALL.len());
}
