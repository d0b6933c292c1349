//! Unit tests of the DARTS space: genotype and JSON forms and their errors, validation, variation,
//! decisions, canonical form, operation lists, encodings, and fuzzing of the parser.

use super::canonical::permutations;
use super::*;
use rand::{RngExt, SeedableRng};
use std::collections::HashSet;

fn space() -> DartsSpace {
    DartsSpace::default()
}

pub(super) fn arch(text: &str) -> DartsArch {
    space().parse(text).unwrap_or_else(|e| panic!("{text}: {}", e.message))
}

/// A genotype from its two cells written as `op~input` pairs separated by spaces.
pub(super) fn genotype(normal: &str, reduce: &str) -> String {
    let pairs = |cell: &str| {
        let pairs: Vec<String> = cell
            .split_whitespace()
            .map(|pair| {
                let (op, input) = pair.split_once('~').unwrap();
                format!("('{op}', {input})")
            })
            .collect();
        pairs.join(", ")
    };
    format!(
        "Genotype(normal=[{}], normal_concat=[2, 3, 4, 5], reduce=[{}], reduce_concat=[2, 3, 4, 5])",
        pairs(normal),
        pairs(reduce)
    )
}

fn rng() -> rand_pcg::Pcg64Mcg {
    rand_pcg::Pcg64Mcg::seed_from_u64(2019)
}

#[test]
fn darts_v2_parses_and_prints_back() {
    let a = arch(DARTS_V2);
    assert_eq!(a.normal.nodes[0], [(DartsOp::SepConv3x3, 0), (DartsOp::SepConv3x3, 1)]);
    assert_eq!(a.normal.nodes[3], [(DartsOp::SkipConnect, 0), (DartsOp::DilConv3x3, 2)]);
    assert_eq!(a.reduce.nodes[1], [(DartsOp::SkipConnect, 2), (DartsOp::MaxPool3x3, 1)]);
    assert_eq!(space().print(&a), DARTS_V2);
    let v1 = arch(DARTS_V1);
    assert_eq!(space().print(&v1), DARTS_V1);
    assert_eq!(v1.reduce.nodes[3], [(DartsOp::SkipConnect, 2), (DartsOp::AvgPool3x3, 0)]);
}

#[test]
fn parsing_tolerates_python_spellings() {
    let v2 = arch(DARTS_V2);
    let variants = [
        DARTS_V2.replace('\'', "\""),
        DARTS_V2.replace(' ', ""),
        DARTS_V2.replace(", ", ",\n    ").replace('[', "[\n  "),
        DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)"),
        DARTS_V2.replace("[2, 3, 4, 5]", "range(2,6)").replace(")]", "),]").replace("5])", "5],)"),
        format!("  {DARTS_V2}\n"),
        // Fields in another order, as Python keyword arguments allow.
        "Genotype(reduce_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), \
         ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), \
         ('skip_connect', 2), ('max_pool_3x3', 1)], normal_concat=[2, 3, 4, 5], normal=[('sep_conv_3x3', 0), \
         ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), \
         ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)])"
            .to_string(),
    ];
    for text in variants {
        assert_eq!(space().parse(&text).map_err(|e| e.message), Ok(v2), "{text}");
    }
}

#[test]
fn rejects_malformed_genotypes_with_the_reason() {
    let normal = "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 \
                  skip_connect~0 dil_conv_3x3~2";
    let reduce = "max_pool_3x3~0 max_pool_3x3~1 skip_connect~2 max_pool_3x3~1 max_pool_3x3~0 skip_connect~2 \
                  skip_connect~2 max_pool_3x3~1";
    let with_reduce = |reduce: &str| genotype(normal, reduce);
    let cases = [
        (
            with_reduce(&reduce.replacen("max_pool_3x3~1", "conv_9x9~1", 2).replacen(
                "conv_9x9~1",
                "max_pool_3x3~1",
                1,
            )),
            "darts genotype: reduce cell, node 3, edge 2: unknown operation 'conv_9x9' (expected one of none, \
             max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5)",
        ),
        (
            with_reduce(&reduce.replacen("skip_connect~2", "skip_connect~7", 2).replacen(
                "skip_connect~7",
                "skip_connect~2",
                1,
            )),
            "darts genotype: reduce cell, node 4, edge 2: input 7 must be below 4",
        ),
        (
            genotype(&normal.replacen("sep_conv_3x3~1", "sep_conv_7x7~1", 1), reduce),
            "darts genotype: normal cell, node 2, edge 2: operation 'sep_conv_7x7' is not in this space",
        ),
        (genotype(&normal.replacen("~1", "~0", 1), reduce), "normal cell, node 2: both edges read input 0"),
        (
            genotype(&normal.replacen(" dil_conv_3x3~2", "", 1), reduce),
            "normal cell: expected 8 (operation, input) pairs, 2 for each of the 4 nodes, found 7",
        ),
        (
            genotype(normal, &format!("{reduce} none~0")),
            "reduce cell: expected 8 (operation, input) pairs, 2 for each of the 4 nodes, found 9",
        ),
        (genotype(normal, &reduce.replacen("~0", "~-1", 1)), "unexpected character '-' at character"),
        (
            genotype(normal, &reduce.replacen("~0", "~99999999999999999999999", 1)),
            "reduce cell, node 2, edge 1: input 99999999999999999999999 must be below 2",
        ),
        (
            DARTS_V2.replacen("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 4]", 1),
            "normal_concat must be [2, 3, 4, 5] or range(2, 6), as the cell concatenates all four intermediate nodes; found [2, 3, 4]",
        ),
        (
            DARTS_V2.replacen("reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(2, 7)", 1),
            "reduce_concat must be [2, 3, 4, 5] or range(2, 6), as the cell concatenates all four intermediate nodes; found range(2, 7)",
        ),
        (DARTS_V2.replacen(", reduce_concat=[2, 3, 4, 5]", "", 1), "darts genotype: missing field 'reduce_concat'"),
        (DARTS_V2.replacen("reduce_concat", "normal_concat", 1), "field 'normal_concat' given twice"),
        (DARTS_V2.replacen("reduce_concat", "reduce_cat", 1), "unknown field 'reduce_cat' at character"),
        (DARTS_V2.replacen("Genotype", "Genome", 1), "expected 'Genotype(', found 'Genome' at character 1"),
        (
            DARTS_V2.replacen("('sep_conv_3x3', 1)", "('sep_conv_3x3' 1)", 1),
            "expected ',' after the operation of normal cell, node 2, edge 2, found '1'",
        ),
        (
            DARTS_V2.replacen("('sep_conv_3x3', 1)", "('sep_conv_3x3', )", 1),
            "normal cell, node 2, edge 2: expected an input number, found ')'",
        ),
        (
            DARTS_V2.replacen("('sep_conv_3x3', 1)", "(sep_conv_3x3, 1)", 1),
            "normal cell, node 2, edge 2: expected a quoted operation name, found 'sep_conv_3x3'",
        ),
        (
            DARTS_V2.replacen("'sep_conv_3x3', 1)", "'sep_conv_3x3, 1)", 1),
            "the string starting at character 40 is not closed before ',' at character 53",
        ),
        (
            DARTS_V2.replace('\'', "\"").replacen("\"max_pool_3x3\", 1", "\"max_pool_3x3', 1", 1),
            "is not closed before ''' at character",
        ),
        (format!("{DARTS_V2})"), "unexpected ')' at character"),
        (DARTS_V2[..DARTS_V2.len() - 1].to_string(), "found the end of the text"),
        (String::new(), "darts genotype: expected 'Genotype(', found the end of the text"),
    ];
    for (text, expected) in cases {
        let err = space().parse(&text).unwrap_err();
        assert!(err.message.contains(expected), "{text}\n  gave: {}\n  expected: {expected}", err.message);
    }
}

#[test]
fn random_architectures_round_trip() {
    let mut rng = rng();
    let space = space();
    for _ in 0..2000 {
        let a = space.sample(&mut rng);
        space.validate(&a).unwrap();
        assert_eq!(space.parse(&space.print(&a)).unwrap(), a);
        let json = space.to_json(&a);
        assert_eq!(space.from_json(&json).unwrap(), a);
        assert_eq!(space.from_decisions(&space.to_decisions(&a)), a);
        // The canonical key is itself a valid genotype of the same class.
        let key = space.canonical(&a);
        assert_eq!(space.canonical(&space.parse(&key).unwrap()), key);
        assert!(a.cells().iter().all(|cell| cell.nodes.iter().flatten().all(|(op, _)| *op != DartsOp::None)));
    }
}

#[test]
fn json_form_and_its_errors() {
    let a = arch(DARTS_V2);
    let json = space().to_json(&a);
    assert!(json.starts_with(r#"{"normal":[["sep_conv_3x3",0],["sep_conv_3x3",1],"#), "{json}");
    assert!(json.contains(r#""reduce":[["max_pool_3x3",0],"#), "{json}");
    let good = serde_json::from_str::<serde_json::Value>(&json).unwrap();
    let with = |path: &str, value: serde_json::Value| {
        let mut doc = good.clone();
        *doc.pointer_mut(path).unwrap() = value;
        space().from_json(&doc.to_string()).unwrap_err().message
    };
    use serde_json::json;
    let cases = [
        (
            with("/reduce/3/0", json!("conv_9x9")),
            "field `reduce`: reduce cell, node 3, edge 2: unknown operation 'conv_9x9'",
        ),
        (with("/normal/5/1", json!(7)), "field `normal`: normal cell, node 4, edge 2: input 7 must be below 4"),
        (
            with("/normal/5/1", json!(-1)),
            "field `normal[5]` (normal cell, node 4, edge 2): expected an input number, found -1",
        ),
        (
            with("/normal/5/0", json!(3)),
            "field `normal[5]` (normal cell, node 4, edge 2): expected an operation name, found 3",
        ),
        (
            with("/normal/1", json!(["sep_conv_3x3"])),
            "field `normal[1]` (normal cell, node 2, edge 2): expected an [operation, input] pair",
        ),
        (with("/normal/1/1", json!(0)), "field `normal`: normal cell, node 2: both edges read input 0"),
        (
            with("/reduce", json!([])),
            "field `reduce`: expected 8 [operation, input] pairs, 2 for each of the 4 nodes, found 0",
        ),
        (with("/reduce", json!("x")), "field `reduce`: expected a list of 8 [operation, input] pairs"),
    ];
    for (message, expected) in cases {
        assert!(message.starts_with("darts architecture JSON: "), "{message}");
        assert!(message.contains(expected), "{message}\n  expected: {expected}");
    }
    let missing = space().from_json(r#"{"normal": []}"#).unwrap_err().message;
    assert!(missing.contains("missing field `reduce`"), "{missing}");
    // JSON accepts every known operation; `validate` then checks the space's list.
    let custom = DartsSpace::with_ops(["sep_conv_3x3", "max_pool_3x3", "skip_connect"]).unwrap();
    let err = custom.from_json(&json).unwrap_err().message;
    assert_eq!(
        err,
        "darts architecture: normal cell, node 5, edge 2: operation 'dil_conv_3x3' is not in this space \
         (expected one of sep_conv_3x3, max_pool_3x3, skip_connect)"
    );
}

#[test]
fn validate_checks_inputs_and_operations() {
    let mut a = arch(DARTS_V2);
    a.reduce.nodes[2][1].1 = 4;
    assert_eq!(
        space().validate(&a).unwrap_err().message,
        "darts architecture: reduce cell, node 4, edge 2: input 4 must be below 4"
    );
    let mut a = arch(DARTS_V2);
    a.normal.nodes[3][1] = (DartsOp::SepConv3x3, 0);
    assert_eq!(
        space().validate(&a).unwrap_err().message,
        "darts architecture: normal cell, node 5: both edges read input 0 (the two inputs of a node must differ)"
    );
    let mut a = arch(DARTS_V2);
    a.normal.nodes[0][0].0 = DartsOp::Conv1x1;
    assert!(
        space().validate(&a).unwrap_err().message.contains("node 2, edge 1: operation 'conv_1x1' is not in this space")
    );
}

#[test]
fn variation_stays_in_the_space() {
    let mut rng = rng();
    let space = space();
    let v2 = arch(DARTS_V2);
    // Per cell: 8 edges × 6 other operations, plus the free inputs 0 + 2 + 4 + 6.
    assert_eq!(space.neighbours(&v2).len(), 2 * (8 * 6 + 12));
    for _ in 0..200 {
        let a = space.sample(&mut rng);
        let neighbours = space.neighbours(&a);
        assert_eq!(neighbours.len(), 120);
        assert_eq!(neighbours.iter().collect::<HashSet<_>>().len(), 120, "neighbours are distinct");
        for n in &neighbours {
            space.validate(n).unwrap();
            let changed = a
                .cells()
                .iter()
                .zip(n.cells())
                .flat_map(|(x, y)| x.nodes.iter().flatten().zip(y.nodes.iter().flatten()))
                .filter(|(x, y)| x != y)
                .count();
            assert_eq!(changed, 1);
        }
        for _ in 0..10 {
            let m = space.mutate(&a, &mut rng);
            assert!(neighbours.contains(&m));
        }
        let b = space.sample(&mut rng);
        let child = space.crossover(&a, &b, &mut rng);
        space.validate(&child).unwrap();
        for c in 0..2 {
            for node in 0..NODES {
                let n = child.cells()[c].nodes[node];
                assert!(n == a.cells()[c].nodes[node] || n == b.cells()[c].nodes[node]);
            }
        }
    }
    // Mutation reaches input changes and operation changes.
    let mutants: HashSet<DartsArch> = (0..2000).map(|_| space.mutate(&v2, &mut rng)).collect();
    assert_eq!(mutants.len(), space.neighbours(&v2).len());
    // A genotype with `none` edges mutates away from them to searched operations.
    let with_none = arch(&DARTS_V2.replacen("'skip_connect', 0", "'none', 0", 1));
    assert_eq!(space.neighbours(&with_none).len(), 121);
    assert!(space.neighbours(&with_none).iter().all(|n| space.validate(n).is_ok()));
}

#[test]
fn decisions_round_trip_and_repair() {
    let space = space();
    let sizes = space.decision_sizes();
    assert_eq!(sizes.len(), 32);
    assert_eq!(&sizes[..8], &[7, 2, 7, 2, 7, 3, 7, 3]);
    assert_eq!(&sizes[12..16], &[7, 5, 7, 5]);
    assert_eq!(sizes[16..], sizes[..16]);
    let v2 = arch(DARTS_V2);
    let decisions = space.to_decisions(&v2);
    assert_eq!(&decisions[..4], &[3, 0, 3, 1]); // sep_conv_3x3 is searched op 3
    assert_eq!(space.from_decisions(&decisions), v2);
    // Equal inputs: the second moves to the next index, wrapping.
    let mut d = decisions.clone();
    d[12..16].copy_from_slice(&[0, 4, 1, 4]);
    assert_eq!(space.from_decisions(&d).normal.nodes[3], [(DartsOp::MaxPool3x3, 4), (DartsOp::AvgPool3x3, 0)]);
    d[12..16].copy_from_slice(&[0, 2, 1, 2]);
    assert_eq!(space.from_decisions(&d).normal.nodes[3], [(DartsOp::MaxPool3x3, 2), (DartsOp::AvgPool3x3, 3)]);
    let mut rng = rng();
    for _ in 0..500 {
        let d: Vec<usize> = sizes.iter().map(|&s| rng.random_range(0..s)).collect();
        space.validate(&space.from_decisions(&d)).unwrap();
    }
}

#[test]
fn canonical_form_merges_only_equivalent_cells() {
    let canonical = |normal: &str, reduce: &str| space().canonical(&arch(&genotype(normal, reduce)));
    let reduce = "max_pool_3x3~0 max_pool_3x3~1 skip_connect~2 max_pool_3x3~1 max_pool_3x3~0 skip_connect~2 \
                  skip_connect~2 max_pool_3x3~1";
    let base = canonical(
        "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 skip_connect~0 dil_conv_3x3~2",
        reduce,
    );
    // The two pairs of a node are summed: their order does not matter (DARTS_V1 lists node 2 as 1, 0).
    assert_eq!(
        base,
        canonical(
            "sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 skip_connect~0 sep_conv_3x3~1 dil_conv_3x3~2 skip_connect~0",
            reduce,
        )
    );
    // Nodes 3 and 4 read only the cell inputs: renumbering them only permutes output channels.
    assert_eq!(
        base,
        canonical(
            "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 sep_conv_3x3~0 sep_conv_3x3~1 skip_connect~0 dil_conv_3x3~2",
            reduce,
        )
    );
    // Node 2 moves to the end when the node reading it moves along: 2→5, 3→2, 4→3, 5→4.
    assert_eq!(
        canonical(
            "sep_conv_5x5~0 avg_pool_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 skip_connect~0 dil_conv_3x3~2",
            reduce,
        ),
        canonical(
            "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 sep_conv_5x5~0 avg_pool_3x3~1 skip_connect~0 dil_conv_3x3~4",
            reduce,
        )
    );
    // What a `none` edge reads does not matter.
    assert_eq!(
        canonical(
            "none~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 none~2 skip_connect~0 skip_connect~0 dil_conv_3x3~2",
            reduce,
        ),
        canonical(
            "none~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 none~3 skip_connect~0 skip_connect~0 dil_conv_3x3~2",
            reduce,
        )
    );
    // Not merged: swapping c_{k-2} and c_{k-1} (different sources and preprocessing)…
    assert_ne!(
        base,
        canonical(
            "sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~0 skip_connect~1 skip_connect~1 dil_conv_3x3~2",
            reduce,
        )
    );
    // …which node an edge reads, unless the nodes are interchangeable: nodes 2 and 3 are (both
    // sep_conv_3x3 of c_{k-2} and c_{k-1}), nodes 2 and 4 are not…
    assert_eq!(
        base,
        canonical(
            "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 skip_connect~0 dil_conv_3x3~3",
            reduce,
        )
    );
    assert_ne!(
        base,
        canonical(
            "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 skip_connect~0 dil_conv_3x3~4",
            reduce,
        )
    );
    // …which operation reads which input…
    assert_ne!(
        base,
        canonical(
            "sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~0 skip_connect~1 skip_connect~0 dil_conv_3x3~2",
            reduce,
        )
    );
    // …a different operation, or the cells swapped.
    assert_ne!(
        base,
        canonical(
            "sep_conv_5x5~0 sep_conv_3x3~1 sep_conv_3x3~0 sep_conv_3x3~1 sep_conv_3x3~1 skip_connect~0 skip_connect~0 dil_conv_3x3~2",
            reduce,
        )
    );
    let v2 = arch(DARTS_V2);
    let swapped = DartsArch { normal: v2.reduce, reduce: v2.normal };
    assert_ne!(space().canonical(&v2), space().canonical(&swapped));
    assert_ne!(space().canonical(&v2), space().canonical(&arch(DARTS_V1)));
}

#[test]
fn canonical_classes_of_random_samples() {
    // Every member of a class (all valid renumberings × pair orders) has the class's key, and
    // architectures with equal keys have identical path encodings (a necessary condition of equivalence).
    let space = space();
    let mut rng = rng();
    let mut keys: HashSet<String> = HashSet::new();
    for _ in 0..300 {
        let a = space.sample(&mut rng);
        let key = space.canonical(&a);
        let paths = space.encode_path(&a).unwrap();
        for perm in permutations() {
            let relabel = |input: usize| if input < 2 { input } else { 2 + perm[input - 2] };
            let mut b = a;
            for (src, dst) in [(&a.normal, &mut b.normal), (&a.reduce, &mut b.reduce)] {
                if (0..NODES).all(|n| src.nodes[n].iter().all(|&(_, i)| relabel(i) < 2 + perm[n])) {
                    for (pair, &to) in src.nodes.iter().zip(&perm) {
                        let mut pair = pair.map(|(op, i)| (op, relabel(i)));
                        if rng.random_bool(0.5) {
                            pair.swap(0, 1);
                        }
                        dst.nodes[to] = pair;
                    }
                }
            }
            space.validate(&b).unwrap();
            assert_eq!(space.canonical(&b), key);
            assert_eq!(space.encode_path(&b).unwrap(), paths);
        }
        keys.insert(key);
    }
    assert_eq!(keys.len(), 300, "random samples are almost surely distinct networks");
}

#[test]
fn custom_operation_lists() {
    let names = [
        "none",
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "conv_1x1",
    ];
    let space = DartsSpace::with_ops(names).unwrap();
    assert_eq!(space.ops().len(), 8);
    assert_eq!(space.searched_ops().len(), 7);
    assert!(space.parse(DARTS_V2).is_ok());
    let text = DARTS_V2.replacen("dil_conv_3x3", "conv_1x1", 1);
    assert_eq!(space.parse(&text).unwrap().normal.nodes[3][1], (DartsOp::Conv1x1, 2));
    let err = space.parse(&DARTS_V2.replacen("dil_conv_3x3", "dil_conv_5x5", 1)).unwrap_err();
    assert!(err.message.contains("normal cell, node 5, edge 2: operation 'dil_conv_5x5' is not in this space (expected one of none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, conv_1x1)"), "{}", err.message);
    assert!(DartsSpace::default().parse(&text).unwrap_err().message.contains("'conv_1x1' is not in this space"));
    let mut rng = rng();
    let used: HashSet<DartsOp> = (0..200)
        .flat_map(|_| {
            let a = space.sample(&mut rng);
            [a.normal, a.reduce].into_iter().flat_map(|cell| cell.nodes.into_iter().flatten().map(|(op, _)| op))
        })
        .collect();
    assert_eq!(used, space.searched_ops().iter().copied().collect());
    // Without `none`, a genotype using it is rejected; the list's order is the decisions' order.
    let small = DartsSpace::with_ops(["sep_conv_7x7", "conv_7x1_1x7", "conv_3x3"]).unwrap();
    assert_eq!(small.decision_sizes()[0], 3);
    assert!(small.parse(DARTS_V2).unwrap_err().message.contains("normal cell, node 2, edge 1: operation 'sep_conv_3x3' is not in this space (expected one of sep_conv_7x7, conv_7x1_1x7, conv_3x3)"));
    let a = small.sample(&mut rng);
    assert_eq!(small.parse(&small.print(&a)).unwrap(), a);
    assert_eq!(small.encode_path(&a).unwrap().len(), 4 * (3 + 9 + 27 + 81));
    // Bad lists.
    let bad: [(&[&str], &str); 4] = [
        (
            &["sep_conv_3x3", "conv_9x9"],
            "darts operation list: unknown operation 'conv_9x9' (expected one of none, max_pool_3x3,",
        ),
        (&["sep_conv_3x3", "none", "sep_conv_3x3"], "darts operation list: 'sep_conv_3x3' is listed twice"),
        (
            &["none", "sep_conv_3x3"],
            "darts operation list: needs at least 2 operations other than none, found 1 (none, sep_conv_3x3)",
        ),
        (&[], "needs at least 2 operations other than none, found 0"),
    ];
    for (names, expected) in bad {
        let err = DartsSpace::with_ops(names).unwrap_err();
        assert!(err.message.contains(expected), "{names:?}: {}", err.message);
    }
}

#[test]
fn encodings() {
    let space = space();
    let v2 = arch(DARTS_V2);
    let onehot = space.encode_onehot(&v2);
    let sizes: usize = space.decision_sizes().iter().sum();
    assert_eq!(onehot.len(), sizes);
    assert_eq!(onehot.len(), 2 * 2 * (4 * 7 + 2 + 3 + 4 + 5));
    assert_eq!(onehot.iter().sum::<f64>(), 32.0);
    let with_none = arch(&DARTS_V2.replacen("'skip_connect', 0", "'none', 0", 1));
    assert_eq!(space.encode_onehot(&with_none).iter().sum::<f64>(), 31.0);

    let paths = space.encode_path(&v2).unwrap();
    let per_source = 7 + 49 + 343 + 2401;
    assert_eq!(paths.len(), 4 * per_source);
    // Normal cell: 7 single-operation paths, and c_{k-2} and c_{k-1} → node 2 (sep_conv_3x3) → node 5
    // (dil_conv_3x3). Reduction cell: 5 single max-pools, and 6 max_pool → skip paths.
    assert_eq!(paths.iter().sum::<f64>(), 20.0);
    let (sep3, dil3, skip, max) = (3, 5, 2, 0); // searched-operation indices
    let at = |cell: usize, source: usize, seq: &[usize]| {
        let offset = [0, 7, 7 + 49][seq.len() - 1];
        paths[(2 * cell + source) * per_source + offset + seq.iter().fold(0, |acc, o| acc * 7 + o)]
    };
    assert_eq!(at(0, 0, &[sep3]), 2.0);
    assert_eq!(at(0, 1, &[sep3]), 3.0);
    assert_eq!(at(0, 0, &[skip]), 2.0);
    assert_eq!(at(0, 0, &[sep3, dil3]), 1.0);
    assert_eq!(at(0, 1, &[sep3, dil3]), 1.0);
    assert_eq!(at(1, 0, &[max]), 2.0);
    assert_eq!(at(1, 1, &[max]), 3.0);
    assert_eq!(at(1, 0, &[max, skip]), 3.0);
    assert_eq!(at(1, 1, &[max, skip]), 3.0);
    // A `none` edge cuts its paths.
    assert_eq!(space.encode_path(&with_none).unwrap().iter().sum::<f64>(), 19.0);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn check(text: &str) {
        let space = space();
        if let Ok(a) = space.parse(text) {
            space.validate(&a).unwrap();
            assert_eq!(space.parse(&space.print(&a)).unwrap(), a, "{text}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_strings(text in any::<String>()) {
            check(&text);
        }

        #[test]
        fn parse_never_panics_on_genotype_like_strings(text in "Genotype\\((normal|reduce|_concat|range|[=\\[\\]\\(\\), '\"0-9]|sep_conv_3x3|none|\\s){0,80}\\)") {
            check(&text);
        }

        #[test]
        fn parse_handles_edited_genotypes(
            seed in any::<u64>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, any::<char>()), 1..4),
        ) {
            let space = space();
            let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
            let mut chars: Vec<char> = space.print(&space.sample(&mut rng)).chars().collect();
            for (index, kind, c) in edits {
                let i = index.index(chars.len());
                match kind {
                    0 => { chars.remove(i); }
                    1 => chars.insert(i, c),
                    _ => chars[i] = "0123456789,()[]'_".chars().nth(index.index(17)).unwrap(),
                }
            }
            check(&chars.into_iter().collect::<String>());
        }
    }
}

#[test]
fn a_network_lists_its_operators_as_they_run() {
    // C = 2, 3 cells: cell 0 normal (8×8), cells 1 and 2 reduce (8 → 4 → 2).
    let network = DartsNetwork { channels: 2, layers: 3, input_channels: 1, input_size: 8, classes: 10 };
    let pools = "max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1 max_pool_3x3~0 avg_pool_3x3~1";
    let mut a = arch(&genotype(pools, pools));
    // The normal cell's first node: a skip (the identity: no operator) and a separable convolution.
    a.normal.nodes[0] = [(DartsOp::SkipConnect, 0), (DartsOp::SepConv3x3, 1)];
    // The reduction cell's second node: a skip of an input (FactorizedReduce, stride 2) and of node 0.
    a.reduce.nodes[1] = [(DartsOp::SkipConnect, 1), (DartsOp::SkipConnect, 2)];
    let keys: Vec<String> = network.operators(&a).iter().map(ToString::to_string).collect();
    let pool_nodes = |c: usize, size: usize, stride: usize, out: usize, nodes: usize| {
        let mut keys = Vec::new();
        for _ in 0..nodes {
            keys.push(format!("edge max_pool_3x3 {c}ch @{size} s{stride}"));
            keys.push(format!("edge avg_pool_3x3 {c}ch @{size} s{stride}"));
            keys.push(format!("sum {c}ch @{out}"));
        }
        keys
    };
    let mut expected: Vec<String> =
        ["stem 1>6 @8", "preprocess relu_conv_bn 6>2 @8", "preprocess relu_conv_bn 6>2 @8"].map(String::from).to_vec();
    expected.extend(["edge sep_conv_3x3 2ch @8 s1", "sum 2ch @8"].map(String::from));
    expected.extend(pool_nodes(2, 8, 1, 8, 3));
    expected.push("concat 4x2ch @8".into());
    // Cell 1 (reduce, C 4, 8 → 4); cell 2 (reduce, C 8, 4 → 2) preprocesses c_{k-2} with FactorizedReduce.
    for (c, pre0, pre1, size) in [
        (4, "relu_conv_bn 6>4 @8", "relu_conv_bn 8>4 @8", 8),
        (8, "factorized_reduce 8>8 @8", "relu_conv_bn 16>8 @4", 4),
    ] {
        expected.extend([format!("preprocess {pre0}"), format!("preprocess {pre1}")]);
        expected.extend(pool_nodes(c, size, 2, size / 2, 1));
        expected.extend([format!("edge skip_connect {c}ch @{size} s2"), format!("sum {c}ch @{}", size / 2)]);
        expected.extend(pool_nodes(c, size, 2, size / 2, 2));
        expected.push(format!("concat 4x{c}ch @{}", size / 2));
    }
    expected.push("head 32ch @2 >10".into());
    assert_eq!(keys, expected);
}

#[test]
fn every_operator_of_random_networks_is_in_the_space_wide_set() {
    let network = DartsNetwork { channels: 4, layers: 5, input_channels: 1, input_size: 28, classes: 10 };
    for space in [space(), DartsSpace::new(&DartsOp::ALL).unwrap()] {
        let every = network.every_operator(space.ops());
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        let mut used = HashSet::new();
        for _ in 0..3000 {
            let a = space.sample(&mut rng);
            used.extend(network.operators(&a));
        }
        let missing: Vec<_> = used.iter().filter(|o| !every.contains(o)).collect();
        assert!(missing.is_empty(), "{missing:?}");
        // Random networks use every entry but the zeros of a node whose edges are both `none` (never sampled).
        let unused: Vec<String> = every.iter().filter(|o| !used.contains(o)).map(ToString::to_string).collect();
        assert!(unused.iter().all(|k| k.starts_with("zeros")), "{unused:?}");
    }
}
