//! The in-app file and folder picker: what "Open folder…", "Choose photo…" and "Move to…"
//! show when the desktop has no dialog to offer (no xdg portal, no zenity), so the buttons
//! always work. It shows a strip of the photos in the folder shown (is it the right one?),
//! and makes new folders (a place to move photos to). Its state is plain Rust; `draw` only
//! reads it and returns its own actions, which the window wraps as the app's.

use crate::thumbs::Thumbs;
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
/// Photos of the folder shown in the picker's strip of thumbnails.
const STRIP: usize = 6;
/// Side of a thumbnail in that strip.
const STRIP_SIDE: f32 = 76.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Picker {
    pub purpose: Purpose,
    pub dir: PathBuf,
    pub folders: Vec<PathBuf>,
    /// The photos in `dir` (listed as entries only when a photo is wanted).
    pub photos: Vec<PathBuf>,
    /// The entry the keyboard is on (folders first, then photos).
    pub selected: Option<usize>,
    /// Folders offered one click away: the library open, the last one opened.
    pub places: Vec<PathBuf>,
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
            selected: None,
            places: Vec::new(),
            note: None,
        };
        picker.enter(dir);
        picker
    }

    /// Offers `places` (those that are folders now, once each) one click away.
    pub fn with_places(mut self, places: impl IntoIterator<Item = PathBuf>) -> Self {
        for place in places {
            if place.is_dir() && !self.places.contains(&place) {
                self.places.push(place);
            }
        }
        self
    }

    /// The folders, then (when a photo is wanted) the photos.
    pub fn entries(&self) -> impl Iterator<Item = &PathBuf> {
        let photos = if self.purpose.wants_folder() {
            &[][..]
        } else {
            &self.photos[..]
        };
        self.folders.iter().chain(photos)
    }

    /// Creates the folder `name` in the folder shown, and puts the keyboard on it.
    pub fn make_folder(&mut self, name: &str) {
        let name = name.trim();
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            self.note = Some("A folder name cannot be empty or hold a \"/\".".to_string());
            return;
        }
        let folder = self.dir.join(name);
        match std::fs::create_dir(&folder) {
            Ok(()) => {
                self.enter(self.dir.clone());
                self.selected = self.folders.iter().position(|f| *f == folder);
            }
            Err(e) => self.note = Some(format!("Cannot create {}: {e}", folder.display())),
        }
    }

    /// What picking entry `i` does: a folder is entered, a photo chosen.
    fn open_entry(&self, i: usize) -> Option<PickerAction> {
        let path = self.entries().nth(i)?.clone();
        Some(if i < self.folders.len() {
            PickerAction::Enter(path)
        } else {
            PickerAction::Choose(path)
        })
    }

    /// The next entry after the selected one whose name starts with `typed` (type-ahead, as
    /// in a file manager: typing the same letter again goes on to the next).
    pub fn next_starting_with(&self, typed: &str) -> Option<usize> {
        let typed = typed.to_lowercase();
        let names: Vec<String> = self
            .entries()
            .map(|p| super::paths::file_name(p).to_lowercase())
            .collect();
        let n = names.len();
        let from = self.selected.map_or(0, |i| i + 1);
        (0..n)
            .map(|k| (from + k) % n)
            .find(|&i| names[i].starts_with(&typed))
    }

    /// What a typed path does: a folder is entered, a photo (when one is wanted) chosen.
    pub fn go(&mut self, text: &str) -> Option<PickerAction> {
        let path = super::paths::typed_path(text);
        if path.is_dir() {
            self.enter(path);
            None
        } else if path.is_file() && !self.purpose.wants_folder() {
            Some(PickerAction::Choose(path))
        } else {
            self.note = Some(format!("No folder at {}", path.display()));
            None
        }
    }

    /// Lists `dir`: its sub-folders and its photos, by name (photos are entries only when a
    /// photo is wanted; otherwise the first ones are shown as thumbnails).
    pub fn enter(&mut self, dir: PathBuf) {
        self.folders.clear();
        self.photos.clear();
        self.selected = None;
        self.note = None;
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                let wants_folder = self.purpose.wants_folder();
                for entry in entries.flatten() {
                    // Photos are only shown when a folder is wanted: they do not crowd the
                    // folders out of the list.
                    let listed =
                        self.folders.len() + if wants_folder { 0 } else { self.photos.len() };
                    if listed == MAX_ENTRIES {
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
                    } else if has_image_extension(&path)
                        && (!wants_folder || self.photos.len() < MAX_ENTRIES)
                    {
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
    /// Put the keyboard on this entry.
    Select(usize),
    /// Go to a typed path.
    Go(String),
    /// Create a folder of this name in the folder shown.
    NewFolder(String),
    Cancel,
}

/// The picker's keys, while its path field is not being typed in: ↑/↓ move, Enter enters
/// the folder or chooses the photo (or, on nothing, chooses the folder shown), Backspace goes
/// up, a letter jumps to the next entry starting with it. (Esc is the modal's own.)
fn keys(ui: &egui::Ui, picker: &Picker, act: &mut impl FnMut(PickerAction)) {
    use egui::{Event, Key, Modifiers};
    let n = picker.entries().count();
    let (down, up, enter, back, typed) = ui.input_mut(|i| {
        let typed: String = i
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        (
            i.consume_key(Modifiers::NONE, Key::ArrowDown),
            i.consume_key(Modifiers::NONE, Key::ArrowUp),
            i.consume_key(Modifiers::NONE, Key::Enter),
            i.consume_key(Modifiers::NONE, Key::Backspace),
            typed,
        )
    });
    if n > 0 && down {
        act(PickerAction::Select(
            picker.selected.map_or(0, |i| (i + 1).min(n - 1)),
        ));
    }
    if n > 0 && up {
        act(PickerAction::Select(
            picker.selected.map_or(0, |i| i.saturating_sub(1)),
        ));
    }
    if enter {
        match picker.selected.and_then(|i| picker.open_entry(i)) {
            Some(a) => act(a),
            None if picker.purpose.wants_folder() => act(PickerAction::Choose(picker.dir.clone())),
            None => {}
        }
    }
    if back {
        if let Some(parent) = picker.dir.parent() {
            act(PickerAction::Enter(parent.to_path_buf()));
        }
    }
    if let Some(i) = (!typed.trim().is_empty())
        .then(|| picker.next_starting_with(typed.trim()))
        .flatten()
    {
        act(PickerAction::Select(i));
    }
}

/// Draws the picker over the app, modal (the keys and clicks are its own while it is open).
/// `path` is its path field's text, which follows the folder shown.
pub fn draw(
    ctx: &egui::Context,
    picker: &Picker,
    path: &mut PathField,
    thumbs: &mut Thumbs,
    actions: &mut Vec<PickerAction>,
) {
    let mut act = |a: PickerAction| actions.push(a);
    if path.shown.as_deref() != Some(picker.dir.as_path()) {
        path.shown = Some(picker.dir.clone());
        path.text = picker.dir.display().to_string();
    }
    let modal = egui::Modal::new(egui::Id::unique("picker")).show(ctx, |ui| {
        ui.set_width(520.0);
        ui.heading(picker.purpose.title());
        {
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
                for place in &picker.places {
                    if ui
                        .button(super::paths::file_name(place))
                        .on_hover_text(place.display().to_string())
                        .clicked()
                    {
                        act(PickerAction::Enter(place.clone()));
                    }
                }
            });
            ui.horizontal(|ui| {
                let label = ui.label("Path");
                let field = ui
                    .add(egui::TextEdit::singleline(&mut path.text).desired_width(f32::INFINITY))
                    .labelled_by(label.id);
                if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    act(PickerAction::Go(path.text.clone()));
                } else if !ui.ctx().egui_wants_keyboard_input() {
                    // Keys typed into a field (this one, or the new folder's name) are text.
                    keys(ui, picker, &mut act);
                }
            });
            if let Some(note) = &picker.note {
                ui.colored_label(ui.visuals().warn_fg_color, note);
            }
            ui.separator();
            // Each folder's list starts at its top.
            egui::ScrollArea::vertical()
                .id_salt(&picker.dir)
                .max_height(340.0)
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    let folders = picker.folders.len();
                    for (i, entry) in picker.entries().enumerate() {
                        let name = super::paths::file_name(entry);
                        let name = if i < folders {
                            format!("{name}/")
                        } else {
                            name
                        };
                        let on = picker.selected == Some(i);
                        let resp = ui.selectable_label(on, name);
                        if on {
                            resp.scroll_to_me(None);
                        }
                        if resp.clicked() {
                            act(picker.open_entry(i).expect("a listed entry"));
                        }
                    }
                    if picker.folders.is_empty() && picker.photos.is_empty() {
                        ui.weak("Nothing to choose here.");
                    }
                });
            strip(ui, picker, thumbs);
            if picker.purpose.wants_folder() {
                ui.horizontal(|ui| {
                    let label = ui.label("New folder");
                    let field = ui
                        .add(
                            egui::TextEdit::singleline(&mut path.new_folder)
                                .hint_text("name")
                                .desired_width(200.0),
                        )
                        .labelled_by(label.id);
                    let entered =
                        field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if ui.button("Create folder").clicked() || entered {
                        act(PickerAction::NewFolder(std::mem::take(
                            &mut path.new_folder,
                        )));
                    }
                });
            }
            ui.separator();
            ui.horizontal(|ui| {
                if picker.purpose.wants_folder() && ui.button("Choose this folder").clicked() {
                    act(PickerAction::Choose(picker.dir.clone()));
                }
                if ui.button("Cancel").clicked() {
                    act(PickerAction::Cancel);
                }
            });
        }
    });
    if modal.should_close() {
        act(PickerAction::Cancel);
    }
}

/// How many photos the folder shown holds, and the first few of them as thumbnails.
fn strip(ui: &mut egui::Ui, picker: &Picker, thumbs: &mut Thumbs) {
    let n = picker.photos.len();
    if n == 0 {
        return;
    }
    let s = if n == 1 { "" } else { "s" };
    let more = if n == MAX_ENTRIES { " or more" } else { "" };
    ui.label(format!("{n}{more} photo{s} in this folder"));
    ui.horizontal(|ui| {
        for photo in picker.photos.iter().take(STRIP) {
            let (rect, resp) =
                ui.allocate_exact_size(egui::Vec2::splat(STRIP_SIDE), egui::Sense::hover());
            crate::widgets::grid_thumbnail(ui, thumbs, photo, rect);
            let name = super::paths::file_name(photo);
            resp.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::Image, true, format!("Thumbnail of {name}"))
            });
        }
    });
}

/// The picker's fields between frames: the path's text and the folder it was last set to,
/// and the name of a folder to create.
#[derive(Debug, Default)]
pub struct PathField {
    pub text: String,
    shown: Option<PathBuf>,
    pub new_folder: String,
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
        let p = Picker::new(Purpose::OpenFolder, Some(dir.path()))
            .with_places([dir.path().join("b_album"), dir.path().join("missing")]);
        assert_eq!(p.entries().count(), 2, "a folder picker lists folders only");
        assert_eq!(p.photos.len(), 1, "and shows the photos as thumbnails");
        assert_eq!(
            p.places,
            [dir.path().join("b_album")],
            "only folders there now"
        );
        let mut p = p;
        p.enter(dir.path().join("missing"));
        assert!(p.note.as_deref().unwrap().starts_with("Cannot list"));
    }

    #[test]
    fn a_new_folder_is_created_in_the_folder_shown_and_selected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a_album")).unwrap();
        let mut p = Picker::new(Purpose::MoveTarget, Some(dir.path()));
        p.make_folder("b_new");
        assert!(dir.path().join("b_new").is_dir());
        assert_eq!(p.selected, Some(1));
        p.make_folder("b_new");
        assert!(p.note.as_deref().unwrap().starts_with("Cannot create"));
        p.make_folder("x/y");
        assert!(!dir.path().join("x").exists());
        assert!(p.note.as_deref().unwrap().contains("cannot be empty"));
    }
}
