//! What the rewrites of `pointwise.rs` and `depthwise_relu6.rs` read in tract's graph of the
//! model: the floats of a constant input, and whether a ReLU6 (a max with 0, then a min with
//! 6, as tract-onnx turns ONNX's `Clip`) is all that reads a node's output.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;

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
