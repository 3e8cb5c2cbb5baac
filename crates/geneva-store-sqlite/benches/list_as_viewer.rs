//! Listing 100,000 objects as a member (TLP rules applied in SQL) against
//! listing them as an operator (no rules): the cost of enforcing TLP.
//!
//! `cargo bench -p geneva-store-sqlite --bench list_as_viewer`

use std::sync::OnceLock;

use geneva_access::OrgKind;
use geneva_stix::{PrepareOptions, Tlp, prepare};
use geneva_store::{ListQuery, Provenance, Recipients, Store, Viewer};
use geneva_store_sqlite::SqliteStore;
use serde_json::json;

const OBJECTS: usize = 100_000;
const ORGS: usize = 10;

struct Fixture {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    member: Viewer,
    runtime: tokio::runtime::Runtime,
}

/// 100,000 campaigns from 10 organisations: 40% CLEAR, 30% GREEN, 20% AMBER
/// (each released to two other organisations), 5% AMBER+STRICT, 5% RED.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("geneva.db")).unwrap();
        let member = runtime.block_on(async {
            let mut orgs = Vec::new();
            for n in 0..ORGS {
                orgs.push(store.add_organisation(&format!("org{n}"), OrgKind::State, None).await.unwrap().id);
            }
            for (n, &org) in orgs.iter().enumerate() {
                let objects: Vec<_> = (0..OBJECTS / ORGS)
                    .map(|i| {
                        let k = n * (OBJECTS / ORGS) + i;
                        let tlp = match k % 20 {
                            0..=7 => Tlp::Clear,
                            8..=13 => Tlp::Green,
                            14..=17 => Tlp::Amber,
                            18 => Tlp::AmberStrict,
                            _ => Tlp::Red,
                        };
                        json!({"type": "campaign", "spec_version": "2.1", "id": format!("campaign--{k:08x}-0000-4000-8000-000000000000"),
                               "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
                               "name": format!("Campaign {k}"), "description": "x".repeat(200),
                               "object_marking_refs": [tlp.marking_id()]})
                    })
                    .collect();
                let bundle = serde_json::to_vec(&json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": objects})).unwrap();
                let prepared = prepare(&bundle, &PrepareOptions::default()).unwrap().objects;
                let recipients = Recipients { organisations: vec![orgs[(n + 1) % ORGS], orgs[(n + 3) % ORGS]], ..Recipients::default() };
                let provenance = Provenance {
                    organisation: format!("org{n}"),
                    organisation_id: Some(org),
                    submitted_at: "2026-01-01T00:00:00.000Z".into(),
                    default_tlp: Tlp::Amber,
                    recipients,
                };
                store.import(prepared, provenance).await.unwrap();
            }
            Viewer::Member { organisation: orgs[3], user: None }
        });
        Fixture { _dir: dir, store, member, runtime }
    })
}

fn list_all(f: &Fixture, viewer: &Viewer) -> usize {
    f.runtime.block_on(async {
        let mut query = ListQuery {
            limit: 1000,
            ..ListQuery::default()
        };
        let mut count = 0;
        loop {
            let page = f.store.list(&query, viewer).await.unwrap();
            count += page.items.len();
            match page.next {
                Some(c) => query.after = Some(c),
                None => return count,
            }
        }
    })
}

#[divan::bench(sample_count = 10)]
fn list_100k_as_operator(bencher: divan::Bencher) {
    let f = fixture();
    bencher.bench(|| list_all(f, &Viewer::Operator));
}

#[divan::bench(sample_count = 10)]
fn list_100k_as_member(bencher: divan::Bencher) {
    let f = fixture();
    bencher.bench(|| list_all(f, &f.member));
}

fn main() {
    let f = fixture();
    eprintln!(
        "fixture: {} objects; the member sees {}",
        list_all(f, &Viewer::Operator),
        list_all(f, &f.member)
    );
    divan::main();
}
