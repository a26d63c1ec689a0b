//! Atomic file replacement: write to a temporary file beside the target, then rename.
//!
//! Readers never observe a half-written `.npy`/`.npz`, and an interrupted run leaves the
//! previous file intact.

use crate::error::NpyError;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Creates `path` by running `fill` on a buffered temporary file and renaming it into place.
/// The temporary file is removed if `fill` or any file operation fails.
pub(crate) fn write_atomic<F>(path: &Path, fill: F) -> Result<(), NpyError>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), NpyError>,
{
    let io_err = |source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path.file_name().ok_or_else(|| {
        io_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ))
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = File::create(&tmp).map_err(io_err).and_then(|file| {
        let mut writer = BufWriter::new(file);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        std::fs::rename(&tmp, path).map_err(io_err)
    });
    if result.is_err() {
        // Best effort: the original error is what the caller needs to see.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
