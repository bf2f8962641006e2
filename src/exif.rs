//! A small, careful reader of EXIF blocks (TIFF-structured metadata): just enough to find when a
//! photo was taken. Every offset is checked against the block, so a damaged or crafted block
//! gives `None`, never a panic or a huge allocation.

/// The tag that points to the EXIF sub-directory, where the camera's own dates live.
const EXIF_IFD: u16 = 0x8769;
const DATE_TIME_ORIGINAL: u16 = 0x9003;
const DATE_TIME: u16 = 0x0132;
const ASCII: u16 = 2;
const LONG: u16 = 4;
/// No real directory has more entries; a bigger count is damage.
const MAX_ENTRIES: usize = 1000;

/// A TIFF block: its bytes and byte order.
struct Tiff<'a> {
    bytes: &'a [u8],
    little: bool,
}

/// One directory entry: tag, type, count, and the 4-byte value-or-offset field.
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    value: [u8; 4],
}

impl<'a> Tiff<'a> {
    fn new(bytes: &'a [u8]) -> Option<Self> {
        // Some writers keep the "Exif\0\0" header of the JPEG segment.
        let bytes = bytes.strip_prefix(b"Exif\0\0").unwrap_or(bytes);
        let little = match bytes.get(..4)? {
            [b'I', b'I', 42, 0] => true,
            [b'M', b'M', 0, 42] => false,
            _ => return None,
        };
        Some(Self { bytes, little })
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32_of(&self, b: [u8; 4]) -> u32 {
        if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(self.u32_of(b))
    }

    /// The entries of the directory at `offset`.
    fn directory(&self, offset: usize) -> Option<Vec<Entry>> {
        let n = usize::from(self.u16_at(offset)?);
        if n > MAX_ENTRIES {
            return None;
        }
        (0..n)
            .map(|i| {
                let at = offset + 2 + 12 * i;
                Some(Entry {
                    tag: self.u16_at(at)?,
                    kind: self.u16_at(at + 2)?,
                    count: self.u32_at(at + 4)?,
                    value: self.bytes.get(at + 8..at + 12)?.try_into().ok()?,
                })
            })
            .collect()
    }

    /// An ASCII entry's text, without its terminating NULs.
    fn text(&self, e: &Entry) -> Option<String> {
        if e.kind != ASCII {
            return None;
        }
        let len = e.count as usize;
        let bytes = if len <= 4 {
            e.value.get(..len)?
        } else {
            let at = self.u32_of(e.value) as usize;
            self.bytes.get(at..at.checked_add(len)?)?
        };
        let text = std::str::from_utf8(bytes)
            .ok()?
            .trim_end_matches('\0')
            .trim();
        (!text.is_empty()).then(|| text.to_string())
    }
}

/// When the photo was taken, as the camera wrote it ("2024:06:12 10:15:30"): the original
/// date of the EXIF sub-directory, else the file's main date.
pub fn date_taken(exif: &[u8]) -> Option<String> {
    let tiff = Tiff::new(exif)?;
    let first = tiff.directory(tiff.u32_at(4)? as usize)?;
    let original = first
        .iter()
        .find(|e| e.tag == EXIF_IFD && e.kind == LONG)
        .and_then(|e| tiff.directory(tiff.u32_of(e.value) as usize))
        .and_then(|sub| {
            sub.iter()
                .find(|e| e.tag == DATE_TIME_ORIGINAL)
                .and_then(|e| tiff.text(e))
        });
    original.or_else(|| {
        first
            .iter()
            .find(|e| e.tag == DATE_TIME)
            .and_then(|e| tiff.text(e))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A little-endian EXIF block with a main date and, if given, an original date in an EXIF
    /// sub-directory (what cameras write).
    pub(crate) fn exif_with_dates(main: &str, original: Option<&str>) -> Vec<u8> {
        let mut b = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
        let entries: u16 = if original.is_some() { 2 } else { 1 };
        let first_end = 8 + 2 + 12 * entries as usize + 4;
        let main_at = first_end;
        let sub_at = main_at + 20;
        let original_at = sub_at + 2 + 12 + 4;
        b.extend(entries.to_le_bytes());
        b.extend(DATE_TIME.to_le_bytes());
        b.extend(ASCII.to_le_bytes());
        b.extend(20u32.to_le_bytes());
        b.extend((main_at as u32).to_le_bytes());
        if original.is_some() {
            b.extend(EXIF_IFD.to_le_bytes());
            b.extend(LONG.to_le_bytes());
            b.extend(1u32.to_le_bytes());
            b.extend((sub_at as u32).to_le_bytes());
        }
        b.extend(0u32.to_le_bytes());
        b.extend(format!("{main:<19}\0").as_bytes());
        if let Some(original) = original {
            b.extend(1u16.to_le_bytes());
            b.extend(DATE_TIME_ORIGINAL.to_le_bytes());
            b.extend(ASCII.to_le_bytes());
            b.extend(20u32.to_le_bytes());
            b.extend((original_at as u32).to_le_bytes());
            b.extend(0u32.to_le_bytes());
            b.extend(format!("{original:<19}\0").as_bytes());
        }
        b
    }

    #[test]
    fn the_original_date_wins_over_the_file_date() {
        let exif = exif_with_dates("2025:01:01 00:00:00", Some("2024:06:12 10:15:30"));
        assert_eq!(date_taken(&exif).as_deref(), Some("2024:06:12 10:15:30"));
        let exif = exif_with_dates("2025:01:01 00:00:00", None);
        assert_eq!(date_taken(&exif).as_deref(), Some("2025:01:01 00:00:00"));
    }

    #[test]
    fn a_damaged_block_has_no_date_and_no_panic() {
        let exif = exif_with_dates("2025:01:01 00:00:00", Some("2024:06:12 10:15:30"));
        for cut in 0..exif.len() {
            let _ = date_taken(&exif[..cut]);
        }
        let mut flipped = exif.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0xff;
            let _ = date_taken(&flipped);
            flipped[i] ^= 0xff;
        }
        assert_eq!(date_taken(b"not exif"), None);
    }
}
