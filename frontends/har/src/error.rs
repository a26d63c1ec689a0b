//! [`HarError`]: every failure names the archive, and where it applies the member, layer or
//! byte offset, and says what to do about it.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HarError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: corrupt gzip stream: {message}", path.display())]
    Gzip { path: PathBuf, message: String },
    #[error("{}: {message} (at byte offset {offset} of the tar stream)", path.display())]
    Tar {
        path: PathBuf,
        offset: usize,
        message: String,
    },
    #[error("{}: the archive has no member {member}; members present: [{}]", path.display(), present.join(", "))]
    MissingMember {
        path: PathBuf,
        member: String,
        present: Vec<String>,
    },
    #[error("{}: member '{member}' appears twice; a HAR holds each member once", path.display())]
    DuplicateMember { path: PathBuf, member: String },
    #[error("{}: member '{member}' is not valid JSON: {message} (line {line}, column {column})", path.display())]
    Json {
        path: PathBuf,
        member: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: member '{member}' was modified after the archive was written: sha256 is {actual}, the metadata records {expected}", path.display())]
    Checksum {
        path: PathBuf,
        member: String,
        expected: String,
        actual: String,
    },
    #[error("{}: member '{member}': {message}", path.display())]
    Npz {
        path: PathBuf,
        member: String,
        message: String,
    },
    #[error("{}: metadata member '{member}': {message}", path.display())]
    Metadata {
        path: PathBuf,
        member: String,
        message: String,
    },
    #[error("{}: the embedded module IR does not parse: {message}", path.display())]
    Ir { path: PathBuf, message: String },
    #[error("{}: HN layer '{layer}': {message}", path.display())]
    Hn {
        path: PathBuf,
        layer: String,
        message: String,
    },
    #[error(
        "{}: cannot rebuild the network from its HN: unsupported layer type(s): {}; supported types: {supported}",
        path.display(),
        layers.iter().map(|(l, t)| format!("'{l}' (type '{t}')")).collect::<Vec<_>>().join(", ")
    )]
    UnsupportedLayers {
        path: PathBuf,
        layers: Vec<(String, String)>,
        supported: String,
    },
    #[error("{}: cannot write the module as a HAR: {message}", path.display())]
    Module { path: PathBuf, message: String },
}
