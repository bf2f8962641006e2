//! Depthwise convolutions with the ReLU6 that follows each of them, as one operation of ours.
//!
//! tract runs this model's depthwise convolutions channels-last through our kernel
//! (`depthwise.rs`), then clamps the whole output to [0, 6] in a second pass: 17 passes over
//! tensors of up to 1.6 MB, 7 % of the model's time. [`DepthwiseRelu6`] walks tract's own
//! geometry of the convolution (its `Patch`: which taps each zone of outputs reads, and where)
//! and calls the same kernel with the clamp applied before each store. Every output is the
//! same bias, products and sums in the same order, then the same max and min, so the results
//! are bit-identical.

use super::depthwise::{self, Kernel};
use super::graph::{relu6_after, replace_convolutions, Replacement};
use super::Floats;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Patch, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// A depthwise convolution on channels-last data `[1, h, w, c]`, with its bias and ReLU6.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepthwiseRelu6 {
    /// tract's zones of output positions, each with the taps they all read.
    zones: Vec<Zone>,
    /// Floats between input positions one output row and one output column apart (the
    /// convolution's strides included), and between output rows and columns.
    input_strides: [isize; 2],
    output_strides: [isize; 2],
    input_len: usize,
    output_shape: TVec<usize>,
    channels: usize,
    /// Tap-major weights: tap `t` (row-major over the kernel window), channel `c` at
    /// `t * channels + c`, as tract lays them out for its channels-last kernel.
    kernel: Floats,
    bias: Floats,
}

/// One zone of tract's `Patch`: output positions that read the same taps of the window (all
/// of them inside the image, or the same ones on a border).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Zone {
    /// The taps read: their index in the window, and their input offset in floats from
    /// where the output position's window is centred.
    taps: Vec<usize>,
    offsets: Vec<isize>,
    rows: std::ops::Range<usize>,
    columns: std::ops::Range<usize>,
}

/// Where one call's pointers may be shared between threads: each thread writes its own
/// channels of the output.
#[derive(Clone, Copy)]
struct Buffers {
    input: *const f32,
    output: *mut f32,
}

// SAFETY: the threads given a `Buffers` read the input and write disjoint channel ranges of
// the output, which outlives them (`run` waits for all of them).
unsafe impl Send for Buffers {}
// SAFETY: as above.
unsafe impl Sync for Buffers {}

impl DepthwiseRelu6 {
    /// The operation for tract's geometry of the convolution over the spatial axes (`patch`,
    /// strides in floats of channels-last data), tap-major weights and a bias.
    fn new(patch: &Patch, output_shape: TVec<usize>, kernel: Vec<f32>, bias: Vec<f32>) -> Self {
        let zones = patch
            .zones
            .iter()
            .map(|zone| Zone {
                taps: zone.values_offsets.iter().map(|p| p.0).collect(),
                offsets: zone.values_offsets.iter().map(|p| p.1).collect(),
                rows: zone.output_ranges[0].clone(),
                columns: zone.output_ranges[1].clone(),
            })
            .collect();
        let (i, o) = (
            &patch.op_strides_times_input_storage_strides,
            &patch.output_storage_strides,
        );
        let channels = bias.len();
        Self {
            zones,
            input_strides: [i[0], i[1]],
            output_strides: [o[0], o[1]],
            input_len: patch.spec.input_shape.iter().product::<usize>() * channels,
            output_shape,
            channels,
            kernel: Floats(kernel.into()),
            bias: Floats(bias.into()),
        }
    }

    /// Computes channels `c0..c1` of every output position, zone by zone, along the longer
    /// of its sides: the kernel computes a few positions of a line at once (the border zones
    /// are one or two columns wide and as tall as the image).
    ///
    /// # Safety
    /// `buffers` must hold the input and output tensors of this operation's shapes, and
    /// `kernel` must be one the CPU can run.
    unsafe fn channels(&self, buffers: Buffers, kernel: Kernel, c0: usize, c1: usize) {
        let ([i0, i1], [o0, o1]) = (self.input_strides, self.output_strides);
        for zone in &self.zones {
            // The zone's lines: each starts on its first row or column and steps along the
            // other axis.
            let along_rows = zone.columns.len() >= zone.rows.len();
            let (lines, len, step_in, step_out) = if along_rows {
                (zone.rows.len(), zone.columns.len(), i1, o1)
            } else {
                (zone.columns.len(), zone.rows.len(), i0, o0)
            };
            for line in 0..lines {
                let (y, x) = if along_rows {
                    (zone.rows.start + line, zone.columns.start)
                } else {
                    (zone.rows.start, zone.columns.start + line)
                };
                let (y, x) = (y as isize, x as isize);
                let center = i0 * y + i1 * x + c0 as isize;
                let at = o0 * y + o1 * x + c0 as isize;
                // SAFETY: tract's patch keeps every tap of every output position of the zone
                // inside the input, and the positions inside the output (# Safety above).
                unsafe {
                    kernel(
                        buffers.input.offset(center),
                        buffers.output.offset(at),
                        self.kernel.0.as_ptr().add(c0),
                        &zone.taps,
                        &zone.offsets,
                        self.bias.0.as_ptr().add(c0),
                        c1 - c0,
                        self.channels,
                        len,
                        step_in,
                        step_out,
                    );
                }
            }
        }
    }

    /// All channels, split in blocks over the threads of tract's executor when the caller
    /// asked for them, on the calling thread otherwise.
    fn run(&self, input: &[f32], output: &mut [f32]) {
        use rayon::prelude::*;
        let buffers = Buffers {
            input: input.as_ptr(),
            output: output.as_mut_ptr(),
        };
        let kernel = depthwise::relu6_kernel();
        const BLOCK: usize = 32;
        let blocks = self.channels.div_ceil(BLOCK);
        let spread = blocks > 1
            && super::on_tract_threads(|| {
                (0..blocks).into_par_iter().for_each(|b| {
                    let c1 = self.channels.min((b + 1) * BLOCK);
                    // SAFETY: the buffers are this operation's input and output (`eval`
                    // checked their sizes), and `relu6_kernel` only returns a kernel this
                    // CPU runs.
                    unsafe { self.channels(buffers, kernel, b * BLOCK, c1) }
                })
            });
        if !spread {
            // SAFETY: as above.
            unsafe { self.channels(buffers, kernel, 0, self.channels) }
        }
    }
}

impl Op for DepthwiseRelu6 {
    fn name(&self) -> StaticName {
        "PhotoSimDepthwiseRelu6".into()
    }

    op_as_typed_op!();
}

impl EvalOp for DepthwiseRelu6 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        ensure!(
            input.len() == self.input_len,
            "expected {} input values",
            self.input_len
        );
        // SAFETY: every float of the output is written (the zones cover every position).
        let mut output = unsafe { Tensor::uninitialized::<f32>(&self.output_shape)? };
        {
            let x = input.try_as_plain_ram()?;
            let mut y = output.try_as_plain_ram_mut()?;
            self.run(x.as_slice::<f32>()?, y.as_slice_mut::<f32>()?);
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for DepthwiseRelu6 {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].datum_type == f32::datum_type());
        Ok(tvec!(f32::fact(&self.output_shape)))
    }
}

/// Replaces each float depthwise convolution of a channels-first model (before tract's
/// `conv_nhwc` transform) that a ReLU6 follows by a [`DepthwiseRelu6`] between moves to
/// channels-last and back (decluttering cancels those between one convolution and the next).
/// Returns how many it replaced.
pub fn use_depthwise_relu6(model: &mut TypedModel) -> TractResult<usize> {
    replace_convolutions(model, |model, found| {
        let spec = &found.conv.pool_spec;
        let &[1, c, h, w] = found.shape else {
            return Ok(None);
        };
        let taps = spec.kernel_shape.iter().product::<usize>();
        let relu6 = relu6_after(model, found.id);
        if spec.data_format != DataFormat::NCHW
            || found.conv.group != c
            || spec.input_channels != c
            || spec.output_channels != c
            || spec.kernel_shape.len() != 2
            || found.weights.len() != c * taps
            || relu6.is_none()
        {
            return Ok(None);
        }
        let nhwc = PoolSpec {
            data_format: DataFormat::NHWC,
            ..spec.clone()
        };
        let shape = [1, h, w, c];
        let dims: TVec<TDim> = shape.iter().map(|d| d.to_dim()).collect();
        let geometry = nhwc.compute_geo(&dims)?.to_concrete(&shape)?.into_owned();
        if geometry.patch.rank() != 2 {
            return Ok(None);
        }
        // [c][taps] (OIHW with one input channel each) to [taps][c].
        let kernel: Vec<f32> = (0..taps * c)
            .map(|i| found.weights[(i % c) * taps + i / c])
            .collect();
        Ok(relu6.map(|last| Replacement {
            op: DepthwiseRelu6::new(
                &geometry.patch,
                geometry.output_shape.shape.clone(),
                kernel,
                found.bias,
            ),
            before: Some(AxisOp::Move(1, 3)),
            after: Some(AxisOp::Move(3, 1)),
            last,
        }))
    })
}
