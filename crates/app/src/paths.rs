//! Paths as a person reads and types them: a file's name, and a path pasted or typed into a
//! field (a `file://` URI works too).

use std::path::{Path, PathBuf};

/// The last part of a path, as a person reads it (the whole path where it has none).
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// A path typed or pasted into a field (a `file://` URI works too).
pub fn typed_path(text: &str) -> PathBuf {
    path_from_text(text).unwrap_or_else(|| PathBuf::from(text.trim()))
}

/// A path from pasted text: a plain path or a `file://` URI (what file managers copy), if the
/// text names an existing file or folder.
pub fn path_from_text(text: &str) -> Option<PathBuf> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line.trim_matches(|c| c == '"' || c == '\'');
    let path = match line.strip_prefix("file://") {
        Some(rest) => PathBuf::from(percent_decode(rest)),
        None => {
            if let Some(home) = line.strip_prefix("~/") {
                std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(home))
                    .unwrap_or_else(|| PathBuf::from(line))
            } else {
                PathBuf::from(line)
            }
        }
    };
    path.exists().then_some(path)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
