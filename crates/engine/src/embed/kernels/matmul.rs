//! An f32 matrix-product tile for tract on x86_64 (AVX2 and FMA), declared to tract's kernel
//! registry with a selection tier of ours above tract's own. tract's FMA tiles keep columns of
//! the output in registers and write them back one float at a time; most products of this
//! model's early layers write rows (the `n` axis contiguous), and for their short products (16
//! to 40 input channels) that write-back cost as much as the arithmetic. This tile holds 6 rows
//! × 16 columns and writes each row with two vector stores. Each output is the same chain of
//! fused multiply-adds, in the same order, as in tract's tiles, and the fused operations after
//! it are the same IEEE operations, so results do not change.

/// The name of the tile tract runs for an f32 product of `m` × `k` by `k` × `n` here (for the
/// bench's report and the tests).
pub fn tile_for(m: usize, k: usize, n: usize) -> Option<String> {
    tract_linalg::MmmDispatch::native()
        .preferred_kernel(
            tract_onnx::prelude::DatumType::F32,
            Some(m),
            Some(k),
            Some(n),
        )
        .map(|kernel| kernel.name().to_string())
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use tract_linalg::isa::{Arch, Isa, IsaReq, IsaSet};
    use tract_linalg::mmm::{DynKernel, FusedKerSpec, FusedSpec, OutputStoreKer, Query, Suitable};
    use tract_linalg::mmm_routines::MmmRoutine;
    use tract_linalg::mmm_tiers::MmmTier;
    use tract_linalg::pack::Packing;
    use tract_onnx::prelude::{f16, DatumType};

    /// Rows of the tile (the `m` side, one broadcast each).
    const MR: usize = 6;
    /// Columns of the tile (the `n` side, two 8-lane vectors).
    const NR: usize = 16;

    /// The name tract knows the tile by.
    pub const NAME: &str = "photo_sim_fma_mmm_f32_6x16";

    type Tile = [[__m256; 2]; MR];

    fn build() -> DynKernel<MR, NR, f32> {
        let mut kernel =
            DynKernel::<MR, NR, f32>::new(NAME, tile_kernel, f32::packing(MR), f32::packing(NR))
                .with_isa(IsaReq::ANY.needing(&[Isa::X86_64Avx2, Isa::X86_64Fma]))
                .with_can_fuse(|spec| {
                    !matches!(
                        spec,
                        FusedSpec::QScale(..)
                            | FusedSpec::RoundingShiftRight(..)
                            | FusedSpec::ShiftLeft(..)
                    )
                });
        kernel.arch = Some(Arch::X86_64);
        // Border tiles go through a scratch tile: row-major, so they too store whole rows.
        kernel.row_major_store = true;
        kernel
    }

    inventory::submit! {
        MmmRoutine { make: || build().mmm() }
    }

    inventory::submit! {
        MmmTier {
            arch: Some(Arch::X86_64),
            precedence: 100,
            name: "photo-sim row tile",
            applies: |isa| isa.has(Isa::X86_64Avx2) && isa.has(Isa::X86_64Fma),
            preferred,
        }
    }

    /// Our tile where it measured faster than tract's, layer by layer in turns (AMD EPYC,
    /// AVX2): short products (at most 64 steps), where writing back the output costs as much as
    /// the arithmetic (the stem and the first blocks took 0.55–0.85× the time); and long ones
    /// (256 steps or more) whose columns fill our 16-wide tile (0.9×). In between, tract's tiles
    /// are as fast or faster (ours took up to 1.2× on 672 columns of 112 steps). The query does
    /// not say which output axis is contiguous, so this rule is measured, not derived. On an
    /// AVX-512 EPYC, against tract's AVX-512 tiles, the rule still pays: the model took 0.87–1.0×
    /// the time with it, in turns.
    fn preferred(
        _isa: &IsaSet,
        accumulator: DatumType,
        query: &Query,
        _suitable: &[Suitable],
    ) -> Option<&'static str> {
        let (Some(k), Some(n)) = (query.k, query.n) else {
            return None;
        };
        let columns_filled = n as f32 / n.next_multiple_of(NR) as f32;
        let ours = k <= 64 || (k >= 256 && n <= 256 && columns_filled >= 0.9);
        (accumulator == DatumType::F32 && n >= 2 && ours).then_some(NAME)
    }

    /// Runs one tile's list of operations (tract's `FusedKerSpec` protocol; the semantics are
    /// those of tract's generic kernel). 0 when done, 1 for an operation this tile refuses.
    ///
    /// # Safety
    /// The pointers in `specs` must be what tract passes a 6×16 f32 tile, and the CPU must have
    /// AVX2 and FMA (tract only runs a kernel whose instruction set the machine has).
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile_kernel(specs: &[FusedKerSpec<f32>]) -> isize {
        // SAFETY: tract passes this tile's pointers for a 6×16 f32 tile and runs it only
        // on a CPU with AVX2 and FMA (# Safety above).
        unsafe {
            let zero = _mm256_setzero_ps();
            let mut ab: Tile = [[zero; 2]; MR];
            // `x` each output vector, `i` its row, `h` its half (columns 8h..8h+8).
            macro_rules! each {
                (|$x:ident, $i:ident, $h:ident| $e:expr) => {
                    for ($i, row) in ab.iter_mut().enumerate() {
                        for ($h, $x) in row.iter_mut().enumerate() {
                            let _ = ($i, $h);
                            *$x = $e;
                        }
                    }
                };
            }
            for spec in specs {
                match *spec {
                    FusedKerSpec::Done => break,
                    FusedKerSpec::Clear => ab = [[zero; 2]; MR],
                    FusedKerSpec::LoadTile(col_major, _) => {
                        each!(|x, i, h| {
                            let mut v = [0f32; 8];
                            for (j, v) in v.iter_mut().enumerate() {
                                *v = *col_major.add((8 * h + j) * MR + i);
                            }
                            _mm256_loadu_ps(v.as_ptr())
                        })
                    }
                    FusedKerSpec::ScalarMin(m) => {
                        each!(|x, i, h| _mm256_min_ps(_mm256_set1_ps(m), *x))
                    }
                    FusedKerSpec::ScalarMax(m) => {
                        each!(|x, i, h| _mm256_max_ps(_mm256_set1_ps(m), *x))
                    }
                    FusedKerSpec::ScalarAdd(m) => {
                        each!(|x, i, h| _mm256_add_ps(_mm256_set1_ps(m), *x))
                    }
                    FusedKerSpec::ScalarMul(m) => {
                        each!(|x, i, h| _mm256_mul_ps(_mm256_set1_ps(m), *x))
                    }
                    FusedKerSpec::ScalarSub(m) => {
                        each!(|x, i, h| _mm256_sub_ps(_mm256_set1_ps(m), *x))
                    }
                    FusedKerSpec::ScalarSubF(m) => {
                        each!(|x, i, h| _mm256_sub_ps(*x, _mm256_set1_ps(m)))
                    }
                    FusedKerSpec::LeakyRelu(alpha) => each!(|x, i, h| {
                        let positive = _mm256_cmp_ps::<_CMP_GT_OQ>(*x, zero);
                        _mm256_blendv_ps(_mm256_mul_ps(_mm256_set1_ps(alpha), *x), *x, positive)
                    }),
                    FusedKerSpec::PerRowMin(m) => each!(|x, i, h| _mm256_min_ps(row(m, i), *x)),
                    FusedKerSpec::PerRowMax(m) => each!(|x, i, h| _mm256_max_ps(row(m, i), *x)),
                    FusedKerSpec::PerRowAdd(m) => each!(|x, i, h| _mm256_add_ps(row(m, i), *x)),
                    FusedKerSpec::PerRowMul(m) => each!(|x, i, h| _mm256_mul_ps(row(m, i), *x)),
                    FusedKerSpec::PerRowSub(m) => each!(|x, i, h| _mm256_sub_ps(row(m, i), *x)),
                    FusedKerSpec::PerRowSubF(m) => each!(|x, i, h| _mm256_sub_ps(*x, row(m, i))),
                    FusedKerSpec::PerColMin(m) => each!(|x, i, h| _mm256_min_ps(col(m, h), *x)),
                    FusedKerSpec::PerColMax(m) => each!(|x, i, h| _mm256_max_ps(col(m, h), *x)),
                    FusedKerSpec::PerColAdd(m) => each!(|x, i, h| _mm256_add_ps(col(m, h), *x)),
                    FusedKerSpec::PerColMul(m) => each!(|x, i, h| _mm256_mul_ps(col(m, h), *x)),
                    FusedKerSpec::PerColSub(m) => each!(|x, i, h| _mm256_sub_ps(col(m, h), *x)),
                    FusedKerSpec::PerColSubF(m) => each!(|x, i, h| _mm256_sub_ps(*x, col(m, h))),
                    FusedKerSpec::AddRowColProducts(rows, cols) => {
                        each!(|x, i, h| _mm256_add_ps(
                            *x,
                            _mm256_mul_ps(row(rows, i), col(cols, h))
                        ))
                    }
                    FusedKerSpec::AddUnicast(other) => {
                        let Some(read) = reader(&other) else {
                            return 1;
                        };
                        each!(|x, i, h| _mm256_add_ps(*x, read(&other, i, h)))
                    }
                    FusedKerSpec::Store(tile) => {
                        if tile.item_size != 4 {
                            return 1;
                        }
                        store(&tile, ab)
                    }
                    FusedKerSpec::AddMatMul { k, pa, pb, packing } => {
                        if packing != 0 {
                            return 1;
                        }
                        ab = add_mat_mul(ab, k, pa as *const f32, pb as *const f32)
                    }
                    FusedKerSpec::QScale(..)
                    | FusedKerSpec::RoundingShiftRight(..)
                    | FusedKerSpec::ShiftLeft(..) => return 1,
                }
            }
            0
        }
    }

    /// `ab[i][j] += a[i] * b[j]` over `k` steps of the packed panels, one fused multiply-add
    /// per output per step, in step order. A function of its own, taking and returning the tile
    /// by value, so that the twelve sums stay in registers through the loop (inlined into the
    /// dispatch loop, or updated through a reference, three of them went to the stack).
    #[target_feature(enable = "avx2,fma")]
    #[inline(never)]
    unsafe fn add_mat_mul(mut ab: Tile, k: usize, a: *const f32, b: *const f32) -> Tile {
        // SAFETY: `a` and `b` are tract's packed panels of `k` steps (MR and NR values a
        // step), and only `tile_kernel` calls this, on a CPU with AVX2 and FMA.
        unsafe {
            for step in 0..k {
                let b = b.add(step * NR);
                let (b0, b1) = (_mm256_loadu_ps(b), _mm256_loadu_ps(b.add(8)));
                let a = a.add(step * MR);
                for (i, [c0, c1]) in ab.iter_mut().enumerate() {
                    let x = _mm256_broadcast_ss(&*a.add(i));
                    *c0 = _mm256_fmadd_ps(x, b0, *c0);
                    *c1 = _mm256_fmadd_ps(x, b1, *c1);
                }
            }
            ab
        }
    }

    /// Row `i`'s value of a per-row vector, in every lane.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn row(m: *const f32, i: usize) -> __m256 {
        // SAFETY: `m` holds a value for each of the tile's MR rows, and `i` is one of them.
        unsafe { _mm256_set1_ps(*m.add(i)) }
    }

    /// Columns `8h..8h+8` of a per-column vector.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn col(m: *const f32, h: usize) -> __m256 {
        // SAFETY: `m` holds a value for each of the tile's NR columns, and `h` is 0 or 1.
        unsafe { _mm256_loadu_ps(m.add(8 * h)) }
    }

    type Reader = unsafe fn(&OutputStoreKer, usize, usize) -> __m256;

    /// How to read eight values of another tile as f32, by its element size and layout.
    fn reader(tile: &OutputStoreKer) -> Option<Reader> {
        match (tile.item_size, tile.col_byte_stride) {
            (4, 4) => Some(read_f32_row),
            (4, _) => Some(read_any::<f32>),
            (2, _) => Some(read_any::<f16>),
            (8, _) => Some(read_any::<f64>),
            _ => None,
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn read_f32_row(tile: &OutputStoreKer, i: usize, h: usize) -> __m256 {
        // SAFETY: `reader` picks this only for a tile of contiguous f32 rows, NR long.
        unsafe { _mm256_loadu_ps(at::<f32>(tile, i, 8 * h)) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn read_any<T: AsF32>(tile: &OutputStoreKer, i: usize, h: usize) -> __m256 {
        // SAFETY: `(i, 8h + j)` is inside the tile tract names, whose elements are `T`.
        unsafe {
            let mut v = [0f32; 8];
            for (j, v) in v.iter_mut().enumerate() {
                *v = (*at::<T>(tile, i, 8 * h + j)).as_f32();
            }
            _mm256_loadu_ps(v.as_ptr())
        }
    }

    /// An element type another tile may hold, read as f32 (as tract's generic kernel reads it).
    trait AsF32: Copy {
        fn as_f32(self) -> f32;
    }
    impl AsF32 for f32 {
        fn as_f32(self) -> f32 {
            self
        }
    }
    impl AsF32 for f16 {
        fn as_f32(self) -> f32 {
            self.to_f32()
        }
    }
    impl AsF32 for f64 {
        fn as_f32(self) -> f32 {
            self as f32
        }
    }

    /// The address of row `i`, column `j` of a tile.
    unsafe fn at<T>(tile: &OutputStoreKer, i: usize, j: usize) -> *mut T {
        // SAFETY: `(i, j)` is inside the tile, so the offset stays in its allocation.
        unsafe {
            tile.ptr
                .offset(tile.row_byte_stride * i as isize + tile.col_byte_stride * j as isize)
                as *mut T
        }
    }

    /// Writes the tile: two vector stores a row when rows are contiguous, else one float at a
    /// time.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn store(tile: &OutputStoreKer, ab: Tile) {
        // SAFETY: the tile tract names holds MR × NR f32 at its strides (rows contiguous
        // when `col_byte_stride` is 4), and `tile_kernel` runs only with AVX2 and FMA.
        unsafe {
            for (i, row) in ab.iter().enumerate() {
                if tile.col_byte_stride == 4 {
                    _mm256_storeu_ps(at::<f32>(tile, i, 0), row[0]);
                    _mm256_storeu_ps(at::<f32>(tile, i, 8), row[1]);
                } else {
                    let mut v = [0f32; NR];
                    _mm256_storeu_ps(v.as_mut_ptr(), row[0]);
                    _mm256_storeu_ps(v.as_mut_ptr().add(8), row[1]);
                    for (j, v) in v.iter().enumerate() {
                        *at::<f32>(tile, i, j) = *v;
                    }
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::embed::kernels::test_values as values;

        fn has_avx2_fma() -> bool {
            let has = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            crate::embed::kernels::cpu_runs(has, "AVX2 and FMA")
        }

        fn store_at(data: &mut [f32], row_stride: usize, col_stride: usize) -> OutputStoreKer {
            OutputStoreKer {
                ptr: data.as_mut_ptr() as *mut u8,
                row_byte_stride: 4 * row_stride as isize,
                col_byte_stride: 4 * col_stride as isize,
                item_size: 4,
            }
        }

        #[test]
        fn the_row_tile_computes_what_tracts_generic_kernel_computes_bit_for_bit() {
            if !has_avx2_fma() {
                return;
            }
            let k = 37;
            let (a, b) = (values(k * MR, 1), values(k * NR, 2));
            let (per_row, per_col) = (values(MR, 3), values(NR, 4));
            let (rows, cols) = (values(MR, 5), values(NR, 6));
            let other = values(MR * NR, 7);
            // Rows contiguous (vector stores), then columns contiguous (one float at a time).
            for (row_stride, col_stride) in [(NR + 3, 1), (1, MR + 2)] {
                let mut out = vec![f32::NAN; MR * NR * 3];
                let specs = [
                    FusedKerSpec::Clear,
                    FusedKerSpec::AddMatMul {
                        k,
                        pa: a.as_ptr() as *const u8,
                        pb: b.as_ptr() as *const u8,
                        packing: 0,
                    },
                    FusedKerSpec::PerRowAdd(per_row.as_ptr()),
                    FusedKerSpec::PerColMul(per_col.as_ptr()),
                    FusedKerSpec::LeakyRelu(0.1),
                    FusedKerSpec::ScalarSubF(0.25),
                    FusedKerSpec::ScalarMax(-0.5),
                    FusedKerSpec::ScalarMin(2.0),
                    FusedKerSpec::AddRowColProducts(rows.as_ptr(), cols.as_ptr()),
                    FusedKerSpec::AddUnicast(OutputStoreKer {
                        ptr: other.as_ptr() as *mut u8,
                        row_byte_stride: 4 * NR as isize,
                        col_byte_stride: 4,
                        item_size: 4,
                    }),
                    FusedKerSpec::Store(store_at(&mut out, row_stride, col_stride)),
                    FusedKerSpec::Done,
                ];
                // SAFETY: the specs point into this test's buffers, sized for the tile, and
                // the CPU has AVX2 and FMA (checked above).
                // SAFETY: as in the test above.
                assert_eq!(unsafe { tile_kernel(&specs) }, 0);
                for i in 0..MR {
                    for j in 0..NR {
                        let mut x = 0f32;
                        for p in 0..k {
                            x = a[p * MR + i].mul_add(b[p * NR + j], x);
                        }
                        x += per_row[i];
                        x *= per_col[j];
                        x = if x > 0.0 { x } else { 0.1 * x };
                        x -= 0.25;
                        x = if -0.5 > x { -0.5 } else { x };
                        x = if 2.0 < x { 2.0 } else { x };
                        x += rows[i] * cols[j];
                        x += other[i * NR + j];
                        let got = out[i * row_stride + j * col_stride];
                        assert_eq!(got.to_bits(), x.to_bits(), "row {i} column {j}");
                    }
                }
            }
        }

        #[test]
        fn a_loaded_tile_is_stored_back_unchanged() {
            if !has_avx2_fma() {
                return;
            }
            let col_major = values(MR * NR, 8);
            let mut out = vec![0f32; MR * NR];
            let specs = [
                FusedKerSpec::LoadTile(col_major.as_ptr(), std::ptr::null()),
                FusedKerSpec::Store(store_at(&mut out, NR, 1)),
                FusedKerSpec::Done,
            ];
            // SAFETY: the specs point into this test's buffers, sized for the tile, and the
            // CPU has AVX2 and FMA (checked above).
            assert_eq!(unsafe { tile_kernel(&specs) }, 0);
            for i in 0..MR {
                for j in 0..NR {
                    assert_eq!(out[i * NR + j], col_major[j * MR + i]);
                }
            }
        }

        #[test]
        fn tract_picks_the_row_tile_for_short_products_only() {
            if !has_avx2_fma() {
                return;
            }
            let pick = super::super::tile_for;
            assert_eq!(pick(12544, 16, 96).as_deref(), Some(NAME));
            assert_eq!(pick(192, 1152, 49 + 15).as_deref(), Some(NAME));
            assert_ne!(pick(672, 112, 196).as_deref(), Some(NAME));
            assert_ne!(pick(4096, 16, 1).as_deref(), Some(NAME));
        }
    }
}
