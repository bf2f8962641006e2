//! `photo-sim bench --library-size N <folder>`: an N-photo library, simulated through the real
//! index code, for the figures a lifetime library lives by: how long it takes to open, to
//! answer a query and to group its duplicates, what it holds in memory and on disk, and how
//! much of the exact answer the fast paths keep.
//!
//! The folder is indexed for real, and its embeddings seed the library: each simulated photo
//! is one of them blended with its own noise (about 0.36 alike with the others of its seed,
//! as different photos of one kind of thing), and every hundredth has a near copy planted
//! beside it (about 0.99 alike, a re-encoded copy). The vectors are written as an index file
//! of a folder of that many photos, which the library then opens as it would any other.

use super::{peak_rss_mb, rss_mb, time, TempDir};
use anyhow::{bail, Result};
use photo_sim_engine::index::format::{save_vectors, Entry, Vectors};
use photo_sim_engine::index::{path_bytes, Fingerprint, Identity};
use photo_sim_engine::library::Decisions;
use photo_sim_engine::{CancelToken, KeeperRule, Library, Model, Store, UpdateOptions};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Every this many photos, one has a near copy planted beside it.
const COPY_EVERY: usize = 100;
/// Queries timed (each a library photo, lightly changed).
const QUERIES: usize = 20;
/// Up to this many photos, the pairs found are checked against every pair compared in full.
const EXACT_CHECK_MAX: usize = 100_000;

/// Simulates an `n`-photo library seeded by `folder`'s photos through the real index code,
/// and measures it (its duplicates too, unless `duplicates` is false: at a million photos the
/// exact grouping takes most of an hour).
pub fn run(model: &Arc<Model>, folder: &Path, n: usize, duplicates: bool) -> Result<Value> {
    let tmp = TempDir::new()?;
    let seeds = real_embeddings(model, folder, &tmp.0)?;
    let dim = model.dim;
    eprintln!("simulating {n} photos from {} real ones…", seeds.len());
    let data = simulate(&seeds, n, dim);
    let root = tmp.0.join("library");
    std::fs::create_dir_all(&root)?;
    let root = root.canonicalize()?;
    let store = Store::under(&tmp.0.join("data"));
    let vectors_bytes = write_index(&store, &root, model, data, dim)?;
    let (codes_bytes, codes_s) = time(|| -> Result<u64> {
        let library = Library::open(&root, &store, model.clone())?;
        Ok(library.make_speedups(&CancelToken::new(), None)?)
    });
    let codes_bytes = codes_bytes?;
    eprintln!("coded in {codes_s:.1} s");

    // From here on the peak is the library's: the simulated vectors are on disk only.
    super::reset_peak_rss();
    let (library, open_s) = time(|| Library::open(&root, &store, model.clone()));
    let library = library?;
    let rss_after_open_mb = rss_mb();
    eprintln!(
        "opened in {open_s:.2} s, {rss_after_open_mb:.0} MiB resident, peak {:.0}",
        peak_rss_mb()
    );
    let (query_ms, recall_at_10, mut peak) = measure_queries(&library, &seeds, dim, true);
    // The exact scans that checked those answers read every vector: not the library's peak.
    super::reset_peak_rss();
    let (turned_ms, turned_recall, turned_peak) = measure_queries(&library, &seeds, dim, false);
    peak = peak.max(turned_peak);
    eprintln!(
        "query {query_ms:.1} ms (turned too: {turned_ms:.1} ms), recall@10 {recall_at_10:.3} ({turned_recall:.3}), peak {peak:.0} rss now {:.0}",
        rss_mb()
    );
    let (duplicates_s, duplicate_pair_recall) = if duplicates {
        let (s, recall, exact, duplicates_peak) = measure_duplicates(&library, n)?;
        peak = peak.max(duplicates_peak);
        eprintln!("duplicates {s:.1} s, planted pairs found {recall:.3}");
        (Some(s), Some((recall, exact)))
    } else {
        (None, None)
    };
    let (duplicate_pair_recall, duplicate_exact_pair_recall) = duplicate_pair_recall.unzip();
    Ok(json!({
        "photos": n,
        "seeds": seeds.len(),
        "open_s": open_s,
        "query_ms": query_ms,
        "search": if library.uses_graph() {
            "hnsw graph"
        } else if library.uses_codes() {
            "compact codes"
        } else {
            "exact scan"
        },
        "codes_s": codes_s,
        "recall_at_10": recall_at_10,
        "query_turned_ms": turned_ms,
        "recall_at_10_turned": turned_recall,
        "duplicates_s": duplicates_s,
        "duplicate_pair_recall": duplicate_pair_recall,
        "duplicate_exact_pair_recall": duplicate_exact_pair_recall.flatten(),
        "rss_after_open_mb": rss_after_open_mb,
        "peak_rss_mb": peak,
        "index_bytes_per_photo": codes_bytes as f64 / n as f64,
        "full_vector_bytes_per_photo": vectors_bytes as f64 / n as f64,
    }))
}

/// The embeddings of `folder`'s photos, indexed into a data directory under `tmp`.
fn real_embeddings(model: &Arc<Model>, folder: &Path, tmp: &Path) -> Result<Vec<Vec<f32>>> {
    let store = Store::under(&tmp.join("seeds"));
    let library = Library::open(folder, &store, model.clone())?;
    library.update(&UpdateOptions::default(), None, &CancelToken::new())?;
    let seeds: Vec<Vec<f32>> = library.vectors().into_iter().map(|(_, v)| v).collect();
    if seeds.is_empty() {
        bail!(
            "{} holds no photo to seed the library with",
            folder.display()
        );
    }
    Ok(seeds)
}

/// A unit vector of noise, the same for the same `seed`.
fn noise(seed: u64, dim: usize) -> Vec<f32> {
    let mut v = photo_sim_engine::vector::uniform(seed.wrapping_mul(0x9e3779b97f4a7c15) | 1, dim);
    photo_sim_engine::vector::normalize(&mut v);
    v
}

/// Simulated photo `i`: seed `i % seeds` (0.6) blended with noise of its own (0.8), or, for
/// the photo after every [`COPY_EVERY`]th, a near copy of that one. A unit vector.
fn photo(seeds: &[Vec<f32>], i: usize, dim: usize) -> Vec<f32> {
    let copy_of = (i % COPY_EVERY == 1).then(|| i - 1);
    let own = copy_of.unwrap_or(i);
    let seed = &seeds[own % seeds.len()];
    let mut row: Vec<f32> = seed
        .iter()
        .zip(noise(own as u64, dim))
        .map(|(s, e)| 0.6 * s + 0.8 * e)
        .collect();
    photo_sim_engine::vector::normalize(&mut row);
    if copy_of.is_some() {
        for (x, e) in row.iter_mut().zip(noise(!(i as u64), dim)) {
            *x += 0.15 * e;
        }
        photo_sim_engine::vector::normalize(&mut row);
    }
    row
}

/// The `n` simulated photos' vectors, row after row.
fn simulate(seeds: &[Vec<f32>], n: usize, dim: usize) -> Vec<f32> {
    let mut data = vec![0f32; n * dim];
    data.par_chunks_exact_mut(dim)
        .enumerate()
        .for_each(|(i, row)| row.copy_from_slice(&photo(seeds, i, dim)));
    data
}

/// Where simulated photo `i` is in its folder (10,000 photos a sub-folder).
fn rel_path(i: usize) -> String {
    format!("{:03}/{i:07}.jpg", i / 10_000)
}

/// Writes `data` as the index of `root`, a folder of that many photos; returns its size.
fn write_index(
    store: &Store,
    root: &Path,
    model: &Model,
    data: Vec<f32>,
    dim: usize,
) -> Result<u64> {
    let n = data.len() / dim;
    let entries = (0..n)
        .map(|i| Entry {
            path: rel_path(i).into_bytes(),
            fingerprint: Fingerprint {
                size: 3_000_000,
                mtime_ns: 1_700_000_000_000_000_000,
            },
            content: None,
            identity: Identity::default(),
        })
        .collect();
    let vectors = Vectors {
        folder: path_bytes(root).into_owned(),
        dim: dim as u32,
        generation: 1,
        entries,
        data: data.into(),
        failed: Vec::new(),
        pairs: Vec::new(),
    };
    let dir = store.index_dir(root);
    std::fs::create_dir_all(&dir)?;
    Ok(save_vectors(&dir.join("vectors.bin"), model.id, &vectors)?)
}

/// The median time of a query (from its vectors: upright, and the three turned ones unless
/// `upright_only`, as the app asks by default), the share of the exact top ten it finds, and
/// the peak memory while the queries ran (before the exact scans that check them).
fn measure_queries(
    library: &Library,
    seeds: &[Vec<f32>],
    dim: usize,
    upright_only: bool,
) -> (f64, f64, f64) {
    let stored = library.len();
    let (mut times, mut answered) = (Vec::new(), Vec::new());
    for q in 0..QUERIES {
        let row = q * stored / QUERIES;
        let mut views = vec![photo(seeds, row, dim)];
        for (x, e) in views[0].iter_mut().zip(noise(u64::MAX - q as u64, dim)) {
            *x += 0.1 * e;
        }
        photo_sim_engine::vector::normalize(&mut views[0]);
        if !upright_only {
            // A photo turned is another picture of the same kind of thing.
            views.extend((1..4).map(|t| photo(seeds, row + t * seeds.len(), dim)));
        }
        let (answer, seconds) = time(|| library.search_vectors(&views, 10));
        times.push(seconds);
        answered.push((views, answer));
    }
    let peak = peak_rss_mb();
    let found: usize = answered
        .iter()
        .map(|(views, answer)| {
            let exact = library.search_vectors_exact(views, 10);
            answer
                .iter()
                .filter(|m| exact.iter().any(|e| e.path == m.path))
                .count()
        })
        .sum();
    (
        super::median_ms(times),
        found as f64 / (QUERIES * 10) as f64,
        peak,
    )
}

/// The time to group the duplicates at the "same photo" level, the share of the planted
/// copies grouped with their photo, and (up to [`EXACT_CHECK_MAX`] photos) the share of the
/// pairs at that level, all pairs compared in full, that were found.
/// Also the peak memory of the grouping.
fn measure_duplicates(library: &Library, n: usize) -> Result<(f64, f64, Option<f64>, f64)> {
    super::reset_peak_rss();
    let same = library
        .model()
        .thresholds()
        .map_or(photo_sim_engine::labels::RMAC.same, |t| t.same);
    let (found, seconds) = time(|| -> Result<_> {
        let pairs = library.pairs(same)?;
        let groups = pairs.groups(same, &KeeperRule::default(), &Decisions::default());
        Ok((pairs, groups))
    });
    let (pairs, groups) = found?;
    let peak = peak_rss_mb();
    let exact = (n <= EXACT_CHECK_MAX).then(|| {
        let dim = library.model().dim;
        let all: Vec<f32> = library.vectors().into_iter().flat_map(|(_, v)| v).collect();
        let lists =
            photo_sim_engine::query::neighbours(&all, dim, same, usize::MAX).expect("no limit");
        let every = lists.iter().map(Vec::len).sum::<usize>() / 2;
        pairs.count(same) as f64 / every.max(1) as f64
    });
    let group_of: HashMap<&Path, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, group)| group.photos().map(move |p| (p.path.as_path(), g)))
        .collect();
    let path = |i: usize| library.root().join(rel_path(i));
    let planted: Vec<usize> = (0..n.saturating_sub(1)).step_by(COPY_EVERY).collect();
    let together = planted
        .iter()
        .filter(|&&i| {
            let (a, b) = (path(i), path(i + 1));
            matches!((group_of.get(a.as_path()), group_of.get(b.as_path())), (Some(x), Some(y)) if x == y)
        })
        .count();
    Ok((
        seconds,
        together as f64 / planted.len().max(1) as f64,
        exact,
        peak,
    ))
}
