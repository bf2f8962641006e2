//! Pooling the network's last feature map into one vector: global average pooling (GAP, what
//! the classifier sees) or R-MAC (regional maximum activations, Tolias et al., ICLR 2016),
//! which keeps a small subject in a cluttered photo from being averaged away.
//!
//! R-MAC takes the whole map plus an L×L grid of overlapping squares for L = 2 and 3 (side
//! about 2/(L+1) of the map), the maximum of each channel over each region, L2-normalises each
//! region's vector, sums them and L2-normalises the sum. Same length as GAP, cosine as before,
//! and no extra network run: well under a millisecond.

use crate::vector::normalize;

/// A feature map: `channels` planes of `height` × `width` values (channel-major, as NCHW).
#[derive(Clone, Copy, Debug)]
pub struct Map<'a> {
    pub data: &'a [f32],
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

/// A region: top, left, height, width (in map cells).
pub type Region = (usize, usize, usize, usize);

/// `a / b` rounded half up, for non-negative values.
fn div_round(a: usize, b: usize) -> usize {
    (2 * a + b) / (2 * b)
}

/// The R-MAC regions of an `height` × `width` map: the whole map, then the 2×2 and 3×3 grids.
pub fn regions(height: usize, width: usize) -> Vec<Region> {
    let short = height.min(width);
    let mut out = vec![(0, 0, height, width)];
    for level in 2..=3usize {
        let side = div_round(2 * short, level + 1).max(1);
        let offsets = |extent: usize| -> Vec<usize> {
            (0..level)
                .map(|i| div_round(i * (extent - side), level - 1))
                .collect()
        };
        for &top in &offsets(height) {
            for &left in &offsets(width) {
                out.push((top, left, side, side));
            }
        }
    }
    out
}

/// The spatial mean of each channel, L2-normalised (what R-MAC's tests compare it with).
#[cfg(test)]
pub fn gap(map: Map) -> Vec<f32> {
    let cells = (map.height * map.width) as f32;
    let mut v: Vec<f32> = map
        .data
        .chunks_exact(map.height * map.width)
        .map(|plane| plane.iter().sum::<f32>() / cells)
        .collect();
    normalize(&mut v);
    v
}

/// The R-MAC descriptor of `map`, L2-normalised.
///
/// The map is first laid out cell by cell (all channels of a cell together), so each region's
/// maxima are element-wise maxima of whole channel vectors, which the compiler vectorises; per
/// channel, the regions are 4 to 7 cells wide and a serial chain of maxima was a twentieth of
/// an index run.
pub fn rmac(map: Map) -> Vec<f32> {
    let (h, w, channels) = (map.height, map.width, map.channels);
    let cells: Vec<f32> = (0..h * w)
        .flat_map(|i| map.data.iter().skip(i).step_by(h * w))
        .copied()
        .collect();
    let mut sum = vec![0f32; channels];
    let mut region = vec![0f32; channels];
    for (top, left, rh, rw) in regions(h, w) {
        region.fill(f32::NEG_INFINITY);
        for y in top..top + rh {
            for x in left..left + rw {
                let cell = &cells[(y * w + x) * channels..][..channels];
                // `>` rather than `f32::max`: one vector instruction, and a NaN is skipped either way.
                region
                    .iter_mut()
                    .zip(cell)
                    .for_each(|(m, &v)| *m = if v > *m { v } else { *m });
            }
        }
        add_normalised(&mut sum, &region);
    }
    normalize(&mut sum);
    sum
}

/// Adds `region` to `sum`, L2-normalised (an all-zero region adds nothing).
fn add_normalised(sum: &mut [f32], region: &[f32]) {
    let norm = region.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        sum.iter_mut().zip(region).for_each(|(s, r)| *s += r / norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_of_the_maps_the_model_makes() {
        // Side 5 at offsets 0, 2 for L = 2; side 4 at offsets 0, 2, 3 for L = 3 (7×7, 224 px).
        let r = regions(7, 7);
        assert_eq!(r.len(), 14);
        assert_eq!(r[0], (0, 0, 7, 7));
        assert_eq!(
            &r[1..5],
            &[(0, 0, 5, 5), (0, 2, 5, 5), (2, 0, 5, 5), (2, 2, 5, 5)]
        );
        assert_eq!(r[5], (0, 0, 4, 4));
        assert_eq!(r[13], (3, 3, 4, 4));
        let offsets9: Vec<usize> = regions(9, 9)[5..8].iter().map(|r| r.1).collect();
        assert_eq!((regions(9, 9)[1].2, regions(9, 9)[5].2), (6, 5));
        assert_eq!(offsets9, [0, 2, 4]);
    }

    #[test]
    fn rmac_matches_a_hand_computed_map() {
        // Two channels on a 3×3 map. Regions: the whole map; L=2: side 2 at (0,0) (0,1) (1,0)
        // (1,1); L=3: side round(6/4) = 2 at offsets round(i·1/2) = 0, 1, 1 on each axis.
        #[rustfmt::skip]
        let data = [
            1.0, 0.0, 0.0,
            0.0, 0.0, 0.0,
            0.0, 0.0, 2.0,

            0.0, 0.0, 3.0,
            0.0, 0.0, 0.0,
            0.0, 0.0, 0.0f32,
        ];
        let map = Map {
            data: &data,
            channels: 2,
            height: 3,
            width: 3,
        };
        // Channel maxima per region, by hand:
        //   whole (2, 3); (0,0) (1, 0); (0,1) (0, 3); (1,0) (0, 0) -> skipped; (1,1) (2, 0)
        //   L=3 offsets {0,1,1}²: (0,0) (1,0); (0,1)×2 (0,3); (1,0)×2 (0,0) skipped;
        //   (1,1)×4 (2,0).
        // Normalised: whole (2,3)/√13; every other non-zero region is a unit axis vector:
        //   x-axis: (0,0)+(1,1) at L=2, (0,0)+4×(1,1) at L=3 = 7; y-axis: 1 + 2 = 3.
        let s13 = 13f32.sqrt();
        let mut want = [2.0 / s13 + 7.0, 3.0 / s13 + 3.0];
        let n = (want[0] * want[0] + want[1] * want[1]).sqrt();
        want.iter_mut().for_each(|x| *x /= n);
        let got = rmac(map);
        assert!(
            (got[0] - want[0]).abs() < 1e-6 && (got[1] - want[1]).abs() < 1e-6,
            "{got:?} vs {want:?}"
        );
        let g = gap(map);
        assert!((g[0] - 1.0 / 2f32.sqrt()).abs() < 1e-6, "{g:?}");
    }

    /// R-MAC as defined, channel plane by channel plane.
    fn rmac_plane_by_plane(map: Map) -> Vec<f32> {
        let (h, w) = (map.height, map.width);
        let mut sum = vec![0f32; map.channels];
        for (top, left, rh, rw) in regions(h, w) {
            let region: Vec<f32> = map
                .data
                .chunks_exact(h * w)
                .map(|plane| {
                    (top..top + rh)
                        .flat_map(|y| &plane[y * w + left..y * w + left + rw])
                        .fold(f32::NEG_INFINITY, |m, &x| m.max(x))
                })
                .collect();
            add_normalised(&mut sum, &region);
        }
        normalize(&mut sum);
        sum
    }

    #[test]
    fn rmac_cell_by_cell_equals_rmac_plane_by_plane_bit_for_bit() {
        // The model's map (1280 × 7 × 7) and a non-square one; ReLU6-like values in [0, 6].
        for (channels, height, width) in [(1280, 7, 7), (37, 9, 6)] {
            let data: Vec<f32> = crate::embed::kernels::test_values(channels * height * width, 5)
                .into_iter()
                .map(|x| (x * 6.0).max(0.0))
                .collect();
            let map = Map {
                data: &data,
                channels,
                height,
                width,
            };
            let (ours, defined) = (rmac(map), rmac_plane_by_plane(map));
            assert!(
                ours.iter()
                    .zip(&defined)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{channels}×{height}×{width}"
            );
        }
    }
}
