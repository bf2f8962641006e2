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

#[test]
fn category_benchmark_reports_precision_for_every_way_of_scoring() {
    let sb = Sandbox::new();
    let kinds = category_set(&sb);
    let out = run_within(cli(&sb).arg("bench").arg(&kinds).arg("--categories"), 600);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
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
