//! The command line: argument parsing, progress bars and printing. No engine logic lives here.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use photo_sim_engine::{run_update, IndexStatus, Library, Match, Model, Store, UpdateOptions};
use photo_sim_engine::{CancelToken, Event, Summary};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "photo-sim",
    version,
    about = "Find the photos that look like this one.",
    long_about = "Find the photos that look like this one.\n\nWith no command, opens the desktop browser."
)]
pub struct Args {
    /// Where indexes, caches and settings live (instead of the per-user directories).
    #[arg(long, global = true, env = photo_sim_engine::index::DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// An ONNX model to use instead of the built-in EfficientNet-Lite0.
    #[arg(long, global = true, env = photo_sim_engine::embed::MODEL_ENV, value_name = "FILE")]
    pub model: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build or update the index of a folder (only new or changed photos are embedded).
    Index(IndexArgs),
    /// Print the indexed photos most like an image (which may be outside the folder).
    Search(SearchArgs),
    /// Groups of duplicates and bursts in an indexed folder, largest first, each with the
    /// suggested keeper (chosen by --keep: most pixels by default, then the largest file, then
    /// the oldest by the camera's date, else the file's).
    Duplicates(DuplicatesArgs),
    /// Open the desktop browser on a folder, optionally with a query photo.
    Open {
        folder: PathBuf,
        #[arg(long)]
        query: Option<PathBuf>,
    },
    /// Measure indexing speed (decode, embed, end to end), query latency, index size and memory.
    Bench(crate::bench::BenchArgs),
}

#[derive(clap::Args, Debug)]
pub struct IndexArgs {
    pub folder: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Remove missing photos from the index even when most of it vanished at once (without
    /// it, an empty or unmounted folder keeps its index).
    #[arg(long)]
    pub prune: bool,
}

#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    pub image: PathBuf,
    /// The indexed folder to search (default: the indexed folder that contains the image).
    #[arg(long)]
    pub folder: Option<PathBuf>,
    /// How many matches.
    #[arg(short, default_value_t = 10)]
    pub k: usize,
    /// Print one JSON object: {"query": ..., "results": [{"path": ..., "similarity": ...,
    /// "label": ..., "percentile": ..., "exists": ...}]}.
    #[arg(long)]
    pub json: bool,
    /// Only matches at least this alike: same (photo), near (duplicate), similar, related.
    #[arg(long, value_parser = parse_label)]
    pub min_label: Option<photo_sim_engine::labels::Label>,
    /// Compare the photo only as it is, not also turned by 90°, 180° and 270° (faster: one
    /// network run instead of four).
    #[arg(long)]
    pub no_rotations: bool,
}

#[derive(clap::Args, Debug)]
pub struct DuplicatesArgs {
    pub folder: PathBuf,
    /// How alike the members must be: same (photo), near (duplicate: same scene, moments
    /// apart) or similar.
    #[arg(long, value_parser = parse_level, default_value = "near", conflicts_with = "min_similarity")]
    pub level: photo_sim_engine::labels::Label,
    /// A similarity threshold instead of a level (0 to 1).
    #[arg(long, value_parser = parse_similarity, allow_negative_numbers = true)]
    pub min_similarity: Option<f32>,
    /// Print one JSON object: {"groups": [{"keeper": ..., "members": [...]}]}.
    #[arg(long)]
    pub json: bool,
    /// A reference folder (may be repeated): its photos are always the keepers, never
    /// offered for removal.
    #[arg(long, value_name = "FOLDER")]
    pub reference: Vec<PathBuf>,
    /// What chooses each group's keeper after the reference folders: pixels (the most),
    /// largest (file) or oldest (by the camera's date, else the file's).
    #[arg(long, value_parser = parse_keep, default_value = "pixels")]
    pub keep: photo_sim_engine::library::Prefer,
    /// Keep a camera original (RAW, HEIC) before a JPEG or other conversion.
    #[arg(long)]
    pub originals_first: bool,
    /// Also show the groups that decisions made in the app ("not duplicates", "keep all")
    /// keep apart.
    #[arg(long)]
    pub all: bool,
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
/// folder not indexed yet, or whose index file cannot be used (named), is indexed first,
/// unless another process is indexing it already (see [`beside_another_indexer`]).
fn open_indexed(
    folder: &Path,
    store: &Store,
    model: Arc<Model>,
    cancel: &CancelToken,
) -> Result<Library> {
    let mut library = Library::open(folder, store, model.clone())?;
    if *library.status() != IndexStatus::Loaded && library.update_running() {
        if beside_another_indexer(&library, cancel)? {
            return Ok(library);
        }
        // It ended meanwhile: start from what it left.
        library = Library::open(folder, store, model)?;
    }
    match library.status() {
        IndexStatus::Loaded => return Ok(library),
        IndexStatus::Missing => eprintln!(
            "{} is not indexed yet; indexing it first.",
            shown(library.root())
        ),
        IndexStatus::Damaged { file, lost } => eprintln!(
            "Part of the index file {} was damaged: embedding its {lost} photos again first.",
            shown(file)
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

/// How long a command waits for another process's first checkpoint before giving up.
const FIRST_CHECKPOINT_WAIT: Duration = Duration::from_secs(5);

/// While another process builds the first index of `library`, this one cannot index it
/// (the other holds the lock, perhaps stopped for good): answers from that process's
/// checkpoints, saying that the answer is partial, or fails after a few seconds without any.
/// `Ok(false)` when the other process ended meanwhile.
fn beside_another_indexer(library: &Library, cancel: &CancelToken) -> Result<bool> {
    let deadline = Instant::now() + FIRST_CHECKPOINT_WAIT;
    loop {
        let running = library.update_running();
        library.reload_if_changed();
        if !running {
            return Ok(false);
        }
        if !library.is_empty() {
            eprintln!(
                "note: another photo-sim process is indexing {}: this answer is partial, from the {} photos it has indexed so far.",
                shown(library.root()),
                library.len()
            );
            return Ok(true);
        }
        if cancel.is_cancelled() {
            bail!("cancelled while another photo-sim process indexes this folder");
        }
        if Instant::now() >= deadline {
            bail!(
                "another photo-sim process is indexing {} and has saved nothing yet; try again when it finishes",
                shown(library.root())
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
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
        Some(Command::Index(_) | Command::Search(_) | Command::Duplicates(_) | Command::Bench(_))
    ) {
        quiet_on_closed_pipe();
    }
    let setup = Setup {
        store: Store::new(args.data_dir.as_deref())?,
        model: args.model,
    };
    match args.command {
        None => photo_sim_app::run(setup.store, setup.model, None, None),
        Some(Command::Open { folder, query }) => {
            photo_sim_app::run(setup.store, setup.model, Some(folder), query)
        }
        Some(Command::Index(a)) => index(&setup, a),
        Some(Command::Search(a)) => search(&setup, a),
        Some(Command::Duplicates(a)) => duplicates(&setup, a),
        Some(Command::Bench(bench)) => {
            crate::bench::run(&bench, setup.load_model()?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What every command starts from: where files live and which model to load.
struct Setup {
    store: Store,
    model: Option<PathBuf>,
}

impl Setup {
    /// The model, loaded when a command needs it (the window loads its own in the background).
    fn load_model(&self) -> Result<Arc<Model>> {
        Ok(Arc::new(Model::load(self.model.as_deref())?))
    }
}

/// `photo-sim index`: builds or updates the index with a progress bar, then the summary.
fn index(setup: &Setup, args: IndexArgs) -> Result<ExitCode> {
    let cancel = cancel_on_signals();
    let library = Library::open(&args.folder, &setup.store, setup.load_model()?)?;
    let options = UpdateOptions { prune: args.prune };
    let summary = index_with_progress(&library, &options, &cancel)?;
    if args.json {
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

/// `photo-sim search`: the matches of one photo in the folder given or the indexed one
/// holding it.
fn search(setup: &Setup, args: SearchArgs) -> Result<ExitCode> {
    let cancel = cancel_on_signals();
    let query = args
        .image
        .canonicalize()
        .with_context(|| format!("cannot open the query image {}", args.image.display()))?;
    let folder = match args.folder {
        Some(f) => f,
        None => indexed_ancestor(&setup.store, &query).with_context(|| {
            format!(
                "no indexed folder contains {}; pass --folder <folder>",
                query.display()
            )
        })?,
    };
    let library = open_indexed(&folder, &setup.store, setup.load_model()?, &cancel)?;
    if library.is_empty() {
        bail!(
            "no photos are indexed in {}: nothing to compare with (photos added since? run photo-sim index)",
            shown(library.root())
        );
    }
    let options = photo_sim_engine::QueryOptions {
        rotations: !args.no_rotations,
    };
    let mut matches = library.search_with(&query, args.k, &options)?;
    if let Some(min) = args.min_label {
        if library.model().thresholds().is_none() {
            bail!("--min-label needs the built-in model (its similarity thresholds were measured; this model's were not)");
        }
        matches.retain(|m| m.label.is_some_and(|l| l >= min));
        if matches.is_empty() {
            eprintln!("note: no match is at least \"{}\"", min.words());
        }
    }
    let missing = matches.iter().filter(|m| !m.exists).count();
    if missing > 0 {
        eprintln!(
            "note: {missing} of these matches no longer exist on disk (deleted, or the folder is not mounted); `photo-sim index` updates the index."
        );
    }
    if args.json {
        println!("{}", matches_json(&query, &matches));
    } else {
        print_matches(&matches);
    }
    Ok(ExitCode::SUCCESS)
}

/// One line a match: similarity, label, rank in the library, path.
fn print_matches(matches: &[Match]) {
    for m in matches {
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

/// `photo-sim duplicates`: the groups of copies at a level or a similarity given.
fn duplicates(setup: &Setup, args: DuplicatesArgs) -> Result<ExitCode> {
    let cancel = cancel_on_signals();
    let library = open_indexed(&args.folder, &setup.store, setup.load_model()?, &cancel)?;
    let threshold = match (args.min_similarity, library.model().thresholds()) {
        (Some(t), _) => t,
        (None, Some(t)) => t.floor(args.level),
        (None, None) => {
            bail!("this model's similarity levels were not measured; pass --min-similarity")
        }
    };
    let reference = args
        .reference
        .iter()
        .map(|r| {
            r.canonicalize()
                .with_context(|| format!("cannot open the reference folder {}", r.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let rule = photo_sim_engine::KeeperRule {
        reference,
        originals_first: args.originals_first,
        prefer: args.keep,
    };
    let apart = if args.all {
        Default::default()
    } else {
        library.decisions().unwrap_or_else(|e| {
            eprintln!("warning: {e}; showing every group");
            Default::default()
        })
    };
    let groups = library.pairs(threshold)?.groups(threshold, &rule, &apart);
    if !apart.is_empty() {
        eprintln!(
            "note: {} made in the app keep photos apart (--all shows them)",
            counted(apart.len(), "decision")
        );
    }
    if args.json {
        println!("{}", duplicates_json(&groups, threshold));
    } else {
        print_duplicates(&groups, threshold, &rule);
    }
    Ok(ExitCode::SUCCESS)
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
        // Listed once, in the summary.
        Event::Skipped(_) => {}
        Event::Notice(n) => bar.suspend(|| eprintln!("note: {n}")),
        Event::Saved { .. } => {}
        Event::Compacting { done: 0, total } => {
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [ETA {eta}]")
                    .expect("static template"),
            );
            bar.set_length(total as u64);
            bar.set_position(0);
            bar.set_message("coded for fast search");
        }
        Event::Compacting { done, .. } => bar.set_position(done as u64),
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
    // A rate says something only about a run that embedded.
    let rate = if s.embedded > 0 {
        format!(", {:.1} images/s", s.images_per_sec)
    } else {
        String::new()
    };
    println!(
        "{} {}: {} images ({} embedded, {} reused{}, {} removed, {} skipped) in {:.1} s{rate}",
        if s.cancelled {
            "Cancelled indexing"
        } else {
            "Indexed"
        },
        shown(library.root()),
        s.indexed,
        s.embedded,
        s.reused,
        s.known_without_embedding(),
        s.removed,
        s.skipped.len(),
        s.seconds,
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

/// "1 group", "3 groups".
fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `duplicates --keep`: pixels, largest or oldest.
fn parse_keep(text: &str) -> Result<photo_sim_engine::library::Prefer, String> {
    use photo_sim_engine::library::Prefer;
    match text {
        "pixels" => Ok(Prefer::MostPixels),
        "largest" => Ok(Prefer::Largest),
        "oldest" => Ok(Prefer::Oldest),
        _ => Err("expected pixels, largest or oldest".to_string()),
    }
}

/// `duplicates --level`: same, near or similar (or their words); looser labels would group
/// photos that are not duplicates.
fn parse_level(text: &str) -> Result<photo_sim_engine::labels::Label, String> {
    use photo_sim_engine::labels::Label;
    parse_label(text)
        .ok()
        .filter(|l| *l >= Label::Similar)
        .ok_or_else(|| "one of: same, near, similar".to_string())
}

/// `--min-label`: a label's short name (same, near, similar, related) or its words.
fn parse_label(text: &str) -> Result<photo_sim_engine::labels::Label, String> {
    photo_sim_engine::labels::Label::ALL
        .into_iter()
        .find(|l| l.key() == text || l.words() == text)
        .ok_or_else(|| "one of: same, near, similar, related, unrelated".to_string())
}

/// A similarity threshold as typed: a number from 0 to 1 (NaN, which no similarity reaches,
/// and the infinities are refused with the rest).
fn parse_similarity(text: &str) -> Result<f32, String> {
    text.parse::<f32>()
        .ok()
        .filter(|t| (0.0..=1.0).contains(t))
        .ok_or_else(|| "a number from 0 to 1 (such as 0.9)".to_string())
}

/// A path for a line of text: as it is when it is UTF-8 without control characters, otherwise
/// in double quotes with escapes (`\n`, `\xe9`), so one path is always one line and the bytes
/// can be recovered.
pub fn shown(path: &Path) -> String {
    let bytes = photo_sim_engine::index::path_bytes(path);
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
        let bytes = photo_sim_engine::index::path_bytes(path).into_owned();
        map.insert(format!("{key}_bytes"), bytes.into());
    }
    map
}

fn summary_json(library: &Library, s: &Summary) -> serde_json::Value {
    let mut out = path_fields("folder", library.root());
    let fields = serde_json::json!({
        "indexed": s.indexed,
        "embedded": s.embedded,
        "recovered": s.recovered,
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

fn photo_line(p: &photo_sim_engine::Photo) -> String {
    let size = p
        .pixels
        .map_or("?×?".to_string(), |(w, h)| format!("{w}×{h}"));
    format!(
        "{}  {size}  {}  {}",
        shown(&p.path),
        photo_sim_engine::decode::details::size_text(p.bytes),
        p.date()
    )
}

fn print_duplicates(
    groups: &[photo_sim_engine::DuplicateGroup],
    threshold: f32,
    rule: &photo_sim_engine::KeeperRule,
) {
    let photos: usize = groups.iter().map(|g| g.members.len() + 1).sum();
    let reclaimable: u64 = groups.iter().map(|g| g.reclaimable()).sum();
    println!(
        "{}, {photos} photos, {} reclaimable (similarity ≥ {threshold:.2}; keeper: {})",
        counted(groups.len(), "group"),
        photo_sim_engine::decode::details::size_text(reclaimable),
        rule.describe()
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

fn photo_json(p: &photo_sim_engine::Photo) -> serde_json::Map<String, serde_json::Value> {
    let mut m = path_fields("path", &p.path);
    if let Some((w, h)) = p.pixels {
        m.insert("width".into(), w.into());
        m.insert("height".into(), h.into());
    }
    m.insert("bytes".into(), p.bytes.into());
    m.insert("date".into(), p.date().into());
    m
}

/// The `duplicates --json` object.
fn duplicates_json(
    groups: &[photo_sim_engine::DuplicateGroup],
    threshold: f32,
) -> serde_json::Value {
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
