//! What an update has to do, worked out from the index and a fresh scan of the folder: which
//! files to embed, which vectors to reuse, and which entries to drop — or to keep, when a scan
//! that lost most of the index at once says more about a missing drive than about the photos.

use crate::index::{Entry, Failed, Vectors};
use crate::journal::{Change, Outcome};
use crate::scan::{Fingerprint, Found, Scan};
use crate::store::path_bytes;
use std::collections::{HashMap, HashSet};

/// Losing at least this many photos, and more than half of the index, in one scan is taken
/// for a folder that is not (fully) there rather than a deletion, until the person confirms.
pub const MASS_REMOVAL_MIN: usize = 20;

/// What became of one file handed to the embedding stage.
#[derive(Clone, Debug)]
pub enum Done {
    Embedded(Vec<f32>),
    Failed(String),
    /// It was deleted or renamed while the run went on: the next scan sees it as it is now.
    Vanished,
}

pub struct Plan {
    /// In scan order: every image file now in the folder.
    pub found: Vec<Found>,
    /// Unchanged files: found index → old row.
    reused: HashMap<usize, usize>,
    /// Found indexes of the files to embed (new or changed).
    pub to_embed: Vec<usize>,
    /// Changed files: found index → old row, kept if the new version is never reached (cancel).
    changed_rows: HashMap<usize, usize>,
    /// Files that failed before and have not changed since.
    pub still_failed: Vec<Failed>,
    /// Old rows no file was found for, kept anyway (in unreadable folders, or held back by the
    /// mass-removal guard).
    kept: Vec<usize>,
    /// Entries dropped because their file is gone.
    pub removed: usize,
    /// Entries whose file is gone but that were kept because most of the index vanished at once.
    pub kept_missing: usize,
}

impl Plan {
    /// Compares the index with a scan. Without `prune`, a scan that finds nothing (or loses most
    /// of a large index at once) keeps the missing entries and counts them in `kept_missing`.
    pub fn new(old: &Vectors, scan: Scan, prune: bool) -> Self {
        let old_rows: HashMap<&[u8], usize> = old
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.as_slice(), i))
            .collect();
        let old_failed: HashMap<&[u8], &Failed> =
            old.failed.iter().map(|f| (f.path.as_slice(), f)).collect();
        let mut plan = Plan {
            found: Vec::new(),
            reused: HashMap::new(),
            to_embed: Vec::new(),
            changed_rows: HashMap::new(),
            still_failed: Vec::new(),
            kept: Vec::new(),
            removed: 0,
            kept_missing: 0,
        };
        let mut seen = HashSet::new();
        for (idx, f) in scan.found.into_iter().enumerate() {
            let key = path_bytes(&f.rel_path);
            match old_rows.get(key.as_ref()) {
                Some(&row) => {
                    seen.insert(row);
                    if old.entries[row].fingerprint == f.fingerprint {
                        plan.reused.insert(idx, row);
                    } else {
                        plan.changed_rows.insert(idx, row);
                        plan.to_embed.push(idx);
                    }
                }
                None => match old_failed.get(key.as_ref()) {
                    Some(failed) if failed.fingerprint == f.fingerprint => {
                        plan.still_failed.push((*failed).clone())
                    }
                    _ => plan.to_embed.push(idx),
                },
            }
            plan.found.push(f);
        }
        let unreadable: Vec<Vec<u8>> = scan
            .unreadable
            .iter()
            .map(|p| path_bytes(p).into_owned())
            .collect();
        let mut missing = Vec::new();
        for (row, e) in old.entries.iter().enumerate() {
            if seen.contains(&row) {
                continue;
            }
            if unreadable.iter().any(|dir| is_within(&e.path, dir)) {
                plan.kept.push(row);
            } else {
                missing.push(row);
            }
        }
        let mass_removal = !missing.is_empty()
            && (plan.found.is_empty()
                || (missing.len() >= MASS_REMOVAL_MIN && missing.len() * 2 > old.len()));
        if mass_removal && !prune {
            plan.kept_missing = missing.len();
            plan.kept.extend(missing);
        } else {
            plan.removed = missing.len();
        }
        plan
    }

    /// Files now in the folder.
    pub fn total(&self) -> usize {
        self.found.len()
    }

    pub fn reused(&self) -> usize {
        self.reused.len()
    }

    /// True when the file at `position` of `to_embed` had a vector before (it changed).
    pub fn replaces_a_vector(&self, position: usize) -> bool {
        self.changed_rows.contains_key(&self.to_embed[position])
    }

    /// The change one finished file makes, for the checkpoint log (`None` for a vanished file).
    pub fn change(&self, position: usize, done: &Done) -> Option<Change> {
        let f = &self.found[self.to_embed[position]];
        let outcome = match done {
            Done::Embedded(v) => Outcome::Vector(v.clone()),
            Done::Failed(reason) => Outcome::Failed(reason.clone()),
            Done::Vanished => return None,
        };
        Some(Change {
            path: path_bytes(&f.rel_path).into_owned(),
            fingerprint: f.fingerprint,
            outcome,
        })
    }

    /// The new index content. `done[i]` is the outcome of `to_embed[i]`, `None` when it was not
    /// reached (cancel). Files come in scan order, each with its new vector, its reused one, or
    /// — for a changed file not reached — its old one with the old fingerprint, so the next
    /// update embeds it again. A changed file that now fails loses its old vector: the index
    /// must not answer with a picture that is gone. Kept entries come last.
    pub fn merge(&self, old: &Vectors, done: &[Option<Done>]) -> Vectors {
        let dim = old.dim as usize;
        let mut new: HashMap<usize, &Done> = HashMap::new();
        for (pos, d) in done.iter().enumerate() {
            if let Some(d) = d {
                new.insert(self.to_embed[pos], d);
            }
        }
        let mut out = Vectors {
            folder: old.folder.clone(),
            dim: old.dim,
            generation: crate::index::fresh_generation(),
            entries: Vec::with_capacity(self.found.len() + self.kept.len()),
            data: Vec::with_capacity((self.found.len() + self.kept.len()) * dim),
            failed: self.still_failed.clone(),
            pairs: Vec::new(),
        };
        let mut push = |path: Vec<u8>, fingerprint: Fingerprint, row: &[f32]| {
            out.entries.push(Entry { path, fingerprint });
            out.data.extend_from_slice(row);
        };
        let mut failed = Vec::new();
        for (idx, f) in self.found.iter().enumerate() {
            let key = || path_bytes(&f.rel_path).into_owned();
            match new.get(&idx) {
                Some(Done::Embedded(v)) => push(key(), f.fingerprint, v),
                Some(Done::Failed(reason)) => failed.push(Failed {
                    path: key(),
                    fingerprint: f.fingerprint,
                    reason: reason.clone(),
                }),
                Some(Done::Vanished) => {}
                None => {
                    if let Some(&r) = self.reused.get(&idx) {
                        push(key(), f.fingerprint, old.row(r));
                    } else if let Some(&r) = self.changed_rows.get(&idx) {
                        push(key(), old.entries[r].fingerprint, old.row(r));
                    }
                }
            }
        }
        for &r in &self.kept {
            push(
                old.entries[r].path.clone(),
                old.entries[r].fingerprint,
                old.row(r),
            );
        }
        out.failed.extend(failed);
        out.pairs = crate::labels::sample_pairs(&out.data, dim);
        out
    }
}

/// True when the relative path `path` is `dir` or inside it.
fn is_within(path: &[u8], dir: &[u8]) -> bool {
    dir.is_empty() || path == dir || (path.starts_with(dir) && path.get(dir.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fp(n: u64) -> Fingerprint {
        Fingerprint {
            size: n,
            mtime_ns: 1,
        }
    }

    fn index(names: &[&str]) -> Vectors {
        let mut v = Vectors::empty(b"/p".to_vec(), 1);
        for n in names {
            v.entries.push(Entry {
                path: n.as_bytes().to_vec(),
                fingerprint: fp(1),
            });
            v.data.push(1.0);
        }
        v
    }

    fn scan(names: &[&str]) -> Scan {
        Scan {
            found: names
                .iter()
                .map(|n| Found {
                    rel_path: PathBuf::from(n),
                    fingerprint: fp(1),
                })
                .collect(),
            ..Scan::default()
        }
    }

    #[test]
    fn an_empty_scan_keeps_the_index_unless_pruned() {
        let old = index(&["a.jpg", "b.jpg", "c.jpg"]);
        let plan = Plan::new(&old, scan(&[]), false);
        assert_eq!((plan.removed, plan.kept_missing), (0, 3));
        assert_eq!(plan.merge(&old, &[]).len(), 3);
        let plan = Plan::new(&old, scan(&[]), true);
        assert_eq!((plan.removed, plan.kept_missing), (3, 0));
        assert_eq!(plan.merge(&old, &[]).len(), 0);
    }

    #[test]
    fn losing_most_of_a_large_index_at_once_keeps_it_but_a_few_deletions_do_not() {
        let names: Vec<String> = (0..40).map(|i| format!("{i}.jpg")).collect();
        let all: Vec<&str> = names.iter().map(String::as_str).collect();
        let old = index(&all);
        let plan = Plan::new(&old, scan(&all[..10]), false);
        assert_eq!((plan.removed, plan.kept_missing), (0, 30));
        let plan = Plan::new(&old, scan(&all[..35]), false);
        assert_eq!((plan.removed, plan.kept_missing), (5, 0));
    }

    #[test]
    fn entries_in_an_unreadable_folder_are_kept() {
        let old = index(&["a.jpg", "locked/b.jpg", "lockedness.jpg"]);
        let mut s = scan(&["a.jpg"]);
        s.unreadable.push(PathBuf::from("locked"));
        let plan = Plan::new(&old, s, false);
        assert_eq!(plan.removed, 1, "lockedness.jpg is not inside locked/");
        let merged = plan.merge(&old, &[]);
        assert_eq!(merged.entries[1].path, b"locked/b.jpg");
    }
}
