//! Random search: uniform samples of the space (without repeating an evaluated network while new ones are
//! easy to find), the baseline every other strategy must beat.

use super::{Seen, Strategy, StrategyRng};
use crate::objective::Outcome;
use crate::space::SearchSpace;

pub struct RandomSearch<S> {
    space: S,
    seen: Seen,
}

impl<S: SearchSpace> RandomSearch<S> {
    pub fn new(space: S) -> Self {
        RandomSearch { space, seen: Seen::default() }
    }
}

impl<S: SearchSpace> Strategy<S> for RandomSearch<S> {
    fn ask(&mut self, rng: &mut StrategyRng, pending: &[S::Arch]) -> S::Arch {
        self.seen.novel(&self.space, pending, rng, |rng| self.space.sample(rng))
    }

    fn tell(&mut self, arch: &S::Arch, _outcome: Option<&Outcome>) {
        self.seen.insert(&self.space, arch);
    }
}
