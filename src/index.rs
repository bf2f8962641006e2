//! The on-disk index of one folder: which files it holds, their fingerprints and their
//! embedding vectors (and, for large folders, the nearest-neighbour graph in a second file).
//!
//! Every file starts with a magic number and a format version, then a header that names the
//! model that made the vectors and a hash of the body, so an old, foreign, truncated or
//! corrupted file is recognised and reported instead of being misread.

use crate::scan::Fingerprint;
use crate::store::write_atomic;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::io::Read;
use std::path::Path;

/// First bytes of every file photo-sim writes.
pub const MAGIC: [u8; 8] = *b"PHOTOSIM";
/// Bumped whenever the layout below changes; an older file is rebuilt, never misread.
pub const FORMAT_VERSION: u32 = 1;

/// One indexed image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Path relative to the indexed folder, as raw bytes (file names need not be UTF-8).
    pub path: Vec<u8>,
    pub fingerprint: Fingerprint,
}

/// A file that could not be indexed: remembered so it is not retried until it changes, and
/// reported again on every run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failed {
    pub path: Vec<u8>,
    pub fingerprint: Fingerprint,
    pub reason: String,
}

/// Everything known about one folder's images.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Vectors {
    /// The indexed folder (canonical path bytes).
    pub folder: Vec<u8>,
    pub dim: u32,
    /// Changes every time the content changes, so a graph built from an older content is
    /// known to be stale.
    pub generation: u64,
    pub entries: Vec<Entry>,
    /// `entries.len() × dim` values, row `i` being the unit vector of `entries[i]`.
    pub data: Vec<f32>,
    pub failed: Vec<Failed>,
}

impl Vectors {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.dim as usize;
        &self.data[i * d..(i + 1) * d]
    }
}

/// Which of photo-sim's files this is; a header checked on read so the two are never swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Vectors,
    Graph,
}

#[derive(Serialize, Deserialize)]
struct Header {
    kind: Kind,
    model_id: [u8; 32],
    body_len: u64,
    body_hash: [u8; 32],
}

/// Why an index file was not used. Every case means "rebuild", with a message saying why.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no index yet")]
    Missing,
    #[error("cannot read the index file: {0}")]
    Io(std::io::Error),
    #[error("not a photo-sim index file")]
    NotOurs,
    #[error("the index was written by format version {found}; this version of photo-sim writes version {FORMAT_VERSION}")]
    Version { found: u32 },
    #[error("the index was made with a different model")]
    OtherModel,
    #[error("the index file is corrupt or truncated ({0})")]
    Corrupt(String),
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Writes `body` to `path` atomically, with magic, version and header.
pub fn save<T: Serialize>(
    path: &Path,
    kind: Kind,
    model_id: [u8; 32],
    body: &T,
) -> anyhow::Result<()> {
    let body = bincode::serde::encode_to_vec(body, config())?;
    let header = Header {
        kind,
        model_id,
        body_len: body.len() as u64,
        body_hash: *blake3::hash(&body).as_bytes(),
    };
    let header = bincode::serde::encode_to_vec(&header, config())?;
    write_atomic(path, |w| {
        w.write_all(&MAGIC)?;
        w.write_all(&FORMAT_VERSION.to_le_bytes())?;
        w.write_all(&header)?;
        w.write_all(&body)?;
        Ok(())
    })
}

/// Reads a file written by [`save`], checking everything before trusting any of it.
pub fn load<T: DeserializeOwned>(
    path: &Path,
    kind: Kind,
    model_id: [u8; 32],
) -> Result<T, LoadError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LoadError::Missing),
        Err(e) => return Err(LoadError::Io(e)),
    };
    let mut r = std::io::BufReader::new(file);
    let mut magic = [0u8; 8];
    if r.read_exact(&mut magic).is_err() || magic != MAGIC {
        return Err(LoadError::NotOurs);
    }
    let mut version = [0u8; 4];
    r.read_exact(&mut version)
        .map_err(|_| LoadError::Corrupt("no version".into()))?;
    let found = u32::from_le_bytes(version);
    if found != FORMAT_VERSION {
        return Err(LoadError::Version { found });
    }
    let header: Header = bincode::serde::decode_from_std_read(&mut r, config())
        .map_err(|e| LoadError::Corrupt(format!("bad header: {e}")))?;
    if header.kind != kind {
        return Err(LoadError::NotOurs);
    }
    if header.model_id != model_id {
        return Err(LoadError::OtherModel);
    }
    let mut body = Vec::new();
    r.take(header.body_len)
        .read_to_end(&mut body)
        .map_err(LoadError::Io)?;
    if body.len() as u64 != header.body_len {
        return Err(LoadError::Corrupt(format!(
            "{} of {} bytes",
            body.len(),
            header.body_len
        )));
    }
    if blake3::hash(&body).as_bytes() != &header.body_hash {
        return Err(LoadError::Corrupt("checksum mismatch".into()));
    }
    let (value, _) = bincode::serde::decode_from_slice(&body, config())
        .map_err(|e| LoadError::Corrupt(e.to_string()))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vectors {
        Vectors {
            folder: b"/photos".to_vec(),
            dim: 2,
            generation: 7,
            entries: vec![Entry {
                path: vec![b'a', 0xff, b'.', b'j', b'p', b'g'],
                fingerprint: Fingerprint {
                    size: 10,
                    mtime_ns: 5,
                },
            }],
            data: vec![0.6, 0.8],
            failed: vec![],
        }
    }

    #[test]
    fn round_trip_and_every_kind_of_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.bin");
        let id = [1u8; 32];
        assert!(matches!(
            load::<Vectors>(&p, Kind::Vectors, id),
            Err(LoadError::Missing)
        ));
        save(&p, Kind::Vectors, id, &sample()).unwrap();
        assert_eq!(load::<Vectors>(&p, Kind::Vectors, id).unwrap(), sample());
        assert!(matches!(
            load::<Vectors>(&p, Kind::Vectors, [2; 32]),
            Err(LoadError::OtherModel)
        ));
        assert!(matches!(
            load::<Vectors>(&p, Kind::Graph, id),
            Err(LoadError::NotOurs)
        ));

        let good = std::fs::read(&p).unwrap();
        std::fs::write(&p, &good[..good.len() - 3]).unwrap();
        assert!(matches!(
            load::<Vectors>(&p, Kind::Vectors, id),
            Err(LoadError::Corrupt(_))
        ));
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 0x40;
        std::fs::write(&p, &flipped).unwrap();
        assert!(matches!(
            load::<Vectors>(&p, Kind::Vectors, id),
            Err(LoadError::Corrupt(_))
        ));
        let mut old = good.clone();
        old[8..12].copy_from_slice(&0u32.to_le_bytes());
        std::fs::write(&p, &old).unwrap();
        let err = load::<Vectors>(&p, Kind::Vectors, id).unwrap_err();
        assert!(err.to_string().contains("format version 0"), "{err}");
        std::fs::write(&p, b"").unwrap();
        assert!(matches!(
            load::<Vectors>(&p, Kind::Vectors, id),
            Err(LoadError::NotOurs)
        ));
    }
}
