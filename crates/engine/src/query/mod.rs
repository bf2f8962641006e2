//! Answering questions of the stored vectors, below the library that holds them: the nearest
//! photos (`nearest`, from compact codes in a learned subspace for large libraries: `compact`,
//! `projection`, `int8`), which files are one shot (`shot`), and groups of duplicates
//! (`all_pairs`, `duplicates`, and `blocked` for large libraries).

mod all_pairs;
pub mod blocked;
pub mod compact;
pub(crate) mod duplicates;
pub mod int8;
pub(crate) mod nearest;
pub mod projection;
pub(crate) mod shot;

pub use duplicates::{group, neighbours, Group, MAX_PAIRS_PER_PHOTO};
pub use nearest::{exact, Graph, Turns, COMPACT_THRESHOLD, GRAPH_THRESHOLD};
pub use shot::same_shot;
