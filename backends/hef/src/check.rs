//! `hailo hef check`: HailoRT 4.23's reasons to reject a HEF (format notes §3.1) and the
//! malformed constructs that crash it (§3.2), each reported as a named [`Violation`].
//!
//! The container rules come from [`check_bytes`]; everything inside the protobuf from
//! [`check_hef`]. Rules are independent: one file can break several at once.

mod layers;
mod program;
mod structure;

use crate::container::Container;
use crate::error::HefError;
use crate::hef::Hef;

/// A HailoRT 4.23 acceptance rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    // §3.1 container
    TruncatedHeader,
    BadMagic,
    UnsupportedContainerVersion,
    LengthMismatch,
    ChecksumMismatch,
    InvalidProtobuf,
    // §3.1 header and extensions
    UnsupportedExtension,
    MissingPeriphCalculation,
    OutdatedHeaderVersion,
    // §3.1 operations and actions
    OperationWithoutTrigger,
    UnsupportedTrigger,
    InlineCcwInV1Plus,
    CcwPtrInV0,
    UnsupportedAction,
    // §3.1 edge layers
    UnknownConnectionType,
    UnsupportedFormat,
    UnsupportedDataBytes,
    HostArgmax,
    BufferGeometryTooLarge,
    PaddedFrameTooLarge,
    StreamIndexTooLarge,
    NameTooLong,
    DuplicateBoundaryName,
    UnpairedDdrLayer,
    MissingSortedOutputs,
    NetworkIndexOutOfRange,
    PerFeatureQpLength,
    InputQpNotUniform,
    NetworkMissingInput,
    NetworkMissingOutput,
    OutputNotInSortedList,
    // §3.2 crashes
    NoContexts,
    MissingBufferIndices,
    MultiLayoutWithoutPartials,
    NetFlowWithoutCoreOp,
    NetFlowNameMismatch,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 36] = [
        Rule::TruncatedHeader,
        Rule::BadMagic,
        Rule::UnsupportedContainerVersion,
        Rule::LengthMismatch,
        Rule::ChecksumMismatch,
        Rule::InvalidProtobuf,
        Rule::UnsupportedExtension,
        Rule::MissingPeriphCalculation,
        Rule::OutdatedHeaderVersion,
        Rule::OperationWithoutTrigger,
        Rule::UnsupportedTrigger,
        Rule::InlineCcwInV1Plus,
        Rule::CcwPtrInV0,
        Rule::UnsupportedAction,
        Rule::UnknownConnectionType,
        Rule::UnsupportedFormat,
        Rule::UnsupportedDataBytes,
        Rule::HostArgmax,
        Rule::BufferGeometryTooLarge,
        Rule::PaddedFrameTooLarge,
        Rule::StreamIndexTooLarge,
        Rule::NameTooLong,
        Rule::DuplicateBoundaryName,
        Rule::UnpairedDdrLayer,
        Rule::MissingSortedOutputs,
        Rule::NetworkIndexOutOfRange,
        Rule::PerFeatureQpLength,
        Rule::InputQpNotUniform,
        Rule::NetworkMissingInput,
        Rule::NetworkMissingOutput,
        Rule::OutputNotInSortedList,
        Rule::NoContexts,
        Rule::MissingBufferIndices,
        Rule::MultiLayoutWithoutPartials,
        Rule::NetFlowWithoutCoreOp,
        Rule::NetFlowNameMismatch,
    ];

    /// Kebab-case name shown to users and used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Rule::TruncatedHeader => "truncated-header",
            Rule::BadMagic => "bad-magic",
            Rule::UnsupportedContainerVersion => "unsupported-container-version",
            Rule::LengthMismatch => "length-mismatch",
            Rule::ChecksumMismatch => "checksum-mismatch",
            Rule::InvalidProtobuf => "invalid-protobuf",
            Rule::UnsupportedExtension => "unsupported-extension",
            Rule::MissingPeriphCalculation => "missing-periph-calculation",
            Rule::OutdatedHeaderVersion => "outdated-header-version",
            Rule::OperationWithoutTrigger => "operation-without-trigger",
            Rule::UnsupportedTrigger => "unsupported-trigger",
            Rule::InlineCcwInV1Plus => "inline-ccw-in-v1-plus",
            Rule::CcwPtrInV0 => "ccw-ptr-in-v0",
            Rule::UnsupportedAction => "unsupported-action",
            Rule::UnknownConnectionType => "unknown-connection-type",
            Rule::UnsupportedFormat => "unsupported-format",
            Rule::UnsupportedDataBytes => "unsupported-data-bytes",
            Rule::HostArgmax => "host-argmax",
            Rule::BufferGeometryTooLarge => "buffer-geometry-too-large",
            Rule::PaddedFrameTooLarge => "padded-frame-too-large",
            Rule::StreamIndexTooLarge => "stream-index-too-large",
            Rule::NameTooLong => "name-too-long",
            Rule::DuplicateBoundaryName => "duplicate-boundary-name",
            Rule::UnpairedDdrLayer => "unpaired-ddr-layer",
            Rule::MissingSortedOutputs => "missing-sorted-outputs",
            Rule::NetworkIndexOutOfRange => "network-index-out-of-range",
            Rule::PerFeatureQpLength => "per-feature-qp-length",
            Rule::InputQpNotUniform => "input-qp-not-uniform",
            Rule::NetworkMissingInput => "network-missing-input",
            Rule::NetworkMissingOutput => "network-missing-output",
            Rule::OutputNotInSortedList => "output-not-in-sorted-list",
            Rule::NoContexts => "no-contexts",
            Rule::MissingBufferIndices => "missing-buffer-indices",
            Rule::MultiLayoutWithoutPartials => "multi-layout-without-partials",
            Rule::NetFlowWithoutCoreOp => "net-flow-without-core-op",
            Rule::NetFlowNameMismatch => "net-flow-name-mismatch",
        }
    }

    /// Constructs of §3.2: HailoRT 4.23 crashes on them instead of returning an error.
    pub fn crashes_hailort(self) -> bool {
        matches!(
            self,
            Rule::NoContexts
                | Rule::MissingBufferIndices
                | Rule::MultiLayoutWithoutPartials
                | Rule::NetFlowWithoutCoreOp
                | Rule::NetFlowNameMismatch
        )
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken rule: which, where (byte offset or protobuf path) and what was found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Violation {
    pub rule: Rule,
    pub location: String,
    pub message: String,
}

impl Violation {
    pub(crate) fn new(
        rule: Rule,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Violation {
        Violation {
            rule,
            location: location.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let crash = if self.rule.crashes_hailort() {
            " (crashes HailoRT 4.23)"
        } else {
            ""
        };
        write!(
            f,
            "{}{crash} at {}: {}",
            self.rule, self.location, self.message
        )
    }
}

/// Check raw file bytes: container rules, then (if the protobuf decodes) all content rules.
/// A checksum mismatch is reported and the content is still checked.
pub fn check_bytes(bytes: &[u8]) -> Vec<Violation> {
    let container = match Container::parse(bytes) {
        Ok(c) => c,
        Err(e) => return vec![container_violation(&e)],
    };
    let mut out = Vec::new();
    if let Err(e) = container.verify_checksum() {
        out.push(Violation::new(
            Rule::ChecksumMismatch,
            "header offset 12",
            e.to_string(),
        ));
    }
    match Hef::from_bytes_unverified(bytes) {
        Ok(hef) => out.extend(check_hef(&hef)),
        Err(e) => out.push(container_violation(&e)),
    }
    out
}

fn container_violation(e: &HefError) -> Violation {
    let (rule, location) = match e {
        HefError::Truncated { .. } => (Rule::TruncatedHeader, "end of file".to_string()),
        HefError::BadMagic { .. } => (Rule::BadMagic, "header offset 0".to_string()),
        HefError::UnsupportedVersion { .. } => (
            Rule::UnsupportedContainerVersion,
            "header offset 4".to_string(),
        ),
        HefError::ChecksumMismatch { .. } => {
            (Rule::ChecksumMismatch, "header offset 12".to_string())
        }
        HefError::Protobuf { offset, .. } => {
            (Rule::InvalidProtobuf, format!("file offset {offset}"))
        }
        _ => (Rule::LengthMismatch, "header offset 8".to_string()),
    };
    Violation::new(rule, location, e.to_string())
}

/// Check a decoded HEF's content (everything but the container's own rules).
pub fn check_hef(hef: &Hef) -> Vec<Violation> {
    let mut out = Vec::new();
    structure::check(hef, &mut out);
    program::check(hef, &mut out);
    layers::check(hef, &mut out);
    out
}
