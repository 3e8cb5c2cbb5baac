//! The shared Store conformance suite, run against SQLite.

use geneva_store_sqlite::SqliteStore;

async fn fresh() -> SqliteStore {
    let dir = tempfile::tempdir().expect("temp dir");
    // The directory must outlive the store; leak it for the test's duration.
    let path = dir.keep().join("geneva.db");
    SqliteStore::open(path).expect("open store")
}

geneva_store::conformance_tests!(fresh());

#[tokio::test]
async fn audit_log_cannot_be_rewritten_even_with_sql() {
    use geneva_store::Store;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("geneva.db");
    let store = SqliteStore::open(&path).unwrap();
    let entry = geneva_store::NewAuditEntry {
        at: "2026-01-01T00:00:00.000Z".into(),
        actor: "cli".into(),
        action: "import".into(),
        channel: "cli".into(),
        target: None,
        detail: "1 object".into(),
    };
    store.audit(vec![entry]).await.unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let update = conn.execute("UPDATE audit_log SET actor = 'someone else'", []);
    let delete = conn.execute("DELETE FROM audit_log", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    assert_eq!(store.audit_log(0, 10).await.unwrap().len(), 1);
}

/// The server caches listings by the generation; a CLI import into the same
/// file (another connection, possibly another process) must move it.
#[tokio::test]
async fn read_generation_sees_writes_through_another_handle() {
    use geneva_store::Store;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("geneva.db");
    let serving = SqliteStore::open(&path).unwrap();
    let importing = SqliteStore::open(&path).unwrap();
    let before = serving.read_generation().await.unwrap();
    assert_eq!(serving.read_generation().await.unwrap(), before);
    importing
        .add_organisation("elsewhere", geneva_access::OrgKind::Company, None)
        .await
        .unwrap();
    assert_ne!(serving.read_generation().await.unwrap(), before);
}
