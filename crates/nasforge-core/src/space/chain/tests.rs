//! Unit tests of the chain space: printed and JSON forms and their errors, canonical form, variation,
//! decisions and settings, and fuzzing of the parser. The network's shapes and cost are tested in `network.rs`.

use super::variation::clamp_skips;
use super::*;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::collections::{HashMap, HashSet};

const EXAMPLE: &str = "w0.75:conv3x3-c32-relu-bn-d0.1|bottleneck-k5-c64-swish-gn-s1|maxpool3x3-s2|\
                       inverted_residual-k3-c16-hardswish-ln|depthwise_conv3x3-gelu-bn-d0.2-s3";

fn space() -> ChainSpace {
    ChainSpace::default()
}

pub(super) fn arch(text: &str) -> ChainArch {
    space().parse(text).unwrap_or_else(|e| panic!("{text}: {}", e.message))
}

fn canonical(text: &str) -> String {
    space().canonical(&arch(text))
}

fn samples(count: usize, seed: u64) -> Vec<ChainArch> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    (0..count).map(|_| space().sample(&mut rng)).collect()
}

#[test]
fn parses_and_prints_the_example() {
    let a = arch(EXAMPLE);
    assert_eq!(a.width_percent, 75);
    assert_eq!(a.layers.len(), 5);
    assert_eq!(
        a.layers[0],
        ChainLayer {
            kind: LayerKind::Conv3x3,
            channels: Some(32),
            kernel: None,
            activation: Some(Activation::Relu),
            norm: Some(Norm::Batch),
            dropout_percent: 10,
            skip: None,
        }
    );
    assert_eq!((a.layers[1].kernel, a.layers[1].norm, a.layers[1].skip), (Some(5), Some(Norm::Group), Some(1)));
    assert_eq!((a.layers[2].channels, a.layers[2].activation, a.layers[2].skip), (None, None, Some(2)));
    assert_eq!(a.layers[4].dropout_percent, 20);
    assert_eq!(space().print(&a), EXAMPLE);
    // A zero dropout may be written; it is not printed.
    assert_eq!(arch("w1:identity-d0|maxpool3x3"), arch("w1:identity|maxpool3x3"));
    assert_eq!(space().print(&arch(" w1.00:identity-d0 | maxpool3x3 ")), "w1:identity|maxpool3x3");
}

#[test]
fn random_chains_round_trip_through_text_json_and_decisions() {
    let space = space();
    let sizes = space.decision_sizes();
    assert_eq!(sizes.len(), 2 + 7 * 8);
    let mut kinds = HashSet::new();
    let mut depths = HashSet::new();
    let mut skips = 0;
    for a in samples(1000, 1) {
        space.validate(&a).unwrap_or_else(|e| panic!("{a:?}: {}", e.message));
        assert_eq!(space.parse(&space.print(&a)).as_ref(), Ok(&a), "{}", space.print(&a));
        assert_eq!(space.from_json(&space.to_json(&a)).as_ref(), Ok(&a), "{}", space.to_json(&a));
        let decisions = space.to_decisions(&a);
        assert!(decisions.iter().zip(&sizes).all(|(d, size)| d < size), "{decisions:?}");
        assert_eq!(space.from_decisions(&decisions), a);
        let onehot = space.encode_onehot(&a);
        assert_eq!(onehot.len(), sizes.iter().sum::<usize>());
        assert_eq!(onehot.iter().sum::<f64>(), sizes.len() as f64);
        assert_eq!(space.encode_path(&a), None);
        kinds.extend(a.layers.iter().map(|l| l.kind));
        depths.insert(a.layers.len());
        skips += a.layers.iter().filter(|l| l.skip.is_some()).count();
    }
    assert_eq!(kinds.len(), 9, "every layer type is sampled");
    assert_eq!(depths, (2..=8).collect(), "every depth is sampled");
    assert!(skips > 1000, "skips are sampled: {skips}");
}

#[test]
fn json_form_is_readable_and_errors_name_the_field() {
    let a = arch("w1:conv3x3-c32-relu-bn-d0.1|bottleneck-k5-c64-swish-gn|maxpool3x3-s2");
    assert_eq!(
        space().to_json(&a),
        concat!(
            r#"{"width_multiplier":1.0,"layers":["#,
            r#"{"type":"conv3x3","channels":32,"activation":"relu","norm":"bn","dropout":0.1},"#,
            r#"{"type":"bottleneck","kernel":5,"channels":64,"activation":"swish","norm":"gn"},"#,
            r#"{"type":"maxpool3x3","skip":2}]}"#
        )
    );
    let conv = r#"{"type":"conv3x3","channels":32,"activation":"relu","norm":"bn"}"#;
    let cases = [
        (
            r#"{"type":"conv3x3","channels":32,"activation":"tanh","norm":"bn"}"#,
            "field `layers[1].activation`: unknown activation 'tanh' (expected one of relu, swish, hardswish, \
             gelu)",
        ),
        (
            r#"{"type":"conv3x3","channels":32,"activation":"relu","norm":"batchnorm"}"#,
            "field `layers[1].norm`: unknown norm 'batchnorm' (expected one of bn, ln, gn)",
        ),
        (r#"{"type":"conv"}"#, "field `layers[1].type`: unknown layer type 'conv'"),
        (r#"{"type":"identity","dropout":0.125}"#, "field `layers[1].dropout`: 0.125 is not a whole percentage"),
        (r#"{"type":"identity","activaton":"relu"}"#, "unknown field `activaton`"),
        (
            r#"{"type":"maxpool3x3","channels":32}"#,
            "chain layer 2: maxpool3x3 takes no channels (it keeps its input's channels)",
        ),
        (
            r#"{"type":"conv3x3","kernel":5,"channels":32,"activation":"relu","norm":"bn"}"#,
            "chain layer 2: conv3x3 takes no kernel",
        ),
        (r#"{"type":"conv3x3","channels":32,"activation":"relu"}"#, "chain layer 2: conv3x3 needs a norm"),
        (
            r#"{"type":"conv3x3","channels":48,"activation":"relu","norm":"bn"}"#,
            "chain layer 2: channels 48 is not among the choices (16, 32, 64, 128)",
        ),
        (r#"{"type":"identity","skip":0}"#, "chain layer 2: skip distance 0"),
        (r#"{"type":"identity","skip":3}"#, "chain layer 2: skip distance 3 reaches before the stem"),
    ];
    for (layer, expected) in cases {
        let json = format!(r#"{{"width_multiplier":1.0,"layers":[{conv},{layer}]}}"#);
        let err = space().from_json(&json).unwrap_err();
        assert!(err.message.contains(expected), "{layer}: {}", err.message);
    }
    let err = space().from_json(&format!(r#"{{"width_multiplier":0.333,"layers":[{conv},{conv}]}}"#)).unwrap_err();
    assert!(err.message.contains("field `width_multiplier`: 0.333 is not a whole percentage"), "{}", err.message);
    let err = space().from_json(&format!(r#"{{"width_multiplier":2,"layers":[{conv},{conv}]}}"#)).unwrap_err();
    assert!(
        err.message.contains("width multiplier 2 is not among the choices (0.5, 0.75, 1, 1.25)"),
        "{}",
        err.message
    );
}

#[test]
fn rejects_malformed_strings_with_the_reason() {
    let cases = [
        ("", "chain architecture '': expected 'w<width multiplier>:' before the layers"),
        ("conv3x3-c32-relu-bn|identity", "expected 'w<width multiplier>:'"),
        ("x1:identity|identity", "width multiplier 'x1' must look like w1 or w0.75"),
        ("w0.333:identity|identity", "width multiplier 'w0.333'"),
        ("w0.6:identity|identity", "width multiplier 0.6 is not among the choices (0.5, 0.75, 1, 1.25)"),
        ("w1:identity", "depth 1 is outside the space's 2..=8 layers"),
        (
            "w1:identity|conv3x3-c32-tanh-bn",
            "chain layer 2: unknown activation 'tanh' (expected one of relu, swish, hardswish, gelu)",
        ),
        (
            "w1:conv3x3-c32-relu-batchnorm|identity",
            "chain layer 1: unknown norm 'batchnorm' (expected one of bn, ln, gn)",
        ),
        ("w1:identity|conv5x5-c32-relu-bn", "chain layer 2: unknown layer type 'conv5x5' (expected one of conv3x3, "),
        ("w1:identity||identity", "chain layer 2: unknown layer type ''"),
        ("w1:bottleneck-c64-relu-bn|identity", "chain layer 1: expected the kernel k<size> of bottleneck, found 'c64'"),
        ("w1:conv3x3-relu-bn|identity", "chain layer 1: expected the channels c<count> of conv3x3, found 'relu'"),
        ("w1:conv3x3-c-1-relu-bn|identity", "chain layer 1: expected the channels c<count> of conv3x3, found 'c'"),
        ("w1:conv3x3-c32-relu|identity", "chain layer 1: conv3x3 needs a norm"),
        ("w1:conv3x3|identity", "chain layer 1: conv3x3 needs channels c<count>"),
        (
            "w1:conv3x3-k5-c32-relu-bn|identity",
            "chain layer 1: conv3x3 takes no kernel 'k5' (its type fixes its kernel)",
        ),
        ("w1:maxpool3x3-c32|identity", "chain layer 1: maxpool3x3 takes no channels 'c32'"),
        ("w1:identity|identity-swish", "chain layer 2: identity takes no activation or norm 'swish'"),
        ("w1:conv3x3-c48-relu-bn|identity", "chain layer 1: channels 48 is not among the choices (16, 32, 64, 128)"),
        ("w1:bottleneck-k9-c32-relu-bn|identity", "chain layer 1: kernel 9 is not among the choices (3, 5, 7)"),
        ("w1:identity-d0.5|identity", "chain layer 1: dropout 0.5 is not among the choices (0, 0.1, 0.2, 0.3)"),
        ("w1:identity-d0.125|identity", "chain layer 1: 'd0.125' must be a dropout in whole percent"),
        ("w1:identity|identity-s3", "chain layer 2: skip distance 3 reaches before the stem (at most 2 at layer 2)"),
        (
            "w1:identity|identity|identity|identity|identity-s4",
            "chain layer 5: skip distance 4 is above the space's maximum 3",
        ),
        ("w1:identity-s0|identity", "chain layer 1: 's0' must be a skip distance of 1 or more"),
        ("w1:identity|identity-s1-d0.1", "chain layer 2: unexpected field 'd0.1'"),
        ("w1:conv3x3-c32-relu-bn-x|identity", "chain layer 1: unexpected field 'x'"),
    ];
    for (text, expected) in cases {
        let err = space().parse(text).unwrap_err();
        assert!(err.message.contains(expected), "{text}: {}", err.message);
    }
}

#[test]
fn canonical_form_merges_equivalent_chains() {
    assert_eq!(canonical("w0.5:conv3x3-c32-relu-bn-d0.1|maxpool3x3-s2"), "stem|conv3x3-c16-relu-bn-d0.1|maxpool3x3+0");
    // The width multiplier only matters through the channels it gives.
    assert_eq!(canonical("w0.5:conv3x3-c32-relu-bn|maxpool3x3"), canonical("w1:conv3x3-c16-relu-bn|maxpool3x3"));
    assert_eq!(
        canonical("w0.5:maxpool3x3|depthwise_conv3x3-relu-bn"),
        canonical("w1.25:maxpool3x3|depthwise_conv3x3-relu-bn")
    );
    // An identity without dropout or skip is no layer; skips read the same tensor through it.
    assert_eq!(
        canonical("w1:conv3x3-c32-relu-bn|identity|conv1x1-c64-relu-bn-s2"),
        canonical("w1:conv3x3-c32-relu-bn|conv1x1-c64-relu-bn-s1")
    );
    assert_eq!(canonical("w1:identity|conv3x3-c32-relu-bn|identity"), canonical("w1:conv3x3-c32-relu-bn|identity"));
    assert_eq!(canonical("w1:identity|identity|conv3x3-c32-relu-bn-s3"), "stem|conv3x3-c32-relu-bn+0");
    assert_eq!(canonical("w1:identity|identity|conv3x3-c32-relu-bn-s1"), "stem|conv3x3-c32-relu-bn+0");
    assert_eq!(canonical("w1:identity|identity"), "stem");
    // A dropout-only identity is the dropout of the layer before it.
    assert_eq!(
        canonical("w1:conv3x3-c32-relu-bn|identity-d0.1|maxpool3x3"),
        canonical("w1:conv3x3-c32-relu-bn-d0.1|maxpool3x3")
    );
    assert_eq!(
        canonical("w1:conv3x3-c32-relu-bn|identity|identity-d0.1|maxpool3x3-s1"),
        canonical("w1:conv3x3-c32-relu-bn-d0.1|maxpool3x3-s1")
    );
}

#[test]
fn canonical_form_keeps_different_chains_apart() {
    let different = [
        ("w0.75:conv3x3-c32-relu-bn|identity", "w1:conv3x3-c32-relu-bn|identity"),
        ("w1:bottleneck-k3-c32-relu-bn|identity", "w1:bottleneck-k5-c32-relu-bn|identity"),
        ("w1:conv3x3-c32-relu-bn|identity", "w1:conv3x3-c32-gelu-bn|identity"),
        ("w1:conv3x3-c32-relu-bn|identity", "w1:conv3x3-c32-relu-ln|identity"),
        ("w1:conv3x3-c32-relu-bn|identity", "w1:dilated_conv3x3-c32-relu-bn|identity"),
        ("w1:maxpool3x3|identity", "w1:avgpool3x3|identity"),
        ("w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn-s1", "w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn-s2"),
        ("w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn-s1", "w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn"),
        // x + x is not x.
        ("w1:conv3x3-c32-relu-bn|identity-s1", "w1:conv3x3-c32-relu-bn|identity"),
        ("w1:conv3x3-c32-relu-bn-d0.1|identity", "w1:conv3x3-c32-relu-bn-d0.2|identity"),
        // Dropout before a skip is added is not dropout after it.
        ("w1:conv3x3-c32-relu-bn-s1|identity-d0.1", "w1:conv3x3-c32-relu-bn-d0.1-s1|identity"),
        // A later skip reads the conv's output without the dropout.
        ("w1:conv3x3-c32-relu-bn|identity-d0.1|maxpool3x3-s2", "w1:conv3x3-c32-relu-bn-d0.1|maxpool3x3-s1"),
        // The stem has no dropout to fold into.
        ("w1:identity-d0.1|identity", "w1:identity|identity"),
        ("w1:maxpool3x3|conv1x1-c16-relu-bn", "w1:conv1x1-c16-relu-bn|maxpool3x3"),
    ];
    for (a, b) in different {
        assert_ne!(canonical(a), canonical(b), "{a} vs {b}");
    }
}

#[test]
fn chains_sharing_a_key_build_the_same_network() {
    let space = space();
    let network = ChainNetwork::default();
    let mut costs: HashMap<String, NetworkCost> = HashMap::new();
    let mut merged = 0;
    for a in samples(300, 2) {
        for b in std::iter::once(a.clone()).chain(space.neighbours(&a)) {
            let cost = network.cost(&b);
            if let Some(&seen) = costs.get(&space.canonical(&b)) {
                assert_eq!(seen, cost, "{}", space.print(&b));
                merged += 1;
            }
            costs.insert(space.canonical(&b), cost);
        }
    }
    assert!(merged > 100, "equivalent chains are found: {merged}");
}

#[test]
fn neighbours_are_valid_distinct_single_steps() {
    let space = space();
    let a = arch("w1:conv3x3-c32-relu-bn|maxpool3x3-s2");
    let neighbours = space.neighbours(&a);
    // Types 2×8, channels 3, activation 3, norm 2, dropout 2×3, skip 1 + 2, two deeper copies, width 3.
    assert_eq!(neighbours.len(), 38);
    assert_eq!(space.print(&neighbours[0]), "w1:conv1x1-c32-relu-bn|maxpool3x3-s2");
    assert!(neighbours.contains(&arch("w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn-s2")), "retyped with defaults");
    assert!(neighbours.contains(&arch("w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn|maxpool3x3-s2")));
    assert!(neighbours.contains(&arch("w0.5:conv3x3-c32-relu-bn|maxpool3x3-s2")));
    let removed = space.neighbours(&arch("w1:identity|conv3x3-c32-relu-bn|maxpool3x3-s3"));
    assert!(removed.contains(&arch("w1:conv3x3-c32-relu-bn|maxpool3x3-s2")), "skip clamped to the stem");
    let mut rng = Pcg64Mcg::seed_from_u64(3);
    for a in samples(300, 3) {
        let neighbours = space.neighbours(&a);
        assert_eq!(neighbours.iter().collect::<HashSet<_>>().len(), neighbours.len());
        for n in &neighbours {
            assert_ne!(n, &a);
            let valid = space.validate(n);
            assert!(valid.is_ok(), "{} → {}: {valid:?}", space.print(&a), space.print(n));
        }
        for _ in 0..5 {
            assert!(neighbours.contains(&space.mutate(&a, &mut rng)));
        }
    }
}

#[test]
fn mutation_changes_every_kind_of_decision() {
    let space = space();
    let a = arch(EXAMPLE);
    let mut rng = Pcg64Mcg::seed_from_u64(4);
    let mut seen = HashSet::new();
    for _ in 0..2000 {
        let m = space.mutate(&a, &mut rng);
        space.validate(&m).unwrap();
        if m.layers.len() != a.layers.len() {
            seen.insert(if m.layers.len() > a.layers.len() { "add" } else { "remove" });
            continue;
        }
        if m.width_percent != a.width_percent {
            seen.insert("width");
        }
        for (x, y) in a.layers.iter().zip(&m.layers) {
            for (name, changed) in [
                ("type", x.kind != y.kind),
                ("channels", x.kind == y.kind && x.channels != y.channels),
                ("kernel", x.kernel != y.kernel && x.kind == y.kind),
                ("activation", x.kind == y.kind && x.activation != y.activation),
                ("norm", x.kind == y.kind && x.norm != y.norm),
                ("dropout", x.dropout_percent != y.dropout_percent),
                ("skip", x.skip != y.skip),
            ] {
                if changed {
                    seen.insert(name);
                }
            }
        }
    }
    assert_eq!(seen.len(), 10, "{seen:?}");
}

#[test]
fn crossover_is_single_point_on_layers_and_repaired() {
    let space = space();
    let mut rng = Pcg64Mcg::seed_from_u64(5);
    let parents = samples(600, 5);
    let mut new_depths = 0;
    for pair in parents.chunks(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let child = space.crossover(a, b, &mut rng);
        space.validate(&child).unwrap_or_else(|e| panic!("{}: {}", space.print(&child), e.message));
        assert!(child.width_percent == a.width_percent || child.width_percent == b.width_percent);
        let splices = [(a, b), (b, a)].into_iter().any(|(head, tail)| {
            (1..=head.layers.len()).any(|p| {
                (0..=tail.layers.len()).any(|q| {
                    let mut layers: Vec<_> = head.layers[..p].iter().chain(&tail.layers[q..]).cloned().collect();
                    clamp_skips(&mut layers);
                    layers == child.layers
                })
            })
        });
        assert!(splices, "{} × {} → {}", space.print(a), space.print(b), space.print(&child));
        if child.layers.len() != a.layers.len() && child.layers.len() != b.layers.len() {
            new_depths += 1;
        }
    }
    assert!(new_depths > 30, "crossover mixes depths: {new_depths}");
    // A tail layer whose skip would reach before the stem reads the stem instead.
    let a = arch("w1:identity|identity");
    let b = arch("w1:identity|identity|identity|identity|identity|identity-s3");
    let children: HashSet<_> = (0..200).map(|_| space.crossover(&a, &b, &mut rng)).collect();
    assert!(children.contains(&arch("w1:identity|identity-s2")));
}

#[test]
fn any_decision_vector_gives_a_valid_chain() {
    let space = space();
    let sizes = space.decision_sizes();
    let mut rng = Pcg64Mcg::seed_from_u64(6);
    for _ in 0..1000 {
        let decisions: Vec<usize> = sizes.iter().map(|&size| rng.random_range(0..size)).collect();
        let a = space.from_decisions(&decisions);
        space.validate(&a).unwrap_or_else(|e| panic!("{decisions:?}: {}", e.message));
        assert_eq!(space.from_decisions(&space.to_decisions(&a)), a);
    }
    // Depth 2 (decision 0), first layer identity with skip distance 3: clamped to the stem (distance 1).
    let mut decisions = vec![0; sizes.len()];
    decisions[2] = LayerKind::Identity.index();
    decisions[2 + 6] = 3;
    let a = space.from_decisions(&decisions);
    assert_eq!(space.print(&a), "w0.5:identity-s1|conv3x3-c16-relu-bn");
}

#[test]
fn settings_are_checked_and_read_from_json() {
    type Edit = fn(&mut ChainSettings);
    let cases: [(Edit, &str); 9] = [
        (|s| s.min_depth = 0, "`min_depth`: must be at least 1"),
        (|s| s.max_depth = 1, "`max_depth`: 1 is below min_depth 2"),
        (|s| s.channels.clear(), "`channels`: the list is empty"),
        (|s| s.channels = vec![16, 0], "`channels`: 0 must be between 1 and 65536"),
        (|s| s.channels = vec![16, 32, 16], "`channels`: 16 is listed twice"),
        (|s| s.kernels = vec![3, 4], "`kernels`: 4 is not a kernel size (expected 1, 3, 5 or 7)"),
        (|s| s.dropouts = vec![0.0, 1.0], "`dropouts`: 1 must be at least 0 and below 1"),
        (|s| s.dropouts = vec![0.125], "`dropouts`: 0.125 must be at least 0 and below 1 and a whole percentage"),
        (|s| s.width_multipliers = vec![0.0], "`width_multipliers`: 0 must be above 0 and at most 4"),
    ];
    for (edit, expected) in cases {
        let mut settings = ChainSettings::default();
        edit(&mut settings);
        let err = ChainSpace::new(settings).unwrap_err();
        assert!(err.message.contains(expected), "{expected}: {}", err.message);
    }
    let space: ChainSpace =
        serde_json::from_str(r#"{"max_depth": 12, "channels": [64, 16], "kernels": [1, 3]}"#).unwrap();
    let settings = space.settings();
    assert_eq!((settings.min_depth, settings.max_depth, settings.max_skip_distance), (2, 12, 3));
    assert_eq!((settings.channels, settings.kernels), (vec![16, 64], vec![1, 3]));
    assert_eq!(serde_json::from_str::<ChainSpace>(&serde_json::to_string(&space).unwrap()).unwrap(), space);
    assert!(space.parse("w1:bottleneck-k1-c64-relu-bn|identity").is_ok());
    let err = serde_json::from_str::<ChainSpace>(r#"{"kernels": [2]}"#).unwrap_err().to_string();
    assert!(err.contains("`kernels`: 2 is not a kernel size"), "{err}");
    let err = serde_json::from_str::<ChainSpace>(r#"{"depth": 3}"#).unwrap_err().to_string();
    assert!(err.contains("unknown field `depth`"), "{err}");
    // No skips at all.
    let flat = ChainSpace::new(ChainSettings { max_skip_distance: 0, ..ChainSettings::default() }).unwrap();
    let mut rng = Pcg64Mcg::seed_from_u64(8);
    assert!((0..200).all(|_| flat.sample(&mut rng).layers.iter().all(|l| l.skip.is_none())));
    assert!(flat.parse("w1:identity|identity-s1").unwrap_err().message.contains("above the space's maximum 0"));
}

/// Parsing never panics, and what parses is valid and prints back to itself.
fn parses_consistently(text: &str) -> Result<(), TestCaseError> {
    let space = space();
    if let Ok(a) = space.parse(text) {
        prop_assert!(space.validate(&a).is_ok());
        prop_assert_eq!(space.parse(&space.print(&a)), Ok(a.clone()));
        prop_assert_eq!(space.from_json(&space.to_json(&a)), Ok(a));
    }
    Ok(())
}

fn token() -> impl Strategy<Value = String> {
    let words: Vec<String> = LayerKind::ALL
        .iter()
        .map(|k| k.name())
        .chain(Activation::ALL.iter().map(|a| a.name()))
        .chain(Norm::ALL.iter().map(|n| n.name()))
        .chain(["w1:", "w0.5:", "|", "-", ":", "."])
        .map(String::from)
        .collect();
    prop_oneof![3 => prop::sample::select(words), 2 => "[kcdsw][0-9.]{0,4}", 1 => "[a-z0-9|:. -]{1,3}"]
}

/// A printed chain cut into fields and the separators between them.
fn pieces(text: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    for c in text.chars() {
        if matches!(c, '-' | '|' | ':') {
            pieces.extend([c.to_string(), String::new()]);
        } else {
            pieces.last_mut().expect("never empty").push(c);
        }
    }
    pieces
}

const FIELDS: [&str; 22] = [
    "conv1x1",
    "identity",
    "bottleneck",
    "maxpool3x3",
    "k1",
    "k5",
    "k9",
    "c16",
    "c48",
    "c",
    "gelu",
    "swish",
    "ln",
    "gn",
    "d0.2",
    "d0.5",
    "d0.05",
    "s1",
    "s3",
    "s9",
    "w0.5",
    "",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn parse_of_chains_with_a_replaced_field_never_panics(
        seed in any::<u64>(),
        at in any::<usize>(),
        field in prop::sample::select(FIELDS.to_vec()),
    ) {
        let mut pieces = pieces(&space().print(&space().sample(&mut Pcg64Mcg::seed_from_u64(seed))));
        // Fields sit at even places, separators between them.
        let at = 2 * (at % pieces.len().div_ceil(2));
        pieces[at] = field.to_string();
        parses_consistently(&pieces.concat())?;
    }

    #[test]
    fn parse_of_arbitrary_text_never_panics(text in any::<String>()) {
        parses_consistently(&text)?;
    }

    #[test]
    fn parse_of_token_soup_never_panics(tokens in prop::collection::vec(token(), 0..30)) {
        parses_consistently(&tokens.concat())?;
    }

    #[test]
    fn parse_of_damaged_chains_never_panics(
        seed in any::<u64>(),
        at in any::<usize>(),
        edit in 0..3u8,
        c in any::<char>(),
    ) {
        let text = space().print(&space().sample(&mut Pcg64Mcg::seed_from_u64(seed)));
        let mut chars: Vec<char> = text.chars().collect();
        let at = at % (chars.len() + 1);
        match edit {
            0 if at < chars.len() => { chars.remove(at); }
            1 => chars.insert(at, c),
            _ if at < chars.len() => chars[at] = c,
            _ => {}
        }
        parses_consistently(&chars.into_iter().collect::<String>())?;
    }
}

#[test]
fn a_network_lists_its_operators_as_they_run() {
    let network = ChainNetwork { input_channels: 1, input_size: 8, classes: 10, stem_channels: 4 };
    let a = arch("w0.5:conv3x3-c32-swish-ln|maxpool3x3-s1|inverted_residual-k5-c16-relu-bn|identity-s3");
    let keys: Vec<String> = network.operators(&a).iter().map(ToString::to_string).collect();
    let expected = [
        "stem 1>4 @8",
        // conv3x3 to 16 channels (32 at width 0.5).
        "conv 4>16 k3 d1 @8",
        "norm ln 16ch @8",
        "activation swish 16ch @8",
        // The pool halves the side; its residual is pooled to it and added.
        "maxpool 16ch @8",
        "skip pool 16ch @8>4",
        "sum 16ch @4",
        // The inverted residual: 1×1 to 6× its input, 5×5 depthwise, a linear 1×1 to 8.
        "conv 16>96 k1 d1 @4",
        "norm bn 96ch @4",
        "activation relu 96ch @4",
        "conv 96>96 k5 d1 depthwise @4",
        "norm bn 96ch @4",
        "activation relu 96ch @4",
        "conv 96>8 k1 d1 @4",
        "norm bn 8ch @4",
        // The identity computes nothing; its skip from the first layer's output (16 channels at 8×8) is pooled,
        // projected to 8 channels and added.
        "skip pool 16ch @8>4",
        "conv 16>8 k1 d1 @4",
        "norm bn 8ch @4",
        "sum 8ch @4",
        "head 8ch @4 >10",
    ];
    assert_eq!(keys, expected);
}

#[test]
fn every_operator_of_random_networks_is_in_the_space_wide_set() {
    let network = ChainNetwork { input_channels: 1, input_size: 28, classes: 10, stem_channels: 16 };
    let space = ChainSpace::default();
    let every = network.every_operator(&space);
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(8);
    for _ in 0..3000 {
        let a = space.sample(&mut rng);
        let missing: Vec<String> =
            network.operators(&a).iter().filter(|o| !every.contains(o)).map(ToString::to_string).collect();
        assert!(missing.is_empty(), "{}: {missing:?}", space.print(&a));
    }
}
