//! What can go wrong with a model: reading it, loading it (not ONNX, no output to pool, a
//! shape tract cannot fix) or running it. Typed, so the engine says which; tract's own error
//! (an `anyhow` chain underneath) rides along as the cause. Cloneable, so one failed runner
//! can fail every photo it was given.

use super::preprocess::INPUT_LEN;
use std::sync::Arc;
use tract_onnx::prelude::TractError;

/// Why a model could not be loaded or run.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ModelError {
    /// The model file could not be read.
    #[error("{0}")]
    Read(Arc<std::io::Error>),
    /// tract could not parse the bytes as ONNX.
    #[error("not a readable ONNX model: {0:#}")]
    NotOnnx(Arc<TractError>),
    /// None of the outputs is one photo-sim can pool into a descriptor.
    #[error("the model has no output named `features` or `embedding` (outputs: {0})")]
    NoDescriptorOutput(String),
    /// The graph does not simplify for a fixed 1×3×224×224 input.
    #[error("cannot prepare the model for a 1×3×224×224 input: {0:#}")]
    Prepare(Arc<TractError>),
    /// tract's optimiser refused the graph.
    #[error("cannot optimise the model: {0:#}")]
    Optimise(Arc<TractError>),
    /// The output's shape is not known once the input's is.
    #[error("the model's output has no fixed size")]
    OutputSize,
    /// The output is neither a feature map nor a vector.
    #[error("unexpected output shape {0:?}")]
    OutputShape(Vec<usize>),
    /// An input of the wrong length was given to run.
    #[error("a model input has {INPUT_LEN} values, not {0}")]
    InputLength(usize),
    /// R-MAC was asked of a model that only gives a pooled vector.
    #[error("R-MAC needs the model's `features` output")]
    NoFeatures,
    /// Any other step tract refused (typing the graph, making a runner, running it).
    #[error("{0:#}")]
    Tract(Arc<TractError>),
}

impl From<TractError> for ModelError {
    fn from(e: TractError) -> Self {
        ModelError::Tract(Arc::new(e))
    }
}
