//! photo-sim's engine: index a folder of photos with a neural network and find the ones that
//! look alike. The command line (`cli`) and the desktop app (`app`) are two faces on it.
//!
//! ```text
//! folder ─scan─▶ files+fingerprints ─decode─▶ 224×224 input ─embed─▶ unit vectors ─▶ index (disk)
//! query ─decode─▶ embed ─▶ nearest (exact scan | HNSW graph) ─▶ top-k (path, similarity)
//! ```
//!
//! The whole API is [`Library`] (one folder's index: `open`, `update`, `search`), [`Model`]
//! (the network, loaded once and shared), [`Store`] (where files live), [`run_update`] (the one
//! way the CLI and the GUI run an update and hear its [`progress`] events) and [`Error`]; the
//! browser adds [`browse`] (queries refined by examples, kept to a folder, bursts folded into
//! one tile) and [`details`] (what a hover card says of a photo).

pub mod app;
pub mod bench;
pub mod bmff;
pub mod browse;
pub mod cli;
pub mod content;
pub mod decode;
pub mod details;
pub mod develop;
pub mod duplicates;
pub mod embed;
pub mod error;
pub mod exif;
pub mod file_ops;
pub mod heif;
pub mod index;
pub mod journal;
pub mod jpeg;
pub mod kernels;
pub mod labels;
pub mod library;
pub mod lock;
pub mod moves;
pub mod nearest;
pub mod pairs;
pub mod plan;
pub mod progress;
pub mod quality;
pub mod raw;
pub mod rmac;
pub mod scan;
pub mod store;
pub mod tiff;
pub mod update;

pub use embed::Model;
pub use error::{Error, Result};
pub use library::{DuplicateGroup, IndexStatus, Library, Match, Photo, QueryOptions};
pub use progress::{CancelToken, Event, Skipped, Summary};
pub use store::Store;
pub use update::{run_update, UpdateOptions};
