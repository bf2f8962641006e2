//! Answering questions of the stored vectors: the nearest photos (`nearest`), what a
//! similarity means in words (`labels`), browsing with refinements and bursts folded
//! (`browse`, `shot`), and groups of duplicates (`all_pairs`, `duplicates`).

pub mod all_pairs;
pub mod browse;
pub mod duplicates;
pub mod labels;
pub mod nearest;
pub mod shot;
