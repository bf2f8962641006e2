//! Vector maths shared by the descriptor (pooling, normalising) and the queries (similarity):
//! kept here, below both, so neither has to import the other.

/// Dot product with sixteen independent accumulators, so the compiler keeps them in SIMD
/// registers (a plain iterator sum is several times slower).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Scales `v` to unit length (leaves an all-zero vector as it is).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// `count` pseudo-random values in [-0.5, 0.5), the same for the same `state` (xorshift; a
/// state of 0 stays 0): for starting points and simulated libraries that are the same on
/// every run.
pub fn uniform(mut state: u64, count: usize) -> Vec<f32> {
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

/// `n` pseudo-random unit vectors of `dim` numbers, row after row, the same for the same `seed`.
pub fn uniform_units(seed: u64, n: usize, dim: usize) -> Vec<f32> {
    let mut data = uniform(seed | 1, n * dim);
    data.chunks_exact_mut(dim.max(1)).for_each(normalize);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.1).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.05).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }

    #[test]
    fn normalize_makes_unit_length_and_leaves_zero_alone() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut zero = vec![0.0; 3];
        normalize(&mut zero);
        assert_eq!(zero, [0.0; 3]);
    }
}
