//! The desktop browser: open a folder, drop a photo, see the ten that look most like it.
//!
//! - [`state`]: plain-Rust state, actions and engine messages (unit-tested without a window),
//!   built from parts: the open folder, the search, the duplicates, the dialogs, the settings
//!   and the messages;
//! - [`worker`]: background threads for the model, indexing, queries and dialogs;
//! - [`thumbs`]: thumbnail workers, disk cache and in-memory texture cache;
//! - [`view`]: drawing only, turning input into actions ([`view::duplicates`]: the Duplicates view).
//!
//! [`App`] glues them: each frame it drains engine messages into the state, draws the view,
//! applies the actions, and hands the resulting commands to the engine.

pub mod failure;
pub mod paths;
pub mod picker;
pub mod state;
pub mod status;
pub mod thumbs;
pub mod view;
pub mod widgets;
pub mod worker;

use eframe::egui;
use photo_sim_engine::{Model, Store};
use state::{Action, Command, Settings, State};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thumbs::{Size, Thumbs};
use worker::{ModelSource, Worker};

/// Environment variable: when set to 1, timings (query → results → thumbnails, frame times
/// while indexing) are logged to stderr.
pub const TIMING_ENV: &str = "PHOTO_SIM_TIMING";

/// Opens the window (on `folder` with `query` when given, else on the last folder opened).
pub fn run(
    store: Store,
    model: Option<PathBuf>,
    folder: Option<PathBuf>,
    query: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("photo-sim")
            .with_app_id("photo-sim")
            .with_inner_size([1200.0, 800.0])
            .with_min_inner_size([640.0, 450.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        // Window size and position come back on the next start.
        persist_window: true,
        persistence_path: Some(store.config_dir.join("window.ron")),
        ..Default::default()
    };
    eframe::run_native(
        "photo-sim",
        options,
        Box::new(move |cc| {
            Ok(Box::new(App::new(
                &cc.egui_ctx,
                store,
                ModelSource::Load(model),
                folder,
                query,
            )))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Frame-time statistics while indexing runs (for `PHOTO_SIM_TIMING`).
#[derive(Default)]
struct FrameStats {
    frames: u32,
    total: Duration,
    max: Duration,
    since: Option<Instant>,
    last_frame: Option<Instant>,
    max_gap: Duration,
    /// eframe's CPU time of whole frames (egui, tessellation, GL calls), in seconds.
    cpu_total: f32,
    cpu_max: f32,
}

pub struct App {
    state: State,
    worker: Worker,
    thumbs: Thumbs,
    fields: view::Fields,
    timing: bool,
    frames: FrameStats,
    /// When the app started, and whether the first matches on screen were logged.
    started: Instant,
    first_matches_logged: bool,
}

impl App {
    /// The app on `folder` (or the last folder opened) with `query`. Tests pass an already
    /// loaded model and a [`Store`] under a temporary directory.
    pub fn new(
        ctx: &egui::Context,
        store: Store,
        model: ModelSource,
        folder: Option<PathBuf>,
        query: Option<PathBuf>,
    ) -> Self {
        let settings = Settings::load(&store.config_dir);
        // Ctrl+plus and Ctrl+minus size the thumbnails, not the whole interface.
        ctx.options_mut(|o| o.zoom_with_keyboard = false);
        let wake_ctx = ctx.clone();
        let worker = Worker::new(
            store.clone(),
            model,
            Arc::new(move || wake_ctx.request_repaint()),
        );
        let thumbs = Thumbs::new(ctx.clone(), &store.cache_dir);
        let folder = folder.or_else(|| settings.last_folder.clone().filter(|f| f.is_dir()));
        let mut app = Self {
            state: State::new(settings),
            worker,
            thumbs,
            fields: view::Fields::default(),
            timing: std::env::var(TIMING_ENV).is_ok_and(|v| v == "1"),
            frames: FrameStats::default(),
            started: Instant::now(),
            first_matches_logged: false,
        };
        if let Some(f) = folder {
            app.fields.folder_path = f.display().to_string();
            app.apply(Action::OpenFolder(f));
        }
        if let Some(q) = query {
            app.apply(Action::SetQuery(q));
        }
        let commands = app.state.resume();
        app.run_commands(commands);
        app
    }

    /// A test's app: a loaded model, nothing opened.
    pub fn with_model(ctx: &egui::Context, store: Store, model: Arc<Model>) -> Self {
        Self::new(ctx, store, ModelSource::Loaded(model), None, None)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// True when the query's picture and all its matches' thumbnails are in memory.
    pub fn thumbnails_ready(&self) -> bool {
        self.state.search.current().is_some_and(|s| {
            self.thumbs.is_ready(&s.path, Size::Large)
                && s.results
                    .iter()
                    .flatten()
                    .all(|t| self.thumbs.is_ready(&t.best.path, Size::Grid))
        })
    }

    /// Applies an action as if the person had done it.
    pub fn apply(&mut self, action: Action) {
        let commands = self.state.apply(action);
        self.run_commands(commands);
    }

    fn run_commands(&mut self, commands: Vec<Command>) {
        for c in commands {
            self.worker.run(c);
        }
    }

    /// Drains engine and thumbnail messages (each frame, before drawing).
    pub fn poll(&mut self) {
        for msg in self.worker.poll() {
            let was_indexing = self.state.folder.is_indexing();
            let commands = self.state.handle(msg);
            if was_indexing && !self.state.folder.is_indexing() {
                self.thumbs.forget_failures();
            }
            self.run_commands(commands);
        }
        self.thumbs.poll();
    }

    fn log_timing(&mut self, frame_time: Duration, cpu_usage: Option<f32>) {
        let now = Instant::now();
        // Query: issued → engine results → all thumbnails on screen.
        let all_ready = self.thumbnails_ready();
        if all_ready && !self.first_matches_logged && !self.state.search.tiles().is_empty() {
            self.first_matches_logged = true;
            eprintln!(
                "timing: first matches on screen {:.2} s after start ({} photos indexed so far)",
                self.started.elapsed().as_secs_f64(),
                self.state.folder.indexed,
            );
        }
        if let Some(t) = &mut self.state.search.timing {
            if let (Some(results_at), false) = (t.results_at, t.thumbs_logged) {
                if all_ready {
                    t.thumbs_logged = true;
                    eprintln!(
                        "timing: query engine {:.2} ms, issued → results {:.2} ms, issued → all thumbnails ready {:.1} ms ({} textures in memory)",
                        t.engine.unwrap_or_default().as_secs_f64() * 1e3,
                        (results_at - t.issued).as_secs_f64() * 1e3,
                        (now - t.issued).as_secs_f64() * 1e3,
                        self.thumbs.in_memory(),
                    );
                }
            }
        }
        // Frames while indexing: time spent building each frame and the gap between frames.
        let f = &mut self.frames;
        if self.state.folder.is_indexing() {
            f.frames += 1;
            f.total += frame_time;
            f.max = f.max.max(frame_time);
            if let Some(cpu) = cpu_usage {
                f.cpu_total += cpu;
                f.cpu_max = f.cpu_max.max(cpu);
            }
            if let Some(last) = f.last_frame {
                f.max_gap = f.max_gap.max(now - last);
            }
            f.last_frame = Some(now);
            let since = *f.since.get_or_insert(now);
            if now - since >= Duration::from_secs(5) {
                eprintln!(
                    "timing: {} frames while indexing in {:.1} s: ui build avg {:.2} ms, max {:.2} ms; whole frame (cpu) avg {:.2} ms, max {:.2} ms; longest gap between frames {:.0} ms",
                    f.frames,
                    (now - since).as_secs_f64(),
                    f.total.as_secs_f64() * 1e3 / f.frames as f64,
                    f.max.as_secs_f64() * 1e3,
                    f.cpu_total * 1e3 / f.frames.max(1) as f32,
                    f.cpu_max * 1e3,
                    f.max_gap.as_secs_f64() * 1e3,
                );
                *f = FrameStats::default();
            }
        } else {
            if let Some(since) = f.since {
                eprintln!(
                    "timing: indexing finished; last {} frames in {:.1} s: ui build avg {:.2} ms, max {:.2} ms; whole frame (cpu) avg {:.2} ms, max {:.2} ms; longest gap between frames {:.0} ms",
                    f.frames,
                    (now - since).as_secs_f64(),
                    f.total.as_secs_f64() * 1e3 / f.frames.max(1) as f64,
                    f.max.as_secs_f64() * 1e3,
                    f.cpu_total * 1e3 / f.frames.max(1) as f32,
                    f.cpu_max * 1e3,
                    f.max_gap.as_secs_f64() * 1e3,
                );
            }
            *f = FrameStats::default();
        }
    }
}

impl eframe::App for App {
    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.poll();
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let started = Instant::now();
        self.fields.follow_query(self.state.search.query());
        // Ctrl+Q closes the window the way its close button does (the window's size and place
        // are saved for the next start).
        if ui
            .ctx()
            .input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Q))
        {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        let actions = view::draw(ui, &self.state, &mut self.thumbs, &mut self.fields);
        for action in actions {
            if let Action::OpenFolder(f) = &action {
                self.fields.folder_path = f.display().to_string();
            }
            self.apply(action);
        }
        if self.timing {
            self.log_timing(started.elapsed(), frame.info().cpu_usage);
        }
        if self.state.busy() {
            // Progress arrives as messages (which wake the window); this keeps the spinner and
            // ETA moving without spinning the CPU.
            ui.ctx().request_repaint_after(Duration::from_millis(100));
        }
    }
}
