//! Drawing what the folder part shows: the status line under the toolbar (the open folder, the
//! indexing progress with its Cancel button, notes and missing photos), the list of skipped
//! files at the bottom, and the empty window's words before a folder or a photo is chosen.

use crate::paths::file_name;
use crate::state::{Action, Indexing, State};
use crate::status;
use eframe::egui;
use egui::RichText;

pub(super) fn status(ui: &mut egui::Ui, state: &State, actions: &mut Vec<Action>) {
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
            Indexing::Scanning { .. } | Indexing::Embedding { .. } | Indexing::Compacting { .. }
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

pub(super) fn skipped(ui: &mut egui::Ui, state: &State) {
    egui::CollapsingHeader::new(format!("Skipped ({})", state.folder.skipped.len()))
        .id_salt("skipped-list")
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .max_height(160.0)
                .show(ui, |ui| {
                    for s in &state.folder.skipped {
                        // Where in the folder: the same name is often in several sub-folders.
                        let inside = state
                            .folder
                            .root
                            .as_deref()
                            .and_then(|r| s.path.strip_prefix(r).ok())
                            .unwrap_or(&s.path);
                        ui.horizontal(|ui| {
                            ui.label(RichText::new(inside.display().to_string()).strong())
                                .on_hover_text(s.path.display().to_string());
                            ui.label(&s.reason);
                        });
                    }
                });
        });
}

pub(super) fn empty_state(ui: &mut egui::Ui, state: &State) {
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
