//! `photo-sim bench <folder>`: the speed and memory figures, measured on a real folder.
//!
//! Stage by stage, each returning its figures: the whole indexing pipeline (as `photo-sim
//! index` runs it), decoding alone, the model alone (with our operations and with tract's own,
//! back to back in one process), how throughput scales with threads, query latency, and the
//! exact scan and HNSW graph on synthetic vectors (which is how
//! [`photo_sim_engine::query::GRAPH_THRESHOLD`] was chosen). Everything is printed as one JSON
//! object, progress on stderr.

mod categories;
mod layers;
mod library_size;
mod projection;
mod retrieval;

use anyhow::{bail, Context, Result};
use photo_sim_engine::decode;
use photo_sim_engine::decode::heif::{self, Codec};
use photo_sim_engine::embed::{self, Model, ModelError};
use photo_sim_engine::query::{exact, Graph};
use photo_sim_engine::CancelToken;
use photo_sim_engine::{Library, Store};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
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
    /// Time the duplicates grouping on this many synthetic vectors (comma list; each tenth
    /// has a near copy planted), instead of everything else.
    #[arg(long, value_delimiter = ',')]
    pub group_sizes: Vec<usize>,
    /// Measure retrieval quality instead of speed: edited copies of the folder's photos query
    /// the originals (see `bench/retrieval.rs`).
    #[arg(long)]
    pub quality: bool,
    /// Measure how well a search finds the same kind of thing instead of speed: the folder
    /// holds one sub-folder per category (see `bench/categories.rs`).
    #[arg(long)]
    pub categories: bool,
    /// Time decoding one 12 MP photo (the folder's first, resized to 4032×3024) stored as
    /// JPEG, HEIC and AVIF, as indexing decodes it, instead of everything else.
    #[arg(long)]
    pub formats: bool,
    /// Simulate a library of this many photos (seeded by the folder's) through the real
    /// index code, and measure opening, a query, duplicates, memory and the index's size,
    /// instead of everything else (see `bench/library_size.rs`).
    #[arg(long)]
    pub library_size: Option<usize>,
    /// With --library-size: leave out the duplicates grouping.
    #[arg(long)]
    pub no_duplicates: bool,
    /// Learn the subspace of the compact codes from the folder's photos and write it to this
    /// file, instead of everything else (see `bench/projection.rs`; the built-in one is
    /// `models/efficientnet_lite0.rmac-pca256.bin`).
    #[arg(long)]
    pub learn_projection: Option<PathBuf>,
    /// Time each step of the model's plan on one thread, instead of everything else (see
    /// `bench/layers.rs`).
    #[arg(long)]
    pub layers: bool,
    /// How many photos of the folder the quality benchmark uses.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Thread counts to measure decode+embed throughput with (comma list; default: 1 up to
    /// the number of cores).
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
}

/// Side of the 12 MP picture (a phone's 4:3 photo) the formats are compared on.
const FORMATS_SIZE: (u32, u32) = (4032, 3024);

/// Floating-point operations of one EfficientNet-Lite0 run (385 M multiply-adds).
const MODEL_FLOP: f64 = 0.77e9;

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
    if !args.group_sizes.is_empty() {
        let report = measure_grouping(model.dim, &args.group_sizes);
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if let Some(n) = args.library_size {
        let report = library_size::run(&model, &args.folder, n, !args.no_duplicates)?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if let Some(out) = &args.learn_projection {
        let report = projection::run(&model, &args.folder, out)?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let files = image_files(&args.folder)?;
    if args.formats {
        let report = measure_formats(&files[0])?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if args.layers {
        let report = layers::run(&model, &files)?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if args.categories {
        let report = categories::run(&model, &args.folder, &files)?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if args.quality {
        let report = retrieval::run(&model, &files, args.limit)?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let cores = rayon::current_num_threads();
    eprintln!("{} images, {cores} threads", files.len());
    let tmp = TempDir::new()?;
    let (library, index) = measure_indexing(&args.folder, &tmp.0, &model)?;
    let (inputs, decode) = measure_decoding(&files)?;
    let model_only = measure_model(&model, &inputs)?;
    let one_ms = model_only["ms_per_image_one_thread"]
        .as_f64()
        .unwrap_or_default();
    let embedded = index["embedded"].as_f64().unwrap_or_default();
    let model_only_s = embedded * one_ms / 1000.0 / cores as f64;
    let threads = if args.threads.is_empty() {
        (1..=cores).collect()
    } else {
        args.threads.clone()
    };
    let scaling = measure_scaling(&model, &files, &threads)?;
    let query = args.query.clone().unwrap_or_else(|| files[0].clone());
    let queries = measure_queries(&library, &files[0], &query, &tmp.0)?;
    let scan = measure_exact_scan(model.dim, &args.scan_sizes);
    let graph = measure_graph(model.dim, args.graph_size);
    let report = json!({
        "images": files.len(),
        "threads": cores,
        "index": index,
        "end_to_end_over_model_only": index["seconds"].as_f64().unwrap_or_default() / model_only_s,
        "decode": decode,
        "model": model_only,
        "scaling": scaling,
        "queries": queries,
        "index_bytes": dir_size(library.index_dir()),
        "peak_rss_mb_whole_bench": peak_rss_mb(),
        "exact_scan": scan,
        "graph": graph,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The image files of `folder`, as the scan finds them.
fn image_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let scan = photo_sim_engine::index::scan(folder, None, &CancelToken::new());
    let files: Vec<PathBuf> = scan
        .found
        .iter()
        .map(|f| folder.join(&f.rel_path))
        .collect();
    if files.is_empty() {
        bail!("no images in {}", folder.display());
    }
    Ok(files)
}

/// The whole pipeline, as `photo-sim index` runs it, into a throwaway data directory.
fn measure_indexing(folder: &Path, tmp: &Path, model: &Arc<Model>) -> Result<(Library, Value)> {
    let library = Library::open(folder, &Store::under(tmp), model.clone())?;
    let (summary, seconds) =
        time(|| library.update(&Default::default(), None, &CancelToken::new()));
    let summary = summary?;
    let rate = summary.embedded as f64 / seconds;
    let peak = peak_rss_mb();
    eprintln!("index: {rate:.1} images/s end to end, peak memory {peak:.0} MiB");
    let figures = json!({
        "images_per_s": rate,
        "seconds": seconds,
        "embedded": summary.embedded,
        "skipped": summary.skipped.len(),
        "bytes_written": summary.bytes_written,
        "peak_rss_mb": peak,
    });
    Ok((library, figures))
}

/// Decoding alone, on every core; returns model inputs of the first images for the next stage.
fn measure_decoding(files: &[PathBuf]) -> Result<(Vec<Vec<f32>>, Value)> {
    let (inputs, seconds) = time(|| {
        files
            .par_iter()
            .enumerate()
            .map(|(i, p)| embed::model_input(p).ok().filter(|_| i < 256))
            .collect::<Vec<_>>()
    });
    let inputs: Vec<Vec<f32>> = inputs.into_iter().flatten().collect();
    if inputs.is_empty() {
        bail!("none of the first images could be decoded");
    }
    let rate = files.len() as f64 / seconds;
    eprintln!("decode: {rate:.1} images/s");
    let one: Vec<f64> = files
        .iter()
        .take(30)
        .map(|p| time(|| embed::model_input(p)).1)
        .collect();
    let one_ms = median_ms(one);
    Ok((
        inputs,
        json!({"images_per_s": rate, "ms_per_image_one_thread": one_ms}),
    ))
}

/// CPU time of this thread, in seconds: steadier than the wall clock on a shared machine.
fn thread_cpu_s() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

fn cpu_time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = thread_cpu_s();
    let out = f();
    (out, thread_cpu_s() - t)
}

/// Median thread-CPU milliseconds of one embedding on one thread, for each model, measured
/// in turns (one run of each, again and again) so that both see the same machine.
fn one_thread_ms(models: &[&Model], inputs: &[Vec<f32>]) -> Result<Vec<f64>> {
    let mut sessions = models
        .iter()
        .map(|m| m.session())
        .collect::<Result<Vec<_>, ModelError>>()?;
    let mut samples = vec![Vec::new(); models.len()];
    for (round, input) in inputs.iter().cycle().take(41).enumerate() {
        for (s, out) in sessions.iter_mut().zip(&mut samples) {
            let (result, seconds) = cpu_time(|| s.embed(input));
            result?;
            if round > 0 {
                out.push(seconds);
            }
        }
    }
    Ok(samples.into_iter().map(median_ms).collect())
}

/// One 12 MP picture stored as JPEG, HEIC and AVIF (quality 90 each), each decoded as indexing
/// decodes it (`load_rgb` for the model's 256-pixel shorter side: a JPEG at 1/8 of its size in
/// the DCT domain, a HEIC/AVIF whole, since libheif cannot decode smaller).
fn measure_formats(photo: &Path) -> Result<Value> {
    let tmp = TempDir::new()?;
    let src = decode::load_rgb(photo, u32::MAX)?;
    let (w, h) = FORMATS_SIZE;
    let big = image::imageops::resize(&src, w, h, image::imageops::FilterType::Triangle);
    let mut rows = Vec::new();
    for (name, ext) in [
        ("JPEG", "jpg"),
        ("RAW (DNG, JPEG preview)", "dng"),
        ("RAW (DNG, 12 MP sensor data, no preview)", "sensor.dng"),
        ("HEIC", "heic"),
        ("AVIF", "avif"),
    ] {
        let (bytes, encode_s) = time(|| encode_as(&big, ext));
        let bytes = bytes.with_context(|| format!("encoding the {name}"))?;
        let path = tmp.0.join(format!("12mp.{ext}"));
        std::fs::write(&path, &bytes)?;
        let (ms, decoded, full_ms) =
            time_decoding(&path).with_context(|| format!("decoding the {name}"))?;
        eprintln!(
            "{name}: {ms:.0} ms to decode (to {}×{}), {full_ms:.0} ms at full size",
            decoded.0, decoded.1
        );
        let key = measure_content_key(&path)?;
        rows.push(json!({
            "format": name,
            "bytes": bytes.len(),
            "content_key": key,
            "encode_s": encode_s,
            "decode_ms_median_of_5": ms,
            "decoded_size": [decoded.0, decoded.1],
            "decode_full_size_ms_median_of_3": full_ms,
        }));
    }
    Ok(json!({
        "picture": [w, h],
        "source": photo,
        "libheif": heif::library_version().unwrap_or("none"),
        "formats": rows,
    }))
}

/// `big` stored as the format `ext` names: JPEG (quality 90), a DNG around that JPEG, a DNG
/// of the Bayer sensor data that picture would have given, HEIC or AVIF.
fn encode_as(big: &image::RgbImage, ext: &str) -> Result<Vec<u8>> {
    use image::metadata::Orientation;
    let jpeg = || -> Result<Vec<u8>> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(big)?;
        Ok(out)
    };
    Ok(match ext {
        "jpg" => jpeg()?,
        "dng" => photo_sim_engine::decode::wrap_in_dng(&jpeg()?, 1),
        // The picture as a 12 MP Bayer sensor saw it: developed at half size.
        "sensor.dng" => {
            let (w, h) = big.dimensions();
            let half =
                image::imageops::resize(big, w / 2, h / 2, image::imageops::FilterType::Triangle);
            photo_sim_engine::decode::mosaic_dng(&half, [0.5, 1.0, 0.7], 256, 64, 1, None)
        }
        "heic" => heif::encode(big, Codec::Hevc, 90, Orientation::NoTransforms, None)?,
        _ => heif::encode(big, Codec::Av1, 90, Orientation::NoTransforms, None)?,
    })
}

/// Decoding `path` as indexing does (median of 5, in ms), the size that gives, and decoding
/// the whole picture (median of 3, what a JPEG would cost without DCT scaling).
fn time_decoding(path: &Path) -> Result<(f64, (u32, u32), f64)> {
    let (mut samples, mut decoded) = (Vec::new(), (0, 0));
    for _ in 0..5 {
        let (img, seconds) = time(|| decode::load_rgb(path, embed::RESIZE_SHORTER));
        decoded = img?.dimensions();
        samples.push(seconds);
    }
    let full_ms = median_ms(
        (0..3)
            .map(|_| time(|| decode::load_rgb(path, u32::MAX)).1)
            .collect(),
    );
    Ok((median_ms(samples), decoded, full_ms))
}

/// What the content key of one file costs (`index/content_key.rs`): the sampled hash (first and last
/// 64 KiB) and the full hash, each read from a cold page cache (the file's pages dropped
/// first) and from a warm one. Median of 5.
fn measure_content_key(path: &Path) -> Result<Value> {
    let evict = || -> Result<()> {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(path)?;
        // Dirty pages stay cached whatever the advice: write them out first.
        f.sync_all()?;
        // SAFETY: a valid descriptor, and advice only: nothing is read or written through it.
        unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        Ok(())
    };
    let ms = |cold: bool, f: &dyn Fn() -> std::io::Result<[u8; 16]>| -> Result<f64> {
        let mut samples = Vec::new();
        for _ in 0..5 {
            if cold {
                evict()?;
            }
            let (out, s) = time(f);
            out?;
            samples.push(s);
        }
        Ok(median_ms(samples))
    };
    let sample = || photo_sim_engine::index::sample_of(path);
    let full = || photo_sim_engine::index::full_of(path);
    let figures = json!({
        "sample_ms_cold": ms(true, &sample)?,
        "sample_ms_warm": ms(false, &sample)?,
        "full_ms_cold": ms(true, &full)?,
        "full_ms_warm": ms(false, &full)?,
    });
    eprintln!("  content key: {figures}");
    Ok(figures)
}

/// The model alone on decoded inputs: one thread (with our operations and, for comparison,
/// with tract's own in their place), then every core; and how close one thread comes to the
/// core's arithmetic peak.
fn measure_model(model: &Model, inputs: &[Vec<f32>]) -> Result<Value> {
    let tract_ops = Model::from_bytes_with(
        embed::DEFAULT_MODEL,
        &embed::Options {
            pointwise: false,
            fused_depthwise: false,
            ..Default::default()
        },
    )?;
    let ms = one_thread_ms(&[model, &tract_ops], inputs)?;
    let (one_ms, tract_ms) = (ms[0], ms[1]);
    let fresh_ms = median_ms(
        inputs
            .iter()
            .take(10)
            .map(|i| time(|| model.session().and_then(|mut s| s.embed(i))).1)
            .collect(),
    );
    let (_, seconds) = time(|| {
        inputs
            .par_iter()
            .map_init(
                || model.session().expect("session"),
                |s, i| s.embed(i).map(|_| ()),
            )
            .collect::<Result<Vec<_>, ModelError>>()
    });
    let rate = inputs.len() as f64 / seconds;
    let peak = core_peak_flops();
    let floor_ms = MODEL_FLOP / peak * 1000.0;
    eprintln!(
        "embed: {one_ms:.1} ms/image of thread CPU ({tract_ms:.1} ms with tract's operations; {fresh_ms:.1} ms wall with a new session), {rate:.1} images/s on all"
    );
    Ok(json!({
        "ms_per_image_one_thread": one_ms,
        "ms_per_image_one_thread_tract_ops": tract_ms,
        "ms_per_image_fresh_session_wall": fresh_ms,
        "our_ops_speedup": tract_ms / one_ms,
        "depthwise_kernel": photo_sim_engine::embed::kernels::depthwise_c_in_use(),
        // The first expansion of the model: 12,544 pixels × 16 channels → 96.
        "matmul_tile_first_expansion": photo_sim_engine::embed::kernels::tile_for(12544, 16, 96),
        "images_per_s": rate,
        "core_peak_gflops": peak / 1e9,
        "floor_ms_per_image": floor_ms,
        "fraction_of_floor": floor_ms / one_ms,
    }))
}

/// One core's f32 arithmetic peak, measured: independent FMAs on registers only (the
/// vendor's figure depends on the clock this VM is given). 0 where unmeasured.
fn core_peak_flops() -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") {
        /// Twelve chains of 8-lane FMAs keep both FMA units busy despite their latency.
        #[target_feature(enable = "avx,fma")]
        unsafe fn fmas(rounds: usize) -> f32 {
            use std::arch::x86_64::*;
            let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
            let mut acc = [_mm256_set1_ps(1.0); 12];
            for _ in 0..rounds {
                for x in acc.iter_mut() {
                    *x = _mm256_fmadd_ps(*x, a, b);
                }
            }
            let mut out = [0f32; 8];
            // SAFETY: `out` holds the eight floats stored.
            unsafe {
                _mm256_storeu_ps(
                    out.as_mut_ptr(),
                    acc.iter().fold(a, |s, &x| _mm256_add_ps(s, x)),
                )
            };
            out[0]
        }
        let rounds = 20_000_000;
        // SAFETY: FMA (and so AVX) was detected.
        let (sum, seconds) = time(|| unsafe { fmas(rounds) });
        std::hint::black_box(sum);
        return (rounds * 12 * 8 * 2) as f64 / seconds;
    }
    0.0
}

/// Decode and embed together (as indexing does) on pools of several sizes.
fn measure_scaling(model: &Model, files: &[PathBuf], threads: &[usize]) -> Result<Value> {
    let sample: Vec<&PathBuf> = files.iter().take(200).collect();
    let mut out = Vec::new();
    for &n in threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build()?;
        let (_, seconds) = time(|| {
            pool.install(|| {
                sample.par_iter().for_each_init(
                    || model.session().expect("session"),
                    |s, p| {
                        if let Ok(input) = embed::model_input(p) {
                            let _ = s.embed(&input);
                        }
                    },
                )
            })
        });
        let rate = sample.len() as f64 / seconds;
        eprintln!("{n} threads: {rate:.1} images/s (decode + embed)");
        out.push(json!({"threads": n, "images_per_s": rate}));
    }
    Ok(Value::Array(out))
}

/// Query latency: an indexed photo (stored vector), and a photo from outside the folder
/// (decoded and embedded on the spot).
fn measure_queries(library: &Library, indexed: &Path, query: &Path, tmp: &Path) -> Result<Value> {
    let outside = tmp.join(format!(
        "outside-query.{}",
        query.extension().and_then(|e| e.to_str()).unwrap_or("jpg")
    ));
    std::fs::copy(query, &outside).context("cannot copy the query image")?;
    let upright = photo_sim_engine::QueryOptions { rotations: false };
    let rotations = photo_sim_engine::QueryOptions::default();
    let latency =
        |path: &Path, options: &photo_sim_engine::QueryOptions, runs: usize| -> Result<f64> {
            library.search_with(path, 10, options)?;
            Ok(median_ms(
                (0..runs)
                    .map(|_| time(|| library.search_with(path, 10, options)).1)
                    .collect(),
            ))
        };
    let indexed_ms = latency(indexed, &upright, 50)?;
    let outside_ms = latency(&outside, &upright, 15)?;
    let indexed_rotations_ms = latency(indexed, &rotations, 15)?;
    let outside_rotations_ms = latency(&outside, &rotations, 15)?;
    eprintln!(
        "query: indexed {indexed_ms:.2} ms, from outside {outside_ms:.1} ms; with rotations {indexed_rotations_ms:.1} / {outside_rotations_ms:.1} ms"
    );
    let top10: Vec<String> = library
        .search(query, 10)?
        .iter()
        .map(|m| m.path.to_string_lossy().into_owned())
        .collect();
    Ok(json!({
        "indexed_ms": indexed_ms,
        "outside_ms": outside_ms,
        "indexed_rotations_ms": indexed_rotations_ms,
        "outside_rotations_ms": outside_rotations_ms,
        "top10": top10,
    }))
}

/// The exact scan on synthetic unit vectors of several collection sizes.
fn measure_exact_scan(dim: usize, sizes: &[usize]) -> Value {
    let rows = sizes.iter().map(|&size| {
        let data = synthetic(size, dim);
        let q = &data[..dim];
        let ms = median_ms(
            (0..20)
                .map(|_| time(|| exact(&data, dim, q, 10)).1)
                .collect(),
        );
        eprintln!("exact scan of {size}: {ms:.2} ms");
        json!({"vectors": size, "exact_scan_ms": ms})
    });
    Value::Array(rows.collect())
}

/// Build time, query time and recall@10 of an HNSW graph of `size` synthetic vectors.
fn measure_graph(dim: usize, size: usize) -> Value {
    if size == 0 {
        return Value::Null;
    }
    let data = synthetic(size, dim);
    let (g, build_s) = time(|| Graph::build(&data, dim, 0));
    let queries: Vec<&[f32]> = data.chunks_exact(dim).step_by(size / 50 + 1).collect();
    let ms = median_ms(queries.iter().map(|q| time(|| g.search(q, 10)).1).collect());
    let recall = queries
        .iter()
        .map(|q| {
            let want: Vec<usize> = exact(&data, dim, q, 10).iter().map(|r| r.0).collect();
            g.search(q, 10)
                .iter()
                .filter(|r| want.contains(&r.0))
                .count() as f64
                / 10.0
        })
        .sum::<f64>()
        / queries.len() as f64;
    eprintln!("graph of {size}: built in {build_s:.1} s, {ms:.2} ms/query, recall@10 {recall:.3}");
    json!({"vectors": size, "build_s": build_s, "query_ms": ms, "recall_at_10": recall})
}

/// The duplicates grouping (all pairs above the near-duplicate threshold, then groups) on
/// synthetic unit vectors, every tenth followed by a slightly moved copy of itself.
fn measure_grouping(dim: usize, sizes: &[usize]) -> Value {
    let rows = sizes.iter().map(|&size| {
        let mut data = synthetic(size, dim);
        for i in (0..size.saturating_sub(1)).step_by(10) {
            let (head, tail) = data.split_at_mut((i + 1) * dim);
            let copy = &mut tail[..dim];
            copy.copy_from_slice(&head[i * dim..]);
            copy[i % dim] += 0.3;
            photo_sim_engine::vector::normalize(copy);
        }
        let threshold = photo_sim_engine::labels::RMAC.near;
        let before = peak_rss_mb();
        let (groups, seconds) = time(|| {
            let most = size * photo_sim_engine::query::MAX_PAIRS_PER_PHOTO;
            let lists = photo_sim_engine::query::neighbours(&data, dim, threshold, most)
                .expect("a burst in ten and unrelated vectors are far from the most pairs");
            photo_sim_engine::query::group(&lists, |a, b| a.cmp(&b))
        });
        eprintln!(
            "grouping {size} vectors: {seconds:.2} s, {} groups, peak memory {:.0} MiB (data {:.0} MiB)",
            groups.len(),
            peak_rss_mb().max(before),
            (size * dim * 4) as f64 / (1 << 20) as f64
        );
        json!({"vectors": size, "seconds": seconds, "groups": groups.len(), "peak_rss_mb": peak_rss_mb()})
    });
    Value::Array(rows.collect())
}

/// A temporary data directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("photo-sim-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Deterministic pseudo-random unit vectors.
fn synthetic(n: usize, dim: usize) -> Vec<f32> {
    let mut data = photo_sim_engine::vector::uniform(0x9e3779b97f4a7c15, n * dim);
    data.par_chunks_exact_mut(dim)
        .for_each(photo_sim_engine::vector::normalize);
    data
}

/// The process's peak resident memory, in MiB (Linux; 0 elsewhere).
pub fn peak_rss_mb() -> f64 {
    memory_mb("VmHWM:")
}

/// Starts the peak of [`peak_rss_mb`] again from what the process holds now (Linux; nothing
/// elsewhere), so a stage's peak is its own, not that of the set-up before it.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's resident memory now, in MiB (Linux; 0 elsewhere).
pub fn rss_mb() -> f64 {
    memory_mb("VmRSS:")
}

/// A figure of `/proc/self/status` given in kB (`key` "VmHWM:"), in MiB.
fn memory_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
