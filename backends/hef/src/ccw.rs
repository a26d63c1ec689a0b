//! Configuration words (CCWs): the register/memory writes that configure the chip. In v1–v3
//! files they live in the CCW section after the protobuf and every `write_data_ccw_ptr`
//! action points at a byte range of it; in v0 they are inline in `write_data_ccw` actions.
//!
//! Layout of one CCW (little-endian u32s): `words − 1`, target address, `words` data words,
//! and one zero pad word when `words` is odd, so each CCW is a multiple of 8 bytes.

use crate::error::HefError;
use crate::proto::{ActionKind, NetworkGroup, ProtoHef};

/// One decoded configuration word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWord {
    /// Byte offset of the CCW in its buffer (the CCW section for v1–v3).
    pub offset: u64,
    /// Target address in the chip's register/memory space.
    pub address: u32,
    /// Data words written from `address` on.
    pub data: Vec<u32>,
}

impl ConfigWord {
    /// Encoded size in bytes, padding included.
    pub fn encoded_len(&self) -> usize {
        8 + 4 * (self.data.len() + self.data.len() % 2)
    }

    /// Append the encoding to `out`. `data` must not be empty (the count field stores
    /// `words − 1`); [`encode_ccws`] checks that.
    fn encode_into(&self, out: &mut Vec<u8>) {
        let count = self.data.len() as u32 - 1;
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&self.address.to_le_bytes());
        self.data
            .iter()
            .for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
        if self.data.len() % 2 == 1 {
            out.extend_from_slice(&[0; 4]);
        }
    }
}

fn le_u32(b: &[u8], off: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(w)
}

/// Decode a buffer that is a concatenation of CCWs. `base` is added to offsets (in results
/// and errors) so they are relative to the CCW section start.
pub fn parse_ccws(bytes: &[u8], base: u64) -> Result<Vec<ConfigWord>, HefError> {
    let mut words = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let offset = base + pos as u64;
        let rest = bytes.len() - pos;
        if rest < 8 {
            let problem = format!("{rest} trailing bytes, too short for a CCW header (8 bytes)");
            return Err(HefError::Ccw { offset, problem });
        }
        let count = u64::from(le_u32(bytes, pos)) + 1;
        let address = le_u32(bytes, pos + 4);
        let len = 8 + 4 * (count + count % 2);
        if len > rest as u64 {
            let problem = format!("CCW of {count} words needs {len} bytes but only {rest} remain");
            return Err(HefError::Ccw { offset, problem });
        }
        let data = (0..count as usize)
            .map(|i| le_u32(bytes, pos + 8 + 4 * i))
            .collect();
        words.push(ConfigWord {
            offset,
            address,
            data,
        });
        pos += len as usize;
    }
    Ok(words)
}

/// Encode CCWs back to bytes (offsets are ignored; the words are concatenated).
pub fn encode_ccws(words: &[ConfigWord]) -> Result<Vec<u8>, HefError> {
    let mut out = Vec::with_capacity(words.iter().map(ConfigWord::encoded_len).sum());
    for w in words {
        if w.data.is_empty() || w.data.len() > u32::MAX as usize {
            let problem = format!("a CCW needs 1..=2^32 data words, got {}", w.data.len());
            return Err(HefError::Ccw {
                offset: out.len() as u64,
                problem,
            });
        }
        w.encode_into(&mut out);
    }
    Ok(out)
}

/// Where an action sits: group, context (`None` = preliminary config), operation, action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ActionPath {
    pub network_group: usize,
    pub context: Option<usize>,
    pub operation: usize,
    pub action: usize,
}

impl std::fmt::Display for ActionPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "network_groups[{}].", self.network_group)?;
        match self.context {
            None => write!(f, "preliminary_config")?,
            Some(c) => write!(f, "contexts[{c}]")?,
        }
        write!(
            f,
            ".operations[{}].actions[{}]",
            self.operation, self.action
        )
    }
}

/// A `write_data_ccw_ptr` action and the CCWs its byte range holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CcwLink {
    pub path: ActionPath,
    pub cfg_channel_index: u32,
    pub offset: u64,
    pub size: u32,
    /// Indices into the decoded section, or why the range does not hold whole CCWs.
    pub words: Result<std::ops::Range<usize>, String>,
}

/// The CCW section decoded and tied to the actions that reference it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CcwSection {
    pub words: Vec<ConfigWord>,
    pub links: Vec<CcwLink>,
}

/// Visit every action of a group with its path (preliminary config first, then contexts).
pub fn for_each_action<'a>(
    group_index: usize,
    group: &'a NetworkGroup,
    mut f: impl FnMut(ActionPath, &'a crate::proto::Action),
) {
    let Some(core) = group.core_op() else { return };
    let prelim = core
        .preliminary_config
        .map(|p| (None, p.operation.as_slice()));
    let contexts = core
        .contexts
        .iter()
        .enumerate()
        .map(|(i, c)| (Some(i), c.operations.as_slice()));
    for (context, operations) in prelim.into_iter().chain(contexts) {
        for (operation, op) in operations.iter().enumerate() {
            for (action, a) in op.actions.iter().enumerate() {
                let path = ActionPath {
                    network_group: group_index,
                    context,
                    operation,
                    action,
                };
                f(path, a);
            }
        }
    }
}

impl CcwSection {
    /// Decode `section` and link every `write_data_ccw_ptr` action of `hef` to its CCWs.
    pub fn decode(section: &[u8], hef: &ProtoHef) -> Result<CcwSection, HefError> {
        let words = parse_ccws(section, 0)?;
        let mut links = Vec::new();
        for (g, group) in hef.network_groups.iter().enumerate() {
            for_each_action(g, group, |path, action| {
                if let Some(ActionKind::WriteDataCcwPtr(p)) = &action.action {
                    let words = locate(&words, section.len() as u64, p.offset, p.size);
                    links.push(CcwLink {
                        path,
                        cfg_channel_index: p.cfg_channel_index,
                        offset: p.offset,
                        size: p.size,
                        words,
                    });
                }
            });
        }
        Ok(CcwSection { words, links })
    }

    /// Number of words and bytes referenced per config channel, sorted by channel.
    pub fn per_channel(&self) -> Vec<(u32, usize, u64)> {
        let mut out: Vec<(u32, usize, u64)> = Vec::new();
        for link in &self.links {
            let n = link.words.as_ref().map_or(0, |r| r.len());
            match out
                .iter_mut()
                .find(|(c, _, _)| *c == link.cfg_channel_index)
            {
                Some(e) => {
                    e.1 += n;
                    e.2 += u64::from(link.size);
                }
                None => out.push((link.cfg_channel_index, n, u64::from(link.size))),
            }
        }
        out.sort_by_key(|e| e.0);
        out
    }
}

/// The CCWs exactly covering `[offset, offset + size)`.
fn locate(
    words: &[ConfigWord],
    len: u64,
    offset: u64,
    size: u32,
) -> Result<std::ops::Range<usize>, String> {
    let end = offset.saturating_add(u64::from(size));
    if end > len {
        return Err(format!(
            "range {offset}..{end} exceeds the {len}-byte CCW section"
        ));
    }
    let first = words
        .binary_search_by_key(&offset, |w| w.offset)
        .map_err(|_| format!("offset {offset} is not the start of a CCW"))?;
    let mut last = first;
    let mut at = offset;
    while at < end && last < words.len() {
        at += words[last].encoded_len() as u64;
        last += 1;
    }
    if at != end {
        return Err(format!("range {offset}..{end} ends inside a CCW"));
    }
    Ok(first..last)
}
