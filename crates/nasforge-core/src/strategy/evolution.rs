//! Regularized (aging) evolution, Real et al. 2019: a population of the most recent results; each child is
//! a mutation of the winner of a tournament among random members; the oldest member leaves when a child
//! joins. Optional crossover of two tournament winners before the mutation. A child that repeats an
//! evaluated network is drawn again (up to a limit), so every paid evaluation explores something new.

use std::collections::VecDeque;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Seen, Strategy, StrategyRng, tournament};
use crate::objective::Outcome;
use crate::space::SearchSpace;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvolutionConfig {
    /// Members of the population; the first `population` proposals are random samples.
    pub population: usize,
    /// Members drawn for each tournament.
    pub tournament: usize,
    /// Probability that a child is the crossover of two tournament winners (then mutated).
    pub crossover: f64,
}

impl Default for EvolutionConfig {
    /// A population of 20 and tournaments of 5: budgets of a few hundred evaluations leave room for about
    /// ten generations after the random start, and a quarter of the population per tournament keeps
    /// selection pressure moderate (the ratio of Real et al.'s 100/25).
    fn default() -> Self {
        EvolutionConfig { population: 20, tournament: 5, crossover: 0.0 }
    }
}

impl EvolutionConfig {
    pub(crate) fn validated(&self) -> Result<Self, String> {
        if self.population < 2 {
            return Err(format!("evolution: population must be at least 2, got {}", self.population));
        }
        if self.tournament == 0 || self.tournament > self.population {
            return Err(format!(
                "evolution: tournament must be between 1 and the population ({}), got {}",
                self.population, self.tournament
            ));
        }
        if !(0.0..=1.0).contains(&self.crossover) {
            return Err(format!("evolution: crossover must be a probability, got {}", self.crossover));
        }
        Ok(self.clone())
    }
}

pub struct RegularizedEvolution<S: SearchSpace> {
    space: S,
    config: EvolutionConfig,
    population: VecDeque<(S::Arch, Outcome)>,
    told: usize,
    seen: Seen,
}

impl<S: SearchSpace> RegularizedEvolution<S> {
    pub fn new(space: S, config: EvolutionConfig) -> Self {
        RegularizedEvolution { space, config, population: VecDeque::new(), told: 0, seen: Seen::default() }
    }

    fn child(&self, rng: &mut StrategyRng) -> S::Arch {
        let parent = self.tournament_winner(rng);
        if self.config.crossover > 0.0 && rng.random_bool(self.config.crossover) {
            let other = self.tournament_winner(rng);
            self.space.mutate(&self.space.crossover(parent, other, rng), rng)
        } else {
            self.space.mutate(parent, rng)
        }
    }

    fn tournament_winner(&self, rng: &mut StrategyRng) -> &S::Arch {
        let population = &self.population;
        let winner = tournament(population.len(), self.config.tournament, rng, |a, b| {
            population[a].1.better_than(&population[b].1)
        });
        &population[winner].0
    }
}

impl<S: SearchSpace> Strategy<S> for RegularizedEvolution<S> {
    fn ask(&mut self, rng: &mut StrategyRng, pending: &[S::Arch]) -> S::Arch {
        if self.told + pending.len() < self.config.population || self.population.is_empty() {
            return self.seen.novel(&self.space, pending, rng, |rng| self.space.sample(rng));
        }
        self.seen.novel(&self.space, pending, rng, |rng| self.child(rng))
    }

    fn tell(&mut self, arch: &S::Arch, outcome: Option<&Outcome>) {
        self.told += 1;
        self.seen.insert(&self.space, arch);
        if let Some(outcome) = outcome {
            self.population.push_back((arch.clone(), outcome.clone()));
            if self.population.len() > self.config.population {
                self.population.pop_front();
            }
        }
    }
}
