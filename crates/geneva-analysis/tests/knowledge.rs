//! Knowledge-base sources on a real SQLite store: kept gzip-compressed,
//! read back plain or compressed (sources kept before compression), taken
//! from an operator's gzip file as from its JSON, and hostile gzip refused
//! with nothing kept.

use std::io::Write;

use geneva_analysis::knowledge::{self, KnowledgeError};
use geneva_store::{KnowledgeSource, Store};
use geneva_store_sqlite::SqliteStore;
use sha2::{Digest, Sha256};

const BUNDLE: &[u8] = br#"{"type": "bundle", "objects": [
    {"type": "intrusion-set", "id": "intrusion-set--1", "name": "Group",
     "external_references": [{"source_name": "mitre-attack", "external_id": "G9001"}]},
    {"type": "attack-pattern", "id": "attack-pattern--1", "name": "One",
     "external_references": [{"source_name": "mitre-attack", "external_id": "T9001"}]},
    {"type": "malware", "id": "malware--1", "name": "Bad",
     "external_references": [{"source_name": "mitre-attack", "external_id": "S9001"}]},
    {"type": "relationship", "relationship_type": "uses", "source_ref": "intrusion-set--1", "target_ref": "attack-pattern--1"},
    {"type": "relationship", "relationship_type": "uses", "source_ref": "intrusion-set--1", "target_ref": "malware--1"}
]}"#;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("geneva.db")).unwrap();
    (dir, store)
}

fn uses_of_g9001(kb: &geneva_kb::KnowledgeBase) -> Vec<String> {
    let group = kb.actor("G9001").expect("G9001 is read back");
    group
        .techniques
        .iter()
        .chain(&group.software)
        .cloned()
        .collect()
}

#[tokio::test]
async fn sources_are_kept_compressed_and_read_back_as_imported() {
    let (_dir, store) = store();
    let checked = knowledge::check(BUNDLE.to_vec(), 1).unwrap();
    let kept = &checked.source;
    assert!(kept.bytes.starts_with(&[0x1f, 0x8b]), "kept as gzip");
    // The hash and size describe the file, not how it is kept.
    assert_eq!(kept.info.sha256, hex::encode(Sha256::digest(BUNDLE)));
    assert_eq!(kept.info.size, BUNDLE.len() as i64);
    assert!(knowledge::keep(&store, &checked).await.unwrap());

    let kb = knowledge::load(&store).await.unwrap().unwrap();
    assert_eq!(uses_of_g9001(&kb), ["T9001", "S9001"]);

    // The same file gzipped by the operator is the same source.
    let from_gzip = knowledge::check(gzip(BUNDLE), 2).unwrap();
    assert_eq!(from_gzip.source.info.sha256, kept.info.sha256);
    assert_eq!(from_gzip.source.info.size, kept.info.size);
    assert!(!knowledge::keep(&store, &from_gzip).await.unwrap());
}

#[tokio::test]
async fn a_source_kept_as_plain_json_still_loads() {
    // What Geneva kept before it compressed sources.
    let (_dir, store) = store();
    let mut plain = knowledge::check(BUNDLE.to_vec(), 1).unwrap().source;
    plain.bytes = BUNDLE.to_vec();
    assert!(store.put_knowledge_source(&plain).await.unwrap());
    let kb = knowledge::load(&store).await.unwrap().unwrap();
    assert_eq!(uses_of_g9001(&kb), ["T9001", "S9001"]);
}

#[tokio::test]
async fn hostile_gzip_is_refused_and_nothing_is_kept() {
    let (_dir, store) = store();
    let kept = knowledge::check(BUNDLE.to_vec(), 1).unwrap();
    knowledge::keep(&store, &kept).await.unwrap();
    let before = store.knowledge_sources().await.unwrap();

    let mut corrupt = gzip(BUNDLE);
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    let truncated = gzip(BUNDLE)[..20].to_vec();
    let not_json = gzip(b"\x00\x01 not json");
    // A bomb: a few hundred kilobytes that inflate past the limit.
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..=(knowledge::MAX_SOURCE_BYTES >> 20) {
        bomb.write_all(&zeros).unwrap();
    }
    let bomb = bomb.finish().unwrap();

    for (name, bytes, says) in [
        ("corrupt", corrupt, "gzip stream is corrupt"),
        ("truncated", truncated, "gzip stream is corrupt"),
        ("not JSON", not_json, "not JSON"),
        ("bomb", bomb, "over the limit"),
    ] {
        let error = knowledge::check(bytes, 2).unwrap_err();
        assert!(
            error.to_string().contains(says),
            "{name}: {error} should say {says:?}"
        );
        assert!(!matches!(error, KnowledgeError::Store(_)), "{name}");
    }
    assert_eq!(store.knowledge_sources().await.unwrap(), before);
    let source: KnowledgeSource = store
        .knowledge_source("attack", "attack")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(source.bytes, kept.source.bytes);
}
