//! The neural network: an ONNX model loaded and optimised once by tract, then run from many
//! threads at once to turn model inputs into unit-length embedding vectors.

use crate::decode::{INPUT_LEN, INPUT_SIZE};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::sync::Arc;
use tract_onnx::prelude::*;

/// The default model (EfficientNet-Lite0, see models/README.md), built into the binary so the
/// installed program needs no file beside it and never downloads anything.
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../models/efficientnet_lite0.onnx");

/// Environment variable naming another ONNX model to use (same as `--model`).
pub const MODEL_ENV: &str = "PHOTO_SIM_MODEL";

type Plan = Arc<TypedRunnableModel>;

/// A loaded, optimised model, shared by all threads.
pub struct Model {
    plan: Plan,
    /// Runners that finished, kept with their buffers for the next session: a new one pays for
    /// its first run's allocations.
    idle: std::sync::Mutex<Vec<TypedSimpleState>>,
    /// blake3 of the model file: an index remembers it, so a different model means re-embedding.
    pub id: [u8; 32],
    /// Length of the embedding vector.
    pub dim: usize,
    has_logits: bool,
}

/// How the model is prepared for tract.
#[derive(Clone, Debug)]
pub struct Options {
    /// Run the convolutions channels-last (NHWC): the same numbers, about a quarter faster
    /// (depthwise convolutions most of all).
    pub nhwc: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { nhwc: true }
    }
}

/// Raw outputs of one run, before normalisation: for checks against other runtimes.
pub struct RawOutput {
    pub embedding: Vec<f32>,
    pub logits: Option<Vec<f32>>,
}

impl Model {
    /// The model in `path`, or the built-in one.
    pub fn load(path: Option<&Path>) -> crate::Result<Self> {
        match path {
            Some(p) => {
                let failed = |cause| crate::Error::ModelFile {
                    path: p.to_path_buf(),
                    cause,
                };
                let bytes = std::fs::read(p).map_err(|e| failed(e.into()))?;
                Self::from_bytes(&bytes).map_err(failed)
            }
            None => Self::from_bytes(DEFAULT_MODEL).map_err(crate::Error::Model),
        }
    }

    /// Loads an ONNX model with an input `[N,3,224,224]` and an output named `embedding`
    /// (and optionally `logits`). The batch is fixed to 1: tract runs a fixed shape several
    /// times faster than a symbolic one, and batching gains nothing on CPU here.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes_with(bytes, &Options::default())
    }

    /// [`Model::from_bytes`] with the optimisations chosen (the benchmark compares them).
    pub fn from_bytes_with(bytes: &[u8], options: &Options) -> Result<Self> {
        let id = *blake3::hash(bytes).as_bytes();
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))
            .context("not a readable ONNX model")?;
        let outlets = model.output_outlets()?.to_vec();
        let named = |name: &str| {
            outlets
                .iter()
                .copied()
                .find(|o| model.outlet_label(*o) == Some(name))
        };
        let (embedding, logits) = (named("embedding"), named("logits"));
        let has_logits = embedding.is_some() && logits.is_some();
        match (embedding, logits) {
            (Some(e), Some(l)) => model.select_output_outlets(&[e, l])?,
            (Some(e), None) => model.select_output_outlets(&[e])?,
            (None, _) if outlets.len() == 1 => {}
            (None, _) => {
                let names: Vec<_> = outlets.iter().map(|o| model.outlet_label(*o)).collect();
                bail!("the model has no output named `embedding` (outputs: {names:?})");
            }
        }
        let size = INPUT_SIZE as usize;
        let mut model = model
            .with_input_fact(0, f32::fact([1, 3, size, size]).into())?
            .into_typed()?
            .into_decluttered()
            .context("cannot prepare the model for a 1×3×224×224 input")?;
        if options.nhwc {
            if let Some(nhwc) = tract_onnx::tract_core::transform::get_transform("conv_nhwc")? {
                nhwc.transform(&mut model)?;
            }
        }
        let model = model
            .into_optimized()
            .context("cannot optimise the model")?;
        let dim = model
            .output_fact(0)?
            .shape
            .as_concrete()
            .and_then(|s| s.last().copied())
            .context("the embedding output has no fixed size")?;
        let plan = model.into_runnable()?;
        Ok(Self {
            plan,
            idle: Default::default(),
            id,
            dim,
            has_logits,
        })
    }

    /// A runner for one thread (keeps its scratch memory between images, and gives it back to
    /// the model when dropped, for the next session).
    pub fn session(&self) -> Result<Session<'_>> {
        let idle = self.idle.lock().expect("session pool").pop();
        let state = match idle {
            Some(state) => state,
            None => self.plan.spawn()?,
        };
        Ok(Session {
            model: self,
            state: Some(state),
        })
    }

    /// One unit-length embedding for one model input (see [`crate::decode::to_model_input`]).
    pub fn embed(&self, input: &[f32]) -> Result<Vec<f32>> {
        self.session()?.embed(input)
    }

    /// The hex form of [`Model::id`], for messages.
    pub fn id_hex(&self) -> String {
        blake3::Hash::from(self.id).to_hex()[..12].to_string()
    }
}

/// Runs the model on one thread, reusing its buffers.
pub struct Session<'a> {
    model: &'a Model,
    /// Always `Some` until dropped.
    state: Option<TypedSimpleState>,
}

/// Runners kept idle at most (one per core is all indexing uses at once).
fn max_idle() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) + 1
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if let (Some(state), Ok(mut idle)) = (self.state.take(), self.model.idle.lock()) {
            if idle.len() < max_idle() {
                idle.push(state);
            }
        }
    }
}

impl Session<'_> {
    /// The embedding and (when the model has them) logits, as the model computed them.
    pub fn run(&mut self, input: &[f32]) -> Result<RawOutput> {
        if input.len() != INPUT_LEN {
            bail!("a model input has {INPUT_LEN} values, not {}", input.len());
        }
        let size = INPUT_SIZE as usize;
        let tensor = Tensor::from_shape(&[1, 3, size, size], input)?;
        let state = self.state.as_mut().expect("a live session has its state");
        let outputs = state.run(tvec!(tensor.into_tvalue()))?;
        let embedding = outputs[0].try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
        let logits = if self.model.has_logits {
            Some(outputs[1].try_as_plain_ram()?.as_slice::<f32>()?.to_vec())
        } else {
            None
        };
        Ok(RawOutput { embedding, logits })
    }

    /// The L2-normalised embedding, so that a dot product is the cosine similarity.
    pub fn embed(&mut self, input: &[f32]) -> Result<Vec<f32>> {
        let mut v = self.run(input)?.embedding;
        normalize(&mut v);
        Ok(v)
    }

    /// [`Session::embed`] with the matrix products spread over every core: for the one query
    /// a person is waiting for (indexing already keeps every core busy, one image each).
    pub fn embed_now(&mut self, input: &[f32]) -> Result<Vec<f32>> {
        use tract_linalg::multithread::{multithread_tract_scope, Executor};
        multithread_tract_scope(Executor::RayonGlobal, || self.embed(input))
    }
}

/// Scales `v` to unit length (leaves an all-zero vector as it is).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}
