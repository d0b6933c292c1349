//! Local search with random restarts (first improvement): start from the best of a few random samples, try
//! unseen single-step neighbours of the current architecture in random order, move to the first that is
//! better, and restart from new random samples when every neighbour has been seen without improvement.

use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};

use super::{Seen, Strategy, StrategyRng};
use crate::objective::Outcome;
use crate::space::SearchSpace;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalConfig {
    /// Random samples at the start and after each restart; the climb starts from the best of them.
    pub initial: usize,
}

impl Default for LocalConfig {
    /// Ten random samples: a start in the upper tenth of the space on average, for a tenth of a
    /// 100-evaluation budget.
    fn default() -> Self {
        LocalConfig { initial: 10 }
    }
}

impl LocalConfig {
    pub(crate) fn validated(&self) -> Result<Self, String> {
        if self.initial == 0 {
            return Err("local: initial must be at least 1".into());
        }
        Ok(self.clone())
    }
}

pub struct LocalSearch<S: SearchSpace> {
    space: S,
    config: LocalConfig,
    /// The architecture the climb stands on, with its outcome.
    current: Option<(S::Arch, Outcome)>,
    seen: Seen,
    /// Random samples still to take before the climb (re)starts.
    random_left: usize,
}

impl<S: SearchSpace> LocalSearch<S> {
    pub fn new(space: S, config: LocalConfig) -> Self {
        let random_left = config.initial;
        LocalSearch { space, config, current: None, seen: Seen::default(), random_left }
    }

    fn unseen_neighbours(&self, arch: &S::Arch, pending: &[String]) -> Vec<S::Arch> {
        self.space
            .neighbours(arch)
            .into_iter()
            .filter(|n| {
                let key = self.space.canonical(n);
                !self.seen.contains(&key) && !pending.contains(&key)
            })
            .collect()
    }
}

impl<S: SearchSpace> Strategy<S> for LocalSearch<S> {
    fn ask(&mut self, rng: &mut StrategyRng, pending: &[S::Arch]) -> S::Arch {
        let Some((current, _)) = self.current.as_ref().filter(|_| self.random_left <= pending.len()) else {
            return self.seen.novel(&self.space, pending, rng, |rng| self.space.sample(rng));
        };
        let pending_keys: Vec<String> = pending.iter().map(|a| self.space.canonical(a)).collect();
        match self.unseen_neighbours(current, &pending_keys).choose(rng) {
            Some(neighbour) => neighbour.clone(),
            // Every neighbour is being evaluated by another worker: explore meanwhile.
            None => self.seen.novel(&self.space, pending, rng, |rng| self.space.sample(rng)),
        }
    }

    fn tell(&mut self, arch: &S::Arch, outcome: Option<&Outcome>) {
        self.seen.insert(&self.space, arch);
        self.random_left = self.random_left.saturating_sub(1);
        if let Some(outcome) = outcome {
            let improves = self.current.as_ref().is_none_or(|(_, best)| outcome.better_than(best));
            if improves {
                self.current = Some((arch.clone(), outcome.clone()));
            }
        }
        let at_local_optimum = self.random_left == 0
            && self.current.as_ref().is_some_and(|(current, _)| self.unseen_neighbours(current, &[]).is_empty());
        if at_local_optimum {
            self.current = None;
            self.random_left = self.config.initial;
        }
    }
}
