//! The log on PostgreSQL, where several processes share one database: importers
//! and integrators running at once still give a gap-free tree whose every
//! checkpoint extends the one before, and a clean audit. Uses the server at
//! `$GENEVA_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`),
//! in a schema of its own (the conformance suite drops old ones).

use std::sync::Arc;

use geneva_log::TransparencyLog;
use geneva_log::verify;
use geneva_stix::Tlp;
use geneva_store::conformance::{campaign, prepared};
use geneva_store::{Provenance, Recipients, Store};
use geneva_store_postgres::PostgresStore;
use geneva_tlog::{KeyKind, SigningKey};

fn url() -> String {
    std::env::var("GENEVA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn batch(from: u32, to: u32) -> Vec<geneva_stix::PreparedObject> {
    let objects: Vec<_> = (from..to)
        .map(|n| campaign(n, "2020-01-01T00:00:00.000Z"))
        .collect();
    prepared(&objects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_importers_and_integrators_keep_one_consistent_log() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let schema = format!("conformance_{}_{}_log", now.as_secs(), std::process::id());
    let store: Arc<dyn Store> = match PostgresStore::connect(&url(), Some(&schema)).await {
        Ok(store) => Arc::new(store),
        Err(e) => panic!("PostgreSQL at {} is needed for this test: {e}", url()),
    };
    let key = SigningKey::generate("geneva.test/pg-log", KeyKind::Note).unwrap();
    let logs: Vec<Arc<TransparencyLog>> = (0..3)
        .map(|_| Arc::new(TransparencyLog::new(store.clone(), Some(key.clone()))))
        .collect();
    let mut checkpoints = Vec::new();
    let mut tasks = Vec::new();
    for importer in 0..6u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..5u32 {
                let first = (importer * 5 + round) * 40;
                let provenance = Provenance {
                    organisation: format!("importer-{importer}"),
                    organisation_id: None,
                    submitted_at: "2026-11-26T03:00:00.000Z".into(),
                    default_tlp: Tlp::Green,
                    recipients: Recipients::default(),
                };
                store
                    .import(batch(first, first + 40), provenance)
                    .await
                    .unwrap();
            }
        }));
    }
    let integrators: Vec<_> = logs
        .iter()
        .map(|log| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..40 {
                    log.integrate().await.unwrap();
                    if let Some(cp) = log.checkpoint().await.unwrap() {
                        seen.push(cp);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                seen
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for integrator in integrators {
        checkpoints.extend(integrator.await.unwrap());
    }
    logs[0].integrate().await.unwrap();
    let last = logs[0].checkpoint().await.unwrap().unwrap();

    // Every checkpoint any process saw is extended by the last one.
    let vkey = key.verifier();
    let newest = verify::open_checkpoint(last.as_bytes(), std::slice::from_ref(&vkey))
        .unwrap()
        .checkpoint;
    assert_eq!(newest.size, 6 * 5 * 40);
    for text in &checkpoints {
        let old = verify::open_checkpoint(text.as_bytes(), std::slice::from_ref(&vkey))
            .unwrap()
            .checkpoint;
        let (_, proof) = logs[1]
            .consistency_proof(old.size, Some(newest.size))
            .await
            .unwrap();
        verify::check_extends(&old, &newest, &proof).unwrap();
    }
    let report = logs[2].audit(Some(&vkey)).await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(
        (report.versions, report.size, report.pending),
        (1200, 1200, 0)
    );
    // Proofs for the first and last leaves verify offline.
    for id in [
        "campaign--00000000-0000-4000-8000-000000000000",
        "campaign--000004af-0000-4000-8000-000000000000",
    ] {
        let version = store
            .get(id, &geneva_store::Viewer::Operator)
            .await
            .unwrap()
            .unwrap();
        let bundle = logs[1].prove(&version).await.unwrap();
        verify::verify_bundle(&bundle, std::slice::from_ref(&vkey), None, &[]).unwrap();
    }
}
