//! Drawing the preview: one photo of the search as large as the window allows, laid over
//! everything else with its path, until a click, Space or Esc closes it.

use crate::paths::file_name;
use crate::state::{Action, State};
use crate::thumbs::Thumbs;
use crate::widgets::large_photo;
use eframe::egui;
use egui::{Align2, Color32, FontId, Rect, Role, Vec2, WidgetInfo};

/// The preview: one photo as large as the window allows, over the grid (Space or Esc closes).
pub(super) fn preview(
    ctx: &egui::Context,
    state: &State,
    thumbs: &mut Thumbs,
    actions: &mut Vec<Action>,
) {
    let Some(path) = &state.search.preview else {
        return;
    };
    let fill = Color32::from_black_alpha(230);
    crate::widgets::cover(ctx, "preview", fill, |ui, rect, resp| {
        let name = format!("Preview of {}", file_name(path));
        resp.widget_info(|| WidgetInfo::labeled(Role::Image, true, &name));
        let area = rect.shrink(24.0);
        // Room under the picture for its path.
        let picture = Rect::from_min_max(area.min, area.max - Vec2::new(0.0, 28.0));
        large_photo(ui, thumbs, path, picture, Color32::WHITE);
        ui.painter().text(
            egui::pos2(area.center().x, area.max.y),
            Align2::CENTER_BOTTOM,
            format!("{}   (Space or Esc to close)", path.display()),
            FontId::proportional(14.0),
            Color32::WHITE,
        );
        if resp.clicked() {
            actions.push(Action::ClosePreview);
        }
    });
}
