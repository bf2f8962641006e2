//! Similarity in words. A raw cosine means little to a person (and different things for
//! different models), so each match gets a label read from thresholds measured, not guessed:
//! `photo-sim bench --quality` makes edited copies of real photos and measures how similar a
//! copy stays to its original, and how similar unrelated photos are; the thresholds are taken
//! from those distributions by the rule in [`Thresholds::from_quality`].

use crate::index::rows::RowSource;
use serde_json::Value;

/// How alike two photos are, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    /// As alike as most pairs of unrelated photos: nothing to say.
    Unrelated,
    /// Closer than 99 % of unrelated pairs: something in common.
    Related,
    /// Closer than any but the rarest unrelated pairs.
    Similar,
    /// The same scene: cropped, blurred, scaled down, or a frame of the same burst.
    NearDuplicate,
    /// The same photo: resized, re-compressed, colour-shifted, turned or mirrored.
    SamePhoto,
}

impl Label {
    /// Every label, strongest first (the order a menu lists them in).
    pub const ALL: [Label; 5] = [
        Label::SamePhoto,
        Label::NearDuplicate,
        Label::Similar,
        Label::Related,
        Label::Unrelated,
    ];

    /// The words shown to a person.
    pub fn words(self) -> &'static str {
        match self {
            Label::SamePhoto => "same photo",
            Label::NearDuplicate => "near-duplicate",
            Label::Similar => "similar",
            Label::Related => "loosely related",
            Label::Unrelated => "unrelated",
        }
    }

    /// The short name used on the command line and in JSON.
    pub fn key(self) -> &'static str {
        match self {
            Label::SamePhoto => "same",
            Label::NearDuplicate => "near",
            Label::Similar => "similar",
            Label::Related => "related",
            Label::Unrelated => "unrelated",
        }
    }

    /// The label whose [`Label::key`] is `key` (`None` for an unknown word).
    pub fn from_key(key: &str) -> Option<Label> {
        Label::ALL.into_iter().find(|l| l.key() == key)
    }
}

/// The lowest similarity of each label.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// From here on: [`Label::SamePhoto`].
    pub same: f32,
    /// From here on: [`Label::NearDuplicate`].
    pub near: f32,
    /// From here on: [`Label::Similar`].
    pub similar: f32,
    /// From here on: [`Label::Related`]; below it, [`Label::Unrelated`].
    pub related: f32,
}

/// Edits that keep the photo itself (its "same photo" copies).
const LIGHT_EDITS: [&str; 5] = ["jpeg30", "colour", "mirror", "rot10", "rot90"];
/// Edits that keep the scene but lose part of the photo.
const HEAVY_EDITS: [&str; 3] = ["crop70", "third", "blur"];

/// The built-in model's thresholds with R-MAC and turned query views counted as search counts
/// them ([`crate::query::Turns`]), from `photo-sim bench --quality
/// ../shared/data/imagenet-100` (100 photos, 8 edits; see README).
pub const RMAC: Thresholds = Thresholds {
    same: 0.86,
    near: 0.69,
    similar: 0.57,
    related: 0.51,
};

/// The same for GAP (a model without a feature-map output, or `Descriptor::Gap`).
pub const GAP: Thresholds = Thresholds {
    same: 0.84,
    near: 0.63,
    similar: 0.45,
    related: 0.38,
};

impl Thresholds {
    /// The label a match of this `similarity` gets.
    pub fn label(&self, similarity: f32) -> Label {
        match similarity {
            s if s >= self.same => Label::SamePhoto,
            s if s >= self.near => Label::NearDuplicate,
            s if s >= self.similar => Label::Similar,
            s if s >= self.related => Label::Related,
            _ => Label::Unrelated,
        }
    }

    /// The lowest similarity that gets `label`.
    pub fn floor(&self, label: Label) -> f32 {
        match label {
            Label::SamePhoto => self.same,
            Label::NearDuplicate => self.near,
            Label::Similar => self.similar,
            Label::Related => self.related,
            Label::Unrelated => f32::NEG_INFINITY,
        }
    }

    /// The rule, applied to one descriptor's part of a `bench --quality` report: "same photo"
    /// from the 5th percentile of the light edits' copies (95 % of them reach it), "near-
    /// duplicate" from that of the heavy edits, "similar" from the 99.9th percentile of
    /// unrelated pairs and "loosely related" from their 99th; each rounded down to 0.01.
    pub fn from_quality(report: &Value) -> Option<Thresholds> {
        let p5 = |edits: &[&str]| {
            edits
                .iter()
                .map(|e| report["edits"][e]["similarity"]["p5"].as_f64())
                .collect::<Option<Vec<f64>>>()
                .map(|v| v.into_iter().fold(f64::INFINITY, f64::min))
        };
        let down = |x: f64| ((x * 100.0 + 1e-6).floor() / 100.0) as f32;
        Some(Thresholds {
            same: down(p5(&LIGHT_EDITS)?),
            near: down(p5(&HEAVY_EDITS)?),
            similar: down(report["unrelated"]["p999"].as_f64()?),
            related: down(report["unrelated"]["p99"].as_f64()?),
        })
    }
}

/// Pairs sampled to know a library's own distribution of similarities.
pub(crate) const PAIR_SAMPLE: usize = 20_000;

/// A sorted sample of the similarities between the rows of `data` (`dim` floats each): every
/// pair of a small library, [`PAIR_SAMPLE`] pseudo-random pairs of a large one (the same ones
/// for the same rows, so an unchanged library keeps its figures).
pub(crate) fn sample_pairs(data: &[f32], dim: usize) -> Vec<f32> {
    let rows = crate::index::rows::Floats { data, dim };
    sample_pairs_of(&rows).expect("rows in memory are always read")
}

/// [`sample_pairs`] of rows read as they are needed: all of a small library's, two at a time
/// for a large one.
pub(crate) fn sample_pairs_of(rows: &dyn RowSource) -> std::io::Result<Vec<f32>> {
    let (n, dim) = (rows.rows(), rows.dim());
    let dot = crate::vector::dot;
    let mut out = Vec::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    if n * n.saturating_sub(1) / 2 <= PAIR_SAMPLE {
        let all = rows.read(0..n, &mut a)?;
        let row = |i: usize| &all[i * dim..(i + 1) * dim];
        for i in 0..n {
            for j in i + 1..n {
                out.push(dot(row(i), row(j)));
            }
        }
    } else {
        let mut s = 0x9e37_79b9_7f4a_7c15u64 ^ n as u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % n as u64) as usize
        };
        while out.len() < PAIR_SAMPLE {
            let (i, j) = (next(), next());
            if i != j {
                out.push(dot(
                    rows.read(i..i + 1, &mut a)?,
                    rows.read(j..j + 1, &mut b)?,
                ));
            }
        }
    }
    out.sort_by(f32::total_cmp);
    Ok(out)
}

/// Where a similarity falls among a library's own pairs: the share of `sorted_pairs` (a sorted
/// sample of similarities between its photos) below it, in percent.
pub(crate) fn percentile(sorted_pairs: &[f32], similarity: f32) -> Option<f32> {
    if sorted_pairs.is_empty() {
        return None;
    }
    let below = sorted_pairs.partition_point(|&p| p < similarity);
    Some(100.0 * below as f32 / sorted_pairs.len() as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_follow_the_thresholds_and_order() {
        assert_eq!(RMAC.label(0.97), Label::SamePhoto);
        assert_eq!(RMAC.label(0.75), Label::NearDuplicate);
        assert_eq!(RMAC.label(0.60), Label::Similar);
        assert_eq!(RMAC.label(0.55), Label::Related);
        assert_eq!(RMAC.label(0.30), Label::Unrelated);
        assert!(Label::SamePhoto > Label::NearDuplicate && Label::Related > Label::Unrelated);
        assert_eq!(Label::from_key("near"), Some(Label::NearDuplicate));
        assert_eq!(RMAC.floor(Label::Similar), 0.57);
    }

    #[test]
    fn thresholds_are_read_from_the_measured_distributions() {
        let edit = |p5: f64| json!({"similarity": {"p5": p5}});
        let report = json!({
            "edits": {
                "jpeg30": edit(0.90), "colour": edit(0.92), "mirror": edit(0.935),
                "rot10": edit(0.862), "rot90": edit(0.979),
                "crop70": edit(0.753), "third": edit(0.739), "blur": edit(0.690),
            },
            "unrelated": {"p99": 0.515, "p999": 0.575},
        });
        assert_eq!(Thresholds::from_quality(&report), Some(RMAC));
        assert_eq!(Thresholds::from_quality(&json!({})), None);
    }

    #[test]
    fn percentile_is_the_share_of_pairs_below() {
        let pairs: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        assert_eq!(percentile(&pairs, 0.998), Some(99.8));
        assert_eq!(percentile(&pairs, 2.0), Some(100.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
