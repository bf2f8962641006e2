//! The engine end to end: indexing a folder, re-indexing only what changed, persistence,
//! searching, and bad input of every kind.

#[path = "../../../tests/common/engine.rs"]
mod common;

use common::{
    fixture, fixture_image, names, save_jpeg, synthetic, update_stepwise, variant, Sandbox,
};
use photo_sim_engine::{run_update, CancelToken, Event, Library, Match, UpdateOptions};
use std::fs;
use std::path::Path;

/// Two real photos, their edited copies, and distinct synthetic pictures.
fn fill(photos: &Path, synthetic_count: u64) {
    for (name, img) in [
        ("cat", fixture_image("cat.jpg")),
        ("coffee", fixture_image("coffee.jpg")),
    ] {
        save_jpeg(&img, &photos.join(format!("{name}.jpg")), 92);
        for kind in 0..3 {
            save_jpeg(
                &variant(&img, kind),
                &photos.join(format!("{name}_edit{kind}.jpg")),
                90,
            );
        }
    }
    for seed in 0..synthetic_count {
        save_jpeg(
            &synthetic(seed, 320, 240),
            &photos.join(format!("synth{seed:03}.jpg")),
            90,
        );
    }
}

#[test]
fn a_photo_and_its_edited_copies_are_each_others_nearest() {
    let sb = Sandbox::new();
    fill(&sb.photos(), 12);
    let (lib, summary) = sb.index();
    assert_eq!(summary.embedded, 20);
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    for name in ["cat", "coffee"] {
        for query in std::iter::once(format!("{name}.jpg"))
            .chain((0..3).map(|k| format!("{name}_edit{k}.jpg")))
        {
            let got = lib.search(&sb.photos().join(&query), 4).unwrap();
            assert_eq!(names(&got)[0], query, "the query itself comes first");
            assert!((got[0].similarity - 1.0).abs() < 1e-3);
            let mut family = names(&got);
            family.sort();
            let mut want: Vec<String> = std::iter::once(format!("{name}.jpg"))
                .chain((0..3).map(|k| format!("{name}_edit{k}.jpg")))
                .collect();
            want.sort();
            assert_eq!(family, want, "the 4 nearest to {query} are its own family");
        }
    }
}

#[test]
fn a_query_from_outside_the_folder_finds_its_copy_inside() {
    let sb = Sandbox::new();
    fill(&sb.photos(), 6);
    let (lib, _) = sb.index();
    let got = lib.search(&fixture("coffee.jpg"), 3).unwrap();
    assert!(names(&got)[0].starts_with("coffee"), "{:?}", names(&got));
    assert!(got[0].similarity > 0.9 && got[0].similarity <= 1.0001);
    assert!(got.windows(2).all(|w| w[0].similarity >= w[1].similarity));
}

#[test]
fn reindexing_embeds_only_new_and_changed_files_and_drops_removed_ones() {
    let sb = Sandbox::new();
    let p = sb.photos();
    for seed in 0..6 {
        save_jpeg(
            &synthetic(seed, 200, 150),
            &p.join(format!("{seed}.jpg")),
            90,
        );
    }
    let (lib, first) = sb.index();
    assert_eq!((first.embedded, first.reused, lib.len()), (6, 0, 6));

    let again = lib
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!((again.embedded, again.reused, again.removed), (0, 6, 0));

    save_jpeg(&synthetic(100, 200, 150), &p.join("new.jpg"), 90);
    fs::remove_file(p.join("0.jpg")).unwrap();
    // Touch: same content, new modification time.
    let f = fs::File::options()
        .write(true)
        .open(p.join("3.jpg"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(f);
    let third = lib
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(
        (third.embedded, third.reused, third.removed, lib.len()),
        (2, 4, 1, 6)
    );
    let found = names(&lib.search(&p.join("new.jpg"), 1).unwrap());
    assert_eq!(found, ["new.jpg"]);
}

#[test]
fn the_index_survives_a_restart_without_re_embedding() {
    let sb = Sandbox::new();
    fill(&sb.photos(), 4);
    let (lib, _) = sb.index();
    let before = lib.vectors();
    let query = sb.photos().join("cat_edit1.jpg");
    let results = lib.search(&query, 5).unwrap();
    drop(lib);

    let reopened = sb.open();
    assert!(reopened.notices().is_empty(), "{:?}", reopened.notices());
    assert_eq!(reopened.vectors(), before);
    assert_eq!(reopened.search(&query, 5).unwrap(), results);
    let summary = reopened
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!((summary.embedded, summary.reused), (0, before.len()));
}

#[test]
fn a_run_cancelled_midway_keeps_what_it_embedded_and_the_next_run_embeds_only_the_rest() {
    let sb = Sandbox::new();
    common::small_photos(&sb.photos(), 40);
    let lib = sb.open().with_checkpoint_every(std::time::Duration::ZERO);
    let cancel = CancelToken::new();
    let mut checkpoints = 0;
    let summary = run_update(
        &lib,
        &UpdateOptions::default(),
        &cancel,
        |event| match event {
            Event::Progress { done, .. } if done >= 8 => cancel.cancel(),
            Event::Saved { .. } => checkpoints += 1,
            _ => {}
        },
    )
    .unwrap();
    assert!(summary.cancelled);
    assert!(checkpoints > 0, "checkpoints were saved before the cancel");
    let kept = summary.embedded;
    assert!((8..40).contains(&kept), "cancelled midway: {kept} embedded");
    assert_eq!(lib.len(), kept);
    drop(lib);

    let reopened = sb.open();
    assert_eq!(reopened.len(), kept, "what was embedded is on disk");
    let next = reopened
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert!(!next.cancelled);
    assert_eq!((next.embedded, next.reused), (40 - kept, kept));
    assert_eq!(reopened.len(), 40);
}

#[test]
fn a_damaged_or_old_index_file_is_reported_and_rebuilt() {
    let sb = Sandbox::new();
    fill(&sb.photos(), 2);
    let (lib, _) = sb.index();
    let n = lib.len();
    let dim = lib.model().dim;
    let file = lib.index_dir().join("vectors.bin");
    drop(lib);
    let good = fs::read(&file).unwrap();
    let meta_end = good.len() - n * dim * 4;

    let damage: [(&str, Vec<u8>); 4] = [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("corrupt", {
            let mut b = good.clone();
            b[meta_end - 20] ^= 0xff;
            b
        }),
        ("format version 0", {
            let mut b = good.clone();
            b[8..12].copy_from_slice(&0u32.to_le_bytes());
            b
        }),
        ("not a photo-sim index", b"garbage".to_vec()),
    ];
    for (words, bytes) in damage {
        fs::write(&file, bytes).unwrap();
        let lib = sb.open();
        assert_eq!(lib.len(), 0);
        assert!(
            lib.notices().iter().any(|m| m.contains(words)),
            "{words}: {:?}",
            lib.notices()
        );
        let summary = lib
            .update(&UpdateOptions::default(), None, &CancelToken::new())
            .unwrap();
        assert_eq!(summary.embedded, n);
        assert!(sb.open().notices().is_empty());
    }
}

#[test]
fn a_flipped_byte_among_the_vectors_costs_only_its_block_of_photos() {
    use photo_sim_engine::index::format::BLOCK_ROWS;
    let sb = Sandbox::new();
    common::small_photos(&sb.photos(), BLOCK_ROWS as u64 + 6);
    let (lib, _) = sb.index();
    let (n, dim) = (lib.len(), lib.model().dim);
    let file = lib.index_dir().join("vectors.bin");
    drop(lib);
    let mut bytes = fs::read(&file).unwrap();
    // A byte of the last photo's vector: the second block (6 photos) is lost.
    let at = bytes.len() - dim * 4 / 2;
    bytes[at] ^= 0x10;
    fs::write(&file, &bytes).unwrap();

    let lib = sb.open();
    assert_eq!(lib.len(), n - 6);
    assert!(
        lib.notices().iter().any(|m| m.contains("6 photos")),
        "{:?}",
        lib.notices()
    );
    let summary = lib
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!((summary.embedded, summary.reused), (6, n - 6));
    assert!(sb.open().notices().is_empty());
}

/// A well-formed PNG that claims `w`×`h` pixels but carries almost no pixel data: what a
/// decompression bomb looks like before its data is inflated.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    fn crc(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb88320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    // One stored deflate block holding a single zero byte.
    let mut idat = b"IDAT".to_vec();
    idat.extend([
        0x78, 0x01, 0x01, 0x01, 0x00, 0xfe, 0xff, 0x00, 0x00, 0x01, 0x00, 0x01,
    ]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for chunk in [ihdr, idat, b"IEND".to_vec()] {
        out.extend((chunk.len() as u32 - 4).to_be_bytes());
        out.extend(&chunk);
        out.extend(crc(&chunk).to_be_bytes());
    }
    out
}

#[test]
fn bad_input_is_named_and_the_rest_of_the_folder_is_indexed() {
    let sb = Sandbox::new();
    let p = sb.photos();
    fill(&p, 2);
    let cat = fs::read(fixture("cat.jpg")).unwrap();
    fs::write(p.join("empty.jpg"), b"").unwrap();
    fs::write(p.join("truncated.jpg"), &cat[..cat.len() / 3]).unwrap();
    fs::write(
        p.join("not_an_image.png"),
        b"this is a text file, not a picture",
    )
    .unwrap();
    fs::write(p.join("bomb.png"), png_claiming(30000, 30000)).unwrap();
    let mut corrupt = cat.clone();
    for b in corrupt[600..4000].iter_mut() {
        *b = 0xff;
    }
    fs::write(p.join("corrupt.jpg"), &corrupt).unwrap();
    fs::create_dir(p.join("sub")).unwrap();
    std::os::unix::fs::symlink("..", p.join("sub/loop")).unwrap();
    fs::create_dir(p.join(".hidden")).unwrap();
    fs::write(p.join(".hidden/secret.jpg"), &cat).unwrap();
    let weird = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.jpg");
    fs::write(p.join(weird), &cat).unwrap();
    let locked = p.join("locked");
    fs::create_dir(&locked).unwrap();
    fs::write(locked.join("inside.jpg"), &cat).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads everything whatever the mode bits say; only then is the folder readable.
    let locked_is_readable = fs::read_dir(&locked).is_ok();

    let (lib, summary) = sb.index();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();

    let reason = |name: &str| {
        summary
            .skipped
            .iter()
            .find(|s| s.path.to_string_lossy().contains(name))
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{name} not reported: {:?}", summary.skipped))
    };
    assert!(reason("empty.jpg").contains("empty file"));
    assert!(
        reason("truncated.jpg").contains("truncated"),
        "{}",
        reason("truncated.jpg")
    );
    assert!(reason("not_an_image.png").contains("not an image"));
    assert!(
        reason("bomb.png").contains("30000×30000"),
        "{}",
        reason("bomb.png")
    );
    assert!(
        reason("corrupt.jpg").contains("corrupt"),
        "{}",
        reason("corrupt.jpg")
    );
    assert!(
        reason("loop").contains("symbolic link loop"),
        "{}",
        reason("loop")
    );
    if !locked_is_readable {
        assert!(reason("locked").contains("permission denied"));
    }
    // Good files: 2 photos × 4 + 2 synthetic + the non-UTF-8 name (+ the locked one for root).
    let good = 11 + usize::from(locked_is_readable);
    assert_eq!(lib.len(), good, "{:?}", summary.skipped);
    assert!(lib
        .vectors()
        .iter()
        .all(|(p, _)| !p.to_string_lossy().contains("secret")));
    let hit = lib.search(&p.join(weird), 1).unwrap();
    assert_eq!(hit[0].path.file_name().unwrap(), weird);

    // Failures are remembered (not retried while unchanged) and reported again.
    let again = lib
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(again.embedded, 0);
    assert_eq!(again.skipped.len(), summary.skipped.len());
}

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;

#[test]
fn the_graph_agrees_with_the_exact_scan_on_real_embeddings() {
    let sb = Sandbox::new();
    let p = sb.photos();
    // Real embeddings of 150 pictures: synthetic scenes and edits of the two photos.
    for seed in 0..120 {
        save_jpeg(
            &synthetic(seed, 128, 96),
            &p.join(format!("s{seed:03}.jpg")),
            85,
        );
    }
    for (name, img) in [
        ("cat", fixture_image("cat.jpg")),
        ("coffee", fixture_image("coffee.jpg")),
    ] {
        for k in 0..15 {
            let edited = variant(&image::imageops::rotate90(&variant(&img, k)), k + 1);
            let edited = if k % 2 == 0 {
                image::imageops::flip_horizontal(&edited)
            } else {
                edited
            };
            save_jpeg(&edited, &p.join(format!("{name}{k:02}.jpg")), 60 + k as u8);
        }
    }
    let lib = Library::open(&p, &sb.store(), common::model())
        .unwrap()
        .with_graph_threshold(100);
    lib.update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert!(lib.uses_graph());
    let vectors = lib.vectors();
    let mut hits = 0;
    for (_, v) in &vectors {
        let want = lib.search_vector_exact(v, 10);
        let got = lib.search_vector(v, 10);
        hits += got
            .iter()
            .filter(|m| want.iter().any(|w| w.path == m.path))
            .count();
    }
    let recall = hits as f64 / (vectors.len() * 10) as f64;
    assert!(recall >= 0.98, "recall@10 of the graph: {recall}");

    // The graph is saved with the index and used again after a restart.
    let reopened = Library::open(&p, &sb.store(), common::model())
        .unwrap()
        .with_graph_threshold(100);
    assert!(reopened.uses_graph());
}

/// `lib`'s answers to each of its photos, by the codes or graph it uses and by the exact scan.
fn answers_and_exact(lib: &Library) -> Vec<(Vec<Match>, Vec<Match>)> {
    lib.vectors()
        .iter()
        .map(|(_, v)| (lib.search_vector(v, 10), lib.search_vector_exact(v, 10)))
        .collect()
}

#[test]
fn compact_codes_are_made_for_a_large_library_searched_and_kept_across_a_restart() {
    let sb = Sandbox::new();
    fill(&sb.photos(), 24);
    let open = || {
        Library::open(&sb.photos(), &sb.store(), common::model())
            .unwrap()
            .with_compact_threshold(10)
    };
    let lib = open();
    let mut coded = Vec::new();
    let summary = run_update(&lib, &UpdateOptions::default(), &CancelToken::new(), |e| {
        if let Event::Compacting { done, total } = e {
            coded.push((done, total));
        }
    })
    .unwrap();
    assert_eq!(summary.indexed, 32);
    assert_eq!(coded.first(), Some(&(0, 32)), "the coding is announced");
    assert_eq!(
        coded.last(),
        Some(&(32, 32)),
        "and its progress told to the end"
    );
    assert!(lib.uses_codes());
    for (got, exact) in answers_and_exact(&lib) {
        assert_eq!(got, exact);
    }
    let codes = lib.index_dir().join("codes.bin");
    let made = fs::metadata(&codes).unwrap().modified().unwrap();

    // After a restart the saved codes are used, and an update that changes nothing keeps them.
    let reopened = open();
    assert!(reopened.uses_codes());
    let mut coded_again = false;
    run_update(
        &reopened,
        &UpdateOptions::default(),
        &CancelToken::new(),
        |e| {
            coded_again |= matches!(e, Event::Compacting { .. });
        },
    )
    .unwrap();
    assert!(!coded_again);
    assert_eq!(fs::metadata(&codes).unwrap().modified().unwrap(), made);

    // Damaged codes are reported and not used (the exact scan answers), and made again.
    let mut bytes = fs::read(&codes).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs::write(&codes, bytes).unwrap();
    let damaged = open();
    assert!(!damaged.uses_codes());
    assert!(
        damaged
            .notices()
            .iter()
            .any(|n| n.starts_with("Compact codes not used")),
        "{:?}",
        damaged.notices()
    );
    for (got, exact) in answers_and_exact(&damaged) {
        assert_eq!(got, exact);
    }
    damaged
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert!(damaged.uses_codes());
    assert!(open().uses_codes());
}

#[test]
fn an_update_of_a_coded_library_codes_only_its_new_photos() {
    let sb = Sandbox::new();
    fill(&sb.photos(), 24);
    let lib = Library::open(&sb.photos(), &sb.store(), common::model())
        .unwrap()
        .with_compact_threshold(10);
    lib.update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert!(lib.uses_codes());

    // Two photos added, one deleted: the 31 kept keep their codes, the 2 new are coded.
    for seed in [100, 101] {
        save_jpeg(
            &synthetic(seed, 320, 240),
            &sb.photos().join(format!("new{seed}.jpg")),
            90,
        );
    }
    fs::remove_file(sb.photos().join("synth005.jpg")).unwrap();
    let mut coded = Vec::new();
    let summary = run_update(&lib, &UpdateOptions::default(), &CancelToken::new(), |e| {
        if let Event::Compacting { done, total } = e {
            coded.push((done, total));
        }
    })
    .unwrap();
    assert_eq!(summary.indexed, 33);
    assert_eq!(
        coded.first(),
        Some(&(0, 2)),
        "only the new photos are coded"
    );
    assert_eq!(coded.last(), Some(&(2, 2)));
    assert!(lib.uses_codes());
    for (got, exact) in answers_and_exact(&lib) {
        assert_eq!(got, exact);
    }
}

/// For each checkpoint of an update adding 6 photos to 12, the photos it says are indexed and
/// those queries see then.
fn seen_at_checkpoints(large_from: Option<usize>) -> Vec<(usize, usize)> {
    let sb = Sandbox::new();
    fill(&sb.photos(), 4);
    sb.index();
    add_new_photos(&sb.photos());
    let mut lib = sb.open().with_checkpoint_every(std::time::Duration::ZERO);
    if let Some(photos) = large_from {
        lib = lib.with_large_from(photos);
    }
    assert_eq!(lib.len(), 12);
    let mut seen = Vec::new();
    update_stepwise(&lib, |event| {
        if let Event::Saved { indexed } = event {
            seen.push((indexed, lib.len()));
        }
    })
    .unwrap();
    assert_eq!(lib.len(), 18, "the save shows every photo");
    seen
}

/// The new photos [`seen_at_checkpoints`] and other checkpoint tests add to a library.
fn add_new_photos(photos: &Path) -> Vec<std::path::PathBuf> {
    (100..106)
        .map(|seed| {
            let path = photos.join(format!("new{seed}.jpg"));
            save_jpeg(&synthetic(seed, 320, 240), &path, 90);
            path
        })
        .collect()
}

#[test]
fn a_run_reads_its_checkpointed_vectors_back_from_the_log_and_refuses_one_changed_there() {
    let sb = Sandbox::new();
    fill(&sb.photos(), 4);
    sb.index();
    let added = add_new_photos(&sb.photos());
    // Their vectors as the run makes them, as bytes to find in the log.
    let model = common::model();
    let mut session = model.session().unwrap();
    let bytes: Vec<Vec<u8>> = added
        .iter()
        .map(|p| {
            let input = photo_sim_engine::embed::model_input(p).unwrap();
            let v = session.embed(&input).unwrap();
            v.iter().flat_map(|x| x.to_le_bytes()).collect()
        })
        .collect();
    let lib = sb.open().with_checkpoint_every(std::time::Duration::ZERO);
    let log = lib.index_dir().join(photo_sim_engine::index::journal::FILE);
    let mut changed = false;
    let result = update_stepwise(&lib, |event| {
        // The run waits to send its next event: the log is changed while it waits.
        if matches!(event, Event::Saved { .. }) && !changed {
            let mut file = fs::read(&log).unwrap();
            let found = bytes.iter().find_map(|b| {
                let at = file.windows(b.len()).position(|w| w == b.as_slice())?;
                Some((at, b.len()))
            });
            let (at, len) = found.expect("a new photo's vector in the log");
            for x in &mut file[at..at + len] {
                *x ^= 0x40;
            }
            fs::write(&log, &file).unwrap();
            changed = true;
        }
    });
    assert!(changed, "the run made no checkpoint");
    let err = result.expect_err("a save from a changed log").to_string();
    assert!(err.contains("changed after it was written"), "{err}");
    // Nothing is lost: the next run embeds again what the damaged record held, and saves.
    drop(lib);
    let (lib, summary) = sb.index();
    assert_eq!(lib.len(), 18, "{summary:?}");
    for p in &added {
        let best = &lib.search(p, 1).unwrap()[0];
        assert!(best.similarity > 0.999, "{p:?}: {best:?}");
    }
}

/// Copies the files of folder `from` into `to`.
fn copy_files(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn the_checkpoints_of_an_interrupted_run_of_a_large_library_are_taken_up_by_the_next_update() {
    let sb = Sandbox::new();
    fill(&sb.photos(), 4);
    let (lib, _) = sb.index();
    let added = add_new_photos(&sb.photos());
    // The index folder as a run killed after its first checkpoint leaves it.
    let dir = lib.index_dir().to_path_buf();
    let killed = sb.dir.path().join("killed");
    let lib = lib.with_checkpoint_every(std::time::Duration::ZERO);
    update_stepwise(&lib, |event| {
        if matches!(event, Event::Saved { indexed } if indexed > 12) && !killed.exists() {
            copy_files(&dir, &killed);
        }
    })
    .unwrap();
    drop(lib);
    fs::remove_dir_all(&dir).unwrap();
    copy_files(&killed, &dir);

    // A small library applies the log when it opens.
    let small = sb.open();
    let logged = small.len() - 12;
    assert!((1..6).contains(&logged), "{logged} photos logged");
    assert!(
        small.notices()[0].contains("Recovered"),
        "{:?}",
        small.notices()
    );
    drop(small);

    // A large one leaves it for the next update, which embeds only the other photos.
    let large = sb.open().with_large_from(10);
    assert_eq!(large.len(), 12);
    assert!(
        large.notices()[0].contains(&format!("Found {logged} photos")),
        "{:?}",
        large.notices()
    );
    let summary = large
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(
        (summary.recovered, summary.embedded, large.len()),
        (logged, 6 - logged, 18)
    );
    for p in &added {
        let best = &large.search(p, 1).unwrap()[0];
        assert!(best.similarity > 0.999, "{p:?}: {best:?}");
    }
    assert!(!dir.join(photo_sim_engine::index::journal::FILE).exists());
}

#[test]
fn a_first_index_that_grows_large_saves_each_time_it_doubles_and_queries_see_those_saves() {
    let sb = Sandbox::new();
    fill(&sb.photos(), 4);
    let added = add_new_photos(&sb.photos());
    let lib = sb
        .open()
        .with_checkpoint_every(std::time::Duration::ZERO)
        .with_large_from(4);
    // At each checkpoint: the photos indexed, those queries see, and those a process opening
    // the folder then finds (the last save and the log after it).
    let mut seen = Vec::new();
    update_stepwise(&lib, |event| {
        if let Event::Saved { indexed } = event {
            seen.push((indexed, lib.len(), sb.open().len()));
        }
    })
    .unwrap();
    assert!(seen.len() > 8, "{seen:?}");
    assert!(
        seen.iter().all(|&(indexed, shown, found)| found == indexed
            && (shown == indexed || 2 * shown > indexed)),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|&(indexed, shown, _)| indexed >= 6 && shown == indexed),
        "no save while the run went on: {seen:?}"
    );
    assert_eq!(lib.len(), 18);
    for p in &added {
        let best = &lib.search(p, 1).unwrap()[0];
        assert!(best.similarity > 0.999, "{p:?}: {best:?}");
    }
}

#[test]
fn a_save_during_a_long_run_does_not_wait_on_the_workers_waiting_on_it() {
    // More photos than the run's queue of finished ones holds, so its workers wait for the
    // thread that saves while it saves.
    let sb = Sandbox::new();
    common::small_photos(&sb.photos(), 200);
    let lib = sb
        .open()
        .with_checkpoint_every(std::time::Duration::ZERO)
        .with_large_from(8);
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let summary = lib.update(&UpdateOptions::default(), None, &CancelToken::new());
        let _ = done_tx.send((summary.map(|s| s.embedded), lib.len()));
    });
    let (embedded, len) = done_rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the run stopped: a save waited for the workers that waited for it");
    assert_eq!((embedded.unwrap(), len), (200, 200));
}

#[test]
fn a_large_library_s_checkpoints_log_its_new_photos_but_only_its_save_shows_them() {
    let small = seen_at_checkpoints(None);
    assert!(small.len() > 2, "checkpoints: {small:?}");
    assert!(
        small.iter().all(|(indexed, seen)| indexed == seen),
        "{small:?}"
    );
    let large = seen_at_checkpoints(Some(10));
    assert!(large.len() > 2, "checkpoints: {large:?}");
    assert!(
        large
            .iter()
            .all(|&(indexed, seen)| indexed > 12 && seen == 12),
        "{large:?}"
    );
    // One that becomes large during the run stops showing its photos when it does.
    let grows = seen_at_checkpoints(Some(15));
    assert!(grows.iter().any(|&(indexed, _)| indexed >= 15), "{grows:?}");
    assert!(
        grows.iter().all(|&(indexed, seen)| if indexed < 15 {
            seen == indexed
        } else {
            (12..15).contains(&seen)
        }),
        "{grows:?}"
    );
}

#[test]
fn rotated_and_mirrored_copies_find_their_original_first() {
    let sb = Sandbox::new();
    fill(&sb.photos(), 8);
    let (lib, _) = sb.index();
    let outside = tempfile::tempdir().unwrap();
    for name in ["cat", "coffee"] {
        let img = fixture_image(&format!("{name}.jpg"));
        let unrotated = lib
            .search(&sb.photos().join(format!("{name}_edit2.jpg")), 2)
            .unwrap()[1]
            .similarity;
        let copies = [
            ("rot90", image::imageops::rotate90(&img)),
            ("rot180", image::imageops::rotate180(&img)),
            ("rot270", image::imageops::rotate270(&img)),
            ("mirror", image::imageops::flip_horizontal(&img)),
        ];
        for (edit, copy) in copies {
            let path = outside.path().join(format!("{name}_{edit}.jpg"));
            save_jpeg(&copy, &path, 90);
            let got = lib.search(&path, 1).unwrap();
            assert_eq!(names(&got)[0], format!("{name}.jpg"), "{edit}");
            assert!(
                got[0].similarity > unrotated - 0.05,
                "{name} {edit}: {} vs {unrotated} for a re-compressed copy",
                got[0].similarity
            );
        }
        // Without rotations, a photo turned by 90° looks much less like itself.
        let turned = outside.path().join(format!("{name}_rot90.jpg"));
        let plain = lib
            .search_with(
                &turned,
                1,
                &photo_sim_engine::QueryOptions { rotations: false },
            )
            .unwrap();
        let robust = lib.search(&turned, 1).unwrap();
        assert!(
            plain[0].similarity < robust[0].similarity - 0.1,
            "{name}: {} without rotations, {} with",
            plain[0].similarity,
            robust[0].similarity
        );
    }
}

#[test]
fn labels_name_copies_as_the_same_photo_and_strangers_as_unrelated() {
    use photo_sim_engine::labels::Label;
    let sb = Sandbox::new();
    let p = sb.photos();
    let cat = fixture_image("cat.jpg");
    save_jpeg(&cat, &p.join("cat.jpg"), 92);
    // Copies that keep the photo itself.
    let (w, h) = cat.dimensions();
    let smaller = common::half_size(&cat);
    save_jpeg(&smaller, &p.join("same-resized.jpg"), 90);
    save_jpeg(&cat, &p.join("same-recompressed.jpg"), 35);
    let mut warmer = cat.clone();
    warmer
        .pixels_mut()
        .for_each(|px| px.0[0] = px.0[0].saturating_add(20));
    save_jpeg(&warmer, &p.join("same-warmer.jpg"), 90);
    save_jpeg(
        &image::imageops::rotate90(&cat),
        &p.join("same-turned.jpg"),
        90,
    );
    // Part of the scene.
    let crop = image::imageops::crop_imm(&cat, w / 6, h / 6, w * 2 / 3, h * 2 / 3).to_image();
    save_jpeg(&crop, &p.join("near-crop.jpg"), 90);
    for seed in 0..6 {
        save_jpeg(
            &synthetic(seed, 320, 240),
            &p.join(format!("stranger{seed}.jpg")),
            90,
        );
    }
    let (lib, _) = sb.index();
    let got = lib.search(&p.join("cat.jpg"), 20).unwrap();
    for m in &got[1..] {
        let name = common::file_name(&m.path);
        let label = m.label.expect("the built-in model has thresholds");
        let want_at_least = if name.starts_with("same") {
            Label::SamePhoto
        } else if name.starts_with("near") {
            Label::NearDuplicate
        } else {
            assert!(
                label <= Label::Related,
                "{name}: {label:?} at {}",
                m.similarity
            );
            continue;
        };
        assert!(
            label >= want_at_least,
            "{name}: {label:?} at {}",
            m.similarity
        );
        // A third of this small library is copies of the cat, so "above most pairs" is all.
        assert!(m.percentile.unwrap() > 50.0, "{name}: {:?}", m.percentile);
    }
}

#[test]
fn duplicates_at_a_threshold_that_pairs_unrelated_photos_are_refused_not_built() {
    use photo_sim_engine::index::format::{self, Entry, Vectors};
    use photo_sim_engine::index::{path_bytes, Fingerprint};
    let sb = Sandbox::new();
    fs::create_dir_all(sb.photos()).unwrap();
    let model = common::model();
    let lib = sb.open();
    // 300 photos, each with an exact copy: 600 rows, 300 pairs of copies among 179,700.
    let mut v = Vectors::empty(path_bytes(lib.root()).into_owned(), model.dim);
    let mut seed = 1u64;
    for i in 0..300 {
        let mut row: Vec<f32> = (0..model.dim)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        photo_sim_engine::vector::normalize(&mut row);
        for copy in 0..2 {
            v.entries.push(Entry {
                path: format!("{i}-{copy}.jpg").into_bytes(),
                fingerprint: Fingerprint {
                    size: 1,
                    mtime_ns: 0,
                },
                content: None,
                identity: Default::default(),
            });
            v.data.extend_from_slice(&row);
        }
    }
    v.generation = 5;
    fs::create_dir_all(lib.index_dir()).unwrap();
    format::save_vectors(&lib.index_dir().join("vectors.bin"), model.id, &v).unwrap();
    let lib = sb.open();
    assert_eq!(lib.len(), 600, "{:?}", lib.notices());
    assert_eq!(lib.duplicates(0.9).unwrap().len(), 300);
    // Every pair is at least −1 alike: more than 256 a photo.
    match lib.duplicates(-1.0) {
        Err(photo_sim_engine::Error::TooManyPairs { limit, .. }) => assert_eq!(limit, 600 * 256),
        other => panic!("{other:?}"),
    }
}

/// "More like this" moves the query, not the photo: the words and the similarity of each match
/// still say how alike it is to the photo (a refined vector would call a different picture a
/// near-duplicate).
#[test]
fn after_more_like_this_the_words_say_how_alike_each_match_is_to_the_photo() {
    use photo_sim_engine::library::{browse, Request, Scope};
    let sb = Sandbox::new();
    fill(&sb.photos(), 6);
    let (lib, _) = sb.index();
    let photo = sb.photos().join("cat.jpg");
    let request = |more: Vec<std::path::PathBuf>| Request {
        photo: photo.clone(),
        more,
        less: vec![],
        scope: Scope::Everywhere,
        tiles: 20,
        options: photo_sim_engine::QueryOptions { rotations: false },
    };
    let plain = browse(&lib, &request(vec![])).unwrap();
    let by_path: std::collections::HashMap<_, _> = plain
        .iter()
        .flat_map(|t| std::iter::once(&t.best).chain(&t.also))
        .map(|m| (m.path.clone(), (m.similarity, m.label)))
        .collect();
    let refined = browse(&lib, &request(vec![sb.photos().join("coffee.jpg")])).unwrap();
    let coffee_edit = sb.photos().join("coffee_edit0.jpg").canonicalize().unwrap();
    let mut seen = 0;
    for m in refined
        .iter()
        .flat_map(|t| std::iter::once(&t.best).chain(&t.also))
    {
        let (similarity, label) = by_path[&m.path];
        assert!((m.similarity - similarity).abs() < 1e-4, "{:?}", m.path);
        assert_eq!(m.label, label, "{:?}", m.path);
        seen += usize::from(m.path == coffee_edit);
    }
    assert_eq!(seen, 1, "the coffee's copy is among the refined matches");
}

/// `jpeg` with an EXIF block whose date is `date` ("2010:05:01 12:00:00"), as a camera writes.
fn with_camera_date(jpeg: &[u8], date: &str) -> Vec<u8> {
    let mut tiff = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    tiff.extend(1u16.to_le_bytes());
    tiff.extend(0x0132u16.to_le_bytes()); // DateTime
    tiff.extend(2u16.to_le_bytes()); // ASCII
    tiff.extend(20u32.to_le_bytes());
    tiff.extend(26u32.to_le_bytes());
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(format!("{date:<19}\0").as_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

/// Two copies alike in pixels and size: the keeper is the one the camera took first, though
/// its file is the newer (a copy made later keeps the camera's date, not the file's).
#[test]
fn the_keeper_rule_takes_the_oldest_by_camera_date_over_file_date() {
    let sb = Sandbox::new();
    let p = sb.photos();
    fs::create_dir_all(&p).unwrap();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&fixture_image("cat.jpg"))
        .unwrap();
    fs::write(
        p.join("a.jpg"),
        with_camera_date(&jpeg, "2010:05:01 12:00:00"),
    )
    .unwrap();
    fs::write(
        p.join("b.jpg"),
        with_camera_date(&jpeg, "2020:05:01 12:00:00"),
    )
    .unwrap();
    // b's file is the older one.
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(978_307_200);
    fs::File::options()
        .write(true)
        .open(p.join("b.jpg"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (lib, _) = sb.index();
    let groups = lib.duplicates(0.9).unwrap();
    assert_eq!(groups.len(), 1);
    let keeper = &groups[0].keeper;
    assert_eq!(keeper.path.file_name().unwrap(), "a.jpg");
    assert_eq!(keeper.date(), "2010-05-01 12:00");
    assert_eq!(groups[0].members[0].0.date(), "2020-05-01 12:00");
}

/// A copy of the photo turned on its side is the same photo: it joins the tile of the photo's
/// other copies rather than standing beside them as a tile of its own.
#[test]
fn a_turned_copy_of_the_photo_joins_the_tile_of_its_other_copies() {
    use photo_sim_engine::library::{browse, Request, Scope};
    let sb = Sandbox::new();
    fill(&sb.photos(), 6);
    let cat = fixture_image("coffee.jpg");
    save_jpeg(
        &image::imageops::rotate90(&cat),
        &sb.photos().join("coffee_turned.jpg"),
        90,
    );
    let (lib, _) = sb.index();
    let request = Request {
        photo: sb.photos().join("coffee.jpg"),
        more: vec![],
        less: vec![],
        scope: Scope::Everywhere,
        tiles: 10,
        options: photo_sim_engine::QueryOptions { rotations: true },
    };
    let tiles = browse(&lib, &request).unwrap();
    let tile_of = |name: &str| {
        tiles
            .iter()
            .position(|t| {
                std::iter::once(&t.best)
                    .chain(&t.also)
                    .any(|m| m.path.file_name().unwrap() == name)
            })
            .unwrap_or_else(|| panic!("{name} not in {tiles:?}"))
    };
    assert_eq!(
        tile_of("coffee_turned.jpg"),
        tile_of("coffee_edit0.jpg"),
        "{tiles:#?}"
    );
}

/// A reference folder's photo is the keeper, though another has more pixels.
#[test]
fn a_photo_in_a_reference_folder_is_the_keeper() {
    let sb = Sandbox::new();
    let p = sb.photos();
    fs::create_dir_all(p.join("archive")).unwrap();
    let img = fixture_image("cat.jpg");
    save_jpeg(&img, &p.join("cat.jpg"), 92);
    let small = common::half_size(&img);
    save_jpeg(&small, &p.join("archive/cat.jpg"), 90);
    let (lib, _) = sb.index();
    let keeper = |rule| {
        lib.duplicates_with(0.8, &rule).unwrap()[0]
            .keeper
            .path
            .clone()
    };
    let archive = lib.root().join("archive");
    assert_eq!(
        keeper(photo_sim_engine::KeeperRule::default()),
        lib.root().join("cat.jpg")
    );
    let rule = photo_sim_engine::KeeperRule {
        reference: vec![archive.clone()],
        ..Default::default()
    };
    assert_eq!(keeper(rule), archive.join("cat.jpg"));
}
