//! Correlation on a real SQLite store: links through shared indicators and
//! cyber-observables, and never a link to, or a hint of, an object the viewer
//! may not see.

use std::sync::Arc;

use geneva_access::OrgKind;
use geneva_correlate::{Config, Reason, WarningLists};
use geneva_postings::PostingIndex;
use geneva_stix::Tlp;
use geneva_store::{Provenance, Recipients, Store, Viewer};
use geneva_store_sqlite::SqliteStore;
use serde_json::{Value, json};

fn prepared(objects: Vec<Value>) -> Vec<geneva_stix::PreparedObject> {
    geneva_store::conformance::prepared(&objects)
}

fn report(n: u32, refs: &[&str]) -> Value {
    json!({"type": "report", "spec_version": "2.1", "id": format!("report--{n:08x}-0000-4000-8000-000000000000"),
           "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
           "name": format!("Report {n}"), "published": "2026-01-01T00:00:00Z", "object_refs": refs})
}

fn indicator(n: u32, pattern: &str) -> Value {
    json!({"type": "indicator", "spec_version": "2.1", "id": format!("indicator--{n:08x}-0000-4000-8000-000000000000"),
           "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
           "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlations_follow_what_the_viewer_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("geneva.db")).unwrap());
    let index = PostingIndex::in_memory(store.clone());
    let ch = store
        .add_organisation("CH-NCSC", OrgKind::State, None)
        .await
        .unwrap();
    let fr = store
        .add_organisation("ANSSI", OrgKind::State, None)
        .await
        .unwrap();
    let submit = |org: &geneva_store::Organisation, tlp: Tlp| Provenance {
        organisation: org.name.clone(),
        organisation_id: Some(org.id),
        submitted_at: "2026-11-26T03:30:00.000Z".into(),
        default_tlp: tlp,
        recipients: Recipients::default(),
    };
    let domain = "domain-name--3c8a5b2a-1d5e-4c8a-9d3b-7a1f0e2b4c6d";
    // Switzerland, GREEN: a report with a domain and an indicator on an address.
    store
        .import(
            prepared(vec![
                json!({"type": "domain-name", "spec_version": "2.1", "id": domain, "value": "C2.Evil-Example.NET"}),
                indicator(1, "[ipv4-addr:value = '45.77.12.9']"),
                report(1, &[domain, "indicator--00000001-0000-4000-8000-000000000000"]),
            ]),
            submit(&ch, Tlp::Green),
        )
        .await
        .unwrap();
    // France, GREEN: the address inside a range, defanged.
    store
        .import(
            prepared(vec![
                indicator(2, "[ipv4-addr:value ISSUBSET '45.77.0.0/16']"),
                report(2, &["indicator--00000002-0000-4000-8000-000000000000"]),
            ]),
            submit(&fr, Tlp::Green),
        )
        .await
        .unwrap();
    // France, RED (to nobody): the same domain.
    store
        .import(
            prepared(vec![
                indicator(3, "[domain-name:value = 'c2.evil-example[.]net']"),
                report(3, &["indicator--00000003-0000-4000-8000-000000000000"]),
            ]),
            submit(&fr, Tlp::Red),
        )
        .await
        .unwrap();

    let r1 = "report--00000001-0000-4000-8000-000000000000";
    let r3 = "report--00000003-0000-4000-8000-000000000000";
    let swiss = Viewer::Member {
        organisation: ch.id,
        user: None,
    };
    let found = geneva_analysis::correlate(
        &index,
        &swiss,
        r1,
        Config::default(),
        WarningLists::builtin(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        found.observables,
        vec!["ipv4:45.77.12.9", "domain:c2.evil-example.net"]
    );
    let linked: Vec<&str> = found.links.iter().map(|l| l.item.as_str()).collect();
    // The GREEN report through the range, and the indicator on the same address.
    assert!(
        linked.contains(&"report--00000002-0000-4000-8000-000000000000"),
        "{linked:?}"
    );
    assert!(
        !linked.iter().any(|l| l.contains("00000003")),
        "a RED report leaked: {linked:?}"
    );
    // France sees its RED report linked by the domain; so does the operator.
    let french = Viewer::Member {
        organisation: fr.id,
        user: None,
    };
    for viewer in [french, Viewer::Operator] {
        let found = geneva_analysis::correlate(
            &index,
            &viewer,
            r1,
            Config::default(),
            WarningLists::builtin(),
        )
        .await
        .unwrap()
        .unwrap();
        let link = found
            .links
            .iter()
            .find(|l| l.item == r3)
            .expect("the RED report links");
        assert_eq!(
            link.reasons,
            vec![Reason::Same {
                key: "domain:c2.evil-example.net".into()
            }]
        );
    }
    // Switzerland asking about the RED report gets what a missing id gets.
    assert!(
        geneva_analysis::correlate(
            &index,
            &swiss,
            r3,
            Config::default(),
            WarningLists::builtin()
        )
        .await
        .unwrap()
        .is_none()
    );
    // A single cyber-observable is correlated as itself.
    let single = geneva_analysis::correlate(
        &index,
        &Viewer::Operator,
        domain,
        Config::default(),
        WarningLists::builtin(),
    )
    .await
    .unwrap()
    .unwrap();
    let linked: Vec<&str> = single.links.iter().map(|l| l.item.as_str()).collect();
    assert!(linked.contains(&r1) && linked.contains(&r3), "{linked:?}");
    // Campaigns: for the operator, reports 1 and 3 (same domain) and 2 (range, weak) …
    let campaigns = geneva_analysis::campaigns(
        &index,
        &Viewer::Operator,
        Config::default(),
        WarningLists::builtin(),
    )
    .await
    .unwrap();
    assert!(
        campaigns
            .campaigns
            .iter()
            .any(|c| c.members.contains(&r1.to_string()) && c.members.contains(&r3.to_string())),
        "{campaigns:?}"
    );
    // … and for Switzerland, nothing that includes report 3.
    let campaigns =
        geneva_analysis::campaigns(&index, &swiss, Config::default(), WarningLists::builtin())
            .await
            .unwrap();
    assert!(
        !campaigns
            .campaigns
            .iter()
            .map(|c| &c.members)
            .chain(campaigns.communities.iter().map(|c| &c.members))
            .any(|members| members.iter().any(|m| m.contains("00000003"))),
        "{campaigns:?}"
    );
}
