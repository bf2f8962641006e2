//! HEIC/HEIF and AVIF photos, decoded by the system's libheif, which is loaded at run time
//! (`libheif.so.1`, through `libloading`) rather than linked: the build must succeed on a
//! fresh machine with only Rust installed, and HEVC/AV1 decoders are too large (and, for
//! HEVC, too encumbered) to bundle. Where the library is missing, each HEIC/AVIF file is
//! skipped with a reason that says what to install, and everything else works as before.
//! The file's own transforms (`irot`, `imir`, `clap`) are applied by libheif; the primary
//! image is the one shown (the first frame of a sequence). Recognising a file (its `ftyp`
//! brands) and reading its pixel size (`ispe`) need no library: both are parsed here, bounded.

use crate::decode::DecodeError;
use image::RgbImage;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::OnceLock;

/// What the `ftyp` box says the file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// HEIF, coded with HEVC (an iPhone's `.heic`) or not said (`mif1` alone).
    Heic,
    /// HEIF coded with AV1.
    Avif,
}

/// Environment variable: the path of the libheif to load instead of the system's
/// (a path that does not load makes HEIC/AVIF unavailable; read once per process).
pub const LIBRARY_ENV: &str = "PHOTO_SIM_LIBHEIF";

/// Why a HEIC/AVIF file cannot be read when the library is missing.
pub const NEEDS_LIBHEIF: &str = "HEIC/AVIF needs libheif: install libheif1 \
     (on Debian 13+ also libheif-plugin-libde265 / libheif-plugin-dav1d)";

#[cfg(target_os = "macos")]
const LIBRARY_NAME: &str = "libheif.1.dylib";
#[cfg(not(target_os = "macos"))]
const LIBRARY_NAME: &str = "libheif.so.1";

/// The brands of a HEVC-coded (or codec-neutral) HEIF file, and of an AV1-coded one.
const HEIC_BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
];
const AVIF_BRANDS: [&[u8; 4]; 2] = [b"avif", b"avis"];
/// The most compatible brands looked at.
const MAX_BRANDS: usize = 64;

/// The HEIF flavour `head` (a file's first bytes) is, from its `ftyp` box: the major brand,
/// then the compatible brands (which tell AVIF from HEIC when the major brand is the generic
/// `mif1`) as far as `head` holds them. `None` for anything else, and for an `ftyp` cut
/// before its major brand and version or whose size makes no sense.
pub fn kind(head: &[u8]) -> Option<Kind> {
    if head.get(4..8) != Some(b"ftyp") || head.len() < 16 {
        return None;
    }
    let size = u32::from_be_bytes(head[0..4].try_into().ok()?) as usize;
    // A 64-bit or to-the-end `ftyp` is legal but never written: not worth guessing at.
    if !(16..=16 + 4 * MAX_BRANDS).contains(&size) || !size.is_multiple_of(4) {
        return None;
    }
    let major: &[u8; 4] = head[8..12].try_into().ok()?;
    let compatible: Vec<&[u8; 4]> = head[16..size.min(head.len())]
        .chunks_exact(4)
        .map(|c| c.try_into().expect("chunks of 4"))
        .collect();
    let is = |brands: &[&[u8; 4]], b: &[u8; 4]| brands.contains(&b);
    if is(&AVIF_BRANDS, major) {
        return Some(Kind::Avif);
    }
    if is(&HEIC_BRANDS, major) && !matches!(major, b"mif1" | b"msf1") {
        return Some(Kind::Heic);
    }
    if compatible.iter().any(|b| is(&AVIF_BRANDS, b)) {
        return Some(Kind::Avif);
    }
    if is(&HEIC_BRANDS, major) || compatible.iter().any(|b| is(&HEIC_BRANDS, b)) {
        return Some(Kind::Heic);
    }
    None
}

/// The upright pixel size of the primary image, from the `ispe` property the `ipma` box gives
/// it (or its `clap` crop; swapped when an `irot` turns it a quarter), read from the first
/// bytes of the file only: `None` when they do not say it.
pub fn claimed_size(head: &[u8]) -> Option<(u64, u64)> {
    kind(head)?;
    let meta = child(head, b"meta")?.get(4..)?; // after its version and flags
    let primary = match child(meta, b"pitm")? {
        [0, _, _, _, a, b, ..] => u16::from_be_bytes([*a, *b]) as u32,
        [_, _, _, _, a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => return None,
    };
    let iprp = child(meta, b"iprp")?;
    let properties: Vec<([u8; 4], &[u8])> = children(child(iprp, b"ipco")?).collect();
    let (mut size, mut crop, mut quarter_turn) = (None, None, false);
    for index in associations(child(iprp, b"ipma")?, primary)? {
        let &(kind, body) = properties.get(index.checked_sub(1)?)?;
        let word = |at: usize| -> Option<u64> {
            Some(u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?) as u64)
        };
        match (&kind, body) {
            (b"ispe", _) => size = Some((word(4)?, word(8)?)),
            // The clean aperture: width and height as fractions (a crop of the coded picture).
            (b"clap", _) => {
                let fraction = |at: usize| {
                    let (n, d) = (word(at)?, word(at + 4)?);
                    (d != 0).then(|| (n + d / 2) / d)
                };
                crop = Some((fraction(0)?, fraction(8)?));
            }
            (b"irot", [angle, ..]) => quarter_turn = angle & 1 == 1,
            _ => {}
        }
    }
    let (w, h) = crop.or(size)?;
    Some(if quarter_turn { (h, w) } else { (w, h) })
}

/// The most bytes an EXIF block is read from (cameras write tens of kilobytes).
const MAX_EXIF: u64 = 1 << 20;

/// The EXIF block of a HEIF file (from its TIFF header on), whose first bytes are `head`:
/// the item `iinf` names `Exif`, at the place `iloc` gives. `read(offset, length)` fetches
/// bytes of the file, for an item after the head. `None` when the boxes do not say, or say
/// something impossible.
pub fn exif(head: &[u8], read: impl Fn(u64, u64) -> Option<Vec<u8>>) -> Option<Vec<u8>> {
    kind(head)?;
    let meta = child(head, b"meta")?.get(4..)?;
    let item = exif_item(child(meta, b"iinf")?)?;
    let (method, extents) = item_extents(child(meta, b"iloc")?, item)?;
    let mut block = Vec::new();
    for (offset, length) in extents {
        if block.len() as u64 + length > MAX_EXIF {
            return None;
        }
        let range = offset as usize..offset.checked_add(length)? as usize;
        let part = match method {
            // In the file.
            0 => match head.get(range) {
                Some(bytes) => bytes.to_vec(),
                None => read(offset, length).filter(|b| b.len() as u64 == length)?,
            },
            // In the `idat` box of `meta`.
            1 => child(meta, b"idat")?.get(range)?.to_vec(),
            _ => return None,
        };
        block.extend(part);
    }
    // The item starts with the offset of the TIFF header after its first four bytes
    // (usually 6, skipping "Exif\0\0").
    let skip = u32::from_be_bytes(block.get(..4)?.try_into().ok()?) as usize;
    block.get(4usize.checked_add(skip)?..).map(<[u8]>::to_vec)
}

/// The id of the item of type `Exif` in an `iinf` box.
fn exif_item(iinf: &[u8]) -> Option<u32> {
    let entries = if *iinf.first()? == 0 { 6 } else { 8 };
    children(iinf.get(entries..)?).find_map(|(kind, infe)| {
        let version = *infe.first()?;
        let (id, rest) = match version {
            2 => (
                u16::from_be_bytes(infe.get(4..6)?.try_into().ok()?) as u32,
                8,
            ),
            3 => (u32::from_be_bytes(infe.get(4..8)?.try_into().ok()?), 10),
            _ => return None,
        };
        (&kind == b"infe" && infe.get(rest..rest + 4)? == b"Exif").then_some(id)
    })
}

/// How item `item` is stored, from an `iloc` box: its construction method (0: file offsets,
/// 1: inside `idat`) and its extents as (offset, length).
fn item_extents(iloc: &[u8], item: u32) -> Option<(u8, Vec<(u64, u64)>)> {
    let version = *iloc.first()?;
    let sizes = *iloc.get(4)?;
    let more = *iloc.get(5)?;
    let (offset_size, length_size, base_size) = (sizes >> 4, sizes & 15, more >> 4);
    let index_size = if matches!(version, 1 | 2) {
        more & 15
    } else {
        0
    };
    let mut at = 6;
    let mut take = |n: u8| -> Option<u64> {
        if !matches!(n, 0 | 2 | 4 | 8) {
            return None;
        }
        let bytes = iloc.get(at..at + n as usize)?;
        at += n as usize;
        Some(bytes.iter().fold(0u64, |v, &b| v << 8 | b as u64))
    };
    let count = take(if version < 2 { 2 } else { 4 })?;
    for _ in 0..count {
        let id = take(if version < 2 { 2 } else { 4 })? as u32;
        let method = if matches!(version, 1 | 2) {
            (take(2)? & 15) as u8
        } else {
            0
        };
        take(2)?; // data reference index
        let base = take(base_size)?;
        let extents = take(2)?;
        let mut out = Vec::new();
        for _ in 0..extents {
            take(index_size)?;
            let offset = base.checked_add(take(offset_size)?)?;
            out.push((offset, take(length_size)?));
        }
        if id == item {
            return Some((method, out));
        }
    }
    None
}

/// The boxes in `data`, in order: their type and content. A box that says it runs past the end
/// is cut at the end (the head of a file), and one that makes no sense ends the list.
fn children(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    crate::decode::bmff::boxes(data, 0).map(move |b| (b.kind, &data[b.body]))
}

/// The content of the first box of type `kind` in `data`.
fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(data)
        .find(|(k, _)| k == kind)
        .map(|(_, body)| body)
}

/// The property indices (1-based, into `ipco`) an `ipma` box associates with `item`.
fn associations(ipma: &[u8], item: u32) -> Option<Vec<usize>> {
    let (version, wide_index) = (*ipma.first()?, ipma.get(3)? & 1 == 1);
    let count = u32::from_be_bytes(ipma.get(4..8)?.try_into().ok()?);
    let mut at = 8;
    for _ in 0..count {
        let id = if version < 1 {
            at += 2;
            u16::from_be_bytes(ipma.get(at - 2..at)?.try_into().ok()?) as u32
        } else {
            at += 4;
            u32::from_be_bytes(ipma.get(at - 4..at)?.try_into().ok()?)
        };
        let n = *ipma.get(at)? as usize;
        at += 1;
        let width = if wide_index { 2 } else { 1 };
        let entries = ipma.get(at..at + n * width)?;
        at += n * width;
        if id == item {
            return Some(
                entries
                    .chunks_exact(width)
                    .map(|e| match e {
                        [hi, lo] => (u16::from_be_bytes([*hi, *lo]) & 0x7fff) as usize,
                        [b] => (b & 0x7f) as usize,
                        _ => unreachable!("chunks of 1 or 2"),
                    })
                    .collect(),
            );
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The library.

/// `struct heif_error`, returned by value by most of libheif; `message` is static.
#[repr(C)]
#[derive(Clone, Copy)]
struct HeifError {
    code: c_int,
    subcode: c_int,
    message: *const c_char,
}

const ERROR_UNSUPPORTED_FEATURE: c_int = 4;
const ERROR_MEMORY: c_int = 6;
const SUBERROR_UNSUPPORTED_CODEC: c_int = 3000;
const SUBERROR_SECURITY_LIMIT: c_int = 1000;
const COMPRESSION_HEVC: c_int = 1;
const COMPRESSION_AV1: c_int = 4;
const COLORSPACE_RGB: c_int = 1;
const CHROMA_INTERLEAVED_RGB: c_int = 10;
const CHANNEL_INTERLEAVED: c_int = 10;

enum Context {}
enum Handle {}
enum Image {}
enum Encoder {}

/// `struct heif_encoding_options` up to its version 5 (libheif 1.15), the first with
/// `image_orientation`; only ever allocated by libheif, so later versions' fields are no harm.
#[repr(C)]
struct EncodingOptions {
    version: u8,
    save_alpha_channel: u8,
    macos_compatibility_workaround: u8,
    save_two_colr_boxes: u8,
    output_nclx_profile: *mut c_void,
    macos_compatibility_workaround_no_nclx_profile: u8,
    image_orientation: c_int,
}

/// `struct heif_writer`, version 1.
#[repr(C)]
struct Writer {
    writer_api_version: c_int,
    write: unsafe extern "C" fn(*mut Context, *const c_void, usize, *mut c_void) -> HeifError,
}

/// The functions used, resolved once. The library they point into is kept alongside and never
/// unloaded (it lives in a `static`).
struct Api {
    _library: libloading::Library,
    version: String,
    have_decoder_for_format: unsafe extern "C" fn(c_int) -> c_int,
    context_alloc: unsafe extern "C" fn() -> *mut Context,
    context_free: unsafe extern "C" fn(*mut Context),
    read_from_memory_without_copy:
        unsafe extern "C" fn(*mut Context, *const c_void, usize, *const c_void) -> HeifError,
    primary_image_handle: unsafe extern "C" fn(*mut Context, *mut *mut Handle) -> HeifError,
    handle_width: unsafe extern "C" fn(*const Handle) -> c_int,
    handle_height: unsafe extern "C" fn(*const Handle) -> c_int,
    handle_release: unsafe extern "C" fn(*const Handle),
    decode_image: unsafe extern "C" fn(
        *const Handle,
        *mut *mut Image,
        c_int,
        c_int,
        *const c_void,
    ) -> HeifError,
    image_width: unsafe extern "C" fn(*const Image, c_int) -> c_int,
    image_height: unsafe extern "C" fn(*const Image, c_int) -> c_int,
    plane_readonly: unsafe extern "C" fn(*const Image, c_int, *mut c_int) -> *const u8,
    image_release: unsafe extern "C" fn(*const Image),
    // Encoding, for test pictures and benchmarks.
    encoder_for_format: unsafe extern "C" fn(*mut Context, c_int, *mut *mut Encoder) -> HeifError,
    encoder_set_lossy_quality: unsafe extern "C" fn(*mut Encoder, c_int) -> HeifError,
    encoder_release: unsafe extern "C" fn(*mut Encoder),
    image_create: unsafe extern "C" fn(c_int, c_int, c_int, c_int, *mut *mut Image) -> HeifError,
    image_add_plane: unsafe extern "C" fn(*mut Image, c_int, c_int, c_int, c_int) -> HeifError,
    plane: unsafe extern "C" fn(*mut Image, c_int, *mut c_int) -> *mut u8,
    encoding_options_alloc: unsafe extern "C" fn() -> *mut EncodingOptions,
    encoding_options_free: unsafe extern "C" fn(*mut EncodingOptions),
    encode_image: unsafe extern "C" fn(
        *mut Context,
        *const Image,
        *mut Encoder,
        *const EncodingOptions,
        *mut *mut Handle,
    ) -> HeifError,
    write: unsafe extern "C" fn(*mut Context, *mut Writer, *mut c_void) -> HeifError,
    add_exif_metadata:
        unsafe extern "C" fn(*mut Context, *const Handle, *const c_void, c_int) -> HeifError,
}

/// libheif, loaded on first use; the error says why it is not there.
fn api() -> Result<&'static Api, &'static str> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(load).as_ref().map_err(String::as_str)
}

fn load() -> Result<Api, String> {
    let chosen = std::env::var_os(LIBRARY_ENV).filter(|p| !p.is_empty());
    let path = chosen.clone().unwrap_or_else(|| LIBRARY_NAME.into());
    // SAFETY: loading runs the library's initialisers; libheif's only set up its own plugin
    // registry and codec tables, and no Rust state depends on them.
    let library = unsafe { libloading::Library::new(&path) }.map_err(|e| match chosen {
        // The plain "not found" of the usual case needs no more words than the hint.
        None => NEEDS_LIBHEIF.to_string(),
        Some(p) => format!(
            "{NEEDS_LIBHEIF} ({LIBRARY_ENV}={}: {e})",
            p.to_string_lossy()
        ),
    })?;
    macro_rules! get {
        ($name:literal) => {
            // SAFETY: the symbol is libheif's function of that name, declared above with the
            // signature of its C header (libheif 1.x keeps these stable); the pointer stays
            // valid because the library is never unloaded.
            *unsafe { library.get(concat!($name, "\0").as_bytes()) }.map_err(|e| {
                format!("{NEEDS_LIBHEIF} (the libheif found is too old or not libheif: {e})")
            })?
        };
    }
    // heif_init (libheif 1.13+) loads the decoder plugins where they are separate packages
    // (Debian 13+); older libraries have their decoders built in and do not need it.
    // SAFETY: as in `get!`: the symbol, where it exists, has this signature.
    let init =
        unsafe { library.get::<unsafe extern "C" fn(*mut c_void) -> HeifError>(b"heif_init\0") };
    if let Ok(init) = init {
        // SAFETY: NULL is documented as "default parameters"; the error's message is static.
        let err = unsafe { init(ptr::null_mut()) };
        if err.code != 0 {
            return Err(format!(
                "{NEEDS_LIBHEIF} (libheif failed to start: {})",
                message(err)
            ));
        }
    }
    let get_version: unsafe extern "C" fn() -> *const c_char = get!("heif_get_version");
    // SAFETY: heif_get_version returns a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(get_version()) }
        .to_string_lossy()
        .into_owned();
    Ok(Api {
        version,
        have_decoder_for_format: get!("heif_have_decoder_for_format"),
        context_alloc: get!("heif_context_alloc"),
        context_free: get!("heif_context_free"),
        read_from_memory_without_copy: get!("heif_context_read_from_memory_without_copy"),
        primary_image_handle: get!("heif_context_get_primary_image_handle"),
        handle_width: get!("heif_image_handle_get_width"),
        handle_height: get!("heif_image_handle_get_height"),
        handle_release: get!("heif_image_handle_release"),
        decode_image: get!("heif_decode_image"),
        image_width: get!("heif_image_get_width"),
        image_height: get!("heif_image_get_height"),
        plane_readonly: get!("heif_image_get_plane_readonly"),
        image_release: get!("heif_image_release"),
        encoder_for_format: get!("heif_context_get_encoder_for_format"),
        encoder_set_lossy_quality: get!("heif_encoder_set_lossy_quality"),
        encoder_release: get!("heif_encoder_release"),
        image_create: get!("heif_image_create"),
        image_add_plane: get!("heif_image_add_plane"),
        plane: get!("heif_image_get_plane"),
        encoding_options_alloc: get!("heif_encoding_options_alloc"),
        encoding_options_free: get!("heif_encoding_options_free"),
        encode_image: get!("heif_context_encode_image"),
        add_exif_metadata: get!("heif_context_add_exif_metadata"),
        write: get!("heif_context_write"),
        _library: library,
    })
}

/// The version of the libheif in use, or why there is none (said by `bench --formats`, and by
/// the tests that need it).
pub fn library_version() -> Result<&'static str, &'static str> {
    api().map(|api| api.version.as_str())
}

fn message(err: HeifError) -> String {
    if err.message.is_null() {
        return format!("libheif error {}.{}", err.code, err.subcode);
    }
    // SAFETY: libheif's error messages are static NUL-terminated strings.
    unsafe { CStr::from_ptr(err.message) }
        .to_string_lossy()
        .into_owned()
}

/// Frees what libheif allocated, on every path out.
struct Guard<T> {
    ptr: *mut T,
    free: unsafe fn(&Api, *mut T),
    api: &'static Api,
}

impl<T> Guard<T> {
    /// Takes ownership of `ptr` (which may be NULL: nothing is freed then).
    fn new(api: &'static Api, ptr: *mut T, free: unsafe fn(&Api, *mut T)) -> Self {
        Self { ptr, free, api }
    }
}

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: `ptr` came from the libheif allocator `free` belongs to, and is freed once.
            unsafe { (self.free)(self.api, self.ptr) }
        }
    }
}

// The releasers for `Guard`. Safety: `p` came from the matching libheif allocator and is
// released once.
unsafe fn free_context(api: &Api, p: *mut Context) {
    // SAFETY: `p` came from the matching libheif allocator and is released once
    // (`Guard`'s contract).
    unsafe { (api.context_free)(p) }
}
unsafe fn free_handle(api: &Api, p: *mut Handle) {
    // SAFETY: `p` came from the matching libheif allocator and is released once
    // (`Guard`'s contract).
    unsafe { (api.handle_release)(p) }
}
unsafe fn free_image(api: &Api, p: *mut Image) {
    // SAFETY: `p` came from the matching libheif allocator and is released once
    // (`Guard`'s contract).
    unsafe { (api.image_release)(p) }
}
unsafe fn free_encoder(api: &Api, p: *mut Encoder) {
    // SAFETY: `p` came from the matching libheif allocator and is released once
    // (`Guard`'s contract).
    unsafe { (api.encoder_release)(p) }
}
unsafe fn free_options(api: &Api, p: *mut EncodingOptions) {
    // SAFETY: `p` came from the matching libheif allocator and is released once
    // (`Guard`'s contract).
    unsafe { (api.encoding_options_free)(p) }
}

fn new_context(api: &'static Api) -> Result<Guard<Context>, String> {
    // SAFETY: heif_context_alloc takes nothing and returns a fresh context (or NULL).
    let ctx = Guard::new(api, unsafe { (api.context_alloc)() }, free_context);
    if ctx.ptr.is_null() {
        return Err("libheif could not allocate a context".into());
    }
    Ok(ctx)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A box: its size, type and body.
    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        [&((8 + body.len()) as u32).to_be_bytes()[..], kind, body].concat()
    }

    /// A HEIC head whose `meta` names item 7 `Exif` and stores it by `iloc` (version
    /// `version`, `method` 0: at `offset` in the file; 1: in `idat`).
    fn heif_with_exif(version: u8, method: u16, offset: u32, length: u32, idat: &[u8]) -> Vec<u8> {
        let ftyp = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
        let infe = |id: u16, kind: &[u8; 4]| {
            bx(
                b"infe",
                &[&[2, 0, 0, 0][..], &id.to_be_bytes(), &[0, 0], kind, b"\0"].concat(),
            )
        };
        let iinf = bx(
            b"iinf",
            &[
                &[0, 0, 0, 0, 0, 2][..],
                &infe(1, b"hvc1"),
                &infe(7, b"Exif"),
            ]
            .concat(),
        );
        let mut iloc = vec![version, 0, 0, 0, 0x44, 0];
        iloc.extend(2u16.to_be_bytes());
        for (id, off, len) in [(1u16, 0u32, 0u32), (7, offset, length)] {
            iloc.extend(id.to_be_bytes());
            if version == 1 {
                iloc.extend(if id == 7 { method } else { 0 }.to_be_bytes());
            }
            iloc.extend([0, 0, 0, 1]); // data reference 0, one extent
            iloc.extend(off.to_be_bytes());
            iloc.extend(len.to_be_bytes());
        }
        let meta = bx(
            b"meta",
            &[
                &[0, 0, 0, 0][..],
                &iinf,
                &bx(b"iloc", &iloc),
                &bx(b"idat", idat),
            ]
            .concat(),
        );
        [ftyp, meta].concat()
    }

    #[test]
    fn the_exif_item_is_found_in_the_file_or_in_idat_and_damage_gives_none() {
        let tiff = b"II*\0 the TIFF block".to_vec();
        let item = [&[0, 0, 0, 6][..], b"Exif\0\0", &tiff].concat();
        // In the file, after the head: fetched through `read`.
        let head = heif_with_exif(0, 0, 10_000, item.len() as u32, &[]);
        let mut file = head.clone();
        file.resize(10_000, 0);
        file.extend(&item);
        let read = |at: u64, len: u64| {
            file.get(at as usize..(at + len) as usize)
                .map(<[u8]>::to_vec)
        };
        assert_eq!(exif(&head, read).as_deref(), Some(&tiff[..]));
        // In `idat` (construction method 1).
        let head = heif_with_exif(1, 1, 0, item.len() as u32, &item);
        assert_eq!(exif(&head, |_, _| None).as_deref(), Some(&tiff[..]));
        // Every cut of the head, and a too-long item, give None or the block, never a panic.
        for cut in 0..head.len() {
            let _ = exif(&head[..cut], |_, _| None);
        }
        let head = heif_with_exif(0, 0, 10_000, 1 << 30, &[]);
        assert_eq!(
            exif(&head, |_, _| panic!("2^30 bytes must not be read")),
            None
        );
        let head = heif_with_exif(0, 0, u32::MAX, u32::MAX, &[]);
        assert_eq!(exif(&head, |_, _| None), None);
    }
    use image::metadata::Orientation;
    use image::Rgb;

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len() as u32;
        let mut out = size.to_be_bytes().to_vec();
        out.extend_from_slice(b"ftyp");
        out.extend_from_slice(major);
        out.extend_from_slice(&[0; 4]);
        for b in compatible {
            out.extend_from_slice(*b);
        }
        out.extend_from_slice(b"\0\0\0\x08free");
        out
    }

    /// Left half red, right half blue: where the red is says how the picture was turned.
    fn halves(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, _| {
            if x < w / 2 {
                Rgb([230, 20, 20])
            } else {
                Rgb([20, 20, 230])
            }
        })
    }

    fn libheif() {
        if let Err(why) = api() {
            panic!("these tests need libheif (CI installs libheif1): {why}");
        }
    }

    fn is_red(p: &Rgb<u8>) -> bool {
        p.0[0] > 180 && p.0[2] < 80
    }
    fn is_blue(p: &Rgb<u8>) -> bool {
        p.0[2] > 180 && p.0[0] < 80
    }

    #[test]
    fn brands_tell_heic_from_avif_and_from_everything_else() {
        assert_eq!(kind(&ftyp(b"heic", &[b"mif1", b"heic"])), Some(Kind::Heic));
        assert_eq!(kind(&ftyp(b"heix", &[])), Some(Kind::Heic));
        assert_eq!(kind(&ftyp(b"avif", &[b"mif1", b"miaf"])), Some(Kind::Avif));
        assert_eq!(kind(&ftyp(b"avis", &[b"avif"])), Some(Kind::Avif));
        // The generic brand: the compatible ones say which.
        assert_eq!(
            kind(&ftyp(b"mif1", &[b"mif1", b"avif", b"miaf"])),
            Some(Kind::Avif)
        );
        assert_eq!(kind(&ftyp(b"mif1", &[b"mif1", b"heic"])), Some(Kind::Heic));
        assert_eq!(kind(&ftyp(b"mif1", &[])), Some(Kind::Heic));
        // Other ISO files: an MP4 video, a Canon CR3.
        assert_eq!(kind(&ftyp(b"isom", &[b"isom", b"mp41"])), None);
        assert_eq!(kind(&ftyp(b"crx ", &[b"crx ", b"isom"])), None);
        assert_eq!(kind(b"hello, I am a text file"), None);
        assert_eq!(kind(b""), None);
    }

    #[test]
    fn a_truncated_or_nonsensical_ftyp_is_told_by_what_there_is() {
        let whole = ftyp(b"heic", &[b"mif1", b"heic"]);
        for n in 0..16 {
            assert_eq!(kind(&whole[..n]), None, "{n} bytes");
        }
        // From the major brand on, the file is a HEIC (cut short: libheif will say so).
        for n in 16..whole.len() {
            assert_eq!(kind(&whole[..n]), Some(Kind::Heic), "{n} bytes");
        }
        // A generic major brand, cut before the compatible brand that says AVIF: a HEIF.
        let avif = ftyp(b"mif1", &[b"mif1", b"avif"]);
        assert_eq!(kind(&avif), Some(Kind::Avif));
        assert_eq!(kind(&avif[..20]), Some(Kind::Heic));
        let mut huge = whole.clone();
        huge[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(kind(&huge), None);
        let mut tiny = whole.clone();
        tiny[0..4].copy_from_slice(&8u32.to_be_bytes());
        assert_eq!(kind(&tiny), None);
        let mut odd = whole;
        odd[0..4].copy_from_slice(&23u32.to_be_bytes());
        assert_eq!(kind(&odd), None);
    }

    #[test]
    fn an_encoded_heic_and_avif_decode_to_their_size_and_colours() {
        libheif();
        let src = halves(320, 240);
        for (codec, want) in [(Codec::Hevc, Kind::Heic), (Codec::Av1, Kind::Avif)] {
            let bytes = encode(&src, codec, 90, Orientation::NoTransforms, None).unwrap();
            assert_eq!(kind(&bytes), Some(want), "{codec:?}");
            assert_eq!(claimed_size(&bytes), Some((320, 240)), "{codec:?}");
            let img = decode(&bytes, want).unwrap();
            assert_eq!(img.dimensions(), (320, 240), "{codec:?}");
            assert!(is_red(img.get_pixel(40, 120)), "{codec:?}");
            assert!(is_blue(img.get_pixel(280, 120)), "{codec:?}");
            // And through the generic entry point, as indexing reads files.
            let img = crate::decode::decode_rgb(&bytes, 256).unwrap();
            assert_eq!(img.dimensions(), (320, 240), "{codec:?}");
        }
    }

    #[test]
    fn the_files_orientation_is_applied_once() {
        libheif();
        // EXIF 6: the stored picture is shown turned 90° clockwise, so its left (red) half
        // is the top once upright.
        let bytes = encode(
            &halves(320, 240),
            Codec::Hevc,
            90,
            Orientation::Rotate90,
            None,
        )
        .unwrap();
        // libheif 1.15 writes the turned size in `ispe` (the standard says the stored one, as
        // cameras do; `the_size_is_read_from_the_primary_items_properties` checks the turn).
        assert_eq!(claimed_size(&bytes).map(|(w, h)| w * h), Some(320 * 240));
        let img = crate::decode::decode_rgb(&bytes, 256).unwrap();
        assert_eq!(img.dimensions(), (240, 320));
        assert!(is_red(img.get_pixel(120, 40)));
        assert!(is_blue(img.get_pixel(120, 280)));
        // A mirror image: red on the right.
        let bytes = encode(
            &halves(320, 240),
            Codec::Av1,
            90,
            Orientation::FlipHorizontal,
            None,
        )
        .unwrap();
        let img = crate::decode::decode_rgb(&bytes, 256).unwrap();
        assert_eq!(img.dimensions(), (320, 240));
        assert!(is_blue(img.get_pixel(40, 120)));
        assert!(is_red(img.get_pixel(280, 120)));
    }

    #[test]
    fn a_truncated_or_corrupt_heic_is_an_error_not_a_crash() {
        libheif();
        let bytes = encode(
            &halves(320, 240),
            Codec::Hevc,
            80,
            Orientation::NoTransforms,
            None,
        )
        .unwrap();
        for n in [24, 100, bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
            let got = decode(&bytes[..n], Kind::Heic);
            assert!(
                matches!(
                    got,
                    Err(DecodeError::Corrupt(_) | DecodeError::Unsupported(_))
                ),
                "first {n} bytes: {got:?}"
            );
        }
        // Garbage in the coded data, after the boxes that describe it.
        let mut bad = bytes.clone();
        let from = bytes.len() / 2;
        for (i, b) in bad[from..].iter_mut().enumerate() {
            *b = (i * 37) as u8;
        }
        // libde265 may conceal the damage; what matters is an image or an error, no crash.
        let _ = decode(&bad, Kind::Heic);
        // A header that says nonsense.
        let mut bad = bytes;
        let meta = bad.windows(4).position(|w| w == b"meta").unwrap();
        bad[meta + 8..meta + 40].fill(0xff);
        assert!(matches!(
            crate::decode::decode_rgb(&bad, 256),
            Err(DecodeError::Corrupt(_) | DecodeError::Unsupported(_))
        ));
    }

    #[test]
    fn an_image_over_the_pixel_limit_is_refused_before_decoding() {
        libheif();
        let mut bytes = encode(
            &halves(128, 96),
            Codec::Hevc,
            50,
            Orientation::NoTransforms,
            None,
        )
        .unwrap();
        // Make the `ispe` claim 20000×20000 (400 MP): libheif's own limit allows it, ours not.
        let at = bytes.windows(4).position(|w| w == b"ispe").unwrap() + 8;
        bytes[at..at + 4].copy_from_slice(&20000u32.to_be_bytes());
        bytes[at + 4..at + 8].copy_from_slice(&20000u32.to_be_bytes());
        assert_eq!(claimed_size(&bytes), Some((20000, 20000)));
        assert!(matches!(
            decode(&bytes, Kind::Heic),
            Err(DecodeError::TooLarge {
                width: 20000,
                height: 20000
            })
        ));
        // And reading the file stops at its first 64 KiB, which say so.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.heic");
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            crate::decode::read_image(&path),
            Err(DecodeError::TooLarge { .. })
        ));
        assert_eq!(crate::decode::dimensions(&path), Some((20000, 20000)));
    }

    #[test]
    fn the_size_is_read_from_the_primary_items_properties() {
        // A hand-made `meta`: item 2 is primary; item 1's ispe comes first in `ipco`.
        fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
            let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
            out.extend_from_slice(kind);
            out.extend_from_slice(body);
            out
        }
        let ispe = |w: u32, h: u32| {
            boxed(
                b"ispe",
                &[&[0u8; 4][..], &w.to_be_bytes(), &h.to_be_bytes()].concat(),
            )
        };
        let ipco = boxed(
            b"ipco",
            &[ispe(512, 512), ispe(4032, 3024), boxed(b"irot", &[1])].concat(),
        );
        // Version 0, flags 0: 16-bit item ids, 8-bit indices (high bit = essential).
        let ipma = boxed(
            b"ipma",
            &[0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 1, 0x81, 0, 2, 2, 0x82, 0x83],
        );
        let meta = boxed(
            b"meta",
            &[
                &[0u8; 4][..],
                &boxed(b"pitm", &[0, 0, 0, 0, 0, 2]),
                &boxed(b"iprp", &[ipco, ipma].concat()),
            ]
            .concat(),
        );
        let file = [ftyp(b"heic", &[b"mif1"]), meta].concat();
        assert_eq!(claimed_size(&file), Some((3024, 4032)));
        // Every truncation is None or the answer, never a panic.
        for n in 0..file.len() {
            let got = claimed_size(&file[..n]);
            assert!(got.is_none() || got == Some((3024, 4032)), "{n}: {got:?}");
        }
    }
}
