//! Zero-cost proxies: hand-computed values on tiny networks, and what a user checks on the spaces' networks
//! (finite, reproducible scores; clear failures).

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};

use nasforge_core::SearchSpace;
use nasforge_core::space::{ChainSpace, DartsSpace, Nb201Space, TaskShape};
use nasforge_core::study::EvalError;
use nasforge_train::data::{SyntheticConfig, synthetic};
use nasforge_train::zero_cost::{
    Proxy, ProxyNetwork, ZeroCostEvaluator, ZeroCostSettings, relu_code_kernel, score_network,
};
use nasforge_train::{Buildable, NetworkScale};

/// `x ↦ W2 · W1 · flatten(x)`, two linear layers without bias.
#[derive(Module, Debug)]
struct TwoLinear {
    first: Linear,
    second: Linear,
}

impl ProxyNetwork for TwoLinear {
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let [n, _, _, _] = x.dims();
        self.second.forward(self.first.forward(x.reshape([n as i32, -1])))
    }
}

fn linear_with(weights: Vec<f32>, [d_in, d_out]: [usize; 2], device: &Device) -> Linear {
    let mut layer = LinearConfig::new(d_in, d_out).with_bias(false).init(device);
    // burn's Linear weight is [d_in, d_out].
    layer.weight = Param::from_tensor(Tensor::from_data(TensorData::new(weights, [d_in, d_out]), device));
    layer
}

#[test]
fn synflow_of_a_two_layer_linear_network_is_computed_by_hand() {
    let device = Device::flex().autodiff();
    // W1 (2 → 3) and W2 (3 → 1) with mixed signs: SynFlow takes absolute values.
    let w1 = vec![1.0, -2.0, 0.5, -3.0, 1.0, 2.0];
    let w2 = vec![-1.0, 2.0, -0.5];
    let model = TwoLinear { first: linear_with(w1, [2, 3], &device), second: linear_with(w2, [3, 1], &device) };
    // With all-ones input, R = Σ_k |W2_k| Σ_i |W1_ik| = 1·(1+3) + 2·(2+1) + 0.5·(0.5+2) = 11.25. Each layer's
    // term Σ θ ∂R/∂θ equals R (R is linear in each layer's weights), so SynFlow = 2R = 22.5.
    let score = score_network(Proxy::Synflow, model, &device, [1, 1, 1, 2], None).unwrap();
    assert!((score - 22.5).abs() < 1e-4, "synflow {score}");
}

#[test]
fn synflow_overflowing_f32_is_computed_in_f64() {
    let device = Device::flex().autodiff();
    // R = Σ_k |W2_k| Σ_i |W1_ik| = 3 · 1e20 · 2e20 = 6e40, beyond f32's 3.4e38; SynFlow = 2R.
    let model = TwoLinear {
        first: linear_with(vec![1e20; 6], [2, 3], &device),
        second: linear_with(vec![1e20; 3], [3, 1], &device),
    };
    let score = score_network(Proxy::Synflow, model, &device, [1, 1, 1, 2], None).unwrap();
    assert!((score / 1.2e41 - 1.0).abs() < 1e-6, "synflow {score:e}");
}

#[test]
fn naswot_kernel_counts_agreeing_activation_codes() {
    let device = Device::flex();
    // Two images, one ReLU layer of three units: codes 1 0 1 and 0 0 1 agree on two units; a second layer
    // of two units with codes 1 1 and 1 0 agrees on one.
    let layer_a = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, -1.0, 2.0, -0.1, -3.0, 1.0], [2, 3]), &device);
    let layer_b = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 1.0, 4.0, 0.0], [2, 2]), &device);
    let kernel = relu_code_kernel(&[layer_a, layer_b], 2);
    assert_eq!(kernel, vec![5.0, 3.0, 3.0, 5.0]);
}

fn evaluator(proxies: &[Proxy]) -> ZeroCostEvaluator {
    let (train, _) = synthetic(&SyntheticConfig { channels: 3, size: 16, classes: 10, ..SyntheticConfig::default() });
    let settings = ZeroCostSettings {
        proxies: proxies.to_vec(),
        batch_size: 16,
        scale: NetworkScale { channels: Some(4), cells: Some(1) },
        ..ZeroCostSettings::default()
    };
    ZeroCostEvaluator::new(settings, &train).unwrap()
}

fn scores<S: Buildable>(evaluator: &ZeroCostEvaluator, space: &S, arch: &str, seed: u64) -> Vec<f64> {
    let arch = space.parse(arch).unwrap();
    evaluator.score(space, &arch, seed).unwrap().iter().map(|s| s.value).collect()
}

#[test]
fn every_proxy_scores_every_space_reproducibly() {
    let evaluator = evaluator(&Proxy::ALL);
    let nb201 = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|";
    let first = scores(&evaluator, &Nb201Space, nb201, 7);
    assert_eq!(first.len(), Proxy::ALL.len());
    assert!(first.iter().all(|v| v.is_finite()), "{first:?}");
    assert_eq!(first, scores(&evaluator, &Nb201Space, nb201, 7), "the same seed gives the same scores");
    for (space_scores, what) in [
        (
            scores(
                &evaluator,
                &ChainSpace::default(),
                &ChainSpace::default().print(&sample(&ChainSpace::default())),
                1,
            ),
            "chain",
        ),
        (
            scores(
                &evaluator,
                &DartsSpace::default(),
                &DartsSpace::default().print(&sample(&DartsSpace::default())),
                1,
            ),
            "darts",
        ),
    ] {
        assert!(space_scores.iter().all(|v| v.is_finite()), "{what}: {space_scores:?}");
    }
}

fn sample<S: SearchSpace>(space: &S) -> S::Arch {
    use rand::SeedableRng;
    space.sample(&mut rand_pcg::Pcg64::seed_from_u64(3))
}

#[test]
fn analytic_proxies_are_the_networks_counts_and_synflow_prefers_convolutions() {
    let evaluator = evaluator(&[Proxy::Params, Proxy::Flops, Proxy::Synflow]);
    let convs = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    let pools = "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|";
    let scale = NetworkScale { channels: Some(4), cells: Some(1) };
    let cost = Nb201Space.network_cost(&Nb201Space.parse(convs).unwrap(), &evaluator.task(), &scale);
    let conv_scores = scores(&evaluator, &Nb201Space, convs, 0);
    assert_eq!(conv_scores[..2], [cost.params as f64, cost.flops as f64]);
    assert!(conv_scores[2] > scores(&evaluator, &Nb201Space, pools, 0)[2]);
}

#[test]
fn a_cell_that_computes_nothing_fails_with_its_reason() {
    let evaluator = evaluator(&[Proxy::Synflow]);
    let empty = Nb201Space.parse("|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|").unwrap();
    match evaluator.score(&Nb201Space, &empty, 0) {
        Err(EvalError::Failed(reason)) => assert!(reason.contains("computes nothing"), "{reason}"),
        other => panic!("expected a failed trial, got {other:?}"),
    }
}

#[test]
fn data_proxies_without_images_are_refused_by_name() {
    let task = TaskShape { channels: 3, size: 32, classes: 10 };
    let settings = ZeroCostSettings { proxies: vec![Proxy::Synflow, Proxy::Naswot], ..ZeroCostSettings::default() };
    let error = ZeroCostEvaluator::data_free(settings, task).err().unwrap();
    assert!(error.contains("naswot") && error.contains("needs images"), "{error}");
    assert!(Proxy::parse_list("synflow,zen").unwrap_err().contains("unknown zero-cost proxy `zen`"));
    assert!(Proxy::parse_list("snip,snip").unwrap_err().contains("named twice"));
}
