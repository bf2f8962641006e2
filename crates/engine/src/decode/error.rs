//! Why a file could not be turned into pixels, and the size limit every format checks: kept
//! below the format modules (jpeg, heif, raw), which report with it, and the module that
//! dispatches to them.

/// The largest image accepted, in pixels: a 48 MP phone photo or a long panorama fit,
/// a 30000×30000 decompression bomb does not.
pub const MAX_PIXELS: u64 = 200_000_000;
/// Why a file could not be turned into pixels, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The file has no bytes at all (often a download or copy that failed).
    #[error("empty file (0 bytes)")]
    Empty,
    /// A named pipe, a device or a socket: never opened, so reading cannot block or run forever.
    #[error("not a regular file ({0})")]
    NotAFile(&'static str),
    /// The operating system refused or failed a read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The first bytes are none of the formats photo-sim reads.
    #[error(
        "not an image (content not recognised as JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC/AVIF \
         or camera RAW)"
    )]
    NotAnImage,
    /// A HEIC/AVIF file, but the system's libheif (or its decoder for this codec) is missing:
    /// the words say what to install (see [`crate::decode::heif`]).
    #[error("{0}")]
    NeedsLibheif(String),
    /// The header claims more pixels than the limit (a decompression bomb, or a huge panorama):
    /// refused before anything is allocated.
    #[error("image too large: {width}×{height} pixels is over the {} MP limit", MAX_PIXELS / 1_000_000)]
    TooLarge {
        /// The claimed width, in pixels.
        width: u64,
        /// The claimed height, in pixels.
        height: u64,
    },
    /// A known format whose content is damaged or cut short; the text says what the decoder met.
    #[error("corrupt or truncated image: {0}")]
    Corrupt(String),
    /// A known format in a variant no decoder here handles (e.g. a RAW with no preview).
    #[error("unsupported image: {0}")]
    Unsupported(String),
}

impl DecodeError {
    /// True when the reason is in the file itself, so reading it again changes nothing until
    /// the file changes; false when it is in this system (a permission, a read error, a codec
    /// not installed), which the person can mend without touching the file.
    pub fn is_lasting(&self) -> bool {
        !matches!(self, DecodeError::Io(_) | DecodeError::NeedsLibheif(_))
    }
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

/// Refuses an image whose claimed size is over [`MAX_PIXELS`], before anything is allocated.
pub fn check_size(width: u64, height: u64) -> Result<(), DecodeError> {
    if width * height > MAX_PIXELS {
        return Err(DecodeError::TooLarge { width, height });
    }
    Ok(())
}

/// What a path that is not a regular file is, in words ("a named pipe").
pub fn describe(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}
