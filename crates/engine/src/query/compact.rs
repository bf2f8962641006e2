//! Compact codes of a large library's vectors: each photo's descriptor projected onto the
//! learned subspace ([`Projection`]) and stored as one byte a number with one scale a photo,
//! 260 bytes where the descriptor takes 5,120. A search scans the codes for a few thousand
//! candidates and ranks those by their full vectors, so the answer is the exact one whenever
//! the true matches are among the candidates; the scan reads a twentieth of the bytes.

use crate::query::int8;
use crate::query::nearest::{best, Turns};
use crate::query::projection::Projection;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Candidates a search takes from the codes to rank by the full vectors, at least: enough
/// that the exact top ten are among them (recall@10 of 1.0 on simulated libraries of 100,000
/// photos; see `photo-sim bench --library-size`).
pub const CANDIDATES: usize = 2_000;
/// And at least one photo in this many: in a library of a million photos where each has
/// 10,000 others about as alike (the simulated library's worst case), 2,000 candidates hold
/// 78 % of the exact top ten and 10,000 hold 99 %.
pub const CANDIDATE_SHARE: usize = 100;
/// Rows encoded between two looks at the cancel flag (and progress reports), or scored as
/// one task.
const CHUNK: usize = 4_096;
/// Candidates read and scored by their full vectors as one task.
const GATHER_CHUNK: usize = 256;
/// One score in this many is sampled to find the bar the candidates pass.
const SAMPLE_EVERY: usize = 16;

/// A library's vectors as compact codes, tagged with the generation they were made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Codes {
    /// The generation of the vectors they were made from: codes of another one are not used.
    pub generation: u64,
    /// Numbers a code (the projection's output length, or the descriptor's without one).
    dim: usize,
    /// Each row's scale: its code times its scale is its projected vector.
    scales: Vec<f32>,
    /// `scales.len() × dim` numbers.
    codes: Bytes,
}

/// A query made ready to compare with the codes: each of its views projected and quantised,
/// with its scale.
pub struct Query {
    views: Vec<(Vec<i8>, f32)>,
}

/// Candidates taken for each turned view of a query, besides the upright view's: the rows
/// most like it, where a turned copy would be (copies of a photo are few, and more alike than
/// its kind).
pub const TURNED_CANDIDATES: usize = 100;

impl Codes {
    /// The codes of `data` (rows of `dim` numbers), in `projection`'s subspace when there is
    /// one. `progress` hears the rows done so far; `None` when `cancelled` says stop.
    pub fn encode(
        projection: Option<&Projection>,
        data: &[f32],
        dim: usize,
        generation: u64,
        cancelled: &(dyn Fn() -> bool + Sync),
        progress: &(dyn Fn(usize) + Sync),
    ) -> Option<Codes> {
        let out_dim = projection.map_or(dim, |p| p.dim_out);
        let n = data.len() / dim.max(1);
        let done = std::sync::atomic::AtomicUsize::new(0);
        let chunks: Option<Vec<(Vec<f32>, Vec<i8>)>> = data
            .par_chunks(CHUNK * dim.max(1))
            .map(|rows| {
                if cancelled() {
                    return None;
                }
                let projected = match projection {
                    Some(p) => p.project_rows(rows),
                    None => rows.to_vec(),
                };
                let mut scales = Vec::with_capacity(projected.len() / out_dim.max(1));
                let mut codes = vec![0i8; projected.len()];
                for (y, code) in projected
                    .chunks_exact(out_dim)
                    .zip(codes.chunks_exact_mut(out_dim))
                {
                    scales.push(quantise(y, code));
                }
                let rows_done = scales.len();
                progress(
                    done.fetch_add(rows_done, std::sync::atomic::Ordering::Relaxed) + rows_done,
                );
                Some((scales, codes))
            })
            .collect();
        let mut scales = Vec::with_capacity(n);
        let mut codes = Vec::with_capacity(n * out_dim);
        for (s, c) in chunks? {
            scales.extend(s);
            codes.extend(c.into_iter().map(|x| x as u8));
        }
        Some(Codes {
            generation,
            dim: out_dim,
            scales,
            codes: Bytes(codes),
        })
    }

    /// The codes of rows of which some are coded in `old` already: row `i` takes `old`'s row
    /// `from[i]` where there is one, else the next of `fresh` (coded alike, in row order); all
    /// under `fresh`'s generation. An update of a large library codes its new photos only.
    pub fn reusing(old: Option<&Codes>, from: &[Option<usize>], fresh: Codes) -> Codes {
        let dim = fresh.dim;
        let mut out = Codes {
            generation: fresh.generation,
            dim,
            scales: Vec::with_capacity(from.len()),
            codes: Bytes(Vec::with_capacity(from.len() * dim)),
        };
        let mut next = 0;
        for origin in from {
            let (codes, row) = match (old, origin) {
                (Some(old), Some(r)) => (old, *r),
                _ => {
                    next += 1;
                    (&fresh, next - 1)
                }
            };
            out.scales.push(codes.scales[row]);
            out.codes
                .0
                .extend_from_slice(&codes.codes.0[row * dim..(row + 1) * dim]);
        }
        out
    }

    /// The codes a codes file's meta holds, decoded from its bytes without a copy of the codes
    /// (hundreds of megabytes for a million photos): the bytes before them are dropped and
    /// the codes keep the rest.
    pub(crate) fn from_meta(meta: Vec<u8>) -> Result<Codes, String> {
        /// [`Codes`] as encoded, its codes borrowed from the meta.
        #[derive(Deserialize)]
        struct Borrowed<'a> {
            generation: u64,
            dim: usize,
            scales: Vec<f32>,
            codes: &'a [u8],
        }
        let b: Borrowed = crate::index::format::decode_bounded(&meta)?;
        let (start, len) = (
            b.codes.as_ptr() as usize - meta.as_ptr() as usize,
            b.codes.len(),
        );
        let (generation, dim, scales) = (b.generation, b.dim, b.scales);
        let mut codes = meta;
        codes.drain(..start);
        codes.truncate(len);
        Ok(Codes {
            generation,
            dim,
            scales,
            codes: Bytes(codes),
        })
    }

    /// These codes followed by `more`'s, coded alike (the same subspace and generation).
    pub fn append(&mut self, more: Codes) {
        assert_eq!((self.dim, self.generation), (more.dim, more.generation));
        self.scales.extend(more.scales);
        self.codes.0.extend(more.codes.0);
    }

    /// Rows coded.
    pub fn len(&self) -> usize {
        self.scales.len()
    }

    /// True when no row is coded.
    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    /// True when the codes are whole and of `rows` rows, each `dim` long in the space of
    /// `projection` (a file that passed its checksum may still have been made by hand).
    pub fn fits(&self, rows: usize, projection: Option<&Projection>, dim: usize) -> bool {
        self.dim == projection.map_or(dim, |p| p.dim_out)
            && self.scales.len() == rows
            && self.codes.0.len() as u64 == rows as u64 * self.dim as u64
            && self.scales.iter().all(|s| s.is_finite())
    }

    /// A photo seen several ways (`views[0]` upright, the rest turned), ready to scan.
    pub fn query(&self, projection: Option<&Projection>, views: &[&[f32]]) -> Query {
        Query {
            views: views
                .iter()
                .map(|v| {
                    let y = projection.map_or_else(|| v.to_vec(), |p| p.project(v));
                    let mut code = vec![0i8; y.len()];
                    let scale = quantise(&y, &mut code);
                    (code, scale)
                })
                .collect(),
        }
    }

    /// The `k` rows nearest to a photo seen several ways (`views[0]` upright, the rest
    /// turned), best first: the [`CANDIDATES`] best by the codes (or one in
    /// [`CANDIDATE_SHARE`]), ranked by their full vectors as the exact scan would. `gather`
    /// gives the full vectors of the rows asked for, one after the other.
    pub fn nearest(
        &self,
        projection: Option<&Projection>,
        gather: &(dyn Fn(&[usize]) -> Vec<f32> + Sync),
        views: &[&[f32]],
        turns: &Turns,
        k: usize,
    ) -> Vec<(usize, f32)> {
        let count = CANDIDATES.max(self.len() / CANDIDATE_SHARE).max(k);
        let mut rows = self.candidates(&self.query(projection, views), count);
        rows.sort_unstable();
        // A few hundred rows at a time: read, scored while they are in cache, and let go.
        let scored = rows
            .par_chunks(GATHER_CHUNK)
            .flat_map_iter(|rows| {
                let full = gather(rows);
                let dim = full.len() / rows.len().max(1);
                let scores: Vec<(usize, f32)> = rows
                    .iter()
                    .zip(full.chunks_exact(dim.max(1)))
                    .map(|(&r, v)| (r, turns.score_row(v, views)))
                    .collect();
                scores
            })
            .collect();
        best(scored, k)
    }

    /// The cosine of rows `i` and `j`'s codes (how alike they are in the subspace).
    pub fn cosine(&self, i: usize, j: usize) -> f32 {
        let (a, b) = (self.code(i), self.code(j));
        let norms = (int8::dot(a, a) as f32 * int8::dot(b, b) as f32).sqrt();
        if norms > 0.0 {
            int8::dot(a, b) as f32 / norms
        } else {
            0.0
        }
    }

    /// Row `i`'s code.
    pub(crate) fn code(&self, i: usize) -> &[i8] {
        self.codes_of(i..i + 1)
    }

    /// The codes of `rows`, one after the other.
    fn codes_of(&self, rows: std::ops::Range<usize>) -> &[i8] {
        let bytes = &self.codes.0[rows.start * self.dim..rows.end * self.dim];
        // SAFETY: i8 and u8 have the same size and alignment, and every bit pattern is both.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<i8>(), bytes.len()) }
    }

    /// The `count` rows the codes score best against `query`'s upright view, and the
    /// [`TURNED_CANDIDATES`] best against each turned one (for the full vectors to say which
    /// are turned copies: the subspace keeps too little of a photo to tell); in no order.
    pub fn candidates(&self, query: &Query, count: usize) -> Vec<usize> {
        let views: Vec<&[i8]> = query.views.iter().map(|(q, _)| q.as_slice()).collect();
        let scaled =
            |sum: i32, view: usize, row: usize| sum as f32 * query.views[view].1 * self.scales[row];
        // Each row's upright score, and its best turned one.
        let mut scores = vec![(0f32, f32::NEG_INFINITY); self.len()];
        scores
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each_init(Vec::new, |sums, (c, scores)| {
                let first = c * CHUNK;
                sums.resize(scores.len() * views.len(), 0);
                let rows = self.codes_of(first..first + scores.len());
                int8::dots(&views, rows, self.dim, sums);
                let per_row = sums.chunks_exact(views.len().max(1));
                for (r, (score, sums)) in scores.iter_mut().zip(per_row).enumerate() {
                    let mut sims = sums
                        .iter()
                        .enumerate()
                        .map(|(v, &s)| scaled(s, v, first + r));
                    score.0 = sims.next().unwrap_or(f32::NEG_INFINITY);
                    score.1 = sims.fold(f32::NEG_INFINITY, f32::max);
                }
            });
        let mut rows = top(scores.len(), count, |i| scores[i].0);
        if views.len() > 1 {
            let turned = TURNED_CANDIDATES * (views.len() - 1);
            rows.extend(top(scores.len(), turned, |i| scores[i].1));
            rows.sort_unstable();
            rows.dedup();
        }
        rows
    }
}

/// The `count` best of `n` rows by `score`, in no order. A sample of one row in
/// [`SAMPLE_EVERY`] sets a bar that about half as many again pass; only those are sorted out
/// (a million scores would take longer to sort than to compute).
fn top(n: usize, count: usize, score: impl Fn(usize) -> f32 + Sync) -> Vec<usize> {
    if count >= n {
        return (0..n).collect();
    }
    let sample: Vec<(usize, f32)> = (0..n)
        .step_by(SAMPLE_EVERY)
        .map(|i| (i, score(i)))
        .collect();
    let bar = best(sample, count * 3 / 2 / SAMPLE_EVERY + 1)
        .last()
        .map_or(f32::NEG_INFINITY, |&(_, s)| s);
    let mut passed: Vec<(usize, f32)> = (0..n)
        .into_par_iter()
        .map(|i| (i, score(i)))
        .filter(|&(_, s)| s >= bar)
        .collect();
    if passed.len() < count {
        passed = (0..n).map(|i| (i, score(i))).collect();
    }
    best(passed, count).into_iter().map(|(i, _)| i).collect()
}

/// Writes `y` as bytes into `code` (the largest magnitude as ±127); returns the scale that
/// turns the bytes back into `y`.
fn quantise(y: &[f32], code: &mut [i8]) -> f32 {
    let max = y.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        code.fill(0);
        return 0.0;
    }
    let scale = max / 127.0;
    for (c, x) in code.iter_mut().zip(y) {
        *c = (x / scale).round().clamp(-127.0, 127.0) as i8;
    }
    scale
}

/// Bytes that bincode writes and reads as one block (a `Vec<u8>` would go a byte at a time).
#[derive(Clone, Debug, PartialEq)]
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::nearest::exact;
    use crate::vector::uniform_units;

    fn never() -> bool {
        false
    }

    #[test]
    fn the_candidates_hold_the_exact_nearest_rows() {
        let (n, dim) = (3_000, 32);
        let data = uniform_units(11, n, dim);
        let codes = Codes::encode(None, &data, dim, 5, &never, &|_| {}).unwrap();
        assert!(codes.fits(n, None, dim));
        assert_eq!(codes.generation, 5);
        for q in (0..n).step_by(301) {
            let query = &data[q * dim..(q + 1) * dim];
            let want = exact(&data, dim, query, 10);
            let got = codes.candidates(&codes.query(None, &[query]), 50);
            assert_eq!(got.len(), 50);
            for (row, _) in want {
                assert!(got.contains(&row), "query {q}: row {row} missed");
            }
        }
    }

    #[test]
    fn a_turned_copy_is_found_where_the_subspace_keeps_little_of_each_photo() {
        // Each row: a part alike in kind in 8 numbers (0.36 of its length, which the
        // subspace keeps), and its own detail spread over 40 (which it drops).
        let (n, dim, rank) = (20_000, 48, 8);
        let mut data = uniform_units(7, n, dim);
        for row in data.chunks_exact_mut(dim) {
            let (kind, own) = row.split_at_mut(rank);
            crate::vector::normalize(kind);
            crate::vector::normalize(own);
            kind.iter_mut().for_each(|x| *x *= 0.6);
            own.iter_mut().for_each(|x| *x *= 0.8);
        }
        let p = Projection::learn(&data, dim, rank);
        let codes = Codes::encode(Some(&p), &data, dim, 1, &never, &|_| {}).unwrap();
        let upright = uniform_units(8, 1, dim);
        let copy = 12_345;
        let turned = &data[copy * dim..(copy + 1) * dim];
        let gather = |rows: &[usize]| -> Vec<f32> {
            rows.iter()
                .flat_map(|&r| data[r * dim..(r + 1) * dim].to_vec())
                .collect()
        };
        let views = [upright.as_slice(), turned];
        let turns = Turns::UNMEASURED;
        let got = codes.nearest(Some(&p), &gather, &views, &turns, 10);
        assert_eq!(got[0].0, copy, "the turned copy comes first: {got:?}");
        assert!((got[0].1 - 1.0).abs() < 1e-4);
    }

    #[test]
    fn codes_in_a_learned_subspace_keep_its_neighbours() {
        let (n, dim, rank) = (2_000, 48, 8);
        let mut data = uniform_units(5, n, dim);
        for row in data.chunks_exact_mut(dim) {
            row[rank..].iter_mut().for_each(|x| *x *= 0.05);
            crate::vector::normalize(row);
        }
        let p = Projection::learn(&data, dim, rank);
        let codes = Codes::encode(Some(&p), &data, dim, 1, &never, &|_| {}).unwrap();
        assert!(codes.fits(n, Some(&p), dim));
        assert!(
            !codes.fits(n, None, dim),
            "codes of the subspace are not full-length codes"
        );
        let query = &data[..dim];
        let got = codes.candidates(&codes.query(Some(&p), &[query]), 20);
        for (row, _) in exact(&data, dim, query, 5) {
            assert!(got.contains(&row), "row {row} missed");
        }
    }

    #[test]
    fn codes_made_in_parts_and_appended_are_the_codes_of_the_whole() {
        let data = uniform_units(6, 1_000, 8);
        let whole = Codes::encode(None, &data, 8, 3, &never, &|_| {}).unwrap();
        let mut parts = Codes::encode(None, &data[..300 * 8], 8, 3, &never, &|_| {}).unwrap();
        parts.append(Codes::encode(None, &data[300 * 8..], 8, 3, &never, &|_| {}).unwrap());
        assert_eq!(parts, whole);
    }

    #[test]
    fn codes_kept_from_old_rows_and_made_for_new_ones_are_the_codes_of_the_whole() {
        let old_data = uniform_units(6, 1_000, 8);
        let old = Codes::encode(None, &old_data, 8, 3, &never, &|_| {}).unwrap();
        let new_rows = uniform_units(7, 7, 8);
        // Old rows out of order and some dropped, with new rows between them.
        let mut from = Vec::new();
        let mut data = Vec::new();
        for (i, r) in (600..1_000).chain(0..300).enumerate() {
            if i % 100 == 50 {
                from.push(None);
                data.extend_from_slice(&new_rows[(i / 100) * 8..(i / 100 + 1) * 8]);
            }
            from.push(Some(r));
            data.extend_from_slice(&old_data[r * 8..(r + 1) * 8]);
        }
        let fresh: Vec<f32> = from
            .iter()
            .zip(data.chunks(8))
            .filter(|(origin, _)| origin.is_none())
            .flat_map(|(_, row)| row.to_vec())
            .collect();
        let fresh = Codes::encode(None, &fresh, 8, 4, &never, &|_| {}).unwrap();
        let whole = Codes::encode(None, &data, 8, 4, &never, &|_| {}).unwrap();
        assert_eq!(Codes::reusing(Some(&old), &from, fresh.clone()), whole);
        let none = vec![None; fresh.len()];
        assert_eq!(Codes::reusing(None, &none, fresh.clone()), fresh);
    }

    #[test]
    fn encoding_stops_when_cancelled_and_says_how_far_it_got() {
        let data = uniform_units(2, 10_000, 8);
        assert!(Codes::encode(None, &data, 8, 1, &|| true, &|_| {}).is_none());
        let last = std::sync::atomic::AtomicUsize::new(0);
        let codes = Codes::encode(None, &data, 8, 1, &never, &|d| {
            last.fetch_max(d, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(codes.map(|c| c.len()), Some(10_000));
        assert_eq!(last.into_inner(), 10_000);
    }

    #[test]
    fn codes_survive_a_round_trip_through_bincode() {
        let data = uniform_units(4, 100, 16);
        let codes = Codes::encode(None, &data, 16, 9, &never, &|_| {}).unwrap();
        let bytes = crate::index::format::encode(&codes);
        assert!(
            bytes.len() < 100 * 16 + 100 * 4 + 64,
            "{} bytes",
            bytes.len()
        );
        let back: Codes = crate::index::format::decode_bounded(&bytes).unwrap();
        assert_eq!(back, codes);
        assert_eq!(Codes::from_meta(bytes.clone()).unwrap(), codes);
        assert!(Codes::from_meta(bytes[..bytes.len() - 1].to_vec()).is_err());
    }

    #[test]
    fn a_zero_vector_codes_as_zero() {
        let mut code = [5i8; 4];
        assert_eq!(quantise(&[0.0; 4], &mut code), 0.0);
        assert_eq!(code, [0; 4]);
        let s = quantise(&[0.5, -1.0, 0.25, 0.0], &mut code);
        assert_eq!(code, [64, -127, 32, 0]);
        assert!((s - 1.0 / 127.0).abs() < 1e-7);
    }
}
