//! Drawing the Search view: the query pane on the left (the query photo, its details, the
//! examples it was refined with, the rotations switch), and the grid of matches with its
//! controls, each cell with its score, name, group badge, hover card and right-click menu.

use super::Grid;
use crate::paths::file_name;
use crate::state::{Action, Cell, State, Where, MAX_TILE, MIN_TILE, RESULTS};
use crate::thumbs::{Size, Thumb, Thumbs};
use crate::widgets::{fit_size, grid_thumbnail, paint, placeholder, OPEN_GESTURES};
use eframe::egui;
use egui::{Color32, CornerRadius, FontId, Rect, RichText, Role, Sense, Stroke, Vec2, WidgetInfo};
use std::path::Path;

pub(super) fn query_pane(
    ui: &mut egui::Ui,
    state: &State,
    thumbs: &mut Thumbs,
    actions: &mut Vec<Action>,
) {
    let Some(path) = state.search.query() else {
        return;
    };
    // Keep the pane as wide as it was made, whatever the picture's size.
    ui.set_min_width(ui.available_width());
    ui.add_space(6.0);
    ui.add(
        egui::Label::new(RichText::new(format!("Query: {}", file_name(path))).heading()).truncate(),
    )
    .on_hover_text(path.display().to_string());
    ui.add(egui::Label::new(RichText::new(path.display().to_string()).size(13.0)).truncate());
    if let Some(d) = state.search.details.get(path) {
        ui.label(RichText::new(d.lines()[1..].join(" · ")).size(13.0));
    }
    examples(ui, state, actions);
    let mut rotations = state.settings.rotations;
    if ui
        .checkbox(&mut rotations, "Also find rotated copies")
        .on_hover_text(
            "Compare the photo turned by 90°, 180° and 270° too, so a copy stored sideways is found (a query takes about three times as long)",
        )
        .changed()
    {
        actions.push(Action::SetRotations(rotations));
    }
    ui.add_space(4.0);
    let avail = ui.available_size() - Vec2::new(0.0, 8.0);
    match thumbs.get(path, Size::Large) {
        Thumb::Ready(t) => {
            let size = fit_size(&t, avail);
            let (rect, resp) = ui.allocate_exact_size(size, Sense::click());
            paint(ui, &t, rect);
            resp.widget_info(|| WidgetInfo::labeled(Role::Image, true, "Query photo"));
            let resp = resp.on_hover_text(format!("{}\nDouble-click to open", path.display()));
            if resp.double_clicked() {
                actions.push(Action::OpenExternal(path.to_path_buf()));
            }
            file_menu(&resp, path, actions);
        }
        Thumb::Loading => {
            let side = avail.x.min(avail.y).min(300.0);
            let (rect, _) = ui.allocate_exact_size(Vec2::splat(side), Sense::hover());
            placeholder(ui, rect);
        }
        Thumb::Failed(e) => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Cannot show this photo: {e}"),
            );
        }
    }
}

/// The photos the query was refined with, as chips that take them out again.
fn examples(ui: &mut egui::Ui, state: &State, actions: &mut Vec<Action>) {
    let Some(step) = state.search.current() else {
        return;
    };
    for (title, paths) in [("More like:", &step.more), ("Less like:", &step.less)] {
        if paths.is_empty() {
            continue;
        }
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(title).strong());
            for p in paths {
                if ui
                    .button(format!("{} ×", file_name(p)))
                    .on_hover_text(format!(
                        "{}\nClick to take it out of the query",
                        p.display()
                    ))
                    .clicked()
                {
                    actions.push(Action::RemoveExample(p.clone()));
                }
            }
        });
    }
}

fn file_menu(resp: &egui::Response, path: &Path, actions: &mut Vec<Action>) {
    resp.context_menu(|ui| file_menu_items(ui, path, actions));
}

fn file_menu_items(ui: &mut egui::Ui, path: &Path, actions: &mut Vec<Action>) {
    if ui.button("Open").clicked() {
        actions.push(Action::OpenExternal(path.to_path_buf()));
        ui.close();
    }
    if ui.button("Show in folder").clicked() {
        actions.push(Action::ShowInFolder(path.to_path_buf()));
        ui.close();
    }
}

/// Columns of the grid until a thumbnail size is chosen: the ten matches fill the window 5×2.
pub const FIT_COLUMNS: usize = 5;

/// The grid's columns and thumbnail side in `avail` (its width, and the height the first ten
/// tiles should fit): with no size chosen, ten tiles fill it 5×2; with one, the columns of
/// tiles nearest that size, stretched to fill the width.
fn grid_shape(avail: Vec2, tile: Option<f32>, gap: f32, text_h: f32) -> Grid {
    let fill = |columns: usize| (avail.x - gap * (columns as f32 - 1.0)) / columns as f32;
    match tile {
        None => {
            let rows = RESULTS.div_ceil(FIT_COLUMNS) as f32;
            let side = fill(FIT_COLUMNS)
                .min((avail.y - (gap + text_h) * rows) / rows)
                .max(48.0);
            Grid {
                columns: FIT_COLUMNS,
                side,
            }
        }
        Some(tile) => {
            let columns = ((avail.x + gap) / (tile + gap)).round().max(1.0) as usize;
            Grid {
                columns,
                side: fill(columns).max(MIN_TILE),
            }
        }
    }
}

pub(super) fn results(
    ui: &mut egui::Ui,
    state: &State,
    thumbs: &mut Thumbs,
    grid: &mut Grid,
    actions: &mut Vec<Action>,
) {
    let current = state.search.current().expect("a query is shown");
    let cells = state.cells();
    grid_controls(ui, state, *grid, actions);
    if current.results.is_none() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Finding similar photos…");
        });
    } else if state.folder.root.is_none() {
        ui.label(if state.folder.is_indexing() {
            "Opening the folder…"
        } else {
            "Open a folder of photos to find the ones like this one."
        });
        return;
    } else if cells.is_empty() {
        ui.label(if state.folder.is_indexing() {
            "No photos indexed yet; the matches appear when indexing has saved some."
        } else if !state.settings.show_weak && !state.search.tiles().is_empty() {
            "No similar photos: only weaker matches, which are hidden (tick \"Show weaker matches\")."
        } else if state.search.scope != Where::Everywhere {
            "No photos here: choose \"Everywhere\" to search the whole folder."
        } else {
            "No other photos in this folder."
        });
        return;
    }
    let gap = 10.0;
    let text_h = 38.0;
    // Tiles beyond the window (more columns' worth, or after "More") scroll.
    let avail = ui.available_size() - Vec2::new(0.0, 34.0);
    *grid = grid_shape(avail, state.settings.tile, gap, text_h);
    let Grid { columns, side } = *grid;
    let cell = Vec2::new(side, side + text_h);
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .show(ui, |ui| {
            let origin = ui.cursor().min;
            for (i, c) in cells.iter().enumerate() {
                let (row, col) = (i / columns, i % columns);
                let rect = Rect::from_min_size(
                    origin + Vec2::new(col as f32 * (side + gap), row as f32 * (cell.y + gap)),
                    cell,
                );
                grid_cell(ui, state, thumbs, c, i, rect, actions);
            }
            let rows = cells.len().div_ceil(columns);
            ui.allocate_rect(
                Rect::from_min_size(
                    origin,
                    Vec2::new(columns as f32 * (side + gap), rows as f32 * (cell.y + gap)),
                ),
                Sense::hover(),
            );
            let exhausted = state.search.tiles().len() < state.search.count;
            if !exhausted
                && ui
                    .add_enabled(
                        state.search.pending_query.is_none(),
                        egui::Button::new("More"),
                    )
                    .on_hover_text(format!("Show the next {RESULTS} matches"))
                    .clicked()
            {
                actions.push(Action::ShowMore);
            }
        });
}

/// Above the grid: where to search, and the thumbnail size.
fn grid_controls(ui: &mut egui::Ui, state: &State, grid: Grid, actions: &mut Vec<Action>) {
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Search:");
        egui::ComboBox::from_id_salt("scope")
            .selected_text(state.search.scope.words())
            .show_ui(ui, |ui| {
                for w in Where::ALL {
                    if ui
                        .selectable_label(state.search.scope == w, w.words())
                        .clicked()
                    {
                        actions.push(Action::SetWhere(w));
                    }
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("Look everywhere, only in the query's folder, or everywhere else");
        let mut show_weak = state.settings.show_weak;
        if ui
            .checkbox(&mut show_weak, "Show weaker matches")
            .on_hover_text("Also show the loosely related and unrelated matches, dimmed")
            .changed()
        {
            actions.push(Action::ShowWeak(show_weak));
        }
        ui.separator();
        ui.label("Thumbnails:");
        if ui
            .add_enabled(grid.side > MIN_TILE, egui::Button::new("Smaller"))
            .on_hover_text("Smaller thumbnails, more a row (Ctrl+minus)")
            .clicked()
        {
            actions.push(Action::Zoom {
                larger: false,
                side: grid.side,
                columns: grid.columns,
            });
        }
        if ui
            .add_enabled(
                grid.columns > 1 && grid.side < MAX_TILE,
                egui::Button::new("Larger"),
            )
            .on_hover_text("Larger thumbnails, fewer a row (Ctrl+plus)")
            .clicked()
        {
            actions.push(Action::Zoom {
                larger: true,
                side: grid.side,
                columns: grid.columns,
            });
        }
    });
    ui.add_space(4.0);
}

/// One cell: thumbnail, score in words, name, a "×N" badge on a tile that stands for several
/// near-duplicates, and a hover card saying where and what the photo is.
fn grid_cell(
    ui: &mut egui::Ui,
    state: &State,
    thumbs: &mut Thumbs,
    c: &Cell,
    i: usize,
    rect: Rect,
    actions: &mut Vec<Action>,
) {
    let m = &c.m;
    let name = file_name(&m.path);
    let resp = ui.interact(rect, ui.scope_id().with(("cell", i)), Sense::click());
    resp.widget_info(|| {
        // Screen readers (and the tests) hear the score in words as the cell's value.
        let mut info = WidgetInfo::labeled(Role::Button, true, &name);
        info.current_text_value = Some(score_text(m));
        info
    });
    let image_rect = Rect::from_min_size(rect.min, Vec2::splat(rect.width()));
    if c.member || c.expanded {
        // The members of an open group sit on one tinted band.
        ui.painter().rect_filled(
            rect.expand(4.0),
            CornerRadius::same(6),
            ui.visuals().selection.bg_fill.gamma_multiply(0.35),
        );
    }
    grid_thumbnail(ui, thumbs, &m.path, image_rect);
    cell_frame(
        ui,
        state.search.selection == Some(i),
        resp.hovered(),
        image_rect,
    );
    let weak = crate::state::is_weak(m);
    if weak {
        // Under the "similar" cut: visibly not the same kind of match.
        ui.painter().rect_filled(
            image_rect,
            CornerRadius::ZERO,
            Color32::from_black_alpha(140),
        );
    }
    cell_caption(ui, m, &name, weak, image_rect);
    let resp = resp.on_hover_ui(|ui| hover_card(ui, state, m));
    if resp.clicked() {
        actions.push(if ui.input(|i| i.modifiers.command) {
            Action::OpenExternal(m.path.clone())
        } else {
            Action::Pivot(i)
        });
    }
    resp.context_menu(|ui| {
        file_menu_items(ui, &m.path, actions);
        ui.separator();
        if ui.button("More like this").clicked() {
            actions.push(Action::MoreLike(i));
            ui.close();
        }
        if ui.button("Less like this").clicked() {
            actions.push(Action::LessLike(i));
            ui.close();
        }
    });
    if let Some(badge) = &c.badge {
        group_badge(ui, c, badge, i, image_rect, actions);
    }
}

/// The frame around a selected (thick) or hovered (thin) thumbnail.
fn cell_frame(ui: &egui::Ui, selected: bool, hovered: bool, image_rect: Rect) {
    if !selected && !hovered {
        return;
    }
    let color = if selected {
        ui.visuals().selection.stroke.color
    } else {
        ui.visuals().widgets.hovered.bg_stroke.color
    };
    ui.painter().rect_stroke(
        image_rect.expand(2.0),
        CornerRadius::same(3),
        Stroke::new(if selected { 3.0 } else { 1.5 }, color),
        egui::StrokeKind::Outside,
    );
}

/// The two lines under a thumbnail: the score, then the file name (dimmed for weak matches).
fn cell_caption(
    ui: &egui::Ui,
    m: &photo_sim_engine::Match,
    name: &str,
    weak: bool,
    image_rect: Rect,
) {
    let side = image_rect.width();
    let text_color = if weak {
        ui.visuals().weak_text_color()
    } else {
        ui.visuals().text_color()
    };
    let strong = if weak {
        ui.visuals().weak_text_color()
    } else {
        ui.visuals().strong_text_color()
    };
    let line = |text: String, size: f32, color: Color32, y: f32| {
        let mut job = egui::text::LayoutJob::single_section(
            text,
            egui::TextFormat::simple(FontId::proportional(size), color),
        );
        job.wrap = egui::text::TextWrapping::truncate_at_width(side);
        let galley = ui.painter().layout_job(job);
        ui.painter().galley(
            egui::pos2(image_rect.min.x, image_rect.max.y + y),
            galley,
            color,
        );
    };
    // A narrow cell keeps the words and drops the number (the hover card has it).
    let score = match m.label {
        _ if m.identical && side < 130.0 => "Identical copy".to_string(),
        Some(label) if side < 130.0 => label.words().to_string(),
        _ => score_text(m),
    };
    line(score, 13.0, strong, 3.0);
    line(name.to_string(), 12.0, text_color, 20.0);
}

/// The badge of a tile that stands for several photos ("×N" near-duplicates, or "JPG+RAW"):
/// a click shows them in place.
fn group_badge(
    ui: &mut egui::Ui,
    c: &Cell,
    text: &str,
    i: usize,
    image_rect: Rect,
    actions: &mut Vec<Action>,
) {
    let text = text.to_string();
    let galley =
        ui.painter()
            .layout_no_wrap(text.clone(), FontId::proportional(14.0), Color32::WHITE);
    let size = galley.size() + Vec2::new(12.0, 6.0);
    let badge = Rect::from_min_size(
        egui::pos2(image_rect.max.x - size.x - 4.0, image_rect.min.y + 4.0),
        size,
    );
    let resp = ui.interact(badge, ui.scope_id().with(("badge", i)), Sense::click());
    resp.widget_info(|| WidgetInfo::labeled(Role::Button, true, &text));
    let fill = if resp.hovered() {
        Color32::from_rgb(40, 110, 200)
    } else {
        Color32::from_black_alpha(190)
    };
    ui.painter().rect_filled(badge, CornerRadius::same(8), fill);
    ui.painter()
        .galley(badge.min + Vec2::new(6.0, 3.0), galley, Color32::WHITE);
    let hint = if c.expanded {
        "Hide the near-duplicates of this photo".to_string()
    } else if c.count == 2 && text == "JPG+RAW" {
        "The same shot, saved as RAW and as JPEG: click to show both".to_string()
    } else {
        format!(
            "{} near-duplicates of this photo (a burst or copies): click to show them",
            c.count - 1
        )
    };
    if resp.on_hover_text(hint).clicked() {
        actions.push(Action::ToggleGroup(i));
    }
}

/// What a match is and where: the full path, the score, the folder, date and size.
fn hover_card(ui: &mut egui::Ui, state: &State, m: &photo_sim_engine::Match) {
    ui.label(RichText::new(file_name(&m.path)).strong());
    let mut score = format!("{} (similarity {:.4})", score_text(m), m.similarity);
    if let Some(p) = m.percentile {
        score += &format!("\ncloser than {p:.1} % of the pairs in this folder");
    }
    ui.label(score);
    if let Some(d) = state.search.details.get(&m.path) {
        for line in d.lines() {
            ui.label(line);
        }
    }
    ui.label(RichText::new(m.path.display().to_string()).small());
    ui.label(
        RichText::new(format!(
            "{OPEN_GESTURES}; right-click: more or less like this"
        ))
        .small(),
    );
}

/// A match's score as a person reads it: the label in words, then the similarity.
pub fn score_text(m: &photo_sim_engine::Match) -> String {
    let mut text = match m.label {
        _ if m.identical => format!("Identical copy · {:.2}", m.similarity),
        Some(label) => format!("{} · {:.2}", label.words(), m.similarity),
        None => format!("{:.3}", m.similarity),
    };
    if !m.exists {
        text += " (missing)";
    }
    text
}
