//! A convolution over few input channels (the model's stem: 3×3 over the 3 colour planes)
//! as its patches gathered channels-last, then the tiles of [`Pointwise`].
//!
//! tract ran the stem channels-first, then clamped its output in a second pass and moved it
//! channels-last in a third, for the depthwise convolution after it: four steps and 9 % of the
//! model's time. [`Im2colPointwise`] gathers each output position's 27 inputs (zero where the
//! window overhangs the padded border, as tract's own gathering does) into a row, and runs
//! those rows through the pointwise tiles with the bias and ReLU6, writing channels-last
//! directly. The products are summed in tract's order (input channel, then window row, then
//! column), and a padded zero adds nothing, so the results are bit-identical.

use super::graph::{relu6_after, replace_convolutions, Replacement};
use super::pointwise::Pointwise;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Input channels up to which a convolution is gathered into patches: the stem's 3. With more,
/// the gathered rows would outgrow the caches for no gain over tract's own products.
const MAX_CHANNELS: usize = 4;

/// Where one axis of the window reads: output `o` and window offset `d` read input
/// `o * stride + d * dilation - pad_before`, if that is inside `0..size`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Axis {
    size: usize,
    output: usize,
    window: usize,
    stride: usize,
    dilation: usize,
    pad_before: usize,
}

impl Axis {
    /// The input index output `o`, window offset `d` reads, or `None` in the padding.
    fn input(&self, o: usize, d: usize) -> Option<usize> {
        (o * self.stride + d * self.dilation)
            .checked_sub(self.pad_before)
            .filter(|i| *i < self.size)
    }
}

/// A convolution on channels-first data `[1, c, h, w]` giving channels-last `[1, h', w', c']`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Im2colPointwise {
    channels: usize,
    rows: Axis,
    columns: Axis,
    /// The products, the bias and the ReLU6, over rows of `channels × window` inputs.
    pointwise: Pointwise,
}

impl Im2colPointwise {
    /// Writes the output positions' windows into `patches`, one row each, in the order the
    /// weights are (input channel, window row, window column), zero where a window overhangs
    /// the input. Every value is written, so `patches` needs no clearing between runs.
    fn patches(&self, input: &[f32], patches: &mut Vec<f32>) {
        let (r, c) = (&self.rows, &self.columns);
        let plane = r.size * c.size;
        let row_len = self.channels * r.window * c.window;
        patches.resize(r.output * c.output * row_len, 0.0);
        // Which input column each output column's window reads, window column by column.
        let columns: Vec<Option<usize>> = (0..c.output)
            .flat_map(|ox| (0..c.window).map(move |dx| c.input(ox, dx)))
            .collect();
        for (oy, rows) in patches.chunks_exact_mut(c.output * row_len).enumerate() {
            for ch in 0..self.channels {
                for dy in 0..r.window {
                    let at = (ch * r.window + dy) * c.window;
                    let line = r
                        .input(oy, dy)
                        .map(|y| &input[ch * plane + y * c.size..ch * plane + (y + 1) * c.size]);
                    for (row, reads) in rows
                        .chunks_exact_mut(row_len)
                        .zip(columns.chunks_exact(c.window))
                    {
                        for (out, x) in row[at..at + c.window].iter_mut().zip(reads) {
                            *out = match (line, x) {
                                (Some(line), Some(x)) => line[*x],
                                _ => 0.0,
                            };
                        }
                    }
                }
            }
        }
    }
}

thread_local! {
    /// Each thread's rows of patches, kept between runs: a fresh 1.3 MB each run cost as much
    /// in page faults as the gathering itself.
    static PATCHES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Op for Im2colPointwise {
    fn name(&self) -> StaticName {
        "PhotoSimIm2colPointwise".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Im2colPointwise {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let wanted = self.channels * self.rows.size * self.columns.size;
        ensure!(input.len() == wanted, "expected {wanted} input values");
        let shape = [
            1,
            self.rows.output,
            self.columns.output,
            self.pointwise.cout(),
        ];
        // SAFETY: every float of the output is written by `run_spread`.
        let mut output = unsafe { Tensor::uninitialized::<f32>(&shape)? };
        PATCHES.with_borrow_mut(|patches| -> TractResult<()> {
            let x = input.try_as_plain_ram()?;
            self.patches(x.as_slice::<f32>()?, patches);
            let mut y = output.try_as_plain_ram_mut()?;
            self.pointwise.run_spread(patches, y.as_slice_mut::<f32>()?);
            Ok(())
        })?;
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for Im2colPointwise {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].datum_type == f32::datum_type());
        let shape = [
            1,
            self.rows.output,
            self.columns.output,
            self.pointwise.cout(),
        ];
        Ok(tvec!(f32::fact(shape)))
    }
}

/// Replaces each float convolution over at most [`MAX_CHANNELS`] channels of a channels-first
/// model (before tract's `conv_nhwc` transform) by an [`Im2colPointwise`], taking a ReLU6 that
/// follows it into it, and a move back to channels-first after it (decluttering cancels it
/// against the move before the next convolution). Returns how many it replaced.
pub fn use_im2col(model: &mut TypedModel) -> TractResult<usize> {
    replace_convolutions(model, |model, found| {
        let spec = &found.conv.pool_spec;
        let &[1, c, h, w] = found.shape else {
            return Ok(None);
        };
        let window = spec.kernel_shape.iter().product::<usize>();
        let cout = spec.output_channels;
        if found.conv.group != 1
            || c > MAX_CHANNELS
            || spec.data_format != DataFormat::NCHW
            || spec.kernel_shape.len() != 2
            || found.weights.len() != cout * c * window
            || found.bias.len() != cout
        {
            return Ok(None);
        }
        let padding = spec.computed_padding(&[h, w]);
        let (strides, dilations) = (spec.strides(), spec.dilations());
        let axis = |i: usize, size: usize| Axis {
            size,
            output: padding[i].convoluted,
            window: spec.kernel_shape[i],
            stride: strides[i],
            dilation: dilations[i],
            pad_before: padding[i].pad_before,
        };
        let relu6 = relu6_after(model, found.id);
        Ok(Some(Replacement {
            op: Im2colPointwise {
                channels: c,
                rows: axis(0, h),
                columns: axis(1, w),
                // OIHW weights are `cout` rows of (channel, window row, column): the
                // patches' order.
                pointwise: Pointwise::new(&found.weights, &found.bias, c * window, relu6.is_some()),
            },
            before: None,
            after: Some(AxisOp::Move(3, 1)),
            last: relu6.unwrap_or(found.id),
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::kernels::test_values;

    #[test]
    fn windows_that_overhang_any_side_read_zeros_there_and_the_input_elsewhere() {
        // 3 channels of 5 × 6, a 3×3 window with stride 2 and one padded row and column
        // before and after: every output on the border overhangs.
        let (c, h, w, cout) = (3, 5, 6, 5);
        let axis = |size, output| Axis {
            size,
            output,
            window: 3,
            stride: 2,
            dilation: 1,
            pad_before: 1,
        };
        let weights = test_values(cout * c * 9, 4);
        let bias = test_values(cout, 5);
        let op = Im2colPointwise {
            channels: c,
            rows: axis(h, 3),
            columns: axis(w, 3),
            pointwise: Pointwise::new(&weights, &bias, c * 9, false),
        };
        let input = test_values(c * h * w, 6);
        let out = op
            .eval(
                &EvalContext::out_of_plan(),
                tvec!(Tensor::from_shape(&[1, c, h, w], &input)
                    .unwrap()
                    .into_tvalue()),
            )
            .unwrap();
        let out = out[0]
            .try_as_plain_ram()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec();
        assert_eq!(out.len(), 3 * 3 * cout);
        for oy in 0..3 {
            for ox in 0..3 {
                for o in 0..cout {
                    let mut want = bias[o] as f64;
                    for ch in 0..c {
                        for dy in 0..3 {
                            for dx in 0..3 {
                                let (y, x) =
                                    ((oy * 2 + dy) as isize - 1, (ox * 2 + dx) as isize - 1);
                                if (0..h as isize).contains(&y) && (0..w as isize).contains(&x) {
                                    let v = input[ch * h * w + y as usize * w + x as usize];
                                    want += (weights[o * c * 9 + ch * 9 + dy * 3 + dx] * v) as f64;
                                }
                            }
                        }
                    }
                    let got = out[(oy * 3 + ox) * cout + o] as f64;
                    assert!(
                        (got - want).abs() < 1e-5,
                        "({oy}, {ox}) channel {o}: {got} against {want}"
                    );
                }
            }
        }
    }
}
