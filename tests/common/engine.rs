//! Helpers of the engine's tests, shared with the binary's: the model (loaded once per test
//! binary), the shipped fixture photos, generated images and folders, and a sandbox with its
//! own data directory. Nothing here runs the binary or the window, so the engine crate's
//! tests include this file alone (`crates/engine/tests/*.rs`).
#![allow(dead_code)]

use image::{Rgb, RgbImage};
use photo_sim_engine::{CancelToken, Event, Library, Model, Store, Summary, UpdateOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub fn model() -> Arc<Model> {
    static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
    MODEL
        .get_or_init(|| Arc::new(Model::load(None).expect("the built-in model loads")))
        .clone()
}

/// The repository's top folder (where `tests/fixtures` and `models` are), from whichever
/// crate's tests run.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|d| d.join("tests/fixtures").is_dir())
        .expect("the tests run inside the repository")
        .to_path_buf()
}

pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

pub fn fixture_image(name: &str) -> RgbImage {
    image::open(fixture(name)).unwrap().into_rgb8()
}

/// Mean absolute difference of two same-sized pictures, per channel value.
pub fn mean_difference(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y) as u64)
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

pub fn save_jpeg(img: &RgbImage, path: &Path, quality: u8) {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    std::fs::write(path, out).unwrap();
}

/// A deterministic picture that looks nothing like the others: smooth colour waves and a few
/// discs, all drawn from `seed`.
pub fn synthetic(seed: u64, w: u32, h: u32) -> RgbImage {
    let mut s = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32
    };
    let f: Vec<f32> = (0..12).map(|_| next()).collect();
    let discs: Vec<(f32, f32, f32, [u8; 3])> = (0..4)
        .map(|_| {
            (
                next() * w as f32,
                next() * h as f32,
                (0.05 + 0.2 * next()) * w as f32,
                [
                    (next() * 255.0) as u8,
                    (next() * 255.0) as u8,
                    (next() * 255.0) as u8,
                ],
            )
        })
        .collect();
    RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
        for &(cx, cy, r, c) in &discs {
            if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < r * r {
                return Rgb(c);
            }
        }
        let ch = |k: usize| {
            let a = (u * (1.0 + 9.0 * f[k]) + v * (1.0 + 9.0 * f[k + 3]) + f[k + 6] * 6.0).sin();
            ((a * 0.5 + 0.5) * 255.0 * (0.3 + 0.7 * f[k + 9])) as u8
        };
        Rgb([ch(0), ch(1), ch(2)])
    })
}

/// The photo at half its width and height (a copy sent by a messaging app, say).
pub fn half_size(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    image::imageops::resize(img, w / 2, h / 2, image::imageops::FilterType::Triangle)
}

/// The same photo, edited the way people edit photos: resized, cropped, or re-compressed.
pub fn variant(img: &RgbImage, kind: usize) -> RgbImage {
    let (w, h) = img.dimensions();
    match kind % 3 {
        0 => image::imageops::resize(
            img,
            w * 2 / 3,
            h * 2 / 3,
            image::imageops::FilterType::Triangle,
        ),
        1 => image::imageops::crop_imm(img, w / 10, h / 10, w * 8 / 10, h * 8 / 10).to_image(),
        _ => {
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 35)
                .encode_image(img)
                .unwrap();
            image::load_from_memory(&out).unwrap().into_rgb8()
        }
    }
}

/// A fresh data directory and a folder to put photos in.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("photos")).unwrap();
        Self { dir }
    }
    pub fn photos(&self) -> PathBuf {
        self.dir.path().join("photos")
    }
    pub fn store(&self) -> Store {
        Store::under(&self.dir.path().join("data"))
    }
    pub fn open(&self) -> Library {
        Library::open(&self.photos(), &self.store(), model()).unwrap()
    }
    pub fn index(&self) -> (Library, Summary) {
        let lib = self.open();
        let summary = lib
            .update(&UpdateOptions::default(), None, &CancelToken::new())
            .unwrap();
        (lib, summary)
    }
}

/// Runs an update of `lib` that waits at each of its events until `at_event` has looked at
/// it, so that a checkpoint is seen as it left the index; the update's result, once it ends
/// (a failed assertion in `at_event` cannot leave it blocked).
pub fn update_stepwise(
    lib: &Library,
    mut at_event: impl FnMut(Event),
) -> photo_sim_engine::Result<Summary> {
    let (events, events_rx) = crossbeam_channel::bounded(0);
    std::thread::scope(|s| {
        let run = s.spawn(move || {
            lib.update(
                &UpdateOptions::default(),
                Some(&events),
                &CancelToken::new(),
            )
        });
        let looked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for event in events_rx.iter() {
                at_event(event);
            }
        }));
        for _ in events_rx.iter() {}
        let result = run.join().unwrap();
        if let Err(panic) = looked {
            std::panic::resume_unwind(panic);
        }
        result
    })
}

/// Fills `dir` with `n` distinct small pictures named `0000.jpg`, `0001.jpg`, …
pub fn small_photos(dir: &Path, n: u64) {
    std::fs::create_dir_all(dir).unwrap();
    for seed in 0..n {
        save_jpeg(
            &synthetic(seed, 160, 120),
            &dir.join(format!("{seed:04}.jpg")),
            90,
        );
    }
}

/// The file names of `matches`, best first.
pub fn names(matches: &[photo_sim_engine::Match]) -> Vec<String> {
    matches.iter().map(|m| file_name(&m.path)).collect()
}

/// The last part of `path`, as text.
pub fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// How many kinds [`of_kind`] draws.
pub const KINDS: usize = 4;

/// A different picture of the same kind of thing for each seed: stripes, a checkerboard,
/// scattered dots or concentric rings (by `kind`), each in its own colours, angle and scale.
/// Enough for a category set that tests make themselves.
pub fn of_kind(kind: usize, seed: u64, w: u32, h: u32) -> RgbImage {
    let mut s = (seed + 1).wrapping_mul(0x9e3779b97f4a7c15) ^ kind as u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32
    };
    let mut colour = || [0; 3].map(|_: u8| (40.0 + next() * 200.0) as u8);
    let (fg, bg) = (colour(), colour());
    let (angle, period) = (next() * std::f32::consts::PI, 8.0 + next() * 24.0);
    let (ox, oy) = (next() * w as f32, next() * h as f32);
    let (sin, cos) = angle.sin_cos();
    let dots: Vec<(f32, f32)> = (0..24)
        .map(|_| (next() * w as f32, next() * h as f32))
        .collect();
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - ox, y as f32 - oy);
        let (u, v) = (cos * dx + sin * dy, -sin * dx + cos * dy);
        let on = match kind % KINDS {
            0 => (u / period).rem_euclid(2.0) < 1.0,
            1 => ((u / period).floor() + (v / period).floor()).rem_euclid(2.0) < 1.0,
            2 => dots.iter().any(|&(cx, cy)| {
                (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < (period * 0.6).powi(2)
            }),
            _ => ((dx * dx + dy * dy).sqrt() / period).rem_euclid(2.0) < 1.0,
        };
        Rgb(if on { fg } else { bg })
    })
}
