//! Recognising a file under a new path as one whose vector is already known: moved or renamed
//! inside the folder, copied byte for byte, the very same file indexed through another
//! folder that overlaps this one (`~/Pictures` and `~/Pictures/2024`), or a file of a folder
//! that is no longer there (the library's top folder renamed: `Photos` → `Photos 2024`).
//!
//! Only files whose size is that of a known file are read at all, and then only their first
//! and last 64 KiB (the sampled hash). A sample match is confirmed by the full hash of the new
//! file, except where the sample covers the whole file, or where the file is the very one
//! indexed, renamed or moved within its file system (same inode, size and modification time):
//! a rename then costs 128 KiB of reading, whatever the size of the photo.

use crate::index::content_key::{self, ContentKey};
use crate::index::format::Vectors;
use crate::index::plan::{Origin, Plan};
use crate::index::scan::{Fingerprint, Found};
use crate::index::store::path_from_bytes;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A file whose vector is known, as a candidate for a file under a new path.
struct Candidate<'a> {
    fingerprint: Fingerprint,
    content: ContentKey,
    /// Its inode number when it was indexed (0: not known).
    inode: u64,
    source: Source<'a>,
    /// Its own path is gone: the first choice for a file that moved.
    lost: bool,
}

#[derive(Clone, Copy)]
enum Source<'a> {
    Row(usize),
    Foreign(&'a Vectors, usize),
}

/// Everything known by content for one update: this index's rows and those of overlapping
/// indexed folders.
pub struct Known<'a> {
    root: &'a Path,
    by_size: HashMap<u64, Vec<Candidate<'a>>>,
    /// Files of overlapping folders by absolute path: the same file needs no hashing.
    same_file: HashMap<PathBuf, (Fingerprint, &'a Vectors, usize)>,
}

impl<'a> Known<'a> {
    /// The known contents of `old` (whose files were matched by path in `plan`) and of the
    /// `others` indexes, for files found under `root`.
    /// `vanished` are the indexes of folders no longer there: their files lost their paths,
    /// and a renamed folder's files keep their inodes. `removed` are the photos this index
    /// dropped lately (see [`remember_removed`]), known by content like those.
    pub fn new(
        root: &'a Path,
        old: &'a Vectors,
        plan: &Plan,
        others: &'a [Vectors],
        vanished: &'a [Vanished],
        removed: Option<&'a Vectors>,
    ) -> Self {
        let mut known = Known {
            root,
            by_size: HashMap::new(),
            same_file: HashMap::new(),
        };
        for (row, e) in old.entries.iter().enumerate() {
            if let Some(content) = e.content {
                known.add(Candidate {
                    fingerprint: e.fingerprint,
                    content,
                    inode: e.identity.inode,
                    source: Source::Row(row),
                    lost: plan.lost_its_path(old, row),
                });
            }
        }
        for other in others {
            let folder = path_from_bytes(&other.folder);
            for (row, e) in other.entries.iter().enumerate() {
                known.same_file.insert(
                    folder.join(path_from_bytes(&e.path)),
                    (e.fingerprint, other, row),
                );
                if let Some(content) = e.content {
                    known.add(Candidate {
                        fingerprint: e.fingerprint,
                        content,
                        inode: 0,
                        source: Source::Foreign(other, row),
                        lost: false,
                    });
                }
            }
        }
        for gone in vanished.iter().map(|v| &v.vectors).chain(removed) {
            for (row, e) in gone.entries.iter().enumerate() {
                if let Some(content) = e.content {
                    known.add(Candidate {
                        fingerprint: e.fingerprint,
                        content,
                        inode: e.identity.inode,
                        source: Source::Foreign(gone, row),
                        lost: true,
                    });
                }
            }
        }
        // A file that lost its path first (a move), then this folder's, then the others'.
        for list in known.by_size.values_mut() {
            list.sort_by_key(|c| (!c.lost, matches!(c.source, Source::Foreign(..))));
        }
        known
    }

    fn add(&mut self, c: Candidate<'a>) {
        self.by_size.entry(c.fingerprint.size).or_default().push(c);
    }

    /// True when nothing is known by content (an empty index and no overlapping folder).
    pub fn is_empty(&self) -> bool {
        self.by_size.is_empty() && self.same_file.is_empty()
    }

    /// Where the vector of `found` is already known: every file with its content, best first
    /// (files that lost their path first, so that each of them is taken by one move). Reads
    /// nothing unless a known file has its size.
    pub fn origins(&self, found: &Found) -> Vec<Origin> {
        let path = self.root.join(&found.rel_path);
        if let Some(&(fingerprint, other, row)) = self.same_file.get(&path) {
            if fingerprint == found.fingerprint {
                return vec![elsewhere(other, row)];
            }
        }
        let Some(candidates) = self.by_size.get(&found.fingerprint.size) else {
            return Vec::new();
        };
        let Ok(sample) = content_key::sample_of(&path) else {
            return Vec::new();
        };
        let mut full = None;
        let mut out = Vec::new();
        for c in candidates.iter().filter(|c| c.content.sample == sample) {
            let confirmed =
                if content_key::sample_covers(found.fingerprint.size) || renamed(c, found) {
                    true
                } else {
                    if full.is_none() {
                        full = Some(content_key::full_of(&path).ok());
                    }
                    full.flatten() == Some(c.content.full)
                };
            if confirmed {
                out.push(match c.source {
                    Source::Row(row) => Origin::Row(row),
                    Source::Foreign(other, row) => elsewhere(other, row),
                });
            }
        }
        out
    }
}

/// True when `found` is the very file `c` was, renamed or moved within its file system: the
/// same inode, size and modification time (and, checked by the caller, the same sample).
fn renamed(c: &Candidate, found: &Found) -> bool {
    c.lost && c.inode != 0 && c.inode == found.identity.inode && c.fingerprint == found.fingerprint
}

fn elsewhere(other: &Vectors, row: usize) -> Origin {
    Origin::Elsewhere {
        vector: other.row(row).to_vec(),
        content: other.entries[row].content,
    }
}

/// The index of a folder that is no longer there, and where it is kept.
pub struct Vanished {
    /// Its index folder (in the data directory).
    pub dir: PathBuf,
    /// What it holds.
    pub vectors: Vectors,
}

impl Vanished {
    /// True when `now` (this folder's new index) holds every photo of this one as the very
    /// same files: each content, and each inode — the folder was renamed or moved within its
    /// file system, not copied, so its index has nothing more to give.
    pub fn adopted_by(&self, now: &Vectors) -> bool {
        let contents: std::collections::HashSet<_> =
            now.entries.iter().filter_map(|e| e.content).collect();
        let inodes: std::collections::HashSet<_> =
            now.entries.iter().map(|e| e.identity.inode).collect();
        !self.vectors.is_empty()
            && self.vectors.entries.iter().all(|e| {
                e.content.is_some_and(|c| contents.contains(&c))
                    && e.identity.inode != 0
                    && inodes.contains(&e.identity.inode)
            })
    }
}

/// The indexes of folders that are no longer there (renamed, moved, deleted, or on a drive not
/// mounted), read from `indexes_dir` beside this folder's own index `own_dir`.
pub fn vanished_indexes(
    indexes_dir: &Path,
    own_dir: &Path,
    model_id: [u8; 32],
    dim: usize,
) -> Vec<Vanished> {
    other_indexes(indexes_dir, own_dir, model_id)
        .filter(|(_, folder)| !path_from_bytes(folder).exists())
        .filter_map(|(file, peeked)| {
            let vectors = crate::index::format::load_vectors(&file, model_id, dim).ok()?;
            let dir = file.parent()?.to_path_buf();
            (vectors.folder == peeked).then_some(Vanished { dir, vectors })
        })
        .collect()
}

/// The vectors files of other folders' indexes, with the folder each names (peeked from its
/// first bytes, not yet checked).
fn other_indexes<'a>(
    indexes_dir: &Path,
    own_dir: &'a Path,
    model_id: [u8; 32],
) -> impl Iterator<Item = (PathBuf, Vec<u8>)> + 'a {
    std::fs::read_dir(indexes_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join(crate::library::VECTORS_FILE))
        .filter(move |file| file.parent() != Some(own_dir))
        .filter_map(move |file| {
            let peeked = crate::index::format::folder_of(&file, model_id).ok()?;
            Some((file, peeked))
        })
}

/// True when one of the two folders (absolute, canonical) is the other or inside it.
pub fn overlap(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// The indexes of other folders that overlap `root`, read from `indexes_dir` (beside this
/// folder's own index, `own_dir`). An index that cannot be read is passed over: it only
/// saves work.
pub fn overlapping_indexes(
    indexes_dir: &Path,
    own_dir: &Path,
    root: &Path,
    model_id: [u8; 32],
    dim: usize,
) -> Vec<Vectors> {
    // The folder first, from the file's first bytes: an unrelated index is not read.
    other_indexes(indexes_dir, own_dir, model_id)
        .filter(|(_, peeked)| {
            let folder = path_from_bytes(peeked);
            folder.as_path() != root && overlap(&folder, root) && folder.is_dir()
        })
        // The peek is not checksummed: the whole file must say the same folder.
        .filter_map(|(file, peeked)| {
            crate::index::format::load_vectors(&file, model_id, dim)
                .ok()
                .filter(|v| v.folder == peeked)
        })
        .collect()
}

/// The photos the last updates removed from this index, with their vectors, in the index
/// folder: a photo put back (Undo of a move, restored from the trash) takes its vector again
/// from here (known by its content, as a file that lost its path), instead of being embedded.
pub(crate) const REMOVED_FILE: &str = "removed.bin";
/// The most removed photos remembered, newest kept (a vector takes about 5 KB).
const MAX_REMOVED: usize = 4096;

/// The photos removed from the index in `dir` lately (none when there is no such file, or it
/// cannot be used: it only saves work).
pub(crate) fn removed_photos(dir: &Path, model_id: [u8; 32], dim: usize) -> Option<Vectors> {
    crate::index::format::load_vectors(&dir.join(REMOVED_FILE), model_id, dim).ok()
}

/// Adds the photos of `old` that `now` no longer has to those remembered as removed (dropping
/// any that `now` has again, and the oldest beyond [`MAX_REMOVED`]). Returns the bytes written.
pub(crate) fn remember_removed(
    dir: &Path,
    model_id: [u8; 32],
    old: &Vectors,
    now: &Vectors,
) -> std::io::Result<u64> {
    let kept: std::collections::HashSet<&[u8]> =
        now.entries.iter().map(|e| e.path.as_slice()).collect();
    // A photo moved within the folder is still indexed under its new path: not removed.
    let contents: std::collections::HashSet<ContentKey> =
        now.entries.iter().filter_map(|e| e.content).collect();
    let gone: Vec<usize> = (0..old.entries.len())
        .filter(|&r| {
            let e = &old.entries[r];
            !kept.contains(e.path.as_slice()) && !e.content.is_some_and(|c| contents.contains(&c))
        })
        .collect();
    if gone.is_empty() {
        return Ok(0);
    }
    let dim = old.dim as usize;
    let earlier = removed_photos(dir, model_id, dim).filter(|r| r.folder == old.folder);
    let newly: std::collections::HashSet<&[u8]> = gone
        .iter()
        .map(|&r| old.entries[r].path.as_slice())
        .collect();
    let mut rows: Vec<(&Vectors, usize)> = earlier
        .iter()
        .flat_map(|e| (0..e.entries.len()).map(move |r| (e, r)))
        .filter(|&(e, r)| {
            let path = e.entries[r].path.as_slice();
            !kept.contains(path) && !newly.contains(path)
        })
        .collect();
    rows.extend(gone.iter().map(|&r| (old, r)));
    let rows = &rows[rows.len().saturating_sub(MAX_REMOVED)..];
    let removed = Vectors {
        folder: old.folder.clone(),
        dim: old.dim,
        generation: crate::index::format::fresh_generation(),
        entries: rows.iter().map(|&(v, r)| v.entries[r].clone()).collect(),
        data: rows.iter().flat_map(|&(v, r)| v.row(r).to_vec()).collect(),
        failed: Vec::new(),
        pairs: Vec::new(),
    };
    crate::index::format::save_vectors(&dir.join(REMOVED_FILE), model_id, &removed)
}
