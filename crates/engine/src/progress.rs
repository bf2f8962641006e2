//! What the engine tells its caller while it works, and how the caller tells it to stop.
//!
//! The CLI turns these events into a progress bar, the GUI into its status line; the engine
//! itself never knows which one is listening.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A cheap, clonable "please stop" flag shared between the caller and a running job.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A flag not raised yet; clone it to hand one end to the job.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every job holding a clone of this token to stop at its next check (a run keeps and
    /// saves what it has done so far).
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// True once [`CancelToken::cancel`] was called on any clone; jobs poll this between files.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A file the engine could not use, and why, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file, relative to the indexed folder.
    pub path: PathBuf,
    /// Why it was not indexed, as a sentence for the person (e.g. what to install).
    pub reason: String,
}

/// One step of an indexing run, in the order they happen.
#[derive(Clone, Debug)]
pub enum Event {
    /// Walking the folder; `found` image files so far.
    Scanning {
        /// Image files found so far.
        found: usize,
    },
    /// The walk is done: what will be embedded, what is reused as it is, what was dropped.
    Planned {
        /// Image files in the folder now.
        total: usize,
        /// New or changed files that go through the network.
        to_embed: usize,
        /// Unchanged files whose stored vector is kept.
        reused: usize,
        /// Indexed files that are gone from the folder.
        removed: usize,
    },
    /// One more file is done (embedded or skipped). `eta` is `None` until a rate is known.
    Progress {
        /// Files finished so far, out of `to_embed`.
        done: usize,
        /// Files this run embeds in all (as in [`Event::Planned`]).
        to_embed: usize,
        /// The rate so far, for the person's estimate.
        images_per_sec: f64,
        /// Time left at that rate.
        eta: Option<Duration>,
    },
    /// A file was not indexed; the run goes on.
    Skipped(Skipped),
    /// Something the person should know that is not about one file (e.g. an index was rebuilt).
    Notice(String),
    /// A checkpoint was saved: searches now see `indexed` photos (the run goes on).
    Saved {
        /// Photos in the saved index.
        indexed: usize,
    },
    /// The compact codes of a large collection are being made (see
    /// [`crate::query::compact`]); queries take the exact scan until they are done.
    Compacting {
        /// Photos coded so far.
        done: usize,
        /// Photos to code.
        total: usize,
    },
    /// The approximate-nearest-neighbour graph is being built for a large collection.
    BuildingGraph {
        /// Vectors going into the graph.
        points: usize,
    },
}

/// What an indexing run did, for the CLI's closing line and the GUI's status bar.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Images in the index after the run.
    pub indexed: usize,
    /// Files that went through the network in this run.
    pub embedded: usize,
    /// Files whose vectors this run took from the checkpoints of an interrupted one.
    pub recovered: usize,
    /// Unchanged files whose stored vector was kept as it was.
    pub reused: usize,
    /// Files found under a new path with the content of an indexed one that lost its path.
    pub moved: usize,
    /// Files whose vector came from an identical file (a copy here, or the same photo in an
    /// overlapping indexed folder) instead of the network.
    pub shared: usize,
    /// Photos dropped from the index because their files are gone.
    pub removed: usize,
    /// Photos whose files are missing but that were kept, because most of the index vanished
    /// at once (a drive that is not mounted?); `index --prune` removes them.
    pub kept_missing: usize,
    /// Files deleted or renamed while the run went on (the next run sees their new names).
    pub vanished: usize,
    /// Files not indexed, each with its reason.
    pub skipped: Vec<Skipped>,
    /// True when the run stopped early at the caller's request (what it did is saved).
    pub cancelled: bool,
    /// True when the index's content changed, so results computed before may be stale.
    pub changed: bool,
    /// Wall-clock length of the run.
    pub seconds: f64,
    /// Images embedded per second of the run.
    pub images_per_sec: f64,
    /// Bytes written to the index folder (checkpoints, the index, the graph).
    pub bytes_written: u64,
}

impl Summary {
    /// ", moved: N, M identical to an indexed file, K from an interrupted run": the files whose
    /// vector was known by their content or taken from a log (empty when there were none).
    pub fn known_without_embedding(&self) -> String {
        let mut out = String::new();
        if self.moved > 0 {
            out += &format!(", moved: {}", self.moved);
        }
        if self.shared > 0 {
            out += &format!(", {} identical to an indexed file", self.shared);
        }
        if self.recovered > 0 {
            out += &format!(", {} from an interrupted run", self.recovered);
        }
        out
    }
}

/// Where events go. Sending never fails the job: a caller that stopped listening is not an error.
pub type Sender = crossbeam_channel::Sender<Event>;

/// Sends `event` when someone listens.
pub(crate) fn emit(tx: Option<&Sender>, event: Event) {
    if let Some(tx) = tx {
        let _ = tx.send(event);
    }
}
