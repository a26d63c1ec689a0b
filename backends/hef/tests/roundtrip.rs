//! Decoding the real DFC HEF and encoding it again reproduces it byte for byte, and every
//! container version round-trips through write → read → write.

mod common;

use hailo_hef::{minimal_hef, Container, Hef, Version};
use prost::Message;

#[test]
fn real_proto_reencodes_identically() {
    let bytes = common::real_bytes();
    let container = Container::parse(&bytes).expect("container");
    let proto = hailo_hef::proto::ProtoHef::decode(container.proto.as_slice()).expect("proto");
    let again = proto.encode_to_vec();
    assert_eq!(again.len(), 997_288);
    assert!(again == container.proto, "protobuf re-encoding differs");
}

#[test]
fn real_file_rewrites_identically() {
    let bytes = common::real_bytes();
    let hef = Hef::from_bytes(&bytes).expect("real HEF");
    let out = hef.to_bytes().expect("write");
    assert_eq!(out.len(), 3_503_356);
    assert!(out == bytes, "re-written container differs");
}

#[test]
fn real_ccws_reencode_identically() {
    let hef = Hef::from_bytes(&common::real_bytes()).expect("real HEF");
    let section = hef.ccw_section().expect("CCW section");
    assert!(hailo_hef::ccw::encode_ccws(&section.words).expect("encode") == hef.container.ccws);
}

#[test]
fn every_container_version_round_trips() {
    for (version, header) in [
        (Version::V0, 32),
        (Version::V1, 28),
        (Version::V2, 44),
        (Version::V3, 56),
    ] {
        let hef = minimal_hef(&common::tiny(version)).expect("minimal");
        let bytes = hef.to_bytes().expect("write");
        assert_eq!(&bytes[..4], b"\x01HEF");
        assert_eq!(
            u32::from_be_bytes(bytes[4..8].try_into().unwrap()),
            version.number()
        );
        let back = Hef::from_bytes(&bytes).expect("read back");
        assert_eq!(back.container.version.header_size(), header);
        assert_eq!(back.proto, hef.proto);
        assert!(
            back.to_bytes().expect("rewrite") == bytes,
            "{version:?} not stable"
        );
        if version == Version::V3 {
            assert_eq!(
                back.container.ccw_offset() % 4096,
                0,
                "v3 CCW section 4 KiB aligned"
            );
            assert_eq!(
                back.container.proto_xxh3,
                xxhash_rust::xxh3::xxh3_64(&back.container.proto)
            );
        }
    }
}

#[test]
fn v2_and_v3_keep_ccws_and_trailing_sections() {
    let proto = minimal_hef(&common::tiny(Version::V1))
        .expect("minimal")
        .proto;
    let ccw = hailo_hef::ccw::encode_ccws(&[hailo_hef::ConfigWord {
        offset: 0,
        address: 0x1000_0000,
        data: vec![1, 2, 3],
    }])
    .expect("ccw");
    for version in [Version::V1, Version::V2, Version::V3] {
        let hef = Hef::new(version, proto.clone(), ccw.clone()).expect("hef");
        let bytes = hef.to_bytes().expect("write");
        let back = Hef::from_bytes(&bytes).expect("read");
        assert_eq!(back.container.ccws, ccw);
        let words = back.ccw_section().expect("ccw").words;
        assert_eq!(words.len(), 1);
        assert_eq!(words[0].data, vec![1, 2, 3]);
    }
}
