//! The on-disk index of one folder: which files it holds, their fingerprints and their
//! embedding vectors (and, for large folders, the nearest-neighbour graph in a second file).
//!
//! A file is `MAGIC | format version | header length | header | meta | data`. The header names
//! the kind of file, the model that made the vectors, the sizes of what follows and a hash of
//! it, so an old, foreign, truncated or corrupted file is recognised before any of it is
//! trusted. The meta (paths, fingerprints, reasons) is bincode; the data is the raw vectors.
//! The meta has a hash of its own and holds one hash per block of [`BLOCK_ROWS`] vectors:
//! a flipped byte among the vectors costs the rows of its block (embedded again), not the
//! whole index.
//! A hand-made file with a valid hash is still refused: every length is checked against the
//! bytes the file really has before anything is allocated, and every entry is validated.

use crate::index::content_key::ContentKey;
use crate::index::rows::{Floats, RowSource, Rows};
use crate::index::scan::{Fingerprint, Identity};
use crate::index::store::{write_atomic, Written};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;

/// First bytes of every file photo-sim writes.
pub(crate) const MAGIC: [u8; 8] = *b"PHOTOSIM";
/// Bumped whenever the layout below changes; an older file is rebuilt, never misread.
/// Version 2: raw vector block after the meta, descriptor named in the model id, checkpoint log.
/// Version 3: each entry has its content key (moves, renames and copies keep their vectors).
/// Version 4: each entry has its file's identity (inode and status-change time), each
/// failure says whether it lasts (see [`Failed::lasting`]), the header hashes the meta on its
/// own and the meta hashes the vectors in blocks, so damage costs only the rows it touches.
/// Version 5: zeros after the header so the vectors start at a multiple of 64 bytes, and a
/// large index is read through a memory map ([`crate::index::rows`]).
pub(crate) const FORMAT_VERSION: u32 = 5;
/// The vectors of a file are aligned to this many bytes from version 5 on.
const DATA_ALIGN: u64 = 64;
/// From this many bytes of vectors on (13,000 photos of 1,280 numbers) a vectors file is
/// mapped rather than read: opening it reads the entries only.
pub const MAP_FROM_BYTES: u64 = 64 << 20;
/// Environment variable: the size from which vectors are mapped, in bytes, instead of
/// [`MAP_FROM_BYTES`] (tests map small indexes).
pub const MAP_FROM_ENV: &str = "PHOTO_SIM_MAP_FROM_BYTES";
/// The oldest version still read; older files are rebuilt. A version-2 file is read as it is,
/// its entries without content keys (the next update records them, without re-embedding);
/// entries before version 4 have no status-change time (the next update records it), and
/// their failures are all tried again once.
pub(crate) const OLDEST_READABLE: u32 = 2;
/// The generation of "no index yet": a checkpoint log written before the first save names it.
pub(crate) const EMPTY_GENERATION: u64 = 0;
/// A header is a few fixed-size fields; anything longer is not ours.
pub(crate) const MAX_HEADER: u32 = 1024;
/// Vectors hashed together in the vectors file: damage costs at most this many photos.
pub const BLOCK_ROWS: usize = 64;

/// One indexed image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Path relative to the indexed folder, as raw bytes (file names need not be UTF-8).
    pub path: Vec<u8>,
    /// Size and modification time when it was embedded: a different one means re-embed it.
    pub fingerprint: Fingerprint,
    /// What the file holds; `None` for entries from a version-2 index, until an update reads it.
    pub content: Option<ContentKey>,
    /// Which file it was when it was scanned (parts not known are 0): a rename is recognised
    /// without reading the whole file, and a file replaced under the same size and date is
    /// not taken for the one embedded.
    pub identity: Identity,
}

/// An entry as version 3 wrote it.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct EntryV3 {
    path: Vec<u8>,
    fingerprint: Fingerprint,
    content: Option<ContentKey>,
    inode: u64,
}

/// An entry as version 2 wrote it.
#[derive(Deserialize)]
struct EntryV2 {
    path: Vec<u8>,
    fingerprint: Fingerprint,
}

/// A file that could not be indexed: remembered and reported again on every run, and tried
/// again when it changes or when the reason may have gone away.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failed {
    /// Path relative to the indexed folder, as raw bytes.
    pub path: Vec<u8>,
    /// Size and modification time when it failed: a different one means try it again.
    pub fingerprint: Fingerprint,
    /// Why it could not be indexed, for the person.
    pub reason: String,
    /// True when the reason is in the file itself (damaged, empty, not an image): it is not
    /// tried again until it changes. A reason in this system (a permission, a missing codec,
    /// a read error) is tried again on every run.
    pub lasting: bool,
}

/// A failure as versions 2 and 3 wrote it.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct FailedV3 {
    path: Vec<u8>,
    fingerprint: Fingerprint,
    reason: String,
}

impl From<FailedV3> for Failed {
    /// Old failures did not say whether they last: each is tried once more.
    fn from(old: FailedV3) -> Self {
        Failed {
            path: old.path,
            fingerprint: old.fingerprint,
            reason: old.reason,
            lasting: false,
        }
    }
}

/// Everything known about one folder's images.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vectors {
    /// The indexed folder (canonical path bytes).
    pub folder: Vec<u8>,
    /// Length of every vector (the model's descriptor size).
    pub dim: u32,
    /// Unique to each saved content, so a graph or a checkpoint log made for another content is
    /// known to be stale.
    pub generation: u64,
    /// The indexed images, row `i` of `data` being the vector of `entries[i]`.
    pub entries: Vec<Entry>,
    /// `entries.len() × dim` values, row `i` being the unit vector of `entries[i]`.
    pub data: Rows,
    /// The files that could not be indexed, not retried until they change.
    pub failed: Vec<Failed>,
    /// A sorted sample of the similarities between the photos (see
    /// `labels::sample_pairs`): where a match stands in this library.
    pub pairs: Vec<f32>,
}

/// The bincode part of a vectors file (the vectors themselves follow as raw floats).
#[derive(Serialize, Deserialize)]
struct Meta {
    folder: Vec<u8>,
    entries: Vec<Entry>,
    failed: Vec<Failed>,
    pairs: Vec<f32>,
    /// The hash of each block of [`BLOCK_ROWS`] vectors (none before version 4).
    blocks: Vec<[u8; 16]>,
}

/// [`Meta`] as written, borrowed from what is saved (a slice encodes as the `Vec` it borrows
/// from), so that a save copies no entry.
#[derive(Serialize)]
struct MetaToWrite<'a> {
    folder: &'a [u8],
    entries: &'a [Entry],
    failed: &'a [Failed],
    pairs: &'a [f32],
    blocks: &'a [[u8; 16]],
}

/// The meta of a vectors file of an older version, by the entries it holds.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct MetaOf<E> {
    folder: Vec<u8>,
    entries: Vec<E>,
    failed: Vec<FailedV3>,
    pairs: Vec<f32>,
}

impl<E: Into<Entry>> From<MetaOf<E>> for Meta {
    fn from(old: MetaOf<E>) -> Self {
        Meta {
            folder: old.folder,
            entries: old.entries.into_iter().map(Into::into).collect(),
            failed: old.failed.into_iter().map(Into::into).collect(),
            pairs: old.pairs,
            blocks: Vec::new(),
        }
    }
}

impl From<EntryV3> for Entry {
    fn from(e: EntryV3) -> Self {
        Entry {
            path: e.path,
            fingerprint: e.fingerprint,
            content: e.content,
            identity: Identity {
                inode: e.inode,
                ctime_ns: 0,
                dev: 0,
            },
        }
    }
}

impl From<EntryV2> for Entry {
    fn from(e: EntryV2) -> Self {
        Entry {
            path: e.path,
            fingerprint: e.fingerprint,
            content: None,
            identity: Identity::default(),
        }
    }
}

/// Decodes the meta of a vectors file of `version`, moving an older one to the current form.
fn decode_meta(version: u32, bytes: &[u8]) -> Result<Meta, String> {
    match version {
        2 => decode_bounded::<MetaOf<EntryV2>>(bytes).map(Into::into),
        3 => decode_bounded::<MetaOf<EntryV3>>(bytes).map(Into::into),
        _ => decode_bounded::<Meta>(bytes),
    }
}

impl RowSource for Vectors {
    fn rows(&self) -> usize {
        self.entries.len()
    }
    fn dim(&self) -> usize {
        self.dim as usize
    }
    fn read<'a>(
        &'a self,
        range: std::ops::Range<usize>,
        buf: &'a mut Vec<f32>,
    ) -> std::io::Result<&'a [f32]> {
        self.data.read_range(range, self.dim as usize, buf)
    }
}

impl Vectors {
    /// The index of `folder` before anything is embedded (the "no index yet" generation).
    pub fn empty(folder: Vec<u8>, dim: usize) -> Self {
        Self {
            folder,
            dim: dim as u32,
            generation: EMPTY_GENERATION,
            ..Self::default()
        }
    }
    /// Images indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no image is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The vector of `entries[i]`.
    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.dim as usize;
        &self.data[i * d..(i + 1) * d]
    }

    /// Checks what a hash cannot: that every entry is a path inside the folder, named once,
    /// and every vector a finite unit vector. A file failing this is treated as corrupt.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_entries()?;
        (0..self.len())
            .try_for_each(|i| check_vector(self.row(i)).map_err(|why| format!("entry {i}: {why}")))
    }

    /// [`Vectors::validate`] but for the vectors themselves (mapped ones are not read to
    /// open an index).
    pub fn validate_entries(&self) -> Result<(), String> {
        if self.data.len() != self.entries.len() * self.dim as usize {
            return Err("the vector block does not match the entries".into());
        }
        for (i, e) in self.entries.iter().enumerate() {
            check_path(&e.path).map_err(|why| format!("entry {i}: {why}"))?;
        }
        if let Some(i) = crate::index::paths::PathIndex::first_repeat(&self.entries) {
            return Err(format!("entry {i}: the same path twice"));
        }
        for (i, f) in self.failed.iter().enumerate() {
            check_path(&f.path).map_err(|why| format!("failed entry {i}: {why}"))?;
        }
        let in_range = |p: &f32| (-1.001..=1.001).contains(p);
        if !self.pairs.iter().all(in_range) || !self.pairs.is_sorted() {
            return Err("the sample of pair similarities is not sorted cosines".into());
        }
        Ok(())
    }
}

/// A stored path must name a file inside the indexed folder: relative, no `.` or `..`
/// component, no empty component, no NUL.
pub(crate) fn check_path(path: &[u8]) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty path");
    }
    if path[0] == b'/' {
        return Err("absolute path");
    }
    if path.contains(&0) {
        return Err("NUL in a path");
    }
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" => return Err("empty path component"),
            b"." | b".." => return Err("`.` or `..` in a path"),
            _ => {}
        }
    }
    Ok(())
}

/// A stored vector must be finite and of unit length (the dot product is the cosine).
pub(crate) fn check_vector(v: &[f32]) -> Result<(), &'static str> {
    if !v.iter().all(|x| x.is_finite()) {
        return Err("a vector with NaN or infinite values");
    }
    let norm2: f32 = v.iter().map(|x| x * x).sum();
    if (norm2 - 1.0).abs() > 1e-3 {
        return Err("a vector that is not of unit length");
    }
    Ok(())
}

/// Which of photo-sim's files this is; a header checked on read so they are never swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// The vectors file: entries, failures and vectors ([`Vectors`]).
    Vectors,
    /// The nearest-neighbour graph of a large folder.
    Graph,
    /// The checkpoint log ([`crate::index::journal`]).
    Journal,
    /// The person's decisions about duplicate groups ([`crate::library::Decisions`]).
    Decisions,
    /// The compact codes of a large folder ([`crate::query::compact::Codes`]).
    Codes,
}

#[derive(Serialize, Deserialize)]
struct Header {
    kind: Kind,
    model_id: [u8; 32],
    generation: u64,
    dim: u32,
    rows: u64,
    meta_len: u64,
    /// blake3 of everything after the header (meta, then data).
    body_hash: [u8; 32],
    /// blake3 of the meta alone (zeros before version 4, which never match).
    meta_hash: [u8; 32],
}

/// The header of versions 2 and 3.
#[derive(Deserialize)]
#[cfg_attr(any(test, feature = "test-support"), derive(Serialize))]
struct HeaderV3 {
    kind: Kind,
    model_id: [u8; 32],
    generation: u64,
    dim: u32,
    rows: u64,
    meta_len: u64,
    body_hash: [u8; 32],
}

impl From<HeaderV3> for Header {
    fn from(h: HeaderV3) -> Self {
        Header {
            kind: h.kind,
            model_id: h.model_id,
            generation: h.generation,
            dim: h.dim,
            rows: h.rows,
            meta_len: h.meta_len,
            body_hash: h.body_hash,
            meta_hash: [0; 32],
        }
    }
}

fn decode_header(version: u32, bytes: &[u8]) -> Result<Header, String> {
    if version >= 5 {
        // The header, then the zeros that align the vectors.
        let config = config().with_limit::<{ MAX_HEADER as usize * EXPANSION }>();
        let (header, used) =
            bincode::serde::decode_from_slice(bytes, config).map_err(|e| e.to_string())?;
        if bytes[used..].iter().any(|&b| b != 0) {
            return Err("bytes after the header that are not its padding".into());
        }
        Ok(header)
    } else if version >= 4 {
        decode_bounded::<Header>(bytes)
    } else {
        decode_bounded::<HeaderV3>(bytes).map(Into::into)
    }
}

/// How much of a file's body its hashes vouch for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Vouched {
    /// Everything: the body hash matches.
    Whole,
    /// The meta only (its own hash matches, the body's does not): some vectors are damaged.
    MetaOnly,
    /// The meta (its own hash matches); the vectors are mapped, not read, and their blocks are
    /// checked before an update builds on them ([`check_blocks`]).
    Mapped,
}

/// Why an index file was not used. Every case means "rebuild", with a message saying why.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// There is no such file: the folder was never indexed (or the index was deleted).
    #[error("no index yet")]
    Missing,
    /// The file exists but could not be read.
    #[error("cannot read the index file: {0}")]
    Io(std::io::Error),
    /// The file does not start with photo-sim's magic bytes, or is another kind of its files.
    #[error("not a photo-sim index file")]
    NotOurs,
    /// A format version this build cannot read (too old, or from a newer photo-sim).
    #[error("the index was written by format version {found}; this version of photo-sim writes version {FORMAT_VERSION}")]
    Version {
        /// The version the file says it is.
        found: u32,
    },
    /// Vectors made by another model or descriptor: not comparable with this model's.
    #[error("the index was made with a different model or descriptor")]
    OtherModel {
        /// Photos the file holds (what rebuilding will cost).
        rows: u64,
    },
    /// A check failed (hash, lengths, an entry); the text says which.
    #[error("the index file is corrupt or truncated ({0})")]
    Corrupt(String),
}

/// How many times its encoded size a decoded value may take in memory.
const EXPANSION: usize = 8;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes with bincode (the same layout every file uses).
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, config()).expect("encoding into memory cannot fail")
}

/// Decodes all of `bytes` as one `T`, with bincode's decode limit set from the input size, so
/// a crafted length field is refused instead of allocated: strings and byte buffers claim
/// their length against the limit, and sequences grow only as elements are really read. The
/// limit is a power of two at least [`EXPANSION`] times the input, since decoded values take
/// more memory than their encoding (a varint is one byte on disk, a `u64` or `i128` in memory).
/// A `T` that borrows from `bytes` (a byte block, say) is decoded without copying it.
pub(crate) fn decode_bounded<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    fn with_limit<'a, T: Deserialize<'a>, const N: usize>(bytes: &'a [u8]) -> Result<T, String> {
        let config = config().with_limit::<N>();
        let (value, used) =
            bincode::serde::borrow_decode_from_slice(bytes, config).map_err(|e| e.to_string())?;
        if used != bytes.len() {
            return Err(format!("{} bytes left over", bytes.len() - used));
        }
        Ok(value)
    }
    match bytes.len().saturating_mul(EXPANSION) {
        n if n <= 1 << 16 => with_limit::<T, { 1 << 16 }>(bytes),
        n if n <= 1 << 20 => with_limit::<T, { 1 << 20 }>(bytes),
        n if n <= 1 << 24 => with_limit::<T, { 1 << 24 }>(bytes),
        n if n <= 1 << 28 => with_limit::<T, { 1 << 28 }>(bytes),
        n if n <= 1 << 32 => with_limit::<T, { 1 << 32 }>(bytes),
        n if n <= 1 << 36 => with_limit::<T, { 1 << 36 }>(bytes),
        _ => Err("too large".into()),
    }
}

/// The fixed start of every file: magic and format version.
pub(crate) fn prelude() -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&MAGIC);
    out[8..].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out
}

/// Reads and checks the magic and format version, returning the version.
pub(crate) fn read_prelude(r: &mut impl Read) -> Result<u32, LoadError> {
    let mut magic = [0u8; 8];
    if r.read_exact(&mut magic).is_err() || magic != MAGIC {
        return Err(LoadError::NotOurs);
    }
    let mut version = [0u8; 4];
    r.read_exact(&mut version)
        .map_err(|_| LoadError::Corrupt("no version".into()))?;
    let found = u32::from_le_bytes(version);
    if !(OLDEST_READABLE..=FORMAT_VERSION).contains(&found) {
        return Err(LoadError::Version { found });
    }
    Ok(found)
}

/// What a file holds: its header's generation, the decoded meta and the raw vector block.
pub(crate) struct Loaded<T> {
    /// The format version the file was written in.
    pub version: u32,
    /// The generation of the content it holds.
    pub generation: u64,
    /// Length of every vector.
    pub dim: usize,
    /// The decoded bincode part.
    pub meta: T,
    /// The raw vectors, `rows × dim` floats.
    pub data: Rows,
    /// Whether the vectors are vouched for too.
    pub vouched: Vouched,
}

/// Writes a file atomically: prelude, header, `meta` (bincode), then `data` (`rows` vectors of
/// `dim` floats, little-endian). Returns the bytes written.
pub fn save<T: Serialize>(
    path: &Path,
    kind: Kind,
    model_id: [u8; 32],
    generation: u64,
    dim: usize,
    meta: &T,
    data: &[f32],
) -> std::io::Result<Written> {
    let head = Head {
        kind,
        model_id,
        generation,
    };
    save_rows(path, &head, &encode(meta), &Floats { data, dim })
}

/// Rows a save reads, hashes and writes at a time: a few megabytes (a whole number of
/// [`BLOCK_ROWS`] blocks), so that saving a million photos holds one chunk of their vectors.
const SAVE_CHUNK_ROWS: usize = 16 * BLOCK_ROWS;

/// What a file's header says besides sizes and hashes.
struct Head {
    kind: Kind,
    model_id: [u8; 32],
    generation: u64,
}

/// [`save`] with the meta encoded and the rows read a chunk at a time. The header, which holds
/// the hash of all that follows it, is written last, over a placeholder of the same length.
fn save_rows(
    path: &Path,
    head: &Head,
    meta: &[u8],
    data: &dyn RowSource,
) -> std::io::Result<Written> {
    let (dim, rows) = (data.dim(), data.rows());
    let mut hasher = blake3::Hasher::new();
    hasher.update_rayon(meta);
    let meta_hash = *hasher.finalize().as_bytes();
    let header = |body_hash| {
        let mut header = encode(&Header {
            meta_hash,
            kind: head.kind,
            model_id: head.model_id,
            generation: head.generation,
            dim: dim as u32,
            rows: rows as u64,
            meta_len: meta.len() as u64,
            body_hash,
        });
        let unaligned = (16 + header.len() + meta.len()) as u64 % DATA_ALIGN;
        header.resize(
            header.len() + ((DATA_ALIGN - unaligned) % DATA_ALIGN) as usize,
            0,
        );
        header
    };
    let placeholder = header([0; 32]);
    write_atomic(path, |w| {
        w.write_all(&prelude())?;
        w.write_all(&(placeholder.len() as u32).to_le_bytes())?;
        w.write_all(&placeholder)?;
        w.write_all(meta)?;
        let mut buf = Vec::new();
        for start in (0..rows).step_by(SAVE_CHUNK_ROWS) {
            let chunk = data.read(start..(start + SAVE_CHUNK_ROWS).min(rows), &mut buf)?;
            let bytes = le_bytes(chunk);
            hasher.update_rayon(&bytes);
            w.write_all(&bytes)?;
        }
        let header = header(*hasher.finalize().as_bytes());
        // The same fields at the same sizes: only the hash differs from the placeholder's.
        if header.len() != placeholder.len() {
            return Err(std::io::Error::other("the header changed length"));
        }
        w.rewrite_at(16, &header)
    })
}

/// `data` as little-endian bytes: the floats themselves on a little-endian machine (the
/// vectors of a million photos are 5 GB, not to be copied to be written).
pub(crate) fn le_bytes(data: &[f32]) -> std::borrow::Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        // SAFETY: any f32's bytes are valid u8s, and u8 needs no alignment.
        std::borrow::Cow::Borrowed(unsafe {
            std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data))
        })
    } else {
        std::borrow::Cow::Owned(data.iter().flat_map(|x| x.to_le_bytes()).collect())
    }
}

/// Reads a file written by [`save`], checking everything before trusting any of it. Nothing
/// larger than the file itself is ever allocated.
pub(crate) fn load<T: DeserializeOwned>(
    path: &Path,
    kind: Kind,
    model_id: [u8; 32],
) -> Result<Loaded<T>, LoadError> {
    load_with(path, kind, model_id, |bytes| decode_bounded::<T>(&bytes))
}

/// [`load`], with the meta decoded by `decode` from its bytes, which it may keep (the codes of
/// a million photos are not to be copied out of them).
pub(crate) fn load_with<T>(
    path: &Path,
    kind: Kind,
    model_id: [u8; 32],
    decode: impl FnOnce(Vec<u8>) -> Result<T, String>,
) -> Result<Loaded<T>, LoadError> {
    let loaded = load_migrating(path, kind, model_id, None, |_, bytes| decode(bytes))?;
    if loaded.vouched != Vouched::Whole {
        return Err(LoadError::Corrupt("checksum mismatch".into()));
    }
    Ok(loaded)
}

/// [`load`], with the meta decoded by `decode` from the bytes of the version the file has.
/// With `map_from`, vectors of at least that many bytes are mapped rather than read.
fn load_migrating<T>(
    path: &Path,
    kind: Kind,
    model_id: [u8; 32],
    map_from: Option<u64>,
    decode: impl FnOnce(u32, Vec<u8>) -> Result<T, String>,
) -> Result<Loaded<T>, LoadError> {
    let raw = load_raw(path, kind, model_id, map_from)?;
    let meta = decode(raw.version, raw.meta).map_err(LoadError::Corrupt)?;
    Ok(Loaded {
        version: raw.version,
        generation: raw.generation,
        dim: raw.dim,
        meta,
        data: raw.data,
        vouched: raw.vouched,
    })
}

/// The longest folder path [`folder_of`] reads (Linux allows 4,096 bytes).
const MAX_PATH_BYTES: usize = 1 << 16;

/// An index file opened and its header checked (kind, model, and that every size it claims
/// adds up to the file's length), positioned at the start of the meta.
struct Opened {
    r: std::io::BufReader<std::fs::File>,
    version: u32,
    header: Header,
    /// Where the vectors start in the file.
    offset: u64,
}

fn open_checked(path: &Path, kind: Kind, model_id: [u8; 32]) -> Result<Opened, LoadError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LoadError::Missing),
        Err(e) => return Err(LoadError::Io(e)),
    };
    let file_len = file.metadata().map_err(LoadError::Io)?.len();
    let mut r = std::io::BufReader::new(file);
    let version = read_prelude(&mut r)?;
    let mut len = [0u8; 4];
    r.read_exact(&mut len)
        .map_err(|_| LoadError::Corrupt("no header".into()))?;
    let header_len = u32::from_le_bytes(len);
    if header_len > MAX_HEADER {
        return Err(LoadError::Corrupt("header too long".into()));
    }
    let mut header = vec![0u8; header_len as usize];
    r.read_exact(&mut header)
        .map_err(|_| LoadError::Corrupt("header cut short".into()))?;
    let header = decode_header(version, &header)
        .map_err(|e| LoadError::Corrupt(format!("bad header: {e}")))?;
    if header.kind != kind {
        return Err(LoadError::NotOurs);
    }
    if header.model_id != model_id {
        return Err(LoadError::OtherModel { rows: header.rows });
    }
    // Every size the header claims must add up to exactly the bytes the file has.
    let data_len = header
        .rows
        .checked_mul(header.dim as u64)
        .and_then(|n| n.checked_mul(4));
    let expected = data_len
        .and_then(|d| d.checked_add(header.meta_len))
        .and_then(|b| b.checked_add(16 + header_len as u64));
    match expected {
        Some(n) if n == file_len => {}
        Some(n) => {
            return Err(LoadError::Corrupt(format!(
                "{file_len} bytes where the header says {n}"
            )))
        }
        None => return Err(LoadError::Corrupt("impossible sizes in the header".into())),
    }
    Ok(Opened {
        r,
        version,
        header,
        offset: file_len - data_len.unwrap_or(0),
    })
}

/// The folder a vectors file indexes, read from the start of its meta only (the folder is
/// every version's first field): enough to pass over the index of an unrelated folder
/// without reading its vectors. Not checksummed; [`load_vectors`] checks everything.
pub(crate) fn folder_of(path: &Path, model_id: [u8; 32]) -> Result<Vec<u8>, LoadError> {
    let Opened { r, header, .. } = open_checked(path, Kind::Vectors, model_id)?;
    // A path's length as a varint (at most 9 bytes), then the path.
    let want = header.meta_len.min(9 + MAX_PATH_BYTES as u64);
    let mut prefix = Vec::with_capacity(want as usize);
    r.take(want)
        .read_to_end(&mut prefix)
        .map_err(LoadError::Io)?;
    let config = config().with_limit::<{ 2 * MAX_PATH_BYTES }>();
    bincode::serde::decode_from_slice::<Vec<u8>, _>(&prefix, config)
        .map(|(folder, _)| folder)
        .map_err(|e| LoadError::Corrupt(e.to_string()))
}

/// Reads and checks a file, leaving its meta as bytes. With `map_from`, vectors of at least
/// that many bytes in a file whose meta is vouched for are mapped, not read.
fn load_raw(
    path: &Path,
    kind: Kind,
    model_id: [u8; 32],
    map_from: Option<u64>,
) -> Result<Loaded<Vec<u8>>, LoadError> {
    let Opened {
        mut r,
        version,
        header,
        offset,
    } = open_checked(path, kind, model_id)?;
    let mut hasher = blake3::Hasher::new();
    let mut meta = vec![0u8; header.meta_len as usize];
    r.read_exact(&mut meta).map_err(LoadError::Io)?;
    // The meta's hash is the body's hash so far: one pass over it, on every core (the meta of
    // a million photos, or their compact codes, is hundreds of megabytes).
    hasher.update_rayon(&meta);
    let meta_vouched = hasher.finalize().as_bytes() == &header.meta_hash;
    let floats = (header.rows * header.dim as u64) as usize;
    if meta_vouched && map_from.is_some_and(|from| floats as u64 * 4 >= from) {
        let file = r.get_ref().try_clone().ok();
        if let Some(rows) = file.and_then(|f| Rows::map(f, offset, floats)) {
            return Ok(Loaded {
                version,
                generation: header.generation,
                dim: header.dim as usize,
                meta,
                data: rows,
                vouched: Vouched::Mapped,
            });
        }
    }
    let mut data = Vec::with_capacity(floats);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = floats * 4;
    while left > 0 {
        let n = left.min(buf.len());
        r.read_exact(&mut buf[..n]).map_err(LoadError::Io)?;
        hasher.update(&buf[..n]);
        data.extend(
            buf[..n]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        left -= n;
    }
    let vouched = if hasher.finalize().as_bytes() == &header.body_hash {
        Vouched::Whole
    } else if meta_vouched {
        Vouched::MetaOnly
    } else {
        return Err(LoadError::Corrupt("checksum mismatch".into()));
    };
    Ok(Loaded {
        version,
        generation: header.generation,
        dim: header.dim as usize,
        meta,
        data: data.into(),
        vouched,
    })
}

/// Saves the vectors file of a folder's index.
pub fn save_vectors(path: &Path, model_id: [u8; 32], v: &Vectors) -> std::io::Result<Written> {
    save_vectors_from(path, model_id, v, v)
}

/// Saves the vectors file of the index `listing` says (its entries, failures and pairs; its
/// own rows, if any, are not read) with the rows of `rows`, read a chunk at a time: an update
/// of a large library writes the new file without ever holding its vectors. They are read
/// twice: for the hashes of their blocks, which the meta before them holds, then to be written.
pub(crate) fn save_vectors_from(
    path: &Path,
    model_id: [u8; 32],
    listing: &Vectors,
    rows: &dyn RowSource,
) -> std::io::Result<Written> {
    let meta = MetaToWrite {
        folder: &listing.folder,
        entries: &listing.entries,
        failed: &listing.failed,
        pairs: &listing.pairs,
        blocks: &block_hashes(rows)?,
    };
    let head = Head {
        kind: Kind::Vectors,
        model_id,
        generation: listing.generation,
    };
    save_rows(path, &head, &encode(&meta), rows)
}

/// The hash of each block of [`BLOCK_ROWS`] rows, read a chunk at a time.
fn block_hashes(rows: &dyn RowSource) -> std::io::Result<Vec<[u8; 16]>> {
    use rayon::prelude::*;
    let (n, dim) = (rows.rows(), rows.dim().max(1));
    let mut hashes = Vec::with_capacity(n.div_ceil(BLOCK_ROWS));
    let mut buf = Vec::new();
    for start in (0..n).step_by(SAVE_CHUNK_ROWS) {
        let chunk = rows.read(start..(start + SAVE_CHUNK_ROWS).min(n), &mut buf)?;
        hashes.par_extend(chunk.par_chunks(BLOCK_ROWS * dim).map(block_hash));
    }
    Ok(hashes)
}

/// The hash of one block of vectors, as the meta records it.
fn block_hash(block: &[f32]) -> [u8; 16] {
    // One update of the whole block: a float at a time took the hasher 40 times as long.
    blake3::hash(&le_bytes(block)).as_bytes()[..16]
        .try_into()
        .expect("16 bytes")
}

/// A vectors file as read, and how many of its photos were lost to damaged blocks.
pub struct Salvaged {
    /// What the file holds, less the rows of damaged blocks.
    pub vectors: Vectors,
    /// Photos dropped because their vectors were damaged: the next update embeds them again.
    pub lost: usize,
}

/// Loads and validates the vectors file of a folder's index.
pub fn load_vectors(path: &Path, model_id: [u8; 32], dim: usize) -> Result<Vectors, LoadError> {
    load_vectors_salvaging(path, model_id, dim).map(|s| s.vectors)
}

/// [`load_vectors`], saying how many photos were lost: when the body's hash fails but the
/// meta's holds, the blocks whose hash fails are dropped and the rest is kept. Vectors of
/// [`MAP_FROM_BYTES`] or more (or as [`MAP_FROM_ENV`] says) are mapped, not read.
pub fn load_vectors_salvaging(
    path: &Path,
    model_id: [u8; 32],
    dim: usize,
) -> Result<Salvaged, LoadError> {
    load_vectors_mapping(path, model_id, dim, map_from())
}

/// From how many bytes of vectors an index is mapped: [`MAP_FROM_BYTES`], or as
/// [`MAP_FROM_ENV`] says.
fn map_from() -> u64 {
    crate::env::number(MAP_FROM_ENV).unwrap_or(MAP_FROM_BYTES)
}

/// True when vectors of `floats` floats are a large index's: mapped from its file, never
/// held in memory whole.
pub(crate) fn is_large(floats: usize) -> bool {
    (floats as u64).saturating_mul(4) >= map_from()
}

/// The last `floats` floats of `path`, just saved by [`save_vectors_from`], mapped when they
/// are as large as an opened index's would be: after an update of a large library the process
/// holds what a fresh start would. `None` when they are smaller or cannot be mapped.
pub(crate) fn map_saved(path: &Path, floats: usize) -> Option<Rows> {
    map_saved_from(path, floats, map_from())
}

/// [`map_saved`], mapping vectors of `map_from` bytes or more.
pub(crate) fn map_saved_from(path: &Path, floats: usize, map_from: u64) -> Option<Rows> {
    if (floats as u64) * 4 < map_from {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    let offset = file.metadata().ok()?.len().checked_sub(floats as u64 * 4)?;
    // Just written from these very rows: nothing to check on them.
    Rows::map(file, offset, floats).map(Rows::vouched_for)
}

/// [`load_vectors_salvaging`], mapping vectors of `map_from` bytes or more.
fn load_vectors_mapping(
    path: &Path,
    model_id: [u8; 32],
    dim: usize,
    map_from: u64,
) -> Result<Salvaged, LoadError> {
    let loaded = load_migrating(path, Kind::Vectors, model_id, Some(map_from), |v, meta| {
        decode_meta(v, &meta)
    })?;
    if loaded.dim != dim {
        return Err(LoadError::OtherModel {
            rows: loaded.data.len() as u64 / loaded.dim.max(1) as u64,
        });
    }
    let meta = loaded.meta;
    let mut v = Vectors {
        folder: meta.folder,
        dim: dim as u32,
        generation: loaded.generation,
        entries: meta.entries,
        data: loaded.data,
        failed: meta.failed,
        pairs: meta.pairs,
    };
    let mut lost = 0;
    match loaded.vouched {
        Vouched::Whole => v.validate(),
        Vouched::MetaOnly => {
            lost = drop_damaged_blocks(&mut v, &meta.blocks)?;
            v.validate()
        }
        Vouched::Mapped => {
            v.data = std::mem::take(&mut v.data).expecting(meta.blocks);
            v.validate_entries()
        }
    }
    .map_err(LoadError::Corrupt)?;
    Ok(Salvaged { vectors: v, lost })
}

/// For vectors mapped rather than read when they were loaded (see [`Vouched::Mapped`]): the
/// same vectors less the rows of their damaged blocks, with how many were dropped; `None` when
/// every block is intact (they are checked once).
pub(crate) fn check_mapped_blocks(v: &Vectors) -> std::io::Result<Option<(Vectors, usize)>> {
    let damaged = v
        .data
        .damaged_blocks(BLOCK_ROWS * v.dim as usize, block_hash)?;
    if damaged.is_empty() {
        return Ok(None);
    }
    let mut kept = v.clone();
    let lost = keep_blocks(&mut kept, |b| damaged.binary_search(&b).is_err());
    Ok(Some((kept, lost)))
}

/// Drops the rows of every block whose hash is not the one recorded, returning how many.
fn drop_damaged_blocks(v: &mut Vectors, recorded: &[[u8; 16]]) -> Result<usize, LoadError> {
    let dim = v.dim as usize;
    if v.data.len() != v.entries.len() * dim {
        return Err(LoadError::Corrupt(
            "the vector block does not match the entries".into(),
        ));
    }
    let now = block_hashes(&*v).map_err(LoadError::Io)?;
    if now.len() != recorded.len() {
        return Err(LoadError::Corrupt("checksum mismatch".into()));
    }
    let intact: Vec<bool> = now.iter().zip(recorded).map(|(a, b)| a == b).collect();
    Ok(keep_blocks(v, |b| intact[b]))
}

/// Keeps the rows of the blocks `intact` says are, dropping the others; returns how many
/// were dropped.
fn keep_blocks(v: &mut Vectors, intact: impl Fn(usize) -> bool) -> usize {
    let dim = v.dim as usize;
    let before = v.entries.len();
    let data = std::mem::take(&mut v.data);
    let entries = std::mem::take(&mut v.entries);
    let mut kept = Vec::new();
    for (row, e) in entries.into_iter().enumerate() {
        if intact(row / BLOCK_ROWS) {
            v.entries.push(e);
            kept.extend_from_slice(&data[row * dim..(row + 1) * dim]);
        }
    }
    v.data = kept.into();
    before - v.entries.len()
}

/// A generation no other saved content has: the clock and the process, hashed.
pub(crate) fn fresh_generation() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut h = blake3::Hasher::new();
    h.update(&now.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    h.update(
        &COUNTER
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_le_bytes(),
    );
    let g = u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"));
    g.max(1)
}

/// For tests that craft hostile files: after the meta bytes of a file made by [`save`] were
/// edited (even to another length), makes its header agree again (meta length, body hash), so
/// that only the decoder's own checks stand in the way.
#[cfg(feature = "test-support")]
pub fn reseal(bytes: &mut Vec<u8>) -> Option<()> {
    let header_len = u32::from_le_bytes(bytes.get(12..16)?.try_into().ok()?) as usize;
    let mut header = decode_header(FORMAT_VERSION, bytes.get(16..16 + header_len)?).ok()?;
    let data_len = (header.rows as usize)
        .checked_mul(header.dim as usize)?
        .checked_mul(4)?;
    let body = bytes.get(16 + header_len..)?.to_vec();
    header.meta_len = body.len().checked_sub(data_len)? as u64;
    header.body_hash = *blake3::hash(&body).as_bytes();
    header.meta_hash = *blake3::hash(&body[..header.meta_len as usize]).as_bytes();
    let header = encode(&header);
    bytes.truncate(12);
    bytes.extend((header.len() as u32).to_le_bytes());
    bytes.extend(header);
    bytes.extend(body);
    Some(())
}

/// For tests of migrations: turns a file made by [`save`] into one of an older `version`
/// (2 or 3): the version in its prelude, and its header in that version's layout. Its meta
/// must already be in that version's layout.
#[cfg(any(test, feature = "test-support"))]
pub fn as_version(bytes: &mut Vec<u8>, version: u32) -> Option<()> {
    let header_len = u32::from_le_bytes(bytes.get(12..16)?.try_into().ok()?) as usize;
    let h = decode_header(FORMAT_VERSION, bytes.get(16..16 + header_len)?).ok()?;
    let old = encode(&HeaderV3 {
        kind: h.kind,
        model_id: h.model_id,
        generation: h.generation,
        dim: h.dim,
        rows: h.rows,
        meta_len: h.meta_len,
        body_hash: h.body_hash,
    });
    let body = bytes.get(16 + header_len..)?.to_vec();
    bytes.truncate(8);
    bytes.extend(version.to_le_bytes());
    bytes.extend((old.len() as u32).to_le_bytes());
    bytes.extend(old);
    bytes.extend(body);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`sample`] with `rows` entries, named by their row.
    fn rows_of_sample(rows: usize) -> Vectors {
        let mut v = sample();
        v.entries = (0..rows)
            .map(|i| Entry {
                path: format!("{i}.jpg").into_bytes(),
                ..sample().entries[0].clone()
            })
            .collect();
        v.data = (0..rows).flat_map(|_| [0.6f32, 0.8]).collect();
        v
    }

    fn sample() -> Vectors {
        Vectors {
            folder: b"/photos".to_vec(),
            dim: 2,
            generation: 7,
            entries: vec![Entry {
                path: vec![b'a', 0xff, b'.', b'j', b'p', b'g'],
                fingerprint: Fingerprint {
                    size: 10,
                    mtime_ns: 5,
                },
                content: Some(crate::index::content_key::key_of_bytes(b"ten bytes!")),
                identity: Identity {
                    inode: 3,
                    ctime_ns: 4,
                    dev: 5,
                },
            }],
            data: vec![0.6, 0.8].into(),
            failed: vec![],
            pairs: vec![0.1, 0.2],
        }
    }

    #[test]
    fn round_trip_and_every_kind_of_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.bin");
        let id = [1u8; 32];
        assert!(matches!(load_vectors(&p, id, 2), Err(LoadError::Missing)));
        save_vectors(&p, id, &sample()).unwrap();
        assert_eq!(load_vectors(&p, id, 2).unwrap(), sample());
        assert!(matches!(
            load_vectors(&p, [2; 32], 2),
            Err(LoadError::OtherModel { rows: 1 })
        ));
        assert!(matches!(
            load::<Meta>(&p, Kind::Graph, id),
            Err(LoadError::NotOurs)
        ));

        let good = std::fs::read(&p).unwrap();
        std::fs::write(&p, &good[..good.len() - 3]).unwrap();
        assert!(matches!(
            load_vectors(&p, id, 2),
            Err(LoadError::Corrupt(_))
        ));
        // A flipped byte in the meta: nothing can be trusted.
        let mut flipped = good.clone();
        let at = good.windows(7).position(|w| w == b"/photos").unwrap();
        flipped[at + 2] ^= 0x40;
        std::fs::write(&p, &flipped).unwrap();
        assert!(matches!(
            load_vectors(&p, id, 2),
            Err(LoadError::Corrupt(_))
        ));
        // A flipped byte among the vectors: its block is lost, the rest is kept.
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 0x40;
        std::fs::write(&p, &flipped).unwrap();
        let salvaged = load_vectors_salvaging(&p, id, 2).unwrap();
        assert_eq!((salvaged.lost, salvaged.vectors.len()), (1, 0));
        let mut old = good.clone();
        old[8..12].copy_from_slice(&0u32.to_le_bytes());
        std::fs::write(&p, &old).unwrap();
        let err = load_vectors(&p, id, 2).unwrap_err();
        assert!(err.to_string().contains("format version 0"), "{err}");
        std::fs::write(&p, b"").unwrap();
        assert!(matches!(load_vectors(&p, id, 2), Err(LoadError::NotOurs)));
    }

    #[test]
    fn a_version_3_index_is_read_with_its_identities_part_known_and_its_failures_retried() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.bin");
        let id = [1u8; 32];
        let new = sample();
        let e = &new.entries[0];
        let old = MetaOf {
            folder: new.folder.clone(),
            entries: vec![EntryV3 {
                path: e.path.clone(),
                fingerprint: e.fingerprint,
                content: e.content,
                inode: 3,
            }],
            failed: vec![FailedV3 {
                path: b"locked.jpg".to_vec(),
                fingerprint: e.fingerprint,
                reason: "cannot read the file: Permission denied".into(),
            }],
            pairs: new.pairs.clone(),
        };
        save(&p, Kind::Vectors, id, 7, 2, &old, &new.data).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        as_version(&mut bytes, 3).unwrap();
        std::fs::write(&p, &bytes).unwrap();

        let read = load_vectors(&p, id, 2).unwrap();
        assert_eq!(
            read.entries[0].identity,
            Identity {
                inode: 3,
                ctime_ns: 0,
                dev: 0
            }
        );
        assert_eq!(read.entries[0].content, e.content);
        assert_eq!(read.failed[0].reason, old.failed[0].reason);
        assert!(!read.failed[0].lasting, "an old failure is tried once more");
    }

    #[test]
    fn a_flipped_byte_among_the_vectors_costs_only_the_rows_of_its_block() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.bin");
        let id = [1u8; 32];
        let rows = 3 * BLOCK_ROWS + 5;
        let v = rows_of_sample(rows);
        save_vectors(&p, id, &v).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        // Row BLOCK_ROWS + 3 sits in the second block.
        let data_start = bytes.len() - rows * 2 * 4;
        bytes[data_start + (BLOCK_ROWS + 3) * 8 + 1] ^= 0x01;
        std::fs::write(&p, &bytes).unwrap();
        let salvaged = load_vectors_salvaging(&p, id, 2).unwrap();
        assert_eq!(salvaged.lost, BLOCK_ROWS);
        let kept = &salvaged.vectors;
        assert_eq!(kept.len(), rows - BLOCK_ROWS);
        assert_eq!(
            kept.entries[BLOCK_ROWS - 1].path,
            format!("{}.jpg", BLOCK_ROWS - 1).as_bytes()
        );
        assert_eq!(
            kept.entries[BLOCK_ROWS].path,
            format!("{}.jpg", 2 * BLOCK_ROWS).as_bytes()
        );
        assert_eq!(kept.row(BLOCK_ROWS), &[0.6, 0.8]);
    }

    #[test]
    fn the_folder_is_read_from_the_start_of_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.bin");
        let id = [1u8; 32];
        let mut v = sample();
        v.entries = (0..2_000)
            .map(|i| Entry {
                path: format!("{i}.jpg").into_bytes(),
                ..sample().entries[0].clone()
            })
            .collect();
        v.data = (0..2_000).flat_map(|_| [0.6, 0.8]).collect();
        save_vectors(&p, id, &v).unwrap();
        assert_eq!(folder_of(&p, id).unwrap(), b"/photos");
        // Damage past the folder is not read (the full load still finds it).
        let mut bytes = std::fs::read(&p).unwrap();
        let in_the_entries = bytes.windows(7).position(|w| w == b"/photos").unwrap() + 300;
        bytes[in_the_entries] ^= 0x40;
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(folder_of(&p, id).unwrap(), b"/photos");
        assert!(load_vectors(&p, id, 2).is_err());
        // Another model, a cut file, a folder length past the meta: not read.
        assert!(matches!(
            folder_of(&p, [2; 32]),
            Err(LoadError::OtherModel { .. })
        ));
        std::fs::write(&p, &bytes[..bytes.len() - 5]).unwrap();
        assert!(folder_of(&p, id).is_err());
        for cut in 0..200 {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            assert!(folder_of(&p, id).is_err());
        }
    }

    #[test]
    fn entries_outside_the_folder_and_bad_vectors_are_refused() {
        for (path, why) in [
            (&b"/etc/passwd"[..], "absolute"),
            (b"a/../../etc/passwd", "`..`"),
            (b"a//b.jpg", "empty path component"),
            (b"", "empty path"),
        ] {
            assert!(check_path(path).unwrap_err().contains(why), "{path:?}");
        }
        assert!(check_path("sous-dossier/é.jpg".as_bytes()).is_ok());
        assert!(check_vector(&[f32::NAN, 1.0]).is_err());
        assert!(check_vector(&[3.0, 4.0]).is_err());
        assert!(check_vector(&[0.6, 0.8]).is_ok());

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.bin");
        let mut bad = sample();
        bad.entries[0].path = b"/etc/passwd".to_vec();
        save_vectors(&p, [1; 32], &bad).unwrap();
        let err = load_vectors(&p, [1; 32], 2).unwrap_err();
        assert!(err.to_string().contains("absolute path"), "{err}");
        let mut bad = sample();
        bad.data = vec![f32::NAN, 0.0].into();
        save_vectors(&p, [1; 32], &bad).unwrap();
        let err = load_vectors(&p, [1; 32], 2).unwrap_err();
        assert!(err.to_string().contains("NaN"), "{err}");
    }

    #[test]
    fn a_large_index_round_trips() {
        // Its entries take more memory than their bytes on disk: the decode limit must allow it.
        let mut v = sample();
        v.entries = (0..10_000)
            .map(|i| Entry {
                path: format!("Album 3/n01234567/n01234567_{i:05}_burst_frame.jpg").into_bytes(),
                fingerprint: Fingerprint {
                    size: i,
                    mtime_ns: 5,
                },
                content: Some(crate::index::content_key::key_of_bytes(&i.to_le_bytes())),
                identity: Identity {
                    inode: i + 1,
                    ctime_ns: i as i128,
                    dev: 9,
                },
            })
            .collect();
        v.data = (0..10_000).flat_map(|_| [0.6, 0.8]).collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.bin");
        save_vectors(&p, [1; 32], &v).unwrap();
        assert_eq!(load_vectors(&p, [1; 32], 2).unwrap(), v);
    }

    #[test]
    fn large_vectors_are_mapped_aligned_and_their_blocks_checked_before_use() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.bin");
        let (dim, rows) = (2usize, 200usize);
        let v = rows_of_sample(rows);
        save_vectors(&p, [1; 32], &v).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(
            (bytes.len() - rows * dim * 4) % 64,
            0,
            "the vectors start aligned"
        );

        let mapped = load_vectors_mapping(&p, [1; 32], dim, 0).unwrap().vectors;
        assert!(mapped.data.is_mapped());
        assert_eq!(mapped, v);
        assert!(check_mapped_blocks(&mapped).unwrap().is_none());
        let read = load_vectors_mapping(&p, [1; 32], dim, u64::MAX)
            .unwrap()
            .vectors;
        assert!(!read.data.is_mapped());

        // A flipped byte in the third block: opening does not see it, the check does.
        let mut damaged = bytes.clone();
        let at = damaged.len() - (rows - 2 * BLOCK_ROWS) * dim * 4 + 1;
        damaged[at] ^= 0x40;
        std::fs::write(&p, &damaged).unwrap();
        let opened = load_vectors_mapping(&p, [1; 32], dim, 0).unwrap();
        assert_eq!((opened.lost, opened.vectors.len()), (0, rows));
        let (kept, lost) = check_mapped_blocks(&opened.vectors).unwrap().unwrap();
        assert_eq!(lost, BLOCK_ROWS);
        assert_eq!(kept.len(), rows - BLOCK_ROWS);
        assert!(!kept.data.is_mapped());
        assert_eq!(kept.entries[2 * BLOCK_ROWS].path, b"192.jpg");

        // Saved from memory, then mapped: the same rows, vouched for without a check.
        save_vectors(&p, [1; 32], &v).unwrap();
        let saved = Vectors {
            data: map_saved_from(&p, v.data.len(), 0).unwrap(),
            ..v.clone()
        };
        assert!(saved.data.is_mapped());
        assert_eq!(saved, v);
        assert!(check_mapped_blocks(&saved).unwrap().is_none());
        assert!(map_saved_from(&p, v.data.len(), u64::MAX).is_none());

        // The padding after the header is zeros, or the file is not ours.
        let mut padded = bytes;
        let header_len = u32::from_le_bytes(padded[12..16].try_into().unwrap()) as usize;
        padded[16 + header_len - 1] = 1;
        std::fs::write(&p, &padded).unwrap();
        assert!(matches!(
            load_vectors_mapping(&p, [1; 32], dim, 0),
            Err(LoadError::Corrupt(_))
        ));
    }
}
