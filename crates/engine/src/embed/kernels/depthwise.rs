//! Channels-last (NHWC) depthwise convolution for tract on x86_64, declared to its registry of
//! per-machine routines (`tract_linalg::routines`), where tract 0.23 has none for x86_64: it ran
//! a generic scalar loop, a fifth of the time of a whole index run. These kernels do the same
//! arithmetic in the same order on eight channels at a time (AVX) or sixteen (AVX-512), so every
//! output is bit-identical to tract's own loop. tract picks the widest the CPU has by itself. On
//! an AVX-512 EPYC the wider kernel took the depthwise share of an index run from 10.5 % to 9 %.

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
            run: depthwise_c_f32::<false>,
        },
    }
}

/// The name of the AVX-512 version, which tract's registry ranks above the AVX one on a CPU
/// that has both.
pub const DEPTHWISE_C_512_NAME: &str = "photo_sim_x86_64_avx512_depthwise_c_f32";

#[cfg(target_arch = "x86_64")]
inventory::submit! {
    tract_linalg::routines::Routine {
        func: tract_linalg::routines::Func::DepthwiseC,
        arch: Some(tract_linalg::isa::Arch::X86_64),
        isa: tract_linalg::isa::IsaReq::ANY.needing(&[tract_linalg::isa::Isa::X86_64Avx512f]),
        boost: 0,
        round_trip: false,
        factory: tract_linalg::routines::RoutineFactory::DepthwiseCF32 {
            name: DEPTHWISE_C_512_NAME,
            run: depthwise_c_f32_512::<false>,
        },
    }
}

/// The name of the channels-last depthwise kernel tract runs on this machine, if it has one:
/// ours wherever the CPU has AVX (the AVX-512 one where it has that).
pub fn depthwise_c_in_use() -> Option<&'static str> {
    use tract_linalg::routines::{best_for, Func};
    best_for(
        Func::DepthwiseC,
        tract_onnx::prelude::DatumType::F32,
        &tract_linalg::isa::native(),
    )
    .map(|r| r.name())
}

/// tract's `DepthwiseCF32` signature: input, output, kernel, taps, offsets, bias, channels,
/// kernel stride, positions, input stride, output stride (see `depthwise_entry!`).
pub(super) type Kernel = unsafe fn(
    *const f32,
    *mut f32,
    *const f32,
    &[usize],
    &[isize],
    *const f32,
    usize,
    usize,
    usize,
    isize,
    isize,
);

/// The widest kernel this CPU has with ReLU6 applied before each store (for
/// `DepthwiseRelu6`): the scalar loop where it has no AVX.
pub(super) fn relu6_kernel() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return depthwise_c_f32_512::<true>;
        }
        if std::arch::is_x86_feature_detected!("avx") {
            return depthwise_c_f32::<true>;
        }
    }
    points_scalar::<true>
}

/// The kernels' arithmetic one float at a time, for CPUs without AVX: the same contract, and
/// the same bias, products and sums in the same order as tract's own loop.
///
/// # Safety
/// As for the kernels: every address the formula names must be in bounds.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn points_scalar<const RELU6: bool>(
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
    for i in 0..len as isize {
        for c in 0..channels {
            // SAFETY: the caller keeps every named address in bounds (# Safety above).
            unsafe {
                let x = input.offset(i * in_stride).add(c);
                let mut sum = *bias.add(c);
                for (&t, &off) in taps.iter().zip(offsets) {
                    sum += *kernel.add(t * k_stride + c) * *x.offset(off);
                }
                *output.offset(i * out_stride).add(c) = if RELU6 { super::relu6(sum) } else { sum };
            }
        }
    }
}

/// Defines a function with tract's `DepthwiseCF32` signature, compiled for `$feature`, that
/// computes its output positions `POINTS` at a time with `$points`.
macro_rules! depthwise_entry {
    ($(#[$doc:meta])* $name:ident, $feature:literal, $points:ident) => {
        $(#[$doc])*
        ///
        /// `len` output positions of `channels` contiguous channels each (tract's
        /// `DepthwiseCF32` contract): point `i`, channel `c` is `bias[c]` plus, tap by tap in
        /// order, `kernel[taps[t] * k_stride + c] * input[i * in_stride + offsets[t] + c]`. A
        /// multiply then an add, never a fused multiply-add, as in tract's scalar loop. With
        /// `RELU6`, each sum then goes through max 0 and min 6, as the graph's ReLU6 does.
        ///
        /// # Safety
        /// Every address that formula names must be readable (`channels` values from `bias`),
        /// `channels` values must be writable from `output + i * out_stride` for each
        /// `i < len`, and the CPU must have the instruction set named (the registry only hands
        /// this to tract on such a CPU).
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $name<const RELU6: bool>(
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
            // SAFETY: the caller keeps the contract under # Safety above: every address the
            // formula names is in bounds, and the CPU has the instruction set named.
            unsafe {
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
                $points::<POINTS, RELU6>(
                    [point(i), point(i + 1), point(i + 2), point(i + 3)],
                    &filter,
                );
                i += POINTS;
            }
            // The last one to three together: a zone of tract's patch is often that short
            // (the borders of each row, the 3-wide middle of a 7-wide image).
            match len - i {
                3 => $points::<3, RELU6>([point(i), point(i + 1), point(i + 2)], &filter),
                2 => $points::<2, RELU6>([point(i), point(i + 1)], &filter),
                1 => $points::<1, RELU6>([point(i)], &filter),
                _ => {}
            }
            }
        }
    };
}

depthwise_entry!(
    /// The AVX kernel: sixteen channels at a time, then eight, then one.
    depthwise_c_f32,
    "avx",
    points_at_once
);

depthwise_entry!(
    /// The AVX-512 kernel: thirty-two channels at a time, then sixteen, then as the AVX one.
    depthwise_c_f32_512,
    "avx512f",
    points_at_once_512
);

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
        // SAFETY: `t` is a tap and `c` a channel of this filter, whose weights tract lays
        // out `k_stride` apart: the address is inside the kernel tensor.
        unsafe { self.kernel.add(t * self.k_stride + c) }
    }
}

/// Output positions computed together: each weight loaded once serves all of them, which is
/// what bounds this kernel (two loads per multiply-add otherwise).
#[cfg(target_arch = "x86_64")]
const POINTS: usize = 4;

/// An output position: where its input window starts and where its output goes.
#[cfg(target_arch = "x86_64")]
type Point = (*const f32, *mut f32);

/// `P` output positions, all channels, with AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
unsafe fn points_at_once<const P: usize, const RELU6: bool>(points: [Point; P], filter: &Filter) {
    // SAFETY: the points and the filter are in bounds (the entry point's contract),
    // and only the AVX entry point calls this, on a CPU with AVX.
    unsafe { points_from::<P, RELU6>(points, filter, 0) }
}

/// Channels from `$c` on, two vectors of `$lanes` at a time, then one, for as long as they fill
/// them, with one vector width's load, store, add and multiply; leaves `$c` at the first
/// channel not done. A macro, not a generic function, so each use compiles to its caller's
/// instruction set with the intrinsics inlined.
#[cfg(target_arch = "x86_64")]
macro_rules! channel_blocks {
    ($c:ident, $points:ident, $filter:ident, $lanes:literal,
     $load:ident, $store:ident, $add:ident, $mul:ident, $max:ident, $min:ident, $set1:ident) => {
        // For ReLU6 as the graph computes it: max with 0, then min with 6.
        let (zero, six) = ($set1(0.0), $set1(6.0));
        while $c + 2 * $lanes <= $filter.channels {
            let (b0, b1) = (
                $load($filter.bias.add($c)),
                $load($filter.bias.add($c + $lanes)),
            );
            let mut acc = [[b0, b1]; P];
            for (&t, &off) in $filter.taps.iter().zip($filter.offsets) {
                let w = $filter.weights(t, $c);
                let (w0, w1) = ($load(w), $load(w.add($lanes)));
                for (a, &(x, _)) in acc.iter_mut().zip(&$points) {
                    let x = x.offset(off).add($c);
                    a[0] = $add(a[0], $mul(w0, $load(x)));
                    a[1] = $add(a[1], $mul(w1, $load(x.add($lanes))));
                }
            }
            for (a, &(_, y)) in acc.iter().zip(&$points) {
                let (y0, y1) = if RELU6 {
                    ($min($max(a[0], zero), six), $min($max(a[1], zero), six))
                } else {
                    (a[0], a[1])
                };
                $store(y.add($c), y0);
                $store(y.add($c + $lanes), y1);
            }
            $c += 2 * $lanes;
        }
        while $c + $lanes <= $filter.channels {
            let mut acc = [$load($filter.bias.add($c)); P];
            for (&t, &off) in $filter.taps.iter().zip($filter.offsets) {
                let w = $load($filter.weights(t, $c));
                for (a, &(x, _)) in acc.iter_mut().zip(&$points) {
                    *a = $add(*a, $mul(w, $load(x.offset(off).add($c))));
                }
            }
            for (a, &(_, y)) in acc.iter().zip(&$points) {
                $store(
                    y.add($c),
                    if RELU6 { $min($max(*a, zero), six) } else { *a },
                );
            }
            $c += $lanes;
        }
    };
}

/// `P` output positions, all channels, with AVX-512 as far as it goes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn points_at_once_512<const P: usize, const RELU6: bool>(
    points: [Point; P],
    filter: &Filter,
) {
    // SAFETY: the points and the filter are in bounds (the entry point's contract),
    // and only the AVX-512 entry point calls this, on a CPU with AVX-512F.
    unsafe {
        use std::arch::x86_64::*;
        let mut c = 0;
        channel_blocks!(
            c,
            points,
            filter,
            16,
            _mm512_loadu_ps,
            _mm512_storeu_ps,
            _mm512_add_ps,
            _mm512_mul_ps,
            _mm512_max_ps,
            _mm512_min_ps,
            _mm512_set1_ps
        );
        points_from::<P, RELU6>(points, filter, c)
    }
}

/// `P` output positions, channels `from..`: sixteen at a time with AVX, then eight, then one.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
unsafe fn points_from<const P: usize, const RELU6: bool>(
    points: [Point; P],
    filter: &Filter,
    from: usize,
) {
    // SAFETY: the points and the filter are in bounds (the entry point's contract),
    // and both entry points run on CPUs with AVX (AVX-512F implies it).
    unsafe {
        use std::arch::x86_64::*;
        let mut c = from;
        channel_blocks!(
            c,
            points,
            filter,
            8,
            _mm256_loadu_ps,
            _mm256_storeu_ps,
            _mm256_add_ps,
            _mm256_mul_ps,
            _mm256_max_ps,
            _mm256_min_ps,
            _mm256_set1_ps
        );
        for c in c..filter.channels {
            for &(x, y) in &points {
                let mut sum = *filter.bias.add(c);
                for (&t, &off) in filter.taps.iter().zip(filter.offsets) {
                    sum += *filter.weights(t, c) * *x.offset(off).add(c);
                }
                *y.add(c) = if RELU6 { super::relu6(sum) } else { sum };
            }
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::embed::kernels::{cpu_runs, test_values as values};

    /// Checks `kernel` against tract's scalar loop, bit for bit: 3×3 taps over an NHWC image 6
    /// wide, for 5 to 7 positions; channel counts cover the 32-, 16-, 8- and 1-wide paths, and
    /// a kernel stride wider than the channels run (a block of a larger tensor). With `relu6`,
    /// the bias is wide enough for sums on both sides of [0, 6], and each sum is then clamped.
    fn equals_the_scalar_loop_bit_for_bit(kernel_fn: Kernel, relu6: bool) {
        for channels in [1, 7, 8, 16, 24, 37, 96, 144, 240] {
            let k_stride = channels + 3;
            let width = 6isize;
            let row = width * k_stride as isize;
            let input = values(row as usize * 8 + 64, channels as u32);
            let kernel = values(9 * k_stride, 7 + channels as u32);
            let spread = if relu6 { 8.0 } else { 1.0 };
            let bias: Vec<f32> = values(channels, 11).iter().map(|b| b * spread).collect();
            let taps: Vec<usize> = (0..9).collect();
            let offsets: Vec<isize> = (0..9)
                .map(|t| (t / 3) as isize * row + (t % 3) as isize * k_stride as isize)
                .collect();
            // 7, 6 and 5 positions: four together, then the last three, two or one.
            for len in [7usize, 6, 5] {
                let (in_stride, out_stride) = (2 * k_stride as isize, channels as isize);
                let mut ours = vec![f32::NAN; len * channels];
                // SAFETY: the buffers hold every position, tap and channel the call names, and
                // the caller checked that the CPU has the kernel's instruction set.
                unsafe {
                    kernel_fn(
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
                        if relu6 {
                            sum = crate::embed::kernels::relu6(sum);
                        }
                        assert_eq!(
                            ours[i * channels + c].to_bits(),
                            sum.to_bits(),
                            "channels {channels}, {len} points, point {i}, channel {c}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_avx_depthwise_kernel_equals_the_scalar_loop_bit_for_bit() {
        if cpu_runs(std::arch::is_x86_feature_detected!("avx"), "AVX") {
            equals_the_scalar_loop_bit_for_bit(depthwise_c_f32::<false>, false);
            equals_the_scalar_loop_bit_for_bit(depthwise_c_f32::<true>, true);
        }
    }

    #[test]
    fn the_scalar_fallback_keeps_the_kernels_contract_bit_for_bit() {
        equals_the_scalar_loop_bit_for_bit(points_scalar::<false>, false);
        equals_the_scalar_loop_bit_for_bit(points_scalar::<true>, true);
    }

    #[test]
    fn the_avx512_depthwise_kernel_equals_the_scalar_loop_bit_for_bit() {
        if cpu_runs(std::arch::is_x86_feature_detected!("avx512f"), "AVX-512F") {
            equals_the_scalar_loop_bit_for_bit(depthwise_c_f32_512::<false>, false);
            equals_the_scalar_loop_bit_for_bit(depthwise_c_f32_512::<true>, true);
        }
    }

    #[test]
    fn tract_runs_the_widest_of_these_kernels_the_cpu_has() {
        let expected = if std::arch::is_x86_feature_detected!("avx512f") {
            Some(DEPTHWISE_C_512_NAME)
        } else if std::arch::is_x86_feature_detected!("avx") {
            Some(DEPTHWISE_C_NAME)
        } else {
            None
        };
        if expected.is_some() {
            assert_eq!(depthwise_c_in_use(), expected);
        }
    }
}
