//! Indexers killed and stopped. kill -9 at random moments: an indexing process is killed again
//! and again, with checkpoints every few milliseconds so that kills land in the middle of saves
//! too; every next run must load what was saved (never a damaged index), keep all of it, and
//! leave no temp file; as must the runs of a large library, which take up the checkpoints of
//! the run killed before them instead of reading them into memory. SIGSTOP during a first indexing: a search beside it must not wait
//! behind it for ever, but answer from its checkpoints or say soon why it cannot.

mod common;

use common::{cli, run_within, small_photos, spawn_indexing, spawn_indexing_with, texts, Sandbox};
use photo_sim_engine::IndexStatus;
use std::process::Child;
use std::time::{Duration, Instant};

#[test]
fn kill_9_at_random_moments_loses_at_most_the_last_checkpoint() {
    kill_9_at_random_moments(&[], 20, 180);
}

#[test]
fn kill_9_at_random_moments_of_a_large_library_loses_at_most_the_last_checkpoint() {
    // Mapped from the first byte: large to the indexer from its first save.
    let large = [(photo_sim_engine::index::format::MAP_FROM_ENV, "0")];
    kill_9_at_random_moments(&large, 10, 90);
}

/// Kills indexing processes run with `env` at random moments, at most `max_kills` times or
/// for `max_seconds`, checking after each kill that nothing saved was lost; then a last run
/// finishes the index.
fn kill_9_at_random_moments(env: &[(&str, &str)], max_kills: usize, max_seconds: u64) {
    let sb = Sandbox::new();
    let mut total = 120;
    small_photos(&sb.photos(), total);
    let dir = sb.store().index_dir(&sb.photos().canonicalize().unwrap());
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut saved = 0;
    let started = Instant::now();
    let mut kills = 0;
    while kills < max_kills && started.elapsed() < Duration::from_secs(max_seconds) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = spawn_indexing_with(&sb, 20, env);
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
    assert!(kills >= max_kills / 2, "only {kills} kills");
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

/// An indexer stopped by SIGSTOP; resumed and killed when dropped, even by a failing test.
struct Stopped(Child);

impl Stopped {
    fn stop(child: Child) -> Self {
        // SAFETY: kill takes any pid and signal; this pid is our own child's.
        unsafe { libc::kill(child.id() as i32, libc::SIGSTOP) };
        Self(child)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGCONT) };
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `ready` holds, failing the test after a minute (naming `what`).
fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_search_beside_a_first_indexing_stopped_before_any_checkpoint_fails_soon_saying_why() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 30);
    let lib = sb.open();
    // No checkpoint within the test's time.
    let indexer = spawn_indexing(&sb, 600_000);
    wait_until("the indexer to take the lock", || lib.update_running());
    let _stopped = Stopped::stop(indexer);
    assert!(sb.open().is_empty(), "stopped before it saved anything");

    let started = Instant::now();
    let out = run_within(cli(&sb).arg("search").arg(sb.photos().join("0003.jpg")), 60);
    let (_, stderr) = texts(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("another photo-sim process is indexing")
            && stderr.contains("try again when it finishes"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(30), "{stderr}");
}

#[test]
fn a_search_beside_a_first_indexing_stopped_after_a_checkpoint_answers_from_it_and_says_so() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 200);
    let lib = sb.open();
    let indexer = spawn_indexing(&sb, 50);
    wait_until("the first checkpoint", || {
        lib.reload_if_changed();
        !lib.is_empty()
    });
    let _stopped = Stopped::stop(indexer);
    assert_eq!(
        *sb.open().status(),
        IndexStatus::Missing,
        "stopped before it saved a finished index"
    );
    lib.reload_if_changed();
    let so_far = lib.len();

    let out = run_within(
        cli(&sb)
            .args(["search", "--json", "-k", "3"])
            .arg(sb.photos().join("0003.jpg")),
        60,
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), so_far.min(3), "{stdout}");
    assert!(
        stderr.contains("another photo-sim process is indexing")
            && stderr.contains("partial")
            && stderr.contains(&format!("{so_far} photos")),
        "{stderr}"
    );
}
