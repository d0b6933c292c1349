//! Networks built from architectures (parameter counts against the analytic cost models, output shapes) and
//! training (tiny networks of every space learn a synthetic task; divergence fails the trial; learning curves;
//! final training with saved weights; a Fashion-MNIST subset when installed).

mod common;

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use common::{Curve, quick_config, synthetic};
use nasforge_core::SearchSpace;
use nasforge_core::space::darts::{DARTS_V1, DARTS_V2};
use nasforge_core::space::{ChainSpace, DartsSpace, MbconvSpace, Nb201Space, TaskShape};
use nasforge_core::study::{EvalError, EvalRequest, Evaluator, Reporter};
use nasforge_core::trial::Metrics;
use nasforge_train::data;
use nasforge_train::{
    Buildable, DeviceChoice, NetworkScale, OptimizerKind, TrainConfig, TrainEvaluator, load_weights, train_final,
};

const NB201_ARCHS: [&str; 3] = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|nor_conv_1x1~1|none~2|",
];

const CHAIN_ARCHS: [&str; 5] = [
    "w0.75:conv3x3-c32-relu-bn-d0.1|bottleneck-k5-c64-swish-gn-s1|maxpool3x3-s2|\
     inverted_residual-k3-c16-hardswish-ln|depthwise_conv3x3-gelu-bn-d0.2-s3",
    "w1:conv1x1-c16-relu-bn|dilated_conv3x3-c32-gelu-ln|avgpool3x3-s1|identity-d0.1-s2",
    "w0.5:conv3x3-c128-swish-gn|maxpool3x3|maxpool3x3|conv3x3-c64-relu-bn-s3",
    "w1.25:inverted_residual-k7-c32-relu-bn-s1|bottleneck-k3-c16-hardswish-ln",
    "w1:conv3x3-c16-relu-bn|conv3x3-c16-relu-bn-s1",
];

/// Full resolution (the 12-pixel synthetic task has little to spare), squeeze-and-excitation and h-swish.
const MBCONV_LEARNS: &str =
    "w1-r1:k3e3-relu,k5e4-se-hswish/k3e3-relu,k3e3-relu/k3e3-se-relu,k3e3-relu/k3e3-relu,k3e3-hswish";
/// Every width, resolution, kernel, expansion and activation, with and without squeeze-and-excitation.
const MBCONV_ARCHS: [&str; 3] = [
    "w0.5-r0.5:k3e3-relu,k5e6-se-hswish/k7e4-relu,k3e3-se-relu,k5e3-hswish/k3e6-relu,k3e3-relu/k7e4-se-hswish,k3e3-relu",
    "w0.75-r0.75:k3e3-relu,k3e3-relu/k3e3-relu,k3e3-relu/k3e3-se-relu,k3e3-relu/k3e3-relu,k3e3-relu",
    "w1-r1:k7e6-se-hswish,k5e4-relu,k3e3-relu,k7e6-se-relu/k5e6-hswish,k5e6-hswish/k3e4-se-relu,k3e4-relu/k7e3-relu,k5e3-se-hswish",
];

fn cpu() -> Device {
    Device::flex()
}

fn gray28() -> TaskShape {
    TaskShape { channels: 1, size: 28, classes: 10 }
}

#[test]
fn parameter_counts_equal_the_analytic_ones() {
    let device = cpu();
    let tasks = [TaskShape::CIFAR10, gray28(), TaskShape { channels: 3, size: 17, classes: 7 }];
    let nb201 = Nb201Space;
    for text in NB201_ARCHS {
        let arch = nb201.parse(text).unwrap();
        for (task, scale) in tasks.iter().zip([
            NetworkScale::default(),
            NetworkScale { channels: Some(8), cells: Some(2) },
            NetworkScale { channels: Some(4), cells: Some(1) },
        ]) {
            let net = nb201.build(&arch, task, &scale, &device);
            assert_eq!(net.params(), nb201.network_cost(&arch, task, &scale).params, "nb201 {text} {task:?}");
        }
        // The space's own cost is the default network's.
        let net = nb201.build(&arch, &TaskShape::CIFAR10, &NetworkScale::default(), &device);
        assert_eq!(Some(net.params()), nb201.cost(&arch, &TaskShape::CIFAR10).map(|c| c.params));
    }
    let chain = ChainSpace::default();
    for text in CHAIN_ARCHS {
        let arch = chain.parse(text).unwrap_or_else(|e| panic!("{text}: {}", e.message));
        for task in &tasks {
            let net = chain.build(&arch, task, &NetworkScale::default(), &device);
            assert_eq!(Some(net.params()), chain.cost(&arch, task).map(|c| c.params), "chain {text}");
        }
    }
    let darts = DartsSpace::default();
    for text in [DARTS_V1, DARTS_V2] {
        let arch = darts.parse(text).unwrap();
        let net = darts.build(&arch, &TaskShape::CIFAR10, &NetworkScale::default(), &device);
        assert_eq!(Some(net.params()), darts.cost(&arch, &TaskShape::CIFAR10).map(|c| c.params), "darts");
        let scale = NetworkScale { channels: Some(4), cells: Some(3) };
        let net = darts.build(&arch, &gray28(), &scale, &device);
        assert_eq!(net.params(), darts.network_cost(&arch, &gray28(), &scale).params);
    }
    let mbconv = MbconvSpace::default();
    for text in MBCONV_ARCHS {
        let arch = mbconv.parse(text).unwrap_or_else(|e| panic!("{text}: {}", e.message));
        for (task, scale) in
            tasks.iter().zip([NetworkScale::default(), NetworkScale { channels: Some(8), cells: None }])
        {
            let net = mbconv.build(&arch, task, &scale, &device);
            assert_eq!(net.params(), mbconv.network_cost(&arch, task, &scale).params, "mbconv {text} {task:?}");
        }
    }
    // Every DARTS operation, including the extra ones, in both cells.
    let all_ops = DartsSpace::new(&nasforge_core::space::darts::DartsOp::ALL).unwrap();
    let extra = "Genotype(normal=[('sep_conv_7x7', 0), ('conv_1x1', 1), ('conv_3x3', 0), ('conv_7x1_1x7', 2), \
                 ('dil_conv_5x5', 1), ('avg_pool_3x3', 3), ('none', 0), ('sep_conv_5x5', 4)], normal_concat=[2, 3, 4, 5], \
                 reduce=[('conv_7x1_1x7', 0), ('skip_connect', 1), ('conv_3x3', 1), ('sep_conv_7x7', 2), \
                 ('dil_conv_3x3', 0), ('max_pool_3x3', 3), ('conv_1x1', 0), ('none', 1)], reduce_concat=[2, 3, 4, 5])";
    let arch = all_ops.parse(extra).unwrap_or_else(|e| panic!("{}", e.message));
    let scale = NetworkScale { channels: Some(4), cells: Some(3) };
    let task = TaskShape { channels: 3, size: 8, classes: 10 };
    let net = all_ops.build(&arch, &task, &scale, &device);
    assert_eq!(net.params(), all_ops.network_cost(&arch, &task, &scale).params);
    let out = net.forward(Tensor::zeros([2, 3, 8, 8], &device));
    assert_eq!(out.dims(), [2, 10]);
}

#[test]
fn networks_fit_any_input_shape_and_class_count() {
    let device = cpu();
    let tasks = [
        gray28(),
        TaskShape::CIFAR10,
        TaskShape { channels: 3, size: 15, classes: 3 },
        TaskShape { channels: 2, size: 9, classes: 5 },
    ];
    let small = NetworkScale { channels: Some(4), cells: Some(1) };
    for task in tasks {
        let x = Tensor::<4>::ones([2, task.channels, task.size, task.size], &device);
        let nb = Nb201Space.parse(NB201_ARCHS[0]).unwrap();
        assert_eq!(Nb201Space.build(&nb, &task, &small, &device).forward(x.clone()).dims(), [2, task.classes]);
        let chain = ChainSpace::default();
        for text in CHAIN_ARCHS {
            let arch = chain.parse(text).unwrap();
            let out =
                chain.build(&arch, &task, &NetworkScale { channels: Some(4), cells: None }, &device).forward(x.clone());
            assert_eq!(out.dims(), [2, task.classes], "{text} {task:?}");
        }
        let darts = DartsSpace::default();
        let arch = darts.parse(DARTS_V2).unwrap();
        let out =
            darts.build(&arch, &task, &NetworkScale { channels: Some(4), cells: Some(3) }, &device).forward(x.clone());
        assert_eq!(out.dims(), [2, task.classes], "darts {task:?}");
        let mbconv = MbconvSpace::default();
        for text in MBCONV_ARCHS {
            let arch = mbconv.parse(text).unwrap();
            let out = mbconv.build(&arch, &task, &NetworkScale::default(), &device).forward(x.clone());
            assert_eq!(out.dims(), [2, task.classes], "{text} {task:?}");
        }
    }
}

fn evaluate<S: Buildable>(
    evaluator: &TrainEvaluator,
    space: &S,
    text: &str,
    seed: u64,
) -> (Result<Metrics, EvalError>, Curve) {
    let arch = space.parse(text).unwrap();
    let request = EvalRequest { space, arch: &arch, printed: text, trial_id: 0, seed, checkpoint: None, reported: 0 };
    let mut curve = Curve::default();
    let result = evaluator.evaluate(&request, &mut curve);
    (result, curve)
}

fn assert_learns(metrics: &Metrics, curve: &Curve, what: &str) {
    let accuracy = metrics["val_accuracy"];
    // 4 classes: chance is 0.25.
    assert!(accuracy >= 0.7, "{what}: validation accuracy {accuracy} ({metrics:?})");
    let first = curve.0.first().unwrap()["train_loss"];
    let last = curve.0.last().unwrap()["train_loss"];
    assert!(last < first * 0.8, "{what}: training loss {first} → {last}");
    for key in ["val_loss", "params", "flops", "train_seconds", "latency_ms", "model_bytes", "epochs"] {
        assert!(metrics.get(key).is_some_and(|v| v.is_finite()), "{what}: metric {key} in {metrics:?}");
    }
}

#[test]
fn tiny_networks_of_every_space_learn_a_synthetic_task() {
    let source = synthetic();
    let evaluator = TrainEvaluator::new(&source.train, 0.25, 1, quick_config());
    assert_eq!((evaluator.train.len(), evaluator.val.len()), (360, 120));

    let (result, curve) = evaluate(&evaluator, &Nb201Space, NB201_ARCHS[0], 3);
    let metrics = result.unwrap();
    assert_learns(&metrics, &curve, "nb201");
    assert_eq!(curve.0.len(), 3, "one learning-curve point per epoch");
    assert_eq!(curve.0.iter().map(|m| m["epoch"]).collect::<Vec<_>>(), [1.0, 2.0, 3.0]);
    let task = evaluator.task();
    let space_params = Nb201Space
        .network_cost(&Nb201Space.parse(NB201_ARCHS[0]).unwrap(), &task, &evaluator.config.scale)
        .params as f64;
    assert_eq!(metrics["params"], space_params);
    assert_eq!(metrics["model_bytes"], 4.0 * space_params);

    let (result, curve) =
        evaluate(&evaluator, &ChainSpace::default(), "w1:conv3x3-c16-relu-bn|maxpool3x3|conv3x3-c32-swish-gn-s1", 4);
    assert_learns(&result.unwrap(), &curve, "chain");

    let darts_eval = TrainEvaluator::new(
        &source.train,
        0.25,
        1,
        TrainConfig { scale: NetworkScale { channels: Some(4), cells: Some(3) }, ..quick_config() },
    );
    let (result, curve) = evaluate(&darts_eval, &DartsSpace::default(), DARTS_V2, 5);
    assert_learns(&result.unwrap(), &curve, "darts");

    // Ten layers of batch norm: their running statistics need more than 3 short epochs to settle.
    let mbconv_eval = TrainEvaluator::new(&source.train, 0.25, 1, TrainConfig { epochs: 6, ..quick_config() });
    let (result, curve) = evaluate(&mbconv_eval, &MbconvSpace::default(), MBCONV_LEARNS, 4);
    assert_learns(&result.unwrap(), &curve, "mbconv");
}

#[test]
fn adamw_label_smoothing_fidelity_knobs_and_early_stopping() {
    let source = synthetic();
    let config = TrainConfig {
        optimizer: OptimizerKind::AdamW { beta1: 0.9, beta2: 0.999 },
        learning_rate: 3e-3,
        cosine: false,
        label_smoothing: 0.1,
        data_fraction: 0.5,
        resolution: Some(8),
        epochs: 4,
        early_stopping_patience: Some(1),
        augmentation: nasforge_train::Augmentation { crop_padding: 1, horizontal_flip: false },
        ..quick_config()
    };
    let evaluator = TrainEvaluator::new(&source.train, 0.25, 1, config);
    assert_eq!(evaluator.task().size, 8);
    let (result, curve) =
        evaluate(&evaluator, &ChainSpace::default(), "w1:conv3x3-c16-relu-bn|conv3x3-c32-relu-bn-s1", 9);
    let metrics = result.unwrap();
    assert!(metrics["val_accuracy"] > 0.5, "{metrics:?}");
    assert!((1..=4).contains(&curve.0.len()));
    assert_eq!(metrics["epochs"], curve.0.len() as f64);
}

#[test]
fn a_diverging_run_is_a_failed_trial() {
    let source = synthetic();
    let config = TrainConfig {
        learning_rate: 1e12,
        cosine: false,
        epochs: 2,
        optimizer: OptimizerKind::Sgd { momentum: 0.0, nesterov: false },
        ..quick_config()
    };
    let evaluator = TrainEvaluator::new(&source.train, 0.25, 1, config);
    let (result, _) = evaluate(&evaluator, &ChainSpace::default(), "w1:conv3x3-c16-relu-bn|conv1x1-c16-relu-bn", 1);
    match result {
        Err(EvalError::Failed(reason)) => assert!(reason.contains("diverged"), "{reason}"),
        other => panic!("expected a failed trial, got {other:?}"),
    }
    // Too large an architecture is refused before training, with the figure.
    let evaluator =
        TrainEvaluator::new(&source.train, 0.25, 1, TrainConfig { max_params: Some(1_000), ..quick_config() });
    let (result, _) = evaluate(&evaluator, &Nb201Space, NB201_ARCHS[0], 1);
    match result {
        Err(EvalError::Failed(reason)) => assert!(reason.contains("parameters, above the limit of 1000"), "{reason}"),
        other => panic!("expected a failed trial, got {other:?}"),
    }
}

#[test]
fn devices_are_checked() {
    assert_eq!(DeviceChoice::parse("cpu"), Ok(DeviceChoice::Cpu));
    assert!(DeviceChoice::parse("tpu").unwrap_err().contains("unknown device"));
    if !cfg!(feature = "cuda") {
        assert!(DeviceChoice::parse("cuda:1").unwrap_err().contains("`cuda` feature"));
    }
    if !cfg!(feature = "wgpu") {
        assert!(DeviceChoice::parse("wgpu").unwrap_err().contains("`wgpu` feature"));
    }
}

#[test]
fn final_training_reports_test_accuracy_and_saves_weights() {
    let source = synthetic();
    let dir = std::env::temp_dir().join(format!("nasforge-train-final-{}", std::process::id()));
    let path = dir.join("weights.bpk");
    let space = ChainSpace::default();
    let arch = space.parse("w1:conv3x3-c16-relu-bn|maxpool3x3|conv3x3-c16-relu-bn-s1").unwrap();
    let config = TrainConfig { epochs: 2, ..quick_config() };
    let mut epochs = 0;
    let result = train_final(&space, &arch, &source, &config, 7, Some(&path), None, &mut |_| epochs += 1).unwrap();
    assert_eq!(epochs, 2);
    assert!(result.test_accuracy > 0.6, "{result:?}");
    assert!(path.is_file());
    // The saved weights load into a network of the same architecture and give the same test accuracy.
    let task = TaskShape { channels: 1, size: 12, classes: 4 };
    let loaded = load_weights(&space, &arch, &task, &config.scale, &path, &Device::flex()).unwrap();
    let batcher = nasforge_train::Batcher {
        normalization: source.train.channel_stats(),
        augmentation: nasforge_train::Augmentation::NONE,
        resolution: None,
    };
    let (accuracy, _) = nasforge_train::evaluate(&loaded.valid(), &source.test, &batcher, &Device::flex());
    assert!((accuracy - result.test_accuracy).abs() < 1e-9, "{accuracy} vs {}", result.test_accuracy);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn fashion_mnist_subset_learns() {
    let Some(dir) = nasforge_testkit::require(nasforge_testkit::FashionMnist) else { return };
    assert_eq!(dir, Path::new(data::FASHION_MNIST_DIR));
    let source = data::load_named("fashion-mnist", None).unwrap();
    let small = source.train.subset(0.05, 1); // 3,000 images
    let config = TrainConfig {
        epochs: 3,
        batch_size: 64,
        learning_rate: 0.1,
        scale: NetworkScale { channels: Some(8), cells: None },
        ..quick_config()
    };
    let evaluator = TrainEvaluator::new(&small, 0.2, 1, config);
    let (result, curve) =
        evaluate(&evaluator, &ChainSpace::default(), "w1:conv3x3-c16-relu-bn|maxpool3x3|conv3x3-c32-relu-bn", 2);
    let metrics = result.unwrap();
    eprintln!("Fashion-MNIST subset: {metrics:?}");
    // 10 classes: chance is 0.1.
    assert!(metrics["val_accuracy"] > 0.6, "{metrics:?}");
    assert!(curve.0.last().unwrap()["train_loss"] < curve.0[0]["train_loss"]);
}

/// A reporter that refuses (the store failed): the evaluation stops with its error.
struct Refusing;

impl Reporter for Refusing {
    fn report(&mut self, _: &Metrics) -> Result<(), EvalError> {
        Err(EvalError::Fatal("store is gone".into()))
    }
}

#[test]
fn a_reporter_error_stops_the_evaluation() {
    let source = synthetic();
    let evaluator = TrainEvaluator::new(&source.train, 0.25, 1, TrainConfig { epochs: 3, ..quick_config() });
    let space = ChainSpace::default();
    let arch = space.parse("w1:conv1x1-c16-relu-bn|identity").unwrap();
    let request =
        EvalRequest { space: &space, arch: &arch, printed: "", trial_id: 0, seed: 0, checkpoint: None, reported: 0 };
    assert_eq!(evaluator.evaluate(&request, &mut Refusing), Err(EvalError::Fatal("store is gone".into())));
}

#[test]
fn a_cell_that_computes_nothing_gets_the_class_priors_without_training() {
    let source = synthetic();
    let evaluator = TrainEvaluator::new(&source.train, 0.25, 3, quick_config());
    let zero = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|";
    let (result, curve) = evaluate(&evaluator, &Nb201Space, zero, 1);
    let metrics = result.unwrap();
    assert_eq!(metrics["untrained"], 1.0);
    assert_eq!(metrics["epochs"], 0.0);
    assert!(curve.0.is_empty(), "no epoch was trained");
    // The best a constant output can do: the validation share of the training set's most frequent class.
    let mut counts = [0usize; 4];
    for &label in &evaluator.train.labels {
        counts[usize::from(label)] += 1;
    }
    let majority = (0..4).max_by_key(|&c| counts[c]).unwrap();
    let share = evaluator.val.labels.iter().filter(|&&l| usize::from(l) == majority).count() as f64
        / evaluator.val.labels.len() as f64;
    assert_eq!(metrics["val_accuracy"], share);
    assert!(metrics["val_loss"] > 1.0, "about ln 4 for four balanced classes: {metrics:?}");
    // Size and latency are real: the network exists, it only cannot learn.
    let arch = Nb201Space.parse(zero).unwrap();
    let cost = Nb201Space.network_cost(&arch, &evaluator.task(), &evaluator.config.scale);
    assert_eq!(metrics["params"], cost.params as f64);
    assert!(metrics["latency_ms"] > 0.0);
}

#[test]
fn a_codesign_network_reports_its_accuracy_in_its_deployed_precision() {
    let source = synthetic();
    let evaluator = TrainEvaluator::new(&source.train, 0.25, 1, TrainConfig { epochs: 2, ..quick_config() });
    let precisions = ["f32", "f16", "bf16"].map(String::from).to_vec();
    let space = MbconvSpace::new(nasforge_core::space::MbconvSettings { precisions, ..Default::default() }).unwrap();
    let deployed = |precision: &str| {
        let text = MBCONV_LEARNS.replacen("w1-r1:", &format!("w1-r1-t1-b1{precision}:"), 1);
        let (result, curve) = evaluate(&evaluator, &space, &text, 4);
        (result.unwrap(), curve)
    };
    // In f32 it is the last epoch's validation accuracy; in bf16 the same trained weights evaluated again in
    // the narrower format, which changes few predictions.
    // (f16 computes the same way, more slowly on this CPU: its logits are checked in the next test.)
    for (precision, tolerance) in [("", 0.0), ("-bf16", 0.1)] {
        let (metrics, curve) = deployed(precision);
        let as_trained = curve.0.last().unwrap()["val_accuracy"];
        let accuracy = metrics["deployed_val_accuracy"];
        assert!((accuracy - as_trained).abs() <= tolerance, "{precision}: {accuracy} against {as_trained} in f32");
    }
    // Outside a co-design space the network is deployed as trained, in f32: no such metric.
    let (plain, _) = evaluate(&evaluator, &MbconvSpace::default(), MBCONV_LEARNS, 4);
    assert!(!plain.unwrap().contains_key("deployed_val_accuracy"));
}

#[test]
fn a_network_deployed_in_a_narrower_format_computes_nearly_the_same_logits() {
    use nasforge_core::space::mbconv::Precision;
    use nasforge_train::network::DeployedNetwork;
    let device = cpu();
    let space = MbconvSpace::default();
    let arch = space.parse(MBCONV_ARCHS[2]).unwrap();
    let x = Tensor::<4>::random([4, 1, 28, 28], burn::tensor::Distribution::Default, &device);
    let network = space.build(&arch, &gray28(), &NetworkScale::default(), &device);
    let logits = |precision| {
        let out = DeployedNetwork::new(network.clone(), precision).forward(x.clone());
        assert_eq!(out.dtype(), burn::tensor::DType::F32, "{precision:?}: logits come back in f32");
        out.into_data().try_into_vec::<f32>().unwrap()
    };
    let reference = logits(Precision::F32);
    for (precision, tolerance) in [(Precision::F16, 0.02), (Precision::Bf16, 0.1)] {
        let narrow = logits(precision);
        let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
        let worst = reference.iter().zip(&narrow).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst <= tolerance * scale, "{precision:?}: largest difference {worst} against logits up to {scale}");
    }
}

#[test]
fn chain_layers_run_on_planes_pooled_down_to_one_pixel() {
    // Three pools take 8×8 to 1×1; then a 7×7 bottleneck, a dilated 3×3 and group norm over 2 channels of one
    // pixel (two values, which burn's group norm alone refuses), on one image and on a batch.
    let space = ChainSpace::new(nasforge_core::space::ChainSettings {
        channels: vec![2, 8],
        ..nasforge_core::space::ChainSettings::default()
    })
    .unwrap();
    let arch = space
        .parse("w1:maxpool3x3|maxpool3x3|maxpool3x3|bottleneck-k7-c8-relu-gn|dilated_conv3x3-c2-gelu-gn-s2|conv1x1-c2-relu-gn")
        .unwrap();
    let task = TaskShape { channels: 1, size: 8, classes: 3 };
    let device = cpu();
    let network = space.build(&arch, &task, &NetworkScale { channels: Some(2), cells: None }, &device);
    for batch in [1, 4] {
        let x = Tensor::<4>::random([batch, 1, 8, 8], burn::tensor::Distribution::Default, &device);
        let logits = network.forward(x).into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(logits.len(), batch * 3);
        assert!(logits.iter().all(|v| v.is_finite()), "{logits:?}");
    }
}
