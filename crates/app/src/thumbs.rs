//! Thumbnails: decoded on worker threads, cached on disk (`cache_dir/thumbs/`, small JPEGs
//! keyed by path, size and modification time) and in memory as a bounded LRU of textures, so
//! walking back through the history never decodes a full photo again.

use eframe::egui;
use egui::{ColorImage, TextureHandle, TextureOptions};
use photo_sim_engine::decode;
use photo_sim_engine::index::path_bytes;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::UNIX_EPOCH;

/// Side of the square grid thumbnails, in pixels.
pub const GRID_SIDE: u32 = 256;
/// Longest side of the large query picture, in pixels.
pub const LARGE_SIDE: u32 = 900;
/// Textures kept in memory.
pub const MEMORY_ENTRIES: usize = 300;
const WORKERS: usize = 2;

/// Which picture of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// Centre square, [`GRID_SIDE`] pixels.
    Grid,
    /// Whole picture fitted in [`LARGE_SIDE`].
    Large,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    size: Size,
}

pub enum Thumb {
    Ready(TextureHandle),
    Loading,
    Failed(String),
}

struct Queue {
    /// Newest last: workers take from the end, so what is on screen now comes first.
    jobs: Mutex<Vec<Key>>,
    ready: Condvar,
}

pub struct Thumbs {
    ctx: egui::Context,
    queue: Arc<Queue>,
    done: crossbeam_channel::Receiver<(Key, Result<ColorImage, String>)>,
    pending: HashSet<Key>,
    memory: HashMap<Key, (TextureHandle, u64)>,
    failed: HashMap<Key, String>,
    clock: u64,
}

impl Thumbs {
    pub fn new(ctx: egui::Context, cache_dir: &Path) -> Self {
        let queue = Arc::new(Queue {
            jobs: Mutex::new(Vec::new()),
            ready: Condvar::new(),
        });
        let (tx, done) = crossbeam_channel::unbounded();
        let dir = cache_dir.join("thumbs");
        for i in 0..WORKERS {
            let (queue, tx, ctx, dir) = (queue.clone(), tx.clone(), ctx.clone(), dir.clone());
            std::thread::Builder::new()
                .name(format!("thumbs-{i}"))
                .spawn(move || loop {
                    let key = {
                        let mut jobs = queue.jobs.lock().expect("thumb queue");
                        loop {
                            if let Some(k) = jobs.pop() {
                                break k;
                            }
                            jobs = queue.ready.wait(jobs).expect("thumb queue");
                        }
                    };
                    let result = load(&dir, &key);
                    if tx.send((key, result)).is_err() {
                        return;
                    }
                    ctx.request_repaint();
                })
                .expect("spawn a thread");
        }
        Self {
            ctx,
            queue,
            done,
            pending: HashSet::new(),
            memory: HashMap::new(),
            failed: HashMap::new(),
            clock: 0,
        }
    }

    /// Turns finished decodes into textures (call once per frame, on the UI thread).
    pub fn poll(&mut self) {
        for (key, result) in self.done.try_iter() {
            self.pending.remove(&key);
            match result {
                Ok(image) => {
                    let name = format!("{}#{:?}", key.path.display(), key.size);
                    let texture = self.ctx.load_texture(name, image, TextureOptions::LINEAR);
                    self.clock += 1;
                    self.memory.insert(key, (texture, self.clock));
                }
                Err(e) => {
                    self.failed.insert(key, e);
                }
            }
        }
        while self.memory.len() > MEMORY_ENTRIES {
            let oldest = self
                .memory
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.memory.remove(&k);
                }
                None => break,
            }
        }
    }

    /// The picture of `path`, or `Loading` (and it is queued) when it is not in memory.
    pub fn get(&mut self, path: &Path, size: Size) -> Thumb {
        let key = Key {
            path: path.to_path_buf(),
            size,
        };
        self.clock += 1;
        if let Some((texture, used)) = self.memory.get_mut(&key) {
            *used = self.clock;
            return Thumb::Ready(texture.clone());
        }
        if let Some(e) = self.failed.get(&key) {
            return Thumb::Failed(e.clone());
        }
        if self.pending.insert(key.clone()) {
            self.queue.jobs.lock().expect("thumb queue").push(key);
            self.queue.ready.notify_one();
        }
        Thumb::Loading
    }

    /// True when the picture is in memory (it will not be loaded if it is not).
    pub fn is_ready(&self, path: &Path, size: Size) -> bool {
        self.memory.contains_key(&Key {
            path: path.to_path_buf(),
            size,
        })
    }

    /// Forgets failures (a file may have been fixed), e.g. after re-indexing.
    pub fn forget_failures(&mut self) {
        self.failed.clear();
    }

    pub fn in_memory(&self) -> usize {
        self.memory.len()
    }
}

impl Drop for Thumbs {
    fn drop(&mut self) {
        self.queue.jobs.lock().expect("thumb queue").clear();
    }
}

/// The disk-cache file of a picture: blake3 of path bytes, size kind, file length and mtime.
fn cache_file(dir: &Path, key: &Key) -> std::io::Result<PathBuf> {
    let meta = std::fs::metadata(&key.path)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = blake3::Hasher::new();
    h.update(path_bytes(&key.path).as_ref());
    h.update(&[0, key.size as u8]);
    h.update(&meta.len().to_le_bytes());
    h.update(&mtime.to_le_bytes());
    let hex = h.finalize().to_hex();
    Ok(dir.join(&hex[..2]).join(format!("{}.jpg", &hex[..32])))
}

fn load(dir: &Path, key: &Key) -> Result<ColorImage, String> {
    let file = cache_file(dir, key).map_err(|e| format!("cannot read the file: {e}"))?;
    if let Ok(img) = decode::load_rgb(&file, u32::MAX) {
        return Ok(color_image(&img));
    }
    let img = match key.size {
        Size::Grid => {
            decode::load_rgb_then(&key.path, GRID_SIDE, |img| decode::square(&img, GRID_SIDE))
        }
        Size::Large => {
            decode::load_rgb_then(&key.path, LARGE_SIDE, |img| decode::fit(&img, LARGE_SIDE))
        }
    }
    .map_err(|e| e.to_string())?;
    // The cache is only a speed-up: failing to write it is not worth a message.
    let _ = save_jpeg(&img, &file);
    Ok(color_image(&img))
}

fn save_jpeg(img: &image::RgbImage, file: &Path) -> anyhow::Result<()> {
    let dir = file.parent().expect("cache files have a parent");
    std::fs::create_dir_all(dir)?;
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 88).encode_image(img)?;
    // Write then rename, so a reader never sees half a thumbnail.
    let tmp = file.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)?;
    Ok(())
}

fn color_image(img: &image::RgbImage) -> ColorImage {
    ColorImage::from_rgb([img.width() as usize, img.height() as usize], img.as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_are_cached_on_disk_by_path_size_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("p.png");
        image::RgbImage::from_fn(600, 300, |x, _| image::Rgb([(x % 256) as u8, 10, 200]))
            .save(&photo)
            .unwrap();
        let cache = dir.path().join("thumbs");
        let key = Key {
            path: photo.clone(),
            size: Size::Grid,
        };
        let img = load(&cache, &key).unwrap();
        assert_eq!(img.size, [GRID_SIDE as usize, GRID_SIDE as usize]);
        let file = cache_file(&cache, &key).unwrap();
        assert!(file.exists());
        let large = Key {
            path: photo.clone(),
            size: Size::Large,
        };
        assert_ne!(cache_file(&cache, &large).unwrap(), file);
        let img = load(&cache, &large).unwrap();
        assert_eq!(img.size, [600, 300], "never scaled up");
        // From the cache now, even with the original unreadable as an image: its bytes are
        // garbage, with the same length and modification time (the cache key).
        let meta = std::fs::metadata(&photo).unwrap();
        std::fs::write(&photo, vec![0u8; meta.len() as usize]).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&photo)
            .unwrap()
            .set_modified(meta.modified().unwrap())
            .unwrap();
        assert!(decode::load_rgb(&photo, GRID_SIDE).is_err());
        let cached = load(&cache, &key).unwrap();
        assert_eq!(cached.size, [GRID_SIDE as usize, GRID_SIDE as usize]);
        let text = dir.path().join("t.jpg");
        std::fs::write(&text, b"hello").unwrap();
        let err = load(
            &cache,
            &Key {
                path: text,
                size: Size::Grid,
            },
        )
        .unwrap_err();
        assert!(err.contains("not an image"), "{err}");
    }
}
