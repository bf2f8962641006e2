//! The browser's state and everything that changes it, as plain Rust (no window, no egui).
//!
//! The view turns clicks and keys into [`Action`]s; [`State::apply`] changes the state and
//! returns the [`Command`]s the engine must run (index a folder, answer a query, show a
//! dialog...). The engine answers with [`Msg`]s, which [`State::handle`] folds back in. So
//! every transition can be tested by feeding actions and messages, without threads or a window.
//!
//! The state is built from parts, each owning its fields and the changes to them:
//! [`folder`] (the open folder and its indexing), [`search`] (the query history and the
//! grid), [`duplicates`] (the Duplicates view), [`dialogs`] (what a dialog's answer becomes,
//! and the in-app picker), [`settings`] (what is remembered between runs) and [`messages`]
//! (the errors shown). [`State`] routes each action and message to its part, and makes the
//! few changes that cross parts: a changed index has the query and the duplicates found
//! again, moved photos reopen the folder, a failure anywhere becomes a message, new work
//! clears the old ones. The words themselves are in [`protocol`].

pub mod dialogs;
pub mod duplicates;
pub mod folder;
pub mod messages;
pub mod protocol;
pub mod search;
pub mod settings;

#[cfg(test)]
mod testing;

pub use folder::Indexing;
pub use protocol::{Action, Command, Msg};
pub use search::{is_weak, Cell, QueryTiming, Step, Where, RESULTS};
pub use settings::{SavedStep, Settings, MAX_TILE, MIN_TILE};

use crate::failure::Failure;
use crate::picker::Purpose;
use dialogs::Dialogs;
use duplicates::{Duplicates, Found};
use folder::Folder;
use messages::Messages;
use photo_sim_engine::relocate::Report;
use photo_sim_engine::{Event, Skipped, Summary};
use search::{Ctx, Search};
use std::path::{Path, PathBuf};

/// The two views of a folder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// A query and its ten nearest matches.
    #[default]
    Search,
    /// Groups of copies and bursts, to clean up.
    Duplicates,
}

#[derive(Debug)]
pub struct State {
    pub folder: Folder,
    pub search: Search,
    pub duplicates: Duplicates,
    pub dialogs: Dialogs,
    pub settings: Settings,
    pub messages: Messages,
    /// The view shown.
    pub view: View,
}

impl State {
    pub fn new(settings: Settings) -> Self {
        let settings = settings.clamped();
        Self {
            folder: Folder::default(),
            // The queries of the last run come back; they are searched once the folder opens.
            search: Search::new(&settings),
            duplicates: Duplicates::keeping(settings.keeper_rule()),
            dialogs: Dialogs::default(),
            settings,
            messages: Messages::default(),
            view: View::Search,
        }
    }

    /// The grid's cells (with or without the weaker matches, as the settings say).
    pub fn cells(&self) -> Vec<Cell> {
        self.search.cells(self.settings.show_weak)
    }

    /// The matches of the grid's cells, in order.
    pub fn results(&self) -> Vec<photo_sim_engine::Match> {
        self.cells().into_iter().map(|c| c.m).collect()
    }

    /// True while indexing, a query, a search for duplicates or a move runs (the view keeps
    /// repainting then).
    pub fn busy(&self) -> bool {
        self.folder.is_indexing() || self.search.pending_query.is_some() || self.duplicates.busy()
    }

    /// Runs `change` on the search with what it borrows from the other parts.
    fn with_search<R>(&mut self, change: impl FnOnce(&mut Search, &mut Ctx<'_>) -> R) -> R {
        let mut cx = Ctx {
            settings: &mut self.settings,
            version: self.folder.version,
            folder_open: self.folder.root.is_some(),
        };
        change(&mut self.search, &mut cx)
    }

    /// Searches the current query when no folder is opening to search it in (a restored
    /// history whose folder is gone, or failed to open).
    pub fn resume(&mut self) -> Vec<Command> {
        if self.folder.is_indexing() {
            return Vec::new();
        }
        self.with_search(Search::resume)
    }

    pub fn apply(&mut self, action: Action) -> Vec<Command> {
        if action.starts_something() {
            // The errors of what was tried before are stale now, and so is a preview.
            self.messages.clear();
            self.search.preview = None;
        }
        match action {
            Action::ShowView(view) => {
                self.view = view;
                self.refresh_duplicates()
            }
            Action::SearchWith(path) => {
                self.view = View::Search;
                self.apply(Action::SetQuery(path))
            }
            Action::ChooseFolder => vec![Command::PickFolder],
            Action::ChoosePhoto => vec![Command::PickPhoto],
            Action::OpenFolder(folder) => vec![Command::CheckFolder(folder)],
            Action::PruneMissing => match self.folder.root.clone() {
                Some(folder) if !self.folder.is_indexing() => self.open_folder(folder, true),
                _ => Vec::new(),
            },
            Action::Cancel => self.folder.cancel(),
            Action::SetLevel(_)
            | Action::ToggleSelected(_)
            | Action::SelectAllButKeepers
            | Action::ClearSelection
            | Action::ChooseMoveTarget
            | Action::TrashSelected
            | Action::MoveSelectedTo(_)
            | Action::ConfirmMove
            | Action::CancelMove
            | Action::UndoMove
            | Action::SetThreshold(_)
            | Action::Decide(..)
            | Action::ForgetDecisions
            | Action::Compare(_)
            | Action::CompareStep(_)
            | Action::CompareMark(_)
            | Action::CloseCompare => {
                let moving = matches!(
                    action,
                    Action::TrashSelected | Action::MoveSelectedTo(_) | Action::ChooseMoveTarget
                );
                if moving && self.duplicates.selected_photos().is_empty() {
                    self.messages
                        .error("Nothing is ticked: tick the photos to move first.");
                    return Vec::new();
                }
                let indexing = self.folder.is_indexing();
                self.duplicates.apply(action, indexing)
            }
            Action::SetQuery(_)
            | Action::Pivot(_)
            | Action::PivotSelected
            | Action::Back
            | Action::Forward
            | Action::ToggleGroup(_)
            | Action::MoreLike(_)
            | Action::LessLike(_)
            | Action::RemoveExample(_)
            | Action::SetWhere(_)
            | Action::ShowMore
            | Action::MoveSelection(..)
            | Action::Select(_)
            | Action::TogglePreview
            | Action::ClosePreview => self.with_search(|s, cx| s.apply(action, cx)),
            Action::AddReference(folder) => self.set_reference(folder, true),
            Action::RemoveReference(folder) => self.set_reference(folder, false),
            Action::SetKeeperRule(keep, originals_first) => {
                let save = self.settings.set_keeper(keep, originals_first);
                self.keeper_rule_changed(save)
            }
            Action::SetRotations(on) => self.set_rotations(on),
            Action::ShowWeak(on) => {
                self.search.selection = None;
                vec![self.settings.set_show_weak(on)]
            }
            Action::Zoom {
                larger,
                side,
                columns,
            } => self.settings.zoom(larger, side, columns),
            Action::Picker(action) => match self.dialogs.picker_action(action) {
                Some(chosen) => self.apply(chosen),
                None => Vec::new(),
            },
            Action::OpenExternal(path) => vec![Command::OpenExternal(path)],
            Action::ShowInFolder(path) => vec![Command::ShowInFolder(path)],
            Action::DismissErrors => {
                self.messages.clear();
                Vec::new()
            }
        }
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
            } if self.folder.is_current(generation) => self.opened(root, indexed, notices, skipped),
            Msg::OpenFailed { generation, error } if self.folder.is_current(generation) => {
                self.folder.open_failed();
                self.messages.error(error.to_string());
                self.resume()
            }
            Msg::Index { generation, event } if self.folder.is_current(generation) => {
                self.index_event(event)
            }
            Msg::Indexed { generation, result } if self.folder.is_current(generation) => {
                self.indexing_ended(result)
            }
            Msg::Opened { .. }
            | Msg::OpenFailed { .. }
            | Msg::Index { .. }
            | Msg::Indexed { .. } => {
                // A folder opened before the one open now.
                Vec::new()
            }
            Msg::Results { .. } | Msg::Described(_) => self.with_search(|s, cx| s.handle(msg, cx)),
            Msg::QueryFailed { id, error } => self.query_failed(id, error),
            Msg::PickedFolder { path, failed } => self.picked(path, failed, Purpose::OpenFolder),
            Msg::PickedPhoto { path, failed } => self.picked(path, failed, Purpose::QueryPhoto),
            Msg::PickedMoveTarget { path, failed } => {
                self.picked(path, failed, Purpose::MoveTarget)
            }
            Msg::FolderChecked(Ok(root)) => self.open_folder(root, false),
            Msg::FolderChecked(Err(error)) => {
                self.messages.error(error.to_string());
                Vec::new()
            }
            Msg::Duplicates { id, result } => self.duplicates_found(id, result),
            Msg::MoveTargetChecked { dir, exists } => {
                let indexing = self.folder.is_indexing();
                self.duplicates.move_target_checked(dir, exists, indexing)
            }
            Msg::Moved { reports } => self.moved(reports),
            Msg::PutBack { reports } => self.put_back(reports),
            Msg::Error(e) => {
                self.messages.error(e.to_string());
                Vec::new()
            }
        }
    }

    /// Opens `folder` (cancelling any indexing first) and brings its index up to date.
    fn open_folder(&mut self, folder: PathBuf, prune: bool) -> Vec<Command> {
        // The groups of the folder left are not awaited any more.
        self.duplicates.pending = None;
        self.folder.open(folder, prune)
    }

    /// A folder's index was opened: remember it, and search the query chosen meanwhile.
    fn opened(
        &mut self,
        root: PathBuf,
        indexed: usize,
        notices: Vec<String>,
        skipped: Vec<Skipped>,
    ) -> Vec<Command> {
        self.folder.opened(root.clone(), indexed, notices, skipped);
        let mut commands: Vec<Command> = self.settings.remember_folder(root).into_iter().collect();
        // A query chosen before (or while) the folder opened is searched in it now.
        commands.extend(self.with_search(Search::show_current));
        commands
    }

    /// An indexing event; a checkpoint searches the open query again. So does another
    /// process's save, read while no update runs here, which also finds the duplicates again.
    fn index_event(&mut self, event: Event) -> Vec<Command> {
        if !self.folder.event(event) {
            return Vec::new();
        }
        let mut commands = self.refresh_duplicates();
        commands.extend(self.with_search(Search::checkpoint));
        commands
    }

    /// Indexing ended: the duplicates and the query's matches are found again if the index
    /// changed (or the query has none yet), or the failure is shown.
    fn indexing_ended(&mut self, result: Result<Summary, Failure>) -> Vec<Command> {
        let changed = match self.folder.ended(result) {
            Ok(changed) => changed,
            Err(error) => {
                self.messages.error(format!("Indexing failed: {error}"));
                return Vec::new();
            }
        };
        let mut commands = self.refresh_duplicates();
        // The current query's matches may be different (or exist at all) now.
        if self.search.current().is_some() && (changed || self.search.tiles().is_empty()) {
            commands.extend(self.with_search(Search::query_command));
        }
        commands
    }

    /// Adds or removes a reference folder (remembered); the groups are found again.
    fn set_reference(&mut self, folder: PathBuf, on: bool) -> Vec<Command> {
        let save = self.settings.set_reference(folder, on);
        self.keeper_rule_changed(save)
    }

    /// The settings' keeper rule changed when `save` saves them: the duplicates follow it.
    fn keeper_rule_changed(&mut self, save: Option<Command>) -> Vec<Command> {
        let Some(save) = save else {
            return Vec::new();
        };
        self.duplicates.set_rule(self.settings.keeper_rule());
        let mut commands = vec![save];
        commands.extend(self.refresh_duplicates());
        commands
    }

    /// Turns "Also find rotated copies" on or off; the shown query is searched again.
    fn set_rotations(&mut self, on: bool) -> Vec<Command> {
        let Some(save) = self.settings.set_rotations(on) else {
            return Vec::new();
        };
        let mut commands = vec![save];
        if self.search.current().is_some() {
            commands.extend(self.with_search(Search::query_command));
        }
        commands
    }

    /// The query awaited failed: say why; the search drops it from the history.
    fn query_failed(&mut self, id: u64, error: Failure) -> Vec<Command> {
        if !self.search.awaits(id) {
            return Vec::new();
        }
        self.messages.error(error.to_string());
        self.with_search(Search::query_failed)
    }

    /// Finds the duplicate groups again when the Duplicates view shows groups older than the
    /// index (or none), and the index is not changing.
    fn refresh_duplicates(&mut self) -> Vec<Command> {
        if self.view != View::Duplicates || self.folder.root.is_none() || self.folder.is_indexing()
        {
            return Vec::new();
        }
        self.duplicates.refresh(self.folder.version)
    }

    /// The duplicates of every level, or why they could not be found.
    fn duplicates_found(&mut self, id: u64, result: Result<Found, Failure>) -> Vec<Command> {
        if !self.duplicates.awaits(id) {
            return Vec::new();
        }
        let failed = result.is_err();
        if let Some(e) = self.duplicates.found(result) {
            let what = if failed {
                "Duplicates could not be found"
            } else {
                "The decisions about groups are not applied"
            };
            self.messages.error(format!("{what}: {e}"));
        }
        // The index may have changed while they were found.
        self.refresh_duplicates()
    }

    /// A move ended: the moved photos leave the index and the views.
    fn moved(&mut self, reports: Vec<Report>) -> Vec<Command> {
        let moved = self.duplicates.moved(reports);
        // The moved photos leave the index (the person chose to move them, so their absence
        // is not a drive that is not mounted).
        match self.folder.root.clone() {
            Some(folder) if moved => self.open_folder(folder, true),
            _ => Vec::new(),
        }
    }

    /// An Undo ended: the photos put back are indexed again (their vectors left the index with
    /// them).
    fn put_back(&mut self, reports: Vec<Report>) -> Vec<Command> {
        let back = self.duplicates.put_back(reports);
        match self.folder.root.clone() {
            Some(folder) if back => self.open_folder(folder, false),
            _ => Vec::new(),
        }
    }

    /// A closed dialog: the path chosen becomes the purpose's action; where the desktop could
    /// not show a dialog, the in-app picker opens near where the person is.
    fn picked(&mut self, path: Option<PathBuf>, failed: bool, purpose: Purpose) -> Vec<Command> {
        let start = match purpose {
            Purpose::OpenFolder => self.settings.last_folder.clone(),
            Purpose::QueryPhoto => self.folder.root.clone(),
            Purpose::MoveTarget => self
                .folder
                .root
                .as_deref()
                .and_then(Path::parent)
                .map(Path::to_path_buf),
        };
        let places = [self.folder.root.clone(), self.settings.last_folder.clone()];
        let places = places.into_iter().flatten().collect();
        match self
            .dialogs
            .closed(path, failed, purpose, start.as_deref(), places)
        {
            Some(chosen) => self.apply(chosen),
            None => Vec::new(),
        }
    }
}
