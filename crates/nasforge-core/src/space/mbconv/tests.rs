//! Unit tests of the mbconv space: printed and JSON forms, settings, validation, encodings, variation and
//! the network's cost by hand.

use std::collections::HashSet;

use rand::SeedableRng;

use super::*;

const EXAMPLE: &str =
    "w0.75-r1:k3e3-relu,k5e6-se-hswish/k3e4-relu,k7e6-relu/k5e3-se-relu,k3e3-hswish/k7e4-relu,k3e6-relu";

fn arch(text: &str) -> MbconvArch {
    MbconvSpace::default().parse(text).unwrap()
}

#[test]
fn parses_and_prints_its_form_and_json() {
    let space = MbconvSpace::default();
    let a = arch(EXAMPLE);
    assert_eq!(a.width_percent, 75);
    assert_eq!(a.resolution_percent, 100);
    assert_eq!(a.stages[0][1], MbBlock { kernel: 5, expansion: 6, se: true, activation: MbActivation::Hswish });
    assert_eq!(space.print(&a), EXAMPLE);
    let json = space.to_json(&a);
    assert!(json.contains(r#""activation":"hswish""#) && json.contains(r#""resolution":1.0"#), "{json}");
    assert_eq!(space.from_json(&json).unwrap(), a);
    let bad = json.replacen("hswish", "tanh", 1);
    assert!(space.from_json(&bad).unwrap_err().message.contains("unknown variant `tanh`"));
    let bad = json.replacen(r#""kernel":5"#, r#""kernel":9"#, 1);
    assert!(space.from_json(&bad).unwrap_err().message.contains("stage 1, block 2: kernel 9"));
}

#[test]
fn rejects_malformed_strings_with_the_place() {
    let space = MbconvSpace::default();
    let four = "k3e3-relu,k3e3-relu/k3e3-relu,k3e3-relu/k3e3-relu,k3e3-relu/k3e3-relu,k3e3-relu";
    let cases = [
        ("k3e3-relu", "expected w<width multiplier>-r<resolution>:".to_string()),
        (&format!("w0.8-r1:{four}") as &str, "width multiplier 0.8 is not among".to_string()),
        (&format!("w1-x1:{four}"), "resolution 'x1' must look like r1".to_string()),
        (&format!("w1-r1:{}", four.replacen("k3e3-relu", "k3x3-relu", 1)), "stage 1, block 1: 'k3x3'".to_string()),
        (
            &format!("w1-r1:{}", four.replacen("k3e3-relu", "k3e3-tanh", 1)),
            "stage 1, block 1: unknown activation 'tanh'".to_string(),
        ),
        (&format!("w1-r1:{}", four.replacen("k3e3-relu", "k3e3-se", 1)), "needs an activation after se".to_string()),
        (&format!("w1-r1:{}", four.replacen("k3e3-relu", "k3e3-relu-x", 1)), "unexpected field 'x'".to_string()),
        (&format!("w1-r1:{}", four.replacen("k3e3-relu", "k3e5-relu", 1)), "expansion 5 is not among".to_string()),
        ("w1-r1:k3e3-relu,k3e3-relu/k3e3-relu,k3e3-relu", "has 2 stages; the space has 4".to_string()),
        (
            &format!("w1-r1:k3e3-relu/{}", four.split_once('/').unwrap().1),
            "stage 1: 1 blocks, outside the depth range 2..=4".to_string(),
        ),
    ];
    for (text, expected) in cases {
        let err = space.parse(text).unwrap_err();
        assert!(err.message.contains(&expected), "{text}: {}", err.message);
    }
}

#[test]
fn settings_are_checked_by_field() {
    let cases = [
        (MbconvSettings { stage_strides: vec![1, 2], ..Default::default() }, "`stage_strides`: 2 strides for 4 stages"),
        (MbconvSettings { stage_strides: vec![1, 3, 2, 2], ..Default::default() }, "3 is not a stride"),
        (MbconvSettings { kernels: vec![3, 4], ..Default::default() }, "`kernels`: 4 is not a depthwise kernel"),
        (MbconvSettings { expansions: vec![], ..Default::default() }, "`expansions`: the list is empty"),
        (MbconvSettings { resolutions: vec![0.5, 2.5], ..Default::default() }, "`resolutions`: 2.5 must be"),
        (MbconvSettings { min_depth: 3, max_depth: 2, ..Default::default() }, "`max_depth`: 2 is below min_depth 3"),
    ];
    for (settings, expected) in cases {
        let err = MbconvSpace::new(settings).unwrap_err();
        assert!(err.message.contains(expected), "{}", err.message);
    }
    let settings: MbconvSettings =
        serde_json::from_str(r#"{"stage_channels": [8, 16], "stage_strides": [1, 2]}"#).unwrap();
    let space = MbconvSpace::new(settings).unwrap();
    assert_eq!(space.sample(&mut rand::rngs::StdRng::seed_from_u64(0)).stages.len(), 2);
}

#[test]
fn decisions_round_trip_and_sampling_covers_the_choices() {
    let space = MbconvSpace::default();
    let sizes = space.decision_sizes();
    assert_eq!(sizes.len(), 2 + 4 * (1 + 4 * 4));
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut depths = HashSet::new();
    let mut kernels = HashSet::new();
    for _ in 0..300 {
        let a = space.sample(&mut rng);
        space.validate(&a).unwrap();
        let decisions = space.to_decisions(&a);
        assert!(decisions.iter().zip(&sizes).all(|(d, s)| d < s));
        assert_eq!(space.from_decisions(&decisions), a);
        assert_eq!(space.parse(&space.print(&a)).unwrap(), a);
        assert_eq!(space.encode_onehot(&a).iter().sum::<f64>(), sizes.len() as f64);
        depths.extend(a.stages.iter().map(Vec::len));
        kernels.extend(a.blocks().map(|(_, _, b)| b.kernel));
    }
    assert_eq!(depths, HashSet::from([2, 3, 4]));
    assert_eq!(kernels, HashSet::from([3, 5, 7]));
}

#[test]
fn neighbours_are_single_valid_changes_and_mutation_picks_one() {
    let space = MbconvSpace::default();
    let a = arch(EXAMPLE);
    let neighbours = space.neighbours(&a);
    // Width 2 + resolution 2; per stage deeper and shallower (every stage has 2 blocks: deeper only) 4;
    // per block 2 kernels + 2 expansions + se + activation = 6, over 8 blocks.
    assert_eq!(neighbours.len(), 2 + 2 + 4 + 6 * 8);
    let distinct: HashSet<_> = neighbours.iter().map(|n| space.canonical(n)).collect();
    assert_eq!(distinct.len(), neighbours.len());
    for n in &neighbours {
        space.validate(n).unwrap();
        let changed = space.to_decisions(n).iter().zip(space.to_decisions(&a)).filter(|(x, y)| *x != y).count();
        // A deeper stage sets the new slot's fields too (its copy of the last block).
        assert!((1..=5).contains(&changed), "{}", space.print(n));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for _ in 0..50 {
        let m = space.mutate(&a, &mut rng);
        assert!(neighbours.contains(&m));
        let b = space.sample(&mut rng);
        let child = space.crossover(&a, &b, &mut rng);
        space.validate(&child).unwrap();
        for (s, stage) in child.stages.iter().enumerate() {
            assert!(stage == &a.stages[s] || stage == &b.stages[s]);
        }
    }
}

#[test]
fn network_cost_of_a_small_network_by_hand() {
    let settings = MbconvSettings {
        stage_channels: vec![4],
        stage_strides: vec![2],
        stem_channels: 4,
        head_channels: 8,
        min_depth: 1,
        max_depth: 2,
        kernels: vec![3],
        expansions: vec![2],
        width_multipliers: vec![1.0],
        resolutions: vec![0.5, 1.0],
        ..MbconvSettings::default()
    };
    let space = MbconvSpace::new(settings).unwrap();
    let task = TaskShape { channels: 3, size: 8, classes: 2 };
    // Stem 3→4 on 8×8: 108 + 8 params, 108·64 MACs. Block 4→8→4, stride 2 to 4×4: expansion 32 + 16,
    // 32·64; depthwise 72 + 16, 72·16; squeeze-and-excitation 8→2→8: 16 + 2 and 16 + 8, 16 + 16;
    // projection 32 + 8, 32·16; no shortcut (stride 2). Head 4→8 on 4×4: 32 + 16, 32·16; classifier 8→2: 18, 16.
    let a = space.parse("w1-r1:k3e2-se-relu").unwrap();
    let cost = space.cost(&a, &task).unwrap();
    assert_eq!(cost.params, 116 + 48 + 88 + 18 + 24 + 40 + 48 + 18);
    assert_eq!(cost.flops, 6912 + 2048 + 1152 + 32 + 512 + 512 + 16);
    let plan = space.plan(&a, &task, None);
    assert!(!plan.blocks[0].residual());
    assert_eq!(plan.last(), (4, 4));
    // Half the resolution: the stem runs on 4×4, the block's output is 2×2; a second block has the shortcut.
    let b = space.parse("w1-r0.5:k3e2-relu,k3e2-relu").unwrap();
    let plan = space.plan(&b, &task, None);
    assert_eq!(plan.resolution, 4);
    assert_eq!((plan.blocks[0].in_size, plan.blocks[0].out_size(), plan.blocks[1].out_size()), (4, 2, 2));
    assert!(plan.blocks[1].residual());
    // The network scale's stem overrides the space's.
    assert_eq!(space.plan(&b, &task, Some(6)).blocks[0].in_channels, 6);
}

#[test]
fn every_operator_of_every_network_is_in_the_space_wide_set() {
    let space = MbconvSpace::default();
    let task = TaskShape { channels: 1, size: 28, classes: 10 };
    let every = space.every_operator(&task, None);
    // Per width and resolution (3 × 3): the stem, the head, a resize unless at full resolution, and per stage
    // two block shapes × 3 kernels × 3 expansions × 2 (SE) × 2 activations; less what coincides: the resize
    // does not depend on the width (4 fewer), stage 1 keeps the stem's channels at stride 1 so its two shapes
    // are one (9 × 36 fewer), and 12>12 @14 at stride 1 is both stage 2's later block at width 0.5 and full
    // resolution and stage 1's block at width 0.75 and half resolution (36 fewer).
    assert_eq!(every.len(), 9 * 2 + 6 + 9 * 4 * 2 * 36 - 4 - 9 * 36 - 36);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for _ in 0..200 {
        let a = space.sample(&mut rng);
        let operators = space.plan(&a, &task, None).operators();
        assert_eq!(operators.len(), a.blocks().count() + 2 + usize::from(a.resolution_percent != 100));
        for operator in operators {
            assert!(every.contains(&operator), "{operator} of {}", space.print(&a));
        }
    }
    let a = arch(EXAMPLE);
    let keys: Vec<String> = space.plan(&a, &task, None).operators().iter().map(|o| o.to_string()).collect();
    assert_eq!(keys[0], "stem 1>12 @28");
    assert_eq!(keys[2], "block 12>12 @28 s1 k5 h72 se18 hswish");
    assert_eq!(keys.last().unwrap(), "head 48>128 @4 >10");
}

#[test]
fn a_codesign_space_searches_threads_and_batch_with_the_architecture() {
    let settings = MbconvSettings { threads: vec![2, 1], batches: vec![1, 16, 64], ..MbconvSettings::default() };
    let space = MbconvSpace::new(settings).unwrap();
    assert!(space.searches_deployment() && !MbconvSpace::default().searches_deployment());
    assert_eq!(space.settings().threads, vec![1, 2]);
    let text = EXAMPLE.replacen("w0.75-r1:", "w0.75-r1-t2-b16:", 1);
    let a = space.parse(&text).unwrap();
    assert_eq!(a.deployment, Some(Deployment { threads: 2, batch: 16, precision: Precision::F32 }));
    assert_eq!(space.print(&a), text);
    let json = space.to_json(&a);
    assert!(json.contains(r#""deployment":{"threads":2,"batch":16}"#), "{json}");
    assert_eq!(space.from_json(&json).unwrap(), a);
    assert!(!MbconvSpace::default().to_json(&arch(EXAMPLE)).contains("deployment"));
    // Two more decisions, read back; sampling covers every combination.
    assert_eq!(space.decision_sizes().len(), MbconvSpace::default().decision_sizes().len() + 2);
    assert_eq!(space.from_decisions(&space.to_decisions(&a)), a);
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
    let seen: HashSet<Deployment> = (0..200).filter_map(|_| space.sample(&mut rng).deployment).collect();
    assert_eq!(seen.len(), 6);
    // Neighbours change the threads or the batch alone; crossover keeps one parent's deployment.
    let deployments: HashSet<Deployment> = space
        .neighbours(&a)
        .into_iter()
        .filter(|n| n.stages == a.stages && n.width_percent == a.width_percent && n.resolution_percent == 100)
        .filter_map(|n| n.deployment)
        .collect();
    let expected =
        [(1, 16), (2, 1), (2, 64)].map(|(threads, batch)| Deployment { threads, batch, precision: Precision::F32 });
    assert_eq!(deployments, HashSet::from(expected));
    let b = space.parse(&EXAMPLE.replacen("w0.75-r1:", "w1-r0.5-t1-b1:", 1)).unwrap();
    for _ in 0..20 {
        let child = space.crossover(&a, &b, &mut rng);
        assert!(child.deployment == a.deployment || child.deployment == b.deployment);
        space.validate(&child).unwrap();
    }
    // The same network under another deployment is another candidate, with the same cost per image.
    let task = TaskShape { channels: 1, size: 28, classes: 10 };
    let other =
        MbconvArch { deployment: Some(Deployment { threads: 1, batch: 1, precision: Precision::F32 }), ..a.clone() };
    assert_ne!(space.canonical(&a), space.canonical(&other));
    assert_eq!(space.cost(&a, &task), space.cost(&other, &task));
}

#[test]
fn deployments_are_checked_against_the_space() {
    let space = MbconvSpace::new(MbconvSettings { threads: vec![1, 2], ..MbconvSettings::default() }).unwrap();
    assert_eq!(space.settings().batches, vec![1]);
    let with = |header: &str| EXAMPLE.replacen("w0.75-r1:", header, 1);
    let cases = [
        (space.clone(), with("w0.75-r1:"), "has no deployment; the space searches threads and batch"),
        (MbconvSpace::default(), with("w0.75-r1-t1-b1:"), "has a deployment (-t…-b…); the space searches none"),
        (space.clone(), with("w0.75-r1-t4-b1:"), "4 threads is not among the choices (1, 2)"),
        (space.clone(), with("w0.75-r1-t1-b8:"), "batch 8 is not among the choices (1)"),
        (space.clone(), with("w0.75-r1-t1:"), "after the resolution comes ':' or a deployment like -t2-b16"),
        (space.clone(), with("w0.75-r1-t1-b1-x:"), "unknown precision 'x' (expected one of f32, f16, bf16)"),
        (space.clone(), with("w0.75-r1-t1-b1-f16:"), "precision f16 is not among the choices (f32)"),
        (space.clone(), with("w0.75-r1-t1-b1-f16-x:"), "after the resolution comes ':' or a deployment"),
        (space.clone(), with("w0.75-r1-tx-b1:"), "threads 'tx' must look like t2"),
        (space.clone(), with("w0.75-r1-t1-b0:"), "batch 'b0' must look like b2"),
    ];
    for (space, text, expected) in cases {
        let err = space.parse(&text).unwrap_err();
        assert!(err.message.contains(expected), "{text}: {}", err.message);
    }
    for (settings, expected) in [
        (MbconvSettings { threads: vec![0], ..MbconvSettings::default() }, "`threads`: 0 is not a thread count"),
        (MbconvSettings { batches: vec![4, 4], ..MbconvSettings::default() }, "`batches`: 4 is listed twice"),
        (
            MbconvSettings { precisions: vec!["f8".into()], ..MbconvSettings::default() },
            "`precisions`: unknown precision 'f8' (expected one of f32, f16, bf16)",
        ),
        (
            MbconvSettings { precisions: vec!["f16".into(), "f16".into()], ..MbconvSettings::default() },
            "`precisions`: 'f16' is listed twice",
        ),
    ] {
        let err = MbconvSpace::new(settings).unwrap_err();
        assert!(err.message.contains(expected), "{}", err.message);
    }
}

#[test]
fn a_codesign_space_can_search_the_precision_too() {
    let precisions = ["bf16", "f32", "f16"].map(String::from).to_vec();
    let space = MbconvSpace::new(MbconvSettings { precisions, ..MbconvSettings::default() }).unwrap();
    assert!(space.searches_deployment());
    let settings = space.settings();
    assert_eq!((&settings.threads, &settings.batches), (&vec![1], &vec![1]));
    assert_eq!(settings.precisions, ["f32", "f16", "bf16"]);
    assert_eq!(MbconvSpace::new(settings).unwrap(), space, "the settings read back to the same space");
    let text = EXAMPLE.replacen("w0.75-r1:", "w0.75-r1-t1-b1-bf16:", 1);
    let a = space.parse(&text).unwrap();
    assert_eq!(a.deployment.unwrap().precision, Precision::Bf16);
    assert_eq!(space.print(&a), text);
    let json = space.to_json(&a);
    assert!(json.contains(r#""deployment":{"threads":1,"batch":1,"precision":"bf16"}"#), "{json}");
    assert_eq!(space.from_json(&json).unwrap(), a);
    // f32 is written by omission: the forms of a space without precisions are unchanged.
    let f32 = space.parse(&EXAMPLE.replacen("w0.75-r1:", "w0.75-r1-t1-b1:", 1)).unwrap();
    assert_eq!(f32.deployment.unwrap().precision, Precision::F32);
    assert!(!space.to_json(&f32).contains("precision"));
    // Three more decisions (threads, batch, precision), read back; sampling draws every precision;
    // a neighbour changes the precision alone.
    assert_eq!(space.decision_sizes().len(), MbconvSpace::default().decision_sizes().len() + 3);
    assert_eq!(space.from_decisions(&space.to_decisions(&a)), a);
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
    let seen: HashSet<Precision> =
        (0..100).filter_map(|_| space.sample(&mut rng).deployment).map(|d| d.precision).collect();
    assert_eq!(seen.len(), 3);
    let precisions: HashSet<Precision> = space
        .neighbours(&a)
        .into_iter()
        .filter(|n| n.stages == a.stages && n.width_percent == a.width_percent && n.resolution_percent == 100)
        .filter_map(|n| n.deployment.map(|d| d.precision))
        .collect();
    assert_eq!(precisions, HashSet::from([Precision::F32, Precision::F16]));
    assert_ne!(space.canonical(&a), space.canonical(&f32));
}
