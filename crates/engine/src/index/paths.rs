//! An index's rows found by their path. A map from each path to its row would copy every
//! path once more and allocate a million times to open a million-photo library (a quarter of
//! a second, twice: once to check no path is there twice, once to look paths up); this table
//! holds only row numbers and finds their paths in the entries, so the one table does both
//! in a tenth of the time.

use crate::index::format::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// The rows of a list of entries, by path. It answers for the entries it was made from.
#[derive(Default)]
pub struct PathIndex {
    table: HashTable<usize>,
    hasher: DefaultHashBuilder,
}

impl PathIndex {
    /// The rows of `entries` by path (the first, for a path there twice).
    pub fn of(entries: &[Entry]) -> Self {
        Self::build(entries, false).0
    }

    /// The row of the first path in `entries` that an earlier row already has.
    pub fn first_repeat(entries: &[Entry]) -> Option<usize> {
        Self::build(entries, true).1
    }

    /// The table, and the first repeated path's row (where building stops when `stop` says).
    fn build(entries: &[Entry], stop: bool) -> (Self, Option<usize>) {
        let hasher = DefaultHashBuilder::default();
        let mut table = HashTable::with_capacity(entries.len());
        let mut repeat = None;
        let hash = |row: &usize| hasher.hash_one(entries[*row].path.as_slice());
        for (row, e) in entries.iter().enumerate() {
            let path = e.path.as_slice();
            match table.entry(
                hasher.hash_one(path),
                |&other: &usize| entries[other].path == path,
                hash,
            ) {
                hashbrown::hash_table::Entry::Vacant(slot) => {
                    slot.insert(row);
                }
                hashbrown::hash_table::Entry::Occupied(_) => {
                    repeat = repeat.or(Some(row));
                    if stop {
                        break;
                    }
                }
            }
        }
        (Self { table, hasher }, repeat)
    }

    /// The row of `path` among `entries` (those the index was made from).
    pub fn get(&self, entries: &[Entry], path: &[u8]) -> Option<usize> {
        self.table
            .find(self.hasher.hash_one(path), |&row| {
                entries.get(row).is_some_and(|e| e.path == path)
            })
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(paths: &[&str]) -> Vec<Entry> {
        paths
            .iter()
            .map(|p| Entry {
                path: p.as_bytes().to_vec(),
                fingerprint: crate::index::Fingerprint {
                    size: 0,
                    mtime_ns: 0,
                },
                content: None,
                identity: Default::default(),
            })
            .collect()
    }

    #[test]
    fn finds_each_row_by_its_path_and_nothing_for_others() {
        let e = entries(&["a.jpg", "b/a.jpg", "c.png"]);
        let index = PathIndex::of(&e);
        for (row, entry) in e.iter().enumerate() {
            assert_eq!(index.get(&e, &entry.path), Some(row));
        }
        assert_eq!(index.get(&e, b"b/c.png"), None);
        assert_eq!(index.get(&e, b""), None);
    }

    #[test]
    fn a_path_there_twice_is_found_at_its_second_row_and_looked_up_at_its_first() {
        let e = entries(&["a.jpg", "b.jpg", "c.jpg", "b.jpg"]);
        assert_eq!(PathIndex::first_repeat(&e), Some(3));
        assert_eq!(PathIndex::first_repeat(&e[..3]), None);
        assert_eq!(PathIndex::of(&e).get(&e, b"b.jpg"), Some(1));
    }
}
