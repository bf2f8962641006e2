//! Drawing the toolbar along the top of the window: the Search and Duplicates switch, Back and
//! Forward through the queries, and the two path rows that open a folder and choose a photo.
//! Like the rest of [`super`], it only reads the state and returns [`Action`]s.

use super::Fields;
use crate::state::{Action, State, View};
use crate::widgets::PathRow;
use eframe::egui;

pub(super) fn toolbar(
    ui: &mut egui::Ui,
    state: &State,
    fields: &mut Fields,
    actions: &mut Vec<Action>,
) {
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
