//! The conformance suite: behaviour every `Store` backend must show.
//!
//! A backend's tests invoke [`conformance_tests!`](crate::conformance_tests) with
//! an expression that yields a fresh, empty store; each case becomes its own test.

use geneva_stix::{PrepareOptions, PreparedObject, Tlp, prepare};
use serde_json::{Value, json};

use crate::{
    Cursor, ImportMessage, ImportSummary, ListQuery, Provenance, Recipients, Store, StoreError,
    Viewer,
};

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
            tlp_access_matrix,
            newest_visible_version_is_current,
            random_sharing_never_leaks,
            members_reports_never_collide,
            sequences_hand_out_disjoint_gap_free_ranges,
            log_numbers_every_new_version_once,
            log_append_is_compare_and_swap,
            log_witnesses_and_cosignatures,
            corr_feed_and_visible_seqs,
            versions_list_in_added_order_with_filters,
            request_statuses_are_kept_once,
            feeds_run_when_due_once_and_resume,
            knowledge_sources_are_replaced_by_newer_releases,
            relationships_from_follow_visibility_and_versions,
            read_generation_moves_with_every_write_a_read_depends_on,
            cases_are_written_only_from_the_revision_read,
            newest_first_listing_follows_the_latest_store,
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
        organisation_id: None,
        submitted_at: "2026-01-01T00:00:00Z".into(),
        default_tlp: Tlp::Amber,
        recipients: Recipients::default(),
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
    let stored = store
        .get(&objects[0].id, &Viewer::Operator)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.canonical, objects[0].canonical);
    assert_eq!(stored.sha256, objects[0].sha256);
    assert_eq!(stored.organisation, "conformance-org");
    assert_eq!(stored.submitted_at, "2026-01-01T00:00:00Z");
    assert!(stored.current);
    assert_eq!(
        store
            .versions(&objects[0].id, &Viewer::Operator)
            .await
            .unwrap()
            .len(),
        1
    );
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
    let current = store.get(id, &Viewer::Operator).await.unwrap().unwrap();
    assert_eq!(current.version.as_deref(), Some("2021-01-01T00:00:00.000Z"));
    let versions = store.versions(id, &Viewer::Operator).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions[0].version.as_deref(),
        Some("2020-01-01T00:00:00.000Z")
    );
    assert!(!versions[0].current && versions[1].current);
    assert_eq!(store.stats(&Viewer::Operator).await.unwrap().objects, 1);
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
        .get(campaign(1, "")["id"].as_str().unwrap(), &Viewer::Operator)
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
            .get(campaign(2, "")["id"].as_str().unwrap(), &Viewer::Operator)
            .await
            .unwrap()
            .is_none(),
        "batch must be all or nothing"
    );
    assert_eq!(store.stats(&Viewer::Operator).await.unwrap().versions, 1);
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
            .list(
                &ListQuery {
                    after: after.clone(),
                    limit: 10,
                    ..ListQuery::default()
                },
                &Viewer::Operator,
            )
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
        .list(
            &ListQuery {
                types: vec!["campaign".into()],
                limit: 100,
                ..ListQuery::default()
            },
            &Viewer::Operator,
        )
        .await
        .unwrap();
    assert_eq!(campaigns.items.len(), 2);
    let since = geneva_stix::Timestamp::parse("2021-01-01T00:00:00Z").unwrap();
    let recent = store
        .list(
            &ListQuery {
                since: Some(since),
                limit: 100,
                ..ListQuery::default()
            },
            &Viewer::Operator,
        )
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
        .get(campaign(1, "")["id"].as_str().unwrap(), &Viewer::Operator)
        .await
        .unwrap()
        .unwrap();
    assert!(current.revoked);
    assert_eq!(store.stats(&Viewer::Operator).await.unwrap().revoked, 1);
    assert_eq!(
        store
            .versions(&current.id, &Viewer::Operator)
            .await
            .unwrap()
            .len(),
        2
    );
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
            .get(campaign(1, "")["id"].as_str().unwrap(), &Viewer::Operator)
            .await
            .unwrap()
            .unwrap()
            .tlp,
        Tlp::Red
    );
    assert_eq!(
        store
            .get(campaign(2, "")["id"].as_str().unwrap(), &Viewer::Operator)
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
    let stats = store.stats(&Viewer::Operator).await.unwrap();
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
            .versions(
                "file--5a27d487-c542-5f97-a131-a8866b477b46",
                &Viewer::Operator
            )
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn invalid_cursor_is_an_error(store: &dyn Store) {
    let err = store
        .list(
            &ListQuery {
                after: Some(Cursor(String::new())),
                limit: 10,
                ..ListQuery::default()
            },
            &Viewer::Operator,
        )
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
    assert_eq!(store.stats(&Viewer::Operator).await.unwrap().objects, 3);
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
    assert_eq!(store.stats(&Viewer::Operator).await.unwrap().versions, 0);
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
    assert_eq!(
        store.organisation_by_id(acme.id).await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(store.organisation_by_id(9_999).await.unwrap(), None);
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

/// The TLP 2.0 rules, written out independently of any backend: the oracle the
/// access tests compare every read path with.
pub fn may_see(
    viewer: &Viewer,
    tlp: Tlp,
    submitter: Option<i64>,
    recipients: &Recipients,
    groups_of: &dyn Fn(i64) -> Vec<i64>,
) -> bool {
    match viewer {
        Viewer::Operator => true,
        Viewer::Anonymous => tlp == Tlp::Clear,
        Viewer::Member { organisation, user } => {
            if tlp <= Tlp::Green || submitter == Some(*organisation) {
                return true;
            }
            match tlp {
                Tlp::Amber => {
                    recipients.organisations.contains(organisation)
                        || groups_of(*organisation)
                            .iter()
                            .any(|g| recipients.groups.contains(g))
                }
                Tlp::AmberStrict => recipients.organisations.contains(organisation),
                Tlp::Red => user.is_some_and(|u| recipients.users.contains(&u)),
                Tlp::Clear | Tlp::Green => true,
            }
        }
    }
}

/// Checks every read path for `viewer` against the oracle's `expected` set of ids.
async fn assert_reads(
    store: &dyn Store,
    viewer: &Viewer,
    all_ids: &[String],
    expected: &std::collections::BTreeSet<String>,
    label: &str,
) {
    // Lookups: visible ids answer, invisible ones answer exactly like missing ones.
    for id in all_ids {
        let got = store.get(id, viewer).await.unwrap();
        let versions = store.versions(id, viewer).await.unwrap();
        if expected.contains(id) {
            assert!(got.is_some(), "{label}: cannot get {id}");
            assert!(!versions.is_empty(), "{label}: no versions of {id}");
        } else {
            assert!(got.is_none(), "{label}: get reveals {id}");
            assert!(versions.is_empty(), "{label}: versions reveal {id}");
        }
    }
    let missing = "campaign--ffffffff-0000-4000-8000-000000000000";
    assert!(store.get(missing, viewer).await.unwrap().is_none());
    // Listing, a page of two at a time through the cursor.
    let mut seen = std::collections::BTreeSet::new();
    let mut after = None;
    loop {
        let page = store
            .list(
                &ListQuery {
                    after: after.clone(),
                    limit: 2,
                    ..ListQuery::default()
                },
                viewer,
            )
            .await
            .unwrap();
        for item in &page.items {
            assert!(
                seen.insert(item.id.clone()),
                "{label}: {} listed twice",
                item.id
            );
        }
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(&seen, expected, "{label}: listing");
    // Filters must not widen anything.
    let since = geneva_stix::Timestamp::parse("2000-01-01T00:00:00Z").unwrap();
    let filtered = store
        .list(
            &ListQuery {
                types: vec!["campaign".into()],
                since: Some(since),
                limit: 1000,
                ..ListQuery::default()
            },
            viewer,
        )
        .await
        .unwrap();
    let filtered: std::collections::BTreeSet<String> =
        filtered.items.into_iter().map(|v| v.id).collect();
    assert!(
        filtered.is_subset(expected),
        "{label}: filtered listing reveals more"
    );
    // Counts.
    let stats = store.stats(viewer).await.unwrap();
    assert_eq!(
        stats.objects as usize,
        expected.len(),
        "{label}: stats count objects it may not see"
    );
    let by_tlp: u64 = stats.by_tlp.iter().map(|(_, n)| n).sum();
    assert_eq!(by_tlp as usize, expected.len(), "{label}: stats by TLP");
}

pub async fn tlp_access_matrix(store: &dyn Store) {
    use geneva_access::OrgKind;
    let submitter = store
        .add_organisation("Submitter", OrgKind::State, None)
        .await
        .unwrap();
    let recipient = store
        .add_organisation("Recipient", OrgKind::Company, None)
        .await
        .unwrap();
    let grouped = store
        .add_organisation("InGroup", OrgKind::Vendor, None)
        .await
        .unwrap();
    let other = store
        .add_organisation("Other", OrgKind::State, None)
        .await
        .unwrap();
    let panel = store
        .add_organisation("Panel", OrgKind::Panel, None)
        .await
        .unwrap();
    let alice = store.add_user("alice", recipient.id).await.unwrap();
    let group = store.add_group("partners", &[grouped.id]).await.unwrap();
    let recipients = Recipients {
        organisations: vec![recipient.id],
        groups: vec![group.id],
        users: vec![alice.id],
    };
    let to_panel = Recipients {
        organisations: vec![panel.id],
        ..Recipients::default()
    };

    let mut all_ids = Vec::new();
    let mut facts: Vec<(String, Tlp, Recipients)> = Vec::new();
    for (n, tlp) in Tlp::ALL.into_iter().enumerate() {
        for (k, r) in [&recipients, &to_panel].into_iter().enumerate() {
            let mut object = campaign((n * 10 + k) as u32, "2020-01-01T00:00:00.000Z");
            object["object_marking_refs"] = json!([tlp.marking_id()]);
            let id = object["id"].as_str().unwrap().to_owned();
            let provenance = Provenance {
                organisation: submitter.name.clone(),
                organisation_id: Some(submitter.id),
                recipients: r.clone(),
                ..provenance()
            };
            store.import(prepared(&[object]), provenance).await.unwrap();
            all_ids.push(id.clone());
            facts.push((id, tlp, r.clone()));
        }
    }
    let groups_of = |org: i64| {
        if org == grouped.id {
            vec![group.id]
        } else {
            Vec::new()
        }
    };
    let viewers = [
        ("anonymous", Viewer::Anonymous),
        (
            "same organisation",
            Viewer::Member {
                organisation: submitter.id,
                user: None,
            },
        ),
        (
            "named recipient organisation",
            Viewer::Member {
                organisation: recipient.id,
                user: None,
            },
        ),
        (
            "named recipient user",
            Viewer::Member {
                organisation: recipient.id,
                user: Some(alice.id),
            },
        ),
        (
            "recipient's sharing group",
            Viewer::Member {
                organisation: grouped.id,
                user: None,
            },
        ),
        (
            "other member",
            Viewer::Member {
                organisation: other.id,
                user: None,
            },
        ),
        (
            "panel",
            Viewer::Member {
                organisation: panel.id,
                user: None,
            },
        ),
        ("operator", Viewer::Operator),
    ];
    for (label, viewer) in &viewers {
        let expected: std::collections::BTreeSet<String> = facts
            .iter()
            .filter(|(_, tlp, r)| may_see(viewer, *tlp, Some(submitter.id), r, &groups_of))
            .map(|(id, _, _)| id.clone())
            .collect();
        assert_reads(store, viewer, &all_ids, &expected, label).await;
    }
    // Spot checks that the oracle says what TLP 2.0 says.
    let sees = |viewer: &Viewer, tlp: Tlp| {
        may_see(viewer, tlp, Some(submitter.id), &recipients, &groups_of)
    };
    assert!(
        sees(&viewers[4].1, Tlp::Amber) && !sees(&viewers[4].1, Tlp::AmberStrict),
        "groups get AMBER, not AMBER+STRICT"
    );
    assert!(
        !sees(&viewers[2].1, Tlp::Red) && sees(&viewers[3].1, Tlp::Red),
        "RED goes to named users only"
    );
    assert!(
        !sees(&viewers[6].1, Tlp::Amber),
        "the panel sees only what is released to it"
    );
}

pub async fn newest_visible_version_is_current(store: &dyn Store) {
    use geneva_access::OrgKind;
    let source = store
        .add_organisation("Source", OrgKind::State, None)
        .await
        .unwrap();
    let member = store
        .add_organisation("Member", OrgKind::Company, None)
        .await
        .unwrap();
    let as_source = || Provenance {
        organisation: "Source".into(),
        organisation_id: Some(source.id),
        ..provenance()
    };
    let mut green = campaign(1, "2020-01-01T00:00:00.000Z");
    green["object_marking_refs"] = json!([Tlp::Green.marking_id()]);
    let mut red = campaign(1, "2021-01-01T00:00:00.000Z");
    red["object_marking_refs"] = json!([Tlp::Red.marking_id()]);
    red["name"] = json!("restricted update");
    store.import(prepared(&[green]), as_source()).await.unwrap();
    store.import(prepared(&[red]), as_source()).await.unwrap();
    let id = campaign(1, "")["id"].as_str().unwrap().to_owned();
    let viewer = Viewer::Member {
        organisation: member.id,
        user: None,
    };
    let seen = store
        .get(&id, &viewer)
        .await
        .unwrap()
        .expect("the GREEN version stays visible");
    assert_eq!(seen.version.as_deref(), Some("2020-01-01T00:00:00.000Z"));
    let versions = store.versions(&id, &viewer).await.unwrap();
    assert_eq!(
        versions.len(),
        1,
        "the RED version's existence is not revealed"
    );
    assert!(
        versions[0].current,
        "for this viewer the GREEN version is current"
    );
    let listed = store
        .list(
            &ListQuery {
                limit: 10,
                ..ListQuery::default()
            },
            &viewer,
        )
        .await
        .unwrap();
    assert_eq!(
        listed.items[0].version.as_deref(),
        Some("2020-01-01T00:00:00.000Z")
    );
    assert_eq!(store.stats(&viewer).await.unwrap().versions, 1);
    let own = Viewer::Member {
        organisation: source.id,
        user: None,
    };
    assert_eq!(
        store
            .get(&id, &own)
            .await
            .unwrap()
            .unwrap()
            .version
            .as_deref(),
        Some("2021-01-01T00:00:00.000Z")
    );
}

/// Random organisations, groups, objects and levels: no read path ever returns what the rules forbid.
pub async fn random_sharing_never_leaks(store: &dyn Store) {
    use geneva_access::OrgKind;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let mut rng = StdRng::seed_from_u64(0x7e1_5eed);
    let mut orgs = Vec::new();
    for n in 0..6 {
        orgs.push(
            store
                .add_organisation(&format!("org{n}"), OrgKind::Company, None)
                .await
                .unwrap(),
        );
    }
    let mut users = Vec::new();
    for (n, org) in orgs.iter().enumerate() {
        users.push(store.add_user(&format!("user{n}"), org.id).await.unwrap());
    }
    let mut memberships: Vec<(i64, Vec<i64>)> = Vec::new();
    for g in 0..3 {
        let members: Vec<i64> = orgs
            .iter()
            .filter(|_| rng.random_bool(0.4))
            .map(|o| o.id)
            .collect();
        let group = store
            .add_group(&format!("group{g}"), &members)
            .await
            .unwrap();
        memberships.push((group.id, members));
    }
    let groups_of = |org: i64| {
        memberships
            .iter()
            .filter(|(_, m)| m.contains(&org))
            .map(|(g, _)| *g)
            .collect::<Vec<_>>()
    };
    let mut facts: Vec<(String, Tlp, Option<i64>, Recipients)> = Vec::new();
    for n in 0..60u32 {
        let tlp = Tlp::ALL[rng.random_range(0..5)];
        let submitter = &orgs[rng.random_range(0..orgs.len())];
        let recipients = Recipients {
            organisations: orgs
                .iter()
                .filter(|_| rng.random_bool(0.3))
                .map(|o| o.id)
                .collect(),
            groups: memberships
                .iter()
                .filter(|_| rng.random_bool(0.3))
                .map(|(g, _)| *g)
                .collect(),
            users: users
                .iter()
                .filter(|_| rng.random_bool(0.3))
                .map(|u| u.id)
                .collect(),
        };
        let mut object = campaign(n, "2020-01-01T00:00:00.000Z");
        if rng.random_bool(0.8) {
            object["object_marking_refs"] = json!([tlp.marking_id()]);
        }
        let provenance = Provenance {
            organisation: submitter.name.clone(),
            organisation_id: Some(submitter.id),
            default_tlp: tlp,
            recipients: recipients.clone(),
            ..provenance()
        };
        store
            .import(prepared(&[object.clone()]), provenance)
            .await
            .unwrap();
        facts.push((
            object["id"].as_str().unwrap().to_owned(),
            tlp,
            Some(submitter.id),
            recipients,
        ));
    }
    let all_ids: Vec<String> = facts.iter().map(|f| f.0.clone()).collect();
    let mut viewers = vec![Viewer::Anonymous, Viewer::Operator];
    for (org, user) in orgs.iter().zip(&users) {
        viewers.push(Viewer::Member {
            organisation: org.id,
            user: None,
        });
        viewers.push(Viewer::Member {
            organisation: org.id,
            user: Some(user.id),
        });
    }
    for viewer in &viewers {
        let expected = facts
            .iter()
            .filter(|(_, tlp, s, r)| may_see(viewer, *tlp, *s, r, &groups_of))
            .map(|f| f.0.clone())
            .collect();
        assert_reads(store, viewer, &all_ids, &expected, &format!("{viewer:?}")).await;
    }
    // The same rules through storage numbers: `visible_seqs` in the store's
    // SQL, and `VersionAccess::visible_to` on the facts `version_access` gives.
    let mut seqs = Vec::new();
    for id in &all_ids {
        seqs.extend(store.version_seqs(id, &Viewer::Operator).await.unwrap());
    }
    seqs.push(u64::MAX >> 2);
    let access = store.version_access(&seqs).await.unwrap();
    assert_eq!(
        access.len(),
        all_ids.len(),
        "a version each; no facts for a number naming nothing"
    );
    for a in &access {
        let (_, tlp, submitter, _) = facts.iter().find(|f| f.0 == a.id).unwrap();
        assert_eq!((a.tlp, a.organisation_id), (*tlp, *submitter), "{}", a.id);
    }
    for viewer in &viewers {
        let expected: std::collections::BTreeSet<String> = facts
            .iter()
            .filter(|(_, tlp, s, r)| may_see(viewer, *tlp, *s, r, &groups_of))
            .map(|f| f.0.clone())
            .collect();
        let from_sql: std::collections::BTreeSet<String> = store
            .visible_seqs(&seqs, viewer)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        assert_eq!(from_sql, expected, "visible_seqs for {viewer:?}");
        let groups = match viewer {
            Viewer::Member { organisation, .. } => groups_of(*organisation),
            _ => Vec::new(),
        };
        let from_facts: std::collections::BTreeSet<String> = access
            .iter()
            .filter(|a| a.visible_to(viewer, &groups))
            .map(|a| a.id.clone())
            .collect();
        assert_eq!(
            from_facts, expected,
            "VersionAccess::visible_to for {viewer:?}"
        );
    }
}

/// Two members reporting the same object version are two reports; one member's
/// submission can neither fail on nor reveal another member's restricted version.
pub async fn members_reports_never_collide(store: &dyn Store) {
    use geneva_access::OrgKind;
    let a = store
        .add_organisation("A", OrgKind::State, None)
        .await
        .unwrap();
    let b = store
        .add_organisation("B", OrgKind::State, None)
        .await
        .unwrap();
    let from = |org: &crate::Organisation| Provenance {
        organisation: org.name.clone(),
        organisation_id: Some(org.id),
        ..provenance()
    };
    let mut secret = campaign(1, "2020-01-01T00:00:00.000Z");
    secret["object_marking_refs"] = json!([Tlp::Red.marking_id()]);
    secret["name"] = json!("A's secret name");
    store.import(prepared(&[secret]), from(&a)).await.unwrap();

    let mut theirs = campaign(1, "2020-01-01T00:00:00.000Z");
    theirs["object_marking_refs"] = json!([Tlp::Green.marking_id()]);
    let summary = store
        .import(prepared(&[theirs.clone()]), from(&b))
        .await
        .expect("no conflict across members");
    assert_eq!(
        summary,
        ImportSummary {
            new: 0,
            updated: 1,
            unchanged: 0
        },
        "B's report is its own version"
    );
    let again = store.import(prepared(&[theirs]), from(&b)).await.unwrap();
    assert_eq!(
        again.unchanged, 1,
        "re-importing one's own report is a no-op"
    );

    let id = campaign(1, "")["id"].as_str().unwrap().to_owned();
    let b_view = Viewer::Member {
        organisation: b.id,
        user: None,
    };
    let seen = store.get(&id, &b_view).await.unwrap().unwrap();
    assert_eq!(
        (seen.organisation.as_str(), name_of(&seen)),
        ("B", "Campaign 1".to_string())
    );
    assert_eq!(
        store.versions(&id, &b_view).await.unwrap().len(),
        1,
        "A's RED version stays hidden from B"
    );
    assert_eq!(
        store.versions(&id, &Viewer::Operator).await.unwrap().len(),
        2
    );

    // Within one member, changed content under one version is still refused.
    let mut changed = campaign(1, "2020-01-01T00:00:00.000Z");
    changed["name"] = json!("B changed it without a new modified");
    changed["object_marking_refs"] = json!([Tlp::Green.marking_id()]);
    assert!(matches!(
        store.import(prepared(&[changed]), from(&b)).await,
        Err(StoreError::VersionConflict { .. })
    ));
}

fn name_of(version: &crate::StoredVersion) -> String {
    serde_json::from_str::<Value>(&version.canonical)
        .ok()
        .and_then(|v| v["name"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Concurrent takers get disjoint ranges that together cover 0..total without gaps.
pub async fn sequences_hand_out_disjoint_gap_free_ranges(store: &dyn Store) {
    let takes: Vec<u64> = (1..=40).map(|n| n % 7 + 1).collect();
    let ranges = futures_lite_join(store, &takes).await;
    let mut all: Vec<u64> = ranges.iter().flat_map(|r| r.clone()).collect();
    all.sort_unstable();
    let total: u64 = takes.iter().sum();
    assert_eq!(
        all,
        (0..total).collect::<Vec<_>>(),
        "ranges overlap or leave gaps"
    );
    assert_eq!(
        store.take_sequence("log", 1).await.unwrap(),
        total..total + 1
    );
    assert_eq!(
        store.take_sequence("other", 2).await.unwrap(),
        0..2,
        "sequences are independent"
    );
}

/// Runs the takes concurrently on the store (without a futures dependency).
async fn futures_lite_join(store: &dyn Store, takes: &[u64]) -> Vec<std::ops::Range<u64>> {
    let mut pending: Vec<_> = takes
        .iter()
        .map(|&n| Box::pin(store.take_sequence("log", n)))
        .collect();
    let mut out = Vec::with_capacity(pending.len());
    // Poll them all together: the store sees concurrent requests.
    let results = std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, fut) in pending.iter_mut().enumerate() {
            if out.iter().any(|(j, _)| *j == i) {
                continue;
            }
            match fut.as_mut().poll(cx) {
                std::task::Poll::Ready(r) => out.push((i, r.unwrap())),
                std::task::Poll::Pending => done = false,
            }
        }
        if done {
            std::task::Poll::Ready(std::mem::take(&mut out))
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    results.into_iter().map(|(_, r)| r).collect()
}

/// Every new version gets the next leaf, in the import's own transaction;
/// unchanged, refused and abandoned imports number nothing.
pub async fn log_numbers_every_new_version_once(store: &dyn Store) {
    let objects = [
        campaign(1, "2020-01-01T00:00:00.000Z"),
        campaign(2, "2020-01-01T00:00:00.000Z"),
        campaign(3, "2020-01-01T00:00:00.000Z"),
    ];
    store
        .import(prepared(&objects), provenance())
        .await
        .unwrap();
    store
        .import(prepared(&objects), provenance())
        .await
        .unwrap();
    let mut changed = campaign(1, "2020-01-01T00:00:00.000Z");
    changed["name"] = json!("changed without a new modified");
    assert!(
        store
            .import(
                prepared(&[campaign(4, "2020-01-01T00:00:00.000Z"), changed]),
                provenance()
            )
            .await
            .is_err()
    );
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tx.send(ImportMessage::Objects(prepared(&[campaign(
        5,
        "2020-01-01T00:00:00.000Z",
    )])))
    .await
    .unwrap();
    drop(tx);
    assert!(store.import_stream(rx, provenance()).await.is_err());
    let state = store.log_state().await.unwrap();
    assert_eq!((state.size, state.pending, state.checkpoint), (0, 3, None));
    store
        .import(
            prepared(&[campaign(2, "2021-01-01T00:00:00.000Z")]),
            provenance(),
        )
        .await
        .unwrap();

    let pending = store.log_pending(0, 100).await.unwrap();
    let leaves: Vec<u64> = pending.iter().map(|e| e.leaf_index).collect();
    assert_eq!(leaves, vec![0, 1, 2, 3]);
    let last = &pending[3];
    assert_eq!(last.id, objects[1]["id"].as_str().unwrap());
    assert_eq!(last.version.as_deref(), Some("2021-01-01T00:00:00.000Z"));
    assert_eq!(last.organisation, "conformance-org");
    assert_eq!(last.kind, crate::LeafKind::ObjectVersion);
    let stored = store.versions(&last.id, &Viewer::Operator).await.unwrap();
    assert_eq!(stored.last().unwrap().leaf_index, Some(3));
    assert_eq!(stored.last().unwrap().sha256, last.sha256);
    assert_eq!(store.log_pending(2, 100).await.unwrap().len(), 2);
    assert_eq!(store.log_pending(0, 1).await.unwrap().len(), 1);
    let mut all_leaves: Vec<u64> = Vec::new();
    for id in [
        "campaign--00000001-0000-4000-8000-000000000000",
        "campaign--00000002-0000-4000-8000-000000000000",
        "campaign--00000003-0000-4000-8000-000000000000",
    ] {
        all_leaves.extend(
            store
                .versions(id, &Viewer::Operator)
                .await
                .unwrap()
                .iter()
                .map(|v| v.leaf_index.unwrap()),
        );
    }
    all_leaves.sort_unstable();
    assert_eq!(all_leaves, vec![0, 1, 2, 3]);
}

fn strips_for_leaves(size: u64, leaves: &[geneva_tlog::Hash]) -> Vec<geneva_tlog::Strip> {
    assert_eq!(size, 0, "fixtures start from an empty tree");
    geneva_tlog::strata::append(0, &geneva_tlog::StripSet::new(), leaves).unwrap()
}

async fn append_fixture(store: &dyn Store, leaves: u64, key: &str) -> Result<(), StoreError> {
    let hashes: Vec<geneva_tlog::Hash> = (0..leaves)
        .map(|i| geneva_tlog::leaf_hash(&i.to_be_bytes()))
        .collect();
    store
        .log_append(crate::LogAppend {
            old_size: 0,
            new_size: leaves,
            strips: strips_for_leaves(0, &hashes),
            checkpoint: format!("log\n{leaves}\nroot\n\n— log AAAA\n"),
            public_key: key.into(),
            signed_at: "2026-01-01T00:00:00Z".into(),
        })
        .await
}

/// The tree grows only from the size it has, under the key it was started with.
pub async fn log_append_is_compare_and_swap(store: &dyn Store) {
    let objects: Vec<Value> = (1..=40)
        .map(|n| campaign(n, "2020-01-01T00:00:00.000Z"))
        .collect();
    store
        .import(prepared(&objects), provenance())
        .await
        .unwrap();
    let first = store.log_secret([7; 32]).await.unwrap();
    assert_eq!(first, [7; 32]);
    assert_eq!(
        store.log_secret([9; 32]).await.unwrap(),
        [7; 32],
        "the secret never changes"
    );

    append_fixture(store, 40, "log+00000000+key").await.unwrap();
    let state = store.log_state().await.unwrap();
    assert_eq!((state.size, state.pending), (40, 0));
    assert_eq!(state.public_key.as_deref(), Some("log+00000000+key"));
    assert!(state.checkpoint.unwrap().starts_with("log\n40\n"));
    assert!(store.log_checkpoint(40).await.unwrap().is_some());
    assert!(store.log_checkpoint(39).await.unwrap().is_none());
    assert!(matches!(
        append_fixture(store, 40, "log+00000000+key").await,
        Err(StoreError::LogMoved {
            expected: 0,
            found: 40
        })
    ));
    // 40 leaves: strips 0..3 of stratum 0 (the last partial) and one of stratum 1.
    let keys = [
        geneva_tlog::StripKey {
            stratum: 0,
            index: 0,
        },
        geneva_tlog::StripKey {
            stratum: 0,
            index: 2,
        },
        geneva_tlog::StripKey {
            stratum: 1,
            index: 0,
        },
        geneva_tlog::StripKey {
            stratum: 0,
            index: 3,
        },
    ];
    let strips = store.log_strips(&keys).await.unwrap();
    let mut found: Vec<(u8, u64, usize)> = strips
        .iter()
        .map(|s| (s.key.stratum, s.key.index, s.hashes.len()))
        .collect();
    found.sort_unstable();
    assert_eq!(found, vec![(0, 0, 16), (0, 2, 8), (1, 0, 2)]);
    assert_eq!(
        strips.iter().find(|s| s.key == keys[0]).unwrap().hashes[5],
        geneva_tlog::leaf_hash(&5u64.to_be_bytes())
    );

    // Another key may not continue the log.
    store
        .import(
            prepared(&[campaign(41, "2020-01-01T00:00:00.000Z")]),
            provenance(),
        )
        .await
        .unwrap();
    let err = store
        .log_append(crate::LogAppend {
            old_size: 40,
            new_size: 41,
            strips: Vec::new(),
            checkpoint: "log\n41\nroot\n\n— log AAAA\n".into(),
            public_key: "other+00000000+key".into(),
            signed_at: "2026-01-01T00:00:00Z".into(),
        })
        .await;
    assert!(
        matches!(err, Err(StoreError::LogKeyMismatch { .. })),
        "{err:?}"
    );
    assert_eq!(store.log_state().await.unwrap().pending, 1);
    assert!(
        !store
            .log_rotate_key("wrong+00000000+key", "new+00000000+key")
            .await
            .unwrap()
    );
    assert!(
        store
            .log_rotate_key("log+00000000+key", "new+00000000+key")
            .await
            .unwrap()
    );
    assert_eq!(
        store.log_state().await.unwrap().public_key.as_deref(),
        Some("new+00000000+key")
    );
}

/// Witnesses are registered once; cosignatures are kept once per witness and size.
pub async fn log_witnesses_and_cosignatures(store: &dyn Store) {
    let witness = crate::Witness {
        name: "w1".into(),
        public_key: "w1+00000000+key".into(),
        added_at: "2026-01-01T00:00:00Z".into(),
    };
    store.log_add_witness(&witness).await.unwrap();
    assert!(matches!(
        store.log_add_witness(&witness).await,
        Err(StoreError::AlreadyExists(_))
    ));
    store
        .log_add_witness(&crate::Witness {
            name: "w2".into(),
            ..witness.clone()
        })
        .await
        .unwrap();
    assert_eq!(store.log_witnesses().await.unwrap().len(), 2);
    let cosign = |size: u64, witness: &str, line: &str| crate::Cosignature {
        size,
        witness: witness.into(),
        line: line.into(),
        received_at: "2026-01-01T00:00:00Z".into(),
    };
    store
        .log_add_cosignature(&cosign(10, "w1", "first"))
        .await
        .unwrap();
    store
        .log_add_cosignature(&cosign(10, "w1", "second"))
        .await
        .unwrap();
    store
        .log_add_cosignature(&cosign(20, "w1", "x"))
        .await
        .unwrap();
    store
        .log_add_cosignature(&cosign(10, "w2", "y"))
        .await
        .unwrap();
    let at10 = store.log_cosignatures(10).await.unwrap();
    assert_eq!(at10.len(), 2);
    assert_eq!(at10[0].line, "first");
    assert_eq!(store.log_witnessed_size(1).await.unwrap(), Some(20));
    assert_eq!(store.log_witnessed_size(2).await.unwrap(), Some(10));
    assert_eq!(store.log_witnessed_size(3).await.unwrap(), None);
}

pub async fn corr_feed_and_visible_seqs(store: &dyn Store) {
    let objects: Vec<Value> = (1..=5)
        .map(|n| campaign(n, "2020-01-01T00:00:00.000Z"))
        .collect();
    store
        .import(prepared(&objects), provenance())
        .await
        .unwrap();
    let feed = store.corr_feed(None, 3).await.unwrap();
    assert_eq!(feed.len(), 3);
    assert!(feed.windows(2).all(|w| w[0].position < w[1].position));
    let rest = store.corr_feed(Some(feed[2].position), 10).await.unwrap();
    assert_eq!(rest.len(), 2);
    assert!(
        store
            .corr_feed(Some(rest[1].position), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Which storage numbers a viewer may see, with their ids.
    let a = store
        .add_organisation("seqs-a", geneva_access::OrgKind::State, None)
        .await
        .unwrap();
    let b = store
        .add_organisation("seqs-b", geneva_access::OrgKind::State, None)
        .await
        .unwrap();
    let amber = Provenance {
        organisation: a.name.clone(),
        organisation_id: Some(a.id),
        submitted_at: "2026-01-01T00:00:00Z".into(),
        default_tlp: Tlp::Amber,
        recipients: Recipients::default(),
    };
    let mut clear = amber.clone();
    clear.default_tlp = Tlp::Clear;
    let c1 = campaign(101, "2020-01-01T00:00:00.000Z");
    let c1_later = campaign(101, "2021-01-01T00:00:00.000Z");
    let c2 = campaign(102, "2020-01-01T00:00:00.000Z");
    store
        .import(prepared(std::slice::from_ref(&c1)), clear)
        .await
        .unwrap();
    store
        .import(prepared(&[c1_later, c2.clone()]), amber)
        .await
        .unwrap();
    let id1 = c1["id"].as_str().unwrap();
    let id2 = c2["id"].as_str().unwrap();
    let all = store.version_seqs(id1, &Viewer::Operator).await.unwrap();
    assert_eq!(all.len(), 2, "both versions of {id1}");
    assert!(all[0] < all[1]);
    let c2_seq = store.version_seqs(id2, &Viewer::Operator).await.unwrap();
    assert_eq!(c2_seq.len(), 1);
    // Every version of each, for the indexer; the current one marked.
    let every = store
        .all_versions(&[id1.to_owned(), id2.to_owned()])
        .await
        .unwrap();
    let mut seqs: Vec<u64> = every.iter().map(|(seq, _)| *seq).collect();
    seqs.sort_unstable();
    let mut expected = vec![all[0], all[1], c2_seq[0]];
    expected.sort_unstable();
    assert_eq!(seqs, expected);
    assert_eq!(every.iter().filter(|(_, v)| v.current).count(), 2);
    assert!(every.iter().any(|(seq, v)| *seq == all[0] && !v.current));
    let member = |org: &crate::Organisation| Viewer::Member {
        organisation: org.id,
        user: None,
    };
    assert_eq!(
        store.version_seqs(id1, &member(&b)).await.unwrap(),
        vec![all[0]],
        "B sees the CLEAR version only"
    );
    assert_eq!(
        store.version_seqs(id1, &Viewer::Anonymous).await.unwrap(),
        vec![all[0]]
    );
    assert!(
        store
            .version_seqs(id2, &member(&b))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .version_seqs(
                "campaign--00000000-0000-4000-8000-00000000dead",
                &Viewer::Operator
            )
            .await
            .unwrap()
            .is_empty()
    );
    let asked = [all[0], all[1], c2_seq[0], 9_999_999];
    assert_eq!(
        store.visible_seqs(&asked, &Viewer::Operator).await.unwrap(),
        vec![
            (all[0], id1.to_owned()),
            (all[1], id1.to_owned()),
            (c2_seq[0], id2.to_owned())
        ]
    );
    assert_eq!(
        store.visible_seqs(&asked, &member(&a)).await.unwrap().len(),
        3,
        "A submitted them all"
    );
    assert_eq!(
        store.visible_seqs(&asked, &member(&b)).await.unwrap(),
        vec![(all[0], id1.to_owned())]
    );
    assert_eq!(
        store
            .visible_seqs(&asked, &Viewer::Anonymous)
            .await
            .unwrap(),
        vec![(all[0], id1.to_owned())]
    );
    assert!(
        store
            .visible_seqs(&[], &member(&b))
            .await
            .unwrap()
            .is_empty()
    );
    // More than one statement's worth of numbers.
    let many: Vec<u64> = (0..25_000).chain([all[0]]).collect();
    assert!(
        store
            .visible_seqs(&many, &Viewer::Anonymous)
            .await
            .unwrap()
            .contains(&(all[0], id1.to_owned()))
    );
}

/// The listing TAXII collections serve: versions in the order added, each
/// filter, first/last among what the viewer may see, pages, dates added.
pub async fn versions_list_in_added_order_with_filters(store: &dyn Store) {
    use crate::{VersionQuery, VersionSelect};
    use geneva_stix::Timestamp;
    let a = store
        .add_organisation("versions-a", geneva_access::OrgKind::State, None)
        .await
        .unwrap();
    let b = store
        .add_organisation("versions-b", geneva_access::OrgKind::State, None)
        .await
        .unwrap();
    let at = |org: &crate::Organisation, when: &str, tlp: Tlp| Provenance {
        organisation: org.name.clone(),
        organisation_id: Some(org.id),
        submitted_at: when.into(),
        default_tlp: tlp,
        recipients: Recipients::default(),
    };
    let (t1, t2) = ("2020-01-01T00:00:00.000Z", "2021-01-01T00:00:00.000Z");
    // Day 1: campaign 1 v1 (GREEN) and campaign 2 (AMBER, A's alone).
    store
        .import(
            prepared(&[campaign(1, t1)]),
            at(&a, "2026-01-01T00:00:00Z", Tlp::Green),
        )
        .await
        .unwrap();
    store
        .import(
            prepared(&[campaign(2, t1)]),
            at(&a, "2026-01-01T00:00:00.250Z", Tlp::Amber),
        )
        .await
        .unwrap();
    // Day 2: campaign 1 v2 (GREEN), campaign 3 (CLEAR), and B reporting
    // campaign 1 v1 again, which is listed once.
    store
        .import(
            prepared(&[campaign(1, t2)]),
            at(&a, "2026-01-02T00:00:00.500Z", Tlp::Green),
        )
        .await
        .unwrap();
    store
        .import(
            prepared(&[campaign(3, t1)]),
            at(&a, "2026-01-02T00:00:01Z", Tlp::Clear),
        )
        .await
        .unwrap();
    store
        .import(
            prepared(&[campaign(1, t1)]),
            at(&b, "2026-01-03T00:00:00Z", Tlp::Green),
        )
        .await
        .unwrap();
    let c = |n: u32| campaign(n, t1)["id"].as_str().unwrap().to_owned();
    let list = |query: VersionQuery, viewer: Viewer| async move {
        let page = store.list_versions(&query, &viewer).await.unwrap();
        page.items
            .iter()
            .map(|v| (v.id.clone(), v.version.clone().unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    let q = |select: VersionSelect| VersionQuery {
        select,
        limit: 100,
        ..Default::default()
    };
    let last = VersionSelect::default();
    assert_eq!(
        list(q(last.clone()), Viewer::Operator).await,
        vec![(c(2), t1.into()), (c(1), t2.into()), (c(3), t1.into())],
        "the last version of each, in the order added"
    );
    let all = VersionSelect {
        all: true,
        ..Default::default()
    };
    assert_eq!(
        list(q(all.clone()), Viewer::Operator).await,
        vec![
            (c(1), t1.into()),
            (c(2), t1.into()),
            (c(1), t2.into()),
            (c(3), t1.into())
        ],
        "every version once, B's second report of v1 folded into A's"
    );
    let first = VersionSelect {
        first: true,
        ..Default::default()
    };
    assert_eq!(
        list(q(first), Viewer::Operator).await,
        vec![(c(1), t1.into()), (c(2), t1.into()), (c(3), t1.into())]
    );
    let at_t2 = VersionSelect {
        at: vec![Timestamp::parse(t2).unwrap()],
        ..Default::default()
    };
    assert_eq!(
        list(q(at_t2), Viewer::Operator).await,
        vec![(c(1), t2.into())]
    );

    // B sees neither A's AMBER campaign nor, through "last", anything of it.
    let member_b = Viewer::Member {
        organisation: b.id,
        user: None,
    };
    assert_eq!(
        list(q(last.clone()), member_b.clone()).await,
        vec![(c(1), t2.into()), (c(3), t1.into())]
    );
    assert_eq!(
        list(q(last.clone()), Viewer::Anonymous).await,
        vec![(c(3), t1.into())]
    );

    // Scope, ids, types, spec versions, date added.
    let scoped = VersionQuery {
        tlp: Some(Tlp::Clear),
        ..q(all.clone())
    };
    assert_eq!(
        list(scoped, Viewer::Operator).await,
        vec![(c(3), t1.into())]
    );
    let by_id = VersionQuery {
        ids: vec![c(1)],
        ..q(all.clone())
    };
    assert_eq!(list(by_id, Viewer::Operator).await.len(), 2);
    let by_type = VersionQuery {
        types: vec!["indicator".into()],
        ..q(all.clone())
    };
    assert!(list(by_type, Viewer::Operator).await.is_empty());
    let by_spec = VersionQuery {
        spec_versions: vec!["2.0".into()],
        ..q(all.clone())
    };
    assert!(list(by_spec, Viewer::Operator).await.is_empty());
    let added_after = |ms: i64| VersionQuery {
        added_after_ms: Some(ms),
        ..q(all.clone())
    };
    // 2026-01-02T00:00:00.500Z is 1767312000500 ms: strictly after it.
    assert_eq!(
        list(added_after(1_767_312_000_499), Viewer::Operator).await,
        vec![(c(1), t2.into()), (c(3), t1.into())]
    );
    assert_eq!(
        list(added_after(1_767_312_000_500), Viewer::Operator).await,
        vec![(c(3), t1.into())]
    );

    // Pages of one, walked to the end, give the same listing.
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_versions(
                &VersionQuery {
                    after: after.clone(),
                    limit: 1,
                    ..q(all.clone())
                },
                &Viewer::Operator,
            )
            .await
            .unwrap();
        walked.extend(page.items.iter().map(|v| v.id.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(walked, vec![c(1), c(2), c(1), c(3)]);
    let bad = store
        .list_versions(
            &VersionQuery {
                after: Some(crate::Cursor("campaign--x".into())),
                ..q(all.clone())
            },
            &Viewer::Operator,
        )
        .await;
    assert!(matches!(bad, Err(StoreError::InvalidCursor(_))));

    // A sharing group's collection: what was released to the group, as
    // each viewer may see it.
    let group = store.add_group("versions-group", &[b.id]).await.unwrap();
    let other = store.add_group("versions-other", &[a.id]).await.unwrap();
    store
        .import(
            prepared(&[campaign(4, t1)]),
            Provenance {
                recipients: Recipients {
                    groups: vec![group.id],
                    ..Default::default()
                },
                ..at(&a, "2026-01-04T00:00:00Z", Tlp::Amber)
            },
        )
        .await
        .unwrap();
    let in_group = |id: i64| VersionQuery {
        group: Some(id),
        ..q(all.clone())
    };
    let released = vec![(c(4), t1.to_owned())];
    assert_eq!(list(in_group(group.id), Viewer::Operator).await, released);
    assert_eq!(list(in_group(group.id), member_b.clone()).await, released);
    let member_a = Viewer::Member {
        organisation: a.id,
        user: None,
    };
    assert_eq!(list(in_group(group.id), member_a).await, released);
    assert!(list(in_group(group.id), Viewer::Anonymous).await.is_empty());
    assert!(list(in_group(other.id), Viewer::Operator).await.is_empty());
    assert!(list(in_group(other.id), member_b).await.is_empty());
}

/// Feeds: kept as given (no secret), claimed once when due, moved to their
/// next run, resumed from the last date added a run saw.
pub async fn feeds_run_when_due_once_and_resume(store: &dyn Store) {
    use crate::{FeedRun, NewFeed};
    let spec = NewFeed {
        url: "https://cti.example.org/taxii2/feeds/".into(),
        collection: "91a7b528-80eb-42ed-a74d-c6fbd5a26116".into(),
        user: Some("geneva".into()),
        password_env: Some("FEED_PASSWORD".into()),
        every_secs: 60,
        allow_private: false,
        organisation: Some("CERT-A".into()),
        tlp: Tlp::Green,
        since: Some("2026-01-01T00:00:00.000Z".into()),
    };
    assert!(store.feeds().await.unwrap().is_empty());
    let feed = store.add_feed(&spec).await.unwrap();
    assert_eq!(feed.spec, spec);
    assert_eq!(feed.last_added.as_deref(), Some("2026-01-01T00:00:00.000Z"));
    assert_eq!(
        (feed.last_run_ms, feed.last_objects, feed.last_error.clone()),
        (None, 0, None)
    );
    let other = store
        .add_feed(&NewFeed {
            since: None,
            every_secs: 3600,
            user: None,
            password_env: None,
            ..spec.clone()
        })
        .await
        .unwrap();
    assert!(other.id > feed.id);
    assert_eq!(
        store.feeds().await.unwrap(),
        vec![feed.clone(), other.clone()]
    );

    // Both are due at once; claimed, they are not due again until their interval passes.
    let now = feed.next_run_ms.max(other.next_run_ms) + 1;
    let claimed = store.claim_due_feeds(now).await.unwrap();
    assert_eq!(
        claimed.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![feed.id, other.id]
    );
    assert_eq!(claimed[0].next_run_ms, now + 60_000);
    assert_eq!(claimed[1].next_run_ms, now + 3_600_000);
    assert!(store.claim_due_feeds(now).await.unwrap().is_empty());
    assert!(
        store
            .claim_due_feeds(now + 59_999)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_due_feeds(now + 60_000).await.unwrap();
    assert_eq!(
        again.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![feed.id]
    );

    // A run records where to resume; a failed run keeps it.
    let ok = FeedRun {
        at_ms: now,
        last_added: Some("2026-02-01T00:00:00.000Z".into()),
        objects: 12,
        error: None,
    };
    store.record_feed_run(feed.id, &ok).await.unwrap();
    let failed = FeedRun {
        at_ms: now + 60_000,
        last_added: None,
        objects: 0,
        error: Some("connection refused".into()),
    };
    store.record_feed_run(feed.id, &failed).await.unwrap();
    let after = store.feeds().await.unwrap().remove(0);
    assert_eq!(
        after.last_added.as_deref(),
        Some("2026-02-01T00:00:00.000Z")
    );
    assert_eq!(after.last_run_ms, Some(now + 60_000));
    assert_eq!(after.last_objects, 0);
    assert_eq!(after.last_error.as_deref(), Some("connection refused"));

    assert!(store.remove_feed(feed.id).await.unwrap());
    assert!(!store.remove_feed(feed.id).await.unwrap());
    assert_eq!(
        store.feeds().await.unwrap(),
        vec![crate::Feed {
            next_run_ms: now + 3_600_000,
            ..other
        }]
    );
}

pub async fn request_statuses_are_kept_once(store: &dyn Store) {
    let status = crate::RequestStatus {
        id: "2d086da7-4bdc-4f91-900e-d77486753710".into(),
        owner: Some(7),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        body: r#"{"status":"complete"}"#.into(),
    };
    assert_eq!(store.request_status(&status.id).await.unwrap(), None);
    store.put_request_status(&status).await.unwrap();
    assert_eq!(
        store.request_status(&status.id).await.unwrap(),
        Some(status.clone())
    );
    let again = store.put_request_status(&status).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists(_))));
    let operators = crate::RequestStatus {
        id: "operators".into(),
        owner: None,
        ..status
    };
    store.put_request_status(&operators).await.unwrap();
    assert_eq!(
        store
            .request_status("operators")
            .await
            .unwrap()
            .unwrap()
            .owner,
        None
    );
}

pub async fn knowledge_sources_are_replaced_by_newer_releases(store: &dyn Store) {
    use crate::{KnowledgeSource, KnowledgeSourceInfo};
    let source = |version: &str, bytes: &[u8], at: i64| KnowledgeSource {
        info: KnowledgeSourceInfo {
            kind: "attack".into(),
            name: "enterprise-attack".into(),
            version: Some(version.into()),
            sha256: format!("{:064x}", bytes.len() * 1000 + bytes[0] as usize),
            size: bytes.len() as i64,
            imported_ms: at,
        },
        bytes: bytes.to_vec(),
    };
    assert!(store.knowledge_sources().await.unwrap().is_empty());
    assert_eq!(
        store
            .knowledge_source("attack", "enterprise-attack")
            .await
            .unwrap(),
        None
    );
    let old = source("15.0", &[1u8, 0, 255, 7], 10);
    assert!(store.put_knowledge_source(&old).await.unwrap());
    assert!(
        !store.put_knowledge_source(&old).await.unwrap(),
        "same bytes again change nothing"
    );
    let galaxy = KnowledgeSource {
        info: KnowledgeSourceInfo {
            kind: "misp-galaxy".into(),
            name: "threat-actor".into(),
            version: None,
            ..old.info.clone()
        },
        bytes: b"{}".to_vec(),
    };
    assert!(store.put_knowledge_source(&galaxy).await.unwrap());
    let new = source("15.1", &[2u8; 70_000], 20);
    assert!(store.put_knowledge_source(&new).await.unwrap());
    let listed = store.knowledge_sources().await.unwrap();
    assert_eq!(listed, vec![new.info.clone(), galaxy.info.clone()]);
    assert_eq!(
        store
            .knowledge_source("attack", "enterprise-attack")
            .await
            .unwrap(),
        Some(new)
    );
    assert_eq!(
        store
            .knowledge_source("attack", "mobile-attack")
            .await
            .unwrap(),
        None
    );
}

pub async fn relationships_from_follow_visibility_and_versions(store: &dyn Store) {
    use geneva_access::OrgKind;
    let source = store
        .add_organisation("Source", OrgKind::State, None)
        .await
        .unwrap();
    let member = store
        .add_organisation("Member", OrgKind::Company, None)
        .await
        .unwrap();
    let as_source = || Provenance {
        organisation: "Source".into(),
        organisation_id: Some(source.id),
        ..provenance()
    };
    let incident = "incident--6f7e2a3a-40a8-4b0e-9d6f-6c3a1b2c3d4e";
    let relationship = |n: u32, from: &str, modified: &str, tlp: Tlp| {
        json!({"type": "relationship", "spec_version": "2.1",
               "id": format!("relationship--{n:08x}-1111-4000-8000-000000000000"),
               "created": "2020-01-01T00:00:00.000Z", "modified": modified,
               "relationship_type": "uses", "source_ref": from,
               "target_ref": "attack-pattern--0042a9f5-f053-4769-b3ef-9ad018dfa298",
               "object_marking_refs": [tlp.marking_id()]})
    };
    let elsewhere = "incident--00000000-0000-4000-8000-0000000000ee";
    store
        .import(
            prepared(&[
                relationship(1, incident, "2020-01-01T00:00:00.000Z", Tlp::Green),
                relationship(2, incident, "2020-01-01T00:00:00.000Z", Tlp::Red),
                relationship(3, elsewhere, "2020-01-01T00:00:00.000Z", Tlp::Green),
                // Moved: its first version started at the incident, its newest does not.
                relationship(4, incident, "2020-01-01T00:00:00.000Z", Tlp::Green),
                relationship(4, elsewhere, "2021-01-01T00:00:00.000Z", Tlp::Green),
            ]),
            as_source(),
        )
        .await
        .unwrap();
    let member_view = Viewer::Member {
        organisation: member.id,
        user: None,
    };
    let seen = |viewer: Viewer| async move {
        ids(&store.relationships_from(incident, &viewer).await.unwrap())
    };
    let one = "relationship--00000001-1111-4000-8000-000000000000".to_owned();
    let two = "relationship--00000002-1111-4000-8000-000000000000".to_owned();
    assert_eq!(
        seen(member_view).await,
        vec![one.clone()],
        "RED stays with its submitter"
    );
    assert_eq!(seen(Viewer::Anonymous).await, Vec::<String>::new());
    let submitter = Viewer::Member {
        organisation: source.id,
        user: None,
    };
    assert_eq!(seen(submitter).await, vec![one, two]);
    assert!(
        store
            .relationships_from(
                "incident--00000000-0000-4000-8000-000000000000",
                &Viewer::Operator
            )
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn read_generation_moves_with_every_write_a_read_depends_on(store: &dyn Store) {
    use crate::VersionQuery;
    let start = store.read_generation().await.unwrap();
    let query = VersionQuery {
        limit: 10,
        ..VersionQuery::default()
    };
    store
        .list_versions(&query, &Viewer::Operator)
        .await
        .unwrap();
    assert_eq!(
        store.read_generation().await.unwrap(),
        start,
        "reads alone leave it where it was"
    );

    store
        .import(
            prepared(&[campaign(1, "2020-01-01T00:00:00.000Z")]),
            provenance(),
        )
        .await
        .unwrap();
    let imported = store.read_generation().await.unwrap();
    assert_ne!(imported, start, "a new object");

    store
        .import(
            prepared(&[campaign(1, "2021-01-01T00:00:00.000Z")]),
            provenance(),
        )
        .await
        .unwrap();
    let updated = store.read_generation().await.unwrap();
    assert_ne!(updated, imported, "a new version of an object");

    let org = store
        .add_organisation("Generation", geneva_access::OrgKind::Company, None)
        .await
        .unwrap();
    let with_org = store.read_generation().await.unwrap();
    assert_ne!(with_org, updated, "a new organisation");

    store.add_group("generation", &[org.id]).await.unwrap();
    let with_group = store.read_generation().await.unwrap();
    assert_ne!(with_group, with_org, "a sharing group and its members");

    store.add_user("generation-user", org.id).await.unwrap();
    let with_user = store.read_generation().await.unwrap();
    assert_ne!(with_user, with_group, "a new user");

    let token = geneva_access::ApiToken::generate().unwrap();
    let record = crate::TokenRecord {
        id: token.id.clone(),
        organisation: org.id,
        user: None,
        scopes: geneva_access::Scopes::new([geneva_access::Scope::Read]),
        label: "generation".into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        revoked_at: None,
    };
    store.add_token(&record, token.hash()).await.unwrap();
    let with_token = store.read_generation().await.unwrap();
    assert_ne!(with_token, with_user, "a new token");
    store
        .revoke_token(&token.id, "2026-01-02T00:00:00.000Z")
        .await
        .unwrap();
    let with_user = store.read_generation().await.unwrap();
    assert_ne!(with_user, with_token, "a revoked token");

    // Reading TLP:AMBER writes an audit entry; it changes no listing, and a
    // cache emptied by every such read would be no cache.
    store
        .audit(vec![crate::NewAuditEntry {
            at: "2026-01-01T00:00:00.000Z".into(),
            actor: "conformance".into(),
            action: "read".into(),
            channel: "taxii".into(),
            target: None,
            detail: "amber".into(),
        }])
        .await
        .unwrap();
    assert_eq!(store.read_generation().await.unwrap(), with_user);

    // Published findings are read from case documents.
    store.put_case("case-generation", "{}", None).await.unwrap();
    let with_case = store.read_generation().await.unwrap();
    assert_ne!(with_case, with_user, "a new case");
    store
        .put_case("case-generation", "{\"v\":2}", Some(1))
        .await
        .unwrap();
    assert_ne!(
        store.read_generation().await.unwrap(),
        with_case,
        "a case written again"
    );
}

pub async fn cases_are_written_only_from_the_revision_read(store: &dyn Store) {
    assert_eq!(store.case("case-1").await.unwrap(), None);
    assert_eq!(
        store.put_case("case-1", "{\"v\":1}", None).await.unwrap(),
        1
    );
    assert!(matches!(
        store.put_case("case-1", "{}", None).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store
            .put_case("case-1", "{\"v\":2}", Some(1))
            .await
            .unwrap(),
        2
    );
    match store.put_case("case-1", "{\"v\":\"lost\"}", Some(1)).await {
        Err(StoreError::Stale {
            expected, found, ..
        }) => assert_eq!((expected, found), (1, 2)),
        other => panic!("a write from an old revision must be refused: {other:?}"),
    }
    assert!(matches!(
        store.put_case("case-9", "{}", Some(1)).await,
        Err(StoreError::NotFound(_))
    ));
    store.put_case("case-0", "{}", None).await.unwrap();
    let stored = store.case("case-1").await.unwrap().unwrap();
    assert_eq!(
        (stored.revision, stored.document.as_str()),
        (2, "{\"v\":2}")
    );
    let ids: Vec<String> = store
        .cases()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec!["case-0", "case-1"]);
}

pub async fn newest_first_listing_follows_the_latest_store(store: &dyn Store) {
    let a = store
        .add_organisation("recent-a", geneva_access::OrgKind::State, None)
        .await
        .unwrap();
    let b = store
        .add_organisation("recent-b", geneva_access::OrgKind::State, None)
        .await
        .unwrap();
    let by = |org: &crate::Organisation, tlp: Tlp| Provenance {
        organisation: org.name.clone(),
        organisation_id: Some(org.id),
        submitted_at: "2026-01-01T00:00:00Z".into(),
        default_tlp: tlp,
        recipients: Recipients::default(),
    };
    for n in 1..=3 {
        store
            .import(
                prepared(&[campaign(200 + n, "2020-01-01T00:00:00.000Z")]),
                by(&a, Tlp::Green),
            )
            .await
            .unwrap();
    }
    // B's restricted campaign, then a newer version of A's first.
    store
        .import(
            prepared(&[campaign(210, "2020-01-01T00:00:00.000Z")]),
            by(&b, Tlp::Amber),
        )
        .await
        .unwrap();
    store
        .import(
            prepared(&[campaign(201, "2021-01-01T00:00:00.000Z")]),
            by(&a, Tlp::Green),
        )
        .await
        .unwrap();
    let id = |n: u32| {
        campaign(n, "2020-01-01T00:00:00.000Z")["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let viewer = Viewer::Member {
        organisation: a.id,
        user: None,
    };
    let query = |after: Option<Cursor>| ListQuery {
        types: vec!["campaign".into()],
        since: None,
        after,
        limit: 2,
        newest_first: true,
    };
    let first = store.list(&query(None), &viewer).await.unwrap();
    let ids: Vec<&str> = first.items.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, vec![id(201).as_str(), id(203).as_str()]);
    assert_eq!(
        first.items[0].version.as_deref(),
        Some("2021-01-01T00:00:00.000Z")
    );
    let rest = store.list(&query(first.next), &viewer).await.unwrap();
    let ids: Vec<&str> = rest.items.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![id(202).as_str()],
        "B's TLP:AMBER is not A's to see"
    );
    assert!(rest.next.is_none());
    // The operator sees B's too, in its place.
    let all = store
        .list(
            &ListQuery {
                limit: 10,
                ..query(None)
            },
            &Viewer::Operator,
        )
        .await
        .unwrap();
    let ids: Vec<&str> = all.items.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids[..2], [id(201).as_str(), id(210).as_str()]);
    // A cursor of the other order, or made up, is refused.
    for bad in ["campaign--x", "n-1", "nx", ""] {
        assert!(
            matches!(
                store.list(&query(Some(Cursor(bad.into()))), &viewer).await,
                Err(StoreError::InvalidCursor(_))
            ),
            "{bad}"
        );
    }
}
