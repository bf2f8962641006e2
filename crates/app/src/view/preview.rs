//! Drawing the preview: one photo of the search as large as the window allows, laid over
//! everything else with its path, until a click, Space or Esc closes it.

use crate::paths::file_name;
use crate::state::{Action, State};
use crate::thumbs::{Size, Thumb, Thumbs};
use crate::widgets::{fit_size, paint, placeholder};
use eframe::egui;
use egui::{Align2, Color32, CornerRadius, FontId, Rect, Role, Sense, Vec2, WidgetInfo};

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
    let screen = ctx.content_rect();
    egui::Area::new(egui::Id::unique("preview"))
        .order(egui::Order::Foreground)
        .fixed_pos(screen.min)
        .show(ctx, |ui| {
            let (rect, resp) = ui.allocate_exact_size(screen.size(), Sense::click());
            ui.painter()
                .rect_filled(rect, CornerRadius::ZERO, Color32::from_black_alpha(230));
            let name = format!("Preview of {}", file_name(path));
            resp.widget_info(|| WidgetInfo::labeled(Role::Image, true, &name));
            let area = rect.shrink(24.0);
            match thumbs.get(path, Size::Large) {
                Thumb::Ready(t) => {
                    let size = fit_size(&t, area.size() - Vec2::new(0.0, 28.0));
                    let image = Rect::from_center_size(area.center(), size);
                    paint(ui, &t, image);
                }
                Thumb::Loading => placeholder(ui, area),
                Thumb::Failed(e) => {
                    ui.painter().text(
                        area.center(),
                        Align2::CENTER_CENTER,
                        format!("Cannot show this photo: {e}"),
                        FontId::proportional(16.0),
                        Color32::WHITE,
                    );
                }
            }
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
