//! Where photo-sim keeps its files, and how it writes them without ever leaving half a file.

use anyhow::{Context, Result};
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
    pub fn new(override_dir: Option<&Path>) -> Result<Self> {
        if let Some(dir) = override_dir {
            return Ok(Self::under(dir));
        }
        let dirs = directories::ProjectDirs::from("", "", "photo-sim").context(
            "cannot find a home directory for photo-sim's data; pass --data-dir <dir> or set PHOTO_SIM_DATA_DIR",
        )?;
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

/// Writes `path` through a temporary file in the same directory, then renames it into place,
/// so a reader (or a crash) sees either the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let dir = path
        .parent()
        .context("a file to write needs a parent directory")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().context("a file to write needs a name")?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let file =
            fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut out = std::io::BufWriter::new(file);
        write(&mut out)?;
        let file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot flush {}", tmp.display()))?;
        fs::rename(&tmp, path)
            .with_context(|| format!("cannot move {} into place", path.display()))?;
        // The rename itself must reach the disk too, or a power cut could undo it.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
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
            anyhow::bail!("disk full")
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&target, |w| Ok(w.write_all(b"new")?)).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }
}
