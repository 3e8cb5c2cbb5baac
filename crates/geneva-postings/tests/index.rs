//! The posting index over a real SQLite store: compare-and-swap batches,
//! the viewer's rules on every read, caps, merging across batches, and its
//! files: reopened, torn, damaged, folded into snapshots, shared.
//! (The store's side, `visible_seqs` and `version_seqs`, is in the store
//! conformance suite and runs on both backends.)

use std::sync::Arc;

use geneva_postings::{Opened, PostingIndex};
use geneva_stix::Tlp;
use geneva_store::{
    Capped, IndexBatch, IndexedValue, ItemPostings, Organisation, PostingHit, Provenance,
    Recipients, Store, Viewer,
};
use geneva_store_sqlite::SqliteStore;
use serde_json::{Value, json};

fn incident(n: u32) -> Value {
    json!({"type": "incident", "spec_version": "2.1", "id": format!("incident--{n:08x}-0000-4000-8000-000000000000"),
           "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": format!("Incident {n}")})
}

fn provenance(org: Option<&Organisation>, tlp: Tlp) -> Provenance {
    Provenance {
        organisation: org.map_or("index-tests".into(), |o| o.name.clone()),
        organisation_id: org.map(|o| o.id),
        submitted_at: "2026-01-01T00:00:00Z".into(),
        default_tlp: tlp,
        recipients: Recipients::default(),
    }
}

fn value(key: &str, derived: Vec<u64>, address: Option<u128>) -> IndexedValue {
    IndexedValue {
        key: key.into(),
        derived,
        address,
        range_prefix: None,
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<dyn Store>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path().join("geneva.db")).unwrap());
        Fixture { dir, store }
    }

    fn index_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("correlation")
    }

    fn open(&self) -> (PostingIndex, Opened) {
        PostingIndex::open(&self.index_dir(), self.store.clone()).unwrap()
    }

    async fn import(&self, objects: &[Value], provenance: Provenance) {
        self.store
            .import(geneva_store::conformance::prepared(objects), provenance)
            .await
            .unwrap();
    }

    async fn seq_of(&self, id: &str) -> u64 {
        self.store.current_versions(&[id.to_owned()]).await.unwrap()[0].0
    }

    async fn last_position(&self) -> u64 {
        self.store
            .corr_feed(None, 100_000)
            .await
            .unwrap()
            .last()
            .unwrap()
            .position
    }
}

/// The STIX ids of the items hit, sorted: handles are named by the index that gave them.
fn items(index: &PostingIndex, found: &Capped<PostingHit>) -> Vec<String> {
    match found {
        Capped::Within(hits) => {
            let handles: Vec<_> = hits.iter().map(|h| h.item).collect();
            let mut items: Vec<String> = index
                .object_ids(&handles)
                .into_iter()
                .map(|id| id.expect("a handle of this index").to_string())
                .collect();
            items.sort();
            items
        }
        Capped::Over(n) => panic!("over: {n}"),
    }
}

fn id(n: u32) -> String {
    incident(n)["id"].as_str().unwrap().to_owned()
}

fn member(org: &Organisation) -> Viewer {
    Viewer::Member {
        organisation: org.id,
        user: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_apply_once_by_compare_and_swap() {
    let f = Fixture::new();
    f.import(&[incident(1), incident(2)], provenance(None, Tlp::Green))
        .await;
    let (index, opened) = f.open();
    assert_eq!(opened, Opened::Writing);
    assert_eq!(index.cursor(), None);
    let batch = IndexBatch {
        to: f.last_position().await,
        ..Default::default()
    };
    assert!(index.apply(batch.clone(), None).unwrap());
    // Someone else already moved the cursor: the second writer stands down.
    assert!(!index.apply(batch.clone(), None).unwrap());
    assert_eq!(index.cursor(), Some(batch.to));
    index.reset().unwrap();
    assert_eq!(index.cursor(), None);
    drop(index);
    assert_eq!(f.open().0.cursor(), None, "the reset is on disk too");
}

const DOMAIN: &str = "domain-name--00000001-0000-4000-8000-000000000000";

/// Two incidents from two members sharing a domain; the versions' access
/// facts sent with the batch (decided in the index) or not (asked of the store).
async fn shared_domain_fixture(
    f: &Fixture,
    with_access: bool,
) -> (PostingIndex, Organisation, Organisation) {
    let add = |name: &'static str| {
        let store = f.store.clone();
        async move {
            store
                .add_organisation(name, geneva_access::OrgKind::State, None)
                .await
                .unwrap()
        }
    };
    let (a, b, c) = (
        add("corr-a").await,
        add("corr-b").await,
        add("corr-c").await,
    );
    let sco =
        json!({"type": "domain-name", "spec_version": "2.1", "id": DOMAIN, "value": "x.example"});
    f.import(&[incident(1), sco], provenance(Some(&a), Tlp::Green))
        .await;
    f.import(&[incident(2)], provenance(Some(&b), Tlp::Amber))
        .await;
    let (i1, i2, d) = (
        f.seq_of(&id(1)).await,
        f.seq_of(&id(2)).await,
        f.seq_of(DOMAIN).await,
    );
    let batch = IndexBatch {
        to: f.last_position().await,
        postings: vec![
            ItemPostings {
                item: i1,
                source: d,
                values: vec![value("domain:x.example", vec![42], None)],
            },
            ItemPostings {
                item: i2,
                source: i2,
                values: vec![
                    value("domain:x.example", vec![42], None),
                    value("ipv4:10.0.0.1", vec![], Some(0xffff_0a00_0001)),
                ],
            },
        ],
        references: vec![(DOMAIN.to_owned(), i1)],
        access: if with_access {
            f.store.version_access(&[i1, i2, d]).await.unwrap()
        } else {
            Vec::new()
        },
    };
    let (index, _) = f.open();
    assert!(index.apply(batch, None).unwrap());
    (index, b, c)
}

async fn assert_shared_domain_reads(index: &PostingIndex, b: &Organisation, c: &Organisation) {
    let key = vec!["domain:x.example".to_owned()];
    let everyone = index.postings(&key, 10, &Viewer::Operator).await.unwrap();
    assert_eq!(items(index, &everyone[0]), vec![id(1), id(2)]);
    // C sees A's GREEN incident, through A's GREEN domain, and not B's AMBER one.
    let seen_by_c = index.postings(&key, 10, &member(c)).await.unwrap();
    assert_eq!(items(index, &seen_by_c[0]), vec![id(1)]);
    if let Capped::Within(hits) = &seen_by_c[0] {
        assert_eq!(
            index.object_ids(&[hits[0].source])[0].as_deref(),
            Some(DOMAIN)
        );
    }
    let seen_by_b = index.postings(&key, 10, &member(b)).await.unwrap();
    assert_eq!(items(index, &seen_by_b[0]).len(), 2);
    let anonymous = index.postings(&key, 10, &Viewer::Anonymous).await.unwrap();
    assert!(items(index, &anonymous[0]).is_empty());
    // Over the cap: "more than the cap", whoever asks.
    for viewer in [Viewer::Operator, Viewer::Anonymous] {
        assert_eq!(
            index.postings(&key, 1, &viewer).await.unwrap()[0],
            Capped::Over(2)
        );
    }
    let unknown = index
        .postings(&["domain:nowhere.example"], 10, &Viewer::Operator)
        .await
        .unwrap();
    assert_eq!(unknown[0], Capped::Within(Vec::new()));
    assert_eq!(
        index.derived(&[42, 43], 10),
        vec![
            Capped::Within(vec!["domain:x.example".into()]),
            Capped::Within(Vec::new())
        ]
    );
    assert_eq!(
        index.addresses(&[(0xffff_0a00_0000, 0xffff_0aff_ffff), (0, 1), (5, 4)], 10),
        vec![
            Capped::Within(vec!["ipv4:10.0.0.1".into()]),
            Capped::Within(Vec::new()),
            Capped::Within(Vec::new())
        ]
    );
    assert_eq!(
        index.item_values(&id(2), &member(c)).await.unwrap(),
        Vec::<String>::new(),
        "C may not see incident 2's values"
    );
    assert_eq!(
        index.item_values(&id(2), &member(b)).await.unwrap(),
        vec!["domain:x.example".to_owned(), "ipv4:10.0.0.1".to_owned()]
    );
    assert_eq!(index.items(&member(c)).await.unwrap(), vec![id(1)]);
    assert!(index.items(&Viewer::Anonymous).await.unwrap().is_empty());
    assert_eq!(
        index.items(&Viewer::Operator).await.unwrap(),
        vec![id(1), id(2)]
    );
    assert_eq!(index.referrers(&[DOMAIN.to_owned()]).len(), 1);
    let stats = index.stats();
    assert_eq!(
        (stats.values, stats.postings, stats.derived, stats.addresses),
        (2, 3, 1, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_obey_visibility_and_caps() {
    for with_access in [true, false] {
        let f = Fixture::new();
        let (index, b, c) = shared_domain_fixture(&f, with_access).await;
        assert_shared_domain_reads(&index, &b, &c).await;
        assert!(index.stats().bytes.unwrap() > 0);
        // The same answers from the files, read again as by a new process.
        drop(index);
        let (again, opened) = f.open();
        assert_eq!(opened, Opened::Writing);
        assert_shared_domain_reads(&again, &b, &c).await;
    }
}

/// Values merged across batches, an item version's list growing, caps on derived keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_batches_merge_and_cap() {
    let f = Fixture::new();
    f.import(
        &[incident(1), incident(2), incident(3)],
        provenance(None, Tlp::Green),
    )
    .await;
    let (i1, i2, i3) = (
        f.seq_of(&id(1)).await,
        f.seq_of(&id(2)).await,
        f.seq_of(&id(3)).await,
    );
    let last = f.last_position().await;
    let owned = |key: String, derived: Vec<u64>| IndexedValue {
        key,
        derived,
        address: None,
        range_prefix: None,
    };
    // 12,000 values on incident 1, every third also on incident 2; each
    // carries derived key 7 (hot) and one of its own.
    let keys: Vec<String> = (0..12_000).map(|n| format!("mutex:m{n}")).collect();
    let first = IndexBatch {
        to: last,
        postings: vec![
            ItemPostings {
                item: i1,
                source: i1,
                values: keys
                    .iter()
                    .enumerate()
                    .map(|(n, k)| owned(k.clone(), vec![7, 1_000 + n as u64]))
                    .collect(),
            },
            ItemPostings {
                item: i2,
                source: i2,
                values: keys
                    .iter()
                    .step_by(3)
                    .map(|k| owned(k.clone(), vec![7]))
                    .collect(),
            },
        ],
        references: Vec::new(),
        access: f.store.version_access(&[i1, i2]).await.unwrap(),
    };
    // Folding at 1 KiB: the second batch's log is folded into a snapshot.
    let (index, _) = f.open();
    let index = index.with_fold_at(1024);
    assert!(index.apply(first, None).unwrap());
    // A later batch adds to incident 1's list and reaches incident 3.
    let second = IndexBatch {
        to: last,
        postings: vec![
            ItemPostings {
                item: i1,
                source: i1,
                values: vec![owned("mutex:late".into(), vec![])],
            },
            ItemPostings {
                item: i3,
                source: i3,
                values: vec![owned(keys[11_999].clone(), vec![])],
            },
        ],
        references: Vec::new(),
        access: f.store.version_access(&[i3]).await.unwrap(),
    };
    assert!(index.apply(second, Some(last)).unwrap());
    assert!(f.index_dir().join("postings.snapshot").exists());

    async fn check(index: &PostingIndex, keys: &[String]) {
        let mut all = keys.to_vec();
        all.push("mutex:late".into());
        all.push("mutex:never".into());
        let found = index.postings(&all, 10, &Viewer::Operator).await.unwrap();
        assert_eq!(found.len(), all.len());
        for (n, c) in found.iter().enumerate().take(12_000) {
            let mut expected = vec![id(1)];
            if n % 3 == 0 {
                expected.push(id(2));
            }
            if n == 11_999 {
                expected.push(id(3));
            }
            expected.sort();
            assert_eq!(items(index, c), expected, "{}", all[n]);
        }
        assert_eq!(items(index, &found[12_000]), vec![id(1)]);
        assert_eq!(found[12_001], Capped::Within(Vec::new()));
        let values_of_1 = index.item_values(&id(1), &Viewer::Operator).await.unwrap();
        assert_eq!(values_of_1.len(), 12_001, "both batches' values, once each");
        assert!(values_of_1.contains(&"mutex:late".to_owned()));
        let hashes: Vec<u64> = std::iter::once(7)
            .chain((0..12_000).map(|n| 1_000 + n))
            .collect();
        let derived = index.derived(&hashes, 10);
        assert_eq!(derived[0], Capped::Over(11), "key 7 is hot");
        for (n, d) in derived.iter().enumerate().skip(1) {
            assert_eq!(d, &Capped::Within(vec![keys[n - 1].as_str().into()]));
        }
        let stats = index.stats();
        assert_eq!(
            (stats.values, stats.postings, stats.derived),
            (12_001, 12_000 + 4_000 + 2, 24_000)
        );
    }
    check(&index, &keys).await;
    drop(index);
    // From the snapshot (and an empty log).
    check(&f.open().0, &keys).await;
}

/// Applies `n` batches of one new incident each.
async fn grow(f: &Fixture, index: &PostingIndex, n: u32, tag: &str) -> Vec<String> {
    let base = 10_000 + 100 * (tag.len() as u32) + tag.as_bytes()[0] as u32 * 1_000;
    let objects: Vec<Value> = (0..n).map(|k| incident(base + k)).collect();
    f.import(&objects, provenance(None, Tlp::Green)).await;
    let mut keys = Vec::new();
    for object in &objects {
        let seq = f.seq_of(object["id"].as_str().unwrap()).await;
        let key = format!("mutex:{tag}-{seq}");
        let from = index.cursor();
        let batch = IndexBatch {
            to: seq,
            postings: vec![ItemPostings {
                item: seq,
                source: seq,
                values: vec![value(&key, vec![seq], None)],
            }],
            references: Vec::new(),
            access: f.store.version_access(&[seq]).await.unwrap(),
        };
        assert!(index.apply(batch, from).unwrap());
        keys.push(key);
    }
    keys
}

fn linked(index: &PostingIndex, found: &[Capped<PostingHit>]) -> usize {
    found.iter().filter(|c| items(index, c).len() == 1).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_tail_is_cut_and_the_rest_kept() {
    let f = Fixture::new();
    let (index, _) = f.open();
    let keys = grow(&f, &index, 5, "t").await;
    let cursor = index.cursor();
    drop(index);
    let log = f.index_dir().join("postings.log");
    let bytes = std::fs::read(&log).unwrap();
    // The last batch half written, as by a crash.
    std::fs::write(&log, &bytes[..bytes.len() - 5]).unwrap();
    let (index, _) = f.open();
    assert!(index.cursor() < cursor, "the torn batch is gone");
    let found = index.postings(&keys, 10, &Viewer::Operator).await.unwrap();
    assert_eq!(linked(&index, &found), 4);
    assert!(
        std::fs::metadata(&log).unwrap().len() < bytes.len() as u64 - 5,
        "the torn tail is cut off the file"
    );
    // The next batch follows the last whole one, and the file reads back.
    let more = grow(&f, &index, 1, "u").await;
    drop(index);
    let (index, _) = f.open();
    let found = index.postings(&more, 10, &Viewer::Operator).await.unwrap();
    assert_eq!(linked(&index, &found), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_file_is_discarded_and_rebuilt_from_the_feed() {
    let f = Fixture::new();
    let (index, _) = f.open();
    grow(&f, &index, 3, "d").await;
    drop(index);
    let log = f.index_dir().join("postings.log");
    // A frame whose checksum holds but which does not parse: damage, not a torn write.
    let mut bytes = std::fs::read(&log).unwrap();
    let payload = [9u8, 1, 2, 3];
    bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    std::fs::write(&log, &bytes).unwrap();
    let (index, opened) = f.open();
    assert_eq!(opened, Opened::Writing);
    assert_eq!(index.cursor(), None, "starts again from the feed");
    assert_eq!(index.stats().values, 0);
    drop(index);
    // A snapshot without its closing cursor: incomplete, so discarded too.
    let (index, _) = f.open();
    let index = index.with_fold_at(0);
    grow(&f, &index, 2, "s").await;
    drop(index);
    let snapshot = f.index_dir().join("postings.snapshot");
    let bytes = std::fs::read(&snapshot).unwrap();
    let cut = bytes.len() - 10;
    std::fs::write(&snapshot, &bytes[..cut]).unwrap();
    assert_eq!(f.open().0.cursor(), None);
    // Foreign bytes where a file should be: the same.
    std::fs::write(&log, b"not an index").unwrap();
    assert_eq!(f.open().0.cursor(), None);
}

/// CRC-32 (IEEE) bit by bit: the test builds a frame without the crate's code.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_reads_and_keeps_its_own_copy() {
    let f = Fixture::new();
    let (writer, opened) = f.open();
    assert_eq!(opened, Opened::Writing);
    let keys = grow(&f, &writer, 3, "w").await;
    let (reader, opened) = f.open();
    assert_eq!(opened, Opened::ReadOnly);
    assert_eq!(reader.cursor(), writer.cursor());
    assert_eq!(reader.stats().bytes, None, "it writes nothing");
    let found = reader.postings(&keys, 10, &Viewer::Operator).await.unwrap();
    assert_eq!(linked(&reader, &found), 3);
    // Once the writer is gone, the next process writes.
    drop(writer);
    drop(reader);
    assert_eq!(f.open().1, Opened::Writing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_and_logs_chain_over_many_folds() {
    let f = Fixture::new();
    let (index, _) = f.open();
    let index = index.with_fold_at(300);
    let mut keys = grow(&f, &index, 20, "a").await;
    let expected = index.stats();
    drop(index);
    let (index, _) = f.open();
    assert_eq!(
        (index.stats().values, index.stats().postings),
        (expected.values, expected.postings)
    );
    keys.extend(grow(&f, &index, 5, "b").await);
    let found = index.postings(&keys, 10, &Viewer::Operator).await.unwrap();
    assert_eq!(linked(&index, &found), 25);
}

/// The index decides from the facts its batches brought exactly as the
/// store decides in SQL, for every viewer, over random levels, submitters,
/// recipients and sharing groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_sees_what_the_store_sees() {
    let f = Fixture::new();
    let mut state = 0x5eed_u64;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut orgs = Vec::new();
    let mut users = Vec::new();
    for n in 0..5 {
        let org = f
            .store
            .add_organisation(&format!("org{n}"), geneva_access::OrgKind::Company, None)
            .await
            .unwrap();
        users.push(f.store.add_user(&format!("user{n}"), org.id).await.unwrap());
        orgs.push(org);
    }
    let mut groups = Vec::new();
    for g in 0..3 {
        let members: Vec<i64> = orgs.iter().filter(|_| next(2) == 0).map(|o| o.id).collect();
        groups.push(
            f.store
                .add_group(&format!("g{g}"), &members)
                .await
                .unwrap()
                .id,
        );
    }
    let levels = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];
    for n in 0..80u32 {
        let submitter = &orgs[next(5) as usize];
        let provenance = Provenance {
            organisation: submitter.name.clone(),
            organisation_id: Some(submitter.id),
            submitted_at: "2026-01-01T00:00:00Z".into(),
            default_tlp: levels[next(5) as usize],
            recipients: Recipients {
                organisations: orgs.iter().filter(|_| next(3) == 0).map(|o| o.id).collect(),
                groups: groups.iter().filter(|_| next(3) == 0).copied().collect(),
                users: users
                    .iter()
                    .filter(|_| next(3) == 0)
                    .map(|u| u.id)
                    .collect(),
            },
        };
        f.import(&[incident(100 + n)], provenance).await;
    }
    let seqs: Vec<u64> = f
        .store
        .corr_feed(None, 1_000)
        .await
        .unwrap()
        .iter()
        .map(|v| v.seq)
        .collect();
    let (index, _) = f.open();
    let batch = IndexBatch {
        to: f.last_position().await,
        access: f.store.version_access(&seqs).await.unwrap(),
        ..Default::default()
    };
    assert!(index.apply(batch, None).unwrap());
    let mut viewers = vec![Viewer::Operator, Viewer::Anonymous];
    for (org, user) in orgs.iter().zip(&users) {
        viewers.push(member(org));
        viewers.push(Viewer::Member {
            organisation: org.id,
            user: Some(user.id),
        });
    }
    for viewer in &viewers {
        let mut from_index: Vec<(u64, String)> = index
            .visible_ids(&seqs, viewer)
            .await
            .unwrap()
            .into_iter()
            .collect();
        from_index.sort();
        let from_store = f.store.visible_seqs(&seqs, viewer).await.unwrap();
        assert_eq!(from_index, from_store, "{viewer:?}");
    }
}

/// Two versions of one incident carrying one value are one hit, with or
/// without access facts; a handle from before a rebuild names nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handles_name_objects_across_versions_and_not_after_a_rebuild() {
    for with_access in [true, false] {
        let f = Fixture::new();
        let mut newer = incident(7);
        newer["modified"] = json!("2026-02-01T00:00:00.000Z");
        f.import(&[incident(7)], provenance(None, Tlp::Green)).await;
        f.import(&[newer], provenance(None, Tlp::Green)).await;
        let seqs: Vec<u64> = f
            .store
            .corr_feed(None, 100)
            .await
            .unwrap()
            .iter()
            .filter(|v| v.version.id == id(7))
            .map(|v| v.seq)
            .collect();
        assert_eq!(seqs.len(), 2, "two versions");
        let (index, _) = f.open();
        let batch = IndexBatch {
            to: f.last_position().await,
            postings: seqs
                .iter()
                .map(|&s| ItemPostings {
                    item: s,
                    source: s,
                    values: vec![value("mutex:twice", vec![], None)],
                })
                .collect(),
            references: Vec::new(),
            access: if with_access {
                f.store.version_access(&seqs).await.unwrap()
            } else {
                Vec::new()
            },
        };
        assert!(index.apply(batch, None).unwrap());
        let found = index
            .postings(&["mutex:twice"], 10, &Viewer::Operator)
            .await
            .unwrap();
        let Capped::Within(hits) = &found[0] else {
            panic!("over the cap")
        };
        assert_eq!(hits.len(), 1, "with_access {with_access}: {hits:?}");
        assert_eq!(items(&index, &found[0]), vec![id(7)]);
        index.reset().unwrap();
        assert_eq!(index.object_ids(&[hits[0].item]), vec![None]);
    }
}
