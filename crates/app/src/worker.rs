//! The bridge between the window and the engine: every slow thing (loading the model, opening
//! and indexing a folder, queries, native dialogs) runs on a background thread here, and
//! reports back as [`Msg`]s on one channel that the UI thread drains each frame.

use super::failure::Failure;
use super::state::duplicates::{Decide, Found, Level, LEVELS};
use super::state::{Command, Msg, Settings};
use crossbeam_channel::{Receiver, Sender};
use photo_sim_engine::decode::details::Details;
use photo_sim_engine::library::{Request, Tile};
use photo_sim_engine::{CancelToken, Event};
use photo_sim_engine::{Library, Model, Store, UpdateOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Wakes the UI thread (asks for a repaint) after a message was sent.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Where the model comes from.
pub enum ModelSource {
    /// Load it (the built-in one, or an ONNX file) on a background thread.
    Load(Option<PathBuf>),
    /// Already loaded (tests share one).
    Loaded(Arc<Model>),
}

/// The model, once the loading thread has it.
#[derive(Default)]
struct ModelSlot {
    value: Mutex<Option<Result<Arc<Model>, Failure>>>,
    ready: Condvar,
}

impl ModelSlot {
    fn set(&self, value: Result<Arc<Model>, Failure>) {
        *self.value.lock().expect("model lock") = Some(value);
        self.ready.notify_all();
    }

    fn wait(&self) -> Result<Arc<Model>, Failure> {
        let mut value = self.value.lock().expect("model lock");
        loop {
            if let Some(v) = &*value {
                return v.clone();
            }
            value = self.ready.wait(value).expect("model lock");
        }
    }
}

/// The native dialogs the app shows.
#[derive(Clone, Copy)]
enum Dialog {
    Folder,
    Photo,
    MoveTarget,
}

/// A dialog that returns sooner than this did not wait for a person: it failed to show.
const DIALOG_FAILED_WITHIN: Duration = Duration::from_millis(400);

/// How often the open folder's index files are looked at for another process's saves (two
/// `stat`s each time).
const LOOK_FOR_SAVES_EVERY: Duration = Duration::from_secs(2);

pub struct Worker {
    store: Store,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    wake: Waker,
    model: Arc<ModelSlot>,
    library: Arc<RwLock<Option<Arc<Library>>>>,
    /// Stops the running update (the Cancel button).
    cancel: CancelToken,
    /// Set when the open folder is left (another one opens, or the window closes).
    left: CancelToken,
    /// The thread opening and indexing the current folder, then following other processes'
    /// saves of its index.
    job: Option<JoinHandle<()>>,
    queries: Sender<(u64, Request)>,
    /// Searches for duplicates, answered one at a time, in order (see `duplicates_loop`).
    duplicates: Sender<DuplicatesJob>,
    /// Settings to write, on a thread of their own (each pivot saves the history: its fsync
    /// must not hold up a frame).
    settings: Option<Sender<Settings>>,
    settings_writer: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn new(store: Store, model: ModelSource, wake: Waker) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        let slot = Arc::new(ModelSlot::default());
        match model {
            ModelSource::Loaded(m) => slot.set(Ok(m)),
            ModelSource::Load(path) => {
                let slot = slot.clone();
                let (tx, wake) = (tx.clone(), wake.clone());
                std::thread::Builder::new()
                    .name("load-model".into())
                    .spawn(move || {
                        let result = Model::load(path.as_deref())
                            .map(Arc::new)
                            .map_err(|e| Failure::ModelNotLoaded(Arc::new(e)));
                        if let Err(e) = &result {
                            let _ = tx.send(Msg::Error(e.clone()));
                            wake();
                        }
                        slot.set(result);
                    })
                    .expect("spawn a thread");
            }
        }
        let library: Arc<RwLock<Option<Arc<Library>>>> = Arc::default();
        let (queries, query_rx) = crossbeam_channel::unbounded::<(u64, Request)>();
        {
            let (tx, wake, library) = (tx.clone(), wake.clone(), library.clone());
            std::thread::Builder::new()
                .name("queries".into())
                .spawn(move || query_loop(query_rx, library, tx, wake))
                .expect("spawn a thread");
        }
        let (duplicates, duplicates_rx) = crossbeam_channel::unbounded::<DuplicatesJob>();
        {
            let (tx, wake, library) = (tx.clone(), wake.clone(), library.clone());
            std::thread::Builder::new()
                .name("duplicates".into())
                .spawn(move || duplicates_loop(duplicates_rx, library, tx, wake))
                .expect("spawn a thread");
        }
        let (settings, settings_rx) = crossbeam_channel::unbounded::<Settings>();
        let settings_writer = {
            let (tx, wake, dir) = (tx.clone(), wake.clone(), store.config_dir.clone());
            std::thread::Builder::new()
                .name("settings".into())
                .spawn(move || {
                    while let Ok(mut latest) = settings_rx.recv() {
                        // Only the newest of a burst of changes needs writing.
                        while let Ok(newer) = settings_rx.try_recv() {
                            latest = newer;
                        }
                        if let Err(e) = latest.save(&dir) {
                            let _ = tx.send(Msg::Error(Failure::SettingsNotSaved(Arc::new(e))));
                            wake();
                        }
                    }
                })
                .expect("spawn a thread")
        };
        Self {
            settings: Some(settings),
            settings_writer: Some(settings_writer),
            store,
            tx,
            rx,
            wake,
            model: slot,
            library,
            cancel: CancelToken::new(),
            left: CancelToken::new(),
            job: None,
            queries,
            duplicates,
        }
    }

    /// Messages that arrived since the last call.
    pub fn poll(&self) -> Vec<Msg> {
        self.rx.try_iter().collect()
    }

    pub fn run(&mut self, command: Command) {
        match command {
            Command::PickFolder => self.dialog(Dialog::Folder),
            Command::PickPhoto => self.dialog(Dialog::Photo),
            Command::PickMoveTarget => self.dialog(Dialog::MoveTarget),
            Command::FindDuplicates {
                id,
                rule,
                custom,
                change,
            } => {
                let _ = self.duplicates.send(DuplicatesJob {
                    id,
                    rule,
                    custom,
                    change,
                });
            }
            Command::MovePhotos { photos, to, create } => {
                self.in_background("move", move || Msg::Moved {
                    reports: photo_sim_engine::relocate::move_photos_creating(&photos, &to, create),
                })
            }
            Command::CheckMoveTarget(dir) => {
                self.in_background("check folder", move || Msg::MoveTargetChecked {
                    exists: dir.is_dir(),
                    dir,
                })
            }
            Command::PutBack { reports } => self.in_background("undo", move || Msg::PutBack {
                reports: photo_sim_engine::relocate::put_back(&reports),
            }),
            Command::CheckFolder(folder) => self.in_background("check folder", move || {
                Msg::FolderChecked(
                    photo_sim_engine::library::folder_root(&folder).map_err(Failure::from),
                )
            }),
            Command::Open {
                folder,
                generation,
                prune,
            } => self.open(folder, generation, prune),
            Command::Query { id, request } => {
                let _ = self.queries.send((id, request));
            }
            Command::Describe(paths) => {
                let root = self.open_root();
                self.in_background("describe", move || {
                    Msg::Described(describe(&paths, root.as_deref()))
                })
            }
            Command::Cancel => self.cancel.cancel(),
            Command::OpenExternal(path) => self.open_external(&path),
            Command::ShowInFolder(path) => {
                let dir = if path.is_dir() {
                    path
                } else {
                    path.parent().map(Path::to_path_buf).unwrap_or(path)
                };
                self.open_external(&dir)
            }
            Command::SaveSettings(settings) => self.save_settings(settings),
        }
    }

    fn send(&self, msg: Msg) {
        let _ = self.tx.send(msg);
        (self.wake)();
    }

    fn save_settings(&self, settings: Settings) {
        if let Some(writer) = &self.settings {
            let _ = writer.send(settings);
        }
    }

    fn open_external(&self, path: &Path) {
        if open::that_detached(path).is_err() {
            self.send(Msg::Error(Failure::no_program(path)));
        }
    }

    /// Runs `work` on a thread of its own and sends its message.
    fn in_background(&self, name: &str, work: impl FnOnce() -> Msg + Send + 'static) {
        let (tx, wake) = (self.tx.clone(), self.wake.clone());
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _ = tx.send(work());
                wake();
            })
            .expect("spawn a thread");
    }

    /// Groups the open folder's photos at every level the Duplicates view offers.
    /// The folder of the open library, if any.
    fn open_root(&self) -> Option<PathBuf> {
        self.library
            .read()
            .expect("library lock")
            .as_ref()
            .map(|l| l.root().to_path_buf())
    }

    fn dialog(&self, kind: Dialog) {
        let start = self.open_root();
        self.in_background("dialog", move || {
            let started = Instant::now();
            let mut dialog = rfd::FileDialog::new();
            if let Some(dir) = start {
                dialog = dialog.set_directory(dir);
            }
            let path = match kind {
                Dialog::Folder => dialog.set_title("Open a folder of photos").pick_folder(),
                Dialog::MoveTarget => dialog
                    .set_title("Move the selected photos to…")
                    .pick_folder(),
                Dialog::Photo => dialog
                    .set_title("Choose a photo")
                    .add_filter("Images", photo_sim_engine::index::IMAGE_EXTENSIONS)
                    .pick_file(),
            };
            let failed = path.is_none() && started.elapsed() < DIALOG_FAILED_WITHIN;
            match kind {
                Dialog::Folder => Msg::PickedFolder { path, failed },
                Dialog::MoveTarget => Msg::PickedMoveTarget { path, failed },
                Dialog::Photo => Msg::PickedPhoto { path, failed },
            }
        });
    }

    /// Opens `folder` and brings its index up to date, on a background thread, which then
    /// follows what other processes save of it until the folder is left. The previous
    /// folder's indexing is cancelled and waited for first, so two runs never write at once.
    fn open(&mut self, folder: PathBuf, generation: u64, prune: bool) {
        self.cancel.cancel();
        self.left.cancel();
        self.cancel = CancelToken::new();
        self.left = CancelToken::new();
        let previous = self.job.take();
        let (cancel, left) = (self.cancel.clone(), self.left.clone());
        let (tx, wake) = (self.tx.clone(), self.wake.clone());
        let (model, library, store) =
            (self.model.clone(), self.library.clone(), self.store.clone());
        let job = std::thread::Builder::new()
            .name("index".into())
            .spawn(move || {
                if let Some(previous) = previous {
                    let _ = previous.join();
                }
                let send = |msg| {
                    let _ = tx.send(msg);
                    wake();
                };
                let fail = |error: Failure| send(Msg::OpenFailed { generation, error });
                let model = match model.wait() {
                    Ok(m) => m,
                    Err(e) => return fail(e),
                };
                if cancel.is_cancelled() {
                    return;
                }
                let lib = match Library::open(&folder, &store, model) {
                    Ok(l) => Arc::new(l),
                    Err(e) => return fail(e.into()),
                };
                *library.write().expect("library lock") = Some(lib.clone());
                send(Msg::Opened {
                    generation,
                    root: lib.root().to_path_buf(),
                    indexed: lib.len(),
                    notices: lib.notices().to_vec(),
                    skipped: lib.skipped(),
                });
                let result = photo_sim_engine::run_update(
                    &lib,
                    &UpdateOptions { prune },
                    &cancel,
                    |event| send(Msg::Index { generation, event }),
                );
                send(Msg::Indexed {
                    generation,
                    result: result.map_err(Failure::from),
                });
                // To the state another process's save is a checkpoint: the count, the
                // matches and the duplicates follow it.
                follow_saves(&lib, &left, |indexed| {
                    send(Msg::Index {
                        generation,
                        event: Event::Saved { indexed },
                    })
                });
            })
            .expect("spawn a thread");
        self.job = Some(job);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the window stops indexing cleanly; what was embedded is saved.
        self.cancel.cancel();
        self.left.cancel();
        if let Some(job) = self.job.take() {
            let _ = job.join();
        }
        // The last settings are written before the app is gone.
        drop(self.settings.take());
        if let Some(writer) = self.settings_writer.take() {
            let _ = writer.join();
        }
    }
}

/// Until the folder is `left`, reads its index again every [`LOOK_FOR_SAVES_EVERY`] when
/// another process (`photo-sim index`, another window) saved it, and tells `changed` how many
/// photos it holds now. Runs only after this window's own update ended: the update reads
/// what others saved when it starts.
fn follow_saves(lib: &Library, left: &CancelToken, mut changed: impl FnMut(usize)) {
    // Short sleeps, so leaving the folder is never kept waiting.
    const NAP: Duration = Duration::from_millis(50);
    let mut next = Instant::now() + LOOK_FOR_SAVES_EVERY;
    while !left.is_cancelled() {
        if Instant::now() >= next {
            if let Some(indexed) = lib.reload_if_changed() {
                changed(indexed);
            }
            next = Instant::now() + LOOK_FOR_SAVES_EVERY;
        }
        std::thread::sleep(NAP);
    }
}

/// Answers queries one at a time; when several wait, only the newest is answered (the others
/// would be ignored by the state anyway).
fn query_loop(
    rx: Receiver<(u64, Request)>,
    library: Arc<RwLock<Option<Arc<Library>>>>,
    tx: Sender<Msg>,
    wake: Waker,
) {
    // Queries get threads of their own: in rayon's global pool, which indexing keeps full,
    // they would wait until indexing ends instead of showing matches while it runs.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .thread_name(|i| format!("query-{i}"))
        .build()
        .expect("a thread pool for queries");
    while let Ok(mut job) = rx.recv() {
        while let Ok(newer) = rx.try_recv() {
            job = newer;
        }
        let (id, request) = job;
        let started = Instant::now();
        let lib = library.read().expect("library lock").clone();
        let msg = match pool.install(|| search(lib.as_deref(), request)) {
            Ok((query, tiles, searched)) => {
                let root = lib.as_deref().map(Library::root);
                let details = pool.install(|| described(&query, &tiles, root));
                Msg::Results {
                    id,
                    query,
                    tiles,
                    details,
                    searched,
                    elapsed: started.elapsed(),
                }
            }
            Err(error) => Msg::QueryFailed { id, error },
        };
        let _ = tx.send(msg);
        wake();
    }
}

/// The hover cards of the query and of each tile's best photo (headers only: a few
/// milliseconds for a page). A group's other photos are described when it is expanded.
fn described(query: &Path, tiles: &[Tile], root: Option<&Path>) -> Vec<(PathBuf, Details)> {
    let paths: Vec<PathBuf> = std::iter::once(query.to_path_buf())
        .chain(tiles.iter().map(|t| t.best.path.clone()))
        .collect();
    describe(&paths, root)
}

fn describe(paths: &[PathBuf], root: Option<&Path>) -> Vec<(PathBuf, Details)> {
    use rayon::prelude::*;
    paths
        .par_iter()
        .map(|p| (p.clone(), photo_sim_engine::decode::details::of(p, root)))
        .collect()
}

fn search(
    lib: Option<&Library>,
    mut request: Request,
) -> Result<(PathBuf, Vec<Tile>, bool), Failure> {
    let path = &request.photo;
    let query = path.canonicalize().map_err(|e| Failure::CannotOpen {
        path: path.clone(),
        cause: Arc::new(e),
    })?;
    if query.is_dir() {
        return Err(Failure::FolderNotPhoto(query));
    }
    request.photo = query.clone();
    match lib {
        Some(lib) => photo_sim_engine::library::browse(lib, &request)
            .map(|tiles| (query, tiles, true))
            .map_err(Failure::from),
        None => {
            // No folder to search yet: check that the photo is one, so a bad drop says so now.
            photo_sim_engine::decode::sniff(&query).map_err(|e| Failure::NotAPhoto {
                path: query.clone(),
                cause: Arc::new(e),
            })?;
            Ok((query, Vec::new(), false))
        }
    }
}

/// A search for duplicates, as `Command::FindDuplicates` asks it.
struct DuplicatesJob {
    id: u64,
    rule: photo_sim_engine::KeeperRule,
    custom: Option<f32>,
    change: Option<Decide>,
}

/// Answers searches for duplicates one at a time, in the order asked: a decision is saved
/// before any later search reads the decisions, and no two saves race. When several wait,
/// their decisions are all made, and only the newest is answered (the state ignores the
/// others); dragging the slider so costs one grouping at a time.
fn duplicates_loop(
    rx: Receiver<DuplicatesJob>,
    library: Arc<RwLock<Option<Arc<Library>>>>,
    tx: Sender<Msg>,
    wake: Waker,
) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        let changes: Vec<Decide> = jobs.iter_mut().filter_map(|j| j.change.take()).collect();
        let last = jobs.pop().expect("one job at least");
        let lib = library.read().expect("library lock").clone();
        let result = lib
            .ok_or(Failure::NoFolder)
            .and_then(|lib| group_duplicates(&lib, &last.rule, last.custom, changes));
        let _ = tx.send(Msg::Duplicates {
            id: last.id,
            result,
        });
        wake();
    }
}

/// The groups of `lib` at every level, and at `custom` (clamped to the loosest level), with
/// keepers chosen by `rule`, after `changes` to the remembered decisions, in order. Decisions
/// that cannot be read leave the groups whole, and say why.
fn group_duplicates(
    lib: &Library,
    rule: &photo_sim_engine::KeeperRule,
    custom: Option<f32>,
    changes: Vec<Decide>,
) -> Result<Found, Failure> {
    let t = lib.model().thresholds().ok_or(Failure::LevelsNotMeasured)?;
    let mut changed = None;
    for change in changes {
        changed = Some(match change {
            Decide::Add { photos, verdict } => lib.decide(&photos, verdict)?,
            Decide::ForgetAll => lib.forget_decisions()?,
        });
    }
    let (apart, problem) = match changed {
        Some(apart) => (apart, None),
        None => match lib.decisions() {
            Ok(apart) => (apart, None),
            Err(e) => (Default::default(), Some(Failure::from(e))),
        },
    };
    let thresholds = LEVELS.map(|l| t.floor(l));
    let lowest = thresholds.iter().copied().fold(1.0, f32::min);
    let pairs = lib.pairs(lowest)?;
    let level = |threshold: f32| Level {
        label: t.label(threshold),
        threshold,
        groups: pairs.groups(threshold, rule, &apart),
    };
    Ok(Found {
        levels: LEVELS
            .iter()
            .zip(thresholds)
            .map(|(&label, threshold)| Level {
                label,
                ..level(threshold)
            })
            .collect(),
        custom: custom.map(|c| level(c.clamp(lowest, 1.0))),
        decided: apart.len(),
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_for(worker: &Worker, what: &str, done: impl Fn(&Msg) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if worker.poll().iter().any(&done) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("no answer: {what}");
        false
    }

    #[test]
    fn queries_are_answered_while_indexing_keeps_the_global_pool_busy() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("photos");
        std::fs::create_dir(&folder).unwrap();
        for i in 0..3u8 {
            let img = image::RgbImage::from_fn(96, 64, |x, y| {
                image::Rgb([(x * 2) as u8, (y * 3) as u8 ^ (i * 60), i * 80])
            });
            img.save(folder.join(format!("{i}.png"))).unwrap();
        }
        let model = Arc::new(Model::load(None).unwrap());
        let store = Store::under(&dir.path().join("data"));
        let mut engine = Worker::new(store, ModelSource::Loaded(model), Arc::new(|| {}));
        engine.run(Command::Open {
            folder: folder.clone(),
            generation: 1,
            prune: false,
        });
        assert!(wait_for(&engine, "indexing", |m| matches!(
            m,
            Msg::Indexed { .. }
        )));

        // Every thread of rayon's global pool busy, as while a big folder indexes.
        let release = Arc::new(std::sync::atomic::AtomicBool::new(false));
        for _ in 0..rayon::current_num_threads() {
            let release = release.clone();
            rayon::spawn(move || {
                while !release.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
        }
        std::thread::sleep(Duration::from_millis(100));
        engine.run(Command::Query {
            id: 7,
            request: Request {
                photo: folder.join("0.png"),
                tiles: 10,
                options: photo_sim_engine::QueryOptions { rotations: true },
                ..Request::default()
            },
        });
        let answered = wait_for(
            &engine,
            "the query",
            |m| matches!(m, Msg::Results { id: 7, tiles, .. } if !tiles.is_empty()),
        );
        release.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(answered, "the query waited for the busy pool");
    }
}
