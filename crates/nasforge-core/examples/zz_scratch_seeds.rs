// Temporary experiment harness (to be deleted).
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use nasforge_core::space::Nb201Space;
use nasforge_core::study::{MemoryStore, RunLimits};
use nasforge_core::{EvalError, EvalRequest, Evaluator, Metrics, Objective, Objectives, Reporter, StrategySpec, Study};
use rayon::prelude::*;

struct T(HashMap<String, (f64, f64)>);
impl Evaluator<Nb201Space> for T {
    fn evaluate(&self, r: &EvalRequest<'_, Nb201Space>, _: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        let (a, b) = self.0[r.printed];
        Ok(Metrics::from([("cifar10".into(), a), ("cifar100".into(), b)]))
    }
}
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let metric = args[1].clone();
    let seeds: u64 = args[2].parse().unwrap();
    let spec: StrategySpec = if args[3].starts_with('{') { serde_json::from_str(&args[3]).unwrap() } else { StrategySpec::from_name(&args[3]).unwrap() };
    let text = std::fs::read_to_string("/work/shared/benchmarks/nb201/nb201_test_accuracy.csv").unwrap();
    let mut rows = HashMap::new();
    for line in text.lines().skip(1) {
        let p: Vec<&str> = line.split(',').collect();
        rows.insert(p[0].to_string(), (p[1].parse().unwrap(), p[2].parse().unwrap()));
    }
    let t = T(rows);
    let out: Vec<(u64, f64, f64, String)> = (0..seeds).into_par_iter().map(|seed| {
        let strategy = spec.build(&Nb201Space, 1).unwrap();
        let mut store = MemoryStore::default();
        let obj = Objectives::new(vec![Objective::maximize(metric.as_str())], vec![]).unwrap();
        let mut study = Study::open(Nb201Space, strategy, obj, seed, &mut store).unwrap();
        let limits = RunLimits { max_paid_trials: Some(200), ..RunLimits::default() };
        let lease = nasforge_core::study::Lease { owner: "x".into(), duration: std::time::Duration::from_secs(3600) }; study.run(&t, &mut store, &limits, &lease, &mut (), &AtomicBool::new(false)).unwrap();
        let paid: Vec<_> = store.trials.iter().filter(|t| t.cached_from.is_none()).collect();
        let best = |n: usize| paid[..n].iter().map(|t| t.metrics[&metric]).fold(f64::MIN, f64::max);
        let arg = paid[..200].iter().max_by(|a, b| a.metrics[&metric].total_cmp(&b.metrics[&metric])).unwrap().arch.clone();
        (seed, best(100), best(200), arg)
    }).collect();
    for (seed, a, b, arch) in out { println!("{seed:>3} {a:.4} {b:.4} {arch}"); }
}
