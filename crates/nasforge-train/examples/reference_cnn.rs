//! Training throughput of the reference CNN on burn's CPU backend (`flex`).
//!
//! The network: conv3×3 3→16, 16→16, maxpool, 16→32, 32→32, maxpool, 32→64, 64→64 (each conv + BN + ReLU),
//! global average pooling, linear 10; random 64×3×32×32 batches, SGD with momentum 0.9, cross-entropy.
//!
//! ```text
//! cargo run --release -p nasforge-train --example reference_cnn -- [--threads 2] [--batch 64] [--steps 30] [--device cpu]
//! ```
//! Convolutions, batch norm and max pooling run on our kernels (`nasforge_train::kernels`); `--burn-ops` uses burn's own.
//! `--system-allocator` keeps glibc's default allocator settings (see `nasforge_train::reuse_freed_memory`).
//! Prints images per second over the timed steps (after warm-up).

use std::time::Instant;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData, activation};
use nasforge_train::{DeviceChoice, kernels};

#[derive(Module, Debug)]
struct ConvBnRelu {
    conv: Conv2d,
    bn: BatchNorm,
}

impl ConvBnRelu {
    fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        ConvBnRelu {
            conv: Conv2dConfig::new([c_in, c_out], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(c_out).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>, burn_ops: bool) -> Tensor<4> {
        if burn_ops {
            activation::relu(self.bn.forward(self.conv.forward(x)))
        } else {
            activation::relu(kernels::batch_norm(&self.bn, kernels::conv2d(&self.conv, x)))
        }
    }
}

#[derive(Module, Debug)]
struct ReferenceCnn {
    convs: Vec<ConvBnRelu>,
    pool: MaxPool2d,
    fc: Linear,
    /// Use burn's own convolution, batch norm and pooling instead of ours.
    #[module(skip)]
    burn_ops: bool,
}

impl ReferenceCnn {
    fn new(burn_ops: bool, device: &Device) -> Self {
        let widths = [(3, 16), (16, 16), (16, 32), (32, 32), (32, 64), (64, 64)];
        ReferenceCnn {
            convs: widths.iter().map(|&(i, o)| ConvBnRelu::new(i, o, device)).collect(),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            fc: LinearConfig::new(64, 10).init(device),
            burn_ops,
        }
    }

    fn forward(&self, mut x: Tensor<4>) -> Tensor<2> {
        for (i, conv) in self.convs.iter().enumerate() {
            x = conv.forward(x, self.burn_ops);
            if i == 1 || i == 3 {
                x = if self.burn_ops { self.pool.forward(x) } else { kernels::max_pool2d(&self.pool, x) };
            }
        }
        let [n, c, _, _] = x.dims();
        self.fc.forward(x.mean_dim(3).mean_dim(2).reshape([n, c]))
    }
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = arg(&args, "--threads", "2").parse().expect("--threads N");
    let batch: usize = arg(&args, "--batch", "64").parse().expect("--batch N");
    let steps: usize = arg(&args, "--steps", "30").parse().expect("--steps N");
    let warmup: usize = arg(&args, "--warmup", "5").parse().expect("--warmup N");
    let device = match DeviceChoice::parse(&arg(&args, "--device", "cpu")).and_then(|d| d.device()) {
        Ok(device) => device,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if !args.iter().any(|a| a == "--system-allocator") {
        nasforge_train::reuse_freed_memory();
    }
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().expect("the rayon pool");
    let ad = device.clone().autodiff();
    ad.seed(0);
    let burn_ops = args.iter().any(|a| a == "--burn-ops");
    let mut model = ReferenceCnn::new(burn_ops, &ad);
    let mut optim =
        SgdConfig::new().with_momentum(Some(MomentumConfig::new().with_momentum(0.9).with_dampening(0.0))).init();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let x = Tensor::<4>::random([batch, 3, 32, 32], Distribution::Normal(0.0, 1.0), &ad);
    let labels: Vec<i64> = (0..batch as i64).map(|i| (i * 7) % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &ad);
    let mut step = |model: ReferenceCnn| {
        let loss = loss_fn.forward(model.forward(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = optim.step(0.01, model, grads);
        let _ = loss.into_scalar::<f32>();
        model
    };
    for _ in 0..warmup {
        model = step(model);
    }
    let started = Instant::now();
    for _ in 0..steps {
        model = step(model);
    }
    let seconds = started.elapsed().as_secs_f64();
    let images_per_second = (steps * batch) as f64 / seconds;
    let kernels = if burn_ops { "burn's kernels" } else { "nasforge kernels" };
    println!(
        "burn 0.22 flex reference CNN ({kernels}): batch {batch}, {threads} threads, {steps} steps in {seconds:.2} s: {images_per_second:.0} images/s"
    );
}
