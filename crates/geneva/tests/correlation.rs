//! `geneva correlate`, `geneva campaigns` and `GET /api/v1/correlations/{id}`
//! end to end: real files, a real database, a real server.

use std::path::Path;

use serde_json::{Value, json};

mod common;
use common::{geneva, ok};

fn ok_json(data: &Path, args: &[&str]) -> Value {
    let out = ok(data, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn report(n: u32, refs: &[String]) -> Value {
    json!({"type": "report", "spec_version": "2.1", "id": format!("report--{n:08x}-0000-4000-8000-000000000000"),
           "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
           "name": format!("Report {n}"), "published": "2026-01-01T00:00:00Z", "object_refs": refs})
}

fn indicator(n: u32, pattern: &str) -> (String, Value) {
    let id = format!("indicator--{n:08x}-0000-4000-8000-000000000000");
    (
        id.clone(),
        json!({"type": "indicator", "spec_version": "2.1", "id": id,
           "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
           "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}),
    )
}

fn write_bundle(dir: &Path, name: &str, objects: Vec<Value>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": objects}).to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn correlate_and_campaigns_from_the_command_line_and_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (i1, o1) = indicator(
        1,
        "[domain-name:value = 'c2.evil-example.net'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
    );
    let (i2, o2) = indicator(2, "[url:value = 'hxxp://c2.evil-example[.]net/gate.php']");
    let (i3, o3) = indicator(
        3,
        "[file:hashes.'SHA-256' = 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F' OR ipv4-addr:value = '8.8.8.8']",
    );
    let (i4, o4) = indicator(4, "[ipv4-addr:value = '8.8.8.8']");
    let green = write_bundle(
        dir.path(),
        "green.json",
        vec![
            o1,
            o2,
            o4,
            report(1, std::slice::from_ref(&i1)),
            report(2, std::slice::from_ref(&i2)),
            report(4, std::slice::from_ref(&i4)),
        ],
    );
    let red = write_bundle(
        dir.path(),
        "red.json",
        vec![o3, report(3, std::slice::from_ref(&i3))],
    );
    ok_json(
        &data,
        &["org", "add", "CH-NCSC", "--kind", "state", "--json"],
    );
    ok_json(&data, &["org", "add", "ANSSI", "--kind", "state", "--json"]);
    ok_json(
        &data,
        &[
            "import", "--json", "--as", "CH-NCSC", "--tlp", "green", &green,
        ],
    );
    ok_json(
        &data,
        &["import", "--json", "--as", "ANSSI", "--tlp", "red", &red],
    );

    let r1 = "report--00000001-0000-4000-8000-000000000000";
    let found = ok_json(&data, &["correlate", r1, "--json"]);
    let links = found["links"].as_array().unwrap();
    let ids: Vec<&str> = links.iter().map(|l| l["id"].as_str().unwrap()).collect();
    // The operator sees the RED report's shared file hash, and the URL on the same host.
    assert!(
        ids.contains(&"report--00000003-0000-4000-8000-000000000000"),
        "{found}"
    );
    assert!(
        ids.contains(&"report--00000002-0000-4000-8000-000000000000"),
        "{found}"
    );
    let to_r2 = links
        .iter()
        .find(|l| l["id"] == "report--00000002-0000-4000-8000-000000000000")
        .unwrap();
    assert_eq!(to_r2["reasons"][0]["kind"], "url-host");
    // 8.8.8.8 never links anything: it is on a warning list.
    let r4 = ok_json(
        &data,
        &[
            "correlate",
            "report--00000004-0000-4000-8000-000000000000",
            "--json",
        ],
    );
    assert_eq!(r4["links"], json!([]));
    assert_eq!(r4["noise"][0]["list"], "public-dns-resolvers");
    // Text output names the reasons.
    let out = geneva(&data, &["correlate", r1]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "same sha256:aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"
        ),
        "{text}"
    );
    assert!(
        text.contains("http://c2.evil-example.net/gate.php is on domain:c2.evil-example.net"),
        "{text}"
    );
    // An operator's own warning list silences a value.
    let list = dir.path().join("sinkholes.txt");
    std::fs::write(&list, "# our sinkhole\nevil-example.net\n").unwrap();
    let quiet = ok_json(
        &data,
        &[
            "correlate",
            r1,
            "--json",
            "--warning-list",
            list.to_str().unwrap(),
        ],
    );
    assert!(
        quiet["noise"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["list"] == "sinkholes"),
        "{quiet}"
    );
    let bad_list = dir.path().join("bad.txt");
    std::fs::write(&bad_list, "evil-example.net\n!!!\n").unwrap();
    let out = geneva(
        &data,
        &[
            "correlate",
            r1,
            "--warning-list",
            bad_list.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = geneva(
        &data,
        &["correlate", "report--99999999-0000-4000-8000-000000000000"],
    );
    assert!(!out.status.success());
    // Campaigns: reports 1, 2 and 3 form one, named after the oldest.
    let campaigns = ok_json(&data, &["campaigns", "--json"]);
    let first = &campaigns["campaigns"][0];
    assert_eq!(first["id"], format!("cluster:{i1}"), "{campaigns}");
    let members: Vec<&str> = first["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        members.contains(&r1) && members.contains(&"report--00000003-0000-4000-8000-000000000000"),
        "{campaigns}"
    );

    // Over HTTP, a Swiss token sees no trace of the French RED report.
    let token = String::from_utf8(
        geneva(
            &data,
            &["token", "create", "--org", "CH-NCSC", "--scope", "read"],
        )
        .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let server = common::serve(&data);
    let base = server.base.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (swiss, hidden, anonymous) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let swiss: Value = client
            .get(format!("{base}/api/v1/correlations/{r1}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hidden = client
            .get(format!(
                "{base}/api/v1/correlations/report--00000003-0000-4000-8000-000000000000"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status();
        let anonymous = client
            .get(format!("{base}/api/v1/correlations/{r1}"))
            .send()
            .await
            .unwrap()
            .status();
        (swiss, hidden, anonymous)
    });
    drop(server);
    let ids: Vec<&str> = swiss["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"report--00000002-0000-4000-8000-000000000000"),
        "{swiss}"
    );
    assert!(
        !swiss.to_string().contains("00000003"),
        "the RED report leaked: {swiss}"
    );
    assert_eq!(hidden, 404);
    assert_eq!(
        anonymous, 404,
        "GREEN reports are not for anonymous callers"
    );
}

/// `geneva bench correlate` end to end on a small load: it ingests every
/// observable, finds links, keeps its index where asked, and `--reuse`
/// finds the same links from the index's files. (Its timings are figures
/// for BENCHMARKS.md, never assertions.)
#[test]
fn the_correlation_benchmark_runs_and_reuses_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept");
    let kept_arg = kept.to_str().unwrap();
    let small = [
        "bench",
        "correlate",
        "--observables",
        "20000",
        "--incidents",
        "400",
        "--queries",
        "100",
        "--warmup",
        "10",
        "--json",
    ];
    let mut args = small.to_vec();
    args.extend(["--keep", kept_arg]);
    let first = ok_json(dir.path(), &args);
    assert_eq!(first["observables"], 20_000);
    assert_eq!(first["incidents"], 400);
    assert!(first["values"].as_u64().unwrap() > 1_000, "{first}");
    assert!(first["postings"].as_u64().unwrap() > 10_000, "{first}");
    let links = first["mean_links_per_query"].as_f64().unwrap();
    assert!(
        links > 0.0,
        "the Zipf-hot infrastructure links incidents: {first}"
    );
    let p = &first["query_ms"];
    assert!(p["p50"].as_f64().unwrap() <= p["p99"].as_f64().unwrap());
    assert!(kept.join("correlation").is_dir());

    let mut args = small.to_vec();
    args.retain(|a| *a != "--json");
    args.extend(["--reuse", kept_arg]);
    let again = ok_json(dir.path(), &args);
    assert_eq!(again["mean_links_per_query"].as_f64().unwrap(), links);
    // Refused: keeping into a directory that already holds a run.
    let mut args = small.to_vec();
    args.extend(["--keep", kept_arg]);
    let out = geneva(dir.path(), &args);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
}
