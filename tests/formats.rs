//! HEIC and AVIF photos, end to end: indexed beside JPEGs, found by their JPEG originals and
//! finding them, usable as queries and thumbnails, upright; and, without libheif, skipped
//! with a reason while the rest is indexed.
//!
//! The HEIC/AVIF files are made here with libheif's encoder (`photo_sim_engine::decode::heif::encode`). These
//! tests need libheif (CI installs libheif1) and fail, saying so, without it.

mod common;

use common::{cli, fixture, fixture_image, mean_difference, names, run_within, texts, Sandbox};
use image::metadata::Orientation;
use image::RgbImage;
use photo_sim_engine::decode;
use photo_sim_engine::decode::heif::{self, Codec};
use std::fs;
use std::path::Path;

fn require_libheif() {
    if let Err(why) = heif::library_version() {
        panic!("the HEIC/AVIF tests need libheif installed (apt-get install libheif1): {why}");
    }
}

fn write_heif(img: &RgbImage, codec: Codec, orientation: Orientation, path: &Path) {
    fs::write(
        path,
        heif::encode(img, codec, 85, orientation, None).unwrap(),
    )
    .unwrap();
}

/// cat.jpg and coffee.jpg, a HEIC copy of the cat and an AVIF copy of the coffee.
fn fill(photos: &Path) {
    require_libheif();
    for name in ["cat.jpg", "coffee.jpg"] {
        fs::copy(fixture(name), photos.join(name)).unwrap();
    }
    let cat = fixture_image("cat.jpg");
    write_heif(
        &cat,
        Codec::Hevc,
        Orientation::NoTransforms,
        &photos.join("cat.heic"),
    );
    assert_eq!(
        decode::dimensions(&photos.join("cat.heic")),
        Some(cat.dimensions())
    );
    let coffee = fixture_image("coffee.jpg");
    write_heif(
        &coffee,
        Codec::Av1,
        Orientation::NoTransforms,
        &photos.join("coffee.avif"),
    );
}

#[test]
fn heic_and_avif_copies_are_indexed_and_each_others_nearest_with_their_jpegs() {
    let sb = Sandbox::new();
    fill(&sb.photos());
    // An AVIF without an extension is recognised by its content.
    write_heif(
        &fixture_image("cat.jpg"),
        Codec::Av1,
        Orientation::NoTransforms,
        &sb.photos().join("IMG_0001"),
    );
    let (lib, summary) = sb.index();
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    assert_eq!(summary.embedded + summary.shared, 5, "{summary:?}");
    for (query, copy) in [
        ("cat.heic", "cat.jpg"),
        ("cat.jpg", "cat.heic"),
        ("coffee.avif", "coffee.jpg"),
        ("coffee.jpg", "coffee.avif"),
    ] {
        let got = lib.search(&sb.photos().join(query), 3).unwrap();
        let got_names = names(&got);
        assert_eq!(got_names[0], query, "the query itself comes first");
        assert!(
            got_names[..3].contains(&copy.to_string()),
            "{query}: {got_names:?}"
        );
        let copy_match = got.iter().find(|m| m.path.file_name().unwrap() == copy);
        assert!(
            copy_match.unwrap().similarity > 0.9,
            "{query} → {copy}: {got:?}"
        );
    }
    // The extension-less AVIF is the same photo as cat.heic and cat.jpg.
    let got = lib.search(&sb.photos().join("IMG_0001"), 3).unwrap();
    let mut top: Vec<String> = names(&got)[..3].to_vec();
    top.sort();
    assert_eq!(top, ["IMG_0001", "cat.heic", "cat.jpg"]);
}

#[test]
fn a_heic_query_from_outside_the_folder_finds_its_jpeg() {
    require_libheif();
    let sb = Sandbox::new();
    for name in ["cat.jpg", "coffee.jpg"] {
        fs::copy(fixture(name), sb.photos().join(name)).unwrap();
    }
    let (lib, _) = sb.index();
    let outside = sb.dir.path().join("query.heic");
    write_heif(
        &fixture_image("cat.jpg"),
        Codec::Hevc,
        Orientation::NoTransforms,
        &outside,
    );
    let got = lib.search(&outside, 2).unwrap();
    assert_eq!(names(&got), ["cat.jpg", "coffee.jpg"]);
    assert!(got[0].similarity > 0.9, "{got:?}");
    let outside = sb.dir.path().join("query.avif");
    write_heif(
        &fixture_image("coffee.jpg"),
        Codec::Av1,
        Orientation::NoTransforms,
        &outside,
    );
    let got = lib.search(&outside, 2).unwrap();
    assert_eq!(names(&got), ["coffee.jpg", "cat.jpg"]);
}

#[test]
fn a_turned_heic_is_loaded_upright_at_its_full_size_for_thumbnails() {
    require_libheif();
    let dir = tempfile::tempdir().unwrap();
    let cat = fixture_image("cat.jpg");
    let (w, h) = cat.dimensions();
    // Stored sideways, with an `irot` that turns it back (as a phone held upright writes it).
    let path = dir.path().join("turned.heic");
    write_heif(
        &image::imageops::rotate270(&cat),
        Codec::Hevc,
        Orientation::Rotate90,
        &path,
    );
    // (The hover card's size: right here because the odd width gives the file a `clap` crop,
    // whose size libheif 1.15 writes unturned, unlike its `ispe`.)
    assert_eq!(decode::dimensions(&path), Some((w, h)));
    let img = decode::load_rgb(&path, 256).unwrap();
    assert_eq!(img.dimensions(), (w, h), "whole, upright");
    let diff = mean_difference(&img, &cat);
    assert!(
        diff < 8.0,
        "upright: mean difference {diff:.1} from the JPEG"
    );
    // Not turned twice (libheif's turn and then an EXIF one): a half turn off would differ a lot.
    let half_turned = image::imageops::rotate180(&cat);
    assert!(mean_difference(&img, &half_turned) > 3.0 * diff);
    // The grid thumbnail and the large view, as the app makes them.
    assert_eq!(decode::square(&img, 256).dimensions(), (256, 256));
    let large = decode::fit(&decode::load_rgb(&path, 900).unwrap(), 900);
    assert!(large.width().max(large.height()) <= 900);
    // An AVIF mirror image comes back unmirrored.
    let path = dir.path().join("mirrored.avif");
    write_heif(
        &image::imageops::flip_horizontal(&cat),
        Codec::Av1,
        Orientation::FlipHorizontal,
        &path,
    );
    let img = decode::load_rgb(&path, 256).unwrap();
    assert!(mean_difference(&img, &cat) < 8.0);
}

#[test]
fn without_libheif_heic_and_avif_files_are_skipped_with_a_reason_and_the_rest_indexed() {
    let sb = Sandbox::new();
    fill(&sb.photos());
    let no_libheif = sb.dir.path().join("nonexistent/libheif.so.1");
    let out = run_within(
        cli(&sb)
            .env(heif::LIBRARY_ENV, &no_libheif)
            .arg("index")
            .arg(sb.photos()),
        300,
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let all = format!("{stdout}\n{stderr}");
    assert!(
        all.contains("2 embedded") && all.contains("2 skipped"),
        "{all}"
    );
    for name in ["cat.heic", "coffee.avif"] {
        assert!(
            all.lines().any(
                |l| l.contains(name) && l.contains("HEIC/AVIF needs libheif: install libheif1")
            ),
            "{name}: {all}"
        );
    }
    // A HEIC query says the same, and the JPEGs are searchable.
    let out = run_within(
        cli(&sb)
            .env(heif::LIBRARY_ENV, &no_libheif)
            .arg("search")
            .arg(sb.photos().join("cat.heic")),
        300,
    );
    let (stdout, stderr) = texts(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(stderr.contains("needs libheif"), "{stderr}");
    let out = run_within(
        cli(&sb)
            .env(heif::LIBRARY_ENV, &no_libheif)
            .args(["search", "--json", "-k", "1"])
            .arg(sb.photos().join("cat.jpg")),
        300,
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("cat.jpg"), "{stdout}");
}
