//! Atomic file replacement: write to a temporary file beside the target, then rename.
//!
//! Readers never observe a half-written file, and an interrupted or failing run leaves the
//! previous file intact. This is the one implementation the whole workspace uses (`.npy`,
//! `.npz`, HAR archives, `.hir` and report outputs of the tools); it lives here because
//! this crate is the lowest one all writers depend on.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

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

/// Writes `files` (paths relative to `dir`, created if missing) as one unit: all into a
/// temporary directory inside `dir`, one `syncfs` for all their data, a rename each into
/// place, one fsync of `dir`. Archives hold thousands of members, and an fsync per member
/// took a minute for 20,000 of them. On any error the temporary directory and the members
/// already renamed into place are removed; one left by a killed run is removed by the next.
/// Errors name the file.
pub fn write_files(dir: &Path, files: &[(PathBuf, &[u8])]) -> std::io::Result<()> {
    let at = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    remove_stale(dir);
    let tmp = dir.join(format!("{TMP_PREFIX}{}", std::process::id()));
    std::fs::create_dir(&tmp).map_err(at(&tmp))?;
    let mut moved = Vec::new();
    let result = (|| {
        for (rel, bytes) in files {
            let path = tmp.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(at(parent))?;
            }
            std::fs::write(&path, bytes).map_err(at(&dir.join(rel)))?;
        }
        sync_filesystem(&tmp).map_err(at(&tmp))?;
        for (rel, _) in files {
            let target = dir.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(at(parent))?;
            }
            std::fs::rename(tmp.join(rel), &target).map_err(at(&target))?;
            moved.push(target);
        }
        File::open(dir).and_then(|d| d.sync_all()).map_err(at(dir))
    })();
    if result.is_err() {
        for path in &moved {
            let _ = std::fs::remove_file(path);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

const TMP_PREFIX: &str = ".hailo-tmp-";

/// Removes the temporary directories of [`write_files`] in `dir` whose process is gone
/// (killed mid-write), and our own process id's (a previous process that had it).
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TMP_PREFIX))
            .and_then(|p| p.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only checks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone || pid as u32 == std::process::id() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Flushes the data of every file on the file system holding `dir` (one call for all).
fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let d = File::open(dir)?;
    // SAFETY: `d` is an open descriptor for the duration of the call.
    if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
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

    #[test]
    fn many_files_land_together_and_a_failure_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("npz-atomic-tree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files: Vec<(PathBuf, &[u8])> = (0..500)
            .map(|i| (PathBuf::from(format!("sub/m{i}.bin")), &b"x"[..]))
            .chain([(PathBuf::from("top.bin"), &b"top"[..])])
            .collect();
        // What a killed run leaves: its process is gone.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let stale = dir.join(format!("{TMP_PREFIX}{}", child.id()));
        std::fs::create_dir_all(stale.join("sub")).unwrap();
        std::fs::write(stale.join("sub/half.bin"), b"x").unwrap();
        write_files(&dir, &files).unwrap();
        assert!(!stale.exists(), "the killed run's directory is removed");
        assert_eq!(std::fs::read(dir.join("top.bin")).unwrap(), b"top");
        assert_eq!(std::fs::read_dir(dir.join("sub")).unwrap().count(), 500);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            2,
            "no temporary left"
        );

        // `block` is a directory, so the last rename fails: nothing new stays.
        let fresh = dir.join("fresh");
        std::fs::create_dir_all(fresh.join("block/inner")).unwrap();
        let failing: Vec<(PathBuf, &[u8])> = vec![
            (PathBuf::from("a.bin"), b"a"),
            (PathBuf::from("block"), b"b"),
        ];
        let err = write_files(&fresh, &failing).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}:", fresh.join("block").display())),
            "{err}"
        );
        let left: Vec<_> = std::fs::read_dir(&fresh)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["block"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
