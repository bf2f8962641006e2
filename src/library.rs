//! One indexed folder: bringing its index up to date with the files, and answering queries.
//!
//! A `Library` is shared between threads: one can run [`Library::update`] while others call
//! [`Library::search`], which always sees the last saved state of the index.

use crate::decode;
use crate::embed::Model;
use crate::index::{self, Entry, Failed, Kind, LoadError, Vectors};
use crate::nearest::{self, Graph};
use crate::progress::{emit, CancelToken, Event, Sender, Skipped, Summary};
use crate::scan::{self, Fingerprint, Found};
use crate::store::{path_bytes, path_from_bytes, Store};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How often a long indexing run saves what it has so far (and lets queries see it): soon
/// after the start, so a new folder becomes searchable early, then at a steadier pace.
const FIRST_CHECKPOINT: Duration = Duration::from_secs(5);
const CHECKPOINT_EVERY: Duration = Duration::from_secs(20);
/// Files handed to the worker threads at a time, between cancellation and checkpoint checks.
const CHUNK: usize = 64;

/// One search result.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    /// Absolute path of the image.
    pub path: PathBuf,
    /// Cosine similarity to the query, 1.0 for the same picture.
    pub similarity: f32,
}

/// The state queries read: replaced as a whole, never edited in place.
struct Snapshot {
    vectors: Vectors,
    graph: Option<Arc<Graph>>,
    rows: HashMap<Vec<u8>, usize>,
}

impl Snapshot {
    fn new(vectors: Vectors, graph: Option<Arc<Graph>>) -> Self {
        let rows = vectors
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.clone(), i))
            .collect();
        let graph =
            graph.filter(|g| g.generation == vectors.generation && g.len() == vectors.len());
        Self {
            vectors,
            graph,
            rows,
        }
    }
}

pub struct Library {
    root: PathBuf,
    dir: PathBuf,
    model: Arc<Model>,
    snapshot: RwLock<Arc<Snapshot>>,
    updating: Mutex<()>,
    graph_threshold: usize,
    notices: Vec<String>,
}

impl Library {
    /// Opens the index of `folder` (creating nothing on disk yet). An unreadable index is
    /// reported in [`Library::notices`] and started afresh; the next update rebuilds it.
    pub fn open(folder: &Path, store: &Store, model: Arc<Model>) -> Result<Self> {
        let root = folder
            .canonicalize()
            .with_context(|| format!("cannot open the folder {}", folder.display()))?;
        if !root.is_dir() {
            bail!("{} is not a folder", root.display());
        }
        std::fs::read_dir(&root)
            .with_context(|| format!("cannot read the folder {}", root.display()))?;
        let dir = store.index_dir(&root);
        let mut notices = Vec::new();
        let fresh = || Vectors {
            folder: path_bytes(&root).into_owned(),
            dim: model.dim as u32,
            ..Vectors::default()
        };
        let vectors = match index::load::<Vectors>(
            &dir.join("vectors.bin"),
            Kind::Vectors,
            model.id,
        ) {
            Ok(v) if v.dim as usize == model.dim && v.data.len() == v.entries.len() * model.dim => {
                v
            }
            Ok(_) => {
                notices.push(
                    "The index did not match the model's vector size; re-indexing the folder."
                        .into(),
                );
                fresh()
            }
            Err(LoadError::Missing) => fresh(),
            Err(LoadError::OtherModel) => {
                notices.push("The index was made with a different model; every image will be embedded again.".into());
                fresh()
            }
            Err(err) => {
                notices.push(format!("{err}; rebuilding the index of this folder."));
                fresh()
            }
        };
        let graph = match index::load::<Graph>(&dir.join("graph.bin"), Kind::Graph, model.id) {
            Ok(g) => Some(Arc::new(g)),
            Err(LoadError::Missing) => None,
            Err(err) => {
                notices.push(format!(
                    "Nearest-neighbour graph not used ({err}); it will be rebuilt."
                ));
                None
            }
        };
        Ok(Self {
            root,
            dir,
            model,
            snapshot: RwLock::new(Arc::new(Snapshot::new(vectors, graph))),
            updating: Mutex::new(()),
            graph_threshold: nearest::GRAPH_THRESHOLD,
            notices,
        })
    }

    /// Changes the size from which the HNSW graph is built and used (tests use a small one).
    pub fn with_graph_threshold(mut self, threshold: usize) -> Self {
        self.graph_threshold = threshold;
        self
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

    /// Images in the index now.
    pub fn len(&self) -> usize {
        self.current().vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when an index was saved for this folder before (it may still be out of date).
    pub fn has_saved_index(&self) -> bool {
        self.dir.join("vectors.bin").exists()
    }

    /// True when queries use the HNSW graph rather than the exact scan.
    pub fn uses_graph(&self) -> bool {
        let snap = self.current();
        snap.graph.is_some() && snap.vectors.len() >= self.graph_threshold
    }

    /// Files the index could not take, with the reason, as of the last update.
    pub fn skipped(&self) -> Vec<Skipped> {
        self.current()
            .vectors
            .failed
            .iter()
            .map(|f| self.skip_of(f))
            .collect()
    }

    /// The model this library embeds with.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot.read().expect("snapshot lock").clone()
    }

    fn publish(&self, snapshot: Snapshot) {
        *self.snapshot.write().expect("snapshot lock") = Arc::new(snapshot);
    }

    /// Brings the index up to date with the folder: embeds new and changed files, reuses the
    /// vectors of unchanged ones, drops removed ones, and saves. On cancellation everything
    /// embedded so far is kept and saved.
    pub fn update(&self, progress: Option<&Sender>, cancel: &CancelToken) -> Result<Summary> {
        let _one_at_a_time = self.updating.lock().expect("update lock");
        let started = Instant::now();
        let old = self.current();
        // An unmounted drive or a folder gone missing must not look like "every photo was
        // deleted": stop before anything is dropped from the index.
        std::fs::read_dir(&self.root)
            .with_context(|| format!("cannot read the folder {}", self.root.display()))?;
        let scan = scan::scan(&self.root, progress, cancel);
        if scan.cancelled {
            let summary = Summary {
                indexed: old.vectors.len(),
                cancelled: true,
                seconds: started.elapsed().as_secs_f64(),
                ..Summary::default()
            };
            emit(progress, Event::Finished(summary.clone()));
            return Ok(summary);
        }
        let plan = Plan::new(&old.vectors, scan.found);
        let mut skipped: Vec<Skipped> = scan.skipped;
        for s in &skipped {
            emit(progress, Event::Skipped(s.clone()));
        }
        for f in &plan.still_failed {
            let s = self.skip_of(f);
            emit(progress, Event::Skipped(s.clone()));
            skipped.push(s);
        }
        emit(
            progress,
            Event::Planned {
                total: plan.total(),
                to_embed: plan.to_embed.len(),
                reused: plan.reused.len(),
                removed: plan.removed,
            },
        );

        let mut work = Work::default();
        let embed_started = Instant::now();
        let mut last_checkpoint = Instant::now();
        let mut checkpoint_after = FIRST_CHECKPOINT;
        let to_embed = plan.to_embed.len();
        let done = AtomicUsize::new(0);
        let report_one = || {
            let done = done.fetch_add(1, Ordering::Relaxed) + 1;
            let rate = done as f64 / embed_started.elapsed().as_secs_f64().max(1e-6);
            emit(
                progress,
                Event::Progress {
                    done,
                    to_embed,
                    images_per_sec: rate,
                    eta: Some(Duration::from_secs_f64((to_embed - done) as f64 / rate)),
                },
            );
        };
        for chunk in plan.to_embed.chunks(CHUNK) {
            if cancel.is_cancelled() {
                break;
            }
            let results: Vec<Option<Result<Vec<f32>, String>>> = chunk
                .par_iter()
                .map_init(
                    || self.model.session(),
                    |session, found| {
                        if cancel.is_cancelled() {
                            return None;
                        }
                        let result = match session {
                            Ok(s) => embed_file(s, &self.root.join(&found.rel_path)),
                            Err(e) => Err(format!("cannot run the model: {e}")),
                        };
                        if let Err(reason) = &result {
                            let path = self.root.join(&found.rel_path);
                            let reason = reason.clone();
                            emit(progress, Event::Skipped(Skipped { path, reason }));
                        }
                        report_one();
                        Some(result)
                    },
                )
                .collect();
            for (found, result) in chunk.iter().zip(results) {
                match result {
                    None => {}
                    Some(Ok(v)) => work.embedded.push((found.clone(), v)),
                    Some(Err(reason)) => {
                        let failed = Failed {
                            path: path_bytes(&found.rel_path).into_owned(),
                            fingerprint: found.fingerprint,
                            reason,
                        };
                        skipped.push(self.skip_of(&failed));
                        work.failed.push(failed);
                    }
                }
            }
            let processed = work.embedded.len() + work.failed.len();
            if last_checkpoint.elapsed() >= checkpoint_after && processed < to_embed {
                self.save_and_publish(plan.merge(&old.vectors, &work), None)?;
                last_checkpoint = Instant::now();
                checkpoint_after = CHECKPOINT_EVERY;
            }
        }
        let cancelled = cancel.is_cancelled();
        let embed_secs = embed_started.elapsed().as_secs_f64();
        let changed = !work.embedded.is_empty()
            || !work.failed.is_empty()
            || plan.removed > 0
            || !self.has_saved_index();
        let mut vectors = plan.merge(&old.vectors, &work);
        let mut graph = old.graph.clone();
        if changed {
            self.save_and_publish(vectors.clone(), None)?;
            graph = None;
        } else {
            vectors.generation = old.vectors.generation;
        }
        if !cancelled
            && vectors.len() >= self.graph_threshold
            && graph.is_none_or(|g| g.generation != vectors.generation)
        {
            emit(
                progress,
                Event::BuildingGraph {
                    points: vectors.len(),
                },
            );
            let g = Graph::build(&vectors.data, vectors.dim as usize, vectors.generation);
            index::save(&self.dir.join("graph.bin"), Kind::Graph, self.model.id, &g)?;
            self.publish(Snapshot::new(vectors.clone(), Some(Arc::new(g))));
        }
        let summary = Summary {
            indexed: vectors.len(),
            embedded: work.embedded.len(),
            reused: plan.reused.len(),
            removed: plan.removed,
            skipped,
            cancelled,
            seconds: started.elapsed().as_secs_f64(),
            images_per_sec: if embed_secs > 0.0 {
                work.embedded.len() as f64 / embed_secs
            } else {
                0.0
            },
        };
        emit(progress, Event::Finished(summary.clone()));
        Ok(summary)
    }

    fn save_and_publish(&self, vectors: Vectors, graph: Option<Arc<Graph>>) -> Result<()> {
        index::save(
            &self.dir.join("vectors.bin"),
            Kind::Vectors,
            self.model.id,
            &vectors,
        )
        .with_context(|| format!("cannot save the index in {}", self.dir.display()))?;
        self.publish(Snapshot::new(vectors, graph));
        Ok(())
    }

    fn skip_of(&self, f: &Failed) -> Skipped {
        Skipped {
            path: self.root.join(path_from_bytes(&f.path)),
            reason: f.reason.clone(),
        }
    }

    /// The embedding of `image`: the stored one when the file is in the index and unchanged
    /// (instant), otherwise computed now.
    pub fn vector_of(&self, image: &Path) -> Result<Vec<f32>> {
        let path = image
            .canonicalize()
            .with_context(|| format!("cannot open {}", image.display()))?;
        if let Ok(rel) = path.strip_prefix(&self.root) {
            let snap = self.current();
            if let Some(&row) = snap.rows.get(path_bytes(rel).as_ref()) {
                let meta = std::fs::metadata(&path)?;
                if snap.vectors.entries[row].fingerprint == Fingerprint::of(&meta) {
                    return Ok(snap.vectors.row(row).to_vec());
                }
            }
        }
        let input =
            decode::model_input(&path).with_context(|| format!("cannot use {}", path.display()))?;
        self.model.session()?.embed(&input)
    }

    /// The `k` indexed images most like `image` (which may be outside the folder), best first.
    /// When `image` is itself indexed it comes first, with a similarity of about 1.
    pub fn search(&self, image: &Path, k: usize) -> Result<Vec<Match>> {
        let v = self.vector_of(image)?;
        Ok(self.search_vector(&v, k))
    }

    /// The `k` indexed images nearest to a unit vector, best first.
    pub fn search_vector(&self, query: &[f32], k: usize) -> Vec<Match> {
        let snap = self.current();
        let v = &snap.vectors;
        let hits = match &snap.graph {
            Some(g) if v.len() >= self.graph_threshold => g.search(query, k),
            _ => nearest::exact(&v.data, v.dim as usize, query, k),
        };
        self.matches(&snap, hits)
    }

    /// Exact-scan results, whatever the collection size (to check the graph against).
    pub fn search_vector_exact(&self, query: &[f32], k: usize) -> Vec<Match> {
        let snap = self.current();
        let v = &snap.vectors;
        let hits = nearest::exact(&v.data, v.dim as usize, query, k);
        self.matches(&snap, hits)
    }

    fn matches(&self, snap: &Snapshot, hits: Vec<(usize, f32)>) -> Vec<Match> {
        hits.into_iter()
            .map(|(row, similarity)| Match {
                path: self
                    .root
                    .join(path_from_bytes(&snap.vectors.entries[row].path)),
                similarity,
            })
            .collect()
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

/// Decodes and embeds one file; the error is the reason shown to the person.
fn embed_file(session: &mut crate::embed::Session, path: &Path) -> Result<Vec<f32>, String> {
    let input = decode::model_input(path).map_err(|e| e.to_string())?;
    session
        .embed(&input)
        .map_err(|e| format!("the model failed on it: {e}"))
}

/// What an update has to do, worked out from the old index and a fresh scan.
struct Plan {
    /// In scan order: every file now in the folder that has (or will have) a vector or a failure.
    found: Vec<Found>,
    /// Unchanged files: found index → old row.
    reused: HashMap<usize, usize>,
    to_embed: Vec<Found>,
    /// Old rows of files that changed, kept if their new version is never processed (cancel).
    changed_rows: HashMap<Vec<u8>, usize>,
    still_failed: Vec<Failed>,
    removed: usize,
}

#[derive(Default)]
struct Work {
    embedded: Vec<(Found, Vec<f32>)>,
    failed: Vec<Failed>,
}

impl Plan {
    fn new(old: &Vectors, found: Vec<Found>) -> Self {
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
            removed: 0,
        };
        let mut seen = 0usize;
        for f in found {
            let key = path_bytes(&f.rel_path).into_owned();
            let idx = plan.found.len();
            match old_rows.get(key.as_slice()) {
                Some(&row) => {
                    seen += 1;
                    if old.entries[row].fingerprint == f.fingerprint {
                        plan.reused.insert(idx, row);
                    } else {
                        plan.changed_rows.insert(key, row);
                        plan.to_embed.push(f.clone());
                    }
                }
                None => match old_failed.get(key.as_slice()) {
                    Some(failed) if failed.fingerprint == f.fingerprint => {
                        plan.still_failed.push((*failed).clone())
                    }
                    _ => plan.to_embed.push(f.clone()),
                },
            }
            plan.found.push(f);
        }
        plan.removed = old.entries.len() - seen;
        plan
    }

    fn total(&self) -> usize {
        self.found.len()
    }

    /// The new index content: found files in scan order, each with its new vector, its reused
    /// one, or (for a changed file not reached before a cancel) its old one with the old
    /// fingerprint so the next update embeds it again. A changed file that now fails to
    /// decode loses its old vector: the index must not answer with a picture that is gone.
    fn merge(&self, old: &Vectors, work: &Work) -> Vectors {
        let dim = old.dim as usize;
        let new: HashMap<&Path, &Vec<f32>> = work
            .embedded
            .iter()
            .map(|(f, v)| (f.rel_path.as_path(), v))
            .collect();
        let now_failed: std::collections::HashSet<&[u8]> =
            work.failed.iter().map(|f| f.path.as_slice()).collect();
        let mut out = Vectors {
            folder: old.folder.clone(),
            dim: old.dim,
            generation: old.generation.wrapping_add(1),
            entries: Vec::with_capacity(self.found.len()),
            data: Vec::with_capacity(self.found.len() * dim),
            failed: Vec::new(),
        };
        for (idx, f) in self.found.iter().enumerate() {
            let key = path_bytes(&f.rel_path);
            let (fingerprint, row): (Fingerprint, &[f32]) =
                if let Some(v) = new.get(f.rel_path.as_path()) {
                    (f.fingerprint, v)
                } else if let Some(&r) = self.reused.get(&idx) {
                    (f.fingerprint, old.row(r))
                } else if let (Some(&r), false) = (
                    self.changed_rows.get(key.as_ref()),
                    now_failed.contains(key.as_ref()),
                ) {
                    (old.entries[r].fingerprint, old.row(r))
                } else {
                    continue;
                };
            out.entries.push(Entry {
                path: key.into_owned(),
                fingerprint,
            });
            out.data.extend_from_slice(row);
        }
        out.failed.extend(self.still_failed.iter().cloned());
        out.failed.extend(work.failed.iter().cloned());
        out
    }
}
