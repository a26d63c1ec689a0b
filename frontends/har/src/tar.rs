//! The tar container of a HAR (POSIX ustar), written and read in memory.
//!
//! Writing is deterministic: members in the caller's order, mode 0644, uid/gid 0, mtime 0,
//! empty user/group names, names longer than the ustar fields carried in a pax `path` record.
//! Reading accepts what Python's `tarfile` (the DFC's writer) and GNU tar produce: ustar
//! with name prefixes, pax extended headers (`path`, `size`), GNU long names, and archives
//! that end without the two zero blocks. Directories, links and other entries are skipped.
//! Every error carries the byte offset of the header it concerns.

const BLOCK: usize = 512;

/// One regular file of the archive.
pub(crate) struct Member {
    pub name: String,
    pub data: Vec<u8>,
}

/// A malformed archive: what is wrong and where.
#[derive(Debug)]
pub(crate) struct TarError {
    pub offset: usize,
    pub message: String,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, TarError> {
    Err(TarError {
        offset,
        message: message.into(),
    })
}

/// Serializes `members` as a ustar archive ending with two zero blocks.
pub(crate) fn write(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in members {
        let short = split_name(name);
        if short.is_none() {
            let record = pax_record("path", name);
            push_entry(&mut out, "././@PaxHeader", "", b'x', record.as_bytes());
        }
        let (prefix, base) = short.unwrap_or(("", "pax-named-member"));
        push_entry(&mut out, base, prefix, b'0', data);
    }
    out.resize(out.len() + 2 * BLOCK, 0);
    out
}

/// `(prefix, name)` fitting the 155- and 100-byte ustar fields, if the name can be split so.
fn split_name(name: &str) -> Option<(&str, &str)> {
    if name.len() <= 100 {
        return Some(("", name));
    }
    name.char_indices()
        .filter(|&(i, c)| c == '/' && i <= 155 && name.len() - i - 1 <= 100 && i + 1 < name.len())
        .map(|(i, _)| (&name[..i], &name[i + 1..]))
        .next()
}

/// One pax record `"<len> key=value\n"`, where `<len>` counts the whole record.
fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while len.to_string().len() + body.len() != len {
        len += 1;
    }
    format!("{len}{body}")
}

fn push_entry(out: &mut Vec<u8>, name: &str, prefix: &str, kind: u8, data: &[u8]) {
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    put_octal(&mut h[100..108], 0o644);
    put_octal(&mut h[108..116], 0);
    put_octal(&mut h[116..124], 0);
    put_octal(&mut h[124..136], data.len() as u64);
    put_octal(&mut h[136..148], 0);
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put_octal(&mut h[148..155], u64::from(sum));
    h[155] = b' ';
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(BLOCK), 0);
}

/// Zero-padded octal digits followed by a NUL, filling the field.
fn put_octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&text.as_bytes()[text.len() - digits..]);
    field[digits] = 0;
}

/// Every regular file of the archive, in archive order.
pub(crate) fn read(bytes: &[u8]) -> Result<Vec<Member>, TarError> {
    let mut members = Vec::new();
    let mut off = 0;
    let mut long_name: Option<String> = None;
    let mut pax_size: Option<usize> = None;
    while off < bytes.len() {
        if bytes.len() - off < BLOCK {
            if bytes[off..].iter().all(|&b| b == 0) {
                break; // a cut-off end-of-archive marker
            }
            return err(
                off,
                format!(
                    "truncated archive: a {BLOCK}-byte header is cut off after {} bytes",
                    bytes.len() - off
                ),
            );
        }
        let h = &bytes[off..off + BLOCK];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        check_sum(h, off)?;
        let size = match pax_size.take() {
            Some(s) => s,
            None => parse_size(&h[124..136], off)?,
        };
        let start = off + BLOCK;
        if bytes.len() - start < size {
            return err(
                off,
                format!(
                    "truncated archive: entry '{}' declares {size} bytes but only {} remain",
                    header_name(h),
                    bytes.len() - start
                ),
            );
        }
        let data = &bytes[start..start + size];
        match h[156] {
            b'0' | 0 | b'7' => {
                let name = long_name.take().unwrap_or_else(|| header_name(h));
                members.push(Member {
                    name: clean_name(&name),
                    data: data.to_vec(),
                });
            }
            b'x' => {
                let (name, size) = parse_pax(data, off)?;
                long_name = name.or(long_name);
                pax_size = size;
            }
            b'L' => long_name = Some(String::from_utf8_lossy(until_nul(data)).into_owned()),
            _ => long_name = None,
        }
        off = start + size.next_multiple_of(BLOCK);
    }
    if off == 0 {
        return err(0, "not a tar archive: the file is empty");
    }
    Ok(members)
}

fn check_sum(h: &[u8], off: usize) -> Result<(), TarError> {
    let stored = parse_octal(&h[148..156]);
    let unsigned: i64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(b)
            }
        })
        .sum();
    let signed: i64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(b as i8)
            }
        })
        .sum();
    match stored {
        Some(s) if s as i64 == unsigned || s as i64 == signed => Ok(()),
        _ if off == 0 => err(
            0,
            "not a tar archive: the first 512-byte header has no valid ustar checksum",
        ),
        _ => err(
            off,
            format!(
                "corrupted archive: header checksum mismatch (stored {}, computed {unsigned})",
                stored.map_or_else(|| "garbage".to_string(), |s| s.to_string())
            ),
        ),
    }
}

/// Octal field, NUL/space padded; `None` when it holds anything else.
fn parse_octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(until_nul(field))
        .ok()?
        .trim_matches(' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn parse_size(field: &[u8], off: usize) -> Result<usize, TarError> {
    let value = if field[0] & 0x80 != 0 {
        // GNU base-256: big-endian binary after the marker bit.
        field[1..]
            .iter()
            .try_fold(u64::from(field[0] & 0x7f), |acc, &b| {
                acc.checked_mul(256).map(|a| a | u64::from(b))
            })
    } else {
        parse_octal(field)
    };
    match value.and_then(|v| usize::try_from(v).ok()) {
        Some(v) => Ok(v),
        None => err(
            off,
            "corrupted archive: the header's size field is not a number",
        ),
    }
}

fn until_nul(field: &[u8]) -> &[u8] {
    field
        .iter()
        .position(|&b| b == 0)
        .map_or(field, |n| &field[..n])
}

fn header_name(h: &[u8]) -> String {
    let name = String::from_utf8_lossy(until_nul(&h[..100])).into_owned();
    let prefix = if &h[257..262] == b"ustar" && h[262] == 0 {
        until_nul(&h[345..500])
    } else {
        &[]
    };
    if prefix.is_empty() {
        name
    } else {
        format!("{}/{name}", String::from_utf8_lossy(prefix))
    }
}

fn clean_name(name: &str) -> String {
    name.trim_start_matches("./").to_string()
}

/// The `path` and `size` records of a pax extended header.
fn parse_pax(mut data: &[u8], off: usize) -> Result<(Option<String>, Option<usize>), TarError> {
    let (mut path, mut size) = (None, None);
    while !data.is_empty() && data[0] != 0 {
        let bad = || TarError {
            offset: off,
            message: "corrupted archive: malformed pax extended header record".into(),
        };
        let space = data.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = std::str::from_utf8(&data[space + 1..len - 1]).map_err(|_| bad())?;
        let (key, value) = record.split_once('=').ok_or_else(bad)?;
        match key {
            "path" => path = Some(value.to_string()),
            "size" => size = Some(value.parse().map_err(|_| bad())?),
            _ => {}
        }
        data = &data[len..];
    }
    Ok((path, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_long_names() {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        let longer = "x".repeat(300);
        let archive = write(&[("a.hn", b"{}"), (&long, b"12345"), (&longer, b"")]);
        assert_eq!(archive.len() % BLOCK, 0);
        let members = read(&archive).unwrap();
        let names: Vec<_> = members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a.hn", long.as_str(), longer.as_str()]);
        assert_eq!(members[1].data, b"12345");
    }

    #[test]
    fn pax_record_length_counts_itself() {
        assert_eq!(pax_record("path", "abc"), "12 path=abc\n");
        let r = pax_record("path", &"y".repeat(95));
        assert_eq!(
            r.len(),
            r.split(' ').next().unwrap().parse::<usize>().unwrap()
        );
    }

    #[test]
    fn corruption_is_located() {
        let mut archive = write(&[("a", b"1"), ("b", b"2")]);
        archive[BLOCK * 2 + 10] ^= 1;
        let e = read(&archive).err().unwrap();
        assert_eq!(e.offset, 1024);
        assert!(e.message.contains("checksum mismatch"), "{}", e.message);
        let e = read(&write(&[("a", &[7u8; 600])])[..900]).err().unwrap();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (
                0,
                "truncated archive: entry 'a' declares 600 bytes but only 388 remain"
            )
        );
        assert!(read(b"").err().unwrap().message.contains("empty"));
        assert!(read(&[b'z'; 1024])
            .err()
            .unwrap()
            .message
            .starts_with("not a tar archive"));
    }
}
