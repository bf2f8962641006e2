//! What the state's tests share: matches, tiles and answers made up by hand, and a state
//! with a folder open and a query answered, so each part's tests read as the steps they take.

use super::{Action, Command, Msg, Settings, State};
use crate::failure::Failure;
use photo_sim_engine::library::{Request, Tile};
use photo_sim_engine::Match;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The failure of a query whose photo is not there.
pub fn not_found(path: &str) -> Failure {
    Failure::CannotOpen {
        path: PathBuf::from(path),
        cause: Arc::new(std::io::ErrorKind::NotFound.into()),
    }
}

pub fn m(path: &str, similarity: f32) -> Match {
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
pub fn query_id(commands: &[Command]) -> u64 {
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
pub fn answered(state: &mut State, q: &str, matches: Vec<Match>) {
    let id = query_id(&state.apply(Action::SetQuery(PathBuf::from(q))));
    answer(state, id, q, matches);
}

/// Each match its own tile.
pub fn tiles(matches: Vec<Match>) -> Vec<Tile> {
    matches
        .into_iter()
        .map(|best| Tile {
            best,
            also: Vec::new(),
        })
        .collect()
}

pub fn answer(state: &mut State, id: u64, q: &str, matches: Vec<Match>) {
    answer_tiles(state, id, q, tiles(matches));
}

pub fn answer_tiles(state: &mut State, id: u64, q: &str, tiles: Vec<Tile>) {
    state.handle(Msg::Results {
        id,
        query: PathBuf::from(q),
        tiles,
        details: Vec::new(),
        searched: true,
        elapsed: Duration::ZERO,
    });
}

/// Opens `folder` as a person does: the state has it checked first, then opens it.
pub fn open_folder(state: &mut State, folder: &str) -> Vec<Command> {
    let folder = PathBuf::from(folder);
    let commands = state.apply(Action::OpenFolder(folder.clone()));
    assert_eq!(commands, vec![Command::CheckFolder(folder.clone())]);
    state.handle(Msg::FolderChecked(Ok(folder)))
}

pub fn open(state: &mut State) {
    let commands = open_folder(state, "/photos");
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
pub fn showing_a() -> State {
    let mut s = State::new(Settings::default());
    open(&mut s);
    answered(&mut s, "/photos/a.jpg", grid("b", 10));
    s
}

pub fn grid(prefix: &str, n: usize) -> Vec<Match> {
    (0..n)
        .map(|i| m(&format!("/photos/{prefix}{i}.jpg"), 0.9 - i as f32 * 0.01))
        .collect()
}

pub fn request(commands: &[Command]) -> &Request {
    commands
        .iter()
        .find_map(|c| match c {
            Command::Query { request, .. } => Some(request),
            _ => None,
        })
        .expect("a query")
}
