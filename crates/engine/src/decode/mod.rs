//! Image files to pixels: reading a file carefully, recognising its format and handing it to
//! that format's decoder (the submodules), upright.
//!
//! Decoding a full-size phone photo would cost more than the neural network, so large JPEGs
//! are decoded straight at a reduced size (DCT-domain scaling: 1/2, 1/4 or 1/8), which is all
//! a 224×224 model input or a thumbnail needs. Every decode is bounded in memory, so a
//! "decompression bomb" is refused before anything big is allocated, and the decodes in
//! flight share one memory budget (`budget.rs`), so a few big images at once are decoded one
//! after the other instead of all together. Camera RAWs are read by
//! their embedded preview (`raw/`), HEIC and AVIF by the system's libheif when it is
//! installed (`heif/`, which decodes them whole and upright).

mod bmff;
mod budget;
pub mod details;
mod error;
mod exif;
pub mod heif;
mod jpeg;
pub(crate) mod raw;
mod resize;
mod tiff;

pub use error::DecodeError;
pub(crate) use error::{check_size, describe};
#[cfg(feature = "test-support")]
pub use raw::{develop::mosaic_dng, wrap_in_dng};
pub(crate) use resize::resize_crop;
pub use resize::{fit, square};

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, RgbImage};
use std::io::Cursor;
use std::path::Path;

/// The most memory one decode may ask for.
const MAX_ALLOC: u64 = 1 << 30;
/// Bytes read first, to recognise the format and the claimed size before reading the rest.
const HEAD: u64 = 64 * 1024;
/// The most bytes read from a file whose header does not say its size within [`HEAD`].
const MAX_FILE_BYTES: u64 = 1 << 30;

/// Reads and decodes `path` into RGB pixels, upright (EXIF orientation applied), as small as
/// the decoder can make it while keeping the shorter side at least `min_shorter` pixels (or the
/// full size, if the image is smaller than that).
pub fn load_rgb(path: &Path, min_shorter: u32) -> Result<RgbImage, DecodeError> {
    load_rgb_then(path, min_shorter, |image| image)
}

/// [`load_rgb`], handing the pixels to `then` while their memory still counts against the
/// budget all decodes share: what shrinks a big image (a thumbnail, the model's input)
/// belongs in `then`, so no other decode allocates beside the full-size pixels. `then` must
/// not decode.
pub fn load_rgb_then<T>(
    path: &Path,
    min_shorter: u32,
    then: impl FnOnce(RgbImage) -> T,
) -> Result<T, DecodeError> {
    decode_rgb_then(&read_image(path)?, min_shorter, then)
}

/// Opens `path` for reading only if it is a regular file, and without blocking (opening a
/// named pipe waits for a writer; a device never ends). Returns the file and its length.
pub(crate) fn open_regular(path: &Path) -> Result<(std::fs::File, u64), DecodeError> {
    use std::os::unix::fs::OpenOptionsExt;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(DecodeError::NotAFile(describe(&meta.file_type())));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(DecodeError::NotAFile(describe(&meta.file_type())));
    }
    Ok((file, meta.len()))
}

/// How an image file is encoded, as far as choosing its decoder goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One the `image` crate knows (JPEGs go to libjpeg; camera RAWs count as TIFF, since
    /// they are read whole as TIFFs are and `decode_rgb` then takes their preview).
    Image(image::ImageFormat),
    /// HEIC/HEIF or AVIF: the system's libheif decodes it (see [`crate::decode::heif`]).
    Heif(crate::decode::heif::Kind),
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
    if let Some(kind) = crate::decode::heif::kind(head) {
        return Ok(Format::Heif(kind));
    }
    let format = image::guess_format(head).or_else(|_| {
        // RAW files with a magic of their own (RAF, CR3, ORF, RW2).
        crate::decode::raw::container(head)
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
pub(crate) fn read_image(path: &Path) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read;
    let (mut file, len) = open_regular(path)?;
    let mut bytes = read_up_to(&mut file, len.min(HEAD))?;
    let format = format_of(&bytes)?;
    // A RAW's first directory describes a thumbnail; its preview may lie anywhere in the file.
    let raw = crate::decode::raw::container(&bytes).is_some();
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
pub(crate) fn head(path: &Path) -> Option<Vec<u8>> {
    let (file, len) = open_regular(path).ok()?;
    read_up_to(file, len.min(HEAD)).ok()
}

/// The pixel size of the image in `path`, from its header (without decoding it), upright:
/// `None` when the first bytes do not say it.
pub fn dimensions(path: &Path) -> Option<(u32, u32)> {
    dimensions_in(&head(path)?)
}

/// [`dimensions`] from a file's first bytes, already read.
pub(crate) fn dimensions_in(head: &[u8]) -> Option<(u32, u32)> {
    let (w, h) = claimed_size(format_of(head).ok()?, head)?;
    Some((w as u32, h as u32))
}

/// The pixel size an image's header claims, when the first bytes say it.
fn claimed_size(format: Format, head: &[u8]) -> Option<(u64, u64)> {
    match format {
        Format::Heif(_) => crate::decode::heif::claimed_size(head),
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
    decode_rgb_then(bytes, min_shorter, |image| image)
}

/// [`load_rgb_then`] on bytes already in memory.
pub fn decode_rgb_then<T>(
    bytes: &[u8],
    min_shorter: u32,
    then: impl FnOnce(RgbImage) -> T,
) -> Result<T, DecodeError> {
    decode_within(&budget::DECODES, bytes, min_shorter, then)
}

/// Reserves from `budget` what decoding `bytes` may hold, then decodes and runs `then`.
fn decode_within<T>(
    budget: &budget::Budget,
    bytes: &[u8],
    min_shorter: u32,
    then: impl FnOnce(RgbImage) -> T,
) -> Result<T, DecodeError> {
    let _held = budget.reserve(peak_bytes(bytes, min_shorter));
    Ok(then(decode_any(bytes, min_shorter)?))
}

/// Bytes per pixel a HEIC/AVIF decode holds: libheif's planes (up to 6 for 10-bit 4:4:4), the
/// interleaved RGB it converts them to (3) and our copy of it (3).
const HEIF_BYTES_PER_PIXEL: u64 = 12;

/// The most memory decoding `bytes` to a shorter side of `min_shorter` may hold, from the
/// headers alone: 0 for what is refused before anything is allocated (not an image, over the
/// pixel limit), `u64::MAX` (decoded alone) when the headers do not say.
fn peak_bytes(bytes: &[u8], min_shorter: u32) -> u64 {
    let within_limit = |(w, h): (u64, u64)| check_size(w, h).is_ok().then_some(w * h);
    if crate::decode::raw::container(bytes).is_some() {
        let preview = crate::decode::raw::preview(bytes);
        let decoded = preview
            .as_ref()
            .and_then(|p| jpeg::frame(&bytes[p.jpeg.clone()]))
            .map_or(0, |f| f.peak_bytes(min_shorter));
        if preview.is_some_and(|p| enough(&p, min_shorter)) {
            return decoded;
        }
        // Developed sensor data is stored uncompressed: its picture, and a turned copy, are
        // each no larger than the file.
        return decoded.max(2 * bytes.len() as u64);
    }
    match format_of(bytes) {
        Err(_) => 0,
        Ok(Format::Heif(_)) => crate::decode::heif::claimed_size(bytes).map_or(u64::MAX, |size| {
            within_limit(size).map_or(0, |pixels| pixels * HEIF_BYTES_PER_PIXEL)
        }),
        Ok(Format::Image(image::ImageFormat::Jpeg)) => jpeg::frame(bytes).map_or(u64::MAX, |f| {
            within_limit((f.width as u64, f.height as u64)).map_or(0, |_| f.peak_bytes(min_shorter))
        }),
        Ok(Format::Image(format)) => {
            let Ok(mut decoder) = reader(bytes, format).into_decoder() else {
                return 0;
            };
            let (w, h) = decoder.dimensions();
            let Some(pixels) = within_limit((w as u64, h as u64)) else {
                return 0;
            };
            // The decoder's buffer, a copy when it is turned, another when it is not RGB.
            let decoded = decoder.total_bytes();
            let turned = match decoder.orientation() {
                Ok(Orientation::NoTransforms) | Err(_) => 0,
                Ok(_) => decoded,
            };
            let converted = if decoder.color_type() == image::ColorType::Rgb8 {
                0
            } else {
                pixels * 3
            };
            decoded + turned + converted
        }
    }
}

/// Decodes `bytes` without reserving from the budget (its caller did).
fn decode_any(bytes: &[u8], min_shorter: u32) -> Result<RgbImage, DecodeError> {
    if crate::decode::raw::container(bytes).is_some() {
        return decode_raw(bytes, min_shorter);
    }
    match format_of(bytes)? {
        Format::Heif(kind) => crate::decode::heif::decode(bytes, kind),
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

/// True when a RAW's `preview` is all a picture of shorter side `min_shorter` needs.
fn enough(preview: &crate::decode::raw::Preview, min_shorter: u32) -> bool {
    preview.shorter_side >= min_shorter.min(PREVIEW_ENOUGH)
}

/// A camera RAW file, by its embedded JPEG preview, turned as the container says unless the
/// JPEG says so itself; a DNG whose preview is missing or smaller than `min_shorter` is
/// developed from its sensor data where [`crate::decode::raw::develop`] can.
fn decode_raw(bytes: &[u8], min_shorter: u32) -> Result<RgbImage, DecodeError> {
    let preview = crate::decode::raw::preview(bytes);
    let big_enough = preview.as_ref().is_some_and(|p| enough(p, min_shorter));
    if !big_enough {
        if let Some(developed) = crate::decode::raw::develop::develop(bytes)? {
            return Ok(turned(developed, crate::decode::raw::orientation(bytes)));
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
    let image = decode_any(jpeg, min_shorter)?;
    if crate::decode::raw::has_own_orientation(jpeg) {
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

/// A reader of `bytes` in `format`, with the memory limit of one decode.
fn reader(bytes: &[u8], format: image::ImageFormat) -> image::ImageReader<Cursor<&[u8]>> {
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    reader
}

fn decode_other(bytes: &[u8], format: image::ImageFormat) -> Result<RgbImage, DecodeError> {
    let mut decoder = reader(bytes, format).into_decoder()?;
    let (width, height) = decoder.dimensions();
    check_size(width as u64, height as u64)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    Ok(image.into_rgb8())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn jpeg(w: u32, h: u32) -> Vec<u8> {
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
    fn empty_and_garbage_bytes_are_named() {
        assert!(matches!(decode_rgb(b"", 256), Err(DecodeError::Empty)));
        assert!(matches!(
            decode_rgb(b"hello, I am a text file", 256),
            Err(DecodeError::NotAnImage)
        ));
    }

    fn png_rgba(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 9, 255]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn big_images_decoded_at_once_never_hold_more_than_the_budget() {
        // 1500×1500 RGBA: 9 MB decoded, 15.75 MB with its RGB copy; the budget holds two.
        let png = png_rgba(1500, 1500);
        let each = peak_bytes(&png, 256);
        assert_eq!(each, 1500 * 1500 * (4 + 3));
        let budget = budget::Budget::new(5 * each / 2);
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    decode_within(&budget, &png, 256, |img| {
                        // The pixels handed over are still counted.
                        assert!(budget.held() >= img.len() as u64);
                        std::thread::sleep(std::time::Duration::from_millis(30));
                    })
                    .unwrap()
                });
            }
        });
        assert!(
            budget.peak() <= 5 * each / 2,
            "{} held at once",
            budget.peak()
        );
        assert_eq!(budget.peak(), 2 * each);
        // An image larger than the whole budget is decoded all the same, alone.
        let small = budget::Budget::new(each / 2);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| decode_within(&small, &png, 256, |_| ()).unwrap());
            }
        });
        assert_eq!(small.peak(), each);
    }

    #[test]
    fn what_a_decode_reserves_follows_the_header() {
        // A JPEG decoded at 1/8: its 300×200 pixels and two copies, nothing at full size.
        assert_eq!(peak_bytes(&jpeg(2400, 1600), 200), 300 * 200 * 10);
        assert_eq!(peak_bytes(&jpeg(2400, 1600), u32::MAX), 2400 * 1600 * 10);
        // Refused before decoding: nothing to reserve.
        assert_eq!(peak_bytes(b"hello, I am a text file", 256), 0);
        let over_the_limit = [
            0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0x4e, 0x20, 0x4e, 0x20, 3, 1, 0x22, 0, 2, 0x11, 0, 3,
            0x11, 0,
        ];
        assert_eq!(peak_bytes(&over_the_limit, 256), 0);
        // A size the headers do not say: decoded alone.
        assert_eq!(peak_bytes(&[0xff, 0xd8, 0xff, 0xe0, 0, 2], 256), u64::MAX);
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
