//! A shorter vector for every descriptor: the principal directions in which real photos'
//! descriptors differ, learned once on a representative set and shipped beside the built-in
//! model. Most of what tells photos apart lies in a few hundred of the descriptor's 1,280
//! directions, so the compact codes ([`crate::query::compact`]) are made in this space and a
//! search or a grouping scans a fifth of the numbers.
//!
//! A projection file is `MAGIC | version | "PROJ" | model id | dims in and out | blake3 of
//! the basis | the basis as little-endian floats`: one made for another model, cut short or
//! damaged is refused, never used.

use crate::index::format::MAGIC;
use crate::vector::dot;

/// The projection learned for the built-in model's R-MAC descriptor (see `models/README.md`).
const BUILTIN: &[u8] = include_bytes!("../../../../models/efficientnet_lite0.rmac-pca256.bin");
/// The layout of a projection file; bumped whenever it changes.
const VERSION: u32 = 1;
/// What a projection file holds, after the magic number and version.
const TAG: [u8; 4] = *b"PROJ";
/// Bytes before the basis: magic, version, tag, model id, two dimensions, hash.
const HEAD: usize = 8 + 4 + 4 + 32 + 4 + 4 + 32;
/// Rounds of subspace iteration when learning: enough for the share of the descriptors'
/// energy kept to settle (it changes by less than 0.1 % over the last ten on imagenet-100).
const ROUNDS: usize = 60;

/// The basis of a `dim_out`-dimensional subspace of the `dim_in`-dimensional descriptors
/// (orthonormal rows).
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Length of the descriptors it takes.
    pub dim_in: usize,
    /// Length of the vectors it gives.
    pub dim_out: usize,
    /// `dim_out` rows of `dim_in` numbers.
    basis: Vec<f32>,
}

/// Why a projection file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// Not a projection file of this version.
    #[error("not a projection file of version {VERSION}")]
    NotOurs,
    /// Made for the descriptors of another model.
    #[error("made for another model")]
    OtherModel,
    /// Cut short, or a size that does not add up.
    #[error("cut short or of impossible size")]
    Size,
    /// The basis does not match its hash.
    #[error("checksum mismatch")]
    Checksum,
}

impl Projection {
    /// The `dim_out` directions that keep the most of `samples` (rows of `dim` numbers): the
    /// leading eigenvectors of their second-moment matrix, by subspace iteration. Uncentred,
    /// because what is kept is dot products, not distances from a mean.
    pub fn learn(samples: &[f32], dim: usize, dim_out: usize) -> Projection {
        let n = samples.len() / dim.max(1);
        let dim_out = dim_out.min(dim);
        let mut moments = vec![0f32; dim * dim];
        // SAFETY: the strides describe `samples` (n × dim, row-major) read as its transpose,
        // `samples` as it is and `moments` (dim × dim); every index stays inside them.
        unsafe {
            matrixmultiply::sgemm(
                dim,
                n,
                dim,
                1.0 / n.max(1) as f32,
                samples.as_ptr(),
                1,
                dim as isize,
                samples.as_ptr(),
                dim as isize,
                1,
                0.0,
                moments.as_mut_ptr(),
                dim as isize,
                1,
            );
        }
        let mut basis = crate::vector::uniform_units(0x5eed, dim_out, dim);
        orthonormalize(&mut basis, dim);
        for _ in 0..ROUNDS {
            let mut next = vec![0f32; dim_out * dim];
            // SAFETY: basis (dim_out × dim) times moments (dim × dim) into next (dim_out × dim).
            unsafe {
                matrixmultiply::sgemm(
                    dim_out,
                    dim,
                    dim,
                    1.0,
                    basis.as_ptr(),
                    dim as isize,
                    1,
                    moments.as_ptr(),
                    dim as isize,
                    1,
                    0.0,
                    next.as_mut_ptr(),
                    dim as isize,
                    1,
                );
            }
            orthonormalize(&mut next, dim);
            basis = next;
        }
        Projection {
            dim_in: dim,
            dim_out,
            basis,
        }
    }

    /// `v` in the subspace (its coordinates along each basis row).
    pub fn project(&self, v: &[f32]) -> Vec<f32> {
        self.basis
            .chunks_exact(self.dim_in)
            .map(|row| dot(row, v))
            .collect()
    }

    /// [`Projection::project`] for every row of `rows` (each `dim_in` long), row after row.
    pub fn project_rows(&self, rows: &[f32]) -> Vec<f32> {
        let n = rows.len() / self.dim_in;
        let mut out = vec![0f32; n * self.dim_out];
        // SAFETY: rows (n × dim_in, row-major) times the basis read as its transpose
        // (dim_in × dim_out) into out (n × dim_out); every index stays inside them.
        unsafe {
            matrixmultiply::sgemm(
                n,
                self.dim_in,
                self.dim_out,
                1.0,
                rows.as_ptr(),
                self.dim_in as isize,
                1,
                self.basis.as_ptr(),
                1,
                self.dim_in as isize,
                0.0,
                out.as_mut_ptr(),
                self.dim_out as isize,
                1,
            );
        }
        out
    }

    /// The projection shipped for `model`'s descriptors (the built-in model's R-MAC), if
    /// there is one for it.
    pub fn for_model(model: &crate::embed::Model) -> Option<Projection> {
        Projection::from_bytes(BUILTIN, model.id).ok()
    }

    /// The share of the squared length of `data`'s rows (each `dim_in` long) the subspace keeps.
    pub fn kept(&self, data: &[f32]) -> f64 {
        let (mut kept, mut all) = (0f64, 0f64);
        for row in data.chunks_exact(self.dim_in) {
            kept += dot(&self.project(row), &self.project(row)) as f64;
            all += dot(row, row) as f64;
        }
        if all > 0.0 {
            kept / all
        } else {
            1.0
        }
    }

    /// The file's bytes, for the descriptors of the model `model_id`.
    pub fn to_bytes(&self, model_id: [u8; 32]) -> Vec<u8> {
        let basis: Vec<u8> = self.basis.iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut out = Vec::with_capacity(HEAD + basis.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&TAG);
        out.extend_from_slice(&model_id);
        out.extend_from_slice(&(self.dim_in as u32).to_le_bytes());
        out.extend_from_slice(&(self.dim_out as u32).to_le_bytes());
        out.extend_from_slice(blake3::hash(&basis).as_bytes());
        out.extend_from_slice(&basis);
        out
    }

    /// Reads a file written by [`Projection::to_bytes`] for the model `model_id`, checking
    /// everything before any of it is used.
    pub fn from_bytes(bytes: &[u8], model_id: [u8; 32]) -> Result<Projection, ProjectionError> {
        let head = bytes.get(..HEAD).ok_or(ProjectionError::Size)?;
        if head[..8] != MAGIC || head[8..12] != VERSION.to_le_bytes() || head[12..16] != TAG {
            return Err(ProjectionError::NotOurs);
        }
        if head[16..48] != model_id {
            return Err(ProjectionError::OtherModel);
        }
        let word = |at: usize| u32::from_le_bytes(head[at..at + 4].try_into().expect("4 bytes"));
        let (dim_in, dim_out) = (word(48) as usize, word(52) as usize);
        let basis = &bytes[HEAD..];
        if dim_out == 0
            || dim_out > dim_in
            || basis.len() as u64 != 4 * dim_in as u64 * dim_out as u64
        {
            return Err(ProjectionError::Size);
        }
        if blake3::hash(basis).as_bytes() != &head[56..88] {
            return Err(ProjectionError::Checksum);
        }
        let basis = basis
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Projection {
            dim_in,
            dim_out,
            basis,
        })
    }
}

/// Makes the rows of `rows` (each `dim` long) orthonormal, in order (modified Gram-Schmidt, in
/// f64 so the last of hundreds of rows is still square to the first). A row that falls inside
/// the span of those before it is replaced by a unit vector square to them.
fn orthonormalize(rows: &mut [f32], dim: usize) {
    let n = rows.len() / dim;
    let mut done: Vec<Vec<f64>> = Vec::with_capacity(n);
    for i in 0..n {
        let mut v: Vec<f64> = rows[i * dim..(i + 1) * dim]
            .iter()
            .map(|&x| x as f64)
            .collect();
        for attempt in 0..=dim {
            for u in &done {
                let d: f64 = u.iter().zip(&v).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(x, a)| *x -= d * a);
            }
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 1e-9 {
                v.iter_mut().for_each(|x| *x /= norm);
                break;
            }
            v = vec![0.0; dim];
            v[(i + attempt) % dim] = 1.0;
        }
        rows[i * dim..(i + 1) * dim]
            .iter_mut()
            .zip(&v)
            .for_each(|(r, &x)| *r = x as f32);
        done.push(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` vectors of `dim` numbers that vary along the first `rank` axes only.
    fn low_rank(n: usize, dim: usize, rank: usize) -> Vec<f32> {
        let mut data = crate::vector::uniform_units(3, n, dim);
        for row in data.chunks_exact_mut(dim) {
            row[rank..].iter_mut().for_each(|x| *x = 0.0);
            crate::vector::normalize(row);
        }
        data
    }

    #[test]
    fn learning_finds_the_subspace_the_samples_vary_in() {
        let (dim, rank) = (40, 6);
        let data = low_rank(500, dim, rank);
        let p = Projection::learn(&data, dim, rank);
        assert!(p.kept(&data) > 0.9999, "kept {}", p.kept(&data));
        let v = &data[..dim];
        let one_by_one = [p.project(v), p.project(&data[dim..2 * dim])].concat();
        for (a, b) in p.project_rows(&data[..2 * dim]).iter().zip(&one_by_one) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
        let back = dot(&p.project(v), &p.project(v));
        assert!(
            (back - 1.0).abs() < 1e-4,
            "a sample keeps its length: {back}"
        );
        let gram: Vec<f32> = p
            .basis
            .chunks_exact(dim)
            .flat_map(|a| p.basis.chunks_exact(dim).map(move |b| dot(a, b)))
            .collect();
        for (i, g) in gram.iter().enumerate() {
            let want = if i % (rank + 1) == 0 { 1.0 } else { 0.0 };
            assert!((g - want).abs() < 1e-4, "orthonormal basis: {i} {g}");
        }
    }

    #[test]
    fn a_projection_file_is_read_back_and_checked() {
        let data = low_rank(100, 16, 4);
        let p = Projection::learn(&data, 16, 4);
        let id = [7u8; 32];
        let bytes = p.to_bytes(id);
        assert_eq!(Projection::from_bytes(&bytes, id).unwrap(), p);
        assert!(matches!(
            Projection::from_bytes(&bytes, [8u8; 32]),
            Err(ProjectionError::OtherModel)
        ));
        assert!(matches!(
            Projection::from_bytes(&bytes[..bytes.len() - 1], id),
            Err(ProjectionError::Size)
        ));
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            Projection::from_bytes(&flipped, id),
            Err(ProjectionError::Checksum)
        ));
        assert!(matches!(
            Projection::from_bytes(b"PHOTOSIM", id),
            Err(ProjectionError::Size)
        ));
    }
}
