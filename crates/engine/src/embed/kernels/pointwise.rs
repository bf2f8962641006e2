//! Pointwise (1×1) convolutions run by an operation of ours instead of tract's matrix product.
//!
//! tract 0.23 turns a 1×1 convolution into a matrix product that packs the activations into
//! panels before every run and dispatches the product tile by tile. For this model's early
//! layers (12,544 pixels by 16 to 40 input channels) the packing, the per-tile dispatch and a
//! separate pass for the ReLU6 cost three to four times the arithmetic. [`Pointwise`] reads the
//! channels-last activations where they are (a broadcast load needs no packing), holds its
//! weights packed once at load, and adds the bias and clamps to [0, 6] while each tile is still
//! in registers. Each output is the same chain of fused multiply-adds over the input channels,
//! in the same order, then the same bias add, max and min as tract computes, so the results
//! are bit-identical; the tests check that on the whole model. Where the CPU has AVX-512 the
//! tiles are 16 lanes wide and pair two panels: on the Xeons with two AVX-512 units that is
//! twice the multiply-adds per cycle of AVX2.

use super::graph::{relu6_after, replace_convolutions, Replacement};
use super::Floats;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Output channels of a panel: two 8-lane vectors, or one 16-lane.
const PANEL: usize = 16;
/// Output channels of the narrow last panel where `cout` leaves 8 or fewer past whole panels
/// (24 and 40 here): one vector, so a third of a 16-wide tile's work is not spent on padding.
const NARROW: usize = 8;
/// Pixels of an AVX2 tile of a whole panel: with two vectors each, 12 of the 16 AVX registers
/// accumulate. A tile of the narrow panel has twice as many pixels, one vector each. (The
/// AVX-512 tiles, with 32 registers, take 7 or 12: `rows_avx512`.)
const ROWS: usize = 6;

/// A 1×1 convolution on channels-last data `[.., cin]` → `[.., cout]`, with its bias and an
/// optional ReLU6 fused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pointwise {
    cin: usize,
    cout: usize,
    /// The weights in panels of output channels, [`PANEL`] wide, then one [`NARROW`] or
    /// [`PANEL`] wide for the rest: a panel `w` wide holds, for each input channel `k` in
    /// turn, the weights of its `w` output channels (zero past `cout`).
    panels: Floats,
    /// The bias, zero-padded as the panels are.
    bias: Floats,
    /// Whether the output is clamped to [0, 6] (max, then min, as the graph did).
    relu6: bool,
}

/// The widths of the panels `cout` output channels are packed in.
fn panel_widths(cout: usize) -> impl Iterator<Item = usize> {
    let rest = cout % PANEL;
    let last = match rest {
        0 => None,
        1..=NARROW => Some(NARROW),
        _ => Some(PANEL),
    };
    std::iter::repeat_n(PANEL, cout / PANEL).chain(last)
}

impl Pointwise {
    /// The operation for weights `[cout][cin]` (row-major) and a bias of `cout`.
    pub fn new(weights: &[f32], bias: &[f32], cin: usize, relu6: bool) -> Self {
        let cout = bias.len();
        assert_eq!(weights.len(), cin * cout, "weights are cout × cin");
        let mut panels = Vec::new();
        let mut padded = Vec::new();
        let mut c0 = 0;
        for width in panel_widths(cout) {
            for k in 0..cin {
                panels.extend((c0..c0 + width).map(|o| {
                    if o < cout {
                        weights[o * cin + k]
                    } else {
                        0.0
                    }
                }));
            }
            padded.extend((c0..c0 + width).map(|o| bias.get(o).copied().unwrap_or(0.0)));
            c0 += width;
        }
        Self {
            cin,
            cout,
            panels: Floats(panels.into()),
            bias: Floats(padded.into()),
            relu6,
        }
    }

    /// Output channels.
    pub(super) fn cout(&self) -> usize {
        self.cout
    }

    /// Computes `rows` output pixels from `rows` input pixels, with the fastest vectors the
    /// CPU has.
    fn run(&self, input: &[f32], output: &mut [f32]) {
        self.run_with(Vectors::fastest(), input, output);
    }

    /// [`Pointwise::run`] with the given vectors (the tests run each the CPU has).
    fn run_with(&self, vectors: Vectors, input: &[f32], output: &mut [f32]) {
        let rows = input.len() / self.cin;
        debug_assert_eq!(output.len(), rows * self.cout);
        match vectors {
            // SAFETY: `Vectors::fastest` and the tests only name vectors this CPU has; the
            // slices have the sizes the tiles index by (debug-asserted above, derived from the
            // same `rows`).
            #[cfg(target_arch = "x86_64")]
            Vectors::Avx512 => unsafe {
                if rows_fit_sevens(rows) {
                    self.rows_avx512::<7, 14>(input, output)
                } else {
                    self.rows_avx512::<12, 24>(input, output)
                }
            },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Vectors::Avx2 => unsafe { self.rows_avx2(input, output) },
            Vectors::Scalar => self.rows_scalar(input, output),
        }
    }

    /// The same arithmetic one float at a time (for CPUs without AVX2 and FMA, and as the
    /// reference of the tests): `mul_add` rounds once, as the vector FMA does.
    fn rows_scalar(&self, input: &[f32], output: &mut [f32]) {
        // Where each output channel's weights are: its panel's start, width and column.
        let mut at = Vec::with_capacity(self.cout);
        let mut start = 0;
        let mut c0 = 0;
        for width in panel_widths(self.cout) {
            at.extend((0..width).map(|c| (start, width, c)));
            start += width * self.cin;
            c0 += width;
        }
        debug_assert!(c0 >= self.cout);
        for (x, y) in input
            .chunks_exact(self.cin)
            .zip(output.chunks_exact_mut(self.cout))
        {
            for (o, out) in y.iter_mut().enumerate() {
                let (start, width, column) = at[o];
                let mut acc = 0.0f32;
                for (k, a) in x.iter().enumerate() {
                    acc = a.mul_add(self.panels.0[start + k * width + column], acc);
                }
                acc += self.bias.0[o];
                if self.relu6 {
                    acc = super::relu6(acc);
                }
                *out = acc;
            }
        }
    }

    /// Tiles of [`ROWS`] pixels × [`PANEL`] channels for whole panels, of `2 × ROWS` pixels
    /// × [`NARROW`] channels for a narrow one, panel by panel over each block of pixels
    /// ([`Pointwise::blocks`]).
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA, and `output` must hold `cout` floats for each `cin` of
    /// `input`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows_avx2(&self, input: &[f32], output: &mut [f32]) {
        for (b0, b1) in self.blocks(input.len(), 2 * ROWS) {
            let mut panel = 0;
            let mut c0 = 0;
            for width in panel_widths(self.cout) {
                for r0 in (b0..b1).step_by(2 * ROWS) {
                    let mr = (2 * ROWS).min(b1 - r0);
                    // One panel: its vectors are side by side, 8 floats apart.
                    let tile = Tile {
                        input,
                        r0,
                        panel,
                        c0,
                        apart: 8,
                        step: width,
                    };
                    // SAFETY: AVX2 and FMA (# Safety above); the tile is inside the tensors.
                    unsafe {
                        if width == PANEL {
                            self.tile::<ROWS, 2>(tile, mr.min(ROWS), output);
                            if mr > ROWS {
                                let tile = Tile {
                                    r0: r0 + ROWS,
                                    ..tile
                                };
                                self.tile::<ROWS, 2>(tile, mr - ROWS, output);
                            }
                        } else {
                            self.tile::<{ 2 * ROWS }, 1>(tile, mr, output);
                        }
                    }
                }
                panel += width * self.cin;
                c0 += width;
            }
        }
    }

    /// Tiles of `R` pixels × two whole panels (each one 16-lane vector) per pair of panels,
    /// of `R2 = 2R` pixels × one panel for a whole panel left over, and of `R2` pixels × eight
    /// channels (8 lanes, in the 32 registers AVX-512 gives 8-lane vectors too) for a narrow
    /// one, pair by pair over each block of pixels ([`Pointwise::blocks`]).
    ///
    /// # Safety
    /// As for [`Pointwise::rows_avx2`], with AVX-512F and AVX-512VL.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    unsafe fn rows_avx512<const R: usize, const R2: usize>(
        &self,
        input: &[f32],
        output: &mut [f32],
    ) {
        debug_assert_eq!(R2, 2 * R);
        for (b0, b1) in self.blocks(input.len(), R2) {
            let mut panel = 0;
            let mut c0 = 0;
            let mut widths = panel_widths(self.cout).peekable();
            while let Some(width) = widths.next() {
                // Two panels: one vector each, a panel's `16 × cin` floats apart.
                let pair = width == PANEL && widths.next_if_eq(&PANEL).is_some();
                for r0 in (b0..b1).step_by(R2) {
                    let mr = R2.min(b1 - r0);
                    let tile = Tile {
                        input,
                        r0,
                        panel,
                        c0,
                        apart: PANEL * self.cin,
                        step: if pair { PANEL } else { width },
                    };
                    // SAFETY: AVX-512F, AVX-512VL, AVX2 and FMA (# Safety above); each tile
                    // is inside the tensors.
                    unsafe {
                        if pair {
                            self.tile512::<R, 2>(tile, mr.min(R), output);
                            if mr > R {
                                let tile = Tile { r0: r0 + R, ..tile };
                                self.tile512::<R, 2>(tile, mr - R, output);
                            }
                        } else if width == PANEL {
                            self.tile512::<R2, 1>(tile, mr, output);
                        } else {
                            self.tile::<R2, 1>(tile, mr, output);
                        }
                    }
                }
                let done = if pair { 2 * PANEL } else { width };
                panel += done * self.cin;
                c0 += done;
            }
        }
    }

    /// The blocks of pixels, as ranges, for `floats` of input in tiles of `tile` pixels:
    /// each block's input (up to [`BLOCK_BYTES`]) stays in the core's cache while the weights
    /// go by once, panel by panel, rather than once per tile.
    #[cfg(target_arch = "x86_64")]
    fn blocks(&self, floats: usize, tile: usize) -> impl Iterator<Item = (usize, usize)> {
        let rows = floats / self.cin;
        let block = (BLOCK_BYTES / 4 / self.cin / tile).max(1) * tile;
        (0..rows)
            .step_by(block)
            .map(move |b0| (b0, (b0 + block).min(rows)))
    }
}

/// The input a block of pixels may take: a quarter of the 1 MB second-level cache of the
/// smallest cores this runs on, so the weights of the panels being run fit beside it. The 49-
/// and 196-pixel layers are one or two blocks, so each of their weights (0.3–1.6 MB a layer,
/// more than a first-level cache) is read from memory once rather than once per tile.
#[cfg(target_arch = "x86_64")]
const BLOCK_BYTES: usize = 256 * 1024;

/// Whether the AVX-512 tiles of 7 pixels leave fewer pixels unused than those of 12 over
/// `rows` pixels (the 49-pixel layers fit seven exactly, where twelve waste 11 of 60).
#[cfg(target_arch = "x86_64")]
fn rows_fit_sevens(rows: usize) -> bool {
    rows.next_multiple_of(7) < rows.next_multiple_of(12)
}

/// The vectors the tiles compute with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Vectors {
    /// 16 lanes, 32 registers: twice the arithmetic per instruction of AVX2 (and twice the
    /// multiply-adds per cycle on the Xeons that have two AVX-512 units).
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// 8 lanes, 16 registers.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Scalar,
}

impl Vectors {
    /// The fastest this CPU has: the widest, except AVX-512 on an AMD Zen 4, which splits each
    /// 512-bit operation in two (an 8 × 32 AVX-512 tile was slower there than the AVX2 one on
    /// every layer, measured at stop 35). Decided once: `cpuid` traps to the hypervisor in a VM.
    fn fastest() -> Self {
        static WIDEST: std::sync::OnceLock<Vectors> = std::sync::OnceLock::new();
        *WIDEST.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                if is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512vl")
                    && !splits_512_bit_work()
                {
                    return Self::Avx512;
                }
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    return Self::Avx2;
                }
            }
            Self::Scalar
        })
    }
}

/// Whether this CPU is an AMD Zen 4, whose AVX-512 runs on 256-bit units.
#[cfg(target_arch = "x86_64")]
fn splits_512_bit_work() -> bool {
    use std::arch::x86_64::__cpuid;
    let vendor = __cpuid(0);
    let name: Vec<u8> = [vendor.ebx, vendor.edx, vendor.ecx]
        .iter()
        .flat_map(|word| word.to_le_bytes())
        .collect();
    is_zen4(&name, __cpuid(1).eax)
}

/// Whether a CPU with this vendor name (`cpuid` leaf 0) and signature (leaf 1, EAX) is an AMD
/// of family 19h (Zen 3 has no AVX-512, so with AVX-512 it is a Zen 4).
#[cfg(target_arch = "x86_64")]
fn is_zen4(vendor: &[u8], signature: u32) -> bool {
    let amd = vendor == b"AuthenticAMD";
    let base = (signature >> 8) & 0xf;
    let family = if base == 0xf {
        base + ((signature >> 20) & 0xff)
    } else {
        base
    };
    amd && family == 0x19
}

/// Defines a tile method for one vector width, from its intrinsics: `R` pixels from `tile.r0`
/// (the first `mr` of them stored) × `V` vectors of output channels from `tile.c0`,
/// accumulated in registers over the input channels. A macro, not a generic function, so each
/// width compiles to its own instruction set with the intrinsics inlined.
#[cfg(target_arch = "x86_64")]
macro_rules! tile_method {
    ($(#[$doc:meta])* $name:ident, $feature:literal, $lanes:literal,
     $zero:ident, $set1:ident, $load:ident, $fma:ident, $add:ident, $max:ident, $min:ident,
     $store:ident) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The CPU must have the instruction set named, `output` must hold `cout` floats for
        /// each `cin` of `input`, and `mr ≥ 1` pixels from `tile.r0` be in `input`.
        #[target_feature(enable = $feature)]
        #[inline]
        unsafe fn $name<const R: usize, const V: usize>(
            &self,
            tile: Tile,
            mr: usize,
            output: &mut [f32],
        ) {
            use std::arch::x86_64::*;
            let (cin, cout) = (self.cin, self.cout);
            let zero = $zero();
            // Pixels past `mr` read the tile's first pixel again; they are never stored.
            let a: [*const f32; R] = std::array::from_fn(|i| {
                tile.input[(tile.r0 + if i < mr { i } else { 0 }) * cin..].as_ptr()
            });
            let mut acc = [[zero; V]; R];
            let mut b = self.panels.0[tile.panel..].as_ptr();
            let mut w = [zero; V];
            for k in 0..cin {
                // SAFETY: `k < cin`, so each row pointer stays in its pixel's `cin` floats,
                // and each vector's weights in their panel's `cin` steps.
                unsafe {
                    for (v, w) in w.iter_mut().enumerate() {
                        *w = $load(b.add(tile.apart * v));
                    }
                    for (row, acc) in a.iter().zip(acc.iter_mut()) {
                        let x = $set1(*row.add(k));
                        for (acc, w) in acc.iter_mut().zip(&w) {
                            *acc = $fma(x, *w, *acc);
                        }
                    }
                    b = b.add(tile.step);
                }
            }
            let six = $set1(6.0);
            let mut bias = [zero; V];
            for (v, bias) in bias.iter_mut().enumerate() {
                // SAFETY: the bias is padded as the panels are.
                *bias = unsafe { $load(self.bias.0.as_ptr().add(tile.c0 + $lanes * v)) };
            }
            for row in acc.iter_mut() {
                for (x, bias) in row.iter_mut().zip(&bias) {
                    *x = $add(*x, *bias);
                    if self.relu6 {
                        *x = $min($max(*x, zero), six);
                    }
                }
            }
            let width = ($lanes * V).min(cout - tile.c0);
            let mut spill = [0.0f32; 2 * PANEL];
            for (i, row) in acc.iter().take(mr).enumerate() {
                let at = (tile.r0 + i) * cout + tile.c0;
                if width == $lanes * V {
                    for (v, x) in row.iter().enumerate() {
                        // SAFETY: `lanes × V` of this pixel's `cout` outputs.
                        unsafe { $store(output.as_mut_ptr().add(at + $lanes * v), *x) };
                    }
                } else {
                    for (v, x) in row.iter().enumerate() {
                        // SAFETY: `spill` holds 32 floats, `lanes × V ≤ 32`.
                        unsafe { $store(spill.as_mut_ptr().add($lanes * v), *x) };
                    }
                    output[at..at + width].copy_from_slice(&spill[..width]);
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
impl Pointwise {
    tile_method!(
        /// A tile of 8-lane AVX2 vectors.
        tile,
        "avx2,fma",
        8,
        _mm256_setzero_ps,
        _mm256_set1_ps,
        _mm256_loadu_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps,
        _mm256_max_ps,
        _mm256_min_ps,
        _mm256_storeu_ps
    );

    tile_method!(
        /// A tile of 16-lane AVX-512 vectors.
        tile512,
        "avx512f",
        16,
        _mm512_setzero_ps,
        _mm512_set1_ps,
        _mm512_loadu_ps,
        _mm512_fmadd_ps,
        _mm512_add_ps,
        _mm512_max_ps,
        _mm512_min_ps,
        _mm512_storeu_ps
    );
}

/// Where a tile is: its first pixel, its first weight and output channel, how far apart its
/// vectors' weights are, and how far its weights step from one input channel to the next.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Tile<'a> {
    input: &'a [f32],
    r0: usize,
    panel: usize,
    c0: usize,
    apart: usize,
    step: usize,
}

impl Op for Pointwise {
    fn name(&self) -> StaticName {
        "PhotoSimPointwise".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{} → {} channels{}",
            self.cin,
            self.cout,
            if self.relu6 { ", ReLU6" } else { "" }
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for Pointwise {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let mut shape: TVec<usize> = input.shape().into();
        ensure!(
            shape.last() == Some(&self.cin),
            "expected {} channels last",
            self.cin
        );
        *shape.last_mut().expect("rank checked above") = self.cout;
        // SAFETY: every float of the output is written by `run`.
        let mut output = unsafe { Tensor::uninitialized::<f32>(&shape)? };
        {
            let x = input.try_as_plain_ram()?;
            let x = x.as_slice::<f32>()?;
            let mut y = output.try_as_plain_ram_mut()?;
            let y = y.as_slice_mut::<f32>()?;
            self.run_spread(x, y);
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl Pointwise {
    /// [`Pointwise::run`], with the pixels split over the threads of tract's executor when
    /// the caller asked for one (a query a person waits for); on the calling thread otherwise.
    pub(super) fn run_spread(&self, x: &[f32], y: &mut [f32]) {
        use rayon::prelude::*;
        let rows = x.len() / self.cin;
        // Chunks of whole tiles, a few per thread.
        let chunk = (rows / 8).next_multiple_of(2 * ROWS).max(2 * ROWS * 8);
        let spread = rows > chunk
            && super::on_tract_threads(|| {
                x.par_chunks(chunk * self.cin)
                    .zip(y.par_chunks_mut(chunk * self.cout))
                    .for_each(|(x, y)| self.run(x, y))
            });
        if !spread {
            self.run(x, y);
        }
    }
}

impl TypedOp for Pointwise {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        ensure!(fact.datum_type == f32::datum_type());
        ensure!(fact.shape.last() == Some(&self.cin.to_dim()));
        let mut shape: TVec<TDim> = fact.shape.iter().cloned().collect();
        *shape.last_mut().expect("rank checked above") = self.cout.to_dim();
        Ok(tvec!(f32::fact(shape)))
    }
}

/// Whether [`Pointwise`] runs a 1×1 convolution over `pixels` faster than tract 0.23. Measured
/// layer by layer with `photo-sim bench --layers` (AMD EPYC, AVX-512): ours took 0.3–0.7× the
/// time on every layer of 196 pixels or more (0.52 ms against 1.87 ms for 12,544 pixels × 16 →
/// 96 channels), and with AVX2 tiles 1.1–1.4× on the 49-pixel layers, where its six-pixel
/// tiles waste a seventh of the work and tract's tiles are near the arithmetic peak. With the
/// AVX-512 tiles of seven pixels, each panel's weights read once per block of pixels, the ten
/// 49-pixel layers took 2.31 ms against tract's 2.67 (Xeon, best of three runs).
pub fn pointwise_is_faster(pixels: usize, _cin: usize, _cout: usize) -> bool {
    pixels > 64 || Vectors::fastest() == Vectors::Avx512
}

/// Replaces each float 1×1 convolution of a channels-last model (after tract's `conv_nhwc`
/// transform) for which `ours(pixels, cin, cout)` holds by a [`Pointwise`], taking a ReLU6 that
/// follows it into it. Returns how many it replaced.
pub fn use_pointwise(
    model: &mut TypedModel,
    ours: impl Fn(usize, usize, usize) -> bool,
) -> TractResult<usize> {
    replace_convolutions(model, |model, found| {
        let spec = &found.conv.pool_spec;
        let ones = |v: &Option<TVec<usize>>| v.as_ref().is_none_or(|v| v.iter().all(|s| *s == 1));
        let (cin, cout) = (spec.input_channels, spec.output_channels);
        let pixels = found.shape.iter().product::<usize>() / cin;
        if found.conv.group != 1
            || spec.data_format != DataFormat::NHWC
            || spec.kernel_shape.iter().any(|k| *k != 1)
            || !ones(&spec.strides)
            || found.weights.len() != cin * cout
            || found.bias.len() != cout
            || !ours(pixels, cin, cout)
        {
            return Ok(None);
        }
        // conv → move back to channels-first → max 0 → min 6, as conv_nhwc leaves ReLU6.
        let moved = model
            .single_succ(found.id)?
            .and_then(|n| Some((n.id, n.op_as::<AxisOp>()?.clone())));
        let relu6 = moved
            .as_ref()
            .and_then(|(moved, _)| relu6_after(model, *moved));
        let op = Pointwise::new(&found.weights, &found.bias, cin, relu6.is_some());
        Ok(Some(match (moved, relu6) {
            (Some((_, moved)), Some(last)) => Replacement {
                op,
                before: None,
                after: Some(moved),
                last,
            },
            _ => Replacement {
                op,
                before: None,
                after: None,
                last: found.id,
            },
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::kernels::test_values;

    /// The vector tiles this CPU can run, saying on stderr which it cannot.
    fn vectors_this_cpu_has() -> Vec<Vectors> {
        let mut has = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            use crate::embed::kernels::cpu_runs;
            if cpu_runs(
                is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vl"),
                "AVX-512F and VL",
            ) {
                has.push(Vectors::Avx512);
            }
            if cpu_runs(
                is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
                "AVX2 and FMA",
            ) {
                has.push(Vectors::Avx2);
            }
        }
        has
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn only_an_amd_of_family_19h_counts_as_splitting_512_bit_work() {
        let (amd, intel) = (b"AuthenticAMD", b"GenuineIntel");
        // EPYC 9004 (Genoa, Zen 4), EPYC 9005 (Turin, Zen 5), Xeon Sapphire Rapids.
        assert!(is_zen4(amd, 0x00A1_0F11));
        assert!(!is_zen4(amd, 0x00B0_0F21));
        assert!(!is_zen4(intel, 0x0008_06F8));
    }

    #[test]
    fn the_vector_tiles_compute_every_output_bit_for_bit_as_the_scalar_loop() {
        // Pixel counts that leave a partial tile, channel counts that leave a partial panel.
        // The AVX-512 path: 49 pixels take the 7-pixel tiles, 50 the 12-pixel ones; 80 and
        // 112 channels leave a whole panel after the pairs, 24 and 40 a narrow one.
        for (rows, cin, cout, relu6) in [
            (13, 16, 24, true),
            (6, 40, 16, false),
            (1, 3, 40, true),
            (25, 7, 40, true),
            (14, 5, 12, false),
            (49, 9, 80, true),
            (50, 9, 112, true),
            (49, 6, 24, false),
            (31, 4, 40, true),
            // More input than a block of pixels holds: two blocks.
            (100, 1000, 40, true),
        ] {
            let w = test_values(cin * cout, 1);
            let b: Vec<f32> = test_values(cout, 2).iter().map(|v| v * 4.0).collect();
            let x: Vec<f32> = test_values(rows * cin, 3).iter().map(|v| v * 6.0).collect();
            let op = Pointwise::new(&w, &b, cin, relu6);
            let mut slow = vec![f32::NAN; rows * cout];
            op.rows_scalar(&x, &mut slow);
            for vectors in vectors_this_cpu_has() {
                let mut fast = vec![f32::NAN; rows * cout];
                op.run_with(vectors, &x, &mut fast);
                assert_eq!(
                    fast.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    slow.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "{vectors:?}: {rows} × {cin} → {cout}"
                );
            }
            let mut fast = vec![f32::NAN; rows * cout];
            op.run(&x, &mut fast);
            if relu6 {
                assert!(fast.iter().all(|v| (0.0..=6.0).contains(v)));
                assert!(fast.contains(&0.0) && fast.contains(&6.0));
            }
            // Pixel 0, channel cout-1, by the definition.
            let o = cout - 1;
            let mut want = 0.0f32;
            for k in 0..cin {
                want = x[k].mul_add(w[o * cin + k], want);
            }
            want += b[o];
            if relu6 {
                want = want.clamp(0.0, 6.0);
            }
            assert_eq!(fast[o], want);
        }
    }
}
