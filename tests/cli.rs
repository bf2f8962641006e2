//! The command line as a script uses it: `index`, `search --json`, and errors.

mod common;

use common::{fixture_image, save_jpeg, synthetic, Sandbox};
use std::path::Path;
use std::process::Command;

fn photo_sim(sb: &Sandbox) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_photo-sim"));
    cmd.env("PHOTO_SIM_DATA_DIR", sb.dir.path().join("data"));
    cmd
}

/// Indexes `folder`, which must succeed.
fn index(sb: &Sandbox, folder: &Path) {
    let out = photo_sim(sb).arg("index").arg(folder).output().unwrap();
    assert!(out.status.success(), "{}", common::texts(&out).1);
}

#[test]
fn index_then_search_prints_one_json_object_best_first() {
    let sb = Sandbox::new();
    let p = sb.photos();
    save_jpeg(&fixture_image("cat.jpg"), &p.join("cat.jpg"), 90);
    save_jpeg(&fixture_image("coffee.jpg"), &p.join("coffee.jpg"), 90);
    for seed in 0..3 {
        save_jpeg(
            &synthetic(seed, 200, 150),
            &p.join(format!("s{seed}.jpg")),
            90,
        );
    }
    std::fs::write(p.join("broken.jpg"), b"").unwrap();

    let out = photo_sim(&sb).arg("index").arg(&p).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("5 images (5 embedded, 0 reused, 0 removed, 1 skipped)"),
        "{text}"
    );
    assert!(text.contains("broken.jpg: empty file"), "{text}");

    let out = photo_sim(&sb)
        .args(["search", "--json", "-k", "3"])
        .arg(p.join("coffee.jpg"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert!(json["query"].as_str().unwrap().ends_with("coffee.jpg"));
    let first = results[0]["path"].as_str().unwrap();
    assert!(std::path::Path::new(first).is_absolute());
    assert!(first.ends_with("coffee.jpg"));
    let sims: Vec<f64> = results
        .iter()
        .map(|r| r["similarity"].as_f64().unwrap())
        .collect();
    assert!((sims[0] - 1.0).abs() < 1e-3 && sims.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(results[0]["label"], "same photo");
    assert!(results[0]["percentile"].as_f64().unwrap() >= 99.0);

    // Only the same photo: coffee.jpg itself, nothing else here is a copy of it.
    let out = photo_sim(&sb)
        .args(["search", "--json", "--min-label", "same"])
        .arg(p.join("coffee.jpg"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["results"].as_array().unwrap().len(), 1, "{json}");

    // A query outside every indexed folder names the way out.
    let out = photo_sim(&sb)
        .arg("search")
        .arg(common::fixture("cat.jpg"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--folder"));
    let out = photo_sim(&sb)
        .arg("search")
        .arg(common::fixture("cat.jpg"))
        .arg("--folder")
        .arg(&p)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .ends_with("cat.jpg"));
}

#[test]
fn errors_go_to_stderr_with_a_failing_exit_code() {
    let sb = Sandbox::new();
    let out = photo_sim(&sb)
        .args(["index", "/no/such/folder"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open the folder /no/such/folder"),
        "{err}"
    );
}

#[test]
fn a_similarity_threshold_that_is_not_a_number_from_0_to_1_is_refused() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.photos()).unwrap();
    for bad in ["NaN", "nan", "inf", "-0.2", "1.5", "0.9x"] {
        let out = photo_sim(&sb)
            .args(["duplicates", "--min-similarity", bad])
            .arg(sb.photos())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad} was accepted");
        assert!(out.stdout.is_empty(), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("a number from 0 to 1"), "{bad}: {err}");
    }
}

#[test]
fn a_skipped_file_is_listed_once_and_a_run_that_embeds_nothing_gives_no_rate() {
    let sb = Sandbox::new();
    let p = sb.photos();
    save_jpeg(&fixture_image("cat.jpg"), &p.join("cat.jpg"), 90);
    std::fs::write(p.join("broken.jpg"), b"").unwrap();
    let texts = |out: &std::process::Output| {
        let (stdout, stderr) = common::texts(out);
        stdout + &stderr
    };
    let out = photo_sim(&sb).arg("index").arg(&p).output().unwrap();
    let all = texts(&out);
    assert_eq!(all.matches("broken.jpg").count(), 1, "{all}");
    let again = photo_sim(&sb).arg("index").arg(&p).output().unwrap();
    let all = texts(&again);
    assert!(all.contains("0 embedded"), "{all}");
    assert!(!all.contains("images/s"), "{all}");
}

#[test]
fn a_search_in_an_indexed_empty_folder_says_there_is_nothing_to_compare_with() {
    let sb = Sandbox::new();
    let p = sb.photos();
    std::fs::create_dir_all(&p).unwrap();
    index(&sb, &p);
    let query = sb.dir.path().join("query.jpg");
    save_jpeg(&fixture_image("cat.jpg"), &query, 90);
    let out = photo_sim(&sb)
        .arg("search")
        .arg(&query)
        .arg("--folder")
        .arg(&p)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no photos"), "{err}");
}

#[test]
fn duplicates_accepts_only_the_levels_its_help_lists() {
    let sb = Sandbox::new();
    let p = sb.photos();
    std::fs::create_dir_all(&p).unwrap();
    for level in ["related", "unrelated"] {
        let out = photo_sim(&sb)
            .args(["duplicates", "--level", level])
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--level {level}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("same, near, similar"), "{err}");
    }
}

#[test]
fn duplicates_keeps_the_photos_of_a_reference_folder() {
    let sb = Sandbox::new();
    let p = sb.photos();
    std::fs::create_dir_all(p.join("archive")).unwrap();
    let img = fixture_image("cat.jpg");
    save_jpeg(&img, &p.join("cat.jpg"), 92);
    let small = common::half_size(&img);
    save_jpeg(&small, &p.join("archive/cat_small.jpg"), 90);
    index(&sb, &p);
    let out = photo_sim(&sb)
        .args(["duplicates", "--json", "--reference"])
        .arg(p.join("archive"))
        .arg(&p)
        .output()
        .unwrap();
    let (stdout, stderr) = common::texts(&out);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let keeper = json["groups"][0]["keeper"]["path"].as_str().unwrap();
    assert!(keeper.ends_with("archive/cat_small.jpg"), "{stdout}");
    let missing = photo_sim(&sb)
        .args(["duplicates", "--reference", "/no/such/folder"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(!missing.status.success());
}

#[test]
fn duplicates_chooses_keepers_by_the_rule_given_and_says_which() {
    let sb = Sandbox::new();
    let p = sb.photos();
    std::fs::create_dir_all(&p).unwrap();
    let img = fixture_image("cat.jpg");
    save_jpeg(&img, &p.join("cat.jpg"), 92);
    save_jpeg(&common::half_size(&img), &p.join("cat_small.jpg"), 90);
    // The smaller copy is the older file.
    common::date_file(&p.join("cat_small.jpg"), 1_000_000_000);
    index(&sb, &p);
    let keeper = |keep: &str| {
        let out = photo_sim(&sb)
            .args(["duplicates", "--keep", keep])
            .arg(&p)
            .output()
            .unwrap();
        let (stdout, stderr) = common::texts(&out);
        assert!(out.status.success(), "{stderr}");
        let keep_line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with("keep "))
            .unwrap();
        (
            stdout.lines().next().unwrap().to_string(),
            keep_line.to_string(),
        )
    };
    let (summary, kept) = keeper("pixels");
    assert!(summary.starts_with("1 group, 2 photos"), "{summary}");
    assert!(summary.contains("keeper: most pixels, then"), "{summary}");
    assert!(kept.contains("/cat.jpg"), "{kept}");
    let (summary, kept) = keeper("oldest");
    assert!(
        summary.contains("keeper: the oldest by the camera's date, then"),
        "{summary}"
    );
    assert!(kept.contains("/cat_small.jpg"), "{kept}");
    let out = photo_sim(&sb)
        .args(["duplicates", "--keep", "newest"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `photo-sim` with every index mapped rather than read, however small.
fn photo_sim_mapping(sb: &Sandbox) -> Command {
    let mut cmd = photo_sim(sb);
    cmd.env(photo_sim_engine::index::format::MAP_FROM_ENV, "0");
    cmd
}

/// The paths and similarities `search --json` prints for `query`.
fn search_json(mut cmd: Command, query: &Path) -> Vec<(String, f64)> {
    let out = cmd
        .args(["search", "--json", "-k", "5", "--no-rotations"])
        .arg(query)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::texts(&out).1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = r["similarity"].as_f64().unwrap();
            (r["path"].as_str().unwrap().to_string(), s)
        })
        .collect()
}

#[test]
fn a_mapped_index_answers_as_a_read_one_and_its_damage_is_found_before_an_update() {
    use photo_sim_engine::index::format::BLOCK_ROWS;
    let sb = Sandbox::new();
    let p = sb.photos();
    common::small_photos(&p, BLOCK_ROWS as u64 + 6);
    index(&sb, &p);
    let query = p.join("0003.jpg");
    let read = search_json(photo_sim(&sb), &query);
    assert_eq!(search_json(photo_sim_mapping(&sb), &query), read);

    // A byte of the last photo's vector: opening a mapped index does not read the vectors,
    // so the search still answers; the update checks them first and embeds the lost block.
    let file = std::fs::read_dir(sb.dir.path().join("data"))
        .unwrap()
        .flat_map(|d| walk(&d.unwrap().path()))
        .find(|f| f.ends_with("vectors.bin"))
        .expect("an index file");
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() - 1280 * 4 / 2;
    bytes[at] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(search_json(photo_sim_mapping(&sb), &query).len(), 5);
    let damage_told = |mut cmd: Command| {
        let out = cmd.arg("search").arg(&query).output().unwrap();
        common::texts(&out).1.contains("were dropped")
    };
    assert!(
        damage_told(photo_sim(&sb)),
        "read whole, the damage is found"
    );
    // (That search brought the index up to date; it is damaged again.)
    std::fs::write(&file, &bytes).unwrap();
    assert!(
        !damage_told(photo_sim_mapping(&sb)),
        "mapped, nothing is read"
    );
    let out = photo_sim_mapping(&sb)
        .arg("index")
        .arg(&p)
        .output()
        .unwrap();
    let (stdout, stderr) = common::texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the vectors of 6 photos were dropped"),
        "{stderr}"
    );
    assert!(stdout.contains("(6 embedded,"), "{stdout}");
    assert_eq!(search_json(photo_sim_mapping(&sb), &query), read);
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.flat_map(|e| walk(&e.unwrap().path())).collect(),
        Err(_) => vec![dir.to_path_buf()],
    }
}
