//! What the person decided about duplicate groups, remembered beside the index
//! (`decisions.bin`) so a rescan, a restart or the CLI never proposes them again: these
//! photos are not duplicates of each other, or they are and all of them stay. Two photos of
//! one decision are never grouped together again; a new photo still joins either of them.
//! Photos are named by their path in the folder, so a decision follows the folder wherever it
//! is mounted.

use super::Library;
use crate::error::{Error, Result};
use crate::index::format::{self, Kind, LoadError};
use crate::index::store::{path_bytes, path_from_bytes};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The decisions file, in the folder's index directory.
const DECISIONS_FILE: &str = "decisions.bin";
/// Where a decisions file that cannot be read is kept.
const DAMAGED_FILE: &str = "decisions.damaged.bin";
/// Decisions are about files, not vectors: they outlive a change of model.
const ANY_MODEL: [u8; 32] = [0; 32];
/// The layout of [`Stored`]; bumped when it changes.
const VERSION: u32 = 1;

/// What the person said of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The photos only look alike: they are not copies of each other.
    NotDuplicates,
    /// They are copies, and every one of them stays.
    KeepAll,
}

impl Verdict {
    /// The verdict in words ("not duplicates").
    pub fn words(self) -> &'static str {
        match self {
            Verdict::NotDuplicates => "not duplicates",
            Verdict::KeepAll => "keep all",
        }
    }
}

/// One decision: photos (absolute paths) never grouped together again.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// What was said of them.
    pub verdict: Verdict,
    /// The photos it is about.
    pub photos: Vec<PathBuf>,
}

/// Every decision about a folder's photos, with which decisions each photo is in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decisions {
    list: Vec<Decision>,
    of: HashMap<PathBuf, Vec<usize>>,
}

impl Decisions {
    fn new(list: Vec<Decision>) -> Self {
        let mut of: HashMap<PathBuf, Vec<usize>> = HashMap::new();
        for (i, d) in list.iter().enumerate() {
            for p in &d.photos {
                of.entry(p.clone()).or_default().push(i);
            }
        }
        Self { list, of }
    }

    /// The decisions, oldest first.
    pub fn list(&self) -> &[Decision] {
        &self.list
    }

    /// How many decisions there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when nothing was decided.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The decisions `path` is in (by their place in [`Decisions::list`]).
    pub(crate) fn sets_of(&self, path: &Path) -> &[usize] {
        self.of.get(path).map_or(&[], Vec::as_slice)
    }

    /// True when a decision keeps `a` and `b` apart.
    pub fn apart(&self, a: &Path, b: &Path) -> bool {
        let of_b = self.sets_of(b);
        self.sets_of(a).iter().any(|s| of_b.contains(s))
    }
}

/// The decisions file's content: paths relative to the folder, as raw bytes.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    list: Vec<(Verdict, Vec<Vec<u8>>)>,
}

impl Library {
    fn decisions_file(&self) -> PathBuf {
        self.dir.join(DECISIONS_FILE)
    }

    /// The decisions kept for this folder (none if nothing was decided).
    /// [`Error::Decisions`] when the file cannot be used. A damaged one (or not ours) is set
    /// aside first (`decisions.damaged.bin`, or `decisions.damaged.N.bin` beside an older
    /// one), so this says so once and deciding goes on afresh; one that cannot be read now, or
    /// that a newer photo-sim wrote, is left as it is.
    pub fn decisions(&self) -> Result<Decisions> {
        let file = self.decisions_file();
        let stored = match format::load::<Stored>(&file, Kind::Decisions, ANY_MODEL) {
            Ok(loaded) if loaded.meta.version == VERSION => loaded.meta,
            Ok(loaded) => {
                let cause = LoadError::Version {
                    found: loaded.meta.version,
                };
                return Err(self.unusable(cause, false));
            }
            Err(LoadError::Missing) => return Ok(Decisions::default()),
            Err(e @ (LoadError::Corrupt(_) | LoadError::NotOurs)) => {
                return Err(self.unusable(e, true))
            }
            Err(e) => return Err(self.unusable(e, false)),
        };
        let list = stored
            .list
            .into_iter()
            .map(|(verdict, photos)| Decision {
                verdict,
                photos: photos
                    .iter()
                    .map(|p| self.root.join(path_from_bytes(p)))
                    .collect(),
            })
            .collect();
        Ok(Decisions::new(list))
    }

    /// The error for a decisions file that cannot be used because of `cause`, after setting
    /// it aside when `damaged` (under a name no other file has).
    fn unusable(&self, cause: LoadError, damaged: bool) -> Error {
        let file = self.decisions_file();
        let aside = damaged
            .then(|| {
                (0..100)
                    .map(|n| match n {
                        0 => self.dir.join(DAMAGED_FILE),
                        n => self.dir.join(format!("decisions.damaged.{n}.bin")),
                    })
                    .find(|p| !p.exists())
            })
            .flatten()
            .filter(|aside| std::fs::rename(&file, aside).is_ok());
        Error::Decisions {
            path: file,
            cause,
            aside,
        }
    }

    /// Remembers that `photos` (of this folder) are `verdict`: they are never grouped
    /// together again. Returns every decision now kept. A damaged decisions file is set
    /// aside, and the decisions start afresh with this one.
    pub fn decide(&self, photos: &[PathBuf], verdict: Verdict) -> Result<Decisions> {
        let mut list = match self.decisions() {
            Ok(decisions) => decisions.list,
            Err(Error::Decisions { aside: Some(_), .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        list.push(Decision {
            verdict,
            photos: photos.to_vec(),
        });
        self.save_decisions(list)
    }

    /// Forgets every decision: all groups are proposed again. Works on a damaged file too.
    pub fn forget_decisions(&self) -> Result<Decisions> {
        self.save_decisions(Vec::new())
    }

    fn save_decisions(&self, list: Vec<Decision>) -> Result<Decisions> {
        let stored = Stored {
            version: VERSION,
            list: list
                .iter()
                .map(|d| {
                    let photos = d
                        .photos
                        .iter()
                        .filter_map(|p| p.strip_prefix(&self.root).ok())
                        .map(|p| path_bytes(p).into_owned())
                        .collect();
                    (d.verdict, photos)
                })
                .collect(),
        };
        let file = self.decisions_file();
        std::fs::create_dir_all(&self.dir).map_err(Error::store("create", &self.dir))?;
        format::save(&file, Kind::Decisions, ANY_MODEL, 0, 0, &stored, &[])
            .map_err(Error::store("write", &file))?;
        Ok(Decisions::new(list))
    }
}
