//! Drawing the compare view: a duplicate group's keeper and one other member side by side, as
//! large as the window allows, each with its pixels, size, date and path, so a person can
//! decide before anything moves. The Left and Right keys walk the group's members, K keeps the one shown and
//! Delete ticks it for removal (both then show the next), Esc closes.

use crate::paths::file_name;
use crate::state::{Action, State};
use crate::thumbs::Thumbs;
use crate::widgets::large_photo;
use eframe::egui;
use egui::{Color32, CornerRadius, Key, Modifiers, Rect, RichText, Role, Sense, Vec2, WidgetInfo};
use photo_sim_engine::decode::details::size_text;
use photo_sim_engine::Photo;

/// Room under each photo for what is written about it.
const CAPTION: f32 = 96.0;

/// The compare view over the whole window, while it is open.
pub(super) fn draw(
    ctx: &egui::Context,
    state: &State,
    thumbs: &mut Thumbs,
    actions: &mut Vec<Action>,
) {
    let c = &state.duplicates;
    let (Some(at), Some((group, member))) = (c.compare, c.compared()) else {
        return;
    };
    keys(ctx, actions);
    let fill = ctx.global_style().visuals.extreme_bg_color;
    crate::widgets::cover(ctx, "compare", fill, |ui, rect, _| {
        let inner = rect.shrink(12.0);
        let bar = 40.0;
        let half = Vec2::new((inner.width() - 12.0) / 2.0, inner.height() - bar);
        let left = Rect::from_min_size(inner.min, half);
        let right = Rect::from_min_size(inner.min + Vec2::new(half.x + 12.0, 0.0), half);
        let similarity = group.members[at.member].1;
        let n = group.members.len();
        side(ui, thumbs, left, &group.keeper, "Keeper".to_string(), None);
        let ticked = c.is_selected(&member.path);
        let role = format!(
            "{} of {n} · {similarity:.3} to the keeper{}",
            at.member + 1,
            if ticked { " · ticked for removal" } else { "" }
        );
        let mark = ticked.then_some(Color32::from_rgb(220, 80, 60));
        side(ui, thumbs, right, member, role, mark);
        let bar = Rect::from_min_max(egui::pos2(inner.min.x, inner.max.y - bar), inner.max);
        ui.scope_builder(egui::UiBuilder::new().max_rect(bar), |ui| {
            buttons(ui, state, member, actions)
        });
    });
}

/// What the compare view does: each with its button and its key.
const CONTROLS: [(&str, Key, Control); 5] = [
    ("< Previous", Key::ArrowLeft, Control::Step(-1)),
    ("Next >", Key::ArrowRight, Control::Step(1)),
    ("Keep (K)", Key::K, Control::Mark(false)),
    (
        "Tick for removal (Delete)",
        Key::Delete,
        Control::Mark(true),
    ),
    ("Close (Esc)", Key::Escape, Control::Close),
];

#[derive(Clone, Copy)]
enum Control {
    Step(i32),
    Mark(bool),
    Close,
}

impl Control {
    fn action(self) -> Action {
        match self {
            Control::Step(step) => Action::CompareStep(step),
            Control::Mark(remove) => Action::CompareMark(remove),
            Control::Close => Action::CloseCompare,
        }
    }
}

/// ←/→, K, Delete and Esc: the compare view has the keys to itself while it is open.
fn keys(ctx: &egui::Context, actions: &mut Vec<Action>) {
    ctx.input_mut(|i| {
        for (_, key, control) in CONTROLS {
            if i.consume_key(Modifiers::NONE, key) {
                actions.push(control.action());
            }
        }
    });
}

fn buttons(ui: &mut egui::Ui, state: &State, member: &Photo, actions: &mut Vec<Action>) {
    ui.horizontal_centered(|ui| {
        let protected = state.duplicates.rule.protects(&member.path);
        for (text, _, control) in CONTROLS {
            // A photo in a reference folder is never ticked (its key does nothing either).
            let enabled = !(protected && matches!(control, Control::Mark(true)));
            if ui
                .add_enabled(enabled, egui::Button::new(text))
                .on_disabled_hover_text("In a reference folder: never moved")
                .clicked()
            {
                actions.push(control.action());
            }
        }
        ui.label(
            RichText::new(format!(
                "{} ticked; Move to trash or Move to folder acts on them",
                state.duplicates.selected.len()
            ))
            .weak(),
        );
    });
}

/// One photo of the pair, fitted into `rect` above its caption: `role`, name, pixels, size,
/// date and path; framed in `mark` when it is ticked.
fn side(
    ui: &mut egui::Ui,
    thumbs: &mut Thumbs,
    rect: Rect,
    photo: &Photo,
    role: String,
    mark: Option<Color32>,
) {
    let area = Rect::from_min_max(rect.min, rect.max - Vec2::new(0.0, CAPTION));
    let name = file_name(&photo.path);
    let resp = ui.interact(area, ui.scope_id().with(&photo.path), Sense::hover());
    resp.widget_info(|| WidgetInfo::labeled(Role::Image, true, format!("Compared: {name}")));
    // The caption goes right under the picture.
    let text = ui.visuals().warn_fg_color;
    let bottom = match large_photo(ui, thumbs, &photo.path, area, text) {
        Some(image) => {
            if let Some(color) = mark {
                ui.painter().rect_stroke(
                    image.expand(3.0),
                    CornerRadius::same(3),
                    egui::Stroke::new(4.0, color),
                    egui::StrokeKind::Outside,
                );
            }
            image.max.y
        }
        None => area.max.y,
    };
    let caption = Rect::from_min_max(egui::pos2(rect.min.x, bottom + 10.0), rect.max);
    ui.scope_builder(egui::UiBuilder::new().max_rect(caption), |ui| {
        ui.label(RichText::new(role).strong());
        ui.label(RichText::new(&name).strong());
        let pixels = photo
            .pixels
            .map_or("?×?".to_string(), |(w, h)| format!("{w}×{h}"));
        ui.label(format!(
            "{pixels} · {} · {}",
            size_text(photo.bytes),
            photo.date()
        ));
        ui.label(
            RichText::new(photo.path.display().to_string())
                .weak()
                .small(),
        );
    });
}
