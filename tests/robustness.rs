//! An index that defends itself: damaged or hand-made index files, an unmounted folder, saves
//! that fail, two runs at once, killed saves, files renamed mid-run, and odd file names. Each
//! test reproduces a way the engine used to hang, lie or lose data.

mod common;

use common::{cli, fixture, model, run_within, small_photos, texts, Sandbox};
use photo_sim_engine::{run_update, CancelToken, Event, Library, UpdateOptions};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn index_dir(sb: &Sandbox) -> PathBuf {
    sb.store().index_dir(&sb.photos().canonicalize().unwrap())
}

fn json(out: &std::process::Output) -> serde_json::Value {
    let (stdout, stderr) = texts(out);
    assert!(out.status.success(), "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn search_on_a_damaged_index_names_the_file_and_rebuilds_it() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 4);
    let out = run_within(cli(&sb).arg("index").arg(sb.photos()), 120);
    assert!(out.status.success());
    let file = index_dir(&sb).join("vectors.bin");
    let good = fs::read(&file).unwrap();
    let damages: [(&str, Vec<u8>); 4] = [
        ("flipped byte", {
            let mut b = good.clone();
            let last = b.len() - 1;
            b[last] ^= 0x10;
            b
        }),
        ("truncated", good[..good.len() - 100].to_vec()),
        ("other format version", {
            let mut b = good.clone();
            b[8..12].copy_from_slice(&9u32.to_le_bytes());
            b
        }),
        ("other model", {
            let mut b = good.clone();
            // The model id follows the magic, version, header length and the kind.
            b[20] ^= 0xff;
            b
        }),
    ];
    for (what, bytes) in damages {
        fs::write(&file, bytes).unwrap();
        let out = run_within(
            cli(&sb)
                .args(["search", "--json", "-k", "3"])
                .arg(sb.photos().join("0001.jpg")),
            120,
        );
        let (_, stderr) = texts(&out);
        let answer = json(&out);
        assert!(
            stderr.contains(&file.display().to_string()) || stderr.contains("model changed"),
            "{what}: the message names the damaged file: {stderr}"
        );
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), 3, "{what}: never an empty answer: {answer}");
        assert!(results[0]["path"].as_str().unwrap().ends_with("0001.jpg"));
    }
}

#[test]
fn an_unmounted_folder_keeps_its_index_and_search_says_the_files_are_missing() {
    let sb = Sandbox::new();
    let photos = sb.photos();
    small_photos(&photos, 5);
    let out = run_within(cli(&sb).args(["index", "--json"]).arg(&photos), 120);
    assert_eq!(json(&out)["embedded"], 5);

    // "Unmount": the mount point is now an empty folder.
    let away = sb.dir.path().join("away");
    fs::rename(&photos, &away).unwrap();
    fs::create_dir(&photos).unwrap();
    let out = run_within(cli(&sb).args(["index", "--json"]).arg(&photos), 120);
    let (_, stderr) = texts(&out);
    let summary = json(&out);
    assert_eq!(summary["removed"], 0, "{summary}");
    assert_eq!(summary["kept_missing"], 5);
    assert!(
        stderr.contains("empty or not mounted: kept the index of 5 photos"),
        "{stderr}"
    );
    let out = run_within(
        cli(&sb)
            .args(["search", "--json", "--folder"])
            .arg(&photos)
            .arg(fixture("cat.jpg")),
        120,
    );
    let (_, stderr) = texts(&out);
    let answer = json(&out);
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|r| r["exists"] == false), "{answer}");
    assert!(stderr.contains("no longer exist"), "{stderr}");

    // "Remount": nothing is embedded again.
    fs::remove_dir(&photos).unwrap();
    fs::rename(&away, &photos).unwrap();
    let out = run_within(cli(&sb).args(["index", "--json"]).arg(&photos), 120);
    let summary = json(&out);
    assert_eq!(
        (summary["embedded"].as_u64(), summary["reused"].as_u64()),
        (Some(0), Some(5))
    );

    // Deleted for real: --prune confirms.
    for f in fs::read_dir(&photos).unwrap() {
        fs::remove_file(f.unwrap().path()).unwrap();
    }
    let out = run_within(
        cli(&sb).args(["index", "--json", "--prune"]).arg(&photos),
        120,
    );
    let summary = json(&out);
    assert_eq!(
        (summary["removed"].as_u64(), summary["indexed"].as_u64()),
        (Some(5), Some(0))
    );
}

/// True when this process can write where the mode bits say it cannot (root).
fn ignores_permissions(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe");
    fs::create_dir(&probe).unwrap();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o555)).unwrap();
    let writable = fs::write(probe.join("x"), b"x").is_ok();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_dir_all(&probe).unwrap();
    writable
}

#[test]
fn saving_failures_end_the_run_with_an_error_instead_of_hanging() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 3);
    let dir = index_dir(&sb);

    let fails = |what: &str, args: &[&str], needle: &str| {
        let out = run_within(cli(&sb).args(args).arg(sb.photos().join("0000.jpg")), 120);
        let (stdout, stderr) = texts(&out);
        assert!(!out.status.success(), "{what}: {stdout}");
        assert!(stderr.contains(needle), "{what}: {stderr}");
    };

    // The index folder is a file.
    fs::create_dir_all(dir.parent().unwrap()).unwrap();
    fs::write(&dir, b"not a folder").unwrap();
    let out = run_within(cli(&sb).arg("index").arg(sb.photos()), 120);
    assert!(!out.status.success());
    assert!(
        texts(&out).1.contains(&dir.display().to_string()),
        "{}",
        texts(&out).1
    );
    fails(
        "search with the index folder a file",
        &["search", "--folder", sb.photos().to_str().unwrap()],
        &dir.display().to_string(),
    );
    fs::remove_file(&dir).unwrap();

    // The index file is a folder.
    fs::create_dir_all(dir.join("vectors.bin")).unwrap();
    let out = run_within(cli(&sb).arg("index").arg(sb.photos()), 120);
    let (_, stderr) = texts(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("vectors.bin"), "{stderr}");
    fs::remove_dir_all(&dir).unwrap();

    // A read-only index folder (only meaningful where permissions apply).
    let out = run_within(cli(&sb).arg("index").arg(sb.photos()), 120);
    assert!(out.status.success());
    if !ignores_permissions(sb.dir.path()) {
        fs::write(
            sb.photos().join("new.jpg"),
            fs::read(fixture("cat.jpg")).unwrap(),
        )
        .unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
        let out = run_within(cli(&sb).arg("index").arg(sb.photos()), 120);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!out.status.success());
        assert!(texts(&out).1.contains("cannot"), "{}", texts(&out).1);
    }

    // A full disk: a 200 KB file system as the data directory, where this machine allows one.
    let small = sb.dir.path().join("small-disk");
    fs::create_dir(&small).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=200k", "tmpfs"])
        .arg(&small)
        .output()
        .is_ok_and(|o| o.status.success());
    if mounted {
        // 60 photos need about 300 KB of index.
        let many = sb.dir.path().join("many");
        small_photos(&many, 60);
        let out = run_within(
            cli(&sb)
                .env("PHOTO_SIM_DATA_DIR", &small)
                .arg("index")
                .arg(&many),
            300,
        );
        let _ = std::process::Command::new("umount").arg(&small).status();
        let (_, stderr) = texts(&out);
        assert!(!out.status.success());
        assert!(stderr.contains("No space left"), "{stderr}");
    } else {
        eprintln!("(no tmpfs mount allowed here: the full-disk case was not run)");
    }
}

#[test]
fn a_run_waits_for_another_process_and_neither_loses_the_others_work() {
    let sb = Sandbox::new();
    let photos = sb.photos();
    small_photos(&photos, 12);
    // Run A: paused right after its first checkpoint (its events go through a channel with no
    // room, so it stops at the next one until they are read).
    let a = Library::open(&photos, &sb.store(), model())
        .unwrap()
        .with_checkpoint_every(Duration::ZERO);
    let mut b = None;
    common::update_stepwise(&a, |event| {
        if !matches!(event, Event::Saved { .. }) || b.is_some() {
            return;
        }
        // Meanwhile: two photos deleted, two added, and run B (another process) indexes.
        fs::remove_file(photos.join("0000.jpg")).unwrap();
        fs::remove_file(photos.join("0011.jpg")).unwrap();
        common::save_jpeg(
            &common::synthetic(100, 160, 120),
            &photos.join("new1.jpg"),
            90,
        );
        common::save_jpeg(
            &common::synthetic(101, 160, 120),
            &photos.join("new2.jpg"),
            90,
        );
        let spawned = cli(&sb)
            .args(["index", "--json"])
            .arg(&photos)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        b = Some(spawned);
        // B must wait for A rather than race it; give it time to show that it waits.
        std::thread::sleep(Duration::from_secs(3));
    })
    .unwrap();
    let out = b
        .expect("a checkpoint of run A")
        .wait_with_output()
        .unwrap();
    let (_, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("waiting for it to finish"), "{stderr}");
    // Whoever finished last, the index is the folder as it is now.
    let reopened = sb.open();
    let mut names: Vec<String> = reopened
        .vectors()
        .iter()
        .map(|(p, _)| common::file_name(p))
        .collect();
    names.sort();
    let mut want: Vec<String> = fs::read_dir(&photos)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    want.sort();
    assert_eq!(names, want);
    let again = reopened
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!((again.embedded, again.removed), (0, 0));
}

#[test]
fn temp_files_left_by_a_killed_save_are_removed_by_the_next_run_or_open() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 2);
    let (lib, _) = sb.index();
    let stale = lib.index_dir().join(".vectors.bin.4242424.tmp");
    fs::write(&stale, vec![0u8; 1000]).unwrap();
    lib.update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert!(!stale.exists());
    fs::write(&stale, vec![0u8; 1000]).unwrap();
    drop(lib);
    sb.open();
    assert!(!stale.exists());
}

#[test]
fn checkpoints_cost_what_they_add_not_a_rewrite_of_the_index() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 40);
    let lib = sb.open().with_checkpoint_every(Duration::ZERO);
    let mut checkpoints = 0;
    let summary = run_update(&lib, &UpdateOptions::default(), &CancelToken::new(), |e| {
        if matches!(e, Event::Saved { .. }) {
            checkpoints += 1;
        }
    })
    .unwrap();
    let size = fs::metadata(lib.index_dir().join("vectors.bin"))
        .unwrap()
        .len();
    assert!(checkpoints >= 10, "{checkpoints} checkpoints");
    assert!(
        summary.bytes_written < 3 * size,
        "{} bytes written for a {size}-byte index with {checkpoints} checkpoints",
        summary.bytes_written
    );
    assert!(!lib.index_dir().join("journal.bin").exists());
    assert_eq!(sb.open().len(), 40);
}

#[test]
fn a_file_renamed_mid_run_is_picked_up_by_the_next_run_not_reported_unreadable() {
    let sb = Sandbox::new();
    let photos = sb.photos();
    small_photos(&photos, 30);
    let lib = sb.open();
    let mut renamed = false;
    let summary = run_update(&lib, &UpdateOptions::default(), &CancelToken::new(), |e| {
        if matches!(e, Event::Progress { .. }) && !renamed {
            renamed = true;
            for i in 25..30 {
                let from = photos.join(format!("{i:04}.jpg"));
                fs::rename(&from, photos.join(format!("renamed-{i}.jpg"))).unwrap();
            }
        }
    })
    .unwrap();
    assert!(summary.vanished >= 1, "{summary:?}");
    assert!(
        summary.skipped.is_empty(),
        "nothing is reported unreadable: {:?}",
        summary.skipped
    );
    let next = lib
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(next.embedded, 5);
    assert_eq!(lib.len(), 30);
}

#[test]
fn odd_file_names_print_losslessly_one_per_line() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    let photos = sb.photos();
    let cat = fs::read(fixture("cat.jpg")).unwrap();
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9.jpg");
    fs::write(photos.join(latin1), &cat).unwrap();
    fs::write(photos.join("two\nlines.jpg"), &cat).unwrap();
    common::save_jpeg(
        &common::synthetic(3, 160, 120),
        &photos.join("other.jpg"),
        90,
    );
    assert!(run_within(cli(&sb).arg("index").arg(&photos), 120)
        .status
        .success());

    let out = run_within(
        cli(&sb)
            .args(["search", "--json", "-k", "3"])
            .arg(photos.join(latin1)),
        120,
    );
    let answer = json(&out);
    let first = &answer["results"][0];
    let bytes: Vec<u8> = first["path_bytes"]
        .as_array()
        .expect("a non-UTF-8 name has its exact bytes")
        .iter()
        .map(|b| b.as_u64().unwrap() as u8)
        .collect();
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(&bytes));
    assert!(path.is_file(), "{path:?} exists");
    assert_eq!(path.file_name().unwrap(), latin1);

    let out = run_within(
        cli(&sb)
            .args(["search", "-k", "3"])
            .arg(photos.join("other.jpg")),
        120,
    );
    let (stdout, _) = texts(&out);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stdout.contains(r#"two\nlines.jpg""#), "{stdout}");
    assert!(stdout.contains(r#"caf\xe9.jpg""#), "{stdout}");
}

#[test]
fn sigterm_saves_the_work_like_ctrl_c() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 150);
    let dir = index_dir(&sb);
    let child = common::spawn_indexing(&sb, 100);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !dir.join("journal.bin").exists() {
        assert!(std::time::Instant::now() < deadline, "no checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill takes any pid and signal; this pid is our own child's.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let lib = sb.open();
    assert!(!lib.is_empty() && lib.len() < 150, "{} saved", lib.len());
    assert_eq!(lib.status(), &photo_sim_engine::IndexStatus::Loaded);
    assert!(
        !dir.join("journal.bin").exists(),
        "compacted on the way out"
    );
}

#[test]
fn photos_on_a_drive_mounted_inside_the_library_are_kept_while_it_is_not_mounted() {
    // A second file system stands in for the drive: a folder on the tmpfs of /dev/shm, linked
    // into the library (the scan follows links). Unmounting leaves an empty mount point.
    let Ok(drive) = tempfile::tempdir_in("/dev/shm") else {
        return;
    };
    let sb = Sandbox::new();
    let p = sb.photos();
    small_photos(&p.join("local"), 6);
    use std::os::unix::fs::MetadataExt;
    if fs::metadata(drive.path()).unwrap().dev() == fs::metadata(&p).unwrap().dev() {
        return; // No second file system here.
    }
    let on_drive = drive.path().join("nas");
    for seed in 0..4u64 {
        fs::create_dir_all(&on_drive).unwrap();
        common::save_jpeg(
            &common::synthetic(500 + seed, 160, 120),
            &on_drive.join(format!("{seed}.jpg")),
            90,
        );
    }
    std::os::unix::fs::symlink(&on_drive, p.join("nas")).unwrap();
    let (lib, s) = sb.index();
    assert_eq!((s.embedded, lib.len()), (10, 10));

    // Unmounted: 40 % of the library gone at once, which the mass-removal guard lets through.
    fs::remove_file(p.join("nas")).unwrap();
    fs::create_dir(p.join("nas")).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    let s = lib
        .update(&UpdateOptions::default(), Some(&tx), &CancelToken::new())
        .unwrap();
    assert_eq!((s.removed, s.kept_missing, lib.len()), (0, 4, 10));
    let said = rx.try_iter().any(|e| {
        matches!(&e, Event::Notice(text) if text.contains("not mounted") && text.contains("nas"))
    });
    assert!(said, "the person is told why the photos are kept");

    // Mounted again, one photo deleted on the drive: that one goes.
    fs::remove_dir(p.join("nas")).unwrap();
    std::os::unix::fs::symlink(&on_drive, p.join("nas")).unwrap();
    fs::remove_file(on_drive.join("0.jpg")).unwrap();
    let s = lib
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!((s.removed, s.kept_missing, lib.len()), (1, 0, 9));
}
