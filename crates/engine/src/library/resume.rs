//! The checkpoints of an interrupted run of a large library (killed, or the machine lost
//! power), taken up by the next update instead of being read into memory when the library
//! opens: the log of a million photos' first index holds 5 GB of vectors. Opening notes where
//! each file's vector is in the log ([`journal::read_logged`]); the next update counts those
//! files as embedded and reads their vectors from the log when it saves. Until then queries
//! do not see them. A small library's log is still applied when it opens.

use crate::index::journal::{Change, Logged, Outcome, Replay};
use crate::index::plan::{Done, Failure, Held};
use crate::index::scan::Fingerprint;
use std::collections::HashMap;

/// What the log of an interrupted run says each file became (the last word on each).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    by_path: HashMap<Vec<u8>, Change<Logged>>,
}

impl Pending {
    /// The files of `replay`, each as its last change says.
    pub(crate) fn of(replay: Replay<Logged>) -> Self {
        let by_path = replay
            .changes
            .into_iter()
            .map(|c| (c.path.clone(), c))
            .collect();
        Self { by_path }
    }

    /// Files with a vector in the log.
    pub(crate) fn vectors(&self) -> usize {
        self.by_path
            .values()
            .filter(|c| matches!(c.outcome, Outcome::Vector(_)))
            .count()
    }

    /// What the interrupted run made of the file at `path`, when it is still the file that run
    /// read: its vector (in the log, the run's log `log`), or a failure that lasts. A failure
    /// of the system it ran in is tried again.
    pub(crate) fn done(&self, path: &[u8], fingerprint: Fingerprint, log: usize) -> Option<Done> {
        let change = self.by_path.get(path)?;
        if change.fingerprint != fingerprint {
            return None;
        }
        match &change.outcome {
            Outcome::Vector(at) => Some(Done::Embedded(Held::Logged(log, *at), None)),
            Outcome::Failed(reason) => Some(Done::Failed(Failure {
                reason: reason.clone(),
                lasting: true,
            })),
            Outcome::FailedForNow(_) => None,
        }
    }
}
