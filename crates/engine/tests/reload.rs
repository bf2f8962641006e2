//! Two libraries on one folder and one data directory, as the app and `photo-sim index` are:
//! the one that did not write reads what the other saved, checkpoints included, never reads
//! under its own running update, and an update that starts by reading the other's save says
//! so.

#[path = "../../../tests/common/engine.rs"]
mod common;

use common::{save_jpeg, small_photos, synthetic, Sandbox};
use photo_sim_engine::{run_update, CancelToken, Event, Library, UpdateOptions};
use std::time::Duration;

#[test]
fn a_library_reloads_what_another_saved_and_finds_the_new_photos_by_their_stored_vectors() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 6);
    let (writer, _) = sb.index();
    let reader = sb.open();
    assert_eq!(
        reader.reload_if_changed(),
        None,
        "nothing changed since it opened"
    );

    for seed in 100..104 {
        save_jpeg(
            &synthetic(seed, 160, 120),
            &sb.photos().join(format!("new{seed}.jpg")),
            90,
        );
    }
    writer
        .update(&UpdateOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(reader.len(), 6, "nothing is read until asked");
    assert_eq!(reader.reload_if_changed(), Some(10));
    assert_eq!(reader.reload_if_changed(), None, "read once");
    assert_eq!(writer.reload_if_changed(), None, "its own save is no news");

    let new = sb.photos().join("new101.jpg").canonicalize().unwrap();
    let (_, stored) = writer
        .vectors()
        .into_iter()
        .find(|(p, _)| *p == new)
        .expect("the writer indexed the new photo");
    let hit = &reader.search_vector(&stored, 1)[0];
    assert_eq!(hit.path, new);
    assert!(hit.similarity > 0.999, "{}", hit.similarity);
    let first = &reader.search(&new, 1).unwrap()[0];
    assert_eq!(first.path, new, "the new photo finds itself");
}

#[test]
fn a_reader_follows_the_checkpoints_of_a_running_update_and_the_writer_never_reloads_under_it() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 12);
    let writer = sb.open().with_checkpoint_every(Duration::ZERO);
    let reader = sb.open();
    assert!(!reader.update_running());
    let (checkpointed, running, writer_reloaded, reader_reloaded, reader_len) =
        at_first_checkpoint(&writer, |checkpointed| {
            (
                checkpointed,
                reader.update_running(),
                writer.reload_if_changed(),
                reader.reload_if_changed(),
                reader.len(),
            )
        });
    assert!(running);
    assert_eq!(writer_reloaded, None, "its own update is running");
    assert_eq!(reader_reloaded, Some(checkpointed));
    assert_eq!(reader_len, checkpointed);
    assert!(!reader.update_running());
    assert_eq!(reader.reload_if_changed(), Some(12));
    assert_eq!(writer.reload_if_changed(), None);
}

#[test]
fn an_update_that_catches_up_with_another_s_save_tells_that_queries_see_it() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 4);
    let late = sb.open();
    sb.index();
    let mut saved = Vec::new();
    let summary = run_update(&late, &UpdateOptions::default(), &CancelToken::new(), |e| {
        if let Event::Saved { indexed } = e {
            saved.push(indexed);
        }
    })
    .unwrap();
    assert_eq!((summary.embedded, summary.changed), (0, false));
    assert_eq!(
        saved,
        vec![4],
        "the index read, though this run changed nothing"
    );
}

#[test]
fn a_reader_of_a_large_library_sees_another_s_new_photos_when_it_saves_not_at_its_checkpoints() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 6);
    let (_, _) = sb.index();
    for seed in 100..106 {
        save_jpeg(
            &synthetic(seed, 160, 120),
            &sb.photos().join(format!("new{seed}.jpg")),
            90,
        );
    }
    let writer = sb.open().with_checkpoint_every(Duration::ZERO);
    let reader = sb.open().with_large_from(4);
    let (checkpointed, seen) = at_first_checkpoint(&writer, |checkpointed| {
        (checkpointed, reader.reload_if_changed())
    });
    assert!(checkpointed > 6, "{checkpointed}");
    assert_eq!(seen, Some(6), "the log is not replayed");
    assert_eq!(reader.reload_if_changed(), Some(12));
}

/// Runs `writer`'s update on a thread of its own, pausing it at its first checkpoint (its
/// events go through a channel with no room, so it waits at the next one until it is read),
/// where `look` is given the photos checkpointed; then lets it end. What `look` saw is
/// returned once the update has ended, to be asserted: an assertion failing while the writer
/// waits would leave it waiting for ever.
fn at_first_checkpoint<T>(writer: &Library, look: impl FnOnce(usize) -> T) -> T {
    let mut look = Some(look);
    let mut seen = None;
    common::update_stepwise(writer, |e| {
        if let (Event::Saved { indexed }, None) = (e, &seen) {
            seen = look.take().map(|look| look(indexed));
        }
    })
    .unwrap();
    seen.expect("a checkpoint")
}
