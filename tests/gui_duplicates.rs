//! The Duplicates view, driven headless through egui_kittest by its labels: find the groups,
//! select all but the keepers, move to a test trash (a temporary XDG data dir) and to a folder
//! it offers to create, see a file changed since indexing left alone, and the index and both
//! views update.
//!
//! One test in its own binary: it sets `XDG_DATA_HOME` for the whole process, so the desktop's
//! real trash is never touched.

mod common;

use common::{
    click, fixture_image, idle_with_duplicates, run_app_until, save_jpeg, synthetic,
    type_and_submit,
};
use egui_kittest::kittest::Queryable;
use photo_sim_app::state::View;
use std::path::{Path, PathBuf};

/// Two photos with two copies each (smaller; re-compressed) and four unrelated pictures.
fn library(dir: &Path) {
    std::fs::create_dir_all(dir.join("copies")).unwrap();
    for name in ["cat", "coffee"] {
        let img = fixture_image(&format!("{name}.jpg"));
        save_jpeg(&img, &dir.join(format!("{name}.jpg")), 92);
        let small = common::half_size(&img);
        save_jpeg(
            &small,
            &dir.join("copies").join(format!("{name}_small.jpg")),
            88,
        );
        save_jpeg(
            &img,
            &dir.join("copies").join(format!("{name}_whatsapp.jpg")),
            45,
        );
    }
    for seed in 0..4 {
        save_jpeg(
            &synthetic(seed * 11 + 3, 320, 240),
            &dir.join(format!("other{seed}.jpg")),
            90,
        );
    }
}

fn names(paths: impl IntoIterator<Item = PathBuf>) -> Vec<String> {
    let mut v: Vec<String> = paths.into_iter().map(|p| common::file_name(&p)).collect();
    v.sort();
    v
}

#[test]
fn select_trash_move_and_the_index_follows() {
    let tmp = tempfile::tempdir().unwrap();
    let xdg = tmp.path().join("xdg-data");
    std::fs::create_dir_all(&xdg).unwrap();
    std::env::set_var("XDG_DATA_HOME", &xdg);
    let photos = tmp.path().join("photos");
    library(&photos);
    let mut h = common::app_on(&tmp.path().join("data"), &photos, (1200.0, 900.0));
    assert_eq!(h.state().state().folder.indexed, 10);

    // The Duplicates view finds the two families at the "same photo" level.
    h.get_by_label("Duplicates").click();
    run_app_until(&mut h, "the groups", idle_with_duplicates);
    click(&mut h, "Same photo (2)");
    h.get_by_label_contains("2 groups, 6 photos");
    let groups = h.state().state().duplicates.groups().to_vec();
    assert_eq!(groups.len(), 2);
    for g in &groups {
        // The keeper is the full-size, better-quality original.
        let keeper = g.keeper.path.file_name().unwrap().to_string_lossy();
        assert!(keeper == "cat.jpg" || keeper == "coffee.jpg", "{keeper}");
    }

    // Select all but the keepers, then deselect one copy by its checkbox.
    click(&mut h, "Select all but the keepers");
    assert_eq!(
        names(h.state().state().duplicates.selected.iter().cloned()),
        [
            "cat_small.jpg",
            "cat_whatsapp.jpg",
            "coffee_small.jpg",
            "coffee_whatsapp.jpg"
        ]
    );
    click(&mut h, "coffee_small.jpg");
    assert_eq!(h.state().state().duplicates.selected.len(), 3);

    // A file changed since it was indexed is not touched.
    let changed = photos.join("copies/cat_whatsapp.jpg");
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes.extend_from_slice(b"edited");
    std::fs::write(&changed, &bytes).unwrap();

    h.get_by_label("Move to trash (3)").click();
    run_app_until(&mut h, "the move and the new index", idle_with_duplicates);
    let s = h.state().state();
    let report: Vec<(String, bool)> = s
        .duplicates
        .report
        .iter()
        .map(|r| (common::file_name(&r.path), r.outcome.moved()))
        .collect();
    assert_eq!(report.iter().filter(|r| r.1).count(), 2, "{report:?}");
    assert!(report.contains(&("cat_whatsapp.jpg".into(), false)));
    h.get_by_label_contains("2 of 3 photos moved; 1 not touched");
    assert!(changed.exists(), "the changed file stays");
    // Into the test trash, with the information to restore them.
    let trashed = names(
        std::fs::read_dir(xdg.join("Trash/files"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    assert_eq!(trashed, ["cat_small.jpg", "coffee_whatsapp.jpg"]);
    assert_eq!(
        std::fs::read_dir(xdg.join("Trash/info")).unwrap().count(),
        2
    );
    // The index forgot them; the groups were found again without them.
    assert_eq!(s.folder.indexed, 8, "errors: {:?}", s.messages.errors());
    assert_eq!(s.duplicates.groups().len(), 2);
    assert!(
        s.duplicates.selected.is_empty()
            || names(s.duplicates.selected.iter().cloned()) == ["cat_whatsapp.jpg"]
    );

    // With nothing ticked, a move says so.
    click(&mut h, "Clear selection");
    let elsewhere = tmp.path().join("elsewhere");
    type_and_submit(&mut h, "Move to", &elsewhere.display().to_string(), "Move");
    // The messages show in a window of their own, laid out unseen on its first frame.
    for _ in 0..3 {
        h.step();
    }
    h.get_by_label_contains("Nothing is ticked");
    assert!(!elsewhere.exists());

    // Move the remaining coffee copy into another folder, typed in "Move to": it does not
    // exist yet, and the app offers to create it.
    click(&mut h, "coffee_small.jpg");
    assert!(h.query_by_label_contains("Nothing is ticked").is_none());
    // "Move to" still holds the folder typed before.
    click(&mut h, "Move");
    run_app_until(&mut h, "the folder checked", |app| {
        app.state().duplicates.confirm.is_some()
    });
    assert!(
        h.state()
            .state()
            .duplicates
            .confirm
            .as_ref()
            .unwrap()
            .create
    );
    h.step();
    h.step();
    click(&mut h, "Create the folder and move 1 photo");
    run_app_until(&mut h, "the move to a folder", idle_with_duplicates);
    assert!(elsewhere.join("coffee_small.jpg").exists());
    assert!(!photos.join("copies/coffee_small.jpg").exists());
    let s = h.state().state();
    assert_eq!(s.folder.indexed, 7);
    // Coffee has no copy left in the folder: only the cat's group remains.
    assert_eq!(s.duplicates.groups().len(), 1);

    // Clicking a photo of a group searches with it, in the search view.
    h.get_by_label("Search with cat.jpg").click();
    run_app_until(&mut h, "the search", |app| {
        let s = app.state();
        s.view == View::Search && s.search.current().is_some_and(|c| c.results.is_some())
    });
    h.get_by_label("Query: cat.jpg");
    let results = h.state().state().results().to_vec();
    assert_eq!(
        results[0].path.file_name().unwrap(),
        "cat_whatsapp.jpg",
        "{results:?}"
    );
    assert!(
        results.iter().all(|m| m.path.exists()),
        "no moved photo is offered as a match"
    );
}
