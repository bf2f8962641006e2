//! The engine's errors: what went wrong, in words a person can act on, with the path involved.
//! Each message already says why (its `cause`), so printing the chain never repeats it.
//!
//! The library returns these typed errors (so the GUI and the CLI can tell a missing folder from
//! a full disk); only the binary's edge (`cli`) wraps them in `anyhow` for printing.

use crate::decode::DecodeError;
use crate::embed::ModelError;
use std::path::PathBuf;

/// Everything the engine's public functions can fail with: one variant per thing a face may
/// want to handle differently (a missing folder, a full disk, a photo it cannot read...).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The folder to index or search could not be opened (missing, no permission, unmounted).
    #[error("cannot open the folder {path}: {cause}")]
    FolderUnreadable {
        /// The folder as it was given.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },
    /// A path given as the folder to index is a file (or something else that is not a folder).
    #[error("{0} is not a folder")]
    NotAFolder(PathBuf),
    /// Reading, writing or locking one of photo-sim's own files failed.
    #[error("cannot {action} {path}: {cause}")]
    Store {
        /// What was being done, as a verb for the message ("write", "lock"...).
        action: &'static str,
        /// The file or folder of photo-sim's own data involved.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },
    /// A query photo could not be read or decoded (indexing skips such files instead).
    #[error("cannot use {path}: {cause}")]
    Image {
        /// The photo.
        path: PathBuf,
        /// Why it could not be used.
        cause: DecodeError,
    },
    /// The neural network failed while running (not while loading: see `ModelFile`).
    #[error("the model failed: {0}")]
    Model(#[from] ModelError),
    /// The model file given in place of the built-in one could not be read or loaded.
    #[error("cannot load the model {path}: {cause}")]
    ModelFile {
        /// The model file.
        path: PathBuf,
        /// Why it could not be loaded.
        cause: ModelError,
    },
    /// No data folder was given and the system names no home directory to put one in.
    #[error("cannot find a home directory for photo-sim's data; pass --data-dir <dir> or set PHOTO_SIM_DATA_DIR")]
    NoHome,
    /// Duplicates were asked for at a threshold so low that it pairs unrelated photos: more
    /// pairs than memory is set aside for (see `query/duplicates.rs`).
    #[error("more than {limit} pairs of photos are at least {threshold} alike: a threshold that low calls unrelated photos duplicates (and their pairs would not fit in memory); choose a higher one")]
    TooManyPairs {
        /// The threshold asked for.
        threshold: f32,
        /// The most pairs kept for this library.
        limit: usize,
    },
    /// The person's remembered decisions about duplicates could not be read: the groups are
    /// found without them (a damaged file is set aside first).
    #[error("cannot read the decisions about duplicates kept in {path} ({cause}); {}", aside_text(.aside))]
    Decisions {
        /// The decisions file.
        path: PathBuf,
        /// Why it could not be used.
        cause: crate::index::format::LoadError,
        /// Where the file was set aside (`None`: left where it is).
        aside: Option<PathBuf>,
    },
    /// The thread running an update panicked; the text is the panic's message.
    #[error("the indexing thread crashed: {0}")]
    Crashed(String),
}

/// Where a damaged file went, for a message.
fn aside_text(aside: &Option<PathBuf>) -> String {
    match aside {
        Some(p) => format!(
            "it was set aside as {}, and new decisions start afresh",
            p.display()
        ),
        None => "it is left as it is, and the groups are shown without it".to_string(),
    }
}

impl Error {
    pub(crate) fn store(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |cause| Error::Store {
            action,
            path,
            cause,
        }
    }
}

/// The engine's `Result`: [`Error`] unless a function says otherwise.
pub type Result<T, E = Error> = std::result::Result<T, E>;
