//! Answering questions of the stored vectors, below the library that holds them: the nearest
//! photos (`nearest`), which files are one shot (`shot`), and groups of duplicates
//! (`all_pairs`, `duplicates`).

mod all_pairs;
pub(crate) mod duplicates;
pub(crate) mod nearest;
pub(crate) mod shot;

pub use duplicates::{group, neighbours, Group, MAX_PAIRS_PER_PHOTO};
pub use nearest::{exact, Graph, Turns, GRAPH_THRESHOLD};
pub use shot::same_shot;
