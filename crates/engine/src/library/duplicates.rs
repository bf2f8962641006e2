//! Duplicate groups as the person wants them. The pairs of photos at least a threshold alike
//! are found once for a state of the index ([`Pairs`], kept until the index changes), then
//! grouped at any higher threshold, around keepers chosen by a [`KeeperRule`], without the
//! photos a remembered decision keeps apart ([`Decisions`]): the app's similarity slider and
//! keeper choices regroup at once, with no new pass over the vectors or the files.

use super::decisions::Decisions;
use super::{gather_or_nothing, Library, Photo, Snapshot};
use crate::error::{Error, Result};
use crate::index::store::path_from_bytes;
use crate::query::duplicates::{at_least, group_apart, neighbours, MAX_PAIRS_PER_PHOTO};
use crate::query::shot;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

/// A group of duplicates: the photo to keep and the others, with their similarity to it.
#[derive(Clone, Debug, PartialEq)]
pub struct DuplicateGroup {
    /// The photo the keeper rule chose to keep.
    pub keeper: Photo,
    /// The other photos of the group, each with its similarity to the keeper, most alike first.
    pub members: Vec<(Photo, f32)>,
}

impl DuplicateGroup {
    /// The keeper, then the other members.
    pub fn photos(&self) -> impl Iterator<Item = &Photo> {
        std::iter::once(&self.keeper).chain(self.members.iter().map(|(p, _)| p))
    }

    /// Bytes freed by removing every member but the keeper.
    pub fn reclaimable(&self) -> u64 {
        self.members.iter().map(|(p, _)| p.bytes).sum()
    }
}

/// What decides between the photos of a group once reference folders and originals have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Prefer {
    /// Most pixels, then the largest file, then the oldest.
    #[default]
    MostPixels,
    /// The largest file, then most pixels, then the oldest.
    Largest,
    /// The oldest (by [`Photo::date`]), then most pixels, then the largest file.
    Oldest,
}

impl Prefer {
    /// Every choice, in the order menus list them.
    pub const ALL: [Prefer; 3] = [Prefer::MostPixels, Prefer::Largest, Prefer::Oldest];

    /// The choice in words ("most pixels").
    pub fn words(self) -> &'static str {
        match self {
            Prefer::MostPixels => "most pixels",
            Prefer::Largest => "largest file",
            Prefer::Oldest => "oldest",
        }
    }
}

/// How the keeper of a group is chosen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeeperRule {
    /// Reference folders: a photo inside one is kept before any other (the person's own
    /// archive, never to be thinned out). Paths as the library names them (canonical).
    pub reference: Vec<PathBuf>,
    /// A camera original (RAW or HEIC) is kept before a JPEG or another conversion of it.
    pub originals_first: bool,
    /// What decides after that.
    pub prefer: Prefer,
}

impl KeeperRule {
    /// The rule in words, best first ("most pixels, then the largest file, then the oldest
    /// by the camera's date").
    pub fn describe(&self) -> String {
        let mut steps = Vec::new();
        if !self.reference.is_empty() {
            steps.push("a photo in a reference folder");
        }
        if self.originals_first {
            steps.push("a RAW or HEIC original");
        }
        let (pixels, largest, oldest) = (
            "most pixels",
            "the largest file",
            "the oldest by the camera's date",
        );
        steps.extend(match self.prefer {
            Prefer::MostPixels => [pixels, largest, oldest],
            Prefer::Largest => [largest, pixels, oldest],
            Prefer::Oldest => [oldest, pixels, largest],
        });
        steps.join(", then ")
    }

    /// True for a photo inside a reference folder.
    pub fn protects(&self, path: &Path) -> bool {
        self.reference.iter().any(|r| path.starts_with(r))
    }

    /// The keeper rule, best first: a photo in a reference folder, then (if asked) a camera
    /// original, then by [`Prefer`], then by path (so the choice never depends on the order
    /// of the index). Dates are [`Photo::date`]: a copy keeps the camera's date, not the file's.
    pub fn first(&self, a: &Photo, b: &Photo) -> Ordering {
        let pixels = |p: &Photo| p.pixels.map_or(0, |(w, h)| w as u64 * h as u64);
        let original = |p: &Photo| self.originals_first && shot::is_original(&p.path);
        let most_pixels = || pixels(b).cmp(&pixels(a));
        let largest = || b.bytes.cmp(&a.bytes);
        let oldest = || {
            a.date()
                .cmp(&b.date())
                .then(a.modified_ns.cmp(&b.modified_ns))
        };
        let by = match self.prefer {
            Prefer::MostPixels => most_pixels().then_with(largest).then_with(oldest),
            Prefer::Largest => largest().then_with(most_pixels).then_with(oldest),
            Prefer::Oldest => oldest().then_with(most_pixels).then_with(largest),
        };
        self.protects(&b.path)
            .cmp(&self.protects(&a.path))
            .then(original(b).cmp(&original(a)))
            .then(by)
            .then(a.path.cmp(&b.path))
    }
}

/// Every pair of indexed photos at least `lowest` alike, and the photos they join (read from
/// their files once): groups at any threshold from `lowest` up are formed from them.
pub struct Pairs {
    lowest: f32,
    /// For each row, the rows at least `lowest` alike with it, sorted by row.
    lists: Vec<Vec<(u32, f32)>>,
    /// The photo of each row that has a pair.
    photos: Vec<Option<Photo>>,
}

impl Pairs {
    /// How many pairs of photos are at least `threshold` alike.
    pub fn count(&self, threshold: f32) -> usize {
        let each_twice: usize = self
            .lists
            .iter()
            .map(|l| l.iter().filter(|&&(_, s)| s >= threshold).count())
            .sum();
        each_twice / 2
    }

    /// The lowest threshold these pairs can be grouped at.
    pub fn lowest(&self) -> f32 {
        self.lowest
    }

    /// Groups of photos at least `threshold` alike (never below [`Pairs::lowest`]), largest
    /// first, each around the keeper `rule` chooses; two photos that a decision in `apart`
    /// keeps apart are never grouped together.
    pub fn groups(
        &self,
        threshold: f32,
        rule: &KeeperRule,
        apart: &Decisions,
    ) -> Vec<DuplicateGroup> {
        // The decisions each photo is in: two photos in one are kept apart.
        let sets: Vec<&[usize]> = self
            .photos
            .iter()
            .map(|p| p.as_ref().map_or(&[][..], |p| apart.sets_of(&p.path)))
            .collect();
        let kept_apart = |i: usize, j: usize| sets[i].iter().any(|s| sets[j].contains(s));
        let lists = self.lists_at(threshold, (!apart.is_empty()).then_some(&kept_apart));
        let photo = |row: usize| {
            self.photos[row]
                .as_ref()
                .expect("grouped rows are described")
        };
        let better = |a: usize, b: usize| rule.first(photo(a), photo(b));
        group_apart(&lists, better, kept_apart)
            .into_iter()
            .filter_map(|g| {
                let keeper = photo(g.keeper).clone();
                // The RAW and the JPEG of one shot are one photo, not a copy to remove.
                let members: Vec<(Photo, f32)> = g
                    .members
                    .into_iter()
                    .map(|(r, s)| (photo(r).clone(), s))
                    .filter(|(p, _)| !shot::same_shot(&keeper.path, &p.path))
                    .collect();
                (!members.is_empty()).then_some(DuplicateGroup { keeper, members })
            })
            .collect()
    }

    /// The pair lists at `threshold`, less the pairs `kept_apart` says (the lists as they are
    /// when nothing is taken out).
    fn lists_at(
        &self,
        threshold: f32,
        kept_apart: Option<&dyn Fn(usize, usize) -> bool>,
    ) -> Cow<'_, [Vec<(u32, f32)>]> {
        match kept_apart {
            None if threshold <= self.lowest => Cow::Borrowed(&self.lists),
            None => Cow::Owned(at_least(&self.lists, threshold)),
            Some(apart) => Cow::Owned(
                self.lists
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        l.iter()
                            .copied()
                            .filter(|&(j, s)| s >= threshold && !apart(i, j as usize))
                            .collect()
                    })
                    .collect(),
            ),
        }
    }
}

/// The last [`Pairs`] found, and the index state they were found in.
#[derive(Default)]
pub(crate) struct PairsCache(Mutex<Option<(Weak<Snapshot>, Arc<Pairs>)>>);

impl Library {
    /// Every pair of photos at least `lowest` alike (see [`Pairs`]), kept while the index
    /// does not change: asking again, at `lowest` or higher, costs nothing.
    /// [`Error::TooManyPairs`] when the threshold pairs more photos than
    /// [`MAX_PAIRS_PER_PHOTO`] allows (a threshold that calls unrelated photos alike).
    pub fn pairs(&self, lowest: f32) -> Result<Arc<Pairs>> {
        let snap = self.current();
        let mut cache = self
            .pair_cache
            .0
            .lock()
            // A panic while pairs were found (a decoder reading a header) left none cached:
            // they are found again.
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((of, pairs)) = &*cache {
            if of.upgrade().is_some_and(|s| Arc::ptr_eq(&s, &snap)) && pairs.lowest <= lowest {
                return Ok(pairs.clone());
            }
        }
        let pairs = Arc::new(self.find_pairs(&snap, lowest)?);
        *cache = Some((Arc::downgrade(&snap), pairs.clone()));
        Ok(pairs)
    }

    fn find_pairs(&self, snap: &Snapshot, lowest: f32) -> Result<Pairs> {
        let v = &snap.vectors;
        let limit = v.len().saturating_mul(MAX_PAIRS_PER_PHOTO);
        let dim = v.dim as usize;
        let lists = match &snap.speedups.codes {
            Some(codes) if v.len() >= self.tuning.compact_threshold => {
                let gather = |rows: &[usize]| gather_or_nothing(&v.data, rows, dim);
                crate::query::blocked::neighbours(codes, &gather, lowest, limit)
            }
            _ => neighbours(&v.data, dim, lowest, limit),
        };
        v.data.release();
        let lists = lists.ok_or(Error::TooManyPairs {
            threshold: lowest,
            limit,
        })?;
        let photos = (0..v.len())
            .into_par_iter()
            .map(|row| {
                (!lists[row].is_empty()).then(|| {
                    let e = &v.entries[row];
                    let path = self.root.join(path_from_bytes(&e.path));
                    let (pixels, taken) = crate::decode::details::pixels_and_date(&path);
                    Photo {
                        pixels,
                        bytes: e.fingerprint.size,
                        modified_ns: e.fingerprint.mtime_ns,
                        taken,
                        content: e.content,
                        path,
                    }
                })
            })
            .collect();
        Ok(Pairs {
            lowest,
            lists,
            photos,
        })
    }

    /// Groups of photos at least `min_similarity` alike, largest first, each around a keeper
    /// chosen by the default [`KeeperRule`] (no new embedding is computed; see
    /// [`Library::pairs`] for when it fails).
    pub fn duplicates(&self, min_similarity: f32) -> Result<Vec<DuplicateGroup>> {
        self.duplicates_with(min_similarity, &KeeperRule::default())
    }

    /// [`Library::duplicates`] with the keepers chosen by `rule`.
    pub fn duplicates_with(
        &self,
        min_similarity: f32,
        rule: &KeeperRule,
    ) -> Result<Vec<DuplicateGroup>> {
        Ok(self
            .pairs(min_similarity)?
            .groups(min_similarity, rule, &Decisions::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(name: &str, pixels: u32, bytes: u64, taken: &str) -> Photo {
        Photo {
            path: PathBuf::from(name),
            pixels: Some((pixels, pixels)),
            bytes,
            modified_ns: 0,
            taken: Some(taken.to_string()),
            content: None,
        }
    }

    #[test]
    fn the_keeper_rule_prefers_what_the_person_chose() {
        let big_jpeg = photo("/a/big.jpg", 4000, 3_000_000, "2020-01-02 10:00");
        let heavy_png = photo("/a/heavy.png", 3000, 9_000_000, "2021-01-01 10:00");
        let old_raw = photo("/a/old.cr2", 2000, 2_000_000, "2019-05-05 10:00");
        let photos = [&big_jpeg, &heavy_png, &old_raw];
        let keeper = |rule: &KeeperRule| {
            photos
                .iter()
                .min_by(|a, b| rule.first(a, b))
                .map(|p| p.path.clone())
                .unwrap()
        };
        let rule = |prefer, originals_first| KeeperRule {
            prefer,
            originals_first,
            ..KeeperRule::default()
        };
        assert_eq!(keeper(&rule(Prefer::MostPixels, false)), big_jpeg.path);
        assert_eq!(keeper(&rule(Prefer::Largest, false)), heavy_png.path);
        assert_eq!(keeper(&rule(Prefer::Oldest, false)), old_raw.path);
        assert_eq!(keeper(&rule(Prefer::MostPixels, true)), old_raw.path);
        let archive = KeeperRule {
            reference: vec![PathBuf::from("/a/heavy.png")],
            ..rule(Prefer::Oldest, true)
        };
        assert_eq!(keeper(&archive), heavy_png.path, "reference folders first");
    }
}
