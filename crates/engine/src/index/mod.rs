//! One folder's index on disk: walking the folder (`scan`), deciding what to embed, reuse or
//! drop (`plan`, `content_key`), the checkpoint log and the one-writer lock (`journal`,
//! `lock`), and the files themselves (`format`, `store`, `rows`, the vectors of a large one
//! read through a memory map, and `paths`, its rows found by path). The update that runs these stages
//! is the library's (`library/update.rs`).

pub(crate) mod content_key;
pub mod format;
pub mod journal;
pub(crate) mod lock;
pub mod paths;
pub(crate) mod plan;
pub mod rows;
pub(crate) mod scan;
pub(crate) mod store;

pub use content_key::{full_of, key_of_bytes, sample_of, ContentKey, Sample};
pub use scan::{has_image_extension, scan, Fingerprint, Found, Identity, Scan, IMAGE_EXTENSIONS};
pub use store::{path_bytes, write_atomic, AtomicFile, Store, Written, DATA_DIR_ENV};
