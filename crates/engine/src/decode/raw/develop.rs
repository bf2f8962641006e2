//! Developing a DNG's sensor data, for the RAW files with no usable JPEG preview (phone apps
//! that write DNG through Android's `DngCreator` often embed none, or a tiny one): uncompressed
//! Bayer (CFA) samples at half size, each 2×2 cell one pixel (no demosaicing to get wrong), or
//! linear RGB; then the black and white levels, the camera's white balance and colour matrix,
//! and the sRGB curve. Compressed sensor data (lossless JPEG) and the other RAW formats are not
//! developed: their cameras always embed a full-size preview.

use crate::decode::raw::{DNG_VERSION, SUB_IFDS};
#[cfg(any(test, feature = "test-support"))]
use crate::decode::tiff::{le_directory, le_entry};
use crate::decode::tiff::{Entry, Tiff};
use crate::decode::DecodeError;
use image::RgbImage;

const NEW_SUBFILE_TYPE: u16 = 0x00fe;
const IMAGE_WIDTH: u16 = 0x0100;
const IMAGE_LENGTH: u16 = 0x0101;
const BITS_PER_SAMPLE: u16 = 0x0102;
const COMPRESSION: u16 = 0x0103;
const PHOTOMETRIC: u16 = 0x0106;
const STRIP_OFFSETS: u16 = 0x0111;
const SAMPLES_PER_PIXEL: u16 = 0x0115;
const ROWS_PER_STRIP: u16 = 0x0116;
const PLANAR_CONFIGURATION: u16 = 0x011c;
const TILE_WIDTH: u16 = 0x0142;
const TILE_LENGTH: u16 = 0x0143;
const TILE_OFFSETS: u16 = 0x0144;
const CFA_REPEAT_PATTERN_DIM: u16 = 0x828d;
const CFA_PATTERN: u16 = 0x828e;
const BLACK_LEVEL_REPEAT_DIM: u16 = 0xc619;
const BLACK_LEVEL: u16 = 0xc61a;
const WHITE_LEVEL: u16 = 0xc61d;
const COLOR_MATRIX_1: u16 = 0xc621;
const COLOR_MATRIX_2: u16 = 0xc622;
const AS_SHOT_NEUTRAL: u16 = 0xc628;
const CALIBRATION_ILLUMINANT_2: u16 = 0xc65b;
const PHOTOMETRIC_CFA: f64 = 32803.0;
const PHOTOMETRIC_LINEAR_RAW: f64 = 34892.0;
/// The EXIF code of the D65 illuminant, for which sRGB is defined.
const D65: f64 = 21.0;
/// Strips or tiles one image may have (one strip per row of a 200 MP sensor).
const MAX_PIECES: usize = 1 << 16;
/// XYZ of linear sRGB primaries (D65).
const XYZ_FROM_SRGB: [[f64; 3]; 3] = [
    [0.4124, 0.3576, 0.1805],
    [0.2126, 0.7152, 0.0722],
    [0.0193, 0.1192, 0.9505],
];

/// The developed picture of a DNG with sensor data this module reads, as stored (the caller
/// turns it by the file's orientation); `Ok(None)` for any other RAW.
pub fn develop(bytes: &[u8]) -> Result<Option<RgbImage>, DecodeError> {
    let Some(tiff) = Tiff::new(bytes) else {
        return Ok(None);
    };
    let directories = tiff.walk(&[SUB_IFDS]);
    let is_dng = directories
        .first()
        .is_some_and(|d| d.iter().any(|e| e.tag == DNG_VERSION));
    let raw = directories.iter().find(|d| {
        let full_size = get(&tiff, d, NEW_SUBFILE_TYPE).unwrap_or(0.0) == 0.0;
        let kind = get(&tiff, d, PHOTOMETRIC);
        full_size && matches!(kind, Some(PHOTOMETRIC_CFA | PHOTOMETRIC_LINEAR_RAW))
    });
    let (true, Some(dir)) = (is_dng, raw) else {
        return Ok(None);
    };
    let Some(sensor) = Sensor::new(&tiff, dir)? else {
        return Ok(None);
    };
    let colour = Colour::new(&tiff, dir, sensor.samples);
    Ok(Some(if sensor.samples == 1 {
        let Some(pattern) = cfa_pattern(&tiff, dir) else {
            return Ok(None);
        };
        sensor.half_size(pattern, &colour)
    } else {
        sensor.linear(&colour)
    }))
}

/// The first value of a numeric entry of `dir`.
fn get(tiff: &Tiff, dir: &[Entry], tag: u16) -> Option<f64> {
    all(tiff, dir, tag, 1)?.first().copied()
}

/// The values of a numeric entry of `dir` (at most `max`).
fn all(tiff: &Tiff, dir: &[Entry], tag: u16, max: usize) -> Option<Vec<f64>> {
    tiff.values(dir.iter().find(|e| e.tag == tag)?, max)
}

/// The colour of each cell of a 2×2 Bayer pattern (0 red, 1 green, 2 blue), row by row.
fn cfa_pattern(tiff: &Tiff, dir: &[Entry]) -> Option<[usize; 4]> {
    let dim = all(tiff, dir, CFA_REPEAT_PATTERN_DIM, 2)?;
    let pattern = all(tiff, dir, CFA_PATTERN, 4)?;
    if dim != [2.0, 2.0] || pattern.len() != 4 {
        return None;
    }
    let cells = [0, 1, 2, 3].map(|i| pattern[i] as usize);
    let mut seen = [0; 3];
    for &c in &cells {
        *seen.get_mut(c)? += 1;
    }
    (seen == [1, 2, 1]).then_some(cells)
}

/// Where the samples of the full-size image lie.
struct Sensor<'a> {
    tiff: &'a Tiff<'a>,
    width: usize,
    height: usize,
    /// 1 (CFA) or 3 (linear RGB).
    samples: usize,
    /// 1 or 2 (8- or 16-bit samples, in the file's byte order).
    bytes_per_sample: usize,
    /// The first byte of each strip (`piece_rows` rows of `piece_width` pixels) or tile.
    offsets: Vec<usize>,
    piece_width: usize,
    piece_rows: usize,
}

impl<'a> Sensor<'a> {
    /// The layout of `dir`'s samples, every piece checked to lie in the file; `None` for a
    /// layout this module does not read (compressed, planar, packed bits).
    fn new(tiff: &'a Tiff<'a>, dir: &[Entry]) -> Result<Option<Self>, DecodeError> {
        let number = |tag| get(tiff, dir, tag);
        let (Some(width), Some(height)) = (number(IMAGE_WIDTH), number(IMAGE_LENGTH)) else {
            return Ok(None);
        };
        let (width, height) = (width as usize, height as usize);
        crate::decode::check_size(width as u64, height as u64)?;
        let samples = number(SAMPLES_PER_PIXEL).unwrap_or(1.0) as usize;
        let bits = number(BITS_PER_SAMPLE).unwrap_or(1.0);
        let plain = number(COMPRESSION) == Some(1.0)
            && number(PLANAR_CONFIGURATION).unwrap_or(1.0) == 1.0
            && matches!(samples, 1 | 3)
            && matches!(bits as u32, 8 | 16)
            && width > 1
            && height > 1;
        if !plain {
            return Ok(None);
        }
        let bytes_per_sample = bits as usize / 8;
        let (offsets, piece_width, piece_rows, tiled) =
            match all(tiff, dir, TILE_OFFSETS, MAX_PIECES) {
                Some(tiles) => {
                    let (Some(w), Some(l)) = (number(TILE_WIDTH), number(TILE_LENGTH)) else {
                        return Ok(None);
                    };
                    (tiles, w as usize, l as usize, true)
                }
                None => {
                    let Some(strips) = all(tiff, dir, STRIP_OFFSETS, MAX_PIECES) else {
                        return Ok(None);
                    };
                    let rows = number(ROWS_PER_STRIP).map_or(height, |r| r as usize);
                    (strips, width, rows.min(height), false)
                }
            };
        if piece_width == 0 || piece_rows == 0 {
            return Ok(None);
        }
        let cut_short = || DecodeError::Corrupt("the DNG's sensor data is cut short".into());
        let len = tiff.bytes.len();
        let row_bytes = piece_width
            .checked_mul(samples * bytes_per_sample)
            .filter(|&n| n.checked_mul(piece_rows).is_some_and(|piece| piece <= len))
            .ok_or_else(cut_short)?;
        let pieces = width.div_ceil(piece_width) * height.div_ceil(piece_rows);
        let offsets: Vec<usize> = offsets.iter().map(|&o| o as usize).collect();
        // Every piece must lie in the file: a tile whole, a strip the rows it holds (the
        // last one only those the image has left).
        let rows_in = |i: usize| {
            if tiled {
                piece_rows
            } else {
                piece_rows.min(height - i * piece_rows)
            }
        };
        let whole = offsets.len() >= pieces
            && offsets[..pieces].iter().enumerate().all(|(i, &o)| {
                o.checked_add(rows_in(i) * row_bytes)
                    .is_some_and(|end| end <= len)
            });
        if !whole {
            return Err(cut_short());
        }
        Ok(Some(Sensor {
            tiff,
            width,
            height,
            samples,
            bytes_per_sample,
            offsets,
            piece_width,
            piece_rows,
        }))
    }

    /// Sample `c` of pixel (x, y), from 0 to 65535 (8-bit samples scaled up).
    fn sample(&self, x: usize, y: usize, c: usize) -> f32 {
        let across = self.width.div_ceil(self.piece_width);
        let piece = (y / self.piece_rows) * across + x / self.piece_width;
        let within = (y % self.piece_rows) * self.piece_width + x % self.piece_width;
        let Some(&start) = self.offsets.get(piece) else {
            return 0.0;
        };
        let at = start + (within * self.samples + c) * self.bytes_per_sample;
        if self.bytes_per_sample == 1 {
            self.tiff
                .bytes
                .get(at)
                .map_or(0.0, |&b| f32::from(b) * 257.0)
        } else {
            f32::from(self.tiff.u16_at(at).unwrap_or(0))
        }
    }

    /// Each 2×2 Bayer cell as one pixel: its red, the mean of its greens, its blue.
    fn half_size(&self, pattern: [usize; 4], colour: &Colour) -> RgbImage {
        let (w, h) = (self.width / 2, self.height / 2);
        let mut out = RgbImage::new(w as u32, h as u32);
        for (x, y, px) in out.enumerate_pixels_mut() {
            let (x, y) = (x as usize * 2, y as usize * 2);
            let mut rgb = [0f32; 3];
            for (cell, &c) in pattern.iter().enumerate() {
                let (dx, dy) = (cell % 2, cell / 2);
                let v = colour.level(self.sample(x + dx, y + dy, 0), cell);
                rgb[c] += if c == 1 { v / 2.0 } else { v };
            }
            px.0 = colour.to_srgb(rgb);
        }
        out
    }

    /// Linear RGB samples, pixel for pixel.
    fn linear(&self, colour: &Colour) -> RgbImage {
        let mut out = RgbImage::new(self.width as u32, self.height as u32);
        for (x, y, px) in out.enumerate_pixels_mut() {
            let rgb = [0, 1, 2].map(|c| colour.level(self.sample(x as usize, y as usize, c), c));
            px.0 = colour.to_srgb(rgb);
        }
        out
    }
}

/// From raw samples to sRGB: levels, white balance, colour matrix, transfer curve.
struct Colour {
    /// Black level per Bayer cell (row by row) or per sample.
    black: [f32; 4],
    white: f32,
    /// Linear sRGB from white-balanced camera RGB.
    matrix: [[f32; 3]; 3],
    /// The camera's response to white, divided out.
    neutral: [f32; 3],
    /// The sRGB curve, on 4,096 steps of linear light.
    curve: Vec<u8>,
}

impl Colour {
    fn new(tiff: &Tiff, dir: &[Entry], samples: usize) -> Self {
        let black_values = all(tiff, dir, BLACK_LEVEL, 4).unwrap_or_default();
        let per_cell = all(tiff, dir, BLACK_LEVEL_REPEAT_DIM, 2).as_deref() == Some(&[2.0, 2.0]);
        let black = [0, 1, 2, 3].map(|i| {
            let i = if per_cell || samples == 3 { i } else { 0 };
            black_values
                .get(i)
                .or(black_values.first())
                .copied()
                .unwrap_or(0.0) as f32
        });
        let white = get(tiff, dir, WHITE_LEVEL).unwrap_or(65535.0) as f32;
        let neutral = all(tiff, dir, AS_SHOT_NEUTRAL, 3)
            .filter(|n| n.len() == 3 && n.iter().all(|&v| v > 0.0))
            .map_or([1.0; 3], |n| [n[0] as f32, n[1] as f32, n[2] as f32]);
        // The matrix measured under daylight, when there is one.
        let daylight = get(tiff, dir, CALIBRATION_ILLUMINANT_2) == Some(D65);
        let camera_from_xyz = [COLOR_MATRIX_1, COLOR_MATRIX_2]
            .map(|tag| all(tiff, dir, tag, 9).filter(|m| m.len() == 9));
        let camera_from_xyz = match camera_from_xyz {
            [_, Some(m2)] if daylight => Some(m2),
            [m1, m2] => m1.or(m2),
        };
        let matrix = camera_from_xyz
            .and_then(|m| srgb_from_camera(&m))
            .unwrap_or([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        let curve = (0..4096)
            .map(|i| {
                let l = i as f64 / 4095.0;
                let v = if l <= 0.003_130_8 {
                    12.92 * l
                } else {
                    1.055 * l.powf(1.0 / 2.4) - 0.055
                };
                (v * 255.0).round() as u8
            })
            .collect();
        Colour {
            black,
            white,
            matrix,
            neutral,
            curve,
        }
    }

    /// A raw sample of Bayer cell (or sample) `i` as linear light from 0 to 1.
    fn level(&self, raw: f32, i: usize) -> f32 {
        let black = self.black[i];
        ((raw - black) / (self.white - black).max(1.0)).clamp(0.0, 1.0)
    }

    fn to_srgb(&self, camera: [f32; 3]) -> [u8; 3] {
        let balanced = [0, 1, 2].map(|c| camera[c] / self.neutral[c]);
        [0, 1, 2].map(|r| {
            let m = self.matrix[r];
            let l = m[0] * balanced[0] + m[1] * balanced[1] + m[2] * balanced[2];
            self.curve[(l.clamp(0.0, 1.0) * 4095.0) as usize]
        })
    }
}

/// Linear sRGB from white-balanced camera RGB, from the DNG's XYZ-to-camera matrix: the
/// inverse of camera-from-sRGB with its rows scaled so that white stays white.
fn srgb_from_camera(camera_from_xyz: &[f64]) -> Option<[[f32; 3]; 3]> {
    let mut m = [[0f64; 3]; 3];
    for (r, row) in m.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = (0..3)
                .map(|k| camera_from_xyz[r * 3 + k] * XYZ_FROM_SRGB[k][c])
                .sum();
        }
        let sum: f64 = row.iter().sum();
        if sum.abs() < 1e-9 {
            return None;
        }
        row.iter_mut().for_each(|v| *v /= sum);
    }
    let inverse = invert(&m)?;
    Some(inverse.map(|row| row.map(|v| v as f32)))
}

/// The inverse of a 3×3 matrix (`None` when it has none).
fn invert(m: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if det.abs() < 1e-9 || !det.is_finite() {
        return None;
    }
    let cofactor = |r: usize, c: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (c1, c2) = ((c + 1) % 3, (c + 2) % 3);
        m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]
    };
    Some([0, 1, 2].map(|r| [0, 1, 2].map(|c| cofactor(c, r) / det)))
}

/// A DNG holding `img` as uncompressed 16-bit RGGB sensor data, as a phone app writes it: the
/// picture at twice its size, each pixel a 2×2 Bayer cell, with black level `black`, white
/// level 4095 and the white balance `neutral` the camera saw; strips of `rows_per_strip`
/// rows; to be turned by the TIFF `orientation`. No preview, or `preview` (a JPEG) in IFD0.
/// For tests and benchmarks.
#[cfg(any(test, feature = "test-support"))]
pub fn mosaic_dng(
    img: &RgbImage,
    neutral: [f32; 3],
    black: u16,
    rows_per_strip: u32,
    orientation: u16,
    preview: Option<&[u8]>,
) -> Vec<u8> {
    let (w, h) = (img.width() * 2, img.height() * 2);
    let linear = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    let mut data = Vec::with_capacity((w * h * 2) as usize);
    for y in 0..h {
        for x in 0..w {
            let px = img.get_pixel(x / 2, y / 2).0;
            let c = match (y % 2, x % 2) {
                (0, 0) => 0,
                (1, 1) => 2,
                _ => 1,
            };
            let raw =
                f64::from(black) + linear(px[c]) * f64::from(neutral[c]) * f64::from(4095 - black);
            data.extend((raw.round() as u16).to_le_bytes());
        }
    }
    let strips = h.div_ceil(rows_per_strip);
    let strip_bytes = rows_per_strip * w * 2;
    // header(8) | IFD0 | sub IFD | strip offsets | neutral rationals | preview | data
    let ifd0_entries = 3 + if preview.is_some() { 2 } else { 0 };
    let sub_entries = 14;
    let ifd0_at = 8;
    let sub_at = ifd0_at + 2 + 12 * ifd0_entries + 4;
    let offsets_at = sub_at + 2 + 12 * sub_entries + 4;
    let neutral_at = offsets_at + 4 * strips;
    let preview_at = neutral_at + 24;
    let data_at = preview_at + preview.map_or(0, |p| p.len() as u32);
    let mut ifd0 = vec![
        le_entry(0x0112, 3, 1, u32::from(orientation)),
        le_entry(DNG_VERSION, 1, 4, u32::from_le_bytes([1, 4, 0, 0])),
        le_entry(SUB_IFDS, 4, 1, sub_at),
    ];
    if let Some(p) = preview {
        ifd0.push(le_entry(0x0201, 4, 1, preview_at));
        ifd0.push(le_entry(0x0202, 4, 1, p.len() as u32));
    }
    ifd0.sort_by_key(|e| u16::from_le_bytes([e[0], e[1]]));
    let sub = [
        le_entry(NEW_SUBFILE_TYPE, 4, 1, 0),
        le_entry(IMAGE_WIDTH, 4, 1, w),
        le_entry(IMAGE_LENGTH, 4, 1, h),
        le_entry(BITS_PER_SAMPLE, 3, 1, 16),
        le_entry(COMPRESSION, 3, 1, 1),
        le_entry(PHOTOMETRIC, 3, 1, 32803),
        le_entry(
            STRIP_OFFSETS,
            4,
            strips,
            if strips == 1 { data_at } else { offsets_at },
        ),
        le_entry(SAMPLES_PER_PIXEL, 3, 1, 1),
        le_entry(ROWS_PER_STRIP, 4, 1, rows_per_strip),
        le_entry(
            CFA_REPEAT_PATTERN_DIM,
            3,
            2,
            u32::from_le_bytes([2, 0, 2, 0]),
        ),
        le_entry(CFA_PATTERN, 1, 4, u32::from_le_bytes([0, 1, 1, 2])),
        le_entry(BLACK_LEVEL, 3, 1, u32::from(black)),
        le_entry(WHITE_LEVEL, 3, 1, 4095),
        le_entry(AS_SHOT_NEUTRAL, 5, 3, neutral_at),
    ];
    let mut out = b"II".to_vec();
    out.extend(42u16.to_le_bytes());
    out.extend(ifd0_at.to_le_bytes());
    out.extend(le_directory(&ifd0));
    out.extend(le_directory(&sub));
    for s in 0..strips {
        out.extend((data_at + s * strip_bytes).to_le_bytes());
    }
    for n in neutral {
        out.extend(((n * 1_000_000.0) as u32).to_le_bytes());
        out.extend(1_000_000u32.to_le_bytes());
    }
    out.extend(preview.unwrap_or_default());
    assert_eq!(out.len() as u32, data_at);
    out.extend(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture with colour and detail: red, green, blue and grey quarters with a gradient.
    fn picture() -> RgbImage {
        RgbImage::from_fn(64, 48, |x, y| {
            let t = (x + y) as u8;
            match (x < 32, y < 24) {
                (true, true) => image::Rgb([200, 40 + t, 40]),
                (false, true) => image::Rgb([40, 180, 60 + t]),
                (true, false) => image::Rgb([50, 60 + t, 210]),
                (false, false) => image::Rgb([120 + t, 120 + t, 120 + t]),
            }
        })
    }

    fn mean_difference(a: &RgbImage, b: &RgbImage) -> f64 {
        assert_eq!(a.dimensions(), b.dimensions());
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs())
            .sum::<f64>()
            / a.as_raw().len() as f64
    }

    #[test]
    fn bayer_sensor_data_develops_to_the_picture_it_saw() {
        let img = picture();
        // One strip, and many (the last one short); a camera that saw white as greenish.
        for rows in [96, 10] {
            let dng = mosaic_dng(&img, [0.5, 1.0, 0.7], 64, rows, 1, None);
            let got = develop(&dng).unwrap().expect("developed");
            let diff = mean_difference(&got, &img);
            assert!(diff < 2.0, "rows per strip {rows}: mean difference {diff}");
        }
    }

    #[test]
    fn other_raws_are_not_developed_and_cut_sensor_data_is_an_error() {
        let (cr2_like, _) = crate::decode::raw::tests::tiff_raw(42, 1);
        assert!(develop(&cr2_like).unwrap().is_none());
        let dng = mosaic_dng(&picture(), [1.0; 3], 0, 16, 1, None);
        let err = develop(&dng[..dng.len() - 100]).unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
        for cut in (0..dng.len()).step_by(97) {
            let _ = develop(&dng[..cut]);
        }
        let mut flipped = dng.clone();
        for i in 0..400 {
            flipped[i] ^= 0xff;
            let _ = develop(&flipped);
            flipped[i] ^= 0xff;
        }
    }

    #[test]
    fn hostile_sizes_and_tiles_give_an_error_not_a_panic() {
        let dng = mosaic_dng(&picture(), [1.0; 3], 0, 16, 1, None);
        let tiff = Tiff::new(&dng).unwrap();
        let (ifd0, _) = tiff.directory(tiff.first().unwrap()).unwrap();
        let sub_at = tiff.u32_of(ifd0.iter().find(|e| e.tag == SUB_IFDS).unwrap().value) as usize;
        let entries = tiff.u16_at(sub_at).unwrap() as usize;
        // The strips as tiles 1 pixel wide: far more tiles than offsets.
        let mut tiled = dng.clone();
        for i in 0..entries {
            let at = sub_at + 2 + 12 * i;
            let renamed = match u16::from_le_bytes([tiled[at], tiled[at + 1]]) {
                STRIP_OFFSETS => TILE_OFFSETS,
                ROWS_PER_STRIP => TILE_LENGTH,
                SAMPLES_PER_PIXEL => TILE_WIDTH,
                tag => tag,
            };
            tiled[at..at + 2].copy_from_slice(&renamed.to_le_bytes());
        }
        assert!(develop(&tiled).is_err());
        // Every entry's value at its extremes, one at a time and all at once (tiles of
        // 2³² × 2³² pixels), strips and tiles.
        let value_at = |i: usize| sub_at + 2 + 12 * i + 8;
        for base in [&dng, &tiled] {
            for value in [0u32, 1, 0x7fff_ffff, u32::MAX] {
                let mut all = base.clone();
                for i in 0..entries {
                    let mut one = base.clone();
                    one[value_at(i)..value_at(i) + 4].copy_from_slice(&value.to_le_bytes());
                    let _ = develop(&one);
                    all[value_at(i)..value_at(i) + 4].copy_from_slice(&value.to_le_bytes());
                }
                let _ = develop(&all);
            }
        }
        // Tiles of 2³² × 2³² pixels in a sane picture: their bytes overflow a usize.
        let mut huge = tiled.clone();
        for i in 0..entries {
            let at = sub_at + 2 + 12 * i;
            if matches!(
                u16::from_le_bytes([huge[at], huge[at + 1]]),
                TILE_WIDTH | TILE_LENGTH
            ) {
                huge[at + 2..at + 4].copy_from_slice(&crate::decode::tiff::LONG.to_le_bytes());
                huge[value_at(i)..value_at(i) + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            }
        }
        assert!(develop(&huge).is_err());
    }

    #[test]
    fn the_matrix_of_a_camera_that_sees_srgb_changes_nothing() {
        // Its XYZ-to-camera matrix is the inverse of sRGB's XYZ: camera RGB is linear sRGB.
        let camera_from_xyz: Vec<f64> = invert(&XYZ_FROM_SRGB).unwrap().concat();
        let back = srgb_from_camera(&camera_from_xyz).unwrap();
        for (r, row) in back.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let want = if r == c { 1.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-3, "{back:?}");
            }
        }
    }
}
