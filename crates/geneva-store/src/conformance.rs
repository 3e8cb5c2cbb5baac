//! The conformance suite: behaviour every `Store` backend must show.
//!
//! A backend's tests invoke [`conformance_tests!`](crate::conformance_tests) with
//! an expression that yields a fresh, empty store; each case becomes its own test.

use geneva_stix::{PrepareOptions, PreparedObject, Tlp, prepare};
use serde_json::{Value, json};

use crate::{Cursor, ImportMessage, ImportSummary, ListQuery, Provenance, Store, StoreError};

/// Expands to one `#[tokio::test]` per conformance case.
/// `$fresh` is an async block or expression evaluating to a new empty store.
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        $crate::conformance_tests!(@cases $fresh;
            import_then_reimport_is_unchanged,
            newer_version_supersedes_and_older_stays,
            older_version_does_not_replace_current,
            conflicting_content_rejects_whole_batch,
            listing_pages_cover_everything_once,
            listing_filters_by_type_and_since,
            revoked_objects_are_kept_and_marked,
            tlp_from_markings_or_default,
            stats_count_current_view,
            observables_keep_each_distinct_content,
            invalid_cursor_is_an_error,
            streamed_batches_commit_together,
            abandoned_stream_stores_nothing,
            directory_organisations_users_groups,
            tokens_keep_only_hashes_and_revoke,
            audit_log_appends_in_order,
        );
    };
    (@cases $fresh:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store = $fresh.await;
                $crate::conformance::$case(&store).await;
            }
        )*
    };
}

fn provenance() -> Provenance {
    Provenance {
        organisation: "conformance-org".into(),
        submitted_at: "2026-01-01T00:00:00Z".into(),
        default_tlp: Tlp::Amber,
    }
}

/// Runs objects through the real import pipeline.
pub fn prepared(objects: &[Value]) -> Vec<PreparedObject> {
    let bundle = json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": objects});
    let bytes = serde_json::to_vec(&bundle).expect("serialisable");
    prepare(&bytes, &PrepareOptions::default())
        .expect("conformance fixtures are valid")
        .objects
}

pub fn campaign(n: u32, modified: &str) -> Value {
    json!({
        "type": "campaign",
        "spec_version": "2.1",
        "id": format!("campaign--{n:08x}-0000-4000-8000-000000000000"),
        "created": "2020-01-01T00:00:00.000Z",
        "modified": modified,
        "name": format!("Campaign {n}"),
    })
}

fn ids(items: &[crate::StoredVersion]) -> Vec<String> {
    items.iter().map(|v| v.id.clone()).collect()
}

pub async fn import_then_reimport_is_unchanged(store: &dyn Store) {
    let objects = prepared(&[
        campaign(1, "2020-01-01T00:00:00.000Z"),
        campaign(2, "2020-01-01T00:00:00.000Z"),
    ]);
    let first = store.import(objects.clone(), provenance()).await.unwrap();
    assert_eq!(
        first,
        ImportSummary {
            new: 2,
            updated: 0,
            unchanged: 0
        }
    );
    let again = store.import(objects.clone(), provenance()).await.unwrap();
    assert_eq!(
        again,
        ImportSummary {
            new: 0,
            updated: 0,
            unchanged: 2
        }
    );
    let stored = store.get(&objects[0].id).await.unwrap().expect("stored");
    assert_eq!(stored.canonical, objects[0].canonical);
    assert_eq!(stored.sha256, objects[0].sha256);
    assert_eq!(stored.organisation, "conformance-org");
    assert_eq!(stored.submitted_at, "2026-01-01T00:00:00Z");
    assert!(stored.current);
    assert_eq!(store.versions(&objects[0].id).await.unwrap().len(), 1);
}

pub async fn newer_version_supersedes_and_older_stays(store: &dyn Store) {
    let v1 = campaign(1, "2020-01-01T00:00:00.000Z");
    let mut v2 = campaign(1, "2021-01-01T00:00:00.000Z");
    v2["name"] = json!("Renamed");
    store.import(prepared(&[v1]), provenance()).await.unwrap();
    let s = store
        .import(prepared(&[v2.clone()]), provenance())
        .await
        .unwrap();
    assert_eq!(
        s,
        ImportSummary {
            new: 0,
            updated: 1,
            unchanged: 0
        }
    );
    let id = v2["id"].as_str().unwrap();
    let current = store.get(id).await.unwrap().unwrap();
    assert_eq!(current.version.as_deref(), Some("2021-01-01T00:00:00.000Z"));
    let versions = store.versions(id).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions[0].version.as_deref(),
        Some("2020-01-01T00:00:00.000Z")
    );
    assert!(!versions[0].current && versions[1].current);
    assert_eq!(store.stats().await.unwrap().objects, 1);
}

pub async fn older_version_does_not_replace_current(store: &dyn Store) {
    store
        .import(
            prepared(&[campaign(1, "2021-01-01T00:00:00.000Z")]),
            provenance(),
        )
        .await
        .unwrap();
    let s = store
        .import(
            prepared(&[campaign(1, "2020-06-01T00:00:00.000Z")]),
            provenance(),
        )
        .await
        .unwrap();
    assert_eq!(s.updated, 1);
    let current = store
        .get(campaign(1, "")["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.version.as_deref(), Some("2021-01-01T00:00:00.000Z"));
}

pub async fn conflicting_content_rejects_whole_batch(store: &dyn Store) {
    store
        .import(
            prepared(&[campaign(1, "2020-01-01T00:00:00.000Z")]),
            provenance(),
        )
        .await
        .unwrap();
    let mut changed = campaign(1, "2020-01-01T00:00:00.000Z");
    changed["name"] = json!("Changed without a new modified");
    let batch = prepared(&[campaign(2, "2020-01-01T00:00:00.000Z"), changed]);
    let err = store.import(batch, provenance()).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict { .. }), "{err}");
    assert!(
        store
            .get(campaign(2, "")["id"].as_str().unwrap())
            .await
            .unwrap()
            .is_none(),
        "batch must be all or nothing"
    );
    assert_eq!(store.stats().await.unwrap().versions, 1);
}

pub async fn listing_pages_cover_everything_once(store: &dyn Store) {
    let objects: Vec<Value> = (0..57)
        .map(|n| campaign(n, "2020-01-01T00:00:00.000Z"))
        .collect();
    store
        .import(prepared(&objects), provenance())
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store
            .list(&ListQuery {
                after: after.clone(),
                limit: 10,
                ..ListQuery::default()
            })
            .await
            .unwrap();
        assert!(page.items.len() <= 10);
        seen.extend(ids(&page.items));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let mut expected: Vec<String> = objects
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    assert_eq!(seen, expected);
}

pub async fn listing_filters_by_type_and_since(store: &dyn Store) {
    let identity = json!({"type": "identity", "spec_version": "2.1", "id": "identity--2b3c2b2a-8c34-4b55-9a37-5bd2f5a2f2b0",
        "created": "2019-01-01T00:00:00.000Z", "modified": "2019-01-01T00:00:00.000Z", "name": "Acme"});
    store
        .import(
            prepared(&[
                identity,
                campaign(1, "2020-01-01T00:00:00.000Z"),
                campaign(2, "2022-01-01T00:00:00.000Z"),
            ]),
            provenance(),
        )
        .await
        .unwrap();
    let campaigns = store
        .list(&ListQuery {
            types: vec!["campaign".into()],
            limit: 100,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(campaigns.items.len(), 2);
    let since = geneva_stix::Timestamp::parse("2021-01-01T00:00:00Z").unwrap();
    let recent = store
        .list(&ListQuery {
            since: Some(since),
            limit: 100,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        ids(&recent.items),
        vec![campaign(2, "")["id"].as_str().unwrap().to_owned()]
    );
}

pub async fn revoked_objects_are_kept_and_marked(store: &dyn Store) {
    let mut revoked = campaign(1, "2021-01-01T00:00:00.000Z");
    revoked["revoked"] = json!(true);
    store
        .import(
            prepared(&[campaign(1, "2020-01-01T00:00:00.000Z")]),
            provenance(),
        )
        .await
        .unwrap();
    store
        .import(prepared(&[revoked]), provenance())
        .await
        .unwrap();
    let current = store
        .get(campaign(1, "")["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(current.revoked);
    assert_eq!(store.stats().await.unwrap().revoked, 1);
    assert_eq!(store.versions(&current.id).await.unwrap().len(), 2);
}

pub async fn tlp_from_markings_or_default(store: &dyn Store) {
    let mut red = campaign(1, "2020-01-01T00:00:00.000Z");
    red["object_marking_refs"] = json!([Tlp::Red.marking_id()]);
    store
        .import(
            prepared(&[red, campaign(2, "2020-01-01T00:00:00.000Z")]),
            provenance(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .get(campaign(1, "")["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap()
            .tlp,
        Tlp::Red
    );
    assert_eq!(
        store
            .get(campaign(2, "")["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap()
            .tlp,
        Tlp::Amber
    );
}

pub async fn stats_count_current_view(store: &dyn Store) {
    store
        .import(
            prepared(&[
                campaign(1, "2020-01-01T00:00:00.000Z"),
                campaign(1, "2021-01-01T00:00:00.000Z"),
                campaign(2, "2020-01-01T00:00:00.000Z"),
            ]),
            provenance(),
        )
        .await
        .unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.versions), (2, 3));
    assert_eq!(stats.objects_by_type, vec![("campaign".to_string(), 2)]);
    assert_eq!(stats.by_tlp, vec![(Tlp::Amber, 2)]);
}

pub async fn observables_keep_each_distinct_content(store: &dyn Store) {
    let a = json!({"type": "file", "spec_version": "2.1", "id": "file--5a27d487-c542-5f97-a131-a8866b477b46", "name": "a.exe"});
    let b = json!({"type": "file", "spec_version": "2.1", "id": "file--5a27d487-c542-5f97-a131-a8866b477b46", "name": "b.exe"});
    store
        .import(prepared(std::slice::from_ref(&a)), provenance())
        .await
        .unwrap();
    let s = store.import(prepared(&[b, a]), provenance()).await.unwrap();
    assert_eq!(
        s,
        ImportSummary {
            new: 0,
            updated: 1,
            unchanged: 1
        }
    );
    assert_eq!(
        store
            .versions("file--5a27d487-c542-5f97-a131-a8866b477b46")
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn invalid_cursor_is_an_error(store: &dyn Store) {
    let err = store
        .list(&ListQuery {
            after: Some(Cursor(String::new())),
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidCursor(_)));
}

pub async fn streamed_batches_commit_together(store: &dyn Store) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let feeder = async move {
        for n in 0..3 {
            tx.send(ImportMessage::Objects(prepared(&[campaign(
                n,
                "2020-01-01T00:00:00.000Z",
            )])))
            .await
            .unwrap();
        }
        tx.send(ImportMessage::Commit).await.unwrap();
    };
    let (summary, ()) = tokio::join!(store.import_stream(rx, provenance()), feeder);
    assert_eq!(summary.unwrap().new, 3);
    assert_eq!(store.stats().await.unwrap().objects, 3);
}

pub async fn abandoned_stream_stores_nothing(store: &dyn Store) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let feeder = async move {
        tx.send(ImportMessage::Objects(prepared(&[campaign(
            1,
            "2020-01-01T00:00:00.000Z",
        )])))
        .await
        .unwrap();
        // The producer found an invalid object later on and gives up: no Commit.
        drop(tx);
    };
    let (result, ()) = tokio::join!(store.import_stream(rx, provenance()), feeder);
    assert!(matches!(result, Err(StoreError::Abandoned)));
    assert_eq!(store.stats().await.unwrap().versions, 0);
}

pub async fn directory_organisations_users_groups(store: &dyn Store) {
    use geneva_access::OrgKind;
    let ch = store
        .add_organisation("CH-NCSC", OrgKind::State, Some("ch".parse().unwrap()))
        .await
        .unwrap();
    let acme = store
        .add_organisation("Acme", OrgKind::Company, None)
        .await
        .unwrap();
    assert_eq!(ch.country.as_ref().map(|c| c.as_str()), Some("CH"));
    assert!(matches!(
        store.add_organisation("Acme", OrgKind::Vendor, None).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.organisation("CH-NCSC").await.unwrap(),
        Some(ch.clone())
    );
    assert_eq!(store.organisation("nobody").await.unwrap(), None);
    let names: Vec<String> = store
        .organisations()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, vec!["Acme", "CH-NCSC"]);

    let alice = store.add_user("alice", ch.id).await.unwrap();
    assert_eq!(store.user("alice").await.unwrap(), Some(alice));
    assert!(matches!(
        store.add_user("alice", acme.id).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.add_user("bob", 9_999).await,
        Err(StoreError::NotFound(_))
    ));

    let group = store
        .add_group("europe", &[acme.id, ch.id, ch.id])
        .await
        .unwrap();
    assert_eq!(group.members, {
        let mut m = vec![acme.id, ch.id];
        m.sort();
        m
    });
    assert!(matches!(
        store.add_group("ghosts", &[9_999]).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.groups().await.unwrap(),
        vec![group],
        "a failed group leaves nothing behind"
    );
}

pub async fn tokens_keep_only_hashes_and_revoke(store: &dyn Store) {
    use geneva_access::{ApiToken, OrgKind, Scope, Scopes};
    let org = store
        .add_organisation("Acme", OrgKind::Company, None)
        .await
        .unwrap();
    let token = ApiToken::generate().unwrap();
    let record = crate::TokenRecord {
        id: token.id.clone(),
        organisation: org.id,
        user: None,
        scopes: Scopes::new([Scope::Read, Scope::Submit]),
        label: "ci".into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        revoked_at: None,
    };
    store.add_token(&record, token.hash()).await.unwrap();
    let (stored, hash) = store.token(&token.id).await.unwrap().expect("stored");
    assert_eq!(stored, record);
    assert!(hash.matches(&token.hash()));
    assert_eq!(store.tokens().await.unwrap(), vec![record]);
    assert!(
        store
            .revoke_token(&token.id, "2026-02-01T00:00:00.000Z")
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_token(&token.id, "2026-03-01T00:00:00.000Z")
            .await
            .unwrap()
    );
    let (revoked, _) = store.token(&token.id).await.unwrap().unwrap();
    assert_eq!(
        revoked.revoked_at.as_deref(),
        Some("2026-02-01T00:00:00.000Z"),
        "the first revocation time stays"
    );
    let unknown = ApiToken::generate().unwrap();
    assert!(
        !store
            .revoke_token(&unknown.id, "2026-02-01T00:00:00.000Z")
            .await
            .unwrap()
    );
    assert!(store.token(&unknown.id).await.unwrap().is_none());
}

pub async fn audit_log_appends_in_order(store: &dyn Store) {
    let entry = |n: usize| crate::NewAuditEntry {
        at: format!("2026-01-01T00:00:{n:02}.000Z"),
        actor: "org:Acme token:0123456789ab".into(),
        action: "read".into(),
        channel: "api".into(),
        target: Some(format!("campaign--{n}")),
        detail: "TLP:AMBER".into(),
    };
    store.audit(vec![entry(1), entry(2)]).await.unwrap();
    store.audit(vec![entry(3)]).await.unwrap();
    let all = store.audit_log(0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.entry.clone()).collect::<Vec<_>>(),
        vec![entry(1), entry(2), entry(3)]
    );
    let later = store.audit_log(all[1].seq, 100).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].entry, entry(3));
}
