//! Opening the files a model or script names, safely.
//!
//! An ONNX model names its external-data files, a model script names NMS configs, a user
//! names a calibration directory. A hostile model directory can hold `link -> /etc` and name
//! `link/passwd`, or a FIFO that blocks `open` forever. So every such path is resolved with
//! [`resolve_inside`] (relative, no `..`, inside the base directory after following
//! symlinks) and opened with [`open_regular`] (non-blocking open, then regular files only:
//! no FIFOs, devices, sockets or directories).

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// Why a named file may not be read.
#[derive(Debug)]
pub enum FileError {
    /// The name is absolute or climbs out with `..`.
    NotRelative { name: PathBuf },
    /// The name resolves (through symlinks) outside the base directory.
    Outside { name: PathBuf, resolved: PathBuf },
    /// Not a regular file (FIFO, device, socket, directory).
    NotRegular { path: PathBuf, kind: &'static str },
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::NotRelative { name } => write!(
                f,
                "'{}' must be a relative path inside the model's directory (no '/' at the start, \
                 no '..')",
                name.display()
            ),
            FileError::Outside { name, resolved } => write!(
                f,
                "'{}' resolves to '{}', outside the model's directory (through a symbolic \
                 link); copy the file into the model's directory",
                name.display(),
                resolved.display()
            ),
            FileError::NotRegular { path, kind } => write!(
                f,
                "'{}' is a {kind}, not a regular file; only regular files are read",
                path.display()
            ),
            FileError::Io { path, source } => {
                write!(f, "cannot read '{}': {source}", path.display())
            }
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `base/name` after following every symlink, provided `name` is relative without `..` and
/// the result lies inside `base` (itself canonicalized).
pub fn resolve_inside(base: &Path, name: &Path) -> Result<PathBuf, FileError> {
    if name.as_os_str().is_empty()
        || name
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(FileError::NotRelative {
            name: name.to_path_buf(),
        });
    }
    let base_dir = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    let root = base_dir.canonicalize().map_err(io(base_dir))?;
    let joined = base_dir.join(name);
    let resolved = joined.canonicalize().map_err(io(&joined))?;
    if !resolved.starts_with(&root) {
        return Err(FileError::Outside {
            name: name.to_path_buf(),
            resolved,
        });
    }
    Ok(resolved)
}

fn kind_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "FIFO (named pipe)"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

/// Opens `path` for reading if it is a regular file. The open does not block (a FIFO
/// without a writer would), and the type is checked on the opened file, so a file swapped
/// after a check cannot slip through.
pub fn open_regular(path: &Path) -> Result<File, FileError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io(path))?;
    let ft = file.metadata().map_err(io(path))?.file_type();
    if !ft.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(ft),
        });
    }
    Ok(file)
}

/// The whole content of the regular file at `path`.
pub fn read_regular(path: &Path) -> Result<Vec<u8>, FileError> {
    let mut file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io(path))?;
    Ok(bytes)
}

/// The entries of `dir` whose names end in `.{ext}`, sorted by name, each resolved inside
/// `dir` by [`resolve_inside`]: a calibration or sample directory cannot pull files from
/// elsewhere through symlinks. Non-regular entries are left to [`open_regular`] to refuse.
pub fn files_in(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, FileError> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| PathBuf::from(e.file_name())))
        .filter(|n| n.extension().is_some_and(|x| x == ext))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| resolve_inside(dir, n).map(|_| dir.join(n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hailo-guard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn symlinks_out_of_the_base_are_refused_and_inside_ones_followed() {
        let dir = scratch("links");
        std::fs::write(dir.join("w.bin"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("link")).unwrap();
        std::os::unix::fs::symlink("w.bin", dir.join("alias")).unwrap();
        let err = resolve_inside(&dir, Path::new("link/passwd")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "'link/passwd' resolves to '/etc/passwd', outside the model's directory (through a \
             symbolic link); copy the file into the model's directory"
        );
        let inside = resolve_inside(&dir, Path::new("alias")).unwrap();
        assert_eq!(read_regular(&inside).unwrap(), b"x");
        for bad in ["/etc/passwd", "../x", ""] {
            assert!(matches!(
                resolve_inside(&dir, Path::new(bad)),
                Err(FileError::NotRelative { .. })
            ));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fifos_and_directories_are_refused_without_blocking() {
        let dir = scratch("fifo");
        let fifo = dir.join("pipe.npy");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = open_regular(&fifo).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "is a FIFO (named pipe), not a regular file; only regular files are read"
            ),
            "{err}"
        );
        assert!(matches!(
            open_regular(&dir),
            Err(FileError::NotRegular {
                kind: "directory",
                ..
            })
        ));
        assert_eq!(files_in(&dir, "npy").unwrap(), vec![fifo]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn directory_listings_keep_to_the_directory() {
        let dir = scratch("listing");
        std::fs::write(dir.join("b.npy"), b"").unwrap();
        std::fs::write(dir.join("a.npy"), b"").unwrap();
        std::fs::write(dir.join("c.txt"), b"").unwrap();
        assert_eq!(
            files_in(&dir, "npy").unwrap(),
            vec![dir.join("a.npy"), dir.join("b.npy")]
        );
        std::os::unix::fs::symlink("/etc/passwd", dir.join("z.npy")).unwrap();
        assert!(matches!(
            files_in(&dir, "npy"),
            Err(FileError::Outside { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
