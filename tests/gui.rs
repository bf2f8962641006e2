//! The desktop browser, driven headless through egui_kittest: open a folder, drop a photo,
//! pivot, walk the history, and see errors. No GPU or display is needed.

mod common;

use common::{fixture, fixture_image, model, save_jpeg, synthetic, type_and_submit};
use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use photo_sim_app::App;
use photo_sim_engine::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A file "dropped" on the window.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn drop_file(h: &mut Harness<'_, App>, path: &Path) {
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(path.to_path_buf())));
    h.step();
}

/// Steps frames until `done` holds (engine work runs on other threads meanwhile).
fn run_until(h: &mut Harness<'_, App>, what: &str, done: impl Fn(&App) -> bool) -> u32 {
    common::run_until(h, what, 120, done)
}

/// 12 distinct synthetic pictures, the two shipped photos, a resized copy of each, and one
/// file that only pretends to be a JPEG.
/// `n` distinct generated pictures, `synthetic_00.jpg`… in `dir`.
fn synthetic_photos(dir: &Path, n: u64) {
    for seed in 0..n {
        save_jpeg(
            &synthetic(seed, 320, 240),
            &dir.join(format!("synthetic_{seed:02}.jpg")),
            90,
        );
    }
}

fn photo_folder(root: &Path) -> PathBuf {
    let photos = root.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    synthetic_photos(&photos, 12);
    for name in ["cat", "coffee"] {
        std::fs::copy(
            fixture(&format!("{name}.jpg")),
            photos.join(format!("{name}.jpg")),
        )
        .unwrap();
        let img = fixture_image(&format!("{name}.jpg"));
        let small = common::half_size(&img);
        save_jpeg(&small, &photos.join(format!("{name}_small.jpg")), 85);
    }
    std::fs::create_dir_all(photos.join("old")).unwrap();
    std::fs::write(photos.join("old/broken.jpg"), b"this is not a photo").unwrap();
    photos
}

/// The in-app picker, while it is open.
fn picker<'h>(h: &'h Harness<'_, App>) -> Option<&'h photo_sim_app::picker::Picker> {
    h.state().state().dialogs.picker.as_ref()
}

/// Has the open picker show `dir` (where a walk there by keys is not what a test checks).
fn picker_enter(h: &mut Harness<'_, App>, dir: PathBuf) {
    h.state_mut().apply(photo_sim_app::state::Action::Picker(
        photo_sim_app::picker::PickerAction::Enter(dir),
    ));
}

fn harness(store: Store) -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::Vec2::new(1200.0, 800.0))
        .build_eframe(move |cc| App::with_model(&cc.egui_ctx, store, model()))
}

fn query_name(h: &Harness<'_, App>) -> Option<String> {
    h.state().state().search.query().map(common::file_name)
}

fn results_shown(app: &App) -> bool {
    let s = app.state();
    !s.busy() && s.search.current().is_some_and(|c| c.results.is_some())
}

#[test]
fn open_drop_pivot_back_forward() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = photo_folder(tmp.path());
    let store = Store::under(&tmp.path().join("data"));
    let mut h = harness(store.clone());
    h.step();
    h.get_by_label_contains("Open a folder of photos to begin");

    // Open the folder through the path field.
    type_and_submit(&mut h, "Folder path", &photos.display().to_string(), "Open");
    h.step();
    run_until(&mut h, "indexing", |app| {
        let s = app.state();
        s.folder.root.is_some() && !s.folder.is_indexing()
    });
    let s = h.state().state();
    assert_eq!(s.folder.indexed, 16, "errors: {:?}", s.messages.errors());
    assert_eq!(s.folder.skipped.len(), 1);
    assert!(s.messages.errors().is_empty(), "{:?}", s.messages.errors());
    // The skipped file is named with its folder inside the library.
    h.get_by_label("Skipped (1)").click();
    h.step();
    h.step();
    h.get_by_label(&format!("old{}broken.jpg", std::path::MAIN_SEPARATOR));
    h.get_by_label("Skipped (1)").click();
    h.step();
    h.step();
    let errors = h.state().state().messages.errors();
    assert!(errors.is_empty(), "{errors:?}");

    // Drop the cat: it becomes the query, its resized copy is the best match.
    let cat = photos.join("cat.jpg");
    drop_file(&mut h, &cat);
    let frames = run_until(&mut h, "the matches", results_shown);
    assert!(frames < 200, "the grid took {frames} frames");
    h.get_by_label("Query: cat.jpg");
    let results = h.state().state().results().to_vec();
    // The twelve synthetic pictures look alike to the network: they fold into few tiles.
    assert!(results.len() >= 3, "{results:?}");
    assert_eq!(
        results[0].path.file_name().unwrap(),
        "cat_small.jpg",
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|m| m.path != cat.canonicalize().unwrap()));
    for m in &results {
        h.get_by_label(&m.path.file_name().unwrap().to_string_lossy());
    }
    run_until(&mut h, "the thumbnails", App::thumbnails_ready);

    // A typo in "Folder path" is an error; the open folder, its query and matches stay.
    let root = h.state().state().folder.root.clone();
    let typo = format!("{}-typo", photos.display());
    type_and_submit(&mut h, "Folder path", &typo, "Open");
    run_until(&mut h, "the typo's error", |app| {
        !app.state().messages.errors().is_empty()
    });
    let s = h.state().state();
    assert!(
        s.messages.errors()[0].contains("-typo"),
        "{:?}",
        s.messages.errors()
    );
    assert_eq!(s.folder.root, root);
    assert_eq!(s.folder.indexed, 16);
    assert!(!s.results().is_empty());
    h.get_by_label("Query: cat.jpg");

    // Each match says how alike it is in words: the resized copy is the same photo.
    let score = h.get_by_label("cat_small.jpg").value().unwrap_or_default();
    assert!(score.starts_with("same photo · 0.9"), "{score}");
    let last = results
        .last()
        .unwrap()
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let weakest = h.get_by_label(&last).value().unwrap_or_default();
    assert!(!weakest.starts_with("same photo"), "{weakest}");

    // Click a match: it becomes the query, and "Photo path" follows it.
    h.get_by_label("cat_small.jpg").click();
    h.step();
    run_until(&mut h, "the pivot", results_shown);
    assert_eq!(query_name(&h).as_deref(), Some("cat_small.jpg"));
    h.get_by_label("Query: cat_small.jpg");
    let field = h.get_by_label("Photo path").value().unwrap_or_default();
    assert!(field.ends_with("cat_small.jpg"), "{field}");
    assert_eq!(
        h.state().state().results()[0].path.file_name().unwrap(),
        "cat.jpg"
    );

    // Back, then forward (button and Alt+arrow).
    h.get_by_label("Back").click();
    h.step();
    run_until(&mut h, "back", results_shown);
    h.get_by_label("Query: cat.jpg");
    assert_eq!(h.state().state().results(), &results[..]);
    h.get_by_label("Forward").click();
    h.step();
    run_until(&mut h, "forward", results_shown);
    h.get_by_label("Query: cat_small.jpg");
    h.key_press_modifiers(egui::Modifiers::ALT, egui::Key::ArrowLeft);
    h.step();
    run_until(&mut h, "alt+left", results_shown);
    h.get_by_label("Query: cat.jpg");

    // Arrow keys move the selection; Enter pivots to it.
    h.key_press(egui::Key::ArrowRight);
    h.key_press(egui::Key::ArrowRight);
    h.step();
    assert_eq!(h.state().state().search.selection, Some(1));
    let second = results[1]
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // Space previews the selected match large, over the grid; Esc closes it.
    h.key_press(egui::Key::Space);
    h.step();
    h.step();
    h.get_by_label(&format!("Preview of {second}"));
    h.key_press(egui::Key::Escape);
    h.step();
    h.step();
    assert!(h.query_by_label(&format!("Preview of {second}")).is_none());
    assert_eq!(
        h.state().state().search.selection,
        Some(1),
        "the grid is as it was"
    );
    h.key_press(egui::Key::Enter);
    h.step();
    run_until(&mut h, "enter", results_shown);
    assert_eq!(query_name(&h), Some(second.clone()));
    assert!(
        !h.state().state().search.can_go_forward(),
        "a new query drops the forward steps"
    );

    // A path pasted with no text field focused becomes the query.
    h.event(egui::Event::Paste(
        photos.join("coffee.jpg").display().to_string(),
    ));
    h.step();
    run_until(&mut h, "the paste", results_shown);
    h.get_by_label("Query: coffee.jpg");
    let second = "coffee.jpg".to_owned();

    // A file that is not a photo: a visible error, and the query stays.
    let notes = tmp.path().join("notes.txt");
    std::fs::write(&notes, "shopping list").unwrap();
    drop_file(&mut h, &notes);
    run_until(&mut h, "the error", |app| {
        !app.state().messages.errors().is_empty()
    });
    h.get_by_label_contains("not an image");
    assert_eq!(query_name(&h), Some(second));
    drop(h);

    // The folder is remembered, and reopening it embeds nothing.
    let mut h = harness(store);
    run_until(&mut h, "reopening", |app| {
        let s = app.state();
        s.folder.root.is_some() && !s.folder.is_indexing()
    });
    let s = h.state().state();
    assert_eq!(
        s.folder.root.as_deref(),
        Some(photos.canonicalize().unwrap().as_path())
    );
    let summary = s.folder.last_summary.as_ref().unwrap();
    assert_eq!((summary.embedded, summary.reused), (0, 16));
}

#[test]
fn a_non_image_drop_shows_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness(Store::under(&tmp.path().join("data")));
    h.step();
    let notes = tmp.path().join("notes.jpg");
    std::fs::write(&notes, "not a picture at all").unwrap();
    // A file dragged over the window shows where to drop it.
    assert!(h
        .query_by_label("Drop a photo to find the ones like it")
        .is_none());
    h.input_mut().hovered_files.push(egui::HoveredFile {
        path: Some(notes.clone()),
        ..Default::default()
    });
    // (An area is laid out invisibly on its first frame.)
    h.step();
    h.step();
    h.get_by_label("Drop a photo to find the ones like it");
    h.input_mut().hovered_files.clear();
    drop_file(&mut h, &notes);
    run_until(&mut h, "the error", |app| {
        !app.state().messages.errors().is_empty()
    });
    h.get_by_label_contains("not an image");
    assert!(h.state().state().search.query().is_none());
    // Still the empty state, which tells what to do.
    h.get_by_label_contains("Open a folder of photos to begin");
    h.get_by_label("Dismiss").click();
    h.step();
    h.step();
    assert!(h.state().state().messages.errors().is_empty());
}

fn indexed(app: &App) -> bool {
    let s = app.state();
    s.folder.root.is_some() && !s.folder.is_indexing()
}

#[test]
fn the_count_and_the_matches_follow_photos_another_process_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    synthetic_photos(&photos, 6);
    std::fs::copy(fixture("cat.jpg"), photos.join("cat.jpg")).unwrap();
    let data = tmp.path().join("data");
    let mut h = harness(Store::under(&data));
    h.state_mut()
        .apply(photo_sim_app::state::Action::OpenFolder(photos.clone()));
    run_until(&mut h, "indexing", indexed);
    h.get_by_label("7 photos indexed");
    drop_file(&mut h, &photos.join("cat.jpg"));
    run_until(&mut h, "the matches", results_shown);

    // A resized copy of the cat, indexed by `photo-sim index` while the window stays open.
    let img = fixture_image("cat.jpg");
    let small = common::half_size(&img);
    save_jpeg(&small, &photos.join("cat_small.jpg"), 85);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_photo-sim"))
        .env("PHOTO_SIM_DATA_DIR", &data)
        .arg("index")
        .arg(&photos)
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out);

    common::run_until(&mut h, "the count to follow", 30, |app| {
        app.state().folder.indexed == 8
    });
    h.get_by_label("8 photos indexed");
    common::run_until(&mut h, "the matches to follow", 30, |app| {
        results_shown(app)
            && app
                .state()
                .results()
                .first()
                .is_some_and(|m| m.path.ends_with("cat_small.jpg"))
    });
}

#[test]
fn an_emptied_folder_keeps_its_index_until_the_person_removes_the_missing_photos() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = photo_folder(tmp.path());
    let store = Store::under(&tmp.path().join("data"));
    let mut h = harness(store.clone());
    h.state_mut()
        .apply(photo_sim_app::state::Action::OpenFolder(photos.clone()));
    run_until(&mut h, "indexing", indexed);
    assert_eq!(h.state().state().folder.indexed, 16);
    drop(h);

    // The folder is now empty, as an unmounted drive's mount point is.
    let away = tmp.path().join("away");
    std::fs::rename(&photos, &away).unwrap();
    std::fs::create_dir(&photos).unwrap();
    let mut h = harness(store);
    run_until(&mut h, "reopening", indexed);
    assert_eq!(h.state().state().folder.indexed, 16, "kept");
    h.get_by_label_contains("empty or not mounted");
    h.get_by_label("Remove the 16 missing photos").click();
    h.step();
    run_until(&mut h, "pruning", |app| {
        indexed(app) && app.state().folder.last_summary.is_some()
    });
    assert_eq!(h.state().state().folder.indexed, 0);
    assert!(h.query_by_label("Remove the 16 missing photos").is_none());
}

#[test]
fn the_toolbar_fits_a_640_by_480_window() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::under(&tmp.path().join("data"));
    let mut h = Harness::builder()
        .with_size(egui::Vec2::new(640.0, 480.0))
        .build_eframe(move |cc| App::with_model(&cc.egui_ctx, store, model()));
    h.step();
    h.step();
    for label in [
        "Search",
        "Duplicates",
        "Open folder…",
        "Folder path",
        "Choose photo…",
        "Photo path",
    ] {
        let rect = h.get_all_by_label(label).next().unwrap().rect();
        assert!(
            rect.max.x <= 640.0 && rect.max.y <= 480.0,
            "{label} is cut off at {rect:?}"
        );
    }
}

/// A burst of five frames of the cat (edited copies), the coffee and its copy, and four other
/// pictures, in two sub-folders.
fn burst_folder(root: &Path) -> PathBuf {
    let photos = root.join("burst");
    let (a, b) = (photos.join("a"), photos.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let cat = fixture_image("cat.jpg");
    save_jpeg(&cat, &a.join("cat_0.jpg"), 92);
    for k in 0..4 {
        save_jpeg(
            &common::variant(&cat, k),
            &a.join(format!("cat_{}.jpg", k + 1)),
            85,
        );
    }
    std::fs::copy(fixture("coffee.jpg"), a.join("coffee.jpg")).unwrap();
    let coffee = fixture_image("coffee.jpg");
    save_jpeg(&common::variant(&coffee, 0), &b.join("coffee_copy.jpg"), 85);
    for seed in 0..4 {
        save_jpeg(
            &synthetic(seed, 320, 240),
            &b.join(format!("synthetic_{seed}.jpg")),
            90,
        );
    }
    photos
}

/// The app (fresh data) with [`burst_folder`] open, indexed, and `query` (a path inside it)
/// dropped and answered.
fn searching_burst_folder(root: &Path, query: &str) -> (PathBuf, Store, Harness<'static, App>) {
    let photos = burst_folder(root);
    let store = Store::under(&root.join("data"));
    let mut h = harness(store.clone());
    type_and_submit(&mut h, "Folder path", &photos.display().to_string(), "Open");
    run_until(&mut h, "indexing", indexed);
    drop_file(&mut h, &photos.join(query));
    run_until(&mut h, "the matches", results_shown);
    (photos, store, h)
}

fn cell_index(h: &Harness<'_, App>, name: &str) -> usize {
    h.state()
        .state()
        .cells()
        .iter()
        .position(|c| c.m.path.file_name().unwrap() == name)
        .unwrap_or_else(|| panic!("{name} is not in the grid"))
}

#[test]
fn a_burst_is_one_tile_whose_badge_shows_its_frames_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, mut h) = searching_burst_folder(tmp.path(), "a/coffee.jpg");

    // Five frames of one shot: one tile, "×5", so the grid shows different things (the four
    // synthetic pictures, alike to the network, are one tile too).
    let tiles = h.state().state().search.tiles().to_vec();
    let names: Vec<String> = tiles
        .iter()
        .map(|t| {
            t.best
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(tiles.len(), 3, "{names:?}");
    assert_eq!(names[0], "coffee_copy.jpg");
    let burst = tiles.iter().find(|t| t.count() == 5).expect("a ×5 tile");
    let best = burst
        .best
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(best.starts_with("cat_"), "{best}");
    assert!(burst
        .also
        .iter()
        .all(|m| m.similarity <= burst.best.similarity));
    assert_eq!(names.iter().filter(|n| n.starts_with("cat_")).count(), 1);

    // Its badge shows the other four frames in place, right after it; again hides them.
    h.get_by_label("×5").click();
    h.step();
    h.step();
    let cells = h.state().state().cells();
    assert_eq!(cells.len(), 7);
    let at = cell_index(&h, &best);
    assert!(cells[at].expanded);
    assert!(cells[at + 1..at + 5].iter().all(|c| c.member));
    for c in &cells[at + 1..at + 5] {
        h.get_by_label(&c.m.path.file_name().unwrap().to_string_lossy());
    }
    h.get_by_label("×5").click();
    h.step();
    h.step();
    assert_eq!(h.state().state().cells().len(), 3);

    // "Show weaker matches" off: only the coffee's copy is left; the cat and the synthetic
    // pictures have nothing to do with a coffee.
    h.get_by_label("Show weaker matches").click();
    h.step();
    h.step();
    let cells = h.state().state().cells();
    assert_eq!(cells.len(), 1, "{cells:?}");
    h.get_by_label("coffee_copy.jpg");
    assert!(h.query_by_label("×5").is_none());
}

#[test]
fn more_and_less_like_this_scope_and_size_refine_the_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let (photos, store, mut h) = searching_burst_folder(tmp.path(), "b/synthetic_0.jpg");
    let before = h.state().state().results();

    // Right-click a match, "Less like this": it leaves the grid and shows as a chip.
    let rejected = before[0]
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    h.get_by_label(&rejected).click_secondary();
    h.step();
    h.step();
    h.get_by_label("Less like this").click();
    h.step();
    run_until(&mut h, "less like", results_shown);
    let s = h.state().state();
    assert_eq!(s.search.current().unwrap().less.len(), 1);
    assert!(s.results().iter().all(|m| m.path != before[0].path));
    h.get_by_label("Less like:");
    let chip = format!("{rejected} ×");
    h.get_by_label(&chip);
    assert!(
        s.search.can_go_back(),
        "the refined query is a step of the history"
    );

    // "More like this" on the coffee (its copy may be folded into its tile): the other coffee
    // photo climbs to the top.
    let coffee = h
        .state()
        .state()
        .results()
        .into_iter()
        .find(|m| {
            m.path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("coffee")
        })
        .expect("a coffee in the grid");
    let coffee_name = coffee
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    h.get_by_label(&coffee_name).click_secondary();
    h.step();
    h.step();
    h.get_by_label("More like this").click();
    h.step();
    run_until(&mut h, "more like", results_shown);
    let s = h.state().state();
    assert_eq!(
        s.search.current().unwrap().more,
        std::slice::from_ref(&coffee.path)
    );
    let top = s.results()[0].path.clone();
    assert!(
        top != coffee.path
            && top
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("coffee"),
        "{:?}",
        s.results()
    );
    h.get_by_label("More like:");
    h.get_by_label(&format!("{coffee_name} ×"));

    // The chip takes the example out again.
    h.get_by_label(&chip).click();
    h.step();
    run_until(&mut h, "chip removed", results_shown);
    assert!(h.state().state().search.current().unwrap().less.is_empty());
    assert!(h.query_by_label(&chip).is_none());

    // "Only in this folder": every match is in b/; "Not in this folder": none is.
    let b = photos.join("b").canonicalize().unwrap();
    for (choice, inside) in [("Only in this folder", true), ("Not in this folder", false)] {
        h.get_by_role(egui::accesskit::Role::ComboBox).click();
        h.step();
        h.step();
        h.get_by_label(choice).click();
        h.step();
        run_until(&mut h, choice, results_shown);
        let results = h.state().state().results();
        assert!(!results.is_empty(), "{choice}");
        assert!(
            results.iter().all(|m| m.path.starts_with(&b) == inside),
            "{choice}: {results:?}"
        );
    }

    // Thumbnail size: Larger and Ctrl+plus make the tiles bigger, Smaller and Ctrl+minus make
    // them smaller, and the grid fills its width at every size; the size is remembered.
    let side = |h: &Harness<'_, App>| {
        let first = common::file_name(&h.state().state().results()[0].path);
        h.get_by_label(&first).rect().width()
    };
    let fills_the_width = |h: &Harness<'_, App>| {
        let right = h
            .state()
            .state()
            .results()
            .iter()
            .filter_map(|m| {
                let name = common::file_name(&m.path);
                h.query_by_label(&name).map(|n| n.rect().max.x)
            })
            .fold(0.0, f32::max);
        assert!(right > 1200.0 - 40.0, "the grid ends at {right} of 1200");
    };
    h.get_by_role(egui::accesskit::Role::ComboBox).click();
    h.step();
    h.step();
    h.get_by_label("Everywhere").click();
    h.step();
    run_until(&mut h, "everywhere", results_shown);
    // Until a size is chosen, the first ten fill the window's height, 5×2.
    let fit = side(&h);
    let zoom = |h: &mut Harness<'_, App>, key: egui::Key| {
        h.key_press_modifiers(egui::Modifiers::COMMAND, key);
        h.step();
        h.step();
    };
    h.get_by_label("Larger").click();
    h.step();
    h.step();
    let larger = side(&h);
    assert!(larger > fit * 1.1, "Larger: {fit} → {larger}");
    zoom(&mut h, egui::Key::Plus);
    let largest = side(&h);
    assert!(largest > larger * 1.1, "Ctrl+plus: {larger} → {largest}");
    fills_the_width(&h);
    for _ in 0..4 {
        zoom(&mut h, egui::Key::Minus);
    }
    let small = side(&h);
    assert!(small < fit * 0.9, "Ctrl+minus: {fit} → {small}");
    h.get_by_label("Smaller").click();
    h.step();
    h.step();
    let smaller = side(&h);
    assert!(smaller < small * 0.95, "Smaller: {small} → {smaller}");
    let tile = h.state().state().settings.tile;
    assert!(tile.is_some());
    let history_len = h.state().state().search.history.len();
    drop(h);

    // A restart brings back the folder, the query, its history and the thumbnail size.
    let mut h = harness(store);
    run_until(&mut h, "reopening", |app| {
        indexed(app) && results_shown(app)
    });
    let s = h.state().state();
    assert_eq!(s.settings.tile, tile);
    assert_eq!(s.search.history.len(), history_len);
    assert_eq!(
        s.search.query().unwrap().file_name().unwrap(),
        "synthetic_0.jpg"
    );
    assert!(s.search.can_go_back());
    h.get_by_label("Query: synthetic_0.jpg");
}

#[test]
fn a_hover_card_says_where_when_and_how_big() {
    let tmp = tempfile::tempdir().unwrap();
    let (photos, _, mut h) = searching_burst_folder(tmp.path(), "a/coffee.jpg");
    // The query pane says the query's date and size in readable text.
    let dates = |h: &Harness<'_, App>| h.query_all_by_label_contains("File date ").count();
    assert_eq!(dates(&h), 1);
    h.get_by_label_contains("px, ");
    // Hovering a match shows its card: folder in the library, date, pixels and bytes.
    h.get_by_label("coffee_copy.jpg").hover();
    // Tooltips wait for the pointer to rest.
    for _ in 0..30 {
        h.step();
        std::thread::sleep(Duration::from_millis(30));
    }
    h.get_by_label("In b");
    assert_eq!(dates(&h), 2);
    let (w, hgt) = image::image_dimensions(photos.join("b/coffee_copy.jpg")).unwrap();
    let kb = std::fs::metadata(photos.join("b/coffee_copy.jpg"))
        .unwrap()
        .len() as f64
        / 1e3;
    let card = format!("{w} × {hgt} px, {kb:.0} KB");
    h.get_by_label(&card);
}

#[test]
fn without_a_desktop_dialog_the_in_app_picker_opens_a_folder() {
    // No session bus: the desktop's folder dialog cannot be shown, as on a bare X server.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let tmp = tempfile::tempdir().unwrap();
    let photos = burst_folder(tmp.path());
    let store = Store::under(&tmp.path().join("data"));
    let mut h = harness(store);
    h.step();
    h.get_by_label("Open folder…").click();
    h.step();
    run_until(&mut h, "the in-app picker", |app| {
        app.state().dialogs.picker.is_some()
    });
    h.get_by_label("Choose a folder of photos");
    // Walk to the photos: up from wherever it starts is not needed, type-free clicks only.
    let start = picker(&h).unwrap().dir.clone();
    assert!(start.is_dir(), "{start:?}");
    picker_enter(&mut h, tmp.path().to_path_buf());
    h.step();
    h.get_by_label("burst/").click();
    h.step();
    h.step();
    h.get_by_label("a/");
    h.get_by_label("Choose this folder").click();
    h.step();
    run_until(&mut h, "indexing", indexed);
    assert!(picker(&h).is_none());
    assert_eq!(
        h.state().state().folder.root.as_deref(),
        Some(photos.canonicalize().unwrap().as_path())
    );
    assert_eq!(h.state().state().folder.indexed, 11);
}

#[test]
fn a_raw_beside_its_jpeg_is_one_tile_and_a_byte_copy_says_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("shots");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::copy(fixture("coffee.jpg"), photos.join("coffee.jpg")).unwrap();
    std::fs::copy(fixture("coffee.jpg"), photos.join("coffee (1).jpg")).unwrap();
    let cat = std::fs::read(fixture("cat.jpg")).unwrap();
    std::fs::write(photos.join("IMG_0001.JPG"), &cat).unwrap();
    std::fs::write(
        photos.join("IMG_0001.DNG"),
        photo_sim_engine::decode::wrap_in_dng(&cat, 1),
    )
    .unwrap();
    for seed in 0..3 {
        save_jpeg(
            &synthetic(seed, 320, 240),
            &photos.join(format!("synthetic_{seed}.jpg")),
            90,
        );
    }
    let mut h = harness(Store::under(&tmp.path().join("data")));
    type_and_submit(&mut h, "Folder path", &photos.display().to_string(), "Open");
    run_until(&mut h, "indexing", indexed);
    drop_file(&mut h, &photos.join("coffee.jpg"));
    run_until(&mut h, "the matches", results_shown);

    // The byte-for-byte copy says so, in its score line (a screen reader hears it too).
    let copy = h.get_by_label("coffee (1).jpg");
    let value = copy.value().unwrap_or_default();
    assert!(value.starts_with("Identical copy"), "{value}");

    // The RAW and the JPEG of one shot are one tile, badged "JPG+RAW"; the badge shows both.
    let cells = h.state().state().cells();
    let shots: Vec<_> = cells
        .iter()
        .filter(|c| c.m.path.file_stem().unwrap() == "IMG_0001")
        .collect();
    assert_eq!(shots.len(), 1, "{cells:?}");
    h.get_by_label("JPG+RAW").click();
    h.step();
    h.step();
    h.get_by_label("IMG_0001.JPG");
    h.get_by_label("IMG_0001.DNG");
}

#[test]
fn the_in_app_picker_is_used_from_the_keyboard() {
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let tmp = tempfile::tempdir().unwrap();
    let photos = burst_folder(tmp.path());
    std::fs::create_dir_all(tmp.path().join("another")).unwrap();
    let store = Store::under(&tmp.path().join("data"));
    let mut h = harness(store);
    h.step();
    let picker_dir = |h: &Harness<'_, App>| picker(h).map(|p| p.dir.clone());
    let open_picker = |h: &mut Harness<'_, App>| {
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
        h.step();
        run_until(h, "the in-app picker", |app| {
            app.state().dialogs.picker.is_some()
        });
        // A new window is laid out unseen on its first frame.
        h.step();
        h.step();
    };
    let key = |h: &mut Harness<'_, App>, key: egui::Key| {
        h.key_press(key);
        h.step();
        h.step();
    };
    open_picker(&mut h);
    // A typed path (in place of the one shown), then Enter, goes there.
    h.get_by_label("Path").focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.step();
    h.get_by_label("Path")
        .type_text(&tmp.path().display().to_string());
    h.step();
    key(&mut h, egui::Key::Enter);
    assert_eq!(picker_dir(&h), Some(tmp.path().to_path_buf()));
    // A letter jumps to the first entry starting with it, Enter enters it, Backspace goes up.
    h.input_mut().events.push(egui::Event::Text("b".into()));
    h.step();
    h.step();
    let p = picker(&h).unwrap().clone();
    let selected = p.selected;
    assert_eq!(
        selected.and_then(|i| p.entries().nth(i).cloned()),
        Some(photos.clone()),
        "{p:?}"
    );
    key(&mut h, egui::Key::Enter);
    assert_eq!(picker_dir(&h), Some(photos.clone()));
    key(&mut h, egui::Key::Backspace);
    assert_eq!(picker_dir(&h), Some(tmp.path().to_path_buf()));
    // Nothing else heard those keys: no Back, no query.
    assert!(h.state().state().search.query().is_none());
    // Esc closes it, and nothing opens.
    key(&mut h, egui::Key::Escape);
    assert!(picker_dir(&h).is_none());
    assert!(h.state().state().folder.root.is_none());

    // Again: ↓ to the burst folder, Enter into it, Enter on nothing chooses it.
    open_picker(&mut h);
    picker_enter(&mut h, tmp.path().to_path_buf());
    h.step();
    let entries: Vec<_> = picker(&h).unwrap().entries().cloned().collect();
    let at = entries.iter().position(|e| *e == photos).unwrap();
    for _ in 0..=at {
        key(&mut h, egui::Key::ArrowDown);
    }
    key(&mut h, egui::Key::Enter);
    assert_eq!(picker_dir(&h), Some(photos.clone()));
    key(&mut h, egui::Key::Enter);
    run_until(&mut h, "indexing", indexed);
    let root = photos.canonicalize().unwrap();
    assert_eq!(
        h.state().state().folder.root.as_deref(),
        Some(root.as_path())
    );

    // The open library is one click away the next time.
    open_picker(&mut h);
    picker_enter(&mut h, tmp.path().join("another"));
    h.step();
    h.step();
    h.get_by_role_and_label(egui::accesskit::Role::Button, "burst")
        .click();
    h.step();
    h.step();
    assert_eq!(picker_dir(&h), Some(root));
    key(&mut h, egui::Key::Escape);
    assert!(picker_dir(&h).is_none());
}

#[test]
fn the_in_app_picker_shows_a_folder_s_photos_and_makes_a_new_folder() {
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let tmp = tempfile::tempdir().unwrap();
    let pics = tmp.path().join("pics");
    std::fs::create_dir_all(&pics).unwrap();
    for name in ["cat.jpg", "coffee.jpg"] {
        std::fs::copy(fixture(name), pics.join(name)).unwrap();
    }
    std::fs::create_dir_all(pics.join("b_album")).unwrap();
    let mut h = harness(Store::under(&tmp.path().join("data")));
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.step();
    run_until(&mut h, "the in-app picker", |app| {
        app.state().dialogs.picker.is_some()
    });
    picker_enter(&mut h, pics.clone());
    for _ in 0..4 {
        h.step();
    }
    // A folder picker lists no photos, but shows them: is this the right folder?
    h.get_by_label("2 photos in this folder");
    h.get_by_label("Thumbnail of cat.jpg");
    h.get_by_label("Thumbnail of coffee.jpg");
    assert!(h.query_by_label("cat.jpg").is_none());

    h.get_by_label("New folder").focus();
    h.step();
    // Typed letters are the name, not type-ahead; Enter creates the folder.
    h.get_by_label("New folder").type_text("bkeepers");
    h.step();
    assert_eq!(picker(&h).unwrap().selected, None);
    h.key_press(egui::Key::Enter);
    h.step();
    h.step();
    assert!(pics.join("bkeepers").is_dir());
    h.get_by_label("bkeepers/");
    // The new folder has the keyboard: Enter goes into it.
    h.key_press(egui::Key::Enter);
    h.step();
    h.step();
    let dir = picker(&h).map(|p| p.dir.clone());
    assert_eq!(dir, Some(pics.join("bkeepers")));
}
