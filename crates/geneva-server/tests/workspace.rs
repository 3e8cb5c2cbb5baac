//! The analysts' workspace over real HTTP on a real SQLite store: who may
//! sign in, where the session cookie counts, forged forms, hostile
//! evidence, malformed uploads, and scopes. (The whole walk in a real
//! browser is `crates/geneva/tests/browser.rs`.)

use std::sync::Arc;

use geneva_access::{ApiToken, OrgKind, Scope, Scopes};
use geneva_server::ServerConfig;
use geneva_store::{Store, TokenRecord, Viewer};
use geneva_store_sqlite::SqliteStore;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

struct Server {
    base: String,
    store: Arc<SqliteStore>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("geneva.db")).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(geneva_server::serve(
            listener,
            store.clone(),
            ServerConfig::default(),
            async {
                let _ = rx.await;
            },
        ));
        Server {
            base,
            store,
            stop: Some(tx),
            task,
            _dir: dir,
        }
    }

    async fn token(&self, org: &str, user: Option<&str>, scopes: &[Scope]) -> String {
        let org = match self.store.organisation(org).await.unwrap() {
            Some(o) => o,
            None => self
                .store
                .add_organisation(org, OrgKind::State, Some("CH".parse().unwrap()))
                .await
                .unwrap(),
        };
        let user = match user {
            Some(u) => Some(self.store.add_user(u, org.id).await.unwrap().id),
            None => None,
        };
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
        self.store.add_token(&record, token.hash()).await.unwrap();
        token.reveal()
    }

    async fn incidents(&self) -> usize {
        self.store
            .stats(&Viewer::Operator)
            .await
            .unwrap()
            .objects_by_type
            .iter()
            .find(|(t, _)| t == "incident")
            .map_or(0, |(_, n)| *n as usize)
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn cookie(token: &str) -> String {
    format!("geneva_session={token}")
}

/// The form token of a signed-in page.
async fn csrf(base: &str, token: &str) -> String {
    let page = client()
        .get(format!("{base}/ui/incidents/new"))
        .header("cookie", cookie(token))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page.find("name=\"csrf\" value=\"").expect("a form token") + 19;
    page[at..at + 64].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_sets_a_cookie_only_the_workspace_reads() {
    let server = Server::start().await;
    let token = server
        .token("CERT-CH", Some("ada"), &[Scope::Read, Scope::Submit])
        .await;
    let http = client();

    // Signed out: sent to sign in.
    let r = http
        .get(format!("{}/ui/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/ui/login");

    // A sign-in posted from another site is refused (login forgery).
    let r = http
        .post(format!("{}/ui/login", server.base))
        .header("origin", "https://evil.example")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("set-cookie").is_none());
    let r = http
        .post(format!("{}/ui/login", server.base))
        .header("sec-fetch-site", "cross-site")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // A wrong token is refused, and says so.
    let r = http
        .post(format!("{}/ui/login", server.base))
        .form(&[("token", "gva_000000000000_wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("unknown, revoked or mistyped")
    );

    let r = http
        .post(format!("{}/ui/login", server.base))
        .header("origin", server.base.as_str())
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in [
        "geneva_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/ui/",
    ] {
        assert!(set.contains(part), "{part} missing from {set}");
    }

    // The cookie opens the workspace, and nothing else.
    let r = http
        .get(format!("{}/ui/", server.base))
        .header("cookie", cookie(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Signed in as ada (CERT-CH)")
    );
    let r = http
        .post(format!("{}/api/v1/bundles", server.base))
        .header("cookie", cookie(&token))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the API ignores the cookie"
    );

    // Signing out clears it.
    let r = http
        .post(format!("{}/ui/logout", server.base))
        .header("cookie", cookie(&token))
        .form(&[("csrf", csrf(&server.base, &token).await)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_malformed_submissions_store_nothing() {
    let server = Server::start().await;
    let token = server
        .token("CERT-CH", Some("ada"), &[Scope::Read, Scope::Submit])
        .await;
    let reader = server.token("CERT-CH", Some("bob"), &[Scope::Read]).await;
    let http = client();
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("name", "Outage".to_owned()),
            ("indicators", "45.133.1.20".to_owned()),
        ]
    };

    // A form posted from another site carries no valid form token.
    let r = http
        .post(format!("{}/ui/incidents", server.base))
        .header("cookie", cookie(&token))
        .form(&form("0".repeat(64).as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("another site"));
    // Another session's form token is not this one's.
    let other = csrf(&server.base, &reader).await;
    let r = http
        .post(format!("{}/ui/incidents", server.base))
        .header("cookie", cookie(&token))
        .form(&form(&other))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Bad fields are named, and the form comes back filled in.
    let mine = csrf(&server.base, &token).await;
    let mut bad = form(&mine);
    bad.push(("techniques", "T1566, <b>x</b>".into()));
    let r = http
        .post(format!("{}/ui/incidents", server.base))
        .header("cookie", cookie(&token))
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("is not an ATT&amp;CK technique id"), "{page}");
    assert!(page.contains("value=\"Outage\""));
    assert!(!page.contains("<b>x"));

    // A member without the submit scope cannot report.
    let r = http
        .post(format!("{}/ui/incidents", server.base))
        .header("cookie", cookie(&reader))
        .form(&form(&csrf(&server.base, &reader).await))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Uploads: not JSON, not STIX, no file: refused with the reason.
    for (file, why) in [
        (&b"{\"type\": \"bundle\", \"objects\": [{"[..], "JSON"),
        (&b"{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": [{\"type\": \"incident\"}]}"[..], "id"),
        (&b""[..], "choose a bundle"),
    ] {
        let parts = reqwest::multipart::Form::new()
            .text("csrf", mine.clone())
            .text("tlp", "amber")
            .part(
                "bundle",
                reqwest::multipart::Part::bytes(file.to_vec()).file_name("b.json"),
            );
        let r = http
            .post(format!("{}/ui/bundles", server.base))
            .header("cookie", cookie(&token))
            .multipart(parts)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
        let page = r.text().await.unwrap();
        assert!(page.contains(why), "{why}: {page}");
    }
    // A file before the form token is not read.
    let parts = reqwest::multipart::Form::new()
        .part(
            "bundle",
            reqwest::multipart::Part::bytes(b"{}".to_vec()).file_name("b.json"),
        )
        .text("csrf", mine.clone());
    let r = http
        .post(format!("{}/ui/bundles", server.base))
        .header("cookie", cookie(&token))
        .multipart(parts)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("must come before the file")
    );
    assert_eq!(server.incidents().await, 0, "nothing was stored");

    // And the same form, with its own token, is stored.
    let r = http
        .post(format!("{}/ui/incidents", server.base))
        .header("cookie", cookie(&token))
        .form(&form(&mine))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(server.incidents().await, 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_evidence_renders_inert_on_the_incident_page() {
    let server = Server::start().await;
    let token = server
        .token(
            "CERT-CH",
            Some("ada"),
            &[Scope::Read, Scope::Submit, Scope::Analyse],
        )
        .await;
    let evil = "<script>alert(1)</script><img src=x onerror=alert(1)>\u{202E}gnp.exe";
    let long = "A".repeat(100_000);
    let t = "2026-01-01T00:00:00.000Z";
    let bundle = serde_json::json!({"type": "bundle", "id": "bundle--6a8d3b3e-2b0f-4c55-9a51-111111111111", "objects": [
        {"type": "incident", "spec_version": "2.1", "id": "incident--6a8d3b3e-2b0f-4c55-9a51-222222222222",
         "created": t, "modified": t, "name": format!("{evil}{long}"), "description": evil,
         "external_references": [{"source_name": evil, "url": "javascript:alert(document.cookie)"}]},
        {"type": "malware", "spec_version": "2.1", "id": "malware--6a8d3b3e-2b0f-4c55-9a51-333333333333",
         "created": t, "modified": t, "name": evil, "is_family": true},
        {"type": "relationship", "spec_version": "2.1", "id": "relationship--6a8d3b3e-2b0f-4c55-9a51-444444444444",
         "created": t, "modified": t, "relationship_type": "uses",
         "source_ref": "incident--6a8d3b3e-2b0f-4c55-9a51-222222222222",
         "target_ref": "malware--6a8d3b3e-2b0f-4c55-9a51-333333333333"},
    ]});
    let http = client();
    let parts = reqwest::multipart::Form::new()
        .text("csrf", csrf(&server.base, &token).await)
        .text("tlp", "green")
        .part(
            "bundle",
            reqwest::multipart::Part::bytes(bundle.to_string().into_bytes()).file_name("b.json"),
        );
    let r = http
        .post(format!("{}/ui/bundles", server.base))
        .header("cookie", cookie(&token))
        .multipart(parts)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Imported: 3 new"));
    for path in [
        "/ui/",
        "/ui/incidents/incident--6a8d3b3e-2b0f-4c55-9a51-222222222222",
    ] {
        let page = http
            .get(format!("{}{path}", server.base))
            .header("cookie", cookie(&token))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains("<script>alert"), "{path}");
        assert!(!page.contains("<img src=x"), "{path}");
        assert!(!page.contains('\u{202E}'), "{path}");
        assert!(page.contains("[U+202E]"), "{path}");
        assert!(!page.contains("href=\"javascript:"), "{path}");
        assert!(
            page.len() < 60_000,
            "{path}: a 100,000-character name is cut"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_the_tokens_scopes() {
    let server = Server::start().await;
    let member = server.token("CERT-CH", Some("ada"), &[Scope::Read]).await;
    let admin = server
        .token("Secretariat", Some("ops"), &[Scope::Read, Scope::Admin])
        .await;
    let http = client();
    let get = |path: &str, token: &str| {
        http.get(format!("{}{path}", server.base))
            .header("cookie", cookie(token))
            .send()
    };
    for path in ["/ui/cases", "/ui/admin", "/ui/audit"] {
        assert_eq!(
            get(path, &member).await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        get("/ui/admin", &admin).await.unwrap().status(),
        StatusCode::OK
    );
    // An operator creates a token in the page, sees it once, and it works.
    let r = http
        .post(format!("{}/ui/admin/tokens", server.base))
        .header("cookie", cookie(&admin))
        .form(&[
            ("csrf", csrf(&server.base, &admin).await.as_str()),
            ("organisation", "CERT-CH"),
            ("user", "ada"),
            ("scope", "read"),
            ("scope", "submit"),
            ("label", "<b>laptop</b>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(!page.contains("<b>laptop"));
    let at = page.find("id=\"new-token-value\">").unwrap() + 21;
    let new = page[at..].split('<').next().unwrap().to_owned();
    assert!(new.starts_with("gva_"), "{new}");
    let r = http
        .post(format!("{}/ui/login", server.base))
        .form(&[("token", new.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The audit log records it, through the workspace.
    let audit = get("/ui/audit", &admin)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains("token-create"), "{audit}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searching_by_indicator_finds_what_the_member_may_see() {
    let server = Server::start().await;
    let ada = server
        .token("CERT-CH", Some("ada"), &[Scope::Read, Scope::Submit])
        .await;
    let eve = server
        .token("CERT-XX", Some("eve"), &[Scope::Read, Scope::Submit])
        .await;
    let http = client();
    let report = |token: String, name: &'static str, tlp: &'static str| {
        let http = http.clone();
        let base = server.base.clone();
        async move {
            let r = http
                .post(format!("{base}/ui/incidents"))
                .header("cookie", cookie(&token))
                .form(&[
                    ("csrf", csrf(&base, &token).await.as_str()),
                    ("name", name),
                    ("tlp", tlp),
                    ("indicators", "45.133.1.20\nevil.example"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
        }
    };
    let search = |token: String, q: &'static str| {
        let http = http.clone();
        let base = server.base.clone();
        async move {
            http.get(format!("{base}/ui/search"))
                .query(&[("q", q)])
                .header("cookie", cookie(&token))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    report(ada.clone(), "Ada's green outage", "green").await;
    // A search now brings the index up to date, so what follows is indexed
    // on top of it, as on a running server.
    assert!(
        search(ada.clone(), "45.133.1.20")
            .await
            .contains("1 item you may see")
    );
    report(ada.clone(), "Ada's amber outage", "amber").await;
    // Eve submits the same two indicators: new versions of the same
    // observables, TLP:AMBER to her organisation. Ada still finds her own.
    report(eve.clone(), "Eve's amber outage", "amber").await;
    // Defanged input is understood; each member sees what TLP lets them.
    let page = search(ada.clone(), "45.133.1[.]20").await;
    assert!(page.contains("ipv4:45.133.1.20"), "{page}");
    assert!(page.contains("Ada&#39;s green outage") && page.contains("Ada&#39;s amber outage"));
    assert!(
        !page.contains("Eve&#39;s"),
        "another member's TLP:AMBER stays hidden"
    );
    let page = search(eve.clone(), "EVIL.example").await;
    assert!(page.contains("Ada&#39;s green outage") && page.contains("Eve&#39;s amber outage"));
    assert!(!page.contains("Ada&#39;s amber outage"));
    // What is not a value is refused, and says what is.
    let page = search(ada.clone(), "<script>alert(1)</script>").await;
    assert!(page.contains("search for an IP address"), "{page}");
    assert!(!page.contains("<script>alert"));
    // The API answers the same, as JSON.
    let r: serde_json::Value = http
        .get(format!("{}/api/v1/search", server.base))
        .query(&[("value", "hxxp://nothing[.]example/")])
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["value"], "url:http://nothing.example/");
    assert_eq!(r["items"], serde_json::json!([]));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_page_audits_the_restricted_evidence_it_shows() {
    let server = Server::start().await;
    let ada = server
        .token("CERT-CH", Some("ada"), &[Scope::Read, Scope::Submit])
        .await;
    let http = client();
    let r = http
        .post(format!("{}/ui/incidents", server.base))
        .header("cookie", cookie(&ada))
        .form(&[
            ("csrf", csrf(&server.base, &ada).await.as_str()),
            ("name", "Amber outage"),
            ("tlp", "amber"),
            ("software", "Industroyer"),
        ])
        .send()
        .await
        .unwrap();
    let page = r.headers()["location"].to_str().unwrap().to_owned();
    let html = http
        .get(format!("{}{page}", server.base))
        .header("cookie", cookie(&ada))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Industroyer"));
    let log = server.store.audit_log(0, 1_000).await.unwrap();
    let reads: Vec<&str> = log
        .iter()
        .filter(|e| e.entry.action == "read" && e.entry.channel == "ui")
        .filter_map(|e| e.entry.target.as_deref())
        .collect();
    assert!(
        reads.iter().any(|t| t.starts_with("incident--")),
        "{reads:?}"
    );
    assert!(
        reads.iter().any(|t| t.starts_with("malware--")),
        "the evidence shown is audited: {reads:?}"
    );
    server.shutdown().await;
}
