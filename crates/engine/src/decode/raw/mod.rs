//! Camera RAW files, seen through the full-size JPEG preview every camera embeds: what photo
//! viewers show, and far cheaper than demosaicing the sensor data. Finds it in the TIFF-based
//! RAWs (DNG, CR2, NEF, ARW, PEF, RW2; ORF in a directory or its Olympus maker note),
//! Fujifilm's RAF and Canon's CR3, with every offset checked.

pub(crate) mod develop;

#[cfg(any(test, feature = "test-support"))]
use crate::decode::tiff::{le_directory, le_entry};
use crate::decode::tiff::{Entry, Tiff};
use std::ops::Range;

/// File name endings of camera RAW files.
pub const EXTENSIONS: &[&str] = &[
    "dng", "cr2", "cr3", "nef", "nrw", "arw", "pef", "orf", "rw2", "raf",
];

/// How a RAW file is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// TIFF directories (DNG, CR2, NEF, ARW, PEF, ORF, RW2).
    Tiff,
    /// Fujifilm: a header that points at the JPEG.
    Raf,
    /// Canon CR3: ISO boxes, the preview in a `PRVW` box.
    Cr3,
}

/// The embedded preview: where its JPEG is, and how the container says to turn it (the
/// TIFF Orientation value, 1 = upright) when the JPEG does not say so itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    pub jpeg: Range<usize>,
    pub orientation: u16,
    /// The JPEG's shorter side, in pixels (as stored).
    pub shorter_side: u32,
}

const COMPRESSION: u16 = 0x0103;
const PHOTOMETRIC: u16 = 0x0106;
const STRIP_OFFSETS: u16 = 0x0111;
const ORIENTATION: u16 = 0x0112;
const STRIP_BYTE_COUNTS: u16 = 0x0117;
pub(crate) const SUB_IFDS: u16 = 0x014a;
const JPEG_OFFSET: u16 = 0x0201;
const JPEG_LENGTH: u16 = 0x0202;
pub(crate) const DNG_VERSION: u16 = 0xc612;
/// Panasonic RW2's whole embedded JPEG.
const JPG_FROM_RAW: u16 = 0x002e;
/// Olympus/OM System (ORF): the maker note, its camera-settings directory, and there the
/// preview's start (from the maker note's first byte) and length.
const MAKER_NOTE: u16 = 0x927c;
const OLYMPUS_CAMERA_SETTINGS: u16 = 0x2020;
const OLYMPUS_PREVIEW_START: u16 = 0x0101;
const OLYMPUS_PREVIEW_LENGTH: u16 = 0x0102;
/// Photometric interpretations of sensor data: colour filter array, linear raw.
const SENSOR_DATA: [u32; 2] = [32803, 34892];
/// Canon CR3's preview box lives in this top-level `uuid` box.
const CR3_PREVIEW_UUID: [u8; 16] = [
    0xea, 0xf4, 0x2b, 0x5e, 0x1c, 0xeb, 0x4b, 0x88, 0xb9, 0xfb, 0xb7, 0xdc, 0x40, 0x6e, 0x4d, 0x16,
];

/// The RAW container `bytes` start with, if they are a RAW file. A plain TIFF image is not:
/// a TIFF-magic file counts as RAW only with a RAW magic of its own (ORF, RW2), CR2's marker,
/// a DNG version, or sensor data in one of its directories.
pub fn container(bytes: &[u8]) -> Option<Container> {
    if bytes.starts_with(b"FUJIFILMCCD-RAW") {
        return Some(Container::Raf);
    }
    if bytes.get(4..12) == Some(b"ftypcrx ") {
        return Some(Container::Cr3);
    }
    let tiff = Tiff::new(bytes)?;
    let own_magic = tiff.u16_at(2) != Some(42);
    let cr2 = bytes.get(8..10) == Some(b"CR");
    let raw = own_magic
        || cr2
        || tiff.walk(&[SUB_IFDS]).iter().flatten().any(|e| {
            e.tag == DNG_VERSION
                || (e.tag == PHOTOMETRIC
                    && tiff.number(e).is_some_and(|p| SENSOR_DATA.contains(&p)))
        });
    raw.then_some(Container::Tiff)
}

/// The largest JPEG preview a RAW file holds that libjpeg can decode (lossless sensor data,
/// also stored as JPEG by some cameras, is passed over).
pub fn preview(bytes: &[u8]) -> Option<Preview> {
    let (candidates, orientation) = match container(bytes)? {
        Container::Tiff => tiff_candidates(bytes)?,
        Container::Raf => (raf_candidate(bytes).into_iter().collect(), 1),
        Container::Cr3 => (cr3_candidate(bytes).into_iter().collect(), 1),
    };
    let (jpeg, frame) = candidates
        .into_iter()
        .filter_map(|r| {
            let frame = crate::decode::jpeg::frame(bytes.get(r.clone())?)?;
            (!frame.lossless && !frame.arithmetic).then_some((r, frame))
        })
        .max_by_key(|(_, f)| u64::from(f.width) * u64::from(f.height))?;
    Some(Preview {
        jpeg,
        orientation,
        shorter_side: frame.width.min(frame.height),
    })
}

/// How a TIFF-built RAW says to turn its pictures (1 = as stored).
pub fn orientation(bytes: &[u8]) -> u16 {
    tiff_candidates(bytes).map_or(1, |(_, orientation)| orientation)
}

/// Every JPEG a TIFF-built RAW points at, and the first directory's orientation.
fn tiff_candidates(bytes: &[u8]) -> Option<(Vec<Range<usize>>, u16)> {
    let tiff = Tiff::new(bytes)?;
    let directories = tiff.walk(&[SUB_IFDS]);
    let value = |dir: &[Entry], tag: u16| -> Option<u32> {
        dir.iter()
            .find(|e| e.tag == tag)
            .and_then(|e| tiff.number(e))
    };
    let range = |start: u32, len: u32| -> Option<Range<usize>> {
        let start = start as usize;
        let end = start.checked_add(len as usize)?;
        (len > 0 && end <= bytes.len()).then_some(start..end)
    };
    let mut out = Vec::new();
    for dir in &directories {
        if let (Some(at), Some(len)) = (value(dir, JPEG_OFFSET), value(dir, JPEG_LENGTH)) {
            out.extend(range(at, len));
        }
        // A directory whose one strip is a JPEG (CR2's first, DNG previews).
        if matches!(value(dir, COMPRESSION), Some(6 | 7)) {
            let offsets = dir.iter().find(|e| e.tag == STRIP_OFFSETS);
            let counts = dir.iter().find(|e| e.tag == STRIP_BYTE_COUNTS);
            if let (Some(o), Some(c)) = (offsets, counts) {
                if let ([at], [len]) = (&tiff.longs(o)[..], &tiff.longs(c)[..]) {
                    out.extend(range(*at, *len));
                }
            }
        }
        if let Some(e) = dir.iter().find(|e| e.tag == JPG_FROM_RAW) {
            out.extend(range(tiff.u32_of(e.value), e.count));
        }
    }
    out.extend(olympus_candidate(&tiff, &directories));
    let orientation = directories
        .first()
        .and_then(|d| value(d, ORIENTATION))
        .and_then(|o| u16::try_from(o).ok())
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1);
    Some((out, orientation))
}

/// ORF: the full-size preview is in the Olympus maker note (EXIF directory, tag 0x927c),
/// which starts "OLYMPUS\0", its byte order and a version, with its own directory at 12 and
/// every offset counted from the note's first byte; the preview's place is in the
/// camera-settings sub-directory.
fn olympus_candidate(tiff: &Tiff, directories: &[Vec<Entry>]) -> Option<Range<usize>> {
    let exif = directories
        .iter()
        .flatten()
        .find(|e| e.tag == crate::decode::exif::EXIF_IFD)?;
    let (exif, _) = tiff.directory(tiff.u32_of(exif.value) as usize)?;
    let note = exif.iter().find(|e| e.tag == MAKER_NOTE)?;
    let start = tiff.u32_of(note.value) as usize;
    let bytes = tiff.bytes.get(start..)?;
    let little = match (bytes.strip_prefix(b"OLYMPUS\0")?).get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let note = Tiff { bytes, little };
    let (entries, _) = note.directory(12)?;
    let settings = entries.iter().find(|e| e.tag == OLYMPUS_CAMERA_SETTINGS)?;
    let (settings, _) = note.directory(note.u32_of(settings.value) as usize)?;
    let value = |tag: u16| {
        settings
            .iter()
            .find(|e| e.tag == tag)
            .and_then(|e| note.number(e))
    };
    let (at, len) = (
        value(OLYMPUS_PREVIEW_START)?,
        value(OLYMPUS_PREVIEW_LENGTH)?,
    );
    let first = start.checked_add(at as usize)?;
    let end = first.checked_add(len as usize)?;
    (len > 0 && end <= tiff.bytes.len()).then_some(first..end)
}

/// RAF: a big-endian offset and length of the JPEG at bytes 84 and 88.
fn raf_candidate(bytes: &[u8]) -> Option<Range<usize>> {
    let be = |at: usize| -> Option<usize> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let (start, len) = (be(84)?, be(88)?);
    let end = start.checked_add(len)?;
    (end <= bytes.len()).then_some(start..end)
}

/// CR3: the `PRVW` box inside the preview `uuid` box (after its 16-byte id and 8 more
/// bytes); the JPEG's length is 12 bytes into the box's body, the JPEG itself 16.
fn cr3_candidate(bytes: &[u8]) -> Option<Range<usize>> {
    let uuid = boxes(bytes, 0).find_map(|(kind, body)| {
        (kind == *b"uuid" && bytes.get(body.start..body.start + 16) == Some(&CR3_PREVIEW_UUID[..]))
            .then_some(body)
    })?;
    let prvw = boxes(&bytes[..uuid.end], uuid.start + 24)
        .find_map(|(kind, body)| (kind == *b"PRVW").then_some(body))?;
    let len = u32::from_be_bytes(
        bytes
            .get(prvw.start + 12..prvw.start + 16)?
            .try_into()
            .ok()?,
    );
    let start = prvw.start + 16;
    let end = start.checked_add(len as usize)?;
    (end <= prvw.end).then_some(start..end)
}

/// True when a JPEG carries an EXIF orientation of its own (its decoder applies it).
pub fn has_own_orientation(jpeg: &[u8]) -> bool {
    let mut at = 2;
    while let (Some(&0xff), Some(&marker)) = (jpeg.get(at), jpeg.get(at + 1)) {
        let Some(len) = jpeg
            .get(at + 2..at + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return false;
        };
        if marker == 0xe1 {
            if let Some(tiff) = jpeg.get(at + 4..at + 2 + len).and_then(Tiff::new) {
                let first = tiff.first().and_then(|f| tiff.directory(f));
                if first.is_some_and(|(d, _)| d.iter().any(|e| e.tag == ORIENTATION)) {
                    return true;
                }
            }
        }
        if marker == 0xda || len < 2 {
            return false;
        }
        at += 2 + len;
    }
    false
}

/// The whole ISO boxes (type, body range) of `bytes` from `at` on, stopping at the first
/// damaged one.
fn boxes(bytes: &[u8], at: usize) -> impl Iterator<Item = ([u8; 4], Range<usize>)> + '_ {
    crate::decode::bmff::boxes(bytes, at).map_while(|b| b.whole.then_some((b.kind, b.body)))
}

/// A minimal DNG around `jpeg`: a little-endian TIFF whose first directory names the DNG
/// version and points at the JPEG as its full-size preview, to be turned by the TIFF
/// `orientation` (1 = upright, 6 = 90° clockwise). For tests and benchmarks: what this module
/// reads of a camera's DNG, and nothing else.
#[cfg(any(test, feature = "test-support"))]
pub fn wrap_in_dng(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    const ENTRIES: usize = 4;
    let jpeg_at = 8 + 2 + 12 * ENTRIES + 4;
    let mut out = b"II".to_vec();
    out.extend(42u16.to_le_bytes());
    out.extend(8u32.to_le_bytes());
    out.extend(le_directory(&[
        le_entry(ORIENTATION, 3, 1, u32::from(orientation)),
        le_entry(JPEG_OFFSET, 4, 1, jpeg_at as u32),
        le_entry(JPEG_LENGTH, 4, 1, jpeg.len() as u32),
        le_entry(DNG_VERSION, 1, 4, u32::from_le_bytes([1, 4, 0, 0])),
    ]));
    debug_assert_eq!(out.len(), jpeg_at);
    out.extend(jpeg);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small JPEG of `w`×`h` pixels, left half red, right half blue.
    pub(crate) fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, _| {
            if x < w / 2 {
                image::Rgb([220, 30, 30])
            } else {
                image::Rgb([30, 30, 220])
            }
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        out
    }

    /// A little-endian TIFF-built RAW: IFD0 (orientation, a small 0x201 thumbnail, a SubIFD
    /// pointer), a SubIFD holding the big preview as one JPEG strip, and a SubIFD of "sensor
    /// data" (CFA) stored as lossless JPEG, as a decoy. `magic` is 42, 0x55 (RW2) or "RO".
    pub(crate) fn tiff_raw(magic: u16, orientation: u16) -> (Vec<u8>, Range<usize>) {
        let small = jpeg(32, 24);
        let big = jpeg(96, 64);
        let mut decoy = jpeg(128, 96);
        // Turn its SOF0 into SOF3: lossless, which only a RAW developer decodes.
        let sof = decoy.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        decoy[sof + 1] = 0xc3;
        // Layout: header(8) | IFD0 | sub-IFD list | SUB1 | SUB2 | small | big | decoy
        let ifd0_len = 2 + 12 * 4 + 4;
        let sub_len = 2 + 12 * 4 + 4;
        let list_at = 8 + ifd0_len;
        let sub1_at = list_at + 8;
        let sub2_at = sub1_at + sub_len;
        let small_at = sub2_at + sub_len;
        let big_at = small_at + small.len();
        let decoy_at = big_at + big.len();
        let mut b = b"II".to_vec();
        b.extend(magic.to_le_bytes());
        b.extend(8u32.to_le_bytes());
        b.extend(le_directory(&[
            le_entry(ORIENTATION, 3, 1, u32::from(orientation)),
            le_entry(SUB_IFDS, 4, 2, list_at as u32),
            le_entry(JPEG_OFFSET, 4, 1, small_at as u32),
            le_entry(JPEG_LENGTH, 4, 1, small.len() as u32),
        ]));
        b.extend((sub1_at as u32).to_le_bytes());
        b.extend((sub2_at as u32).to_le_bytes());
        for (photometric, at, len) in [(6, big_at, big.len()), (32803, decoy_at, decoy.len())] {
            b.extend(le_directory(&[
                le_entry(COMPRESSION, 3, 1, 7),
                le_entry(PHOTOMETRIC, 3, 1, photometric),
                le_entry(STRIP_OFFSETS, 4, 1, at as u32),
                le_entry(STRIP_BYTE_COUNTS, 4, 1, len as u32),
            ]));
        }
        assert_eq!(b.len(), small_at);
        b.extend(small);
        b.extend(&big);
        b.extend(decoy);
        (b, big_at..big_at + big.len())
    }

    #[test]
    fn the_largest_decodable_preview_of_a_tiff_raw_is_found() {
        for magic in [42u16, 0x55, 0x4f52] {
            let (raw, big) = tiff_raw(magic, 6);
            assert_eq!(container(&raw), Some(Container::Tiff));
            let p = preview(&raw).expect("a preview");
            assert_eq!(p.jpeg, big, "magic {magic:#x}");
            assert_eq!(p.orientation, 6);
        }
    }

    /// An ORF as Olympus and OM System cameras write it: "IIRO", a small thumbnail in IFD0,
    /// and the full-size preview where the maker note's camera settings say, after the note.
    fn orf_with_maker_note_preview() -> (Vec<u8>, Range<usize>) {
        let (small, big) = (jpeg(32, 24), jpeg(96, 64));
        // header(8) | IFD0 (3 entries) | EXIF IFD (1) | maker note | small | big
        let exif_at = 8 + 2 + 12 * 3 + 4;
        let note_at = exif_at + 2 + 12 + 4;
        // The note: header(12) | its IFD (1 entry) at 12 | settings IFD (2 entries) at 30.
        let note_len = 12 + (2 + 12 + 4) + (2 + 12 * 2 + 4);
        let small_at = note_at + note_len;
        let big_at = small_at + small.len();
        let mut b = b"IIRO".to_vec();
        b.extend(8u32.to_le_bytes());
        b.extend(le_directory(&[
            le_entry(crate::decode::exif::EXIF_IFD, 4, 1, exif_at as u32),
            le_entry(JPEG_OFFSET, 4, 1, small_at as u32),
            le_entry(JPEG_LENGTH, 4, 1, small.len() as u32),
        ]));
        b.extend(le_directory(&[le_entry(
            MAKER_NOTE,
            7,
            note_len as u32,
            note_at as u32,
        )]));
        b.extend(b"OLYMPUS\0II\x03\0");
        b.extend(le_directory(&[le_entry(
            OLYMPUS_CAMERA_SETTINGS,
            13,
            1,
            30,
        )]));
        b.extend(le_directory(&[
            le_entry(OLYMPUS_PREVIEW_START, 4, 1, (big_at - note_at) as u32),
            le_entry(OLYMPUS_PREVIEW_LENGTH, 4, 1, big.len() as u32),
        ]));
        assert_eq!(b.len(), small_at);
        b.extend(small);
        b.extend(&big);
        (b, big_at..big_at + big.len())
    }

    #[test]
    fn an_orf_preview_is_found_in_the_olympus_maker_note() {
        let (orf, big) = orf_with_maker_note_preview();
        assert_eq!(container(&orf), Some(Container::Tiff));
        assert_eq!(preview(&orf).unwrap().jpeg, big);
        assert_eq!(
            crate::decode::decode_rgb(&orf, 64).unwrap().dimensions(),
            (96, 64)
        );
        // Damaged anywhere: the thumbnail, or nothing, never a panic.
        for cut in 0..orf.len() {
            let _ = preview(&orf[..cut]);
        }
        let mut flipped = orf.clone();
        for i in 0..big.start {
            flipped[i] ^= 0xff;
            let _ = preview(&flipped);
            flipped[i] ^= 0xff;
        }
    }

    #[test]
    fn a_plain_tiff_image_is_not_raw() {
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Tiff).unwrap();
        assert_eq!(container(out.get_ref()), None);
    }

    #[test]
    fn raf_and_cr3_previews_are_found() {
        let big = jpeg(96, 64);
        let mut raf = b"FUJIFILMCCD-RAW 0201FF383501".to_vec();
        raf.resize(100, 0);
        raf[84..88].copy_from_slice(&100u32.to_be_bytes());
        raf[88..92].copy_from_slice(&(big.len() as u32).to_be_bytes());
        raf.extend(&big);
        assert_eq!(preview(&raf).unwrap().jpeg, 100..100 + big.len());

        let mut cr3 = Vec::new();
        cr3.extend(24u32.to_be_bytes());
        cr3.extend(b"ftypcrx ");
        cr3.extend(1u32.to_be_bytes());
        cr3.extend(b"crx isom");
        let prvw_len = 8 + 16 + big.len();
        let uuid_len = 8 + 16 + 8 + prvw_len;
        cr3.extend((uuid_len as u32).to_be_bytes());
        cr3.extend(b"uuid");
        cr3.extend(CR3_PREVIEW_UUID);
        cr3.extend([0u8; 8]);
        cr3.extend((prvw_len as u32).to_be_bytes());
        cr3.extend(b"PRVW");
        cr3.extend(0u32.to_be_bytes());
        cr3.extend(1u16.to_be_bytes());
        cr3.extend(96u16.to_be_bytes());
        cr3.extend(64u16.to_be_bytes());
        cr3.extend(1u16.to_be_bytes());
        cr3.extend((big.len() as u32).to_be_bytes());
        let start = cr3.len();
        cr3.extend(&big);
        assert_eq!(container(&cr3), Some(Container::Cr3));
        assert_eq!(preview(&cr3).unwrap().jpeg, start..start + big.len());
    }

    #[test]
    fn damaged_raws_give_only_previews_they_hold_and_no_panic() {
        let (raw, big) = tiff_raw(42, 1);
        for cut in (0..raw.len()).step_by(7) {
            let got = preview(&raw[..cut]).map(|p| p.jpeg);
            if cut >= big.end {
                assert_eq!(
                    got,
                    Some(big.clone()),
                    "cut at {cut}, past the large preview"
                );
            } else if let Some(r) = got {
                // Cut inside the large preview: at most the small one, whole.
                assert!(r.end <= cut && r != big, "cut at {cut}: {r:?}");
            }
        }
        let mut flipped = raw.clone();
        for i in 0..200.min(flipped.len()) {
            flipped[i] ^= 0xff;
            if let Some(p) = preview(&flipped) {
                assert!(p.jpeg.end <= flipped.len(), "byte {i}: {:?}", p.jpeg);
                assert!(
                    crate::decode::jpeg::frame(&flipped[p.jpeg]).is_some(),
                    "byte {i}"
                );
            }
            flipped[i] ^= 0xff;
        }
    }

    #[test]
    fn a_raw_decodes_as_its_preview_turned_upright() {
        let (raw, _) = tiff_raw(0x55, 6);
        let img = crate::decode::decode_rgb(&raw, 64).unwrap();
        // The 96×64 preview turned 90° clockwise: its red left half is now on top.
        assert_eq!(img.dimensions(), (64, 96));
        assert!(img.get_pixel(32, 8)[0] > 150, "{:?}", img.get_pixel(32, 8));
        assert!(
            img.get_pixel(32, 88)[2] > 150,
            "{:?}",
            img.get_pixel(32, 88)
        );
    }
}
