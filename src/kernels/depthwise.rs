//! Channels-last (NHWC) depthwise convolution for tract on x86_64, declared to its registry of
//! per-machine routines (`tract_linalg::routines`), where tract 0.23 has none for x86_64: it ran
//! a generic scalar loop, a fifth of the time of a whole index run. This kernel does the same
//! arithmetic in the same order on eight channels at a time, so every output is bit-identical
//! to tract's own loop. tract picks it by itself once it is declared.

/// The name tract's registry knows the channels-last depthwise kernel by.
pub const DEPTHWISE_C_NAME: &str = "photo_sim_x86_64_avx_depthwise_c_f32";

#[cfg(target_arch = "x86_64")]
inventory::submit! {
    tract_linalg::routines::Routine {
        func: tract_linalg::routines::Func::DepthwiseC,
        arch: Some(tract_linalg::isa::Arch::X86_64),
        isa: tract_linalg::isa::IsaReq::ANY.needing(&[tract_linalg::isa::Isa::X86_64Avx]),
        boost: 0,
        round_trip: false,
        factory: tract_linalg::routines::RoutineFactory::DepthwiseCF32 {
            name: DEPTHWISE_C_NAME,
            run: depthwise_c_f32,
        },
    }
}

/// The name of the channels-last depthwise kernel tract runs on this machine, if it has one:
/// ours wherever the CPU has AVX.
pub fn depthwise_c_in_use() -> Option<&'static str> {
    use tract_linalg::routines::{best_for, Func};
    best_for(
        Func::DepthwiseC,
        tract_onnx::prelude::DatumType::F32,
        &tract_linalg::isa::native(),
    )
    .map(|r| r.name())
}

/// `len` output positions of `channels` contiguous channels each (tract's `DepthwiseCF32`
/// contract): point `i`, channel `c` is `bias[c]` plus, tap by tap in order,
/// `kernel[taps[t] * k_stride + c] * input[i * in_stride + offsets[t] + c]`. A multiply then an
/// add, never a fused multiply-add, as in tract's scalar loop.
///
/// # Safety
/// Every address that formula names must be readable (`channels` values from `bias`), `channels`
/// values must be writable from `output + i * out_stride` for each `i < len`, and the CPU must
/// have AVX (the registry only hands this to tract on such a CPU).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[allow(clippy::too_many_arguments)]
unsafe fn depthwise_c_f32(
    input: *const f32,
    output: *mut f32,
    kernel: *const f32,
    taps: &[usize],
    offsets: &[isize],
    bias: *const f32,
    channels: usize,
    k_stride: usize,
    len: usize,
    in_stride: isize,
    out_stride: isize,
) {
    let filter = Filter {
        kernel,
        taps,
        offsets,
        bias,
        channels,
        k_stride,
    };
    let point = |i: usize| {
        (
            input.offset(i as isize * in_stride),
            output.offset(i as isize * out_stride),
        )
    };
    let mut i = 0;
    while i + POINTS <= len {
        points_at_once(
            [point(i), point(i + 1), point(i + 2), point(i + 3)],
            &filter,
        );
        i += POINTS;
    }
    for i in i..len {
        points_at_once([point(i)], &filter);
    }
}

/// What every output position of one call shares: the weights (tap `t`, channel `c` at
/// `kernel[taps[t] * k_stride + c]`), where each tap reads (`offsets`), the bias, the channels.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Filter<'a> {
    kernel: *const f32,
    taps: &'a [usize],
    offsets: &'a [isize],
    bias: *const f32,
    channels: usize,
    k_stride: usize,
}

#[cfg(target_arch = "x86_64")]
impl Filter<'_> {
    /// Tap `t`'s weights from channel `c` on.
    unsafe fn weights(&self, t: usize, c: usize) -> *const f32 {
        self.kernel.add(t * self.k_stride + c)
    }
}

/// Output positions computed together: each weight loaded once serves all of them, which is
/// what bounds this kernel (two loads per multiply-add otherwise).
#[cfg(target_arch = "x86_64")]
const POINTS: usize = 4;

/// `P` output positions (input, output pointers), all channels: sixteen channels at a time, then
/// eight, then one.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
unsafe fn points_at_once<const P: usize>(points: [(*const f32, *mut f32); P], filter: &Filter) {
    use std::arch::x86_64::*;
    let mut c = 0;
    while c + 16 <= filter.channels {
        let (b0, b1) = (
            _mm256_loadu_ps(filter.bias.add(c)),
            _mm256_loadu_ps(filter.bias.add(c + 8)),
        );
        let mut acc = [[b0, b1]; P];
        for (&t, &off) in filter.taps.iter().zip(filter.offsets) {
            let w = filter.weights(t, c);
            let (w0, w1) = (_mm256_loadu_ps(w), _mm256_loadu_ps(w.add(8)));
            for (a, &(x, _)) in acc.iter_mut().zip(&points) {
                let x = x.offset(off).add(c);
                a[0] = _mm256_add_ps(a[0], _mm256_mul_ps(w0, _mm256_loadu_ps(x)));
                a[1] = _mm256_add_ps(a[1], _mm256_mul_ps(w1, _mm256_loadu_ps(x.add(8))));
            }
        }
        for (a, &(_, y)) in acc.iter().zip(&points) {
            _mm256_storeu_ps(y.add(c), a[0]);
            _mm256_storeu_ps(y.add(c + 8), a[1]);
        }
        c += 16;
    }
    while c + 8 <= filter.channels {
        let mut acc = [_mm256_loadu_ps(filter.bias.add(c)); P];
        for (&t, &off) in filter.taps.iter().zip(filter.offsets) {
            let w = _mm256_loadu_ps(filter.weights(t, c));
            for (a, &(x, _)) in acc.iter_mut().zip(&points) {
                *a = _mm256_add_ps(*a, _mm256_mul_ps(w, _mm256_loadu_ps(x.offset(off).add(c))));
            }
        }
        for (a, &(_, y)) in acc.iter().zip(&points) {
            _mm256_storeu_ps(y.add(c), *a);
        }
        c += 8;
    }
    for c in c..filter.channels {
        for &(x, y) in &points {
            let mut sum = *filter.bias.add(c);
            for (&t, &off) in filter.taps.iter().zip(filter.offsets) {
                sum += *filter.weights(t, c) * *x.offset(off).add(c);
            }
            *y.add(c) = sum;
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::kernels::test_values as values;

    #[test]
    fn the_avx_depthwise_kernel_equals_the_scalar_loop_bit_for_bit() {
        if !std::arch::is_x86_feature_detected!("avx") {
            return;
        }
        // 3×3 taps over an NHWC image 6 wide; channel counts cover the 32-, 8- and 1-wide paths,
        // and a kernel stride wider than the channels run (a block of a larger tensor).
        for channels in [1, 7, 8, 16, 37, 96, 144] {
            let k_stride = channels + 3;
            let width = 6isize;
            let row = width * k_stride as isize;
            let input = values(row as usize * 8 + 64, channels as u32);
            let kernel = values(9 * k_stride, 7 + channels as u32);
            let bias = values(channels, 11);
            let taps: Vec<usize> = (0..9).collect();
            let offsets: Vec<isize> = (0..9)
                .map(|t| (t / 3) as isize * row + (t % 3) as isize * k_stride as isize)
                .collect();
            let (len, in_stride, out_stride) = (7usize, 2 * k_stride as isize, channels as isize);
            let mut ours = vec![f32::NAN; len * channels];
            unsafe {
                depthwise_c_f32(
                    input.as_ptr(),
                    ours.as_mut_ptr(),
                    kernel.as_ptr(),
                    &taps,
                    &offsets,
                    bias.as_ptr(),
                    channels,
                    k_stride,
                    len,
                    in_stride,
                    out_stride,
                )
            };
            for i in 0..len {
                for c in 0..channels {
                    let mut sum = bias[c];
                    for (&t, &off) in taps.iter().zip(&offsets) {
                        let x = input[(i as isize * in_stride + off) as usize + c];
                        sum += kernel[t * k_stride + c] * x;
                    }
                    assert_eq!(
                        ours[i * channels + c].to_bits(),
                        sum.to_bits(),
                        "channels {channels}, point {i}, channel {c}"
                    );
                }
            }
        }
    }

    #[test]
    fn tract_runs_this_kernel_on_a_cpu_with_avx() {
        if std::arch::is_x86_feature_detected!("avx") {
            assert_eq!(depthwise_c_in_use(), Some(DEPTHWISE_C_NAME));
        }
    }
}
