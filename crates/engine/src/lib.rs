//! photo-sim's engine: index a folder of photos with a neural network and find the ones that
//! look alike. It knows nothing of windows or terminals: the command line (the `photo-sim`
//! binary) and the desktop app (`photo-sim-app`) are two faces on it.
//!
//! ```text
//! folder ─scan─▶ files+fingerprints ─decode─▶ 224×224 input ─embed─▶ unit vectors ─▶ index (disk)
//! query ─decode─▶ embed ─▶ nearest (exact scan | HNSW graph) ─▶ top-k (path, similarity)
//! ```
//!
//! The API a face needs is at this root: [`Library`] (one folder's index: `open`, `update`,
//! `search`), [`Model`] (the network, loaded once and shared), [`Store`] (where files live),
//! [`run_update`] (the one way the CLI and the GUI run an update and hear its [`Event`]s,
//! stopped by a [`CancelToken`]) and [`Error`]; the browser adds [`library::browse()`] (queries
//! refined by examples, kept to a folder, bursts folded into one tile) and [`decode::details`]
//! (what a hover card says of a photo). The folders follow the pipeline: [`decode`],
//! [`embed`], [`index`], [`query`], then [`library`] on top; [`labels`], [`relocate`] and
//! [`vector`] are small namespaces of their own. Each folder's `mod.rs` says with `pub use`
//! what it offers and keeps its files private, but for the few whose names read with the
//! file's (`index::format::save`, `index::journal::read`, `decode::details::of`).
//!
//! The `test-support` feature adds the writers of test fixtures (HEIC/AVIF, DNG, a resealed
//! index file): the tests and `photo-sim bench --formats` use them, the faces never do.

#![deny(missing_docs)]
// Every type a public signature names is in the face too, never stranded in a private file.
#![warn(unnameable_types)]

pub mod decode;
pub mod embed;
mod env;
mod error;
pub mod index;
pub mod labels;
pub mod library;
mod progress;
pub mod query;
pub mod relocate;
pub mod vector;

pub use embed::Model;
pub use error::{Error, Result};
pub use index::Store;
pub use library::{
    run_update, DuplicateGroup, IndexStatus, KeeperRule, Library, Match, Photo, QueryOptions,
    UpdateOptions,
};
pub use progress::{CancelToken, Event, Sender, Skipped, Summary};
