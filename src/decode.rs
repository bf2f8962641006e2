//! Image files to pixels, and pixels to the model's input tensor.
//!
//! Decoding a full-size phone photo would cost more than the neural network, so large JPEGs
//! are decoded straight at a reduced size (DCT-domain scaling: 1/2, 1/4 or 1/8), which is all
//! a 224×224 model input or a thumbnail needs. Every decode is bounded in memory, so a
//! "decompression bomb" is refused before anything big is allocated. Camera RAWs are read by
//! their embedded preview (`raw.rs`), HEIC and AVIF by the system's libheif when it is
//! installed (`heif.rs`, which decodes them whole and upright).

use crate::jpeg;
use fast_image_resize as fr;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, RgbImage};
use std::io::Cursor;
use std::path::Path;

/// Side of the square the model sees.
pub const INPUT_SIZE: u32 = 224;
/// The shorter side is resized to this before the centre crop (the model's training recipe).
pub const RESIZE_SHORTER: u32 = 256;
/// Values in one model input (3 × 224 × 224, planar RGB).
pub const INPUT_LEN: usize = 3 * (INPUT_SIZE * INPUT_SIZE) as usize;

/// The largest image accepted, in pixels: a 48 MP phone photo or a long panorama fit,
/// a 30000×30000 decompression bomb does not.
pub const MAX_PIXELS: u64 = 200_000_000;
/// The most memory one decode may ask for.
const MAX_ALLOC: u64 = 1 << 30;
/// Bytes read first, to recognise the format and the claimed size before reading the rest.
const HEAD: u64 = 64 * 1024;
/// The most bytes read from a file whose header does not say its size within [`HEAD`].
const MAX_FILE_BYTES: u64 = 1 << 30;

/// Why a file could not be turned into pixels, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("empty file (0 bytes)")]
    Empty,
    #[error("not a regular file ({0})")]
    NotAFile(&'static str),
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "not an image (content not recognised as JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC/AVIF \
         or camera RAW)"
    )]
    NotAnImage,
    /// A HEIC/AVIF file, but the system's libheif (or its decoder for this codec) is missing:
    /// the words say what to install (see [`crate::heif`]).
    #[error("{0}")]
    NeedsLibheif(String),
    #[error("image too large: {width}×{height} pixels is over the {} MP limit", MAX_PIXELS / 1_000_000)]
    TooLarge { width: u64, height: u64 },
    #[error("corrupt or truncated image: {0}")]
    Corrupt(String),
    #[error("unsupported image: {0}")]
    Unsupported(String),
}

impl From<image::ImageError> for DecodeError {
    fn from(err: image::ImageError) -> Self {
        use image::ImageError as E;
        match err {
            E::Limits(_) => DecodeError::Corrupt(format!("over the memory limit ({err})")),
            E::Unsupported(e) => DecodeError::Unsupported(e.to_string()),
            E::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                DecodeError::Corrupt("file ends too early".into())
            }
            E::IoError(e) => DecodeError::Io(e),
            other => DecodeError::Corrupt(other.to_string()),
        }
    }
}

/// Reads and decodes `path` into RGB pixels, upright (EXIF orientation applied), as small as
/// the decoder can make it while keeping the shorter side at least `min_shorter` pixels (or the
/// full size, if the image is smaller than that).
pub fn load_rgb(path: &Path, min_shorter: u32) -> Result<RgbImage, DecodeError> {
    decode_rgb(&read_image(path)?, min_shorter)
}

/// Opens `path` for reading only if it is a regular file, and without blocking (opening a
/// named pipe waits for a writer; a device never ends). Returns the file and its length.
pub fn open_regular(path: &Path) -> Result<(std::fs::File, u64), DecodeError> {
    use std::os::unix::fs::OpenOptionsExt;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(DecodeError::NotAFile(crate::scan::describe(
            &meta.file_type(),
        )));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(DecodeError::NotAFile(crate::scan::describe(
            &meta.file_type(),
        )));
    }
    Ok((file, meta.len()))
}

/// How an image file is encoded, as far as choosing its decoder goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One the `image` crate knows (JPEGs go to libjpeg; camera RAWs count as TIFF, since
    /// they are read whole as TIFFs are and `decode_rgb` then takes their preview).
    Image(image::ImageFormat),
    /// HEIC/HEIF or AVIF: the system's libheif decodes it (see [`crate::heif`]).
    Heif(crate::heif::Kind),
}

/// The format of the image in `path`, from its first bytes.
pub fn sniff(path: &Path) -> Result<Format, DecodeError> {
    let (file, len) = open_regular(path)?;
    let head = read_up_to(file, len.min(64))?;
    format_of(&head)
}

fn format_of(head: &[u8]) -> Result<Format, DecodeError> {
    if head.is_empty() {
        return Err(DecodeError::Empty);
    }
    // Before `guess_format`, which takes an AVIF for a format it has no decoder for here.
    if let Some(kind) = crate::heif::kind(head) {
        return Ok(Format::Heif(kind));
    }
    let format = image::guess_format(head).or_else(|_| {
        // RAW files with a magic of their own (RAF, CR3, ORF, RW2).
        crate::raw::container(head)
            .map(|_| image::ImageFormat::Tiff)
            .ok_or(DecodeError::NotAnImage)
    })?;
    Ok(Format::Image(format))
}

fn read_up_to(file: impl std::io::Read, n: u64) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read;
    let mut out = Vec::with_capacity(n.min(HEAD) as usize);
    file.take(n).read_to_end(&mut out)?;
    Ok(out)
}

/// The bytes of an image file, read with care: only a regular file is opened, its format is
/// recognised from the first bytes before anything else is read, and no more is read than the
/// format can need for the size its header claims (a size over the limits is refused before
/// the rest is read at all).
pub fn read_image(path: &Path) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read;
    let (mut file, len) = open_regular(path)?;
    let mut bytes = read_up_to(&mut file, len.min(HEAD))?;
    let format = format_of(&bytes)?;
    // A RAW's first directory describes a thumbnail; its preview may lie anywhere in the file.
    let raw = crate::raw::container(&bytes).is_some();
    let cap = match claimed_size(format, &bytes).filter(|_| !raw) {
        Some((width, height)) => {
            check_size(width, height)?;
            if format == Format::Image(image::ImageFormat::Jpeg) {
                if let Some(frame) = jpeg::frame(&bytes) {
                    frame.check(len, MAX_ALLOC)?;
                }
            }
            // No encoding takes more than 8 bytes a pixel (16-bit RGBA), plus metadata.
            width * height * 8 + (16 << 20)
        }
        None => MAX_FILE_BYTES,
    };
    let rest = len.min(cap).saturating_sub(bytes.len() as u64);
    (&mut file).take(rest).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The first bytes of a regular file (where headers say what a file is).
pub fn head(path: &Path) -> Option<Vec<u8>> {
    let (file, len) = open_regular(path).ok()?;
    read_up_to(file, len.min(HEAD)).ok()
}

/// The pixel size of the image in `path`, from its header (without decoding it), upright:
/// `None` when the first bytes do not say it.
pub fn dimensions(path: &Path) -> Option<(u32, u32)> {
    dimensions_in(&head(path)?)
}

/// [`dimensions`] from a file's first bytes, already read.
pub fn dimensions_in(head: &[u8]) -> Option<(u32, u32)> {
    let (w, h) = claimed_size(format_of(head).ok()?, head)?;
    Some((w as u32, h as u32))
}

/// The pixel size an image's header claims, when the first bytes say it.
fn claimed_size(format: Format, head: &[u8]) -> Option<(u64, u64)> {
    match format {
        Format::Heif(_) => crate::heif::claimed_size(head),
        Format::Image(image::ImageFormat::Jpeg) => {
            jpeg::frame(head).map(|f| (f.width as u64, f.height as u64))
        }
        Format::Image(format) => image::ImageReader::with_format(Cursor::new(head), format)
            .into_dimensions()
            .ok()
            .map(|(w, h)| (w as u64, h as u64)),
    }
}

/// [`load_rgb`] on bytes already in memory.
pub fn decode_rgb(bytes: &[u8], min_shorter: u32) -> Result<RgbImage, DecodeError> {
    if crate::raw::container(bytes).is_some() {
        return decode_raw(bytes, min_shorter);
    }
    match format_of(bytes)? {
        Format::Heif(kind) => crate::heif::decode(bytes, kind),
        Format::Image(image::ImageFormat::Jpeg) => {
            if let Some(frame) = jpeg::frame(bytes) {
                check_size(frame.width as u64, frame.height as u64)?;
                frame.check(bytes.len() as u64, MAX_ALLOC)?;
            }
            jpeg::decode(bytes, min_shorter)
        }
        Format::Image(format) => decode_other(bytes, format),
    }
}

/// A preview with a shorter side of this many pixels is good enough, whatever size is asked
/// for: developing the sensor data instead would take longer and look different.
const PREVIEW_ENOUGH: u32 = 1024;

/// A camera RAW file, by its embedded JPEG preview, turned as the container says unless the
/// JPEG says so itself; a DNG whose preview is missing or smaller than `min_shorter` is
/// developed from its sensor data where [`crate::develop`] can.
fn decode_raw(bytes: &[u8], min_shorter: u32) -> Result<RgbImage, DecodeError> {
    let preview = crate::raw::preview(bytes);
    let big_enough = preview
        .as_ref()
        .is_some_and(|p| p.shorter_side >= min_shorter.min(PREVIEW_ENOUGH));
    if !big_enough {
        if let Some(developed) = crate::develop::develop(bytes)? {
            return Ok(turned(developed, crate::raw::orientation(bytes)));
        }
    }
    let preview = preview.ok_or_else(|| {
        DecodeError::Unsupported(
            "a camera RAW file with no JPEG preview and sensor data photo-sim cannot develop \
             (only uncompressed DNG is developed)"
                .into(),
        )
    })?;
    let jpeg = &bytes[preview.jpeg];
    let image = decode_rgb(jpeg, min_shorter)?;
    if crate::raw::has_own_orientation(jpeg) {
        return Ok(image);
    }
    Ok(turned(image, preview.orientation))
}

/// `image` turned as the TIFF orientation `orientation` says (1: as stored).
fn turned(image: RgbImage, orientation: u16) -> RgbImage {
    let mut image = DynamicImage::ImageRgb8(image);
    if let Some(o) = u8::try_from(orientation)
        .ok()
        .and_then(Orientation::from_exif)
    {
        image.apply_orientation(o);
    }
    image.into_rgb8()
}

pub(crate) fn check_size(width: u64, height: u64) -> Result<(), DecodeError> {
    if width * height > MAX_PIXELS {
        return Err(DecodeError::TooLarge { width, height });
    }
    Ok(())
}

fn decode_other(bytes: &[u8], format: image::ImageFormat) -> Result<RgbImage, DecodeError> {
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    check_size(width as u64, height as u64)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    Ok(image.into_rgb8())
}

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

/// The model input of an image file already read into memory.
pub fn model_input_of(bytes: &[u8]) -> Result<Vec<f32>, DecodeError> {
    Ok(to_model_input(&decode_rgb(bytes, RESIZE_SHORTER)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn large_jpeg_is_decoded_at_reduced_size_but_not_below_the_request() {
        // 1/8 would give 300×200, below 256 on the shorter side; 2/8 is the smallest that fits.
        let img = decode_rgb(&jpeg(2400, 1600), 256).unwrap();
        assert_eq!((img.width(), img.height()), (600, 400));
        // libjpeg scales by any n/8: 3/8 reaches 600.
        let img = decode_rgb(&jpeg(2400, 1600), 600).unwrap();
        assert_eq!((img.width(), img.height()), (900, 600));
        let img = decode_rgb(&jpeg(200, 100), 256).unwrap();
        assert_eq!((img.width(), img.height()), (200, 100));
    }

    #[test]
    fn exif_orientation_is_applied() {
        use image::ImageEncoder;
        // A big-endian TIFF block with one entry: Orientation (0x0112) = 6, "rotate 90° CW".
        let exif: Vec<u8> = [
            &b"MM\0\x2a\0\0\0\x08"[..],
            &[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0],
        ]
        .concat();
        let img = RgbImage::from_fn(400, 300, |x, _| {
            image::Rgb([if x < 200 { 255 } else { 0 }, 0, 0])
        });
        let mut out = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
        enc.set_exif_metadata(exif).unwrap();
        enc.write_image(img.as_raw(), 400, 300, image::ExtendedColorType::Rgb8)
            .unwrap();
        let upright = decode_rgb(&out, 300).unwrap();
        assert_eq!((upright.width(), upright.height()), (300, 400));
        // The left (red) half of the stored picture is the top half once upright.
        assert!(upright.get_pixel(150, 50).0[0] > 200);
        assert!(upright.get_pixel(150, 350).0[0] < 50);
    }

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

    #[test]
    fn empty_and_garbage_bytes_are_named() {
        assert!(matches!(decode_rgb(b"", 256), Err(DecodeError::Empty)));
        assert!(matches!(
            decode_rgb(b"hello, I am a text file", 256),
            Err(DecodeError::NotAnImage)
        ));
    }

    #[test]
    fn an_animated_gif_is_its_first_frame() {
        let frame =
            |c: [u8; 4]| image::Frame::new(image::RgbaImage::from_pixel(40, 30, image::Rgba(c)));
        let mut out = Vec::new();
        {
            let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
            enc.encode_frames(vec![frame([250, 0, 0, 255]), frame([0, 0, 250, 255])])
                .unwrap();
        }
        let img = decode_rgb(&out, 256).unwrap();
        assert_eq!(img.dimensions(), (40, 30));
        let p = img.get_pixel(20, 15).0;
        assert!(p[0] > 200 && p[2] < 50, "{p:?}");
    }
}
