//! The folder part: the folder whose index is open, how many photos it holds, where its
//! indexing is (what the status line shows), what the last run did, and the files it skipped
//! or remarked on. `generation` tells the messages of the folder opened last from those of
//! one opened before it; `version` counts the changes of the index, so the search and the
//! duplicates know when what they show is stale.

use super::protocol::Command;
use crate::failure::Failure;
use photo_sim_engine::{Event, Skipped, Summary};
use std::path::PathBuf;
use std::time::Duration;

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
    /// Making the compact codes of a large library (fast search afterwards).
    Compacting {
        done: usize,
        total: usize,
    },
    BuildingGraph {
        points: usize,
    },
    Cancelling,
}

#[derive(Debug)]
pub struct Folder {
    /// The open folder (as the engine names it), once its index is open.
    pub root: Option<PathBuf>,
    /// Photos in its index.
    pub indexed: usize,
    pub indexing: Indexing,
    pub last_summary: Option<Summary>,
    pub skipped: Vec<Skipped>,
    /// What opening and indexing the folder had to say.
    pub notices: Vec<String>,
    /// Bumped each time a folder is opened; its messages carry it.
    pub generation: u64,
    /// Bumped whenever the index changes, so cached results are refreshed.
    pub version: u64,
}

impl Default for Folder {
    fn default() -> Self {
        Self {
            root: None,
            indexed: 0,
            indexing: Indexing::Idle,
            last_summary: None,
            skipped: Vec::new(),
            notices: Vec::new(),
            generation: 0,
            version: 0,
        }
    }
}

impl Folder {
    pub fn is_indexing(&self) -> bool {
        self.indexing != Indexing::Idle
    }

    /// True for the messages of the folder opened last (those of an older one are dropped).
    pub fn is_current(&self, generation: u64) -> bool {
        generation == self.generation
    }

    /// Opens `folder` (cancelling any indexing first) and brings its index up to date;
    /// `prune` removes missing photos even when most of the index vanished at once.
    pub fn open(&mut self, folder: PathBuf, prune: bool) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.is_indexing() {
            commands.push(Command::Cancel);
        }
        self.generation += 1;
        self.root = None;
        self.indexed = 0;
        self.indexing = Indexing::Opening;
        self.skipped.clear();
        self.notices.clear();
        self.last_summary = None;
        self.version += 1;
        commands.push(Command::Open {
            folder,
            generation: self.generation,
            prune,
        });
        commands
    }

    /// The folder's index is open (indexing goes on).
    pub fn opened(
        &mut self,
        root: PathBuf,
        indexed: usize,
        notices: Vec<String>,
        skipped: Vec<Skipped>,
    ) {
        self.root = Some(root);
        self.indexed = indexed;
        self.notices = notices;
        self.skipped = skipped;
        self.version += 1;
    }

    /// The folder could not be opened: nothing indexes.
    pub fn open_failed(&mut self) {
        self.indexing = Indexing::Idle;
    }

    /// Stops indexing, keeping what was embedded.
    pub fn cancel(&mut self) -> Vec<Command> {
        if self.is_indexing() {
            self.indexing = Indexing::Cancelling;
            vec![Command::Cancel]
        } else {
            Vec::new()
        }
    }

    /// Folds an indexing event in. True for a checkpoint (or another process's save, which
    /// the worker reports as one): the index changed, and the open query's matches follow.
    pub fn event(&mut self, event: Event) -> bool {
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
            Event::Compacting { done, total } if !cancelling => {
                self.indexing = Indexing::Compacting { done, total }
            }
            Event::BuildingGraph { points } if !cancelling => {
                self.indexing = Indexing::BuildingGraph { points }
            }
            Event::Saved { indexed } => {
                self.indexed = indexed;
                self.version += 1;
                return true;
            }
            _ => {}
        }
        false
    }

    /// Indexing ended (finished or cancelled): whether it changed the index, or why it failed.
    pub fn ended(&mut self, result: Result<Summary, Failure>) -> Result<bool, Failure> {
        self.indexing = Indexing::Idle;
        let summary = result?;
        self.indexed = summary.indexed;
        self.skipped = summary.skipped.clone();
        let changed = summary.changed;
        self.last_summary = Some(summary);
        if changed {
            self.version += 1;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use crate::failure::Failure;
    use crate::state::testing::*;
    use crate::state::*;
    use photo_sim_engine::{Event, Skipped, Summary};
    use std::path::{Path, PathBuf};
    use std::time::Duration;

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
        assert_eq!(s.folder.indexed, 20);
        // A stale answer is ignored, the pending one is accepted.
        answer(&mut s, 999, "/photos/a.jpg", grid("x", 10));
        assert_eq!(s.results()[0].path, PathBuf::from("/photos/b0.jpg"));
        answer(&mut s, id, "/photos/a.jpg", grid("y", 10));
        assert_eq!(s.results()[0].path, PathBuf::from("/photos/y0.jpg"));
        assert!(s.search.pending_query.is_none());
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
        assert_eq!(s.folder.indexed, 40);
        answer(&mut s, id, "/photos/a.jpg", grid("b", 10));
        assert_eq!(s.results().len(), 10);
    }

    #[test]
    fn another_process_s_save_moves_the_count_and_finds_the_matches_and_duplicates_again() {
        let mut s = showing_a();
        s.handle(Msg::Indexed {
            generation: 1,
            result: Ok(Summary {
                indexed: 838,
                ..Summary::default()
            }),
        });
        let find = s.apply(Action::ShowView(View::Duplicates));
        let [Command::FindDuplicates { id, .. }] = find[..] else {
            panic!("{find:?}")
        };
        s.handle(Msg::Duplicates {
            id,
            result: Ok(crate::state::duplicates::Found::new(vec![])),
        });
        assert_eq!(s.folder.indexed, 838);

        // The worker reports another process's save as a checkpoint of the idle folder.
        let commands = s.handle(Msg::Index {
            generation: 1,
            event: Event::Saved { indexed: 5000 },
        });
        assert_eq!(s.folder.indexed, 5000);
        assert_eq!(s.folder.indexing, Indexing::Idle);
        assert!(
            commands
                .iter()
                .any(|c| matches!(c, Command::FindDuplicates { .. })),
            "{commands:?}"
        );
        let id = query_id(&commands);
        answer(&mut s, id, "/photos/a.jpg", grid("n", 10));
        assert_eq!(s.results()[0].path, PathBuf::from("/photos/n0.jpg"));
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
        assert_eq!(s.folder.indexing, Indexing::Idle);
        assert!(
            s.messages.errors()[0].contains("No space left"),
            "{:?}",
            s.messages.errors()
        );
    }

    #[test]
    fn indexing_events_drive_the_status() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        assert_eq!(s.folder.indexing, Indexing::Opening);
        let ev = |s: &mut State, event| {
            s.handle(Msg::Index {
                generation: 1,
                event,
            })
        };
        ev(&mut s, Event::Scanning { found: 5 });
        assert_eq!(s.folder.indexing, Indexing::Scanning { found: 5 });
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
            s.folder.indexing,
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
        assert_eq!(s.folder.skipped, vec![skipped.clone()]);
        // Events of a folder that is no longer open are ignored.
        s.handle(Msg::Index {
            generation: 0,
            event: Event::Scanning { found: 99 },
        });
        assert!(matches!(s.folder.indexing, Indexing::Embedding { .. }));

        assert_eq!(s.apply(Action::Cancel), vec![Command::Cancel]);
        assert_eq!(s.folder.indexing, Indexing::Cancelling);
        ev(
            &mut s,
            Event::Progress {
                done: 5,
                to_embed: 8,
                images_per_sec: 2.0,
                eta: None,
            },
        );
        assert_eq!(s.folder.indexing, Indexing::Cancelling);
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
        assert_eq!(s.folder.indexing, Indexing::Idle);
        assert_eq!(s.folder.indexed, 7);
        assert_eq!(s.folder.skipped.len(), 1);
        assert!(!s.busy());
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
        assert_eq!(s.search.query(), Some(Path::new("/photos/a.jpg")));
        open_folder(&mut s, "/photos");
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
    fn a_folder_that_cannot_be_opened_leaves_the_open_one_open() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        let commands = s.apply(Action::OpenFolder(PathBuf::from("/photoss")));
        assert_eq!(
            commands,
            vec![Command::CheckFolder(PathBuf::from("/photoss"))]
        );
        let not_there = photo_sim_engine::Error::FolderUnreadable {
            path: PathBuf::from("/photoss"),
            cause: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let commands = s.handle(Msg::FolderChecked(Err(Failure::from(not_there))));
        assert_eq!(commands, vec![]);
        assert_eq!(s.folder.root.as_deref(), Some(Path::new("/photos")));
        assert_eq!(s.folder.generation, 1);
        assert!(
            s.messages.errors()[0].contains("/photoss"),
            "{:?}",
            s.messages.errors()
        );
    }
}
