//! The HTTP API over real TCP, on a real SQLite store.

use std::sync::Arc;

use geneva_access::{ApiToken, OrgKind, Scope, Scopes};
use geneva_server::{ROUTES, ServerConfig};
use geneva_store::{Store, TokenRecord};
use geneva_store_sqlite::SqliteStore;
use serde_json::{Value, json};

struct Server {
    base: String,
    store: Arc<SqliteStore>,
    /// A token of organisation "Acme" with read and submit.
    token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start(config: ServerConfig) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("geneva.db")).unwrap());
    store
        .add_organisation("Acme", OrgKind::Company, None)
        .await
        .unwrap();
    let token = issue_token(&store, "Acme", &[Scope::Read, Scope::Submit]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(geneva_server::serve(
        listener,
        store.clone(),
        config,
        async {
            let _ = rx.await;
        },
    ));
    Server {
        base,
        store,
        token,
        stop: Some(tx),
        task,
        _dir: dir,
    }
}

async fn issue_token(store: &SqliteStore, org: &str, scopes: &[Scope]) -> String {
    issue_user_token(store, org, None, scopes).await
}

async fn issue_user_token(
    store: &SqliteStore,
    org: &str,
    user: Option<i64>,
    scopes: &[Scope],
) -> String {
    let org = store.organisation(org).await.unwrap().unwrap();
    let token = ApiToken::generate().unwrap();
    let record = TokenRecord {
        id: token.id.clone(),
        organisation: org.id,
        user,
        scopes: Scopes::new(scopes.iter().copied()),
        label: "test".into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        revoked_at: None,
    };
    store.add_token(&record, token.hash()).await.unwrap();
    token.reveal()
}

impl Server {
    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

fn campaign(n: usize) -> Value {
    json!({"type": "campaign", "spec_version": "2.1", "id": format!("campaign--{n:08x}-0000-4000-8000-000000000000"),
           "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z", "name": format!("C{n}"),
           "x_custom": {"kept": [1, 2.5, "three"]}})
}

fn bundle(objects: Vec<Value>) -> Value {
    json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": objects})
}

async fn error_code(resp: reqwest::Response) -> (u16, String, Value) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("errors are JSON");
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_list_get_and_version() {
    let server = start(ServerConfig::default()).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);

    assert_eq!(
        http.get(url("/healthz")).send().await.unwrap().status(),
        200
    );

    let objects: Vec<Value> = (0..7).map(campaign).collect();
    let resp = http
        .post(url("/api/v1/bundles"))
        .bearer_auth(&server.token)
        .json(&bundle(objects.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let summary: Value = resp.json().await.unwrap();
    assert_eq!(
        (summary["new"].as_u64(), summary["rejected"].as_u64()),
        (Some(7), Some(0))
    );
    let again: Value = http
        .post(url("/api/v1/bundles"))
        .bearer_auth(&server.token)
        .json(&bundle(objects.clone()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["unchanged"], 7);

    // Walk the pages with the cursor: every object exactly once, in id order.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut req = http
            .get(url("/api/v1/objects"))
            .bearer_auth(&server.token)
            .query(&[("limit", "3"), ("type", "campaign")]);
        if let Some(c) = &next {
            req = req.query(&[("cursor", c)]);
        }
        let page: Value = req.send().await.unwrap().json().await.unwrap();
        for o in page["objects"].as_array().unwrap() {
            seen.push(o["object"].clone());
        }
        match page["next"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, objects, "custom properties and order must survive");

    let id = objects[2]["id"].as_str().unwrap();
    let one: Value = http
        .get(url(&format!("/api/v1/objects/{id}")))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["object"], objects[2]);
    assert_eq!(one["tlp"], "TLP:AMBER");
    assert_eq!(one["sha256"].as_str().unwrap().len(), 64);

    let mut v2 = objects[2].clone();
    v2["modified"] = json!("2021-01-01T00:00:00.000Z");
    v2["name"] = json!("renamed");
    http.post(url("/api/v1/bundles"))
        .bearer_auth(&server.token)
        .json(&bundle(vec![v2.clone()]))
        .send()
        .await
        .unwrap();
    let versions: Value = http
        .get(url(&format!("/api/v1/objects/{id}/versions")))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let versions = versions["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        (
            versions[0]["current"].as_bool(),
            versions[1]["current"].as_bool()
        ),
        (Some(false), Some(true))
    );
    assert_eq!(versions[1]["object"], v2);

    let since: Value = http
        .get(url("/api/v1/objects"))
        .bearer_auth(&server.token)
        .query(&[("since", "2020-06-01T00:00:00Z")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(since["objects"].as_array().unwrap().len(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_json_errors_and_change_nothing() {
    let server = start(ServerConfig {
        max_body_bytes: 64 * 1024,
        ..ServerConfig::default()
    })
    .await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);
    http.post(url("/api/v1/bundles"))
        .bearer_auth(&server.token)
        .json(&bundle(vec![campaign(1)]))
        .send()
        .await
        .unwrap();

    let mut bad = campaign(2);
    bad["created"] = json!("2020-13-01T00:00:00.000Z");
    let (status, code, body) = error_code(
        http.post(url("/api/v1/bundles"))
            .bearer_auth(&server.token)
            .json(&bundle(vec![campaign(3), bad]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "invalid_stix"));
    assert_eq!(body["error"]["issues"][0]["path"], "$.objects[1].created");
    assert_eq!(body["error"]["issues"][0]["rule"], "timestamp");

    let huge = bundle((0..2000).map(campaign).collect());
    // Its own connection: the server answers 413 without reading the body, then closes.
    let status = reqwest::Client::new()
        .post(url("/api/v1/bundles"))
        .bearer_auth(&server.token)
        .json(&huge)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 413);

    for garbage in [
        &b"{\"type\":\"bundle\",\"objects\":[{"[..],
        b"",
        b"\xff\xfe",
        b"[[[[[[[[[[",
    ] {
        let (status, code, _) = error_code(
            http.post(url("/api/v1/bundles"))
                .bearer_auth(&server.token)
                .body(garbage.to_vec())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(status == 400 || status == 422, "{status} for {garbage:?}");
        assert!(!code.is_empty());
    }
    let mut conflict = campaign(1);
    conflict["name"] = json!("rewritten");
    let (status, code, _) = error_code(
        http.post(url("/api/v1/bundles"))
            .bearer_auth(&server.token)
            .json(&bundle(vec![campaign(4), conflict]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (409, "version_conflict"));

    for q in [
        "limit=0",
        "limit=100000",
        "limit=abc",
        "cursor=%%%",
        "cursor=AAAA_not_issued!",
        "since=tuesday",
    ] {
        let (status, code, _) = error_code(
            http.get(url(&format!("/api/v1/objects?{q}")))
                .bearer_auth(&server.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, code.as_str()), (400, "bad_request"), "{q}");
    }
    let (status, code, _) = error_code(
        http.get(url(
            "/api/v1/objects/campaign--00000000-0000-4000-8000-00000000dead",
        ))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    let (status, _, _) =
        error_code(http.get(url("/api/v1/nothing-here")).send().await.unwrap()).await;
    assert_eq!(status, 404);

    // Only the first, valid submission is stored.
    let all: Value = http
        .get(url("/api/v1/objects"))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["objects"].as_array().unwrap().len(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_describes_every_route() {
    let server = start(ServerConfig::default()).await;
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "the document lists routes the server does not have"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_scopes_revocation_and_throttling() {
    let server = start(ServerConfig::default()).await;
    let http = reqwest::Client::new();
    let post = |token: Option<&str>| {
        let req = http
            .post(format!("{}/api/v1/bundles", server.base))
            .json(&bundle(vec![campaign(1)]));
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    };

    // Anonymous: 401 with a challenge naming both schemes.
    let resp = post(None).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("Basic")
    );

    // A read-only token may read but not submit.
    let reader = issue_token(&server.store, "Acme", &[Scope::Read]).await;
    assert_eq!(post(Some(&reader)).send().await.unwrap().status(), 403);
    let listed = http
        .get(format!("{}/api/v1/objects", server.base))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    // A token without read cannot read.
    let submitter = issue_token(&server.store, "Acme", &[Scope::Submit]).await;
    let denied = http
        .get(format!("{}/api/v1/objects", server.base))
        .bearer_auth(&submitter)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);

    // HTTP Basic with the token as password, as TAXII clients send it.
    let basic = http
        .post(format!("{}/api/v1/bundles", server.base))
        .basic_auth("anyone", Some(&server.token))
        .json(&bundle(vec![campaign(1)]))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 201);
    let audit = server.store.audit_log(0, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].entry.action, "import");
    assert!(
        audit[0].entry.actor.starts_with("org:Acme token:"),
        "{:?}",
        audit[0]
    );
    let stored = server
        .store
        .get(
            campaign(1)["id"].as_str().unwrap(),
            &geneva_store::Viewer::Operator,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.organisation, "Acme",
        "provenance records the token's organisation"
    );

    // Revocation takes effect on the next request.
    let id = geneva_access::ApiToken::parse(&reader).unwrap().id;
    server
        .store
        .revoke_token(&id, "2026-01-02T00:00:00.000Z")
        .await
        .unwrap();
    let revoked = http
        .get(format!("{}/api/v1/objects", server.base))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);

    // A wrong secret for a real id is refused like an unknown token.
    let forged = format!("{}AAAA", &server.token[..server.token.len() - 4]);
    let resp = http
        .get(format!("{}/api/v1/objects", server.base))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    // Guessing is throttled: after ten failures from one address, even a good token waits.
    for _ in 0..10 {
        http.get(format!("{}/api/v1/objects", server.base))
            .bearer_auth("gva_000000000000_garbage")
            .send()
            .await
            .unwrap();
    }
    let throttled = http
        .get(format!("{}/api/v1/objects", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), 429);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tlp_rules_hold_on_every_api_path() {
    use geneva_stix::Tlp;
    let server = start(ServerConfig::default()).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);
    server
        .store
        .add_organisation("Friend", OrgKind::State, None)
        .await
        .unwrap();
    server
        .store
        .add_organisation("Stranger", OrgKind::State, None)
        .await
        .unwrap();
    let friend = issue_token(&server.store, "Friend", &[Scope::Read]).await;
    let stranger = issue_token(&server.store, "Stranger", &[Scope::Read]).await;

    let mut objects = Vec::new();
    for (n, tlp) in Tlp::ALL.into_iter().enumerate() {
        let mut o = campaign(n);
        o["object_marking_refs"] = json!([tlp.marking_id()]);
        objects.push(o);
    }
    let posted = http
        .post(url("/api/v1/bundles?share_with=Friend"))
        .bearer_auth(&server.token)
        .json(&bundle(objects.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    let unknown = http
        .post(url("/api/v1/bundles?share_with=Nobody"))
        .bearer_auth(&server.token)
        .json(&bundle(vec![campaign(99)]))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);

    let names = |v: &Value| -> Vec<String> {
        let mut n: Vec<String> = v["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["object"]["name"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    let list = |token: Option<String>| {
        let req = http.get(url("/api/v1/objects"));
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    // CLEAR=C0, GREEN=C1, AMBER=C2, AMBER+STRICT=C3, RED=C4 (RED was named to no user).
    assert_eq!(names(&list(None).await), vec!["C0"]);
    assert_eq!(names(&list(Some(stranger.clone())).await), vec!["C0", "C1"]);
    assert_eq!(
        names(&list(Some(friend.clone())).await),
        vec!["C0", "C1", "C2", "C3"]
    );
    assert_eq!(
        names(&list(Some(server.token.clone())).await),
        vec!["C0", "C1", "C2", "C3", "C4"]
    );

    // An invisible object answers exactly like a missing one, body included (apart from the id it echoes).
    let red_id = objects[4]["id"].as_str().unwrap();
    let missing_id = "campaign--00000004-0000-4000-8000-00000000dead";
    for path in ["", "/versions"] {
        let hidden = http
            .get(url(&format!("/api/v1/objects/{red_id}{path}")))
            .bearer_auth(&friend)
            .send()
            .await
            .unwrap();
        let missing = http
            .get(url(&format!("/api/v1/objects/{missing_id}{path}")))
            .bearer_auth(&friend)
            .send()
            .await
            .unwrap();
        assert_eq!(
            (hidden.status(), missing.status()),
            (
                reqwest::StatusCode::NOT_FOUND,
                reqwest::StatusCode::NOT_FOUND
            )
        );
        let hidden = hidden.text().await.unwrap().replace(red_id, "ID");
        let missing = missing.text().await.unwrap().replace(missing_id, "ID");
        assert_eq!(hidden, missing);
    }

    // Reads of AMBER and above are audited; reads of CLEAR and GREEN are not.
    let before = server.store.audit_log(0, 1000).await.unwrap().len();
    http.get(url(&format!(
        "/api/v1/objects/{}",
        objects[2]["id"].as_str().unwrap()
    )))
    .bearer_auth(&friend)
    .send()
    .await
    .unwrap();
    http.get(url(&format!(
        "/api/v1/objects/{}",
        objects[1]["id"].as_str().unwrap()
    )))
    .bearer_auth(&friend)
    .send()
    .await
    .unwrap();
    let log = server.store.audit_log(0, 1000).await.unwrap();
    assert_eq!(log.len(), before + 1);
    let last = &log.last().unwrap().entry;
    assert_eq!(
        (last.action.as_str(), last.target.as_deref()),
        ("read", objects[2]["id"].as_str())
    );
    assert!(last.actor.starts_with("org:Friend"), "{last:?}");
    server.shutdown().await;
}

/// Every caller × every TLP level × every API read path, against the rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_access_matrix() {
    use geneva_stix::Tlp;
    let server = start(ServerConfig::default()).await;
    let store = &server.store;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);
    for (name, kind) in [
        ("Named", OrgKind::State),
        ("GroupMate", OrgKind::Company),
        ("Other", OrgKind::State),
        ("Panel", OrgKind::Panel),
    ] {
        store.add_organisation(name, kind, None).await.unwrap();
    }
    let group_mate = store.organisation("GroupMate").await.unwrap().unwrap();
    store.add_group("partners", &[group_mate.id]).await.unwrap();
    let named = store.organisation("Named").await.unwrap().unwrap();
    let rita = store.add_user("rita", named.id).await.unwrap();

    let mut objects = Vec::new();
    for (n, tlp) in Tlp::ALL.into_iter().enumerate() {
        let mut o = campaign(n);
        o["object_marking_refs"] = json!([tlp.marking_id()]);
        objects.push((tlp, o));
    }
    let posted = http
        .post(url(
            "/api/v1/bundles?share_with=Named,partners&share_with_users=rita",
        ))
        .bearer_auth(&server.token)
        .json(&bundle(objects.iter().map(|(_, o)| o.clone()).collect()))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);

    /// A caller: its name, its token, and the levels TLP 2.0 lets it read here.
    type Caller = (&'static str, Option<String>, fn(Tlp) -> bool);
    let callers: Vec<Caller> = vec![
        ("anonymous", None, |t| t == Tlp::Clear),
        ("same organisation", Some(server.token.clone()), |_| true),
        (
            "other member",
            Some(issue_token(store, "Other", &[Scope::Read]).await),
            |t| t <= Tlp::Green,
        ),
        (
            "named recipient",
            Some(issue_token(store, "Named", &[Scope::Read]).await),
            |t| t <= Tlp::AmberStrict,
        ),
        (
            "named user",
            Some(issue_user_token(store, "Named", Some(rita.id), &[Scope::Read]).await),
            |_| true,
        ),
        (
            "recipient's sharing group",
            Some(issue_token(store, "GroupMate", &[Scope::Read]).await),
            |t| t <= Tlp::Amber,
        ),
        (
            "panel",
            Some(issue_token(store, "Panel", &[Scope::Read]).await),
            |t| t <= Tlp::Green,
        ),
        (
            "admin",
            Some(issue_token(store, "Other", &[Scope::Read, Scope::Admin]).await),
            |_| true,
        ),
    ];
    let missing = "campaign--0000ffff-0000-4000-8000-00000000dead";
    for (label, token, rule) in &callers {
        let get = |path: String| {
            let req = http.get(url(&path));
            let req = match token {
                Some(t) => req.bearer_auth(t),
                None => req,
            };
            async move {
                let resp = req.send().await.unwrap();
                (resp.status().as_u16(), resp.text().await.unwrap())
            }
        };
        let (status, body) = get("/api/v1/objects?limit=1000".into()).await;
        assert_eq!(status, 200, "{label}");
        let listed: Value = serde_json::from_str(&body).unwrap();
        let mut listed: Vec<String> = listed["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect();
        listed.sort();
        let mut expected: Vec<String> = objects
            .iter()
            .filter(|(t, _)| rule(*t))
            .map(|(_, o)| o["id"].as_str().unwrap().to_owned())
            .collect();
        expected.sort();
        assert_eq!(listed, expected, "{label}: listing");
        for (tlp, object) in &objects {
            let id = object["id"].as_str().unwrap();
            for suffix in ["", "/versions"] {
                let (status, body) = get(format!("/api/v1/objects/{id}{suffix}")).await;
                if rule(*tlp) {
                    assert_eq!(status, 200, "{label} cannot read {tlp}{suffix}");
                } else {
                    let (missing_status, missing_body) =
                        get(format!("/api/v1/objects/{missing}{suffix}")).await;
                    assert_eq!(
                        status, missing_status,
                        "{label}: {tlp}{suffix} answers unlike a missing id"
                    );
                    assert_eq!(
                        body.replace(id, "ID"),
                        missing_body.replace(missing, "ID"),
                        "{label}: {tlp}{suffix} error body"
                    );
                }
            }
        }
    }
    server.shutdown().await;
}

fn attack_incident() -> Value {
    bundle(vec![
        json!({"type": "incident", "spec_version": "2.1", "id": "incident--00000000-0000-4000-8000-000000000001",
               "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "mail <script>"}),
        json!({"type": "malware", "spec_version": "2.1", "id": "malware--00000000-0000-4000-8000-000000000002",
               "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "X-Agent", "is_family": true}),
        json!({"type": "relationship", "spec_version": "2.1", "id": "relationship--00000000-0000-4000-8000-000000000003",
               "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "relationship_type": "uses",
               "source_ref": "incident--00000000-0000-4000-8000-000000000001", "target_ref": "malware--00000000-0000-4000-8000-000000000002"}),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribution_ranks_against_the_imported_knowledge_base() {
    let server = start(ServerConfig::default()).await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/attribution", server.base);
    let post = |body: Vec<u8>, token: Option<&str>| {
        let mut request = client.post(&url).body(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send()
    };
    let incident = serde_json::to_vec(&attack_incident()).unwrap();
    let anonymous = post(incident.clone(), None).await.unwrap();
    assert_eq!(error_code(anonymous).await.0, 401);
    let (status, code, _) =
        error_code(post(incident.clone(), Some(&server.token)).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "no-knowledge-base"));

    let Some(path) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") else {
        return server.shutdown().await;
    };
    let checked = geneva_analysis::knowledge::check(std::fs::read(path).unwrap(), 1).unwrap();
    assert!(
        geneva_analysis::knowledge::keep(server.store.as_ref(), &checked)
            .await
            .unwrap()
    );

    let resp = post(incident.clone(), Some(&server.token)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["candidates"][0]["actor"], "APT28", "{body:#}");
    assert!(
        body["candidates"][0]["raised"][0]["evidence"]
            .as_str()
            .unwrap()
            .contains("CHOPSTICK")
    );
    assert!(
        body["likelihood_statement"]
            .as_str()
            .unwrap()
            .contains("APT28")
    );
    assert!(
        body["confidence_statement"]
            .as_str()
            .unwrap()
            .starts_with("Confidence")
    );
    assert!(body["not_in_knowledge_base"].as_f64().unwrap() > 0.0);

    for (hostile, want) in [
        (b"{".to_vec(), 400),
        (b"[1,2".to_vec(), 400),
        (br#"{"type":"bundle","objects":{}}"#.to_vec(), 400),
        (br#"{"type":"bundle","objects":[]}"#.to_vec(), 422),
        (br#"{"type":"bundle","objects":[{"type":"incident","id":"incident--1"},{"type":"campaign","id":"campaign--2"}]}"#.to_vec(), 422),
        (format!("{}1{}", "[".repeat(200), "]".repeat(200)).into_bytes(), 400),
    ] {
        let (status, _, body) = error_code(post(hostile.clone(), Some(&server.token)).await.unwrap()).await;
        assert_eq!(status, want, "{} → {body}", String::from_utf8_lossy(&hostile[..hostile.len().min(60)]));
    }
    let resp = client
        .post(format!("{url}?subject=campaign--2"))
        .bearer_auth(&server.token)
        .body(r#"{"type":"bundle","objects":[{"type":"incident","id":"incident--1"},{"type":"campaign","id":"campaign--2"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    server.shutdown().await;
}

/// An incident another member keeps to itself (AMBER, released to nobody)
/// lends no infrastructure link to an attribution Acme asks for; the
/// operator, who may see it, gets the link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_attribution_sees_only_what_the_caller_may_see() {
    let server = start(ServerConfig::default()).await;
    let Some(path) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") else {
        return server.shutdown().await;
    };
    let checked = geneva_analysis::knowledge::check(std::fs::read(path).unwrap(), 1).unwrap();
    geneva_analysis::knowledge::keep(server.store.as_ref(), &checked)
        .await
        .unwrap();
    let other = server
        .store
        .add_organisation("Other", OrgKind::Company, None)
        .await
        .unwrap();
    let t = "2026-01-01T00:00:00.000Z";
    let ip = "ipv4-addr--2b1f0c1e-7a63-5c3b-9a9f-0e6d1f0b6a10";
    let old = "incident--00000000-0000-4000-8000-0000000000a1";
    let new = "incident--00000000-0000-4000-8000-0000000000b2";
    let lazarus = "intrusion-set--00000000-0000-4000-8000-0000000000c3";
    let private = vec![
        json!({"type": "ipv4-addr", "spec_version": "2.1", "id": ip, "value": "45.133.1.20"}),
        json!({"type": "incident", "spec_version": "2.1", "id": old, "created": t, "modified": t, "name": "theirs", "object_refs": [ip]}),
        json!({"type": "intrusion-set", "spec_version": "2.1", "id": lazarus, "created": t, "modified": t, "name": "Lazarus Group"}),
        json!({"type": "relationship", "spec_version": "2.1", "id": "relationship--00000000-0000-4000-8000-000000000001",
               "created": t, "modified": t, "relationship_type": "attributed-to", "source_ref": old, "target_ref": lazarus}),
    ];
    let prepared = geneva_stix::prepare::prepare(
        &serde_json::to_vec(&bundle(private)).unwrap(),
        &Default::default(),
    )
    .unwrap()
    .objects;
    server
        .store
        .import(
            prepared,
            geneva_store::Provenance {
                organisation: "Other".into(),
                organisation_id: Some(other.id),
                submitted_at: t.into(),
                default_tlp: geneva_stix::Tlp::Amber,
                recipients: Default::default(),
            },
        )
        .await
        .unwrap();
    let ours = bundle(vec![
        json!({"type": "incident", "spec_version": "2.1", "id": new, "created": t, "modified": t, "name": "ours",
               "object_refs": [ip]}),
        json!({"type": "relationship", "spec_version": "2.1", "id": "relationship--00000000-0000-4000-8000-000000000002",
               "created": t, "modified": t, "relationship_type": "uses", "source_ref": new,
               "target_ref": "malware--ccd61dfc-b03f-4689-8c18-7c97eab08472"}),
    ]);
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/api/v1/bundles?tlp=green", server.base))
        .bearer_auth(&server.token)
        .json(&ours)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let url = format!("{}/api/v1/incidents/{new}/attribution", server.base);
    let body: Value = client
        .get(&url)
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["evidence"]["software"], json!(["S0023"]), "{body:#}");
    assert_eq!(body["evidence"]["infrastructure"], json!([]), "{body:#}");
    assert_eq!(body["candidates"][0]["actor"], "APT28");
    // Posted rather than stored, the same observables meet nothing Acme may see.
    let mut with_ip = ours.clone();
    with_ip["objects"].as_array_mut().unwrap().push(
        json!({"type": "ipv4-addr", "spec_version": "2.1", "id": ip, "value": "45.133.1.20"}),
    );
    let posted: Value = client
        .post(format!("{}/api/v1/attribution", server.base))
        .bearer_auth(&server.token)
        .json(&with_ip)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        posted["evidence"]["infrastructure"],
        json!([]),
        "{posted:#}"
    );
    assert_eq!(posted["evidence"]["subject"], new);

    let index = geneva_postings::PostingIndex::in_memory(server.store.clone());
    let attributor = geneva_analysis::knowledge::attributor(server.store.as_ref())
        .await
        .unwrap()
        .unwrap();
    let seen = geneva_analysis::attribution::stored_evidence(
        &index,
        &geneva_store::Viewer::Operator,
        new,
        &attributor,
        Default::default(),
        geneva_correlate::WarningLists::builtin(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(seen.infrastructure.len(), 1, "{seen:?}");
    assert_eq!(seen.infrastructure[0].actor, "Lazarus Group");
    let objects = with_ip["objects"].as_array().unwrap().clone();
    let posted_as_operator = geneva_analysis::attribution::bundle_evidence(
        &index,
        &geneva_store::Viewer::Operator,
        &objects,
        None,
        &attributor,
        Default::default(),
        geneva_correlate::WarningLists::builtin(),
    )
    .await
    .unwrap();
    assert_eq!(
        posted_as_operator.infrastructure.len(),
        1,
        "{posted_as_operator:?}"
    );

    let missing = client
        .get(format!(
            "{}/api/v1/incidents/incident--00000000-0000-4000-8000-00000000dead/attribution",
            server.base
        ))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // Acme cannot see Other's incident: it does not exist for Acme.
    let hidden = client
        .get(format!(
            "{}/api/v1/incidents/{old}/attribution",
            server.base
        ))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);
    server.shutdown().await;
}

/// `GET /api/v1/incidents/{id}/assessment`: the verdicts of a stored
/// incident for whoever may see it, the same as its fixture expects;
/// answered like a missing id for whoever may not; audited. And the
/// catalogue at `GET /api/v1/norms`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_incidents_are_assessed_for_those_who_may_see_them() {
    let server = start(ServerConfig::default()).await;
    server
        .store
        .add_organisation("Beta", OrgKind::State, None)
        .await
        .unwrap();
    let beta = issue_token(&server.store, "Beta", &[Scope::Read]).await;
    let http = reqwest::Client::new();
    let (fixture, want) = geneva_testkit::norm_fixture("notpetya-2017");
    // Unmarked, so AMBER: Acme's alone.
    let resp = http
        .post(format!("{}/api/v1/bundles", server.base))
        .bearer_auth(&server.token)
        .json(&fixture["bundle"])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let id = geneva_testkit::norm_fixture_incident(&fixture);
    let url = format!("{}/api/v1/incidents/{id}/assessment", server.base);

    let resp = http
        .get(&url)
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    let mut got: Vec<(String, String)> = report["norms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["norm"].as_str().unwrap().to_owned(),
                n["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(report["attributed_state"], "RU");
    // destruction 5 + 65 countries 3 + critical infrastructure 2 +
    // self-propagating 1; the number of victims is not stated.
    assert_eq!(report["intensity"]["score"], 11);
    assert_eq!(report["intensity"]["unknown"], json!(["scale.victims"]));

    let (status, _, _) = error_code(http.get(&url).bearer_auth(&beta).send().await.unwrap()).await;
    assert_eq!(status, 404, "Beta may not see Acme's AMBER incident");
    let (status, _, _) = error_code(http.get(&url).send().await.unwrap()).await;
    assert_eq!(status, 401);
    let audit = server.store.audit_log(0, 1000).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.entry.action == "assess" && e.entry.target.as_deref() == Some(id.as_str()))
    );

    let norms: Value = http
        .get(format!("{}/api/v1/norms", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(norms["norms"].as_array().unwrap().len(), 39);
    server.shutdown().await;
}

/// The panel over HTTP: the same steps and rules as `geneva case`, with
/// scopes, a member's own token for a vote, and the finding public after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_works_a_case_over_the_api() {
    let server = start(ServerConfig::default()).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);
    let (fixture, _) = geneva_testkit::norm_fixture("triton-2017");
    let resp = http
        .post(url("/api/v1/bundles?default_tlp=clear"))
        .bearer_auth(&server.token)
        .json(&fixture["bundle"])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let incident = geneva_testkit::norm_fixture_incident(&fixture);

    let chair = issue_token(&server.store, "Acme", &[Scope::Read, Scope::Analyse]).await;
    let mut voters = Vec::new();
    for (i, country) in ["CH", "NO", "CL", "IN", "NZ", "SA"].iter().enumerate() {
        let org = format!("Panel{i}");
        let o = server
            .store
            .add_organisation(&org, OrgKind::State, Some(country.parse().unwrap()))
            .await
            .unwrap();
        let u = server
            .store
            .add_user(&format!("member{i}"), o.id)
            .await
            .unwrap();
        voters.push(
            issue_user_token(&server.store, &org, Some(u.id), &[Scope::Read, Scope::Vote]).await,
        );
    }
    let post = |path: String, token: String, body: Value| {
        let http = http.clone();
        async move {
            let r = http
                .post(path)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    let (status, _, _) = error_code(http.get(url("/api/v1/cases")).send().await.unwrap()).await;
    assert_eq!(status, 401);
    let (status, _) = post(
        url("/api/v1/cases"),
        server.token.clone(),
        json!({"title": "x", "subjects": [incident]}),
    )
    .await;
    assert_eq!(status, 403, "opening a case needs the analyse scope");
    let (status, case) = post(
        url("/api/v1/cases"),
        chair.clone(),
        json!({"title": "Triton", "subjects": [incident]}),
    )
    .await;
    assert_eq!(status, 201, "{case}");
    let id = case["case"]["id"].as_str().unwrap().to_owned();
    let at = |step: &str| url(&format!("/api/v1/cases/{id}/{step}"));
    // Malformed and hostile requests: clear errors, nothing changed.
    let raw = http
        .post(url("/api/v1/cases"))
        .bearer_auth(&chair)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    for (path, body, code) in [
        (
            url("/api/v1/cases"),
            json!({"title": "x", "subjects": [incident], "smuggled": 1}),
            400,
        ),
        (
            url("/api/v1/cases"),
            json!({"title": "x", "subjects": ["incident--00000000-0000-4000-8000-0000000000ff"]}),
            404,
        ),
        (
            url("/api/v1/cases"),
            json!({"title": "x", "subjects": [incident], "quorum": 0}),
            422,
        ),
        (
            at("draft"),
            json!({"title": "x", "probability": 7.0, "confidence": "high"}),
            422,
        ),
        (
            at("draft"),
            json!({"title": "x", "probability": 0.5, "confidence": "total"}),
            422,
        ),
        (at("status"), json!({"status": "wherever"}), 422),
        (
            url("/api/v1/cases/case-404/notes"),
            json!({"text": "x"}),
            404,
        ),
        (
            url("/api/v1/cases"),
            json!({"title": "x".repeat(5_000), "subjects": [incident]}),
            422,
        ),
        (
            url("/api/v1/cases"),
            json!({"title": "x", "subjects": [incident], "sponsors": ["<script>"]}),
            422,
        ),
        (at("notes"), json!({"text": "x".repeat(200_000)}), 422),
        (
            at("draft"),
            json!({"title": "x", "probability": 0.5, "confidence": "low", "sponsor": "Russia"}),
            422,
        ),
    ] {
        let (status, body) = post(path.clone(), chair.clone(), body).await;
        assert_eq!(status, code, "{path}: {body}");
    }
    let (status, _, _) = error_code(
        http.get(url(
            "/findings/report--00000000-0000-4000-8000-0000000000ff",
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    let users: Vec<String> = (0..6).map(|i| format!("member{i}")).collect();
    let (status, file) = post(at("members"), chair.clone(), json!({"users": users})).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(
        file["recusals"][0]["member"], "member5",
        "Saudi Arabia is the victim: {file}"
    );
    let move_to = |step: &'static str| post(at("status"), chair.clone(), json!({"status": step}));
    assert_eq!(move_to("analysis").await.0, 200);
    let (status, examined) = post(at("examine"), chair.clone(), json!(null)).await;
    assert_eq!(status, 200, "{examined}");
    let verdicts = examined["analyses"][0]["assessment"]["norms"]
        .as_array()
        .unwrap();
    assert!(
        verdicts
            .iter()
            .any(|n| n["norm"] == "gge-2015-f" && n["verdict"] == "breach")
    );
    let (status, body) = post(at("status"), chair.clone(), json!({"status": "published"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        post(
            at("draft"),
            chair.clone(),
            json!({"title": "Triton", "probability": 0.9, "confidence": "high", "sponsor": "RU"})
        )
        .await
        .0,
        200
    );
    assert_eq!(move_to("review").await.0, 200);
    assert_eq!(move_to("vote").await.0, 200);
    let (status, body) = post(at("votes"), chair.clone(), json!({"opinion": "agree"})).await;
    assert_eq!(status, 403, "voting needs the vote scope: {body}");
    // Releasing is the owner's: Acme submitted the incident; another
    // member's submitter cannot release it, nor can the panel's analyst.
    let other = issue_token(&server.store, "Panel0", &[Scope::Read, Scope::Submit]).await;
    let (status, body) = post(at("releases"), other, json!({"id": incident})).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only the organisation")
    );
    let (status, body) = post(at("releases"), chair.clone(), json!({"id": incident})).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = post(
        at("releases"),
        server.token.clone(),
        json!({"id": incident}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = post(
        at("votes"),
        voters[0].clone(),
        json!({"opinion": "<script>"}),
    )
    .await;
    assert_eq!(status, 422);
    let (status, body) = post(at("votes"), voters[5].clone(), json!({"opinion": "agree"})).await;
    assert_eq!(status, 409, "a recused member's vote is refused: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("recused"),
        "{body}"
    );
    let (status, body) = post(at("publish"), chair.clone(), json!(null)).await;
    assert_eq!(status, 422, "no quorum yet: {body}");
    for voter in &voters[..5] {
        assert_eq!(
            post(at("votes"), voter.clone(), json!({"opinion": "agree"}))
                .await
                .0,
            200
        );
    }
    let (status, published) = post(at("publish"), chair.clone(), json!(null)).await;
    assert_eq!(status, 200, "{published}");
    let report = published["report"].as_str().unwrap();
    let finding: Value = http
        .get(url(&format!("/findings/{report}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        finding["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == report)
    );
    let shown: Value = http
        .get(url(&format!("/api/v1/cases/{id}")))
        .bearer_auth(&voters[0])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["case"]["status"], "published");
    assert_eq!(shown["tally"]["cast"], 5);
    server.shutdown().await;
}

/// The portal's pages are served with a strict Content-Security-Policy, and
/// a state is named by its code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_pages_carry_a_strict_policy() {
    let server = start(ServerConfig::default()).await;
    let home = reqwest::get(format!("{}/", server.base)).await.unwrap();
    assert_eq!(home.status(), 200);
    assert_eq!(
        home.headers()["content-security-policy"],
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    assert_eq!(home.headers()["x-content-type-options"], "nosniff");
    assert!(
        home.text()
            .await
            .unwrap()
            .contains("No finding has been published yet.")
    );
    let css = reqwest::get(format!("{}/portal/style.css", server.base))
        .await
        .unwrap();
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let state = reqwest::get(format!("{}/portal/states/ru", server.base))
        .await
        .unwrap();
    assert_eq!(state.status(), 200);
    assert!(state.text().await.unwrap().contains("Record of RU"));
    let bad = reqwest::get(format!("{}/portal/states/%3Cscript%3E", server.base))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let missing = reqwest::get(format!("{}/portal/findings/report--x", server.base))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.shutdown().await;
}
