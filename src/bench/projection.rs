//! `photo-sim bench --learn-projection OUT <folder>`: learns the subspace the compact codes
//! are made in from the folder's photos, and says how well it keeps their neighbours.
//!
//! A hundred photos alone span at most a hundred directions, so each photo is seen as 32
//! views: whole and in crops of three sizes at five places, each also mirrored, as a person
//! frames the same subject in many ways. The views of every other photo learn a subspace that
//! the rest are measured in (the share of their length kept, and how many of each view's ten
//! nearest views are among its nearest by codes); then all views learn the subspace written
//! to OUT, keyed to the model's id.

use super::{image_files, time};
use anyhow::{Context, Result};
use image::{imageops, RgbImage};
use photo_sim_engine::embed::{to_model_input, Model};
use photo_sim_engine::query::compact::Codes;
use photo_sim_engine::query::exact;
use photo_sim_engine::query::projection::Projection;
use rayon::prelude::*;
use serde_json::{json, Value};
use std::path::Path;

/// Length of the codes: a fifth of the descriptor keeps what tells photos apart.
pub const DIM_OUT: usize = 256;
/// Crop sides as shares of the photo's shorter side.
const CROPS: [f64; 3] = [0.75, 0.55, 0.4];
/// Candidate counts at which the held-out recall is told.
const CANDIDATES: [usize; 4] = [10, 20, 50, 100];

/// Learns the projection from `folder`'s photos, writes it to `out`, and reports.
pub fn run(model: &Model, folder: &Path, out: &Path) -> Result<Value> {
    let files = image_files(folder)?;
    eprintln!("embedding 32 views of each of {} photos…", files.len());
    let (views, embed_s) = time(|| -> Result<Vec<Vec<f32>>> {
        files
            .par_iter()
            .map(|f| {
                let image = photo_sim_engine::decode::load_rgb(f, 600)
                    .with_context(|| format!("decode {}", f.display()))?;
                let mut session = model.session()?;
                views_of(&image)
                    .iter()
                    .map(|v| Ok(session.embed(&to_model_input(v))?))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()
            .map(|per_photo| per_photo.into_iter().flatten().collect())
    });
    let views = views?;
    let dim = model.dim;
    let per_photo = views.len() / files.len().max(1);
    let half = |keep: usize| -> Vec<f32> {
        views
            .chunks(per_photo)
            .enumerate()
            .filter(|(i, _)| i % 2 == keep)
            .flat_map(|(_, photo)| photo.iter().flatten().copied())
            .collect()
    };
    let (learn, held_out) = (half(0), half(1));
    eprintln!(
        "learning on {} views, measuring on {}…",
        learn.len() / dim,
        held_out.len() / dim
    );
    let trial = Projection::learn(&learn, dim, DIM_OUT);
    let recall = held_out_recall(&trial, &held_out, dim);
    let all: Vec<f32> = views.iter().flatten().copied().collect();
    let (projection, learn_s) = time(|| Projection::learn(&all, dim, DIM_OUT));
    std::fs::write(out, projection.to_bytes(model.id))
        .with_context(|| format!("write {}", out.display()))?;
    Ok(json!({
        "photos": files.len(),
        "views": views.len(),
        "dim_in": dim,
        "dim_out": DIM_OUT,
        "embed_s": embed_s,
        "learn_s": learn_s,
        "kept_by_the_learning_half": trial.kept(&learn),
        "kept_by_the_held_out_half": trial.kept(&held_out),
        "kept_by_all_views": projection.kept(&all),
        "held_out_recall_at_10": recall,
        "written": out.display().to_string(),
    }))
}

/// The 32 views of a photo: whole, and square crops of each size of [`CROPS`] at its four
/// corners and centre; each also mirrored.
fn views_of(image: &RgbImage) -> Vec<RgbImage> {
    let (w, h) = image.dimensions();
    let mut views = vec![image.clone()];
    for share in CROPS {
        let side = (w.min(h) as f64 * share) as u32;
        let (x1, y1) = (w - side, h - side);
        for (x, y) in [(0, 0), (x1, 0), (0, y1), (x1, y1), (x1 / 2, y1 / 2)] {
            views.push(imageops::crop_imm(image, x, y, side, side).to_image());
        }
    }
    let mirrored: Vec<RgbImage> = views.iter().map(imageops::flip_horizontal).collect();
    views.extend(mirrored);
    views
}

/// For each held-out view, the share of its ten nearest views (by the full descriptor) found
/// among the nearest by the codes, at each count of [`CANDIDATES`].
fn held_out_recall(projection: &Projection, data: &[f32], dim: usize) -> Value {
    let never = || false;
    let codes =
        Codes::encode(Some(projection), data, dim, 0, &never, &|_| {}).expect("not cancelled");
    let n = data.len() / dim;
    let mut found = [0usize; CANDIDATES.len()];
    for q in 0..n {
        let query = &data[q * dim..(q + 1) * dim];
        let want = exact(data, dim, query, 10);
        let coded = codes.query(Some(projection), &[query]);
        for (c, count) in CANDIDATES.iter().enumerate() {
            let got = codes.candidates(&coded, *count);
            found[c] += want.iter().filter(|(r, _)| got.contains(r)).count();
        }
    }
    CANDIDATES
        .iter()
        .zip(found)
        .map(|(c, f)| {
            (
                format!("of_{c}_candidates"),
                json!(f as f64 / (n * 10) as f64),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}
