//! `photo-sim bench --quality <folder>`: how well the descriptor finds a photo from an edited
//! copy of it. Each photo of the folder gets edited copies made in memory (crop, rotation by
//! 90° and by 10°, colour shift, blur, re-compression, mirror, downscale); each copy queries the
//! originals. Reported per descriptor (GAP, R-MAC), with and without rotation-robust queries,
//! and per edit: top-1 and top-10 retrieval of the original, and the distribution of the
//! copy-to-original similarity next to that of unrelated photos. These distributions are what
//! similarity thresholds are chosen from.

use anyhow::{bail, Result};
use image::RgbImage;
use photo_sim_engine::decode;
use photo_sim_engine::embed::{rotate_input, to_model_input, Descriptor, Model};
use photo_sim_engine::labels;
use photo_sim_engine::query::Turns;
use photo_sim_engine::vector::dot;
use rayon::prelude::*;
use serde_json::{json, Value};
use std::path::PathBuf;

/// The edits, in report order.
pub const EDITS: [&str; 8] = [
    "crop70", "rot90", "rot10", "colour", "blur", "jpeg30", "mirror", "third",
];
const DESCRIPTORS: [Descriptor; 2] = [Descriptor::Gap, Descriptor::Rmac];

/// `img` edited the way photos get edited, by name (one of [`EDITS`]).
pub fn edit(img: &RgbImage, name: &str) -> RgbImage {
    let (w, h) = img.dimensions();
    match name {
        "crop70" => {
            image::imageops::crop_imm(img, w * 15 / 100, h * 15 / 100, w * 7 / 10, h * 7 / 10)
                .to_image()
        }
        "rot90" => image::imageops::rotate90(img),
        "rot10" => rotate_degrees(img, 10.0),
        "colour" => {
            let mut out = img.clone();
            for p in out.pixels_mut() {
                let [r, g, b] = p.0;
                let f = |v: u8, k: f32| (v as f32 * k * 1.08).min(255.0) as u8;
                p.0 = [f(r, 1.12), f(g, 1.0), f(b, 0.85)];
            }
            out
        }
        "blur" => image::imageops::blur(img, 2.0),
        "jpeg30" => {
            let mut bytes = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 30)
                .encode_image(img)
                .expect("encoding into memory");
            decode::decode_rgb(&bytes, u32::MAX).expect("our own JPEG decodes")
        }
        "mirror" => image::imageops::flip_horizontal(img),
        "third" => image::imageops::resize(
            img,
            (w / 3).max(1),
            (h / 3).max(1),
            image::imageops::FilterType::Triangle,
        ),
        other => panic!("no edit named {other}"),
    }
}

/// `img` turned by `degrees` counter-clockwise on the same canvas (black corners), bilinear.
fn rotate_degrees(img: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let sx = cos * dx - sin * dy + cx - 0.5;
        let sy = sin * dx + cos * dy + cy - 0.5;
        if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
            return image::Rgb([0, 0, 0]);
        }
        let (x0, y0) = (sx as u32, sy as u32);
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |x, y| img.get_pixel(x, y).0;
        let (a, b, c, d) = (p(x0, y0), p(x0 + 1, y0), p(x0, y0 + 1), p(x0 + 1, y0 + 1));
        image::Rgb(std::array::from_fn(|i| {
            let top = a[i] as f32 * (1.0 - fx) + b[i] as f32 * fx;
            let bottom = c[i] as f32 * (1.0 - fx) + d[i] as f32 * fx;
            (top * (1.0 - fy) + bottom * fy).round() as u8
        }))
    })
}

/// Descriptors of one photo: [descriptor] of the original, and [descriptor][edit][turn] of
/// its copies (turn 0 upright, 1..3 turned by 90° steps).
struct Described {
    original: Vec<Vec<f32>>,
    copies: Vec<Vec<Vec<Vec<f32>>>>,
}

fn describe_photo(model: &Model, path: &std::path::Path) -> Result<Described> {
    let img = decode::load_rgb(path, u32::MAX)?;
    let mut session = model.session()?;
    let original = session.describe(&to_model_input(&img), &DESCRIPTORS)?;
    let mut copies = vec![vec![Vec::new(); EDITS.len()]; DESCRIPTORS.len()];
    for (e, name) in EDITS.iter().enumerate() {
        let input = to_model_input(&edit(&img, name));
        for turn in 0..4 {
            let vs = session.describe(&rotate_input(&input, turn), &DESCRIPTORS)?;
            for (d, v) in vs.into_iter().enumerate() {
                copies[d][e].push(v);
            }
        }
    }
    Ok(Described { original, copies })
}

fn percentile(sorted: &[f32], p: f64) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn distribution(mut v: Vec<f32>) -> Value {
    v.sort_by(f32::total_cmp);
    let mean = v.iter().sum::<f32>() / v.len().max(1) as f32;
    json!({
        "mean": mean, "p1": percentile(&v, 0.01), "p5": percentile(&v, 0.05),
        "p50": percentile(&v, 0.5), "p95": percentile(&v, 0.95), "p99": percentile(&v, 0.99),
        "p999": percentile(&v, 0.999), "max": v.last().copied().unwrap_or(f32::NAN),
    })
}

/// Runs the benchmark on the first `limit` photos of `files`; prints a table on stderr and
/// returns the figures.
pub fn run(model: &Model, files: &[PathBuf], limit: usize) -> Result<Value> {
    let files: Vec<&PathBuf> = files.iter().take(limit).collect();
    eprintln!(
        "quality: {} photos × {} edits, 4 turns each…",
        files.len(),
        EDITS.len()
    );
    let photos: Vec<Described> = files
        .par_iter()
        .filter_map(|p| describe_photo(model, p).ok())
        .collect();
    if photos.len() < 2 {
        bail!("the quality benchmark needs at least two photos that decode");
    }
    let mut report = serde_json::Map::new();
    for (d, descriptor) in DESCRIPTORS.iter().enumerate() {
        for rotations in [false, true] {
            let part = measure(&photos, d, descriptor.name(), rotations);
            let suffix = if rotations { "_rotations" } else { "" };
            report.insert(format!("{}{suffix}", descriptor.name()), part);
        }
    }
    report.insert("photos".into(), photos.len().into());
    Ok(Value::Object(report))
}

/// Retrieval of every edit, the unrelated pairs and the thresholds they give, for descriptor
/// `d` (named `name`) compared upright or also turned.
fn measure(photos: &[Described], d: usize, name: &str, rotations: bool) -> Value {
    let near = match DESCRIPTORS[d] {
        Descriptor::Gap => labels::GAP.near,
        Descriptor::Rmac => labels::RMAC.near,
    };
    let turns = rotations.then(|| Turns::from_near(near));
    eprintln!(
        "\n{name} {}: edit     top-1  top-10  similarity mean / p5 / p50",
        if rotations {
            "with rotations"
        } else {
            "upright only"
        }
    );
    let mut per_edit = serde_json::Map::new();
    for (e, edit) in EDITS.iter().enumerate() {
        per_edit.insert(edit.to_string(), edit_retrieval(photos, d, e, turns));
    }
    let unrelated = unrelated_pairs(photos, d, turns);
    let mut part = json!({"edits": per_edit, "unrelated": unrelated});
    if let Some(t) = photo_sim_engine::labels::Thresholds::from_quality(&part) {
        eprintln!(
            "  thresholds: same photo {:.2}, near-duplicate {:.2}, similar {:.2}, loosely related {:.2}",
            t.same, t.near, t.similar, t.related
        );
        part["thresholds"] = json!({
            "same": t.same, "near": t.near, "similar": t.similar, "related": t.related,
        });
    }
    part
}

/// A copy's similarity to an original: upright only, or with its turns as search scores them.
fn scored_as_search(turned: &[Vec<f32>], turns: Option<Turns>, original: &[f32]) -> f32 {
    match turns {
        None => dot(&turned[0], original),
        Some(t) => t.score_row(
            original,
            &turned.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        ),
    }
}

/// How often edit `e`'s copy of each photo finds its original first and in the top ten, and
/// how similar the two stay.
fn edit_retrieval(photos: &[Described], d: usize, e: usize, turns: Option<Turns>) -> Value {
    let (mut top1, mut top10, mut sims) = (0, 0, Vec::new());
    for (i, photo) in photos.iter().enumerate() {
        let turned = &photo.copies[d][e];
        let own = scored_as_search(turned, turns, &photo.original[d]);
        let better = photos
            .iter()
            .enumerate()
            .filter(|&(j, other)| {
                j != i && scored_as_search(turned, turns, &other.original[d]) > own
            })
            .count();
        top1 += usize::from(better == 0);
        top10 += usize::from(better < 10);
        sims.push(own);
    }
    let n = photos.len() as f64;
    let dist = distribution(sims);
    eprintln!(
        "  {:<8} {:>6.3} {:>6.3}   {:.3} / {:.3} / {:.3}",
        EDITS[e],
        top1 as f64 / n,
        top10 as f64 / n,
        dist["mean"].as_f64().unwrap_or_default(),
        dist["p5"].as_f64().unwrap_or_default(),
        dist["p50"].as_f64().unwrap_or_default()
    );
    json!({"top1": top1 as f64 / n, "top10": top10 as f64 / n, "similarity": dist})
}

/// The similarity of each photo's original (turned as the rotated copies are, with
/// rotations) to every other original.
fn unrelated_pairs(photos: &[Described], d: usize, turns: Option<Turns>) -> Value {
    let mut unrelated = Vec::new();
    for (i, a) in photos.iter().enumerate() {
        let mut turned = vec![a.original[d].clone()];
        if turns.is_some() {
            // The original turned, as the rot90 copy's turns give it back.
            turned = a.copies[d][1].clone();
            turned.rotate_left(1);
        }
        for (j, b) in photos.iter().enumerate() {
            if i != j {
                unrelated.push(scored_as_search(&turned, turns, &b.original[d]));
            }
        }
    }
    let unrelated = distribution(unrelated);
    eprintln!(
        "  unrelated pairs: p50 {:.3}, p95 {:.3}, p99 {:.3}, p99.9 {:.3}, max {:.3}",
        unrelated["p50"].as_f64().unwrap_or_default(),
        unrelated["p95"].as_f64().unwrap_or_default(),
        unrelated["p99"].as_f64().unwrap_or_default(),
        unrelated["p999"].as_f64().unwrap_or_default(),
        unrelated["max"].as_f64().unwrap_or_default()
    );
    unrelated
}
