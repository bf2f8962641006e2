//! Answering questions of the stored vectors, below the library that holds them: the nearest
//! photos (`nearest`), which files are one shot (`shot`), and groups of duplicates
//! (`all_pairs`, `duplicates`).

pub mod all_pairs;
pub mod duplicates;
pub mod nearest;
pub mod shot;
