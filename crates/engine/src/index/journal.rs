//! The checkpoint log: what a long indexing run has embedded so far, appended beside the index
//! file so that a checkpoint costs what it adds, not a rewrite of the whole index.
//!
//! `journal.bin` names the index content it applies to (its generation); each record is a
//! length, a hash and a batch of changes (a path with its new vector, or the reason it failed).
//! Loading replays every whole record onto the index; a record torn by a crash ends the replay
//! and costs only that checkpoint. At the end of a run the index file is rewritten once with
//! everything, and the log is deleted.

use crate::index::format::{
    check_path, check_vector, decode_bounded, encode, prelude, read_prelude, Entry, Failed, Kind,
    LoadError, Vectors,
};
use crate::index::scan::{Fingerprint, Identity};
use crate::index::store::{write_atomic, Written};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The file name of the log, in the index folder.
pub const FILE: &str = "journal.bin";

/// What one file became in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Path relative to the indexed folder, as raw bytes.
    pub path: Vec<u8>,
    /// Size and modification time of the file that was read.
    pub fingerprint: Fingerprint,
    /// What came of it.
    pub outcome: Outcome,
}

/// The result of one file in a [`Change`]: a vector for the index, or a failure to remember.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// Its new unit vector.
    Vector(Vec<f32>),
    /// Why it could not be indexed, a reason in the file itself (see [`Failed::lasting`]).
    Failed(String),
    /// Why it could not be indexed this time, a reason in this system. Last of the variants,
    /// so that logs written before it still read.
    FailedForNow(String),
}

#[derive(Serialize, Deserialize)]
struct Header {
    kind: Kind,
    model_id: [u8; 32],
    base_generation: u64,
    dim: u32,
}

/// Bytes before a record's payload: its length (u32) and blake3 hash.
const RECORD_HEAD: usize = 4 + 32;

/// The log, open for appending.
pub struct Journal {
    file: fs::File,
    len: u64,
}

impl Journal {
    /// Opens the log of `dir` for appending to the index content `base_generation`: an existing
    /// log of that content is kept (cut after its last whole record), any other is replaced.
    pub fn open(
        dir: &Path,
        model_id: [u8; 32],
        base_generation: u64,
        dim: usize,
    ) -> std::io::Result<(Self, Written)> {
        let path = dir.join(FILE);
        let kept = match read(dir, model_id, base_generation, dim) {
            Ok(replay) => Some(replay.whole_len),
            Err(_) => None,
        };
        let mut written = 0;
        let len = match kept {
            Some(len) => len,
            None => {
                let header = encode(&Header {
                    kind: Kind::Journal,
                    model_id,
                    base_generation,
                    dim: dim as u32,
                });
                written = write_atomic(&path, |w| {
                    w.write_all(&prelude())?;
                    w.write_all(&(header.len() as u32).to_le_bytes())?;
                    w.write_all(&header)
                })?;
                written
            }
        };
        let file = fs::OpenOptions::new().write(true).open(&path)?;
        file.set_len(len)?;
        let mut journal = Self { file, len };
        journal.file.seek(SeekFrom::Start(len))?;
        Ok((journal, written))
    }

    /// Appends one record and makes it durable. On failure the log is cut back to where it was,
    /// so a later record is never hidden behind a torn one.
    pub fn append(&mut self, changes: &[Change]) -> std::io::Result<Written> {
        let payload = encode(&changes);
        let mut record = Vec::with_capacity(RECORD_HEAD + payload.len());
        record.extend((payload.len() as u32).to_le_bytes());
        record.extend(blake3::hash(&payload).as_bytes());
        record.extend(&payload);
        let result = self
            .file
            .write_all(&record)
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.len += record.len() as u64;
                Ok(record.len() as Written)
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                let _ = self.file.seek(SeekFrom::Start(self.len));
                Err(e)
            }
        }
    }
}

/// What a log holds for one index content.
#[derive(Debug, Default)]
pub struct Replay {
    /// Every change of the whole records, in the order they were appended.
    pub changes: Vec<Change>,
    /// Why replay stopped before the end of the file, if it did.
    pub stopped: Option<String>,
    /// Length of the file up to the end of its last whole record.
    whole_len: u64,
}

/// Reads the log of `dir` if it belongs to the content `base_generation` (a log of another
/// content is `Missing`: it was made before the index file it would apply to was replaced).
pub fn read(
    dir: &Path,
    model_id: [u8; 32],
    base_generation: u64,
    dim: usize,
) -> Result<Replay, LoadError> {
    let bytes = match fs::File::open(dir.join(FILE)) {
        Ok(mut f) => {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).map_err(LoadError::Io)?;
            bytes
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LoadError::Missing),
        Err(e) => return Err(LoadError::Io(e)),
    };
    let mut r = bytes.as_slice();
    read_prelude(&mut r)?;
    let header_len = take(&mut r, 4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
        .ok_or_else(|| LoadError::Corrupt("no header".into()))?;
    let header: Header = take(&mut r, header_len)
        .ok_or_else(|| LoadError::Corrupt("header cut short".into()))
        .and_then(|b| decode_bounded(b).map_err(LoadError::Corrupt))?;
    if header.kind != Kind::Journal {
        return Err(LoadError::NotOurs);
    }
    if header.model_id != model_id || header.dim as usize != dim {
        return Err(LoadError::OtherModel { rows: 0 });
    }
    if header.base_generation != base_generation {
        return Err(LoadError::Missing);
    }
    let mut replay = Replay {
        whole_len: (bytes.len() - r.len()) as u64,
        ..Replay::default()
    };
    while !r.is_empty() {
        match next_record(&mut r, dim) {
            Ok(mut changes) => {
                replay.changes.append(&mut changes);
                replay.whole_len = (bytes.len() - r.len()) as u64;
            }
            Err(why) => {
                replay.stopped = Some(why);
                break;
            }
        }
    }
    Ok(replay)
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if r.len() < n {
        return None;
    }
    let (head, rest) = r.split_at(n);
    *r = rest;
    Some(head)
}

/// One record, checked: its length within the file, its hash, and every change in it.
fn next_record(r: &mut &[u8], dim: usize) -> Result<Vec<Change>, String> {
    let head = take(r, RECORD_HEAD).ok_or("a checkpoint cut short")?;
    let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
    let payload = take(r, len).ok_or("a checkpoint cut short")?;
    if blake3::hash(payload).as_bytes() != &head[4..] {
        return Err("a damaged checkpoint".into());
    }
    let changes: Vec<Change> = decode_bounded(payload)?;
    for c in &changes {
        check_path(&c.path)?;
        if let Outcome::Vector(v) = &c.outcome {
            if v.len() != dim {
                return Err("a vector of the wrong size".into());
            }
            check_vector(v)?;
        }
    }
    Ok(changes)
}

/// Applies `changes` in order to `v`: each one replaces whatever `v` had for its path.
pub(crate) fn apply(v: &mut Vectors, changes: Vec<Change>) {
    if changes.is_empty() {
        return;
    }
    let dim = v.dim as usize;
    let mut last: HashMap<&[u8], usize> = HashMap::new();
    for (i, c) in changes.iter().enumerate() {
        last.insert(c.path.as_slice(), i);
    }
    let mut out = Vectors {
        folder: std::mem::take(&mut v.folder),
        dim: v.dim,
        generation: v.generation,
        ..Vectors::default()
    };
    for (i, e) in v.entries.iter().enumerate() {
        if !last.contains_key(e.path.as_slice()) {
            out.entries.push(e.clone());
            out.data.extend_from_slice(&v.data[i * dim..(i + 1) * dim]);
        }
    }
    out.failed = v
        .failed
        .iter()
        .filter(|f| !last.contains_key(f.path.as_slice()))
        .cloned()
        .collect();
    for (i, c) in changes.iter().enumerate() {
        if last.get(c.path.as_slice()) != Some(&i) {
            continue;
        }
        match &c.outcome {
            Outcome::Vector(vector) => {
                // The log keeps no content key: the next update reads it from the file.
                out.entries.push(Entry {
                    path: c.path.clone(),
                    fingerprint: c.fingerprint,
                    content: None,
                    identity: Identity::default(),
                });
                out.data.extend_from_slice(vector);
            }
            Outcome::Failed(reason) | Outcome::FailedForNow(reason) => out.failed.push(Failed {
                path: c.path.clone(),
                fingerprint: c.fingerprint,
                reason: reason.clone(),
                lasting: matches!(c.outcome, Outcome::Failed(_)),
            }),
        }
    }
    out.pairs = crate::labels::sample_pairs(&out.data, dim);
    *v = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, x: f32) -> Change {
        let y = (1.0 - x * x).sqrt();
        Change {
            path: path.as_bytes().to_vec(),
            fingerprint: Fingerprint {
                size: 1,
                mtime_ns: 2,
            },
            outcome: Outcome::Vector(vec![x, y]),
        }
    }

    #[test]
    fn records_replay_in_order_and_a_torn_tail_costs_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let id = [3u8; 32];
        assert!(matches!(
            read(dir.path(), id, 9, 2),
            Err(LoadError::Missing)
        ));
        let (mut j, _) = Journal::open(dir.path(), id, 9, 2).unwrap();
        j.append(&[change("a.jpg", 0.6), change("b.jpg", 0.8)])
            .unwrap();
        let mut failed = change("a.jpg", 0.0);
        failed.outcome = Outcome::Failed("corrupt".into());
        j.append(&[failed]).unwrap();
        drop(j);
        let replay = read(dir.path(), id, 9, 2).unwrap();
        assert_eq!(replay.changes.len(), 3);
        assert!(replay.stopped.is_none());
        let mut v = Vectors::empty(b"/p".to_vec(), 2);
        apply(&mut v, replay.changes);
        assert_eq!(v.entries.len(), 1, "a.jpg failed after its vector");
        assert_eq!(v.entries[0].path, b"b.jpg");
        assert_eq!(v.failed[0].path, b"a.jpg");

        // Another content's log is not applied.
        assert!(matches!(
            read(dir.path(), id, 10, 2),
            Err(LoadError::Missing)
        ));

        // A torn last record: the rest is kept, and the next append lands after the good ones.
        let path = dir.path().join(FILE);
        let full = fs::read(&path).unwrap();
        fs::write(&path, &full[..full.len() - 5]).unwrap();
        let replay = read(dir.path(), id, 9, 2).unwrap();
        assert_eq!(replay.changes.len(), 2);
        assert!(replay.stopped.is_some());
        let (mut j, _) = Journal::open(dir.path(), id, 9, 2).unwrap();
        j.append(&[change("c.jpg", 0.3)]).unwrap();
        let replay = read(dir.path(), id, 9, 2).unwrap();
        assert!(replay.stopped.is_none(), "{:?}", replay.stopped);
        assert_eq!(replay.changes.len(), 3);
        assert_eq!(replay.changes[2].path, b"c.jpg");
    }

    #[test]
    fn hostile_records_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let id = [3u8; 32];
        let (mut j, _) = Journal::open(dir.path(), id, 1, 2).unwrap();
        let mut outside = change("/etc/passwd", 0.6);
        outside.path = b"../../etc/passwd".to_vec();
        j.append(&[outside]).unwrap();
        let replay = read(dir.path(), id, 1, 2).unwrap();
        assert!(replay.changes.is_empty());
        assert!(replay.stopped.unwrap().contains(".."));
    }
}
