//! Atomic file replacement: write to a temporary file beside the target, then rename.
//!
//! Readers never observe a half-written file, and an interrupted or failing run leaves the
//! previous file intact. This is the one implementation the whole workspace uses (`.npy`,
//! `.npz`, HAR archives, `.hir` and report outputs of the tools); it lives here because
//! this crate is the lowest one all writers depend on.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Creates `path` by running `fill` on a buffered temporary file and renaming it into place.
/// File-system errors become `E` through `io_err`; the temporary file is removed if `fill`
/// or any file operation fails.
pub fn write_with<E>(
    path: &Path,
    io_err: impl Fn(std::io::Error) -> E,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
) -> Result<(), E> {
    let Some(file_name) = path.file_name() else {
        return Err(io_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path does not name a file",
        )));
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = File::create(&tmp).map_err(&io_err).and_then(|file| {
        let mut writer = BufWriter::new(file);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(&io_err)?;
        std::fs::rename(&tmp, path).map_err(&io_err)
    });
    if result.is_err() {
        // Best effort: the original error is what the caller needs to see.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |e| e, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("npz-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.bin");
        write_bytes(&path, b"first").unwrap();
        write_bytes(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failing_fill_keeps_the_old_file() {
        let dir = std::env::temp_dir().join(format!("npz-atomic-fail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.bin");
        write_bytes(&path, b"old").unwrap();
        let err = write_with(
            &path,
            |e| e.to_string(),
            |w| {
                w.write_all(b"partial").map_err(|e| e.to_string())?;
                Err("fill failed".to_string())
            },
        );
        assert_eq!(err.unwrap_err(), "fill failed");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
