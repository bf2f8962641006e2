//! What a HEIF/AVIF file says of itself, read from its boxes without libheif and bounded:
//! its flavour (`ftyp` brands), its upright pixel size (`ispe`, `clap`, `irot`) and where its
//! EXIF block is (`iinf`, `iloc`).

/// What the `ftyp` box says the file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// HEIF, coded with HEVC (an iPhone's `.heic`) or not said (`mif1` alone).
    Heic,
    /// HEIF coded with AV1.
    Avif,
}

/// The brands of a HEVC-coded (or codec-neutral) HEIF file, and of an AV1-coded one.
const HEIC_BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
];
const AVIF_BRANDS: [&[u8; 4]; 2] = [b"avif", b"avis"];
/// The most compatible brands looked at.
const MAX_BRANDS: usize = 64;

/// The HEIF flavour `head` (a file's first bytes) is, from its `ftyp` box: the major brand,
/// then the compatible brands (which tell AVIF from HEIC when the major brand is the generic
/// `mif1`) as far as `head` holds them. `None` for anything else, and for an `ftyp` cut
/// before its major brand and version or whose size makes no sense.
pub fn kind(head: &[u8]) -> Option<Kind> {
    if head.get(4..8) != Some(b"ftyp") || head.len() < 16 {
        return None;
    }
    let size = u32::from_be_bytes(head[0..4].try_into().ok()?) as usize;
    // A 64-bit or to-the-end `ftyp` is legal but never written: not worth guessing at.
    if !(16..=16 + 4 * MAX_BRANDS).contains(&size) || !size.is_multiple_of(4) {
        return None;
    }
    let major: &[u8; 4] = head[8..12].try_into().ok()?;
    let compatible: Vec<&[u8; 4]> = head[16..size.min(head.len())]
        .chunks_exact(4)
        .map(|c| c.try_into().expect("chunks of 4"))
        .collect();
    let is = |brands: &[&[u8; 4]], b: &[u8; 4]| brands.contains(&b);
    if is(&AVIF_BRANDS, major) {
        return Some(Kind::Avif);
    }
    if is(&HEIC_BRANDS, major) && !matches!(major, b"mif1" | b"msf1") {
        return Some(Kind::Heic);
    }
    if compatible.iter().any(|b| is(&AVIF_BRANDS, b)) {
        return Some(Kind::Avif);
    }
    if is(&HEIC_BRANDS, major) || compatible.iter().any(|b| is(&HEIC_BRANDS, b)) {
        return Some(Kind::Heic);
    }
    None
}

/// The upright pixel size of the primary image, from the `ispe` property the `ipma` box gives
/// it (or its `clap` crop; swapped when an `irot` turns it a quarter), read from the first
/// bytes of the file only: `None` when they do not say it.
pub fn claimed_size(head: &[u8]) -> Option<(u64, u64)> {
    kind(head)?;
    let meta = child(head, b"meta")?.get(4..)?; // after its version and flags
    let primary = match child(meta, b"pitm")? {
        [0, _, _, _, a, b, ..] => u16::from_be_bytes([*a, *b]) as u32,
        [_, _, _, _, a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => return None,
    };
    let iprp = child(meta, b"iprp")?;
    let properties: Vec<([u8; 4], &[u8])> = children(child(iprp, b"ipco")?).collect();
    let (mut size, mut crop, mut quarter_turn) = (None, None, false);
    for index in associations(child(iprp, b"ipma")?, primary)? {
        let &(kind, body) = properties.get(index.checked_sub(1)?)?;
        let word = |at: usize| -> Option<u64> {
            Some(u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?) as u64)
        };
        match (&kind, body) {
            (b"ispe", _) => size = Some((word(4)?, word(8)?)),
            // The clean aperture: width and height as fractions (a crop of the coded picture).
            (b"clap", _) => {
                let fraction = |at: usize| {
                    let (n, d) = (word(at)?, word(at + 4)?);
                    (d != 0).then(|| (n + d / 2) / d)
                };
                crop = Some((fraction(0)?, fraction(8)?));
            }
            (b"irot", [angle, ..]) => quarter_turn = angle & 1 == 1,
            _ => {}
        }
    }
    let (w, h) = crop.or(size)?;
    Some(if quarter_turn { (h, w) } else { (w, h) })
}

/// The most bytes an EXIF block is read from (cameras write tens of kilobytes).
const MAX_EXIF: u64 = 1 << 20;

/// The EXIF block of a HEIF file (from its TIFF header on), whose first bytes are `head`:
/// the item `iinf` names `Exif`, at the place `iloc` gives. `read(offset, length)` fetches
/// bytes of the file, for an item after the head. `None` when the boxes do not say, or say
/// something impossible.
pub fn exif(head: &[u8], read: impl Fn(u64, u64) -> Option<Vec<u8>>) -> Option<Vec<u8>> {
    kind(head)?;
    let meta = child(head, b"meta")?.get(4..)?;
    let item = exif_item(child(meta, b"iinf")?)?;
    let (method, extents) = item_extents(child(meta, b"iloc")?, item)?;
    let mut block = Vec::new();
    for (offset, length) in extents {
        if block.len() as u64 + length > MAX_EXIF {
            return None;
        }
        let range = offset as usize..offset.checked_add(length)? as usize;
        let part = match method {
            // In the file.
            0 => match head.get(range) {
                Some(bytes) => bytes.to_vec(),
                None => read(offset, length).filter(|b| b.len() as u64 == length)?,
            },
            // In the `idat` box of `meta`.
            1 => child(meta, b"idat")?.get(range)?.to_vec(),
            _ => return None,
        };
        block.extend(part);
    }
    // The item starts with the offset of the TIFF header after its first four bytes
    // (usually 6, skipping "Exif\0\0").
    let skip = u32::from_be_bytes(block.get(..4)?.try_into().ok()?) as usize;
    block.get(4usize.checked_add(skip)?..).map(<[u8]>::to_vec)
}

/// The id of the item of type `Exif` in an `iinf` box.
fn exif_item(iinf: &[u8]) -> Option<u32> {
    let entries = if *iinf.first()? == 0 { 6 } else { 8 };
    children(iinf.get(entries..)?).find_map(|(kind, infe)| {
        let version = *infe.first()?;
        let (id, rest) = match version {
            2 => (
                u16::from_be_bytes(infe.get(4..6)?.try_into().ok()?) as u32,
                8,
            ),
            3 => (u32::from_be_bytes(infe.get(4..8)?.try_into().ok()?), 10),
            _ => return None,
        };
        (&kind == b"infe" && infe.get(rest..rest + 4)? == b"Exif").then_some(id)
    })
}

/// How item `item` is stored, from an `iloc` box: its construction method (0: file offsets,
/// 1: inside `idat`) and its extents as (offset, length).
fn item_extents(iloc: &[u8], item: u32) -> Option<(u8, Vec<(u64, u64)>)> {
    let version = *iloc.first()?;
    let sizes = *iloc.get(4)?;
    let more = *iloc.get(5)?;
    let (offset_size, length_size, base_size) = (sizes >> 4, sizes & 15, more >> 4);
    let index_size = if matches!(version, 1 | 2) {
        more & 15
    } else {
        0
    };
    let mut at = 6;
    let mut take = |n: u8| -> Option<u64> {
        if !matches!(n, 0 | 2 | 4 | 8) {
            return None;
        }
        let bytes = iloc.get(at..at + n as usize)?;
        at += n as usize;
        Some(bytes.iter().fold(0u64, |v, &b| v << 8 | b as u64))
    };
    let count = take(if version < 2 { 2 } else { 4 })?;
    for _ in 0..count {
        let id = take(if version < 2 { 2 } else { 4 })? as u32;
        let method = if matches!(version, 1 | 2) {
            (take(2)? & 15) as u8
        } else {
            0
        };
        take(2)?; // data reference index
        let base = take(base_size)?;
        let extents = take(2)?;
        let mut out = Vec::new();
        for _ in 0..extents {
            take(index_size)?;
            let offset = base.checked_add(take(offset_size)?)?;
            out.push((offset, take(length_size)?));
        }
        if id == item {
            return Some((method, out));
        }
    }
    None
}

/// The boxes in `data`, in order: their type and content. A box that says it runs past the end
/// is cut at the end (the head of a file), and one that makes no sense ends the list.
fn children(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    crate::decode::bmff::boxes(data, 0).map(move |b| (b.kind, &data[b.body]))
}

/// The content of the first box of type `kind` in `data`.
fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(data)
        .find(|(k, _)| k == kind)
        .map(|(_, body)| body)
}

/// The property indices (1-based, into `ipco`) an `ipma` box associates with `item`.
fn associations(ipma: &[u8], item: u32) -> Option<Vec<usize>> {
    let (version, wide_index) = (*ipma.first()?, ipma.get(3)? & 1 == 1);
    let count = u32::from_be_bytes(ipma.get(4..8)?.try_into().ok()?);
    let mut at = 8;
    for _ in 0..count {
        let id = if version < 1 {
            at += 2;
            u16::from_be_bytes(ipma.get(at - 2..at)?.try_into().ok()?) as u32
        } else {
            at += 4;
            u32::from_be_bytes(ipma.get(at - 4..at)?.try_into().ok()?)
        };
        let n = *ipma.get(at)? as usize;
        at += 1;
        let width = if wide_index { 2 } else { 1 };
        let entries = ipma.get(at..at + n * width)?;
        at += n * width;
        if id == item {
            return Some(
                entries
                    .chunks_exact(width)
                    .map(|e| match e {
                        [hi, lo] => (u16::from_be_bytes([*hi, *lo]) & 0x7fff) as usize,
                        [b] => (b & 0x7f) as usize,
                        _ => unreachable!("chunks of 1 or 2"),
                    })
                    .collect(),
            );
        }
    }
    None
}
