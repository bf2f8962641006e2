//! The command line: argument parsing, progress bars and printing. No engine logic lives here.

use crate::progress::{CancelToken, Event, Summary};
use crate::{run_update, IndexStatus, Library, Match, Model, Store, UpdateOptions};
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "photo-sim",
    version,
    about = "Find the photos that look like this one.",
    long_about = "Find the photos that look like this one.\n\nWith no command, opens the desktop browser."
)]
pub struct Args {
    /// Where indexes, caches and settings live (instead of the per-user directories).
    #[arg(long, global = true, env = crate::index::store::DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// An ONNX model to use instead of the built-in EfficientNet-Lite0.
    #[arg(long, global = true, env = crate::embed::MODEL_ENV, value_name = "FILE")]
    pub model: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build or update the index of a folder (only new or changed photos are embedded).
    Index {
        folder: PathBuf,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
        /// Remove missing photos from the index even when most of it vanished at once (without
        /// it, an empty or unmounted folder keeps its index).
        #[arg(long)]
        prune: bool,
    },
    /// Print the indexed photos most like an image (which may be outside the folder).
    Search {
        image: PathBuf,
        /// The indexed folder to search (default: the indexed folder that contains the image).
        #[arg(long)]
        folder: Option<PathBuf>,
        /// How many matches.
        #[arg(short, default_value_t = 10)]
        k: usize,
        /// Print one JSON object: {"query": ..., "results": [{"path": ..., "similarity": ...,
        /// "label": ..., "percentile": ..., "exists": ...}]}.
        #[arg(long)]
        json: bool,
        /// Only matches at least this alike: same (photo), near (duplicate), similar, related.
        #[arg(long, value_parser = parse_label)]
        min_label: Option<crate::query::labels::Label>,
        /// Compare the photo only as it is, not also turned by 90°, 180° and 270° (faster: one
        /// network run instead of four).
        #[arg(long)]
        no_rotations: bool,
    },
    /// Groups of duplicates and bursts in an indexed folder, largest first, each with the
    /// suggested keeper (most pixels, then the largest file, then the oldest).
    Duplicates {
        folder: PathBuf,
        /// How alike the members must be: same (photo), near (duplicate: same scene, moments
        /// apart) or similar.
        #[arg(long, value_parser = parse_label, default_value = "near", conflicts_with = "min_similarity")]
        level: crate::query::labels::Label,
        /// A similarity threshold instead of a level (0 to 1).
        #[arg(long)]
        min_similarity: Option<f32>,
        /// Print one JSON object: {"groups": [{"keeper": ..., "members": [...]}]}.
        #[arg(long)]
        json: bool,
    },
    /// Open the desktop browser on a folder, optionally with a query photo.
    Open {
        folder: PathBuf,
        #[arg(long)]
        query: Option<PathBuf>,
    },
    /// Measure indexing speed (decode, embed, end to end), query latency, index size and memory.
    Bench(crate::bench::BenchArgs),
}

/// Parses the arguments and runs the command; errors go to stderr with a non-zero exit code.
pub fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Exit code of a run stopped by Ctrl+C or SIGTERM (what was embedded is saved).
const CANCELLED: u8 = 130;

/// Ctrl+C, SIGTERM and SIGHUP all cancel cleanly: what was embedded so far is saved. A second
/// one quits at once. Installed before anything slow starts, so no signal finds it missing.
fn cancel_on_signals() -> CancelToken {
    let cancel = CancelToken::new();
    let token = cancel.clone();
    // Only fails if a handler exists already, which this process never installs twice.
    let _ = ctrlc::set_handler(move || {
        if token.is_cancelled() {
            std::process::exit(CANCELLED.into());
        }
        eprintln!("\ncancelling: saving what is embedded so far (Ctrl+C again to quit at once)");
        token.cancel();
    });
    cancel
}

/// Opens `folder`'s library for a command that reads the index (search, duplicates): a
/// folder not indexed yet, or whose index file cannot be used (named), is indexed first.
fn open_indexed(
    folder: &Path,
    store: &Store,
    model: Arc<Model>,
    cancel: &CancelToken,
) -> Result<Library> {
    let library = Library::open(folder, store, model)?;
    match library.status() {
        IndexStatus::Loaded => return Ok(library),
        IndexStatus::Missing => eprintln!(
            "{} is not indexed yet; indexing it first.",
            shown(library.root())
        ),
        IndexStatus::Unusable { file, reason } => eprintln!(
            "The index file {} cannot be used ({reason}); rebuilding it first.",
            shown(file)
        ),
    }
    if index_with_progress(&library, &UpdateOptions::default(), cancel)?.cancelled {
        bail!("indexing was cancelled");
    }
    Ok(library)
}

/// Lets a command whose output is cut short (`photo-sim search … | head -1`) end quietly as
/// Unix tools do, instead of panicking on the broken pipe. Not for the window, whose portal
/// and display connections are sockets too.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring a signal's default action, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn run(args: Args) -> Result<ExitCode> {
    if matches!(
        args.command,
        Some(
            Command::Index { .. }
                | Command::Search { .. }
                | Command::Duplicates { .. }
                | Command::Bench(_)
        )
    ) {
        quiet_on_closed_pipe();
    }
    let store = Store::new(args.data_dir.as_deref())?;
    let model = args.model.clone();
    let load_model = || -> Result<Arc<Model>> { Ok(Arc::new(Model::load(model.as_deref())?)) };
    match args.command {
        None => crate::app::run(store, args.model, None, None),
        Some(Command::Open { folder, query }) => {
            crate::app::run(store, args.model, Some(folder), query)
        }
        Some(Command::Index {
            folder,
            json,
            prune,
        }) => {
            let cancel = cancel_on_signals();
            let library = Library::open(&folder, &store, load_model()?)?;
            let summary = index_with_progress(&library, &UpdateOptions { prune }, &cancel)?;
            if json {
                println!("{}", summary_json(&library, &summary));
            } else {
                print_summary(&library, &summary);
            }
            Ok(if summary.cancelled {
                ExitCode::from(CANCELLED)
            } else {
                ExitCode::SUCCESS
            })
        }
        Some(Command::Search {
            image,
            folder,
            k,
            json,
            min_label,
            no_rotations,
        }) => {
            let cancel = cancel_on_signals();
            let query = image
                .canonicalize()
                .with_context(|| format!("cannot open the query image {}", image.display()))?;
            let folder = match folder {
                Some(f) => f,
                None => indexed_ancestor(&store, &query).with_context(|| {
                    format!(
                        "no indexed folder contains {}; pass --folder <folder>",
                        query.display()
                    )
                })?,
            };
            let library = open_indexed(&folder, &store, load_model()?, &cancel)?;
            let options = crate::QueryOptions {
                rotations: !no_rotations,
            };
            let mut matches = library.search_with(&query, k, &options)?;
            if let Some(min) = min_label {
                if library.model().thresholds().is_none() {
                    bail!("--min-label needs the built-in model (its similarity thresholds were measured; this model's were not)");
                }
                matches.retain(|m| m.label.is_some_and(|l| l >= min));
            }
            let missing = matches.iter().filter(|m| !m.exists).count();
            if missing > 0 {
                eprintln!(
                    "note: {missing} of these matches no longer exist on disk (deleted, or the folder is not mounted); `photo-sim index` updates the index."
                );
            }
            if json {
                println!("{}", matches_json(&query, &matches));
            } else {
                for m in &matches {
                    let gone = if m.exists { "" } else { "  (missing)" };
                    let label = m.label.map_or("", |l| l.words());
                    let rank = m
                        .percentile
                        .map_or(String::new(), |p| format!("closer than {p:.2}% of pairs"));
                    println!(
                        "{:.4}  {label:<15}  {rank:<29}  {}{gone}",
                        m.similarity,
                        shown(&m.path)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Duplicates {
            folder,
            level,
            min_similarity,
            json,
        }) => {
            let cancel = cancel_on_signals();
            let library = open_indexed(&folder, &store, load_model()?, &cancel)?;
            let threshold = match (min_similarity, library.model().thresholds()) {
                (Some(t), _) => t,
                (None, Some(t)) => t.floor(level),
                (None, None) => {
                    bail!("this model's similarity levels were not measured; pass --min-similarity")
                }
            };
            let groups = library.duplicates(threshold);
            if json {
                println!("{}", duplicates_json(&groups, threshold));
            } else {
                print_duplicates(&groups, threshold);
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Bench(bench)) => {
            crate::bench::run(&bench, load_model()?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The nearest folder above `image` (or the folder itself) that has an index.
fn indexed_ancestor(store: &Store, image: &Path) -> Option<PathBuf> {
    image
        .ancestors()
        .skip(1)
        .find(|dir| store.index_dir(dir).is_dir())
        .map(Path::to_path_buf)
}

/// Runs an update with a progress bar on stderr (drawn only on a terminal); `cancel` stops it
/// cleanly, keeping and saving what was embedded.
fn index_with_progress(
    library: &Library,
    options: &UpdateOptions,
    cancel: &CancelToken,
) -> Result<Summary> {
    for notice in library.notices() {
        eprintln!("note: {notice}");
    }
    let bar = ProgressBar::new_spinner();
    let spinner = || ProgressStyle::with_template("{spinner} {msg}").expect("static template");
    bar.set_style(spinner());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = run_update(library, options, cancel, |event| match event {
        Event::Scanning { found } => bar.set_message(format!("scanning: {found} images found")),
        Event::Planned {
            to_embed, reused, ..
        } => {
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} embedded, {msg} [{elapsed_precise}, ETA {eta}]",
                )
                .expect("static template"),
            );
            bar.set_length(to_embed as u64);
            bar.set_message(format!("{reused} reused"));
        }
        Event::Progress {
            done,
            images_per_sec,
            ..
        } => {
            bar.set_position(done as u64);
            bar.set_message(format!("{images_per_sec:.1} images/s"));
        }
        Event::Skipped(s) => bar.suspend(|| eprintln!("skipped {}: {}", shown(&s.path), s.reason)),
        Event::Notice(n) => bar.suspend(|| eprintln!("note: {n}")),
        Event::Saved { .. } => {}
        Event::BuildingGraph { points } => {
            bar.set_style(spinner());
            bar.set_message(format!(
                "building the nearest-neighbour graph of {points} images"
            ));
        }
    });
    bar.finish_and_clear();
    Ok(result?)
}

fn print_summary(library: &Library, s: &Summary) {
    println!(
        "{} {}: {} images ({} embedded, {} reused{}, {} removed, {} skipped) in {:.1} s, {:.1} images/s",
        if s.cancelled { "Cancelled indexing" } else { "Indexed" },
        shown(library.root()),
        s.indexed,
        s.embedded,
        s.reused,
        s.known_by_content(),
        s.removed,
        s.skipped.len(),
        s.seconds,
        s.images_per_sec
    );
    if s.kept_missing > 0 {
        println!(
            "Kept {} photos whose files are missing (most of the index at once: is the folder mounted?). If they were deleted: photo-sim index --prune {}",
            s.kept_missing,
            shown(library.root())
        );
    }
    if !s.skipped.is_empty() {
        println!("Skipped:");
        for k in &s.skipped {
            println!("  {}: {}", shown(&k.path), k.reason);
        }
    }
}

/// `--min-label`: a label's short name (same, near, similar, related) or its words.
fn parse_label(text: &str) -> Result<crate::query::labels::Label, String> {
    crate::query::labels::Label::ALL
        .into_iter()
        .find(|l| l.key() == text || l.words() == text)
        .ok_or_else(|| "one of: same, near, similar, related, unrelated".to_string())
}

/// A path for a line of text: as it is when it is UTF-8 without control characters, otherwise
/// in double quotes with escapes (`\n`, `\xe9`), so one path is always one line and the bytes
/// can be recovered.
pub fn shown(path: &Path) -> String {
    let bytes = crate::index::store::path_bytes(path);
    match std::str::from_utf8(&bytes) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_string(),
        _ => format!("\"{}\"", bytes.escape_ascii()),
    }
}

/// A path in JSON: `path` is always a string (with U+FFFD where the name is not UTF-8); a
/// name that is not UTF-8 also gets `path_bytes`, its exact bytes as an array of numbers.
fn path_fields(key: &str, path: &Path) -> serde_json::Map<String, serde_json::Value> {
    let mut map = serde_json::Map::new();
    map.insert(key.into(), path.to_string_lossy().into_owned().into());
    if path.to_str().is_none() {
        let bytes = crate::index::store::path_bytes(path).into_owned();
        map.insert(format!("{key}_bytes"), bytes.into());
    }
    map
}

fn summary_json(library: &Library, s: &Summary) -> serde_json::Value {
    let mut out = path_fields("folder", library.root());
    let fields = serde_json::json!({
        "indexed": s.indexed,
        "embedded": s.embedded,
        "reused": s.reused,
        "moved": s.moved,
        "shared": s.shared,
        "removed": s.removed,
        "kept_missing": s.kept_missing,
        "vanished": s.vanished,
        "changed": s.changed,
        "cancelled": s.cancelled,
        "seconds": s.seconds,
        "images_per_sec": s.images_per_sec,
        "bytes_written": s.bytes_written,
        "skipped": s.skipped.iter().map(|k| {
            let mut m = path_fields("path", &k.path);
            m.insert("reason".into(), k.reason.clone().into());
            serde_json::Value::Object(m)
        }).collect::<Vec<_>>(),
    });
    if let serde_json::Value::Object(fields) = fields {
        out.extend(fields);
    }
    serde_json::Value::Object(out)
}

/// The `search --json` object.
pub fn matches_json(query: &Path, matches: &[Match]) -> serde_json::Value {
    let mut out = path_fields("query", query);
    let results = matches
        .iter()
        .map(|m| {
            let mut r = path_fields("path", &m.path);
            r.insert("similarity".into(), m.similarity.into());
            if let Some(label) = m.label {
                r.insert("label".into(), label.words().into());
            }
            if let Some(p) = m.percentile {
                r.insert("percentile".into(), p.into());
            }
            r.insert("exists".into(), m.exists.into());
            r.insert("identical".into(), m.identical.into());
            serde_json::Value::Object(r)
        })
        .collect::<Vec<_>>();
    out.insert("results".into(), results.into());
    serde_json::Value::Object(out)
}

/// A time in nanoseconds since 1970 as `YYYY-MM-DD HH:MM` (UTC).
fn date(ns: i128) -> String {
    crate::decode::details::utc_date(ns.div_euclid(1_000_000_000) as i64)
}

fn photo_line(p: &crate::Photo) -> String {
    let size = p
        .pixels
        .map_or("?×?".to_string(), |(w, h)| format!("{w}×{h}"));
    format!(
        "{}  {size}  {}  {}",
        shown(&p.path),
        crate::decode::details::size_text(p.bytes),
        date(p.modified_ns)
    )
}

fn print_duplicates(groups: &[crate::DuplicateGroup], threshold: f32) {
    let photos: usize = groups.iter().map(|g| g.members.len() + 1).sum();
    let reclaimable: u64 = groups.iter().map(|g| g.reclaimable()).sum();
    println!(
        "{} groups, {photos} photos, {} reclaimable (similarity ≥ {threshold:.2}; keeper: most pixels, then the largest file, then the oldest)",
        groups.len(),
        crate::decode::details::size_text(reclaimable)
    );
    for (i, g) in groups.iter().enumerate() {
        println!("\nGroup {} ({} photos)", i + 1, g.members.len() + 1);
        println!("  keep    {}", photo_line(&g.keeper));
        for (p, s) in &g.members {
            if p.identical_to(&g.keeper) {
                println!("  {s:.4}  {}  (identical copy)", photo_line(p));
            } else {
                println!("  {s:.4}  {}", photo_line(p));
            }
        }
    }
}

fn photo_json(p: &crate::Photo) -> serde_json::Map<String, serde_json::Value> {
    let mut m = path_fields("path", &p.path);
    if let Some((w, h)) = p.pixels {
        m.insert("width".into(), w.into());
        m.insert("height".into(), h.into());
    }
    m.insert("bytes".into(), p.bytes.into());
    m.insert("date".into(), date(p.modified_ns).into());
    m
}

/// The `duplicates --json` object.
fn duplicates_json(groups: &[crate::DuplicateGroup], threshold: f32) -> serde_json::Value {
    let groups: Vec<serde_json::Value> = groups
        .iter()
        .map(|g| {
            let members: Vec<serde_json::Value> = g
                .members
                .iter()
                .map(|(p, s)| {
                    let mut m = photo_json(p);
                    m.insert("similarity".into(), (*s).into());
                    m.insert("identical".into(), p.identical_to(&g.keeper).into());
                    serde_json::Value::Object(m)
                })
                .collect();
            serde_json::json!({"keeper": photo_json(&g.keeper), "members": members})
        })
        .collect();
    serde_json::json!({"min_similarity": threshold, "groups": groups})
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(super::date(0), "1970-01-01 00:00");
        assert_eq!(super::date(951_782_400 * 1_000_000_000), "2000-02-29 00:00");
        assert_eq!(
            super::date(1_764_084_180 * 1_000_000_000),
            "2025-11-25 15:23"
        );
    }
}
