//! A whole HEF in memory: the container plus its decoded protobuf. Writing re-encodes the
//! protobuf and recomputes sizes and checksum, so read → write reproduces the file exactly.

use crate::ccw::CcwSection;
use crate::container::{Container, Version};
use crate::error::HefError;
use crate::proto::ProtoHef;
use prost::Message;
use std::path::Path;

/// A decoded HEF.
#[derive(Clone, Debug, PartialEq)]
pub struct Hef {
    /// Container sections as read (its `proto` bytes are the ones decoded into `proto`).
    pub container: Container,
    /// The decoded protobuf payload.
    pub proto: ProtoHef,
}

impl Hef {
    /// Read and decode a file; a checksum mismatch is an error.
    pub fn read(path: &Path) -> Result<Hef, HefError> {
        let bytes = std::fs::read(path).map_err(|source| HefError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Hef::from_bytes(&bytes)
    }

    /// Decode from bytes; a checksum mismatch is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Hef, HefError> {
        let hef = Hef::from_bytes_unverified(bytes)?;
        hef.container.verify_checksum()?;
        Ok(hef)
    }

    /// Decode from bytes without insisting on the checksum (see `container.checksum_ok()`),
    /// for inspection tools that report it instead.
    pub fn from_bytes_unverified(bytes: &[u8]) -> Result<Hef, HefError> {
        let container = Container::parse(bytes)?;
        let proto = decode_proto(&container)?;
        Ok(Hef { container, proto })
    }

    /// A HEF from a protobuf and a CCW section (checksums computed).
    pub fn new(version: Version, proto: ProtoHef, ccws: Vec<u8>) -> Result<Hef, HefError> {
        let container = Container::new(version, proto.encode_to_vec(), ccws)?;
        Ok(Hef { container, proto })
    }

    /// The protobuf as encoded now.
    pub fn encode_proto(&self) -> Vec<u8> {
        self.proto.encode_to_vec()
    }

    /// Serialize with the current protobuf; sizes and checksum recomputed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, HefError> {
        let mut container = self.container.clone();
        container.proto = self.encode_proto();
        container.to_bytes()
    }

    /// Write to `path`.
    pub fn write(&self, path: &Path) -> Result<(), HefError> {
        let bytes = self.to_bytes()?;
        std::fs::write(path, bytes).map_err(|source| HefError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The CCW section decoded and linked to its `write_data_ccw_ptr` actions.
    pub fn ccw_section(&self) -> Result<CcwSection, HefError> {
        CcwSection::decode(&self.container.ccws, &self.proto)
    }
}

fn decode_proto(container: &Container) -> Result<ProtoHef, HefError> {
    ProtoHef::decode(container.proto.as_slice()).map_err(|source| HefError::Protobuf {
        offset: container.version.header_size(),
        len: container.proto.len(),
        source,
    })
}
