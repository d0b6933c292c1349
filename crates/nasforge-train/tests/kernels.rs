//! Our CPU kernels (`nasforge_train::kernels`) against burn's own operations: same outputs, same gradients,
//! same running statistics.

use burn::module::Module;
use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2dConfig, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Distribution, Tensor};
use nasforge_train::kernels;

struct Case {
    batch: usize,
    c_in: usize,
    c_out: usize,
    size: [usize; 2],
    kernel: [usize; 2],
    stride: usize,
    padding: [usize; 2],
    bias: bool,
}

fn layer(case: &Case, device: &Device) -> Conv2d {
    let [ph, pw] = case.padding;
    Conv2dConfig::new([case.c_in, case.c_out], case.kernel)
        .with_stride([case.stride, case.stride])
        .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
        .with_bias(case.bias)
        .init(device)
}

fn max_difference(a: Tensor<4>, b: Tensor<4>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

/// Output, input gradient and weight gradient of `forward` on `x` with a fixed upstream gradient `upstream`.
fn run(
    conv: &Conv2d,
    x: &Tensor<4>,
    upstream: &Tensor<4>,
    forward: impl Fn(&Conv2d, Tensor<4>) -> Tensor<4>,
) -> [Tensor<4>; 3] {
    let x = x.clone().require_grad();
    let conv = Conv2d { weight: Param::from_tensor(conv.weight.val().detach().require_grad()), ..conv.clone() };
    let out = forward(&conv, x.clone());
    let grads = (out.clone() * upstream.clone()).sum().backward();
    let dx = x.grad(&grads).expect("input gradient");
    let dw = conv.weight.val().grad(&grads).expect("weight gradient");
    [out.inner(), dx, dw]
}

/// Our convolution's output, input gradient and weight gradient on `x` equal burn's (up to 1e-4), for one
/// random upstream gradient.
fn assert_matches_burn(conv: &Conv2d, x: &Tensor<4>, what: &str) {
    let upstream = Tensor::<4>::random(conv.forward(x.clone()).shape(), Distribution::Normal(0.0, 1.0), &x.device());
    let reference = run(conv, x, &upstream, |c, x| c.forward(x));
    let ours = run(conv, x, &upstream, kernels::conv2d);
    for (part, (a, b)) in ["output", "input gradient", "weight gradient"].iter().zip(ours.into_iter().zip(reference)) {
        assert_eq!(a.dims(), b.dims(), "{what}: {part} shape");
        let difference = max_difference(a, b);
        assert!(difference < 1e-4, "{what}: the {part} differs from burn's by {difference}");
    }
}

#[test]
fn our_convolution_matches_burns_outputs_and_gradients() {
    let device = Device::flex().autodiff();
    device.seed(7);
    let cases = [
        Case { batch: 3, c_in: 4, c_out: 5, size: [9, 9], kernel: [3, 3], stride: 1, padding: [1, 1], bias: false },
        Case { batch: 5, c_in: 3, c_out: 8, size: [11, 8], kernel: [3, 3], stride: 2, padding: [1, 1], bias: false },
        Case { batch: 2, c_in: 6, c_out: 4, size: [7, 7], kernel: [1, 1], stride: 1, padding: [0, 0], bias: true },
        Case { batch: 4, c_in: 6, c_out: 4, size: [8, 8], kernel: [1, 1], stride: 2, padding: [0, 0], bias: false },
        Case { batch: 2, c_in: 2, c_out: 3, size: [10, 6], kernel: [5, 3], stride: 1, padding: [2, 0], bias: true },
        Case { batch: 1, c_in: 3, c_out: 2, size: [6, 6], kernel: [3, 3], stride: 3, padding: [0, 0], bias: false },
        Case { batch: 7, c_in: 16, c_out: 16, size: [16, 16], kernel: [3, 3], stride: 1, padding: [1, 1], bias: false },
    ];
    for (index, case) in cases.iter().enumerate() {
        let conv = layer(case, &device);
        let x = Tensor::<4>::random(
            [case.batch, case.c_in, case.size[0], case.size[1]],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        assert_matches_burn(&conv, &x, &format!("case {index}"));
    }
}

#[test]
fn convolutions_on_planes_smaller_than_their_kernel_match_burns() {
    // "Same" convolutions (3×3, 5×5, 7×7, and 3×3 of dilation 2) after pools have shrunk the plane to 1×1,
    // 2×2 or 3×3: most taps fall in the padding. One image on plain tensors (inference), then two with
    // gradients.
    let device = Device::flex().autodiff();
    device.seed(11);
    for (kernel, dilation) in [(3, 1), (5, 1), (7, 1), (3, 2)] {
        let padding = dilation * (kernel - 1) / 2;
        let layer = |device: &Device| {
            Conv2dConfig::new([2, 3], [kernel, kernel])
                .with_dilation([dilation, dilation])
                .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
                .with_bias(false)
                .init(device)
        };
        for size in [1, 2, 3, 5] {
            let what = format!("{kernel}×{kernel} of dilation {dilation} on {size}×{size}");
            let plain = layer(&Device::flex());
            let x = Tensor::<4>::random([1, 2, size, size], Distribution::Normal(0.0, 1.0), &Device::flex());
            let difference = max_difference(kernels::conv2d(&plain, x.clone()), plain.forward(x));
            assert!(difference < 1e-4, "{what}: the output differs from burn's by {difference}");
            let conv = layer(&device);
            let x = Tensor::<4>::random([2, 2, size, size], Distribution::Normal(0.0, 1.0), &device);
            assert_matches_burn(&conv, &x, &what);
        }
    }
}

/// Depthwise convolutions (one filter per channel) through our depthwise kernel: kernels 3, 5 and 7, strides 1
/// and 2, odd and even sizes, with and without bias.
#[test]
fn our_depthwise_convolution_matches_burns_grouped_one() {
    let device = Device::flex().autodiff();
    device.seed(11);
    for (index, (channels, kernel, stride, size, bias)) in
        [(6, 3, 1, 9, false), (6, 5, 2, 9, true), (4, 7, 1, 6, false), (8, 3, 2, 8, false), (3, 5, 1, 4, true)]
            .into_iter()
            // Images smaller than the kernel: some taps read nothing but padding.
            .chain([(3, 7, 2, 2, false), (2, 5, 1, 1, false), (4, 7, 1, 3, true)])
            .enumerate()
    {
        let pad = (kernel - 1) / 2;
        let conv = Conv2dConfig::new([channels, channels], [kernel, kernel])
            .with_groups(channels)
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(bias)
            .init(&device);
        let x = Tensor::<4>::random([3, channels, size, size], Distribution::Normal(0.0, 1.0), &device);
        assert_matches_burn(&conv, &x, &format!("case {index}"));
    }
}

#[test]
fn convolutions_without_gradients_and_on_plain_tensors_match_too() {
    let device = Device::flex();
    let case =
        Case { batch: 2, c_in: 3, c_out: 4, size: [5, 5], kernel: [3, 3], stride: 1, padding: [1, 1], bias: true };
    let conv = layer(&case, &device);
    let x = Tensor::<4>::random([2, 3, 5, 5], Distribution::Uniform(-1.0, 1.0), &device);
    let difference = max_difference(kernels::conv2d(&conv, x.clone()), conv.forward(x.clone()));
    assert!(difference < 1e-5, "plain tensors differ by {difference}");
    // A non-contiguous input (a transposed view) gives the same result as its contiguous copy.
    let transposed = x.clone().swap_dims(2, 3);
    let difference = max_difference(kernels::conv2d(&conv, transposed.clone()), conv.forward(transposed));
    assert!(difference < 1e-5, "a transposed input differs by {difference}");
}

fn max_difference_1d(a: Tensor<1>, b: Tensor<1>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

/// Output, input gradient, γ and β gradients of `forward` through a fresh copy of `norm`, and the copy's
/// running mean and variance afterwards.
fn run_norm(
    norm: &BatchNorm,
    x: &Tensor<4>,
    upstream: &Tensor<4>,
    forward: impl Fn(&BatchNorm, Tensor<4>) -> Tensor<4>,
) -> (Tensor<4>, Tensor<4>, [Tensor<1>; 4]) {
    let device = x.device();
    let norm = BatchNormConfig::new(norm.gamma.dims()[0]).init(&device).load_record(norm.clone().into_record());
    let x = x.clone().require_grad();
    let out = forward(&norm, x.clone());
    let grads = (out.clone() * upstream.clone()).sum().backward();
    let per_channel = [
        norm.gamma.val().grad(&grads).expect("gamma gradient"),
        norm.beta.val().grad(&grads).expect("beta gradient"),
        norm.running_mean.value_sync().inner(),
        norm.running_var.value_sync().inner(),
    ];
    (out.inner(), x.grad(&grads).expect("input gradient"), per_channel)
}

#[test]
fn our_batch_norm_matches_burns_outputs_gradients_and_running_statistics() {
    let device = Device::flex().autodiff();
    device.seed(11);
    for (index, shape) in [[4, 3, 5, 5], [2, 8, 7, 3], [16, 16, 8, 8], [3, 2, 1, 1]].into_iter().enumerate() {
        let channels = shape[1];
        let mut norm = BatchNormConfig::new(channels).init(&device);
        // Non-trivial γ and β, so that their gradients and the input gradient's scale are exercised.
        norm.gamma = Param::from_tensor(Tensor::random([channels], Distribution::Uniform(0.5, 1.5), &device));
        norm.beta = Param::from_tensor(Tensor::random([channels], Distribution::Uniform(-0.5, 0.5), &device));
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.7, 2.0), &device);
        let upstream = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let (out_a, dx_a, per_channel_a) = run_norm(&norm, &x, &upstream, kernels::batch_norm);
        let (out_b, dx_b, per_channel_b) = run_norm(&norm, &x, &upstream, |n, x| n.forward(x));
        let difference = max_difference(out_a, out_b);
        assert!(difference < 1e-4, "shape {index}: output differs from burn's by {difference}");
        let difference = max_difference(dx_a, dx_b);
        assert!(difference < 1e-4, "shape {index}: input gradient differs from burn's by {difference}");
        let names = ["gamma gradient", "beta gradient", "running mean", "running variance"];
        for (what, (a, b)) in names.iter().zip(per_channel_a.into_iter().zip(per_channel_b)) {
            let difference = max_difference_1d(a, b);
            assert!(difference < 1e-3, "shape {index}: {what} differs from burn's by {difference}");
        }
    }
}

/// Output and input gradient of `forward` on `x` with a fixed upstream gradient.
fn run_pool(
    x: &Tensor<4>,
    upstream: impl Fn(&Tensor<4>) -> Tensor<4>,
    forward: impl Fn(Tensor<4>) -> Tensor<4>,
) -> [Tensor<4>; 2] {
    let x = x.clone().require_grad();
    let out = forward(x.clone());
    let grads = (out.clone() * upstream(&out)).sum().backward();
    [out.inner(), x.grad(&grads).expect("input gradient")]
}

#[test]
fn our_pooling_matches_burns_outputs_and_gradients() {
    let device = Device::flex().autodiff();
    device.seed(5);
    // (input shape, kernel, stride, padding, ceil mode)
    let cases = [
        ([3, 4, 8, 8], 2, 2, 0, false),
        ([2, 3, 9, 7], 3, 2, 1, false),
        ([2, 5, 7, 7], 3, 1, 1, false),
        ([1, 2, 14, 14], 2, 2, 0, true),
        ([2, 2, 6, 10], 3, 3, 0, false),
    ];
    for (index, (shape, k, s, p, ceil)) in cases.into_iter().enumerate() {
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let [_, _, h, w] = shape;
        let out_shape = [shape[0], shape[1], (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1];
        let upstream_values = Tensor::<4>::random(out_shape, Distribution::Normal(0.0, 1.0), &device);
        let upstream = |out: &Tensor<4>| {
            assert_eq!(out.dims(), out_shape, "case {index}: output shape");
            upstream_values.clone()
        };
        let padding = PaddingConfig2d::Explicit(p, p, p, p);
        let max =
            MaxPool2dConfig::new([k, k]).with_strides([s, s]).with_padding(padding.clone()).with_ceil_mode(ceil).init();
        let ours = run_pool(&x, upstream, |x| kernels::max_pool2d(&max, x));
        let reference = run_pool(&x, upstream, |x| max.forward(x));
        for (what, (a, b)) in ["max output", "max input gradient"].iter().zip(ours.into_iter().zip(reference)) {
            let difference = max_difference(a, b);
            assert!(difference < 1e-5, "case {index}: {what} differs from burn's by {difference}");
        }
        for count_include_pad in [false, true] {
            let avg = AvgPool2dConfig::new([k, k])
                .with_strides([s, s])
                .with_padding(padding.clone())
                .with_ceil_mode(ceil)
                .with_count_include_pad(count_include_pad)
                .init();
            let ours = run_pool(&x, upstream, |x| kernels::avg_pool2d(&avg, x));
            let reference = run_pool(&x, upstream, |x| avg.forward(x));
            for (what, (a, b)) in
                ["average output", "average input gradient"].iter().zip(ours.into_iter().zip(reference))
            {
                let difference = max_difference(a, b);
                assert!(
                    difference < 1e-5,
                    "case {index} (count_include_pad {count_include_pad}): {what} differs from burn's by {difference}"
                );
            }
        }
    }
}

#[test]
fn max_pooling_propagates_nan_like_burn() {
    let device = Device::flex();
    let mut values = vec![0.5f32; 16];
    values[5] = f32::NAN; // row 1, column 1: inside the top-left 2×2 window only
    values[10] = 2.0;
    let x = Tensor::<1>::from_floats(values.as_slice(), &device).reshape([1, 1, 4, 4]);
    let pool = MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init();
    let windows = |out: Tensor<4>| out.into_data().try_to_vec::<f32>().expect("f32 output");
    let ours = windows(kernels::max_pool2d(&pool, x.clone()));
    let reference = windows(pool.forward(x));
    assert!(ours[0].is_nan(), "the window holding the NaN gives NaN: {ours:?}");
    assert_eq!(ours[1..], [0.5, 0.5, 2.0], "windows without a NaN keep their maximum");
    assert_eq!(
        ours.iter().map(|v| v.is_nan()).collect::<Vec<_>>(),
        reference.iter().map(|v| v.is_nan()).collect::<Vec<_>>()
    );
}
