//! Camera RAW files are indexed, searched, thumbnailed and turned upright through the JPEG
//! preview they embed; a RAW beside its JPEG is one tile.

mod common;

use common::{fixture, fixture_image, Sandbox};
use photo_sim::decode;
use photo_sim::raw::wrap_in_dng as dng_with_preview;
use std::fs;

/// cat.jpg stored sideways (turned 90° anticlockwise) in a DNG whose orientation says "turn
/// 90° clockwise to view": upright, it is the cat again.
fn sideways_cat_dng() -> Vec<u8> {
    let sideways = image::imageops::rotate270(&fixture_image("cat.jpg"));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&sideways)
        .unwrap();
    dng_with_preview(&jpeg, 6)
}

#[test]
fn a_dng_is_indexed_thumbnailed_upright_and_finds_its_jpeg() {
    let sb = Sandbox::new();
    let p = sb.photos();
    fs::copy(fixture("cat.jpg"), p.join("cat.jpg")).unwrap();
    fs::copy(fixture("coffee.jpg"), p.join("coffee.jpg")).unwrap();
    fs::write(p.join("IMG_0002.DNG"), sideways_cat_dng()).unwrap();
    let (lib, summary) = sb.index();
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    assert_eq!(lib.len(), 3);

    let cat = fixture_image("cat.jpg");
    let thumb = decode::load_rgb(&p.join("IMG_0002.DNG"), 64).unwrap();
    let (w, h) = thumb.dimensions();
    assert!(
        (w > h) == (cat.width() > cat.height()),
        "upright: {w}×{h} like the cat's {}×{}",
        cat.width(),
        cat.height()
    );

    let got = lib
        .search_with(
            &p.join("IMG_0002.DNG"),
            3,
            &photo_sim::QueryOptions { rotations: false },
        )
        .unwrap();
    assert_eq!(got[0].path, p.join("IMG_0002.DNG"));
    assert_eq!(got[1].path, p.join("cat.jpg"));
    assert!(got[1].similarity > 0.9, "{got:?}");
}

#[test]
fn a_raw_file_without_a_preview_is_skipped_with_its_reason() {
    let sb = Sandbox::new();
    let p = sb.photos();
    fs::copy(fixture("cat.jpg"), p.join("cat.jpg")).unwrap();
    // A DNG whose "preview" is not a JPEG at all.
    fs::write(p.join("empty.dng"), dng_with_preview(&[0u8; 64], 1)).unwrap();
    let (lib, summary) = sb.index();
    assert_eq!(lib.len(), 1);
    assert_eq!(summary.skipped.len(), 1);
    assert!(
        summary.skipped[0].reason.contains("RAW"),
        "{}",
        summary.skipped[0].reason
    );
}
