//! JPEG decoding with libjpeg (mozjpeg, built from its bundled source): DCT-domain scaling to
//! the size the caller needs, EXIF orientation, greyscale and CMYK, and strict errors.
//!
//! libjpeg only *warns* about a truncated or corrupt file and returns a picture grey where data
//! was missing; here its warnings are errors, so a damaged file is reported, never indexed.
//! Its errors unwind out of the C code (mozjpeg's `unwinding` feature) and are caught here.

use crate::decode::DecodeError;
use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};
use mozjpeg::decompress::DecompressBuilder;
use mozjpeg::{ColorSpace, Marker};
use mozjpeg_sys::{jpeg_common_struct, jpeg_error_mgr};
use std::os::raw::c_int;

/// What a JPEG's frame header (SOFn) says.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub progressive: bool,
    pub arithmetic: bool,
    /// Lossless JPEG (SOF3 and kin): how some cameras store the raw sensor data, which libjpeg
    /// cannot decode.
    pub lossless: bool,
    /// Sampling factors (horizontal, vertical) of each component.
    pub sampling: Vec<(u8, u8)>,
}

impl Frame {
    /// 8×8 blocks of each component.
    fn blocks(&self) -> Vec<u64> {
        let hmax = self.sampling.iter().map(|s| s.0).max().unwrap_or(1).max(1) as u64;
        let vmax = self.sampling.iter().map(|s| s.1).max().unwrap_or(1).max(1) as u64;
        self.sampling
            .iter()
            .map(|&(h, v)| {
                let w = (self.width as u64 * h as u64).div_ceil(hmax);
                let hh = (self.height as u64 * v as u64).div_ceil(vmax);
                w.div_ceil(8) * hh.div_ceil(8)
            })
            .collect()
    }

    /// Refuses a frame that a file of `len` bytes cannot hold, or whose progressive decode
    /// would need more than `max_alloc` bytes. Huffman coding spends at least one bit on every
    /// block's DC value, so a complete image needs at least (luma blocks ÷ 8) bytes: a 46 KB
    /// file claiming 14000×14000 pixels is truncated, however its header reads.
    pub fn check(&self, len: u64, max_alloc: u64) -> Result<(), DecodeError> {
        let blocks = self.blocks();
        let luma = blocks.first().copied().unwrap_or(0);
        if !self.arithmetic && len < luma / 8 {
            return Err(DecodeError::Corrupt(format!(
                "truncated: {len} bytes cannot hold a {}×{} JPEG",
                self.width, self.height
            )));
        }
        let coefficients = self.coefficient_bytes();
        if self.progressive && coefficients > max_alloc {
            return Err(DecodeError::Corrupt(format!(
                "over the memory limit: a progressive {}×{} JPEG needs {} MB to decode",
                self.width,
                self.height,
                coefficients >> 20
            )));
        }
        Ok(())
    }

    /// The most memory a decode to a shorter side of at least `min_shorter` pixels holds, in
    /// bytes: the pixels at the scale [`decode`] picks (four bytes a pixel for CMYK), two RGB
    /// copies (turned by the EXIF orientation or a RAW's, converted from CMYK), and a
    /// progressive image's coefficients, which libjpeg keeps whole at any scale.
    pub fn peak_bytes(&self, min_shorter: u32) -> u64 {
        let (w, h) = (self.width as u64, self.height as u64);
        let n = numerator(w.min(h), min_shorter);
        let pixels = (w * n).div_ceil(8) * (h * n).div_ceil(8);
        let coefficients = if self.progressive {
            self.coefficient_bytes()
        } else {
            0
        };
        pixels * (4 + 2 * 3) + coefficients
    }

    /// What a progressive decode keeps until its end: all the coefficients, 64 × 2 bytes a
    /// block.
    fn coefficient_bytes(&self) -> u64 {
        self.blocks().iter().sum::<u64>() * 128
    }
}

/// The smallest DCT scale, in eighths, that keeps a shorter side of `shorter` pixels at least
/// `min_shorter` pixels (8, full size, when nothing smaller does).
fn numerator(shorter: u64, min_shorter: u32) -> u64 {
    let shorter = shorter.max(1);
    (1..=8)
        .find(|&n| (shorter * n).div_ceil(8) >= min_shorter as u64)
        .unwrap_or(8)
}

/// Finds the frame header among a JPEG's first bytes (`None` if they do not reach it).
pub fn frame(bytes: &[u8]) -> Option<Frame> {
    if bytes.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    let mut i = 2;
    loop {
        // Markers may be padded with any number of 0xff bytes.
        while *bytes.get(i)? == 0xff && *bytes.get(i + 1)? == 0xff {
            i += 1;
        }
        if *bytes.get(i)? != 0xff {
            return None;
        }
        let marker = *bytes.get(i + 1)?;
        let len = u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]) as usize;
        let is_sof = matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
        if is_sof {
            let seg = bytes.get(i + 4..i + 2 + len)?;
            let height = u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]) as u32;
            let width = u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]) as u32;
            let n = *seg.get(5)? as usize;
            let sampling = (0..n)
                .map(|c| seg.get(7 + 3 * c).map(|s| (s >> 4, s & 15)))
                .collect::<Option<Vec<_>>>()?;
            return Some(Frame {
                width,
                height,
                progressive: matches!(marker, 0xc2 | 0xc6 | 0xca | 0xce),
                arithmetic: marker >= 0xc9,
                lossless: matches!(marker, 0xc3 | 0xc7 | 0xcb | 0xcf),
                sampling,
            });
        }
        if marker == 0xda || len < 2 {
            return None;
        }
        i += 2 + len;
    }
}

/// Decodes `bytes` at the smallest DCT scale (n/8) that keeps the shorter side at least
/// `min_shorter` pixels, upright.
pub fn decode(bytes: &[u8], min_shorter: u32) -> Result<RgbImage, DecodeError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_unguarded(bytes, min_shorter)
    }))
    .unwrap_or_else(|payload| Err(DecodeError::Corrupt(libjpeg_message(payload))))
}

fn decode_unguarded(bytes: &[u8], min_shorter: u32) -> Result<RgbImage, DecodeError> {
    let mut d = DecompressBuilder::new()
        .with_err(strict_errors())
        .with_markers(&[Marker::APP(1)])
        .from_mem(bytes)
        .map_err(corrupt)?;
    let (w, h) = d.size();
    d.scale(numerator(w.min(h) as u64, min_shorter) as u8);
    let orientation = d
        .markers()
        .filter_map(|m| m.data.strip_prefix(b"Exif\0\0"))
        .find_map(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let cmyk = matches!(d.color_space(), ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK);
    let mut started = if cmyk {
        d.to_colorspace(ColorSpace::JCS_CMYK)
    } else {
        d.rgb()
    }
    .map_err(corrupt)?;
    let (out_w, out_h) = (started.width() as u32, started.height() as u32);
    let pixels: Vec<u8> = started.read_scanlines().map_err(corrupt)?;
    started.finish().map_err(corrupt)?;
    let rgb = if cmyk {
        // Adobe's CMYK JPEGs store the channels inverted: k = 255 is white.
        pixels
            .chunks_exact(4)
            .flat_map(|c| {
                let k = c[3] as u32;
                [
                    (c[0] as u32 * k / 255) as u8,
                    (c[1] as u32 * k / 255) as u8,
                    (c[2] as u32 * k / 255) as u8,
                ]
            })
            .collect()
    } else {
        pixels
    };
    let image = RgbImage::from_raw(out_w, out_h, rgb)
        .ok_or_else(|| DecodeError::Corrupt("decoder returned too few pixels".into()))?;
    let mut image = DynamicImage::ImageRgb8(image);
    image.apply_orientation(orientation);
    Ok(image.into_rgb8())
}

fn corrupt(e: std::io::Error) -> DecodeError {
    DecodeError::Corrupt(e.to_string())
}

/// libjpeg's error manager, made strict: its warnings (a premature end of the file, corrupt
/// data) stop the decode like its errors do. Only "extraneous bytes before a marker", which
/// many cameras write and which loses no data, is let through.
fn strict_errors() -> jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills every field of the zeroed struct.
    let mut err: jpeg_error_mgr = unsafe { std::mem::zeroed() };
    // SAFETY: `err` is a valid, writable error manager for libjpeg to fill.
    unsafe { mozjpeg_sys::jpeg_std_error(&mut err) };
    err.error_exit = Some(fail);
    err.emit_message = Some(warning_fails);
    err
}

/// The message libjpeg has for its current error, as a panic payload to unwind with.
fn message(cinfo: &mut jpeg_common_struct) -> String {
    // JMSG_LENGTH_MAX is 200; the binding's declared 80 would be too short for some messages.
    let mut buffer = [0u8; 256];
    // SAFETY: `err` is set by jpeg_create_decompress; format_message writes at most
    // JMSG_LENGTH_MAX bytes, NUL included.
    unsafe {
        let err = &*cinfo.err;
        if let Some(format) = err.format_message {
            let format: unsafe extern "C-unwind" fn(&mut jpeg_common_struct, *mut u8) =
                std::mem::transmute(format);
            format(cinfo, buffer.as_mut_ptr());
        }
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(0);
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

extern "C-unwind" fn fail(cinfo: &mut jpeg_common_struct) {
    std::panic::resume_unwind(Box::new(message(cinfo)));
}

extern "C-unwind" fn warning_fails(cinfo: &mut jpeg_common_struct, level: c_int) {
    // SAFETY: as in `message`.
    let code = unsafe { (*cinfo.err).msg_code };
    if level < 0 && code != mozjpeg_sys::JWRN_EXTRANEOUS_DATA as c_int {
        std::panic::resume_unwind(Box::new(message(cinfo)));
    }
}

/// The reason a decode unwound: libjpeg's message, or a panic's text.
fn libjpeg_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "the JPEG decoder failed".into())
}
