//! `.npz` archives: zip files whose members are `.npy` documents named `<key>.npy`.
//!
//! Reading accepts stored and deflated members (what `np.savez` and `np.savez_compressed`
//! write). Writing is deterministic: members keep the caller's order and carry the fixed
//! timestamp 1980-01-01 00:00, so identical arrays give byte-identical archives.

use crate::array::NpyArray;
use crate::atomic::write_with;
use crate::error::NpyError;
use crate::npy::{decode_npy, encode_npy};
use std::borrow::Borrow;
use std::collections::HashSet;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// The most bytes one member may decompress to: the largest array within the element
/// budget (8-byte elements) plus room for its header.
fn max_member_bytes() -> u64 {
    hailo_guard::limits::max_elements()
        .saturating_mul(8)
        .saturating_add(1 << 20)
}

/// Reads every member of an `.npz` archive, in archive order, with the `.npy` suffix
/// stripped from the keys.
pub fn read_npz(path: impl AsRef<Path>) -> Result<Vec<(String, NpyArray)>, NpyError> {
    let path = path.as_ref();
    let zip_err = |member: Option<&str>, e: &dyn std::fmt::Display| NpyError::Zip {
        path: path.to_path_buf(),
        message: match member {
            Some(m) => format!("member '{m}': {e}"),
            None => e.to_string(),
        },
    };
    let file = hailo_guard::files::open_regular(path)?;
    let mut archive = ZipArchive::new(BufReader::new(file)).map_err(|e| zip_err(None, &e))?;
    let mut arrays = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut member = archive.by_index(index).map_err(|e| zip_err(None, &e))?;
        let name = member.name().map_err(|e| zip_err(None, &e))?.to_string();
        let Some(key) = name.strip_suffix(".npy") else {
            return Err(NpyError::NotNpyMember {
                path: path.to_path_buf(),
                member: name,
            });
        };
        // The declared size only sizes the buffer; a lying header cannot make us over-allocate,
        // and a compressed member stops at the largest array the element budget allows.
        let limit = max_member_bytes();
        let capacity = usize::try_from(member.size()).unwrap_or(0).min(1 << 28);
        let mut bytes = Vec::with_capacity(capacity);
        (&mut member)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| zip_err(Some(&name), &e))?;
        if bytes.len() as u64 > limit {
            return Err(zip_err(
                Some(&name),
                &format!(
                    "decompresses to more than {limit} bytes, more than an array within the \
                     element budget ({} elements) can take; raise {} if it is real",
                    hailo_guard::limits::max_elements(),
                    hailo_guard::limits::ENV_MAX_ELEMENTS
                ),
            ));
        }
        let array = decode_npy(&bytes).map_err(|source| NpyError::Member {
            path: path.to_path_buf(),
            member: name.clone(),
            source,
        })?;
        arrays.push((key.to_string(), array));
    }
    Ok(arrays)
}

/// Writes arrays as an uncompressed `.npz` (like `np.savez`), atomically and deterministically.
pub fn write_npz<N, A>(path: impl AsRef<Path>, arrays: &[(N, A)]) -> Result<(), NpyError>
where
    N: AsRef<str>,
    A: Borrow<NpyArray>,
{
    write_archive(path.as_ref(), arrays, CompressionMethod::Stored)
}

/// Writes arrays as a deflate-compressed `.npz` (like `np.savez_compressed`).
pub fn write_npz_compressed<N, A>(path: impl AsRef<Path>, arrays: &[(N, A)]) -> Result<(), NpyError>
where
    N: AsRef<str>,
    A: Borrow<NpyArray>,
{
    write_archive(path.as_ref(), arrays, CompressionMethod::Deflated)
}

fn write_archive<N, A>(
    path: &Path,
    arrays: &[(N, A)],
    method: CompressionMethod,
) -> Result<(), NpyError>
where
    N: AsRef<str>,
    A: Borrow<NpyArray>,
{
    let mut seen = HashSet::new();
    for (name, _) in arrays {
        let name = name.as_ref();
        if name.is_empty() {
            return Err(NpyError::EmptyName {
                path: path.to_path_buf(),
            });
        }
        if !seen.insert(name) {
            return Err(NpyError::DuplicateName {
                path: path.to_path_buf(),
                name: name.to_string(),
            });
        }
    }
    let zip_err = |e: zip::result::ZipError| NpyError::Zip {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let io_err = |source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    };
    write_with(path, io_err, |file| {
        let mut zip = ZipWriter::new(file);
        for (name, array) in arrays {
            let bytes = encode_npy(array.borrow());
            let options = SimpleFileOptions::default()
                .compression_method(method)
                .last_modified_time(DateTime::DEFAULT)
                .unix_permissions(0o644)
                .large_file(bytes.len() >= u32::MAX as usize);
            zip.start_file(format!("{}.npy", name.as_ref()), options)
                .map_err(zip_err)?;
            zip.write_all(&bytes).map_err(io_err)?;
        }
        zip.finish().map_err(zip_err)?;
        Ok(())
    })
}
