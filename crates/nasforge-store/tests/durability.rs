//! The store under the real study loop and under kill -9, on both backends: a study run, stopped and
//! continued goes on where it stopped; four workers share one study and reach exactly its budget; a worker
//! killed in the middle of a trial loses it to another worker of its host at once, and the trial is
//! recorded once; a killed SQLite writer loses no trial whose write had returned.

#[macro_use]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use nasforge_core::study::{Lease, StopReason, TrialStore};
use nasforge_core::{TrialRecord, TrialState};
use nasforge_store::Storage;

both_backends!(
    a_study_continues_where_it_stopped,
    four_workers_share_one_study,
    a_killed_worker_loses_its_trial_at_once
);

fn a_study_continues_where_it_stopped(db: &TestDb) {
    let (reason, first) = run_worker(&db.url, "loop", 0, 40, Duration::ZERO);
    assert_eq!(reason, StopReason::Budget);
    assert_eq!(first.iter().filter(|t| t.is_paid()).count(), 40);
    assert!(first.iter().any(|t| t.state == TrialState::Complete && t.intermediate.len() == 3));
    assert_eq!(
        db.storage().trial_store("loop").unwrap().load_trials().unwrap(),
        first,
        "the store holds what the study holds"
    );
    let (_, second) = run_worker(&db.url, "loop", 0, 80, Duration::ZERO);
    assert_eq!(&second[..first.len()], &first[..], "continuing keeps the history");
    check_study(&db.url, "loop", 80);
}

/// Four workers (threads with connections of their own, as four processes would have) on one study.
fn four_workers_share_one_study(db: &TestDb) {
    let budget = 60;
    db.with_study("shared");
    let workers: Vec<_> = (0..4)
        .map(|thread| {
            let url = db.url.clone();
            std::thread::spawn(move || run_worker(&url, "shared", thread, budget, Duration::from_millis(1)))
        })
        .collect();
    for worker in workers {
        assert_eq!(worker.join().unwrap().0, StopReason::Budget);
    }
    let trials = check_study(&db.url, "shared", budget);
    assert!(trials.iter().all(|t| t.attempts <= 1), "no trial was retried");
    let owners: std::collections::BTreeSet<&str> = trials.iter().filter_map(|t| t.worker.as_deref()).collect();
    assert!(owners.len() > 1, "one worker did everything: {owners:?}");
}

const CHILD_ROLE: &str = "NASFORGE_STORE_TEST_CHILD";
const CHILD_URL: &str = "NASFORGE_STORE_TEST_CHILD_URL";
/// The host name the children of a test share (so that one may take over the other's trial).
const CHILD_HOST: &str = "nasforge-kill-test-host";

fn spawn_child(role: &str, url: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "worker_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ROLE, role)
        .env(CHILD_URL, url)
        .env("HOSTNAME", CHILD_HOST)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The first line of a child's output that starts with `prefix`, without it.
fn read_line(child: &mut Child, prefix: &str) -> String {
    let stdout = child.stdout.as_mut().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().unwrap_or_else(|| panic!("the child ended before printing '{prefix}'")).unwrap();
        // The test harness may have printed "test worker_child ... " at the start of the line.
        if let Some(at) = line.find(prefix) {
            return line[at + prefix.len()..].trim().to_string();
        }
    }
}

/// Not a test of its own: the worker processes of the tests here (does nothing unless a test starts it).
#[test]
fn worker_child() {
    let Ok(role) = std::env::var(CHILD_ROLE) else { return };
    let url = std::env::var(CHILD_URL).unwrap();
    let storage = Storage::open(&url).unwrap();
    let lease = Lease::for_this_process(0, Duration::from_secs(3600));
    let mut out = std::io::stdout().lock();
    match role.as_str() {
        // Claims a trial, keeps its lease alive, reports one epoch, and waits to be killed.
        "claim" => {
            let mut store = storage.trial_store("k").unwrap();
            let trial = claimed(store.claim_new(&proposal(0, 0), None, &lease).unwrap());
            let _keeper = store.keep_alive(trial.id, &lease).unwrap();
            store.append_intermediate(trial.id, &metrics(&[("epoch", 1.0)])).unwrap();
            writeln!(out, "claimed {} {}", trial.id, lease.owner).unwrap();
            out.flush().unwrap();
            std::thread::sleep(Duration::from_secs(120));
        }
        // Takes over an abandoned trial (its lease has an hour left) and finishes it.
        "take" => {
            let mut store = storage.trial_store("k").unwrap();
            let trial = store.claim_abandoned(&lease).unwrap().expect("no abandoned trial");
            writeln!(out, "taken {} {} {}", trial.id, trial.attempts, lease.owner).unwrap();
            let recorded = store.finish(&finished(trial, 0.5), &lease).unwrap();
            writeln!(out, "finished {recorded}").unwrap();
        }
        // Writes trials forever and prints each id once its result is recorded.
        "writer" => {
            let mut store = storage.trial_store("k").unwrap();
            for i in 0u64.. {
                let trial = claimed(store.claim_new(&proposal(i, i), None, &lease).unwrap());
                let done = finished(trial, i as f64);
                assert!(store.finish(&done, &lease).unwrap());
                writeln!(out, "committed {}", done.id).unwrap();
                out.flush().unwrap();
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

fn a_killed_worker_loses_its_trial_at_once(db: &TestDb) {
    db.with_study("k");
    let mut first = spawn_child("claim", &db.url);
    let claimed_line = read_line(&mut first, "claimed ");
    let (id, first_owner) = claimed_line.split_once(' ').unwrap();
    let id: u64 = id.parse().unwrap();
    first.kill().unwrap(); // SIGKILL on Unix, in the middle of the trial
    first.wait().unwrap();

    // Another worker of the same host sees that the process is gone and retries the trial, although its
    // lease has an hour left.
    let second = spawn_child("take", &db.url);
    let output = second.wait_with_output().unwrap();
    assert!(output.status.success());
    let output = String::from_utf8(output.stdout).unwrap();
    let after = |prefix: &str| {
        let at = output.find(prefix).unwrap_or_else(|| panic!("no '{prefix}' in {output}")) + prefix.len();
        output[at..].lines().next().unwrap().trim().to_string()
    };
    let (taken, recorded) = (after("taken "), after("finished "));
    let parts: Vec<&str> = taken.split(' ').collect();
    assert_eq!(parts[..2], [id.to_string().as_str(), "2"], "taken: {taken}");
    assert_eq!(recorded, "true");
    let second_owner = parts[2];
    assert_ne!(first_owner, second_owner);

    let trials: Vec<TrialRecord> = db.storage().trial_store("k").unwrap().load_trials().unwrap();
    assert_eq!(trials.len(), 1, "the trial is recorded once");
    let t = &trials[0];
    assert_eq!((t.state, t.attempts, t.worker.as_deref()), (TrialState::Complete, 2, Some(second_owner)));
    assert!(t.intermediate.is_empty(), "the killed attempt's learning curve was kept");
    // The dead worker's late result (as if it had come back) is refused.
    let late = Lease { owner: first_owner.to_string(), duration: Duration::from_secs(3600) };
    let mut store = db.storage().trial_store("k").unwrap();
    assert!(!store.finish(&finished(t.clone(), 0.1), &late).unwrap());
    assert_eq!(store.load_trials().unwrap()[0].metrics["accuracy"], 0.5);
}

#[test]
fn kill_9_loses_no_committed_sqlite_trial() {
    let db = sqlite();
    db.with_study("k");
    let mut child = spawn_child("writer", &db.url);
    let mut committed = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some((_, id)) = line.split_once("committed ") {
            committed.push(id.parse::<u64>().unwrap());
            if committed.len() == 2000 {
                child.kill().unwrap(); // SIGKILL on Unix
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(committed.len(), 2000, "the writer stopped early");
    let trials = db.storage().trial_store("k").unwrap().load_trials().unwrap();
    assert!(trials.len() >= committed.len());
    for &id in &committed {
        let t = &trials[id as usize];
        assert_eq!(t.id, id);
        assert_eq!(t.state, TrialState::Complete, "trial {id} lost its result");
        assert_eq!(t.metrics["accuracy"], id as f64);
    }
}
