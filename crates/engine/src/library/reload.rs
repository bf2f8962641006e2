//! Following another process's saves: a library open for long (the app's) reads its index
//! again when another process (`photo-sim index`, another window) saved it since this one
//! last read or wrote it, so its count and its answers follow (a large library's at the other's
//! saves, not at its checkpoints). The index files' stamp tells;
//! while this library's own update runs nothing is read here, since that update reads what
//! others saved itself when it starts and owns the index until it ends.

use crate::index::lock::IndexLock;
use crate::library::{stamp, Library};

impl Library {
    /// Reads the index again when another process saved it (a checkpoint or a whole index)
    /// since this library last read or wrote it, and lets queries see it at once; returns the
    /// number of photos indexed now, or `None` when nothing changed or this library's own
    /// update is running. Cheap when nothing changed: two `stat`s.
    pub fn reload_if_changed(&self) -> Option<usize> {
        let mut known = self.updating.try_lock().ok()?;
        if *known == Some(stamp(&self.dir)) {
            return None;
        }
        // The checkpoints of another's update of a large library are not replayed: that would
        // copy the whole index into memory at each of them. Its photos are seen when it saves.
        let mut disk = self.read_disk(|saved| !self.is_large(saved.len(), saved.dim as usize));
        self.publish(disk.snapshot());
        *known = Some(disk.stamp);
        Some(self.len())
    }

    /// True while an update of this index runs, in another process or in this one (it holds
    /// the index lock). Its checkpoints are what a reader sees meanwhile.
    pub fn update_running(&self) -> bool {
        IndexLock::is_held(&self.dir)
    }
}
