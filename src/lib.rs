//! photo-sim's engine: index a folder of photos with a neural network and find the ones that
//! look alike. The command line (`cli`) and the desktop app (`app`) are two faces on it.
//!
//! ```text
//! folder ─scan─▶ files+fingerprints ─decode─▶ 224×224 input ─embed─▶ unit vectors ─▶ index (disk)
//! query ─decode─▶ embed ─▶ nearest (exact scan | HNSW graph) ─▶ top-k (path, similarity)
//! ```
//!
//! The whole API is [`Library`] (one folder's index: `open`, `update`, `search`), [`Model`]
//! (the network, loaded once and shared), [`Store`] (where files live) and the [`progress`]
//! events and cancel token a long update reports through.

pub mod app;
pub mod bench;
pub mod cli;
pub mod decode;
pub mod embed;
pub mod index;
pub mod library;
pub mod nearest;
pub mod progress;
pub mod scan;
pub mod store;

pub use embed::Model;
pub use library::{Library, Match};
pub use progress::{CancelToken, Event, Skipped, Summary};
pub use store::Store;
