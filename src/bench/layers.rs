//! `photo-sim bench --layers <folder>`: where the model's time goes, step by step of tract's
//! plan. Each step's median over many runs on one thread (the folder's photos as inputs), and
//! the totals by kind of operation: what a faster kernel would have to beat.

use super::median_ms;
use anyhow::{bail, Result};
use photo_sim_engine::embed::{self, Model};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Runs of the model measured (after one to warm up).
const RUNS: usize = 40;

pub fn run(model: &Model, files: &[PathBuf]) -> Result<Value> {
    let inputs: Vec<Vec<f32>> = files
        .iter()
        .take(8)
        .filter_map(|p| embed::model_input(p).ok())
        .collect();
    if inputs.is_empty() {
        bail!("none of the first images could be decoded");
    }
    let mut session = model.session()?;
    session.run_timed(&inputs[0])?;
    let mut steps: Vec<(String, String, Vec<usize>, Vec<f64>)> = Vec::new();
    for input in inputs.iter().cycle().take(RUNS) {
        for (i, step) in session.run_timed(input)?.into_iter().enumerate() {
            if i == steps.len() {
                steps.push((step.name, step.op, step.shape, Vec::new()));
            }
            steps[i].3.push(step.seconds);
        }
    }
    let steps: Vec<(String, String, Vec<usize>, f64)> = steps
        .into_iter()
        .map(|(name, op, shape, samples)| (name, op, shape, median_ms(samples)))
        .collect();
    let total: f64 = steps.iter().map(|s| s.3).sum();
    let mut by_op: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    for (_, op, _, ms) in &steps {
        let entry = by_op.entry(op).or_default();
        entry.0 += 1;
        entry.1 += ms;
    }
    eprintln!("model: {total:.2} ms in {} steps", steps.len());
    for (op, (count, ms)) in &by_op {
        eprintln!("  {op:<24} {count:>3} steps {ms:>7.2} ms");
    }
    Ok(json!({
        "total_ms": total,
        "by_op": by_op.iter().map(|(op, (count, ms))| json!({"op": op, "steps": count, "ms": ms})).collect::<Vec<_>>(),
        "steps": steps.iter().map(|(name, op, shape, ms)| json!({"name": name, "op": op, "shape": shape, "ms": ms})).collect::<Vec<_>>(),
    }))
}
