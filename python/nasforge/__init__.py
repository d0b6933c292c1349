"""nasforge from Python: neural architecture search studies with Optuna's vocabulary.

A study searches a space (``nb201``, ``darts``, ``chain``) with a strategy (``random``, ``evolution``,
``local``, ``nsga2``, ``tpe``, ``reinforce``, ``bo``, ``bananas``, ``predictor``) for the objectives it names.
Its trials live in a store (``sqlite:PATH``, ``postgresql://…``, or in memory): a study written from Python
continues from the command line (``nasforge search``, ``nasforge trials``) and the other way round.

Trials are evaluated by the caller (ask and tell, or :meth:`Study.optimize` with a function), or by the
study's own evaluator (a benchmark table, training, zero-cost proxies)::

    import nasforge

    study = nasforge.create_study(space="nb201", strategy="tpe", objectives=["val_accuracy:max"], seed=0)
    for _ in range(20):
        trial = study.ask()
        study.tell(trial, train_and_validate(trial.arch_json))   # a float, or a dict of metrics
    print(study.best.arch, study.best.metrics)

The engine is Rust; every call into it releases the GIL. ``nasforge.torch`` builds PyTorch modules of the
spaces' architectures (PyTorch is optional: this package imports without it).
"""

from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from . import _core
from ._core import NasforgeError

__all__ = [
    "NasforgeError",
    "TrialPruned",
    "Trial",
    "FrozenTrial",
    "ParetoFront",
    "Study",
    "Evaluator",
    "create_study",
    "load_study",
    "get_all_study_names",
    "arch_forms",
    "SPACES",
    "STRATEGIES",
    "EVALUATORS",
]

SPACES, STRATEGIES, EVALUATORS = (tuple(names) for names in _core.names())

#: The store of a study created without one: in memory, gone with the process.
MEMORY = "memory:"


class TrialPruned(Exception):
    """Raised by an objective function to stop its trial early (as :meth:`Trial.should_prune` advises);
    :meth:`Study.optimize` records the trial as pruned with the metrics it reported last."""


def _space_table(space: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(space, str):
        if space not in SPACES:
            raise NasforgeError(f"unknown space '{space}' (expected one of {', '.join(SPACES)})")
        return {"name": space}
    return dict(space)


def _strategy_table(strategy: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(strategy, str):
        if strategy not in STRATEGIES:
            raise NasforgeError(f"unknown strategy '{strategy}' (expected one of {', '.join(STRATEGIES)})")
        return {"name": strategy}
    return dict(strategy)


def arch_forms(space: str | Mapping[str, Any], arch: str | Mapping[str, Any]) -> tuple[str, dict, list[int]]:
    """An architecture of ``space`` given as its string or JSON form, in all its forms:
    ``(arch, arch_json, decisions)``."""
    text = arch if isinstance(arch, str) else json.dumps(arch)
    printed, arch_json, decisions = _core.arch_forms(json.dumps(_space_table(space)), text)
    return printed, json.loads(arch_json), decisions


@dataclass(frozen=True)
class FrozenTrial:
    """A trial as stored: its architecture, state (``running``, ``complete``, ``failed``, ``pruned``),
    metrics, learning curve (``intermediate``: one dict per report) and bookkeeping. A trial with
    ``cached_from`` repeated an architecture evaluated already and cost nothing."""

    number: int
    state: str
    arch: str
    arch_json: Any
    metrics: dict[str, float]
    intermediate: list[dict[str, float]]
    error: str | None
    cached_from: int | None
    seed: int
    started_at: float
    finished_at: float | None
    attempts: int
    worker: str | None

    @classmethod
    def _from_json(cls, row: Mapping[str, Any]) -> "FrozenTrial":
        return cls(
            number=row["id"],
            state=row["state"],
            arch=row["arch"],
            arch_json=row["arch_json"],
            metrics=dict(row["metrics"]),
            intermediate=[dict(m) for m in row["intermediate"]],
            error=row["error"],
            cached_from=row["cached_from"],
            seed=row["seed"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            attempts=row["attempts"],
            worker=row["worker"],
        )

    @property
    def duration(self) -> float | None:
        """Seconds from the trial's start to its end (None while it runs)."""
        return None if self.finished_at is None else self.finished_at - self.started_at


@dataclass(frozen=True)
class ParetoFront:
    """The feasible Pareto front of a study (best first objective first) and its dominated hypervolume,
    measured from ``reference`` (the worst feasible value of each objective)."""

    trials: list[FrozenTrial]
    hypervolume: float | None
    reference: dict[str, float] = field(default_factory=dict)


class Trial:
    """A trial handed out by :meth:`Study.ask`: evaluate ``arch`` (or ``arch_json``, or ``decisions``) and
    tell the study how it went. ``seed`` seeds the evaluation (weights, data order)."""

    def __init__(self, study: "Study", session: _core.Session, asked: tuple) -> None:
        self.number, self.arch, self._arch_json_text, self.decisions, self.seed = asked
        self._study = study
        self._session = session
        self._prune_reason: str | None = None

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, arch={self.arch!r})"

    def report(self, step: float, metrics: float | Mapping[str, float]) -> None:
        """Records an intermediate result at ``step`` (an epoch): a value of the first objective, or a dict
        of metrics. The step is recorded as the study's scheduler resource (``epoch`` unless its
        ``[scheduler]`` says otherwise), or as ``step`` without a scheduler. With a scheduler, the trial may
        then be told to stop: see :meth:`should_prune`."""
        values = self._study._metrics(metrics)
        values.setdefault(self._study._resource, float(step))
        self._prune_reason = self._session.report(self.number, values)

    def should_prune(self) -> bool:
        """Whether the study's scheduler stopped this trial at its last report (raise :class:`TrialPruned`,
        or tell the study ``state="pruned"``)."""
        return self._prune_reason is not None

    @property
    def prune_reason(self) -> str | None:
        """Why the scheduler stopped this trial, if it did."""
        return self._prune_reason

    @functools.cached_property
    def arch_json(self) -> Any:
        """The architecture's JSON form, as Python objects (read when first asked for)."""
        return json.loads(self._arch_json_text)


class Study:
    """A study in a store. Create one with :func:`create_study`, open one with :func:`load_study`."""

    def __init__(self, core: _core.Study, session: _core.Session | None, storage: str) -> None:
        self._core = core
        self._session = session
        self.storage = storage
        self.name: str = core.name
        config = self.config
        self.objectives: list[tuple[str, str]] = [
            (o["metric"], o["direction"]) for o in config["objectives"]["objectives"]
        ]
        scheduler = config.get("scheduler")
        self._resource: str = scheduler.get("resource", "epoch") if scheduler else "step"

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, storage={self.storage!r})"

    @property
    def config(self) -> dict[str, Any]:
        """The stored configuration: space, strategy, evaluator, objectives, budget, seed, scheduler."""
        return json.loads(self._core.config_json())

    def _main_session(self) -> _core.Session:
        if self._session is None:
            self._session = self._core.session()
        return self._session

    def _metrics(self, value: float | Sequence[float] | Mapping[str, float]) -> dict[str, float]:
        """Metrics from what a caller gives: a dict, one value per objective, or a value of the first one."""
        if isinstance(value, Mapping):
            return {str(k): float(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            if len(value) != len(self.objectives):
                raise NasforgeError(
                    f"{len(value)} values for {len(self.objectives)} objectives "
                    f"({', '.join(m for m, _ in self.objectives)})"
                )
            return {metric: float(v) for (metric, _), v in zip(self.objectives, value)}
        return {self.objectives[0][0]: float(value)}

    # Ask and tell.

    def ask(self) -> Trial | None:
        """The next trial to evaluate, or None when the study's budget of paid trials is spent or its
        strategy keeps proposing architectures evaluated already. Proposals repeating an evaluated
        architecture are recorded as free cache hits and never handed out."""
        session = self._main_session()
        asked = session.ask()
        return None if asked is None else Trial(self, session, asked)

    def tell(
        self,
        trial: Trial | int,
        values: float | Sequence[float] | Mapping[str, float] | None = None,
        *,
        state: str = "complete",
        reason: str | None = None,
    ) -> None:
        """Tells how an asked trial ended: ``values`` (a dict of metrics, one value per objective, or the
        first objective's value) for a complete trial; ``state="failed"`` or ``"pruned"`` with a
        ``reason``. Metrics without an objective, or with a NaN, raise and leave the trial asked."""
        session, number = self._session_of(trial)
        metrics = None if values is None else self._metrics(values)
        session.tell(number, state, metrics, reason)

    def _session_of(self, trial: Trial | int) -> tuple[_core.Session, int]:
        if isinstance(trial, Trial):
            if trial._study is not self:
                raise NasforgeError(f"trial {trial.number} was asked from another study object")
            return trial._session, trial.number
        return self._main_session(), int(trial)

    def evaluate(self, trial: Trial) -> dict[str, float]:
        """Evaluates an asked trial with the study's own evaluator (a table, training, proxies) and records
        it; returns its metrics. Raises :class:`NasforgeError` when the evaluation failed (recorded so)."""
        session, number = self._session_of(trial)
        metrics, reason = session.evaluate(number)
        if metrics is None:
            raise NasforgeError(f"trial {number} ({trial.arch if isinstance(trial, Trial) else ''}): {reason}")
        return metrics

    def optimize(
        self,
        func: Callable[[Trial], float | Sequence[float] | Mapping[str, float]] | None = None,
        n_trials: int | None = None,
        n_workers: int = 1,
        *,
        timeout: float | None = None,
        catch: Iterable[type[BaseException]] = (),
        device: str = "cpu",
    ) -> None:
        """Evaluates ``n_trials`` more paid trials (fewer when the study's budget ends first; without
        ``n_trials`` and ``timeout``, until the budget ends) on ``n_workers`` threads, each with its own
        store connection.

        ``func(trial)`` returns the trial's metrics (a float for the first objective, one per objective,
        or a dict); raising :class:`TrialPruned` prunes it; an exception of a ``catch`` type fails it and
        the search goes on; any other exception fails it, stops every worker and is raised. Without
        ``func``, the study's own evaluator evaluates (``timeout`` then does not apply: set the study's
        ``time_budget``)."""
        if n_workers < 1:
            raise NasforgeError("n_workers must be at least 1")
        if func is None:
            self._core.run(n_trials, n_workers, device)
            return
        paid = sum(1 for t in self.trials if t.cached_from is None and t.state != "running")
        target = None if n_trials is None else paid + n_trials
        deadline = None if timeout is None else time.monotonic() + timeout
        catch = tuple(catch)
        stop = threading.Event()
        errors: list[BaseException] = []

        def work(session: _core.Session) -> None:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                asked = session.ask(target)
                if asked is None:
                    return
                trial = Trial(self, session, asked)
                try:
                    values = func(trial)
                except TrialPruned as pruned:
                    session.tell(trial.number, "pruned", None, str(pruned) or trial.prune_reason)
                    continue
                except BaseException as error:  # noqa: BLE001 - recorded, then raised unless caught
                    session.tell(trial.number, "failed", None, f"{type(error).__name__}: {error}")
                    if isinstance(error, catch):
                        continue
                    errors.append(error)
                    stop.set()
                    return
                session.tell(trial.number, "complete", self._metrics(values), None)

        if n_workers == 1:
            work(self._main_session())
        else:
            sessions = [self._core.session(device) for _ in range(n_workers)]
            threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in sessions]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]

    # Results.

    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial, by number."""
        return [FrozenTrial._from_json(row) for row in json.loads(self._core.trials_json())]

    @property
    def best(self) -> FrozenTrial | None:
        """The best paid, complete trial on the first objective (feasible trials first), or None."""
        row = self._core.best_json()
        return None if row is None else FrozenTrial._from_json(json.loads(row))

    best_trial = best

    @property
    def best_value(self) -> float | None:
        """The first objective's value of the best trial, or None."""
        best = self.best
        return None if best is None else best.metrics[self.objectives[0][0]]

    @property
    def pareto(self) -> ParetoFront:
        """The Pareto front of the study's objectives and its hypervolume."""
        front = json.loads(self._core.pareto_json())
        return ParetoFront(
            trials=[FrozenTrial._from_json(row) for row in front["trials"]],
            hypervolume=front["hypervolume"],
            reference=front["reference"],
        )

    def to_dataframe(self):
        """The trials as a pandas DataFrame: number, state, arch, one column per metric, error, duration,
        cached_from (pandas must be installed)."""
        try:
            import pandas
        except ImportError as error:
            raise ImportError("Study.to_dataframe needs pandas: pip install pandas") from error
        rows = [
            {
                "number": t.number,
                "state": t.state,
                "arch": t.arch,
                **t.metrics,
                "error": t.error,
                "duration": t.duration,
                "cached_from": t.cached_from,
            }
            for t in self.trials
        ]
        return pandas.DataFrame(rows)


def create_study(
    storage: str | None = None,
    study_name: str | None = None,
    space: str | Mapping[str, Any] = "nb201",
    strategy: str | Mapping[str, Any] | None = None,
    objectives: Sequence[str] | None = None,
    constraints: Sequence[str] = (),
    seed: int = 0,
    trials: int | None = None,
    time_budget: str | None = None,
    evaluator: str | Mapping[str, Any] | None = None,
    table: str | None = None,
    scheduler: Mapping[str, Any] | None = None,
    warm_start: Mapping[str, Any] | None = None,
    load_if_exists: bool = False,
    device: str = "cpu",
) -> Study:
    """Creates a study and stores it.

    - ``storage``: ``sqlite:PATH``, ``postgresql://user@host/db``, or None for a store in memory.
    - ``space``: a name, or a table with the space's settings (``{"name": "chain", …}``).
    - ``strategy``: a name, or a table with its settings (``{"name": "tpe", "gamma": 0.2}``); the engine's
      default (evolution) when None.
    - ``objectives``: ``"METRIC:max"`` / ``"METRIC:min"`` strings (default ``val_accuracy:max``, or the
      evaluator's first metric); ``constraints``: ``"params<=1e6"``-style strings.
    - ``trials``: the budget of paid trials of the whole study (None: no limit for a study evaluated by its
      caller); ``time_budget``: a run's wall-clock limit (``"10m"``) for the study's own evaluator.
    - ``evaluator``: None (the caller tells results), a name (``"table"`` with ``table=PATH``), or an
      ``[evaluator]`` table (``{"kind": "train", "dataset": "fashion-mnist", …}``).
    - ``scheduler``: a ``[scheduler]`` table, e.g. ``{"kind": "asha", "min_resource": 1, "max_resource": 27,
      "eta": 3}``; ``warm_start``: a ``[warm_start]`` table.
    - ``load_if_exists``: continue the stored study of that name instead of raising.
    """
    storage = MEMORY if storage is None else storage
    name = study_name or f"study-{uuid.uuid4().hex[:12]}"
    config: dict[str, Any] = {"space": _space_table(space), "seed": seed}
    if strategy is not None:
        config["strategy"] = _strategy_table(strategy)
    if objectives is not None:
        config["objectives"] = list(objectives)
    if constraints:
        config["constraints"] = list(constraints)
    if trials is not None:
        config["trials"] = trials
    if time_budget is not None:
        config["time_budget"] = time_budget
    kind = None
    if isinstance(evaluator, str):
        kind = evaluator
    elif evaluator is not None:
        config["evaluator"] = dict(evaluator)
    if scheduler is not None:
        config["scheduler"] = dict(scheduler)
    if warm_start is not None:
        config["warm_start"] = dict(warm_start)
    core, session = _core.Study.create(storage, name, json.dumps(config), kind, table, load_if_exists, device)
    return Study(core, session, storage)


def load_study(storage: str, study_name: str) -> Study:
    """The stored study ``study_name`` of ``storage``, as it was created (from Python or the command line)."""
    return Study(_core.Study.load(storage, study_name), None, storage)


def get_all_study_names(storage: str) -> list[str]:
    """The names of every study of a store, in creation order."""
    return [name for name, _, _ in _core.Study.list(storage)]


class Evaluator:
    """A benchmark table, training or zero-cost proxies, outside any study::

        table = nasforge.Evaluator({"kind": "table", "table": "nb201_validation.csv"})
        table("|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|")

    ``evaluator`` is an ``[evaluator]`` table (as in a study's TOML file) or its kind alone with defaults
    (``"zero-cost"``); ``seed`` splits a training evaluator's data as a study's seed does."""

    def __init__(
        self,
        evaluator: str | Mapping[str, Any],
        space: str | Mapping[str, Any] = "nb201",
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        table = {"kind": evaluator} if isinstance(evaluator, str) else dict(evaluator)
        self.space = _space_table(space)
        self._core = _core.Evaluator(json.dumps(self.space), json.dumps(table), seed, device)

    def __call__(self, arch: str | Mapping[str, Any], seed: int = 0) -> dict[str, float]:
        """The metrics of ``arch`` (its string or JSON form); raises :class:`NasforgeError` when the
        evaluation fails."""
        printed, _, _ = arch_forms(self.space, arch)
        metrics, reason = self._core.evaluate(printed, seed)
        if metrics is None:
            raise NasforgeError(f"{printed}: {reason}")
        return metrics

    def size_metrics(self, arch: str | Mapping[str, Any]) -> dict[str, float]:
        """What is known of ``arch`` before it is evaluated (parameters, FLOPs) where the evaluator knows it."""
        printed, _, _ = arch_forms(self.space, arch)
        return self._core.size_metrics(printed)
