// Temporary experiment harness (to be deleted).
use nasforge_core::predictor::{EvaluationSettings, ModelKind, evaluate};
use nasforge_core::space::Nb201Space;
use nasforge_core::SearchSpace;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let col: usize = if args[1] == "cifar10" { 1 } else { 2 };
    let seeds: u64 = args[2].parse().unwrap();
    let text = std::fs::read_to_string("/work/shared/benchmarks/nb201/nb201_test_accuracy.csv").unwrap();
    let mut archs = Vec::new();
    let mut ys = Vec::new();
    for line in text.lines().skip(1) {
        let p: Vec<&str> = line.split(',').collect();
        archs.push(Nb201Space.parse(p[0]).unwrap());
        ys.push(p[col].parse::<f64>().unwrap());
    }
    let settings = EvaluationSettings { train_sizes: vec![20, 50, 100, 200], test_size: 500, seeds };
    for enc in ["onehot", "path"] {
        let x: Vec<Vec<f64>> = archs.iter().map(|a| if enc == "path" { Nb201Space.encode_path(a).unwrap() } else { Nb201Space.encode_onehot(a) }).collect();
        for kind in args[3..].iter().map(|k| ModelKind::from_name(k).unwrap()) {
            let t = std::time::Instant::now();
            let rows = evaluate(kind, &x, &ys, &settings).unwrap();
            let s: Vec<String> = rows.iter().map(|r| format!("{}: τ {:.3} ρ {:.3}", r.train_size, r.kendall, r.spearman)).collect();
            println!("{:<6} {:<6} {}  ({:.1?})", kind.name(), enc, s.join(" | "), t.elapsed());
        }
    }
}
