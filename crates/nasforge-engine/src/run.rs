//! Running a study: its evaluator and strategy built (and the configuration stored only once both are),
//! then any number of worker threads, each with its own store connection and view of the study.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nasforge_core::strategy::WarmStart;
use nasforge_core::study::{Lease, RunLimits, TrialStore};
use nasforge_core::{Evaluator, StopReason, Study, StudyError, StudyObserver};
use nasforge_train::{Buildable, DeviceChoice};

use crate::error::{EngineError, Result, invalid};
use crate::evaluators::build_evaluator;
use crate::registry::{SpaceTask, with_space};
use crate::results::StudyResults;
use crate::study::StudyHandle;
use crate::warm_start::warm_start_cells;

/// How a run works: threads, lease, training device.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Worker threads of this process, each evaluating one trial at a time.
    pub workers: usize,
    /// How long a claim on a trial lasts without a heartbeat (renewed while the trial runs).
    pub lease: Duration,
    /// Where the training evaluator trains.
    pub device: DeviceChoice,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { workers: 1, lease: Duration::from_secs(60), device: DeviceChoice::Cpu }
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub reason: StopReason,
    /// This run's wall-clock time.
    pub elapsed: Duration,
    /// The study after the run.
    pub results: StudyResults,
}

/// Makes the observer of worker thread `n` (a progress line, a log, a dashboard feed).
pub type ObserverFactory<'a> = dyn Fn(usize) -> Box<dyn StudyObserver> + Sync + 'a;

impl StudyHandle {
    /// Checks that the study's evaluator and strategy can be built on this machine (a table loads and
    /// has the metrics, a dataset is there), then stores the configuration: creates the study, or records
    /// its new budget. Nothing is evaluated.
    pub fn save(&mut self, device: DeviceChoice) -> Result<()> {
        let space = self.config().space.clone();
        let options = RunOptions { device, ..RunOptions::default() };
        with_space(&space, Launch { study: self, options, run: None })?;
        Ok(())
    }

    /// Saves the study as [`StudyHandle::save`] does, then works on it with `options.workers` threads
    /// until the budget is spent, the time budget runs out, the space is exhausted, or `stop` is set
    /// (each worker finishes its running trial first). One worker's fatal error stops the others.
    pub fn run(
        &mut self,
        options: RunOptions,
        stop: &AtomicBool,
        observers: &ObserverFactory<'_>,
    ) -> Result<RunReport> {
        if options.workers == 0 {
            invalid!("workers must be at least 1");
        }
        self.config().budget.time()?;
        let space = self.config().space.clone();
        let reason = with_space(&space, Launch { study: self, options, run: Some((stop, observers)) })?;
        let (reason, elapsed) = reason.expect("a run reports why it stopped");
        Ok(RunReport { reason, elapsed, results: self.results()? })
    }
}

struct Launch<'a, 'o> {
    study: &'a mut StudyHandle,
    options: RunOptions,
    /// What a run needs beyond the options; `None` to save the study only.
    run: Option<(&'a AtomicBool, &'a ObserverFactory<'o>)>,
}

impl SpaceTask for Launch<'_, '_> {
    /// Why the run stopped and how long it took; `None` when the study was only saved.
    type Output = Result<Option<(StopReason, Duration)>>;

    fn run<S: Buildable>(self, space: S) -> Self::Output {
        let Launch { study, options, run } = self;
        let evaluator = build_evaluator(study.config(), &space, study.name(), options.device)?;
        let warm_start = prepare(study, &space, options.device)?;
        let config = study.config().clone();
        let Some((stop, observers)) = run else { return Ok(None) };
        let limits = RunLimits {
            max_paid_trials: config.budget.trials,
            time_budget: config.budget.time()?,
            ..RunLimits::default()
        };
        let started = Instant::now();
        let study: &StudyHandle = study;
        let reasons: Vec<Result<StopReason>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..options.workers)
                .map(|thread| {
                    let (space, evaluator, limits) = (space.clone(), evaluator.as_ref(), &limits);
                    let first = warm_start.clone();
                    scope.spawn(move || {
                        let lease = Lease::for_this_process(thread, options.lease);
                        let mut observer = observers(thread);
                        let worker = Worker { study, limits, lease: &lease, stop, first };
                        let reason = worker.work(space, evaluator, observer.as_mut());
                        if reason.is_err() {
                            // One worker's fatal error ends the others after their current trial.
                            stop.store(true, Ordering::SeqCst);
                        }
                        reason
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|_| Err(EngineError::invalid("a worker thread panicked"))))
                .collect()
        });
        let mut reasons = reasons.into_iter().collect::<Result<Vec<_>>>()?;
        // An interruption wins: the caller says how to continue.
        reasons.sort_by_key(|reason| *reason != StopReason::Interrupted);
        Ok(Some((reasons[0], started.elapsed())))
    }
}

/// Checks that the study's strategy builds and draws its warm start (the architectures evaluated first),
/// then stores the study's configuration: run after the evaluator was built, so that nothing is stored
/// for a study that cannot run.
pub(crate) fn prepare<S: Buildable>(
    study: &mut StudyHandle,
    space: &S,
    device: DeviceChoice,
) -> Result<Option<Vec<S::Arch>>> {
    let config = study.config();
    config.strategy.build(space, config.objectives.len()).map_err(EngineError::Invalid)?;
    let warm_start = match &config.warm_start {
        Some(warm_start) => Some(warm_start_cells(space, warm_start, config.seed, device)?),
        None => None,
    };
    study.store_config(S::NAME)?;
    Ok(warm_start)
}

/// A worker's view of the study in `store`: its strategy (after the warm start's architectures, when
/// there are any) rebuilt from the stored trials, with the study's scheduler.
pub(crate) fn open_view<S: Buildable>(
    study: &StudyHandle,
    space: S,
    first: Option<Vec<S::Arch>>,
    store: &mut dyn TrialStore,
) -> Result<Study<S>> {
    let config = study.config();
    let mut strategy = config.strategy.build(&space, config.objectives.len()).map_err(StudyError::Strategy)?;
    if let Some(first) = first {
        strategy = Box::new(WarmStart::new(space.clone(), first, strategy));
    }
    let mut view = Study::open(space, strategy, config.objectives.clone(), config.seed, store)?;
    if let Some(scheduler) = &config.scheduler {
        if scheduler.pauses() {
            view = view.with_checkpoints(study.checkpoint_dir());
        }
        view = view.with_scheduler(scheduler.clone());
    }
    Ok(view)
}

/// One worker: its own store connection, strategy and view of the study.
struct Worker<'a, A> {
    study: &'a StudyHandle,
    limits: &'a RunLimits,
    lease: &'a Lease,
    stop: &'a AtomicBool,
    /// The warm start's architectures, evaluated before the strategy proposes.
    first: Option<Vec<A>>,
}

impl<A> Worker<'_, A> {
    fn work<S: Buildable<Arch = A>>(
        self,
        space: S,
        evaluator: &dyn Evaluator<S>,
        observer: &mut dyn StudyObserver,
    ) -> Result<StopReason> {
        let mut store = self.study.trial_store()?;
        let mut view = open_view(self.study, space, self.first, &mut store)?;
        Ok(view.run(evaluator, &mut store, self.limits, self.lease, observer, self.stop)?)
    }
}
