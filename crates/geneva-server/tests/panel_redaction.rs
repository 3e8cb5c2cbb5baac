//! Redaction through the whole chain: random mixes of TLP levels and
//! release decisions on a case's subjects, a case decided and published
//! with the real steps, and every public output (the finding's bundle, the
//! list, the Atom feed, the portal's pages) read by anyone over HTTP: nothing that is neither
//! TLP:CLEAR nor released ever appears, and a case with no public subject
//! publishes nothing.

use std::sync::Arc;

use geneva_access::OrgKind;
use geneva_analysis::cases::{self, NewCase, NewDraft, Publication, Who};
use geneva_server::ServerConfig;
use geneva_stix::Tlp;
use geneva_store::{Provenance, Recipients, Store, Viewer};
use geneva_store_sqlite::SqliteStore;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

fn incident(n: usize, marker: &str) -> Value {
    json!({"type": "bundle", "id": format!("bundle--00000000-0000-4000-8000-{n:012}"), "objects": [
        {"type": "incident", "spec_version": "2.1",
         "id": format!("incident--00000000-0000-4000-8000-{n:012}"),
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
         "name": format!("incident {marker}"), "description": marker}]})
}

async fn get(url: String) -> String {
    reqwest::get(&url).await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_byte_of_private_content_reaches_any_public_output() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6e65_7661);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("geneva.db")).unwrap());
    let org = store
        .add_organisation("Reporter", OrgKind::State, None)
        .await
        .unwrap();
    for i in 0..5 {
        let o = store
            .add_organisation(&format!("Panel{i}"), OrgKind::State, None)
            .await
            .unwrap();
        store.add_user(&format!("m{i}"), o.id).await.unwrap();
    }
    let who = Who {
        name: "chair".into(),
        actor: "test".into(),
        channel: "test",
    };
    // (subject id, may it be public)
    let mut subjects: Vec<(String, bool)> = Vec::new();
    let mut published_reports = Vec::new();
    let mut n = 0;
    for round in 0..12 {
        let mut ids = Vec::new();
        let mut releases = Vec::new();
        for _ in 0..rng.random_range(1..4) {
            n += 1;
            let tlp = Tlp::ALL[rng.random_range(0..Tlp::ALL.len())];
            let released = rng.random_bool(0.3);
            let marker = format!("PRIVATE-MARKER-{n}");
            let prepared = geneva_stix::prepare(
                incident(n, &marker).to_string().as_bytes(),
                &geneva_stix::PrepareOptions::default(),
            )
            .unwrap();
            store
                .import(
                    prepared.objects,
                    Provenance {
                        organisation: "Reporter".into(),
                        organisation_id: Some(org.id),
                        submitted_at: format!("2026-01-01T00:00:{:02}.000Z", n % 60),
                        default_tlp: tlp,
                        recipients: Recipients::default(),
                    },
                )
                .await
                .unwrap();
            let id = format!("incident--00000000-0000-4000-8000-{n:012}");
            subjects.push((id.clone(), tlp == Tlp::Clear || released));
            if released {
                releases.push(id.clone());
            }
            ids.push(id);
        }
        let file = cases::open(
            store.as_ref(),
            &Viewer::Operator,
            &who,
            NewCase {
                title: format!("round {round}"),
                subjects: ids,
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
        let id = file.case.id.clone();
        for r in releases {
            cases::release(store.as_ref(), &who, &id, &r).await.unwrap();
        }
        let users: Vec<String> = (0..5).map(|i| format!("m{i}")).collect();
        cases::assign(store.as_ref(), &who, &id, &users)
            .await
            .unwrap();
        let at = "2026-02-01T00:00:00.000Z";
        cases::transition(store.as_ref(), &who, &id, "analysis", at, None)
            .await
            .unwrap();
        cases::draft(
            store.as_ref(),
            &who,
            &id,
            NewDraft {
                title: format!("finding {round}"),
                probability: 0.8,
                confidence: "moderate".into(),
                norms: vec![("gge-2015-f".into(), "breach".into())],
                ..NewDraft::default()
            },
            at,
        )
        .await
        .unwrap();
        cases::transition(store.as_ref(), &who, &id, "review", at, None)
            .await
            .unwrap();
        cases::transition(store.as_ref(), &who, &id, "vote", at, None)
            .await
            .unwrap();
        for u in &users {
            let (_, to_store) = cases::vote(store.as_ref(), &who, &id, u, "agree", None, at)
                .await
                .unwrap();
            store
                .import(to_store.prepare().unwrap(), to_store.provenance)
                .await
                .unwrap();
        }
        match cases::prepare_publication(store.as_ref(), &id, at).await {
            Ok(Publication::Ready {
                file,
                revision,
                to_store,
                published,
            }) => {
                store
                    .import(to_store.prepare().unwrap(), to_store.provenance)
                    .await
                    .unwrap();
                cases::finish_publication(store.as_ref(), &who, *file, revision, published.clone())
                    .await
                    .unwrap();
                published_reports.push(published.report);
            }
            Ok(Publication::Done(_)) => unreachable!("published once"),
            Err(e) => assert!(
                e.to_string().contains("must be about something public"),
                "{e}"
            ),
        }
    }
    assert!(
        !published_reports.is_empty(),
        "the seed publishes some findings"
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(geneva_server::serve(
        listener,
        store.clone(),
        ServerConfig::default(),
        async {
            let _ = rx.await;
        },
    ));
    let mut outputs = vec![
        get(format!("{base}/findings")).await,
        get(format!("{base}/findings.atom")).await,
        get(format!("{base}/")).await,
    ];
    for report in &published_reports {
        outputs.push(get(format!("{base}/findings/{report}")).await);
        outputs.push(get(format!("{base}/portal/findings/{report}")).await);
    }
    let _ = tx.send(());
    server.await.unwrap().unwrap();
    let everything = outputs.join("\n");
    for report in &published_reports {
        assert!(everything.contains(report.as_str()));
    }
    let mut seen_public = 0;
    for (id, public) in &subjects {
        // No subject's content is ever published; only public ones are named.
        let n: usize = id.rsplit('-').next().unwrap().parse().unwrap();
        assert!(
            !everything.contains(&format!("PRIVATE-MARKER-{n}")),
            "{id}'s content leaked"
        );
        if !public {
            assert!(
                !everything.contains(id.as_str()),
                "{id} is not public but is named"
            );
        } else if everything.contains(id.as_str()) {
            seen_public += 1;
        }
    }
    assert!(seen_public > 0);
}
