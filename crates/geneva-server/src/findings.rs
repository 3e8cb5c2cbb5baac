//! The public face of the panel's findings: `GET /findings` (JSON list),
//! `GET /findings.atom` (an Atom feed) and `GET /findings/{report-id}` (the
//! finding as a STIX bundle, at a stable URL). Every object is read as an
//! anonymous viewer, so only TLP:CLEAR versions can reach these outputs,
//! whatever a case holds.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use std::collections::HashMap;

use geneva_panel::{Case, DraftSpec, Published};
use geneva_store::Viewer;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// A published finding as the public sees it.
#[derive(Clone)]
pub(crate) struct PublicFinding {
    report: Value,
    objects: Vec<Value>,
    at: String,
    /// From the draft the panel voted: both are stated in the finding's
    /// public notes.
    sponsor: Option<String>,
    norms: Vec<(String, String)>,
    /// The report's leaf in the transparency log.
    leaf_index: Option<u64>,
    /// What the public may see of the incidents it is about.
    subjects: Vec<PublicSubject>,
}

#[derive(Clone)]
struct PublicSubject {
    /// The year the incident was recorded as starting (or created).
    year: Option<String>,
    sectors: Vec<String>,
}

/// The published findings, as last composed, and each composed finding
/// by its report id. The list is kept until the store's read generation
/// moves (any import or case write does, from any process); a finding,
/// once its report has its log leaf, for good: what was published does not
/// change, and composing a thousand of them again after every write took
/// half a second.
#[derive(Default)]
pub(crate) struct Cache {
    kept: tokio::sync::Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    generation: Option<u64>,
    list: Arc<Vec<PublicFinding>>,
    by_report: HashMap<String, PublicFinding>,
}

/// What the portal reads of a case document: the rest (notes, votes, the
/// analyses, which can be large) is skipped unparsed.
#[derive(serde::Deserialize)]
struct CaseFile {
    case: Case,
    draft: Option<DraftSpec>,
    published: Option<Published>,
}

/// The published cases, their documents parsed (no object read yet).
async fn published_cases(state: &AppState) -> Result<Vec<CaseFile>, ApiError> {
    let mut out = Vec::new();
    for record in state.store.cases().await? {
        match serde_json::from_str::<CaseFile>(&record.document) {
            Ok(file) if file.published.is_some() => out.push(file),
            Ok(_) => {}
            Err(_) => tracing::error!(case = %record.id, "unreadable case document"),
        }
    }
    Ok(out)
}

/// A published case's finding as an anonymous viewer reads it; `None` if
/// its report is not public (it always is when Geneva published it).
async fn public_finding(
    state: &AppState,
    file: CaseFile,
) -> Result<Option<PublicFinding>, ApiError> {
    let Some(p) = file.published else {
        return Ok(None);
    };
    let mut objects = Vec::new();
    let mut leaf_index = None;
    for id in &p.objects {
        if let Some(v) = state.store.get(id, &Viewer::Anonymous).await?
            && let Ok(o) = serde_json::from_str::<Value>(&v.canonical)
        {
            if *id == p.report {
                leaf_index = v.leaf_index;
            }
            objects.push(o);
        }
    }
    let Some(report) = objects
        .iter()
        .find(|o| o["id"] == p.report.as_str())
        .cloned()
    else {
        return Ok(None);
    };
    let (sponsor, norms) = match &file.draft {
        Some(d) => (
            d.sponsor_state.clone(),
            d.norms
                .iter()
                .map(|n| (n.norm.clone(), n.verdict.clone()))
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    let mut subjects = Vec::new();
    for subject in &file.case.subjects {
        let seen = geneva_analysis::attribution::stored_objects(
            state.store.as_ref(),
            &Viewer::Anonymous,
            subject,
        )
        .await
        .map_err(crate::attribution::analysis_error)?;
        let Some(seen) = seen else { continue };
        let own = seen.iter().find(|o| o["id"] == subject.as_str());
        let year = own
            .and_then(|o| {
                ["first_seen", "created"]
                    .iter()
                    .find_map(|k| o[*k].as_str())
            })
            .and_then(|t| t.get(..4))
            .map(str::to_owned);
        let mut sectors: Vec<String> = seen
            .iter()
            .filter(|o| o["type"] == "identity")
            .flat_map(|o| o["sectors"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        sectors.sort();
        sectors.dedup();
        subjects.push(PublicSubject { year, sectors });
    }
    Ok(Some(PublicFinding {
        report,
        objects,
        at: p.at,
        sponsor,
        norms,
        leaf_index,
        subjects,
    }))
}

/// Every published finding, newest first.
pub(crate) async fn published(state: &AppState) -> Result<Arc<Vec<PublicFinding>>, ApiError> {
    // Read before the findings, so what is kept is never older than its key.
    let generation = state.store.read_generation().await?;
    let mut kept = state.findings.kept.lock().await;
    if kept.generation == Some(generation) {
        return Ok(kept.list.clone());
    }
    let mut out = Vec::new();
    for file in published_cases(state).await? {
        let report = file.published.as_ref().map(|p| p.report.clone());
        if let Some(done) = report.as_ref().and_then(|r| kept.by_report.get(r)) {
            out.push(done.clone());
            continue;
        }
        if let Some(f) = public_finding(state, file).await? {
            if let (Some(report), Some(_)) = (report, f.leaf_index) {
                kept.by_report.insert(report, f.clone());
            }
            out.push(f);
        }
    }
    out.sort_by(|a, b| b.at.cmp(&a.at));
    let out = Arc::new(out);
    kept.generation = Some(generation);
    kept.list = out.clone();
    Ok(out)
}

/// One published finding by its report id.
async fn published_one(state: &AppState, report: &str) -> Result<PublicFinding, ApiError> {
    published(state)
        .await?
        .iter()
        .find(|f| f.report["id"] == report)
        .cloned()
        .ok_or_else(|| ApiError::not_found(report))
}

pub(crate) async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let list: Vec<Value> = published(&state)
        .await?
        .iter()
        .map(|f| {
            json!({"report": f.report["id"], "name": f.report["name"], "published": f.at,
                   "url": format!("/findings/{}", f.report["id"].as_str().unwrap_or_default())})
        })
        .collect();
    Ok(axum::Json(json!({"findings": list})).into_response())
}

pub(crate) async fn bundle(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let f = published_one(&state, &id).await?;
    let bundle = json!({
        "type": "bundle",
        "id": format!("bundle--{}", id.split_once("--").map_or("", |(_, u)| u)),
        "objects": f.objects,
    });
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(geneva_taxii::STIX_MEDIA_TYPE),
        )],
        bundle.to_string(),
    )
        .into_response())
}

/// Text for XML character data and attribute values.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

pub(crate) async fn atom(State(state): State<AppState>) -> Result<Response, ApiError> {
    let findings = published(&state).await?;
    let updated = findings
        .first()
        .map_or("1970-01-01T00:00:00Z".to_owned(), |f| f.at.clone());
    let mut feed = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    feed.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    feed.push_str("<title>Findings of the Digital Geneva Convention attribution panel</title>\n");
    feed.push_str("<id>urn:geneva:findings</id>\n");
    feed.push_str(&format!("<updated>{}</updated>\n", xml(&updated)));
    feed.push_str("<link rel=\"self\" href=\"/findings.atom\"/>\n");
    for f in findings.iter() {
        let id = f.report["id"].as_str().unwrap_or_default();
        let summary: Vec<String> = f
            .objects
            .iter()
            .filter(|o| o["type"] == "note")
            .filter_map(|o| {
                Some(format!(
                    "{}: {}",
                    o["abstract"].as_str()?,
                    o["content"].as_str()?
                ))
            })
            .collect();
        feed.push_str("<entry>\n");
        feed.push_str(&format!("<id>urn:geneva:finding:{}</id>\n", xml(id)));
        feed.push_str(&format!(
            "<title>{}</title>\n",
            xml(f.report["name"].as_str().unwrap_or_default())
        ));
        feed.push_str(&format!("<updated>{}</updated>\n", xml(&f.at)));
        feed.push_str(&format!(
            "<link rel=\"alternate\" type=\"{}\" href=\"/findings/{}\"/>\n",
            geneva_taxii::STIX_MEDIA_TYPE,
            xml(id)
        ));
        feed.push_str(
            "<author><name>Digital Geneva Convention attribution panel</name></author>\n",
        );
        feed.push_str(&format!(
            "<summary type=\"text\">{}</summary>\n",
            xml(&summary.join("\n"))
        ));
        feed.push_str("</entry>\n");
    }
    feed.push_str("</feed>\n");
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/atom+xml; charset=utf-8"),
        )],
        feed,
    )
        .into_response())
}

fn html(body: String) -> Response {
    crate::workspace::public_html(StatusCode::OK, body)
}

fn summary(f: &PublicFinding) -> geneva_portal::FindingSummary {
    geneva_portal::FindingSummary {
        report: f.report["id"].as_str().unwrap_or_default().to_owned(),
        name: f.report["name"].as_str().unwrap_or_default().to_owned(),
        published: f.at.clone(),
        sponsor_state: f.sponsor.clone(),
        norms: f
            .norms
            .iter()
            .filter(|(_, v)| v == "breach" || v == "likely breach")
            .map(|(n, _)| n.clone())
            .collect(),
        incident_years: f.subjects.iter().filter_map(|s| s.year.clone()).collect(),
        sectors: f
            .subjects
            .iter()
            .flat_map(|s| s.sectors.iter().cloned())
            .collect(),
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct Search {
    q: Option<String>,
}

/// `GET /`: the portal's front page; `?q=` searches the findings.
pub(crate) async fn portal_home(
    State(state): State<AppState>,
    search: Result<Query<Search>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(search) = search
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    let query: String = search
        .q
        .unwrap_or_default()
        .trim()
        .chars()
        .take(200)
        .collect();
    let findings: Vec<_> = published(&state).await?.iter().map(summary).collect();
    let shown: Vec<&geneva_portal::FindingSummary> = findings
        .iter()
        .filter(|f| query.is_empty() || geneva_portal::matches(f, &query))
        .collect();
    Ok(html(geneva_portal::findings_page(
        &findings, &shown, &query,
    )))
}

pub(crate) async fn portal_style() -> Response {
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        geneva_portal::STYLESHEET,
    )
        .into_response()
}

/// `GET /portal/findings/{report}`: a finding's page.
pub(crate) async fn portal_finding(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let f = published_one(&state, &id).await?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let view = geneva_portal::FindingView {
        report: id.clone(),
        name: text(&f.report["name"]),
        description: text(&f.report["description"]),
        published: f.at.clone(),
        notes: f
            .objects
            .iter()
            .filter(|o| o["type"] == "note")
            .map(|o| geneva_portal::Note {
                heading: text(&o["abstract"]),
                text: text(&o["content"]),
            })
            .collect(),
        subjects: f.report["object_refs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str())
            .filter(|r| r.starts_with("incident--") || r.starts_with("campaign--"))
            .map(str::to_owned)
            .collect(),
        log_index: f.leaf_index,
    };
    Ok(html(geneva_portal::finding_page(&view)))
}

/// `GET /portal/states/{code}`: a state's record.
pub(crate) async fn portal_state(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let code = code.to_ascii_uppercase();
    if code.len() != 2 || !code.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(ApiError::bad_request(
            "a state is named by its ISO 3166 two-letter code",
        ));
    }
    let findings = published(&state).await?;
    let mine: Vec<&PublicFinding> = findings
        .iter()
        .filter(|f| f.sponsor.as_deref() == Some(code.as_str()))
        .collect();
    let mut norms: Vec<(String, usize)> = Vec::new();
    for f in &mine {
        for (norm, verdict) in &f.norms {
            if verdict == "breach" || verdict == "likely breach" {
                match norms.iter_mut().find(|(n, _)| n == norm) {
                    Some((_, c)) => *c += 1,
                    None => norms.push((norm.clone(), 1)),
                }
            }
        }
    }
    norms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(html(geneva_portal::state_page(
        &geneva_portal::StateRecord {
            state: code,
            findings: mine.into_iter().map(summary).collect(),
            norms,
        },
    )))
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_text_is_escaped_and_stripped_of_what_xml_forbids() {
        assert_eq!(
            super::xml("<script>\"a\" & 'b'\u{0}\u{202E}"),
            "&lt;script&gt;&quot;a&quot; &amp; &apos;b&apos;\u{202E}"
        );
    }
}
