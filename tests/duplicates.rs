//! Groups of duplicates on a generated library: originals, their edited copies renamed into
//! other folders, and unrelated pictures.

mod common;

use common::{cli, file_name, fixture_image, run_within, save_jpeg, synthetic, texts, Sandbox};
use image::RgbImage;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The copies people make of a photo: smaller, re-compressed, warmer, trimmed a little.
fn copies(img: &RgbImage) -> Vec<(&'static str, RgbImage, u8)> {
    let (w, h) = img.dimensions();
    let mut warmer = img.clone();
    warmer
        .pixels_mut()
        .for_each(|p| p.0[0] = p.0[0].saturating_add(18));
    vec![
        ("small", common::half_size(img), 88),
        ("whatsapp", img.clone(), 40),
        ("warm", warmer, 90),
        (
            "trim",
            image::imageops::crop_imm(img, w / 20, h / 20, w * 9 / 10, h * 9 / 10).to_image(),
            90,
        ),
    ]
}

/// Writes each original in `originals/` and its copies under `copies/<edit>/`, renamed; returns
/// the family of every file name.
fn library(root: &Path) -> HashMap<String, String> {
    let mut family = HashMap::new();
    let mut originals: Vec<(String, RgbImage)> = vec![
        ("cat".into(), fixture_image("cat.jpg")),
        ("coffee".into(), fixture_image("coffee.jpg")),
    ];
    for seed in 0..6 {
        originals.push((format!("scene{seed}"), synthetic(seed * 7 + 1, 480, 360)));
    }
    std::fs::create_dir_all(root.join("originals")).unwrap();
    for (name, img) in &originals {
        let file = format!("{name}.jpg");
        save_jpeg(img, &root.join("originals").join(&file), 92);
        family.insert(file, name.clone());
        for (edit, copy, quality) in copies(img) {
            let dir = root.join("copies").join(edit);
            std::fs::create_dir_all(&dir).unwrap();
            let file = format!("IMG_{}_{edit}.jpg", family.len());
            save_jpeg(&copy, &dir.join(&file), quality);
            family.insert(file, name.clone());
        }
    }
    // Unrelated pictures, alone in their families: patterns of different kinds.
    for kind in 0..8u32 {
        let file = format!("other{kind}.jpg");
        save_jpeg(&stranger(kind), &root.join(&file), 90);
        family.insert(file.clone(), file);
    }
    family
}

/// A picture of its own kind: stripes, checks, rings, a gradient, text-like marks, noise…
fn stranger(kind: u32) -> RgbImage {
    let mut noise = 0x2545f491u32.wrapping_mul(kind + 1);
    RgbImage::from_fn(400, 300, |x, y| {
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        let v = match kind {
            0 => ((x / 12) % 2) * 255,
            1 => (((x / 40) + (y / 40)) % 2) * 255,
            2 => {
                let (dx, dy) = (x as f32 - 200.0, y as f32 - 150.0);
                ((dx * dx + dy * dy).sqrt() as u32 / 15 % 2) * 255
            }
            3 => x * 255 / 400,
            4 => u32::from((x % 50 < 30) && (y % 20 < 4)) * 255,
            5 => noise % 256,
            6 => (((x + y) / 25) % 2) * 200 + 30,
            _ => u32::from((x as i32 - 200).abs() < 60 && (y as i32 - 150).abs() < 90) * 255,
        } as u8;
        let tint = [(kind * 37) % 256, (kind * 91) % 256, (kind * 53) % 256];
        image::Rgb(std::array::from_fn(|c| ((v as u32 + tint[c]) / 2) as u8))
    })
}

#[test]
fn same_photo_groups_find_the_copies_with_precision_and_recall_of_095() {
    let sb = Sandbox::new();
    let family = library(&sb.photos());
    let (lib, _) = sb.index();
    let same = lib.model().thresholds().unwrap().same;
    let groups = lib.duplicates(same).unwrap();

    let pairs_of = |members: &[String]| -> HashSet<(String, String)> {
        let mut out = HashSet::new();
        for a in members {
            for b in members {
                if a < b {
                    out.insert((a.clone(), b.clone()));
                }
            }
        }
        out
    };
    let mut predicted = HashSet::new();
    for g in &groups {
        let mut members = vec![file_name(&g.keeper.path)];
        for (p, s) in &g.members {
            assert!(*s >= same, "every member is close to its keeper");
            members.push(file_name(&p.path));
        }
        predicted.extend(pairs_of(&members));
    }
    let mut by_family: HashMap<&String, Vec<String>> = HashMap::new();
    for (file, fam) in &family {
        by_family.entry(fam).or_default().push(file.clone());
    }
    let truth: HashSet<(String, String)> = by_family.values().flat_map(|m| pairs_of(m)).collect();
    let hits = predicted.intersection(&truth).count() as f64;
    let precision = hits / predicted.len().max(1) as f64;
    let recall = hits / truth.len() as f64;
    assert!(
        precision >= 0.95 && recall >= 0.95,
        "precision {precision:.3}, recall {recall:.3}; groups: {:?}",
        groups
            .iter()
            .map(|g| std::iter::once(file_name(&g.keeper.path))
                .chain(g.members.iter().map(|m| file_name(&m.0.path)))
                .collect::<Vec<_>>())
            .collect::<Vec<_>>()
    );
    // The keeper is the copy with the most pixels: the original, not its half-size copy.
    for g in &groups {
        let kept = g.keeper.pixels.unwrap();
        assert!(g
            .members
            .iter()
            .all(|(p, _)| p.pixels.unwrap().0 * p.pixels.unwrap().1 <= kept.0 * kept.1));
    }
}

#[test]
fn the_cli_prints_groups_as_one_json_object_largest_first() {
    let sb = Sandbox::new();
    library(&sb.photos());
    let out = run_within(
        cli(&sb)
            .args(["duplicates", "--json", "--level", "same"])
            .arg(sb.photos()),
        300,
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let groups = json["groups"].as_array().unwrap();
    assert!(groups.len() >= 6, "{json}");
    let sizes: Vec<usize> = groups
        .iter()
        .map(|g| g["members"].as_array().unwrap().len())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    let member = &groups[0]["members"][0];
    for field in ["path", "similarity", "width", "height", "bytes", "date"] {
        assert!(!member[field].is_null(), "{field} in {member}");
    }
    assert!(groups[0]["keeper"]["path"]
        .as_str()
        .unwrap()
        .ends_with(".jpg"));

    let out = run_within(cli(&sb).arg("duplicates").arg(sb.photos()), 300);
    let (stdout, _) = texts(&out);
    assert!(stdout.contains("reclaimable"), "{stdout}");
    assert!(stdout.contains("keep "), "{stdout}");
}

#[test]
fn output_cut_short_by_a_closed_pipe_is_not_a_crash() {
    use std::process::Stdio;
    let sb = Sandbox::new();
    library(&sb.photos());
    run_within(cli(&sb).arg("index").arg(sb.photos()), 300);
    // `photo-sim duplicates … | head -0`: the reader is gone before the first line (the
    // model takes a while to load, so the pipe is closed before anything is printed).
    let mut child = cli(&sb)
        .arg("duplicates")
        .arg(sb.photos())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Photos removed from the folder (moved away, deleted) and later put back, as Undo or a
/// restore from the trash does, take the vectors they had: nothing is embedded again, whether
/// the very file comes back (a rename) or a copy of it does (another inode).
#[test]
fn photos_put_back_after_an_update_removed_them_are_not_embedded_again() {
    let sb = Sandbox::new();
    let p = sb.photos();
    common::small_photos(&p, 6);
    sb.index();
    let away = sb.dir.path().join("away");
    std::fs::create_dir_all(&away).unwrap();
    for name in ["0001.jpg", "0002.jpg", "0003.jpg"] {
        std::fs::rename(p.join(name), away.join(name)).unwrap();
    }
    let (_, summary) = sb.index();
    assert_eq!((summary.removed, summary.indexed), (3, 3), "{summary:?}");

    // One comes back as the very file, one as a copy; one stays away.
    std::fs::rename(away.join("0001.jpg"), p.join("0001.jpg")).unwrap();
    std::fs::copy(away.join("0002.jpg"), p.join("0002.jpg")).unwrap();
    let (lib, summary) = sb.index();
    assert_eq!(
        (summary.embedded, summary.indexed),
        (0, 5),
        "nothing embedded: {summary:?}"
    );
    let top = lib.search(&p.join("0002.jpg"), 1).unwrap();
    assert_eq!(file_name(&top[0].path), "0002.jpg");
    assert!(top[0].similarity > 0.999);
}

/// A damaged decisions file is reported once and set aside (kept, not overwritten): the
/// groups are found without it, and new decisions can be made.
#[test]
fn a_damaged_decisions_file_is_set_aside_and_deciding_goes_on() {
    let sb = Sandbox::new();
    common::small_photos(&sb.photos(), 3);
    let (lib, _) = sb.index();
    let file = lib.index_dir().join("decisions.bin");
    std::fs::write(&file, b"not a photo-sim file").unwrap();
    let err = lib.decisions().unwrap_err().to_string();
    assert!(err.contains("set aside"), "{err}");
    assert_eq!(
        std::fs::read(lib.index_dir().join("decisions.damaged.bin")).unwrap(),
        b"not a photo-sim file"
    );
    assert!(lib.decisions().unwrap().is_empty());
    let photos = [sb.photos().join("0000.jpg"), sb.photos().join("0001.jpg")];
    let kept = lib
        .decide(&photos, photo_sim_engine::library::Verdict::NotDuplicates)
        .unwrap();
    assert!(kept.apart(&photos[0], &photos[1]));
    assert_eq!(lib.decisions().unwrap().len(), 1);

    // Damaged again: a decision made now is kept, and the older damaged file too.
    std::fs::write(&file, b"still not a photo-sim file").unwrap();
    let kept = lib
        .decide(&photos[..1], photo_sim_engine::library::Verdict::KeepAll)
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(lib.decisions().unwrap().len(), 1);
    assert_eq!(
        std::fs::read(lib.index_dir().join("decisions.damaged.1.bin")).unwrap(),
        b"still not a photo-sim file"
    );
    assert!(lib.index_dir().join("decisions.damaged.bin").exists());
}
