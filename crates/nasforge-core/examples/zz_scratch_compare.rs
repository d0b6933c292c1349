// Temporary experiment harness (to be deleted).
use std::collections::HashMap;
use nasforge_core::compare::{CompareSettings, compare};
use nasforge_core::space::Nb201Space;
use nasforge_core::{EvalError, EvalRequest, Evaluator, Metrics, Objective, Reporter, StrategySpec};

struct T(HashMap<String, (f64, f64)>);
impl Evaluator<Nb201Space> for T {
    fn evaluate(&self, r: &EvalRequest<'_, Nb201Space>, _: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        let (a, b) = self.0[r.printed];
        Ok(Metrics::from([("cifar10".into(), a), ("cifar100".into(), b)]))
    }
}
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let metric = &args[1];
    let seeds: u64 = args[2].parse().unwrap();
    let specs: Vec<StrategySpec> = args[3..].iter().map(|s| if s.starts_with('{') { serde_json::from_str(s).unwrap() } else { StrategySpec::from_name(s).unwrap() }).collect();
    let text = std::fs::read_to_string("/work/shared/benchmarks/nb201/nb201_test_accuracy.csv").unwrap();
    let mut rows = HashMap::new();
    for line in text.lines().skip(1) {
        let p: Vec<&str> = line.split(',').collect();
        rows.insert(p[0].to_string(), (p[1].parse().unwrap(), p[2].parse().unwrap()));
    }
    let optimum = rows.values().map(|v: &(f64, f64)| if metric == "cifar10" { v.0 } else { v.1 }).fold(f64::MIN, f64::max);
    let settings = CompareSettings { objective: Objective::maximize(metric.as_str()), optimum, checkpoints: vec![25, 50, 100, 200], seeds };
    let t = std::time::Instant::now();
    let results = compare(&Nb201Space, &specs, &T(rows), &settings).unwrap();
    for (r, spec) in results.iter().zip(&specs) {
        let line: Vec<String> = r.checkpoints.iter().map(|c| format!("{}:{:.4}±{:.4}", c.queries, c.mean_regret, c.ci95)).collect();
        println!("{:<10} {}  {}", r.name, line.join("  "), serde_json::to_string(spec).unwrap());
    }
    eprintln!("{:?}", t.elapsed());
}
