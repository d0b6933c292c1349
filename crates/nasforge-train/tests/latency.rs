//! Latency model files of a tiny mbconv space and a tiny NAS-Bench-201 network: a table of every operator any network contains, predictions
//! that are the sums of its entries, a file that reads back to the same models, the refusals (another device,
//! space settings, input, batch or threads; a missing operator; a garbled file; another format), and a check
//! that reports every model on networks it never saw. Timing accuracy is a benchmark
//! (`nasforge latency check`), not asserted here.

use std::collections::HashSet;

use burn::tensor::Device;
use nasforge_core::SearchSpace;
use nasforge_core::space::{MbconvSettings, MbconvSpace, Nb201Space, TaskShape};
use nasforge_train::NetworkScale;
use nasforge_train::latency::{
    LatencyModel, LatencyModelKind, LatencySpace, LatencyTable, LatencyTarget, Repetition, SpaceLatency, build_table,
};
use rand::SeedableRng;

fn tiny_space() -> MbconvSpace {
    MbconvSpace::new(MbconvSettings {
        stage_channels: vec![4, 8],
        stage_strides: vec![1, 2],
        stem_channels: 4,
        head_channels: 8,
        min_depth: 1,
        max_depth: 2,
        kernels: vec![3, 5],
        expansions: vec![2],
        width_multipliers: vec![1.0],
        resolutions: vec![0.5, 1.0],
        ..MbconvSettings::default()
    })
    .unwrap()
}

fn target(space: &MbconvSpace) -> LatencyTarget {
    LatencyTarget {
        device: "cpu".into(),
        threads: 1,
        space: "mbconv".into(),
        space_settings: serde_json::to_value(space.settings()).unwrap(),
        task: TaskShape { channels: 1, size: 8, classes: 3 },
        scale: NetworkScale::default(),
        batch: 1,
    }
}

fn build(space: &MbconvSpace, calibration: usize) -> LatencyTable {
    measure(space, target(space), calibration)
}

fn measure<S: LatencySpace>(space: &S, target: LatencyTarget, calibration: usize) -> LatencyTable {
    let repetition = Repetition { runs: 1, passes: 2 };
    let mut heard = Vec::new();
    let table = build_table(space, target, repetition, calibration, 3, &Device::flex(), &mut |done, total| {
        heard.push((done, total))
    })
    .unwrap();
    let total = 2 * (table.operators.len() + calibration);
    assert_eq!(heard.last(), Some(&(total, total)), "progress ends at the total");
    table
}

#[test]
fn the_table_prices_every_network_as_the_sum_of_its_operators() {
    let space = tiny_space();
    let table = build(&space, 6);
    let task = table.target.task;
    assert_eq!(table.operators.len(), space.every_operator(&task, None).len());
    assert!(table.operators.values().all(|&ms| ms.is_finite() && ms > 0.0), "{:?}", table.operators);
    assert_eq!(table.calibration.len(), 6);
    let distinct: HashSet<&str> = table.calibration.iter().map(|m| m.arch.as_str()).collect();
    assert_eq!(distinct.len(), 6, "distinct calibration networks");

    let latency = SpaceLatency::new(space.clone(), table.clone()).unwrap();
    let summed = |arch: &nasforge_core::space::MbconvArch| -> f64 {
        space.plan(arch, &task, None).operators().iter().map(|o| table.operators[&o.to_string()]).sum()
    };
    // The table's sum is scaled by the calibration networks' median ratio of measured to summed latency.
    let mut ratios: Vec<f64> =
        (table.calibration.iter()).map(|m| m.latency_ms / summed(&space.parse(&m.arch).unwrap())).collect();
    ratios.sort_by(f64::total_cmp);
    let scale = ratios[ratios.len() / 2];
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
    for _ in 0..30 {
        let arch = space.sample(&mut rng);
        let by_hand = scale * summed(&arch);
        let lut = latency.predict(LatencyModelKind::Lut, &arch).unwrap();
        assert!((lut - by_hand).abs() < 1e-12, "{lut} vs {by_hand}");
        for kind in [LatencyModelKind::Predictor, LatencyModelKind::Flops] {
            assert!(latency.predict(kind, &arch).unwrap().is_finite(), "{kind:?}");
        }
    }
    let arch = space.sample(&mut rng);
    let e = latency.predict(LatencyModelKind::Measured, &arch).unwrap_err();
    assert!(e.contains("needs the trained network"), "{e}");

    // Written and read back: the same file, the same predictions.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lut.json");
    table.save(&path).unwrap();
    let read = LatencyTable::load(&path).unwrap();
    assert_eq!(read, table);
    let again = SpaceLatency::new(space.clone(), read).unwrap();
    for kind in [LatencyModelKind::Lut, LatencyModelKind::Predictor, LatencyModelKind::Flops] {
        assert_eq!(again.predict(kind, &arch), latency.predict(kind, &arch), "{kind:?}");
    }

    // The check measures networks none of the calibration ones, and reports all three models.
    let check = latency.check(5, 9, &Device::flex(), &mut |_, _| {}).unwrap();
    assert_eq!(check.samples, 5);
    let models: Vec<&str> = check.models.iter().map(|m| m.model).collect();
    assert_eq!(models, ["lut", "predictor", "flops"]);
    for model in &check.models {
        assert!((0.0..=1.0).contains(&model.within_10pct) && (-1.0..=1.0).contains(&model.kendall), "{model:?}");
        assert!(model.mean_abs_error_pct >= model.mean_error_pct.abs() - 1e-9, "{model:?}");
    }
    assert_eq!((check.within_10pct, check.kendall), (check.models[0].within_10pct, check.models[0].kendall));
    assert!(check.measured_min_ms <= check.measured_median_ms && check.measured_median_ms <= check.measured_max_ms);
}

#[test]
fn files_for_something_else_are_refused_by_name() {
    let space = tiny_space();
    let table = build(&space, 0);
    assert_eq!(table.check_target(&target(&space)), Ok(()));
    let refused = |change: &dyn Fn(&mut LatencyTarget), expected: &str| {
        let mut other = target(&space);
        change(&mut other);
        let e = table.check_target(&other).unwrap_err();
        assert!(e.contains(expected) && e.contains("nasforge latency build"), "{e}");
    };
    refused(&|t| t.device = "wgpu".into(), "measured on device cpu, not wgpu");
    refused(&|t| t.space = "nb201".into(), "for the space mbconv, not nb201");
    refused(&|t| t.space_settings = serde_json::to_value(MbconvSettings::default()).unwrap(), "space settings");
    refused(&|t| t.task.size = 28, "for 1×8×8 inputs with 3 classes, not 1×28×28 inputs with 3 classes");
    refused(&|t| t.batch = 8, "at batch 1, not 8");
    refused(&|t| t.threads = 2, "with threads 1, not 2");

    // Without calibration networks only the table predicts: the plain sum.
    let latency = SpaceLatency::new(space.clone(), table.clone()).unwrap();
    let arch = space.sample(&mut rand_pcg::Pcg64Mcg::seed_from_u64(2));
    let task = table.target.task;
    let sum: f64 = space.plan(&arch, &task, None).operators().iter().map(|o| table.operators[&o.to_string()]).sum();
    assert_eq!(latency.predict(LatencyModelKind::Lut, &arch), Ok(sum));
    let e = latency.predict(LatencyModelKind::Predictor, &arch).unwrap_err();
    assert!(e.contains("0 calibration networks") && e.contains("--calibration"), "{e}");

    // An operator missing from the table is named.
    let mut holed = table.clone();
    let operator = space.plan(&arch, &task, None).operators()[1].to_string();
    holed.operators.remove(&operator);
    let e = SpaceLatency::new(space.clone(), holed).unwrap().predict(LatencyModelKind::Lut, &arch).unwrap_err();
    assert!(e.contains(&format!("operator '{operator}' is missing")), "{e}");

    // A calibration network of another space is named.
    let mut foreign = table.clone();
    foreign
        .calibration
        .push(nasforge_train::latency::MeasuredNetwork { arch: "w1-r1:k7e6-relu".into(), latency_ms: 1.0 });
    let e = SpaceLatency::new(space.clone(), foreign).err().unwrap();
    assert!(e.contains("calibration network 'w1-r1:k7e6-relu'"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let garbled = dir.path().join("garbled.json");
    std::fs::write(&garbled, "{\"format\": 1,\n \"target\": [").unwrap();
    let e = LatencyTable::load(&garbled).unwrap_err();
    assert!(e.contains("garbled.json") && e.contains("line 2"), "{e}");
    let old = dir.path().join("old.json");
    std::fs::write(&old, serde_json::to_string(&LatencyTable { format: 99, ..table }).unwrap()).unwrap();
    let e = LatencyTable::load(&old).unwrap_err();
    assert!(e.contains("format 99") && e.contains("build it again"), "{e}");
    let e = LatencyTable::load(&dir.path().join("missing.json")).unwrap_err();
    assert!(e.contains("missing.json"), "{e}");
}

#[test]
fn an_nb201_table_prices_every_cell_by_its_edges_sums_and_fixed_parts() {
    let task = TaskShape { channels: 1, size: 8, classes: 3 };
    let scale = NetworkScale { channels: Some(2), cells: Some(2) };
    let target = LatencyTarget {
        device: "cpu".into(),
        threads: 1,
        space: "nb201".into(),
        space_settings: Nb201Space.settings_value(),
        task,
        scale,
        batch: 1,
    };
    let table = measure(&Nb201Space, target, 4);
    // The stem, two reductions, the head, and per stage three edge operations, a sum and zeros.
    assert_eq!(table.operators.len(), 4 + 3 * 5, "{:?}", table.operators.keys());
    assert!(table.operators.contains_key("edge nor_conv_3x3 8ch @2") && table.operators.contains_key("zeros 2ch @8"));
    assert!(table.operators.values().all(|&ms| ms.is_finite() && ms > 0.0), "{:?}", table.operators);

    let latency = SpaceLatency::new(Nb201Space, table.clone()).unwrap();
    let summed = |printed: &str| -> f64 {
        let arch = Nb201Space.parse(printed).unwrap();
        Nb201Space.operators(&arch, &task, &scale).iter().map(|o| table.operators[&o.to_string()]).sum()
    };
    let mut ratios: Vec<f64> = table.calibration.iter().map(|m| m.latency_ms / summed(&m.arch)).collect();
    ratios.sort_by(f64::total_cmp);
    let cell = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|";
    let lut = latency.predict_printed(LatencyModelKind::Lut, cell).unwrap();
    assert!((lut - ratios[2] * summed(cell)).abs() < 1e-12, "{lut}");
    // By hand: the cell's 3×3 conv, pool, 1×1 conv and its two sums (node 2, node 3), twice per stage.
    let by_hand = |c: usize, s: usize| {
        let key = |k: String| table.operators[&k];
        2.0 * (key(format!("edge nor_conv_3x3 {c}ch @{s}"))
            + key(format!("edge avg_pool_3x3 {c}ch @{s}"))
            + key(format!("edge nor_conv_1x1 {c}ch @{s}"))
            + 2.0 * key(format!("sum {c}ch @{s}")))
    };
    let fixed = ["stem 1>2 @8", "reduction 2>4 @8", "reduction 4>8 @4", "head 8ch @2 >3"]
        .iter()
        .map(|k| table.operators[*k])
        .sum::<f64>();
    let expected = fixed + by_hand(2, 8) + by_hand(4, 4) + by_hand(8, 2);
    assert!((summed(cell) - expected).abs() < 1e-12, "{} vs {expected}", summed(cell));
    assert!(latency.predict_printed(LatencyModelKind::Predictor, cell).unwrap().is_finite());
    let e = latency.predict_printed(LatencyModelKind::Lut, "|conv~0|").unwrap_err();
    assert!(!e.is_empty());

    let check = latency.check(4, 9, &Device::flex(), &mut |_, _| {}).unwrap();
    assert_eq!(check.samples, 4);
    assert_eq!(check.models.len(), 3);
    // The probes start with the network of every first choice (all edges `none`), then random cells.
    let probes = latency.probes(3);
    assert_eq!(probes.len(), 4);
    assert_eq!(probes[0], "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
}

/// Builds a table of `space` for a tiny network (4 calibration networks), checks it has every operator of the
/// space (among them `keys`), and that its look-up table predicts the median-scaled sum of each network's
/// operators; then checks 3 unseen networks.
fn assert_prices_by_operators<S: LatencySpace>(space: &S, name: &str, scale: NetworkScale, keys: &[&str]) {
    let task = TaskShape { channels: 1, size: 8, classes: 3 };
    let target = LatencyTarget {
        device: "cpu".into(),
        threads: 1,
        space: name.into(),
        space_settings: space.settings_value(),
        task,
        scale,
        batch: 1,
    };
    let table = measure(space, target, 4);
    assert_eq!(table.operators.len(), space.every_operator(&task, &scale).len());
    for key in keys {
        assert!(table.operators.contains_key(*key), "{key} in {:?}", table.operators.keys());
    }
    assert!(table.operators.values().all(|&ms| ms.is_finite() && ms > 0.0), "{:?}", table.operators);

    let latency = SpaceLatency::new(space.clone(), table.clone()).unwrap();
    let summed = |arch: &S::Arch| -> f64 {
        space.operators(arch, &task, &scale).iter().map(|o| table.operators[&o.to_string()]).sum()
    };
    let mut ratios: Vec<f64> =
        table.calibration.iter().map(|m| m.latency_ms / summed(&space.parse(&m.arch).unwrap())).collect();
    ratios.sort_by(f64::total_cmp);
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(4);
    for _ in 0..20 {
        let arch = space.sample(&mut rng);
        let lut = latency.predict(LatencyModelKind::Lut, &arch).unwrap();
        assert!((lut - ratios[2] * summed(&arch)).abs() < 1e-12, "{lut}");
    }
    let check = latency.check(3, 9, &Device::flex(), &mut |_, _| {}).unwrap();
    assert_eq!((check.samples, check.models.len()), (3, 3));
}

#[test]
fn a_darts_table_prices_every_network_by_its_operators() {
    let scale = NetworkScale { channels: Some(2), cells: Some(3) };
    let keys = ["edge sep_conv_5x5 4ch @8 s2", "preprocess factorized_reduce 8>8 @8"];
    assert_prices_by_operators(&nasforge_core::space::DartsSpace::default(), "darts", scale, &keys);
}

#[test]
fn a_chain_table_prices_every_network_by_its_primitives() {
    let space = nasforge_core::space::ChainSpace::new(nasforge_core::space::ChainSettings {
        max_depth: 3,
        channels: vec![4, 8],
        width_multipliers: vec![0.5, 1.0],
        ..Default::default()
    })
    .unwrap();
    let scale = NetworkScale { channels: Some(4), cells: None };
    let keys = ["conv 4>8 k3 d2 @8", "norm gn 24ch @4", "activation gelu 2ch @2", "skip pool 4ch @8>2"];
    assert_prices_by_operators(&space, "chain", scale, &keys);
}
