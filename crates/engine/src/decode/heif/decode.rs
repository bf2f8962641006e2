//! Decoding the primary image with libheif, upright, its size checked before anything is
//! decoded.

use super::container::Kind;
use super::ffi::*;
use crate::decode::DecodeError;
use image::RgbImage;
use std::ffi::c_int;
use std::ptr;

/// The primary image of the HEIC/AVIF file in `bytes`, decoded to RGB and upright (libheif
/// applies the file's rotation, mirroring and crop). Its pixel size is checked against the
/// limit before anything is decoded.
pub fn decode(bytes: &[u8], kind: Kind) -> Result<RgbImage, DecodeError> {
    let api = api().map_err(|why| DecodeError::NeedsLibheif(why.to_string()))?;
    let codec = match kind {
        Kind::Heic => (COMPRESSION_HEVC, "HEVC", "libheif-plugin-libde265", "HEIC"),
        Kind::Avif => (COMPRESSION_AV1, "AV1", "libheif-plugin-dav1d", "AVIF"),
    };
    let failed = |err: HeifError| {
        // SAFETY: a plain query of libheif's decoder registry.
        let have_decoder = unsafe { (api.have_decoder_for_format)(codec.0) } != 0;
        if !have_decoder
            || (err.code == ERROR_UNSUPPORTED_FEATURE && err.subcode == SUBERROR_UNSUPPORTED_CODEC)
        {
            return DecodeError::NeedsLibheif(format!(
                "{} needs libheif's {} decoder, which libheif {} lacks: install {}",
                codec.3, codec.1, api.version, codec.2
            ));
        }
        match (err.code, err.subcode) {
            (ERROR_UNSUPPORTED_FEATURE, _) => DecodeError::Unsupported(message(err)),
            (ERROR_MEMORY, _) | (_, SUBERROR_SECURITY_LIMIT) => {
                DecodeError::Corrupt(format!("over libheif's limits ({})", message(err)))
            }
            _ => DecodeError::Corrupt(message(err)),
        }
    };
    let ctx = new_context(api).map_err(DecodeError::Corrupt)?;
    // SAFETY: `bytes` outlives `ctx` (dropped at the end of this function), as reading
    // without a copy requires; NULL is "default reading options".
    let err = unsafe {
        (api.read_from_memory_without_copy)(
            ctx.ptr,
            bytes.as_ptr().cast(),
            bytes.len(),
            ptr::null(),
        )
    };
    if err.code != 0 {
        return Err(failed(err));
    }
    let mut handle = ptr::null_mut();
    // SAFETY: `ctx` holds a file read above; `handle` receives a new reference (or stays NULL).
    let err = unsafe { (api.primary_image_handle)(ctx.ptr, &mut handle) };
    let handle = Guard::new(api, handle, free_handle);
    if err.code != 0 || handle.ptr.is_null() {
        return Err(failed(err));
    }
    // SAFETY: `handle` is a live image handle.
    let (w, h) = unsafe {
        (
            (api.handle_width)(handle.ptr),
            (api.handle_height)(handle.ptr),
        )
    };
    if w <= 0 || h <= 0 {
        return Err(DecodeError::Corrupt(format!("image size {w}×{h}")));
    }
    crate::decode::check_size(w as u64, h as u64)?;
    let mut image = ptr::null_mut();
    // SAFETY: `handle` is live; NULL options = defaults, which apply the file's transforms.
    let err = unsafe {
        (api.decode_image)(
            handle.ptr,
            &mut image,
            COLORSPACE_RGB,
            CHROMA_INTERLEAVED_RGB,
            ptr::null(),
        )
    };
    let image = Guard::new(api, image, free_image);
    if err.code != 0 || image.ptr.is_null() {
        return Err(failed(err));
    }
    copy_out(api, image.ptr).ok_or_else(|| {
        DecodeError::Corrupt("libheif returned no interleaved RGB plane of that size".into())
    })
}

/// The pixels of a decoded interleaved-RGB image, copied row by row past the stride padding.
fn copy_out(api: &Api, image: *mut Image) -> Option<RgbImage> {
    let mut stride: c_int = 0;
    // SAFETY: `image` is a live decoded image; the queries read its channel table only.
    let (w, h, data) = unsafe {
        (
            (api.image_width)(image, CHANNEL_INTERLEAVED),
            (api.image_height)(image, CHANNEL_INTERLEAVED),
            (api.plane_readonly)(image, CHANNEL_INTERLEAVED, &mut stride),
        )
    };
    let (w, h, stride) = (
        usize::try_from(w).ok()?,
        usize::try_from(h).ok()?,
        usize::try_from(stride).ok()?,
    );
    let row = w.checked_mul(3)?;
    if data.is_null() || w == 0 || h == 0 || stride < row {
        return None;
    }
    crate::decode::check_size(w as u64, h as u64).ok()?;
    let mut out = Vec::with_capacity(row * h);
    for y in 0..h {
        // SAFETY: libheif's plane holds `h` rows of `stride` bytes, each with `w` RGB pixels
        // (8 bits each for interleaved RGB), and lives as long as `image`.
        out.extend_from_slice(unsafe { std::slice::from_raw_parts(data.add(y * stride), row) });
    }
    RgbImage::from_raw(w as u32, h as u32, out)
}
