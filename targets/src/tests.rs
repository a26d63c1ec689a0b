use super::*;

/// The marketed peaks (Hailo-8 26 TOPS, Hailo-8L 13 TOPS) follow from the descriptions: 512 SC ×
/// 64 MAC × 2 × 400 MHz = 26.2 TOPS (resources doc §0 and §2).
#[test]
fn peaks_match_the_marketed_tops() {
    let h8 = Target::hailo8();
    assert_eq!(h8.total_subclusters(), 512);
    assert_eq!(h8.total_layer_controllers(), 128);
    assert!(
        (h8.peak_tops() - 26.2144).abs() < 1e-9,
        "{}",
        h8.peak_tops()
    );
    let h8l = Target::hailo8l();
    assert_eq!(h8l.total_subclusters(), 256);
    assert!((h8l.peak_tops() - 13.1072).abs() < 1e-9);
    assert!((Target::hailo8r().peak_tops() - 13.1072).abs() < 1e-9);
}

#[test]
fn both_modes_do_64_macs_per_cycle() {
    let sc = Target::hailo8().subcluster;
    assert_eq!(sc.array(ScMode::Mode8x8).macs_per_cycle(), 64);
    assert_eq!(sc.array(ScMode::Mode16x4).macs_per_cycle(), 64);
    assert_eq!(sc.mode_16x4.columns, 16);
    assert_eq!(ScMode::parse("16x4"), Some(ScMode::Mode16x4));
    assert_eq!(ScMode::parse("4x16"), None);
}

#[test]
fn targets_are_chosen_by_hw_arch_name() {
    assert_eq!(Target::by_name("hailo8r").unwrap().clock_hz, 200_000_000);
    assert_eq!(
        Target::by_name("hailo8l").unwrap().cluster_ids,
        [0, 1, 4, 5]
    );
    for name in Target::KNOWN {
        let t = Target::by_name(name).unwrap();
        assert_eq!(t.name, name);
        t.validate().unwrap();
    }
    let err = Target::by_name("hailo15h").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown hardware architecture 'hailo15h'; known: hailo8, hailo8l, hailo8r"
    );
}

#[test]
fn unknowns_are_absent_values_not_guesses() {
    let m = Target::hailo8().memory;
    for p in [&m.l2_bytes_per_subcluster, &m.l3_unit_bytes, &m.l4_bytes] {
        assert_eq!(p.value, None);
        assert_eq!(p.confidence, Confidence::Unknown);
        assert!(!p.evidence.is_empty());
    }
    assert_eq!(m.total_sram_bytes.confidence, Confidence::Low);
}

#[test]
fn json_round_trips_and_a_user_file_can_change_a_parameter() {
    for name in Target::KNOWN {
        let t = Target::by_name(name).unwrap();
        assert_eq!(Target::from_json(&t.to_json()).unwrap(), t);
    }
    // A calibrated description: an L3 unit size and η filled in.
    let mut v: serde_json::Value = serde_json::from_str(&Target::hailo8().to_json()).unwrap();
    v["memory"]["l3_unit_bytes"] =
        serde_json::json!({"value": 32768, "confidence": "low", "evidence": "my calibration"});
    v["mac_efficiency"]["value"] = serde_json::json!(0.75);
    let t = Target::from_json(&v.to_string()).unwrap();
    assert_eq!(t.memory.l3_unit_bytes.value, Some(32768));
    assert_eq!(t.efficiency(), 0.75);
}

#[test]
fn bad_json_is_located_and_bad_values_are_named() {
    let err = Target::from_json("{\n  \"name\": 3\n}").unwrap_err();
    assert!(matches!(err, TargetError::Json(_)));
    assert!(err.to_string().contains("line 2"), "{err}");

    let mut t = Target::hailo8();
    t.limits.max_subclusters = 65;
    let err = Target::from_json(&t.to_json()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "target description: 'limits.max_subclusters' (65) exceeds a cluster's 64 subclusters"
    );

    let mut t = Target::hailo8();
    t.cluster_ids = vec![0, 3, 3];
    assert_eq!(
        t.validate().unwrap_err().to_string(),
        "target description: 'cluster_ids' names cluster 3 twice"
    );

    let mut t = Target::hailo8();
    t.mac_efficiency.value = Some(1.5);
    assert!(t
        .validate()
        .unwrap_err()
        .to_string()
        .contains("(0, 1], got 1.5"));

    let mut t = Target::hailo8();
    t.clock_hz = 0;
    assert!(t.validate().is_err());
}
