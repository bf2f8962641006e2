//! photo-sim's engine: index a folder of photos with a neural network and find the ones that
//! look alike. It knows nothing of windows or terminals: the command line (the `photo-sim`
//! binary) and the desktop app (`photo-sim-app`) are two faces on it.
//!
//! ```text
//! folder ─scan─▶ files+fingerprints ─decode─▶ 224×224 input ─embed─▶ unit vectors ─▶ index (disk)
//! query ─decode─▶ embed ─▶ nearest (exact scan | HNSW graph) ─▶ top-k (path, similarity)
//! ```
//!
//! The API a face needs is [`Library`] (one folder's index: `open`, `update`, `search`),
//! [`Model`] (the network, loaded once and shared), [`Store`] (where files live),
//! [`run_update`] (the one way the CLI and the GUI run an update and hear its [`progress`]
//! events) and [`Error`]; the browser adds [`library::browse`] (queries refined by examples,
//! kept to a folder, bursts folded into one tile) and [`decode::details`] (what a hover card
//! says of a photo). The folders follow the pipeline: [`decode`], [`embed`], [`index`],
//! [`query`].

pub mod decode;
pub mod embed;
pub mod error;
pub mod index;
pub mod labels;
pub mod library;
pub mod progress;
pub mod query;
pub mod relocate;
pub mod vector;

pub use embed::Model;
pub use error::{Error, Result};
pub use index::store::Store;
pub use library::update::{run_update, UpdateOptions};
pub use library::{DuplicateGroup, IndexStatus, Library, Match, Photo, QueryOptions};
pub use progress::{CancelToken, Event, Skipped, Summary};
