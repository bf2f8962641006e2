//! Small drawing pieces shared by the search view, the Duplicates view and the picker: a
//! file's name, a thumbnail in a rectangle, a path field with its dialog button.

use super::paths::typed_path;
use super::thumbs::{Size, Thumb, Thumbs};
use eframe::egui;
use egui::{Align2, Color32, CornerRadius, FontId, Key, Rect, TextureHandle, Vec2};
use std::path::{Path, PathBuf};

/// The largest size with the texture's aspect ratio that fits in `avail`.
pub fn fit_size(t: &TextureHandle, avail: Vec2) -> Vec2 {
    let s = t.size_vec2();
    let scale = (avail.x / s.x).min(avail.y / s.y).max(0.01);
    s * scale
}

/// Draws a whole texture stretched over `rect`.
pub fn paint(ui: &egui::Ui, t: &TextureHandle, rect: Rect) {
    let uv = Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
    ui.painter().image(t.id(), rect, uv, Color32::WHITE);
}

/// A photo's square grid thumbnail in `rect`: the picture, a spinner while it loads, or why
/// it cannot be shown.
pub fn grid_thumbnail(ui: &egui::Ui, thumbs: &mut Thumbs, path: &Path, rect: Rect) {
    match thumbs.get(path, Size::Grid) {
        Thumb::Ready(t) => {
            paint(ui, &t, rect);
        }
        Thumb::Loading => placeholder(ui, rect),
        Thumb::Failed(e) => {
            ui.painter()
                .rect_filled(rect, CornerRadius::same(4), ui.visuals().faint_bg_color);
            ui.painter().text(
                rect.center(),
                Align2::CENTER_CENTER,
                format!("cannot show:\n{e}"),
                FontId::proportional(11.0),
                ui.visuals().error_fg_color,
            );
        }
    }
}

/// A photo as large as `area` allows (its whole picture, centred), a spinner while it loads,
/// or why it cannot be shown, in `text` colour. Returns where the picture went, once shown.
pub fn large_photo(
    ui: &egui::Ui,
    thumbs: &mut Thumbs,
    path: &Path,
    area: Rect,
    text: Color32,
) -> Option<Rect> {
    match thumbs.get(path, Size::Large) {
        Thumb::Ready(t) => {
            let image = Rect::from_center_size(area.center(), fit_size(&t, area.size()));
            paint(ui, &t, image);
            Some(image)
        }
        Thumb::Loading => {
            placeholder(ui, area);
            None
        }
        Thumb::Failed(e) => {
            ui.painter().text(
                area.center(),
                Align2::CENTER_CENTER,
                format!("Cannot show this photo: {e}"),
                FontId::proportional(16.0),
                text,
            );
            None
        }
    }
}

/// A layer over the whole window, filled with `fill`, for a view that takes it over (the
/// preview, the compare view); `add` draws in it, with the response to clicks on it.
pub fn cover(
    ctx: &egui::Context,
    name: &str,
    fill: Color32,
    add: impl FnOnce(&mut egui::Ui, Rect, egui::Response),
) {
    let screen = ctx.content_rect();
    egui::Area::new(egui::Id::unique(name))
        .order(egui::Order::Foreground)
        .fixed_pos(screen.min)
        .show(ctx, |ui| {
            let (rect, resp) = ui.allocate_exact_size(screen.size(), egui::Sense::click());
            ui.painter().rect_filled(rect, CornerRadius::ZERO, fill);
            add(ui, rect, resp);
        });
}

pub fn placeholder(ui: &egui::Ui, rect: Rect) {
    ui.painter()
        .rect_filled(rect, CornerRadius::same(4), ui.visuals().faint_bg_color);
    let side = (rect.width().min(rect.height()) * 0.2).clamp(12.0, 40.0);
    egui::Spinner::new().paint_at(ui, Rect::from_center_size(rect.center(), Vec2::splat(side)));
}

/// How to open a photo, where a click searches with it (a double-click would land its second
/// click on the new match drawn under the pointer).
pub const OPEN_GESTURES: &str =
    "Click to search with it; Ctrl+click (or right-click, Open) to open it";

/// A toolbar group: a button that opens a native dialog, and a labelled path field (the
/// fallback where no dialog can be shown) with its submit button.
pub struct PathRow {
    pub dialog: &'static str,
    pub dialog_hint: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub submit: &'static str,
}

impl PathRow {
    /// Draws the group; returns whether the dialog button was clicked and the submitted path.
    pub fn show(&self, ui: &mut egui::Ui, text: &mut String) -> (bool, Option<PathBuf>) {
        let dialog = ui
            .button(self.dialog)
            .on_hover_text(self.dialog_hint)
            .clicked();
        (
            dialog,
            path_field(ui, text, self.label, self.hint, self.submit),
        )
    }
}

/// A labelled path field with its submit button: the path typed, when Enter or the button
/// submits it.
pub fn path_field(
    ui: &mut egui::Ui,
    text: &mut String,
    label: &str,
    hint: &str,
    submit: &str,
) -> Option<PathBuf> {
    let label = ui.label(label);
    let field = ui
        .add(
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .desired_width(170.0),
        )
        .labelled_by(label.id);
    let enter = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
    let submitted = (ui.button(submit).clicked() || enter) && !text.trim().is_empty();
    submitted.then(|| typed_path(text))
}
