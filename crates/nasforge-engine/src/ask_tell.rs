//! Ask and tell, for front ends that evaluate trials themselves (the Python package): a session on one
//! study with its own store connection, lease and view of the study, whatever its space, taking and giving
//! architectures as strings and metrics by name. Several sessions (threads, processes, machines) may work
//! on one study at once, as the workers of [`StudyHandle::run`] do.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nasforge_core::study::{Asked, Lease, LeaseKeeper, RunLimits, TrialStore};
use nasforge_core::{Evaluator, Metrics, Study, Told, TrialRecord};
use nasforge_store::StudyStore;
use nasforge_train::{Buildable, DeviceChoice};

use crate::config::EvaluatorConfig;
use crate::error::{EngineError, Result, invalid};
use crate::evaluators::build_evaluator;
use crate::registry::{SpaceTask, with_space};
use crate::run::{open_view, prepare};
use crate::study::StudyHandle;

/// A trial handed out by [`AskTellSession::ask`], to evaluate and tell.
#[derive(Debug, Clone, PartialEq)]
pub struct AskedTrial {
    /// The trial's number in its study.
    pub id: u64,
    /// The architecture's printed form.
    pub arch: String,
    /// The architecture's JSON form.
    pub arch_json: String,
    /// The architecture as one choice per decision of its space (see `SearchSpace::to_decisions`).
    pub decisions: Vec<usize>,
    /// The seed of the trial's evaluation (weight initialisation, data order).
    pub seed: u64,
}

/// One ask-and-tell session on a study (see the module's documentation).
pub struct AskTellSession {
    inner: Box<dyn SessionOps>,
}

/// Leases of this process's sessions are told apart by a number after the process id.
static NEXT_SESSION: AtomicUsize = AtomicUsize::new(1);

/// How long a session's claim on an asked trial lasts without a heartbeat; kept alive until it is told.
const LEASE: Duration = Duration::from_secs(60);

impl StudyHandle {
    /// Opens an ask-and-tell session on the study, storing it first when it is new (after its strategy,
    /// warm start and evaluator were checked, as [`StudyHandle::save`] does). A study with an evaluator of
    /// its own (a table, training, proxies) can also evaluate asked trials with it
    /// ([`AskTellSession::evaluate`]).
    pub fn ask_tell(&mut self, device: DeviceChoice) -> Result<AskTellSession> {
        let space = self.config().space.clone();
        let inner = with_space(&space, OpenSession { study: self, device })?;
        Ok(AskTellSession { inner })
    }
}

impl AskTellSession {
    /// The next trial to evaluate, or `None` when the study's paid trials (running ones included) reached
    /// its budget or `max_paid`, whichever is lower, or when its strategy keeps proposing architectures
    /// evaluated already.
    pub fn ask(&mut self, max_paid: Option<u64>) -> Result<Option<AskedTrial>> {
        self.inner.ask(max_paid)
    }

    /// Records an intermediate result of asked trial `id` (an epoch of its learning curve); with a
    /// scheduler, returns why the trial should stop when it fell behind at a rung.
    pub fn report(&mut self, id: u64, metrics: &Metrics) -> Result<Option<String>> {
        self.inner.report(id, metrics)
    }

    /// Records how asked trial `id` ended. Metrics without every objective, or with a NaN, are refused and
    /// the trial stays asked.
    pub fn tell(&mut self, id: u64, told: Told) -> Result<()> {
        self.inner.tell(id, told)
    }

    /// Evaluates asked trial `id` with the study's own evaluator and records the result; the metrics, or
    /// why the evaluation failed or was stopped.
    pub fn evaluate(&mut self, id: u64) -> Result<std::result::Result<Metrics, String>> {
        self.inner.evaluate(id)
    }

    /// The trials asked in this session and not told yet, by id.
    pub fn pending(&self) -> Vec<u64> {
        self.inner.pending()
    }
}

/// A session's operations, whatever the space.
trait SessionOps: Send {
    fn ask(&mut self, max_paid: Option<u64>) -> Result<Option<AskedTrial>>;
    fn report(&mut self, id: u64, metrics: &Metrics) -> Result<Option<String>>;
    fn tell(&mut self, id: u64, told: Told) -> Result<()>;
    fn evaluate(&mut self, id: u64) -> Result<std::result::Result<Metrics, String>>;
    fn pending(&self) -> Vec<u64>;
}

struct OpenSession<'a> {
    study: &'a mut StudyHandle,
    device: DeviceChoice,
}

impl SpaceTask for OpenSession<'_> {
    type Output = Result<Box<dyn SessionOps>>;

    fn run<S: Buildable>(self, space: S) -> Self::Output {
        let OpenSession { study, device } = self;
        let evaluator = match study.config().evaluator {
            EvaluatorConfig::Caller => None,
            _ => Some(build_evaluator(study.config(), &space, study.name(), device)?),
        };
        let warm_start = prepare(study, &space, device)?;
        let mut store = study.trial_store()?;
        let view = open_view(study, space, warm_start, &mut store)?;
        let lease = Lease::for_this_process(NEXT_SESSION.fetch_add(1, Ordering::Relaxed), LEASE);
        Ok(Box::new(Session {
            view,
            store,
            lease,
            budget: study.config().budget.trials,
            evaluator,
            asked: BTreeMap::new(),
        }))
    }
}

/// An asked trial and the keeper of its lease.
struct Pending {
    trial: TrialRecord,
    _keeper: Box<dyn LeaseKeeper>,
}

struct Session<S: Buildable> {
    view: Study<S>,
    store: StudyStore,
    lease: Lease,
    /// The study's budget of paid trials.
    budget: Option<u64>,
    evaluator: Option<Box<dyn Evaluator<S> + Send>>,
    asked: BTreeMap<u64, Pending>,
}

impl<S: Buildable> Session<S> {
    fn pending_trial(&mut self, id: u64) -> Result<Pending> {
        match self.asked.remove(&id) {
            Some(pending) => Ok(pending),
            None => {
                invalid!("trial {id} is not waiting for a result in this session (told already, or never asked here)")
            }
        }
    }
}

impl<S: Buildable> SessionOps for Session<S> {
    fn ask(&mut self, max_paid: Option<u64>) -> Result<Option<AskedTrial>> {
        let max_paid_trials = match (self.budget, max_paid) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let limits = RunLimits { max_paid_trials, ..RunLimits::default() };
        let size_metrics = |space: &S, arch: &S::Arch| match &self.evaluator {
            Some(evaluator) => evaluator.size_metrics(space, arch),
            None => Metrics::new(),
        };
        let trial = match self.view.ask(&size_metrics, &mut self.store, &limits, &self.lease)? {
            Asked::Trial(trial) => *trial,
            Asked::BudgetReached | Asked::Exhausted => return Ok(None),
        };
        let space = self.view.space();
        let arch = space.parse(&trial.arch).map_err(|e| EngineError::invalid(e.message))?;
        let asked = AskedTrial {
            id: trial.id,
            arch: trial.arch.clone(),
            arch_json: trial.arch_json.clone(),
            decisions: space.to_decisions(&arch),
            seed: trial.seed,
        };
        let keeper = self.store.keep_alive(trial.id, &self.lease).map_err(nasforge_core::StudyError::Store)?;
        self.asked.insert(trial.id, Pending { trial, _keeper: keeper });
        Ok(Some(asked))
    }

    fn report(&mut self, id: u64, metrics: &Metrics) -> Result<Option<String>> {
        let Some(pending) = self.asked.get_mut(&id) else {
            invalid!("trial {id} is not waiting for a result in this session (told already, or never asked here)");
        };
        Ok(self.view.report(&mut pending.trial, metrics, &mut self.store)?)
    }

    fn tell(&mut self, id: u64, told: Told) -> Result<()> {
        let pending = self.pending_trial(id)?;
        match self.view.tell(pending.trial.clone(), told, &mut self.store, &self.lease) {
            Ok(()) => Ok(()),
            Err(error @ nasforge_core::StudyError::Told { .. }) => {
                // Refused before anything was recorded: the trial waits for a result still.
                self.asked.insert(id, pending);
                Err(error.into())
            }
            Err(error) => Err(error.into()),
        }
    }

    fn evaluate(&mut self, id: u64) -> Result<std::result::Result<Metrics, String>> {
        let Some(evaluator) = self.evaluator.take() else {
            invalid!("the study is evaluated by its caller: it has no evaluator of its own to evaluate trial {id}");
        };
        let pending = self.pending_trial(id);
        let outcome = pending.and_then(|pending| {
            Ok(self.view.evaluate_asked(pending.trial, evaluator.as_ref(), &mut self.store, &self.lease)?)
        });
        self.evaluator = Some(evaluator);
        outcome
    }

    fn pending(&self) -> Vec<u64> {
        self.asked.keys().copied().collect()
    }
}
