//! What a person wants to know of a photo at a glance (where it is, when it was taken, how big)
//! read from the file's metadata and header only, never by decoding it: the browser's hover
//! cards show it for every match.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A hover card's facts about one photo, each `None` (or empty) when the file does not say it.
#[derive(Clone, Debug, PartialEq)]
pub struct Details {
    /// The folder, relative to the library's root ("" for the root itself), or absolute for a
    /// photo outside it.
    pub folder: PathBuf,
    /// When it was taken ("2024-06-12 10:15"), from EXIF, else the file's time (UTC).
    pub taken: Option<String>,
    /// True when `taken` is the camera's date, false when it is the file's.
    pub taken_by_camera: bool,
    /// Width and height as shown (upright), from the header.
    pub pixels: Option<(u32, u32)>,
    /// File size.
    pub bytes: Option<u64>,
}

impl Details {
    /// The card's lines: folder, date, size.
    pub fn lines(&self) -> Vec<String> {
        let folder = if self.folder.as_os_str().is_empty() {
            "top folder".to_string()
        } else {
            self.folder.display().to_string()
        };
        let mut lines = vec![format!("In {folder}")];
        if let Some(t) = &self.taken {
            lines.push(if self.taken_by_camera {
                format!("Taken {t}")
            } else {
                format!("File date {t} UTC")
            });
        }
        let mut size = Vec::new();
        if let Some((w, h)) = self.pixels {
            size.push(format!("{w} × {h} px"));
        }
        if let Some(b) = self.bytes {
            size.push(size_text(b));
        }
        if !size.is_empty() {
            lines.push(size.join(", "));
        }
        lines
    }
}

/// A size as people say it: "2.4 GB", "2.4 MB", "85 KB", "312 bytes".
pub fn size_text(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0} KB", b / 1e3)
    } else {
        format!("{bytes} bytes")
    }
}

/// The details of `path`; `root` is the open library's folder, if any.
pub fn of(path: &Path, root: Option<&Path>) -> Details {
    let meta = std::fs::metadata(path).ok();
    let parent = path.parent().unwrap_or(Path::new(""));
    let folder = root
        .and_then(|r| parent.strip_prefix(r).ok())
        .unwrap_or(parent)
        .to_path_buf();
    let (pixels, camera) = pixels_and_date(path);
    let taken_by_camera = camera.is_some();
    let taken = camera.or_else(|| {
        let modified = meta.as_ref()?.modified().ok()?;
        Some(utc_date(seconds_since_1970(modified)))
    });
    Details {
        folder,
        taken,
        taken_by_camera,
        pixels,
        bytes: meta.map(|m| m.len()),
    }
}

/// A photo's pixel size and the camera's date ("YYYY-MM-DD HH:MM"), from one read of its
/// first bytes (they say both the size and where the camera's date is).
pub fn pixels_and_date(path: &Path) -> (Option<(u32, u32)>, Option<String>) {
    let Some(head) = crate::decode::head(path) else {
        return (None, None);
    };
    (
        crate::decode::dimensions_in(&head),
        camera_date(path, &head),
    )
}

/// The EXIF date, as "YYYY-MM-DD HH:MM" (`head`: the file's first bytes).
fn camera_date(path: &Path, head: &[u8]) -> Option<String> {
    let raw = crate::decode::exif::date_taken(&exif_block(path, head)?)?;
    // "2024:06:12 10:15:30" → "2024-06-12 10:15"
    let (date, time) = raw.split_once(' ')?;
    let date = date.replace(':', "-");
    let minutes = time.get(..5)?;
    (date.len() == 10 && date != "0000-00-00").then(|| format!("{date} {minutes}"))
}

/// The EXIF block of a photo: a HEIF item, a TIFF-built RAW's own directories, or what the
/// `image` crate finds (JPEG, PNG, WebP).
fn exif_block(path: &Path, head: &[u8]) -> Option<Vec<u8>> {
    use image::ImageDecoder;
    use std::io::{Read, Seek, SeekFrom};
    if crate::decode::heif::kind(head).is_some() {
        let read = |offset: u64, length: u64| {
            let (mut file, _) = crate::decode::open_regular(path).ok()?;
            file.seek(SeekFrom::Start(offset)).ok()?;
            let mut out = Vec::new();
            file.take(length).read_to_end(&mut out).ok()?;
            Some(out)
        };
        return crate::decode::heif::exif(head, read);
    }
    if crate::decode::raw::container(head) == Some(crate::decode::raw::Container::Tiff) {
        return Some(head.to_vec());
    }
    let mut decoder = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?
        .into_decoder()
        .ok()?;
    decoder.exif_metadata().ok()?
}

fn seconds_since_1970(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Seconds since 1970 as "YYYY-MM-DD HH:MM" in UTC (no time-zone data is needed to read it).
pub fn utc_date(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn file_times_are_written_as_calendar_dates() {
        assert_eq!(utc_date(seconds_since_1970(UNIX_EPOCH)), "1970-01-01 00:00");
        let leap_day = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(utc_date(seconds_since_1970(leap_day)), "2024-02-29 12:34");
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_text(312), "312 bytes");
        assert_eq!(size_text(85_300), "85 KB");
        assert_eq!(size_text(2_400_000), "2.4 MB");
    }

    #[test]
    fn a_photo_says_its_folder_camera_date_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("2024").join("Holidays");
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("a.jpg");
        let img = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 100, 50]));
        let mut enc = image::codecs::jpeg::JpegEncoder::new(std::fs::File::create(&path).unwrap());
        use image::ImageEncoder;
        enc.set_exif_metadata(crate::decode::exif::tests::exif_with_dates(
            "2025:01:01 00:00:00",
            Some("2024:06:12 10:15:30"),
        ))
        .unwrap();
        enc.write_image(img.as_raw(), 64, 48, image::ExtendedColorType::Rgb8)
            .unwrap();
        let d = of(&path, Some(dir.path()));
        assert_eq!(d.folder, Path::new("2024/Holidays"));
        assert_eq!(d.taken.as_deref(), Some("2024-06-12 10:15"));
        assert!(d.taken_by_camera);
        assert_eq!(d.pixels, Some((64, 48)));
        assert_eq!(
            d.lines(),
            [
                "In 2024/Holidays".to_string(),
                "Taken 2024-06-12 10:15".to_string(),
                format!("64 × 48 px, {}", size_text(d.bytes.unwrap())),
            ]
        );
    }

    #[test]
    fn a_heic_says_the_date_its_camera_wrote() {
        use crate::decode::heif::{encode, Codec};
        let dir = tempfile::tempdir().unwrap();
        let img = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 100, 50]));
        let exif = crate::decode::exif::tests::exif_with_dates(
            "2025:01:01 00:00:00",
            Some("2024:06:12 10:15:30"),
        );
        // As libheif is given it by phones' software: with and without the JPEG "Exif" prefix.
        for (name, block) in [
            ("a.heic", exif.clone()),
            ("b.heic", [b"Exif\0\0".as_slice(), &exif].concat()),
        ] {
            let path = dir.path().join(name);
            let bytes = encode(
                &img,
                Codec::Hevc,
                80,
                image::metadata::Orientation::NoTransforms,
                Some(&block),
            )
            .unwrap();
            std::fs::write(&path, bytes).unwrap();
            let d = of(&path, Some(dir.path()));
            assert_eq!(d.taken.as_deref(), Some("2024-06-12 10:15"), "{name}");
            assert!(d.taken_by_camera);
            assert_eq!(d.pixels, Some((64, 48)));
        }
        // Without an Exif item: the file's date, said to be the file's.
        let path = dir.path().join("c.heic");
        let bytes = encode(
            &img,
            Codec::Hevc,
            80,
            image::metadata::Orientation::NoTransforms,
            None,
        )
        .unwrap();
        std::fs::write(&path, bytes).unwrap();
        assert!(!of(&path, None).taken_by_camera);
    }
}
