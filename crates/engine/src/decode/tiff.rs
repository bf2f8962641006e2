//! A careful reader of TIFF-structured blocks: EXIF metadata, and the containers most camera
//! RAW files are (DNG, CR2, NEF, ARW, PEF, and ORF and RW2 with their own magic numbers).
//! Every offset is checked against the block, directory walks are bounded, so a damaged or
//! crafted file gives `None`, never a panic, a loop or a huge allocation.

/// No real directory has more entries; a bigger count is damage.
const MAX_ENTRIES: usize = 1000;
/// Directories one walk visits at most (chains, sub-directories and maker notes together).
const MAX_DIRECTORIES: usize = 64;

pub const ASCII: u16 = 2;
pub const SHORT: u16 = 3;
pub const LONG: u16 = 4;
pub const UNDEFINED: u16 = 7;
pub const IFD: u16 = 13;

/// A TIFF block: its bytes and byte order.
pub struct Tiff<'a> {
    pub bytes: &'a [u8],
    pub little: bool,
}

/// One directory entry: tag, type, count, and the 4-byte value-or-offset field.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub tag: u16,
    pub kind: u16,
    pub count: u32,
    pub value: [u8; 4],
}

/// A little-endian directory entry, as the files made for tests and benchmarks are written:
/// tag, kind, count and the value-or-offset field (a SHORT in its first two bytes).
#[cfg(any(test, feature = "test-support"))]
pub fn le_entry(tag: u16, kind: u16, count: u32, value: u32) -> Vec<u8> {
    [
        &tag.to_le_bytes()[..],
        &kind.to_le_bytes(),
        &count.to_le_bytes(),
        &value.to_le_bytes(),
    ]
    .concat()
}

/// A little-endian directory of [`le_entry`]s, with no next directory.
#[cfg(any(test, feature = "test-support"))]
pub fn le_directory(entries: &[Vec<u8>]) -> Vec<u8> {
    [
        &(entries.len() as u16).to_le_bytes()[..],
        &entries.concat(),
        &0u32.to_le_bytes(),
    ]
    .concat()
}

impl<'a> Tiff<'a> {
    /// A block that starts with a TIFF header (or one of the RAW variants of its magic
    /// number: 42, Panasonic's 0x55, Olympus's "RO"/"RS").
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        // Some writers keep the "Exif\0\0" header of the JPEG segment.
        let bytes = bytes.strip_prefix(b"Exif\0\0").unwrap_or(bytes);
        let little = match bytes.get(..2)? {
            b"II" => true,
            b"MM" => false,
            _ => return None,
        };
        let tiff = Self { bytes, little };
        match tiff.u16_at(2)? {
            42 | 0x55 | 0x4f52 | 0x5352 => Some(tiff),
            _ => None,
        }
    }

    pub fn u16_at(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    pub fn u32_of(&self, b: [u8; 4]) -> u32 {
        if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    }

    pub fn u32_at(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(self.u32_of(b))
    }

    /// The offset of the first directory.
    pub fn first(&self) -> Option<usize> {
        Some(self.u32_at(4)? as usize)
    }

    /// The entries of the directory at `offset`, and the offset of the next one (0: none).
    pub fn directory(&self, offset: usize) -> Option<(Vec<Entry>, usize)> {
        let n = usize::from(self.u16_at(offset)?);
        if n > MAX_ENTRIES {
            return None;
        }
        let entries = (0..n)
            .map(|i| {
                let at = offset + 2 + 12 * i;
                Some(Entry {
                    tag: self.u16_at(at)?,
                    kind: self.u16_at(at + 2)?,
                    count: self.u32_at(at + 4)?,
                    value: self.bytes.get(at + 8..at + 12)?.try_into().ok()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let next = self.u32_at(offset + 2 + 12 * n).unwrap_or(0) as usize;
        Some((entries, next))
    }

    /// A SHORT or LONG entry's first value.
    pub fn number(&self, e: &Entry) -> Option<u32> {
        match e.kind {
            SHORT => {
                let b = [e.value[0], e.value[1]];
                Some(u32::from(if self.little {
                    u16::from_le_bytes(b)
                } else {
                    u16::from_be_bytes(b)
                }))
            }
            LONG | IFD => Some(self.u32_of(e.value)),
            _ => None,
        }
    }

    /// A LONG (or IFD) entry's values: inline when there is one, else at its offset.
    pub fn longs(&self, e: &Entry) -> Vec<u32> {
        if !matches!(e.kind, LONG | IFD) {
            return self.number(e).into_iter().collect();
        }
        if e.count <= 1 {
            return vec![self.u32_of(e.value)];
        }
        let at = self.u32_of(e.value) as usize;
        (0..e.count.min(MAX_ENTRIES as u32) as usize)
            .map_while(|i| self.u32_at(at.checked_add(4 * i)?))
            .collect()
    }

    /// A numeric entry's values as f64 (BYTE, SHORT, LONG, RATIONAL and their signed kinds),
    /// inline when they fit in four bytes, else at its offset; at most `max` of them, and
    /// `None` when they do not all lie in the block.
    pub fn values(&self, e: &Entry, max: usize) -> Option<Vec<f64>> {
        let size = match e.kind {
            1 | 6 | UNDEFINED => 1,
            SHORT | 8 => 2,
            LONG | 9 | IFD => 4,
            5 | 10 => 8,
            _ => return None,
        };
        let count = e.count as usize;
        if count > max {
            return None;
        }
        let bytes = if count * size <= 4 {
            e.value.get(..count * size)?
        } else {
            let at = self.u32_of(e.value) as usize;
            self.bytes.get(at..at.checked_add(count * size)?)?
        };
        let part = Tiff {
            bytes,
            little: self.little,
        };
        (0..count)
            .map(|i| {
                let at = i * size;
                Some(match e.kind {
                    1 | UNDEFINED => f64::from(bytes[at]),
                    6 => f64::from(bytes[at] as i8),
                    SHORT => f64::from(part.u16_at(at)?),
                    8 => f64::from(part.u16_at(at)? as i16),
                    LONG | IFD => f64::from(part.u32_at(at)?),
                    9 => f64::from(part.u32_at(at)? as i32),
                    5 => f64::from(part.u32_at(at)?) / f64::from(part.u32_at(at + 4)?.max(1)),
                    _ => {
                        let (n, d) = (part.u32_at(at)? as i32, part.u32_at(at + 4)? as i32);
                        f64::from(n) / f64::from(if d == 0 { 1 } else { d })
                    }
                })
            })
            .collect()
    }

    /// An ASCII entry's text, without its terminating NULs.
    pub fn text(&self, e: &Entry) -> Option<String> {
        if e.kind != ASCII {
            return None;
        }
        let len = e.count as usize;
        let bytes = if len <= 4 {
            e.value.get(..len)?
        } else {
            let at = self.u32_of(e.value) as usize;
            self.bytes.get(at..at.checked_add(len)?)?
        };
        let text = std::str::from_utf8(bytes)
            .ok()?
            .trim_end_matches('\0')
            .trim();
        (!text.is_empty()).then(|| text.to_string())
    }

    /// Every directory reachable from the first: the chain of next directories and the
    /// sub-directories named by `children` tags, each visited once, at most
    /// `MAX_DIRECTORIES` (64) of them.
    pub fn walk(&self, children: &[u16]) -> Vec<Vec<Entry>> {
        let mut seen = std::collections::HashSet::new();
        let mut todo: Vec<usize> = self.first().into_iter().collect();
        let mut out = Vec::new();
        while let Some(at) = todo.pop() {
            if at == 0 || out.len() == MAX_DIRECTORIES || !seen.insert(at) {
                continue;
            }
            let Some((entries, next)) = self.directory(at) else {
                continue;
            };
            todo.push(next);
            for e in entries.iter().filter(|e| children.contains(&e.tag)) {
                todo.extend(self.longs(e).into_iter().map(|o| o as usize));
            }
            out.push(entries);
        }
        out
    }
}
