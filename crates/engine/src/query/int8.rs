//! Dot products of byte vectors (compact codes), with AVX2 or AVX-512 VNNI where the CPU has
//! them. A search of a million photos' codes is 256 million multiply-adds per view of the
//! query; written plainly, the compiler may only use the SSE2 every x86-64 has, two to three
//! times slower than `vpmaddubsw`, which multiplies and adds 32 byte pairs at once.

/// Dot product of two byte vectors, over the shorter one's length.
pub fn dot(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && b.len() >= a.len() {
        let mut out = [0];
        // SAFETY: AVX2 is present, and `b` holds a row as long as `a`.
        unsafe { x86::dots(&[a], b, a.len(), &mut out) };
        return out[0];
    }
    plain(a, b)
}

/// The dot products of each of `views` (all of length `dim`) with each row of `rows` (rows of
/// `dim` bytes, one after the other): `out[r * views.len() + v]`.
pub fn dots(views: &[&[i8]], rows: &[i8], dim: usize, out: &mut [i32]) {
    let n = out.len() / views.len().max(1);
    assert!(views.iter().all(|v| v.len() == dim) && rows.len() >= n * dim);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512bw") && has!("avx512vnni") && views.len() <= 8 {
            // SAFETY: the CPU has these instructions, and the lengths are as asserted.
            unsafe { x86_512::dots(views, rows, dim, out) };
            return;
        }
        if has!("avx2") {
            // SAFETY: AVX2 is present, and the lengths are as asserted.
            unsafe { x86::dots(views, rows, dim, out) };
            return;
        }
    }
    for (r, out) in out.chunks_exact_mut(views.len().max(1)).enumerate() {
        let row = &rows[r * dim..(r + 1) * dim];
        for (o, v) in out.iter_mut().zip(views) {
            *o = plain(v, row);
        }
    }
}

/// [`dot`] in 32-bit sums of sixteen lanes, for any CPU.
fn plain(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let mut acc = [0i32; 16];
    let (ca, cb) = (a[..n].chunks_exact(16), b[..n].chunks_exact(16));
    let tail: i32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| x as i32 * y as i32)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += x[i] as i32 * y[i] as i32;
        }
    }
    acc.iter().sum::<i32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// [`super::dots`] for `out.len() / views.len()` rows.
    ///
    /// # Safety
    /// AVX2 must be present; every view must hold `dim` bytes and `rows` that many rows.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dots(views: &[&[i8]], rows: &[i8], dim: usize, out: &mut [i32]) {
        let whole = dim / 32 * 32;
        // `vpmaddubsw` multiplies unsigned bytes by signed ones: each view's magnitudes, with
        // its signs moved onto the row's bytes. Pairs of products never overflow its 16-bit
        // sums: codes are within ±127, so a pair is at most 2 × 127 × 128.
        // SAFETY: the caller keeps the contract under # Safety above.
        unsafe {
            let ones = _mm256_set1_epi16(1);
            for (r, out) in out.chunks_exact_mut(views.len().max(1)).enumerate() {
                let row = rows.as_ptr().add(r * dim);
                for (o, v) in out.iter_mut().zip(views) {
                    let mut acc = _mm256_setzero_si256();
                    let mut j = 0;
                    while j < whole {
                        let q = _mm256_loadu_si256(v.as_ptr().add(j) as *const __m256i);
                        let c = _mm256_loadu_si256(row.add(j) as *const __m256i);
                        let pairs =
                            _mm256_maddubs_epi16(_mm256_abs_epi8(q), _mm256_sign_epi8(c, q));
                        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
                        j += 32;
                    }
                    let mut lanes = [0i32; 8];
                    _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc);
                    let tail: i32 = (whole..dim).map(|t| v[t] as i32 * *row.add(t) as i32).sum();
                    *o = lanes.iter().sum::<i32>() + tail;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86_512 {
    use std::arch::x86_64::*;

    /// [`super::dots`] by `vpdpbusd`, which multiplies 64 unsigned bytes by signed ones and
    /// adds them into 32-bit sums in one instruction. The views are made unsigned by adding
    /// 128 to each byte; the row's sum times 128, counted alongside, is taken off again.
    ///
    /// # Safety
    /// AVX-512F, BW and VNNI must be present; at most 8 views, each of `dim` bytes, and
    /// `rows` must hold that many rows.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn dots(views: &[&[i8]], rows: &[i8], dim: usize, out: &mut [i32]) {
        let whole = dim / 64 * 64;
        let lifted: Vec<Vec<u8>> = views
            .iter()
            .map(|v| v.iter().map(|&x| (x as u8) ^ 0x80).collect())
            .collect();
        // SAFETY: the caller keeps the contract under # Safety above.
        unsafe {
            let ones = _mm512_set1_epi8(1);
            for (r, out) in out.chunks_exact_mut(views.len().max(1)).enumerate() {
                let row = rows.as_ptr().add(r * dim);
                let mut acc = [_mm512_setzero_si512(); 8];
                let mut sum = _mm512_setzero_si512();
                let mut j = 0;
                while j < whole {
                    let c = _mm512_loadu_si512(row.add(j) as *const __m512i);
                    sum = _mm512_dpbusd_epi32(sum, ones, c);
                    for (acc, q) in acc.iter_mut().zip(&lifted) {
                        let q = _mm512_loadu_si512(q.as_ptr().add(j) as *const __m512i);
                        *acc = _mm512_dpbusd_epi32(*acc, q, c);
                    }
                    j += 64;
                }
                let offset = 128 * _mm512_reduce_add_epi32(sum);
                for ((o, acc), v) in out.iter_mut().zip(&acc).zip(views) {
                    let tail: i32 = (whole..dim).map(|t| v[t] as i32 * *row.add(t) as i32).sum();
                    *o = _mm512_reduce_add_epi32(*acc) - offset + tail;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Varied bytes within ±127, as codes are.
    fn bytes(seed: u32, n: usize) -> Vec<i8> {
        crate::embed::kernels::test_values(n, seed)
            .into_iter()
            .map(|x| (x * 127.0).round() as i8)
            .collect()
    }

    type Kernel = fn(&[&[i8]], &[i8], usize, &mut [i32]);

    /// Every kernel this CPU can run, the dispatching one included.
    fn kernels() -> Vec<(&'static str, Kernel)> {
        let mut all: Vec<(&'static str, Kernel)> = vec![("dispatched", dots)];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") {
                // SAFETY: AVX2 is present; the test keeps the lengths.
                all.push(("avx2", |v, r, d, o| unsafe { x86::dots(v, r, d, o) }));
            } else {
                eprintln!("no AVX2 here: its kernel is not tested");
            }
            if has!("avx512f") && has!("avx512bw") && has!("avx512vnni") {
                // SAFETY: the instructions are present; the test keeps the lengths.
                all.push(("vnni", |v, r, d, o| unsafe { x86_512::dots(v, r, d, o) }));
            } else {
                eprintln!("no AVX-512 VNNI here: its kernel is not tested");
            }
        }
        all
    }

    #[test]
    fn every_path_gives_the_plain_sums_at_any_length_and_at_the_extremes() {
        for dim in [0, 1, 31, 32, 33, 256, 300] {
            let views = [
                bytes(1, dim),
                bytes(2, dim),
                vec![127; dim],
                vec![-127; dim],
            ];
            let rows: Vec<i8> = (0..5u32)
                .flat_map(|r| bytes(10 + r, dim))
                .chain(vec![-127; dim])
                .chain(vec![127; dim])
                .collect();
            let view_refs: Vec<&[i8]> = views.iter().map(Vec::as_slice).collect();
            for (name, kernel) in kernels() {
                let mut out = vec![0; 7 * views.len()];
                kernel(&view_refs, &rows, dim, &mut out);
                for r in 0..7 {
                    let row = &rows[r * dim..(r + 1) * dim];
                    for (v, view) in views.iter().enumerate() {
                        let want = plain(view, row);
                        let got = out[r * views.len() + v];
                        assert_eq!(got, want, "{name}: dim {dim} row {r} view {v}");
                        assert_eq!(dot(view, row), want);
                    }
                }
            }
        }
        assert_eq!(dot(&[127; 64], &[-127; 64]), -127 * 127 * 64);
        assert_eq!(dot(&[2; 40], &[3; 33]), 6 * 33, "over the shorter length");
    }
}
