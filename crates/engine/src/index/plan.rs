//! What an update has to do, worked out from the index and a fresh scan of the folder: which
//! files to embed, which vectors to reuse, and which entries to drop — or to keep, when a scan
//! that lost most of the index at once says more about a missing drive than about the photos.

use crate::index::content_key::{ContentKey, Sample};
use crate::index::format::{Entry, Failed, Vectors};
use crate::index::journal::{Change, Journal, Logged, Outcome};
use crate::index::rows::RowSource;
use crate::index::scan::{Fingerprint, Found, Identity, Scan};
use crate::index::store::path_bytes;
use std::collections::{HashMap, HashSet};

/// Losing at least this many photos, and more than half of the index, in one scan is taken
/// for a folder that is not (fully) there rather than a deletion, until the person confirms.
pub const MASS_REMOVAL_MIN: usize = 20;

/// What became of one file handed to the embedding stage.
#[derive(Clone, Debug)]
pub enum Done {
    /// Its vector, and its content key when the whole file was read.
    Embedded(Held, Option<ContentKey>),
    Failed(Failure),
    /// It was deleted or renamed while the run went on: the next scan sees it as it is now.
    Vanished,
}

/// Where a vector embedded in a run is: in memory until a checkpoint logs it, then only in the
/// log, read back from there when the run saves. A first index of a huge folder would
/// otherwise hold every one of its vectors (5 GB for a million photos).
#[derive(Clone, Debug)]
pub enum Held {
    /// In memory.
    Memory(Vec<f32>),
    /// In one of the run's checkpoint logs (an index into them; see [`Journal::read_vector`]).
    Logged(usize, Logged),
}

/// Why a file could not be embedded, and whether that lasts (see [`Failed::lasting`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// In words for the person.
    pub reason: String,
    /// True when the reason is in the file itself, false when it is in this system.
    pub lasting: bool,
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
    /// Files with the size and date of their entry that may not be the same file (see
    /// [`Plan::suspects`]): found index → old row, until [`Plan::confirm`].
    suspects: HashMap<usize, usize>,
    /// Files that failed before and have not changed since.
    pub still_failed: Vec<Failed>,
    /// Old rows no file was found for, kept anyway (in unreadable folders, or held back by the
    /// mass-removal guard).
    kept: Vec<usize>,
    /// Entries dropped because their file is gone.
    pub removed: usize,
    /// Entries whose file is gone but that were kept because most of the index vanished at
    /// once, or because their drive is not mounted (those are in `unmounted` too).
    pub kept_missing: usize,
    /// Entries whose file is gone with the file system that held it (a drive or share not
    /// mounted under the folder): kept unless pruned.
    pub unmounted: usize,
    /// Files found under a new path with the content of an entry that lost its path.
    pub moved: usize,
    /// Files whose vector comes from an identical file: a copy in this folder, or the same
    /// photo in another indexed folder.
    pub shared: usize,
    /// Files under a new path whose content is already known: found index → where.
    adopted: HashMap<usize, Origin>,
    /// Content keys read in this run for files that keep their vector.
    keys: HashMap<usize, ContentKey>,
    /// Files under a path the index does not know, until [`Plan::settle`].
    fresh: Vec<usize>,
    /// Old rows whose path was found (or whose content was, once settled).
    seen: HashSet<usize>,
    /// Folders that could not be read, relative to the folder.
    unreadable: Vec<Vec<u8>>,
}

/// Where the vector of a file under a new path can come from without embedding it: a file
/// with the same content.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// A row of this folder's index (the file was moved or renamed, or is a copy).
    Row(usize),
    /// A file in another indexed folder (the same file where folders overlap, or a copy).
    Elsewhere {
        vector: Vec<f32>,
        content: Option<ContentKey>,
    },
}

impl Plan {
    /// Compares the index with a scan, path by path. Files under a path the index does not know
    /// are left for [`Plan::settle`], which is told where their content is already known.
    pub fn new(old: &Vectors, scan: Scan) -> Self {
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
            adopted: HashMap::new(),
            keys: HashMap::new(),
            to_embed: Vec::new(),
            fresh: Vec::new(),
            seen: HashSet::new(),
            unreadable: scan
                .unreadable
                .iter()
                .map(|p| path_bytes(p).into_owned())
                .collect(),
            changed_rows: HashMap::new(),
            suspects: HashMap::new(),
            still_failed: Vec::new(),
            kept: Vec::new(),
            removed: 0,
            kept_missing: 0,
            unmounted: 0,
            moved: 0,
            shared: 0,
        };
        for (idx, f) in scan.found.into_iter().enumerate() {
            let key = path_bytes(&f.rel_path);
            match old_rows.get(key.as_ref()) {
                Some(&row) => {
                    plan.seen.insert(row);
                    let e = &old.entries[row];
                    if e.fingerprint != f.fingerprint {
                        plan.changed_rows.insert(idx, row);
                        plan.to_embed.push(idx);
                    } else if e.identity.may_differ(&f.identity) {
                        plan.suspects.insert(idx, row);
                    } else {
                        plan.reused.insert(idx, row);
                    }
                }
                None => match old_failed.get(key.as_ref()) {
                    Some(failed) if failed.lasting && failed.fingerprint == f.fingerprint => {
                        plan.still_failed.push((*failed).clone())
                    }
                    _ => plan.fresh.push(idx),
                },
            }
            plan.found.push(f);
        }
        plan
    }

    /// The files whose size and date are those of their entry but whose identity is not:
    /// another inode (swapped names, a copy put back) or a status change (a rewrite with its
    /// date set back, or only a `chmod`). Each comes with the sampled hash its entry's content
    /// had (`None`: not known), for [`Plan::confirm`].
    pub fn suspects(&self, old: &Vectors) -> Vec<(usize, Option<Sample>)> {
        let mut out: Vec<_> = self
            .suspects
            .iter()
            .map(|(&idx, &row)| (idx, old.entries[row].content.map(|c| c.sample)))
            .collect();
        out.sort_unstable();
        out
    }

    /// Settles a suspect: the same content keeps its vector; another content is new at this
    /// path and is looked for like any new file (the other half of a swap holds it) or
    /// embedded. Its old vector is never kept: it may be another photo's.
    pub fn confirm(&mut self, idx: usize, same_content: bool) {
        let Some(row) = self.suspects.remove(&idx) else {
            return;
        };
        if same_content {
            self.reused.insert(idx, row);
        } else {
            self.fresh.push(idx);
        }
    }

    /// Found indexes of the files under paths the index does not know (new, moved or copied).
    pub fn fresh(&self) -> &[usize] {
        &self.fresh
    }

    /// True when no file was found at the path of the old row `row` and nothing says it is
    /// still there (a row in a folder that could not be read is not lost: it is kept).
    pub fn lost_its_path(&self, old: &Vectors, row: usize) -> bool {
        !self.seen.contains(&row) && !self.in_unreadable(&old.entries[row].path)
    }

    fn in_unreadable(&self, path: &[u8]) -> bool {
        self.unreadable.iter().any(|dir| is_within(path, dir))
    }

    /// Finishes the plan: `origins[i]` says where the content of `fresh()[i]` is already known,
    /// best first (those files keep that vector; the others are embedded). A vanished entry
    /// whose content turned up under a new path is a move, each one taken once; what is left of the vanished entries is dropped —
    /// unless `prune` is off and the scan found nothing or lost most of a large index at once,
    /// or `unmounted` says an entry's file system is gone (a drive not mounted): those are kept
    /// and counted in `kept_missing`.
    pub fn settle(
        &mut self,
        old: &Vectors,
        origins: Vec<Vec<Origin>>,
        prune: bool,
        unmounted: impl Fn(&Entry) -> bool,
    ) {
        assert!(self.suspects.is_empty(), "every suspect confirmed first");
        assert_eq!(
            origins.len(),
            self.fresh.len(),
            "one list of origins per fresh file"
        );
        for (idx, mut origins) in std::mem::take(&mut self.fresh).into_iter().zip(origins) {
            if origins.is_empty() {
                self.to_embed.push(idx);
                continue;
            }
            let unclaimed = origins
                .iter()
                .position(|o| matches!(o, Origin::Row(row) if self.lost_its_path(old, *row)));
            let origin = match unclaimed {
                Some(i) => {
                    let origin = origins.swap_remove(i);
                    if let Origin::Row(row) = origin {
                        self.seen.insert(row);
                    }
                    self.moved += 1;
                    origin
                }
                None => {
                    self.shared += 1;
                    origins.swap_remove(0)
                }
            };
            self.adopted.insert(idx, origin);
        }
        self.to_embed.sort_unstable();
        let mut missing = Vec::new();
        for (row, e) in old.entries.iter().enumerate() {
            if self.seen.contains(&row) {
                continue;
            }
            if self.in_unreadable(&e.path) {
                self.kept.push(row);
            } else if !prune && unmounted(e) {
                self.unmounted += 1;
                self.kept.push(row);
            } else {
                missing.push(row);
            }
        }
        self.kept_missing = self.unmounted;
        let mass_removal = !missing.is_empty()
            && (self.found.is_empty()
                || (missing.len() >= MASS_REMOVAL_MIN && missing.len() * 2 > old.len()));
        if mass_removal && !prune {
            self.kept_missing += missing.len();
            self.kept.extend(missing);
        } else {
            self.removed = missing.len();
        }
    }

    /// Found indexes of the files keeping a vector but without a content key yet (from an
    /// index written before content keys): their key is read once, without re-embedding.
    pub fn unkeyed(&self, old: &Vectors) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .reused
            .iter()
            .filter(|(_, &row)| old.entries[row].content.is_none())
            .map(|(&idx, _)| idx)
            .chain(self.adopted.iter().filter_map(|(&idx, o)| match o {
                Origin::Row(row) => old.entries[*row].content.is_none().then_some(idx),
                Origin::Elsewhere { content, .. } => content.is_none().then_some(idx),
            }))
            .collect();
        out.sort_unstable();
        out
    }

    /// Records the content key read for the found file `idx`.
    pub fn set_key(&mut self, idx: usize, key: ContentKey) {
        self.keys.insert(idx, key);
    }

    /// Files now in the folder.
    pub fn total(&self) -> usize {
        self.found.len()
    }

    pub fn reused(&self) -> usize {
        self.reused.len()
    }

    /// Files keeping a vector they had under another path or in another folder.
    pub fn adopted(&self) -> usize {
        self.adopted.len()
    }

    /// True when the entries change even if nothing is embedded: paths taken over by moves and
    /// copies, or content keys read for the first time.
    pub fn rewrites_entries(&self) -> bool {
        !self.adopted.is_empty() || !self.keys.is_empty()
    }

    /// True when the file at `position` of `to_embed` had a vector before (it changed).
    pub fn replaces_a_vector(&self, position: usize) -> bool {
        self.changed_rows.contains_key(&self.to_embed[position])
    }

    /// The change one finished file makes, for the checkpoint log (`None` for a vanished file).
    pub fn change(&self, position: usize, done: &Done) -> Option<Change> {
        let f = &self.found[self.to_embed[position]];
        let outcome = match done {
            Done::Embedded(Held::Memory(v), _) => Outcome::Vector(v.clone()),
            Done::Embedded(Held::Logged(..), _) => return None,
            Done::Failed(f) if f.lasting => Outcome::Failed(f.reason.clone()),
            Done::Failed(f) => Outcome::FailedForNow(f.reason.clone()),
            Done::Vanished => return None,
        };
        Some(Change {
            path: path_bytes(&f.rel_path).into_owned(),
            fingerprint: f.fingerprint,
            outcome,
        })
    }

    /// The new index content, every row in memory (see [`Plan::layout`]): for tests.
    #[cfg(test)]
    pub fn merge(&self, old: &Vectors, done: &[Option<Done>]) -> Vectors {
        self.layout(old, done, &[]).into_vectors().unwrap()
    }

    /// The new index content before any vector is copied: its entries, failures and pairs,
    /// and where each row comes from, so that a save can stream the rows into the new file.
    /// `done[i]` is the outcome of `to_embed[i]`, `None` when it was not reached (cancel).
    /// Files come in scan order, each with its new vector, its reused one, or — for a changed
    /// file not reached — its old one with the old fingerprint, so the next update embeds it
    /// again. A changed file that now fails loses its old vector: the index must not answer
    /// with a picture that is gone. Kept entries come last. Vectors [`Held::Logged`] are read
    /// from `logs`.
    pub fn layout<'a>(
        &'a self,
        old: &'a Vectors,
        done: &'a [Option<Done>],
        logs: &'a [Journal],
    ) -> Merged<'a> {
        let mut new: HashMap<usize, &Done> = HashMap::new();
        for (pos, d) in done.iter().enumerate() {
            if let Some(d) = d {
                new.insert(self.to_embed[pos], d);
            }
        }
        let mut out = Merged {
            listing: Vectors {
                folder: old.folder.clone(),
                dim: old.dim,
                generation: crate::index::format::fresh_generation(),
                entries: Vec::with_capacity(self.found.len() + self.kept.len()),
                data: Vec::new().into(),
                failed: self.still_failed.clone(),
                pairs: Vec::new(),
            },
            rows: Vec::with_capacity(self.found.len() + self.kept.len()),
            old,
            logs,
        };
        let mut push = |path: Vec<u8>, e: (Fingerprint, Option<ContentKey>, Identity), row| {
            let (fingerprint, content, identity) = e;
            out.listing.entries.push(Entry {
                path,
                fingerprint,
                content,
                identity,
            });
            out.rows.push(row);
        };
        let mut failed = Vec::new();
        for (idx, f) in self.found.iter().enumerate() {
            let key = || path_bytes(&f.rel_path).into_owned();
            // This file as scanned, with the content key read in this run or else `recorded`.
            let now = |recorded: Option<ContentKey>| {
                let content = self.keys.get(&idx).copied().or(recorded);
                (f.fingerprint, content, f.identity)
            };
            match new.get(&idx) {
                Some(Done::Embedded(held, content)) => {
                    let row = match held {
                        Held::Memory(v) => Row::New(v),
                        Held::Logged(log, at) => Row::Logged(*log, *at),
                    };
                    push(key(), now(*content), row)
                }
                Some(Done::Failed(why)) => failed.push(Failed {
                    path: key(),
                    fingerprint: f.fingerprint,
                    reason: why.reason.clone(),
                    lasting: why.lasting,
                }),
                Some(Done::Vanished) => {}
                None => {
                    if let Some(&r) = self.reused.get(&idx) {
                        push(key(), now(old.entries[r].content), Row::Old(r));
                    } else if let Some(&r) = self.changed_rows.get(&idx) {
                        let e = &old.entries[r];
                        push(key(), (e.fingerprint, e.content, e.identity), Row::Old(r));
                    } else {
                        match self.adopted.get(&idx) {
                            Some(Origin::Row(r)) => {
                                push(key(), now(old.entries[*r].content), Row::Old(*r))
                            }
                            Some(Origin::Elsewhere { vector, content }) => {
                                push(key(), now(*content), Row::New(vector))
                            }
                            None => {}
                        }
                    }
                }
            }
        }
        for &r in &self.kept {
            let e = &old.entries[r];
            push(
                e.path.clone(),
                (e.fingerprint, e.content, e.identity),
                Row::Old(r),
            );
        }
        out.listing.failed.extend(failed);
        out
    }
}

/// The new index content of an update (see [`Plan::layout`]): its listing, and where each row
/// comes from. Its rows are read as a [`RowSource`], old ones from the old index's file.
pub struct Merged<'a> {
    /// The new index, its rows left empty (and its pairs until [`Merged::sample_pairs`]).
    pub listing: Vectors,
    rows: Vec<Row<'a>>,
    old: &'a Vectors,
    logs: &'a [Journal],
}

impl Merged<'_> {
    /// Samples the new index's pairs (see `labels::sample_pairs`) into its listing.
    pub fn sample_pairs(&mut self) -> std::io::Result<()> {
        self.listing.pairs = crate::labels::sample_pairs_of(self)?;
        Ok(())
    }

    /// The old row each new row is, where it is one (for what was made from the old rows,
    /// such as their compact codes, to be kept).
    pub fn origins(&self) -> Vec<Option<usize>> {
        self.rows
            .iter()
            .map(|row| match row {
                Row::Old(r) => Some(*r),
                Row::New(_) | Row::Logged(..) => None,
            })
            .collect()
    }

    /// The new index with every row in memory. An old row that cannot be read from its file
    /// is taken through the map; a logged one has no other place, so failing to read it is
    /// the error.
    pub fn into_vectors(mut self) -> std::io::Result<Vectors> {
        let dim = self.dim();
        let mut data = vec![0f32; self.rows.len() * dim];
        for (row, out) in self.rows.iter().zip(data.chunks_exact_mut(dim.max(1))) {
            match (self.read_row(row, out), row) {
                (Ok(()), _) => {}
                (Err(_), Row::Old(r)) => out.copy_from_slice(self.old.row(*r)),
                (Err(e), _) => return Err(e),
            }
        }
        self.listing.data = data.into();
        self.listing.pairs = crate::labels::sample_pairs(&self.listing.data, dim);
        Ok(self.listing)
    }

    /// The new index just saved to `path` by [`crate::index::format::save_vectors_from`]: its
    /// rows mapped from the file when large, else read into memory.
    pub fn into_saved(mut self, path: &std::path::Path) -> std::io::Result<Vectors> {
        let floats = self.rows.len() * self.dim();
        match crate::index::format::map_saved(path, floats) {
            Some(rows) => {
                self.listing.data = rows;
                Ok(self.listing)
            }
            // The same rows, so the same pairs.
            None => self.into_vectors(),
        }
    }

    /// One row into `out`.
    fn read_row(&self, row: &Row, out: &mut [f32]) -> std::io::Result<()> {
        match row {
            Row::New(v) => out.copy_from_slice(v),
            Row::Old(r) => self.old.data.read_rows_into(*r, self.dim(), out)?,
            Row::Logged(log, at) => match self.logs.get(*log) {
                Some(log) => log.read_vector(*at, out)?,
                None => return Err(std::io::Error::other("no checkpoint log to read from")),
            },
        }
        Ok(())
    }
}

impl RowSource for Merged<'_> {
    fn rows(&self) -> usize {
        self.rows.len()
    }
    fn dim(&self) -> usize {
        self.old.dim as usize
    }
    /// Old rows that follow each other in the old file are read together.
    fn read<'b>(
        &'b self,
        range: std::ops::Range<usize>,
        buf: &'b mut Vec<f32>,
    ) -> std::io::Result<&'b [f32]> {
        let dim = self.dim();
        buf.clear();
        buf.resize(range.len() * dim, 0.0);
        let rows = &self.rows[range];
        let mut i = 0;
        while i < rows.len() {
            let run = match rows[i] {
                Row::Old(first) => rows[i..]
                    .iter()
                    .enumerate()
                    .take_while(|(k, r)| matches!(r, Row::Old(x) if *x == first + k))
                    .count(),
                Row::New(_) | Row::Logged(..) => 1,
            };
            self.read_row(&rows[i], &mut buf[i * dim..(i + run) * dim])?;
            i += run;
        }
        Ok(buf)
    }
}

/// Where a row of the merged index comes from.
enum Row<'a> {
    /// A vector embedded (or adopted) in this run.
    New(&'a [f32]),
    /// A row of the old index.
    Old(usize),
    /// A vector of this run in one of its checkpoint logs.
    Logged(usize, Logged),
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
                content: None,
                identity: Identity::default(),
            });
            v.data.to_mut().push(1.0);
        }
        v
    }

    /// A plan where no new path has a known content.
    fn planned(old: &Vectors, scan: Scan, prune: bool) -> Plan {
        let mut plan = Plan::new(old, scan);
        let none = vec![Vec::new(); plan.fresh().len()];
        plan.settle(old, none, prune, |_| false);
        plan
    }

    fn scan(names: &[&str]) -> Scan {
        Scan {
            found: names
                .iter()
                .map(|n| Found {
                    rel_path: PathBuf::from(n),
                    fingerprint: fp(1),
                    identity: Identity::default(),
                })
                .collect(),
            ..Scan::default()
        }
    }

    #[test]
    fn a_streamed_save_writes_the_file_a_save_from_memory_writes() {
        use crate::index::format;
        let dir = tempfile::tempdir().unwrap();
        let unit = |i: usize| {
            let mut v = vec![(i as f32).sin(), (i as f32).cos(), 0.5, (i % 7) as f32];
            crate::vector::normalize(&mut v);
            v
        };
        // More rows than one chunk of a save, in a file, mapped.
        let names: Vec<String> = (0..2100).map(|i| format!("{i:04}.jpg")).collect();
        let mut old = Vectors::empty(b"/p".to_vec(), 4);
        for (i, n) in names.iter().enumerate() {
            old.entries.push(Entry {
                path: n.as_bytes().to_vec(),
                fingerprint: fp(1),
                content: None,
                identity: Identity::default(),
            });
            old.data.extend_from_slice(&unit(i));
        }
        let old_file = dir.path().join("old.bin");
        format::save_vectors(&old_file, [1; 32], &old).unwrap();
        old.data = format::map_saved_from(&old_file, old.data.len(), 0).unwrap();
        // Old rows in runs out of their order, a gap where 50 were deleted, and new files.
        let all: Vec<&str> = names.iter().map(String::as_str).collect();
        let found = [
            &all[..1000],
            &["new-a.jpg"],
            &all[1200..],
            &all[1000..1150],
            &["new-b.jpg"],
        ];
        let plan = planned(&old, scan(&found.concat()), true);
        assert_eq!((plan.removed, plan.to_embed.len()), (50, 2));
        // One new vector in memory, the other in a checkpoint log.
        let (mut log, _) = Journal::open(dir.path(), [1; 32], old.generation, 4).unwrap();
        let logged = plan.change(1, &Done::Embedded(Held::Memory(unit(5001)), None));
        let at = log.append(&[logged.unwrap()]).unwrap().vectors[0].unwrap();
        let done = [
            Some(Done::Embedded(Held::Memory(unit(5000)), None)),
            Some(Done::Embedded(Held::Logged(0, at), None)),
        ];
        let logs = [log];
        let mut merged = plan.layout(&old, &done, &logs);
        merged.sample_pairs().unwrap();
        let streamed = dir.path().join("streamed.bin");
        format::save_vectors_from(&streamed, [1; 32], &merged.listing, &merged).unwrap();
        let done: Vec<_> = (0..2)
            .map(|k| Some(Done::Embedded(Held::Memory(unit(5000 + k)), None)))
            .collect();
        let mut in_memory = plan.merge(&old, &done);
        in_memory.generation = merged.listing.generation;
        let from_memory = dir.path().join("memory.bin");
        format::save_vectors(&from_memory, [1; 32], &in_memory).unwrap();
        assert_eq!(
            std::fs::read(&streamed).unwrap(),
            std::fs::read(&from_memory).unwrap()
        );

        let read = format::load_vectors(&streamed, [1; 32], 4).unwrap();
        assert_eq!(read, in_memory);
        assert_eq!(read.len(), 2052);
        assert_eq!(read.row(1000), unit(5000).as_slice());
        assert_eq!(read.row(1001), unit(1200).as_slice());
        assert_eq!(read.row(2050), unit(1149).as_slice());
        assert_eq!(merged.into_saved(&streamed).unwrap(), in_memory);
    }

    #[test]
    fn an_empty_scan_keeps_the_index_unless_pruned() {
        let old = index(&["a.jpg", "b.jpg", "c.jpg"]);
        let plan = planned(&old, scan(&[]), false);
        assert_eq!((plan.removed, plan.kept_missing), (0, 3));
        assert_eq!(plan.merge(&old, &[]).len(), 3);
        let plan = planned(&old, scan(&[]), true);
        assert_eq!((plan.removed, plan.kept_missing), (3, 0));
        assert_eq!(plan.merge(&old, &[]).len(), 0);
    }

    #[test]
    fn losing_most_of_a_large_index_at_once_keeps_it_but_a_few_deletions_do_not() {
        let names: Vec<String> = (0..40).map(|i| format!("{i}.jpg")).collect();
        let all: Vec<&str> = names.iter().map(String::as_str).collect();
        let old = index(&all);
        let plan = planned(&old, scan(&all[..10]), false);
        assert_eq!((plan.removed, plan.kept_missing), (0, 30));
        let plan = planned(&old, scan(&all[..35]), false);
        assert_eq!((plan.removed, plan.kept_missing), (5, 0));
    }

    #[test]
    fn entries_in_an_unreadable_folder_are_kept() {
        let old = index(&["a.jpg", "locked/b.jpg", "lockedness.jpg"]);
        let mut s = scan(&["a.jpg"]);
        s.unreadable.push(PathBuf::from("locked"));
        let plan = planned(&old, s, false);
        assert_eq!(plan.removed, 1, "lockedness.jpg is not inside locked/");
        let merged = plan.merge(&old, &[]);
        assert_eq!(merged.entries[1].path, b"locked/b.jpg");
    }

    #[test]
    fn files_whose_content_is_known_keep_its_vector_and_a_move_frees_no_entry() {
        let names: Vec<String> = (0..40).map(|i| format!("old/{i}.jpg")).collect();
        let all: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut old = index(&all);
        for (i, x) in old.data.to_mut().iter_mut().enumerate() {
            *x = i as f32;
        }
        // Every file moved to new/ (the whole index lost its paths at once), and one is copied.
        let moved: Vec<String> = (0..40).map(|i| format!("new/{i}.jpg")).collect();
        let mut now: Vec<&str> = moved.iter().map(String::as_str).collect();
        now.push("z-copy-of-3.jpg");
        let mut plan = Plan::new(&old, scan(&now));
        let origins = plan
            .fresh()
            .iter()
            .map(|&idx| {
                let name = plan.found[idx].rel_path.to_string_lossy().into_owned();
                let row = match name.as_str() {
                    "z-copy-of-3.jpg" => 3,
                    other => other[4..other.len() - 4].parse().unwrap(),
                };
                vec![Origin::Row(row)]
            })
            .collect();
        plan.settle(&old, origins, false, |_| false);
        assert_eq!((plan.moved, plan.shared), (40, 1));
        assert_eq!((plan.removed, plan.kept_missing), (0, 0));
        assert!(plan.to_embed.is_empty());
        let merged = plan.merge(&old, &[]);
        assert_eq!(merged.len(), 41);
        let row_of = |path: &str| {
            merged
                .entries
                .iter()
                .position(|e| e.path == path.as_bytes())
        };
        assert_eq!(merged.row(row_of("new/7.jpg").unwrap()), &[7.0]);
        assert_eq!(merged.row(row_of("z-copy-of-3.jpg").unwrap()), &[3.0]);
        assert!(row_of("old/7.jpg").is_none());
    }

    #[test]
    fn a_copy_of_a_photo_in_an_unreadable_folder_is_no_move_and_the_photo_is_kept() {
        let old = index(&["locked/x.jpg", "a.jpg"]);
        let mut s = scan(&["a.jpg", "copy-of-x.jpg"]);
        s.unreadable.push(PathBuf::from("locked"));
        let mut plan = Plan::new(&old, s);
        assert!(!plan.lost_its_path(&old, 0), "its folder could not be read");
        plan.settle(&old, vec![vec![Origin::Row(0)]], false, |_| false);
        assert_eq!((plan.moved, plan.shared, plan.removed), (0, 1, 0));
        let merged = plan.merge(&old, &[]);
        let paths: Vec<&[u8]> = merged.entries.iter().map(|e| e.path.as_slice()).collect();
        assert_eq!(paths, [&b"a.jpg"[..], b"copy-of-x.jpg", b"locked/x.jpg"]);
    }

    fn identity(inode: u64, ctime_ns: i128) -> Identity {
        Identity {
            inode,
            ctime_ns,
            dev: 1,
        }
    }

    #[test]
    fn a_file_with_its_size_and_date_but_another_identity_keeps_its_vector_only_if_its_content_is_the_same(
    ) {
        let mut old = index(&["a.jpg", "b.jpg", "c.jpg"]);
        old.data = vec![1.0, 2.0, 3.0].into();
        for (i, e) in old.entries.iter_mut().enumerate() {
            e.content = Some(crate::index::content_key::key_of_bytes(&[i as u8]));
            e.identity = identity(i as u64 + 1, 10);
        }
        // a and b swapped names (each has the other's inode); c was only chmod-ed.
        let mut now = scan(&["a.jpg", "b.jpg", "c.jpg"]);
        now.found[0].identity = identity(2, 20);
        now.found[1].identity = identity(1, 20);
        now.found[2].identity = identity(3, 20);
        let mut plan = Plan::new(&old, now);
        assert_eq!(plan.reused(), 0, "nothing is trusted before it is checked");
        let suspects = plan.suspects(&old);
        assert_eq!(suspects.len(), 3);
        assert_eq!(suspects[0].1, old.entries[0].content.map(|c| c.sample));
        plan.confirm(0, false);
        plan.confirm(1, false);
        plan.confirm(2, true);
        assert_eq!(plan.fresh(), &[0, 1]);
        // Looked for by content, each finds the other's row.
        plan.settle(
            &old,
            vec![vec![Origin::Row(1)], vec![Origin::Row(0)]],
            false,
            |_| false,
        );
        assert!(plan.to_embed.is_empty());
        let merged = plan.merge(&old, &[]);
        assert_eq!(merged.data, vec![2.0, 1.0, 3.0]);
        assert_eq!(
            merged.entries[2].identity,
            identity(3, 20),
            "the new identity is kept"
        );
    }

    #[test]
    fn an_identity_not_known_is_no_reason_to_doubt_a_file() {
        let mut old = index(&["a.jpg"]);
        old.entries[0].identity = identity(7, 0);
        let mut now = scan(&["a.jpg"]);
        now.found[0].identity = identity(7, 99);
        let plan = Plan::new(&old, now);
        assert_eq!(plan.reused(), 1);
        assert!(!identity(0, 0).may_differ(&identity(5, 5)));
        assert!(identity(5, 5).may_differ(&identity(6, 5)));
        assert!(identity(5, 5).may_differ(&identity(5, 6)));
    }

    #[test]
    fn a_failure_in_this_system_is_tried_again_but_one_in_the_file_is_not() {
        let mut old = index(&[]);
        for (name, lasting) in [("corrupt.jpg", true), ("locked.jpg", false)] {
            old.failed.push(Failed {
                path: name.as_bytes().to_vec(),
                fingerprint: fp(1),
                reason: "why".into(),
                lasting,
            });
        }
        let plan = Plan::new(&old, scan(&["corrupt.jpg", "locked.jpg"]));
        assert_eq!(plan.still_failed.len(), 1);
        assert_eq!(plan.still_failed[0].path, b"corrupt.jpg");
        assert_eq!(plan.fresh(), &[1]);
    }
}
