//! The log service on a real SQLite store: integration, checkpoints, proofs,
//! tiles, cosignatures, and the audit catching each kind of tampering.

use std::sync::Arc;

use geneva_log::verify::{self, ProofBundle};
use geneva_log::{LogError, TransparencyLog};
use geneva_stix::Tlp;
use geneva_store::conformance::{campaign, prepared};
use geneva_store::{Provenance, Recipients, Store, Viewer};
use geneva_store_sqlite::SqliteStore;
use geneva_tlog::{KeyKind, SigningKey, tree};

fn campaigns(from: u32, to: u32, modified: &str) -> Vec<geneva_stix::PreparedObject> {
    let objects: Vec<_> = (from..to).map(|n| campaign(n, modified)).collect();
    prepared(&objects)
}

fn provenance() -> Provenance {
    Provenance {
        organisation: "CH-NCSC".into(),
        organisation_id: None,
        submitted_at: "2026-11-26T01:00:00.000Z".into(),
        default_tlp: Tlp::Green,
        recipients: Recipients::default(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Arc<dyn Store>,
    log: TransparencyLog,
    key: SigningKey,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("geneva.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let key = SigningKey::generate("geneva.test/log", KeyKind::Note).unwrap();
    let log = TransparencyLog::new(store.clone(), Some(key.clone()));
    Fixture {
        _dir: dir,
        path,
        store,
        log,
        key,
    }
}

fn sql(f: &Fixture, statement: &str) {
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.execute_batch(statement).unwrap();
}

#[tokio::test]
async fn integration_signs_checkpoints_that_extend_each_other() {
    let f = fixture().await;
    f.store
        .import(campaigns(0, 300, "2020-01-01T00:00:00.000Z"), provenance())
        .await
        .unwrap();
    let first = f.log.integrate().await.unwrap();
    assert_eq!(
        (first.appended, first.size, first.checkpoints),
        (300, 300, 1)
    );
    let cp300 = f.log.checkpoint().await.unwrap().unwrap();
    f.store
        .import(campaigns(0, 50, "2021-01-01T00:00:00.000Z"), provenance())
        .await
        .unwrap();
    f.store
        .import(
            campaigns(300, 333, "2020-01-01T00:00:00.000Z"),
            provenance(),
        )
        .await
        .unwrap();
    assert_eq!(f.log.integrate().await.unwrap().appended, 83);
    assert_eq!(
        f.log.integrate().await.unwrap().appended,
        0,
        "nothing twice"
    );
    let cp383 = f.log.checkpoint().await.unwrap().unwrap();

    let vkey = f.key.verifier();
    let old = verify::open_checkpoint(cp300.as_bytes(), std::slice::from_ref(&vkey))
        .unwrap()
        .checkpoint;
    let new = verify::open_checkpoint(cp383.as_bytes(), std::slice::from_ref(&vkey))
        .unwrap()
        .checkpoint;
    assert_eq!((old.size, new.size), (300, 383));
    let (_, proof) = f.log.consistency_proof(300, None).await.unwrap();
    verify::check_extends(&old, &new, &proof).unwrap();
    assert_eq!(f.log.root(383).await.unwrap(), new.root);

    // Every version's proof verifies offline, and finds its leaf by hash.
    for n in [0u32, 17, 49, 299, 332] {
        let id = format!("campaign--{n:08x}-0000-4000-8000-000000000000");
        let version = f.store.get(&id, &Viewer::Operator).await.unwrap().unwrap();
        let bundle = f.log.prove(&version).await.unwrap();
        let text = serde_json::to_string(&bundle).unwrap();
        let bundle: ProofBundle = serde_json::from_str(&text).unwrap();
        let ok = verify::verify_bundle(&bundle, std::slice::from_ref(&vkey), None, &[]).unwrap();
        assert_eq!(ok.id, id);
        let leaf = geneva_tlog::leaf_hash(bundle.leaf.as_bytes());
        assert_eq!(
            f.log.leaf_by_hash(&leaf).await.unwrap(),
            Some(bundle.leaf_index)
        );
    }
    assert_eq!(
        f.log
            .leaf_by_hash(&geneva_tlog::leaf_hash(b"absent"))
            .await
            .unwrap(),
        None
    );

    // Tiles: level 0 holds leaf hashes, and a tile beyond the tree is refused.
    let tile = f.log.tile("tile/0/000").await.unwrap();
    assert_eq!(tile.len(), 256 * 32);
    assert_eq!(
        f.log.tile("tile/0/001.p/127").await.unwrap().len(),
        127 * 32
    );
    assert!(matches!(
        f.log.tile("tile/0/001.p/128").await,
        Err(LogError::NoSuchTile)
    ));
    assert!(matches!(
        f.log.tile("tile/0/002").await,
        Err(LogError::NoSuchTile)
    ));
    assert!(matches!(
        f.log.tile("tile/../etc").await,
        Err(LogError::Tile(_))
    ));
    let level1 = f.log.tile("tile/1/000.p/1").await.unwrap();
    assert_eq!(level1.len(), 32);
    let (size, incl) = f.log.inclusion_proof(5, Some(256)).await.unwrap();
    assert_eq!(size, 256);
    let root256 = f.log.root(256).await.unwrap();
    assert_eq!(&level1[..], &root256.0[..]);
    let leaf5 = geneva_tlog::Hash::from_slice(&tile[5 * 32..6 * 32]).unwrap();
    tree::verify_inclusion(5, 256, &leaf5, &incl, &root256).unwrap();
    assert!(matches!(
        f.log.inclusion_proof(5, Some(384)).await,
        Err(LogError::BeyondTree { .. })
    ));

    let report = f.log.audit(Some(&vkey)).await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!((report.versions, report.size), (383, 383));
}

#[tokio::test]
async fn cosignatures_from_registered_witnesses_only() {
    let f = fixture().await;
    f.store
        .import(campaigns(0, 10, "2020-01-01T00:00:00.000Z"), provenance())
        .await
        .unwrap();
    f.log.integrate().await.unwrap();
    let checkpoint = f.log.checkpoint().await.unwrap().unwrap();
    let w1 = SigningKey::generate("witness.test/w1", KeyKind::Cosignature).unwrap();
    let stranger = SigningKey::generate("witness.test/w2", KeyKind::Cosignature).unwrap();
    f.log.add_witness(&w1.verifier().to_text()).await.unwrap();
    assert!(
        f.log
            .add_witness(&f.key.verifier().to_text())
            .await
            .is_err(),
        "a note key is not a witness key"
    );

    let (cp, sig) = verify::witness_checkpoint(
        None,
        checkpoint.as_bytes(),
        &[],
        &[f.key.verifier()],
        &w1,
        1_700_000_000,
    )
    .unwrap();
    assert_eq!(cp.size, 10);
    let (_, stranger_sig) = verify::witness_checkpoint(
        None,
        checkpoint.as_bytes(),
        &[],
        &[f.key.verifier()],
        &stranger,
        1_700_000_000,
    )
    .unwrap();
    let only_stranger = verify::with_signatures(&checkpoint, &[stranger_sig.to_line()]).unwrap();
    assert!(
        f.log
            .add_cosignatures(only_stranger.as_bytes())
            .await
            .is_err()
    );
    assert!(!f.log.witnessed(3, 1).await.unwrap());

    let cosigned =
        verify::with_signatures(&checkpoint, &[sig.to_line(), stranger_sig.to_line()]).unwrap();
    assert_eq!(
        f.log.add_cosignatures(cosigned.as_bytes()).await.unwrap(),
        vec!["witness.test/w1"]
    );
    let served = f.log.checkpoint().await.unwrap().unwrap();
    let note = geneva_tlog::Note::parse(served.as_bytes()).unwrap();
    assert_eq!(note.verify(&w1.verifier()).unwrap(), Some(1_700_000_000));
    assert!(
        note.verify(&stranger.verifier()).is_err(),
        "unregistered cosignatures are not served"
    );
    assert!(f.log.witnessed(3, 1).await.unwrap());
    assert!(!f.log.witnessed(3, 2).await.unwrap());

    // A cosignature on a checkpoint this log never signed is refused.
    let forged = geneva_tlog::Checkpoint {
        origin: "geneva.test/log".into(),
        size: 10,
        root: geneva_tlog::leaf_hash(b"x"),
        extensions: vec![],
    };
    let mut forged_note = forged.sign(&f.key);
    forged_note
        .signatures
        .push(w1.cosign(&forged.body(), 1_700_000_000));
    let err = f
        .log
        .add_cosignatures(forged_note.to_text().as_bytes())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not the one this log signed"),
        "{err}"
    );
}

#[tokio::test]
async fn the_audit_names_every_kind_of_tampering() {
    let f = fixture().await;
    f.store
        .import(campaigns(0, 40, "2020-01-01T00:00:00.000Z"), provenance())
        .await
        .unwrap();
    f.log.integrate().await.unwrap();
    let vkey = f.key.verifier();
    assert!(f.log.audit(Some(&vkey)).await.unwrap().problems.is_empty());

    // One stored object altered (its hash recomputed, as a careful forger would).
    sql(
        &f,
        "UPDATE object_versions SET canonical = replace(canonical, 'Campaign 3\"', 'Campaign 33\"') WHERE id LIKE 'campaign--00000003%'",
    );
    let problems = f.log.audit(Some(&vkey)).await.unwrap().problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("campaign--00000003") && problems[0].contains("altered"),
        "{problems:?}"
    );
    let stored = f
        .store
        .get(
            "campaign--00000003-0000-4000-8000-000000000000",
            &Viewer::Operator,
        )
        .await
        .unwrap()
        .unwrap();
    let new_hash = geneva_stix::canonical::sha256(&stored.canonical);
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.execute(
        "UPDATE object_versions SET sha256 = ?1 WHERE id LIKE 'campaign--00000003%'",
        [new_hash.as_slice()],
    )
    .unwrap();
    let problems = f.log.audit(Some(&vkey)).await.unwrap().problems;
    assert!(
        problems[0].contains("leaf 3 of the log is a different item"),
        "{problems:?}"
    );

    // Two reordered, one deleted.
    sql(
        &f,
        "UPDATE object_versions SET leaf_delta = leaf_delta + 1 WHERE seq = 10; UPDATE object_versions SET leaf_delta = leaf_delta - 1 WHERE seq = 11;",
    );
    sql(
        &f,
        "PRAGMA foreign_keys = OFF; DELETE FROM current_objects WHERE seq = 20; DELETE FROM object_versions WHERE seq = 20;",
    );
    let problems = f.log.audit(Some(&vkey)).await.unwrap().problems;
    let joined = problems.join("\n");
    assert!(
        joined.contains("claims leaf 10, but leaf 10 of the log is a different item"),
        "{joined}"
    );
    assert!(joined.contains("claims leaf 9, but leaf 9"), "{joined}");
    assert!(
        joined.contains("leaf 19 has no stored version: a logged item was deleted"),
        "{joined}"
    );

    // The tree truncated behind the checkpoint's back.
    sql(
        &f,
        "DROP TRIGGER log_strips_no_delete; DELETE FROM log_strips WHERE key = 2; UPDATE log_state SET size = 30;",
    );
    let problems = f.log.audit(Some(&vkey)).await.unwrap().problems.join("\n");
    assert!(
        problems.contains("the latest checkpoint signs 40 leaves but the stored tree has 30"),
        "{problems}"
    );
    assert!(
        problems.contains(
            "claims leaf 35, but the log has 30 leaves and 0 pending: the log was truncated"
        ),
        "{problems}"
    );

    // A store signed by another key.
    let other = SigningKey::generate("geneva.test/log", KeyKind::Note).unwrap();
    let problems = f
        .log
        .audit(Some(&other.verifier()))
        .await
        .unwrap()
        .problems
        .join("\n");
    assert!(
        problems.contains("not signed by the log's key"),
        "{problems}"
    );
}

#[tokio::test]
async fn a_deleted_pending_item_stops_integration_and_a_rewritten_tree_is_not_signed() {
    let f = fixture().await;
    f.store
        .import(campaigns(0, 20, "2020-01-01T00:00:00.000Z"), provenance())
        .await
        .unwrap();
    f.log.integrate().await.unwrap();
    f.store
        .import(campaigns(20, 30, "2020-01-01T00:00:00.000Z"), provenance())
        .await
        .unwrap();
    sql(
        &f,
        "PRAGMA foreign_keys = OFF; DELETE FROM current_objects WHERE seq = 21; DELETE FROM object_versions WHERE seq = 21;",
    );
    let err = f.log.integrate().await.unwrap_err();
    assert!(matches!(err, LogError::Gap { leaf: 20 }), "{err}");

    let g = fixture().await;
    g.store
        .import(campaigns(0, 20, "2020-01-01T00:00:00.000Z"), provenance())
        .await
        .unwrap();
    g.log.integrate().await.unwrap();
    g.store
        .import(campaigns(20, 30, "2020-01-01T00:00:00.000Z"), provenance())
        .await
        .unwrap();
    sql(
        &g,
        "DROP TRIGGER log_strips_grow_only; UPDATE log_strips SET hashes = zeroblob(128) WHERE key = 1;",
    );
    let err = g.log.integrate().await.unwrap_err();
    assert!(matches!(err, LogError::Inconsistent(_)), "{err}");

    // The log refuses another signing key.
    let other = TransparencyLog::new(
        f.store.clone(),
        Some(SigningKey::generate("geneva.test/log", KeyKind::Note).unwrap()),
    );
    let h = fixture().await;
    h.store
        .import(campaigns(0, 5, "2020-01-01T00:00:00.000Z"), provenance())
        .await
        .unwrap();
    h.log.integrate().await.unwrap();
    h.store
        .import(campaigns(5, 6, "2020-01-01T00:00:00.000Z"), provenance())
        .await
        .unwrap();
    let impostor = TransparencyLog::new(h.store.clone(), other.signer().cloned());
    let err = impostor.integrate().await.unwrap_err();
    assert!(
        err.to_string().contains("the log is signed with key"),
        "{err}"
    );
}
