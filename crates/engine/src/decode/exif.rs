//! When a photo was taken, from its EXIF block (TIFF-structured metadata, read by [`crate::decode::tiff`]
//! with every offset checked: a damaged block gives `None`, never a panic).

use crate::decode::tiff::{Tiff, LONG};

/// The tag that points to the EXIF sub-directory, where the camera's own dates live.
pub const EXIF_IFD: u16 = 0x8769;
const DATE_TIME_ORIGINAL: u16 = 0x9003;
const DATE_TIME: u16 = 0x0132;

/// When the photo was taken, as the camera wrote it ("2024:06:12 10:15:30"): the original
/// date of the EXIF sub-directory, else the file's main date.
pub fn date_taken(exif: &[u8]) -> Option<String> {
    let tiff = Tiff::new(exif)?;
    let (first, _) = tiff.directory(tiff.first()?)?;
    let original = first
        .iter()
        .find(|e| e.tag == EXIF_IFD && e.kind == LONG)
        .and_then(|e| tiff.directory(tiff.u32_of(e.value) as usize))
        .and_then(|(sub, _)| {
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
    use crate::decode::tiff::{le_directory, le_entry, ASCII};

    /// A little-endian EXIF block with a main date and, if given, an original date in an EXIF
    /// sub-directory (what cameras write).
    pub(crate) fn exif_with_dates(main: &str, original: Option<&str>) -> Vec<u8> {
        let mut b = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
        let entries: u32 = if original.is_some() { 2 } else { 1 };
        let main_at = 8 + 2 + 12 * entries + 4;
        let sub_at = main_at + 20;
        let original_at = sub_at + 2 + 12 + 4;
        let mut first = vec![le_entry(DATE_TIME, ASCII, 20, main_at)];
        if original.is_some() {
            first.push(le_entry(EXIF_IFD, LONG, 1, sub_at));
        }
        b.extend(le_directory(&first));
        b.extend(format!("{main:<19}\0").as_bytes());
        if let Some(original) = original {
            b.extend(le_directory(&[le_entry(
                DATE_TIME_ORIGINAL,
                ASCII,
                20,
                original_at,
            )]));
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
            // A cut block gives one of the dates it holds, or none: never a made-up one.
            let got = date_taken(&exif[..cut]);
            assert!(
                matches!(
                    got.as_deref(),
                    None | Some("2024:06:12 10:15:30" | "2025:01:01 00:00:00")
                ),
                "cut at {cut}: {got:?}"
            );
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
