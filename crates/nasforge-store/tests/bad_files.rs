//! Opening what is not a usable nasforge store: other files, other programs' SQLite databases, newer
//! schemas, unwritable places and unsupported URLs give clear errors and leave foreign files untouched; a
//! store of schema version 1 is migrated in place.

use std::fs;
use std::path::{Path, PathBuf};

use nasforge_store::{SQLITE_SCHEMA_VERSION, Storage, StoreError};

fn url(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

/// Every file of a directory with its bytes, to show that nothing was changed or added.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), fs::read(&p).unwrap())).collect()
}

fn open_err(path: &Path) -> StoreError {
    match Storage::open(&url(path)) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => e,
    }
}

#[test]
fn a_file_that_is_not_a_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("notes.txt", b"hello, this is not a database\n".to_vec()),
        ("short.db", b"SQLite".to_vec()),
        ("random.bin", (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()),
        // The right magic but garbage after it: SQLite itself says "file is not a database".
        ("fake.db", [b"SQLite format 3\0".as_slice(), &[0xFF; 2000]].concat()),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, &bytes).unwrap();
        let before = snapshot(dir.path());
        let e = open_err(&path);
        assert!(matches!(e, StoreError::NotADatabase { .. }), "{name}: {e:?}");
        let message = e.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("not an SQLite database"), "{message}");
        assert_eq!(snapshot(dir.path()), before, "{name} or its directory changed");
    }
}

#[test]
fn a_foreign_sqlite_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('ada'); CREATE VIEW v AS SELECT 1;",
        )
        .unwrap();
    }
    let before = snapshot(dir.path());
    let e = open_err(&path);
    assert!(matches!(e, StoreError::ForeignDatabase { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains(&path.display().to_string()) && message.contains("people"), "{message}");
    assert!(message.contains("not a nasforge store"), "{message}");
    assert_eq!(snapshot(dir.path()), before);

    // Same for a database in WAL mode, and for one with another program's application id.
    let wal = dir.path().join("wal.db");
    {
        let conn = rusqlite::Connection::open(&wal).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE studies (x); CREATE TABLE trials (y);").unwrap();
    }
    let other = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.pragma_update(None, "application_id", 0x1234).unwrap();
    }
    for path in [wal, other] {
        let before = fs::read(&path).unwrap();
        let e = open_err(&path);
        assert!(matches!(e, StoreError::ForeignDatabase { .. }), "{e:?}");
        assert_eq!(fs::read(&path).unwrap(), before);
    }
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    Storage::open(&url(&path)).unwrap().create_study("s", "nb201", "{}").unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SQLITE_SCHEMA_VERSION + 1).unwrap();
    }
    let before = fs::read(&path).unwrap();
    let e = open_err(&path);
    assert!(matches!(e, StoreError::NewerSchema { found, .. } if found == SQLITE_SCHEMA_VERSION + 1), "{e:?}");
    let message = e.to_string();
    assert!(message.contains(&path.display().to_string()) && message.contains("newer"), "{message}");
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn empty_files_become_stores() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    fs::write(&empty, b"").unwrap();
    let blank = dir.path().join("blank.db");
    rusqlite::Connection::open(&blank).unwrap().pragma_update(None, "page_size", 8192).unwrap();
    for path in [empty, blank] {
        Storage::open(&url(&path)).unwrap().create_study("s", "nb201", "{}").unwrap();
        assert_eq!(Storage::open(&url(&path)).unwrap().studies().unwrap().len(), 1);
    }
}

#[test]
fn unwritable_places_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no").join("such").join("dir").join("s.db");
    let e = open_err(&missing);
    assert!(matches!(e, StoreError::Unwritable { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains(&missing.display().to_string()) && message.contains("does not exist"), "{message}");
    assert!(!dir.path().join("no").exists());

    let e = open_err(dir.path());
    assert!(matches!(e, StoreError::Unwritable { .. }) && e.to_string().contains("directory"), "{e}");

    let file = dir.path().join("plain");
    fs::write(&file, b"x").unwrap();
    let e = open_err(&file.join("s.db"));
    assert!(e.to_string().to_lowercase().contains("not a directory"), "{e}");

    let read_only = dir.path().join("ro.db");
    Storage::open(&url(&read_only)).unwrap().create_study("s", "nb201", "{}").unwrap();
    let mut permissions = fs::metadata(&read_only).unwrap().permissions();
    permissions.set_readonly(true);
    fs::set_permissions(&read_only, permissions).unwrap();
    let before = fs::read(&read_only).unwrap();
    let e = open_err(&read_only);
    assert!(matches!(e, StoreError::Unwritable { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains(&read_only.display().to_string()) && message.contains("read-only"), "{message}");
    assert_eq!(fs::read(&read_only).unwrap(), before);
}

#[cfg(unix)]
#[test]
fn a_directory_without_write_permission_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
    let probe = locked.join("probe");
    if fs::write(&probe, b"").is_ok() {
        // Running as root: permissions do not stop writes, so there is nothing to test.
        eprintln!("skipped: this user may write a 0555 directory");
        return;
    }
    let path = locked.join("s.db");
    let e = open_err(&path);
    assert!(matches!(e, StoreError::Unwritable { .. }), "{e:?}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn unknown_urls_are_refused() {
    let e = Storage::open("redis://localhost/0").unwrap_err();
    assert!(e.to_string().contains("unknown storage URL scheme 'redis'"), "{e}");
    assert!(matches!(Storage::open("sqlite:"), Err(StoreError::EmptyPath { .. })));
    let e = Storage::open("postgres:user:secret@host").unwrap_err();
    assert!(matches!(e, StoreError::BadUrl { .. }) && !e.to_string().contains("secret"), "{e}");
    // The error converts into nasforge-core's boxed store error.
    let boxed: nasforge_core::study::StoreError = Storage::open("mysql://x").unwrap_err().into();
    assert!(boxed.to_string().contains("mysql"));
}
