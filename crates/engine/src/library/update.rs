//! Bringing a folder's index up to date, one stage after the other: take the index lock, catch
//! up with what another process saved, scan, plan, embed (saving checkpoints as it goes), save,
//! and make the compact codes and graph of large folders (`speedups.rs`). Each stage returns its result or an error; nothing
//! is dropped from the index unless the scan says it is gone.
//!
//! [`run_update`] is the one road every caller takes: it runs an update on its own thread and
//! forwards its events until the update ends, however it ends (finished, failed or panicked).

use crate::decode;
use crate::embed::preprocess;
use crate::embed::Session;
use crate::error::{Error, Result};
use crate::index::content_key::{self, ContentKey};
use crate::index::format::{self, Vectors};
use crate::index::journal::{self, Journal};
use crate::index::lock::IndexLock;
use crate::index::plan::{Done, Failure, Held, Merged, Origin, Plan};
use crate::index::rows::RowSource;
use crate::index::store::path_bytes;
use crate::index::{scan, store};
use crate::library::mounts::Unmounted;
use crate::library::moves::{self, Known};
use crate::library::resume::Pending;
use crate::library::speedups::Reuse;
use crate::library::{damaged_words, stamp, IndexStatus, Library, Snapshot, Speedups, Stamp};
use crate::progress::{emit, CancelToken, Event, Sender, Skipped, Summary};
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the person asked of an update.
#[derive(Clone, Debug, Default)]
pub struct UpdateOptions {
    /// Drop the photos that are missing even when most of the index vanished at once (the
    /// person confirmed that they were deleted, not on a drive that is not mounted).
    pub prune: bool,
}

/// Runs `library.update` on its own thread and hands each of its events to `forward` on this
/// one, returning the update's result once it has ended. The CLI and the GUI both index
/// through this, so neither can wait for an event an error path never sends.
pub fn run_update(
    library: &Library,
    options: &UpdateOptions,
    cancel: &CancelToken,
    forward: impl FnMut(Event),
) -> Result<Summary> {
    run_forwarding(|tx| library.update(options, Some(tx), cancel), forward)
}

/// Runs `job` on a thread of its own, forwarding the events it sends. The sender belongs to
/// the job, so the job's end (a return, an error or a panic) closes the channel and ends the
/// loop; a panic comes back as [`Error::Crashed`].
pub fn run_forwarding<T: Send>(
    job: impl FnOnce(&Sender) -> Result<T> + Send,
    mut forward: impl FnMut(Event),
) -> Result<T> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::scope(|s| {
        let handle = s.spawn(move || {
            let tx = tx;
            job(&tx)
        });
        for event in rx.iter() {
            forward(event);
        }
        handle
            .join()
            .unwrap_or_else(|panic| Err(Error::Crashed(panic_text(panic.as_ref()))))
    })
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl Library {
    /// Brings the index up to date with the folder: embeds new and changed files, reuses the
    /// vectors of unchanged ones, drops removed ones, and saves. On cancellation everything
    /// embedded so far is kept and saved. Another process updating the same index is waited
    /// for, and its work is read before this one starts.
    pub fn update(
        &self,
        options: &UpdateOptions,
        progress: Option<&Sender>,
        cancel: &CancelToken,
    ) -> Result<Summary> {
        let mut known = self.updating.lock().expect("update lock");
        let result = Run {
            lib: self,
            progress,
            cancel,
            started: Instant::now(),
            skipped: Vec::new(),
            bytes_written: 0,
            vanished: Vec::new(),
        }
        .go(options, &mut known);
        if result.is_err() {
            // What is on disk is not known for sure now: read it again next time.
            *known = None;
        }
        result
    }
}

/// One update in progress.
struct Run<'a> {
    lib: &'a Library,
    progress: Option<&'a Sender>,
    cancel: &'a CancelToken,
    started: Instant,
    skipped: Vec<Skipped>,
    bytes_written: u64,
    /// The indexes of folders no longer there, read to find files by content.
    vanished: Vec<moves::Vanished>,
}

/// The files embedded so far, and those not yet in a checkpoint.
struct Work {
    done: Vec<Option<Done>>,
    unsaved: Vec<usize>,
    /// The run's checkpoint logs, the last one current: each save of the run so far starts
    /// another (its vectors are read from all of them).
    logs: Vec<Journal>,
    /// How many photos queries see.
    shown: usize,
    /// Vectors taken from an interrupted run's log, not embedded again.
    recovered: usize,
}

impl Run<'_> {
    fn go(mut self, options: &UpdateOptions, known: &mut Option<Stamp>) -> Result<Summary> {
        let lib = self.lib;
        let waiting = || {
            self.notice(
                "Another photo-sim is updating this folder's index; waiting for it to finish…"
                    .into(),
            )
        };
        let Some(_lock) = IndexLock::acquire(&lib.dir, self.cancel, waiting)? else {
            return Ok(self.summary_of_nothing());
        };
        store::remove_temp_files(&lib.dir);
        self.catch_up(known);
        let old = self.check_mapped_blocks(lib.current())?;
        // A folder gone missing must not look like "every photo was deleted".
        std::fs::read_dir(&lib.root).map_err(|cause| Error::FolderUnreadable {
            path: lib.root.clone(),
            cause,
        })?;
        let scan = scan::scan(&lib.root, self.progress, self.cancel);
        if scan.cancelled {
            return Ok(self.summary_of_nothing());
        }
        let plan = self.plan(&old.vectors, scan, options.prune);
        if self.cancel.is_cancelled() {
            // Moves not looked for would count as deletions: save nothing.
            return Ok(self.summary_of_nothing());
        }
        let work = self.embed(&plan, &old.vectors, old.pending.as_deref(), known)?;
        let (vectors, reuse) = self.save(&plan, &old, &work, known)?;
        self.retire_adopted_indexes(&vectors);
        if !self.cancel.is_cancelled() {
            self.bytes_written +=
                lib.make_speedups_of(&vectors, reuse.as_ref(), self.cancel, self.progress)?;
            *known = Some(stamp(&lib.dir));
        }
        Ok(self.summary(&plan, &work, vectors.len()))
    }

    fn notice(&self, text: String) {
        emit(self.progress, Event::Notice(text));
    }

    fn skip(&mut self, s: Skipped) {
        emit(self.progress, Event::Skipped(s.clone()));
        self.skipped.push(s);
    }

    /// Reads the index again when another process saved it since this one last looked.
    fn catch_up(&self, known: &mut Option<Stamp>) {
        let lib = self.lib;
        let now = stamp(&lib.dir);
        if *known == Some(now) {
            return;
        }
        let mut disk = lib.read_disk(|_| true);
        if known.is_some() && disk.status == IndexStatus::Loaded {
            self.notice(
                "The index was updated by another photo-sim process; continuing from its version."
                    .into(),
            );
        }
        if known.is_some() {
            std::mem::take(&mut disk.notices)
                .into_iter()
                .for_each(|n| self.notice(n));
        }
        lib.publish(disk.snapshot());
        *known = Some(disk.stamp);
        // Queries see another index now, even if this run changes nothing.
        emit(self.progress, Event::Saved { indexed: lib.len() });
    }

    /// Checks the blocks of vectors that were mapped, not read, when the index was opened,
    /// before anything is built on them: the rows of a damaged block are dropped (and this
    /// run embeds their photos again).
    fn check_mapped_blocks(&self, old: Arc<Snapshot>) -> Result<Arc<Snapshot>> {
        let lib = self.lib;
        let file = lib.dir.join(crate::library::VECTORS_FILE);
        match format::check_mapped_blocks(&old.vectors)
            .map_err(Error::store("read the index in", &file))?
        {
            None => Ok(old),
            Some((kept, lost)) => {
                self.notice(damaged_words(&file, lost, kept.len()));
                lib.publish(Snapshot::new(kept, Speedups::default()));
                Ok(lib.current())
            }
        }
    }

    /// Works out what to do and tells the caller.
    fn plan(&mut self, old: &Vectors, scan: scan::Scan, prune: bool) -> Plan {
        let mut scan = scan;
        let scan_skipped = std::mem::take(&mut scan.skipped);
        let mut plan = Plan::new(old, scan);
        self.check_identities(old, &mut plan);
        let origins = self.identify(old, &plan);
        let unmounted = Unmounted::new(&self.lib.root);
        plan.settle(old, origins, prune, |e| unmounted.holds(e));
        self.read_missing_keys(old, &mut plan);
        for s in scan_skipped {
            self.skip(s);
        }
        for f in &plan.still_failed {
            let s = self.lib.skip_of(&f.path, &f.reason);
            self.skip(s);
        }
        if plan.unmounted > 0 {
            self.notice(format!(
                "{} indexed photos are missing with the drive or share that held them ({}), which is not mounted: kept them. Remove them only if they were deleted (photo-sim index --prune).",
                plan.unmounted,
                unmounted.folders().join(", ")
            ));
        }
        if plan.kept_missing > plan.unmounted {
            let kept = plan.kept_missing - plan.unmounted;
            self.notice(if plan.total() == 0 {
                format!(
                    "The folder is empty or not mounted: kept the index of {} photos. Remove them only if they were deleted (photo-sim index --prune).",
                    kept
                )
            } else {
                format!(
                    "{} indexed photos are missing (most of the index at once): kept them in case part of the folder is not mounted. Remove them only if they were deleted (photo-sim index --prune).",
                    kept
                )
            });
        }
        emit(
            self.progress,
            Event::Planned {
                total: plan.total(),
                to_embed: plan.to_embed.len(),
                reused: plan.reused(),
                removed: plan.removed,
            },
        );
        plan
    }

    /// Reads the sampled hash of each file whose size and date are unchanged but whose identity
    /// is not (names swapped, a rewrite with its date set back, or only a `chmod`): 128 KiB
    /// a file, so that a vector is never kept for a file that now holds another photo.
    fn check_identities(&self, old: &Vectors, plan: &mut Plan) {
        let suspects = plan.suspects(old);
        let root = &self.lib.root;
        let verdicts: Vec<(usize, bool)> = suspects
            .par_iter()
            .map(|&(idx, expected)| {
                let path = root.join(&plan.found[idx].rel_path);
                let same = expected.is_some() && content_key::sample_of(&path).ok() == expected;
                (idx, same)
            })
            .collect();
        for (idx, same) in verdicts {
            plan.confirm(idx, same);
        }
    }

    /// Looks for the files under new paths whose content is already known (moved, renamed,
    /// copied, indexed through an overlapping folder, or in a folder no longer there), on
    /// every core.
    fn identify(&mut self, old: &Vectors, plan: &Plan) -> Vec<Vec<Origin>> {
        let lib = self.lib;
        let fresh = plan.fresh();
        if fresh.is_empty() {
            return Vec::new();
        }
        let (id, dim) = (lib.model.id, lib.model.dim);
        let (others, vanished) = match lib.dir.parent() {
            Some(indexes) => (
                moves::overlapping_indexes(indexes, &lib.dir, &lib.root, id, dim),
                moves::vanished_indexes(indexes, &lib.dir, id, dim),
            ),
            None => Default::default(),
        };

        self.vanished = vanished;
        // Photos removed lately and now put back take their vectors again.
        let removed = moves::removed_photos(&lib.dir, id, dim);
        let known = Known::new(
            &lib.root,
            old,
            plan,
            &others,
            &self.vanished,
            removed.as_ref(),
        );
        if known.is_empty() {
            return vec![Vec::new(); fresh.len()];
        }
        fresh
            .par_iter()
            .map(|&idx| {
                if self.cancel.is_cancelled() {
                    return Vec::new();
                }
                known.origins(&plan.found[idx])
            })
            .collect()
    }

    /// Reads the content keys the index does not have yet (an older version's index, or
    /// photos replayed from the checkpoint log of an interrupted run), once, without
    /// re-embedding.
    fn read_missing_keys(&self, old: &Vectors, plan: &mut Plan) {
        let unkeyed = plan.unkeyed(old);
        if unkeyed.is_empty() {
            return;
        }
        self.notice(format!(
            "Recording the content of {} photos (indexed by an older version or before an interruption), once, so that moved and renamed photos keep their vectors…",
            unkeyed.len()
        ));
        let root = &self.lib.root;
        let keys: Vec<(usize, ContentKey)> = unkeyed
            .par_iter()
            .filter_map(|&idx| {
                if self.cancel.is_cancelled() {
                    return None;
                }
                let found = &plan.found[idx];
                let path = root.join(&found.rel_path);
                let key = content_key::key_of(&path).ok()?;
                // A file changed while it was read would pair its old vector with a new key.
                let now = std::fs::metadata(&path).ok()?;
                (scan::Fingerprint::of(&now) == found.fingerprint).then_some((idx, key))
            })
            .collect();
        for (idx, key) in keys {
            plan.set_key(idx, key);
        }
    }

    /// Decodes and embeds the planned files on every core, streaming the results back here,
    /// where progress is reported and checkpoints are saved while the workers go on.
    fn embed(
        &mut self,
        plan: &Plan,
        old: &Vectors,
        pending: Option<&Pending>,
        known: &mut Option<Stamp>,
    ) -> Result<Work> {
        let n = plan.to_embed.len();
        let mut work = Work {
            done: vec![None; n],
            unsaved: Vec::new(),
            logs: Vec::new(),
            shown: old.len(),
            recovered: 0,
        };
        if n == 0 {
            return Ok(work);
        }
        if let Some(pending) = pending {
            self.resume(plan, old, pending, &mut work)?;
        }
        let todo: Vec<usize> = (0..n).filter(|&pos| work.done[pos].is_none()).collect();
        let already = n - todo.len();
        let lib = self.lib;
        let cancel = self.cancel;
        let stop = &CancelToken::new();
        let halted = move || cancel.is_cancelled() || stop.is_cancelled();
        let (tx, rx) = crossbeam_channel::bounded::<(usize, Result<Done>)>(64);
        let started = Instant::now();
        let mut next_checkpoint = started + lib.tuning.first_checkpoint;
        let mut failure = None;
        std::thread::scope(|s| {
            s.spawn(move || {
                let tx = tx;
                todo.into_par_iter().for_each_init(
                    || lib.model.session(),
                    |session, pos| {
                        if halted() {
                            return;
                        }
                        let found = &plan.found[plan.to_embed[pos]];
                        let path = lib.root.join(&found.rel_path);
                        let result = match session {
                            Ok(session) => Ok(embed_one(session, &path, found.fingerprint.size)),
                            Err(e) => Err(Error::Model(e.clone())),
                        };
                        let _ = tx.send((pos, result));
                    },
                );
            });
            let mut received = already;
            for (pos, result) in rx.iter() {
                let done = match result {
                    Ok(done) => done,
                    Err(e) => {
                        stop.cancel();
                        failure.get_or_insert(e);
                        continue;
                    }
                };
                self.skip_failed(plan, pos, &done);
                work.done[pos] = Some(done);
                work.unsaved.push(pos);
                received += 1;
                let rate = (received - already) as f64 / started.elapsed().as_secs_f64().max(1e-6);
                emit(
                    self.progress,
                    Event::Progress {
                        done: received,
                        to_embed: n,
                        images_per_sec: rate,
                        eta: Some(Duration::from_secs_f64((n - received) as f64 / rate)),
                    },
                );
                if failure.is_none() && received < n && Instant::now() >= next_checkpoint {
                    if let Err(e) = self.checkpoint(plan, old, &mut work, known) {
                        stop.cancel();
                        failure = Some(e);
                    }
                    next_checkpoint = Instant::now() + lib.tuning.checkpoint_every;
                }
            }
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(work),
        }
    }

    /// Takes from the log of an interrupted run what it made of the files still as it read
    /// them (see `resume.rs`): their vectors stay in the log, which this run appends to.
    fn resume(
        &mut self,
        plan: &Plan,
        old: &Vectors,
        pending: &Pending,
        work: &mut Work,
    ) -> Result<()> {
        let (log, journal) = self.journal(old, work)?;
        if !journal.kept {
            // Not the log that was read: where it said the vectors are means nothing now.
            return Ok(());
        }
        for pos in 0..plan.to_embed.len() {
            let found = &plan.found[plan.to_embed[pos]];
            let path = path_bytes(&found.rel_path);
            let Some(done) = pending.done(&path, found.fingerprint, log) else {
                continue;
            };
            self.skip_failed(plan, pos, &done);
            work.recovered += matches!(done, Done::Embedded(..)) as usize;
            work.done[pos] = Some(done);
        }
        Ok(())
    }

    /// Reports the file of `pos` as skipped when it failed.
    fn skip_failed(&mut self, plan: &Plan, pos: usize, done: &Done) {
        if let Done::Failed(failure) = done {
            let path = self.lib.root.join(&plan.found[plan.to_embed[pos]].rel_path);
            self.skip(Skipped {
                path,
                reason: failure.reason.clone(),
            });
        }
    }

    /// The run's current checkpoint log and its number, the first opened on its first use:
    /// the log of `old` that is there (an interrupted run's) or a new one.
    fn journal<'w>(
        &mut self,
        old: &Vectors,
        work: &'w mut Work,
    ) -> Result<(usize, &'w mut Journal)> {
        if work.logs.is_empty() {
            self.start_log(old.generation, work)?;
        }
        let last = work.logs.len() - 1;
        Ok((last, &mut work.logs[last]))
    }

    /// Starts a checkpoint log for the index file of `generation`, the one checkpoints are
    /// appended to from now on.
    fn start_log(&mut self, generation: u64, work: &mut Work) -> Result<()> {
        let lib = self.lib;
        let file = lib.dir.join(journal::FILE);
        let (log, written) = Journal::open(&lib.dir, lib.model.id, generation, lib.model.dim)
            .map_err(Error::store("save a checkpoint in", &file))?;
        self.bytes_written += written;
        work.logs.push(log);
        Ok(())
    }

    /// Appends what was embedded since the last checkpoint to the log, from where the save
    /// reads it back rather than it be held in memory, and lets queries see it (those of a
    /// small library: see below).
    fn checkpoint(
        &mut self,
        plan: &Plan,
        old: &Vectors,
        work: &mut Work,
        known: &mut Option<Stamp>,
    ) -> Result<()> {
        let lib = self.lib;
        let (positions, changes): (Vec<usize>, Vec<_>) = work
            .unsaved
            .drain(..)
            .filter_map(|pos| Some((pos, plan.change(pos, work.done[pos].as_ref()?)?)))
            .unzip();
        if !changes.is_empty() {
            let file = lib.dir.join(journal::FILE);
            let (log, journal) = self.journal(old, work)?;
            let appended = journal
                .append(&changes)
                .map_err(Error::store("save a checkpoint in", &file))?;
            self.bytes_written += appended.written;
            for (pos, at) in positions.into_iter().zip(appended.vectors) {
                if let (Some(at), Some(Done::Embedded(held, _))) = (at, &mut work.done[pos]) {
                    *held = Held::Logged(log, at);
                }
            }
            *known = Some(stamp(&lib.dir));
        }
        let merged = plan.layout(old, &work.done, &work.logs);
        let indexed = merged.listing.len();
        if !lib.is_large(old.len().max(indexed), merged.dim()) {
            if let Ok(merged) = merged.into_vectors() {
                old.data.release();
                lib.publish(Snapshot::new(merged, Speedups::default()));
                work.shown = indexed;
            }
        } else if indexed >= 2 * work.shown {
            // A large index's rows would be copied into memory at every checkpoint: its
            // queries see the new photos when the run saves, which it does now and then as
            // it grows, each time it has doubled (so the saves write at most twice the last).
            // The embedding holds the shared worker threads (each waiting to hand this thread
            // its next photo), so the save's parallel parts run on threads of their own.
            if let Ok(pool) = rayon::ThreadPoolBuilder::new().build() {
                let saved = pool.install(|| self.save_so_far(merged, old))?;
                // Checkpoints from now on apply to the file just saved.
                self.start_log(saved.generation, work)?;
                work.shown = saved.len();
                let (cancel, progress) = (self.cancel, self.progress);
                self.bytes_written +=
                    pool.install(|| lib.make_codes(&saved, None, cancel, progress))?;
                *known = Some(stamp(&lib.dir));
            }
        }
        emit(self.progress, Event::Saved { indexed });
        Ok(())
    }

    /// Saves what the run has so far as the index, for queries to see.
    fn save_so_far(&mut self, mut merged: Merged, old: &Vectors) -> Result<Arc<Vectors>> {
        let file = self.lib.dir.join(crate::library::VECTORS_FILE);
        self.write_index(&mut merged, &file)?;
        old.data.release();
        let vectors = merged
            .into_saved(&file)
            .map_err(Error::store("read back the index saved in", &file))?;
        let saved = Snapshot::new(vectors, Speedups::default());
        let vectors = saved.vectors.clone();
        self.lib.publish(saved);
        Ok(vectors)
    }

    /// Writes `merged` as the index file `file`, its rows streamed from where they are.
    fn write_index(&mut self, merged: &mut Merged, file: &Path) -> Result<()> {
        let saved = merged.sample_pairs().and_then(|()| {
            format::save_vectors_from(file, self.lib.model.id, &merged.listing, &*merged)
        });
        self.bytes_written += saved.map_err(Error::store("save the index in", file))?;
        Ok(())
    }

    /// Writes the new index in one piece (replacing the checkpoint log) when anything changed;
    /// with what of the old index's codes the new one can keep.
    fn save(
        &mut self,
        plan: &Plan,
        old: &Snapshot,
        work: &Work,
        known: &mut Option<Stamp>,
    ) -> Result<(Arc<Vectors>, Option<Reuse>)> {
        let lib = self.lib;
        let processed = work.done.iter().any(Option::is_some);
        let file = lib.dir.join(crate::library::VECTORS_FILE);
        let log = lib.dir.join(journal::FILE);
        let changed = processed
            || plan.removed > 0
            || plan.rewrites_entries()
            || !file.exists()
            || log.exists();
        if !changed {
            return Ok((old.vectors.clone(), None));
        }
        // The rows go from where they are (this run's vectors, the old file) straight into the
        // new file: a large library's are never all held at once.
        let mut merged = plan.layout(&old.vectors, &work.done, &work.logs);
        let saved = self.write_index(&mut merged, &file);
        old.vectors.data.release();
        saved?;
        let reuse = old.speedups.codes.clone().and_then(|codes| {
            let of_old = codes.generation == old.vectors.generation;
            (of_old && codes.len() == old.vectors.len()).then(|| Reuse {
                codes,
                from: merged.origins(),
            })
        });
        let vectors = merged
            .into_saved(&file)
            .map_err(Error::store("read back the index saved in", &file))?;
        if plan.removed > 0 {
            // Only saves work later (an Undo): a failure here costs nothing now.
            self.bytes_written +=
                moves::remember_removed(&lib.dir, lib.model.id, &old.vectors, &vectors)
                    .unwrap_or(0);
        }
        match std::fs::remove_file(&log) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::store("remove the checkpoint log", &log)(e)),
        }
        *known = Some(stamp(&lib.dir));
        let saved = Snapshot::new(vectors, Speedups::default());
        let vectors = saved.vectors.clone();
        lib.publish(saved);
        Ok((vectors, reuse))
    }

    /// Removes the index of a folder no longer there once this folder holds every one of its
    /// photos as the very same files (it was renamed or moved): it has nothing left to give,
    /// and would otherwise be left behind. An index of a folder merely copied here, or of a
    /// drive not mounted, is kept.
    fn retire_adopted_indexes(&mut self, now: &Vectors) {
        for gone in std::mem::take(&mut self.vanished) {
            let folder = crate::index::store::path_from_bytes(&gone.vectors.folder);
            if folder.exists() || !gone.adopted_by(now) {
                continue;
            }
            let words = match std::fs::remove_dir_all(&gone.dir) {
                Ok(()) => "its old index was removed",
                Err(_) => "its old index could not be removed",
            };
            self.notice(format!(
                "{} photos were recognised from the index of {}, which is no longer there (renamed or moved here): none was embedded again, and {words}.",
                gone.vectors.len(),
                folder.display()
            ));
        }
    }

    fn summary(self, plan: &Plan, work: &Work, indexed: usize) -> Summary {
        let mut embedded = 0;
        let mut vanished = 0;
        let mut lost_vector = false;
        for (pos, d) in work.done.iter().enumerate() {
            match d {
                Some(Done::Embedded(..)) => embedded += 1,
                Some(Done::Vanished) => vanished += 1,
                _ => {}
            }
            if matches!(d, Some(Done::Failed(_) | Done::Vanished)) {
                lost_vector |= plan.replaces_a_vector(pos);
            }
        }
        let seconds = self.started.elapsed().as_secs_f64();
        // Those taken from an interrupted run's log were not embedded by this one.
        let fresh = embedded - work.recovered;
        Summary {
            indexed,
            embedded: fresh,
            recovered: work.recovered,
            reused: plan.reused(),
            moved: plan.moved,
            shared: plan.shared,
            removed: plan.removed,
            kept_missing: plan.kept_missing,
            vanished,
            changed: embedded > 0 || plan.removed > 0 || plan.adopted() > 0 || lost_vector,
            skipped: self.skipped,
            cancelled: self.cancel.is_cancelled(),
            seconds,
            images_per_sec: fresh as f64 / seconds.max(1e-6),
            bytes_written: self.bytes_written,
        }
    }

    /// The summary of a run that stopped before it planned anything (cancelled early).
    fn summary_of_nothing(self) -> Summary {
        Summary {
            indexed: self.lib.len(),
            cancelled: true,
            seconds: self.started.elapsed().as_secs_f64(),
            ..Summary::default()
        }
    }
}

/// Decodes and embeds one file. A file that disappeared meanwhile is `Vanished` (the next scan
/// finds it under its new name); any other failure, a crash of a decoder included, is the
/// reason shown to the person.
fn embed_one(session: &mut Session, path: &Path, size: u64) -> Done {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (input, content) = match read_input(path, size) {
            Ok(read) => read,
            Err(decode::DecodeError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Done::Vanished
            }
            Err(e) => return failed(e.to_string(), e.is_lasting()),
        };
        match session.embed(&input) {
            Ok(v) => Done::Embedded(Held::Memory(v), content),
            Err(e) => failed(format!("the model failed on it: {e}"), false),
        }
    }));
    result.unwrap_or_else(|panic| {
        let why = format!("the decoder crashed on it ({})", panic_text(panic.as_ref()));
        failed(why, true)
    })
}

fn failed(reason: String, lasting: bool) -> Done {
    Done::Failed(Failure { reason, lasting })
}

/// The model input of the file at `path`, and its content key, from one read of the file (the
/// key only when the bytes read are the whole file of the scanned `size`).
fn read_input(
    path: &Path,
    size: u64,
) -> std::result::Result<(Vec<f32>, Option<ContentKey>), decode::DecodeError> {
    let bytes = decode::read_image(path)?;
    let content = (bytes.len() as u64 == size).then(|| content_key::key_of_bytes(&bytes));
    Ok((preprocess::model_input_of(&bytes)?, content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_ends_when_the_job_fails_or_panics_without_a_last_event() {
        let mut seen = Vec::new();
        let result: Result<()> = run_forwarding(
            |tx| {
                emit(Some(tx), Event::Scanning { found: 1 });
                Err(Error::NotAFolder("/x".into()))
            },
            |e| seen.push(format!("{e:?}")),
        );
        assert!(matches!(result, Err(Error::NotAFolder(_))));
        assert_eq!(seen.len(), 1);

        let result: Result<()> = run_forwarding(
            |tx| {
                emit(Some(tx), Event::Scanning { found: 2 });
                panic!("disk on fire")
            },
            |_| {},
        );
        match result {
            Err(Error::Crashed(text)) => assert!(text.contains("disk on fire")),
            other => panic!("{other:?}"),
        }
    }
}
