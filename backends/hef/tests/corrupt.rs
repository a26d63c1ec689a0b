//! Corrupted files give errors (and named container violations), never panics.

mod common;

use hailo_hef::{check_bytes, minimal_hef, Hef, HefError, Rule, Version};

fn rules(bytes: &[u8]) -> Vec<Rule> {
    check_bytes(bytes).into_iter().map(|v| v.rule).collect()
}

#[test]
fn flipped_payload_byte_is_a_checksum_error() {
    let mut bytes = common::real_bytes();
    bytes[28 + 997_288 + 1000] ^= 0x40; // inside the CCW section
    let err = Hef::from_bytes(&bytes).expect_err("checksum must fail");
    assert!(
        matches!(err, HefError::ChecksumMismatch { kind: "CRC-32", .. }),
        "{err}"
    );
    assert_eq!(rules(&bytes), vec![Rule::ChecksumMismatch]);
    for v in [Version::V0, Version::V2, Version::V3] {
        let mut b = minimal_hef(&common::tiny(v))
            .expect("minimal")
            .to_bytes()
            .expect("write");
        let last = b.len() - 1;
        b[last] ^= 1;
        assert!(
            matches!(Hef::from_bytes(&b), Err(HefError::ChecksumMismatch { .. })),
            "{v:?}"
        );
    }
}

#[test]
fn truncated_files() {
    let bytes = common::real_bytes();
    for len in [0, 3, 11, 12, 20, 27] {
        let err = Hef::from_bytes(&bytes[..len]).expect_err("too short");
        assert!(matches!(err, HefError::Truncated { .. }), "{len}: {err}");
        assert_eq!(rules(&bytes[..len]), vec![Rule::TruncatedHeader]);
    }
    let cut = &bytes[..bytes.len() - 1];
    assert!(matches!(
        Hef::from_bytes(cut),
        Err(HefError::LengthMismatch { .. })
    ));
    assert_eq!(rules(cut), vec![Rule::LengthMismatch]);
}

#[test]
fn trailing_bytes_break_the_length_rule() {
    let mut bytes = common::real_bytes();
    bytes.push(0);
    assert!(matches!(
        Hef::from_bytes(&bytes),
        Err(HefError::LengthMismatch { .. })
    ));
}

#[test]
fn wrong_magic_and_version() {
    let mut bytes = common::real_bytes();
    bytes[1] = b'X';
    assert!(matches!(
        Hef::from_bytes(&bytes),
        Err(HefError::BadMagic { .. })
    ));
    assert_eq!(rules(&bytes), vec![Rule::BadMagic]);
    let mut bytes = common::real_bytes();
    bytes[7] = 4;
    assert!(matches!(
        Hef::from_bytes(&bytes),
        Err(HefError::UnsupportedVersion { version: 4 })
    ));
    assert_eq!(rules(&bytes), vec![Rule::UnsupportedContainerVersion]);
}

#[test]
fn bad_lengths() {
    let good = common::real_bytes();
    for (at, value) in [(8usize, 0xFFu8), (11, 0x00), (16, 0xFF), (23, 0x01)] {
        let mut bytes = good.clone();
        bytes[at] ^= value | 1;
        let err = Hef::from_bytes(&bytes).expect_err("length");
        assert!(
            matches!(err, HefError::LengthMismatch { .. }),
            "byte {at}: {err}"
        );
    }
    let mut v3 = minimal_hef(&common::tiny(Version::V3))
        .expect("minimal")
        .to_bytes()
        .expect("write");
    v3[28..32].copy_from_slice(&u32::MAX.to_be_bytes()); // padding > ccws_size_with_padding
    assert!(matches!(
        Hef::from_bytes(&v3),
        Err(HefError::BadPadding { .. })
    ));
    let mut v3 = minimal_hef(&common::tiny(Version::V3))
        .expect("minimal")
        .to_bytes()
        .expect("write");
    v3[20..28].copy_from_slice(&u64::MAX.to_be_bytes()); // sizes overflow
    assert!(matches!(
        Hef::from_bytes(&v3),
        Err(HefError::LengthMismatch { .. })
    ));
}

#[test]
fn garbage_protobuf_is_an_error() {
    let mut hef = minimal_hef(&common::tiny(Version::V1)).expect("minimal");
    for garbage in [
        vec![0xFF; 40],
        vec![0x0A, 0x7F, 0x01],
        vec![0x12, 0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
    ] {
        hef.container.proto = garbage;
        let bytes = hef.container.to_bytes().expect("container");
        let err = Hef::from_bytes(&bytes).expect_err("garbage");
        assert!(
            matches!(err, HefError::Protobuf { offset: 28, .. }),
            "{err}"
        );
        assert_eq!(rules(&bytes), vec![Rule::InvalidProtobuf]);
    }
}

#[test]
fn every_single_byte_truncation_of_a_small_file_is_handled() {
    let bytes = minimal_hef(&common::tiny(Version::V2))
        .expect("minimal")
        .to_bytes()
        .expect("write");
    for len in 0..bytes.len() {
        assert!(Hef::from_bytes(&bytes[..len]).is_err());
        assert!(!check_bytes(&bytes[..len]).is_empty());
    }
}

#[test]
fn bad_ccw_ranges_are_reported_not_fatal() {
    use hailo_hef::proto::*;
    let mut hef = minimal_hef(&common::tiny(Version::V1)).expect("minimal");
    let ptr = WriteDataCcwPtr {
        offset: 8,
        size: 16,
        cfg_channel_index: 0,
    };
    let action = Action {
        unique_id: 1,
        action: Some(ActionKind::WriteDataCcwPtr(ptr)),
    };
    let trigger = Some(Trigger {
        unique_id: 0,
        trigger: Some(TriggerKind::TriggerNone(Empty {})),
    });
    hef.proto.network_groups[0].preliminary_config = Some(PreliminaryConfig {
        operation: vec![Operation {
            trigger,
            actions: vec![action],
        }],
    });
    hef.container.ccws = hailo_hef::ccw::encode_ccws(&[hailo_hef::ConfigWord {
        offset: 0,
        address: 4,
        data: vec![9],
    }])
    .expect("ccw");
    let bytes = hef.to_bytes().expect("write");
    let back = Hef::from_bytes(&bytes).expect("CCW bounds are not checked at parse time");
    let section = back.ccw_section().expect("section decodes");
    assert!(section.links[0].words.is_err());
    assert_eq!(check_bytes(&bytes), vec![]);
    let mut broken = back.container.clone();
    broken.ccws.truncate(12);
    let err = hailo_hef::CcwSection::decode(&broken.ccws, &back.proto).expect_err("cut CCW");
    assert!(matches!(err, HefError::Ccw { offset: 0, .. }), "{err}");
}
