//! How the operations of this folder are put into tract's graph of the model: the loop over
//! its float convolutions that each rewrite (`pointwise.rs`, `depthwise_relu6.rs`,
//! `im2col.rs`) is offered, and what they read there: the floats of a constant input, and
//! whether a ReLU6 (a max with 0, then a min with 6, as tract-onnx turns ONNX's `Clip`) is all
//! that reads a node's output.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::cnn::conv::{Conv, KernelFormat};

/// The floats of the constant behind `outlet`, if it is one. Before decluttering, tract-onnx
/// leaves some constants behind a `Cast` (a bias, for one); it is looked through.
pub(super) fn constant_floats(model: &TypedModel, outlet: OutletId) -> Option<Vec<f32>> {
    let konst = |outlet: OutletId| model.outlet_fact(outlet).ok()?.konst.clone();
    let tensor = konst(outlet).or_else(|| {
        let node = model.node(outlet.node);
        node.op_as::<Cast>()?;
        konst(*node.inputs.first()?)
    })?;
    let floats = tensor.cast_to::<f32>().ok()?;
    let view = floats.try_as_plain_ram().ok()?;
    Some(view.as_slice::<f32>().ok()?.to_vec())
}

/// The node that alone reads `node`'s only output, if that is a binary `op` ("Max", "Min")
/// whose other operand is a constant of `value` everywhere.
pub(super) fn clamp_after(model: &TypedModel, node: usize, op: &str, value: f32) -> Option<usize> {
    let next = model.single_succ(node).ok()??;
    let bin = next.op_as::<TypedBinOp>()?;
    let other = next.inputs.iter().find(|i| i.node != node)?;
    let constant = constant_floats(model, *other)?;
    (bin.0.name() == op && next.inputs.len() == 2 && constant.iter().all(|x| *x == value))
        .then_some(next.id)
}

/// The node that ends a ReLU6 reading `node`'s output alone (max 0, then min 6), if one does.
pub(super) fn relu6_after(model: &TypedModel, node: usize) -> Option<usize> {
    clamp_after(model, node, "Max", 0.0).and_then(|max| clamp_after(model, max, "Min", 6.0))
}

/// A float convolution of the model with constant weights (OIHW) and bias, as the rewrites
/// are offered it.
pub(super) struct FloatConv<'a> {
    pub id: usize,
    pub conv: &'a Conv,
    /// The shape of its input.
    pub shape: &'a [usize],
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
}

/// What a rewrite puts in place of a convolution: `op` on its input, with moves of axes
/// before and after it, standing for the output of node `last` (the convolution, or the end
/// of a ReLU6 taken into `op`).
pub(super) struct Replacement<O> {
    pub op: O,
    pub before: Option<AxisOp>,
    pub after: Option<AxisOp>,
    pub last: usize,
}

/// Offers each float convolution with constant weights and bias, in order, to `rewrite`, and
/// puts in the replacement it returns. Returns how many it replaced.
pub(super) fn replace_convolutions<O: TypedOp>(
    model: &mut TypedModel,
    rewrite: impl Fn(&TypedModel, FloatConv) -> TractResult<Option<Replacement<O>>>,
) -> TractResult<usize> {
    let mut replaced = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        let Some(conv) = node.op_as::<Conv>() else {
            continue;
        };
        let fact = model.outlet_fact(node.inputs[0])?;
        let Some(shape) = fact.shape.as_concrete() else {
            continue;
        };
        if conv.q_params.is_some()
            || conv.kernel_fmt != KernelFormat::OIHW
            || fact.datum_type != f32::datum_type()
            || node.inputs.len() != 3
        {
            continue;
        }
        let (Some(weights), Some(bias)) = (
            constant_floats(model, node.inputs[1]),
            constant_floats(model, node.inputs[2]),
        ) else {
            continue;
        };
        let found = FloatConv {
            id,
            conv,
            shape,
            weights,
            bias,
        };
        let Some(replacement) = rewrite(model, found)? else {
            continue;
        };
        let node = model.node(id);
        let mut patch = TypedModelPatch::default();
        let mut wire = patch.tap_model(model, node.inputs[0])?;
        if let Some(before) = replacement.before {
            wire = patch.wire_node(format!("{}.nhwc_in", node.name), before, &[wire])?[0];
        }
        wire = patch.wire_node(&node.name, replacement.op, &[wire])?[0];
        if let Some(after) = replacement.after {
            wire = patch.wire_node(format!("{}.nhwc_out", node.name), after, &[wire])?[0];
        }
        patch.shunt_outside(model, replacement.last.into(), wire)?;
        patch.apply(model)?;
        replaced += 1;
    }
    Ok(replaced)
}
