//! One folder's index on disk and how it is kept up to date: walking the folder (`scan`),
//! deciding what to embed, reuse or drop (`plan`, `moves`, `content_key`), running the update
//! with its checkpoints (`update`, `journal`, `lock`), and the files themselves (`format`,
//! `store`).

pub mod content_key;
pub mod format;
pub mod journal;
pub mod lock;
pub mod moves;
pub mod plan;
pub mod scan;
pub mod store;
pub mod update;
