//! The command line: argument parsing, progress bars and printing. No engine logic lives here.

use crate::progress::{CancelToken, Event, Summary};
use crate::{Library, Match, Model, Store};
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
    #[arg(long, global = true, env = crate::store::DATA_DIR_ENV, value_name = "DIR")]
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
        /// Print one JSON object: {"query": ..., "results": [{"path": ..., "similarity": ...}]}.
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

fn run(args: Args) -> Result<ExitCode> {
    let store = Store::new(args.data_dir.as_deref())?;
    let model = args.model.clone();
    let load_model = || -> Result<Arc<Model>> { Ok(Arc::new(Model::load(model.as_deref())?)) };
    match args.command {
        None => crate::app::run(store, args.model, None, None),
        Some(Command::Open { folder, query }) => {
            crate::app::run(store, args.model, Some(folder), query)
        }
        Some(Command::Index { folder, json }) => {
            let library = Library::open(&folder, &store, load_model()?)?;
            let summary = index_with_progress(&library)?;
            if json {
                println!("{}", summary_json(&library, &summary));
            } else {
                print_summary(&library, &summary);
            }
            Ok(if summary.cancelled {
                ExitCode::from(130)
            } else {
                ExitCode::SUCCESS
            })
        }
        Some(Command::Search {
            image,
            folder,
            k,
            json,
        }) => {
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
            let library = Library::open(&folder, &store, load_model()?)?;
            if !library.has_saved_index() {
                eprintln!(
                    "{} is not indexed yet; indexing it first.",
                    library.root().display()
                );
                let summary = index_with_progress(&library)?;
                if summary.cancelled {
                    bail!("indexing was cancelled");
                }
            }
            let matches = library.search(&query, k)?;
            if json {
                println!("{}", matches_json(&query, &matches));
            } else {
                for m in &matches {
                    println!("{:.4}  {}", m.similarity, m.path.display());
                }
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
        .find(|dir| store.index_dir(dir).join("vectors.bin").exists())
        .map(Path::to_path_buf)
}

/// Runs an update with a progress bar on stderr (drawn only on a terminal); Ctrl+C cancels
/// cleanly, keeping and saving what was embedded.
fn index_with_progress(library: &Library) -> Result<Summary> {
    for notice in library.notices() {
        eprintln!("note: {notice}");
    }
    let cancel = CancelToken::new();
    {
        let cancel = cancel.clone();
        // A second handler cannot be installed; that only happens when a process indexes twice.
        let _ = ctrlc::set_handler(move || {
            if cancel.is_cancelled() {
                std::process::exit(130);
            }
            eprintln!(
                "\ncancelling: saving what is embedded so far (Ctrl+C again to quit at once)"
            );
            cancel.cancel();
        });
    }
    let (tx, rx) = crossbeam_channel::unbounded();
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("static template"));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = std::thread::scope(|s| {
        let job = s.spawn(|| library.update(Some(&tx), &cancel));
        for event in rx.iter() {
            match event {
                Event::Scanning { found } => {
                    bar.set_message(format!("scanning: {found} images found"))
                }
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
                Event::Skipped(s) => {
                    bar.suspend(|| eprintln!("skipped {}: {}", s.path.display(), s.reason))
                }
                Event::Notice(n) => bar.suspend(|| eprintln!("note: {n}")),
                Event::BuildingGraph { points } => {
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg}").expect("static template"),
                    );
                    bar.set_message(format!(
                        "building the nearest-neighbour graph of {points} images"
                    ));
                }
                Event::Finished(_) => break,
            }
        }
        drop(rx);
        job.join().expect("the indexing thread panicked")
    });
    bar.finish_and_clear();
    result
}

fn print_summary(library: &Library, s: &Summary) {
    println!(
        "{} {}: {} images ({} embedded, {} reused, {} removed, {} skipped) in {:.1} s, {:.1} images/s",
        if s.cancelled { "Cancelled indexing" } else { "Indexed" },
        library.root().display(),
        s.indexed,
        s.embedded,
        s.reused,
        s.removed,
        s.skipped.len(),
        s.seconds,
        s.images_per_sec
    );
    if !s.skipped.is_empty() {
        println!("Skipped:");
        for k in &s.skipped {
            println!("  {}: {}", k.path.display(), k.reason);
        }
    }
}

fn lossy(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn summary_json(library: &Library, s: &Summary) -> serde_json::Value {
    serde_json::json!({
        "folder": lossy(library.root()),
        "indexed": s.indexed,
        "embedded": s.embedded,
        "reused": s.reused,
        "removed": s.removed,
        "cancelled": s.cancelled,
        "seconds": s.seconds,
        "images_per_sec": s.images_per_sec,
        "skipped": s.skipped.iter().map(|k| serde_json::json!({"path": lossy(&k.path), "reason": k.reason})).collect::<Vec<_>>(),
    })
}

/// The `search --json` object (paths lossily converted to UTF-8 where they are not).
pub fn matches_json(query: &Path, matches: &[Match]) -> serde_json::Value {
    serde_json::json!({
        "query": lossy(query),
        "results": matches.iter().map(|m| serde_json::json!({"path": lossy(&m.path), "similarity": m.similarity})).collect::<Vec<_>>(),
    })
}
