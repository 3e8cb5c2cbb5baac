//! TAXII 2.1 over real TCP on a real SQLite store: negotiation, errors,
//! collections by TLP, filters, paging, and the OASIS `taxii2-client` as an
//! independent judge.

use std::sync::Arc;

use geneva_access::{ApiToken, OrgKind, Scope, Scopes};
use geneva_server::ServerConfig;
use geneva_stix::Tlp;
use geneva_store::{Provenance, Recipients, Store, TokenRecord, Viewer};
use geneva_store_sqlite::SqliteStore;
use serde_json::{Value, json};

const TAXII: &str = "application/taxii+json;version=2.1";
const ALL: &str = "9d7c8c7e-4a8e-4f3c-9d42-1f2b8f6b0c06";
const T1: &str = "2020-01-01T00:00:00.000Z";
const T2: &str = "2021-01-01T00:00:00.000Z";

struct Server {
    base: String,
    /// Acme's token: Acme submitted everything below.
    acme: String,
    /// Beta's token: Beta sees GREEN and CLEAR, not Acme's AMBER.
    beta: String,
    /// Acme's token that may also submit.
    acme_submit: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn token(store: &SqliteStore, org: &str) -> String {
    token_with(store, org, &[Scope::Read]).await
}

async fn token_with(store: &SqliteStore, org: &str, scopes: &[Scope]) -> String {
    let org = store.organisation(org).await.unwrap().unwrap();
    let token = ApiToken::generate().unwrap();
    let record = TokenRecord {
        id: token.id.clone(),
        organisation: org.id,
        user: None,
        scopes: Scopes::new(scopes.iter().copied()),
        label: "taxii test".into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        revoked_at: None,
    };
    store.add_token(&record, token.hash()).await.unwrap();
    token.reveal()
}

fn campaign(n: u32, modified: &str) -> Value {
    json!({"type": "campaign", "spec_version": "2.1",
           "id": format!("campaign--{n:08x}-0000-4000-8000-000000000000"),
           "created": "2020-01-01T00:00:00.000Z", "modified": modified,
           "name": format!("Campaign {n}")})
}

fn prepared(objects: &[Value]) -> Vec<geneva_stix::PreparedObject> {
    let bundle = json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": objects});
    geneva_stix::prepare(
        &serde_json::to_vec(&bundle).unwrap(),
        &geneva_stix::PrepareOptions::default(),
    )
    .unwrap()
    .objects
}

fn c(n: u32) -> String {
    campaign(n, T1)["id"].as_str().unwrap().to_owned()
}

/// Campaign 1 v1 then v2 (GREEN), campaign 2 (AMBER, Acme's alone),
/// campaign 3 (CLEAR), each added a day apart.
/// `geneva serve`'s server on `store` at a free local port: its base URL,
/// the sender that stops it, and its task.
async fn serve(
    store: Arc<SqliteStore>,
    config: ServerConfig,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(geneva_server::serve(listener, store, config, async {
        let _ = rx.await;
    }));
    (base, tx, task)
}

async fn start() -> Server {
    start_with(ServerConfig::default()).await
}

async fn start_with(config: ServerConfig) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("geneva.db")).unwrap());
    let acme_org = store
        .add_organisation("Acme", OrgKind::Company, None)
        .await
        .unwrap();
    store
        .add_organisation("Beta", OrgKind::State, None)
        .await
        .unwrap();
    let acme = token(&store, "Acme").await;
    let beta = token(&store, "Beta").await;
    let acme_submit = token_with(&store, "Acme", &[Scope::Read, Scope::Submit]).await;
    for (object, day, tlp) in [
        (campaign(1, T1), "2026-01-01T00:00:00.000Z", Tlp::Green),
        (campaign(2, T1), "2026-01-02T00:00:00.000Z", Tlp::Amber),
        (campaign(1, T2), "2026-01-03T00:00:00.000Z", Tlp::Green),
        (campaign(3, T1), "2026-01-04T00:00:00.000Z", Tlp::Clear),
    ] {
        store
            .import(
                prepared(&[object]),
                Provenance {
                    organisation: "Acme".into(),
                    organisation_id: Some(acme_org.id),
                    submitted_at: day.into(),
                    default_tlp: tlp,
                    recipients: Recipients::default(),
                },
            )
            .await
            .unwrap();
    }
    let (base, tx, task) = serve(store, config).await;
    Server {
        base,
        acme,
        beta,
        acme_submit,
        stop: Some(tx),
        task,
        _dir: dir,
    }
}

impl Server {
    async fn get(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .header("Accept", TAXII);
        if let Some(token) = token {
            request = request.basic_auth("member", Some(token));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: String,
    ) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("Accept", TAXII)
            .header("Content-Type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.basic_auth("member", Some(token));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

fn ids(envelope: &Value) -> Vec<String> {
    envelope["objects"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_collections_and_negotiation() {
    let server = start().await;
    let (status, headers, body) = server.get("/taxii2/", None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], TAXII);
    assert_eq!(body["api_roots"][0], "/taxii2/geneva/");
    assert_eq!(body["default"], "/taxii2/geneva/");

    let (status, _, root) = server.get("/taxii2/geneva/", None).await;
    assert_eq!(status, 200);
    assert_eq!(root["versions"][0], TAXII);
    assert!(root["max_content_length"].as_u64().unwrap() > 0);

    // Anonymous callers see the public collection only; members all six.
    let (_, _, anonymous) = server.get("/taxii2/geneva/collections/", None).await;
    assert_eq!(anonymous["collections"].as_array().unwrap().len(), 1);
    assert_eq!(anonymous["collections"][0]["alias"], "clear");
    let (_, _, member) = server
        .get("/taxii2/geneva/collections/", Some(&server.beta))
        .await;
    let collections = member["collections"].as_array().unwrap();
    assert_eq!(collections.len(), 6, "a read-only token sees no intake");
    for c in collections {
        assert_eq!(c["can_read"], true);
        assert_eq!(c["can_write"], false);
        assert_eq!(c["media_types"][0], "application/stix+json;version=2.1");
    }
    let (_, _, submitter) = server
        .get("/taxii2/geneva/collections/", Some(&server.acme_submit))
        .await;
    let intake = submitter["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["alias"] == "intake")
        .unwrap();
    assert_eq!(
        (&intake["can_read"], &intake["can_write"]),
        (&json!(false), &json!(true))
    );

    // 406 for a client that will not take TAXII JSON, as a TAXII error.
    let response = reqwest::Client::new()
        .get(format!("{}/taxii2/", server.base))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 406);
    assert_eq!(response.headers()["content-type"], TAXII);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["http_status"], "406");
    assert!(error["title"].is_string());

    // 404s name what is missing; 401 for a member collection without credentials.
    let (status, _, error) = server.get("/taxii2/nowhere/", None).await;
    assert_eq!((status, error["http_status"].as_str()), (404, Some("404")));
    let (status, _, _) = server
        .get("/taxii2/geneva/collections/no-such/", Some(&server.beta))
        .await;
    assert_eq!(status, 404);
    let (status, headers, error) = server
        .get("/taxii2/geneva/collections/green/objects/", None)
        .await;
    assert_eq!(status, 401);
    assert!(headers.contains_key("www-authenticate"));
    assert_eq!(error["http_status"], "401");
    // A bad credential is refused, never read as anonymous, in TAXII's words.
    let (status, headers, error) = server.get("/taxii2/", Some("gva_not_a_token")).await;
    assert_eq!((status, error["http_status"].as_str()), (401, Some("401")));
    assert_eq!(headers["content-type"], TAXII);
    assert!(headers.contains_key("www-authenticate"));
    let (status, _, error) = server.get("/taxii2/geneva/nothing-here/", None).await;
    assert_eq!((status, error["http_status"].as_str()), (404, Some("404")));
    // The record is append-only: DELETE is never permitted.
    let response = reqwest::Client::new()
        .delete(format!(
            "{}/taxii2/geneva/collections/{ALL}/objects/{}/",
            server.base,
            c(1)
        ))
        .header("Accept", TAXII)
        .basic_auth("member", Some(&server.acme_submit))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_follow_the_access_rules_and_filters() {
    let server = start().await;
    let objects = |collection: &str, query: &str| {
        format!("/taxii2/geneva/collections/{collection}/objects/{query}")
    };
    // Last versions, in the order added; Beta never sees Acme's AMBER campaign.
    let (status, headers, body) = server.get(&objects(ALL, ""), Some(&server.acme)).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body), vec![c(2), c(1), c(3)]);
    assert_eq!(
        headers["x-taxii-date-added-first"],
        "2026-01-02T00:00:00.000Z"
    );
    assert_eq!(
        headers["x-taxii-date-added-last"],
        "2026-01-04T00:00:00.000Z"
    );
    let (_, _, body) = server.get(&objects(ALL, ""), Some(&server.beta)).await;
    assert_eq!(ids(&body), vec![c(1), c(3)]);
    let (_, _, body) = server.get(&objects("amber", ""), Some(&server.beta)).await;
    assert_eq!(
        body,
        serde_json::json!({}),
        "an empty page is an empty envelope"
    );
    let (_, _, body) = server.get(&objects("clear", ""), None).await;
    assert_eq!(ids(&body), vec![c(3)]);

    // Filters.
    let (_, _, body) = server
        .get(&objects(ALL, "?match[version]=all"), Some(&server.acme))
        .await;
    assert_eq!(ids(&body), vec![c(1), c(2), c(1), c(3)]);
    let (_, _, body) = server
        .get(&objects(ALL, "?match[version]=first"), Some(&server.acme))
        .await;
    assert_eq!(body["objects"][0]["modified"], T1);
    let (_, _, body) = server
        .get(
            &objects(ALL, &format!("?match[id]={}&match[version]={T2}", c(1))),
            Some(&server.acme),
        )
        .await;
    assert_eq!(ids(&body), vec![c(1)]);
    assert_eq!(body["objects"][0]["modified"], T2);
    let (_, _, body) = server
        .get(
            &objects(ALL, "?added_after=2026-01-02T00:00:00Z&match[version]=all"),
            Some(&server.acme),
        )
        .await;
    assert_eq!(
        ids(&body),
        vec![c(1), c(3)],
        "strictly after the date added"
    );
    let (_, _, body) = server
        .get(&objects(ALL, "?match[type]=indicator"), Some(&server.acme))
        .await;
    assert!(ids(&body).is_empty());
    let (status, _, error) = server
        .get(&objects(ALL, "?limit=zero"), Some(&server.acme))
        .await;
    assert_eq!(status, 400);
    assert!(error["description"].as_str().unwrap().contains("limit"));
    let (status, _, _) = server
        .get(&objects(ALL, "?next=forged"), Some(&server.acme))
        .await;
    assert_eq!(status, 400);

    // Pages of one, walked with next.
    let mut walked = Vec::new();
    let mut query = "?match[version]=all&limit=1".to_owned();
    loop {
        let (_, _, page) = server.get(&objects(ALL, &query), Some(&server.acme)).await;
        walked.extend(ids(&page));
        if page["more"] != true {
            assert!(page.get("next").is_none());
            break;
        }
        query = format!(
            "?match[version]=all&limit=1&next={}",
            page["next"].as_str().unwrap()
        );
    }
    assert_eq!(walked, vec![c(1), c(2), c(1), c(3)]);

    // One object, its versions, the manifest.
    let one = format!("/taxii2/geneva/collections/{ALL}/objects/{}/", c(1));
    let (status, _, body) = server.get(&one, Some(&server.beta)).await;
    assert_eq!((status, ids(&body)), (200, vec![c(1)]));
    let (_, _, body) = server
        .get(&format!("{one}versions/"), Some(&server.beta))
        .await;
    assert_eq!(body["versions"], serde_json::json!([T1, T2]));
    let hidden = format!("/taxii2/geneva/collections/{ALL}/objects/{}/", c(2));
    let (status, _, _) = server.get(&hidden, Some(&server.beta)).await;
    assert_eq!(status, 404, "a hidden object is as absent as a missing one");
    let (_, headers, body) = server
        .get(
            &format!("/taxii2/geneva/collections/{ALL}/manifest/?match[version]=all"),
            Some(&server.beta),
        )
        .await;
    let records = body["objects"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["date_added"], "2026-01-01T00:00:00.000Z");
    assert_eq!(records[0]["version"], T1);
    assert_eq!(
        records[0]["media_type"],
        "application/stix+json;version=2.1"
    );
    assert_eq!(
        headers["x-taxii-date-added-last"],
        "2026-01-04T00:00:00.000Z"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taxii2_client_reads_pages_and_posts() {
    let Some(python) = geneva_testkit::python_with("taxii2client") else {
        return;
    };
    let server = start().await;
    let script = geneva_testkit::workspace_root().join("tools/taxii_judge.py");
    let (base, token, submit) = (
        server.base.clone(),
        server.acme.clone(),
        server.acme_submit.clone(),
    );
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .args([&base, &token, &submit])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "taxii2-client refused the server:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["root_versions"], serde_json::json!([TAXII]));
    assert_eq!(seen["collections"].as_array().unwrap().len(), 6);
    let walked: Vec<&str> = seen["pages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p.as_array().unwrap())
        .map(|o| o[0].as_str().unwrap())
        .collect();
    assert_eq!(walked, vec![c(1), c(2), c(1), c(3)]);
    assert_eq!(seen["last"], serde_json::json!([c(2), c(1), c(3)]));
    assert_eq!(seen["object"], serde_json::json!([c(2)]));
    assert_eq!(seen["manifest"].as_array().unwrap().len(), 4);
    assert_eq!(seen["manifest_pages"], serde_json::json!([3]));
    assert_eq!(
        seen["posted"],
        json!({"status": "complete", "success_count": 1, "failure_count": 0})
    );
    assert_eq!(seen["posted_again"], "complete");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_to_intake_is_one_submission_with_a_status() {
    let server = start().await;
    let intake = "/taxii2/geneva/collections/intake/objects/";
    let envelope = |objects: Vec<Value>| json!({"objects": objects}).to_string();
    let good = envelope(vec![campaign(10, T1), campaign(11, T1)]);

    // Who may post, where, and in what form.
    let (status, error) = server.post(intake, None, TAXII, good.clone()).await;
    assert_eq!((status, error["http_status"].as_str()), (401, Some("401")));
    let (status, _) = server
        .post(intake, Some(&server.acme), TAXII, good.clone())
        .await;
    assert_eq!(status, 403, "a read-only token");
    let (status, _) = server
        .post(
            &format!("/taxii2/geneva/collections/{ALL}/objects/"),
            Some(&server.acme_submit),
            TAXII,
            good.clone(),
        )
        .await;
    assert_eq!(status, 403, "a read-only collection");
    let (status, _) = server
        .post(
            intake,
            Some(&server.acme_submit),
            "application/json",
            good.clone(),
        )
        .await;
    assert_eq!(status, 415);
    // Malformed: 400. Well-formed envelopes whose objects are not objects:
    // 422, nothing stored either way.
    for (garbage, code) in [
        ("not json", 400),
        ("{}", 400),
        (r#"{"objects": 3}"#, 422),
        (r#"{"objects": [1, 2]}"#, 422),
        (r#"{"objects": {"id": "campaign--1"}}"#, 422),
    ] {
        let (status, error) = server
            .post(intake, Some(&server.acme_submit), TAXII, garbage.into())
            .await;
        assert_eq!(status, code, "{garbage}");
        assert_eq!(error["http_status"], code.to_string());
        assert!(error["title"].is_string(), "{error}");
    }
    let (status, _, _) = server.get(intake, Some(&server.acme_submit)).await;
    assert_eq!(status, 403, "intake serves nothing back");

    // A good envelope: stored as Acme's, and its status kept for Acme.
    let (status, accepted) = server
        .post(intake, Some(&server.acme_submit), TAXII, good)
        .await;
    assert_eq!(status, 202);
    assert_eq!(accepted["status"], "complete");
    assert_eq!(
        (
            accepted["total_count"].as_u64(),
            accepted["success_count"].as_u64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(accepted["successes"][0]["id"], c(10));
    assert_eq!(accepted["successes"][0]["version"], T1);
    let status_path = format!(
        "/taxii2/geneva/status/{}/",
        accepted["id"].as_str().unwrap()
    );
    let (status, _, again) = server.get(&status_path, Some(&server.acme)).await;
    assert_eq!((status, &again), (200, &accepted));
    let (status, _, _) = server.get(&status_path, Some(&server.beta)).await;
    assert_eq!(
        status, 404,
        "another organisation's status does not exist for it"
    );
    let (_, _, body) = server
        .get(
            &format!(
                "/taxii2/geneva/collections/{ALL}/objects/?match[id]={}",
                c(10)
            ),
            Some(&server.acme),
        )
        .await;
    assert_eq!(ids(&body), vec![c(10)]);
    let (_, _, body) = server
        .get(
            &format!(
                "/taxii2/geneva/collections/{ALL}/objects/?match[id]={}",
                c(10)
            ),
            Some(&server.beta),
        )
        .await;
    assert!(
        ids(&body).is_empty(),
        "unmarked objects are AMBER, Acme's alone"
    );

    // One bad object: nothing is stored, every object is a failure, the bad one says why.
    let mut broken = campaign(12, T1);
    broken["created"] = json!("yesterday");
    let (status, refused) = server
        .post(
            intake,
            Some(&server.acme_submit),
            TAXII,
            envelope(vec![campaign(13, T1), broken]),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(
        (
            refused["success_count"].as_u64(),
            refused["failure_count"].as_u64()
        ),
        (Some(0), Some(2))
    );
    assert!(
        refused["failures"][1]["message"]
            .as_str()
            .unwrap()
            .contains("created")
    );
    assert!(
        refused["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("taken whole")
    );
    let (_, _, body) = server
        .get(
            &format!(
                "/taxii2/geneva/collections/{ALL}/objects/?match[id]={}",
                c(13)
            ),
            Some(&server.acme),
        )
        .await;
    assert!(ids(&body).is_empty(), "all or nothing");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_posts_are_413_in_taxii_words() {
    let server = start_with(ServerConfig {
        max_body_bytes: 4096,
        ..ServerConfig::default()
    })
    .await;
    let objects: Vec<Value> = (0..100).map(|n| campaign(100 + n, T1)).collect();
    let (status, error) = server
        .post(
            "/taxii2/geneva/collections/intake/objects/",
            Some(&server.acme_submit),
            TAXII,
            json!({ "objects": objects }).to_string(),
        )
        .await;
    assert_eq!(status, 413);
    assert_eq!(error["http_status"], "413");
    server.shutdown().await;
}

/// Every TAXII endpoint answers the status codes of TAXII 2.1 §3.6 for the
/// same faults, always as TAXII error messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_the_same_faults_the_same_way() {
    let server = start().await;
    let one = c(1);
    let readable = [
        "/taxii2/".to_owned(),
        "/taxii2/geneva/".to_owned(),
        "/taxii2/geneva/collections/".to_owned(),
        format!("/taxii2/geneva/collections/{ALL}/"),
        format!("/taxii2/geneva/collections/{ALL}/objects/"),
        format!("/taxii2/geneva/collections/{ALL}/objects/{one}/"),
        format!("/taxii2/geneva/collections/{ALL}/objects/{one}/versions/"),
        format!("/taxii2/geneva/collections/{ALL}/manifest/"),
    ];
    for path in &readable {
        // 200 with TAXII JSON for a member...
        let (status, headers, _) = server.get(path, Some(&server.beta)).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(headers["content-type"], TAXII, "{path}");
        // ...406 for a client that refuses it...
        let response = reqwest::Client::new()
            .get(format!("{}{path}", server.base))
            .header("Accept", "application/taxii+json;version=2.0")
            .basic_auth("member", Some(&server.beta))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 406, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["http_status"], "406", "{path}");
        // ...and 401 for a credential that is not a token.
        let (status, _, error) = server.get(path, Some("gva_forged")).await;
        assert_eq!(
            (status, error["http_status"].as_str()),
            (401, Some("401")),
            "{path}"
        );
    }
    // 404: an unknown object, its versions, an unknown status, an unknown root.
    let missing = "campaign--00000000-0000-4000-8000-0000000000ff";
    for path in [
        format!("/taxii2/geneva/collections/{ALL}/objects/{missing}/"),
        format!("/taxii2/geneva/collections/{ALL}/objects/{missing}/versions/"),
        "/taxii2/geneva/status/2d086da7-4bdc-4f91-900e-d77486753710/".to_owned(),
        "/taxii2/other/collections/".to_owned(),
    ] {
        let (status, headers, error) = server.get(&path, Some(&server.beta)).await;
        assert_eq!(
            (status, error["http_status"].as_str()),
            (404, Some("404")),
            "{path}"
        );
        assert_eq!(headers["content-type"], TAXII, "{path}");
    }
    // 401 for anonymous callers on member collections and on status; 403 for
    // members on what their token does not allow.
    for path in [
        format!("/taxii2/geneva/collections/{ALL}/manifest/"),
        "/taxii2/geneva/status/2d086da7-4bdc-4f91-900e-d77486753710/".to_owned(),
    ] {
        let (status, _, _) = server.get(&path, None).await;
        assert_eq!(status, 401, "{path}");
    }
    let (status, _, _) = server
        .get(
            "/taxii2/geneva/collections/intake/manifest/",
            Some(&server.acme_submit),
        )
        .await;
    assert_eq!(status, 403, "intake serves no manifest");
    // 400 for malformed filters on every listing endpoint.
    for path in [
        format!("/taxii2/geneva/collections/{ALL}/objects/?added_after=soon"),
        format!("/taxii2/geneva/collections/{ALL}/manifest/?limit=0"),
        format!("/taxii2/geneva/collections/{ALL}/objects/{one}/versions/?next=x"),
    ] {
        let (status, _, error) = server.get(&path, Some(&server.beta)).await;
        assert_eq!(
            (status, error["http_status"].as_str()),
            (400, Some("400")),
            "{path}"
        );
    }
    server.shutdown().await;
}

/// A sharing group has a collection of what was released to it: its members
/// list and read it (by id or alias), others are refused, and the access
/// rules still apply inside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_groups_have_collections_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("geneva.db")).unwrap());
    let mut orgs = Vec::new();
    for name in ["Acme", "Beta", "Gamma"] {
        orgs.push(
            store
                .add_organisation(name, OrgKind::State, None)
                .await
                .unwrap(),
        );
    }
    let ops = store
        .add_group("Ops <&> \"quoted\"", &[orgs[0].id, orgs[1].id])
        .await
        .unwrap();
    let quiet = store.add_group("Quiet", &[orgs[1].id]).await.unwrap();
    for (n, tlp, groups) in [
        (5, Tlp::Amber, vec![ops.id]),
        (6, Tlp::Amber, Vec::new()),
        (7, Tlp::AmberStrict, vec![ops.id]),
    ] {
        store
            .import(
                prepared(&[campaign(n, T1)]),
                Provenance {
                    organisation: "Acme".into(),
                    organisation_id: Some(orgs[0].id),
                    submitted_at: "2026-01-01T00:00:00.000Z".into(),
                    default_tlp: tlp,
                    recipients: Recipients {
                        groups,
                        ..Default::default()
                    },
                },
            )
            .await
            .unwrap();
    }
    let (acme, beta, gamma) = (
        token(&store, "Acme").await,
        token(&store, "Beta").await,
        token(&store, "Gamma").await,
    );
    let (base, tx, task) = serve(store, ServerConfig::default()).await;
    let server = Server {
        base,
        acme: acme.clone(),
        beta: beta.clone(),
        acme_submit: acme,
        stop: Some(tx),
        task,
        _dir: dir,
    };

    let alias = format!("group-{}", ops.id);
    let id = format!("9d7c8c7e-4a8e-4f3c-9d43-{:012x}", ops.id);
    let listed = |body: &Value| -> Vec<String> {
        body["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["alias"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, _, beta_list) = server.get("/taxii2/geneva/collections/", Some(&beta)).await;
    let beta_sees = listed(&beta_list);
    assert!(beta_sees.contains(&alias), "{beta_sees:?}");
    assert!(beta_sees.contains(&format!("group-{}", quiet.id)));
    let described = beta_list["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["alias"] == alias.as_str())
        .unwrap();
    assert_eq!(described["id"], id.as_str());
    assert_eq!(described["title"], "Sharing group Ops <&> \"quoted\"");
    assert_eq!(described["can_read"], true);
    assert_eq!(described["can_write"], false);
    let (_, _, gamma_list) = server
        .get("/taxii2/geneva/collections/", Some(&gamma))
        .await;
    assert!(!listed(&gamma_list).iter().any(|a| a.starts_with("group-")));
    let (_, _, anonymous_list) = server.get("/taxii2/geneva/collections/", None).await;
    assert_eq!(listed(&anonymous_list), vec!["clear"]);

    // Beta reads what was released to the group (not Acme's AMBER+STRICT,
    // though it names the group, nor Acme's AMBER released to no one).
    for name in [&alias, &id] {
        let (status, _, body) = server
            .get(
                &format!("/taxii2/geneva/collections/{name}/objects/"),
                Some(&beta),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(ids(&body), vec![c(5)]);
        let (status, _, about) = server
            .get(&format!("/taxii2/geneva/collections/{name}/"), Some(&beta))
            .await;
        assert_eq!(status, 200);
        assert_eq!(about["id"], id.as_str());
    }
    // Acme, the submitter, sees both of its releases to the group.
    let (_, _, body) = server
        .get(
            &format!("/taxii2/geneva/collections/{alias}/objects/"),
            Some(&server.acme),
        )
        .await;
    assert_eq!(ids(&body), vec![c(5), c(7)]);
    let (_, _, body) = server
        .get(
            &format!("/taxii2/geneva/collections/{alias}/manifest/"),
            Some(&beta),
        )
        .await;
    assert_eq!(body["objects"].as_array().unwrap().len(), 1);

    // Others are refused, and an unknown group is not found.
    let (status, _, body) = server
        .get(
            &format!("/taxii2/geneva/collections/{alias}/objects/"),
            Some(&gamma),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(!body["description"].as_str().unwrap().contains("Ops"));
    let (status, _, _) = server
        .get(
            &format!("/taxii2/geneva/collections/{alias}/"),
            Some(&gamma),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _, _) = server
        .get(
            &format!("/taxii2/geneva/collections/{alias}/objects/"),
            None,
        )
        .await;
    assert_eq!(status, 401);
    for unknown in [
        "group-999999".to_owned(),
        "9d7c8c7e-4a8e-4f3c-9d43-0000000f423f".to_owned(),
        "group-x".to_owned(),
        format!("9d7c8c7e-4a8e-4f3c-9d43-{:x}", ops.id),
    ] {
        let (status, _, _) = server
            .get(
                &format!("/taxii2/geneva/collections/{unknown}/objects/"),
                Some(&beta),
            )
            .await;
        assert_eq!(status, 404, "{unknown}");
    }
    // Reports still go to the intake collection only.
    let (status, _) = server
        .post(
            &format!("/taxii2/geneva/collections/{alias}/objects/"),
            Some(&server.acme),
            TAXII,
            json!({"objects": [campaign(8, T1)]}).to_string(),
        )
        .await;
    assert_eq!(status, 403);
    server.shutdown().await;
}

/// A feed: one server pulls another's public collection on a schedule,
/// imports it, resumes after what it saw, and refuses a loopback target
/// unless allowed (server-side request forgery).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_pull_on_a_schedule_and_resume() {
    let source = start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("geneva.db")).unwrap());
    let root = format!("{}/taxii2/geneva/", source.base);
    let spec = geneva_store::NewFeed {
        url: root.clone(),
        collection: "clear".into(),
        user: None,
        password_env: None,
        every_secs: 1,
        allow_private: true,
        organisation: None,
        tlp: Tlp::Amber,
        since: None,
    };
    let pulled = store.add_feed(&spec).await.unwrap();
    let guarded = store
        .add_feed(&geneva_store::NewFeed {
            allow_private: false,
            every_secs: 3600,
            ..spec.clone()
        })
        .await
        .unwrap();
    let config = ServerConfig {
        feed_tick: std::time::Duration::from_millis(100),
        ..ServerConfig::default()
    };
    let (_, tx, task) = serve(store.clone(), config).await;
    let feed = |id: i64| {
        let store = store.clone();
        async move {
            store
                .feeds()
                .await
                .unwrap()
                .into_iter()
                .find(|f| f.id == id)
                .unwrap()
        }
    };
    // The first run brings the one campaign in the source's CLEAR
    // collection, as the instance's own submission; it carries no marking,
    // so it is recorded at the feed's level.
    let mut waited = 0;
    while feed(pulled.id).await.last_run_ms.is_none() {
        assert!(waited < 200, "the feed never ran");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    let first = feed(pulled.id).await;
    assert_eq!(first.last_error, None);
    assert_eq!(first.last_objects, 1);
    assert_eq!(
        first.last_added.as_deref(),
        Some("2026-01-04T00:00:00.000Z")
    );
    let got = store.get(&c(3), &Viewer::Operator).await.unwrap().unwrap();
    assert_eq!(got.tlp, Tlp::Amber);
    assert!(store.get(&c(1), &Viewer::Operator).await.unwrap().is_none());
    // The next run resumes after it: nothing new.
    while feed(pulled.id).await.last_run_ms == first.last_run_ms {
        assert!(waited < 400, "the feed never ran again");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    let second = feed(pulled.id).await;
    assert_eq!((second.last_objects, second.last_error), (0, None));
    assert_eq!(second.last_added, first.last_added);
    // Loopback is refused unless the feed allows it.
    let refused = feed(guarded.id).await;
    assert!(
        refused
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("refused")),
        "{refused:?}"
    );
    assert_eq!(refused.last_added, None);
    let _ = tx.send(());
    task.await.unwrap().unwrap();
    source.shutdown().await;
}

/// TAXII 2.1 §3.4.1: responses listing objects, an object, its versions or
/// the manifest carry `X-TAXII-Date-Added-First` and `-Last`, the dates
/// added of the first and last item of the page; a page with nothing in it
/// carries neither (there is no date to give).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_added_headers_bound_every_page_that_has_items() {
    let server = start().await;
    let one = c(1);
    for (path, first, last) in [
        (
            format!("/taxii2/geneva/collections/{ALL}/objects/"),
            "2026-01-02T00:00:00.000Z",
            "2026-01-04T00:00:00.000Z",
        ),
        (
            format!("/taxii2/geneva/collections/{ALL}/objects/?limit=1"),
            "2026-01-02T00:00:00.000Z",
            "2026-01-02T00:00:00.000Z",
        ),
        (
            format!("/taxii2/geneva/collections/{ALL}/objects/{one}/?match[version]=all"),
            "2026-01-01T00:00:00.000Z",
            "2026-01-03T00:00:00.000Z",
        ),
        (
            format!("/taxii2/geneva/collections/{ALL}/objects/{one}/versions/"),
            "2026-01-01T00:00:00.000Z",
            "2026-01-03T00:00:00.000Z",
        ),
        (
            format!("/taxii2/geneva/collections/{ALL}/manifest/?match[version]=all"),
            "2026-01-01T00:00:00.000Z",
            "2026-01-04T00:00:00.000Z",
        ),
    ] {
        let (status, headers, _) = server.get(&path, Some(&server.acme)).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(headers["x-taxii-date-added-first"], first, "{path}");
        assert_eq!(headers["x-taxii-date-added-last"], last, "{path}");
        assert_eq!(headers["content-type"], TAXII, "{path}");
    }
    // Nothing added after the last: an empty envelope, and no dates.
    let path =
        format!("/taxii2/geneva/collections/{ALL}/objects/?added_after=2026-01-04T00:00:00.000Z");
    let (status, headers, body) = server.get(&path, Some(&server.acme)).await;
    assert_eq!(status, 200);
    assert!(
        body.get("objects")
            .is_none_or(|o| o.as_array().is_some_and(Vec::is_empty)),
        "{body}"
    );
    assert!(!headers.contains_key("x-taxii-date-added-first"));
    assert!(!headers.contains_key("x-taxii-date-added-last"));
    server.shutdown().await;
}

/// Object pages are served from a cache between writes: it must never show
/// one member what another may see, must keep auditing AMBER reads, and must
/// forget everything when anyone writes to the database, including another
/// process (here: a second handle on the file, as `geneva import` would be).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_pages_keep_the_rules_and_follow_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("geneva.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let acme_org = store
        .add_organisation("Acme", OrgKind::Company, None)
        .await
        .unwrap();
    store
        .add_organisation("Beta", OrgKind::State, None)
        .await
        .unwrap();
    let acme = token(&store, "Acme").await;
    let beta = token(&store, "Beta").await;
    let provenance = |day: &str, tlp| Provenance {
        organisation: "Acme".into(),
        organisation_id: Some(acme_org.id),
        submitted_at: day.into(),
        default_tlp: tlp,
        recipients: Recipients::default(),
    };
    store
        .import(
            prepared(&[campaign(1, T1)]),
            provenance("2026-01-01T00:00:00.000Z", Tlp::Green),
        )
        .await
        .unwrap();
    store
        .import(
            prepared(&[campaign(2, T1)]),
            provenance("2026-01-02T00:00:00.000Z", Tlp::Amber),
        )
        .await
        .unwrap();
    let (base, stop, task) = serve(store.clone(), ServerConfig::default()).await;
    let server = Server {
        base,
        acme: acme.clone(),
        beta: beta.clone(),
        acme_submit: String::new(),
        stop: Some(stop),
        task,
        _dir: dir,
    };
    let page = format!("/taxii2/geneva/collections/{ALL}/objects/?limit=10");
    let clear = "/taxii2/geneva/collections/clear/objects/?limit=10".to_owned();
    let amber_reads = || async {
        store
            .audit_log(0, 1000)
            .await
            .unwrap()
            .iter()
            .filter(|e| {
                e.entry.action == "read" && e.entry.target.as_deref() == Some(c(2).as_str())
            })
            .count()
    };

    for round in 0..3 {
        let (_, headers, body) = server.get(&page, Some(&acme)).await;
        assert_eq!(ids(&body), vec![c(1), c(2)], "round {round}");
        assert_eq!(
            headers["x-taxii-date-added-last"],
            "2026-01-02T00:00:00.000Z"
        );
        let (_, _, body) = server.get(&page, Some(&beta)).await;
        assert_eq!(ids(&body), vec![c(1)], "Beta, round {round}");
        let (status, _, body) = server.get(&clear, None).await;
        assert_eq!(status, 200);
        assert!(ids(&body).is_empty(), "anonymous, round {round}");
        assert_eq!(amber_reads().await, round + 1, "every read audited");
    }

    // Another connection to the file adds a CLEAR object and a new version.
    let cli = SqliteStore::open(&path).unwrap();
    for (object, day) in [
        (campaign(3, T1), "2026-01-03T00:00:00.000Z"),
        (campaign(1, T2), "2026-01-04T00:00:00.000Z"),
    ] {
        cli.import(prepared(&[object]), provenance(day, Tlp::Clear))
            .await
            .unwrap();
    }
    let (_, headers, body) = server.get(&page, Some(&acme)).await;
    assert_eq!(ids(&body), vec![c(2), c(3), c(1)]);
    assert_eq!(
        headers["x-taxii-date-added-last"],
        "2026-01-04T00:00:00.000Z"
    );
    let (_, _, body) = server.get(&clear, None).await;
    assert_eq!(ids(&body), vec![c(3), c(1)]);
    let (_, _, body) = server.get(&page, Some(&beta)).await;
    assert_eq!(ids(&body), vec![c(3), c(1)]);
    server.shutdown().await;
}
