//! Writing a HEIC or AVIF file with libheif's own encoder: for test pictures and benchmarks.

use super::ffi::*;
use image::RgbImage;
use std::ffi::{c_int, c_void};
use std::ptr;

/// Which encoder [`encode`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// HEIC.
    Hevc,
    /// AVIF.
    Av1,
}

/// Why [`encode`] could not write a picture, in libheif's words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(String);

/// `img` as a HEIC or AVIF file (lossy, `quality` 0–100), by libheif's own encoder: for test
/// pictures and benchmarks. `orientation` is stored as `irot`/`imir` boxes (the pixels are
/// the stored ones; a viewer turns them as EXIF orientation would). `exif`, a TIFF-structured
/// block, is stored as the image's `Exif` item.
pub fn encode(
    img: &RgbImage,
    codec: Codec,
    quality: u8,
    orientation: image::metadata::Orientation,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>, EncodeError> {
    let too_large = |_| EncodeError("the picture is too large for libheif".into());
    let api = api().map_err(|why| EncodeError(why.to_string()))?;
    let check = |what: &str, err: HeifError| {
        if err.code == 0 {
            Ok(())
        } else {
            Err(EncodeError(format!("libheif {what}: {}", message(err))))
        }
    };
    let (w, h) = (
        c_int::try_from(img.width()).map_err(too_large)?,
        c_int::try_from(img.height()).map_err(too_large)?,
    );
    let ctx = new_context(api).map_err(EncodeError)?;
    let mut encoder = ptr::null_mut();
    let format = match codec {
        Codec::Hevc => COMPRESSION_HEVC,
        Codec::Av1 => COMPRESSION_AV1,
    };
    // SAFETY: `ctx` is live; `encoder` receives a new encoder (or stays NULL).
    let err = unsafe { (api.encoder_for_format)(ctx.ptr, format, &mut encoder) };
    let encoder = Guard::new(api, encoder, free_encoder);
    check(&format!("has no {codec:?} encoder"), err)?;
    // SAFETY: `encoder` is live.
    check("quality", unsafe {
        (api.encoder_set_lossy_quality)(encoder.ptr, quality.min(100) as c_int)
    })?;
    let mut image = ptr::null_mut();
    // SAFETY: plain allocation of an empty interleaved-RGB image; `image` receives it.
    let err =
        unsafe { (api.image_create)(w, h, COLORSPACE_RGB, CHROMA_INTERLEAVED_RGB, &mut image) };
    let image = Guard::new(api, image, free_image);
    check("image", err)?;
    // SAFETY: `image` is live and has no plane yet.
    check("plane", unsafe {
        (api.image_add_plane)(image.ptr, CHANNEL_INTERLEAVED, w, h, 8)
    })?;
    let mut stride: c_int = 0;
    // SAFETY: `image` has the interleaved plane added above.
    let data = unsafe { (api.plane)(image.ptr, CHANNEL_INTERLEAVED, &mut stride) };
    let row = img.width() as usize * 3;
    let stride = usize::try_from(stride)
        .map_err(|_| EncodeError("libheif gave no writable plane".into()))?;
    if data.is_null() || stride < row {
        return Err(EncodeError("libheif gave no writable plane".into()));
    }
    for (y, src) in img.as_raw().chunks_exact(row).enumerate() {
        // SAFETY: the plane holds `h` rows of `stride` bytes, `row` of them pixels.
        unsafe { std::slice::from_raw_parts_mut(data.add(y * stride), row) }.copy_from_slice(src);
    }
    // SAFETY: plain allocation of default options.
    let options = Guard::new(api, unsafe { (api.encoding_options_alloc)() }, free_options);
    if options.ptr.is_null() {
        return Err(EncodeError(
            "libheif could not allocate encoding options".into(),
        ));
    }
    // SAFETY: `options` is live; version 2+ options have this field where `EncodingOptions`
    // has it. Off, an odd-sized picture is cropped by a `clap` property rather than wrapped
    // in a one-tile grid, whose `ispe` libheif 1.15 writes turned when it also writes `irot`.
    unsafe {
        if (*options.ptr).version >= 2 {
            (*options.ptr).macos_compatibility_workaround = 0;
        }
    }
    let turn = orientation.to_exif() as c_int;
    if turn != 1 {
        // SAFETY: `options` is live and starts with its version number.
        let version = unsafe { (*options.ptr).version };
        if version < 5 {
            return Err(EncodeError(format!(
                "libheif {} cannot store an orientation",
                api.version
            )));
        }
        // SAFETY: version 5+ options have `image_orientation` where `EncodingOptions` has it.
        unsafe { (*options.ptr).image_orientation = turn };
    }
    let mut handle = ptr::null_mut();
    // SAFETY: all four are live; `handle` receives the encoded image's handle.
    check("encode", unsafe {
        (api.encode_image)(ctx.ptr, image.ptr, encoder.ptr, options.ptr, &mut handle)
    })?;
    let handle = Guard::new(api, handle, free_handle);
    if let Some(exif) = exif {
        let size = c_int::try_from(exif.len()).map_err(too_large)?;
        // SAFETY: `ctx` and `handle` are live; libheif copies the `size` bytes of `exif`.
        check("EXIF", unsafe {
            (api.add_exif_metadata)(ctx.ptr, handle.ptr, exif.as_ptr().cast(), size)
        })?;
    }
    let mut out: Vec<u8> = Vec::new();
    let mut writer = Writer {
        writer_api_version: 1,
        write: append,
    };
    // SAFETY: `writer` and `out` outlive the call; `append` is given `out` as its userdata.
    check("write", unsafe {
        (api.write)(ctx.ptr, &mut writer, (&mut out as *mut Vec<u8>).cast())
    })?;
    Ok(out)
}

/// libheif's writer callback: appends to the `Vec<u8>` passed as `userdata`.
unsafe extern "C" fn append(
    _ctx: *mut Context,
    data: *const c_void,
    size: usize,
    userdata: *mut c_void,
) -> HeifError {
    if size > 0 {
        // SAFETY: `encode` passes its `Vec<u8>` as userdata; libheif passes `size` readable bytes.
        unsafe {
            (*userdata.cast::<Vec<u8>>())
                .extend_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), size))
        };
    }
    HeifError {
        code: 0,
        subcode: 0,
        message: c"Success".as_ptr(),
    }
}
