"""The Python package as a user drives it: ask and tell, optimize with workers, the study's own evaluators,
stores shared with the command line, the scheduler's advice, and every refusal as a Python exception."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import pytest

import nasforge


def conv_share(arch: str) -> float:
    """A made-up accuracy: the share of 3×3 convolutions among an NB201 cell's six edges."""
    return arch.count("nor_conv_3x3") / 6


def test_ask_and_tell_in_memory():
    study = nasforge.create_study(space="nb201", strategy="tpe", objectives=["acc:max"], seed=1)
    assert study.storage == "memory:"
    for _ in range(15):
        trial = study.ask()
        assert len(trial.decisions) == 6
        assert set(trial.arch_json) == {"nodes"}
        study.tell(trial, conv_share(trial.arch))
    trials = study.trials
    assert [t.number for t in trials] == list(range(len(trials)))
    assert sum(t.cached_from is None for t in trials) == 15
    best = study.best
    assert best.metrics["acc"] == max(t.metrics["acc"] for t in trials if t.state == "complete")
    assert study.best_value == best.metrics["acc"]
    assert best.arch in {t.arch for t in trials}


def test_two_objectives_give_a_pareto_front_with_its_hypervolume():
    study = nasforge.create_study(strategy="nsga2", objectives=["acc:max", "cost:min"], seed=2)
    for _ in range(30):
        trial = study.ask()
        study.tell(trial, {"acc": conv_share(trial.arch), "cost": float(trial.arch.count("conv"))})
    front = study.pareto
    assert len(front.trials) >= 2
    assert front.hypervolume > 0
    assert set(front.reference) == {"acc", "cost"}
    accs = [t.metrics["acc"] for t in front.trials]
    assert accs == sorted(accs, reverse=True), "best first objective first"


def test_refusals_are_python_exceptions_with_clear_messages():
    with pytest.raises(nasforge.NasforgeError, match="unknown space 'nb101'"):
        nasforge.create_study(space="nb101")
    with pytest.raises(nasforge.NasforgeError, match="unknown strategy 'annealing'"):
        nasforge.create_study(strategy="annealing")
    with pytest.raises(nasforge.NasforgeError, match="unknown scheme 'mysql'|mysql"):
        nasforge.create_study(storage="mysql://localhost/db")
    with pytest.raises(nasforge.NasforgeError, match="no study 'absent'"):
        study = nasforge.create_study(storage="sqlite::memory:", objectives=["acc:max"])
        nasforge.load_study(study.storage, "absent")

    study = nasforge.create_study(objectives=["acc:max"], seed=3)
    trial = study.ask()
    with pytest.raises(nasforge.NasforgeError, match="metric 'acc' is NaN"):
        study.tell(trial, math.nan)
    with pytest.raises(nasforge.NasforgeError, match="metric 'acc' is not among"):
        study.tell(trial, {"loss": 0.3})
    with pytest.raises(nasforge.NasforgeError, match="2 values for 1 objectives"):
        study.tell(trial, [0.1, 0.2])
    with pytest.raises(nasforge.NasforgeError, match="trial 99 is not waiting"):
        study.tell(99, 0.5)
    with pytest.raises(nasforge.NasforgeError, match="unknown trial state 'lost'"):
        study.tell(trial, state="lost")
    study.tell(trial, 0.5)  # refused tells left the trial asked
    with pytest.raises(nasforge.NasforgeError, match=f"trial {trial.number} is not waiting"):
        study.tell(trial, 0.5)
    assert study.trials[trial.number].state == "complete"
    with pytest.raises(nasforge.NasforgeError, match="evaluated by its caller"):
        study.evaluate(study.ask())


def test_a_file_store_is_shared_with_the_command_line(tmp_path, cli, nb201_table):
    storage = f"sqlite:{tmp_path / 'studies.db'}"
    study = nasforge.create_study(storage=storage, study_name="py", objectives=["acc:max"], seed=4)
    for _ in range(5):
        trial = study.ask()
        study.tell(trial, conv_share(trial.arch))
    shown = subprocess.run(
        [cli, "trials", "--storage", storage, "--study", "py", "--json"], check=True, capture_output=True, text=True
    )
    rows = json.loads(shown.stdout)
    assert [r["arch"] for r in rows] == [t.arch for t in study.trials]
    searched = subprocess.run([cli, "search", "--storage", storage, "--study", "py"], capture_output=True, text=True)
    assert searched.returncode != 0
    assert "nasforge.load_study" in searched.stderr

    # A study of the command line continues in Python with its own evaluator, then from the command line.
    subprocess.run(
        [cli, "search", "--storage", storage, "--study", "cli", "--table", nb201_table, "--trials", "5"],
        check=True,
        capture_output=True,
    )
    assert "cli" in nasforge.get_all_study_names(storage)
    loaded = nasforge.load_study(storage, "cli")
    trial = loaded.ask()
    assert trial is None, "the study's budget of 5 is spent"
    loaded.optimize(n_trials=5)
    assert sum(t.cached_from is None for t in loaded.trials) == 10
    subprocess.run(
        [cli, "search", "--storage", storage, "--study", "cli", "--trials", "12"], check=True, capture_output=True
    )
    assert sum(t.cached_from is None for t in loaded.trials) == 12


def test_the_table_search_equals_the_command_lines_for_the_same_seed(tmp_path, cli, nb201_table):
    storage = f"sqlite:{tmp_path / 'studies.db'}"
    args = ["--storage", storage, "--table", nb201_table, "--strategy", "tpe", "--trials", "40", "--seed", "9"]
    subprocess.run([cli, "search", "--study", "cli", *args], check=True, capture_output=True)
    cli_trials = nasforge.load_study(storage, "cli").trials

    own = nasforge.create_study(
        storage=storage, study_name="own", evaluator="table", table=nb201_table, strategy="tpe", trials=40, seed=9
    )
    own.optimize()
    table = nasforge.Evaluator({"kind": "table", "table": nb201_table})
    asked = nasforge.create_study(strategy="tpe", objectives=["cifar10:max"], seed=9, trials=40)
    while (trial := asked.ask()) is not None:
        asked.tell(trial, table(trial.arch))
    for study in (own, asked):
        assert [t.arch for t in study.trials] == [t.arch for t in cli_trials]
        assert study.best.metrics["cifar10"] == nasforge.load_study(storage, "cli").best.metrics["cifar10"]


def test_optimize_with_workers_spends_the_exact_budget():
    def evaluate(trial):
        # An evaluation takes time, as a training does: with none, the in-memory store is fast enough for
        # the first worker thread to take every trial before the others start.
        time.sleep(0.005)
        return conv_share(trial.arch)

    study = nasforge.create_study(strategy="evolution", objectives=["acc:max"], seed=5)
    study.optimize(evaluate, n_trials=40, n_workers=4)
    paid = [t for t in study.trials if t.cached_from is None]
    assert len(paid) == 40
    assert all(t.state == "complete" for t in paid)
    assert len({t.worker for t in paid}) > 1, "several sessions worked"
    study.optimize(lambda trial: conv_share(trial.arch), n_trials=10, n_workers=3)
    assert sum(t.cached_from is None for t in study.trials) == 50


def test_optimize_records_failures_and_raises_what_is_not_caught():
    study = nasforge.create_study(objectives=["acc:max"], seed=6)

    def flaky(trial):
        if trial.number % 3 == 1:
            raise ArithmeticError("diverged")
        return conv_share(trial.arch)

    study.optimize(flaky, n_trials=9, catch=(ArithmeticError,))
    failed = [t for t in study.trials if t.state == "failed"]
    assert failed and all(t.error == "ArithmeticError: diverged" for t in failed)
    with pytest.raises(KeyError, match="boom"):
        study.optimize(lambda trial: {}["boom"], n_trials=5)
    assert study.trials[-1].state == "failed"


def test_the_scheduler_advises_pruning_and_pruned_trials_keep_their_curve():
    study = nasforge.create_study(
        objectives=["acc:max"],
        seed=7,
        scheduler={"kind": "asha", "min_resource": 1, "max_resource": 9, "eta": 3},
    )

    def train(trial):
        level = conv_share(trial.arch) + 0.01 * (trial.number % 7)
        for epoch in range(1, 10):
            trial.report(epoch, level * (1 - 0.5**epoch))
            if trial.should_prune():
                raise nasforge.TrialPruned(trial.prune_reason)
        return level * (1 - 0.5**9)

    study.optimize(train, n_trials=20)
    pruned = [t for t in study.trials if t.state == "pruned"]
    complete = [t for t in study.trials if t.state == "complete" and t.cached_from is None]
    assert pruned and complete
    for trial in pruned:
        assert len(trial.intermediate) in (1, 3), "stopped at a rung"
        assert trial.metrics["epoch"] == len(trial.intermediate)
        assert "stopped by the scheduler" in trial.error
    assert all(len(t.intermediate) == 9 for t in complete)

    # Pausing at rungs needs checkpoints, which a trial trained in Python does not leave with nasforge.
    for paused in ({"kind": "asha", "form": "promotion"}, {"kind": "halving"}):
        with pytest.raises(nasforge.NasforgeError, match="only the train evaluator keeps"):
            nasforge.create_study(objectives=["acc:max"], scheduler={**paused, "min_resource": 1, "max_resource": 9})


def test_zero_cost_and_training_evaluators_from_python():
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
    proxies = nasforge.Evaluator({"kind": "zero-cost", "proxies": ["synflow", "params"]})
    scores = proxies(arch)
    assert scores["synflow"] > 0 and scores["params"] > 1000
    with pytest.raises(nasforge.NasforgeError, match="not an architecture of the nb201 space"):
        proxies("|conv~0|")
    empty = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    with pytest.raises(nasforge.NasforgeError, match="the cell computes nothing"):
        proxies(empty)

    training = nasforge.Evaluator(
        {"kind": "train", "dataset": "synthetic", "training": {"epochs": 1, "max_steps_per_epoch": 2}}, seed=1
    )
    metrics = training(arch)
    assert 0.0 <= metrics["val_accuracy"] <= 1.0
    assert metrics["params"] == training.size_metrics(arch)["params"]


def test_a_postgresql_study_from_python_continues_in_another_session(postgres):
    name = f"py-{nasforge.create_study().name}"
    study = nasforge.create_study(storage=postgres, study_name=name, objectives=["acc:max"], seed=8)
    study.optimize(lambda trial: conv_share(trial.arch), n_trials=6, n_workers=2)
    again = nasforge.load_study(postgres, name)
    again.optimize(lambda trial: conv_share(trial.arch), n_trials=4)
    assert sum(t.cached_from is None for t in again.trials) == 10
    assert [t.arch for t in again.trials[:6]] == [t.arch for t in study.trials[:6]]


def test_the_package_imports_without_torch():
    code = "import sys; sys.modules['torch'] = None; import nasforge; print(' '.join(nasforge.SPACES))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["nb201", "chain", "darts", "mbconv"]


def test_to_dataframe():
    pandas = pytest.importorskip("pandas")
    study = nasforge.create_study(objectives=["acc:max"], seed=9)
    study.optimize(lambda trial: conv_share(trial.arch), n_trials=5)
    frame = study.to_dataframe()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame["number"]) == [t.number for t in study.trials]
    assert frame["acc"].max() == study.best.metrics["acc"]


def test_a_study_in_memory_keeps_its_trials_when_it_runs_again(nb201_table):
    study = nasforge.create_study(evaluator="table", table=nb201_table, strategy="tpe", seed=3)
    assert study.storage == "memory:"
    study.optimize(n_trials=10)
    study.optimize(n_trials=5)
    paid = [t for t in study.trials if t.cached_from is None]
    assert len(paid) == 15 and all(t.state == "complete" for t in paid)
