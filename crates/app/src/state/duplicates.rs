//! The duplicates part, behind the Duplicates view: the groups found at each level (same
//! photo, near-duplicate, similar), which level is shown, the photos the person selected, and
//! what the last move did. It asks the engine for the groups when those it has are older than
//! the index, and moves the selected photos (asking first when they are many) or puts the last
//! move's photos back; the [`State`](super::State) then reopens the folder so the index follows.

use super::protocol::{Action, Command};
use crate::failure::Failure;
use photo_sim_engine::labels::Label;
use photo_sim_engine::library::Verdict;
use photo_sim_engine::relocate::{Destination, Outcome, Report};
use photo_sim_engine::{DuplicateGroup, KeeperRule, Photo};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Moves of this many photos or more wait for the person to confirm them: most of them are
/// off-screen, and "Select all but the keepers" may have ticked more than they think.
pub const CONFIRM_FROM: usize = 20;

/// The levels offered, strictest first.
pub const LEVELS: [Label; 3] = [Label::SamePhoto, Label::NearDuplicate, Label::Similar];

/// The groups at one level.
#[derive(Clone, Debug, PartialEq)]
pub struct Level {
    pub label: Label,
    /// The similarity every member has with its keeper, at least.
    pub threshold: f32,
    pub groups: Vec<DuplicateGroup>,
}

/// What the engine found: the groups at every level and at the slider's threshold.
#[derive(Clone, Debug)]
pub struct Found {
    pub levels: Vec<Level>,
    /// The groups at the threshold of the similarity slider, when it was asked for.
    pub custom: Option<Level>,
    /// How many decisions ("not duplicates", "keep all") keep photos apart.
    pub decided: usize,
    /// The decisions could not be read: the groups are shown without them.
    pub problem: Option<Failure>,
}

impl Found {
    /// The groups at every level, with no slider threshold, decision or problem.
    pub fn new(levels: Vec<Level>) -> Self {
        Self {
            levels,
            custom: None,
            decided: 0,
            problem: None,
        }
    }
}

/// A change to the remembered decisions, made before the groups are found again.
#[derive(Clone, Debug, PartialEq)]
pub enum Decide {
    /// These photos are never grouped together again.
    Add {
        photos: Vec<PathBuf>,
        verdict: Verdict,
    },
    /// Every group is proposed again.
    ForgetAll,
}

/// The compare view: a group's keeper beside one of its other members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compare {
    /// The group, in the shown level's order.
    pub group: usize,
    /// The member beside the keeper, in the group's order.
    pub member: usize,
}

/// Groups, photos and bytes freed by keeping only the keepers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub groups: usize,
    pub photos: usize,
    pub reclaimable: u64,
}

impl Level {
    pub fn counts(&self) -> Counts {
        Counts {
            groups: self.groups.len(),
            photos: self.groups.iter().map(|g| g.members.len() + 1).sum(),
            reclaimable: self.groups.iter().map(|g| g.reclaimable()).sum(),
        }
    }
}

/// The photos a move would take, and where, while it waits for the person to confirm it.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingMove {
    pub photos: Vec<Photo>,
    pub to: Destination,
    /// The groups they belong to.
    pub groups: usize,
    /// The destination folder does not exist: confirming creates it.
    pub create: bool,
}

#[derive(Debug)]
pub struct Duplicates {
    /// The level shown (unless the slider's threshold is).
    pub level: Label,
    /// The groups at every level, for the index version `version`; `None` until found.
    pub levels: Option<Vec<Level>>,
    /// The similarity slider's threshold, once the person moved it: its groups are shown.
    pub custom: Option<f32>,
    /// The groups at the slider's last threshold found.
    pub custom_level: Option<Level>,
    /// How many remembered decisions keep photos apart.
    pub decided: usize,
    /// The compare view, while it is open.
    pub compare: Option<Compare>,
    /// The groups shown were found by another keeper rule.
    stale: bool,
    pub version: u64,
    /// The id of the search whose answer is awaited.
    pub pending: Option<u64>,
    pub selected: BTreeSet<PathBuf>,
    /// True while selected photos are being moved (or put back).
    pub moving: bool,
    /// A large move that awaits the person's confirmation.
    pub confirm: Option<PendingMove>,
    /// What the last move (or Undo) did to each file.
    pub report: Vec<Report>,
    /// True when `report` is an Undo's.
    pub report_is_undo: bool,
    /// The reports of the last move, while its photos can be put back.
    pub undoable: Vec<Report>,
    /// How keepers are chosen: the reference folders, whose photos are never moved.
    pub rule: KeeperRule,
    next_id: u64,
}

impl Default for Duplicates {
    fn default() -> Self {
        Self {
            level: Label::NearDuplicate,
            levels: None,
            custom: None,
            custom_level: None,
            decided: 0,
            compare: None,
            stale: false,
            version: 0,
            pending: None,
            selected: BTreeSet::new(),
            moving: false,
            confirm: None,
            report: Vec::new(),
            report_is_undo: false,
            undoable: Vec::new(),
            rule: KeeperRule::default(),
            next_id: 0,
        }
    }
}

impl Duplicates {
    /// The shown groups: the slider's once they are found, else the level's.
    pub fn current(&self) -> Option<&Level> {
        let level = || self.levels.as_ref()?.iter().find(|l| l.label == self.level);
        match self.custom {
            Some(_) => self.custom_level.as_ref().or_else(level),
            None => level(),
        }
    }

    /// Every level found, the slider's too, to take photos out of them.
    fn all_levels_mut(&mut self) -> impl Iterator<Item = &mut Level> {
        self.levels
            .iter_mut()
            .flatten()
            .chain(&mut self.custom_level)
    }

    /// The slider's range: from the loosest level's threshold up to 1.
    pub fn slider_floor(&self) -> Option<f32> {
        self.levels
            .as_ref()?
            .iter()
            .map(|l| l.threshold)
            .min_by(f32::total_cmp)
    }

    pub fn groups(&self) -> &[DuplicateGroup] {
        self.current().map_or(&[], |l| &l.groups)
    }

    pub fn is_selected(&self, path: &Path) -> bool {
        self.selected.contains(path)
    }

    /// Ticks or unticks a photo; one in a reference folder is never ticked.
    pub fn toggle(&mut self, path: PathBuf) {
        if !self.selected.remove(&path) && !self.rule.protects(&path) {
            self.selected.insert(path);
        }
    }

    /// No groups yet; keepers are chosen by `rule`.
    pub fn keeping(rule: KeeperRule) -> Self {
        Self {
            rule,
            ..Self::default()
        }
    }

    /// Chooses keepers by `rule` from now on: the groups must be found again (their keepers
    /// may change; the answer awaited is dropped), and photos in its reference folders are no
    /// longer selected.
    pub fn set_rule(&mut self, rule: KeeperRule) {
        self.rule = rule;
        let rule = &self.rule;
        self.selected.retain(|p| !rule.protects(p));
        self.stale = true;
        self.pending = None;
    }

    /// Selects every member of every shown group, and never a keeper nor a photo in a
    /// reference folder.
    pub fn select_all_but_keepers(&mut self) {
        let keepers: BTreeSet<PathBuf> = self
            .groups()
            .iter()
            .map(|g| g.keeper.path.clone())
            .collect();
        let members: Vec<PathBuf> = self
            .groups()
            .iter()
            .flat_map(|g| g.members.iter().map(|(p, _)| p.path.clone()))
            .filter(|p| !self.rule.protects(p))
            .collect();
        self.selected.retain(|p| !keepers.contains(p));
        self.selected.extend(members);
    }

    /// The selected photos shown at this level, as they were indexed (what the move checks
    /// each file against).
    pub fn selected_photos(&self) -> Vec<Photo> {
        self.groups()
            .iter()
            .flat_map(|g| g.photos())
            .filter(|p| self.selected.contains(&p.path))
            .cloned()
            .collect()
    }

    /// Keeps only selected photos that are still in a group (after the groups were found
    /// again, moved photos are gone from them).
    pub fn prune_selection(&mut self) {
        let shown: BTreeSet<PathBuf> = self
            .levels
            .iter()
            .flatten()
            .chain(&self.custom_level)
            .flat_map(|l| &l.groups)
            .flat_map(|g| g.photos())
            .map(|p| p.path.clone())
            .collect();
        self.selected.retain(|p| shown.contains(p));
    }

    /// Takes photos that were moved out of the groups at once (before the groups are found
    /// again); a group left with only its keeper, or without it, goes.
    pub fn forget(&mut self, moved: &BTreeSet<PathBuf>) {
        for level in self.all_levels_mut() {
            level.groups.retain_mut(|g| {
                g.members.retain(|(p, _)| !moved.contains(&p.path));
                !g.members.is_empty() && !moved.contains(&g.keeper.path)
            });
        }
        self.selected.retain(|p| !moved.contains(p));
    }

    /// True while groups are being found or photos moved.
    pub fn busy(&self) -> bool {
        self.pending.is_some() || self.moving
    }

    /// Changes the level or the selection, or moves the selected photos (not while `indexing`
    /// changes the index). Only the duplicates' actions reach here (the
    /// [`State`](super::State) routes the others to their parts).
    pub fn apply(&mut self, action: Action, indexing: bool) -> Vec<Command> {
        match action {
            Action::SetLevel(label) => {
                self.level = label;
                self.custom = None;
                self.compare = None;
            }
            Action::ToggleSelected(path) => self.toggle(path),
            Action::SelectAllButKeepers => self.select_all_but_keepers(),
            Action::ClearSelection => self.selected.clear(),
            Action::ChooseMoveTarget => return vec![Command::PickMoveTarget],
            Action::TrashSelected => return self.move_or_ask(Destination::Trash, false, indexing),
            // Whether the folder exists is asked first (a missing one is offered to create).
            Action::MoveSelectedTo(dir) if !self.selected_photos().is_empty() => {
                return vec![Command::CheckMoveTarget(dir)]
            }
            Action::ConfirmMove => {
                if let Some(p) = self.confirm.take() {
                    return self.start_move(p.photos, p.to, p.create, indexing);
                }
            }
            Action::CancelMove => self.confirm = None,
            Action::UndoMove => return self.undo(indexing),
            Action::SetThreshold(t) => {
                self.custom = Some(t);
                return self.ask(None);
            }
            Action::Decide(group, verdict) => return self.decide(group, verdict),
            Action::ForgetDecisions => return self.ask(Some(Decide::ForgetAll)),
            Action::Compare(c) => self.compare = Some(c),
            Action::CompareStep(step) => self.compare_step(step),
            Action::CompareMark(remove) => self.compare_mark(remove),
            Action::CloseCompare => self.compare = None,
            _ => {}
        }
        Vec::new()
    }

    /// The folder to move the selected photos into was looked at: they move there, or the
    /// person is asked first when it does not exist (to create it) or they are many.
    pub fn move_target_checked(
        &mut self,
        dir: PathBuf,
        exists: bool,
        indexing: bool,
    ) -> Vec<Command> {
        self.move_or_ask(Destination::Folder(dir), !exists, indexing)
    }

    /// Moves the selected photos to `to`, or asks first when they are [`CONFIRM_FROM`] or
    /// more, or when the folder must be created (`create`).
    fn move_or_ask(&mut self, to: Destination, create: bool, indexing: bool) -> Vec<Command> {
        let photos = self.selected_photos();
        if photos.len() < CONFIRM_FROM && !create {
            return self.start_move(photos, to, false, indexing);
        }
        let groups = self
            .groups()
            .iter()
            .filter(|g| g.photos().any(|p| self.selected.contains(&p.path)))
            .count();
        self.confirm = Some(PendingMove {
            photos,
            to,
            groups,
            create,
        });
        Vec::new()
    }

    /// Moves `photos`, creating the destination folder first if `create` (not while the index
    /// changes, nor during another move).
    fn start_move(
        &mut self,
        photos: Vec<Photo>,
        to: Destination,
        create: bool,
        indexing: bool,
    ) -> Vec<Command> {
        if photos.is_empty() || self.moving || indexing {
            return Vec::new();
        }
        self.moving = true;
        self.report.clear();
        self.undoable.clear();
        vec![Command::MovePhotos { photos, to, create }]
    }

    /// Puts the last move's photos back (not while the index changes, nor during a move).
    fn undo(&mut self, indexing: bool) -> Vec<Command> {
        if self.undoable.is_empty() || self.moving || indexing {
            return Vec::new();
        }
        self.moving = true;
        vec![Command::PutBack {
            reports: std::mem::take(&mut self.undoable),
        }]
    }

    /// How many photos Undo would put back.
    pub fn undo_count(&self) -> usize {
        self.undoable.len()
    }

    /// Finds the groups again when those known are older than index `version` (or there are
    /// none), unless a search for them is already on its way.
    pub fn refresh(&mut self, version: u64) -> Vec<Command> {
        let fresh = self.levels.is_some() && self.version == version && !self.stale;
        if fresh || self.pending.is_some() {
            return Vec::new();
        }
        self.version = version;
        self.ask(None)
    }

    /// Asks for the groups (after `change` to the decisions), now: the answer to any earlier
    /// question is dropped. The groups shown stay until the answer comes.
    fn ask(&mut self, change: Option<Decide>) -> Vec<Command> {
        self.stale = false;
        self.next_id += 1;
        let id = self.next_id;
        self.pending = Some(id);
        vec![Command::FindDuplicates {
            id,
            rule: self.rule.clone(),
            custom: self.custom,
            change,
        }]
    }

    /// Remembers `verdict` for the shown group `group`: it leaves the view at once, and is
    /// never proposed again.
    fn decide(&mut self, group: usize, verdict: Verdict) -> Vec<Command> {
        let Some(g) = self.groups().get(group) else {
            return Vec::new();
        };
        let photos: Vec<PathBuf> = g.photos().map(|p| p.path.clone()).collect();
        let gone: BTreeSet<PathBuf> = photos.iter().cloned().collect();
        for level in self.all_levels_mut() {
            level
                .groups
                .retain(|g| !g.photos().any(|p| gone.contains(&p.path)));
        }
        self.selected.retain(|p| !gone.contains(p));
        self.compare = None;
        self.ask(Some(Decide::Add { photos, verdict }))
    }

    /// The compare view shows the next (`step` 1) or previous (-1) member of its group.
    fn compare_step(&mut self, step: i32) {
        let members = self.compared().map_or(0, |(g, _)| g.members.len());
        if let (Some(c), true) = (&mut self.compare, members > 0) {
            c.member = (c.member as i64 + step as i64).rem_euclid(members as i64) as usize;
        }
    }

    /// Ticks the compared member for removal (`remove`) or unticks it (keep), then shows the
    /// next one, as culling goes.
    fn compare_mark(&mut self, remove: bool) {
        let (Some(at), Some((group, photo))) = (self.compare, self.compared()) else {
            return;
        };
        let last = at.member + 1 == group.members.len();
        let path = photo.path.clone();
        if remove && !self.rule.protects(&path) {
            self.selected.insert(path);
        } else if !remove {
            self.selected.remove(&path);
        }
        if !last {
            self.compare_step(1);
        }
    }

    /// The group and the member the compare view shows, while it is open and they exist.
    pub fn compared(&self) -> Option<(&DuplicateGroup, &Photo)> {
        let c = self.compare?;
        let g = self.groups().get(c.group)?;
        Some((g, &g.members.get(c.member)?.0))
    }

    /// True while the answer to search `id` is awaited (an older one is dropped).
    pub fn awaits(&self, id: u64) -> bool {
        self.pending == Some(id)
    }

    /// The groups of every level arrived, or why they could not be found. Returns what went
    /// wrong that the person should hear of.
    pub fn found(&mut self, result: Result<Found, Failure>) -> Option<Failure> {
        self.pending = None;
        let found = match result {
            Ok(found) => found,
            Err(e) => return Some(e),
        };
        // The compare view follows its photos, wherever the new groups put them.
        let compared = self
            .compared()
            .map(|(g, m)| (g.keeper.path.clone(), m.path.clone()));
        self.levels = Some(found.levels);
        self.custom_level = found.custom;
        self.decided = found.decided;
        self.prune_selection();
        self.compare = compared.and_then(|(keeper, member)| self.find_pair(&keeper, &member));
        found.problem
    }

    /// Where the shown groups put `member` beside its keeper `keeper`, if they still do.
    fn find_pair(&self, keeper: &Path, member: &Path) -> Option<Compare> {
        let groups = self.groups();
        let group = groups.iter().position(|g| g.keeper.path == keeper)?;
        let member = groups[group]
            .members
            .iter()
            .position(|(p, _)| p.path == member)?;
        Some(Compare { group, member })
    }

    /// A move ended: the moved photos leave the groups at once. True when any photo moved.
    pub fn moved(&mut self, reports: Vec<Report>) -> bool {
        self.moving = false;
        let moved: BTreeSet<PathBuf> = reports
            .iter()
            .filter(|r| r.outcome.moved())
            .map(|r| r.path.clone())
            .collect();
        self.forget(&moved);
        self.undoable = reports
            .iter()
            .filter(|r| r.outcome.moved())
            .cloned()
            .collect();
        self.report = reports;
        self.report_is_undo = false;
        !moved.is_empty()
    }

    /// An Undo ended: its report replaces the move's. True when any photo was put back.
    pub fn put_back(&mut self, reports: Vec<Report>) -> bool {
        self.moving = false;
        let back = reports.iter().any(|r| r.outcome == Outcome::PutBack);
        self.report = reports;
        self.report_is_undo = true;
        back
    }

    /// True when a file's outcome in the last report is the one asked for.
    pub fn succeeded(&self, report: &Report) -> bool {
        if self.report_is_undo {
            report.outcome == Outcome::PutBack
        } else {
            report.outcome.moved()
        }
    }

    /// A one-line summary of the last move.
    pub fn report_summary(&self) -> Option<String> {
        if self.report.is_empty() {
            return None;
        }
        let done = self.report.iter().filter(|r| self.succeeded(r)).count();
        let kept = self.report.len() - done;
        let verb = if self.report_is_undo {
            "put back"
        } else {
            "moved"
        };
        let mut text = format!("{done} of {} photos {verb}", self.report.len());
        if kept > 0 {
            text += &format!("; {kept} not touched (see below)");
        }
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(name: &str, bytes: u64) -> Photo {
        Photo {
            path: PathBuf::from(name),
            pixels: Some((10, 10)),
            bytes,
            modified_ns: 0,
            taken: None,
            content: None,
        }
    }

    fn cleanup() -> Duplicates {
        let group = |k: &str, m: &[&str]| DuplicateGroup {
            keeper: photo(k, 100),
            members: m.iter().map(|n| (photo(n, 10), 0.95)).collect(),
        };
        Duplicates {
            levels: Some(vec![
                Level {
                    label: Label::SamePhoto,
                    threshold: 0.9,
                    groups: vec![group("a", &["a2"])],
                },
                Level {
                    label: Label::NearDuplicate,
                    threshold: 0.7,
                    groups: vec![group("a", &["a2", "a3"]), group("b", &["b2"])],
                },
            ]),
            ..Duplicates::default()
        }
    }

    #[test]
    fn select_all_but_the_keeper_never_selects_a_keeper() {
        let mut c = cleanup();
        c.toggle(PathBuf::from("a"));
        c.select_all_but_keepers();
        let got: Vec<_> = c.selected.iter().cloned().collect();
        assert_eq!(got, ["a2", "a3", "b2"].map(PathBuf::from));
        assert_eq!(c.selected_photos().len(), 3);
    }

    #[test]
    fn counts_say_groups_photos_and_bytes_freed() {
        let c = cleanup();
        assert_eq!(
            c.current().unwrap().counts(),
            Counts {
                groups: 2,
                photos: 5,
                reclaimable: 30
            }
        );
    }

    /// A group of one keeper and `n` copies.
    fn big_group(n: usize) -> Duplicates {
        let names: Vec<String> = (0..n).map(|i| format!("copy{i}")).collect();
        let members = names.iter().map(|n| (photo(n, 10), 0.95)).collect();
        Duplicates {
            levels: Some(vec![Level {
                label: Label::NearDuplicate,
                threshold: 0.7,
                groups: vec![DuplicateGroup {
                    keeper: photo("keeper", 100),
                    members,
                }],
            }]),
            ..Duplicates::default()
        }
    }

    #[test]
    fn a_large_move_waits_for_confirmation_and_a_small_one_does_not() {
        let mut c = big_group(CONFIRM_FROM);
        c.select_all_but_keepers();
        assert!(c.apply(Action::TrashSelected, false).is_empty());
        let pending = c.confirm.clone().expect("asks first");
        assert_eq!((pending.photos.len(), pending.groups), (CONFIRM_FROM, 1));
        c.apply(Action::CancelMove, false);
        assert!(c.confirm.is_none() && !c.moving);
        c.apply(Action::TrashSelected, false);
        let commands = c.apply(Action::ConfirmMove, false);
        assert!(
            matches!(&commands[..], [Command::MovePhotos { photos, to: Destination::Trash, create: false }] if photos.len() == CONFIRM_FROM)
        );

        let mut small = big_group(CONFIRM_FROM - 1);
        small.select_all_but_keepers();
        let commands = small.apply(Action::TrashSelected, false);
        assert!(matches!(&commands[..], [Command::MovePhotos { .. }]));
        assert!(small.confirm.is_none());
    }

    #[test]
    fn undo_puts_back_only_what_the_last_move_moved_and_only_once() {
        let mut c = big_group(3);
        let report = |name: &str, outcome| Report {
            path: PathBuf::from(name),
            outcome,
        };
        c.moving = true;
        c.moved(vec![
            report("copy0", Outcome::Trashed),
            report("copy1", Outcome::Changed),
            report("copy2", Outcome::Moved(PathBuf::from("/elsewhere/copy2"))),
        ]);
        assert_eq!(c.undo_count(), 2);
        assert!(
            c.apply(Action::UndoMove, true).is_empty(),
            "not while indexing"
        );
        let commands = c.apply(Action::UndoMove, false);
        let [Command::PutBack { reports }] = &commands[..] else {
            panic!("{commands:?}")
        };
        let names: Vec<_> = reports.iter().map(|r| r.path.clone()).collect();
        assert_eq!(names, [PathBuf::from("copy0"), PathBuf::from("copy2")]);
        assert!(c.apply(Action::UndoMove, false).is_empty(), "once");
        assert!(c.put_back(vec![
            report("copy0", Outcome::PutBack),
            report("copy2", Outcome::Failed("taken".into())),
        ]));
        assert_eq!(
            c.report_summary().unwrap(),
            "1 of 2 photos put back; 1 not touched (see below)"
        );
    }

    #[test]
    fn the_selection_forgets_photos_no_longer_grouped() {
        let mut c = cleanup();
        c.toggle(PathBuf::from("b2"));
        c.toggle(PathBuf::from("gone"));
        c.prune_selection();
        assert_eq!(c.selected.len(), 1);
    }

    #[test]
    fn a_move_into_a_missing_folder_offers_to_create_it() {
        let mut c = big_group(2);
        c.select_all_but_keepers();
        let dir = PathBuf::from("/new/album");
        let commands = c.apply(Action::MoveSelectedTo(dir.clone()), false);
        assert_eq!(commands, vec![Command::CheckMoveTarget(dir.clone())]);
        assert!(c.move_target_checked(dir.clone(), false, false).is_empty());
        assert!(c.confirm.as_ref().is_some_and(|p| p.create));
        let commands = c.apply(Action::ConfirmMove, false);
        assert!(matches!(
            &commands[..],
            [Command::MovePhotos { to: Destination::Folder(d), create: true, .. }] if *d == dir
        ));
        // An existing folder: two photos move at once.
        let mut c = big_group(2);
        c.select_all_but_keepers();
        let commands = c.move_target_checked(dir, true, false);
        assert!(matches!(
            &commands[..],
            [Command::MovePhotos { create: false, .. }]
        ));
    }

    #[test]
    fn a_photo_in_a_reference_folder_is_never_selected() {
        let mut c = big_group(3);
        c.set_rule(KeeperRule {
            reference: vec![PathBuf::from("copy1")],
            ..KeeperRule::default()
        });
        let commands = c.refresh(0);
        c.select_all_but_keepers();
        let got: Vec<_> = c.selected.iter().cloned().collect();
        assert_eq!(got, ["copy0", "copy2"].map(PathBuf::from));
        c.toggle(PathBuf::from("copy1"));
        assert_eq!(c.selected.len(), 2);
        assert!(matches!(
            &commands[..],
            [Command::FindDuplicates { rule, .. }] if rule.protects(Path::new("copy1"))
        ));
    }

    #[test]
    fn the_compare_view_follows_its_photos_when_the_groups_are_found_again() {
        let mut c = cleanup();
        // Near-duplicate level: group 1 is "b" with "b2".
        c.apply(
            Action::Compare(Compare {
                group: 1,
                member: 0,
            }),
            false,
        );
        assert_eq!(c.compared().unwrap().1.path, PathBuf::from("b2"));
        let mut levels = c.levels.clone().unwrap();
        levels[1].groups.reverse();
        c.found(Ok(Found::new(levels.clone())));
        assert_eq!(
            c.compare,
            Some(Compare {
                group: 0,
                member: 0
            })
        );
        assert_eq!(c.compared().unwrap().1.path, PathBuf::from("b2"));
        // Its member gone: the view closes rather than show another photo.
        levels[1].groups.retain(|g| g.keeper.path != Path::new("b"));
        c.found(Ok(Found::new(levels)));
        assert_eq!(c.compare, None);
    }
}
