//! The benchmark commands, run as a person runs them: the category benchmark on a category set
//! made here (pictures of four kinds, each a different picture of its kind).

mod common;

use common::*;

/// Five pictures of each kind, one sub-folder per kind.
fn category_set(sb: &Sandbox) -> std::path::PathBuf {
    let root = sb.dir.path().join("kinds");
    for kind in 0..KINDS {
        let dir = root.join(format!("kind{kind}"));
        std::fs::create_dir_all(&dir).unwrap();
        for seed in 0..5 {
            let img = of_kind(kind, seed, 320, 240);
            save_jpeg(&img, &dir.join(format!("{seed}.jpg")), 90);
        }
    }
    root
}

/// `photo-sim bench --categories` on [`category_set`]: its JSON report and its table.
fn category_report() -> (serde_json::Value, String) {
    let sb = Sandbox::new();
    let kinds = category_set(&sb);
    let out = run_within(cli(&sb).arg("bench").arg(&kinds).arg("--categories"), 600);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_str(&stdout).expect(&stdout), stderr)
}

#[test]
fn category_benchmark_reports_precision_for_every_way_of_scoring() {
    let (report, stderr) = category_report();
    assert_eq!(report["photos"], 20, "{report}");
    assert_eq!(report["categories"], KINDS, "{report}");
    for scoring in ["gap", "rmac", "rmac_turns_best_of_four", "rmac_turns_gated"] {
        let part = &report[scoring];
        assert_eq!(part["queries"], 20, "{scoring}: {part}");
        // Four others of its kind among 19: a ranking by chance puts about one in the top four.
        let p10 = part["p_at_10"].as_f64().unwrap();
        let map = part["map"].as_f64().unwrap();
        assert!(p10 > 0.6 && p10 <= 1.0, "{scoring}: P@10 {p10}");
        assert!(map > 0.5 && map <= 1.0, "{scoring}: mAP {map}");
    }
    assert!(stderr.contains("P@10"), "the table on stderr: {stderr}");
}

#[test]
fn turned_query_views_cost_nothing_when_searching_by_kind() {
    let (report, _) = category_report();
    let p10 = |scoring: &str| report[scoring]["p_at_10"].as_f64().unwrap();
    // Every picture here is upright: the turned views search uses must not lose what the
    // upright view finds, as the best of four views did (a turned stripe is another stripe).
    assert!(
        p10("rmac_turns_gated") >= p10("rmac") - 0.01,
        "gated {} against upright {}",
        p10("rmac_turns_gated"),
        p10("rmac")
    );
    assert!(
        p10("rmac_turns_gated") > p10("rmac_turns_best_of_four"),
        "gated {} against the best of four {}",
        p10("rmac_turns_gated"),
        p10("rmac_turns_best_of_four")
    );
}

#[test]
fn a_simulated_library_reports_opening_queries_duplicates_memory_and_size() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 4);
    let out = run_within(
        cli(&sb)
            .arg("bench")
            .arg(sb.photos())
            .args(["--library-size", "2000"])
            // Searched through compact codes and a mapped vectors file, as a large one is.
            .env(photo_sim_engine::library::COMPACT_ENV, "1000")
            .env(photo_sim_engine::index::format::MAP_FROM_ENV, "0"),
        600,
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    assert_eq!(report["photos"], 2000, "{report}");
    assert_eq!(report["seeds"], 4, "{report}");
    let figure = |key: &str| {
        report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {report}"))
    };
    for key in [
        "open_s",
        "query_ms",
        "duplicates_s",
        "rss_after_open_mb",
        "peak_rss_mb",
    ] {
        assert!(figure(key) > 0.0, "{key}: {report}");
    }
    // The codes' candidates are all 2,000 photos: the exact answer; and every planted copy is
    // far above "same photo".
    assert_eq!(report["search"], "compact codes", "{report}");
    assert_eq!(figure("recall_at_10"), 1.0, "{report}");
    assert_eq!(figure("duplicate_pair_recall"), 1.0, "{report}");
    // A code of 256 bytes and its scale; a 1280-float vector and its entry.
    let bytes = figure("index_bytes_per_photo");
    assert!((260.0..261.0).contains(&bytes), "{bytes}");
    let bytes = figure("full_vector_bytes_per_photo");
    assert!((5120.0..6000.0).contains(&bytes), "{bytes}");
}

#[test]
fn the_layer_benchmark_times_each_step_of_the_model_with_our_operations_among_them() {
    let sb = Sandbox::new();
    small_photos(&sb.photos(), 2);
    let out = run_within(cli(&sb).arg("bench").arg(sb.photos()).arg("--layers"), 600);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    let steps = report["steps"].as_array().expect("a list of steps");
    let times: Vec<f64> = steps.iter().map(|s| s["ms"].as_f64().unwrap()).collect();
    assert!(times.iter().all(|ms| *ms >= 0.0) && times.iter().sum::<f64>() > 0.0);
    let total = report["total_ms"].as_f64().unwrap();
    assert!((total - times.iter().sum::<f64>()).abs() < 1e-6, "{report}");
    // The built-in model runs every convolution through an operation of ours but the 7×7
    // pointwise ones, and no separate ReLU6 pass is left.
    let ops: Vec<&str> = steps.iter().map(|s| s["op"].as_str().unwrap()).collect();
    let count = |name: &str| ops.iter().filter(|op| **op == name).count();
    assert_eq!(count("PhotoSimIm2colPointwise"), 1, "{ops:?}");
    assert_eq!(count("PhotoSimDepthwiseRelu6"), 16, "{ops:?}");
    assert!(count("PhotoSimPointwise") >= 20, "{ops:?}");
    assert!(!ops.iter().any(|op| op.contains("Max+Min")), "{ops:?}");
    assert!(
        stderr.contains("PhotoSimPointwise"),
        "the table on stderr: {stderr}"
    );
}
