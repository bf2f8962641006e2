//! Finding the photos in a folder, with the fingerprint that says whether each one changed.

use crate::progress::{emit, CancelToken, Event, Sender, Skipped};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// File name endings taken as images without opening the file.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp", "dib", "tif", "tiff",
];

/// An image file found by the scan: where it is (relative to the scanned folder) and what it
/// looked like, so a later scan can tell an unchanged file from a new or edited one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub rel_path: PathBuf,
    pub fingerprint: Fingerprint,
}

/// Size and modification time: cheap to read, and they change whenever the content does in
/// practice (editors and cameras rewrite the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    pub size: u64,
    pub mtime_ns: i128,
}

impl Fingerprint {
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
                out.skipped.push(walk_error(root, &err));
                continue;
            }
        };
        if !entry.file_type().is_file() || !looks_like_image(entry.path()) {
            continue;
        }
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(err) => {
                out.skipped.push(walk_error(root, &err));
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

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    crate::store::path_bytes(Path::new(name)).first() == Some(&b'.')
}

/// True for the image extensions, and for extension-less files whose first bytes are an image's.
pub fn looks_like_image(path: &Path) -> bool {
    match path.extension() {
        Some(ext) => {
            let ext = ext.to_string_lossy().to_ascii_lowercase();
            IMAGE_EXTENSIONS.contains(&ext.as_str())
        }
        None => sniff(path),
    }
}

fn sniff(path: &Path) -> bool {
    let mut head = [0u8; 16];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    image::guess_format(&head[..n]).is_ok()
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
