//! The binary container around the protobuf: a big-endian header (magic, version, sizes,
//! checksum), then the protobuf, then (v1–v3) the CCW section. Reading checks the structure
//! (magic, version, lengths) strictly and records whether the checksum matches, so callers
//! choose whether a checksum mismatch is fatal (`Hef::from_bytes`) or a finding (`check`).
//! Writing recomputes every size and checksum from the sections.

use crate::error::HefError;
use md5::{Digest, Md5};

/// `"\x01HEF"` big-endian.
pub const MAGIC: u32 = 0x0148_4546;

/// Container format version (header layout and checksum algorithm).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Version {
    /// MD5, no CCW section (32-byte header).
    V0,
    /// CRC-32, CCW section (28-byte header). What DFC 3.29 emits for Hailo-8.
    V1,
    /// XXH3-64, CCW section (44-byte header).
    V2,
    /// XXH3-64, padded CCW section, additional info (56-byte header).
    V3,
}

impl Version {
    /// Version from the header's version word.
    pub fn from_u32(v: u32) -> Option<Version> {
        match v {
            0 => Some(Version::V0),
            1 => Some(Version::V1),
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }

    /// The header's version word.
    pub fn number(self) -> u32 {
        match self {
            Version::V0 => 0,
            Version::V1 => 1,
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// Header size in bytes.
    pub fn header_size(self) -> usize {
        match self {
            Version::V0 => 32,
            Version::V1 => 28,
            Version::V2 => 44,
            Version::V3 => 56,
        }
    }

    /// Name of the checksum algorithm.
    pub fn checksum_kind(self) -> &'static str {
        match self {
            Version::V0 => "MD5",
            Version::V1 => "CRC-32",
            Version::V2 | Version::V3 => "XXH3-64",
        }
    }
}

/// A checksum value as stored in (or computed for) a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    Md5([u8; 16]),
    Crc32(u32),
    Xxh3(u64),
}

impl Checksum {
    /// Checksum of `body` (everything after the header) for `version`.
    pub fn compute(version: Version, body: &[&[u8]]) -> Checksum {
        match version {
            Version::V0 => {
                let mut h = Md5::new();
                body.iter().for_each(|part| h.update(part));
                Checksum::Md5(h.finalize().into())
            }
            Version::V1 => {
                let mut h = crc32fast::Hasher::new();
                body.iter().for_each(|part| h.update(part));
                Checksum::Crc32(h.finalize())
            }
            Version::V2 | Version::V3 => {
                let mut h = xxhash_rust::xxh3::Xxh3::new();
                body.iter().for_each(|part| h.update(part));
                Checksum::Xxh3(h.digest())
            }
        }
    }
}

impl Checksum {
    /// The header bytes of this checksum (MD5 raw digest, integers big-endian).
    pub fn to_be_bytes(self) -> Vec<u8> {
        match self {
            Checksum::Md5(d) => d.to_vec(),
            Checksum::Crc32(c) => c.to_be_bytes().to_vec(),
            Checksum::Xxh3(x) => x.to_be_bytes().to_vec(),
        }
    }
}

impl std::fmt::Display for Checksum {
    /// Lower-case hex, as HailoRT's `Hef::hash()` prints it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Checksum::Md5(d) => d.iter().try_for_each(|b| write!(f, "{b:02x}")),
            Checksum::Crc32(c) => write!(f, "{c:08x}"),
            Checksum::Xxh3(x) => write!(f, "{x:016x}"),
        }
    }
}

/// A parsed container: the sections as bytes plus the header words that are not derived
/// from them (reserved words, the v3 proto hash), kept for byte-identical re-writing.
#[derive(Clone, Debug, PartialEq)]
pub struct Container {
    pub version: Version,
    /// The protobuf payload.
    pub proto: Vec<u8>,
    /// v3 only: bytes between the protobuf and the CCWs (zeros aligning the CCWs).
    pub padding: Vec<u8>,
    /// The CCW section (empty for v0).
    pub ccws: Vec<u8>,
    /// v3 only: trailing additional-info section.
    pub additional_info: Vec<u8>,
    /// Reserved header words (v0/v1: one u32 in `[0]`; v2: two u64; v3: `[0]` reserved).
    pub reserved: [u64; 2],
    /// v3 `proto_xxh3` (HailoRT 5.x): 0 = absent; when non-zero it is re-computed from
    /// `proto` on write, so an edited payload never carries a stale hash.
    pub proto_xxh3: u64,
    /// Checksum stored in the header (as read; re-computed on write).
    pub stored_checksum: Checksum,
}

fn be_u32(b: &[u8], off: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[off..off + 4]);
    u32::from_be_bytes(w)
}

fn be_u64(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_be_bytes(w)
}

impl Container {
    /// A container for `proto` and `ccws` with zero reserved words; v3 gets the padding that
    /// 4 KiB-aligns the CCW section and a `proto_xxh3`.
    pub fn new(version: Version, proto: Vec<u8>, ccws: Vec<u8>) -> Result<Container, HefError> {
        if version == Version::V0 && !ccws.is_empty() {
            return Err(HefError::CcwInV0 { len: ccws.len() });
        }
        let padding = if version == Version::V3 {
            let start = version.header_size() + proto.len();
            vec![0u8; (4096 - start % 4096) % 4096]
        } else {
            Vec::new()
        };
        let mut c = Container {
            version,
            proto,
            padding,
            ccws,
            additional_info: Vec::new(),
            reserved: [0; 2],
            proto_xxh3: 0,
            stored_checksum: Checksum::Crc32(0),
        };
        if version == Version::V3 {
            c.proto_xxh3 = xxhash_rust::xxh3::xxh3_64(&c.proto);
        }
        c.stored_checksum = c.compute_checksum();
        Ok(c)
    }

    /// Parse the header and split the sections. Structural problems are errors; the checksum
    /// is only recorded (see [`Container::checksum_ok`]).
    pub fn parse(bytes: &[u8]) -> Result<Container, HefError> {
        if bytes.len() < 12 {
            return Err(HefError::Truncated {
                len: bytes.len(),
                need: 12,
            });
        }
        let magic = be_u32(bytes, 0);
        if magic != MAGIC {
            return Err(HefError::BadMagic { found: magic });
        }
        let raw_version = be_u32(bytes, 4);
        let version = Version::from_u32(raw_version).ok_or(HefError::UnsupportedVersion {
            version: raw_version,
        })?;
        let hs = version.header_size();
        if bytes.len() < hs {
            return Err(HefError::Truncated {
                len: bytes.len(),
                need: hs,
            });
        }
        let proto_size = be_u32(bytes, 8);
        let (checksum, ccws_size, padding, extra, reserved, proto_xxh3) = match version {
            Version::V0 => {
                let mut d = [0u8; 16];
                d.copy_from_slice(&bytes[16..32]);
                (
                    Checksum::Md5(d),
                    0,
                    0,
                    0,
                    [u64::from(be_u32(bytes, 12)), 0],
                    0,
                )
            }
            Version::V1 => {
                let r = [u64::from(be_u32(bytes, 24)), 0];
                (
                    Checksum::Crc32(be_u32(bytes, 12)),
                    be_u64(bytes, 16),
                    0,
                    0,
                    r,
                    0,
                )
            }
            Version::V2 => {
                let r = [be_u64(bytes, 28), be_u64(bytes, 36)];
                (
                    Checksum::Xxh3(be_u64(bytes, 12)),
                    be_u64(bytes, 20),
                    0,
                    0,
                    r,
                    0,
                )
            }
            Version::V3 => {
                let with_padding = be_u64(bytes, 20);
                let padding = be_u32(bytes, 28);
                if u64::from(padding) > with_padding {
                    return Err(HefError::BadPadding {
                        padding,
                        with_padding,
                    });
                }
                let r = [be_u64(bytes, 48), 0];
                let (extra, pxx) = (be_u64(bytes, 32), be_u64(bytes, 40));
                (
                    Checksum::Xxh3(be_u64(bytes, 12)),
                    with_padding,
                    padding,
                    extra,
                    r,
                    pxx,
                )
            }
        };
        let actual = (bytes.len() - hs) as u64;
        let declared = u64::from(proto_size)
            .checked_add(ccws_size)
            .and_then(|s| s.checked_add(extra));
        if declared != Some(actual) {
            return Err(HefError::LengthMismatch {
                header: hs,
                actual,
                declared: declared.unwrap_or(u64::MAX),
                proto_size,
            });
        }
        // All sizes now sum to the real body length, so they fit in usize.
        let p_end = hs + proto_size as usize;
        let pad_end = p_end + padding as usize;
        let ccw_end = p_end + ccws_size as usize;
        Ok(Container {
            version,
            proto: bytes[hs..p_end].to_vec(),
            padding: bytes[p_end..pad_end].to_vec(),
            ccws: bytes[pad_end..ccw_end].to_vec(),
            additional_info: bytes[ccw_end..].to_vec(),
            reserved,
            proto_xxh3,
            stored_checksum: checksum,
        })
    }

    /// The sections after the header, in file order.
    fn body(&self) -> [&[u8]; 4] {
        [
            &self.proto,
            &self.padding,
            &self.ccws,
            &self.additional_info,
        ]
    }

    /// Checksum of the current sections.
    pub fn compute_checksum(&self) -> Checksum {
        Checksum::compute(self.version, &self.body())
    }

    /// Whether the stored checksum matches the sections.
    pub fn checksum_ok(&self) -> bool {
        self.stored_checksum == self.compute_checksum()
    }

    /// Error unless the stored checksum matches.
    pub fn verify_checksum(&self) -> Result<(), HefError> {
        let computed = self.compute_checksum();
        if computed == self.stored_checksum {
            return Ok(());
        }
        Err(HefError::ChecksumMismatch {
            kind: self.version.checksum_kind(),
            stored: self.stored_checksum.to_string(),
            computed: computed.to_string(),
        })
    }

    /// Offset of the CCW section in the file ("zero point" of `write_data_ccw_ptr` offsets).
    pub fn ccw_offset(&self) -> usize {
        self.version.header_size() + self.proto.len() + self.padding.len()
    }

    /// Serialize: sizes and checksum are computed from the sections.
    pub fn to_bytes(&self) -> Result<Vec<u8>, HefError> {
        let fit32 = |what, len: usize| {
            u32::try_from(len).map_err(|_| HefError::TooLarge {
                what,
                len,
                bits: 32,
            })
        };
        let proto_size = fit32("protobuf payload", self.proto.len())?;
        let padding = fit32("v3 padding", self.padding.len())?;
        if self.version == Version::V0 && !self.ccws.is_empty() {
            return Err(HefError::CcwInV0 {
                len: self.ccws.len(),
            });
        }
        let checksum = self.compute_checksum();
        let ccws = (self.ccws.len() + self.padding.len()) as u64;
        let mut out = Vec::with_capacity(
            self.version.header_size() + self.body().iter().map(|s| s.len()).sum::<usize>(),
        );
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&self.version.number().to_be_bytes());
        out.extend_from_slice(&proto_size.to_be_bytes());
        let low32 = |v: u64| (v as u32).to_be_bytes();
        let sum = checksum.to_be_bytes();
        match self.version {
            Version::V0 => {
                out.extend_from_slice(&low32(self.reserved[0]));
                out.extend_from_slice(&sum);
            }
            Version::V1 => {
                out.extend_from_slice(&sum);
                out.extend_from_slice(&ccws.to_be_bytes());
                out.extend_from_slice(&low32(self.reserved[0]));
            }
            Version::V2 => {
                out.extend_from_slice(&sum);
                out.extend_from_slice(&ccws.to_be_bytes());
                out.extend_from_slice(&self.reserved[0].to_be_bytes());
                out.extend_from_slice(&self.reserved[1].to_be_bytes());
            }
            Version::V3 => {
                let pxx = match self.proto_xxh3 {
                    0 => 0,
                    _ => xxhash_rust::xxh3::xxh3_64(&self.proto),
                };
                out.extend_from_slice(&sum);
                out.extend_from_slice(&ccws.to_be_bytes());
                out.extend_from_slice(&padding.to_be_bytes());
                out.extend_from_slice(&(self.additional_info.len() as u64).to_be_bytes());
                out.extend_from_slice(&pxx.to_be_bytes());
                out.extend_from_slice(&self.reserved[0].to_be_bytes());
            }
        }
        self.body().iter().for_each(|s| out.extend_from_slice(s));
        Ok(out)
    }
}
