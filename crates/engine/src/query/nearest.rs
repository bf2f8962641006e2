//! Finding the vectors closest to a query: an exact scan, which is fast enough for most photo
//! libraries, and an HNSW graph (instant-distance) for the very large ones.

use crate::vector::dot;
use instant_distance::{Builder, Hnsw, Point, Search};
use serde::{Deserialize, Serialize};

/// From this many images on, a graph is built and used for queries. Below it the exact scan
/// is both exact and fast (see the `bench` command's scan and graph figures).
pub const GRAPH_THRESHOLD: usize = 50_000;

/// The `k` rows of `data` (each `dim` long) most similar to `query`, best first, as
/// (row, cosine similarity). Ties keep the lower row first, so results are deterministic.
pub fn exact(data: &[f32], dim: usize, query: &[f32], k: usize) -> Vec<(usize, f32)> {
    exact_any(data, dim, std::slice::from_ref(&query), k)
}

/// [`exact`] for a query seen several ways (e.g. rotated): each row scores its best
/// similarity to any of `queries`.
pub fn exact_any(data: &[f32], dim: usize, queries: &[&[f32]], k: usize) -> Vec<(usize, f32)> {
    use rayon::prelude::*;
    let scored: Vec<(usize, f32)> = data
        .par_chunks_exact(dim)
        .map(|row| {
            queries
                .iter()
                .map(|q| dot(row, q))
                .fold(f32::NEG_INFINITY, f32::max)
        })
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

    /// [`Graph::search`] for a query seen several ways: each row keeps its best similarity.
    pub fn search_any(&self, queries: &[&[f32]], k: usize) -> Vec<(usize, f32)> {
        let mut by_row: std::collections::HashMap<usize, f32> = Default::default();
        for q in queries {
            for (row, sim) in self.search(q, k) {
                let best = by_row.entry(row).or_insert(sim);
                *best = best.max(sim);
            }
        }
        best(by_row.into_iter().collect(), k)
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
        }
    }
}
