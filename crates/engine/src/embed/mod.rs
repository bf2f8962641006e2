//! The neural network: an ONNX model loaded and optimised once by tract, then run from many
//! threads at once to turn model inputs into unit-length descriptor vectors.
//!
//! The descriptor is pooled here from the network's last feature map (see `rmac.rs`):
//! R-MAC by default, or the plain global average (GAP) for comparison and for models that only
//! give an `embedding` output.

mod error;
pub mod kernels;
pub(crate) mod preprocess;
mod rmac;

use crate::vector::normalize;
pub use error::ModelError;
use preprocess::INPUT_LEN;
pub use preprocess::{model_input, rotate_input, to_model_input, INPUT_SIZE, RESIZE_SHORTER};
use std::path::Path;
use std::sync::Arc;
use tract_onnx::prelude::*;

/// The default model (EfficientNet-Lite0, see models/README.md), built into the binary so the
/// installed program needs no file beside it and never downloads anything.
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../../../../models/efficientnet_lite0.onnx");

/// Environment variable naming another ONNX model to use (same as `--model`).
pub const MODEL_ENV: &str = "PHOTO_SIM_MODEL";

type Plan = Arc<TypedRunnableModel>;

/// How a feature map becomes one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Descriptor {
    /// Global average pooling: the model's own `embedding`.
    Gap,
    /// Regional maximum activations (needs the `features` output).
    Rmac,
}

impl Descriptor {
    /// The short name used in reports and on the command line ("gap", "rmac").
    pub fn name(self) -> &'static str {
        match self {
            Descriptor::Gap => "gap",
            Descriptor::Rmac => "rmac",
        }
    }
}

/// A loaded, optimised model, shared by all threads.
pub struct Model {
    plan: Plan,
    /// Runners that finished, kept with their buffers for the next session: a new one pays for
    /// its first run's allocations.
    idle: std::sync::Mutex<Vec<TypedSimpleState>>,
    /// blake3 of the model file and the descriptor: an index remembers it, so a different
    /// model or descriptor means re-embedding.
    pub id: [u8; 32],
    /// Length of the descriptor vector.
    pub dim: usize,
    /// How the feature map is pooled into the vector (R-MAC unless the model cannot).
    pub descriptor: Descriptor,
    outputs: Outputs,
    /// True for the built-in model, whose similarity thresholds were measured.
    builtin: bool,
}

/// Where each output is in the plan's outputs, and the feature map's shape.
#[derive(Clone, Debug)]
struct Outputs {
    /// `features` [1, C, h, w] and its (C, h, w).
    features: Option<(usize, (usize, usize, usize))>,
    embedding: Option<usize>,
    logits: Option<usize>,
}

/// How the model is prepared for tract.
#[derive(Clone, Debug)]
pub struct Options {
    /// Run the convolutions channels-last (NHWC): the same numbers. The operations of
    /// [`crate::embed::kernels`] all work channels-last, so without this tract runs its own
    /// channels-first (1.3× the time).
    pub nhwc: bool,
    /// The descriptor to compute (R-MAC falls back to GAP for a model without `features`).
    pub descriptor: Descriptor,
    /// Run the 1×1 convolutions with [`kernels::Pointwise`] where it is faster than tract's
    /// matrix product, and the stem with [`kernels::Im2colPointwise`] (with `nhwc` only).
    pub pointwise: bool,
    /// Run the depthwise convolutions and their ReLU6 as one [`kernels::DepthwiseRelu6`]
    /// (with `nhwc` only).
    pub fused_depthwise: bool,
    /// Also compute the ImageNet class scores ([`RawOutput::logits`]), for checks. Indexing
    /// has no use for them, and their classifier cost 3 % of each run.
    pub logits: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            nhwc: true,
            descriptor: Descriptor::Rmac,
            pointwise: true,
            fused_depthwise: true,
            logits: false,
        }
    }
}

/// Raw outputs of one run, before pooling or normalisation: for checks against other runtimes.
pub struct RawOutput {
    /// The feature map (C × h × w, channel-major) when the model gives it.
    pub features: Option<Vec<f32>>,
    /// The model's `embedding` output, or the spatial mean of the features.
    pub embedding: Vec<f32>,
    /// The ImageNet class scores when the model gives them (to check a model against a
    /// reference runtime by its top classes).
    pub logits: Option<Vec<f32>>,
}

/// How long one step of the model's plan took (see [`Session::run_timed`]).
#[derive(Clone, Debug)]
pub struct StepTime {
    /// The node's name in tract's optimised plan (derived from the ONNX node's).
    pub name: String,
    /// The kind of operation tract runs there.
    pub op: String,
    /// The shape of its first output.
    pub shape: Vec<usize>,
    /// Its wall-clock time.
    pub seconds: f64,
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
                let bytes = std::fs::read(p).map_err(|e| failed(ModelError::Read(e.into())))?;
                Self::from_bytes(&bytes).map_err(failed)
            }
            None => Self::from_bytes(DEFAULT_MODEL).map_err(crate::Error::Model),
        }
    }

    /// Loads an ONNX model with an input `[N,3,224,224]` and an output named `features` (the
    /// last feature map) or `embedding` (a pooled vector), and optionally `logits`. The batch is
    /// fixed to 1: tract runs a fixed shape several times faster than a symbolic one, and
    /// batches of 2 to 8 are slower per image here.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        Self::from_bytes_with(bytes, &Options::default())
    }

    /// [`Model::from_bytes`] with the optimisations and descriptor chosen.
    pub fn from_bytes_with(bytes: &[u8], options: &Options) -> Result<Self, ModelError> {
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))
            .map_err(|e| ModelError::NotOnnx(e.into()))?;
        let outlets = model.output_outlets()?.to_vec();
        let named = |name: &str| {
            outlets
                .iter()
                .copied()
                .find(|o| model.outlet_label(*o) == Some(name))
        };
        let (features, embedding, logits) =
            (named("features"), named("embedding"), named("logits"));
        let descriptor = match features {
            Some(_) => options.descriptor,
            None => Descriptor::Gap,
        };
        // The feature map when there is one (both descriptors pool it; its mean is the model's
        // `embedding`), and the logits, for checks.
        let pooled = match (features, embedding) {
            (Some(f), _) | (None, Some(f)) => f,
            (None, None) if outlets.len() == 1 => outlets[0],
            _ => {
                let names: Vec<_> = outlets.iter().map(|o| model.outlet_label(*o)).collect();
                return Err(ModelError::NoDescriptorOutput(format!("{names:?}")));
            }
        };
        let logits = logits.filter(|_| options.logits);
        let mut selected = vec![pooled];
        selected.extend(logits);
        model.select_output_outlets(&selected)?;
        let size = INPUT_SIZE as usize;
        let mut model = model
            .with_input_fact(0, f32::fact([1, 3, size, size]).into())?
            .into_typed()?;
        // Channels-last before decluttering: it then cancels the moves between one convolution
        // and the next, and the 1×1 convolutions are still convolutions for `use_pointwise`.
        if options.nhwc {
            if options.fused_depthwise {
                kernels::use_depthwise_relu6(&mut model)?;
            }
            if options.pointwise {
                kernels::use_im2col(&mut model)?;
            }
            if let Some(nhwc) = tract_onnx::tract_core::transform::get_transform("conv_nhwc")? {
                nhwc.transform(&mut model)?;
            }
            if options.pointwise {
                kernels::use_pointwise(&mut model, kernels::pointwise_is_faster)?;
            }
        }
        let model = model
            .into_decluttered()
            .map_err(|e| ModelError::Prepare(e.into()))?;
        let model = model
            .into_optimized()
            .map_err(|e| ModelError::Optimise(e.into()))?;
        let shape = model
            .output_fact(0)?
            .shape
            .as_concrete()
            .map(|s| s.to_vec())
            .ok_or(ModelError::OutputSize)?;
        let outputs = match shape.as_slice() {
            [1, c, h, w] => Outputs {
                features: Some((0, (*c, *h, *w))),
                embedding: None,
                logits: logits.map(|_| 1),
            },
            [1, _] => Outputs {
                features: None,
                embedding: Some(0),
                logits: logits.map(|_| 1),
            },
            other => return Err(ModelError::OutputShape(other.to_vec())),
        };
        let dim = shape[1];
        let mut hasher = blake3::Hasher::new();
        hasher.update(bytes);
        hasher.update(descriptor.name().as_bytes());
        Ok(Self {
            plan: model.into_runnable()?,
            idle: Default::default(),
            id: *hasher.finalize().as_bytes(),
            dim,
            descriptor,
            outputs,
            builtin: bytes == DEFAULT_MODEL,
        })
    }

    /// The similarity thresholds of the labels, where they were measured (the built-in model).
    pub fn thresholds(&self) -> Option<crate::labels::Thresholds> {
        self.builtin.then_some(match self.descriptor {
            Descriptor::Rmac => crate::labels::RMAC,
            Descriptor::Gap => crate::labels::GAP,
        })
    }

    /// A runner for one thread (keeps its scratch memory between images, and gives it back to
    /// the model when dropped, for the next session).
    pub fn session(&self) -> Result<Session<'_>, ModelError> {
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

    /// The hex form of [`Model::id`], for messages.
    pub fn id_hex(&self) -> String {
        blake3::Hash::from(self.id).to_hex()[..12].to_string()
    }
}

/// One model input as the tensor the plan takes, `[1, 3, size, size]`.
fn model_tensor(input: &[f32]) -> Result<TValue, ModelError> {
    if input.len() != INPUT_LEN {
        return Err(ModelError::InputLength(input.len()));
    }
    let size = INPUT_SIZE as usize;
    Ok(Tensor::from_shape(&[1, 3, size, size], input)?.into_tvalue())
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
    /// The outputs as the model computed them.
    pub fn run(&mut self, input: &[f32]) -> Result<RawOutput, ModelError> {
        let input = model_tensor(input)?;
        let state = self.state.as_mut().expect("a live session has its state");
        let outputs = state.run(tvec!(input))?;
        let floats = |i: usize| -> Result<Vec<f32>, ModelError> {
            Ok(outputs[i].try_as_plain_ram()?.as_slice::<f32>()?.to_vec())
        };
        let out = &self.model.outputs;
        let (features, embedding) = match (out.features, out.embedding) {
            (Some((i, (c, h, w))), _) => {
                let f = floats(i)?;
                let mean = f
                    .chunks_exact(h * w)
                    .map(|p| p.iter().sum::<f32>() / (h * w) as f32)
                    .collect();
                debug_assert_eq!(f.len(), c * h * w);
                (Some(f), mean)
            }
            (None, Some(i)) => (None, floats(i)?),
            (None, None) => unreachable!("a model has a features or an embedding output"),
        };
        let logits = out.logits.map(floats).transpose()?;
        Ok(RawOutput {
            features,
            embedding,
            logits,
        })
    }

    /// One run of the model with each step of tract's plan timed: where the model's time goes,
    /// for the benchmark's `--layers` report. Steps come in plan order, with their outputs' shapes.
    pub fn run_timed(&mut self, input: &[f32]) -> Result<Vec<StepTime>, ModelError> {
        let input = model_tensor(input)?;
        let state = self.state.as_mut().expect("a live session has its state");
        let mut steps = Vec::new();
        state.run_plan_with_eval(tvec!(input), |ctx, op_state, node, inputs| {
            let start = std::time::Instant::now();
            let out = tract_onnx::tract_core::plan::eval(ctx, op_state, node, inputs);
            let seconds = start.elapsed().as_secs_f64();
            let shape = match &out {
                Ok(values) => values
                    .first()
                    .map(|v| v.shape().to_vec())
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            steps.push(StepTime {
                name: node.name.clone(),
                op: node.op().name().to_string(),
                shape,
                seconds,
            });
            out
        })?;
        Ok(steps)
    }

    /// The unit-length descriptor of one model input (see [`crate::embed::to_model_input`]),
    /// so that a dot product is the cosine similarity.
    pub fn embed(&mut self, input: &[f32]) -> Result<Vec<f32>, ModelError> {
        let descriptor = self.model.descriptor;
        Ok(self.describe(input, &[descriptor])?.remove(0))
    }

    /// Several descriptors of one input from a single run (the benchmark compares them).
    pub fn describe(
        &mut self,
        input: &[f32],
        which: &[Descriptor],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let raw = self.run(input)?;
        let shape = self.model.outputs.features.map(|(_, shape)| shape);
        which
            .iter()
            .map(|d| match (d, &raw.features, shape) {
                (Descriptor::Rmac, Some(f), Some((channels, height, width))) => {
                    Ok(rmac::rmac(rmac::Map {
                        data: f,
                        channels,
                        height,
                        width,
                    }))
                }
                (Descriptor::Rmac, _, _) => Err(ModelError::NoFeatures),
                (Descriptor::Gap, _, _) => {
                    let mut v = raw.embedding.clone();
                    normalize(&mut v);
                    Ok(v)
                }
            })
            .collect()
    }

    /// [`Session::embed`] with the matrix products spread over every core: for the one query
    /// a person is waiting for (indexing already keeps every core busy, one image each).
    pub fn embed_now(&mut self, input: &[f32]) -> Result<Vec<f32>, ModelError> {
        use tract_linalg::multithread::{multithread_tract_scope, Executor};
        multithread_tract_scope(Executor::RayonGlobal, || self.embed(input))
    }
}
