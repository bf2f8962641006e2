//! The rows of an index's vectors: in memory, or, for a large index, read straight from its
//! file through a memory map. Opening a library of a million photos then reads its list of
//! files and its compact codes, not its 5 GB of vectors; the pages a query touches are read
//! when it touches them and handed back after ([`Rows::release`]), so the process holds what
//! it uses, not the whole file.
//!
//! A mapped file is one photo-sim never writes in place (every save writes a new file and
//! renames it over the old), so the mapping keeps the bytes it was opened on. The file's
//! blocks are checked against their hashes before an update builds on them
//! ([`Rows::damaged_blocks`]), not when it is opened.

use std::fs::File;
use std::ops::Deref;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Vectors, row after row.
#[derive(Clone)]
pub enum Rows {
    /// Held in memory.
    Memory(Vec<f32>),
    /// Read from the index file when touched.
    Mapped(Arc<Mapped>),
}

/// The vector block of an index file, mapped.
pub struct Mapped {
    map: memmap2::Mmap,
    file: File,
    /// Where the floats start in the file (a multiple of 64, so of a float's alignment).
    offset: usize,
    /// How many floats.
    len: usize,
    /// The hash of each block, as the file's meta records it.
    recorded: Vec<[u8; 16]>,
    /// Set once the blocks were found to match their hashes.
    checked: std::sync::atomic::AtomicBool,
}

impl Rows {
    /// The `floats` floats at `offset` in `file`, mapped; `None` where they cannot be (an
    /// offset not aligned for floats, a big-endian machine, a failed map): read them instead.
    pub fn map(file: File, offset: u64, floats: usize) -> Option<Rows> {
        if cfg!(target_endian = "big") || !offset.is_multiple_of(64) {
            return None;
        }
        let bytes = (floats as u64).checked_mul(4)?;
        if file.metadata().ok()?.len() < offset.checked_add(bytes)? {
            return None;
        }
        // SAFETY: the file is one photo-sim replaces by rename and never writes in place;
        // the map is read-only and private, and its length was checked against the file's.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(0)
                .len((offset + bytes) as usize)
                .map(&file)
        }
        .ok()?;
        Some(Rows::Mapped(Arc::new(Mapped {
            map,
            file,
            offset: offset as usize,
            len: floats,
            recorded: Vec::new(),
            checked: false.into(),
        })))
    }

    /// Mapped rows whose blocks should hash as `recorded` says (see [`Rows::damaged_blocks`]);
    /// rows in memory as they are.
    pub fn expecting(mut self, recorded: Vec<[u8; 16]>) -> Rows {
        if let Rows::Mapped(m) = &mut self {
            if let Some(m) = Arc::get_mut(m) {
                m.recorded = recorded;
            }
        }
        self
    }

    /// Mapped rows known to hash as they should (just written): never checked.
    pub(crate) fn vouched_for(self) -> Rows {
        if let Rows::Mapped(m) = &self {
            m.checked.store(true, std::sync::atomic::Ordering::Release);
        }
        self
    }

    /// True when the rows are read from their file.
    pub fn is_mapped(&self) -> bool {
        matches!(self, Rows::Mapped(_))
    }

    /// The rows in memory, to change: mapped ones are read in first.
    pub fn to_mut(&mut self) -> &mut Vec<f32> {
        if let Rows::Mapped(m) = self {
            *self = Rows::Memory(m.floats().to_vec());
        }
        match self {
            Rows::Memory(v) => v,
            Rows::Mapped(_) => unreachable!("just read into memory"),
        }
    }

    /// Appends `floats` (to rows in memory: mapped ones are read in first).
    pub fn extend_from_slice(&mut self, floats: &[f32]) {
        self.to_mut().extend_from_slice(floats);
    }

    /// Rows `rows` (each `dim` long), one after the other. Mapped rows are read from the file,
    /// not through the map: touching a few thousand rows scattered over a mapped file maps
    /// most of it (the kernel maps the large pages of its cache whole), which is the memory
    /// a search of a large library must not take.
    pub fn gather(&self, rows: &[usize], dim: usize) -> std::io::Result<Vec<f32>> {
        use rayon::prelude::*;
        match self {
            Rows::Memory(v) => Ok(rows
                .iter()
                .flat_map(|&r| &v[r * dim..(r + 1) * dim])
                .copied()
                .collect()),
            Rows::Mapped(_) => {
                let mut out = vec![0f32; rows.len() * dim];
                out.par_chunks_mut(dim.max(1))
                    .zip(rows.par_iter())
                    .try_for_each(|(row, &r)| self.read_row_into(r, row))?;
                Ok(out)
            }
        }
    }

    /// Row `r` into `out` (a row long): read from the file when mapped.
    fn read_row_into(&self, r: usize, out: &mut [f32]) -> std::io::Result<()> {
        self.read_rows_into(r, out.len(), out)
    }

    /// Gives the pages of a mapped file that were touched back to the kernel (they stay in
    /// its page cache, and are read again if touched again): after a query read a few
    /// thousand rows, the process no longer holds them.
    pub fn release(&self) {
        if let Rows::Mapped(m) = self {
            // Only fails for arguments that are not a mapping; then nothing is released.
            // SAFETY: DontNeed on a private read-only file mapping only drops pages, which
            // are read again from the file when touched; no reference into them is invalidated.
            let _ = unsafe { m.map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }

    /// The blocks of `block_floats` floats of mapped rows whose `hash` is not the one
    /// recorded ([`Rows::expecting`]), in order, read from the file (not through the map, so
    /// the check leaves nothing behind in the process's memory). Checked once: none after
    /// that, and none for rows in memory (checked when they were read).
    pub fn damaged_blocks(
        &self,
        block_floats: usize,
        hash: impl Fn(&[f32]) -> [u8; 16] + Sync,
    ) -> std::io::Result<Vec<usize>> {
        use rayon::prelude::*;
        use std::sync::atomic::Ordering;
        let Rows::Mapped(m) = self else {
            return Ok(Vec::new());
        };
        if m.checked.load(Ordering::Acquire) {
            return Ok(Vec::new());
        }
        let block_floats = block_floats.max(1);
        let damaged: Vec<usize> = (0..m.len.div_ceil(block_floats))
            .into_par_iter()
            .map(|b| {
                let start = b * block_floats;
                let now = hash(&m.read(start, (start + block_floats).min(m.len))?);
                Ok((m.recorded.get(b) != Some(&now)).then_some(b))
            })
            .filter_map(Result::transpose)
            .collect::<std::io::Result<_>>()?;
        m.checked.store(damaged.is_empty(), Ordering::Release);
        Ok(damaged)
    }
}

/// Rows read a range at a time, of which none need be in memory all at once: an index's own,
/// or those an update is about to save (some embedded in this run, some read from the old
/// file), so that a save streams them into the new file.
pub trait RowSource: Sync {
    /// How many rows.
    fn rows(&self) -> usize;
    /// Floats a row.
    fn dim(&self) -> usize;
    /// Rows `range`, one after the other: borrowed where they already are in memory, else
    /// read into `buf`.
    fn read<'a>(
        &'a self,
        range: std::ops::Range<usize>,
        buf: &'a mut Vec<f32>,
    ) -> std::io::Result<&'a [f32]>;
}

/// Rows of `dim` floats held in a slice.
pub struct Floats<'a> {
    /// The rows, one after the other.
    pub data: &'a [f32],
    /// Floats a row (0 for no rows).
    pub dim: usize,
}

impl RowSource for Floats<'_> {
    fn rows(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn read<'a>(
        &'a self,
        range: std::ops::Range<usize>,
        _: &'a mut Vec<f32>,
    ) -> std::io::Result<&'a [f32]> {
        Ok(&self.data[range.start * self.dim..range.end * self.dim])
    }
}

impl Rows {
    /// Rows `range` (of `dim` floats): borrowed when in memory, read from the file into `buf`
    /// when mapped (not through the map, which would keep the pages).
    pub fn read_range<'a>(
        &'a self,
        range: std::ops::Range<usize>,
        dim: usize,
        buf: &'a mut Vec<f32>,
    ) -> std::io::Result<&'a [f32]> {
        match self {
            Rows::Memory(v) => Ok(&v[range.start * dim..range.end * dim]),
            Rows::Mapped(_) => {
                buf.clear();
                buf.resize(range.len() * dim, 0.0);
                self.read_rows_into(range.start, dim, buf)?;
                Ok(buf)
            }
        }
    }

    /// Rows from `first` on (of `dim` floats) into `out`, whole rows: read from the file when
    /// mapped.
    pub(crate) fn read_rows_into(
        &self,
        first: usize,
        dim: usize,
        out: &mut [f32],
    ) -> std::io::Result<()> {
        match self {
            Rows::Memory(v) => out.copy_from_slice(&v[first * dim..first * dim + out.len()]),
            Rows::Mapped(m) => m.read_into(first * dim, out)?,
        }
        Ok(())
    }
}

impl Mapped {
    fn floats(&self) -> &[f32] {
        let bytes = &self.map[self.offset..self.offset + self.len * 4];
        // SAFETY: `map` checked the offset is a multiple of 64 within a page-aligned map, so
        // the pointer is aligned for f32; the bytes are the file's little-endian floats on a
        // little-endian machine, and every bit pattern is a float.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), self.len) }
    }

    /// Floats from `start` on into `out`, read from the file (the file's little-endian floats
    /// are this machine's, as [`Rows::map`] checked).
    fn read_into(&self, start: usize, out: &mut [f32]) -> std::io::Result<()> {
        read_floats_at(&self.file, (self.offset + start * 4) as u64, out)
    }

    /// Floats `start..end`, read from the file.
    fn read(&self, start: usize, end: usize) -> std::io::Result<Vec<f32>> {
        let mut floats = vec![0f32; end - start];
        self.read_into(start, &mut floats)?;
        Ok(floats)
    }
}

impl Deref for Rows {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match self {
            Rows::Memory(v) => v,
            Rows::Mapped(m) => m.floats(),
        }
    }
}

impl Default for Rows {
    fn default() -> Self {
        Rows::Memory(Vec::new())
    }
}

impl From<Vec<f32>> for Rows {
    fn from(v: Vec<f32>) -> Self {
        Rows::Memory(v)
    }
}

impl FromIterator<f32> for Rows {
    fn from_iter<I: IntoIterator<Item = f32>>(iter: I) -> Self {
        Rows::Memory(iter.into_iter().collect())
    }
}

impl PartialEq for Rows {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl PartialEq<Vec<f32>> for Rows {
    fn eq(&self, other: &Vec<f32>) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let place = if self.is_mapped() { "mapped" } else { "memory" };
        write!(f, "Rows({} floats in {place})", self.len())
    }
}

/// Fills `out` with the floats at byte `at` of `file`, read straight into them (no alignment
/// is needed in the file: `out` is aligned). For a little-endian machine only, whose floats
/// are those of the files (callers check).
pub(crate) fn read_floats_at(file: &File, at: u64, out: &mut [f32]) -> std::io::Result<()> {
    // SAFETY: the bytes of `out`, which any bit pattern fills with valid floats.
    let bytes =
        unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), out.len() * 4) };
    file.read_exact_at(bytes, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(floats: &[f32], offset: usize) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![0xAB; offset]).unwrap();
        let bytes: Vec<u8> = floats.iter().flat_map(|x| x.to_le_bytes()).collect();
        f.write_all(&bytes).unwrap();
        f
    }

    #[test]
    fn mapped_rows_read_as_the_floats_of_the_file() {
        let floats: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
        let rows = Rows::map(file_with(&floats, 128), 128, floats.len()).unwrap();
        assert!(rows.is_mapped());
        assert_eq!(rows, floats);
        rows.release();
        assert_eq!(rows[999], 499.5, "released pages are read again");
        assert_eq!(
            rows.gather(&[3, 1], 10).unwrap(),
            [&floats[30..40], &floats[10..20]].concat()
        );
        assert_eq!(
            Rows::from(floats.clone()).gather(&[3, 1], 10).unwrap(),
            rows.gather(&[3, 1], 10).unwrap()
        );
        let mut copy = rows.clone();
        copy.to_mut().push(1.0);
        assert!(!copy.is_mapped());
        assert_eq!(copy.len(), 1001);
        assert_eq!(rows.len(), 1000);
    }

    #[test]
    fn rows_that_cannot_be_mapped_say_so() {
        let floats = [1.0f32; 16];
        assert!(
            Rows::map(file_with(&floats, 10), 10, 16).is_none(),
            "misaligned"
        );
        assert!(
            Rows::map(file_with(&floats, 64), 64, 17).is_none(),
            "past the end"
        );
    }

    #[test]
    fn damaged_blocks_are_found_by_their_hashes() {
        let hash = |b: &[f32]| {
            let mut h = [0u8; 16];
            h[..4].copy_from_slice(&b.iter().sum::<f32>().to_le_bytes());
            h
        };
        let floats: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let recorded: Vec<[u8; 16]> = floats.chunks(30).map(hash).collect();
        let mut damaged = floats.clone();
        damaged[65] = -1.0;
        let mapped = Rows::map(file_with(&damaged, 64), 64, 100)
            .unwrap()
            .expecting(recorded.clone());
        assert_eq!(mapped.damaged_blocks(30, hash).unwrap(), [2]);
        assert_eq!(
            mapped.damaged_blocks(30, hash).unwrap(),
            [2],
            "until mended"
        );
        let intact = Rows::map(file_with(&floats, 64), 64, 100)
            .unwrap()
            .expecting(recorded);
        assert!(intact.damaged_blocks(30, hash).unwrap().is_empty());
        assert!(Rows::from(damaged)
            .damaged_blocks(30, hash)
            .unwrap()
            .is_empty());
    }
}
