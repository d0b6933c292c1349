//! Parallel and distributed search through the real binary: worker threads in one process evaluating trials
//! at once, several worker processes sharing one study (SQLite file, and PostgreSQL when
//! `NASFORGE_TEST_POSTGRES` names a throw-away server), a worker killed with SIGKILL in the middle of a trial,
//! a paused worker that comes back after its lease ran out, a database restarted mid-search.

mod common;

use common::{TestDatabase, nb201_table, ok, trials};
use nasforge_testkit::{Postgres, PostgresRestart, require};

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nasforge"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every paid trial is finished, their number is the budget, and no canonical network was paid twice.
fn assert_exact_budget(list: &[Value], budget: usize) {
    let paid: Vec<&Value> = list.iter().filter(|t| t["cached_from"].is_null()).collect();
    assert_eq!(paid.len(), budget, "paid trials");
    assert!(list.iter().all(|t| t["state"] == "complete"), "a trial is not complete");
    let archs: HashSet<&str> = paid.iter().map(|t| t["arch"].as_str().unwrap()).collect();
    assert_eq!(archs.len(), budget, "an architecture was paid twice");
    for (i, trial) in list.iter().enumerate() {
        assert_eq!(trial["id"].as_u64(), Some(i as u64), "trial ids have a gap");
    }
}

#[test]
fn worker_threads_share_one_sqlite_study() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let table = table.to_str().unwrap();
    let args = ["search", "--table", table, "--storage", &store, "--study", "w", "--trials", "300", "--workers", "4"];
    let summary = ok(dir.path(), &args);
    assert!(summary.contains("paid\t300"), "{summary}");
    let list = trials(dir.path(), &store, "w");
    assert_exact_budget(&list, 300);
    let workers: HashSet<&str> = list.iter().filter_map(|t| t["worker"].as_str()).collect();
    assert!(workers.len() > 1, "only one worker thread evaluated trials: {workers:?}");
}

/// Creates a study whose evaluation is a command that takes `seconds` and scores the cell by its
/// convolutions (a made-up score, not an accuracy). Each evaluation appends `+` to `evaluations.log` in
/// `dir` when it starts and `-` when it ends.
fn create_slow_study(dir: &Path, store: &str, study: &str, trials: &str, seconds: &str) {
    let script = dir.join("train.sh");
    let log = dir.join("evaluations.log");
    let log = log.display();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho + >>'{log}'\nsleep {seconds}\nn=$(grep -o nor_conv \"$NASFORGE_ARCH_FILE\" | wc -l)\n\
             echo - >>'{log}'\necho \"{{\\\"score\\\": $n.$NASFORGE_TRIAL}}\"\n"
        ),
    )
    .unwrap();
    let command = format!("sh {}", script.display());
    ok(
        dir,
        &[
            "study",
            "create",
            "--storage",
            store,
            "--study",
            study,
            "--command",
            &command,
            "--metric",
            "score",
            "--strategy",
            "random",
            "--trials",
            trials,
        ],
    );
}

/// The most evaluations that ran at the same time, from the log of [`create_slow_study`].
fn most_at_once(dir: &Path) -> usize {
    let log = std::fs::read_to_string(dir.join("evaluations.log")).unwrap();
    let (mut running, mut most) = (0usize, 0usize);
    for line in log.lines() {
        running = if line == "+" { running + 1 } else { running - 1 };
        most = most.max(running);
    }
    most
}

#[test]
fn four_worker_threads_evaluate_four_trials_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    create_slow_study(dir.path(), &store, "t", "8", "1");
    let summary = ok(dir.path(), &["worker", "--storage", &store, "--study", "t", "--workers", "4"]);
    assert!(summary.contains("paid\t8"), "{summary}");
    assert_exact_budget(&trials(dir.path(), &store, "t"), 8);
    assert_eq!(most_at_once(dir.path()), 4, "evaluations at once with --workers 4");
}

fn worker_processes_share_a_study(store: &str, dir: &Path) {
    let Some(table) = nb201_table() else { return };
    let table = table.to_str().unwrap();
    ok(
        dir,
        &[
            "study",
            "create",
            "--storage",
            store,
            "--study",
            "p",
            "--table",
            table,
            "--trials",
            "200",
            "--strategy",
            "evolution",
        ],
    );
    let workers: Vec<Child> = (0..4).map(|_| spawn(dir, &["worker", "--storage", store, "--study", "p"])).collect();
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        assert!(out.status.success(), "a worker failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_exact_budget(&trials(dir, store, "p"), 200);
}

#[test]
fn four_worker_processes_reach_exactly_the_budget_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    worker_processes_share_a_study(&store, dir.path());
}

#[test]
fn four_worker_processes_reach_exactly_the_budget_on_postgres() {
    let Some(url) = require(Postgres) else { return };
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(&url, "four_workers");
    worker_processes_share_a_study(&database.url, dir.path());
}

/// A worker is killed (SIGKILL) while it evaluates a trial: another worker re-runs that trial once, and
/// its result is recorded once.
fn killed_worker_trial_is_rerun_once(store: &str, dir: &Path) {
    create_slow_study(dir, store, "k", "8", "0.4");
    let lease = ["--lease", "2s"];
    let mut victim = spawn(dir, &[&["worker", "--storage", store, "--study", "k"][..], &lease].concat());
    let deadline = Instant::now() + Duration::from_secs(30);
    let running = loop {
        let list = trials(dir, store, "k");
        if let Some(trial) = list.iter().find(|t| t["state"] == "running") {
            break trial["id"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "no trial started");
        std::thread::sleep(Duration::from_millis(20));
    };
    victim.kill().unwrap();
    victim.wait().unwrap();
    let survivors: Vec<Child> =
        (0..2).map(|_| spawn(dir, &[&["worker", "--storage", store, "--study", "k"][..], &lease].concat())).collect();
    for worker in survivors {
        let out = worker.wait_with_output().unwrap();
        assert!(out.status.success(), "a worker failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let list = trials(dir, store, "k");
    assert_exact_budget(&list, 8);
    let retried = &list[running as usize];
    assert_eq!(retried["attempts"], 2, "{retried}");
}

#[test]
fn a_killed_worker_trial_is_rerun_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    killed_worker_trial_is_rerun_once(&store, dir.path());
}

#[test]
fn a_killed_worker_trial_is_rerun_once_on_postgres() {
    let Some(url) = require(Postgres) else { return };
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(&url, "killed_worker");
    killed_worker_trial_is_rerun_once(&database.url, dir.path());
}

/// The process id in a trial's owner (`host:pid:thread`).
fn owner_pid(trial: &Value) -> u32 {
    let owner = trial["worker"].as_str().unwrap();
    owner.rsplit(':').nth(1).unwrap().parse().unwrap()
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill {signal} failed");
}

/// SIGTERM (what Kubernetes and Slurm send) stops a worker after its running trial, which is recorded.
#[test]
fn sigterm_lets_a_worker_finish_its_trial() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    create_slow_study(dir.path(), &store, "t", "20", "0.5");
    let worker = spawn(dir.path(), &["worker", "--storage", &store, "--study", "t"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !trials(dir.path(), &store, "t").iter().any(|t| t["state"] == "running") {
        assert!(Instant::now() < deadline, "no trial started");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&worker, "-TERM");
    let out = worker.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let list = trials(dir.path(), &store, "t");
    assert!(!list.is_empty() && list.len() < 20, "{} trials", list.len());
    assert!(list.iter().all(|t| t["state"] == "complete"), "a trial was left behind: {list:?}");
}

/// A worker is paused (SIGSTOP) in the middle of a trial until another worker has taken that trial over
/// (the lease ran out) and finished the study; when it comes back (SIGCONT), its late result is refused,
/// it records nothing, and it exits 0.
#[test]
fn a_paused_worker_that_comes_back_late_records_nothing_on_postgres() {
    let Some(url) = require(Postgres) else { return };
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(&url, "paused_worker");
    let store = database.url.as_str();
    create_slow_study(dir.path(), store, "late", "3", "1.5");
    let worker = ["worker", "--storage", store, "--study", "late", "--lease", "1s"];
    let late = spawn(dir.path(), &worker);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !trials(dir.path(), store, "late").iter().any(|t| t["state"] == "running") {
        assert!(Instant::now() < deadline, "no trial started");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&late, "-STOP");
    let list = trials(dir.path(), store, "late");
    let Some(held) = list.iter().find(|t| t["state"] == "running" && owner_pid(t) == late.id()) else {
        signal(&late, "-CONT");
        panic!("the worker was paused between two trials: {list:?}");
    };
    let held = held["id"].as_u64().unwrap() as usize;

    let other = spawn(dir.path(), &worker);
    let out = other.wait_with_output().unwrap();
    assert!(out.status.success(), "the other worker failed: {}", String::from_utf8_lossy(&out.stderr));
    let done = trials(dir.path(), store, "late");
    assert_exact_budget(&done, 3);
    assert_eq!(done[held]["attempts"], 2, "{}", done[held]);
    assert_ne!(owner_pid(&done[held]), late.id(), "{}", done[held]);

    signal(&late, "-CONT");
    let out = late.wait_with_output().unwrap();
    assert!(out.status.success(), "the late worker failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(trials(dir.path(), store, "late"), done, "the late worker changed the study");
}

#[test]
fn workers_survive_a_database_restart() {
    let Some(url) = require(Postgres) else { return };
    let Some(restart) = require(PostgresRestart) else { return };
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(&url, "restart");
    let store = database.url.as_str();
    create_slow_study(dir.path(), store, "r", "16", "0.2");
    let workers: Vec<Child> =
        (0..3).map(|_| spawn(dir.path(), &["worker", "--storage", store, "--study", "r"])).collect();
    std::thread::sleep(Duration::from_millis(800));
    let status = Command::new("sh").arg("-c").arg(&restart).status().unwrap();
    assert!(status.success(), "restarting PostgreSQL failed");
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        assert!(out.status.success(), "a worker failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_exact_budget(&trials(dir.path(), store, "r"), 16);
}
