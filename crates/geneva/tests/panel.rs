//! The panel end to end, with the real binary on a real database: a member
//! submits an incident; a case with seven members, one recused
//! automatically and one dissenting; the finding is published and
//! `geneva verify` confirms it from public data alone.

use std::path::Path;

use serde_json::Value;

mod common;
use common::{geneva, ok};

fn json_of(data: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&ok(data, args)).expect("JSON")
}

fn refused(data: &Path, args: &[&str], says: &str) {
    let out = geneva(data, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} was accepted");
    assert!(
        stderr.contains(says),
        "{args:?}: {stderr} does not say {says:?}"
    );
}

/// GET as anyone: the content type and the body.
async fn fetch(url: String) -> (String, String) {
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    (kind, r.text().await.unwrap())
}

#[test]
fn a_case_from_submission_to_a_verified_finding() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = |p: &Path| p.to_str().unwrap().to_owned();

    // A member (Ukraine's CERT) submits the incident, TLP:CLEAR.
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
    let (fixture, _) = geneva_testkit::norm_fixture("ukraine-grid-2015");
    let incident_file = dir.path().join("incident.json");
    std::fs::write(&incident_file, fixture["bundle"].to_string()).unwrap();
    ok(
        &data,
        &[
            "import",
            "--as",
            "CERT-UA",
            "--tlp",
            "clear",
            &s(&incident_file),
        ],
    );
    let incident = geneva_testkit::norm_fixture_incident(&fixture);

    // Seven panel members from seven countries; Ukraine's is a victim's.
    let members = [
        ("ch", "CH"),
        ("de", "DE"),
        ("fr", "FR"),
        ("jp", "JP"),
        ("br", "BR"),
        ("ke", "KE"),
        ("ua", "UA"),
    ];
    for (name, country) in members {
        let org = format!("panel-{name}");
        ok(
            &data,
            &["org", "add", &org, "--kind", "state", "--country", country],
        );
        ok(&data, &["user", "add", name, "--org", &org]);
    }
    let opened = json_of(
        &data,
        &[
            "case",
            "open",
            "--title",
            "Ukrainian grid, December 2015",
            &incident,
            "--json",
        ],
    );
    let case = opened["case"].as_str().unwrap().to_owned();
    assert_eq!(opened["parties"]["victim_countries"][0], "UA");
    assert_eq!(opened["parties"]["suspected_sponsors"][0], "RU");
    let assigned = ok(
        &data,
        &[
            "case", "assign", &case, "ch", "de", "fr", "jp", "br", "ke", "ua",
        ],
    );
    assert!(
        assigned.contains("recused: ua (UA, their organisation's country, is a victim)"),
        "{assigned}"
    );

    ok(&data, &["case", "move", &case, "analysis", "--as", "ch"]);
    ok(
        &data,
        &[
            "case",
            "note",
            &case,
            "--as",
            "de",
            "KillDisk and BlackEnergy 3 as in the 2016 reports",
        ],
    );
    refused(
        &data,
        &["case", "move", &case, "vote"],
        "from analysis it may go to review or closed",
    );
    ok(
        &data,
        &[
            "case",
            "draft",
            &case,
            "--title",
            "Sandworm Team attacked Ukraine's power distribution <script>alert(1)</script>",
            "--actor",
            "intrusion-set--381fcf73-60f6-4ab2-9991-6af3cbc35192",
            "--actor-name",
            "Sandworm Team",
            "--sponsor",
            "RU",
            "--probability",
            "0.9",
            "--confidence",
            "high",
        ],
    );
    ok(&data, &["case", "move", &case, "review"]);
    refused(
        &data,
        &["case", "vote", &case, "--as", "ch", "agree"],
        "votes are cast only while it is in vote",
    );
    ok(&data, &["case", "move", &case, "vote"]);
    refused(&data, &["case", "publish", &case], "no quorum");

    refused(
        &data,
        &["case", "vote", &case, "--as", "ua", "agree"],
        "recused",
    );
    for name in ["ch", "de", "fr", "jp", "br"] {
        ok(&data, &["case", "vote", &case, "--as", name, "agree"]);
    }
    refused(
        &data,
        &["case", "vote", &case, "--as", "ke", "disagree"],
        "without reasons",
    );
    ok(
        &data,
        &[
            "case",
            "vote",
            &case,
            "--as",
            "ke",
            "disagree",
            "--explanation",
            "the wiper alone does not tie it to the GRU",
        ],
    );
    refused(
        &data,
        &[
            "case",
            "vote",
            &case,
            "--as",
            "ch",
            "disagree",
            "--explanation",
            "second thoughts",
        ],
        "already voted",
    );

    let published = json_of(&data, &["case", "publish", &case, "--json"]);
    let report = published["report"].as_str().unwrap().to_owned();
    let again = json_of(&data, &["case", "publish", &case, "--json"]);
    assert_eq!(
        again["report"], published["report"],
        "publishing is idempotent"
    );
    refused(
        &data,
        &["case", "move", &case, "review"],
        "can no longer change",
    );

    // The case tells its whole story.
    let shown = json_of(&data, &["case", "show", &case, "--json"]);
    assert_eq!(shown["case"]["status"], "published");
    assert_eq!(shown["tally"]["cast"], 6);
    assert_eq!(shown["tally"]["carried"], true);
    assert_eq!(shown["recusals"][0]["member"], "ua");
    assert_eq!(shown["case"]["history"].as_array().unwrap().len(), 4);

    // The finding: public, with its attribution and the dissent.
    let stored = json_of(&data, &["show", &report, "--json"]);
    let report_object = if stored.get("object").is_some() {
        stored["object"].clone()
    } else {
        stored.clone()
    };
    let refs: Vec<String> = report_object["object_refs"]
        .as_array()
        .unwrap_or_else(|| panic!("{stored:#}"))
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    assert!(refs.contains(&incident));
    let notes: Vec<Value> = refs
        .iter()
        .filter(|r| r.starts_with("note--"))
        .map(|r| json_of(&data, &["show", r, "--json"]))
        .collect();
    let text = serde_json::to_string(&notes).unwrap();
    assert!(text.contains("Dissent of ke"), "{text}");
    assert!(text.contains("the wiper alone does not tie it to the GRU"));
    assert!(text.contains("gge-2015-f"), "the norms breached: {text}");
    assert!(text.contains("6 votes cast"), "{text}");

    // Anyone can check it with public data only: the key, the proof (which
    // carries the object) and nothing of this instance's database.
    let key = ok(&data, &["log", "key"]);
    let proof = dir.path().join("finding-proof.json");
    ok(&data, &["log", "prove", &report, "-o", &s(&proof)]);
    let outsider = dir.path().join("outsider");
    let verdict = ok(&outsider, &["verify", "--log-key", key.trim(), &s(&proof)]);
    assert!(
        verdict.starts_with(&format!("OK: {report} version ")),
        "{verdict}"
    );
    assert!(
        !outsider.join("geneva.db").exists(),
        "verify needs no database"
    );

    // The public outputs: a stable URL with the STIX bundle, and the Atom
    // feed, read by anyone; only TLP:CLEAR content, hostile text escaped.
    let server = common::serve(&data);
    let base = server.base.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (bundle, feed, list, home, page) = runtime.block_on(async {
        (
            fetch(format!("{base}/findings/{report}")).await,
            fetch(format!("{base}/findings.atom")).await,
            fetch(format!("{base}/findings")).await,
            fetch(format!("{base}/")).await,
            fetch(format!("{base}/portal/findings/{report}")).await,
        )
    });
    // The portal: the finding listed and shown, the hostile title inert,
    // and how to verify it.
    assert!(home.0.starts_with("text/html"));
    assert!(home.1.contains(&format!("/portal/findings/{report}")));
    assert!(home.1.contains("/portal/states/RU"));
    assert!(!home.1.contains("<script>") && home.1.contains("&lt;script&gt;"));
    assert!(page.1.contains("Dissent of ke"));
    assert!(page.1.contains("geneva verify --log-key"));
    assert!(page.1.contains(&format!("/api/v1/objects/{report}/proof")));
    drop(server);
    assert_eq!(bundle.0, "application/stix+json;version=2.1");
    let bundle: Value = serde_json::from_str(&bundle.1).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    assert!(objects.iter().any(|o| o["id"] == report.as_str()));
    assert!(
        objects
            .iter()
            .any(|o| o["relationship_type"] == "attributed-to")
    );
    assert!(
        objects.iter().all(|o| o["type"] != "opinion"),
        "votes are AMBER: never public"
    );
    assert!(
        objects
            .iter()
            .all(|o| o["object_marking_refs"][0] == geneva_stix::Tlp::Clear.marking_id()),
        "{bundle:#}"
    );
    assert!(feed.0.starts_with("application/atom+xml"));
    assert!(
        feed.1
            .contains(&format!("<id>urn:geneva:finding:{report}</id>")),
        "{}",
        feed.1
    );
    assert!(
        feed.1.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        feed.1
    );
    assert!(!feed.1.contains("<script>"));
    assert!(feed.1.contains("Dissent of ke"));
    let list: Value = serde_json::from_str(&list.1).unwrap();
    assert_eq!(list["findings"][0]["url"], format!("/findings/{report}"));
}

/// A published finding is never edited: a correction is a new case whose
/// finding refers to the old one, which stays as it was, byte for byte.
/// Examining a case attaches each subject's assessment.
#[test]
fn a_finding_is_superseded_by_a_logged_correction_never_edited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (fixture, _) = geneva_testkit::norm_fixture("wannacry-2017");
    let file = dir.path().join("incident.json");
    std::fs::write(&file, fixture["bundle"].to_string()).unwrap();
    ok(&data, &["import", "--tlp", "clear", file.to_str().unwrap()]);
    let incident = geneva_testkit::norm_fixture_incident(&fixture);
    let names = ["a", "b", "c", "d", "e"];
    for (name, country) in names.iter().zip(["CH", "NO", "CL", "IN", "NZ"]) {
        ok(
            &data,
            &[
                "org",
                "add",
                &format!("panel-{name}"),
                "--kind",
                "state",
                "--country",
                country,
            ],
        );
        ok(
            &data,
            &["user", "add", name, "--org", &format!("panel-{name}")],
        );
    }
    let decide = |extra: &[&str], title: &str| -> String {
        let mut args = vec!["case", "open", "--title", title, &incident, "--json"];
        args.extend(extra);
        let case = json_of(&data, &args)["case"].as_str().unwrap().to_owned();
        let mut assign = vec!["case", "assign", case.as_str()];
        assign.extend(names);
        ok(&data, &assign);
        ok(&data, &["case", "move", &case, "analysis"]);
        ok(&data, &["case", "examine", &case]);
        ok(
            &data,
            &[
                "case",
                "draft",
                &case,
                "--title",
                title,
                "--sponsor",
                "KP",
                "--probability",
                "0.85",
                "--confidence",
                "moderate",
            ],
        );
        ok(&data, &["case", "move", &case, "review"]);
        ok(&data, &["case", "move", &case, "vote"]);
        for name in names {
            ok(&data, &["case", "vote", &case, "--as", name, "agree"]);
        }
        let report = json_of(&data, &["case", "publish", &case, "--json"])["report"]
            .as_str()
            .unwrap()
            .to_owned();
        let shown = json_of(&data, &["case", "show", &case, "--json"]);
        assert_eq!(
            shown["analyses"][0]["assessment"]["subject"], incident,
            "the assessment is attached"
        );
        report
    };
    let first = decide(&[], "WannaCry");
    let before = ok(&data, &["show", &first, "--json"]);
    refused(
        &data,
        &[
            "case",
            "open",
            "--title",
            "x",
            &incident,
            "--corrects",
            "report--00000000-0000-4000-8000-000000000000",
        ],
        "not a published finding",
    );
    let second = decide(&["--corrects", &first], "WannaCry, corrected");
    assert_ne!(first, second);
    assert_eq!(
        ok(&data, &["show", &first, "--json"]),
        before,
        "the old finding is untouched"
    );
    let corrected = json_of(&data, &["show", &second, "--json"]);
    let corrected = corrected.get("object").cloned().unwrap_or(corrected);
    assert!(
        corrected["object_refs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == first.as_str()),
        "{corrected:#}"
    );
    // Both findings are leaves of the log.
    ok(&data, &["log", "prove", &first]);
    ok(&data, &["log", "prove", &second]);
}

/// `geneva demo` fills a fresh data directory with a living scenario (and
/// refuses one that holds data); its findings are on the portal and in the
/// log.
#[test]
fn the_demo_loads_a_living_portal_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let loaded = ok(&data, &["demo", "--no-serve"]);
    assert!(loaded.contains("6 published findings"), "{loaded}");
    refused(&data, &["demo", "--no-serve"], "fresh data directory");
    let cases = json_of(&data, &["case", "list", "--json"]);
    let statuses: Vec<&str> = cases
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "published").count(), 6);
    assert_eq!(statuses.iter().filter(|s| **s == "review").count(), 1);
    let audit = ok(&data, &["log", "audit"]);
    assert!(!audit.to_lowercase().contains("fail"), "{audit}");
    let server = common::serve(&data);
    let base = server.base.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (list, home) = runtime.block_on(async {
        (
            fetch(format!("{base}/findings")).await,
            fetch(format!("{base}/")).await,
        )
    });
    // The printed token signs in to the workspace, where the two members'
    // reports correlate.
    let token = loaded
        .lines()
        .find(|l| l.starts_with("workspace sign-in for amelie"))
        .and_then(|l| l.rsplit(' ').next())
        .expect("a sign-in token for the panel member")
        .to_owned();
    let report = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{base}/ui/incidents/incident--d3e0c0de-0000-4000-8000-000000000000"
            ))
            .header("cookie", format!("geneva_session={token}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    drop(server);
    let list: Value = serde_json::from_str(&list.1).unwrap();
    assert_eq!(list["findings"].as_array().unwrap().len(), 6);
    assert!(home.1.contains("Findings by sponsor state"));
    assert!(
        report.contains("credential theft at a water utility"),
        "the other member's report correlates: {report}"
    );
}
