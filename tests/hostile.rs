//! Hostile files, with every allocation counted: hand-made index files and checkpoint logs
//! (random truncations, bit flips, crafted length fields with valid hashes) and images that
//! try to make the decoder read or allocate without bound. Nothing may panic, and no load
//! may allocate much more than the file it reads.

mod common;

use photo_sim_engine::decode::{self, DecodeError};
use photo_sim_engine::index::format::{self, Entry, Failed, Vectors};
use photo_sim_engine::index::{Fingerprint, Identity};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs;
use std::path::Path;

/// Counts the bytes each thread has allocated, and the most it held at once.
struct Counting;

thread_local! {
    static NOW: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = NOW.try_with(|now| {
        let v = (now.get() as isize + delta).max(0) as usize;
        now.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

// SAFETY: every call is passed to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller keeps GlobalAlloc's contract, which this passes on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller keeps GlobalAlloc's contract, which this passes on.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller keeps GlobalAlloc's contract, which this passes on.
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        // SAFETY: the caller keeps GlobalAlloc's contract, which this passes on.
        let p = unsafe { System.realloc(ptr, layout, new) };
        if !p.is_null() {
            track(new as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most memory this thread held above the start.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = NOW.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

const MIB: usize = 1 << 20;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn sample_index() -> Vectors {
    let dim = 8;
    let mut v = Vectors::empty(b"/photos".to_vec(), dim);
    for i in 0..6u64 {
        v.entries.push(Entry {
            path: format!("folder/photo-{i}.jpg").into_bytes(),
            fingerprint: Fingerprint {
                size: 1000 + i,
                mtime_ns: 17 * i as i128,
            },
            content: Some(photo_sim_engine::index::key_of_bytes(&i.to_le_bytes())),
            identity: Identity {
                inode: i + 1,
                ctime_ns: 3 * i as i128,
                dev: 2,
            },
        });
        let mut row = vec![0f32; dim];
        row[i as usize % dim] = 1.0;
        v.data.extend_from_slice(&row);
    }
    v.failed.push(Failed {
        path: b"broken.jpg".to_vec(),
        fingerprint: Fingerprint {
            size: 5,
            mtime_ns: 5,
        },
        reason: "REASON-MARKER".into(),
        lasting: true,
    });
    v.generation = 42;
    v
}

/// bincode's varint for a u64 that needs all eight bytes.
fn varint_u64(n: u64) -> Vec<u8> {
    let mut out = vec![0xfd];
    out.extend(n.to_le_bytes());
    out
}

#[test]
fn crafted_lengths_never_crash_the_reader_or_allocate_beyond_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors.bin");
    let id = [7u8; 32];
    format::save_vectors(&path, id, &sample_index()).unwrap();
    let good = fs::read(&path).unwrap();
    assert_eq!(format::load_vectors(&path, id, 8).unwrap(), sample_index());

    // The two the issue reproduced: a reason string of length 2^40 and of 2^64 − 1.
    let marker = good
        .windows(13)
        .position(|w| w == b"REASON-MARKER")
        .unwrap();
    for length in [1u64 << 40, u64::MAX] {
        let mut bytes = good[..marker - 1].to_vec();
        bytes.extend(varint_u64(length));
        bytes.extend(&good[marker..]);
        format::reseal(&mut bytes).unwrap();
        fs::write(&path, &bytes).unwrap();
        let (result, peak) = peak_during(|| format::load_vectors(&path, id, 8));
        let err = result.unwrap_err();
        assert!(err.to_string().contains("corrupt"), "{err}");
        assert!(
            peak < 4 * MIB,
            "{peak} bytes for a {}-byte file",
            bytes.len()
        );
    }

    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut outcomes = [0usize; 2];
    for round in 0..3000 {
        let mut bytes = good.clone();
        match round % 3 {
            0 => bytes.truncate(rng.below(bytes.len())),
            1 => {
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
            }
            _ => {
                let at = 30 + rng.below(bytes.len() - 60);
                let crafted = match rng.below(4) {
                    0 => varint_u64(1 << 40),
                    1 => varint_u64(u64::MAX),
                    2 => {
                        let mut v = vec![0xfc];
                        v.extend(u32::MAX.to_le_bytes());
                        v
                    }
                    _ => vec![0xfb, 0xff, 0xff],
                };
                bytes.splice(at..at + rng.below(3), crafted);
            }
        }
        if round % 2 == 0 {
            let _ = format::reseal(&mut bytes);
        }
        fs::write(&path, &bytes).unwrap();
        let (result, peak) = peak_during(|| {
            std::panic::catch_unwind(|| format::load_vectors(&path, id, 8))
                .unwrap_or_else(|_| panic!("round {round}: the reader panicked"))
        });
        assert!(
            peak < 2 * bytes.len() + 4 * MIB,
            "round {round}: {peak} bytes for a {}-byte file",
            bytes.len()
        );
        match result {
            Ok(v) => {
                // A mutation that still decodes must still be a valid index.
                v.validate().unwrap();
                outcomes[0] += 1;
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                outcomes[1] += 1;
            }
        }
    }
    assert!(outcomes[1] > 2500, "{outcomes:?}");
}

#[test]
fn a_damaged_checkpoint_log_is_cut_at_its_last_whole_record() {
    use photo_sim_engine::index::journal::{self, Change, Journal, Outcome};
    let dir = tempfile::tempdir().unwrap();
    let id = [7u8; 32];
    let (mut j, _) = Journal::open(dir.path(), id, 42, 2).unwrap();
    for i in 0..5 {
        j.append(&[Change {
            path: format!("{i}.jpg").into_bytes(),
            fingerprint: Fingerprint {
                size: i,
                mtime_ns: 0,
            },
            outcome: Outcome::Vector(vec![0.6, 0.8]),
        }])
        .unwrap();
    }
    drop(j);
    let file = dir.path().join(journal::FILE);
    let good = fs::read(&file).unwrap();
    let mut rng = Rng(99);
    for round in 0..2000 {
        let mut bytes = good.clone();
        if round % 2 == 0 {
            bytes.truncate(rng.below(bytes.len()));
        } else {
            let at = rng.below(bytes.len());
            bytes[at] ^= 1 << rng.below(8);
        }
        fs::write(&file, &bytes).unwrap();
        let (result, peak) = peak_during(|| {
            std::panic::catch_unwind(|| journal::read(dir.path(), id, 42, 2))
                .unwrap_or_else(|_| panic!("round {round}: the log reader panicked"))
        });
        assert!(peak < 2 * bytes.len() + 4 * MIB, "round {round}: {peak}");
        if let Ok(replay) = result {
            assert!(replay.changes.len() <= 5);
        }
    }
}

#[test]
fn a_checkpoint_log_stretched_to_gigabytes_is_read_by_its_records_not_whole() {
    use photo_sim_engine::index::journal::{self, Change, Journal, Outcome};
    let sb = common::Sandbox::new();
    fs::create_dir_all(sb.photos()).unwrap();
    let model = common::model();
    let dir = sb.open().index_dir().to_path_buf();
    fs::create_dir_all(&dir).unwrap();
    // Two photos embedded before the first save, then a hole of 3 GB (a sparse file, as a
    // crash of the file system or a hand can leave).
    let (mut j, _) = Journal::open(&dir, model.id, 0, model.dim).unwrap();
    let mut unit = vec![0.0; model.dim];
    unit[0] = 1.0;
    for name in ["a.jpg", "b.jpg"] {
        j.append(&[Change {
            path: name.into(),
            fingerprint: Fingerprint {
                size: 1,
                mtime_ns: 0,
            },
            outcome: Outcome::Vector(unit.clone()),
        }])
        .unwrap();
    }
    drop(j);
    let file = dir.join(journal::FILE);
    fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let (lib, peak) = peak_during(|| sb.open());
    assert!(peak < 16 * MIB, "{} MiB to open the index", peak / MIB);
    assert_eq!(lib.len(), 2, "{:?}", lib.notices());
    assert!(
        lib.notices().iter().any(|n| n.contains("not complete")),
        "{:?}",
        lib.notices()
    );
}

/// A baseline JPEG of `w`×`h` with smooth content.
fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

/// A progressive JPEG header claiming `side`×`side` pixels (4:2:0), followed by `data` bytes
/// of entropy-coded zeros: the shape of a file that makes a decoder allocate its whole
/// coefficient buffer up front.
fn progressive_claiming(side: u16, data: usize) -> Vec<u8> {
    let mut out = vec![0xff, 0xd8];
    out.extend([0xff, 0xdb, 0, 67, 0]);
    out.extend([1u8; 64]);
    let [hi, lo] = side.to_be_bytes();
    out.extend([0xff, 0xc2, 0, 17, 8, hi, lo, hi, lo, 3]);
    out.extend([1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0]);
    out.extend([0xff, 0xc4, 0, 20, 0x00, 1]);
    out.extend([0u8; 15]);
    out.push(0);
    out.extend([0xff, 0xda, 0, 12, 3, 1, 0, 2, 0, 3, 0, 0, 0, 0]);
    out.extend(vec![0u8; data]);
    out.extend([0xff, 0xd9]);
    out
}

#[test]
fn a_tiny_progressive_jpeg_claiming_14000_pixels_a_side_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.jpg");
    fs::write(&path, progressive_claiming(14000, 46_000)).unwrap();
    let (result, peak) = peak_during(|| decode::load_rgb(&path, 256));
    let err = result.unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(peak < 4 * MIB, "{peak}");
}

#[test]
fn a_huge_file_that_is_not_an_image_is_refused_from_its_first_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.jpg");
    // Sparse: 2 GB of zeros that take no disk space.
    fs::File::create(&path).unwrap().set_len(2 << 30).unwrap();
    let (result, peak) = peak_during(|| decode::load_rgb(&path, 256));
    assert!(matches!(result, Err(DecodeError::NotAnImage)), "{result:?}");
    assert!(peak < MIB, "{peak}");
}

#[test]
fn a_photo_followed_by_garbage_is_read_only_as_far_as_its_size_needs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.jpg");
    fs::write(&path, jpeg(640, 480)).unwrap();
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(500 << 20).unwrap();
    let (result, peak) = peak_during(|| decode::load_rgb(&path, 256));
    let img = result.unwrap();
    assert_eq!(
        (img.width(), img.height()),
        (400, 300),
        "decoded at 5/8, 256 px or more"
    );
    assert!(peak < 64 * MIB, "{peak}");
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs `f` on another thread, failing if it blocks.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(std::time::Duration::from_secs(20))
        .expect("blocked on a special file")
}

#[test]
fn named_pipes_and_devices_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.jpg");
    mkfifo(&fifo);
    let zero = dir.path().join("zero.jpg");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let (f, z) = (fifo.clone(), zero.clone());
    let err = within(move || decode::load_rgb(&f, 256)).unwrap_err();
    assert_eq!(err.to_string(), "not a regular file (a named pipe)");
    let err = within(move || decode::load_rgb(&z, 256)).unwrap_err();
    assert_eq!(err.to_string(), "not a regular file (a device)");

    // The scan names them instead of ignoring them silently.
    let d = dir.path().to_path_buf();
    let scan = within(move || {
        photo_sim_engine::index::scan(&d, None, &photo_sim_engine::CancelToken::new())
    });
    let reasons: Vec<String> = scan
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.path.display(), s.reason))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("pipe.jpg: not a regular file (a named pipe)")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("zero.jpg: not a regular file (a device)")),
        "{reasons:?}"
    );
}

#[test]
fn search_with_a_named_pipe_as_the_query_fails_instead_of_blocking() {
    let sb = common::Sandbox::new();
    common::small_photos(&sb.photos(), 2);
    let fifo = sb.dir.path().join("query.jpg");
    mkfifo(&fifo);
    let out = common::run_within(
        common::cli(&sb)
            .args(["search", "--folder"])
            .arg(sb.photos())
            .arg(&fifo),
        180,
    );
    let (_, stderr) = common::texts(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("not a regular file (a named pipe)"),
        "{stderr}"
    );
}
