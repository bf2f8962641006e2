//! kill -9 at random moments: an indexing process is killed again and again, with checkpoints
//! every few milliseconds so that kills land in the middle of saves too. Every next run must
//! load what was saved (never a damaged index), keep all of it, and leave no temp file.

mod common;

use common::{small_photos, spawn_indexing, Sandbox};
use photo_sim_engine::IndexStatus;
use std::time::{Duration, Instant};

#[test]
fn kill_9_at_random_moments_loses_at_most_the_last_checkpoint() {
    let sb = Sandbox::new();
    let mut total = 120;
    small_photos(&sb.photos(), total);
    let dir = sb.store().index_dir(&sb.photos().canonicalize().unwrap());
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut saved = 0;
    let started = Instant::now();
    let mut kills = 0;
    // Bounded in time: at most 20 kills or 3 minutes.
    while kills < 20 && started.elapsed() < Duration::from_secs(180) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = spawn_indexing(&sb, 20);
        // Model loading takes about a second; kill anywhere from before it ends to well after.
        std::thread::sleep(Duration::from_millis(500 + seed % 2500));
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;

        let lib = sb.open();
        assert!(
            matches!(lib.status(), IndexStatus::Loaded | IndexStatus::Missing),
            "kill {kills}: {:?} {:?}",
            lib.status(),
            lib.notices()
        );
        assert!(
            lib.notices()
                .iter()
                .all(|n| n.contains("Recovered") || n.contains("was not complete")),
            "kill {kills}: {:?}",
            lib.notices()
        );
        assert!(
            lib.len() >= saved,
            "kill {kills}: {} photos after {saved} were saved",
            lib.len()
        );
        saved = lib.len();
        // New photos keep every run busy.
        for seed in total..total + 15 {
            common::save_jpeg(
                &common::synthetic(seed, 160, 120),
                &sb.photos().join(format!("{seed:04}.jpg")),
                90,
            );
        }
        total += 15;
    }
    assert!(kills >= 10, "only {kills} kills");
    // The last run finishes: it embeds exactly what no run saved, and cleans up.
    let lib = sb.open();
    let before = lib.len();
    let summary = lib
        .update(
            &photo_sim_engine::UpdateOptions::default(),
            None,
            &photo_sim_engine::CancelToken::new(),
        )
        .unwrap();
    assert_eq!(summary.embedded, total as usize - before);
    assert_eq!(lib.len(), total as usize);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n == "journal.bin")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    eprintln!("{kills} kills; {before} of {total} photos were saved by the killed runs");
}
