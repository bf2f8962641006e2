//! The in-app file and folder picker: what "Open folder…", "Choose photo…" and "Move to…"
//! show when the desktop has no dialog to offer (no xdg portal, no zenity), so the buttons
//! always work. Its state is plain Rust; `draw` only reads it and returns its own actions,
//! which the window wraps as the app's.

use eframe::egui;
use photo_sim_engine::index::has_image_extension;
use std::path::{Path, PathBuf};

/// What the picked path is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The folder to open and index.
    OpenFolder,
    /// A photo to search with.
    QueryPhoto,
    /// Where to move the selected duplicates.
    MoveTarget,
}

impl Purpose {
    fn title(self) -> &'static str {
        match self {
            Purpose::OpenFolder => "Choose a folder of photos",
            Purpose::QueryPhoto => "Choose a photo",
            Purpose::MoveTarget => "Choose where to move the photos",
        }
    }

    fn wants_folder(self) -> bool {
        self != Purpose::QueryPhoto
    }
}

/// The most entries a folder lists (a folder of 100,000 photos stays usable).
const MAX_ENTRIES: usize = 5_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Picker {
    pub purpose: Purpose,
    pub dir: PathBuf,
    pub folders: Vec<PathBuf>,
    pub photos: Vec<PathBuf>,
    /// Why the folder could not be listed, or that the list was cut short.
    pub note: Option<String>,
}

impl Picker {
    /// A picker showing `start` (or the home folder, or `/`).
    pub fn new(purpose: Purpose, start: Option<&Path>) -> Self {
        let dir = start
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/"));
        let mut picker = Self {
            purpose,
            dir: PathBuf::new(),
            folders: Vec::new(),
            photos: Vec::new(),
            note: None,
        };
        picker.enter(dir);
        picker
    }

    /// Lists `dir` (its sub-folders and, when a photo is wanted, its photos), by name.
    pub fn enter(&mut self, dir: PathBuf) {
        self.folders.clear();
        self.photos.clear();
        self.note = None;
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    if self.folders.len() + self.photos.len() == MAX_ENTRIES {
                        self.note = Some(format!(
                            "Only the first {MAX_ENTRIES} entries are listed: type the path instead."
                        ));
                        break;
                    }
                    let path = entry.path();
                    let hidden = entry.file_name().to_string_lossy().starts_with('.');
                    if hidden {
                        continue;
                    }
                    if path.is_dir() {
                        self.folders.push(path);
                    } else if !self.purpose.wants_folder() && has_image_extension(&path) {
                        self.photos.push(path);
                    }
                }
                self.folders.sort();
                self.photos.sort();
            }
            Err(e) => self.note = Some(format!("Cannot list {}: {e}", dir.display())),
        }
        self.dir = dir;
    }
}

/// What the person did in the picker this frame.
#[derive(Clone, Debug, PartialEq)]
pub enum PickerAction {
    Enter(PathBuf),
    Choose(PathBuf),
    Cancel,
}

/// Draws the picker as a window over the app.
pub fn draw(ctx: &egui::Context, picker: &Picker, actions: &mut Vec<PickerAction>) {
    let mut act = |a: PickerAction| actions.push(a);
    egui::Window::new(picker.purpose.title())
        .collapsible(false)
        .resizable(true)
        .default_size([520.0, 420.0])
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                if let Some(parent) = picker.dir.parent() {
                    if ui.button("Up").clicked() {
                        act(PickerAction::Enter(parent.to_path_buf()));
                    }
                }
                if let Some(home) = std::env::var_os("HOME") {
                    if ui.button("Home").clicked() {
                        act(PickerAction::Enter(PathBuf::from(home)));
                    }
                }
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(picker.dir.display().to_string()).strong(),
                    )
                    .truncate(),
                );
            });
            if let Some(note) = &picker.note {
                ui.colored_label(ui.visuals().warn_fg_color, note);
            }
            ui.separator();
            let list_height = (ui.available_height() - 40.0).max(120.0);
            egui::ScrollArea::vertical()
                .max_height(list_height)
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    for f in &picker.folders {
                        if ui
                            .selectable_label(false, format!("{}/", super::paths::file_name(f)))
                            .clicked()
                        {
                            act(PickerAction::Enter(f.clone()));
                        }
                    }
                    for p in &picker.photos {
                        if ui
                            .selectable_label(false, super::paths::file_name(p))
                            .clicked()
                        {
                            act(PickerAction::Choose(p.clone()));
                        }
                    }
                    if picker.folders.is_empty() && picker.photos.is_empty() {
                        ui.weak("Nothing to choose here.");
                    }
                });
            ui.separator();
            ui.horizontal(|ui| {
                if picker.purpose.wants_folder() && ui.button("Choose this folder").clicked() {
                    act(PickerAction::Choose(picker.dir.clone()));
                }
                if ui.button("Cancel").clicked() {
                    act(PickerAction::Cancel);
                }
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_lists_its_sub_folders_and_photos_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b_album")).unwrap();
        std::fs::create_dir(dir.path().join("a_album")).unwrap();
        std::fs::create_dir(dir.path().join(".hidden")).unwrap();
        std::fs::write(dir.path().join("z.jpg"), b"x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        let p = Picker::new(Purpose::QueryPhoto, Some(dir.path()));
        assert_eq!(
            p.folders,
            [dir.path().join("a_album"), dir.path().join("b_album")]
        );
        assert_eq!(p.photos, [dir.path().join("z.jpg")]);
        let p = Picker::new(Purpose::OpenFolder, Some(dir.path()));
        assert!(p.photos.is_empty(), "a folder picker lists folders only");
        let mut p = p;
        p.enter(dir.path().join("missing"));
        assert!(p.note.as_deref().unwrap().starts_with("Cannot list"));
    }
}
