//! A 21-photo group in the Duplicates view, driven headless through egui_kittest by its
//! labels: every member can be reached in a small window; "Select all but the keepers" asks
//! before moving 20 photos, Cancel moves nothing, and after the move to a test trash (a
//! temporary XDG data dir) Undo restores every photo where it was and the index takes them
//! back.
//!
//! Its own binary: it sets `XDG_DATA_HOME` for the whole process, so the desktop's real trash
//! is never touched.

mod common;

use common::{
    app_on, click, fixture_image, idle_with_duplicates, run_app_until, save_jpeg, synthetic,
    type_and_submit,
};
use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use photo_sim_app::App;
use photo_sim_engine::library::Prefer;
use photo_sim_engine::relocate::Outcome;
use photo_sim_engine::Store;
use std::path::Path;

/// A photo and 20 copies of it at other sizes and qualities, and two unrelated pictures.
fn library(dir: &Path) {
    std::fs::create_dir_all(dir.join("copies")).unwrap();
    let img = fixture_image("cat.jpg");
    save_jpeg(&img, &dir.join("cat.jpg"), 95);
    let (w, h) = img.dimensions();
    for i in 0..20u32 {
        let scale = 0.5 + 0.02 * i as f32;
        let (cw, ch) = ((w as f32 * scale) as u32, (h as f32 * scale) as u32);
        let copy = image::imageops::resize(&img, cw, ch, image::imageops::FilterType::Triangle);
        let file = dir.join("copies").join(format!("cat_{i:02}.jpg"));
        save_jpeg(&copy, &file, 60 + i as u8);
    }
    save_jpeg(&fixture_image("coffee.jpg"), &dir.join("coffee.jpg"), 90);
    save_jpeg(&synthetic(5, 320, 240), &dir.join("other.jpg"), 90);
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// The app at `size`, showing the Duplicates view of the library in `tmp`/photos.
fn duplicates_of_library(tmp: &Path, size: egui::Vec2) -> Harness<'static, App> {
    let photos = tmp.join("photos");
    library(&photos);
    let mut h = app_on(&tmp.join("data"), &photos, (size.x, size.y));
    let s = h.state().state();
    assert_eq!(
        s.folder.indexed,
        23,
        "{:?} {:?}",
        s.folder.skipped,
        s.messages.errors()
    );
    h.get_by_label("Duplicates").click();
    run_app_until(&mut h, "the groups", idle_with_duplicates);
    h
}

#[test]
fn every_photo_of_a_big_group_is_within_a_small_window() {
    let tmp = tempfile::tempdir().unwrap();
    let width = 640.0;
    let mut h = duplicates_of_library(tmp.path(), egui::Vec2::new(width, 480.0));
    assert_eq!(h.state().state().duplicates.groups()[0].members.len(), 20);
    for i in 0..20 {
        let name = format!("cat_{i:02}.jpg");
        h.get_by_label(&name).scroll_to_me();
        // Scrolling is animated.
        for _ in 0..20 {
            h.step();
        }
        let rect = h.get_by_label(&name).rect();
        assert!(
            rect.min.x >= 0.0 && rect.max.x <= width,
            "{name}'s checkbox at {rect:?}, outside the {width} px window"
        );
        h.get_by_label(&name).click();
        h.step();
        h.step();
    }
    assert_eq!(h.state().state().duplicates.selected.len(), 20);
}

#[test]
fn a_large_move_asks_first_and_undo_puts_every_photo_back() {
    let tmp = tempfile::tempdir().unwrap();
    let xdg = tmp.path().join("xdg-data");
    std::fs::create_dir_all(&xdg).unwrap();
    std::env::set_var("XDG_DATA_HOME", &xdg);
    let photos = tmp.path().join("photos");
    let copies = photos.join("copies");
    let mut h = duplicates_of_library(tmp.path(), egui::Vec2::new(1200.0, 900.0));
    click(&mut h, "Select all but the keepers");
    assert_eq!(h.state().state().duplicates.selected.len(), 20);

    // Twenty photos: the move waits for a confirmation that says how many and where.
    click(&mut h, "Move to trash (20)");
    // A new window is laid out unseen on its first frame.
    h.step();
    h.get_by_label("Move 20 photos to the trash?");
    h.get_by_label_contains("selected in 1 group (");
    click(&mut h, "Cancel");
    assert!(h.query_by_label("Move 20 photos to the trash?").is_none());
    assert_eq!(count_files(&copies), 20, "Cancel moves nothing");
    assert!(!h.state().state().busy());

    click(&mut h, "Move to trash (20)");
    click(&mut h, "Move 20 photos to the trash");
    run_app_until(&mut h, "the move and the new index", idle_with_duplicates);
    assert_eq!(count_files(&copies), 0);
    assert_eq!(count_files(&xdg.join("Trash/files")), 20);
    assert_eq!(h.state().state().folder.indexed, 3);
    h.get_by_label_contains("20 of 20 photos moved");

    // One name is taken again meanwhile: that photo stays in the trash, the others come back.
    let taken = copies.join("cat_07.jpg");
    std::fs::write(&taken, b"a new file with the old name").unwrap();
    click(&mut h, "Undo: put back 20 photos");
    run_app_until(&mut h, "the undo and the new index", idle_with_duplicates);
    let s = h.state().state();
    assert_eq!(count_files(&copies), 20);
    assert_eq!(
        std::fs::read(&taken).unwrap(),
        b"a new file with the old name",
        "a file that took a name is never replaced"
    );
    assert_eq!(count_files(&xdg.join("Trash/files")), 1);
    let back = s
        .duplicates
        .report
        .iter()
        .filter(|r| r.outcome == Outcome::PutBack)
        .count();
    assert_eq!(back, 19, "{:?}", s.duplicates.report);
    h.get_by_label_contains("19 of 20 photos put back; 1 not touched");
    // The 19 photos are indexed again (the taken name holds a file that is not an image).
    assert_eq!(s.folder.indexed, 22, "errors: {:?}", s.messages.errors());
    // ...from the vectors they had: nothing is embedded again.
    let summary = s.folder.last_summary.as_ref().expect("indexed");
    assert_eq!(
        (summary.embedded, summary.shared + summary.moved),
        (0, 19),
        "{summary:?}"
    );
    assert!(h.query_by_label_contains("Undo: put back").is_none());
}

#[test]
fn a_reference_folder_keeps_its_photos_out_of_every_move() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = duplicates_of_library(tmp.path(), egui::Vec2::new(1200.0, 900.0));
    let copies = tmp.path().join("photos/copies").canonicalize().unwrap();
    click(&mut h, "Keeper rule: most pixels");
    type_and_submit(
        &mut h,
        "Reference folder",
        &copies.display().to_string(),
        "Add",
    );
    run_app_until(&mut h, "the groups found again", |app| {
        idle_with_duplicates(app) && !app.state().duplicates.rule.reference.is_empty()
    });
    h.get_by_label("copies ×");
    let s = h.state().state();
    assert_eq!(s.settings.reference, std::slice::from_ref(&copies));
    // The keeper is now a copy, and the original is the one offered for removal.
    let group = &s.duplicates.groups()[0];
    assert!(
        group.keeper.path.starts_with(&copies),
        "{:?}",
        group.keeper.path
    );
    click(&mut h, "Select all but the keepers");
    let selected: Vec<_> = h
        .state()
        .state()
        .duplicates
        .selected
        .iter()
        .cloned()
        .collect();
    assert_eq!(selected.len(), 1, "{selected:?}");
    assert!(selected[0].ends_with("cat.jpg"));
    // Ticking a photo of the reference folder does nothing.
    click(&mut h, "cat_03.jpg");
    assert_eq!(h.state().state().duplicates.selected.len(), 1);
    // Taken out again, the rule is the usual one.
    click(&mut h, "copies ×");
    run_app_until(&mut h, "the groups found again", idle_with_duplicates);
    assert!(h.state().state().settings.reference.is_empty());
}

#[test]
fn compare_walks_the_group_with_the_arrows_and_ticks_with_delete_and_keep() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = duplicates_of_library(tmp.path(), egui::Vec2::new(1200.0, 900.0));
    click(&mut h, "Compare group 1");
    h.step();
    let shown = |h: &Harness<'static, App>| {
        let (group, member) = h.state().state().duplicates.compared().expect("open");
        (group.keeper.path.clone(), member.path.clone())
    };
    let (keeper, first) = shown(&h);
    assert!(keeper.ends_with("cat.jpg"), "{keeper:?}");
    h.get_by_label("Compared: cat.jpg");
    h.get_by_label(&format!(
        "Compared: {}",
        first.file_name().unwrap().to_string_lossy()
    ));
    h.get_by_label_contains("1 of 20 ·");

    h.key_press(egui::Key::ArrowRight);
    h.step();
    let (_, second) = shown(&h);
    assert_ne!(second, first);
    h.get_by_label_contains("2 of 20 ·");
    // Delete ticks the photo shown and goes on to the next one.
    h.key_press(egui::Key::Delete);
    h.step();
    h.get_by_label_contains("3 of 20 ·");
    assert!(h.state().state().duplicates.is_selected(&second));
    h.key_press(egui::Key::ArrowLeft);
    h.step();
    h.get_by_label_contains("2 of 20 · ");
    h.get_by_label_contains("ticked for removal");
    // K keeps it: the tick goes.
    click(&mut h, "Keep (K)");
    assert!(h.state().state().duplicates.selected.is_empty());
    click(&mut h, "Tick for removal (Delete)");
    assert_eq!(h.state().state().duplicates.selected.len(), 1);
    h.key_press(egui::Key::Escape);
    h.step();
    h.step();
    assert!(h.query_by_label_contains("Compared:").is_none());
    assert!(h.state().state().duplicates.compare.is_none());
    h.get_by_label("Move to trash (1)");
}

#[test]
fn not_duplicates_is_remembered_after_a_restart_and_by_the_cli_until_forgotten() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = duplicates_of_library(tmp.path(), egui::Vec2::new(1200.0, 900.0));
    let groups = |h: &Harness<'static, App>| h.state().state().duplicates.groups().len();
    assert_eq!(groups(&h), 1);
    click(&mut h, "Not duplicates (group 1)");
    run_app_until(&mut h, "the groups found again", idle_with_duplicates);
    assert_eq!(groups(&h), 0);
    h.get_by_label_contains("1 group marked \"not duplicates\" or \"keep all\"");
    drop(h);

    // A new window on the same data: the group is still set apart.
    let photos = tmp.path().join("photos");
    let mut h = app_on(&tmp.path().join("data"), &photos, (1200.0, 900.0));
    h.get_by_label("Duplicates").click();
    run_app_until(&mut h, "the groups", idle_with_duplicates);
    assert_eq!(groups(&h), 0);
    h.get_by_label("No duplicates at this level.");

    // The command line keeps the decision too, and --all shows the group anyway.
    let cli = |all: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_photo-sim"));
        cmd.arg("--data-dir").arg(tmp.path().join("data"));
        cmd.arg("duplicates").arg(&photos).arg("--json");
        if all {
            cmd.arg("--all");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["groups"].as_array().unwrap().len()
    };
    assert_eq!(cli(false), 0);
    assert_eq!(cli(true), 1);

    click(&mut h, "Forget these decisions");
    run_app_until(&mut h, "the groups found again", idle_with_duplicates);
    assert_eq!(groups(&h), 1);
    assert_eq!(cli(false), 1);
}

#[test]
fn the_keeper_rule_chosen_in_the_view_picks_the_oldest_and_is_remembered() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = duplicates_of_library(tmp.path(), egui::Vec2::new(1200.0, 900.0));
    let keeper = |h: &Harness<'static, App>| {
        h.state().state().duplicates.groups()[0]
            .keeper
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string()
    };
    assert_eq!(keeper(&h), "cat.jpg", "most pixels by default");
    // The smallest copy is the oldest file (none has a camera date).
    common::date_file(&tmp.path().join("photos/copies/cat_00.jpg"), 1_000_000_000);
    // Opened again, the folder's index has the new date.
    let before = h.state().state().folder.version;
    h.state_mut()
        .apply(photo_sim_app::state::Action::OpenFolder(
            tmp.path().join("photos"),
        ));
    run_app_until(&mut h, "the rescan", |app| {
        idle_with_duplicates(app) && app.state().folder.version > before
    });
    assert_eq!(keeper(&h), "cat.jpg");
    click(&mut h, "Keeper rule: most pixels");
    click(&mut h, "oldest");
    h.get_by_label("Keeper rule: oldest");
    run_app_until(&mut h, "the groups found again", |app| {
        idle_with_duplicates(app) && app.state().settings.keep == Prefer::Oldest
    });
    assert_eq!(keeper(&h), "cat_00.jpg");
    // Saved in the background.
    let config = Store::under(&tmp.path().join("data")).config_dir;
    run_app_until(&mut h, "the settings saved", |_| {
        photo_sim_app::state::Settings::load(&config).keep == Prefer::Oldest
    });
}

#[test]
fn the_similarity_slider_shows_the_groups_at_its_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = duplicates_of_library(tmp.path(), egui::Vec2::new(1200.0, 900.0));
    let members =
        |h: &Harness<'static, App>| h.state().state().duplicates.groups()[0].members.len();
    assert_eq!(members(&h), 20);
    let least = h.state().state().duplicates.groups()[0]
        .members
        .iter()
        .map(|(_, s)| *s)
        .fold(1.0, f32::min);
    // Just above the least similar copy: that copy leaves the group.
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "at least")
        .set_value_accesskit(f64::from(least) + 0.0001);
    run_app_until(&mut h, "the groups at the slider's threshold", |app| {
        idle_with_duplicates(app) && app.state().duplicates.custom_level.is_some()
    });
    let s = h.state().state();
    assert!(s.duplicates.custom.is_some());
    assert!(members(&h) < 20, "{}", members(&h));
    h.get_by_label_contains(&format!("Group 1 · {} photos", members(&h) + 1));
    // Picking a level again shows that level's groups.
    click(&mut h, "Near-duplicate (1)");
    assert_eq!(members(&h), 20);
}
