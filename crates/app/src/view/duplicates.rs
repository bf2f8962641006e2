//! Drawing the Duplicates view: the level control with its counts, the keeper rule, the
//! selection and move buttons, the last move's report, and the groups as rows of thumbnails.
//! Like [`super`] (the rest of the drawing), it only reads the state and returns [`Action`]s.

use crate::paths::file_name;
use crate::state::duplicates::{Compare, Counts, LEVELS};
use crate::state::{Action, State};
use crate::thumbs::Thumbs;
use crate::widgets::{grid_thumbnail, path_field, PathRow};
use eframe::egui;
use egui::{Color32, CornerRadius, RichText, Sense, Stroke, Vec2};
use photo_sim_engine::decode::details::size_text;
use photo_sim_engine::library::{Prefer, Verdict};
use photo_sim_engine::relocate::Destination;
use photo_sim_engine::{DuplicateGroup, Photo};

/// Groups drawn at most (the largest first); the counts still cover all of them.
const MAX_GROUPS_SHOWN: usize = 500;
/// Side of a thumbnail in a group row.
const TILE: f32 = 132.0;

/// A count with thousands separators (1,104).
fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "1 group", "312 groups", with thousands separators.
fn counted(n: usize, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {noun}{s}", count(n))
}

/// "312 groups, 1,104 photos, 2.3 GB reclaimable".
pub fn counts_text(c: Counts) -> String {
    format!(
        "{}, {}, {} reclaimable",
        counted(c.groups, "group"),
        counted(c.photos, "photo"),
        size_text(c.reclaimable)
    )
}

pub fn draw(
    ui: &mut egui::Ui,
    state: &State,
    thumbs: &mut Thumbs,
    move_target: &mut String,
    reference: &mut String,
    actions: &mut Vec<Action>,
) {
    let c = &state.duplicates;
    if state.folder.root.is_none() {
        ui.label("Open a folder of photos to find its duplicates.");
        return;
    }
    level_bar(ui, state, actions);
    if let Some(level) = c.current() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(counts_text(level.counts())).strong());
            ui.label(
                RichText::new(format!(
                    "· each photo at least {:.2} similar to its keeper",
                    level.threshold
                ))
                .weak(),
            );
        });
    }
    decided_bar(ui, state, actions);
    // Folded away by default: a small window keeps its height for the groups.
    let rule = &state.duplicates.rule;
    let folders = match rule.reference.len() {
        0 => String::new(),
        n => format!(", never from {}", counted(n, "reference folder")),
    };
    let originals = if rule.originals_first {
        "RAW or HEIC, then "
    } else {
        ""
    };
    egui::CollapsingHeader::new(format!(
        "Keeper rule: {originals}{}{folders}",
        rule.prefer.words()
    ))
    .id_salt("keeper-rule")
    .show(ui, |ui| {
        keeper_bar(ui, state, actions);
        reference_bar(ui, state, reference, actions);
    });
    selection_bar(ui, state, move_target, actions);
    report(ui, state, actions);
    confirm_move(ui.ctx(), state, actions);
    ui.separator();
    groups(ui, state, thumbs, actions);
}

/// The levels with their group counts, and what is being worked on.
fn level_bar(ui: &mut egui::Ui, state: &State, actions: &mut Vec<Action>) {
    let c = &state.duplicates;
    ui.horizontal_wrapped(|ui| {
        ui.label("Level:");
        for label in LEVELS {
            let n = c
                .levels
                .iter()
                .flatten()
                .find(|l| l.label == label)
                .map(|l| format!(" ({})", count(l.groups.len())))
                .unwrap_or_default();
            let name = capitalised(label.words());
            if ui
                .selectable_label(c.custom.is_none() && c.level == label, format!("{name}{n}"))
                .on_hover_text(level_hint(label))
                .clicked()
            {
                actions.push(Action::SetLevel(label));
            }
        }
        similarity_slider(ui, state, actions);
        if c.pending.is_some() {
            ui.spinner();
            ui.label("Finding duplicates…");
        } else if state.folder.is_indexing() {
            ui.spinner();
            ui.label("Indexing; the groups are found again when it ends.");
        }
    });
}

/// The similarity slider: groups at any threshold from the loosest level's up, counted as the
/// slider moves (from pairs the engine keeps, so each step takes milliseconds).
fn similarity_slider(ui: &mut egui::Ui, state: &State, actions: &mut Vec<Action>) {
    let c = &state.duplicates;
    let Some(floor) = c.slider_floor() else {
        return;
    };
    let shown = c.current().map_or(floor, |l| l.threshold);
    let mut value = c.custom.unwrap_or(shown);
    ui.separator();
    // Wide enough for steps of 0.01 to be a few points each, where the window has room.
    ui.spacing_mut().slider_width = (ui.ctx().content_rect().width() / 6.0).clamp(100.0, 220.0);
    let slider = egui::Slider::new(&mut value, floor..=1.0)
        .text("at least")
        .fixed_decimals(2)
        .step_by(0.01);
    if ui
        .add(slider)
        .on_hover_text("Show the groups whose photos are at least this similar to their keeper")
        .changed()
    {
        actions.push(Action::SetThreshold(value));
    }
}

/// How many groups the person's decisions set apart, with a button to forget them.
fn decided_bar(ui: &mut egui::Ui, state: &State, actions: &mut Vec<Action>) {
    let n = state.duplicates.decided;
    if n == 0 {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!(
                "{} marked \"not duplicates\" or \"keep all\" are not proposed again.",
                counted(n, "group")
            ))
            .weak(),
        );
        if ui
            .small_button("Forget these decisions")
            .on_hover_text("Propose every group again")
            .clicked()
        {
            actions.push(Action::ForgetDecisions);
        }
    });
}

/// How keepers are chosen: what decides first, and whether camera originals come first.
fn keeper_bar(ui: &mut egui::Ui, state: &State, actions: &mut Vec<Action>) {
    let (keep, originals) = (state.settings.keep, state.settings.originals_first);
    ui.horizontal_wrapped(|ui| {
        ui.label("Keep the one with")
            .on_hover_text("Photos in a reference folder are kept first, whatever this says");
        let mut chosen = keep;
        for prefer in Prefer::ALL {
            ui.selectable_value(&mut chosen, prefer, prefer.words());
        }
        let mut first = originals;
        ui.checkbox(&mut first, "RAW or HEIC before JPEG")
            .on_hover_text("Keep a camera original before a JPEG or other conversion of it");
        ui.label(RichText::new(format!("(in all: {})", state.duplicates.rule.describe())).weak());
        if (chosen, first) != (keep, originals) {
            actions.push(Action::SetKeeperRule(chosen, first));
        }
    });
}

/// The reference folders, whose photos are never moved: each with a button to take it out,
/// and a field to add one.
fn reference_bar(ui: &mut egui::Ui, state: &State, text: &mut String, actions: &mut Vec<Action>) {
    ui.horizontal_wrapped(|ui| {
        ui.label("Never move from:").on_hover_text(
            "Reference folders: their photos are always the keepers, and are never ticked or moved",
        );
        for folder in &state.duplicates.rule.reference {
            if ui
                .button(format!("{} ×", file_name(folder)))
                .on_hover_text(format!("{}\nClick to take it out", folder.display()))
                .clicked()
            {
                actions.push(Action::RemoveReference(folder.clone()));
            }
        }
        if let Some(typed) = path_field(ui, text, "Reference folder", "/path/to/archive", "Add") {
            // The library names its photos by their canonical paths.
            actions.push(Action::AddReference(typed.canonicalize().unwrap_or(typed)));
            text.clear();
        }
    });
}

/// Selecting, and moving the selected photos to the trash or a folder.
fn selection_bar(
    ui: &mut egui::Ui,
    state: &State,
    move_target: &mut String,
    actions: &mut Vec<Action>,
) {
    let c = &state.duplicates;
    ui.horizontal_wrapped(|ui| {
        let idle = !c.moving && !state.folder.is_indexing();
        if ui
            .button("Select all but the keepers")
            .on_hover_text("Select every photo of the groups shown except each group's keeper")
            .clicked()
        {
            actions.push(Action::SelectAllButKeepers);
        }
        if ui
            .add_enabled(!c.selected.is_empty(), egui::Button::new("Clear selection"))
            .clicked()
        {
            actions.push(Action::ClearSelection);
        }
        ui.separator();
        let n = c.selected_photos().len();
        if ui
            .add_enabled(
                idle && n > 0,
                egui::Button::new(format!("Move to trash ({n})")),
            )
            .on_hover_text(
                "Into the desktop's trash, from where they can be restored; a file changed since it was indexed is not touched",
            )
            .clicked()
        {
            actions.push(Action::TrashSelected);
        }
        let row = PathRow {
            dialog: "Move to folder…",
            dialog_hint: "Choose a folder to move the selected photos into",
            label: "Move to",
            hint: "/path/to/folder",
            submit: "Move",
        };
        let (dialog, typed) = row.show(ui, move_target);
        // With nothing ticked, the state says so rather than doing nothing.
        if idle {
            if dialog {
                actions.push(Action::ChooseMoveTarget);
            }
            if let Some(dir) = typed {
                actions.push(Action::MoveSelectedTo(dir));
            }
        }
        if c.moving {
            ui.spinner();
            ui.label("Moving…");
        }
    });
}

fn capitalised(words: &str) -> String {
    let mut chars = words.chars();
    chars
        .next()
        .map(|f| f.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn level_hint(label: photo_sim_engine::labels::Label) -> &'static str {
    use photo_sim_engine::labels::Label;
    match label {
        Label::SamePhoto => {
            "The same photo: resized, re-compressed, lightly cropped or colour-shifted copies"
        }
        Label::NearDuplicate => "Also the same scene moments apart: the frames of a burst",
        _ => "Also photos of the same scene or subject",
    }
}

/// Asks before a large move, over the whole window: how many photos, from how many groups,
/// and where they go. Esc or a click beside it cancels.
fn confirm_move(ctx: &egui::Context, state: &State, actions: &mut Vec<Action>) {
    let Some(pending) = &state.duplicates.confirm else {
        return;
    };
    let n = counted(pending.photos.len(), "photo");
    let (question, button) = match &pending.to {
        Destination::Trash => (
            format!("Move {n} to the trash?"),
            format!("Move {n} to the trash"),
        ),
        Destination::Folder(dir) if pending.create => (
            format!(
                "{} does not exist. Create it and move {n} there?",
                dir.display()
            ),
            format!("Create the folder and move {n}"),
        ),
        Destination::Folder(dir) => (
            format!("Move {n} to {}?", dir.display()),
            format!("Move {n}"),
        ),
    };
    let bytes: u64 = pending.photos.iter().map(|p| p.bytes).sum();
    let modal = egui::Modal::new(egui::Id::unique("confirm-move")).show(ctx, |ui| {
        ui.set_max_width(460.0);
        ui.heading(question);
        ui.label(format!(
            "The photos selected in {} ({}), not only those on the screen. Each group keeps its keeper, and Undo puts them back.",
            counted(pending.groups, "group"),
            size_text(bytes)
        ));
        ui.horizontal(|ui| {
            if ui.button(button).clicked() {
                actions.push(Action::ConfirmMove);
            }
            ui.button("Cancel").clicked()
        })
        .inner
    });
    if modal.inner || modal.should_close() {
        actions.push(Action::CancelMove);
    }
}

fn report(ui: &mut egui::Ui, state: &State, actions: &mut Vec<Action>) {
    let c = &state.duplicates;
    let Some(summary) = c.report_summary() else {
        return;
    };
    let untouched: Vec<_> = c.report.iter().filter(|r| !c.succeeded(r)).collect();
    let color = if untouched.is_empty() {
        ui.visuals().text_color()
    } else {
        ui.visuals().warn_fg_color
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(summary).color(color));
        let n = c.undo_count();
        if n > 0 {
            let idle = !c.moving && !state.folder.is_indexing();
            if ui
                .add_enabled(idle, egui::Button::new(format!("Undo: put back {n} photos")))
                .on_hover_text("Restore them from the trash, or move them back, to where they were; a file that took a name meanwhile is never replaced")
                .clicked()
            {
                actions.push(Action::UndoMove);
            }
        }
    });
    egui::CollapsingHeader::new(format!("What happened to each file ({})", c.report.len()))
        .id_salt("move-report")
        .default_open(!untouched.is_empty())
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("move-report-list")
                .max_height(120.0)
                .show(ui, |ui| {
                    for r in &c.report {
                        ui.label(format!("{}: {}", r.path.display(), r.outcome));
                    }
                });
        });
}

fn groups(ui: &mut egui::Ui, state: &State, thumbs: &mut Thumbs, actions: &mut Vec<Action>) {
    let c = &state.duplicates;
    let groups = c.groups();
    if c.levels.is_some() && groups.is_empty() {
        ui.label("No duplicates at this level.");
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt("groups")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (i, g) in groups.iter().take(MAX_GROUPS_SHOWN).enumerate() {
                group_header(ui, i, g, actions);
                // Rows as wide as the view, so every member can be seen and ticked (egui
                // does not wrap tiles that are themselves laid out vertically).
                let gap = ui.spacing().item_spacing.x;
                let columns = (((ui.available_width() + gap) / (TILE + gap)) as usize).max(1);
                let photos: Vec<(&Photo, Option<(&Photo, f32)>)> =
                    std::iter::once((&g.keeper, None))
                        .chain(g.members.iter().map(|(p, s)| (p, Some((&g.keeper, *s)))))
                        .collect();
                for row in photos.chunks(columns) {
                    ui.horizontal(|ui| {
                        for &(photo, to_keeper) in row {
                            tile(ui, state, thumbs, photo, to_keeper, actions);
                        }
                    });
                }
                ui.add_space(6.0);
            }
            if groups.len() > MAX_GROUPS_SHOWN {
                ui.label(format!(
                    "…and {} smaller groups (a stricter level shows fewer).",
                    groups.len() - MAX_GROUPS_SHOWN
                ));
            }
        });
}

/// A group's title, and what can be done with the group as a whole: compare its photos, or
/// say it is not duplicates or is to be kept whole (remembered: it is not proposed again).
fn group_header(ui: &mut egui::Ui, i: usize, g: &DuplicateGroup, actions: &mut Vec<Action>) {
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!(
                "Group {} · {} photos · {} reclaimable",
                i + 1,
                g.members.len() + 1,
                size_text(g.reclaimable())
            ))
            .strong(),
        );
        let compare = ui
            .small_button(format!("Compare group {}", i + 1))
            .on_hover_text(
                "The keeper beside each other photo, large (Left/Right, K keeps, Delete ticks)",
            );
        if compare.clicked() {
            actions.push(Action::Compare(Compare {
                group: i,
                member: 0,
            }));
        }
        for (verdict, hint) in [
            (
                Verdict::NotDuplicates,
                "These photos only look alike: never group them again",
            ),
            (
                Verdict::KeepAll,
                "Keep every photo of this group: never propose it again",
            ),
        ] {
            let text = format!("{} (group {})", capitalised(verdict.words()), i + 1);
            if ui.small_button(text).on_hover_text(hint).clicked() {
                actions.push(Action::Decide(i, verdict));
            }
        }
    });
}

/// One photo of a group: its thumbnail (click to search with it), a checkbox named after the
/// file, and what it is (keeper or similarity, pixels, size).
fn tile(
    ui: &mut egui::Ui,
    state: &State,
    thumbs: &mut Thumbs,
    photo: &Photo,
    to_keeper: Option<(&Photo, f32)>,
    actions: &mut Vec<Action>,
) {
    let similarity = to_keeper.map(|(_, s)| s);
    ui.vertical(|ui| {
        ui.set_width(TILE);
        let (rect, resp) = ui.allocate_exact_size(Vec2::splat(TILE), Sense::click());
        // Only thumbnails on screen are loaded.
        if ui.is_rect_visible(rect) {
            grid_thumbnail(ui, thumbs, &photo.path, rect);
        }
        let selected = state.duplicates.is_selected(&photo.path);
        let keeper = similarity.is_none();
        if keeper || selected {
            let color = if selected {
                Color32::from_rgb(220, 80, 60)
            } else {
                Color32::from_rgb(80, 170, 90)
            };
            ui.painter().rect_stroke(
                rect.expand(2.0),
                CornerRadius::same(3),
                Stroke::new(3.0, color),
                egui::StrokeKind::Outside,
            );
        }
        let name = file_name(&photo.path);
        resp.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Search with {name}"))
        });
        let resp = resp.on_hover_text(format!(
            "{}\n{}",
            photo.path.display(),
            crate::widgets::OPEN_GESTURES
        ));
        if resp.clicked() {
            actions.push(if ui.input(|i| i.modifiers.command) {
                Action::OpenExternal(photo.path.clone())
            } else {
                Action::SearchWith(photo.path.clone())
            });
        }
        let mut checked = selected;
        let reference = state.duplicates.rule.protects(&photo.path);
        let hover = if reference {
            format!(
                "{}\nIn a reference folder: never moved",
                photo.path.display()
            )
        } else {
            photo.path.display().to_string()
        };
        if ui
            .add_enabled(!reference, egui::Checkbox::new(&mut checked, name))
            .on_hover_text(hover)
            .on_disabled_hover_text("In a reference folder: never moved")
            .changed()
        {
            actions.push(Action::ToggleSelected(photo.path.clone()));
        }
        let what = match similarity {
            None => RichText::new("Keeper").color(Color32::from_rgb(80, 170, 90)),
            Some(_) if to_keeper.is_some_and(|(k, _)| photo.identical_to(k)) => {
                RichText::new("Identical copy")
            }
            Some(s) => RichText::new(format!("{s:.3} to keeper")),
        };
        ui.label(what.small());
        let pixels = photo
            .pixels
            .map_or("?×?".to_string(), |(w, h)| format!("{w}×{h}"));
        ui.label(
            RichText::new(format!("{pixels} · {}", size_text(photo.bytes)))
                .small()
                .weak(),
        );
        // The date the keeper rule's "oldest" goes by.
        ui.label(RichText::new(photo.date()).small().weak());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_a_person_writes_them() {
        let text = counts_text(Counts {
            groups: 312,
            photos: 1104,
            reclaimable: 2_300_000_000,
        });
        assert_eq!(text, "312 groups, 1,104 photos, 2.3 GB reclaimable");
        let one = counts_text(Counts {
            groups: 1,
            photos: 2,
            reclaimable: 1000,
        });
        assert_eq!(one, "1 group, 2 photos, 1 KB reclaimable");
    }
}
