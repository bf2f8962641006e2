//! Resizing pixels: a bilinear, antialiased resize-and-crop (fast_image_resize), and the two
//! shapes the app draws, a centred square and a fit within a box.

use fast_image_resize as fr;
use image::RgbImage;

/// Resizes (bilinear, antialiased) and crops `src` to a `width`×`height` picture of the region
/// `crop` = (left, top, width, height) in source pixels.
pub fn resize_crop(
    src: &RgbImage,
    width: u32,
    height: u32,
    crop: (f64, f64, f64, f64),
) -> RgbImage {
    let mut dst = RgbImage::new(width, height);
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear))
        .crop(crop.0, crop.1, crop.2, crop.3);
    fr::Resizer::new()
        .resize(src, &mut dst, &options)
        .expect("RGB to RGB resize with an in-bounds crop cannot fail");
    dst
}

/// The centred square of `src`, resized to `side`×`side` (for thumbnails).
pub fn square(src: &RgbImage, side: u32) -> RgbImage {
    let (w, h) = (src.width() as f64, src.height() as f64);
    let s = w.min(h);
    resize_crop(src, side, side, ((w - s) / 2.0, (h - s) / 2.0, s, s))
}

/// `src` scaled down (never up) to fit in `max_side`×`max_side`, aspect ratio kept.
pub fn fit(src: &RgbImage, max_side: u32) -> RgbImage {
    let (w, h) = (src.width(), src.height());
    if w <= max_side && h <= max_side {
        return src.clone();
    }
    let s = max_side as f64 / w.max(h) as f64;
    let (nw, nh) = (
        ((w as f64 * s).round() as u32).max(1),
        ((h as f64 * s).round() as u32).max(1),
    );
    resize_crop(src, nw, nh, (0.0, 0.0, w as f64, h as f64))
}
