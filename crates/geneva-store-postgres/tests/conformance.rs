//! The shared Store conformance suite, run against PostgreSQL: each test in a
//! schema of its own on the server at `$GENEVA_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432/test`).

use std::sync::atomic::{AtomicU32, Ordering};

use geneva_store_postgres::PostgresStore;

fn url() -> String {
    std::env::var("GENEVA_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh store in a new schema; `None` (with a printed skip, or a failure under CI) without a server.
async fn fresh() -> PostgresStore {
    static N: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "conformance_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
    );
    match PostgresStore::connect(&url(), Some(&schema)).await {
        Ok(store) => store,
        Err(e) => panic!("PostgreSQL at {} is needed for these tests: {e}", url()),
    }
}

geneva_store::conformance_tests!(fresh());
