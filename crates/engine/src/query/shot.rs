//! Which files are one shot: the RAW a camera saves and the developed picture it writes
//! beside it (IMG_0001.CR2 and IMG_0001.JPG). Browsing shows them as one tile and the
//! duplicates finder never proposes one as a copy of the other.

use std::path::{Path, PathBuf};

/// Extensions of the developed pictures a camera saves beside its RAW files.
const DEVELOPED: &[&str] = &["jpg", "jpeg", "heic", "heif", "hif"];

/// The shot a file is one version of, when it is a RAW or a developed picture: its path
/// without the extension, and whether it is the RAW one (IMG_0001.CR2 and IMG_0001.JPG are
/// one shot).
fn shot(path: &Path) -> Option<(PathBuf, bool)> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    let raw = crate::decode::raw::EXTENSIONS.contains(&ext.as_str());
    (raw || DEVELOPED.contains(&ext.as_str())).then(|| (path.with_extension(""), raw))
}

/// True for a camera original: a RAW file, or a HEIC/HEIF (what a phone saves; its JPEG is a
/// conversion).
pub fn is_original(path: &Path) -> bool {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return false;
    };
    let ext = ext.to_ascii_lowercase();
    crate::decode::raw::EXTENSIONS.contains(&ext.as_str())
        || ["heic", "heif", "hif"].contains(&ext.as_str())
}

/// True for the RAW and the developed picture of one shot, side by side in one folder.
pub fn same_shot(a: &Path, b: &Path) -> bool {
    match (shot(a), shot(b)) {
        (Some((a, a_raw)), Some((b, b_raw))) => a == b && a_raw != b_raw,
        _ => false,
    }
}
