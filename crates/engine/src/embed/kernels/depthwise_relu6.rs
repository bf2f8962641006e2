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
use std::sync::Arc;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Patch, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// A depthwise convolution on channels-last data `[1, h, w, c]`, with its bias and ReLU6.
#[derive(Clone)]
pub struct DepthwiseRelu6 {
    /// tract's geometry of the convolution over the two spatial axes (strides in floats).
    patch: Patch,
    output_shape: TVec<usize>,
    channels: usize,
    /// Tap-major weights: tap `t` (row-major over the kernel window), channel `c` at
    /// `t * channels + c`, as tract lays them out for its channels-last kernel.
    kernel: Arc<[f32]>,
    bias: Arc<[f32]>,
}

/// The weights, not the geometry's many tables (tract prints operations in its errors).
impl std::fmt::Debug for DepthwiseRelu6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DepthwiseRelu6({} channels, {:?} → {:?})",
            self.channels, self.patch.spec.kernel_shape, self.output_shape
        )
    }
}

/// Equal when the geometry is and the floats are the same bits.
impl PartialEq for DepthwiseRelu6 {
    fn eq(&self, other: &Self) -> bool {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        self.patch == other.patch
            && self.output_shape == other.output_shape
            && bits(&self.kernel) == bits(&other.kernel)
            && bits(&self.bias) == bits(&other.bias)
    }
}

impl Eq for DepthwiseRelu6 {}

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
    /// Computes channels `c0..c1` of every output position, zone by zone of tract's patch.
    ///
    /// # Safety
    /// `buffers` must hold the input and output tensors of this operation's shapes, and
    /// `kernel` must be one the CPU can run.
    unsafe fn channels(&self, buffers: Buffers, kernel: Kernel, c0: usize, c1: usize) {
        let patch = &self.patch;
        let (input_strides, output_strides) = (
            &patch.op_strides_times_input_storage_strides,
            &patch.output_storage_strides,
        );
        let width = c1 - c0;
        for zone in &patch.zones {
            let taps: TVec<usize> = zone.values_offsets.iter().map(|p| p.0).collect();
            let offsets: TVec<isize> = zone.values_offsets.iter().map(|p| p.1).collect();
            let columns = zone.output_ranges[1].clone();
            for y in zone.output_ranges[0].clone() {
                let (y, x) = (y as isize, columns.start as isize);
                let center = input_strides[0] * y + input_strides[1] * x + c0 as isize;
                let at = output_strides[0] * y + output_strides[1] * x + c0 as isize;
                // SAFETY: tract's patch keeps every tap of every output position of the zone
                // inside the input, and the positions inside the output (# Safety above).
                unsafe {
                    let (input, output) = (buffers.input.offset(center), buffers.output.offset(at));
                    let (kernel_at, bias_at) =
                        (self.kernel.as_ptr().add(c0), self.bias.as_ptr().add(c0));
                    kernel(
                        input,
                        output,
                        kernel_at,
                        &taps,
                        &offsets,
                        bias_at,
                        width,
                        self.channels,
                        columns.len(),
                        input_strides[1],
                        output_strides[1],
                    );
                }
            }
        }
    }

    /// All channels, split in blocks over the threads of tract's executor when the caller
    /// asked for one (a query a person waits for), on the calling thread otherwise.
    fn run(&self, input: &[f32], output: &mut [f32]) {
        use rayon::prelude::*;
        use tract_linalg::multithread::{current_tract_executor, Executor};
        let buffers = Buffers {
            input: input.as_ptr(),
            output: output.as_mut_ptr(),
        };
        let kernel = depthwise::relu6_kernel();
        const BLOCK: usize = 32;
        let blocks = self.channels.div_ceil(BLOCK);
        let block = |b: usize| {
            let c1 = self.channels.min((b + 1) * BLOCK);
            // SAFETY: the buffers are this operation's input and output (`eval` checked their
            // sizes), and `relu6_kernel` only returns a kernel this CPU runs.
            unsafe { self.channels(buffers, kernel, b * BLOCK, c1) }
        };
        match current_tract_executor() {
            Executor::MultiThread(pool) if blocks > 1 => {
                pool.install(|| (0..blocks).into_par_iter().for_each(block))
            }
            Executor::RayonGlobal if blocks > 1 => (0..blocks).into_par_iter().for_each(block),
            // SAFETY: as in `block`.
            _ => unsafe { self.channels(buffers, kernel, 0, self.channels) },
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
        let wanted = self.patch.spec.input_shape.iter().product::<usize>() * self.channels;
        ensure!(input.len() == wanted, "expected {wanted} input values");
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
            op: DepthwiseRelu6 {
                output_shape: geometry.output_shape.shape.clone(),
                patch: geometry.patch,
                channels: c,
                kernel: kernel.into(),
                bias: found.bias.into(),
            },
            before: Some(AxisOp::Move(1, 3)),
            after: Some(AxisOp::Move(3, 1)),
            last,
        }))
    })
}
