//! One indexed folder: its index as loaded from disk, and the answers to queries.
//!
//! A `Library` is shared between threads: one can run [`Library::update`] (see `update.rs`)
//! while others call [`Library::search`], which always sees the last saved state of the index;
//! [`Library::reload_if_changed`] (`reload.rs`) follows what another process saved.

mod browse;
mod decisions;
mod duplicates;
mod mounts;
mod moves;
mod reload;
mod resume;
mod speedups;
mod update;

pub use browse::{browse, Request, Scope, Tile};
pub use decisions::{Decision, Decisions, Verdict};
pub use duplicates::{DuplicateGroup, KeeperRule, Pairs, Prefer};
pub use update::{run_update, UpdateOptions};

use crate::embed::preprocess;
use crate::embed::{Model, ModelError};
use crate::error::{Error, Result};
use crate::index::content_key::ContentKey;
use crate::index::format::{self, Kind, LoadError, Vectors};
use crate::index::journal;
use crate::index::paths::PathIndex;
use crate::index::scan::{Fingerprint, Identity};
use crate::index::store::{path_bytes, path_from_bytes, Store};
use crate::progress::Skipped;
use crate::query::compact::Codes;
use crate::query::nearest::{self, Graph};
use crate::query::projection::Projection;
use rayon::prelude::*;
use resume::Pending;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// The vectors file in an index folder (the index as of its last full save).
pub(crate) const VECTORS_FILE: &str = "vectors.bin";
/// The HNSW graph file in an index folder (large collections only).
pub(crate) const GRAPH_FILE: &str = "graph.bin";
/// The compact codes file in an index folder (large collections only).
pub(crate) const CODES_FILE: &str = "codes.bin";

/// [`crate::index::rows::Rows::gather`], a row that cannot be read scoring as nothing (zeros):
/// the next update checks the file.
pub(crate) fn gather_or_nothing(
    data: &crate::index::rows::Rows,
    rows: &[usize],
    dim: usize,
) -> Vec<f32> {
    data.gather(rows, dim)
        .unwrap_or_else(|_| vec![0.0; rows.len() * dim])
}

/// Hands the pages of mapped rows back to the kernel when dropped (see
/// [`crate::index::rows::Rows::release`]).
struct Release<'a>(&'a crate::index::rows::Rows);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// One search result.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    /// Absolute path of the image.
    pub path: PathBuf,
    /// Cosine similarity to the query, 1.0 for the same picture.
    pub similarity: f32,
    /// False when the file is no longer there (deleted, or on a drive that is not mounted).
    pub exists: bool,
    /// The similarity in words (where the model's thresholds were measured).
    pub label: Option<crate::labels::Label>,
    /// The share of this library's pairs of photos that are less similar, in percent.
    pub percentile: Option<f32>,
    /// A byte-for-byte copy of the query photo (set by [`crate::library::browse()`]).
    pub identical: bool,
}

/// A photo as the duplicates view shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Photo {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// Width and height, from the file's header (`None` if it does not say).
    pub pixels: Option<(u32, u32)>,
    /// File size, as indexed (what removing it frees).
    pub bytes: u64,
    /// Modification time, in nanoseconds since 1970.
    pub modified_ns: i128,
    /// When the camera took it ("YYYY-MM-DD HH:MM", from its EXIF block), if it says.
    pub taken: Option<String>,
    /// What the file held when it was indexed.
    pub content: Option<ContentKey>,
}

impl Photo {
    /// Its date as the hover card shows it: when the camera took it, else the file's date
    /// (UTC), "YYYY-MM-DD HH:MM" either way, so dates compare as text.
    pub fn date(&self) -> String {
        self.taken.clone().unwrap_or_else(|| {
            crate::decode::details::utc_date(self.modified_ns.div_euclid(1_000_000_000) as i64)
        })
    }

    /// True when both files held the same bytes when they were indexed.
    pub fn identical_to(&self, other: &Photo) -> bool {
        self.content.is_some() && self.content == other.content
    }
}

/// How a query photo is compared with the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryOptions {
    /// Also compare the photo turned by 90°, 180° and 270° (three more network runs a query).
    pub rotations: bool,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self { rotations: true }
    }
}

/// What opening the index found on disk.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexStatus {
    /// Nothing saved yet for this folder.
    Missing,
    /// A saved index was read and is in use.
    Loaded,
    /// A saved index was read and is in use, less the photos of its damaged blocks: an update
    /// embeds them again.
    Damaged {
        /// The index file.
        file: PathBuf,
        /// Photos whose vectors were dropped.
        lost: usize,
    },
    /// A saved index that cannot be used (damaged, another format or model): it will be rebuilt.
    Unusable {
        /// The index file that could not be used.
        file: PathBuf,
        /// Why, in words for the person.
        reason: String,
    },
}

/// The state queries read: replaced as a whole, never edited in place.
pub(crate) struct Snapshot {
    pub(crate) vectors: Arc<Vectors>,
    pub(crate) speedups: Speedups,
    rows: Arc<PathIndex>,
    /// Photos of an interrupted run, not in `vectors` yet (see `resume.rs`).
    pub(crate) pending: Option<Arc<Pending>>,
}

/// What makes a search of a large library fast, each made from one generation of its vectors.
#[derive(Clone, Default)]
pub(crate) struct Speedups {
    pub(crate) graph: Option<Arc<Graph>>,
    pub(crate) codes: Option<Arc<Codes>>,
}

impl Snapshot {
    /// The state of `vectors`, with the `speedups` made from them (others are dropped).
    pub(crate) fn new(vectors: Vectors, speedups: Speedups) -> Self {
        let rows = PathIndex::of(&vectors.entries);
        Self::of(Arc::new(vectors), Arc::new(rows), speedups)
    }

    /// This state of the index with other `speedups` (those not made from it are dropped).
    pub(crate) fn with(&self, speedups: Speedups) -> Self {
        Self {
            pending: self.pending.clone(),
            ..Self::of(self.vectors.clone(), self.rows.clone(), speedups)
        }
    }

    /// This state with the photos of an interrupted run still to take up.
    fn with_pending(self, pending: Option<Arc<Pending>>) -> Self {
        Self { pending, ..self }
    }

    fn of(vectors: Arc<Vectors>, rows: Arc<PathIndex>, speedups: Speedups) -> Self {
        let (generation, n) = (vectors.generation, vectors.len());
        let speedups = Speedups {
            graph: speedups
                .graph
                .filter(|g| g.generation == generation && g.len() == n),
            codes: speedups
                .codes
                .filter(|c| c.generation == generation && c.len() == n),
        };
        Self {
            vectors,
            speedups,
            rows,
            pending: None,
        }
    }
}

/// Identity of the index files as last read or written by this process, so an update can tell
/// that another process saved a newer index meanwhile.
pub(crate) type Stamp = [Option<(u64, u64, i128)>; 3];

pub(crate) fn stamp(dir: &Path) -> Stamp {
    let of = |name: &str| {
        let meta = std::fs::metadata(dir.join(name)).ok()?;
        use std::os::unix::fs::MetadataExt;
        Some((meta.ino(), meta.len(), Fingerprint::of(&meta).mtime_ns))
    };
    [of(VECTORS_FILE), of(journal::FILE), of(CODES_FILE)]
}

/// Settings of a library that tests change.
#[derive(Clone, Debug)]
pub(crate) struct Tuning {
    pub graph_threshold: usize,
    pub compact_threshold: usize,
    /// The first checkpoint comes soon, so a new folder is searchable early; later ones at a
    /// steadier pace.
    pub first_checkpoint: Duration,
    pub checkpoint_every: Duration,
    /// From how many photos an index is large: its checkpoints only log (see
    /// `Run::checkpoint`). `None`: from the size at which an index is mapped.
    pub large_from: Option<usize>,
}

/// Environment variable: checkpoint interval in milliseconds (for tests that kill a run).
pub const CHECKPOINT_ENV: &str = "PHOTO_SIM_CHECKPOINT_MS";
/// Environment variable: the size from which compact codes are made and searched, instead of
/// [`nearest::COMPACT_THRESHOLD`] (for tests of the binary).
pub const COMPACT_ENV: &str = "PHOTO_SIM_COMPACT_FROM";

impl Default for Tuning {
    fn default() -> Self {
        let from_env = crate::env::number(CHECKPOINT_ENV).map(Duration::from_millis);
        Self {
            graph_threshold: nearest::GRAPH_THRESHOLD,
            compact_threshold: crate::env::number(COMPACT_ENV)
                .unwrap_or(nearest::COMPACT_THRESHOLD),
            first_checkpoint: from_env.unwrap_or(Duration::from_secs(3)),
            checkpoint_every: from_env.unwrap_or(Duration::from_secs(10)),
            large_from: None,
        }
    }
}

/// One folder's index, open: the vectors as last saved (searched by any number of threads at
/// once) and the means to bring it up to date. Cheap to query, so a face opens it once and
/// shares it.
pub struct Library {
    pub(crate) root: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) model: Arc<Model>,
    /// The subspace of the compact codes ([`Projection::for_model`]); `None`: full-length codes.
    pub(crate) projection: Option<Arc<Projection>>,
    snapshot: RwLock<Arc<Snapshot>>,
    /// One update at a time in this process (the index lock keeps other processes out).
    pub(crate) updating: Mutex<Option<Stamp>>,
    pub(crate) tuning: Tuning,
    status: IndexStatus,
    notices: Vec<String>,
    /// The pairs the duplicates were last grouped from, while the index is unchanged.
    pair_cache: duplicates::PairsCache,
}

/// An index as read from disk, with what the person should hear about it.
pub(crate) struct OnDisk {
    pub vectors: Vectors,
    pub speedups: Speedups,
    /// The photos of an interrupted run's log, when it was too large to apply.
    pub pending: Option<Arc<Pending>>,
    pub status: IndexStatus,
    pub notices: Vec<String>,
    pub stamp: Stamp,
}

impl OnDisk {
    /// The state of the index read, for queries.
    pub fn snapshot(&mut self) -> Snapshot {
        let vectors = std::mem::take(&mut self.vectors);
        let speedups = std::mem::take(&mut self.speedups);
        Snapshot::new(vectors, speedups).with_pending(self.pending.take())
    }
}

/// What the person hears when damaged blocks of the index file cost `lost` photos.
pub(crate) fn damaged_words(file: &Path, lost: usize, kept: usize) -> String {
    format!(
        "Part of the index file was damaged ({}): the vectors of {lost} photos were dropped and will be embedded again; the other {kept} are kept.",
        file.display()
    )
}

/// Reads the index in `dir`: the vectors file, the checkpoints logged after it (when `replay`
/// says so of the saved index: applied, or kept for the next update when the index would be
/// `large` with them), the graph and the compact codes (in the subspace of `projection`).
/// Anything unusable is reported in the notices and the index starts afresh from what remains.
fn read_index(
    dir: &Path,
    root: &Path,
    model: &Model,
    projection: Option<&Projection>,
    replay: impl FnOnce(&Vectors) -> bool,
    large: impl Fn(usize) -> bool,
) -> OnDisk {
    let stamp = stamp(dir);
    let file = dir.join(VECTORS_FILE);
    let mut notices = Vec::new();
    let fresh = || Vectors::empty(path_bytes(root).into_owned(), model.dim);
    let (mut vectors, status) = match format::load_vectors_salvaging(&file, model.id, model.dim) {
        Ok(salvaged) => {
            if salvaged.lost == 0 {
                (salvaged.vectors, IndexStatus::Loaded)
            } else {
                notices.push(damaged_words(&file, salvaged.lost, salvaged.vectors.len()));
                let lost = salvaged.lost;
                (salvaged.vectors, IndexStatus::Damaged { file, lost })
            }
        }
        Err(LoadError::Missing) => (fresh(), IndexStatus::Missing),
        Err(err) => {
            let reason = err.to_string();
            notices.push(match err {
                LoadError::OtherModel { rows } => {
                    format!("The model changed: re-embedding {rows} photos.")
                }
                _ => format!("{reason} ({}); rebuilding the index.", file.display()),
            });
            (fresh(), IndexStatus::Unusable { file, reason })
        }
    };
    let pending = match replay(&vectors) {
        true => take_up_log(dir, model, &mut vectors, large, &mut notices),
        false => None,
    };
    let graph = match format::load::<Graph>(&dir.join(GRAPH_FILE), Kind::Graph, model.id) {
        Ok(g) if g.generation == vectors.generation && g.meta.is_valid_for(vectors.len()) => {
            Some(Arc::new(g.meta))
        }
        Ok(_) | Err(LoadError::Missing) => None,
        Err(err) => {
            notices.push(format!(
                "Nearest-neighbour graph not used ({err}); it will be rebuilt."
            ));
            None
        }
    };
    let codes = match format::load_with(
        &dir.join(CODES_FILE),
        Kind::Codes,
        model.id,
        Codes::from_meta,
    ) {
        Ok(c) if c.meta.fits(vectors.len(), projection, model.dim) => Some(Arc::new(c.meta)),
        Ok(_) | Err(LoadError::Missing) => None,
        Err(err) => {
            notices.push(format!(
                "Compact codes not used ({err}); they will be made again."
            ));
            None
        }
    };
    OnDisk {
        vectors,
        speedups: Speedups { graph, codes },
        pending,
        status,
        notices,
        stamp,
    }
}

/// The checkpoint log of an interrupted run: applied to `vectors`, or, when they would be
/// `large` with it, left in the log and returned for the next update to take up (see
/// `resume.rs`).
fn take_up_log(
    dir: &Path,
    model: &Model,
    vectors: &mut Vectors,
    large: impl Fn(usize) -> bool,
    notices: &mut Vec<String>,
) -> Option<Arc<Pending>> {
    let (id, generation, dim) = (model.id, vectors.generation, model.dim);
    let not_used = |err: LoadError| {
        format!("Checkpoints not used ({err}); their photos will be embedded again.")
    };
    let not_complete = |why: &str| {
        format!("The last checkpoint of that run was not complete ({why}); its photos will be embedded again.")
    };
    let mut logged = match journal::read_logged(dir, id, generation, dim) {
        Ok(logged) => logged,
        Err(LoadError::Missing) => return None,
        Err(err) => {
            notices.push(not_used(err));
            return None;
        }
    };
    let stopped = logged.stopped.take();
    let pending = Pending::of(logged);
    if large(vectors.len() + pending.vectors()) {
        notices.push(format!(
            "Found {} photos in the checkpoints of an interrupted run: the next update adds them without embedding them again.",
            pending.vectors()
        ));
        notices.extend(stopped.as_deref().map(not_complete));
        return Some(Arc::new(pending));
    }
    // Small enough to hold: read again with the vectors.
    match journal::read(dir, id, generation, dim) {
        Ok(replay) => {
            let n = replay.changes.len();
            journal::apply(vectors, replay.changes);
            notices.push(format!(
                "Recovered {n} photos from the checkpoints of an interrupted run."
            ));
            notices.extend(replay.stopped.as_deref().map(not_complete));
        }
        Err(LoadError::Missing) => {}
        Err(err) => notices.push(not_used(err)),
    }
    None
}

/// `folder` as the engine names it (its canonical path), or why it cannot be indexed: it is
/// gone, not a folder, or unreadable. Cheap: a caller can ask before leaving the folder it has
/// open.
pub fn folder_root(folder: &Path) -> Result<PathBuf> {
    let unreadable = |cause| Error::FolderUnreadable {
        path: folder.to_path_buf(),
        cause,
    };
    let root = folder.canonicalize().map_err(unreadable)?;
    if !root.is_dir() {
        return Err(Error::NotAFolder(root));
    }
    std::fs::read_dir(&root).map_err(unreadable)?;
    Ok(root)
}

impl Library {
    /// Opens the index of `folder` (creating nothing on disk yet). An unreadable index is
    /// reported in [`Library::notices`] and [`Library::status`]; the next update rebuilds it.
    pub fn open(folder: &Path, store: &Store, model: Arc<Model>) -> Result<Self> {
        let root = folder_root(folder)?;
        let dir = store.index_dir(&root);
        // Temp files of a save that was killed: only a writer would leave them, and none is
        // writing if the lock is free.
        if dir.is_dir() {
            if let Some(_lock) = crate::index::lock::IndexLock::try_now(&dir) {
                crate::index::store::remove_temp_files(&dir);
            }
        }
        let projection = Projection::for_model(&model).map(Arc::new);
        let nothing = Vectors::empty(path_bytes(&root).into_owned(), model.dim);
        let mut lib = Self {
            root,
            dir,
            model,
            projection,
            snapshot: RwLock::new(Arc::new(Snapshot::new(nothing, Speedups::default()))),
            updating: Mutex::new(None),
            tuning: Tuning::default(),
            status: IndexStatus::Missing,
            notices: Vec::new(),
            pair_cache: duplicates::PairsCache::default(),
        };
        lib.read_from_disk();
        Ok(lib)
    }

    /// Reads the index from disk as opening does: the checkpoint log of an interrupted run is
    /// applied, or kept for the next update when the index is large with it.
    fn read_from_disk(&mut self) {
        let mut disk = self.read_disk(|_| true);
        *self.snapshot.get_mut().expect("snapshot lock") = Arc::new(disk.snapshot());
        *self.updating.get_mut().expect("update lock") = Some(disk.stamp);
        self.status = disk.status;
        self.notices = disk.notices;
    }

    /// Changes the size from which the HNSW graph is built and used (tests use a small one).
    pub fn with_graph_threshold(mut self, threshold: usize) -> Self {
        self.tuning.graph_threshold = threshold;
        self
    }

    /// Changes how often a run saves a checkpoint (tests make it every file).
    pub fn with_checkpoint_every(mut self, every: Duration) -> Self {
        self.tuning.first_checkpoint = every;
        self.tuning.checkpoint_every = every;
        self
    }

    /// Changes from how many photos an index counts as large, its checkpoints logging their
    /// photos without letting queries see them until the run saves (tests use a small one).
    pub fn with_large_from(mut self, photos: usize) -> Self {
        self.tuning.large_from = Some(photos);
        // What opening did with a checkpoint log depends on it.
        self.read_from_disk();
        self
    }

    /// This library's index as on disk (see [`read_index`]), its checkpoint log replayed when
    /// `replay` says so of the saved index.
    pub(crate) fn read_disk(&self, replay: impl FnOnce(&Vectors) -> bool) -> OnDisk {
        read_index(
            &self.dir,
            &self.root,
            &self.model,
            self.projection.as_deref(),
            replay,
            |rows| self.is_large(rows, self.model.dim),
        )
    }

    /// True when an index of `rows` rows of `dim` is large (see [`Library::with_large_from`]).
    pub(crate) fn is_large(&self, rows: usize, dim: usize) -> bool {
        match self.tuning.large_from {
            Some(photos) => rows >= photos,
            None => format::is_large(rows * dim),
        }
    }

    /// The folder, as an absolute canonical path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where this folder's index files are.
    pub fn index_dir(&self) -> &Path {
        &self.dir
    }

    /// Problems met while opening the index, for the person to read.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// What opening found on disk: no index, a usable one, or one that must be rebuilt.
    pub fn status(&self) -> &IndexStatus {
        &self.status
    }

    /// Images in the index now.
    pub fn len(&self) -> usize {
        self.current().vectors.len()
    }

    /// True when nothing is indexed yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes the size from which compact codes are made and searched (tests use a small one).
    pub fn with_compact_threshold(mut self, threshold: usize) -> Self {
        self.tuning.compact_threshold = threshold;
        self
    }

    /// True when queries use the HNSW graph rather than the exact scan.
    pub fn uses_graph(&self) -> bool {
        let snap = self.current();
        snap.speedups.graph.is_some() && snap.vectors.len() >= self.tuning.graph_threshold
    }

    /// True when queries take their candidates from the compact codes (and the graph is not
    /// used).
    pub fn uses_codes(&self) -> bool {
        let snap = self.current();
        snap.speedups.codes.is_some()
            && snap.vectors.len() >= self.tuning.compact_threshold
            && !self.uses_graph()
    }

    /// Files the index could not take, with the reason, as of the last update.
    pub fn skipped(&self) -> Vec<Skipped> {
        self.current()
            .vectors
            .failed
            .iter()
            .map(|f| self.skip_of(&f.path, &f.reason))
            .collect()
    }

    /// The model this library embeds with.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    pub(crate) fn current(&self) -> Arc<Snapshot> {
        self.snapshot.read().expect("snapshot lock").clone()
    }

    pub(crate) fn publish(&self, snapshot: Snapshot) {
        *self.snapshot.write().expect("snapshot lock") = Arc::new(snapshot);
    }

    pub(crate) fn skip_of(&self, rel: &[u8], reason: &str) -> Skipped {
        Skipped {
            path: self.root.join(path_from_bytes(rel)),
            reason: reason.to_string(),
        }
    }

    /// The snapshot and the row of `path` (absolute, canonical) when it is indexed and
    /// unchanged since; an error when its metadata cannot be read.
    fn unchanged_row(&self, path: &Path) -> Result<Option<(Arc<Snapshot>, usize)>> {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return Ok(None);
        };
        let snap = self.current();
        let Some(row) = snap
            .rows
            .get(&snap.vectors.entries, path_bytes(rel).as_ref())
        else {
            return Ok(None);
        };
        let meta = std::fs::metadata(path).map_err(|e| Error::Image {
            path: path.to_path_buf(),
            cause: e.into(),
        })?;
        let entry = &snap.vectors.entries[row];
        let unchanged = entry.fingerprint == Fingerprint::of(&meta)
            && !entry.identity.may_differ(&Identity::of(&meta));
        Ok(unchanged.then_some((snap, row)))
    }

    /// The stored vector of `path` (canonical) when it is indexed and unchanged since.
    fn stored_vector(&self, path: &Path) -> Result<Option<Vec<f32>>> {
        Ok(self
            .unchanged_row(path)?
            .map(|(snap, row)| snap.vectors.row(row).to_vec()))
    }

    /// The content key recorded for `path` (absolute, canonical), when it is indexed and
    /// unchanged since.
    pub fn stored_content(&self, path: &Path) -> Option<ContentKey> {
        let (snap, row) = self.unchanged_row(path).ok()??;
        snap.vectors.entries[row].content
    }

    /// The descriptors of `image` a search compares with: upright (the stored one when the
    /// file is indexed and unchanged), and with `rotations` also turned by 90°, 180° and 270°,
    /// so a photo stored sideways (pixels turned, no EXIF tag) finds its upright copy.
    pub fn query_vectors(&self, image: &Path, options: &QueryOptions) -> Result<Vec<Vec<f32>>> {
        let path = image.canonicalize().map_err(|e| Error::Image {
            path: image.to_path_buf(),
            cause: e.into(),
        })?;
        let stored = self.stored_vector(&path)?;
        if let (Some(v), false) = (&stored, options.rotations) {
            return Ok(vec![v.clone()]);
        }
        let input = preprocess::model_input(&path).map_err(|cause| Error::Image {
            path: path.clone(),
            cause,
        })?;
        let first_turn = u8::from(stored.is_some());
        let turns = if options.rotations { 4 } else { 1 };
        // One photo, several runs: on every core at once.
        let mut vectors = (first_turn..turns)
            .into_par_iter()
            .map(|t| {
                let mut session = self.model.session()?;
                let rotated = preprocess::rotate_input(&input, t);
                if turns - first_turn == 1 {
                    session.embed_now(&rotated)
                } else {
                    session.embed(&rotated)
                }
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        if let Some(v) = stored {
            vectors.insert(0, v);
        }
        Ok(vectors)
    }

    /// The upright descriptor of `image` (see [`Library::query_vectors`]).
    pub fn vector_of(&self, image: &Path) -> Result<Vec<f32>> {
        let no_rotations = QueryOptions { rotations: false };
        Ok(self.query_vectors(image, &no_rotations)?.remove(0))
    }

    /// The `k` indexed images most like `image` (which may be outside the folder), best first,
    /// rotated copies included. When `image` is itself indexed it comes first, with a
    /// similarity of about 1.
    pub fn search(&self, image: &Path, k: usize) -> Result<Vec<Match>> {
        self.search_with(image, k, &QueryOptions::default())
    }

    /// [`Library::search`] with the query options chosen.
    pub fn search_with(
        &self,
        image: &Path,
        k: usize,
        options: &QueryOptions,
    ) -> Result<Vec<Match>> {
        let vectors = self.query_vectors(image, options)?;
        Ok(self.search_vectors(&vectors, k))
    }

    /// The `k` indexed images nearest to a unit vector, best first.
    pub fn search_vector(&self, query: &[f32], k: usize) -> Vec<Match> {
        self.search_vectors(&[query.to_vec()], k)
    }

    /// The `k` indexed images nearest to a photo seen several ways (`queries[0]` upright, the
    /// rest turned; see [`nearest::Turns`]), best first.
    pub fn search_vectors(&self, queries: &[Vec<f32>], k: usize) -> Vec<Match> {
        let snap = self.current();
        let queries: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
        let hits = self.nearest_rows(&snap, &queries, k);
        self.matches(&snap, hits)
    }

    /// The `k` rows nearest to a photo seen several ways: from the graph when there is one and it can
    /// answer that many, else from the compact codes' candidates when there are codes, else by
    /// the exact scan.
    fn nearest_rows(&self, snap: &Snapshot, queries: &[&[f32]], k: usize) -> Vec<(usize, f32)> {
        let v = &snap.vectors;
        let (dim, turns) = (v.dim as usize, self.turns());
        let exact = || nearest::exact_turned(&v.data, dim, queries, &turns, k);
        let n = v.len();
        // Rows read from a mapped file are handed back once they are scored.
        let _release = Release(&v.data);
        match &snap.speedups {
            // A graph whose links were tampered with could index out of bounds: the exact
            // scan is always right, only slower.
            Speedups { graph: Some(g), .. }
                if n >= self.tuning.graph_threshold && k <= nearest::EF_SEARCH =>
            {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    g.search_turned(&v.data, dim, queries, &turns, k)
                }))
                .unwrap_or_else(|_| exact())
            }
            Speedups { codes: Some(c), .. } if n >= self.tuning.compact_threshold => {
                let gather = |rows: &[usize]| gather_or_nothing(&v.data, rows, dim);
                c.nearest(self.projection.as_deref(), &gather, queries, &turns, k)
            }
            _ => exact(),
        }
    }

    /// The `k` indexed photos nearest to a photo seen several ways among those `keep` accepts (`None`:
    /// all), best first, each with its stored vector so the browser can group look-alikes.
    pub(crate) fn nearest_with_vectors(
        &self,
        queries: &[Vec<f32>],
        k: usize,
        keep: Option<&(dyn Fn(&Path) -> bool + Sync)>,
    ) -> Vec<(Match, Vec<f32>)> {
        let snap = self.current();
        let v = &snap.vectors;
        let turns = self.turns();
        let queries: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
        let hits = match keep {
            None => self.nearest_rows(&snap, &queries, k),
            Some(keep) => {
                let _release = Release(&v.data);
                let scored = (0..v.len())
                    .into_par_iter()
                    .filter(|&r| keep(&self.root.join(path_from_bytes(&v.entries[r].path))))
                    .map(|r| (r, turns.score_row(v.row(r), &queries)))
                    .collect();
                nearest::best(scored, k)
            }
        };
        let rows: Vec<usize> = hits.iter().map(|&(r, _)| r).collect();
        // Read, not touched through a map: a large library's matches are scattered over it.
        let dim = v.dim as usize;
        let full = gather_or_nothing(&v.data, &rows, dim);
        self.matches(&snap, hits)
            .into_iter()
            .zip(full.chunks_exact(dim.max(1)))
            .map(|(m, row)| (m, row.to_vec()))
            .collect()
    }

    /// How turned views of a query may score: from the model's near-duplicate level.
    fn turns(&self) -> nearest::Turns {
        self.model
            .thresholds()
            .map_or(nearest::Turns::UNMEASURED, |t| {
                nearest::Turns::from_near(t.near)
            })
    }

    /// Exact-scan results, whatever the collection size (to check the graph against).
    pub fn search_vector_exact(&self, query: &[f32], k: usize) -> Vec<Match> {
        self.search_vectors_exact(&[query.to_vec()], k)
    }

    /// [`Library::search_vectors`] by the exact scan, whatever the collection size.
    pub fn search_vectors_exact(&self, queries: &[Vec<f32>], k: usize) -> Vec<Match> {
        let snap = self.current();
        let v = &snap.vectors;
        let queries: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
        let hits = nearest::exact_turned(&v.data, v.dim as usize, &queries, &self.turns(), k);
        v.data.release();
        self.matches(&snap, hits)
    }

    fn matches(&self, snap: &Snapshot, hits: Vec<(usize, f32)>) -> Vec<Match> {
        hits.into_iter()
            .map(|(row, similarity)| {
                let path = self
                    .root
                    .join(path_from_bytes(&snap.vectors.entries[row].path));
                let mut m = Match {
                    exists: path.is_file(),
                    path,
                    similarity,
                    label: None,
                    percentile: None,
                    identical: false,
                };
                self.set_similarity(snap, &mut m, similarity);
                m
            })
            .collect()
    }

    /// Sets `m`'s similarity, and the words and rank that go with it.
    fn set_similarity(&self, snap: &Snapshot, m: &mut Match, similarity: f32) {
        m.similarity = similarity;
        m.label = self.model.thresholds().map(|t| t.label(similarity));
        m.percentile = crate::labels::percentile(&snap.vectors.pairs, similarity);
    }

    /// Scores each match, with its vector, against `queries` (a photo's vectors, as
    /// [`Library::query_vectors`] gives them) as a search with them would.
    pub(crate) fn score_against(&self, found: &mut [(Match, Vec<f32>)], queries: &[Vec<f32>]) {
        let queries: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
        let (turns, snap) = (self.turns(), self.current());
        for (m, vector) in found {
            let similarity = turns.score_row(vector, &queries);
            self.set_similarity(&snap, m, similarity);
        }
    }

    /// Every indexed image with its stored vector, in index order.
    pub fn vectors(&self) -> Vec<(PathBuf, Vec<f32>)> {
        let snap = self.current();
        (0..snap.vectors.len())
            .map(|i| {
                (
                    self.root
                        .join(path_from_bytes(&snap.vectors.entries[i].path)),
                    snap.vectors.row(i).to_vec(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_is_dated_by_its_camera_else_by_its_file_in_utc() {
        let at = |ns: i128, taken: Option<&str>| Photo {
            path: PathBuf::from("a.jpg"),
            pixels: None,
            bytes: 1,
            modified_ns: ns,
            taken: taken.map(str::to_string),
            content: None,
        };
        assert_eq!(at(0, None).date(), "1970-01-01 00:00");
        assert_eq!(
            at(951_782_400 * 1_000_000_000, None).date(),
            "2000-02-29 00:00"
        );
        assert_eq!(
            at(1_764_084_180 * 1_000_000_000, None).date(),
            "2025-11-25 15:23"
        );
        assert_eq!(at(0, Some("2010-05-01 12:00")).date(), "2010-05-01 12:00");
    }
}
