//! Finding the vectors closest to a query: an exact scan, which is fast enough for most photo
//! libraries, and an HNSW graph (instant-distance) for the very large ones.

use crate::vector::dot;
use instant_distance::{Builder, Hnsw, Point, Search};
use serde::{Deserialize, Serialize};

/// From this many images on, compact codes are made and a query takes its candidates from
/// them ([`crate::query::compact`]). Below it the exact scan of the full vectors is both
/// exact and fast (see `photo-sim bench --library-size`).
pub const COMPACT_THRESHOLD: usize = 50_000;
/// From this many images on, a graph is built and used for queries: beyond what a scan of the
/// compact codes answers in 50 ms (see `photo-sim bench --library-size`).
pub const GRAPH_THRESHOLD: usize = 2_000_000;

/// The `k` rows of `data` (each `dim` long) most similar to `query`, best first, as
/// (row, cosine similarity). Ties keep the lower row first, so results are deterministic.
pub fn exact(data: &[f32], dim: usize, query: &[f32], k: usize) -> Vec<(usize, f32)> {
    exact_turned(
        data,
        dim,
        std::slice::from_ref(&query),
        &Turns::UNMEASURED,
        k,
    )
}

/// How a photo turned by quarter turns may score. The turned copies of a query exist so that a
/// photo stored sideways (pixels turned, no EXIF tag) finds its upright copy; taking the best of
/// four views for every row would also let a sideways lamp match a ferry, and costs category
/// search on upright photos. So a turned view lifts a row's score only where it is an
/// instance-level match (at least `floor`, the near-duplicate level) and clearly better than
/// the upright view (by `margin`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Turns {
    /// The lowest turned similarity that may count: a match of the same shot, not of its kind.
    pub floor: f32,
    /// How much better than the upright view the turned one must be.
    pub margin: f32,
}

impl Turns {
    /// How much better than upright a turned view must score: a sideways lamp that looks a
    /// little like a ferry is not a turned copy of it.
    const MARGIN: f32 = 0.1;

    /// For a model whose thresholds were not measured: only copies this close count.
    pub const UNMEASURED: Turns = Turns {
        floor: 0.9,
        margin: Self::MARGIN,
    };

    /// Turned copies count from the near-duplicate level `near` on.
    pub fn from_near(near: f32) -> Turns {
        Turns {
            floor: near,
            margin: Self::MARGIN,
        }
    }

    /// A row's score from its upright similarity and its best turned one.
    pub fn score(&self, upright: f32, turned: f32) -> f32 {
        if turned >= self.floor && turned >= upright + self.margin {
            turned
        } else {
            upright
        }
    }

    /// The score of `row` against a query seen several ways: `queries[0]` upright, the rest
    /// turned.
    pub fn score_row(&self, row: &[f32], queries: &[&[f32]]) -> f32 {
        let Some((upright, turned)) = queries.split_first() else {
            return f32::NEG_INFINITY;
        };
        let best_turned = turned
            .iter()
            .map(|q| dot(row, q))
            .fold(f32::NEG_INFINITY, f32::max);
        self.score(dot(row, upright), best_turned)
    }
}

/// [`exact`] for a query seen several ways (`queries[0]` upright, the rest turned): each row
/// scores as [`Turns::score_row`] says.
pub fn exact_turned(
    data: &[f32],
    dim: usize,
    queries: &[&[f32]],
    turns: &Turns,
    k: usize,
) -> Vec<(usize, f32)> {
    use rayon::prelude::*;
    let scored: Vec<(usize, f32)> = data
        .par_chunks_exact(dim)
        .map(|row| turns.score_row(row, queries))
        .enumerate()
        .collect();
    best(scored, k)
}

/// The `k` best (row, similarity) pairs, best first; ties keep the lower row first.
pub fn best(mut scored: Vec<(usize, f32)>, k: usize) -> Vec<(usize, f32)> {
    let by_score = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let k = k.min(scored.len());
    if k == 0 {
        return Vec::new();
    }
    if k < scored.len() {
        scored.select_nth_unstable_by(k - 1, by_score);
        scored.truncate(k);
    }
    scored.sort_by(by_score);
    scored
}

/// A unit vector as instant-distance sees it: distance is 1 − cosine similarity.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Unit(pub Vec<f32>);

impl Point for Unit {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - dot(&self.0, &other.0)
    }
}

/// An HNSW graph over a snapshot of the vectors, tagged with the generation it was built from.
#[derive(Serialize, Deserialize)]
pub struct Graph {
    /// The generation of the vectors it was built from: a graph of another one is not used.
    pub generation: u64,
    hnsw: Hnsw<Unit>,
    /// Graph point id → row in the vectors it was built from.
    rows: Vec<u32>,
}

/// How widely a graph search looks; also the most results one search can return.
pub const EF_SEARCH: usize = 128;

impl Graph {
    /// Builds the graph (all cores; minutes for tens of thousands of images).
    pub fn build(data: &[f32], dim: usize, generation: u64) -> Self {
        let points: Vec<Unit> = data.chunks_exact(dim).map(|r| Unit(r.to_vec())).collect();
        let (hnsw, ids) = Builder::default()
            .ef_search(EF_SEARCH)
            .seed(0x5eed)
            .build_hnsw(points);
        let mut rows = vec![0u32; ids.len()];
        for (row, id) in ids.iter().enumerate() {
            rows[id.into_inner() as usize] = row as u32;
        }
        Self {
            generation,
            hnsw,
            rows,
        }
    }

    /// The (at most `EF_SEARCH`) approximate nearest rows, best first, as (row, similarity).
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(usize, f32)> {
        let mut search = Search::default();
        let q = Unit(query.to_vec());
        self.hnsw
            .search(&q, &mut search)
            .take(k)
            .map(|item| {
                (
                    self.rows[item.pid.into_inner() as usize] as usize,
                    1.0 - item.distance,
                )
            })
            .collect()
    }

    /// [`Graph::search`] for a query seen several ways (`queries[0]` upright, the rest turned):
    /// the candidates of every view, each scored as [`Turns::score_row`] says from the stored
    /// vectors `data` (each `dim` long).
    pub fn search_turned(
        &self,
        data: &[f32],
        dim: usize,
        queries: &[&[f32]],
        turns: &Turns,
        k: usize,
    ) -> Vec<(usize, f32)> {
        let mut rows: Vec<usize> = queries
            .iter()
            .flat_map(|q| self.search(q, k))
            .map(|(row, _)| row)
            .collect();
        rows.sort_unstable();
        rows.dedup();
        let scored = rows
            .into_iter()
            .filter(|&r| (r + 1) * dim <= data.len())
            .map(|r| (r, turns.score_row(&data[r * dim..(r + 1) * dim], queries)))
            .collect();
        best(scored, k)
    }

    /// Points in the graph (rows of the vectors it was built from).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the graph maps its points one to one onto `n` rows (a file that passed its
    /// checksum may still have been made by hand).
    pub fn is_valid_for(&self, n: usize) -> bool {
        let mut seen = vec![false; n];
        self.rows.len() == n
            && self
                .rows
                .iter()
                .all(|&r| (r as usize) < n && !std::mem::replace(&mut seen[r as usize], true))
    }

    /// True for a graph of no points.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `n` unit vectors of `dim` random coordinates (deterministic for a seed).
    pub(crate) fn random_units(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        let mut data: Vec<f32> = (0..n * dim)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 2000) as f32 / 1000.0 - 1.0
            })
            .collect();
        data.chunks_exact_mut(dim)
            .for_each(crate::vector::normalize);
        data
    }

    #[test]
    fn exact_returns_best_first_and_finds_itself() {
        let data = random_units(300, 32, 1);
        let got = exact(&data, 32, &data[5 * 32..6 * 32], 10);
        assert_eq!(got.len(), 10);
        assert_eq!(got[0].0, 5);
        assert!((got[0].1 - 1.0).abs() < 1e-5);
        assert!(got.windows(2).all(|w| w[0].1 >= w[1].1));
        assert_eq!(exact(&data, 32, &data[..32], 1000).len(), 300);
    }

    /// Two unit vectors of 2 dimensions whose dot product is `cos`.
    fn pair(cos: f32) -> ([f32; 2], [f32; 2]) {
        ([1.0, 0.0], [cos, (1.0 - cos * cos).sqrt()])
    }

    #[test]
    fn a_turned_view_lifts_a_score_only_as_an_instance_match() {
        let turns = Turns::from_near(0.69);
        // A sideways photo of the same kind: its turned view is better, but not the same shot.
        assert_eq!(turns.score(0.50, 0.62), 0.50);
        // A sideways copy of the same shot.
        assert_eq!(turns.score(0.45, 0.97), 0.97);
        // Upright is as good: the turned view adds nothing.
        assert_eq!(turns.score(0.80, 0.85), 0.80);

        let (stored, lamp) = pair(0.5);
        let (_, sideways) = pair(0.62);
        let row = [stored];
        let data: Vec<f32> = row.concat();
        let got = exact_turned(&data, 2, &[&lamp, &sideways], &turns, 1);
        assert!((got[0].1 - 0.5).abs() < 1e-6, "{got:?}");
        let (_, copy) = pair(0.97);
        let got = exact_turned(&data, 2, &[&lamp, &copy], &turns, 1);
        assert!((got[0].1 - 0.97).abs() < 1e-6, "{got:?}");
    }

    #[test]
    fn graph_and_exact_scan_agree_on_a_small_set() {
        let dim = 24;
        let data = random_units(400, dim, 7);
        let graph = Graph::build(&data, dim, 3);
        assert_eq!(graph.len(), 400);
        for q in (0..400).step_by(37) {
            let query = &data[q * dim..(q + 1) * dim];
            let want: Vec<usize> = exact(&data, dim, query, 10).iter().map(|r| r.0).collect();
            let got: Vec<usize> = graph.search(query, 10).iter().map(|r| r.0).collect();
            assert_eq!(got, want, "query {q}");
            let turned = graph.search_turned(&data, dim, &[query], &Turns::UNMEASURED, 10);
            let turned: Vec<usize> = turned.iter().map(|r| r.0).collect();
            assert_eq!(turned, want, "query {q}, seen one way");
        }
    }
}
