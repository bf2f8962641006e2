//! Moves, renames and copies cost nothing: a file whose content is already indexed keeps its
//! vector under its new path, and the summary says how many moved.

mod common;

use common::{cli, run_within, save_jpeg, small_photos, synthetic, texts, Sandbox};
use photo_sim_engine::{CancelToken, Library, UpdateOptions};
use std::fs;

fn update(lib: &Library) -> photo_sim_engine::Summary {
    lib.update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap()
}

/// Every photo in the index, relative to its folder, sorted.
fn indexed(lib: &Library) -> Vec<String> {
    let mut out: Vec<String> = lib
        .vectors()
        .into_iter()
        .map(|(path, _)| {
            let rel = path.strip_prefix(lib.root()).unwrap();
            rel.to_string_lossy().into_owned()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn renaming_folders_and_files_and_moving_some_between_folders_embeds_nothing() {
    let sb = Sandbox::new();
    let p = sb.photos();
    small_photos(&p.join("2023"), 12);
    fs::create_dir(p.join("2024")).unwrap();
    for seed in 0..12 {
        let name = p.join(format!("2024/{seed:04}.jpg"));
        save_jpeg(&synthetic(100 + seed, 160, 120), &name, 90);
    }
    fs::rename(p.join("2024/0000.jpg"), p.join("2024/new-year.jpg")).unwrap();
    let (lib, first) = sb.index();
    assert_eq!((first.embedded, lib.len()), (24, 24));
    let vector_of = |lib: &Library, rel: &str| lib.vector_of(&p.join(rel)).unwrap();
    let before = vector_of(&lib, "2023/0005.jpg");

    // Every path changes: both top folders renamed, files renamed, some moved across.
    fs::rename(p.join("2023"), p.join("Holidays 2023")).unwrap();
    fs::rename(p.join("2024"), p.join("Family")).unwrap();
    fs::rename(
        p.join("Holidays 2023/0005.jpg"),
        p.join("Holidays 2023/beach.jpg"),
    )
    .unwrap();
    for n in ["0001", "0002", "0003"] {
        fs::rename(
            p.join(format!("Family/{n}.jpg")),
            p.join(format!("Holidays 2023/from-family-{n}.jpg")),
        )
        .unwrap();
    }

    let again = update(&lib);
    assert_eq!(again.embedded, 0, "nothing is embedded again");
    assert_eq!(again.moved, 24, "every photo moved");
    assert_eq!((again.removed, again.kept_missing), (0, 0));
    assert_eq!(lib.len(), 24);
    assert!(indexed(&lib)
        .iter()
        .all(|path| path.starts_with("Holidays 2023/") || path.starts_with("Family/")));
    assert_eq!(vector_of(&lib, "Holidays 2023/beach.jpg"), before);

    // Searches answer with the new paths, each photo finding itself first.
    for rel in [
        "Holidays 2023/beach.jpg",
        "Holidays 2023/from-family-0002.jpg",
    ] {
        let got = lib.search(&p.join(rel), 5).unwrap();
        assert_eq!(got[0].path, p.join(rel));
        assert!(got.iter().all(|m| m.exists), "{got:?}");
    }

    // After a restart, the moves were saved: nothing left to do.
    drop(lib);
    let reopened = sb.open();
    let third = update(&reopened);
    assert_eq!((third.embedded, third.moved, third.reused), (0, 0, 24));
}

#[test]
fn the_cli_summary_says_how_many_moved() {
    let sb = Sandbox::new();
    small_photos(&sb.photos().join("a"), 3);
    let index = || {
        let out = run_within(cli(&sb).arg("index").arg(sb.photos()), 300);
        assert!(out.status.success(), "{:?}", texts(&out));
        texts(&out).0
    };
    index();
    fs::rename(sb.photos().join("a"), sb.photos().join("b")).unwrap();
    let text = index();
    assert!(
        text.contains("(0 embedded, 0 reused, moved: 3, 0 removed"),
        "{text}"
    );
}

#[test]
fn a_copy_with_a_new_date_is_known_by_its_whole_content_and_an_edit_in_the_middle_is_not() {
    let sb = Sandbox::new();
    let p = sb.photos();
    save_jpeg(&synthetic(7, 2400, 1800), &p.join("big.jpg"), 97);
    small_photos(&p, 2);
    let (lib, first) = sb.index();
    assert_eq!(first.embedded, 3);
    let bytes = fs::read(p.join("big.jpg")).unwrap();
    assert!(
        bytes.len() > 300_000,
        "the middle is outside the sampled head and tail"
    );
    // fs::copy gives the copy a new modification time: only the full hash can confirm it.
    fs::copy(p.join("big.jpg"), p.join("copy.jpg")).unwrap();
    // Same size, same head and tail, one byte changed in the middle: another picture.
    let mut edited = bytes.clone();
    let mid = (bytes.len() / 2..).find(|&i| bytes[i] < 0xf0).unwrap();
    edited[mid] ^= 0x08;
    fs::write(p.join("edited.jpg"), &edited).unwrap();

    let s = update(&lib);
    assert_eq!((s.shared, s.moved), (1, 0), "only the copy is known");
    assert_eq!(
        s.embedded + s.skipped.len(),
        1,
        "the edited file is read anew"
    );
    let big = lib.vector_of(&p.join("big.jpg")).unwrap();
    assert_eq!(lib.vector_of(&p.join("copy.jpg")).unwrap(), big);
}

#[test]
fn overlapping_folders_share_vectors_instead_of_embedding_twice() {
    let sb = Sandbox::new();
    let p = sb.photos();
    small_photos(&p.join("2024"), 5);
    small_photos(&p.join("2025"), 2);
    let (parent, first) = sb.index();
    assert_eq!(first.embedded, 7);
    let inner = Library::open(&p.join("2024"), &sb.store(), common::model()).unwrap();
    let s = update(&inner);
    assert_eq!((s.embedded, s.shared, inner.len()), (0, 5, 5));
    assert_eq!(
        inner.vector_of(&p.join("2024/0003.jpg")).unwrap(),
        parent.vector_of(&p.join("2024/0003.jpg")).unwrap()
    );
}

/// Rewrites the vectors file of `lib` as format version 2 wrote it: entries without content.
fn downgrade_to_version_2(lib: &Library, model_id: [u8; 32]) {
    use photo_sim_engine::index::format::{self, Kind};
    #[derive(serde::Serialize)]
    struct EntryV2 {
        path: Vec<u8>,
        fingerprint: photo_sim_engine::index::Fingerprint,
    }
    #[derive(serde::Serialize)]
    struct MetaV2 {
        folder: Vec<u8>,
        entries: Vec<EntryV2>,
        failed: Vec<format::Failed>,
        pairs: Vec<f32>,
    }
    let file = lib.index_dir().join("vectors.bin");
    let v = format::load_vectors(&file, model_id, common::model().dim).unwrap();
    let meta = MetaV2 {
        folder: v.folder.clone(),
        entries: v
            .entries
            .iter()
            .map(|e| EntryV2 {
                path: e.path.clone(),
                fingerprint: e.fingerprint,
            })
            .collect(),
        failed: v.failed.clone(),
        pairs: v.pairs.clone(),
    };
    format::save(
        &file,
        Kind::Vectors,
        model_id,
        v.generation,
        v.dim as usize,
        &meta,
        &v.data,
    )
    .unwrap();
    let mut bytes = fs::read(&file).unwrap();
    format::as_version(&mut bytes, 2).unwrap();
    fs::write(&file, bytes).unwrap();
}

#[test]
fn an_index_from_format_version_2_is_kept_and_learns_its_content_keys_without_re_embedding() {
    let sb = Sandbox::new();
    small_photos(&sb.photos().join("a"), 4);
    let (lib, _) = sb.index();
    downgrade_to_version_2(&lib, common::model().id);
    drop(lib);

    let old = sb.open();
    assert!(old.notices().is_empty(), "{:?}", old.notices());
    assert_eq!(old.len(), 4);
    let s = update(&old);
    assert_eq!((s.embedded, s.reused), (0, 4));
    fs::rename(sb.photos().join("a"), sb.photos().join("b")).unwrap();
    let s = update(&old);
    assert_eq!((s.embedded, s.moved), (0, 4), "the keys were recorded");
}

#[test]
fn a_rename_is_told_from_a_same_size_same_date_photo_that_differs_in_the_middle() {
    let sb = Sandbox::new();
    let p = sb.photos();
    // Two uncompressed pictures: same size, same first and last 64 KiB, another middle.
    let a = synthetic(1, 600, 400);
    let mut b = a.clone();
    for y in 150..250 {
        for x in 0..600 {
            b.put_pixel(x, y, image::Rgb([255 - (x % 256) as u8, 20, 200]));
        }
    }
    a.save(p.join("a.bmp")).unwrap();
    b.save(p.join("b.bmp")).unwrap();
    let date = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    for name in ["a.bmp", "b.bmp"] {
        fs::File::options()
            .write(true)
            .open(p.join(name))
            .unwrap()
            .set_modified(date)
            .unwrap();
    }
    let (lib, _) = sb.index();
    let vb = lib.vector_of(&p.join("b.bmp")).unwrap();
    assert_ne!(lib.vector_of(&p.join("a.bmp")).unwrap(), vb);

    fs::remove_file(p.join("a.bmp")).unwrap();
    fs::rename(p.join("b.bmp"), p.join("c.bmp")).unwrap();
    let s = update(&lib);
    assert_eq!((s.embedded, s.moved, s.removed), (0, 1, 1));
    assert_eq!(
        lib.vector_of(&p.join("c.bmp")).unwrap(),
        vb,
        "b's vector, not a's"
    );
}

#[test]
fn renaming_the_librarys_top_folder_embeds_nothing_and_leaves_no_old_index_behind() {
    let sb = Sandbox::new();
    small_photos(&sb.photos().join("2023"), 8);
    let (lib, first) = sb.index();
    assert_eq!(first.embedded, 8);
    let old_index = lib.index_dir().to_path_buf();
    drop(lib);

    let renamed = sb.dir.path().join("Photos 2023");
    fs::rename(sb.photos(), &renamed).unwrap();
    let lib = Library::open(&renamed, &sb.store(), common::model()).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    let s = lib
        .update(&UpdateOptions::default(), Some(&tx), &CancelToken::new())
        .unwrap();
    assert_eq!((s.embedded, lib.len()), (0, 8));
    let notices: Vec<String> = rx
        .try_iter()
        .filter_map(|e| match e {
            photo_sim_engine::Event::Notice(text) => Some(text),
            _ => None,
        })
        .collect();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("8 photos were recognised")),
        "{notices:?}"
    );
    assert!(!old_index.exists(), "the old index was removed");
}

#[test]
fn a_copy_of_a_folder_no_longer_there_keeps_its_vectors_and_the_old_index_stays() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 6);
    let (lib, _) = sb.index();
    let old_index = lib.index_dir().to_path_buf();
    drop(lib);

    // A copy (new files), then the original goes away, as a drive that is not mounted.
    let copy = sb.dir.path().join("copy");
    fs::create_dir(&copy).unwrap();
    for entry in fs::read_dir(sb.photos()).unwrap() {
        let from = entry.unwrap().path();
        fs::copy(&from, copy.join(from.file_name().unwrap())).unwrap();
    }
    let away = sb.dir.path().join("unmounted");
    fs::rename(sb.photos(), &away).unwrap();
    let lib = Library::open(&copy, &sb.store(), common::model()).unwrap();
    let s = update(&lib);
    assert_eq!((s.embedded, lib.len()), (0, 6));
    assert!(
        old_index.exists(),
        "not the same files: the old index is kept"
    );
}
