//! The dialogs part: what a closed file or folder dialog becomes, and the in-app picker that
//! takes the dialog's place where the desktop has none (no xdg portal, no zenity). A path
//! chosen, in either, becomes the action it was asked for (open this folder, search with this
//! photo, move the selection here), which the [`State`](super::State) then applies like any
//! other; so choosing in a dialog and typing the path do the same.

use super::protocol::Action;
use crate::picker::{Picker, PickerAction, Purpose};
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct Dialogs {
    /// The in-app picker, while it is shown.
    pub picker: Option<Picker>,
}

impl Dialogs {
    /// What the person did in the picker; a choice closes it and becomes its action.
    pub fn picker_action(&mut self, action: PickerAction) -> Option<Action> {
        match action {
            PickerAction::Enter(dir) => {
                if let Some(p) = &mut self.picker {
                    p.enter(dir);
                }
                None
            }
            PickerAction::Select(i) => {
                if let Some(p) = &mut self.picker {
                    p.selected = Some(i);
                }
                None
            }
            PickerAction::NewFolder(name) => {
                if let Some(p) = &mut self.picker {
                    p.make_folder(&name);
                }
                None
            }
            PickerAction::Go(text) => match self.picker.as_mut()?.go(&text)? {
                PickerAction::Choose(path) => self.picker.take().map(|p| chosen(p.purpose, path)),
                _ => None,
            },
            PickerAction::Choose(path) => self.picker.take().map(|p| chosen(p.purpose, path)),
            PickerAction::Cancel => {
                self.picker = None;
                None
            }
        }
    }

    /// A desktop dialog closed: the path chosen becomes the purpose's action. Where the
    /// desktop could not show the dialog (`failed`), the in-app picker opens at `start`,
    /// with `places` one click away.
    pub fn closed(
        &mut self,
        path: Option<PathBuf>,
        failed: bool,
        purpose: Purpose,
        start: Option<&Path>,
        places: Vec<PathBuf>,
    ) -> Option<Action> {
        match path {
            Some(p) => Some(chosen(purpose, p)),
            None if failed => {
                self.picker = Some(Picker::new(purpose, start).with_places(places));
                None
            }
            None => None,
        }
    }
}

/// The action a path chosen for `purpose` (in a dialog or the picker) becomes.
fn chosen(purpose: Purpose, path: PathBuf) -> Action {
    match purpose {
        Purpose::OpenFolder => Action::OpenFolder(path),
        Purpose::QueryPhoto => Action::SetQuery(path),
        Purpose::MoveTarget => Action::MoveSelectedTo(path),
    }
}

#[cfg(test)]
mod tests {
    use crate::failure::Failure;
    use crate::picker::PickerAction;
    use crate::state::testing::*;
    use crate::state::*;
    use std::path::PathBuf;

    #[test]
    fn opening_a_folder_while_indexing_cancels_first_and_failed_dialogs_are_explained() {
        let mut s = State::new(Settings::default());
        open(&mut s);
        let commands = open_folder(&mut s, "/other");
        assert_eq!(
            commands,
            vec![
                Command::Cancel,
                Command::Open {
                    folder: PathBuf::from("/other"),
                    generation: 2,
                    prune: false,
                }
            ]
        );
        s.handle(Msg::OpenFailed {
            generation: 2,
            error: Failure::from(photo_sim_engine::Error::FolderUnreadable {
                path: PathBuf::from("/other"),
                cause: std::io::ErrorKind::NotFound.into(),
            }),
        });
        assert_eq!(s.folder.indexing, Indexing::Idle);
        assert_eq!(s.messages.errors().len(), 1);
        s.handle(Msg::PickedFolder {
            path: None,
            failed: false,
        });
        assert_eq!(
            s.messages.errors().len(),
            1,
            "a cancelled dialog is no error"
        );
        // No dialog on this desktop: the in-app picker opens instead, and what it picks opens.
        let dir = tempfile::tempdir().unwrap();
        s.settings.last_folder = Some(dir.path().to_path_buf());
        std::fs::create_dir(dir.path().join("album")).unwrap();
        s.handle(Msg::PickedFolder {
            path: None,
            failed: true,
        });
        let picker = s.dialogs.picker.as_ref().expect("the in-app picker");
        assert_eq!(picker.folders, [dir.path().join("album")]);
        s.apply(Action::Picker(PickerAction::Enter(
            dir.path().join("album"),
        )));
        let commands = s.apply(Action::Picker(PickerAction::Choose(
            dir.path().join("album"),
        )));
        assert!(s.dialogs.picker.is_none());
        assert!(
            matches!(&commands[..], [Command::CheckFolder(folder)] if *folder == dir.path().join("album"))
        );
    }
}
