//! Every pair of rows at least a threshold alike (cosine of unit vectors), on every core.
//!
//! All pairs of a library is a matrix product: 100,000 photos of 1,280 numbers are 6.4 × 10¹²
//! multiply-adds, more than a minute of f32 arithmetic on two cores. Where the CPU has AVX2,
//! a first pass therefore runs in 8-bit integers (`vpmaddubsw` does four times the
//! multiply-adds of an f32 FMA per instruction). Each vector's quantisation error is measured,
//! so every pair gets a proven bound on how far the integer estimate can be from the true
//! cosine; only pairs whose estimate comes within that bound of the threshold are computed
//! again in f32. The answer is the same pairs as the f32 product, never an approximation.
//! Without AVX2 the f32 product (`matrixmultiply`) runs alone.
//!
//! The pairs are handed over a block at a time as they are found, never gathered here: at a
//! low threshold they can be most of the n²/2, more than memory holds, and the caller decides
//! how many it keeps.

use rayon::prelude::*;

/// Rows compared at a time against another block of rows (a 1024×1024 block of similarities
/// is 4 MB, which stays in cache).
const BLOCK: usize = 1024;

/// Pairs `(i, j, similarity)`, as they are handed over: a block at a time, from any core.
pub type Pairs = Vec<(u32, u32, f32)>;

/// Hands every pair `(i, j, similarity)` with `i < j` and similarity ≥ `threshold` to
/// `found`, in no order. `found` returns false to stop the search (the blocks not started yet
/// are skipped); so does this, then.
pub fn at_least(
    data: &[f32],
    dim: usize,
    threshold: f32,
    found: &(dyn Fn(Pairs) -> bool + Sync),
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if dim > 0 && std::arch::is_x86_feature_detected!("avx2") {
        return quantised::at_least(data, dim, threshold, found);
    }
    at_least_f32(data, dim, threshold, found)
}

/// The block pairs `(a, b)` with `a ≤ b` of `n` rows: each is one task for rayon.
fn block_pairs(n: usize) -> Vec<(usize, usize)> {
    let blocks = n.div_ceil(BLOCK);
    (0..blocks)
        .flat_map(|a| (a..blocks).map(move |b| (a, b)))
        .collect()
}

fn rows_of(block: usize, n: usize) -> std::ops::Range<usize> {
    block * BLOCK..((block + 1) * BLOCK).min(n)
}

/// [`at_least`] by a blocked f32 matrix product.
pub fn at_least_f32(
    data: &[f32],
    dim: usize,
    threshold: f32,
    found: &(dyn Fn(Pairs) -> bool + Sync),
) -> bool {
    let n = data.len().checked_div(dim).unwrap_or(0);
    block_pairs(n)
        .par_iter()
        .map_init(
            || vec![0f32; BLOCK * BLOCK],
            |c, &(a, b)| {
                let (ra, rb) = (rows_of(a, n), rows_of(b, n));
                let (m, k, w) = (ra.len(), dim, rb.len());
                // C (m × w) = A (m × k) · Bᵀ (k × w), both row-major in `data`.
                // SAFETY: the slices hold m×k and w×k floats and C holds m×w.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        w,
                        1.0,
                        data[ra.start * dim..].as_ptr(),
                        dim as isize,
                        1,
                        data[rb.start * dim..].as_ptr(),
                        1,
                        dim as isize,
                        0.0,
                        c.as_mut_ptr(),
                        w as isize,
                        1,
                    );
                }
                let mut out = Vec::new();
                for i in 0..m {
                    let row = &c[i * w..(i + 1) * w];
                    let start = if a == b { i + 1 } else { 0 };
                    for (j, &s) in row.iter().enumerate().skip(start) {
                        if s >= threshold {
                            out.push(((ra.start + i) as u32, (rb.start + j) as u32, s));
                        }
                    }
                }
                out
            },
        )
        .all(found)
}

#[cfg(target_arch = "x86_64")]
mod quantised {
    use super::{block_pairs, rows_of, Pairs, BLOCK};
    use rayon::prelude::*;
    use std::arch::x86_64::*;

    /// Rows and columns of one integer tile (4 × 16 sums in 8 AVX2 registers).
    const MR: usize = 4;
    const NR: usize = 16;
    // Blocks start on whole tiles.
    const _: () = assert!(BLOCK.is_multiple_of(NR) && NR.is_multiple_of(MR));
    /// Room for the rounding of the f32 arithmetic on top of the proven bound.
    const SLACK: f32 = 1e-4;

    /// The vectors in 8 bits, twice: as rows (unsigned, offset by 128, for `vpmaddubsw`'s
    /// first operand) and as packed columns (signed, 7 bits so that two products never
    /// saturate a 16-bit sum), with what the bound of each pair needs.
    struct Quantised {
        /// Row-major, `n_pad` rows of `k` bytes: q + 128 with q in -127..=127.
        rows: Vec<u8>,
        /// Panels of `NR` columns: for each group of four dimensions, `NR` × 4 bytes.
        panels: Vec<u8>,
        /// Bytes per row (the dimension rounded up to a multiple of four).
        k: usize,
        /// Row value = `row_scale` × q (rows) or `col_scale` × q (columns).
        row_scale: Vec<f32>,
        col_scale: Vec<f32>,
        /// 128 × the sum of a column's values: what the rows' offset adds to each sum.
        col_offset: Vec<i32>,
        /// ‖row as quantised‖, ‖row − its quantisation‖, ‖column − its quantisation‖, ‖vector‖.
        row_norm: Vec<f32>,
        row_error: Vec<f32>,
        col_error: Vec<f32>,
        norm: Vec<f32>,
    }

    /// `x` as `levels`-step integers: the scale, the values and the norms of the
    /// quantised vector and of its error (computed in f64, then rounded up).
    fn quantise(x: &[f32], levels: f32, out: &mut [i8]) -> (f32, f32, f32) {
        let max = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 && max.is_finite() {
            max / levels
        } else {
            1.0
        };
        let (mut q2, mut e2) = (0f64, 0f64);
        for (o, &v) in out.iter_mut().zip(x) {
            let q = (v / scale).round().clamp(-levels, levels);
            *o = q as i8;
            let back = scale as f64 * q as f64;
            q2 += back * back;
            e2 += (v as f64 - back).powi(2);
        }
        let up = |s: f64| (s.sqrt() * (1.0 + 1e-6)) as f32;
        (scale, up(q2), up(e2))
    }

    impl Quantised {
        fn new(data: &[f32], dim: usize) -> Self {
            let n = data.len() / dim;
            let n_pad = n.div_ceil(NR) * NR;
            let k = dim.div_ceil(4) * 4;
            let (mut rows, mut panels) = (vec![128u8; n_pad * k], vec![0u8; n_pad * k]);
            // Filled in place, a panel of NR vectors per task: no copy of the data is held.
            let meta: Vec<([f32; 6], i32)> = rows
                .par_chunks_mut(NR * k)
                .zip(panels.par_chunks_mut(NR * k))
                .enumerate()
                .flat_map_iter(|(p, (rows, panel))| {
                    let mut q = vec![0i8; k];
                    (0..NR)
                        .map(|lane| {
                            let Some(x) = data.chunks_exact(dim).nth(p * NR + lane) else {
                                return ([0.0; 6], 0);
                            };
                            let (rs, rn, re) = quantise(x, 127.0, &mut q[..dim]);
                            for (dst, &v) in rows[lane * k..(lane + 1) * k].iter_mut().zip(&q) {
                                *dst = (v as i16 + 128) as u8;
                            }
                            let (cs, _, ce) = quantise(x, 63.0, &mut q[..dim]);
                            for (d, &v) in q.iter().enumerate() {
                                panel[(d / 4) * NR * 4 + lane * 4 + d % 4] = v as u8;
                            }
                            let sum: i32 = q.iter().map(|&v| v as i32).sum();
                            let norm = x.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
                            let norm = (norm * (1.0 + 1e-6)) as f32;
                            ([rs, cs, rn, re, ce, norm], 128 * sum)
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            let field = |f: usize| meta.iter().map(|m| m.0[f]).collect::<Vec<f32>>();
            Quantised {
                rows,
                panels,
                k,
                row_scale: field(0),
                col_scale: field(1),
                col_offset: meta.iter().map(|m| m.1).collect(),
                row_norm: field(2),
                row_error: field(3),
                col_error: field(4),
                norm: field(5),
            }
        }
    }

    /// Integer sums of `MR` rows (from `rows`, `k` bytes apart) with the `NR` columns of
    /// `panel`.
    ///
    /// # Safety
    /// AVX2 must be present; `rows` must hold `MR × k` bytes and `panel` `NR × k` bytes,
    /// with `k` a multiple of four.
    #[target_feature(enable = "avx2")]
    unsafe fn tile(rows: *const u8, k: usize, panel: *const u8) -> [[__m256i; 2]; MR] {
        // SAFETY: the caller keeps the contract under # Safety above: AVX2, and MR × k
        // and NR × k bytes behind the pointers.
        unsafe {
            let ones = _mm256_set1_epi16(1);
            let mut acc = [[_mm256_setzero_si256(); 2]; MR];
            for quad in 0..k / 4 {
                let b = panel.add(quad * NR * 4) as *const __m256i;
                let (b0, b1) = (_mm256_loadu_si256(b), _mm256_loadu_si256(b.add(1)));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let a = _mm256_set1_epi32(
                        (rows.add(r * k + quad * 4) as *const i32).read_unaligned(),
                    );
                    acc[0] = _mm256_add_epi32(
                        acc[0],
                        _mm256_madd_epi16(_mm256_maddubs_epi16(a, b0), ones),
                    );
                    acc[1] = _mm256_add_epi32(
                        acc[1],
                        _mm256_madd_epi16(_mm256_maddubs_epi16(a, b1), ones),
                    );
                }
            }
            acc
        }
    }

    /// The columns of one tile row whose estimate may reach `threshold`, as a bit mask.
    ///
    /// # Safety
    /// AVX2 must be present; `c0 + NR` columns must exist in `q`.
    #[target_feature(enable = "avx2")]
    unsafe fn candidates(
        q: &Quantised,
        sums: [__m256i; 2],
        i: usize,
        c0: usize,
        threshold: f32,
    ) -> u32 {
        // SAFETY: the caller keeps the contract under # Safety above: AVX2, and columns
        // `c0..c0 + NR` in `q`.
        unsafe {
            let mut mask = 0u32;
            for (half, &sum) in sums.iter().enumerate() {
                let c = c0 + half * 8;
                let exact = _mm256_sub_epi32(
                    sum,
                    _mm256_loadu_si256(q.col_offset[c..c + 8].as_ptr() as *const __m256i),
                );
                let estimate = _mm256_mul_ps(
                    _mm256_cvtepi32_ps(exact),
                    _mm256_mul_ps(
                        _mm256_set1_ps(q.row_scale[i]),
                        _mm256_loadu_ps(q.col_scale[c..c + 8].as_ptr()),
                    ),
                );
                // |x·y − estimate| ≤ ‖x̂‖‖y − ŷ‖ + ‖x − x̂‖‖y‖.
                let bound = _mm256_add_ps(
                    _mm256_mul_ps(
                        _mm256_set1_ps(q.row_norm[i]),
                        _mm256_loadu_ps(q.col_error[c..c + 8].as_ptr()),
                    ),
                    _mm256_mul_ps(
                        _mm256_set1_ps(q.row_error[i]),
                        _mm256_loadu_ps(q.norm[c..c + 8].as_ptr()),
                    ),
                );
                let reach = _mm256_add_ps(estimate, _mm256_add_ps(bound, _mm256_set1_ps(SLACK)));
                let ok = _mm256_cmp_ps::<_CMP_GE_OQ>(reach, _mm256_set1_ps(threshold));
                mask |= (_mm256_movemask_ps(ok) as u32) << (half * 8);
            }
            mask
        }
    }

    pub fn at_least(
        data: &[f32],
        dim: usize,
        threshold: f32,
        found: &(dyn Fn(Pairs) -> bool + Sync),
    ) -> bool {
        let n = data.len() / dim;
        let q = Quantised::new(data, dim);
        let k = q.k;
        let row = |i: usize| &data[i * dim..(i + 1) * dim];
        block_pairs(n)
            .par_iter()
            .map(|&(a, b)| {
                let (ra, rb) = (rows_of(a, n), rows_of(b, n));
                let mut out = Vec::new();
                for c0 in (rb.start..rb.end).step_by(NR) {
                    let panel = &q.panels[c0 * k..(c0 + NR) * k];
                    for r0 in (ra.start..ra.end).step_by(MR) {
                        if a == b && r0 >= c0 + NR {
                            break; // below the diagonal: found from the other side
                        }
                        let rows = &q.rows[r0 * k..(r0 + MR) * k];
                        // SAFETY: AVX2 was detected; the slices hold MR and NR rows of k bytes.
                        let sums = unsafe { tile(rows.as_ptr(), k, panel.as_ptr()) };
                        for (r, &s) in sums.iter().enumerate() {
                            let i = r0 + r;
                            // SAFETY: as above; the panel has NR columns from c0.
                            let mut mask = unsafe { candidates(&q, s, i, c0, threshold) };
                            while mask != 0 {
                                let j = c0 + mask.trailing_zeros() as usize;
                                mask &= mask - 1;
                                if i >= n || j >= rb.end || (a == b && j <= i) {
                                    continue;
                                }
                                let sim = crate::vector::dot(row(i), row(j));
                                if sim >= threshold {
                                    out.push((i as u32, j as u32, sim));
                                }
                            }
                        }
                    }
                }
                out
            })
            .all(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair `search` finds, gathered.
    fn gathered(search: impl FnOnce(&(dyn Fn(Pairs) -> bool + Sync)) -> bool) -> Pairs {
        let all = std::sync::Mutex::new(Vec::new());
        assert!(search(&|pairs| {
            all.lock().unwrap().extend(pairs);
            true
        }));
        all.into_inner().unwrap()
    }

    fn sorted(mut p: Vec<(u32, u32, f32)>) -> Vec<(u32, u32)> {
        let mut p: Vec<(u32, u32)> = p.drain(..).map(|(i, j, _)| (i, j)).collect();
        p.sort();
        p
    }

    /// Vectors with a cluster structure, as photos have: bursts around a few hundred
    /// scenes, so that many pairs lie near any threshold.
    fn clustered(n: usize, dim: usize) -> Vec<f32> {
        let centres = crate::query::nearest::tests::random_units(n / 5 + 1, dim, 3);
        let noise = crate::query::nearest::tests::random_units(n, dim, 4);
        let mut data = Vec::with_capacity(n * dim);
        for i in 0..n {
            let c = &centres[(i / 5) * dim..][..dim];
            let e = &noise[i * dim..][..dim];
            let w = 0.2 + 0.15 * (i % 7) as f32;
            let mut v: Vec<f32> = c.iter().zip(e).map(|(c, e)| c + w * e).collect();
            crate::vector::normalize(&mut v);
            data.extend(v);
        }
        data
    }

    #[test]
    fn the_integer_first_pass_finds_the_same_pairs_as_the_f32_product() {
        // 1,030 rows: two blocks, the last tiles partly outside the data.
        for (dim, threshold) in [(1280, 0.8), (61, 0.9), (8, 0.9), (3, 0.5)] {
            let data = clustered(BLOCK + 6, dim);
            let exact = sorted(gathered(|f| at_least_f32(&data, dim, threshold, f)));
            assert!(exact.len() > 100, "dim {dim}: {} pairs", exact.len());
            let fast = sorted(gathered(|f| at_least(&data, dim, threshold, f)));
            // Rounding between the two products may only move a pair at the threshold.
            let missing = exact
                .iter()
                .filter(|p| fast.binary_search(p).is_err())
                .count();
            let extra = fast
                .iter()
                .filter(|p| exact.binary_search(p).is_err())
                .count();
            assert!(
                missing + extra <= 1,
                "dim {dim}: {missing} missing, {extra} extra"
            );
        }
    }

    #[test]
    fn each_pair_is_found_once_with_its_similarity() {
        let dim = 40;
        let data = clustered(300, dim);
        let pairs = gathered(|f| at_least(&data, dim, 0.7, f));
        assert!(!pairs.is_empty());
        for &(i, j, s) in &pairs {
            assert!(i < j);
            let want = crate::vector::dot(
                &data[i as usize * dim..][..dim],
                &data[j as usize * dim..][..dim],
            );
            assert!((s - want).abs() < 1e-5 && s >= 0.7);
        }
        let mut keys: Vec<_> = pairs.iter().map(|&(i, j, _)| (i, j)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), pairs.len());
    }

    #[test]
    fn zero_and_empty_inputs_give_no_pairs() {
        assert!(gathered(|f| at_least(&[], 8, 0.5, f)).is_empty());
        assert!(gathered(|f| at_least(&[0.0; 16], 8, 0.5, f)).is_empty());
    }
}
