//! The checkpoint log: what a long indexing run has embedded so far, appended beside the index
//! file so that a checkpoint costs what it adds, not a rewrite of the whole index.
//!
//! `journal.bin` names the index content it applies to (its generation); each record is a
//! length, a hash and a batch of changes (a path with its new vector, or the reason it failed).
//! Loading replays every whole record onto the index, reading one record at a time (a log is
//! never read whole: a hole of gigabytes at its end costs nothing); a record torn by a crash
//! ends the replay and costs only that checkpoint. No record is longer than [`MAX_RECORD`], so
//! a longer length is damage, refused before anything is allocated for it. At the end of a run
//! the index file is rewritten once with everything, and the log is deleted.

use crate::index::format::{
    check_path, check_vector, decode_bounded, encode, le_bytes, prelude, read_prelude, Entry,
    Failed, Kind, LoadError, Vectors, MAX_HEADER,
};
use crate::index::scan::{Fingerprint, Identity};
use crate::index::store::{write_atomic, Written};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The file name of the log, in the index folder.
pub const FILE: &str = "journal.bin";

/// What one file became in a run: with its vector, or ([`read_logged`]) where it is in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change<V = Vec<f32>> {
    /// Path relative to the indexed folder, as raw bytes.
    pub path: Vec<u8>,
    /// Size and modification time of the file that was read.
    pub fingerprint: Fingerprint,
    /// What came of it.
    pub outcome: Outcome<V>,
}

/// The result of one file in a [`Change`]: a vector for the index, or a failure to remember.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome<V = Vec<f32>> {
    /// Its new unit vector.
    Vector(V),
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
/// The longest payload a record has: [`Journal::append`] splits a bigger batch (a checkpoint
/// holds what 10 s of embedding made, about 5 KB a photo, so this is over 10,000 photos).
const MAX_RECORD: usize = 64 << 20;

/// The log, open for appending.
pub struct Journal {
    file: fs::File,
    len: u64,
    /// True when the log of that content already there was kept (an interrupted run's).
    pub kept: bool,
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
        let kept = match read_logged(dir, model_id, base_generation, dim) {
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
        let file = fs::OpenOptions::new().read(true).write(true).open(&path)?;
        file.set_len(len)?;
        let mut journal = Self {
            file,
            len,
            kept: kept.is_some(),
        };
        journal.file.seek(SeekFrom::Start(len))?;
        Ok((journal, written))
    }

    /// Appends `changes` (one record, or several when they are more than [`MAX_RECORD`] bytes)
    /// and makes them durable. On failure the log is cut back to where it was, so a later
    /// record is never hidden behind a torn one.
    pub fn append(&mut self, changes: &[Change]) -> std::io::Result<Appended> {
        let mut record = Vec::new();
        let mut vectors = Vec::with_capacity(changes.len());
        encode_records(changes, MAX_RECORD, &mut record, &mut vectors);
        let result = self
            .file
            .write_all(&record)
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                let start = self.len;
                self.len += record.len() as u64;
                Ok(Appended {
                    written: record.len() as Written,
                    vectors: vectors
                        .into_iter()
                        .map(|v| {
                            v.map(|v| Logged {
                                at: start + v.at,
                                ..v
                            })
                        })
                        .collect(),
                })
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                let _ = self.file.seek(SeekFrom::Start(self.len));
                Err(e)
            }
        }
    }

    /// Reads into `out` the vector [`Journal::append`] logged, checked against its hash: the
    /// log is a file others could write, and what is read here goes into the index.
    pub fn read_vector(&self, logged: Logged, out: &mut [f32]) -> std::io::Result<()> {
        if logged.at + (out.len() * 4) as u64 > self.len {
            return Err(std::io::Error::other(
                "a vector past the end of the checkpoint log",
            ));
        }
        crate::index::rows::read_floats_at(&self.file, logged.at, out)?;
        match short_hash(&le_bytes(out)) == logged.hash {
            true => Ok(()),
            false => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a vector in the checkpoint log changed after it was written",
            )),
        }
    }
}

/// What [`Journal::append`] wrote.
pub struct Appended {
    /// Bytes written.
    pub written: Written,
    /// For each change, where its vector is in the log, when it has one: a run reads it back
    /// from there rather than hold it (see [`Journal::read_vector`]).
    pub vectors: Vec<Option<Logged>>,
}

/// Where a vector is in the log, and a hash of its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Logged {
    at: u64,
    hash: u64,
}

/// The first 8 bytes of the blake3 hash of `bytes`.
fn short_hash(bytes: &[u8]) -> u64 {
    let hash = blake3::hash(bytes);
    u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// `changes` as records of at most `max` payload bytes each (a batch is halved until its
/// parts fit; a single change is always one record), and for each change where its vector's
/// floats are in `out`.
fn encode_records(
    changes: &[Change],
    max: usize,
    out: &mut Vec<u8>,
    vectors: &mut Vec<Option<Logged>>,
) {
    let (payload, ends) = encode_payload(changes);
    if payload.len() > max && changes.len() > 1 {
        let (first, second) = changes.split_at(changes.len() / 2);
        encode_records(first, max, out, vectors);
        encode_records(second, max, out, vectors);
        return;
    }
    out.extend((payload.len() as u32).to_le_bytes());
    out.extend(blake3::hash(&payload).as_bytes());
    let start = out.len();
    out.extend(&payload);
    for (change, end) in changes.iter().zip(ends) {
        vectors.push(logged(change, &payload[..end], start as u64));
    }
}

/// Where `change`'s vector is, `encoded` ending with `change` and starting at byte `start`.
fn logged(change: &Change, encoded: &[u8], start: u64) -> Option<Logged> {
    let from = floats_at(change, encoded)?;
    Some(Logged {
        at: start + from as u64,
        hash: short_hash(&encoded[from..]),
    })
}

/// `changes` encoded as `encode(&changes)` encodes them, and where each change ends in it.
fn encode_payload(changes: &[Change]) -> (Vec<u8>, Vec<usize>) {
    let mut payload = encode(&(changes.len() as u64));
    let mut ends = Vec::with_capacity(changes.len());
    for change in changes {
        payload.extend(encode(change));
        ends.push(payload.len());
    }
    (payload, ends)
}

/// Where the floats of `change`'s vector start in `encoded`, which ends with `change`: its
/// last bytes, the outcome being the last field and a float four fixed bytes. Checked, so a
/// different layout only means the vector is held in memory instead.
fn floats_at(change: &Change, encoded: &[u8]) -> Option<usize> {
    let Outcome::Vector(v) = &change.outcome else {
        return None;
    };
    let from = encoded.len().checked_sub(v.len() * 4)?;
    let same = encoded[from..]
        .chunks_exact(4)
        .zip(v)
        .all(|(bytes, x)| bytes == x.to_le_bytes());
    (same && cfg!(target_endian = "little")).then_some(from)
}

/// What a log holds for one index content.
#[derive(Debug, Default)]
pub struct Replay<V = Vec<f32>> {
    /// Every change of the whole records, in the order they were appended.
    pub changes: Vec<Change<V>>,
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
    read_as(dir, model_id, base_generation, dim, |changes, _, _| {
        Ok(changes)
    })
}

/// [`read`], each vector left in the log: where it is, not its floats, for a run to read back
/// when it saves ([`Journal::read_vector`]). The log of a million photos holds 5 GB of them.
pub fn read_logged(
    dir: &Path,
    model_id: [u8; 32],
    base_generation: u64,
    dim: usize,
) -> Result<Replay<Logged>, LoadError> {
    read_as(
        dir,
        model_id,
        base_generation,
        dim,
        |changes, start, payload| {
            let (encoded, ends) = encode_payload(&changes);
            if encoded != payload {
                return Err("a checkpoint in another layout".into());
            }
            let mut from = 0;
            changes
                .into_iter()
                .zip(ends)
                .map(|(c, end)| {
                    let at = logged(&c, &payload[from..end], start + from as u64);
                    from = end;
                    let outcome = match c.outcome {
                        Outcome::Vector(_) => Outcome::Vector(at.ok_or("a vector not in place")?),
                        Outcome::Failed(why) => Outcome::Failed(why),
                        Outcome::FailedForNow(why) => Outcome::FailedForNow(why),
                    };
                    Ok(Change {
                        path: c.path,
                        fingerprint: c.fingerprint,
                        outcome,
                    })
                })
                .collect()
        },
    )
}

/// Reads the log, turning each record's checked changes into what the caller keeps of them
/// (given the changes, the byte where the payload starts and the payload).
fn read_as<V>(
    dir: &Path,
    model_id: [u8; 32],
    base_generation: u64,
    dim: usize,
    mut keep: impl FnMut(Vec<Change>, u64, &[u8]) -> Result<Vec<Change<V>>, String>,
) -> Result<Replay<V>, LoadError> {
    let file = match fs::File::open(dir.join(FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LoadError::Missing),
        Err(e) => return Err(LoadError::Io(e)),
    };
    let len = file.metadata().map_err(LoadError::Io)?.len();
    let mut r = Counted {
        inner: BufReader::new(file),
        read: 0,
    };
    read_prelude(&mut r)?;
    let mut header_len = [0u8; 4];
    r.read_exact(&mut header_len)
        .map_err(|_| LoadError::Corrupt("no header".into()))?;
    let header_len = u32::from_le_bytes(header_len) as usize;
    if header_len > MAX_HEADER as usize {
        return Err(LoadError::Corrupt("header too long".into()));
    }
    let mut header = vec![0u8; header_len];
    r.read_exact(&mut header)
        .map_err(|_| LoadError::Corrupt("header cut short".into()))?;
    let header: Header = decode_bounded(&header).map_err(LoadError::Corrupt)?;
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
        changes: Vec::new(),
        stopped: None,
        whole_len: r.read,
    };
    while r.read < len {
        let left = len - r.read;
        let start = r.read + RECORD_HEAD as u64;
        let record = next_record(&mut r, left, dim).map_err(LoadError::Io)?;
        match record.and_then(|(changes, payload)| keep(changes, start, &payload)) {
            Ok(mut changes) => {
                replay.changes.append(&mut changes);
                replay.whole_len = r.read;
            }
            Err(why) => {
                replay.stopped = Some(why);
                break;
            }
        }
    }
    Ok(replay)
}

/// A reader that counts the bytes it has given.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// A record's checked changes, and its payload.
type Record = (Vec<Change>, Vec<u8>);

/// The next record of a log with `left` bytes left, checked: its length within the file and
/// within [`MAX_RECORD`] (before anything is allocated for it), its hash, and every change in
/// it; with its payload. The outer error is a failed read; the inner one says why the record
/// is not used.
fn next_record(
    r: &mut impl Read,
    left: u64,
    dim: usize,
) -> std::io::Result<Result<Record, String>> {
    let cut_short = || Ok(Err("a checkpoint cut short".to_string()));
    if left < RECORD_HEAD as u64 {
        return cut_short();
    }
    let mut head = [0u8; RECORD_HEAD];
    r.read_exact(&mut head)?;
    let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
    if len > MAX_RECORD {
        return Ok(Err("a checkpoint longer than any photo-sim writes".into()));
    }
    if len as u64 > left - RECORD_HEAD as u64 {
        return cut_short();
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(check_record(&head, &payload, dim).map(|changes| (changes, payload)))
}

/// The changes of a record's payload, checked against its hash, each path and each vector.
fn check_record(
    head: &[u8; RECORD_HEAD],
    payload: &[u8],
    dim: usize,
) -> Result<Vec<Change>, String> {
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
    use std::os::unix::fs::FileExt;

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
    fn a_batch_longer_than_a_record_is_split_and_replays_whole() {
        let changes: Vec<Change> = (0..40).map(|i| change(&format!("{i}.jpg"), 0.5)).collect();
        let one = encode(&&changes[..1]).len();
        let mut bytes = Vec::new();
        let mut vectors = Vec::new();
        encode_records(&changes, 5 * one, &mut bytes, &mut vectors);
        for (c, logged) in changes.iter().zip(&vectors) {
            let at = logged.expect("every change has a vector").at as usize;
            let floats: Vec<f32> = bytes[at..at + 8]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            assert_eq!(Outcome::Vector(floats), c.outcome);
        }
        let mut r = bytes.as_slice();
        let mut replayed = Vec::new();
        let mut records = 0;
        while !r.is_empty() {
            let left = r.len() as u64;
            let len = u32::from_le_bytes(r[..4].try_into().unwrap()) as usize;
            assert!(len <= 5 * one, "a record of {len} bytes");
            replayed.extend(next_record(&mut r, left, 2).unwrap().unwrap().0);
            records += 1;
        }
        assert!(records >= 8, "{records} records");
        assert_eq!(replayed, changes);
    }

    #[test]
    fn append_says_where_each_vector_is_and_it_reads_back_from_there() {
        let dir = tempfile::tempdir().unwrap();
        let id = [3u8; 32];
        let (mut j, _) = Journal::open(dir.path(), id, 9, 2).unwrap();
        let mut failed = change("bad.jpg", 0.0);
        failed.outcome = Outcome::Failed("corrupt".into());
        // A path long enough for a length of several bytes, and non-UTF-8 bytes.
        let mut long = change("x", 0.8);
        long.path = [&b"\xff/"[..], &[b'n'; 300]].concat();
        let batches = [
            vec![change("a.jpg", 0.6), failed, long],
            vec![change("c.jpg", 0.1)],
        ];
        let mut all = Vec::new();
        let mut places = Vec::new();
        for batch in &batches {
            let appended = j.append(batch).unwrap();
            assert_eq!(appended.vectors.len(), batch.len());
            places.extend(appended.vectors.iter().copied());
            for (c, logged) in batch.iter().zip(appended.vectors) {
                let mut read = [0f32; 2];
                match &c.outcome {
                    Outcome::Vector(v) => {
                        j.read_vector(logged.expect("a vector's place"), &mut read)
                            .unwrap();
                        assert_eq!(&read[..], v, "{:?}", c.path);
                    }
                    _ => assert_eq!(logged, None),
                }
            }
            all.extend(batch.iter().cloned());
        }
        // Read back without the vectors: the same changes, each vector where append said.
        let logged = read_logged(dir.path(), id, 9, 2).unwrap();
        assert_eq!(logged.changes.len(), all.len());
        for ((l, c), place) in logged.changes.iter().zip(&all).zip(&places) {
            assert_eq!((&l.path, l.fingerprint), (&c.path, c.fingerprint));
            match (&l.outcome, &c.outcome) {
                (Outcome::Vector(at), Outcome::Vector(_)) => assert_eq!(Some(*at), *place),
                (Outcome::Failed(a), Outcome::Failed(b)) => assert_eq!(a, b),
                other => panic!("{other:?}"),
            }
        }
        let first = j.append(&[change("d.jpg", 0.2)]).unwrap().vectors[0].unwrap();
        let past = Logged {
            at: j.len - 4,
            ..first
        };
        assert!(j.read_vector(past, &mut [0f32; 2]).is_err());
        // A vector changed in the file is refused, not read.
        j.file
            .write_all_at(&0.5f32.to_le_bytes(), first.at)
            .unwrap();
        let err = j.read_vector(first, &mut [0f32; 2]).unwrap_err();
        assert!(err.to_string().contains("changed"), "{err}");
        all.push(change("d.jpg", 0.2));
        drop(j);
        let replay = read(dir.path(), id, 9, 2).unwrap();
        assert_eq!(replay.changes, all[..all.len() - 1]);
        assert!(replay.stopped.unwrap().contains("damaged"));
    }

    #[test]
    fn a_record_longer_than_any_written_ends_the_replay_unread() {
        let dir = tempfile::tempdir().unwrap();
        let id = [3u8; 32];
        let (mut j, _) = Journal::open(dir.path(), id, 1, 2).unwrap();
        j.append(&[change("a.jpg", 0.6)]).unwrap();
        // A head claiming more than a record may hold, and the file long enough to hold it.
        let mut head = [0u8; RECORD_HEAD];
        head[..4].copy_from_slice(&(MAX_RECORD as u32 + 1).to_le_bytes());
        j.file.write_all(&head).unwrap();
        j.file.set_len(j.len + (2 * MAX_RECORD) as u64).unwrap();
        drop(j);
        let replay = read(dir.path(), id, 1, 2).unwrap();
        assert_eq!(replay.changes.len(), 1);
        assert!(replay.stopped.unwrap().contains("longer"));
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
