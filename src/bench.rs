//! `photo-sim bench <folder>`: the speed and memory figures, measured on a real folder.
//!
//! Separately: decoding alone, the model alone, and the whole indexing pipeline, all on every
//! core; then query latency, index size on disk, and peak memory of the process. The exact
//! scan and the HNSW graph are also timed on synthetic vectors at several sizes, which is how
//! [`crate::nearest::GRAPH_THRESHOLD`] was chosen.

use crate::decode;
use crate::nearest::{self, Graph};
use crate::progress::CancelToken;
use crate::{Library, Model, Store};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The folder of photos to measure on (it is indexed into a temporary data directory).
    pub folder: PathBuf,
    /// The query image (default: the first image of the folder).
    #[arg(long)]
    pub query: Option<PathBuf>,
    /// Also time the exact scan and the HNSW graph on this many synthetic vectors (comma list).
    #[arg(long, value_delimiter = ',', default_value = "10000,50000,100000")]
    pub scan_sizes: Vec<usize>,
    /// Build an HNSW graph of this many synthetic vectors to time its build and queries (0: skip).
    #[arg(long, default_value_t = 0)]
    pub graph_size: usize,
}

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2] * 1000.0
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64())
}

/// Runs every measurement and prints one JSON object (also readable by a person).
pub fn run(args: &BenchArgs, model: Arc<Model>) -> Result<()> {
    let cores = rayon::current_num_threads();
    let scan = crate::scan::scan(&args.folder, None, &CancelToken::new());
    let files: Vec<PathBuf> = scan
        .found
        .iter()
        .map(|f| args.folder.join(&f.rel_path))
        .collect();
    if files.is_empty() {
        bail!("no images in {}", args.folder.display());
    }
    let n = files.len();
    eprintln!("{n} images, {cores} threads");

    // The whole pipeline, as `photo-sim index` runs it, into a throwaway data directory.
    let tmp = tempfile_dir()?;
    let store = Store::under(&tmp);
    let library = Library::open(&args.folder, &store, model.clone())?;
    let (summary, index_s) =
        time(|| library.update(&Default::default(), None, &CancelToken::new()));
    let summary = summary?;
    let index_rate = summary.embedded as f64 / index_s;
    let index_peak_mb = peak_rss_mb();
    eprintln!("index: {index_rate:.1} images/s end to end, peak memory {index_peak_mb:.0} MiB");

    // Decoding alone, every core.
    let (inputs, decode_s) = time(|| {
        files
            .par_iter()
            .enumerate()
            .map(|(i, p)| {
                let input = decode::model_input(p).ok();
                input.filter(|_| i < 256)
            })
            .collect::<Vec<_>>()
    });
    let inputs: Vec<Vec<f32>> = inputs.into_iter().flatten().collect();
    if inputs.is_empty() {
        bail!(
            "none of the first images of {} could be decoded",
            args.folder.display()
        );
    }
    eprintln!("decode: {:.1} images/s", n as f64 / decode_s);

    // The model alone, on already-decoded inputs: one thread, then every core.
    let mut session = model.session()?;
    session.embed(&inputs[0])?;
    let single: Vec<f64> = inputs
        .iter()
        .take(20)
        .map(|i| time(|| session.embed(i)).1)
        .collect();
    let one_ms = median_ms(single);
    let (_, embed_s) = time(|| {
        inputs
            .par_iter()
            .map_init(
                || model.session().expect("session"),
                |s, i| s.embed(i).map(|_| ()),
            )
            .collect::<Result<Vec<_>>>()
    });
    let embed_rate = inputs.len() as f64 / embed_s;
    eprintln!("embed: {one_ms:.1} ms/image on one thread, {embed_rate:.1} images/s on all");

    let model_only_s = summary.embedded as f64 * one_ms / 1000.0 / cores as f64;

    // Query latency: an indexed photo (stored vector), and a photo from outside the folder
    // (decoded and embedded on the spot).
    let query = args.query.clone().unwrap_or_else(|| files[0].clone());
    let outside = tmp.join(format!(
        "outside-query.{}",
        query.extension().and_then(|e| e.to_str()).unwrap_or("jpg")
    ));
    std::fs::copy(&query, &outside).context("cannot copy the query image")?;
    library.search(&outside, 10)?;
    let indexed_ms = median_ms(
        (0..50)
            .map(|_| time(|| library.search(&files[0], 10)).1)
            .collect(),
    );
    let outside_ms = median_ms(
        (0..10)
            .map(|_| time(|| library.search(&outside, 10)).1)
            .collect(),
    );
    let top10: Vec<String> = library
        .search(&query, 10)?
        .iter()
        .map(|m| m.path.to_string_lossy().into_owned())
        .collect();
    let index_bytes: u64 = std::fs::read_dir(library.index_dir())
        .context("index directory")?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();

    // Exact scan versus graph on synthetic unit vectors.
    let dim = model.dim;
    let mut scans = Vec::new();
    for &size in &args.scan_sizes {
        let data = synthetic(size, dim);
        let q = &data[..dim];
        let ms = median_ms(
            (0..20)
                .map(|_| time(|| nearest::exact(&data, dim, q, 10)).1)
                .collect(),
        );
        eprintln!("exact scan of {size}: {ms:.2} ms");
        scans.push(serde_json::json!({"vectors": size, "exact_scan_ms": ms}));
    }
    let graph = if args.graph_size > 0 {
        let data = synthetic(args.graph_size, dim);
        let (g, build_s) = time(|| Graph::build(&data, dim, 0));
        let queries: Vec<&[f32]> = data
            .chunks_exact(dim)
            .step_by(args.graph_size / 50 + 1)
            .collect();
        let ms = median_ms(queries.iter().map(|q| time(|| g.search(q, 10)).1).collect());
        let recall = queries
            .iter()
            .map(|q| {
                let want: Vec<usize> = nearest::exact(&data, dim, q, 10)
                    .iter()
                    .map(|r| r.0)
                    .collect();
                g.search(q, 10)
                    .iter()
                    .filter(|r| want.contains(&r.0))
                    .count() as f64
                    / 10.0
            })
            .sum::<f64>()
            / queries.len() as f64;
        eprintln!(
            "graph of {}: built in {build_s:.1} s, {ms:.2} ms/query, recall@10 {recall:.3}",
            args.graph_size
        );
        serde_json::json!({"vectors": args.graph_size, "build_s": build_s, "query_ms": ms, "recall_at_10": recall})
    } else {
        serde_json::Value::Null
    };

    let report = serde_json::json!({
        "images": n,
        "threads": cores,
        "decode_images_per_s": n as f64 / decode_s,
        "embed_ms_per_image_one_thread": one_ms,
        "embed_images_per_s": embed_rate,
        "index_images_per_s": index_rate,
        "index_s": index_s,
        "end_to_end_over_model_only": index_s / model_only_s,
        "skipped": summary.skipped.len(),
        "query_indexed_ms": indexed_ms,
        "query_outside_ms": outside_ms,
        "index_bytes": index_bytes,
        "peak_rss_mb_indexing": index_peak_mb,
        "peak_rss_mb_whole_bench": peak_rss_mb(),
        "exact_scan": scans,
        "graph": graph,
        "top10": top10,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("photo-sim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Deterministic pseudo-random unit vectors.
fn synthetic(n: usize, dim: usize) -> Vec<f32> {
    let mut s = 0x9e3779b97f4a7c15u64;
    let mut data: Vec<f32> = (0..n * dim)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    data.par_chunks_exact_mut(dim)
        .for_each(crate::embed::normalize);
    data
}

/// The process's peak resident memory, in MiB (Linux; 0 elsewhere).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
