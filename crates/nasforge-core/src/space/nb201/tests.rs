//! Unit tests of the NAS-Bench-201 space: printed and JSON forms, canonical form, variation and encodings,
//! and fuzzing of the parsers. The network's cost is tested next to it, in `network.rs`.

use super::*;
use rand::SeedableRng;
use std::collections::HashSet;

const EXAMPLE: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";

pub(super) fn arch(text: &str) -> Nb201Arch {
    Nb201Space.parse(text).unwrap()
}

#[test]
fn parses_and_prints_the_benchmark_format() {
    let a = arch(EXAMPLE);
    assert_eq!(a.ops[0], Nb201Op::NorConv3x3);
    assert_eq!(a.ops[2], Nb201Op::AvgPool3x3);
    assert_eq!(a.ops[5], Nb201Op::SkipConnect);
    assert_eq!(Nb201Space.print(&a), EXAMPLE);
    for a in Nb201Space::all() {
        assert_eq!(Nb201Space.parse(&Nb201Space.print(&a)).unwrap(), a);
        assert_eq!(Nb201Arch::from_index(a.index()), a);
    }
}

#[test]
fn json_round_trips_and_names_bad_fields() {
    let a = arch(EXAMPLE);
    let json = Nb201Space.to_json(&a);
    assert!(json.contains("\"nodes\""), "{json}");
    assert_eq!(Nb201Space.from_json(&json).unwrap(), a);
    let err = Nb201Space.from_json(r#"{"nodes": [["conv"], ["none","none"], ["none","none","none"]]}"#);
    assert!(err.unwrap_err().message.contains("nodes[0][0]"));
    let err = Nb201Space.from_json(r#"{"nodes": [["none"], ["none"], ["none","none","none"]]}"#);
    assert!(err.unwrap_err().message.contains("node 2 takes 2 inputs"));
}

#[test]
fn rejects_malformed_strings_with_the_reason() {
    let cases = [
        ("", "expected 3 nodes"),
        ("|none~0|+|none~0|none~1|", "expected 3 nodes"),
        ("|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv_9x9'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 takes 2 inputs"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "below 1"),
        ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "twice"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must look like"),
        ("|none|+|none~0|none~1|+|none~0|none~1|none~2|", "not op~input"),
    ];
    for (text, expected) in cases {
        let err = Nb201Space.parse(text).unwrap_err();
        assert!(err.message.contains(expected), "{text}: {}", err.message);
    }
}

#[test]
fn canonical_form_merges_equivalent_cells() {
    let canonical = |text: &str| Nb201Space.canonical(&arch(text));
    // Edges out of a node that never reaches the output do not matter.
    assert_eq!(
        canonical("|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|none~2|"),
        canonical("|nor_conv_1x1~0|+|skip_connect~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"),
    );
    // A node fed only by `none` edges is zero, so what it feeds vanishes.
    assert_eq!(
        canonical("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|"),
        canonical("|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"),
    );
    // Nodes 1 and 2 swap roles when they do not feed each other.
    assert_eq!(
        canonical("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_1x1~1|skip_connect~2|"),
        canonical("|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|nor_conv_1x1~2|"),
    );
    // A skip connection is the identity: conv after a skip is conv of the input.
    assert_eq!(
        canonical("|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|"),
        canonical("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"),
    );
    // Cells whose output is always zero are one network.
    assert_eq!(canonical("|nor_conv_3x3~0|+|nor_conv_3x3~1|none~0|+|none~0|none~1|none~2|"), "0");
    // Different operations, or a different wiring, stay different.
    assert_ne!(
        canonical("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"),
        canonical("|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|"),
    );
    assert_ne!(
        canonical(EXAMPLE),
        canonical("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    );
    // Two parallel convolutions are two sets of weights: not one convolution.
    assert_ne!(
        canonical("|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|"),
        canonical("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"),
    );
}

#[test]
fn canonical_classes_of_the_whole_space() {
    let classes: HashSet<String> = Nb201Space::all().map(|a| Nb201Space.canonical(&a)).collect();
    // Reported in the README; any change to the canonical rules must be deliberate.
    assert_eq!(classes.len(), 4930, "distinct networks among the 15,625 cells");
}

#[test]
fn derives_the_strongest_operation_of_each_edge() {
    let mut weights = [[0.2; 5]; EDGES];
    // Edge 0 prefers the 3x3 convolution, edge 1 the skip connection, edge 5 `none` (kept, as in
    // NAS-Bench-201's DARTS); edge 2 ties (the earlier operation wins); a NaN never wins.
    weights[0] = [0.1, 0.2, 0.1, 0.5, 0.1];
    weights[1] = [0.1, 0.6, 0.1, 0.1, 0.1];
    weights[3] = [f64::NAN, 0.1, 0.3, 0.1, 0.2];
    weights[4] = [0.0, 0.1, 0.2, 0.3, 0.4];
    weights[5] = [0.9, 0.0, 0.05, 0.05, 0.0];
    let arch = Nb201Arch::strongest(&weights);
    assert_eq!(
        Nb201Space.print(&arch),
        "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|"
    );
}

#[test]
fn neighbours_mutation_and_crossover_stay_in_the_space() {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
    let a = arch(EXAMPLE);
    let neighbours = Nb201Space.neighbours(&a);
    assert_eq!(neighbours.len(), 24);
    assert!(neighbours.iter().all(|n| n.ops.iter().zip(a.ops).filter(|(x, y)| **x != *y).count() == 1));
    for _ in 0..200 {
        let m = Nb201Space.mutate(&a, &mut rng);
        assert!(neighbours.contains(&m));
        let b = Nb201Space.sample(&mut rng);
        let child = Nb201Space.crossover(&a, &b, &mut rng);
        assert!((0..EDGES).all(|e| child.ops[e] == a.ops[e] || child.ops[e] == b.ops[e]));
    }
}

#[test]
fn encodings_have_fixed_length() {
    let a = arch(EXAMPLE);
    let onehot = Nb201Space.encode_onehot(&a);
    assert_eq!(onehot.len(), 30);
    assert_eq!(onehot.iter().sum::<f64>(), 6.0);
    let paths = Nb201Space.encode_path(&a).unwrap();
    assert_eq!(paths.len(), 84);
    // Paths: 0→3 skip; 0→1→3 conv3,conv3; 0→2→3 conv3,skip; 0→1→2→3 conv3,pool,skip.
    assert_eq!(paths.iter().sum::<f64>(), 4.0);
    let empty = arch("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
    assert_eq!(Nb201Space.encode_path(&empty).unwrap().iter().sum::<f64>(), 0.0);
    assert_eq!(Nb201Space.from_decisions(&Nb201Space.to_decisions(&a)), a);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Any text either fails with a message or parses to a cell that prints back to an equivalent string.
    fn parses_consistently(text: &str) -> Result<(), TestCaseError> {
        if let Ok(arch) = Nb201Space.parse(text) {
            let printed = Nb201Space.print(&arch);
            prop_assert_eq!(Nb201Space.parse(&printed).unwrap(), arch);
        }
        Ok(())
    }

    fn token() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "|",
            "+",
            "~",
            "0",
            "1",
            "2",
            "3",
            "9",
            "none",
            "skip_connect",
            "nor_conv_1x1",
            "nor_conv_3x3",
            "avg_pool_3x3",
            " ",
            "~-1",
            "é",
        ])
        .prop_map(String::from)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            parses_consistently(&text)?;
        }

        #[test]
        fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..40)) {
            parses_consistently(&tokens.concat())?;
        }

        #[test]
        fn json_of_any_shape_never_panics(nodes in prop::collection::vec(prop::collection::vec(token(), 0..4), 0..5)) {
            let json = serde_json::json!({ "nodes": nodes }).to_string();
            if let Ok(arch) = Nb201Space.from_json(&json) {
                prop_assert_eq!(Nb201Space.from_json(&Nb201Space.to_json(&arch)).unwrap(), arch);
            }
        }
    }
}

#[test]
fn a_network_lists_its_operators_as_they_run() {
    let network = Nb201Network { channels: 8, cells_per_stage: 2, input_channels: 1, input_size: 28, classes: 10 };
    // Node 1: a 3×3 conv; node 2: a 1×1 conv plus a skip (one addition); node 3: nothing (zeros).
    let cell = arch("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|none~2|");
    let keys: Vec<String> = network.operators(&cell).iter().map(ToString::to_string).collect();
    let stage = |channels: usize, size: usize| {
        [
            format!("edge nor_conv_3x3 {channels}ch @{size}"),
            format!("edge nor_conv_1x1 {channels}ch @{size}"),
            format!("sum {channels}ch @{size}"),
            format!("zeros {channels}ch @{size}"),
        ]
        .iter()
        .cycle()
        .take(8)
        .cloned()
        .collect::<Vec<_>>()
    };
    let mut expected = vec!["stem 1>8 @28".to_string()];
    expected.extend(stage(8, 28));
    expected.push("reduction 8>16 @28".into());
    expected.extend(stage(16, 14));
    expected.push("reduction 16>32 @14".into());
    expected.extend(stage(32, 7));
    expected.push("head 32ch @7 >10".into());
    assert_eq!(keys, expected);
}

#[test]
fn every_operator_of_every_network_is_in_the_space_wide_set() {
    let network = Nb201Network { input_size: 28, input_channels: 1, ..Nb201Network::default() };
    let every = network.every_operator();
    let mut used = HashSet::new();
    for a in Nb201Space::all() {
        used.extend(network.operators(&a));
    }
    assert_eq!(used, every.into_iter().collect::<HashSet<_>>(), "the set holds exactly what networks use");
}
