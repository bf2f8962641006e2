//! Telling a photo that was deleted from one whose drive is not mounted: a photo that lived on
//! another file system than the library's folder (a drive or share mounted inside it) and
//! whose folder is no longer on that file system is away with its drive, not gone. Its
//! vector is kept until the drive comes back or the person prunes it.

use crate::index::format::Entry;
use crate::index::store::path_from_bytes;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Answers "is this missing photo's file system gone?", one `stat` per folder asked about.
pub struct Unmounted<'a> {
    root: &'a Path,
    /// The device of the library's folder itself.
    root_dev: Option<u64>,
    /// Folders (relative) already looked at, with the device a photo there had: whether that
    /// file system is gone from it.
    looked_at: RefCell<HashMap<(PathBuf, u64), bool>>,
    /// The folders (relative) whose file system was found gone, for the person.
    gone: RefCell<BTreeSet<PathBuf>>,
}

impl<'a> Unmounted<'a> {
    /// For the library folder `root`.
    pub fn new(root: &'a Path) -> Self {
        Self {
            root,
            root_dev: std::fs::metadata(root).ok().map(|m| m.dev()),
            looked_at: RefCell::default(),
            gone: RefCell::default(),
        }
    }

    /// True when the missing photo `e` was on another file system than the folder and its
    /// folder is not on that file system now (it is an empty mount point, or not there).
    pub fn holds(&self, e: &Entry) -> bool {
        let dev = e.identity.dev;
        if dev == 0 || Some(dev) == self.root_dev {
            return false;
        }
        let rel = path_from_bytes(&e.path);
        let folder = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        *self
            .looked_at
            .borrow_mut()
            .entry((folder.clone(), dev))
            .or_insert_with(|| {
                let gone = device_of_nearest(self.root, &folder) != Some(dev);
                if gone {
                    self.gone
                        .borrow_mut()
                        .insert(top_of_mount(self.root, &folder));
                }
                gone
            })
    }

    /// The folders whose drive was found gone, for a message.
    pub fn folders(&self) -> Vec<String> {
        self.gone
            .borrow()
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }
}

/// The device of `folder` (relative to `root`), or of its nearest ancestor that exists.
fn device_of_nearest(root: &Path, folder: &Path) -> Option<u64> {
    root.join(folder)
        .ancestors()
        .find_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.dev())
}

/// The first folder of `folder` (relative) that does not exist now or is an empty directory:
/// where the drive was mounted, as near the top as can be told.
fn top_of_mount(root: &Path, folder: &Path) -> PathBuf {
    let mut at = PathBuf::new();
    for part in folder.components() {
        at.push(part);
        let full = root.join(&at);
        let empty = std::fs::read_dir(&full).map_or(true, |mut d| d.next().is_none());
        if empty {
            return root.join(at);
        }
    }
    root.join(folder)
}
