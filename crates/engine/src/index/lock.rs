//! One writer per index: an OS advisory lock on `lock` in the index folder, held for the whole
//! of an update, so two processes (the app and the CLI, or two CLIs) never overwrite each
//! other's work. The OS releases it when the process dies, so a crash never leaves it stuck.

use crate::error::{Error, Result};
use crate::progress::CancelToken;
use std::fs;
use std::path::Path;
use std::time::Duration;

/// Held while an update runs; dropping it releases the lock.
pub struct IndexLock {
    _file: fs::File,
}

const POLL: Duration = Duration::from_millis(100);

impl IndexLock {
    /// Takes the lock of the index in `dir`. When another process holds it, `waiting` is
    /// called once and the lock is polled until it is free, or `None` is returned if `cancel`
    /// is set meanwhile.
    pub fn acquire(
        dir: &Path,
        cancel: &CancelToken,
        waiting: impl FnOnce(),
    ) -> Result<Option<Self>> {
        fs::create_dir_all(dir).map_err(Error::store("create the index folder", dir))?;
        let path = dir.join("lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::store("create the lock file", &path))?;
        let mut waiting = Some(waiting);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(Self { _file: file })),
                Err(fs::TryLockError::WouldBlock) => {
                    if let Some(w) = waiting.take() {
                        w();
                    }
                    if cancel.is_cancelled() {
                        return Ok(None);
                    }
                    std::thread::sleep(POLL);
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(Error::store("lock", &path)(e));
                }
            }
        }
    }
}

impl IndexLock {
    /// The lock of an existing index folder if no one holds it now (never waits, never creates
    /// the folder).
    pub fn try_now(dir: &Path) -> Option<Self> {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .ok()?;
        file.try_lock().ok()?;
        Some(Self { _file: file })
    }

    /// True when an update holds the lock of the existing index folder `dir` now (in another
    /// process, or in this one). Never waits, never creates the folder; a lock that cannot
    /// be read at all is not taken for a held one.
    pub fn is_held(dir: &Path) -> bool {
        let Ok(file) = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
        else {
            return false;
        };
        matches!(file.try_lock(), Err(fs::TryLockError::WouldBlock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_waits_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let first = IndexLock::acquire(dir.path(), &CancelToken::new(), || {})
            .unwrap()
            .unwrap();
        let cancel = CancelToken::new();
        let (told, told_rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let second = s.spawn(|| {
                IndexLock::acquire(dir.path(), &cancel, move || told.send(()).unwrap())
                    .unwrap()
                    .is_some()
            });
            told_rx.recv().unwrap();
            drop(first);
            assert!(second.join().unwrap(), "got the lock once it was free");
        });
        // Waiting can be cancelled.
        let held = IndexLock::acquire(dir.path(), &CancelToken::new(), || {}).unwrap();
        let cancel = CancelToken::new();
        cancel.cancel();
        assert!(IndexLock::acquire(dir.path(), &cancel, || {})
            .unwrap()
            .is_none());
        drop(held);
    }

    #[test]
    fn a_held_lock_is_seen_without_being_taken() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!IndexLock::is_held(&dir.path().join("no such folder")));
        assert!(!IndexLock::is_held(dir.path()));
        let held = IndexLock::acquire(dir.path(), &CancelToken::new(), || {}).unwrap();
        assert!(IndexLock::is_held(dir.path()));
        drop(held);
        assert!(!IndexLock::is_held(dir.path()));
        assert!(
            IndexLock::try_now(dir.path()).is_some(),
            "looking left it free"
        );
    }
}
