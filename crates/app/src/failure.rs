//! Why something the window asked for failed, as a value: the engine's typed error where the
//! engine failed, or the app's own reason. Messages from the worker carry one of these, not
//! its text, so the state can tell a missing folder from a full disk; the words are made only
//! when the message area shows them.

use photo_sim_engine::decode::DecodeError;
use std::path::PathBuf;
use std::sync::Arc;

/// A failure the person is told about.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Failure {
    /// The engine failed (opening a folder, indexing, a query).
    #[error("{0}")]
    Engine(Arc<photo_sim_engine::Error>),
    /// The model could not be loaded, so nothing can be indexed or searched.
    #[error("The model could not be loaded: {0}")]
    ModelNotLoaded(Arc<photo_sim_engine::Error>),
    /// A command that needs an open folder came with none.
    #[error("no folder is open")]
    NoFolder,
    /// The duplicates levels are thresholds measured for the built-in model only.
    #[error("this model's similarity levels were not measured (see models/README.md)")]
    LevelsNotMeasured,
    /// The query photo's path cannot be resolved.
    #[error("Cannot open {}: {cause}", path.display())]
    CannotOpen {
        path: PathBuf,
        cause: Arc<std::io::Error>,
    },
    /// A folder was given where a photo was wanted.
    #[error("{} is a folder, not a photo (use Open folder… to browse it)", .0.display())]
    FolderNotPhoto(PathBuf),
    /// The query is not a photo photo-sim can read.
    #[error("Cannot use {}: {cause}", path.display())]
    NotAPhoto {
        path: PathBuf,
        cause: Arc<DecodeError>,
    },
    /// The desktop has no program to open this file or folder with (made by
    /// [`Failure::no_program`], which looks once at what the path is).
    #[error("{}", no_program_words(path, *folder))]
    NoProgram { path: PathBuf, folder: bool },
    /// settings.json could not be written.
    #[error("The settings could not be saved: {0}")]
    SettingsNotSaved(Arc<std::io::Error>),
}

impl From<photo_sim_engine::Error> for Failure {
    fn from(e: photo_sim_engine::Error) -> Self {
        Failure::Engine(Arc::new(e))
    }
}

impl Failure {
    /// No program opens `path`: a file manager when it is a folder, else a viewer for its kind.
    pub fn no_program(path: &std::path::Path) -> Self {
        Failure::NoProgram {
            path: path.to_path_buf(),
            folder: path.is_dir(),
        }
    }
}

/// Why a file or folder could not be opened, in words (the launcher only reports an exit
/// status).
fn no_program_words(path: &std::path::Path, folder: bool) -> String {
    let name = super::paths::file_name(path);
    if folder {
        return format!(
            "Could not open the folder {name}: no file manager is set up on this desktop."
        );
    }
    let kind = path
        .extension()
        .map(|e| e.to_string_lossy().to_uppercase())
        .unwrap_or_else(|| "these".into());
    format!("Could not open {name}: no program to open {kind} files is set up on this desktop.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_opened_is_explained_in_words() {
        let text = Failure::no_program(std::path::Path::new("/photos/IMG_1.jpg")).to_string();
        assert_eq!(
            text,
            "Could not open IMG_1.jpg: no program to open JPG files is set up on this desktop."
        );
    }
}
