//! Errors of reading and writing HEF files. Each says what is wrong and where (byte offset
//! or message path) so a user can tell a truncated download from a foreign file.

use std::path::PathBuf;

/// Everything that can go wrong reading, decoding or writing a HEF.
#[derive(Debug, thiserror::Error)]
pub enum HefError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("file is {len} bytes, shorter than the {need}-byte HEF header (truncated download?)")]
    Truncated { len: usize, need: usize },
    #[error(
        "bad magic {found:#010x} at offset 0 (expected 0x01484546 \"\\x01HEF\"): not a HEF file"
    )]
    BadMagic { found: u32 },
    #[error("unsupported container version {version} at offset 4 (HailoRT reads 0-3)")]
    UnsupportedVersion { version: u32 },
    #[error(
        "length mismatch: file has {actual} bytes after the {header}-byte header but the header \
         declares {declared} (proto {proto_size} + CCW section + additional info); truncated or trailing data"
    )]
    LengthMismatch {
        header: usize,
        actual: u64,
        declared: u64,
        proto_size: u32,
    },
    #[error(
        "v3 header at offset 28: padding_size {padding} exceeds ccws_size_with_padding {with_padding}"
    )]
    BadPadding { padding: u32, with_padding: u64 },
    #[error(
        "{kind} checksum mismatch: header says {stored}, contents give {computed} (file corrupted)"
    )]
    ChecksumMismatch {
        kind: &'static str,
        stored: String,
        computed: String,
    },
    #[error("protobuf payload (offset {offset}, {len} bytes) does not decode: {source}")]
    Protobuf {
        offset: usize,
        len: usize,
        #[source]
        source: prost::DecodeError,
    },
    #[error("{what} is {len} bytes, too large for the container's {bits}-bit size field")]
    TooLarge {
        what: &'static str,
        len: usize,
        bits: u32,
    },
    #[error("version 0 has no CCW section, but {len} CCW bytes were given; use inline write_data_ccw actions")]
    CcwInV0 { len: usize },
    #[error("CCW section offset {offset}: {problem}")]
    Ccw { offset: u64, problem: String },
    #[error("invalid HEF description: {0}")]
    Description(String),
}
