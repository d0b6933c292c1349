//! A warm start: a fixed list of architectures (the best of a pool ranked by a zero-cost proxy, say) is
//! evaluated first, in order; then the inner strategy proposes, having been told about them like any other
//! result. The list is part of the study's configuration, so a resumed study skips what it evaluated.

use std::collections::HashSet;

use super::{Strategy, StrategyRng};
use crate::objective::Outcome;
use crate::space::SearchSpace;

pub struct WarmStart<S: SearchSpace> {
    space: S,
    /// The architectures to evaluate first, with their canonical forms.
    first: Vec<(String, S::Arch)>,
    /// Canonical forms of the architectures told so far.
    told: HashSet<String>,
    inner: Box<dyn Strategy<S>>,
}

impl<S: SearchSpace> WarmStart<S> {
    pub fn new(space: S, first: Vec<S::Arch>, inner: Box<dyn Strategy<S>>) -> Self {
        let first = first.into_iter().map(|arch| (space.canonical(&arch), arch)).collect();
        WarmStart { space, first, told: HashSet::new(), inner }
    }
}

impl<S: SearchSpace> Strategy<S> for WarmStart<S> {
    fn ask(&mut self, rng: &mut StrategyRng, pending: &[S::Arch]) -> S::Arch {
        let busy: HashSet<String> = pending.iter().map(|a| self.space.canonical(a)).collect();
        if let Some((_, arch)) = self.first.iter().find(|(key, _)| !self.told.contains(key) && !busy.contains(key)) {
            return arch.clone();
        }
        self.inner.ask(rng, pending)
    }

    fn tell(&mut self, arch: &S::Arch, outcome: Option<&Outcome>) {
        self.told.insert(self.space.canonical(arch));
        self.inner.tell(arch, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Nb201Space;
    use crate::strategy::RandomSearch;
    use rand::SeedableRng;

    #[test]
    fn the_given_cells_come_first_then_the_inner_strategy() {
        let space = Nb201Space;
        let mut rng = StrategyRng::seed_from_u64(1);
        let first: Vec<_> = (0..3).map(|_| space.sample(&mut rng)).collect();
        let mut warm = WarmStart::new(space, first.clone(), Box::new(RandomSearch::new(space)));
        // One is pending with another worker: the next one is handed out instead.
        assert_eq!(warm.ask(&mut rng, &first[..1]), first[1]);
        for arch in &first {
            assert_eq!(&warm.ask(&mut rng, &[]), arch);
            warm.tell(arch, None);
        }
        let next = warm.ask(&mut rng, &[]);
        assert!(!first.contains(&next));
    }
}
