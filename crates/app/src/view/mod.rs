//! Drawing only: reads the [`State`], draws the window, and returns what the person asked for
//! as [`Action`]s. Nothing here changes the state or talks to the engine. This file draws the
//! window and what belongs to no single part (keys and drops, the drop overlay, the picker, the
//! messages); each part's drawing is in the file named after it: `toolbar.rs`, `folder.rs`,
//! [`search`], `preview.rs` and [`duplicates`].

mod compare;
pub mod duplicates;
mod folder;
mod preview;
pub mod search;
mod toolbar;

use crate::paths::path_from_text;
use crate::state::{Action, State, View};
use crate::thumbs::Thumbs;
use eframe::egui;
use egui::{Align2, Color32, CornerRadius, Key, Modifiers, PointerButton, RichText, Stroke, Vec2};
use folder::{empty_state, skipped, status};
use preview::preview;
use search::{query_pane, results};
use std::path::{Path, PathBuf};
use toolbar::toolbar;

/// The result grid as it was last drawn: the arrow keys move in it, and Larger and Smaller
/// start from its side.
#[derive(Clone, Copy, Debug)]
pub struct Grid {
    pub columns: usize,
    /// The side of a thumbnail, in points.
    pub side: f32,
}

impl Default for Grid {
    fn default() -> Self {
        Self {
            columns: search::FIT_COLUMNS,
            side: 150.0,
        }
    }
}

/// What the view holds between frames: the text fields, and the grid's shape.
#[derive(Default)]
pub struct Fields {
    pub grid: Grid,
    /// The in-app picker's path field.
    pub picker_path: crate::picker::PathField,
    pub folder_path: String,
    pub photo_path: String,
    /// Where the Duplicates view moves the selected photos.
    pub move_target: String,
    /// A reference folder being typed in the Duplicates view.
    pub reference: String,
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
    keyboard_and_drops(ui.ctx(), state, fields.grid, &mut actions);

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
            duplicates::draw(
                ui,
                state,
                thumbs,
                &mut fields.move_target,
                &mut fields.reference,
                &mut actions,
            )
        });
        compare::draw(ui.ctx(), state, thumbs, &mut actions);
        overlays(ui.ctx(), state, thumbs, fields, &mut actions);
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
            results(ui, state, thumbs, &mut fields.grid, &mut actions);
        } else {
            empty_state(ui, state);
        }
    });
    preview(ui.ctx(), state, thumbs, &mut actions);
    overlays(ui.ctx(), state, thumbs, fields, &mut actions);
    actions
}

/// What lies over either view: the messages, the picker and the drop hint.
fn overlays(
    ctx: &egui::Context,
    state: &State,
    thumbs: &mut Thumbs,
    fields: &mut Fields,
    actions: &mut Vec<Action>,
) {
    messages(ctx, state, actions);
    picker(ctx, state, &mut fields.picker_path, thumbs, actions);
    drop_overlay(ctx);
}

fn picker(
    ctx: &egui::Context,
    state: &State,
    path: &mut crate::picker::PathField,
    thumbs: &mut Thumbs,
    actions: &mut Vec<Action>,
) {
    if let Some(p) = &state.dialogs.picker {
        let mut picked = Vec::new();
        super::picker::draw(ctx, p, path, thumbs, &mut picked);
        actions.extend(picked.into_iter().map(Action::Picker));
    }
}

fn keyboard_and_drops(ctx: &egui::Context, state: &State, grid: Grid, actions: &mut Vec<Action>) {
    // A dialog over the window (the picker, a move to confirm) has the keys to itself.
    if state.dialogs.picker.is_some()
        || state.duplicates.confirm.is_some()
        || state.duplicates.compare.is_some()
    {
        return;
    }
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
            actions.push(Action::Zoom {
                larger: true,
                side: grid.side,
                columns: grid.columns,
            });
        }
        if i.consume_key(Modifiers::COMMAND, Key::Minus) {
            actions.push(Action::Zoom {
                larger: false,
                side: grid.side,
                columns: grid.columns,
            });
        }
        if !typing {
            for (key, dx, dy) in [
                (Key::ArrowLeft, -1, 0),
                (Key::ArrowRight, 1, 0),
                (Key::ArrowUp, 0, -1),
                (Key::ArrowDown, 0, 1),
            ] {
                if i.consume_key(Modifiers::NONE, key) {
                    actions.push(Action::MoveSelection(dx, dy, grid.columns));
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
