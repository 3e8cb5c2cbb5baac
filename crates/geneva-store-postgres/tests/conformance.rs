//! The shared Store conformance suite, run against PostgreSQL: each test in a
//! schema of its own on the server at `$GENEVA_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432/test`).

use std::sync::atomic::{AtomicU32, Ordering};

use geneva_store_postgres::PostgresStore;

fn url() -> String {
    std::env::var("GENEVA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh store in a new schema. Schemas left by runs over an hour old are dropped first.
async fn fresh() -> PostgresStore {
    static N: AtomicU32 = AtomicU32::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    drop_stale_schemas(now.as_secs()).await;
    let schema = format!(
        "conformance_{}_{}_{}_{}",
        now.as_secs(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        now.subsec_nanos()
    );
    match PostgresStore::connect(&url(), Some(&schema)).await {
        Ok(store) => store,
        Err(e) => panic!("PostgreSQL at {} is needed for these tests: {e}", url()),
    }
}

geneva_store::conformance_tests!(fresh());

async fn drop_stale_schemas(now: u64) {
    let Ok((client, connection)) = tokio_postgres::connect(&url(), tokio_postgres::NoTls).await
    else {
        return;
    };
    tokio::spawn(connection);
    let Ok(rows) = client
        .query(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'conformance\\_%'",
            &[],
        )
        .await
    else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let created: Option<u64> = name.split('_').nth(1).and_then(|s| s.parse().ok());
        if created.is_some_and(|t| t + 3600 < now) {
            let _ = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .await;
        }
    }
}

#[tokio::test]
async fn audit_log_cannot_be_rewritten_even_with_sql() {
    use geneva_store::Store;
    let store = fresh().await;
    let entry = geneva_store::NewAuditEntry {
        at: "2026-01-01T00:00:00.000Z".into(),
        actor: "cli".into(),
        action: "import".into(),
        channel: "cli".into(),
        target: None,
        detail: "1 object".into(),
    };
    store.audit(vec![entry]).await.unwrap();
    let schema = store.schema().expect("tests use a schema").to_owned();
    let (client, connection) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let update = client
        .batch_execute(&format!(
            "UPDATE {schema}.audit_log SET actor = 'someone else'"
        ))
        .await;
    let delete = client
        .batch_execute(&format!("DELETE FROM {schema}.audit_log"))
        .await;
    for result in [update, delete] {
        let e = result.unwrap_err();
        assert!(
            e.as_db_error()
                .is_some_and(|d| d.message().contains("append-only")),
            "{e:?}"
        );
    }
    assert_eq!(store.audit_log(0, 10).await.unwrap().len(), 1);
}
