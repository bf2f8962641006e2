//! Where photo-sim keeps its files, and how it writes them without ever leaving half a file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Environment variable that overrides the data directory (same as `--data-dir`).
pub const DATA_DIR_ENV: &str = "PHOTO_SIM_DATA_DIR";

/// The directories photo-sim reads and writes.
#[derive(Clone, Debug)]
pub struct Store {
    /// Indexes, one sub-directory per indexed folder.
    pub data_dir: PathBuf,
    /// Thumbnails and other files that can be rebuilt at will.
    pub cache_dir: PathBuf,
    /// Settings (last folder opened, ...).
    pub config_dir: PathBuf,
}

impl Store {
    /// The per-user directories, or everything under `override_dir` when one is given
    /// (tests and scripts use that so they never touch a person's real data).
    pub fn new(override_dir: Option<&Path>) -> Result<Self, crate::Error> {
        if let Some(dir) = override_dir {
            return Ok(Self::under(dir));
        }
        let dirs =
            directories::ProjectDirs::from("", "", "photo-sim").ok_or(crate::Error::NoHome)?;
        Ok(Self {
            data_dir: dirs.data_dir().to_path_buf(),
            cache_dir: dirs.cache_dir().to_path_buf(),
            config_dir: dirs.config_dir().to_path_buf(),
        })
    }

    /// All three directories below one root.
    pub fn under(dir: &Path) -> Self {
        Self {
            data_dir: dir.join("data"),
            cache_dir: dir.join("cache"),
            config_dir: dir.join("config"),
        }
    }

    /// The directory holding the index of `folder` (which should be canonical).
    pub fn index_dir(&self, folder: &Path) -> PathBuf {
        let key = blake3::hash(path_bytes(folder).as_ref()).to_hex();
        self.data_dir.join("indexes").join(&key.as_str()[..16])
    }
}

/// A path's bytes, exact on Unix even when the name is not UTF-8.
pub fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::borrow::Cow::Owned(path.to_string_lossy().into_owned().into_bytes())
    }
}

/// The inverse of [`path_bytes`].
pub fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// Bytes written to disk, so a run can report what its saves cost.
pub type Written = u64;

/// Writes `path` through a temporary file in the same directory, then renames it into place,
/// so a reader (or a crash) sees either the old file or the new one, never a mix. Returns the
/// bytes written. A failed write removes its temporary file; one left by a killed process is
/// removed the next time the index is updated (`remove_temp_files`).
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut AtomicFile) -> std::io::Result<()>,
) -> std::io::Result<Written> {
    let no_parent = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "no parent folder");
    let dir = path.parent().ok_or_else(no_parent)?;
    fs::create_dir_all(dir)?;
    let name = path.file_name().ok_or_else(no_parent)?;
    let tmp = dir.join(format!(
        ".{}.{}{TEMP_SUFFIX}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let file = fs::File::create(&tmp)?;
        let mut out = AtomicFile {
            inner: std::io::BufWriter::new(file),
            written: 0,
        };
        write(&mut out)?;
        let written = out.written;
        let file = out.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // The rename itself must reach the disk too, or a power cut could undo it.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(written)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// How temporary files end (see [`write_atomic`]).
const TEMP_SUFFIX: &str = ".tmp";

/// Removes the temporary files [`write_atomic`] left in `dir` when a process was killed in the
/// middle of a save. Only call it while holding the lock of whatever writes in `dir`.
pub fn remove_temp_files(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = path_bytes(Path::new(&name));
            name.starts_with(b".") && name.ends_with(TEMP_SUFFIX.as_bytes())
        })
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .count()
}

/// The temporary file [`write_atomic`] writes, counting the bytes.
pub struct AtomicFile {
    inner: std::io::BufWriter<fs::File>,
    written: u64,
}

impl AtomicFile {
    /// Writes `bytes` again at `offset`, over bytes already written, and goes on at the end:
    /// for a header that holds a hash of what follows it, written last.
    pub fn rewrite_at(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::{Seek, SeekFrom};
        if offset + bytes.len() as u64 > self.written {
            return Err(std::io::Error::other("rewriting past what was written"));
        }
        self.inner.seek(SeekFrom::Start(offset))?;
        self.inner.write_all(bytes)?;
        self.inner.seek(SeekFrom::End(0))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_temp_file_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f.bin");
        fs::write(&target, b"old").unwrap();
        let err = write_atomic(&target, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(write_atomic(&target, |w| w.write_all(b"new")).unwrap(), 3);
        assert_eq!(fs::read(&target).unwrap(), b"new");
        // A header written last, over its placeholder; never past what was written.
        let written = write_atomic(&target, |w| {
            w.write_all(b"..-body")?;
            assert!(w.rewrite_at(6, b"xy").is_err());
            w.rewrite_at(0, b"hd")
        });
        assert_eq!(written.unwrap(), 7);
        assert_eq!(fs::read(&target).unwrap(), b"hd-body");
        fs::write(
            dir.path().join(".f.bin.4242.tmp"),
            b"left by a killed process",
        )
        .unwrap();
        assert_eq!(remove_temp_files(dir.path()), 1);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
