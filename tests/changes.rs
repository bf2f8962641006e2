//! Files that changed without their size and date saying so, and failures whose cause went
//! away: an index never keeps a vector for a file that now holds another photo, and never
//! remembers as final a failure the person can mend.

mod common;

use common::{synthetic, Sandbox};
use photo_sim_engine::index::format::{self, Failed};
use photo_sim_engine::index::Fingerprint;
use photo_sim_engine::{CancelToken, Library, Summary, UpdateOptions};
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

fn update(lib: &Library) -> Summary {
    lib.update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap()
}

/// The stored vector of `name` in the index (not embedded again).
fn stored(lib: &Library, name: &str) -> Vec<f32> {
    let path = lib.root().join(name);
    lib.vectors()
        .into_iter()
        .find(|(p, _)| *p == path)
        .unwrap_or_else(|| panic!("{name} is not indexed"))
        .1
}

/// Writes `seed`'s picture as an uncompressed BMP (every one of the same size) dated `date`.
fn write_dated(path: &Path, seed: u64, date: SystemTime) {
    synthetic(seed, 320, 240).save(path).unwrap();
    set_date(path, date);
}

fn set_date(path: &Path, date: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(date)
        .unwrap();
}

fn a_day() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000)
}

#[test]
fn two_photos_of_the_same_size_and_date_that_swap_names_swap_vectors() {
    let sb = Sandbox::new();
    let p = sb.photos();
    write_dated(&p.join("a.bmp"), 1, a_day());
    write_dated(&p.join("b.bmp"), 2, a_day());
    write_dated(&p.join("c.bmp"), 3, a_day());
    let (lib, _) = sb.index();
    let (va, vb) = (stored(&lib, "a.bmp"), stored(&lib, "b.bmp"));
    assert_ne!(va, vb);

    // mv a t; mv b a; mv t b
    fs::rename(p.join("a.bmp"), p.join("t.bmp")).unwrap();
    fs::rename(p.join("b.bmp"), p.join("a.bmp")).unwrap();
    fs::rename(p.join("t.bmp"), p.join("b.bmp")).unwrap();
    let s = update(&lib);
    assert_eq!(stored(&lib, "a.bmp"), vb, "a.bmp now holds b's photo");
    assert_eq!(stored(&lib, "b.bmp"), va, "b.bmp now holds a's photo");
    assert_eq!(s.embedded, 0, "each content was known: nothing embedded");
    assert_eq!(s.reused, 1, "c.bmp");

    // A search for a's photo finds the file that holds it now.
    let first = &lib.search(&p.join("b.bmp"), 1).unwrap()[0];
    assert_eq!(first.path, p.join("b.bmp"));
}

#[test]
fn a_rewrite_of_the_same_size_with_its_date_set_back_is_embedded_again() {
    let sb = Sandbox::new();
    let p = sb.photos();
    write_dated(&p.join("a.bmp"), 1, a_day());
    write_dated(&p.join("keep.bmp"), 2, a_day());
    let (lib, _) = sb.index();
    let before = stored(&lib, "a.bmp");

    // Another picture written into the same file, its date put back (`touch -r`).
    std::thread::sleep(Duration::from_millis(20));
    synthetic(7, 320, 240).save(p.join("a.bmp")).unwrap();
    set_date(&p.join("a.bmp"), a_day());
    let s = update(&lib);
    assert_eq!((s.embedded, s.reused), (1, 1));
    assert_ne!(stored(&lib, "a.bmp"), before);

    // Only the mode changed: the content is checked and the vector kept.
    let mode = fs::metadata(p.join("keep.bmp")).unwrap().permissions();
    std::thread::sleep(Duration::from_millis(20));
    fs::set_permissions(p.join("keep.bmp"), mode).unwrap();
    let s = update(&lib);
    assert_eq!((s.embedded, s.reused), (0, 2));
}

/// Puts a failure on record for `name` as an earlier run would have, lasting or not.
fn record_failure(lib: &Library, name: &str, reason: &str, lasting: bool) {
    let file = lib.index_dir().join("vectors.bin");
    let model = common::model();
    let mut v = format::load_vectors(&file, model.id, model.dim).unwrap();
    let meta = fs::metadata(lib.root().join(name)).unwrap();
    v.failed.push(Failed {
        path: name.as_bytes().to_vec(),
        fingerprint: Fingerprint::of(&meta),
        reason: reason.into(),
        lasting,
    });
    format::save_vectors(&file, model.id, &v).unwrap();
}

#[test]
fn a_failure_in_this_system_is_tried_again_on_the_next_run_and_one_in_the_file_is_not() {
    let sb = Sandbox::new();
    let p = sb.photos();
    write_dated(&p.join("seed.bmp"), 1, a_day());
    let (lib, _) = sb.index();
    drop(lib);
    write_dated(&p.join("locked.bmp"), 2, a_day());
    write_dated(&p.join("judged.bmp"), 3, a_day());
    let lib = sb.open();
    record_failure(
        &lib,
        "locked.bmp",
        "cannot read the file: Permission denied",
        false,
    );
    record_failure(&lib, "judged.bmp", "corrupt or truncated image: x", true);
    drop(lib);

    let lib = sb.open();
    assert_eq!(lib.skipped().len(), 2, "both are reported until tried");
    let s = update(&lib);
    assert_eq!(s.embedded, 1, "the permission failure was tried again");
    stored(&lib, "locked.bmp");
    let skipped: Vec<_> = s.skipped.iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        skipped,
        [p.join("judged.bmp")],
        "a file's own fault is remembered"
    );
}

#[test]
fn an_unreadable_photo_made_readable_is_indexed_on_the_next_run() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let p = sb.photos();
    write_dated(&p.join("a.bmp"), 1, a_day());
    fs::set_permissions(p.join("a.bmp"), fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(p.join("a.bmp")).is_ok() {
        return; // Root reads it anyway: the test above covers the retry.
    }
    let (lib, s) = sb.index();
    assert_eq!((s.embedded, s.skipped.len()), (0, 1));
    assert!(s.skipped[0].reason.contains("ermission"), "{:?}", s.skipped);
    fs::set_permissions(p.join("a.bmp"), fs::Permissions::from_mode(0o644)).unwrap();
    let s = update(&lib);
    assert_eq!((s.embedded, s.skipped.len()), (1, 0));
}
