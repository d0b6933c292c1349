//! `nasforge dashboard` through the binary and plain HTTP: the list of studies, a study's page and its live
//! JSON, the table paged, and the refusals (no store, a port in use, a study that does not exist). The page
//! is opened in a real browser, following a running search, by the Python package's tests.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{TestDatabase, json, nb201_table, ok};
use nasforge_testkit::{Postgres, require};

/// A dashboard process, stopped when dropped.
struct Dashboard {
    child: Child,
    address: String,
}

impl Dashboard {
    /// Starts a dashboard of `storage` on a free port and waits until it listens.
    fn start(dir: &Path, storage: &str) -> Dashboard {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nasforge"))
            .args(["dashboard", "--storage", storage, "--port", "0"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let address = first.split("http://").nth(1).and_then(|rest| rest.split('/').next()).map(str::to_string);
        let Some(address) = address else {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("the dashboard did not start: {first}{stderr}");
        };
        Dashboard { child, address }
    }

    /// The status code and body of `GET path`.
    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.address).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("a status code");
        (status, body.to_string())
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_dashboard_shows_every_study_and_each_studys_views() {
    let Some(table) = nb201_table() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let table = table.to_str().unwrap();
    let search = ["search", "--storage", &store, "--table", table];
    ok(dir.path(), &[&search[..], &["--study", "one objective", "--trials", "150"]].concat());
    let accuracy_and_size = ["--objective", "cifar10:max", "--objective", "params:min"];
    let two = ["--study", "two", "--strategy", "nsga2", "--trials", "40"];
    ok(dir.path(), &[&search[..], &two[..], &accuracy_and_size[..]].concat());
    let dashboard = Dashboard::start(dir.path(), &store);

    let (status, index) = dashboard.get("/");
    assert_eq!(status, 200);
    assert!(index.contains("/study/one%20objective") && index.contains("/study/two"), "{index}");
    assert!(!index.contains("http://") && !index.contains("https://"), "the page loads nothing from elsewhere");

    let (status, listed) = dashboard.get("/api/studies");
    assert_eq!(status, 200);
    let listed = json(&listed);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["name"], "one objective");
    assert_eq!(listed[0]["trials"], 150);
    let best = json(&ok(dir.path(), &["best", "--storage", &store, "--study", "one objective", "--json"]));
    assert_eq!(listed[0]["best"]["trial"], best["id"]);

    let (status, page) = dashboard.get("/study/one%20objective");
    assert_eq!(status, 200);
    assert!(page.contains("id=\"trial-count\">150<"), "the live count");
    for section in ["history", "curves", "choices", "best", "trials"] {
        assert!(page.contains(&format!("<section id=\"{section}\"")), "no {section} section");
    }
    // The table a page of 100 rows at a time.
    assert_eq!(page.matches("<tr class=\"complete\"").count() + page.matches("<tr class=\"failed\"").count(), 100);
    let (status, second) = dashboard.get("/study/one%20objective/views?page=1");
    assert_eq!(status, 200);
    assert!(second.contains("Trials 101–150 of 150"), "{second}");
    assert!(!second.contains("<html"), "the live redraw is a fragment");

    let (status, two) = dashboard.get("/study/two");
    assert_eq!(status, 200);
    assert!(two.contains("<section id=\"pareto\"") && two.contains("hypervolume"), "the front of two objectives");

    let (status, missing) = dashboard.get("/study/nope");
    assert_eq!(status, 404);
    assert!(missing.contains("has no study &#39;nope&#39;"), "the name, HTML-escaped: {missing}");
    let (status, _) = dashboard.get("/api/study/nope");
    assert_eq!(status, 404);
}

/// A dashboard of `store` sees the trials a search adds after it started.
fn dashboard_follows_trials_as_they_arrive(dir: &Path, store: &str) {
    let Some(table) = nb201_table() else { return };
    let search = ["search", "--storage", store, "--study", "t", "--table", table.to_str().unwrap()];
    ok(dir, &[&search[..], &["--trials", "10"]].concat());
    let dashboard = Dashboard::start(dir, store);
    let before = json(&dashboard.get("/api/study/t").1);
    assert_eq!(before["trials"], 10);
    ok(dir, &[&search[..], &["--trials", "25"]].concat());
    let after = json(&dashboard.get("/api/study/t").1);
    assert_eq!(after["trials"], 25);
    assert!(after["version"].as_u64() > before["version"].as_u64());
    assert!(dashboard.get("/study/t").1.contains("id=\"trial-count\">25<"));
}

#[test]
fn the_dashboard_follows_trials_as_they_arrive_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    dashboard_follows_trials_as_they_arrive(dir.path(), &store);
}

#[test]
fn the_dashboard_follows_trials_as_they_arrive_on_postgres() {
    let Some(url) = require(Postgres) else { return };
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(&url, "dashboard");
    dashboard_follows_trials_as_they_arrive(dir.path(), &database.url);
}

#[test]
fn bad_dashboards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.db");
    let out = common::nasforge(dir.path(), &["dashboard", "--storage", &format!("sqlite:{}", missing.display())]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("no store at") && e.contains("none.db"), "{e}");
    assert!(!missing.exists(), "the dashboard created a store");

    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    ok(dir.path(), &["study", "create", "--storage", &store, "--study", "t", "--proxy", "params", "--trials", "3"]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = common::nasforge(dir.path(), &["dashboard", "--storage", &store, "--port", &port]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains(&format!("cannot listen on 127.0.0.1:{port}")) && e.contains("in use"), "{e}");
}
