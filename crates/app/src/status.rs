//! What the status line says, in words: the indexing state beside its spinner or progress
//! bar, the summary of the last run, and the missing-photos notice. Kept out of the drawing
//! code so the wording is tested without a window.

use super::state::Indexing;
use photo_sim_engine::Summary;
use std::time::Duration;

/// The words beside the spinner or inside the progress bar; `None` when idle.
pub fn indexing_words(indexing: &Indexing) -> Option<String> {
    Some(match indexing {
        Indexing::Idle => return None,
        Indexing::Opening => "Loading the model and the index…".into(),
        Indexing::Scanning { found } => format!("Scanning: {found} images found"),
        Indexing::Embedding {
            done,
            to_embed,
            total,
            images_per_sec,
            eta,
        } => {
            let mut text = format!("Indexing {done}/{to_embed}");
            if to_embed < total {
                text += &format!(" (of {total}, rest unchanged)");
            }
            if *images_per_sec > 0.0 {
                text += &format!(" · {images_per_sec:.1} images/s");
            }
            if let Some(eta) = eta {
                text += &format!(" · ETA {}", eta_words(*eta));
            }
            text
        }
        Indexing::Compacting { done, total } => {
            format!("Preparing fast search: {done}/{total} photos coded")
        }
        Indexing::BuildingGraph { points } => {
            format!("Building the nearest-neighbour graph of {points} photos…")
        }
        Indexing::Cancelling => "Cancelling: saving what is embedded so far…".into(),
    })
}

/// How far embedding (or coding) has come, 0 to 1, while a progress bar shows it.
pub fn embedding_fraction(indexing: &Indexing) -> Option<f32> {
    match indexing {
        Indexing::Embedding { to_embed: 0, .. } | Indexing::Compacting { total: 0, .. } => {
            Some(1.0)
        }
        Indexing::Embedding { done, to_embed, .. } => Some(*done as f32 / *to_embed as f32),
        Indexing::Compacting { done, total } => Some(*done as f32 / *total as f32),
        _ => None,
    }
}

/// The last run, in one line: "Up to date: 3 embedded, 97 reused in 1.2 s".
pub fn summary_words(s: &Summary) -> String {
    let what = if s.cancelled {
        "Indexing cancelled"
    } else {
        "Up to date"
    };
    format!(
        "{what}: {} embedded, {} reused in {:.1} s{}",
        s.embedded,
        s.reused,
        s.seconds,
        s.known_without_embedding()
    )
}

/// Why photos that vanished are still indexed, and what to do if they were deleted.
pub fn missing_words(missing: usize) -> String {
    format!(
        "{missing} indexed photos are missing from the folder (is it on a drive that is not mounted?). They are kept until you say they were deleted."
    )
}

/// A time left, as a person reads it: "45s", "3m05s", "1h02m".
fn eta_words(eta: Duration) -> String {
    let s = eta.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_says_how_far_how_fast_and_how_long() {
        let embedding = Indexing::Embedding {
            done: 30,
            to_embed: 120,
            total: 1000,
            images_per_sec: 41.26,
            eta: Some(Duration::from_secs(185)),
        };
        assert_eq!(
            indexing_words(&embedding).unwrap(),
            "Indexing 30/120 (of 1000, rest unchanged) · 41.3 images/s · ETA 3m05s"
        );
        assert_eq!(embedding_fraction(&embedding), Some(0.25));
        let starting = Indexing::Embedding {
            done: 0,
            to_embed: 0,
            total: 0,
            images_per_sec: 0.0,
            eta: None,
        };
        assert_eq!(indexing_words(&starting).unwrap(), "Indexing 0/0");
        assert_eq!(embedding_fraction(&starting), Some(1.0));
        assert_eq!(indexing_words(&Indexing::Idle), None);
        assert_eq!(embedding_fraction(&Indexing::Scanning { found: 3 }), None);
        let coding = Indexing::Compacting {
            done: 30_000,
            total: 120_000,
        };
        assert_eq!(embedding_fraction(&coding), Some(0.25));
        assert_eq!(
            indexing_words(&coding).as_deref(),
            Some("Preparing fast search: 30000/120000 photos coded")
        );
        assert_eq!(
            indexing_words(&Indexing::Scanning { found: 3 }).unwrap(),
            "Scanning: 3 images found"
        );
        assert_eq!(eta_words(Duration::from_secs(3720)), "1h02m");
        assert_eq!(eta_words(Duration::from_secs(45)), "45s");
    }

    #[test]
    fn the_summary_says_whether_the_run_finished() {
        let mut s = Summary {
            embedded: 3,
            reused: 97,
            seconds: 1.24,
            ..Summary::default()
        };
        assert_eq!(
            summary_words(&s),
            "Up to date: 3 embedded, 97 reused in 1.2 s"
        );
        s.cancelled = true;
        assert!(summary_words(&s).starts_with("Indexing cancelled: 3 embedded"));
    }
}
