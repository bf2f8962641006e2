//! Pixels to the model's input tensor: the training recipe's resize and centre crop, planar
//! RGB scaled to about [-1, 1], and the same input turned by quarter turns without decoding
//! the photo again.

use crate::decode::{decode_rgb_then, read_image, resize_crop, DecodeError};
use image::RgbImage;
use std::path::Path;

/// Side of the square the model sees.
pub const INPUT_SIZE: u32 = 224;
/// The shorter side is resized to this before the centre crop (the model's training recipe).
pub const RESIZE_SHORTER: u32 = 256;
/// Values in one model input (3 × 224 × 224, planar RGB).
pub const INPUT_LEN: usize = 3 * (INPUT_SIZE * INPUT_SIZE) as usize;

/// The model's view of a picture: shorter side to 256, centre crop 224, planar RGB scaled to
/// (value − 127) / 128. The crop is taken in source coordinates so only the kept pixels are
/// resampled.
pub fn to_model_input(src: &RgbImage) -> Vec<f32> {
    let (w, h) = (src.width() as f64, src.height() as f64);
    let scale = RESIZE_SHORTER as f64 / w.min(h);
    let (rw, rh) = (
        (w * scale).round().max(INPUT_SIZE as f64),
        (h * scale).round().max(INPUT_SIZE as f64),
    );
    let (sx, sy) = (w / rw, h / rh);
    let left = ((rw - INPUT_SIZE as f64) / 2.0).floor() * sx;
    let top = ((rh - INPUT_SIZE as f64) / 2.0).floor() * sy;
    let crop = (left, top, INPUT_SIZE as f64 * sx, INPUT_SIZE as f64 * sy);
    let pixels = resize_crop(src, INPUT_SIZE, INPUT_SIZE, crop);
    let plane = (INPUT_SIZE * INPUT_SIZE) as usize;
    let mut out = vec![0f32; INPUT_LEN];
    for (i, p) in pixels.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (p.0[c] as f32 - 127.0) / 128.0;
        }
    }
    out
}

/// A model input turned by `quarter_turns` × 90° clockwise (the centre crop is square, so
/// this is the input of the rotated photo, without decoding it again).
pub fn rotate_input(input: &[f32], quarter_turns: u8) -> Vec<f32> {
    let n = INPUT_SIZE as usize;
    let mut out = vec![0f32; input.len()];
    for (src, dst) in input.chunks_exact(n * n).zip(out.chunks_exact_mut(n * n)) {
        for y in 0..n {
            for x in 0..n {
                let (sx, sy) = match quarter_turns % 4 {
                    0 => (x, y),
                    // Clockwise: the output's top row is the source's left column, bottom up.
                    1 => (y, n - 1 - x),
                    2 => (n - 1 - x, n - 1 - y),
                    _ => (n - 1 - y, x),
                };
                dst[y * n + x] = src[sy * n + sx];
            }
        }
    }
    out
}

/// Reads `path` and returns the model input for it.
pub fn model_input(path: &Path) -> Result<Vec<f32>, DecodeError> {
    model_input_of(&read_image(path)?)
}

/// The model input of an image file already read into memory (made while the decoded pixels
/// still count against the decoding budget).
pub fn model_input_of(bytes: &[u8]) -> Result<Vec<f32>, DecodeError> {
    decode_rgb_then(bytes, RESIZE_SHORTER, |image| to_model_input(&image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_rgb;
    use crate::decode::tests::jpeg;

    #[test]
    fn model_input_has_the_model_shape_and_range() {
        let img = decode_rgb(&jpeg(640, 480), RESIZE_SHORTER).unwrap();
        let input = to_model_input(&img);
        assert_eq!(input.len(), INPUT_LEN);
        assert!(input.iter().all(|v| (-1.0..=1.0).contains(v)));
    }

    #[test]
    fn a_rotated_input_is_the_input_of_the_rotated_picture() {
        let img = RgbImage::from_fn(320, 224, |x, y| {
            image::Rgb([(x % 251) as u8, (y * 3 % 256) as u8, ((x + y) % 256) as u8])
        });
        let input = to_model_input(&img);
        for turns in 1..4u8 {
            let mut turned = img.clone();
            for _ in 0..turns {
                turned = image::imageops::rotate90(&turned);
            }
            let want = to_model_input(&turned);
            let got = rotate_input(&input, turns);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 0.02, "{turns} turns: {worst}");
        }
        assert_eq!(rotate_input(&input, 4), input);
    }
}
