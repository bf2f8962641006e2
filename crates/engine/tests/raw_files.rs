//! Camera RAW files are indexed, searched, thumbnailed and turned upright through the JPEG
//! preview they embed; a RAW beside its JPEG is one tile.

#[path = "../../../tests/common/engine.rs"]
mod common;

use common::{fixture, fixture_image, mean_difference, Sandbox};
use photo_sim_engine::decode;
use photo_sim_engine::decode::wrap_in_dng as dng_with_preview;
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

    // Upright: the same picture as the cat, pixel for pixel (a wrong turn would differ).
    let cat = fixture_image("cat.jpg");
    let thumb = decode::load_rgb(&p.join("IMG_0002.DNG"), u32::MAX).unwrap();
    assert_eq!(thumb.dimensions(), cat.dimensions());
    let (a, b) = (decode::square(&thumb, 32), decode::square(&cat, 32));
    let diff = mean_difference(&a, &b);
    assert!(diff < 8.0, "mean difference {diff}");

    let got = lib
        .search_with(
            &p.join("IMG_0002.DNG"),
            3,
            &photo_sim_engine::QueryOptions { rotations: false },
        )
        .unwrap();
    assert_eq!(got[0].path, p.join("IMG_0002.DNG"));
    assert_eq!(got[1].path, p.join("cat.jpg"));
    assert!(got[1].similarity > 0.9, "{got:?}");
}

/// A DNG as Android camera apps write it: sensor data only, no preview. It is developed,
/// upright, and found by its JPEG (the cat, stored sideways with "turn 90° clockwise").
#[test]
fn a_dng_without_a_preview_is_developed_upright_and_finds_its_jpeg() {
    let sb = Sandbox::new();
    let p = sb.photos();
    fs::copy(fixture("cat.jpg"), p.join("cat.jpg")).unwrap();
    fs::copy(fixture("coffee.jpg"), p.join("coffee.jpg")).unwrap();
    let cat = fixture_image("cat.jpg");
    let sideways = image::imageops::rotate270(&cat);
    let dng = photo_sim_engine::decode::mosaic_dng(&sideways, [0.45, 1.0, 0.6], 256, 64, 6, None);
    fs::write(p.join("PXL_0003.dng"), dng).unwrap();
    let (lib, summary) = sb.index();
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    assert_eq!(lib.len(), 3);
    let developed = decode::load_rgb(&p.join("PXL_0003.dng"), u32::MAX).unwrap();
    assert_eq!(developed.dimensions(), cat.dimensions());
    let (a, b) = (decode::square(&developed, 32), decode::square(&cat, 32));
    let diff = mean_difference(&a, &b);
    assert!(diff < 4.0, "mean difference {diff}");
    let got = lib
        .search_with(
            &p.join("PXL_0003.dng"),
            3,
            &photo_sim_engine::QueryOptions { rotations: false },
        )
        .unwrap();
    assert_eq!(got[1].path, p.join("cat.jpg"), "{got:?}");
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

#[test]
fn the_raw_and_the_jpeg_of_one_shot_are_never_offered_as_duplicates() {
    let sb = Sandbox::new();
    let p = sb.photos();
    let cat = fs::read(fixture("cat.jpg")).unwrap();
    fs::write(p.join("IMG_0001.JPG"), &cat).unwrap();
    fs::write(p.join("IMG_0001.DNG"), dng_with_preview(&cat, 1)).unwrap();
    fs::write(p.join("copy.jpg"), &cat).unwrap();
    let (lib, _) = sb.index();
    let groups = lib.duplicates(0.9).unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    let g = &groups[0];
    for (m, _) in &g.members {
        assert!(
            !photo_sim_engine::query::same_shot(&g.keeper.path, &m.path),
            "{:?} is the other half of the keeper {:?}",
            m.path,
            g.keeper.path
        );
    }
    assert!(g.members.iter().any(|(m, _)| m.path == p.join("copy.jpg")));
}
