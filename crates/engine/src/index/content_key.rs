//! Knowing a file by what it holds rather than where it is: a content key of two hashes, a
//! cheap one of the file's size, head and tail (to find candidates without reading whole
//! photos) and one of every byte (to confirm a match, and to tell byte-for-byte copies). A
//! moved or renamed photo, or the same photo in another indexed folder, keeps its vector.

use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes hashed at each end of a file for the sampled hash.
const SAMPLE: u64 = 64 * 1024;

/// What a file holds, in two hashes (128 bits of blake3 each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContentKey {
    /// Size, first and last 64 KiB: equal for every copy, rarely for two different photos.
    pub sample: Sample,
    /// Every byte: equal only for byte-for-byte copies.
    pub full: [u8; 16],
}

/// The sampled hash of a file (see [`ContentKey::sample`]).
pub type Sample = [u8; 16];

fn short(hash: blake3::Hash) -> [u8; 16] {
    hash.as_bytes()[..16].try_into().expect("16 bytes")
}

/// True when the sampled hash of a file of `len` bytes reads all of it (and is as good as
/// the full hash).
pub fn sample_covers(len: u64) -> bool {
    len <= 2 * SAMPLE
}

/// The sampled hash of a file whose whole content is `bytes`.
pub fn sample_of_bytes(bytes: &[u8]) -> Sample {
    let len = bytes.len() as u64;
    let head = &bytes[..len.min(SAMPLE) as usize];
    let tail = &bytes[(len.saturating_sub(SAMPLE)) as usize..];
    sample_of_parts(len, head, tail)
}

fn sample_of_parts(len: u64, head: &[u8], tail: &[u8]) -> Sample {
    let mut h = blake3::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(head);
    h.update(tail);
    short(h.finalize())
}

/// The content key of a file whose whole content is `bytes`.
pub fn key_of_bytes(bytes: &[u8]) -> ContentKey {
    ContentKey {
        sample: sample_of_bytes(bytes),
        full: short(blake3::hash(bytes)),
    }
}

/// The sampled hash of the file at `path`, reading at most 128 KiB of it.
pub fn sample_of(path: &Path) -> std::io::Result<Sample> {
    let (mut file, len) = open(path)?;
    sample_from(&mut file, len)
}

/// The hash of every byte of the file at `path`, read in pieces.
pub fn full_of(path: &Path) -> std::io::Result<[u8; 16]> {
    let (mut file, _) = open(path)?;
    hash_all(&mut file)
}

/// The content key of the file at `path` (opened once).
pub fn key_of(path: &Path) -> std::io::Result<ContentKey> {
    let (mut file, len) = open(path)?;
    let full = hash_all(&mut file)?;
    Ok(ContentKey {
        sample: sample_from(&mut file, len)?,
        full,
    })
}

/// The sampled hash of `file`, `len` bytes long, from its start and its end.
fn sample_from(file: &mut std::fs::File, len: u64) -> std::io::Result<Sample> {
    let mut head = Vec::with_capacity(len.min(SAMPLE) as usize);
    file.seek(SeekFrom::Start(0))?;
    file.take(SAMPLE).read_to_end(&mut head)?;
    let mut tail = Vec::with_capacity(len.min(SAMPLE) as usize);
    file.seek(SeekFrom::Start(len.saturating_sub(SAMPLE)))?;
    file.take(SAMPLE).read_to_end(&mut tail)?;
    Ok(sample_of_parts(len, &head, &tail))
}

/// The hash of every byte of `file` from where it stands, read in pieces.
fn hash_all(file: &mut std::fs::File) -> std::io::Result<[u8; 16]> {
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(short(h.finalize()))
}

/// Opens a regular file only (never a pipe or a device), with its length.
fn open(path: &Path) -> std::io::Result<(std::fs::File, u64)> {
    crate::decode::open_regular(path).map_err(|e| match e {
        crate::decode::DecodeError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_from_a_file_and_from_its_bytes_agree_at_every_size() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 1, 1000, 64 * 1024, 64 * 1024 + 1, 200_000, 300_001] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let path = dir.path().join(format!("{len}.bin"));
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(key_of(&path).unwrap(), key_of_bytes(&bytes), "{len} bytes");
        }
    }

    #[test]
    fn a_change_in_the_middle_escapes_the_sample_but_not_the_full_hash() {
        let a: Vec<u8> = (0..300_000).map(|i| (i % 256) as u8).collect();
        let mut b = a.clone();
        b[150_000] ^= 1;
        let (ka, kb) = (key_of_bytes(&a), key_of_bytes(&b));
        assert_eq!(ka.sample, kb.sample);
        assert_ne!(ka.full, kb.full);
        let mut c = a.clone();
        c.push(0);
        assert_ne!(
            key_of_bytes(&c).sample,
            ka.sample,
            "the size is in the sample"
        );
    }
}
