//! The search part: the query history (each step a photo, the examples its matches should
//! look more or less like, and its matches once known), where in it the person is, the grid's
//! selection and unfolded group, how many tiles are asked for and where, the hover cards'
//! details, and the preview. It asks the engine for matches and keeps only the answer to its
//! latest question. What it needs from the other parts (the settings its queries are asked
//! with, the index version) it borrows through a [`Ctx`] for the length of one change.

use super::protocol::{Action, Command, Msg};
use super::settings::{SavedStep, Settings};
use photo_sim_engine::decode::details::Details;
use photo_sim_engine::labels::Label;
use photo_sim_engine::library::{Request, Scope, Tile};
use photo_sim_engine::Match;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Tiles shown for a query, and how many more "More" shows.
pub const RESULTS: usize = 10;
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
    pub m: Match,
    /// Photos the tile stands for (1 for an expanded group's other members).
    pub count: usize,
    /// What the tile's badge says ("×3", "JPG+RAW"), when it stands for several photos.
    pub badge: Option<String>,
    /// True for the best of a group that is shown expanded.
    pub expanded: bool,
    /// True for a near-duplicate shown after its group's best.
    pub member: bool,
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

    /// The step as it is remembered across restarts (its photos, not its matches).
    fn saved(&self) -> SavedStep {
        SavedStep {
            path: self.path.clone(),
            more: self.more.clone(),
            less: self.less.clone(),
        }
    }
}

/// Timing of the last query, for `PHOTO_SIM_TIMING`.
#[derive(Clone, Copy, Debug)]
pub struct QueryTiming {
    pub issued: Instant,
    pub results_at: Option<Instant>,
    pub engine: Option<Duration>,
    pub thumbs_logged: bool,
}

/// What the search borrows from the other parts while it changes: the settings its queries
/// are asked with (and its history is saved in), and the index they search.
pub struct Ctx<'a> {
    pub settings: &'a mut Settings,
    /// The version of the open index (bumped whenever it changes).
    pub version: u64,
    /// False while no folder is open (a photo is then only checked to be an image).
    pub folder_open: bool,
}

#[derive(Debug)]
pub struct Search {
    pub history: Vec<Step>,
    /// Index of the current query in `history`.
    pub pos: usize,
    pub selection: Option<usize>,
    /// The id of the query whose answer is awaited.
    pub pending_query: Option<u64>,
    next_query_id: u64,
    pub timing: Option<QueryTiming>,
    /// The photo shown large over the grid, if any.
    pub preview: Option<PathBuf>,
    /// Tiles asked for (ten, more after "More").
    pub count: usize,
    /// The tile (by its best match) whose near-duplicates are shown.
    pub expanded: Option<PathBuf>,
    /// Where the query's matches may be.
    pub scope: Where,
    /// What the hover cards say of the query and its matches.
    pub details: HashMap<PathBuf, Details>,
}

impl Search {
    /// The search with the queries of the last run, which are searched once the folder opens.
    pub fn new(settings: &Settings) -> Self {
        let history: Vec<Step> = settings
            .history
            .iter()
            .map(|s| Step::new(s.path.clone(), s.more.clone(), s.less.clone()))
            .collect();
        let pos = settings.pos.min(history.len().saturating_sub(1));
        Self {
            history,
            pos,
            selection: None,
            pending_query: None,
            next_query_id: 0,
            timing: None,
            preview: None,
            count: RESULTS,
            expanded: None,
            scope: Where::Everywhere,
            details: HashMap::new(),
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

    /// The grid's cells: each tile's best match (the weaker ones only when `show_weak`),
    /// followed by its near-duplicates when the tile is expanded.
    pub fn cells(&self, show_weak: bool) -> Vec<Cell> {
        let mut cells = Vec::new();
        let shown = self
            .tiles()
            .iter()
            .filter(|t| show_weak || !is_weak(&t.best));
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

    fn cell_path(&self, i: usize, show_weak: bool) -> Option<PathBuf> {
        self.cells(show_weak).into_iter().nth(i).map(|c| c.m.path)
    }

    pub fn can_go_back(&self) -> bool {
        !self.history.is_empty() && self.pos > 0
    }

    pub fn can_go_forward(&self) -> bool {
        self.pos + 1 < self.history.len()
    }

    /// What a query is asked with besides its photos: tiles, scope, rotations.
    fn asked(&self, settings: &Settings) -> (usize, Where, bool) {
        (self.count, self.scope, settings.rotations)
    }

    /// Changes the search as the person asked. Only the search's actions reach here (the
    /// [`State`](super::State) routes the others to their parts).
    pub fn apply(&mut self, action: Action, cx: &mut Ctx<'_>) -> Vec<Command> {
        let show_weak = cx.settings.show_weak;
        match action {
            Action::SetQuery(path) => self.set_query(path, cx),
            Action::Pivot(i) => match self.cell_path(i, show_weak) {
                Some(path) => self.set_query(path, cx),
                None => Vec::new(),
            },
            Action::PivotSelected => match self.selection {
                Some(i) => self.apply(Action::Pivot(i), cx),
                None => Vec::new(),
            },
            Action::Back => self.back(cx),
            Action::Forward => self.forward(cx),
            Action::ToggleGroup(i) => self.toggle_group(i, show_weak),
            Action::MoreLike(i) => self.mark_example(i, true, cx),
            Action::LessLike(i) => self.mark_example(i, false, cx),
            Action::RemoveExample(p) => self.refine(cx, |more, less| {
                more.retain(|m| *m != p);
                less.retain(|l| *l != p);
            }),
            Action::SetWhere(scope) => self.set_where(scope, cx),
            Action::ShowMore => self.show_more(cx),
            Action::MoveSelection(dx, dy, columns) => {
                self.move_selection(dx, dy, columns, cx.settings)
            }
            Action::Select(selection) => {
                self.selection = selection.filter(|&i| i < self.cells(show_weak).len());
                Vec::new()
            }
            Action::TogglePreview => self.toggle_preview(show_weak),
            Action::ClosePreview => {
                self.preview = None;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Folds the engine's answers to the search in (only these reach here).
    pub fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) -> Vec<Command> {
        match msg {
            Msg::Results {
                id,
                query,
                tiles,
                details,
                searched,
                elapsed,
            } if self.pending_query == Some(id) => {
                self.details.extend(details);
                self.results_arrived(query, tiles, searched, elapsed, cx);
            }
            Msg::Described(details) => self.details.extend(details),
            _ => {}
        }
        Vec::new()
    }

    /// Searches the current query when it has no matches yet and none are on their way.
    pub fn resume(&mut self, cx: &mut Ctx<'_>) -> Vec<Command> {
        if self.pending_query.is_some() {
            return Vec::new();
        }
        match self.current() {
            Some(s) if s.results.is_none() => self.show_current(cx),
            _ => Vec::new(),
        }
    }

    /// The index changed under the open query (a checkpoint of indexing): its matches are
    /// asked for again, unless a query is already on its way.
    pub fn checkpoint(&mut self, cx: &mut Ctx<'_>) -> Vec<Command> {
        if self.current().is_some() && self.pending_query.is_none() {
            return self.query_command(cx);
        }
        Vec::new()
    }

    /// The history as it is saved (its last steps), in the settings to be saved.
    fn remember_history(&self, settings: &mut Settings) -> Command {
        let start = self.history.len().saturating_sub(SAVED_STEPS);
        settings.history = self.history[start..].iter().map(Step::saved).collect();
        settings.pos = self.pos.saturating_sub(start);
        Command::SaveSettings(settings.clone())
    }

    /// Adds a query to the history after the current one (dropping any forward steps), shows
    /// it and remembers the history.
    fn push_step(&mut self, step: Step, cx: &mut Ctx<'_>) -> Vec<Command> {
        if !self.history.is_empty() {
            self.history.truncate(self.pos + 1);
        }
        self.history.push(step);
        self.pos = self.history.len() - 1;
        self.count = RESULTS;
        self.expanded = None;
        self.show_moved(cx)
    }

    /// Shows the step the history just moved to, and saves where in the history it is.
    fn show_moved(&mut self, cx: &mut Ctx<'_>) -> Vec<Command> {
        let mut commands = self.show_current(cx);
        commands.push(self.remember_history(cx.settings));
        commands
    }

    /// The photo at cell `i` as an example the matches should look more (or less) like; it
    /// leaves the other list if it was there.
    fn mark_example(&mut self, i: usize, more_like: bool, cx: &mut Ctx<'_>) -> Vec<Command> {
        let Some(p) = self.cell_path(i, cx.settings.show_weak) else {
            return Vec::new();
        };
        self.refine(cx, |more, less| {
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
        cx: &mut Ctx<'_>,
        change: impl FnOnce(&mut Vec<PathBuf>, &mut Vec<PathBuf>),
    ) -> Vec<Command> {
        let Some(current) = self.current() else {
            return Vec::new();
        };
        let (mut more, mut less) = (current.more.clone(), current.less.clone());
        change(&mut more, &mut less);
        let path = current.path.clone();
        self.push_step(Step::new(path, more, less), cx)
    }

    /// Asks the engine for the matches of the current step, as the search is set now.
    pub fn query_command(&mut self, cx: &mut Ctx<'_>) -> Vec<Command> {
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
                rotations: cx.settings.rotations,
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
    pub fn show_current(&mut self, cx: &mut Ctx<'_>) -> Vec<Command> {
        self.selection = None;
        let asked = self.asked(cx.settings);
        let fresh = self.current().is_some_and(|s| {
            s.results.is_some()
                && s.version == cx.version
                && s.asked == Some(asked)
                && (s.searched || !cx.folder_open)
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
            self.query_command(cx)
        }
    }

    /// Shows the selected match (or the query) large, or closes what is shown.
    fn toggle_preview(&mut self, show_weak: bool) -> Vec<Command> {
        self.preview = match self.preview {
            Some(_) => None,
            None => self
                .selection
                .and_then(|i| self.cell_path(i, show_weak))
                .or_else(|| self.query().map(Path::to_path_buf)),
        };
        Vec::new()
    }

    /// Makes `path` the query: a new step of the history, or the same one refreshed.
    fn set_query(&mut self, path: PathBuf, cx: &mut Ctx<'_>) -> Vec<Command> {
        if self.query() == Some(path.as_path()) && self.current().is_some() {
            // Dropping the same photo again just refreshes it.
            if let Some(step) = self.history.get_mut(self.pos) {
                step.results = None;
            }
            return self.show_current(cx);
        }
        self.push_step(Step::new(path, Vec::new(), Vec::new()), cx)
    }

    /// Unfolds the tile at `i` to show its near-duplicates, or folds it again.
    fn toggle_group(&mut self, i: usize, show_weak: bool) -> Vec<Command> {
        let Some(cell) = self.cells(show_weak).into_iter().nth(i) else {
            return Vec::new();
        };
        let selected = self.selection.and_then(|i| self.cell_path(i, show_weak));
        let keep_selection = |s: &mut Self| {
            s.selection = selected
                .as_ref()
                .and_then(|p| s.cells(show_weak).iter().position(|c| c.m.path == *p));
        };
        if cell.expanded {
            self.expanded = None;
            keep_selection(self);
        } else if cell.count > 1 {
            self.expanded = Some(cell.m.path);
            keep_selection(self);
            let unknown: Vec<PathBuf> = self
                .cells(show_weak)
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
    fn set_where(&mut self, scope: Where, cx: &mut Ctx<'_>) -> Vec<Command> {
        if self.scope == scope {
            return Vec::new();
        }
        self.scope = scope;
        self.count = RESULTS;
        self.query_command(cx)
    }

    /// Asks for the next ten matches.
    fn show_more(&mut self, cx: &mut Ctx<'_>) -> Vec<Command> {
        if self.current().is_none() || self.pending_query.is_some() {
            return Vec::new();
        }
        self.count += RESULTS;
        self.query_command(cx)
    }

    /// Moves the selected match by `dx` columns and `dy` rows (arrow keys) in a grid of
    /// `columns`.
    fn move_selection(
        &mut self,
        dx: i32,
        dy: i32,
        columns: usize,
        settings: &Settings,
    ) -> Vec<Command> {
        let n = self.cells(settings.show_weak).len();
        if n == 0 {
            self.selection = None;
            return Vec::new();
        }
        self.selection = Some(match self.selection {
            None => 0,
            Some(i) => {
                let cols = columns.max(1) as i32;
                let (row, col) = (i as i32 / cols, i as i32 % cols);
                let col = (col + dx).clamp(0, cols - 1);
                let rows = (n as i32 + cols - 1) / cols;
                let row = (row + dy).clamp(0, rows - 1);
                ((row * cols + col) as usize).min(n - 1)
            }
        });
        Vec::new()
    }

    /// The query before this one in the history.
    fn back(&mut self, cx: &mut Ctx<'_>) -> Vec<Command> {
        if !self.can_go_back() {
            return Vec::new();
        }
        self.pos -= 1;
        self.show_moved(cx)
    }

    /// The query after this one in the history.
    fn forward(&mut self, cx: &mut Ctx<'_>) -> Vec<Command> {
        if !self.can_go_forward() {
            return Vec::new();
        }
        self.pos += 1;
        self.show_moved(cx)
    }

    /// The answer to the query awaited: its tiles join the current step.
    fn results_arrived(
        &mut self,
        query: PathBuf,
        tiles: Vec<Tile>,
        searched: bool,
        elapsed: Duration,
        cx: &Ctx<'_>,
    ) {
        self.pending_query = None;
        if let Some(t) = &mut self.timing {
            t.results_at = Some(Instant::now());
            t.engine = Some(elapsed);
        }
        let asked = self.asked(cx.settings);
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
            step.version = cx.version;
            step.searched = searched;
        }
        if self
            .selection
            .is_some_and(|i| i >= self.cells(cx.settings.show_weak).len())
        {
            self.selection = None;
        }
    }

    /// True while the answer to query `id` is awaited (an older one is dropped).
    pub fn awaits(&self, id: u64) -> bool {
        self.pending_query == Some(id)
    }

    /// The query awaited failed (the [`State`](super::State) says why): it leaves the history.
    pub fn query_failed(&mut self, cx: &mut Ctx<'_>) -> Vec<Command> {
        self.pending_query = None;
        self.timing = None;
        // A photo that cannot be searched does not stay in the history.
        if self.current().is_some_and(|s| s.results.is_none()) {
            self.history.remove(self.pos);
            if self.pos > 0 && self.pos >= self.history.len() {
                self.pos -= 1;
            }
            let mut commands = Vec::new();
            if !self.history.is_empty() {
                commands = self.show_current(cx);
            }
            if self.history.is_empty() {
                self.pos = 0;
            }
            // Nor does it come back on the next start.
            commands.push(self.remember_history(cx.settings));
            return commands;
        }
        Vec::new()
    }
}

/// Matches under the "similar" cut (loosely related or unrelated): drawn dimmed, or hidden.
pub fn is_weak(m: &Match) -> bool {
    matches!(m.label, Some(Label::Related | Label::Unrelated))
}

#[cfg(test)]
mod tests {
    use crate::failure::Failure;
    use crate::state::testing::*;
    use crate::state::*;
    use photo_sim_engine::decode::DecodeError;
    use photo_sim_engine::labels::Label;
    use photo_sim_engine::library::Scope;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

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
        assert!(s.search.pending_query.is_none());
    }

    #[test]
    fn pivot_back_and_forward_walk_the_history() {
        let mut s = showing_a();
        // Pivot to the third result.
        let id = query_id(&s.apply(Action::Pivot(2)));
        assert_eq!(s.search.query(), Some(Path::new("/photos/b2.jpg")));
        answer(&mut s, id, "/photos/b2.jpg", grid("c", 10));
        assert_eq!(s.search.history.len(), 2);
        assert!(s.search.can_go_back() && !s.search.can_go_forward());

        // Back shows the cached results at once, with no new query (only where it is in the
        // history is saved).
        let no_query = |commands: Vec<Command>| {
            commands
                .iter()
                .all(|c| matches!(c, Command::SaveSettings(_)))
        };
        assert!(no_query(s.apply(Action::Back)));
        assert_eq!(s.settings.pos, 0);
        assert_eq!(s.search.query(), Some(Path::new("/photos/a.jpg")));
        assert_eq!(s.results()[0].path, PathBuf::from("/photos/b0.jpg"));
        assert!(!s.search.can_go_back() && s.search.can_go_forward());
        assert_eq!(s.apply(Action::Back), vec![]);

        assert!(no_query(s.apply(Action::Forward)));
        assert_eq!(s.search.query(), Some(Path::new("/photos/b2.jpg")));
        assert_eq!(s.apply(Action::Forward), vec![]);

        // A new query after going back drops the forward steps.
        s.apply(Action::Back);
        let id = query_id(&s.apply(Action::Pivot(5)));
        answer(&mut s, id, "/photos/b5.jpg", grid("d", 10));
        assert_eq!(s.search.history.len(), 2);
        assert_eq!(s.search.query(), Some(Path::new("/photos/b5.jpg")));
        assert!(!s.search.can_go_forward());
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
        s.apply(Action::MoveSelection(1, 0, 5));
        assert_eq!(
            s.search.selection,
            Some(0),
            "the first move selects the first cell"
        );
        s.apply(Action::MoveSelection(1, 0, 5));
        s.apply(Action::MoveSelection(1, 0, 5));
        assert_eq!(s.search.selection, Some(2));
        s.apply(Action::MoveSelection(0, 1, 5));
        assert_eq!(s.search.selection, Some(7));
        s.apply(Action::MoveSelection(0, 1, 5));
        assert_eq!(s.search.selection, Some(7), "clamped to the last row");
        s.apply(Action::MoveSelection(9, 0, 5));
        assert_eq!(s.search.selection, Some(9), "clamped to the last column");
        s.apply(Action::MoveSelection(-9, -9, 5));
        assert_eq!(s.search.selection, Some(0));
        s.apply(Action::MoveSelection(1, 0, 5));
        let id = query_id(&s.apply(Action::PivotSelected));
        assert_eq!(s.search.query(), Some(Path::new("/photos/b1.jpg")));
        assert_eq!(s.search.selection, None);
        answer(&mut s, id, "/photos/b1.jpg", grid("c", 3));
        s.apply(Action::MoveSelection(0, 0, 5));
        s.apply(Action::MoveSelection(0, 1, 5));
        assert_eq!(s.search.selection, Some(0), "one row only");
        s.apply(Action::MoveSelection(4, 0, 5));
        assert_eq!(s.search.selection, Some(2), "no cell past the last result");
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
        assert_eq!(s.messages.errors().len(), 1);
        assert!(s.messages.errors()[0].contains("not an image"));
        assert_eq!(s.search.query(), Some(Path::new("/photos/a.jpg")));
        assert_eq!(s.search.history.len(), 1);
        assert_eq!(s.results().len(), 10);
        s.apply(Action::DismissErrors);
        assert!(s.messages.errors().is_empty());
    }

    #[test]
    fn space_previews_the_selected_match_or_else_the_query() {
        let mut s = showing_a();
        s.apply(Action::TogglePreview);
        assert_eq!(
            s.search.preview.as_deref(),
            Some(Path::new("/photos/a.jpg"))
        );
        s.apply(Action::TogglePreview);
        assert_eq!(s.search.preview, None);
        s.apply(Action::Select(Some(2)));
        s.apply(Action::TogglePreview);
        assert_eq!(s.search.preview.as_ref(), Some(&s.results()[2].path));
        // Pivoting is new work: the preview closes.
        s.apply(Action::PivotSelected);
        assert_eq!(s.search.preview, None);
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
        assert_eq!(
            s.search.expanded, None,
            "a single photo has nothing to show"
        );
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
        assert_eq!(s.search.expanded, None, "a new query starts collapsed");
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
        assert_eq!(s.search.history.len(), 4);
        s.apply(Action::Back);
        s.apply(Action::Back);
        assert_eq!(
            s.search.current().unwrap().more,
            [PathBuf::from("/photos/b1.jpg")]
        );
        assert!(s.search.current().unwrap().less.is_empty());

        // The next start has the same history, at the same step.
        let saved = match s.apply(Action::Forward).pop() {
            Some(Command::SaveSettings(st)) => st,
            other => panic!("{other:?}"),
        };
        let restored = State::new(saved);
        assert_eq!(restored.search.history.len(), 4);
        assert_eq!(restored.search.pos, s.search.pos);
        assert_eq!(
            restored.search.current().unwrap().less,
            s.search.current().unwrap().less
        );
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
        // Larger from the 5×2 fit: one column fewer, each tile as much wider.
        let zoom = |larger, side, columns| Action::Zoom {
            larger,
            side,
            columns,
        };
        assert!(matches!(
            s.apply(zoom(true, 100.0, 5)).as_slice(),
            [Command::SaveSettings(st)] if st.tile == Some(125.0)
        ));
        assert_eq!(
            s.apply(zoom(true, 300.0, 1)),
            vec![],
            "one column is the largest"
        );
        s.apply(zoom(true, 500.0, 2));
        assert_eq!(s.settings.tile, Some(MAX_TILE));
        assert_eq!(s.apply(zoom(true, MAX_TILE, 2)), vec![]);
        s.apply(zoom(false, 100.0, 4));
        assert_eq!(s.settings.tile, Some(80.0));
        s.apply(zoom(false, 66.0, 12));
        assert_eq!(s.settings.tile, Some(MIN_TILE));
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
        assert!(s.search.history.is_empty());
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
        assert_eq!(s.search.selection, Some(3));
        assert_eq!(s.cells()[3].m.path, PathBuf::from("/photos/b2.jpg"));
        s.apply(Action::ToggleGroup(0));
        assert_eq!(s.search.selection, Some(2));
    }
}
