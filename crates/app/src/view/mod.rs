//! Drawing only: reads the [`State`], draws the window, and returns what the person asked for
//! as [`Action`]s. Nothing here changes the state or talks to the engine.

pub mod duplicates;

use super::paths::{file_name, path_from_text};
use super::state::{Action, Cell, Indexing, State, View, Where, RESULTS};
use super::status;
use super::thumbs::{Size, Thumb, Thumbs};
use super::widgets::{fit_size, grid_thumbnail, paint, placeholder, PathRow, OPEN_GESTURES};
use eframe::egui;
use egui::{
    Align2, Color32, CornerRadius, FontId, Key, Modifiers, PointerButton, Rect, RichText, Role,
    Sense, Stroke, Vec2, WidgetInfo,
};
use std::path::{Path, PathBuf};

/// What the text fields hold between frames.
#[derive(Default)]
pub struct Fields {
    pub folder_path: String,
    pub photo_path: String,
    /// Where the Duplicates view moves the selected photos.
    pub move_target: String,
    /// The query "Photo path" was last set to: the field follows pivots, Back and pastes.
    pub shown_query: Option<PathBuf>,
}

impl Fields {
    /// Shows the current query in "Photo path" whenever the query changes (so Search never
    /// jumps back to an old photo).
    pub fn follow_query(&mut self, query: Option<&Path>) {
        if self.shown_query.as_deref() != query {
            self.shown_query = query.map(Path::to_path_buf);
            if let Some(q) = query {
                self.photo_path = q.display().to_string();
            }
        }
    }
}

/// Draws the whole window and returns the actions of this frame.
pub fn draw(
    ui: &mut egui::Ui,
    state: &State,
    thumbs: &mut Thumbs,
    fields: &mut Fields,
) -> Vec<Action> {
    let mut actions = Vec::new();
    keyboard_and_drops(ui.ctx(), state, &mut actions);

    egui::Panel::top("toolbar").show(ui, |ui| {
        ui.add_space(4.0);
        toolbar(ui, state, fields, &mut actions);
        ui.add_space(2.0);
    });
    if state.folder.root.is_some() || state.folder.is_indexing() || !state.folder.notices.is_empty()
    {
        egui::Panel::top("status").show(ui, |ui| {
            ui.add_space(2.0);
            status(ui, state, &mut actions);
            ui.add_space(2.0);
        });
    }
    if !state.folder.skipped.is_empty() {
        egui::Panel::bottom("skipped").show(ui, |ui| skipped(ui, state));
    }
    if state.view == View::Duplicates {
        egui::CentralPanel::default().show(ui, |ui| {
            duplicates::draw(ui, state, thumbs, &mut fields.move_target, &mut actions)
        });
        messages(ui.ctx(), state, &mut actions);
        picker(ui.ctx(), state, &mut actions);
        drop_overlay(ui.ctx());
        return actions;
    }
    if state.search.query().is_some() {
        // Under half the window, so a small (or shrunk) window still has room for the grid.
        let width = ui.available_width();
        egui::Panel::left("query")
            .default_size((width * 0.3).clamp(180.0, 380.0))
            .size_range(160.0..=(width * 0.4).clamp(160.0, 800.0))
            .show(ui, |ui| query_pane(ui, state, thumbs, &mut actions));
    }
    egui::CentralPanel::default().show(ui, |ui| {
        if state.search.query().is_some() {
            results(ui, state, thumbs, &mut actions);
        } else {
            empty_state(ui, state);
        }
    });
    preview(ui.ctx(), state, thumbs, &mut actions);
    messages(ui.ctx(), state, &mut actions);
    picker(ui.ctx(), state, &mut actions);
    drop_overlay(ui.ctx());
    actions
}

fn picker(ctx: &egui::Context, state: &State, actions: &mut Vec<Action>) {
    if let Some(p) = &state.dialogs.picker {
        let mut picked = Vec::new();
        super::picker::draw(ctx, p, &mut picked);
        actions.extend(picked.into_iter().map(Action::Picker));
    }
}

/// The preview: one photo as large as the window allows, over the grid (Space or Esc closes).
fn preview(ctx: &egui::Context, state: &State, thumbs: &mut Thumbs, actions: &mut Vec<Action>) {
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

fn keyboard_and_drops(ctx: &egui::Context, state: &State, actions: &mut Vec<Action>) {
    let typing = ctx.egui_wants_keyboard_input();
    ctx.input_mut(|i| {
        if i.consume_key(Modifiers::COMMAND, Key::O) {
            actions.push(Action::ChooseFolder);
        }
        if i.consume_key(Modifiers::ALT, Key::ArrowLeft)
            || i.pointer.button_pressed(PointerButton::Extra1)
        {
            actions.push(Action::Back);
        }
        if i.consume_key(Modifiers::ALT, Key::ArrowRight)
            || i.pointer.button_pressed(PointerButton::Extra2)
        {
            actions.push(Action::Forward);
        }
        // Thumbnail size; egui's own Ctrl+plus/minus zoom is turned off in `App::new`.
        if i.consume_key(Modifiers::COMMAND, Key::Plus)
            || i.consume_key(Modifiers::COMMAND, Key::Equals)
        {
            actions.push(Action::Zoom(-1));
        }
        if i.consume_key(Modifiers::COMMAND, Key::Minus) {
            actions.push(Action::Zoom(1));
        }
        if !typing {
            for (key, dx, dy) in [
                (Key::ArrowLeft, -1, 0),
                (Key::ArrowRight, 1, 0),
                (Key::ArrowUp, 0, -1),
                (Key::ArrowDown, 0, 1),
            ] {
                if i.consume_key(Modifiers::NONE, key) {
                    actions.push(Action::MoveSelection(dx, dy));
                }
            }
            if state.search.selection.is_some() && i.consume_key(Modifiers::NONE, Key::Enter) {
                actions.push(Action::PivotSelected);
            }
            if i.consume_key(Modifiers::NONE, Key::Backspace) {
                actions.push(Action::Back);
            }
            if state.view == View::Search && i.consume_key(Modifiers::NONE, Key::Space) {
                actions.push(Action::TogglePreview);
            }
            if state.search.preview.is_some() && i.consume_key(Modifiers::NONE, Key::Escape) {
                actions.push(Action::ClosePreview);
            }
            // A path pasted with no text field focused: a photo becomes the query, a folder opens.
            for event in &i.events {
                if let egui::Event::Paste(text) = event {
                    match path_from_text(text) {
                        Some(p) if p.is_dir() => actions.push(Action::OpenFolder(p)),
                        Some(p) => actions.push(Action::SetQuery(p)),
                        None => {}
                    }
                }
            }
        }
        // A dropped photo becomes the query; a dropped folder is opened.
        if let Some(path) = i
            .raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .next()
        {
            if path.is_dir() {
                actions.push(Action::OpenFolder(path));
            } else {
                actions.push(Action::SetQuery(path));
            }
        }
    });
}

fn toolbar(ui: &mut egui::Ui, state: &State, fields: &mut Fields, actions: &mut Vec<Action>) {
    // Wraps onto a second line in a small window instead of running off its edge.
    ui.horizontal_wrapped(|ui| {
        for (view, name, hint) in [
            (
                View::Search,
                "Search",
                "A photo and the ten that look most like it",
            ),
            (
                View::Duplicates,
                "Duplicates",
                "Groups of copies and bursts, to clean up",
            ),
        ] {
            if ui
                .selectable_label(state.view == view, name)
                .on_hover_text(hint)
                .clicked()
            {
                actions.push(Action::ShowView(view));
            }
        }
        ui.separator();
        if ui
            .add_enabled(state.search.can_go_back(), egui::Button::new("Back"))
            .on_hover_text("Previous query (Alt+←, mouse back button)")
            .clicked()
        {
            actions.push(Action::Back);
        }
        if ui
            .add_enabled(state.search.can_go_forward(), egui::Button::new("Forward"))
            .on_hover_text("Next query (Alt+→, mouse forward button)")
            .clicked()
        {
            actions.push(Action::Forward);
        }
        ui.separator();
        let folder = PathRow {
            dialog: "Open folder…",
            dialog_hint: "Choose a folder of photos to index and browse (Ctrl+O)",
            label: "Folder path",
            hint: "/path/to/photos",
            submit: "Open",
        };
        let (dialog, typed) = folder.show(ui, &mut fields.folder_path);
        if dialog {
            actions.push(Action::ChooseFolder);
        }
        if let Some(path) = typed {
            actions.push(Action::OpenFolder(path));
        }
        ui.separator();
        let photo = PathRow {
            dialog: "Choose photo…",
            dialog_hint: "Choose a photo to find the ones like it (or drop one on the window)",
            label: "Photo path",
            hint: "paste a photo's path",
            submit: "Search",
        };
        let (dialog, typed) = photo.show(ui, &mut fields.photo_path);
        if dialog {
            actions.push(Action::ChoosePhoto);
        }
        if let Some(path) = typed {
            actions.push(Action::SetQuery(path));
        }
    });
}

fn status(ui: &mut egui::Ui, state: &State, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        match &state.folder.root {
            Some(f) => {
                ui.label(RichText::new(file_name(f)).strong())
                    .on_hover_text(f.display().to_string());
                if !state.folder.is_indexing() {
                    ui.label(format!("{} photos indexed", state.folder.indexed));
                }
            }
            None => {
                ui.label("Opening the folder…");
            }
        }
        let words = status::indexing_words(&state.folder.indexing);
        match (words, status::embedding_fraction(&state.folder.indexing)) {
            (None, _) => {
                if let Some(s) = &state.folder.last_summary {
                    ui.label(RichText::new(status::summary_words(s)).weak());
                }
            }
            (Some(text), Some(fraction)) => {
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(ui.available_width().min(520.0) - 80.0)
                        .text(text),
                );
            }
            (Some(text), None) => {
                ui.spinner();
                ui.label(text);
            }
        }
        if matches!(
            state.folder.indexing,
            Indexing::Scanning { .. } | Indexing::Embedding { .. }
        ) && ui
            .button("Cancel")
            .on_hover_text("Stop indexing; what is done is kept")
            .clicked()
        {
            actions.push(Action::Cancel);
        }
    });
    for n in &state.folder.notices {
        ui.label(RichText::new(format!("Note: {n}")).color(ui.visuals().warn_fg_color));
    }
    let missing = state
        .folder
        .last_summary
        .as_ref()
        .map_or(0, |s| s.kept_missing);
    if missing > 0 && !state.folder.is_indexing() {
        ui.horizontal(|ui| {
            ui.label(
                RichText::new(status::missing_words(missing)).color(ui.visuals().warn_fg_color),
            );
            if ui
                .button(format!("Remove the {missing} missing photos"))
                .on_hover_text("They were deleted: drop them from the index")
                .clicked()
            {
                actions.push(Action::PruneMissing);
            }
        });
    }
}

/// The one message area: the latest error, floating over the bottom of the window so it never
/// moves the grid, with how many came before it.
fn messages(ctx: &egui::Context, state: &State, actions: &mut Vec<Action>) {
    let Some(latest) = state.messages.errors().last() else {
        return;
    };
    egui::Area::new(egui::Id::unique("messages"))
        .order(egui::Order::Foreground)
        .anchor(Align2::CENTER_BOTTOM, Vec2::new(0.0, -12.0))
        .show(ctx, |ui| {
            egui::Frame::new()
                .fill(Color32::from_rgb(120, 30, 30))
                .corner_radius(CornerRadius::same(6))
                .inner_margin(8.0)
                .show(ui, |ui| {
                    ui.set_max_width((ctx.content_rect().width() - 48.0).max(200.0));
                    ui.horizontal(|ui| {
                        if ui.small_button("Dismiss").clicked() {
                            actions.push(Action::DismissErrors);
                        }
                        let earlier = state.messages.errors().len() - 1;
                        let mut text = latest.clone();
                        if earlier > 0 {
                            text += &format!(" (and {earlier} earlier)");
                        }
                        let label = ui.add(
                            egui::Label::new(RichText::new(text).color(Color32::WHITE)).wrap(),
                        );
                        if earlier > 0 {
                            label.on_hover_text(state.messages.errors().join("\n"));
                        }
                    });
                });
        });
}

fn skipped(ui: &mut egui::Ui, state: &State) {
    egui::CollapsingHeader::new(format!("Skipped ({})", state.folder.skipped.len()))
        .id_salt("skipped-list")
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .max_height(160.0)
                .show(ui, |ui| {
                    for s in &state.folder.skipped {
                        ui.horizontal(|ui| {
                            ui.label(RichText::new(file_name(&s.path)).strong())
                                .on_hover_text(s.path.display().to_string());
                            ui.label(&s.reason);
                        });
                    }
                });
        });
}

fn empty_state(ui: &mut egui::Ui, state: &State) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.3);
        if state.folder.root.is_none() && !state.folder.is_indexing() {
            ui.heading("Open a folder of photos to begin");
            ui.add_space(8.0);
            ui.label(
                "Click \"Open folder…\" (Ctrl+O) or type a folder's path in \"Folder path\". \
                 photo-sim indexes every photo in it, once.",
            );
            ui.label("Then drop a photo on this window to see the ten that look most like it.");
        } else {
            ui.heading("Drop a photo here");
            ui.add_space(8.0);
            ui.label(
                "Drag a photo from anywhere onto this window, click \"Choose photo…\", or paste \
                 its path, to see the ten photos of the folder that look most like it.",
            );
        }
    });
}

fn query_pane(ui: &mut egui::Ui, state: &State, thumbs: &mut Thumbs, actions: &mut Vec<Action>) {
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

fn results(ui: &mut egui::Ui, state: &State, thumbs: &mut Thumbs, actions: &mut Vec<Action>) {
    let current = state.search.current().expect("a query is shown");
    let cells = state.cells();
    grid_controls(ui, state, actions);
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
    let columns = state.settings.columns;
    let gap = 10.0;
    let text_h = 38.0;
    // The first ten tiles fill the window; more (after "More") scroll.
    let rows_in_view = RESULTS.div_ceil(columns).max(1);
    let avail = ui.available_size() - Vec2::new(0.0, 34.0);
    let side = ((avail.x - gap * (columns as f32 - 1.0)) / columns as f32)
        .min((avail.y - (gap + text_h) * rows_in_view as f32) / rows_in_view as f32)
        .max(48.0);
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
fn grid_controls(ui: &mut egui::Ui, state: &State, actions: &mut Vec<Action>) {
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
        let columns = state.settings.columns;
        if ui
            .add_enabled(
                columns < super::state::MAX_COLUMNS,
                egui::Button::new("Smaller"),
            )
            .on_hover_text("More photos a row (Ctrl+minus)")
            .clicked()
        {
            actions.push(Action::Zoom(1));
        }
        if ui
            .add_enabled(
                columns > super::state::MIN_COLUMNS,
                egui::Button::new("Larger"),
            )
            .on_hover_text("Fewer, bigger photos a row (Ctrl+plus)")
            .clicked()
        {
            actions.push(Action::Zoom(-1));
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
    let weak = super::state::is_weak(m);
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

fn drop_overlay(ctx: &egui::Context) {
    let hovering = ctx.input(|i| !i.raw.hovered_files.is_empty());
    if !hovering {
        return;
    }
    let screen = ctx.content_rect();
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop-overlay"),
    ));
    painter.rect_filled(screen, CornerRadius::ZERO, Color32::from_black_alpha(170));
    painter.rect_stroke(
        screen.shrink(12.0),
        CornerRadius::same(12),
        Stroke::new(3.0, Color32::from_rgb(120, 180, 255)),
        egui::StrokeKind::Inside,
    );
    egui::Area::new(egui::Id::unique("drop-hint"))
        .order(egui::Order::Tooltip)
        .anchor(Align2::CENTER_CENTER, Vec2::ZERO)
        .interactable(false)
        .show(ctx, |ui| {
            ui.vertical_centered(|ui| {
                ui.label(
                    RichText::new("Drop a photo to find the ones like it")
                        .size(28.0)
                        .color(Color32::WHITE),
                );
                ui.label(
                    RichText::new("(or a folder, to open it)")
                        .size(18.0)
                        .color(Color32::WHITE),
                );
            });
        });
}
