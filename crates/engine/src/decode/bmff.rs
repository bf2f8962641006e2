//! ISO base media file format boxes, the container of HEIF/AVIF and of Canon's CR3: one
//! bounded walker, so no box size, however hostile, reads past the bytes there are.

use std::ops::Range;

/// One box: its type, where its body lies in the bytes walked, and whether all of it is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bmff {
    pub kind: [u8; 4],
    pub body: Range<usize>,
    /// False for a box that says it runs past the end of the bytes (its body is cut there).
    pub whole: bool,
}

/// The boxes of `bytes` from `at` on, in order. A box that runs past the end is cut there and
/// is the last one; a box smaller than its own header ends the list at once.
pub fn boxes(bytes: &[u8], at: usize) -> impl Iterator<Item = Bmff> + '_ {
    let mut next = Some(at);
    std::iter::from_fn(move || {
        let at = next.take()?;
        let size = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
        let kind: [u8; 4] = bytes.get(at + 4..at + 8)?.try_into().ok()?;
        let (header, size) = match size {
            0 => (8, bytes.len() - at),
            1 => (
                16,
                usize::try_from(u64::from_be_bytes(
                    bytes.get(at + 8..at + 16)?.try_into().ok()?,
                ))
                .ok()?,
            ),
            n => (8, n as usize),
        };
        if size < header {
            return None;
        }
        let end = at.saturating_add(size);
        let whole = end <= bytes.len();
        let end = end.min(bytes.len());
        next = whole.then_some(end);
        Some(Bmff {
            kind,
            body: (at + header).min(end)..end,
            whole,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_are_walked_in_order_and_a_cut_or_senseless_one_ends_the_walk() {
        let mut bytes = Vec::new();
        bytes.extend(12u32.to_be_bytes());
        bytes.extend(b"abcd1234");
        bytes.extend(100u32.to_be_bytes());
        bytes.extend(b"cut!xy");
        let got: Vec<Bmff> = boxes(&bytes, 0).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].kind, got[0].body.clone(), got[0].whole),
            (*b"abcd", 8..12, true)
        );
        assert_eq!(
            (got[1].kind, got[1].body.clone(), got[1].whole),
            (*b"cut!", 20..22, false)
        );
        let mut senseless = 4u32.to_be_bytes().to_vec();
        senseless.extend(b"tinyrest");
        assert_eq!(boxes(&senseless, 0).count(), 0);
    }
}
