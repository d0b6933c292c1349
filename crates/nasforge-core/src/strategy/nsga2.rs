//! NSGA-II (Deb et al. 2002) in its steady-state form: the parent population is the best `population`
//! results by non-domination rank and crowding distance (constrained dominance); each child is the
//! crossover of two binary-tournament winners, then mutated (drawn again while it repeats an evaluated
//! network, up to a limit). Works with one objective too.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Seen, Strategy, StrategyRng, tournament};
use crate::objective::Outcome;
use crate::pareto::{crowding_distances, non_dominated_ranks};
use crate::space::SearchSpace;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Nsga2Config {
    /// Parents kept; the first `population` proposals are random samples.
    pub population: usize,
    /// Probability that a child is a crossover of two parents (it is always mutated).
    pub crossover: f64,
}

impl Default for Nsga2Config {
    /// 20 parents, as for evolution; crossover at 0.9 as in the original paper.
    fn default() -> Self {
        Nsga2Config { population: 20, crossover: 0.9 }
    }
}

impl Nsga2Config {
    pub(crate) fn validated(&self) -> Result<Self, String> {
        if self.population < 2 {
            return Err(format!("nsga2: population must be at least 2, got {}", self.population));
        }
        if !(0.0..=1.0).contains(&self.crossover) {
            return Err(format!("nsga2: crossover must be a probability, got {}", self.crossover));
        }
        Ok(self.clone())
    }
}

struct Member<A> {
    arch: A,
    outcome: Outcome,
    rank: usize,
    crowding: f64,
}

pub struct Nsga2<S: SearchSpace> {
    space: S,
    config: Nsga2Config,
    parents: Vec<Member<S::Arch>>,
    told: usize,
    seen: Seen,
}

impl<S: SearchSpace> Nsga2<S> {
    pub fn new(space: S, config: Nsga2Config) -> Self {
        Nsga2 { space, config, parents: Vec::new(), told: 0, seen: Seen::default() }
    }

    /// Recomputes ranks and crowding, and drops the worst member when there is one too many.
    fn select_survivors(&mut self) {
        let outcomes: Vec<&Outcome> = self.parents.iter().map(|m| &m.outcome).collect();
        let ranks = non_dominated_ranks(&outcomes);
        for (member, rank) in self.parents.iter_mut().zip(ranks) {
            member.rank = rank;
        }
        let max_rank = self.parents.iter().map(|m| m.rank).max().unwrap_or(0);
        for rank in 0..=max_rank {
            let front: Vec<usize> = (0..self.parents.len()).filter(|&i| self.parents[i].rank == rank).collect();
            let scores: Vec<&[f64]> = front.iter().map(|&i| self.parents[i].outcome.scores.as_slice()).collect();
            for (&i, distance) in front.iter().zip(crowding_distances(&scores)) {
                self.parents[i].crowding = distance;
            }
        }
        if self.parents.len() > self.config.population {
            let worst = (0..self.parents.len())
                .max_by(|&a, &b| {
                    let (a, b) = (&self.parents[a], &self.parents[b]);
                    a.rank.cmp(&b.rank).then(b.crowding.total_cmp(&a.crowding))
                })
                .expect("the population is not empty");
            self.parents.swap_remove(worst);
            self.select_survivors();
        }
    }

    fn child(&self, rng: &mut StrategyRng) -> S::Arch {
        let first = self.binary_tournament(rng);
        if rng.random_bool(self.config.crossover) {
            let second = self.binary_tournament(rng);
            self.space.mutate(&self.space.crossover(first, second, rng), rng)
        } else {
            self.space.mutate(first, rng)
        }
    }

    fn binary_tournament(&self, rng: &mut StrategyRng) -> &S::Arch {
        let parents = &self.parents;
        let winner = tournament(parents.len(), 2, rng, |a, b| {
            let (a, b) = (&parents[a], &parents[b]);
            a.rank < b.rank || (a.rank == b.rank && a.crowding > b.crowding)
        });
        &parents[winner].arch
    }
}

impl<S: SearchSpace> Strategy<S> for Nsga2<S> {
    fn ask(&mut self, rng: &mut StrategyRng, pending: &[S::Arch]) -> S::Arch {
        if self.told + pending.len() < self.config.population || self.parents.len() < 2 {
            return self.seen.novel(&self.space, pending, rng, |rng| self.space.sample(rng));
        }
        self.seen.novel(&self.space, pending, rng, |rng| self.child(rng))
    }

    fn tell(&mut self, arch: &S::Arch, outcome: Option<&Outcome>) {
        self.told += 1;
        self.seen.insert(&self.space, arch);
        if let Some(outcome) = outcome {
            self.parents.push(Member { arch: arch.clone(), outcome: outcome.clone(), rank: 0, crowding: 0.0 });
            self.select_survivors();
        }
    }
}
