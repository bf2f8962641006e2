//! HEIC/HEIF and AVIF photos, decoded by the system's libheif, which is loaded at run time
//! (`libheif.so.1`, through `libloading`) rather than linked: the build must succeed on a
//! fresh machine with only Rust installed, and HEVC/AV1 decoders are too large (and, for
//! HEVC, too encumbered) to bundle. Where the library is missing, each HEIC/AVIF file is
//! skipped with a reason that says what to install, and everything else works as before.
//! The file's own transforms (`irot`, `imir`, `clap`) are applied by libheif; the primary
//! image is the one shown (the first frame of a sequence). Recognising a file (its `ftyp`
//! brands) and reading its pixel size (`ispe`) need no library: both are parsed here, bounded.

mod container;
mod decode;
#[cfg(any(test, feature = "test-support"))]
mod encode;
mod ffi;

pub use container::Kind;
pub(crate) use container::{claimed_size, exif, kind};
pub(crate) use decode::decode;
#[cfg(any(test, feature = "test-support"))]
pub use encode::{encode, Codec, EncodeError};
pub use ffi::{library_version, LIBRARY_ENV};

#[cfg(test)]
mod tests {
    use super::ffi::api;
    use super::*;
    use crate::decode::DecodeError;
    use image::RgbImage;

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
