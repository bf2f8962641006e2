//! What the browser asks of a library beyond "the k nearest": a query refined by the photos a
//! person marked "more like this" or "less like this", kept inside one folder or away from it,
//! and answered as tiles: matches that are near-duplicates of each other (a burst, copies of
//! one shot) become one tile around the best of them, so ten tiles show ten different things.

use crate::library::{Library, Match, QueryOptions};
use crate::query::shot::same_shot;
use crate::vector::dot;
use crate::Result;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Which photos a query may return.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// Any photo of the library.
    #[default]
    Everywhere,
    /// Only photos in this folder (or its sub-folders).
    Inside(PathBuf),
    /// No photos in this folder (or its sub-folders).
    Outside(PathBuf),
}

impl Scope {
    /// True when `path` (absolute) is one this scope lets a query return.
    pub fn allows(&self, path: &Path) -> bool {
        match self {
            Scope::Everywhere => true,
            Scope::Inside(dir) => path.starts_with(dir),
            Scope::Outside(dir) => !path.starts_with(dir),
        }
    }
}

/// A browser query: a photo, refined by examples, within a scope.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    /// The query photo (indexed or not).
    pub photo: PathBuf,
    /// Photos the results should look more like.
    pub more: Vec<PathBuf>,
    /// Photos the results should look less like (they are never shown).
    pub less: Vec<PathBuf>,
    /// Where the results may come from.
    pub scope: Scope,
    /// How many tiles to return.
    pub tiles: usize,
    /// How the query photo is compared (with or without its turned copies).
    pub options: QueryOptions,
}

/// One tile of the grid: the best match of a group of near-duplicates, and the others.
#[derive(Clone, Debug, PartialEq)]
pub struct Tile {
    /// The match the tile shows: the most similar of its group.
    pub best: Match,
    /// Near-duplicates of `best` among the results, best first (a burst's other frames).
    pub also: Vec<Match>,
}

impl Tile {
    /// How many photos the tile stands for.
    pub fn count(&self) -> usize {
        1 + self.also.len()
    }

    /// True when the tile is one shot saved twice by the camera, as RAW and as JPEG (or HEIC).
    pub fn is_raw_pair(&self) -> bool {
        matches!(&self.also[..], [other] if same_shot(&self.best.path, &other.path))
    }

    /// The badge of a tile standing for several photos: "JPG+RAW" for a RAW+JPEG pair,
    /// "×N" for a burst or copies.
    pub fn badge(&self) -> Option<String> {
        match self.count() {
            1 => None,
            _ if self.is_raw_pair() => Some("JPG+RAW".into()),
            n => Some(format!("×{n}")),
        }
    }

    fn matches_mut(&mut self) -> impl Iterator<Item = &mut Match> {
        std::iter::once(&mut self.best).chain(self.also.iter_mut())
    }
}

/// How much a rejected photo pulls the query away, against 1 for the photo and each chosen
/// one: enough to push its look-alikes down, not so much that the query loses its subject.
const LESS_WEIGHT: f32 = 0.5;

/// The tiles of `request`, best first. The photo itself and the example photos are left out.
pub fn browse(lib: &Library, request: &Request) -> Result<Vec<Tile>> {
    let photo = lib.query_vectors(&request.photo, &request.options)?;
    let examples = |paths: &[PathBuf]| -> Result<Vec<Vec<f32>>> {
        paths.iter().map(|p| lib.vector_of(p)).collect()
    };
    let mut queries = photo.clone();
    refine(
        &mut queries,
        &examples(&request.more)?,
        &examples(&request.less)?,
    );
    let refined = queries != photo;
    let left_out: HashSet<PathBuf> = std::iter::once(&request.photo)
        .chain(&request.more)
        .chain(&request.less)
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
        .collect();
    let near = lib.model().thresholds().map(|t| t.near);
    let scope = &request.scope;
    let mut wanted = request.tiles * 4 + 8;
    loop {
        let restrict = (*scope != Scope::Everywhere).then_some(|p: &Path| scope.allows(p));
        let found = lib.nearest_with_vectors(
            &queries,
            wanted + left_out.len(),
            restrict
                .as_ref()
                .map(|f| f as &(dyn Fn(&Path) -> bool + Sync)),
        );
        let exhausted = found.len() < wanted + left_out.len();
        let mut found: Vec<_> = found
            .into_iter()
            .filter(|(m, _)| !left_out.contains(&m.path))
            .collect();
        // The refined query ranks the matches; their similarity and words are to the photo.
        if refined {
            lib.score_against(&mut found, &photo);
        }
        let mut tiles = collapse(found, request.tiles, near);
        if tiles.len() >= request.tiles || exhausted {
            mark_identical(lib, &request.photo, &mut tiles);
            return Ok(tiles);
        }
        // Bursts ate the candidates: look much further (each look is a scan of the index).
        wanted *= 8;
    }
}

/// Marks the matches that are byte-for-byte copies of `photo`.
fn mark_identical(lib: &Library, photo: &Path, tiles: &mut [Tile]) {
    let photo = photo.canonicalize().unwrap_or_else(|_| photo.to_path_buf());
    let Some(key) = lib
        .stored_content(&photo)
        .or_else(|| crate::index::content_key::key_of(&photo).ok())
    else {
        return;
    };
    for m in tiles.iter_mut().flat_map(Tile::matches_mut) {
        m.identical = lib.stored_content(&m.path) == Some(key);
    }
}

/// Moves each query vector towards the chosen examples and away from the rejected ones
/// (Rocchio's rule), keeping it a unit vector.
pub fn refine(queries: &mut [Vec<f32>], more: &[Vec<f32>], less: &[Vec<f32>]) {
    if more.is_empty() && less.is_empty() {
        return;
    }
    for q in queries.iter_mut() {
        for m in more {
            q.iter_mut().zip(m).for_each(|(a, b)| *a += b);
        }
        for l in less {
            q.iter_mut().zip(l).for_each(|(a, b)| *a -= LESS_WEIGHT * b);
        }
        let norm = dot(q, q).sqrt();
        if norm > f32::EPSILON {
            q.iter_mut().for_each(|a| *a /= norm);
        }
    }
}

/// Groups matches (best first, each with its vector) into at most `tiles` tiles: a match at
/// least `near` alike to a tile's best, or the other file of its RAW+JPEG pair, joins that
/// tile, as do a copy of the query and the matches near the query; any other starts a new
/// one. Matches
/// past the last tile still join the tiles they belong to, so a "×N" counts the whole burst.
/// Without a threshold every match is its own tile.
pub fn collapse(found: Vec<(Match, Vec<f32>)>, tiles: usize, near: Option<f32>) -> Vec<Tile> {
    use crate::labels::Label;
    let mut out: Vec<(Tile, Vec<f32>)> = Vec::new();
    for (m, v) in found {
        // A copy of the query (found through a turned view, its upright vector may be far from
        // the others') is the query's own shot: it and the matches near the query are one tile.
        let with_query = |a: &Match, b: &Match| {
            a.label.max(b.label) == Some(Label::SamePhoto)
                && a.label.min(b.label) >= Some(Label::NearDuplicate)
        };
        let home = out.iter().position(|(tile, best)| {
            same_shot(&tile.best.path, &m.path)
                || near.is_some_and(|t| dot(best, &v) >= t)
                || with_query(&tile.best, &m)
        });
        match home {
            Some(i) => out[i].0.also.push(m),
            None if out.len() < tiles => out.push((
                Tile {
                    best: m,
                    also: Vec::new(),
                },
                v,
            )),
            None => {}
        }
    }
    out.into_iter().map(|(t, _)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = dot(v, v).sqrt();
        v.iter().map(|x| x / n).collect()
    }

    fn found(name: &str, similarity: f32, v: &[f32]) -> (Match, Vec<f32>) {
        (
            Match {
                path: PathBuf::from(name),
                similarity,
                exists: true,
                label: None,
                percentile: None,
                identical: false,
            },
            unit(v),
        )
    }

    #[test]
    fn frames_of_one_burst_become_one_tile_around_the_best() {
        let found = vec![
            found("burst1", 0.9, &[1.0, 0.0, 0.05]),
            found("burst2", 0.89, &[1.0, 0.0, 0.1]),
            found("other", 0.8, &[0.0, 1.0, 0.0]),
            found("burst3", 0.7, &[1.0, 0.02, 0.0]),
        ];
        let tiles = collapse(found, 10, Some(0.69));
        let names: Vec<_> = tiles.iter().map(|t| t.best.path.clone()).collect();
        assert_eq!(names, [PathBuf::from("burst1"), PathBuf::from("other")]);
        assert_eq!(tiles[0].count(), 3);
        assert_eq!(tiles[0].also[0].path, PathBuf::from("burst2"));
    }

    #[test]
    fn a_turned_copy_of_the_query_joins_the_tile_of_its_shot() {
        use crate::labels::Label;
        let labelled = |name, similarity, v: &[f32], label| {
            let (mut m, v) = found(name, similarity, v);
            m.label = Some(label);
            (m, v)
        };
        // The frames are near the query as it is; the turned copy is the query itself, but
        // only turned: upright, its vector is far from the frames'.
        let found = vec![
            labelled("turned", 0.99, &[0.0, 0.0, 1.0], Label::SamePhoto),
            labelled("frame1", 0.9, &[1.0, 0.0, 0.0], Label::NearDuplicate),
            labelled("frame2", 0.88, &[1.0, 0.05, 0.0], Label::NearDuplicate),
            labelled("other", 0.5, &[0.0, 1.0, 0.0], Label::Similar),
            labelled("other2", 0.49, &[0.6, -0.8, 0.0], Label::Similar),
        ];
        let tiles = collapse(found, 10, Some(0.69));
        let names: Vec<_> = tiles.iter().map(|t| t.best.path.clone()).collect();
        assert_eq!(
            names,
            ["turned", "other", "other2"].map(PathBuf::from),
            "{tiles:#?}"
        );
        assert_eq!(tiles[0].count(), 3);
    }

    #[test]
    fn a_burst_past_the_last_tile_is_still_counted() {
        let found = vec![
            found("a", 0.9, &[1.0, 0.0]),
            found("b", 0.8, &[0.0, 1.0]),
            found("a2", 0.7, &[1.0, 0.01]),
        ];
        let tiles = collapse(found, 1, Some(0.69));
        assert_eq!(tiles.len(), 1);
        assert_eq!(tiles[0].count(), 2);
    }

    #[test]
    fn without_a_threshold_nothing_is_collapsed() {
        let found = vec![found("a", 0.9, &[1.0, 0.0]), found("a2", 0.8, &[1.0, 0.0])];
        assert_eq!(collapse(found, 10, None).len(), 2);
    }

    #[test]
    fn more_like_moves_the_query_towards_the_example_and_less_like_away() {
        let q = unit(&[1.0, 1.0, 0.0]);
        let more = unit(&[0.0, 1.0, 0.0]);
        let less = unit(&[1.0, 0.0, 0.0]);
        let mut queries = vec![q.clone()];
        refine(&mut queries, std::slice::from_ref(&more), &[]);
        assert!(dot(&queries[0], &more) > dot(&q, &more));
        let mut queries = vec![q.clone()];
        refine(&mut queries, &[], std::slice::from_ref(&less));
        assert!(dot(&queries[0], &less) < dot(&q, &less));
        assert!((dot(&queries[0], &queries[0]) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn a_scope_keeps_or_leaves_out_a_folder_and_its_sub_folders() {
        let inside = Scope::Inside(PathBuf::from("/lib/2024"));
        let outside = Scope::Outside(PathBuf::from("/lib/2024"));
        let photo = Path::new("/lib/2024/May/a.jpg");
        let elsewhere = Path::new("/lib/2023/a.jpg");
        assert!(inside.allows(photo) && !inside.allows(elsewhere));
        assert!(!outside.allows(photo) && outside.allows(elsewhere));
        // A folder whose name only starts the same is another folder.
        assert!(!inside.allows(Path::new("/lib/2024-old/a.jpg")));
    }

    #[test]
    fn the_raw_and_jpeg_of_one_shot_are_one_tile_whatever_their_similarity() {
        let found = vec![
            found("/p/IMG_0001.JPG", 0.9, &[1.0, 0.0]),
            found("/p/other.jpg", 0.8, &[0.0, 1.0]),
            found("/p/IMG_0001.CR2", 0.5, &[0.6, 0.8]),
            found("/q/IMG_0001.NEF", 0.4, &[0.6, -0.8]),
        ];
        let tiles = collapse(found, 10, Some(0.99));
        assert_eq!(tiles.len(), 3, "a RAW in another folder is another shot");
        assert_eq!(tiles[0].badge().as_deref(), Some("JPG+RAW"));
        assert_eq!(tiles[1].badge(), None);
        assert!(same_shot(Path::new("a/x.dng"), Path::new("a/x.heic")));
        assert!(!same_shot(Path::new("a/x.jpg"), Path::new("a/x.jpeg")));
        assert!(!same_shot(Path::new("a/x.cr2"), Path::new("a/x.cr3")));
    }
}
