//! The alike pairs of a large library without comparing every photo with every other: the
//! photos are sorted into blocks around a sample of themselves (each photo into the blocks of
//! its three nearest samples, by the compact codes; a block still large is split again the
//! same way), and only photos sharing a block are compared. A near copy is nearer its photo than any sample, so the two share a block; a
//! million photos are then a few thousand small products instead of 5 × 10¹¹ pairs.
//!
//! The codes are compared by their cosine: what the projection drops of a near copy is mostly
//! the noise of its re-encoding, so a copy is at least as alike in the subspace as in full.
//! What this finds is candidates: the caller confirms each by the full vectors.

use crate::query::compact::Codes;
use crate::query::int8;
use rayon::prelude::*;

/// Blocks each photo is put in: its nearest samples. Two keep the pairs that straddle the
/// border between two blocks.
const BLOCKS_A_PHOTO: usize = 3;
/// At most this many blocks at a time (each sample costs every photo one comparison).
const MAX_BLOCKS: usize = 4_096;
/// A block of more photos than this is split again.
const MAX_BLOCK: usize = 2_000;
/// How many times a block is split at most.
const MAX_DEPTH: usize = 3;

/// How much less alike than the threshold a pair's codes may be and still be confirmed by the
/// full vectors.
pub const MARGIN: f32 = 0.05;

/// What [`crate::query::neighbours`] gives, for a large library: the candidates of
/// [`candidate_pairs`] at `threshold` less [`MARGIN`], each kept when the full vectors are at
/// least `threshold` alike. `gather` gives the full vectors of the rows asked for, one after
/// the other (a block's at a time). `None` when there are more than `max_pairs` such pairs.
pub fn neighbours(
    codes: &Codes,
    gather: &(dyn Fn(&[usize]) -> Vec<f32> + Sync),
    threshold: f32,
    max_pairs: usize,
) -> Option<Vec<Vec<(u32, f32)>>> {
    let confirm = |candidates: Vec<(u32, u32)>| {
        let mut rows: Vec<usize> = candidates
            .iter()
            .flat_map(|&(i, j)| [i as usize, j as usize])
            .collect();
        rows.sort_unstable();
        rows.dedup();
        let full = gather(&rows);
        let dim = full.len() / rows.len().max(1);
        let row = |i: u32| {
            let at = rows.binary_search(&(i as usize)).expect("gathered");
            &full[at * dim..(at + 1) * dim]
        };
        candidates
            .into_iter()
            .filter_map(|(i, j)| {
                let s = crate::vector::dot(row(i), row(j));
                (s >= threshold).then_some((i, j, s))
            })
            .collect()
    };
    let confirmed = pairs_in_blocks(codes, threshold - MARGIN, &confirm, &|| false)?;
    if confirmed.len() > max_pairs {
        return None;
    }
    let mut lists = vec![Vec::new(); codes.len()];
    for (i, j, s) in confirmed {
        lists[i as usize].push((j, s));
        lists[j as usize].push((i, s));
    }
    lists
        .par_iter_mut()
        .for_each(|l: &mut Vec<(u32, f32)>| l.sort_by_key(|&(j, _)| j));
    Some(lists)
}

/// Every pair `(i, j)`, `i < j`, whose codes' cosine is at least `threshold` among photos
/// that share a block, with that cosine, each once; in no order. `None` when `cancelled` says
/// stop.
pub fn candidate_pairs(
    codes: &Codes,
    threshold: f32,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Option<Vec<(u32, u32, f32)>> {
    let by_codes = |candidates: Vec<(u32, u32)>| {
        candidates
            .into_iter()
            .map(|(i, j)| (i, j, codes.cosine(i as usize, j as usize)))
            .collect()
    };
    pairs_in_blocks(codes, threshold, &by_codes, cancelled)
}

/// What keeps a block's candidate pairs `(i, j)`, each with its similarity.
type Confirm<'a> = dyn Fn(Vec<(u32, u32)>) -> Vec<(u32, u32, f32)> + Sync + 'a;

/// The pairs `confirm` keeps (with a similarity) of each block's candidates, each pair once.
/// Only what is confirmed is kept: at a threshold that many photos' codes pass, the
/// candidates of every block together could outgrow memory.
fn pairs_in_blocks(
    codes: &Codes,
    threshold: f32,
    confirm: &Confirm<'_>,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Option<Vec<(u32, u32, f32)>> {
    let n = codes.len();
    let inverse_norms: Vec<f32> = (0..n)
        .into_par_iter()
        .map(|i| {
            let norm = (int8::dot(codes.code(i), codes.code(i)) as f32).sqrt();
            if norm > 0.0 {
                1.0 / norm
            } else {
                0.0
            }
        })
        .collect();
    let cosine = |i: u32, j: u32| {
        let (i, j) = (i as usize, j as usize);
        int8::dot(codes.code(i), codes.code(j)) as f32 * inverse_norms[i] * inverse_norms[j]
    };
    let blocks = split((0..n as u32).collect(), &cosine, 0, cancelled)?;
    let mut pairs: Vec<(u32, u32, f32)> = blocks
        .par_iter()
        .flat_map_iter(|rows| {
            let mut found = Vec::new();
            for (x, &i) in rows.iter().enumerate() {
                for &j in &rows[x + 1..] {
                    if cosine(i, j) >= threshold {
                        found.push((i.min(j), i.max(j)));
                    }
                }
            }
            confirm(found)
        })
        .collect();
    if cancelled() {
        return None;
    }
    // A pair that shares several blocks was found in each.
    pairs.par_sort_unstable_by_key(|&(i, j, _)| (i, j));
    pairs.dedup_by_key(|&mut (i, j, _)| (i, j));
    Some(pairs)
}

/// `rows` in blocks of at most [`MAX_BLOCK`] photos where it can: each photo goes into the
/// blocks of its [`BLOCKS_A_PHOTO`] nearest samples among `rows`, and a block still too large
/// (the photos around one sample, in a library of much alike) is split the same way, up to
/// [`MAX_DEPTH`] times.
fn split(
    rows: Vec<u32>,
    cosine: &(impl Fn(u32, u32) -> f32 + Sync),
    depth: usize,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Option<Vec<Vec<u32>>> {
    if cancelled() {
        return None;
    }
    let n = rows.len();
    if n <= MAX_BLOCK || depth == MAX_DEPTH {
        return Some(vec![rows]);
    }
    let count = ((n as f64).sqrt() as usize).clamp(2, MAX_BLOCKS);
    // Samples spread evenly over the rows (the index's order is the folder's, not the
    // content's).
    let samples: Vec<u32> = (0..count).map(|b| rows[b * n / count]).collect();
    let homes: Vec<[u32; BLOCKS_A_PHOTO]> = rows
        .par_iter()
        .map(|&i| nearest_samples(i, &samples, cosine))
        .collect();
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); count];
    for (&i, home) in rows.iter().zip(&homes) {
        for &b in dedup(home) {
            members[b as usize].push(i);
        }
    }
    let blocks: Option<Vec<Vec<Vec<u32>>>> = members
        .into_par_iter()
        .filter(|m| m.len() > 1)
        .map(|m| {
            if m.len() * 10 >= n * 9 {
                // Splitting did not divide this block: it stays as it is.
                Some(vec![m])
            } else {
                split(m, cosine, depth + 1, cancelled)
            }
        })
        .collect();
    Some(blocks?.into_iter().flatten().collect())
}

/// The blocks of photo `i`: its [`BLOCKS_A_PHOTO`] nearest samples by `cosine`.
fn nearest_samples(
    i: u32,
    samples: &[u32],
    cosine: &impl Fn(u32, u32) -> f32,
) -> [u32; BLOCKS_A_PHOTO] {
    let mut best = [(f32::NEG_INFINITY, 0u32); BLOCKS_A_PHOTO];
    for (b, &s) in samples.iter().enumerate() {
        let score = cosine(i, s);
        if score > best[BLOCKS_A_PHOTO - 1].0 {
            best[BLOCKS_A_PHOTO - 1] = (score, b as u32);
            best.sort_by(|a, b| b.0.total_cmp(&a.0));
        }
    }
    best.map(|(_, b)| b)
}

/// The blocks of a photo, each once (fewer samples than blocks a photo is in name one block
/// several times).
fn dedup(home: &[u32; BLOCKS_A_PHOTO]) -> impl Iterator<Item = &u32> {
    home.iter()
        .enumerate()
        .filter(|&(k, b)| !home[..k].contains(b))
        .map(|(_, b)| b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::{normalize, uniform_units};

    /// `n` random unit vectors, each tenth followed by a near copy of it.
    fn with_copies(n: usize, dim: usize) -> Vec<f32> {
        let mut data = uniform_units(9, n, dim);
        let noise = uniform_units(10, n, dim);
        for i in (0..n - 1).step_by(10) {
            let (head, tail) = data.split_at_mut((i + 1) * dim);
            let copy = &mut tail[..dim];
            for ((c, o), e) in copy
                .iter_mut()
                .zip(&head[i * dim..])
                .zip(&noise[i * dim..(i + 1) * dim])
            {
                *c = o + 0.1 * e;
            }
            normalize(copy);
        }
        data
    }

    #[test]
    fn near_copies_share_a_block_and_are_found_once() {
        let (n, dim) = (5_000, 32);
        let data = with_copies(n, dim);
        let codes = Codes::encode(None, &data, dim, 1, &|| false, &|_| {}).unwrap();
        let pairs = candidate_pairs(&codes, 0.95, &|| false).unwrap();
        let mut seen: Vec<(u32, u32)> = pairs.iter().map(|&(i, j, _)| (i, j)).collect();
        seen.sort_unstable();
        let before = seen.len();
        seen.dedup();
        assert_eq!(seen.len(), before, "each pair once");
        for i in (0..n as u32 - 1).step_by(10) {
            assert!(
                seen.binary_search(&(i, i + 1)).is_ok(),
                "copy of {i} missed"
            );
        }
        assert!(pairs.iter().all(|&(i, j, s)| i < j && s >= 0.95));
        assert!(candidate_pairs(&codes, 0.95, &|| true).is_none());
        let gather = |rows: &[usize]| -> Vec<f32> {
            rows.iter()
                .flat_map(|&r| &data[r * dim..(r + 1) * dim])
                .copied()
                .collect()
        };
        let lists = neighbours(&codes, &gather, 0.95, n).unwrap();
        let exact = crate::query::neighbours(&data, dim, 0.95, n).unwrap();
        assert_eq!(lists.len(), exact.len());
        for (got, want) in lists.iter().zip(&exact) {
            let rows = |l: &[(u32, f32)]| l.iter().map(|p| p.0).collect::<Vec<_>>();
            assert_eq!(
                rows(got),
                rows(want),
                "the same pairs as every pair compared"
            );
        }
        assert!(
            neighbours(&codes, &gather, 0.95, 10).is_none(),
            "too many pairs"
        );
    }
}
