//! libheif, loaded at run time: its C types and constants, the functions used (resolved once
//! and kept), its errors in words, and a guard that frees what it allocated on every path.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::OnceLock;

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

/// `struct heif_error`, returned by value by most of libheif; `message` is static.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct HeifError {
    pub(super) code: c_int,
    pub(super) subcode: c_int,
    pub(super) message: *const c_char,
}

pub(super) const ERROR_UNSUPPORTED_FEATURE: c_int = 4;
pub(super) const ERROR_MEMORY: c_int = 6;
pub(super) const SUBERROR_UNSUPPORTED_CODEC: c_int = 3000;
pub(super) const SUBERROR_SECURITY_LIMIT: c_int = 1000;
pub(super) const COMPRESSION_HEVC: c_int = 1;
pub(super) const COMPRESSION_AV1: c_int = 4;
pub(super) const COLORSPACE_RGB: c_int = 1;
pub(super) const CHROMA_INTERLEAVED_RGB: c_int = 10;
pub(super) const CHANNEL_INTERLEAVED: c_int = 10;

pub(super) enum Context {}
pub(super) enum Handle {}
pub(super) enum Image {}
pub(super) enum Encoder {}

/// `struct heif_encoding_options` up to its version 5 (libheif 1.15), the first with
/// `image_orientation`; only ever allocated by libheif, so later versions' fields are no harm.
#[repr(C)]
pub(super) struct EncodingOptions {
    pub(super) version: u8,
    pub(super) save_alpha_channel: u8,
    pub(super) macos_compatibility_workaround: u8,
    pub(super) save_two_colr_boxes: u8,
    pub(super) output_nclx_profile: *mut c_void,
    pub(super) macos_compatibility_workaround_no_nclx_profile: u8,
    pub(super) image_orientation: c_int,
}

/// `struct heif_writer`, version 1.
#[repr(C)]
pub(super) struct Writer {
    pub(super) writer_api_version: c_int,
    pub(super) write:
        unsafe extern "C" fn(*mut Context, *const c_void, usize, *mut c_void) -> HeifError,
}

/// The functions used, resolved once. The library they point into is kept alongside and never
/// unloaded (it lives in a `static`). The encoding ones are resolved in every build, as the
/// decoder's are, but only read by `encode.rs` (the `test-support` feature).
#[cfg_attr(not(any(test, feature = "test-support")), allow(dead_code))]
pub(super) struct Api {
    pub(super) _library: libloading::Library,
    pub(super) version: String,
    pub(super) have_decoder_for_format: unsafe extern "C" fn(c_int) -> c_int,
    pub(super) context_alloc: unsafe extern "C" fn() -> *mut Context,
    pub(super) context_free: unsafe extern "C" fn(*mut Context),
    pub(super) read_from_memory_without_copy:
        unsafe extern "C" fn(*mut Context, *const c_void, usize, *const c_void) -> HeifError,
    pub(super) primary_image_handle:
        unsafe extern "C" fn(*mut Context, *mut *mut Handle) -> HeifError,
    pub(super) handle_width: unsafe extern "C" fn(*const Handle) -> c_int,
    pub(super) handle_height: unsafe extern "C" fn(*const Handle) -> c_int,
    pub(super) handle_release: unsafe extern "C" fn(*const Handle),
    pub(super) decode_image: unsafe extern "C" fn(
        *const Handle,
        *mut *mut Image,
        c_int,
        c_int,
        *const c_void,
    ) -> HeifError,
    pub(super) image_width: unsafe extern "C" fn(*const Image, c_int) -> c_int,
    pub(super) image_height: unsafe extern "C" fn(*const Image, c_int) -> c_int,
    pub(super) plane_readonly: unsafe extern "C" fn(*const Image, c_int, *mut c_int) -> *const u8,
    pub(super) image_release: unsafe extern "C" fn(*const Image),
    // Encoding, for test pictures and benchmarks.
    pub(super) encoder_for_format:
        unsafe extern "C" fn(*mut Context, c_int, *mut *mut Encoder) -> HeifError,
    pub(super) encoder_set_lossy_quality: unsafe extern "C" fn(*mut Encoder, c_int) -> HeifError,
    pub(super) encoder_release: unsafe extern "C" fn(*mut Encoder),
    pub(super) image_create:
        unsafe extern "C" fn(c_int, c_int, c_int, c_int, *mut *mut Image) -> HeifError,
    pub(super) image_add_plane:
        unsafe extern "C" fn(*mut Image, c_int, c_int, c_int, c_int) -> HeifError,
    pub(super) plane: unsafe extern "C" fn(*mut Image, c_int, *mut c_int) -> *mut u8,
    pub(super) encoding_options_alloc: unsafe extern "C" fn() -> *mut EncodingOptions,
    pub(super) encoding_options_free: unsafe extern "C" fn(*mut EncodingOptions),
    pub(super) encode_image: unsafe extern "C" fn(
        *mut Context,
        *const Image,
        *mut Encoder,
        *const EncodingOptions,
        *mut *mut Handle,
    ) -> HeifError,
    pub(super) write: unsafe extern "C" fn(*mut Context, *mut Writer, *mut c_void) -> HeifError,
    pub(super) add_exif_metadata:
        unsafe extern "C" fn(*mut Context, *const Handle, *const c_void, c_int) -> HeifError,
}

/// libheif, loaded on first use; the error says why it is not there.
pub(super) fn api() -> Result<&'static Api, &'static str> {
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

pub(super) fn message(err: HeifError) -> String {
    if err.message.is_null() {
        return format!("libheif error {}.{}", err.code, err.subcode);
    }
    // SAFETY: libheif's error messages are static NUL-terminated strings.
    unsafe { CStr::from_ptr(err.message) }
        .to_string_lossy()
        .into_owned()
}

/// Frees what libheif allocated, on every path out.
pub(super) struct Guard<T> {
    pub(super) ptr: *mut T,
    pub(super) free: unsafe fn(&Api, *mut T),
    pub(super) api: &'static Api,
}

impl<T> Guard<T> {
    /// Takes ownership of `ptr` (which may be NULL: nothing is freed then).
    pub(super) fn new(api: &'static Api, ptr: *mut T, free: unsafe fn(&Api, *mut T)) -> Self {
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
pub(super) unsafe fn free_context(api: &Api, p: *mut Context) {
    // SAFETY: `p` came from the matching libheif allocator and is released once
    // (`Guard`'s contract).
    unsafe { (api.context_free)(p) }
}
pub(super) unsafe fn free_handle(api: &Api, p: *mut Handle) {
    // SAFETY: `p` came from the matching libheif allocator and is released once
    // (`Guard`'s contract).
    unsafe { (api.handle_release)(p) }
}
pub(super) unsafe fn free_image(api: &Api, p: *mut Image) {
    // SAFETY: `p` came from the matching libheif allocator and is released once
    // (`Guard`'s contract).
    unsafe { (api.image_release)(p) }
}
#[cfg(any(test, feature = "test-support"))]
pub(super) unsafe fn free_encoder(api: &Api, p: *mut Encoder) {
    // SAFETY: `p` came from the matching libheif allocator and is released once
    // (`Guard`'s contract).
    unsafe { (api.encoder_release)(p) }
}
#[cfg(any(test, feature = "test-support"))]
pub(super) unsafe fn free_options(api: &Api, p: *mut EncodingOptions) {
    // SAFETY: `p` came from the matching libheif allocator and is released once
    // (`Guard`'s contract).
    unsafe { (api.encoding_options_free)(p) }
}

pub(super) fn new_context(api: &'static Api) -> Result<Guard<Context>, String> {
    // SAFETY: heif_context_alloc takes nothing and returns a fresh context (or NULL).
    let ctx = Guard::new(api, unsafe { (api.context_alloc)() }, free_context);
    if ctx.ptr.is_null() {
        return Err("libheif could not allocate a context".into());
    }
    Ok(ctx)
}
