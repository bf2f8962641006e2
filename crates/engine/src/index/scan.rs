//! Finding the photos in a folder, with the fingerprint that says whether each one changed.

use crate::progress::{emit, CancelToken, Event, Sender, Skipped};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// File name endings taken as images without opening the file.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp", "dib", "tif", "tiff", "dng", "cr2",
    "cr3", "nef", "nrw", "arw", "pef", "orf", "rw2", "raf", "heic", "heif", "hif", "avif",
];

/// An image file found by the scan: where it is (relative to the scanned folder) and what it
/// looked like, so a later scan can tell an unchanged file from a new or edited one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The path below the scanned folder (what the index stores, so the folder can move).
    pub rel_path: PathBuf,
    /// Its size and modification time when the scan saw it.
    pub fingerprint: Fingerprint,
    /// Which file on its file system this is.
    pub identity: Identity,
}

/// Which file a path names, beyond its size and date: the inode number (a rename or a move
/// within one file system keeps it) and the status-change time (any rewrite, rename or
/// `chmod` moves it, and no tool can set it back). Two photos of the same size and date
/// swapping names, or a same-size rewrite with its date restored, keep the fingerprint but
/// not the identity. The device says which file system held it, so that a photo missing
/// because its drive is not mounted is not taken for a deleted one.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Identity {
    /// The inode number (0: not known).
    pub inode: u64,
    /// The status-change time in nanoseconds since 1970 (0: not known).
    pub ctime_ns: i128,
    /// The device of its file system (0: not known). Not part of [`Identity::may_differ`]:
    /// a drive plugged in again may get another number.
    pub dev: u64,
}

impl Identity {
    /// The identity of a file, from its metadata.
    pub fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            inode: meta.ino(),
            ctime_ns: meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128,
            dev: meta.dev(),
        }
    }

    /// True when the file seen `now` may not be the one recorded: a part both know differs.
    /// The content then has to be checked before its vector is trusted.
    pub fn may_differ(&self, now: &Identity) -> bool {
        let differs = |old: i128, new: i128| old != 0 && old != new;
        differs(self.inode as i128, now.inode as i128) || differs(self.ctime_ns, now.ctime_ns)
    }
}

/// Size and modification time: cheap to read, and they change whenever the content does in
/// practice (editors and cameras rewrite the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    /// File size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since 1970 (negative before it).
    pub mtime_ns: i128,
}

impl Fingerprint {
    /// The fingerprint of a file, from its metadata (0 when the system has no modification time).
    pub fn of(meta: &std::fs::Metadata) -> Self {
        let mtime_ns = meta
            .modified()
            .ok()
            .map(|t| match t.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_nanos() as i128,
                Err(e) => -(e.duration().as_nanos() as i128),
            })
            .unwrap_or(0);
        Self {
            size: meta.len(),
            mtime_ns,
        }
    }
}

/// What a walk of the folder found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Image files, sorted by path.
    pub found: Vec<Found>,
    /// Folders or entries that could not be read, with the reason.
    pub skipped: Vec<Skipped>,
    /// Those of them that could not be read at all, relative to the folder: what the index
    /// holds below them is kept, since nothing says it was deleted.
    pub unreadable: Vec<PathBuf>,
    /// True when the walk stopped early at the caller's request (`found` is then partial).
    pub cancelled: bool,
}

/// Walks `root` recursively: follows symbolic links but never around a loop, skips hidden
/// files and folders, and keeps image files by extension (or, for files with none, by content).
pub fn scan(root: &Path, progress: Option<&Sender>, cancel: &CancelToken) -> Scan {
    let mut out = Scan::default();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()));
    for entry in walker {
        if cancel.is_cancelled() {
            out.cancelled = true;
            break;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                out.skip_walk_error(root, &err);
                continue;
            }
        };
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            // Never opened: reading a named pipe blocks, reading a device never ends.
            if has_image_extension(entry.path()) {
                out.skipped.push(Skipped {
                    path: entry.path().to_path_buf(),
                    reason: format!("not a regular file ({})", crate::decode::describe(&kind)),
                });
            }
            continue;
        }
        if !looks_like_image(entry.path()) {
            continue;
        }
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(err) => {
                out.skip_walk_error(root, &err);
                continue;
            }
        };
        let rel_path = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .to_path_buf();
        out.found.push(Found {
            rel_path,
            fingerprint: Fingerprint::of(&meta),
            identity: Identity::of(&meta),
        });
        if out.found.len() % 256 == 0 {
            emit(
                progress,
                Event::Scanning {
                    found: out.found.len(),
                },
            );
        }
    }
    out.found.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    emit(
        progress,
        Event::Scanning {
            found: out.found.len(),
        },
    );
    out
}

impl Scan {
    fn skip_walk_error(&mut self, root: &Path, err: &walkdir::Error) {
        let skipped = walk_error(root, err);
        if err.loop_ancestor().is_none() {
            if let Ok(rel) = skipped.path.strip_prefix(root) {
                self.unreadable.push(rel.to_path_buf());
            }
        }
        self.skipped.push(skipped);
    }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    crate::index::store::path_bytes(Path::new(name)).first() == Some(&b'.')
}

/// True for the image extensions, and for extension-less files whose first bytes are an image's.
pub fn looks_like_image(path: &Path) -> bool {
    match path.extension() {
        Some(_) => has_image_extension(path),
        None => sniff(path),
    }
}

/// True when the file name ends with one of [`IMAGE_EXTENSIONS`].
pub fn has_image_extension(path: &Path) -> bool {
    path.extension().is_some_and(|ext| {
        let ext = ext.to_string_lossy().to_ascii_lowercase();
        IMAGE_EXTENSIONS.contains(&ext.as_str())
    })
}

fn sniff(path: &Path) -> bool {
    crate::decode::sniff(path).is_ok()
}

fn walk_error(root: &Path, err: &walkdir::Error) -> Skipped {
    let path: PathBuf = err.path().unwrap_or(root).to_path_buf();
    let reason = if let Some(ancestor) = err.loop_ancestor() {
        format!(
            "symbolic link loop (points back to {}); not followed",
            ancestor.display()
        )
    } else if let Some(io) = err.io_error() {
        match io.kind() {
            std::io::ErrorKind::PermissionDenied => "permission denied; cannot read it".to_string(),
            std::io::ErrorKind::NotFound => "vanished or is a broken link".to_string(),
            _ => format!("cannot read it: {io}"),
        }
    } else {
        err.to_string()
    };
    Skipped { path, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_raw_and_heif_extension_is_scanned() {
        for ext in crate::decode::raw::EXTENSIONS
            .iter()
            .chain(&["heic", "heif", "hif", "avif"])
        {
            let upper = format!("IMG_0001.{}", ext.to_uppercase());
            assert!(has_image_extension(Path::new(&upper)), "{upper}");
        }
    }
}
