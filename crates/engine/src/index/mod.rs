//! One folder's index on disk: walking the folder (`scan`), deciding what to embed, reuse or
//! drop (`plan`, `content_key`), the checkpoint log and the one-writer lock (`journal`,
//! `lock`), and the files themselves (`format`, `store`). The update that runs these stages
//! is the library's (`library/update.rs`).

pub mod content_key;
pub mod format;
pub mod journal;
pub mod lock;
pub mod plan;
pub mod scan;
pub mod store;
