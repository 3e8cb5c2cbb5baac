//! The workspace and the portal in a real browser: headless Chromium driven
//! through ChromeDriver (WebDriver), against a real `geneva serve` on a
//! real data directory. A member signs in and reports an incident through
//! the form; it correlates with an earlier, attributed incident and is
//! attributed; a panel member opens a case, three members vote (one
//! dissents), the finding is published, found on the portal, and its proof
//! downloaded and checked with `geneva verify` from public data alone.
//! Screenshots of the main pages go to `target/screenshots/`.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{geneva, ok, serve};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// ChromeDriver on a free local port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(path: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    // Dropped (killed and waited for) on every path, the panic's too.
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return driver;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not start listening on {port}");
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1800"]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// The browser, and where the server is.
struct Session<'a> {
    c: &'a Client,
    base: &'a str,
}

impl Session<'_> {
    async fn go(&self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .c
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let url = self.c.current_url().await;
                let page = self.c.source().await.unwrap_or_default();
                panic!("no {css} on {url:?}: {e}\n{page}")
            }
        }
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Submits the form whose action ends with `action`, then waits for
    /// the page it leads to.
    async fn submit(&self, action: &str) {
        let old = self.find("html").await;
        let button = self
            .find(&if action.starts_with("action=") {
                format!("form[{action}] button[type=submit]")
            } else {
                format!("form[action$='{action}'] button[type=submit]")
            })
            .await;
        button.click().await.unwrap();
        // Even a redirect back to the same address replaces the document:
        // wait until the old one is gone, then for the new one's content.
        for _ in 0..600 {
            if old.tag_name().await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.find("main").await;
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    async fn source(&self) -> String {
        self.c.source().await.unwrap()
    }

    async fn screenshot(&self, name: &str) {
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(
            geneva_testkit::screenshots_dir().join(format!("{name}.png")),
            png,
        )
        .unwrap();
    }

    async fn sign_in(&self, token: &str) {
        self.go("/ui/login").await;
        self.fill("#token", token).await;
        self.submit("/ui/login").await;
        let h1 = self.text("h1").await;
        assert_eq!(h1, "Incidents", "signing in failed");
    }

    async fn sign_out(&self) {
        self.submit("/ui/logout").await;
        assert_eq!(self.text("h1").await, "Sign in");
    }
}

fn token(data: &Path, org: &str, user: &str, scopes: &[&str]) -> String {
    let mut args = vec!["token", "create", "--org", org, "--user", user, "--json"];
    for s in scopes {
        args.extend(["--scope", s]);
    }
    let v: Value = serde_json::from_str(&ok(data, &args)).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

const HOSTILE: &str = "<script>alert('xss')</script><img src=x onerror=alert(1)> \u{202E}gnp.exe";

#[test]
fn a_member_reports_and_the_panel_publishes_in_a_real_browser() {
    let Some(chromedriver) = geneva_testkit::chromedriver() else {
        return;
    };
    let Some(attack) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    ok(
        &data,
        &[
            "org",
            "add",
            "CERT-UA",
            "--kind",
            "state",
            "--country",
            "UA",
        ],
    );
    ok(&data, &["user", "add", "olena", "--org", "CERT-UA"]);
    let olena = token(&data, "CERT-UA", "olena", &["read", "submit"]);
    let mut panel = Vec::new();
    for (user, country, scopes) in [
        ("amelie", "CH", &["read", "analyse", "vote", "admin"][..]),
        ("bernd", "DE", &["read", "vote"][..]),
        ("chloe", "FR", &["read", "vote"][..]),
    ] {
        let org = format!("panel-{}", country.to_ascii_lowercase());
        ok(
            &data,
            &["org", "add", &org, "--kind", "panel", "--country", country],
        );
        ok(&data, &["user", "add", user, "--org", &org]);
        panel.push(token(&data, &org, user, scopes));
    }
    ok(&data, &["kb", "import", attack.to_str().unwrap()]);
    // Last year's incident, attributed to Sandworm, seen from one address.
    let earlier = "incident--5d0e4c3c-4b1a-4e0a-9f54-3d8f6f1a2b01";
    let t = "2025-12-01T00:00:00.000Z";
    let ip = "ipv4-addr--6c5b2a70-3e0c-5f55-9a3a-9d1c1b5f4e10";
    let sandworm = "intrusion-set--5d0e4c3c-4b1a-4e0a-9f54-3d8f6f1a2b02";
    let before = json!({"type": "bundle", "id": "bundle--5d0e4c3c-4b1a-4e0a-9f54-3d8f6f1a2b00", "objects": [
        {"type": "ipv4-addr", "spec_version": "2.1", "id": ip, "value": "45.133.1.20"},
        {"type": "incident", "spec_version": "2.1", "id": earlier, "created": t, "modified": t,
         "name": "Substation outage, December 2025", "object_refs": [ip]},
        {"type": "intrusion-set", "spec_version": "2.1", "id": sandworm, "created": t, "modified": t,
         "name": "Sandworm Team"},
        {"type": "relationship", "spec_version": "2.1", "id": "relationship--5d0e4c3c-4b1a-4e0a-9f54-3d8f6f1a2b03",
         "created": t, "modified": t, "relationship_type": "attributed-to", "source_ref": earlier, "target_ref": sandworm},
    ]});
    let before_file = dir.path().join("before.json");
    std::fs::write(&before_file, before.to_string()).unwrap();
    ok(
        &data,
        &[
            "import",
            "--as",
            "CERT-UA",
            "--tlp",
            "green",
            before_file.to_str().unwrap(),
        ],
    );

    let served = serve(&data);
    let driver = start_driver(&chromedriver);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let proof = rt.block_on(async {
        let client = browser(&driver).await;
        let s = Session {
            c: &client,
            base: &served.base,
        };
        let proof = walk(&s, &olena, &panel).await;
        client.close().await.unwrap();
        proof
    });

    // The downloaded proof checks out with the log's public key alone.
    let key = rt.block_on(async {
        reqwest::get(format!("{}/log/key", served.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let proof_file = dir.path().join("proof.json");
    std::fs::write(&proof_file, proof).unwrap();
    let outsider = dir.path().join("outsider");
    let verdict = geneva(
        &outsider,
        &[
            "verify",
            "--log-key",
            key.trim(),
            proof_file.to_str().unwrap(),
        ],
    );
    assert!(
        verdict.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verdict.stdout),
        String::from_utf8_lossy(&verdict.stderr)
    );
}

/// The whole walk through the pages; the finding's proof as downloaded.
async fn walk(s: &Session<'_>, olena: &str, panel: &[String]) -> String {
    // Not signed in: the workspace sends the browser to sign in.
    s.go("/ui/").await;
    assert_eq!(s.text("h1").await, "Sign in");
    s.screenshot("login").await;
    s.fill("#token", "gva_000000000000_not-a-token").await;
    s.submit("/ui/login").await;
    assert!(
        s.text(".error")
            .await
            .contains("unknown, revoked or mistyped")
    );

    // A member reports an incident through the form.
    s.sign_in(olena).await;
    assert!(
        s.source()
            .await
            .contains("Substation outage, December 2025")
    );
    s.screenshot("incidents").await;
    s.go("/ui/incidents/new").await;
    s.fill("#name", "Wiper at Kyiv substations").await;
    s.fill(
        "#description",
        &format!("Breakers opened remotely. {HOSTILE}"),
    )
    .await;
    s.find("#tlp").await.select_by_value("clear").await.unwrap();
    s.fill("#victim", &format!("Kyivenergo {HOSTILE}")).await;
    s.find("#sector")
        .await
        .select_by_value("energy")
        .await
        .unwrap();
    s.fill("#country", "UA").await;
    s.fill("#techniques", "T1485, T1489, T1059.001").await;
    s.fill("#software", "Industroyer").await;
    s.fill("#indicators", "45.133.1.20").await;
    s.screenshot("intake").await;
    s.submit("/ui/incidents").await;

    // Its page: correlated with the earlier incident, attributed, assessed;
    // the attacker's markup shown as text.
    let url = s.c.current_url().await.unwrap();
    let incident = url
        .path()
        .strip_prefix("/ui/incidents/")
        .expect("on the incident's page")
        .to_owned();
    assert!(incident.starts_with("incident--"), "{url}");
    assert_eq!(s.text("h1").await, "Wiper at Kyiv substations");
    let correlations = s.text("section[aria-labelledby=correlations]").await;
    assert!(
        correlations.contains("Substation outage, December 2025"),
        "{correlations}"
    );
    assert!(correlations.contains("45.133.1.20"), "{correlations}");
    let attribution = s.text("section[aria-labelledby=attribution]").await;
    assert!(attribution.contains("Sandworm Team"), "{attribution}");
    s.find("table.ach").await;
    let assessment = s.text("section[aria-labelledby=assessment]").await;
    assert!(assessment.contains("gge-2015-f"), "{assessment}");
    let evidence = s.text("section[aria-labelledby=evidence]").await;
    assert!(
        evidence.contains("<script>alert('xss')</script>"),
        "{evidence}"
    );
    assert!(evidence.contains("[U+202E]"), "{evidence}");
    let html = s.source().await;
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img src=x"));
    s.screenshot("incident").await;
    // Searching by indicator (defanged, as reports often carry them).
    s.go("/ui/").await;
    s.fill("#q", "45.133.1[.]20").await;
    s.submit("action='/ui/search'").await;
    let found = s.text("main").await;
    assert!(found.contains("2 items you may see"), "{found}");
    assert!(
        found.contains("Substation outage, December 2025"),
        "{found}"
    );
    s.screenshot("search").await;
    s.sign_out().await;

    // A panel member opens a case on it and takes it to the vote.
    let (amelie, bernd, chloe) = (&panel[0], &panel[1], &panel[2]);
    s.sign_in(amelie).await;
    s.go(&format!("/ui/incidents/{incident}")).await;
    s.fill("#case-quorum", "3").await;
    s.submit("/ui/cases").await;
    let case_url = s.c.current_url().await.unwrap().path().to_owned();
    assert!(case_url.starts_with("/ui/cases/case-"), "{case_url}");
    s.fill("form[action$='/members'] #users", "amelie, bernd, chloe")
        .await;
    s.submit("/members").await;
    s.find("#status")
        .await
        .select_by_value("analysis")
        .await
        .unwrap();
    s.submit("/status").await;
    assert_eq!(s.text("#case-status").await, "analysis");
    s.fill("#note", "Same address as the December 2025 outage.")
        .await;
    s.submit("/notes").await;
    s.submit("/examine").await;
    assert!(s.source().await.contains("Sandworm Team"));
    s.fill("#draft-sponsor", "RU").await;
    s.fill("#draft-probability", "0.8").await;
    s.find("#draft-confidence")
        .await
        .select_by_value("moderate")
        .await
        .unwrap();
    s.submit("/draft").await;
    assert!(s.text("#draft").await.contains("Sponsor state: RU"));
    for next in ["review", "vote"] {
        s.find("#status").await.select_by_value(next).await.unwrap();
        s.submit("/status").await;
        assert_eq!(s.text("#case-status").await, next);
    }
    // Publishing before the vote carried is refused, and says why.
    s.submit("/publish").await;
    assert!(
        s.text(".error").await.contains("quorum"),
        "{}",
        s.text(".error").await
    );
    s.find("#opinion")
        .await
        .select_by_value("agree")
        .await
        .unwrap();
    s.submit("/votes").await;
    s.sign_out().await;

    // Two more members vote; one dissents, with reasons.
    for (who, opinion, why) in [
        (bernd, "strongly-agree", ""),
        (
            chloe,
            "disagree",
            "One shared address is thin; it could be a false flag.",
        ),
    ] {
        s.sign_in(who).await;
        s.go(&case_url).await;
        s.find("#opinion")
            .await
            .select_by_value(opinion)
            .await
            .unwrap();
        if !why.is_empty() {
            s.fill("#explanation", why).await;
        }
        s.submit("/votes").await;
        s.sign_out().await;
    }

    // Published; the finding is on the portal, with its proof.
    s.sign_in(amelie).await;
    s.go(&case_url).await;
    assert!(s.text("#tally").await.contains("3 votes cast"));
    s.submit("/publish").await;
    assert_eq!(s.text("#case-status").await, "published");
    s.screenshot("case").await;
    let finding = s
        .find("a[href^='/portal/findings/']")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    s.go("/ui/admin").await;
    assert!(s.source().await.contains("olena"));
    s.screenshot("admin").await;
    s.go("/ui/audit").await;
    assert!(s.source().await.contains("ui"));
    s.screenshot("audit").await;
    s.sign_out().await;

    s.go("/").await;
    assert!(s.source().await.contains(&finding));
    assert!(
        s.source()
            .await
            .contains("Incidents examined, by victim sector")
    );
    s.screenshot("portal").await;
    // Readable on a phone: nothing wider than the screen but the tables,
    // which scroll on their own.
    s.c.set_window_size(390, 1400).await.unwrap();
    s.go("/").await;
    let overflow =
        s.c.execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "the page is wider than a phone: {overflow}"
    );
    s.screenshot("portal-phone").await;
    s.c.set_window_size(1280, 1800).await.unwrap();
    s.fill("#q", "kyiv RU").await;
    s.submit("action='/'").await;
    assert!(s.text("main").await.contains("1 of 1 findings match"));
    s.fill("#q", "nothing-like-this").await;
    s.submit("action='/'").await;
    assert!(!s.source().await.contains(&finding));
    s.go(&finding).await;
    s.screenshot("finding").await;
    let dissent = s.source().await;
    assert!(
        dissent.contains("One shared address is thin"),
        "the dissent is published"
    );
    assert!(dissent.contains("on behalf of the state RU"), "{dissent}");
    assert!(
        dissent.contains("malware Industroyer"),
        "the public evidence is cited: {dissent}"
    );
    assert!(dissent.contains("/log/checkpoint"), "{dissent}");
    s.go("/portal/states/RU").await;
    assert!(s.source().await.contains(&finding));
    s.screenshot("state").await;
    s.go(&finding).await;
    let proof_href = s
        .find("a[href$='/proof']")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    s.go(&proof_href).await;
    s.text("body").await
}

/// The page benchmark runs end to end at a small scale (its figures at
/// 100,000 incidents are in BENCHMARKS.md; nothing here is timed).
#[test]
fn the_page_benchmark_loads_publishes_and_times_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(
        &dir.path().join("unused"),
        &[
            "bench",
            "portal",
            "--incidents",
            "400",
            "--findings",
            "6",
            "--requests",
            "3",
            "--warmup",
            "1",
            "--json",
        ],
    );
    let report: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(report["incidents"], 400);
    assert_eq!(report["findings"], 6);
    let pages = report["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 10, "{report:#}");
    for p in pages {
        assert!(p["requests"].as_u64().unwrap() >= 3, "{p}");
        assert!(p["p95_ms"].as_f64().unwrap() > 0.0, "{p}");
    }
    // Bad flags are refused with the reason, and create nothing.
    let missing = dir.path().join("never-kept");
    let out = geneva(
        &dir.path().join("unused"),
        &["bench", "portal", "--reuse", missing.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no data"));
    assert!(!missing.exists());
    let out = geneva(
        &dir.path().join("unused"),
        &["bench", "portal", "--requests", "0"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));
}
