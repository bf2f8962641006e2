//! The engine's errors: what went wrong, in words a person can act on, with the path involved.
//! Each message already says why (its `cause`), so printing the chain never repeats it.
//!
//! The library returns these typed errors (so the GUI and the CLI can tell a missing folder from
//! a full disk); only the binary's edge (`cli`) wraps them in `anyhow` for printing.

use crate::decode::DecodeError;
use crate::embed::ModelError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open the folder {path}: {cause}")]
    FolderUnreadable {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{0} is not a folder")]
    NotAFolder(PathBuf),
    /// Reading, writing or locking one of photo-sim's own files failed.
    #[error("cannot {action} {path}: {cause}")]
    Store {
        action: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot use {path}: {cause}")]
    Image { path: PathBuf, cause: DecodeError },
    #[error("the model failed: {0}")]
    Model(#[from] ModelError),
    #[error("cannot load the model {path}: {cause}")]
    ModelFile { path: PathBuf, cause: ModelError },
    #[error("cannot find a home directory for photo-sim's data; pass --data-dir <dir> or set PHOTO_SIM_DATA_DIR")]
    NoHome,
    #[error("the indexing thread crashed: {0}")]
    Crashed(String),
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

pub type Result<T, E = Error> = std::result::Result<T, E>;
