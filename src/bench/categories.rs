//! `photo-sim bench --categories <folder>`: how well a search finds the same *kind* of thing.
//! The folder holds one sub-folder per category (Caltech-101's layout); every photo queries all
//! the others, and a match counts when it shares the query's category. Reported per way of
//! scoring a pair (the pooled embedding, R-MAC, R-MAC with turned query copies as search uses
//! them, and blends of the two): precision among the first ten and mean average precision,
//! next to the similarity of same-kind pairs and how many of them the labels call a
//! near-duplicate or the same photo (which they should not: that is for the same shot).

use anyhow::{bail, Result};
use photo_sim_engine::decode;
use photo_sim_engine::embed::{self, rotate_input, to_model_input, Descriptor, Model};
use photo_sim_engine::labels::{Label, Thresholds};
use photo_sim_engine::query::Turns;
use photo_sim_engine::vector::{dot, normalize};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// One photo's descriptors: the pooled embedding and R-MAC, each upright and turned by one,
/// two and three quarter turns.
struct Photo {
    category: usize,
    gap: [Vec<f32>; 4],
    rmac: [Vec<f32>; 4],
    /// The square roots of the classifier's probabilities (upright), a unit vector: their dot
    /// product is how much two photos' class scores overlap (the built-in model's; empty
    /// with another model).
    probs: Vec<f32>,
}

fn describe(
    model: &Model,
    classifier: Option<&Model>,
    path: &Path,
    category: usize,
) -> Result<Photo> {
    let input = to_model_input(&decode::load_rgb(path, u32::MAX)?);
    let mut session = model.session()?;
    let mut gap: [Vec<f32>; 4] = Default::default();
    let mut rmac: [Vec<f32>; 4] = Default::default();
    for turn in 0..4u8 {
        let both = session.describe(
            &rotate_input(&input, turn),
            &[Descriptor::Gap, Descriptor::Rmac],
        )?;
        let [g, r] = <[Vec<f32>; 2]>::try_from(both).expect("one vector per descriptor");
        (gap[turn as usize], rmac[turn as usize]) = (g, r);
    }
    let mut probs = Vec::new();
    let logits = match classifier {
        Some(c) => c.session()?.run(&input)?.logits,
        None => None,
    };
    if let Some(logits) = logits {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        probs = logits.iter().map(|x| (x - max).exp().sqrt()).collect();
        normalize(&mut probs);
    }
    Ok(Photo {
        category,
        gap,
        rmac,
        probs,
    })
}

/// The scoring search uses: R-MAC, turned views gated by [`Turns`].
const SEARCH: &str = "rmac_turns_gated";

/// How a query scores a stored photo: the query's four views against the photo's upright one.
type Scorer = Box<dyn Fn(&Photo, &Photo) -> f32 + Sync>;

/// The ways of scoring compared, by name. `near` is the built-in near-duplicate level, which
/// decides where a turned view may count; `probs` says whether the model gives class scores.
fn scorers(near: f32, probs: bool) -> Vec<(String, Scorer)> {
    let gated = Turns::from_near(near);
    // Any turn counts, however weak: the rule search used before the gate.
    let best_of_four = Turns {
        floor: f32::NEG_INFINITY,
        margin: 0.0,
    };
    let mut out: Vec<(String, Scorer)> = vec![
        ("gap".into(), Box::new(|q, d| dot(&q.gap[0], &d.gap[0]))),
        ("rmac".into(), Box::new(|q, d| dot(&q.rmac[0], &d.rmac[0]))),
        (
            "rmac_turns_best_of_four".into(),
            Box::new(move |q, d| best_of_four.score_row(&d.rmac[0], &views(&q.rmac))),
        ),
        (
            SEARCH.into(),
            Box::new(move |q, d| gated.score_row(&d.rmac[0], &views(&q.rmac))),
        ),
    ];
    if probs {
        out.push(("probs".into(), Box::new(|q, d| dot(&q.probs, &d.probs))));
    }
    for w in [0.5f32, 0.75].into_iter().filter(|_| probs) {
        out.push((
            format!("blend_rmac{:.2}_probs", w),
            Box::new(move |q, d| {
                w * dot(&q.rmac[0], &d.rmac[0]) + (1.0 - w) * dot(&q.probs, &d.probs)
            }),
        ));
    }
    for w in [0.25f32, 0.5, 0.75] {
        out.push((
            format!("blend_rmac{:.2}_gap_gated", w),
            Box::new(move |q, d| {
                // Query view `t` against the photo, w parts R-MAC to 1 − w parts GAP.
                let blend = |t: usize| {
                    w * dot(&q.rmac[t], &d.rmac[0]) + (1.0 - w) * dot(&q.gap[t], &d.gap[0])
                };
                let turned = (1..4).map(blend).fold(f32::NEG_INFINITY, f32::max);
                gated.score(blend(0), turned)
            }),
        ));
    }
    out
}

/// A query's four views (upright first) as [`Turns::score_row`] takes them.
fn views(q: &[Vec<f32>; 4]) -> [&[f32]; 4] {
    [&q[0], &q[1], &q[2], &q[3]]
}

/// Precision among the first ten (of at most as many as there are relevant photos) and
/// average precision of one ranked list of relevance flags, `relevant` of them true in all.
fn precision(ranked: &[bool], relevant: usize) -> (f64, f64) {
    let top = relevant.min(10);
    let p10 = ranked[..top].iter().filter(|&&r| r).count() as f64 / top as f64;
    let (mut hits, mut sum) = (0usize, 0f64);
    for (i, _) in ranked.iter().enumerate().filter(|(_, &r)| r) {
        hits += 1;
        sum += hits as f64 / (i + 1) as f64;
    }
    (p10, sum / relevant as f64)
}

/// P@10 and mAP of one scorer over every photo with at least one of its kind, and (given the
/// thresholds of the scores it gives) the labels of the same-kind matches among each query's
/// first ten.
fn evaluate(photos: &[Photo], score: &Scorer, thresholds: Option<&Thresholds>) -> Value {
    let per_query: Vec<(f64, f64, Vec<Label>)> = (0..photos.len())
        .into_par_iter()
        .filter_map(|i| {
            let q = &photos[i];
            let mut others: Vec<(usize, f32)> = (0..photos.len())
                .filter(|&j| j != i)
                .map(|j| (j, score(q, &photos[j])))
                .collect();
            others.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let ranked: Vec<bool> = others
                .iter()
                .map(|&(j, _)| photos[j].category == q.category)
                .collect();
            let relevant = ranked.iter().filter(|&&r| r).count();
            if relevant == 0 {
                return None;
            }
            let (p10, ap) = precision(&ranked, relevant);
            let labels = others[..10.min(others.len())]
                .iter()
                .filter(|&&(j, _)| photos[j].category == q.category)
                .filter_map(|&(_, s)| thresholds.map(|t| t.label(s)))
                .collect();
            Some((p10, ap, labels))
        })
        .collect();
    let n = per_query.len().max(1) as f64;
    let labels: Vec<Label> = per_query.iter().flat_map(|q| q.2.clone()).collect();
    let share =
        |l: Label| labels.iter().filter(|&&x| x >= l).count() as f64 / labels.len().max(1) as f64;
    let mut part = json!({
        "queries": per_query.len(),
        "p_at_10": per_query.iter().map(|q| q.0).sum::<f64>() / n,
        "map": per_query.iter().map(|q| q.1).sum::<f64>() / n,
    });
    if thresholds.is_some() {
        part["same_kind_in_top10_labelled_near_or_same"] = share(Label::NearDuplicate).into();
        part["same_kind_in_top10_labelled_same"] = share(Label::SamePhoto).into();
    }
    part
}

/// The photos of `folder`, each with its category: the name of its first-level sub-folder.
fn categorised(folder: &Path, files: &[PathBuf]) -> (Vec<(PathBuf, usize)>, Vec<String>) {
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for file in files {
        let Ok(rel) = file.strip_prefix(folder) else {
            continue;
        };
        let mut parts = rel.components();
        let (Some(first), Some(_)) = (parts.next(), parts.next()) else {
            continue;
        };
        let name = first.as_os_str().to_string_lossy().into_owned();
        let category = names.iter().position(|n| *n == name).unwrap_or_else(|| {
            names.push(name);
            names.len() - 1
        });
        out.push((file.clone(), category));
    }
    (out, names)
}

/// Runs the benchmark on the photos of `folder`'s sub-folders; prints a table on stderr and
/// returns the figures.
pub fn run(model: &Model, folder: &Path, files: &[PathBuf]) -> Result<Value> {
    let (files, names) = categorised(folder, files);
    eprintln!(
        "categories: {} photos in {} categories, 4 turns each…",
        files.len(),
        names.len()
    );
    // The class scores of the built-in model (indexing runs it without them).
    let classifier = model
        .thresholds()
        .map(|_| {
            let options = embed::Options {
                logits: true,
                descriptor: model.descriptor,
                ..Default::default()
            };
            Model::from_bytes_with(embed::DEFAULT_MODEL, &options)
        })
        .transpose()?;
    let photos: Vec<Photo> = files
        .par_iter()
        .filter_map(|(p, c)| describe(model, classifier.as_ref(), p, *c).ok())
        .collect();
    if photos.len() < 2 {
        bail!("the category benchmark needs photos in at least one sub-folder");
    }
    // The labels are read from R-MAC scores (the built-in model's), as search gives them.
    let thresholds = model
        .thresholds()
        .filter(|_| model.descriptor == Descriptor::Rmac);
    let near = thresholds.map_or(Turns::UNMEASURED.floor, |t| t.near);
    let probs = !photos[0].probs.is_empty();
    let mut report = serde_json::Map::new();
    eprintln!("  scoring                        P@10    mAP   same kind labelled near/same");
    for (name, score) in scorers(near, probs) {
        let labelled = thresholds.filter(|_| name == SEARCH);
        let part = evaluate(&photos, &score, labelled.as_ref());
        let share = part["same_kind_in_top10_labelled_near_or_same"].as_f64();
        eprintln!(
            "  {:<30} {:.3}  {:.3}  {}",
            name,
            part["p_at_10"].as_f64().unwrap_or_default(),
            part["map"].as_f64().unwrap_or_default(),
            share.map_or(String::new(), |s| format!("{s:.2}"))
        );
        report.insert(name, part);
    }
    report.insert("photos".into(), photos.len().into());
    report.insert("categories".into(), names.len().into());
    Ok(Value::Object(report))
}
