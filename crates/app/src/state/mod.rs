//! The browser's state and everything that changes it, as plain Rust (no window, no egui).
//!
//! The view turns clicks and keys into [`Action`]s; [`State::apply`] changes the state and
//! returns the [`Command`]s the engine must run (index a folder, answer a query, show a
//! dialog...). The engine answers with [`Msg`]s, which [`State::handle`] folds back in. So
//! every transition can be tested by feeding actions and messages, without threads or a window.

pub mod duplicates;

use super::failure::Failure;
use super::picker::{Picker, PickerAction, Purpose};
use duplicates::{Cleanup, Level};
use photo_sim_engine::decode::details::Details;
use photo_sim_engine::labels::Label;
use photo_sim_engine::library::browse::{Request, Scope, Tile};
use photo_sim_engine::progress::{Event, Skipped, Summary};
use photo_sim_engine::relocate::{Destination, Report};
use photo_sim_engine::Photo;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Tiles shown for a query, and how many more "More" shows.
pub const RESULTS: usize = 10;
/// Columns of the result grid by default (so ten tiles fill two rows).
pub const COLUMNS: usize = 5;
/// The fewest and most columns the thumbnail size control allows.
pub const MIN_COLUMNS: usize = 2;
pub const MAX_COLUMNS: usize = 10;
/// Queries remembered across restarts.
const SAVED_STEPS: usize = 50;

/// Where the matches of a query may be, relative to the query's own folder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Where {
    #[default]
    Everywhere,
    /// Only in the query's folder (and its sub-folders).
    QueryFolder,
    /// Anywhere but the query's folder: the same subject in other albums.
    ElsewhereThanQueryFolder,
}

impl Where {
    pub const ALL: [Where; 3] = [
        Where::Everywhere,
        Where::QueryFolder,
        Where::ElsewhereThanQueryFolder,
    ];

    pub fn words(self) -> &'static str {
        match self {
            Where::Everywhere => "Everywhere",
            Where::QueryFolder => "Only in this folder",
            Where::ElsewhereThanQueryFolder => "Not in this folder",
        }
    }

    fn scope(self, query: &Path) -> Scope {
        let folder = query.parent().unwrap_or(query).to_path_buf();
        match self {
            Where::Everywhere => Scope::Everywhere,
            Where::QueryFolder => Scope::Inside(folder),
            Where::ElsewhereThanQueryFolder => Scope::Outside(folder),
        }
    }
}

/// One cell of the result grid: a tile's best match, or (when its group is expanded) one of
/// the near-duplicates that follow it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub m: photo_sim_engine::Match,
    /// Photos the tile stands for (1 for an expanded group's other members).
    pub count: usize,
    /// What the tile's badge says ("×3", "JPG+RAW"), when it stands for several photos.
    pub badge: Option<String>,
    /// True for the best of a group that is shown expanded.
    pub expanded: bool,
    /// True for a near-duplicate shown after its group's best.
    pub member: bool,
}

/// The two views of a folder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// A query and its ten nearest matches.
    #[default]
    Search,
    /// Groups of copies and bursts, to clean up.
    Duplicates,
}

/// Something the person asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    ShowView(View),
    /// Show the duplicate groups of this level.
    SetLevel(Label),
    /// Select or deselect a photo of a duplicate group.
    ToggleSelected(PathBuf),
    /// Select every member of the shown groups but their keepers.
    SelectAllButKeepers,
    ClearSelection,
    /// Move the selected photos to the desktop's trash.
    TrashSelected,
    /// Show the folder dialog for where to move the selected photos.
    ChooseMoveTarget,
    /// Move the selected photos into this folder.
    MoveSelectedTo(PathBuf),
    /// Search with this photo (from the Duplicates view).
    SearchWith(PathBuf),
    /// Show the selected match (or the query when none is selected) large over the grid, or
    /// close the preview if it is open.
    TogglePreview,
    ClosePreview,
    /// Show the native folder dialog.
    ChooseFolder,
    /// Show the native file dialog for a query photo.
    ChoosePhoto,
    /// Open (and index, if needed) this folder.
    OpenFolder(PathBuf),
    /// Make this photo the query (a new step in the history).
    SetQuery(PathBuf),
    /// Make the result at this grid position the query.
    Pivot(usize),
    /// Pivot to the selected result.
    PivotSelected,
    Back,
    Forward,
    /// Stop the running indexing (what was embedded is kept).
    Cancel,
    /// Move the grid selection by columns, rows.
    MoveSelection(i32, i32),
    Select(Option<usize>),
    /// Open a file in the system viewer.
    OpenExternal(PathBuf),
    /// Open the folder that holds a file.
    ShowInFolder(PathBuf),
    /// Hide the error messages.
    DismissErrors,
    /// Show (or hide again) the near-duplicates collapsed into the tile at this cell.
    ToggleGroup(usize),
    /// Refine the query: the results should look more like the photo at this cell.
    MoreLike(usize),
    /// Refine the query: the results should look less like the photo at this cell.
    LessLike(usize),
    /// Take a photo out of the query's "more like" or "less like" examples.
    RemoveExample(PathBuf),
    SetWhere(Where),
    /// Show the next ten tiles.
    ShowMore,
    /// Bigger (negative) or smaller (positive) thumbnails: fewer or more columns.
    Zoom(i32),
    /// Something done in the in-app picker.
    Picker(PickerAction),
    /// Show or hide the matches under the "similar" cut.
    ShowWeak(bool),
    /// Turn the search for rotated copies on or off (the open query is searched again).
    SetRotations(bool),
    /// Remove the photos whose files are missing from the index (the person confirms they were
    /// deleted, not on a drive that is not mounted).
    PruneMissing,
}

/// Work for the engine, produced by [`State::apply`] and [`State::handle`].
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    PickFolder,
    PickPhoto,
    /// The folder dialog for where to move photos.
    PickMoveTarget,
    /// Find the duplicate groups of the open folder at every level; `id` tags the answer.
    FindDuplicates {
        id: u64,
    },
    /// Move these photos (each checked against its indexed size and time first).
    MovePhotos {
        photos: Vec<Photo>,
        to: Destination,
    },
    /// Open this folder's index and bring it up to date; `generation` tags its messages.
    /// `prune` removes missing photos even when most of the index vanished at once.
    Open {
        folder: PathBuf,
        generation: u64,
        prune: bool,
    },
    /// Find the matches of `path`; `id` tags the answer.
    Query {
        id: u64,
        request: Request,
    },
    /// Read the hover-card details of these photos.
    Describe(Vec<PathBuf>),
    Cancel,
    OpenExternal(PathBuf),
    ShowInFolder(PathBuf),
    /// Remember the settings on disk.
    SaveSettings(Settings),
}

/// What the engine reports back.
#[derive(Clone, Debug)]
pub enum Msg {
    /// A folder's index was opened (indexing starts right after).
    Opened {
        generation: u64,
        root: PathBuf,
        indexed: usize,
        notices: Vec<String>,
        skipped: Vec<Skipped>,
    },
    /// The folder could not be opened.
    OpenFailed {
        generation: u64,
        error: Failure,
    },
    /// An indexing event of the folder opened with `generation`.
    Index {
        generation: u64,
        event: Event,
    },
    /// Indexing of the folder opened with `generation` ended: its summary, or why it failed
    /// (e.g. the index could not be saved).
    Indexed {
        generation: u64,
        result: Result<Summary, Failure>,
    },
    /// The answer to `Command::Query { id, .. }`. `query` is the canonical path of the query;
    /// `tiles` come best first, without the query itself; `details` describe the query and
    /// every match. `searched` is false when no folder is open (the photo was only checked to
    /// be an image).
    Results {
        id: u64,
        query: PathBuf,
        tiles: Vec<Tile>,
        details: Vec<(PathBuf, Details)>,
        searched: bool,
        elapsed: Duration,
    },
    QueryFailed {
        id: u64,
        error: Failure,
    },
    /// A dialog was closed: `None` is a cancel, or a failure when `failed` is set.
    PickedFolder {
        path: Option<PathBuf>,
        failed: bool,
    },
    PickedPhoto {
        path: Option<PathBuf>,
        failed: bool,
    },
    PickedMoveTarget {
        path: Option<PathBuf>,
        failed: bool,
    },
    /// The answer to `Command::FindDuplicates { id }`: the groups at each level.
    Duplicates {
        id: u64,
        result: Result<Vec<Level>, Failure>,
    },
    /// `Command::MovePhotos` ended: what happened to each file.
    Moved {
        reports: Vec<Report>,
    },
    /// The answer to `Command::Describe`.
    Described(Vec<(PathBuf, Details)>),
    /// Something went wrong that the person should see.
    Error(Failure),
}

/// What is remembered between runs (`settings.json` in the config directory).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub last_folder: Option<PathBuf>,
    /// Find copies of the query turned by 90°, 180° or 270° too.
    #[serde(default = "yes")]
    pub rotations: bool,
    /// Show the matches under the "similar" cut (dimmed), or hide them.
    #[serde(default = "yes")]
    pub show_weak: bool,
    /// Columns of the result grid (the thumbnail size).
    #[serde(default = "default_columns")]
    pub columns: usize,
    /// The last queries, oldest first, and which one was shown.
    #[serde(default)]
    pub history: Vec<SavedStep>,
    #[serde(default)]
    pub pos: usize,
}

/// A query as it is remembered across restarts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedStep {
    pub path: PathBuf,
    #[serde(default)]
    pub more: Vec<PathBuf>,
    #[serde(default)]
    pub less: Vec<PathBuf>,
}

fn default_columns() -> usize {
    COLUMNS
}

fn yes() -> bool {
    true
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            last_folder: None,
            rotations: true,
            show_weak: true,
            columns: COLUMNS,
            history: Vec::new(),
            pos: 0,
        }
    }
}

impl Settings {
    pub fn file(config_dir: &Path) -> PathBuf {
        config_dir.join("settings.json")
    }

    /// The saved settings, or the defaults when there are none (or they are unreadable).
    pub fn load(config_dir: &Path) -> Self {
        std::fs::read(Self::file(config_dir))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, config_dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        photo_sim_engine::index::store::write_atomic(&Self::file(config_dir), |w| {
            w.write_all(&json)
        })?;
        Ok(())
    }
}

/// Where the indexing of the open folder is.
#[derive(Clone, Debug, PartialEq)]
pub enum Indexing {
    Idle,
    /// Opening the index (and waiting for the model).
    Opening,
    Scanning {
        found: usize,
    },
    Embedding {
        done: usize,
        to_embed: usize,
        total: usize,
        images_per_sec: f64,
        eta: Option<Duration>,
    },
    BuildingGraph {
        points: usize,
    },
    Cancelling,
}

/// One query in the history, with its matches once they are known.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub path: PathBuf,
    /// Photos the matches should look more like, and less like.
    pub more: Vec<PathBuf>,
    pub less: Vec<PathBuf>,
    pub results: Option<Vec<Tile>>,
    /// The index version the results were computed on.
    pub version: u64,
    /// False when the results were computed with no folder open.
    pub searched: bool,
    /// How many tiles, where and with which rotations the results were asked for.
    pub asked: Option<(usize, Where, bool)>,
}

/// Timing of the last query, for `PHOTO_SIM_TIMING`.
#[derive(Clone, Copy, Debug)]
pub struct QueryTiming {
    pub issued: Instant,
    pub results_at: Option<Instant>,
    pub engine: Option<Duration>,
    pub thumbs_logged: bool,
}

#[derive(Debug)]
pub struct State {
    pub folder: Option<PathBuf>,
    pub indexed: usize,
    pub indexing: Indexing,
    pub last_summary: Option<Summary>,
    pub skipped: Vec<Skipped>,
    pub notices: Vec<String>,
    pub errors: Vec<String>,
    pub history: Vec<Step>,
    /// Index of the current query in `history`.
    pub pos: usize,
    pub selection: Option<usize>,
    pub settings: Settings,
    pub generation: u64,
    /// Bumped whenever the index changes, so cached results are refreshed.
    pub version: u64,
    /// The id of the query whose answer is awaited.
    pub pending_query: Option<u64>,
    next_query_id: u64,
    pub timing: Option<QueryTiming>,
    pub view: View,
    pub cleanup: Cleanup,
    /// The photo shown large over the grid, if any.
    pub preview: Option<PathBuf>,
    next_duplicates_id: u64,
    /// Tiles asked for (ten, more after "More").
    pub count: usize,
    /// The tile (by its best match) whose near-duplicates are shown.
    pub expanded: Option<PathBuf>,
    /// Where the query's matches may be.
    pub scope: Where,
    /// What the hover cards say of the query and its matches.
    pub details: HashMap<PathBuf, Details>,
    /// The in-app picker, shown where the desktop has no file dialog.
    pub picker: Option<Picker>,
}

impl Step {
    fn new(path: PathBuf, more: Vec<PathBuf>, less: Vec<PathBuf>) -> Self {
        Self {
            path,
            more,
            less,
            results: None,
            version: 0,
            searched: false,
            asked: None,
        }
    }
}

impl State {
    pub fn new(mut settings: Settings) -> Self {
        settings.columns = settings.columns.clamp(MIN_COLUMNS, MAX_COLUMNS);
        // The queries of the last run come back; they are searched once the folder opens.
        let history: Vec<Step> = settings
            .history
            .iter()
            .map(|s| Step::new(s.path.clone(), s.more.clone(), s.less.clone()))
            .collect();
        let pos = settings.pos.min(history.len().saturating_sub(1));
        Self {
            folder: None,
            indexed: 0,
            indexing: Indexing::Idle,
            last_summary: None,
            skipped: Vec::new(),
            notices: Vec::new(),
            errors: Vec::new(),
            history,
            pos,
            selection: None,
            settings,
            generation: 0,
            version: 0,
            pending_query: None,
            next_query_id: 0,
            timing: None,
            view: View::Search,
            cleanup: Cleanup::default(),
            preview: None,
            next_duplicates_id: 0,
            count: RESULTS,
            expanded: None,
            scope: Where::Everywhere,
            details: HashMap::new(),
            picker: None,
        }
    }

    /// The current query, if any.
    pub fn current(&self) -> Option<&Step> {
        self.history.get(self.pos)
    }

    pub fn query(&self) -> Option<&Path> {
        self.current().map(|s| s.path.as_path())
    }

    /// The tiles of the current query (empty while they are computed).
    pub fn tiles(&self) -> &[Tile] {
        self.current()
            .and_then(|s| s.results.as_deref())
            .unwrap_or(&[])
    }

    /// The grid's cells: each tile's best match, followed by its near-duplicates when the
    /// tile is expanded.
    pub fn cells(&self) -> Vec<Cell> {
        let mut cells = Vec::new();
        let shown = self
            .tiles()
            .iter()
            .filter(|t| self.settings.show_weak || !is_weak(&t.best));
        for t in shown {
            let expanded = !t.also.is_empty() && self.expanded.as_ref() == Some(&t.best.path);
            cells.push(Cell {
                m: t.best.clone(),
                count: t.count(),
                badge: t.badge(),
                expanded,
                member: false,
            });
            if expanded {
                cells.extend(t.also.iter().map(|m| Cell {
                    m: m.clone(),
                    count: 1,
                    badge: None,
                    expanded: false,
                    member: true,
                }));
            }
        }
        cells
    }

    /// The matches of the grid's cells, in order.
    pub fn results(&self) -> Vec<photo_sim_engine::Match> {
        self.cells().into_iter().map(|c| c.m).collect()
    }

    fn cell_path(&self, i: usize) -> Option<PathBuf> {
        self.cells().into_iter().nth(i).map(|c| c.m.path)
    }

    /// What a query is asked with besides its photos: tiles, scope, rotations.
    fn asked(&self) -> (usize, Where, bool) {
        (self.count, self.scope, self.settings.rotations)
    }

    /// Searches the current query when no folder is opening to search it in (a restored
    /// history whose folder is gone, or failed to open).
    pub fn resume(&mut self) -> Vec<Command> {
        if self.is_indexing() || self.pending_query.is_some() {
            return Vec::new();
        }
        match self.current() {
            Some(s) if s.results.is_none() => self.show_current(),
            _ => Vec::new(),
        }
    }

    /// The settings with the current history, to be saved.
    fn remember_history(&mut self) -> Command {
        let start = self.history.len().saturating_sub(SAVED_STEPS);
        self.settings.history = self.history[start..]
            .iter()
            .map(|s| SavedStep {
                path: s.path.clone(),
                more: s.more.clone(),
                less: s.less.clone(),
            })
            .collect();
        self.settings.pos = self.pos.saturating_sub(start);
        Command::SaveSettings(self.settings.clone())
    }

    /// Adds a query to the history after the current one (dropping any forward steps), shows
    /// it and remembers the history.
    fn push_step(&mut self, step: Step) -> Vec<Command> {
        if !self.history.is_empty() {
            self.history.truncate(self.pos + 1);
        }
        self.history.push(step);
        self.pos = self.history.len() - 1;
        self.count = RESULTS;
        self.expanded = None;
        self.show_moved()
    }

    /// Shows the step the history just moved to, and saves where in the history it is.
    fn show_moved(&mut self) -> Vec<Command> {
        let mut commands = self.show_current();
        commands.push(self.remember_history());
        commands
    }

    /// The photo at cell `i` as an example the matches should look more (or less) like; it
    /// leaves the other list if it was there.
    fn mark_example(&mut self, i: usize, more_like: bool) -> Vec<Command> {
        let Some(p) = self.cell_path(i) else {
            return Vec::new();
        };
        self.refine(|more, less| {
            let (to, from) = if more_like {
                (more, less)
            } else {
                (less, more)
            };
            from.retain(|x| *x != p);
            if !to.contains(&p) {
                to.push(p);
            }
        })
    }

    /// The current query with `change` made to its examples, as a new step.
    fn refine(
        &mut self,
        change: impl FnOnce(&mut Vec<PathBuf>, &mut Vec<PathBuf>),
    ) -> Vec<Command> {
        let Some(current) = self.current() else {
            return Vec::new();
        };
        let (mut more, mut less) = (current.more.clone(), current.less.clone());
        change(&mut more, &mut less);
        let path = current.path.clone();
        self.push_step(Step::new(path, more, less))
    }

    pub fn can_go_back(&self) -> bool {
        !self.history.is_empty() && self.pos > 0
    }

    pub fn can_go_forward(&self) -> bool {
        self.pos + 1 < self.history.len()
    }

    /// True while indexing, a query, a search for duplicates or a move runs (the view keeps
    /// repainting then).
    pub fn busy(&self) -> bool {
        self.indexing != Indexing::Idle
            || self.pending_query.is_some()
            || self.cleanup.pending.is_some()
            || self.cleanup.moving
    }

    pub fn is_indexing(&self) -> bool {
        self.indexing != Indexing::Idle
    }

    fn error(&mut self, message: impl Into<String>) {
        let message = message.into();
        // The same message twice in a row says nothing new.
        if self.errors.last() != Some(&message) {
            self.errors.push(message);
        }
        const MAX_ERRORS: usize = 5;
        if self.errors.len() > MAX_ERRORS {
            self.errors.remove(0);
        }
    }

    fn query_command(&mut self) -> Vec<Command> {
        let Some(step) = self.current() else {
            return Vec::new();
        };
        let request = Request {
            photo: step.path.clone(),
            more: step.more.clone(),
            less: step.less.clone(),
            scope: self.scope.scope(&step.path),
            tiles: self.count,
            options: photo_sim_engine::QueryOptions {
                rotations: self.settings.rotations,
            },
        };
        self.next_query_id += 1;
        let id = self.next_query_id;
        self.pending_query = Some(id);
        self.timing = Some(QueryTiming {
            issued: Instant::now(),
            results_at: None,
            engine: None,
            thumbs_logged: false,
        });
        vec![Command::Query { id, request }]
    }

    /// Shows the current step: its cached results at once, and a fresh query when those are
    /// missing or older than the index.
    fn show_current(&mut self) -> Vec<Command> {
        self.selection = None;
        let asked = self.asked();
        let fresh = self.current().is_some_and(|s| {
            s.results.is_some()
                && s.version == self.version
                && s.asked == Some(asked)
                && (s.searched || self.folder.is_none())
        });
        if fresh {
            self.pending_query = None;
            // Shown at once from the history (the timing log then measures the thumbnails).
            let now = Instant::now();
            self.timing = Some(QueryTiming {
                issued: now,
                results_at: Some(now),
                engine: Some(Duration::ZERO),
                thumbs_logged: false,
            });
            Vec::new()
        } else {
            self.query_command()
        }
    }

    /// Finds the duplicate groups again when the Duplicates view shows groups older than the
    /// index (or none), and the index is not changing.
    fn refresh_duplicates(&mut self) -> Vec<Command> {
        let c = &self.cleanup;
        let fresh = c.levels.is_some() && c.version == self.version;
        if self.view != View::Duplicates
            || self.folder.is_none()
            || self.is_indexing()
            || fresh
            || c.pending.is_some()
        {
            return Vec::new();
        }
        self.next_duplicates_id += 1;
        let id = self.next_duplicates_id;
        self.cleanup.pending = Some(id);
        self.cleanup.version = self.version;
        vec![Command::FindDuplicates { id }]
    }

    /// Moves the selected photos (not while the index changes, nor during another move).
    fn move_selected(&mut self, to: Destination) -> Vec<Command> {
        let photos = self.cleanup.selected_photos();
        if photos.is_empty() || self.cleanup.moving || self.is_indexing() {
            return Vec::new();
        }
        self.cleanup.moving = true;
        self.cleanup.report.clear();
        vec![Command::MovePhotos { photos, to }]
    }

    /// Opens `folder` (cancelling any indexing first) and brings its index up to date.
    fn open_folder(&mut self, folder: PathBuf, prune: bool) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.is_indexing() {
            commands.push(Command::Cancel);
        }
        self.generation += 1;
        self.folder = None;
        self.indexed = 0;
        self.indexing = Indexing::Opening;
        self.skipped.clear();
        self.notices.clear();
        self.last_summary = None;
        self.version += 1;
        self.cleanup.pending = None;
        commands.push(Command::Open {
            folder,
            generation: self.generation,
            prune,
        });
        commands
    }

    pub fn apply(&mut self, action: Action) -> Vec<Command> {
        if starts_something(&action) {
            // The errors of what was tried before are stale now, and so is a preview.
            self.errors.clear();
            self.preview = None;
        }
        match action {
            Action::ShowView(view) => {
                self.view = view;
                self.refresh_duplicates()
            }
            Action::SetLevel(label) => {
                self.cleanup.level = label;
                Vec::new()
            }
            Action::ToggleSelected(path) => {
                self.cleanup.toggle(path);
                Vec::new()
            }
            Action::SelectAllButKeepers => {
                self.cleanup.select_all_but_keepers();
                Vec::new()
            }
            Action::ClearSelection => {
                self.cleanup.selected.clear();
                Vec::new()
            }
            Action::TrashSelected => self.move_selected(Destination::Trash),
            Action::ChooseMoveTarget => vec![Command::PickMoveTarget],
            Action::MoveSelectedTo(dir) => self.move_selected(Destination::Folder(dir)),
            Action::TogglePreview => self.toggle_preview(),
            Action::ClosePreview => {
                self.preview = None;
                Vec::new()
            }
            Action::SearchWith(path) => {
                self.view = View::Search;
                self.apply(Action::SetQuery(path))
            }
            Action::ChooseFolder => vec![Command::PickFolder],
            Action::ChoosePhoto => vec![Command::PickPhoto],
            Action::OpenFolder(folder) => self.open_folder(folder, false),
            Action::SetRotations(on) => self.set_rotations(on),
            Action::PruneMissing => match self.folder.clone() {
                Some(folder) if !self.is_indexing() => self.open_folder(folder, true),
                _ => Vec::new(),
            },
            Action::SetQuery(path) => self.set_query(path),
            Action::Pivot(i) => match self.cell_path(i) {
                Some(path) => self.apply(Action::SetQuery(path)),
                None => Vec::new(),
            },
            Action::ToggleGroup(i) => self.toggle_group(i),
            Action::MoreLike(i) => self.mark_example(i, true),
            Action::LessLike(i) => self.mark_example(i, false),
            Action::RemoveExample(p) => self.refine(|more, less| {
                more.retain(|m| *m != p);
                less.retain(|l| *l != p);
            }),
            Action::SetWhere(scope) => self.set_where(scope),
            Action::ShowMore => self.show_more(),
            Action::Picker(action) => self.picker_action(action),
            Action::ShowWeak(on) => self.set_show_weak(on),
            Action::Zoom(step) => self.zoom(step),
            Action::PivotSelected => match self.selection {
                Some(i) => self.apply(Action::Pivot(i)),
                None => Vec::new(),
            },
            Action::Back => self.back(),
            Action::Forward => self.forward(),
            Action::Cancel => self.cancel_indexing(),
            Action::MoveSelection(dx, dy) => self.move_selection(dx, dy),
            Action::Select(selection) => {
                self.selection = selection.filter(|&i| i < self.cells().len());
                Vec::new()
            }
            Action::OpenExternal(path) => vec![Command::OpenExternal(path)],
            Action::ShowInFolder(path) => vec![Command::ShowInFolder(path)],
            Action::DismissErrors => {
                self.errors.clear();
                Vec::new()
            }
        }
    }

    /// Shows the selected match (or the query) large, or closes what is shown.
    fn toggle_preview(&mut self) -> Vec<Command> {
        self.preview = match self.preview {
            Some(_) => None,
            None => self
                .selection
                .and_then(|i| self.cell_path(i))
                .or_else(|| self.query().map(Path::to_path_buf)),
        };
        Vec::new()
    }

    /// Turns "Also find rotated copies" on or off; the shown query is searched again.
    fn set_rotations(&mut self, on: bool) -> Vec<Command> {
        if self.settings.rotations == on {
            return Vec::new();
        }
        self.settings.rotations = on;
        let mut commands = vec![Command::SaveSettings(self.settings.clone())];
        if self.current().is_some() {
            commands.extend(self.query_command());
        }
        commands
    }

    /// Makes `path` the query: a new step of the history, or the same one refreshed.
    fn set_query(&mut self, path: PathBuf) -> Vec<Command> {
        if self.query() == Some(path.as_path()) && self.current().is_some() {
            // Dropping the same photo again just refreshes it.
            if let Some(step) = self.history.get_mut(self.pos) {
                step.results = None;
            }
            return self.show_current();
        }
        self.push_step(Step::new(path, Vec::new(), Vec::new()))
    }

    /// Unfolds the tile at `i` to show its near-duplicates, or folds it again.
    fn toggle_group(&mut self, i: usize) -> Vec<Command> {
        let Some(cell) = self.cells().into_iter().nth(i) else {
            return Vec::new();
        };
        let selected = self.selection.and_then(|i| self.cell_path(i));
        let keep_selection = |s: &mut Self| {
            s.selection = selected
                .as_ref()
                .and_then(|p| s.cells().iter().position(|c| c.m.path == *p));
        };
        if cell.expanded {
            self.expanded = None;
            keep_selection(self);
        } else if cell.count > 1 {
            self.expanded = Some(cell.m.path);
            keep_selection(self);
            let unknown: Vec<PathBuf> = self
                .cells()
                .into_iter()
                .filter(|c| c.member && !self.details.contains_key(&c.m.path))
                .map(|c| c.m.path)
                .collect();
            if !unknown.is_empty() {
                return vec![Command::Describe(unknown)];
            }
        }
        Vec::new()
    }

    /// Keeps the matches in, or out of, the query's folder.
    fn set_where(&mut self, scope: Where) -> Vec<Command> {
        if self.scope == scope {
            return Vec::new();
        }
        self.scope = scope;
        self.count = RESULTS;
        self.query_command()
    }

    /// Asks for the next ten matches.
    fn show_more(&mut self) -> Vec<Command> {
        if self.current().is_none() || self.pending_query.is_some() {
            return Vec::new();
        }
        self.count += RESULTS;
        self.query_command()
    }

    /// More or fewer grid columns.
    fn zoom(&mut self, step: i32) -> Vec<Command> {
        let columns = (self.settings.columns as i64 + i64::from(step))
            .clamp(MIN_COLUMNS as i64, MAX_COLUMNS as i64) as usize;
        if columns == self.settings.columns {
            return Vec::new();
        }
        self.settings.columns = columns;
        vec![Command::SaveSettings(self.settings.clone())]
    }

    /// Moves the selected match by `dx` columns and `dy` rows (arrow keys).
    fn move_selection(&mut self, dx: i32, dy: i32) -> Vec<Command> {
        let n = self.cells().len();
        if n == 0 {
            self.selection = None;
            return Vec::new();
        }
        self.selection = Some(match self.selection {
            None => 0,
            Some(i) => {
                let cols = self.settings.columns as i32;
                let (row, col) = (i as i32 / cols, i as i32 % cols);
                let col = (col + dx).clamp(0, cols - 1);
                let rows = (n as i32 + cols - 1) / cols;
                let row = (row + dy).clamp(0, rows - 1);
                ((row * cols + col) as usize).min(n - 1)
            }
        });
        Vec::new()
    }

    /// What the person did in the in-app picker.
    fn picker_action(&mut self, action: PickerAction) -> Vec<Command> {
        match action {
            PickerAction::Enter(dir) => {
                if let Some(p) = &mut self.picker {
                    p.enter(dir);
                }
                Vec::new()
            }
            PickerAction::Choose(path) => match self.picker.take() {
                Some(p) => self.apply(chosen(p.purpose, path)),
                None => Vec::new(),
            },
            PickerAction::Cancel => {
                self.picker = None;
                Vec::new()
            }
        }
    }

    /// Stops indexing, keeping what was embedded.
    fn cancel_indexing(&mut self) -> Vec<Command> {
        if self.is_indexing() {
            self.indexing = Indexing::Cancelling;
            vec![Command::Cancel]
        } else {
            Vec::new()
        }
    }

    /// Shows or hides the weaker matches (remembered).
    fn set_show_weak(&mut self, on: bool) -> Vec<Command> {
        self.settings.show_weak = on;
        self.selection = None;
        vec![Command::SaveSettings(self.settings.clone())]
    }

    /// The query before this one in the history.
    fn back(&mut self) -> Vec<Command> {
        if !self.can_go_back() {
            return Vec::new();
        }
        self.pos -= 1;
        self.show_moved()
    }

    /// The query after this one in the history.
    fn forward(&mut self) -> Vec<Command> {
        if !self.can_go_forward() {
            return Vec::new();
        }
        self.pos += 1;
        self.show_moved()
    }

    /// Folds an engine message into the state; returns follow-up work.
    pub fn handle(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Opened {
                generation,
                root,
                indexed,
                notices,
                skipped,
            } => self.opened(generation, root, indexed, notices, skipped),
            Msg::OpenFailed { generation, error } => {
                if generation != self.generation {
                    return Vec::new();
                }
                self.indexing = Indexing::Idle;
                self.error(error.to_string());
                self.resume()
            }
            Msg::Index { generation, event } => {
                if generation != self.generation {
                    return Vec::new();
                }
                self.handle_event(event)
            }
            Msg::Indexed { generation, result } => self.indexing_ended(generation, result),
            Msg::Results {
                id,
                query,
                tiles,
                details,
                searched,
                elapsed,
            } => self.results_arrived(id, query, tiles, details, searched, elapsed),
            Msg::QueryFailed { id, error } => self.query_failed(id, error),
            Msg::PickedFolder { path, failed } => self.picked(path, failed, Purpose::OpenFolder),
            Msg::PickedPhoto { path, failed } => self.picked(path, failed, Purpose::QueryPhoto),
            Msg::PickedMoveTarget { path, failed } => {
                self.picked(path, failed, Purpose::MoveTarget)
            }
            Msg::Duplicates { id, result } => self.duplicates_found(id, result),
            Msg::Moved { reports } => self.moved(reports),
            Msg::Described(details) => {
                self.details.extend(details);
                Vec::new()
            }
            Msg::Error(e) => {
                self.error(e.to_string());
                Vec::new()
            }
        }
    }

    /// A folder's index was opened: show it, and search the query chosen meanwhile.
    fn opened(
        &mut self,
        generation: u64,
        root: PathBuf,
        indexed: usize,
        notices: Vec<String>,
        skipped: Vec<Skipped>,
    ) -> Vec<Command> {
        if generation != self.generation {
            return Vec::new();
        }
        self.folder = Some(root.clone());
        self.indexed = indexed;
        self.notices = notices;
        self.skipped = skipped;
        self.version += 1;
        let mut commands = Vec::new();
        if self.settings.last_folder.as_deref() != Some(root.as_path()) {
            self.settings.last_folder = Some(root);
            commands.push(Command::SaveSettings(self.settings.clone()));
        }
        // A query chosen before (or while) the folder opened is searched in it now.
        commands.extend(self.show_current());
        commands
    }

    /// Indexing ended: its summary, or why it failed.
    fn indexing_ended(
        &mut self,
        generation: u64,
        result: Result<Summary, Failure>,
    ) -> Vec<Command> {
        if generation != self.generation {
            return Vec::new();
        }
        self.indexing = Indexing::Idle;
        match result {
            Ok(summary) => self.indexed_with(summary),
            Err(error) => {
                self.error(format!("Indexing failed: {error}"));
                Vec::new()
            }
        }
    }

    /// The answer to the query awaited (an older one is dropped): its tiles join the step.
    fn results_arrived(
        &mut self,
        id: u64,
        query: PathBuf,
        tiles: Vec<Tile>,
        details: Vec<(PathBuf, Details)>,
        searched: bool,
        elapsed: Duration,
    ) -> Vec<Command> {
        if self.pending_query != Some(id) {
            return Vec::new();
        }
        self.pending_query = None;
        if let Some(t) = &mut self.timing {
            t.results_at = Some(Instant::now());
            t.engine = Some(elapsed);
        }
        self.details.extend(details);
        let version = self.version;
        let asked = self.asked();
        if let Some(step) = self.history.get_mut(self.pos) {
            step.asked = Some(asked);
            // The query's own picture would match itself best: the grid shows the
            // *other* nearest photos.
            let tiles: Vec<Tile> = tiles
                .into_iter()
                .filter(|t| t.best.path != query && t.best.path != step.path)
                .collect();
            step.path = query;
            step.results = Some(tiles);
            step.version = version;
            step.searched = searched;
        }
        if self.selection.is_some_and(|i| i >= self.cells().len()) {
            self.selection = None;
        }
        Vec::new()
    }

    /// The query awaited failed: say why, and drop it from the history.
    fn query_failed(&mut self, id: u64, error: Failure) -> Vec<Command> {
        if self.pending_query != Some(id) {
            return Vec::new();
        }
        self.pending_query = None;
        self.timing = None;
        self.error(error.to_string());
        // A photo that cannot be searched does not stay in the history.
        if self.current().is_some_and(|s| s.results.is_none()) {
            self.history.remove(self.pos);
            if self.pos > 0 && self.pos >= self.history.len() {
                self.pos -= 1;
            }
            let mut commands = Vec::new();
            if !self.history.is_empty() {
                commands = self.show_current();
            }
            if self.history.is_empty() {
                self.pos = 0;
            }
            // Nor does it come back on the next start.
            commands.push(self.remember_history());
            return commands;
        }
        Vec::new()
    }

    /// The duplicates of every level, or why they could not be found.
    fn duplicates_found(&mut self, id: u64, result: Result<Vec<Level>, Failure>) -> Vec<Command> {
        if self.cleanup.pending != Some(id) {
            return Vec::new();
        }
        self.cleanup.pending = None;
        match result {
            Ok(levels) => {
                self.cleanup.levels = Some(levels);
                self.cleanup.prune_selection();
            }
            Err(e) => self.error(format!("Duplicates could not be found: {e}")),
        }
        // The index may have changed while they were found.
        self.refresh_duplicates()
    }

    /// A move ended: the moved photos leave the index and the views.
    fn moved(&mut self, reports: Vec<Report>) -> Vec<Command> {
        self.cleanup.moving = false;
        let moved: std::collections::BTreeSet<PathBuf> = reports
            .iter()
            .filter(|r| r.outcome.moved())
            .map(|r| r.path.clone())
            .collect();
        self.cleanup.forget(&moved);
        self.cleanup.report = reports;
        let moved = !moved.is_empty();
        // The moved photos leave the index (the person chose to move them, so their
        // absence is not a drive that is not mounted).
        match self.folder.clone() {
            Some(folder) if moved => self.open_folder(folder, true),
            _ => Vec::new(),
        }
    }

    /// A closed dialog: the path chosen becomes the purpose's action; where the desktop could
    /// not show a dialog, the in-app picker takes its place.
    fn picked(&mut self, path: Option<PathBuf>, failed: bool, purpose: Purpose) -> Vec<Command> {
        match path {
            Some(p) => self.apply(chosen(purpose, p)),
            None if failed => {
                let start = match purpose {
                    Purpose::OpenFolder => self.settings.last_folder.clone(),
                    Purpose::QueryPhoto => self.folder.clone(),
                    Purpose::MoveTarget => self
                        .folder
                        .as_deref()
                        .and_then(Path::parent)
                        .map(Path::to_path_buf),
                };
                self.picker = Some(Picker::new(purpose, start.as_deref()));
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    fn handle_event(&mut self, event: Event) -> Vec<Command> {
        let cancelling = self.indexing == Indexing::Cancelling;
        match event {
            Event::Scanning { found } if !cancelling => {
                self.indexing = Indexing::Scanning { found }
            }
            Event::Planned {
                total, to_embed, ..
            } if !cancelling => {
                self.indexing = Indexing::Embedding {
                    done: 0,
                    to_embed,
                    total,
                    images_per_sec: 0.0,
                    eta: None,
                }
            }
            Event::Progress {
                done,
                to_embed,
                images_per_sec,
                eta,
            } if !cancelling => {
                let total = match self.indexing {
                    Indexing::Embedding { total, .. } => total,
                    _ => to_embed,
                };
                self.indexing = Indexing::Embedding {
                    done,
                    to_embed,
                    total,
                    images_per_sec,
                    eta,
                }
            }
            Event::Skipped(s) if !self.skipped.iter().any(|k| k.path == s.path) => {
                self.skipped.push(s);
            }
            Event::Notice(n) => self.notices.push(n),
            Event::BuildingGraph { points } if !cancelling => {
                self.indexing = Indexing::BuildingGraph { points }
            }
            Event::Saved { indexed } => {
                // A checkpoint: the matches of the open query improve as the folder indexes.
                self.indexed = indexed;
                self.version += 1;
                if self.current().is_some() && self.pending_query.is_none() {
                    return self.query_command();
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// A finished (or cancelled) indexing run.
    fn indexed_with(&mut self, summary: Summary) -> Vec<Command> {
        self.indexed = summary.indexed;
        self.skipped = summary.skipped.clone();
        let changed = summary.changed;
        self.last_summary = Some(summary);
        if changed {
            self.version += 1;
        }
        let mut commands = self.refresh_duplicates();
        // The current query's matches may be different (or exist at all) now.
        if self.current().is_some() && (changed || self.tiles().is_empty()) {
            commands.extend(self.query_command());
        }
        commands
    }
}

/// The action a path chosen for `purpose` (in a dialog or the picker) becomes.
fn chosen(purpose: Purpose, path: PathBuf) -> Action {
    match purpose {
        Purpose::OpenFolder => Action::OpenFolder(path),
        Purpose::QueryPhoto => Action::SetQuery(path),
        Purpose::MoveTarget => Action::MoveSelectedTo(path),
    }
}

/// Matches under the "similar" cut (loosely related or unrelated): drawn dimmed, or hidden.
pub fn is_weak(m: &photo_sim_engine::Match) -> bool {
    matches!(m.label, Some(Label::Related | Label::Unrelated))
}

/// True for the actions that begin new work (their errors replace the old ones); selecting,
/// dismissing and the like keep the messages shown.
fn starts_something(action: &Action) -> bool {
    matches!(
        action,
        Action::OpenFolder(_)
            | Action::SetQuery(_)
            | Action::Pivot(_)
            | Action::PivotSelected
            | Action::Back
            | Action::Forward
            | Action::SearchWith(_)
            | Action::TrashSelected
            | Action::MoveSelectedTo(_)
            | Action::PruneMissing
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::path_from_text;
    use photo_sim_engine::decode::DecodeError;
    use photo_sim_engine::Match;
    use std::sync::Arc;

    /// The failure of a query whose photo is not there.
    fn not_found(path: &str) -> Failure {
        Failure::CannotOpen {
            path: PathBuf::from(path),
            cause: Arc::new(std::io::ErrorKind::NotFound.into()),
        }
    }

    fn m(path: &str, similarity: f32) -> Match {
        Match {
            identical: false,
            path: PathBuf::from(path),
            similarity,
            exists: true,
            label: None,
            percentile: None,
        }
    }

    /// The id of the one query among `commands` (a new step also saves the history).
    fn query_id(commands: &[Command]) -> u64 {
        let ids: Vec<u64> = commands
            .iter()
            .filter_map(|c| match c {
                Command::Query { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        match ids[..] {
            [id] => id,
            _ => panic!("expected one query, got {commands:?}"),
        }
    }

    /// A state with a folder open and `q` as the current query answered by `matches`.
    fn answered(state: &mut State, q: &str, matches: Vec<Match>) {
        let id = query_id(&state.apply(Action::SetQuery(PathBuf::from(q))));
        answer(state, id, q, matches);
    }

    /// Each match its own tile.
    fn tiles(matches: Vec<Match>) -> Vec<Tile> {
        matches
            .into_iter()
            .map(|best| Tile {
                best,
                also: Vec::new(),
            })
            .collect()
    }

    fn answer(state: &mut State, id: u64, q: &str, matches: Vec<Match>) {
        answer_tiles(state, id, q, tiles(matches));
    }

    fn answer_tiles(state: &mut State, id: u64, q: &str, tiles: Vec<Tile>) {
        state.handle(Msg::Results {
            id,
            query: PathBuf::from(q),
            tiles,
            details: Vec::new(),
            searched: true,
            elapsed: Duration::ZERO,
        });
    }

    fn open(state: &mut State) {
        let commands = state.apply(Action::OpenFolder(PathBuf::from("/photos")));
        assert_eq!(
            commands,
            vec![Command::Open {
                folder: PathBuf::from("/photos"),
                generation: 1,
                prune: false,
            }]
        );
        let commands = state.handle(Msg::Opened {
            generation: 1,
            root: PathBuf::from("/photos"),
            indexed: 0,
            notices: vec![],
            skipped: vec![],
        });
        assert_eq!(
            commands,
            vec![Command::SaveSettings(Settings {
                last_folder: Some(PathBuf::from("/photos")),
                ..Settings::default()
            })]
        );
    }

    /// A state with a folder open and `/photos/a.jpg` answered by `b0.jpg`…`b9.jpg`.
    fn showing_a() -> State {
        let mut s = State::new(Settings::default());
        open(&mut s);
        answered(&mut s, "/photos/a.jpg", grid("b", 10));
        s
    }

    fn grid(prefix: &str, n: usize) -> Vec<Match> {
        (0..n)
            .map(|i| m(&format!("/photos/{prefix}{i}.jpg"), 0.9 - i as f32 * 0.01))
            .collect()
    }

    #[test]
    fn results_drop_the_query_itself_and_keep_ten() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        let mut matches = vec![m("/photos/q.jpg", 1.0)];
        matches.extend(grid("r", 10));
        answered(&mut s, "/photos/q.jpg", matches);
        assert_eq!(s.results().len(), RESULTS);
        assert!(s
            .results()
            .iter()
            .all(|r| r.path != Path::new("/photos/q.jpg")));
        assert_eq!(s.results()[0].path, PathBuf::from("/photos/r0.jpg"));
        assert!(s.pending_query.is_none());
    }

    #[test]
    fn pivot_back_and_forward_walk_the_history() {
        let mut s = showing_a();
        // Pivot to the third result.
        let id = query_id(&s.apply(Action::Pivot(2)));
        assert_eq!(s.query(), Some(Path::new("/photos/b2.jpg")));
        answer(&mut s, id, "/photos/b2.jpg", grid("c", 10));
        assert_eq!(s.history.len(), 2);
        assert!(s.can_go_back() && !s.can_go_forward());

        // Back shows the cached results at once, with no new query (only where it is in the
        // history is saved).
        let no_query = |commands: Vec<Command>| {
            commands
                .iter()
                .all(|c| matches!(c, Command::SaveSettings(_)))
        };
        assert!(no_query(s.apply(Action::Back)));
        assert_eq!(s.settings.pos, 0);
        assert_eq!(s.query(), Some(Path::new("/photos/a.jpg")));
        assert_eq!(s.results()[0].path, PathBuf::from("/photos/b0.jpg"));
        assert!(!s.can_go_back() && s.can_go_forward());
        assert_eq!(s.apply(Action::Back), vec![]);

        assert!(no_query(s.apply(Action::Forward)));
        assert_eq!(s.query(), Some(Path::new("/photos/b2.jpg")));
        assert_eq!(s.apply(Action::Forward), vec![]);

        // A new query after going back drops the forward steps.
        s.apply(Action::Back);
        let id = query_id(&s.apply(Action::Pivot(5)));
        answer(&mut s, id, "/photos/b5.jpg", grid("d", 10));
        assert_eq!(s.history.len(), 2);
        assert_eq!(s.query(), Some(Path::new("/photos/b5.jpg")));
        assert!(!s.can_go_forward());
    }

    #[test]
    fn a_changed_index_refreshes_cached_results() {
        let mut s = showing_a();
        let commands = s.handle(Msg::Indexed {
            generation: 1,
            result: Ok(Summary {
                indexed: 20,
                embedded: 20,
                changed: true,
                ..Summary::default()
            }),
        });
        let id = query_id(&commands);
        assert_eq!(s.indexed, 20);
        // A stale answer is ignored, the pending one is accepted.
        answer(&mut s, 999, "/photos/a.jpg", grid("x", 10));
        assert_eq!(s.results()[0].path, PathBuf::from("/photos/b0.jpg"));
        answer(&mut s, id, "/photos/a.jpg", grid("y", 10));
        assert_eq!(s.results()[0].path, PathBuf::from("/photos/y0.jpg"));
        assert!(s.pending_query.is_none());
    }

    #[test]
    fn a_run_that_only_dropped_a_vector_still_refreshes_the_results() {
        // A changed file that now fails to decode loses its vector: nothing was embedded or
        // removed, but the index changed, and the grid must not keep showing it.
        let mut s = showing_a();
        let commands = s.handle(Msg::Indexed {
            generation: 1,
            result: Ok(Summary {
                indexed: 19,
                changed: true,
                ..Summary::default()
            }),
        });
        query_id(&commands);
        let commands = s.handle(Msg::Indexed {
            generation: 1,
            result: Ok(Summary {
                indexed: 19,
                ..Summary::default()
            }),
        });
        assert_eq!(commands, vec![], "an unchanged index keeps the results");
    }

    #[test]
    fn checkpoints_refresh_the_open_query_while_indexing() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        let id = query_id(&s.apply(Action::SetQuery(PathBuf::from("/photos/a.jpg"))));
        answer(&mut s, id, "/photos/a.jpg", vec![]);
        let commands = s.handle(Msg::Index {
            generation: 1,
            event: Event::Saved { indexed: 40 },
        });
        let id = query_id(&commands);
        assert_eq!(s.indexed, 40);
        answer(&mut s, id, "/photos/a.jpg", grid("b", 10));
        assert_eq!(s.results().len(), 10);
    }

    #[test]
    fn an_indexing_failure_is_shown_and_ends_indexing() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        s.handle(Msg::Indexed {
            generation: 1,
            result: Err(Failure::from(photo_sim_engine::Error::Store {
                action: "save the index in",
                path: PathBuf::from("/data"),
                cause: std::io::Error::from_raw_os_error(28),
            })),
        });
        assert_eq!(s.indexing, Indexing::Idle);
        assert!(s.errors[0].contains("No space left"), "{:?}", s.errors);
    }

    #[test]
    fn stale_answers_are_ignored() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        let first = query_id(&s.apply(Action::SetQuery(PathBuf::from("/photos/a.jpg"))));
        let second = query_id(&s.apply(Action::SetQuery(PathBuf::from("/photos/b.jpg"))));
        answer(&mut s, first, "/photos/a.jpg", grid("a", 10));
        assert!(s.results().is_empty());
        assert!(s.busy());
        answer(&mut s, second, "/photos/b.jpg", grid("b", 10));
        assert_eq!(s.results()[0].path, PathBuf::from("/photos/b0.jpg"));
    }

    #[test]
    fn selection_moves_in_the_grid_and_enter_pivots() {
        let mut s = showing_a();
        s.apply(Action::MoveSelection(1, 0));
        assert_eq!(
            s.selection,
            Some(0),
            "the first move selects the first cell"
        );
        s.apply(Action::MoveSelection(1, 0));
        s.apply(Action::MoveSelection(1, 0));
        assert_eq!(s.selection, Some(2));
        s.apply(Action::MoveSelection(0, 1));
        assert_eq!(s.selection, Some(7));
        s.apply(Action::MoveSelection(0, 1));
        assert_eq!(s.selection, Some(7), "clamped to the last row");
        s.apply(Action::MoveSelection(9, 0));
        assert_eq!(s.selection, Some(9), "clamped to the last column");
        s.apply(Action::MoveSelection(-9, -9));
        assert_eq!(s.selection, Some(0));
        s.apply(Action::MoveSelection(1, 0));
        let id = query_id(&s.apply(Action::PivotSelected));
        assert_eq!(s.query(), Some(Path::new("/photos/b1.jpg")));
        assert_eq!(s.selection, None);
        answer(&mut s, id, "/photos/b1.jpg", grid("c", 3));
        s.apply(Action::MoveSelection(0, 0));
        s.apply(Action::MoveSelection(0, 1));
        assert_eq!(s.selection, Some(0), "one row only");
        s.apply(Action::MoveSelection(4, 0));
        assert_eq!(s.selection, Some(2), "no cell past the last result");
    }

    #[test]
    fn indexing_events_drive_the_status() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        assert_eq!(s.indexing, Indexing::Opening);
        let ev = |s: &mut State, event| {
            s.handle(Msg::Index {
                generation: 1,
                event,
            })
        };
        ev(&mut s, Event::Scanning { found: 5 });
        assert_eq!(s.indexing, Indexing::Scanning { found: 5 });
        ev(
            &mut s,
            Event::Planned {
                total: 10,
                to_embed: 8,
                reused: 2,
                removed: 0,
            },
        );
        ev(
            &mut s,
            Event::Progress {
                done: 4,
                to_embed: 8,
                images_per_sec: 2.0,
                eta: Some(Duration::from_secs(2)),
            },
        );
        assert!(matches!(
            s.indexing,
            Indexing::Embedding {
                done: 4,
                to_embed: 8,
                total: 10,
                ..
            }
        ));
        let skipped = Skipped {
            path: PathBuf::from("/photos/bad.jpg"),
            reason: "not an image".into(),
        };
        ev(&mut s, Event::Skipped(skipped.clone()));
        assert_eq!(s.skipped, vec![skipped.clone()]);
        // Events of a folder that is no longer open are ignored.
        s.handle(Msg::Index {
            generation: 0,
            event: Event::Scanning { found: 99 },
        });
        assert!(matches!(s.indexing, Indexing::Embedding { .. }));

        assert_eq!(s.apply(Action::Cancel), vec![Command::Cancel]);
        assert_eq!(s.indexing, Indexing::Cancelling);
        ev(
            &mut s,
            Event::Progress {
                done: 5,
                to_embed: 8,
                images_per_sec: 2.0,
                eta: None,
            },
        );
        assert_eq!(s.indexing, Indexing::Cancelling);
        s.handle(Msg::Indexed {
            generation: 1,
            result: Ok(Summary {
                indexed: 7,
                embedded: 5,
                cancelled: true,
                skipped: vec![skipped],
                ..Summary::default()
            }),
        });
        assert_eq!(s.indexing, Indexing::Idle);
        assert_eq!(s.indexed, 7);
        assert_eq!(s.skipped.len(), 1);
        assert!(!s.busy());
    }

    #[test]
    fn a_failed_query_is_an_error_and_leaves_the_history() {
        let mut s = showing_a();
        let id = query_id(&s.apply(Action::SetQuery(PathBuf::from("/tmp/notes.txt"))));
        s.handle(Msg::QueryFailed {
            id,
            error: Failure::NotAPhoto {
                path: PathBuf::from("/tmp/notes.txt"),
                cause: Arc::new(DecodeError::NotAnImage),
            },
        });
        assert_eq!(s.errors.len(), 1);
        assert!(s.errors[0].contains("not an image"));
        assert_eq!(s.query(), Some(Path::new("/photos/a.jpg")));
        assert_eq!(s.history.len(), 1);
        assert_eq!(s.results().len(), 10);
        s.apply(Action::DismissErrors);
        assert!(s.errors.is_empty());
    }

    #[test]
    fn space_previews_the_selected_match_or_else_the_query() {
        let mut s = showing_a();
        s.apply(Action::TogglePreview);
        assert_eq!(s.preview.as_deref(), Some(Path::new("/photos/a.jpg")));
        s.apply(Action::TogglePreview);
        assert_eq!(s.preview, None);
        s.apply(Action::Select(Some(2)));
        s.apply(Action::TogglePreview);
        assert_eq!(s.preview.as_ref(), Some(&s.results()[2].path));
        // Pivoting is new work: the preview closes.
        s.apply(Action::PivotSelected);
        assert_eq!(s.preview, None);
    }

    #[test]
    fn a_new_action_clears_the_errors_of_the_ones_before() {
        let mut s = showing_a();
        for name in ["typo1.jpg", "typo2.jpg"] {
            let id = query_id(&s.apply(Action::SetQuery(PathBuf::from(name))));
            s.handle(Msg::QueryFailed {
                id,
                error: not_found(name),
            });
        }
        // Each new query cleared the error of the one before it.
        assert_eq!(s.errors, ["Cannot open typo2.jpg: entity not found"]);
        // Moving the selection is not new work: the message stays.
        s.apply(Action::MoveSelection(1, 0));
        assert_eq!(s.errors.len(), 1);
        s.apply(Action::OpenFolder(PathBuf::from("/photos")));
        assert!(s.errors.is_empty());
    }

    #[test]
    fn opening_a_folder_while_indexing_cancels_first_and_failed_dialogs_are_explained() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        let commands = s.apply(Action::OpenFolder(PathBuf::from("/other")));
        assert_eq!(
            commands,
            vec![
                Command::Cancel,
                Command::Open {
                    folder: PathBuf::from("/other"),
                    generation: 2,
                    prune: false,
                }
            ]
        );
        s.handle(Msg::OpenFailed {
            generation: 2,
            error: Failure::from(photo_sim_engine::Error::FolderUnreadable {
                path: PathBuf::from("/other"),
                cause: std::io::ErrorKind::NotFound.into(),
            }),
        });
        assert_eq!(s.indexing, Indexing::Idle);
        assert_eq!(s.errors.len(), 1);
        s.handle(Msg::PickedFolder {
            path: None,
            failed: false,
        });
        assert_eq!(s.errors.len(), 1, "a cancelled dialog is no error");
        // No dialog on this desktop: the in-app picker opens instead, and what it picks opens.
        let dir = tempfile::tempdir().unwrap();
        s.settings.last_folder = Some(dir.path().to_path_buf());
        std::fs::create_dir(dir.path().join("album")).unwrap();
        s.handle(Msg::PickedFolder {
            path: None,
            failed: true,
        });
        let picker = s.picker.as_ref().expect("the in-app picker");
        assert_eq!(picker.folders, [dir.path().join("album")]);
        s.apply(Action::Picker(PickerAction::Enter(
            dir.path().join("album"),
        )));
        let commands = s.apply(Action::Picker(PickerAction::Choose(
            dir.path().join("album"),
        )));
        assert!(s.picker.is_none());
        assert!(
            matches!(&commands[..], [Command::Open { folder, .. }] if *folder == dir.path().join("album"))
        );
    }

    #[test]
    fn a_query_before_any_folder_is_searched_once_one_opens() {
        let mut s = State::new(Settings::default());
        let id = query_id(&s.apply(Action::SetQuery(PathBuf::from("/photos/a.jpg"))));
        s.handle(Msg::Results {
            id,
            query: PathBuf::from("/photos/a.jpg"),
            tiles: vec![],
            details: vec![],
            searched: false,
            elapsed: Duration::ZERO,
        });
        assert_eq!(s.query(), Some(Path::new("/photos/a.jpg")));
        s.apply(Action::OpenFolder(PathBuf::from("/photos")));
        let commands = s.handle(Msg::Opened {
            generation: 1,
            root: PathBuf::from("/photos"),
            indexed: 3,
            notices: vec![],
            skipped: vec![],
        });
        assert!(matches!(commands.last(), Some(Command::Query { .. })));
    }

    #[test]
    fn turning_rotations_off_searches_again_and_is_remembered() {
        let mut s = showing_a();
        let commands = s.apply(Action::SetRotations(false));
        assert_eq!(commands.len(), 2, "{commands:?}");
        assert!(matches!(&commands[0], Command::SaveSettings(st) if !st.rotations));
        assert!(matches!(
            &commands[1],
            Command::Query { request, .. } if !request.options.rotations
        ));
        assert_eq!(s.apply(Action::SetRotations(false)), vec![]);
    }

    #[test]
    fn settings_round_trip_and_pasted_paths() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()), Settings::default());
        let s = Settings {
            last_folder: Some(PathBuf::from("/photos")),
            rotations: false,
            ..Settings::default()
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()), s);

        let file = dir.path().join("my photo.jpg");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(
            path_from_text(&format!("  {}\n", file.display())),
            Some(file.clone())
        );
        let uri = format!("file://{}", file.display()).replace(' ', "%20");
        assert_eq!(path_from_text(&uri), Some(file));
        assert_eq!(path_from_text("no such thing"), None);
    }

    fn request(commands: &[Command]) -> &Request {
        commands
            .iter()
            .find_map(|c| match c {
                Command::Query { request, .. } => Some(request),
                _ => None,
            })
            .expect("a query")
    }

    #[test]
    fn an_expanded_group_shows_its_members_after_it_and_they_can_be_pivoted_to() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        let id = query_id(&s.apply(Action::SetQuery(PathBuf::from("/photos/a.jpg"))));
        let mut tiles = tiles(grid("b", 3));
        tiles[1].also = vec![m("/photos/burst1.jpg", 0.7), m("/photos/burst2.jpg", 0.6)];
        answer_tiles(&mut s, id, "/photos/a.jpg", tiles);
        assert_eq!(s.cells().len(), 3);
        assert_eq!(s.cells()[1].count, 3);
        s.apply(Action::ToggleGroup(0));
        assert_eq!(s.expanded, None, "a single photo has nothing to show");
        assert_eq!(
            s.apply(Action::ToggleGroup(1)),
            vec![Command::Describe(vec![
                PathBuf::from("/photos/burst1.jpg"),
                PathBuf::from("/photos/burst2.jpg")
            ])],
            "the members' hover cards are read when they are shown"
        );
        let cells = s.cells();
        assert_eq!(cells.len(), 5);
        assert!(cells[1].expanded && cells[2].member && cells[3].member);
        assert_eq!(cells[3].m.path, PathBuf::from("/photos/burst2.jpg"));
        assert_eq!(cells[4].m.path, PathBuf::from("/photos/b2.jpg"));
        let commands = s.apply(Action::Pivot(3));
        assert_eq!(
            request(&commands).photo,
            PathBuf::from("/photos/burst2.jpg")
        );
        assert_eq!(s.expanded, None, "a new query starts collapsed");
    }

    #[test]
    fn more_and_less_like_this_are_steps_of_the_history_and_are_remembered() {
        let mut s = showing_a();
        let commands = s.apply(Action::MoreLike(1));
        let r = request(&commands);
        assert_eq!(r.photo, PathBuf::from("/photos/a.jpg"));
        assert_eq!(r.more, [PathBuf::from("/photos/b1.jpg")]);
        assert!(
            matches!(commands.last(), Some(Command::SaveSettings(st)) if st.history.len() == 2)
        );
        let id = query_id(&commands[..1]);
        answer(&mut s, id, "/photos/a.jpg", grid("c", 10));
        let commands = s.apply(Action::LessLike(0));
        let r = request(&commands);
        assert_eq!(r.more, [PathBuf::from("/photos/b1.jpg")]);
        assert_eq!(r.less, [PathBuf::from("/photos/c0.jpg")]);
        // Marking a chosen photo "less like" moves it, and a chip removes it.
        let commands = s.apply(Action::RemoveExample(PathBuf::from("/photos/b1.jpg")));
        assert!(request(&commands).more.is_empty());
        assert_eq!(s.history.len(), 4);
        s.apply(Action::Back);
        s.apply(Action::Back);
        assert_eq!(s.current().unwrap().more, [PathBuf::from("/photos/b1.jpg")]);
        assert!(s.current().unwrap().less.is_empty());

        // The next start has the same history, at the same step.
        let saved = match s.apply(Action::Forward).pop() {
            Some(Command::SaveSettings(st)) => st,
            other => panic!("{other:?}"),
        };
        let restored = State::new(saved);
        assert_eq!(restored.history.len(), 4);
        assert_eq!(restored.pos, s.pos);
        assert_eq!(restored.current().unwrap().less, s.current().unwrap().less);
    }

    #[test]
    fn scope_more_and_zoom_ask_for_what_they_say() {
        let mut s = showing_a();
        let commands = s.apply(Action::SetWhere(Where::QueryFolder));
        assert_eq!(
            request(&commands).scope,
            Scope::Inside(PathBuf::from("/photos"))
        );
        let commands = s.apply(Action::SetWhere(Where::ElsewhereThanQueryFolder));
        assert_eq!(
            request(&commands).scope,
            Scope::Outside(PathBuf::from("/photos"))
        );
        let id = query_id(&commands);
        answer(&mut s, id, "/photos/a.jpg", grid("b", 10));
        assert_eq!(request(&s.apply(Action::ShowMore)).tiles, 2 * RESULTS);
        for _ in 0..20 {
            s.apply(Action::Zoom(-1));
        }
        assert_eq!(s.settings.columns, MIN_COLUMNS);
        assert_eq!(s.apply(Action::Zoom(-1)), vec![]);
        assert!(matches!(
            s.apply(Action::Zoom(1)).as_slice(),
            [Command::SaveSettings(st)] if st.columns == MIN_COLUMNS + 1
        ));
    }

    #[test]
    fn weaker_matches_can_be_hidden_and_the_choice_is_remembered() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        let mut matches = grid("b", 3);
        matches[0].label = Some(Label::NearDuplicate);
        matches[1].label = Some(Label::Unrelated);
        matches[2].label = Some(Label::Related);
        answered(&mut s, "/photos/a.jpg", matches);
        assert_eq!(s.cells().len(), 3, "shown, dimmed, by default");
        let commands = s.apply(Action::ShowWeak(false));
        assert!(matches!(&commands[..], [Command::SaveSettings(st)] if !st.show_weak));
        let cells = s.cells();
        assert_eq!(cells.len(), 1);
        assert_eq!(cells[0].m.path, PathBuf::from("/photos/b0.jpg"));
    }

    #[test]
    fn a_restored_history_is_searched_even_when_its_folder_is_gone() {
        let settings = Settings {
            history: vec![SavedStep {
                path: PathBuf::from("/gone/a.jpg"),
                more: vec![],
                less: vec![],
            }],
            ..Settings::default()
        };
        let mut s = State::new(settings);
        let id = query_id(&s.resume());
        s.handle(Msg::QueryFailed {
            id,
            error: not_found("/gone/a.jpg"),
        });
        // The query that cannot be searched leaves the history, also the saved one.
        assert!(s.history.is_empty());
        assert!(s.settings.history.is_empty());
    }

    #[test]
    fn a_step_shown_with_other_settings_is_searched_again() {
        let mut s = showing_a();
        let id = query_id(&s.apply(Action::Pivot(0)));
        answer(&mut s, id, "/photos/b0.jpg", grid("c", 10));
        let id = query_id(&s.apply(Action::ShowMore));
        answer(&mut s, id, "/photos/b0.jpg", grid("c", 20));
        // Back to a step answered with ten tiles, while twenty are asked for now.
        let commands = s.apply(Action::Back);
        assert_eq!(request(&commands).tiles, 2 * RESULTS);
    }

    #[test]
    fn expanding_a_group_keeps_the_selected_photo_selected() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        let id = query_id(&s.apply(Action::SetQuery(PathBuf::from("/photos/a.jpg"))));
        let mut tiles = tiles(grid("b", 3));
        tiles[0].also = vec![m("/photos/burst1.jpg", 0.7)];
        answer_tiles(&mut s, id, "/photos/a.jpg", tiles);
        s.apply(Action::Select(Some(2)));
        s.apply(Action::ToggleGroup(0));
        assert_eq!(s.selection, Some(3));
        assert_eq!(s.cells()[3].m.path, PathBuf::from("/photos/b2.jpg"));
        s.apply(Action::ToggleGroup(0));
        assert_eq!(s.selection, Some(2));
    }
}
