//! The words the window, the state and the engine speak: the [`Action`]s the view turns
//! clicks and keys into, the [`Command`]s the state hands the engine, and the [`Msg`]s the
//! engine answers with. One flat list each, so the view and the worker need not know which
//! part of the [`State`](super::State) a word is for; the state routes them.

use super::duplicates::{Compare, Decide, Found};
use super::search::Where;
use super::settings::Settings;
use super::View;
use crate::failure::Failure;
use crate::picker::PickerAction;
use photo_sim_engine::decode::details::Details;
use photo_sim_engine::labels::Label;
use photo_sim_engine::library::{Prefer, Verdict};
use photo_sim_engine::library::{Request, Tile};
use photo_sim_engine::relocate::{Destination, Report};
use photo_sim_engine::Photo;
use photo_sim_engine::{Event, Skipped, Summary};
use std::path::PathBuf;
use std::time::Duration;

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
    /// Go ahead with the large move that awaits confirmation.
    ConfirmMove,
    /// Drop the large move that awaits confirmation.
    CancelMove,
    /// Put the photos of the last move back where they were.
    UndoMove,
    /// Show the groups of photos at least this similar (the similarity slider).
    SetThreshold(f32),
    /// Choose keepers by this, after the reference folders (and camera originals first if
    /// the flag is set).
    SetKeeperRule(Prefer, bool),
    /// Remember this of the shown group at this position: it is not proposed again.
    Decide(usize, Verdict),
    /// Forget every decision: all groups are proposed again.
    ForgetDecisions,
    /// Open the compare view on this group and member.
    Compare(Compare),
    /// Show the next (1) or previous (-1) member in the compare view.
    CompareStep(i32),
    /// Tick the compared member for removal (true) or untick it to keep it (false).
    CompareMark(bool),
    CloseCompare,
    /// Never move the photos of this folder (they are the keepers of their groups).
    AddReference(PathBuf),
    RemoveReference(PathBuf),
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
    /// Open (and index, if needed) this folder, once it is known to be one: the folder open
    /// now stays open if it is not.
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
    /// Move the grid selection by columns, rows; the grid has `columns` now.
    MoveSelection(i32, i32, usize),
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
    /// Thumbnails one column larger or smaller than those shown (`side` points, `columns` a
    /// row).
    Zoom {
        larger: bool,
        side: f32,
        columns: usize,
    },
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

/// Work for the engine, produced by [`State::apply`](super::State::apply) and
/// [`State::handle`](super::State::handle).
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    PickFolder,
    PickPhoto,
    /// The folder dialog for where to move photos.
    PickMoveTarget,
    /// Find the duplicate groups of the open folder at every level (and at `custom`, the
    /// slider's threshold), after `change` to the remembered decisions; `id` tags the answer.
    FindDuplicates {
        id: u64,
        rule: photo_sim_engine::KeeperRule,
        custom: Option<f32>,
        change: Option<Decide>,
    },
    /// Move these photos (each checked against its indexed size and time first), into a
    /// folder created first if `create`.
    MovePhotos {
        photos: Vec<Photo>,
        to: Destination,
        create: bool,
    },
    /// Look whether this folder, to move photos into, exists.
    CheckMoveTarget(PathBuf),
    /// Put back the photos these reports of a move say moved.
    PutBack {
        reports: Vec<Report>,
    },
    /// Check that this folder can be opened, before leaving the one open.
    CheckFolder(PathBuf),
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
    /// The answer to `Command::CheckFolder`: the folder as the engine names it, or why it
    /// cannot be opened.
    FolderChecked(Result<PathBuf, Failure>),
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
        result: Result<Found, Failure>,
    },
    /// The answer to `Command::CheckMoveTarget`.
    MoveTargetChecked {
        dir: PathBuf,
        exists: bool,
    },
    /// `Command::MovePhotos` ended: what happened to each file.
    Moved {
        reports: Vec<Report>,
    },
    /// `Command::PutBack` ended: what happened to each file.
    PutBack {
        reports: Vec<Report>,
    },
    /// The answer to `Command::Describe`.
    Described(Vec<(PathBuf, Details)>),
    /// Something went wrong that the person should see.
    Error(Failure),
}

impl Action {
    /// True for the actions that begin new work or move on to something else (switching the
    /// view, ticking photos): the errors shown are stale then, and a preview closes. Moving
    /// the grid selection, dismissing and the like keep the messages shown.
    pub fn starts_something(&self) -> bool {
        matches!(
            self,
            Action::ShowView(_)
                | Action::SetLevel(_)
                | Action::SetThreshold(_)
                | Action::SetKeeperRule(..)
                | Action::Decide(..)
                | Action::ForgetDecisions
                | Action::ToggleSelected(_)
                | Action::SelectAllButKeepers
                | Action::ClearSelection
                | Action::ChooseMoveTarget
                | Action::OpenFolder(_)
                | Action::SetQuery(_)
                | Action::Pivot(_)
                | Action::PivotSelected
                | Action::Back
                | Action::Forward
                | Action::SearchWith(_)
                | Action::TrashSelected
                | Action::MoveSelectedTo(_)
                | Action::ConfirmMove
                | Action::UndoMove
                | Action::PruneMissing
        )
    }
}
