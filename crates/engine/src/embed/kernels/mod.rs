//! What this crate adds to tract, where tract 0.23's own code is missing or slow for this
//! model. Operations of ours, put into the model's graph in place of tract's when it loads
//! (the way they are put in: `graph.rs`): the 1×1 convolutions (`pointwise.rs`), each
//! depthwise convolution with its ReLU6 (`depthwise_relu6.rs`) and the stem (`im2col.rs`).
//! And kernels declared to tract's registries on x86_64 (the `inventory` collections of
//! `tract_linalg`), which tract runs through its own plans: a channels-last depthwise
//! convolution (`depthwise.rs`, which `depthwise_relu6.rs` calls too) and an f32
//! matrix-product tile that writes rows whole (`matmul.rs`). All compute every output with
//! the same operations in the same order as the code they replace.

mod depthwise;
mod depthwise_relu6;
mod graph;
mod im2col;
mod matmul;
mod pointwise;

pub use depthwise::depthwise_c_in_use;
pub use depthwise_relu6::{use_depthwise_relu6, DepthwiseRelu6};
pub use im2col::{use_im2col, Im2colPointwise};
pub use matmul::tile_for;
pub use pointwise::{pointwise_is_faster, use_pointwise, Pointwise};

/// Floats compared by their bits (tract compares operations to merge equal nodes), shown by
/// their count (tract prints operations in its errors).
#[derive(Clone)]
pub(crate) struct Floats(pub(crate) std::sync::Arc<[f32]>);

impl PartialEq for Floats {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(other.0.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Eq for Floats {}

impl std::fmt::Debug for Floats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} floats", self.0.len())
    }
}

/// Runs `work` on the threads of tract's executor when the caller asked for them (a query a
/// person waits for: `Session::embed_now`), and says whether it did. Indexing runs one photo
/// per core, each on its own thread, and gets `false`.
pub(crate) fn on_tract_threads(work: impl FnOnce() + Send) -> bool {
    use tract_linalg::multithread::{current_tract_executor, Executor};
    match current_tract_executor() {
        Executor::MultiThread(pool) => {
            pool.install(work);
            true
        }
        Executor::RayonGlobal => {
            work();
            true
        }
        Executor::SingleThread => false,
    }
}

/// ReLU6 of one float as the model's graph computes it: max with 0, then min with 6. Not
/// `clamp`: like the vector max and min of the kernels, this turns a NaN into 0.
#[allow(clippy::manual_clamp)]
pub(crate) fn relu6(x: f32) -> f32 {
    x.max(0.0).min(6.0)
}

/// Varied, reproducible test values in [-1, 1] (an xorshift stream): the kernels' tests need
/// many different numbers, not randomness.
#[cfg(test)]
pub(crate) fn test_values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// For a test of a kernel that needs an instruction set: whether this CPU has it, saying on
/// stderr when it does not, so the test reads as skipped rather than passed.
#[cfg(test)]
pub(crate) fn cpu_runs(has: bool, features: &str) -> bool {
    if !has {
        eprintln!("skipped: this CPU has no {features}");
    }
    has
}
