//! The shared Store conformance suite, run against SQLite.

use geneva_store_sqlite::SqliteStore;

async fn fresh() -> SqliteStore {
    let dir = tempfile::tempdir().expect("temp dir");
    // The directory must outlive the store; leak it for the test's duration.
    let path = dir.keep().join("geneva.db");
    SqliteStore::open(path).expect("open store")
}

geneva_store::conformance_tests!(fresh());
