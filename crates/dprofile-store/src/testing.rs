//! Test support shared by every crate's tests: a fresh store per test on either backend.
//! PostgreSQL tests get a database of their own, created here and dropped afterwards.

use std::sync::Arc;

use postgres::{Client, NoTls};

use crate::{PostgresStore, SqliteStore, Store};

/// The server the PostgreSQL tests use unless `DATABASE_URL` names another.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://root@127.0.0.1:5432/postgres";

/// A store that lives as long as this value: a temporary directory, or a PostgreSQL database
/// that is dropped when this is dropped.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    /// For PostgreSQL: the URL of the test's own database (for a second process to open).
    pub database_url: Option<String>,
    /// For SQLite: the data directory (for a second process to open).
    pub data_dir: Option<std::path::PathBuf>,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(
        #[expect(dead_code, reason = "held only to delete the directory on drop")]
        tempfile::TempDir,
    ),
    Database {
        admin_url: String,
        name: String,
    },
}

impl TestStore {
    pub fn sqlite() -> TestStore {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open_dir(directory.path()).expect("a fresh SQLite store");
        TestStore {
            store: Arc::new(store),
            database_url: None,
            data_dir: Some(directory.path().to_owned()),
            cleanup: Cleanup::Directory(directory),
        }
    }

    /// A fresh PostgreSQL database, or `None` (with a loud notice) when no server answers and
    /// `CI` is not set. Under `CI=true` an unreachable server fails the test.
    pub fn postgres() -> Option<TestStore> {
        let admin_url =
            std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let mut admin = match Client::connect(&admin_url, NoTls) {
            Ok(client) => client,
            Err(error) => {
                if std::env::var("CI").is_ok_and(|value| value == "true" || value == "1") {
                    panic!(
                        "PostgreSQL is required under CI but {admin_url} does not answer: {error}"
                    );
                }
                eprintln!(
                    "\n!!! SKIPPING a PostgreSQL test: {admin_url} does not answer ({error}).\n!!! Start PostgreSQL or set DATABASE_URL; under CI=true this fails.\n"
                );
                return None;
            }
        };
        let name = format!("dprofile_test_{}_{}", std::process::id(), rand_suffix());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        let database_url = replace_database(&admin_url, &name);
        let store = PostgresStore::connect(&database_url).expect("connect to the test database");
        Some(TestStore {
            store: Arc::new(store),
            database_url: Some(database_url),
            data_dir: None,
            cleanup: Cleanup::Database { admin_url, name },
        })
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Cleanup::Database { admin_url, name } = &self.cleanup
            && let Ok(mut admin) = Client::connect(admin_url, NoTls)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    format!("{}_{}", nanos, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The same server URL with another database name.
pub fn replace_database(url: &str, database: &str) -> String {
    let (without_query, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = without_query.find("://").map_or(0, |index| index + 3);
    let base = match without_query[scheme_end..].find('/') {
        Some(slash) => &without_query[..scheme_end + slash],
        None => without_query,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}
