//! An incident's page (or any stored object's): its evidence, what it
//! correlates with (as a graph and a table), the attribution's candidates
//! with the evidence that moved each and the ACH matrix, the norm
//! assessment, and the cases about it.

use std::fmt::Write as _;

use serde_json::Value;

use crate::{CaseRow, Session, cases_table, csrf_field, escape, flash, page, shorten, url_segment};

/// Everything an incident's page shows, as the member may see it. The
/// analyses are the API's JSON answers, or why there is none.
#[derive(Debug, Clone, Default)]
pub struct IncidentView {
    pub object: Value,
    pub tlp: String,
    pub organisation: String,
    /// The objects the incident's evidence is made of (relationships, their
    /// targets, what it refers to).
    pub evidence: Vec<Value>,
    pub correlation: Option<Result<Value, String>>,
    pub attribution: Option<Result<Value, String>>,
    pub assessment: Option<Result<Value, String>>,
    pub cases: Vec<CaseRow>,
    /// Names of the items it correlates with, by id (those the member may see).
    pub names: std::collections::HashMap<String, String>,
    /// Whether the member may open a case (the `analyse` scope).
    pub may_open_case: bool,
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// What names an object: its name, its value, its hashes, else its id.
fn label_of(o: &Value) -> String {
    if let Some(n) = o.get("name").and_then(Value::as_str) {
        return n.to_owned();
    }
    if let Some(v) = o.get("value").and_then(Value::as_str) {
        return v.to_owned();
    }
    if let Some(h) = o.get("hashes").and_then(Value::as_object) {
        return h
            .iter()
            .map(|(k, v)| format!("{k} {}", text(v)))
            .collect::<Vec<_>>()
            .join(", ");
    }
    if o.get("type").and_then(Value::as_str) == Some("relationship") {
        return format!(
            "{} {} {}",
            text(&o["source_ref"]),
            text(&o["relationship_type"]),
            text(&o["target_ref"])
        );
    }
    text(&o["id"]).to_owned()
}

/// A link for an external reference's URL only when it is http(s); any
/// other scheme (`javascript:`, `data:`) is shown as text, never followed.
fn external_url(url: &str) -> String {
    let lower = url.trim_start().to_ascii_lowercase();
    if (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        format!(
            "<a href=\"{0}\" rel=\"noopener noreferrer nofollow\">{1}</a>",
            escape(url),
            escape(&shorten(url, 200))
        )
    } else {
        format!(
            "<code>{}</code> (not a web address; not linked)",
            escape(&shorten(url, 200))
        )
    }
}

fn object_link(id: &str, label: &str) -> String {
    format!(
        "<a href=\"/ui/incidents/{}\">{}</a>",
        url_segment(id),
        escape(&shorten(label, 120))
    )
}

fn percent(p: &Value) -> String {
    p.as_f64()
        .map(|p| format!("{:.0}%", p * 100.0))
        .unwrap_or_default()
}

fn reason_text(r: &Value) -> String {
    match r {
        Value::String(s) => s.clone(),
        Value::Object(m) => {
            let kind = m.get("kind").and_then(Value::as_str).unwrap_or("reason");
            let rest: Vec<String> = m
                .iter()
                .filter(|(k, _)| *k != "kind" && *k != "weight")
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k} {s}"),
                    other => format!("{k} {other}"),
                })
                .collect();
            format!("{kind}: {}", rest.join(", "))
        }
        other => other.to_string(),
    }
}

/// What an incident shares with other items, as inline SVG: the incident
/// in the middle, each item around it, the line's width its weight. Each
/// node links to that item's page.
pub fn correlation_graph(center: &str, links: &[(String, String, f64)]) -> String {
    const SHOWN: usize = 24;
    let (w, h, cx, cy, r) = (640.0_f64, 420.0_f64, 320.0_f64, 210.0_f64, 160.0_f64);
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"graph-title\" width=\"100%\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <title id=\"graph-title\">What {} shares with {} other items</title>\n",
        escape(&shorten(center, 80)),
        links.len()
    );
    let shown = &links[..links.len().min(SHOWN)];
    let n = shown.len().max(1) as f64;
    for (i, (_, _, weight)) in shown.iter().enumerate() {
        let a = std::f64::consts::TAU * i as f64 / n - std::f64::consts::FRAC_PI_2;
        let (x, y) = (cx + r * a.cos(), cy + r * a.sin());
        let _ = writeln!(
            svg,
            "<line x1=\"{cx}\" y1=\"{cy}\" x2=\"{x:.1}\" y2=\"{y:.1}\" class=\"edge\" stroke-width=\"{:.1}\"/>",
            1.0 + 5.0 * weight.clamp(0.0, 1.0)
        );
    }
    let _ = writeln!(
        svg,
        "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"14\" class=\"node center\"/><text x=\"{cx}\" y=\"{}\" text-anchor=\"middle\" class=\"graph-label\">{}</text>",
        cy + 28.0,
        escape(&shorten(center, 40))
    );
    for (i, (id, label, weight)) in shown.iter().enumerate() {
        let a = std::f64::consts::TAU * i as f64 / n - std::f64::consts::FRAC_PI_2;
        let (x, y) = (cx + r * a.cos(), cy + r * a.sin());
        let _ = writeln!(
            svg,
            "<a href=\"/ui/incidents/{}\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"9\" class=\"node\"><title>{} (weight {weight:.2})</title></circle>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"graph-label\">{}</text></a>",
            url_segment(id),
            escape(&shorten(label, 120)),
            y + 22.0,
            escape(&shorten(label, 28))
        );
    }
    svg.push_str("</svg>\n");
    if links.len() > SHOWN {
        let _ = writeln!(
            svg,
            "<p>The graph shows the {SHOWN} strongest of {} links; the table lists them all.</p>",
            links.len()
        );
    }
    svg
}

fn evidence_section(v: &IncidentView) -> String {
    let mut out =
        String::from("<section aria-labelledby=\"evidence\"><h2 id=\"evidence\">Evidence</h2>\n");
    // Relationships are the links, not the evidence: their targets are listed.
    let shown: Vec<&Value> = v
        .evidence
        .iter()
        .filter(|o| o["type"] != "relationship")
        .collect();
    if shown.is_empty() {
        out.push_str("<p>The incident refers to no other object you may see.</p>\n");
    } else {
        out.push_str("<table><thead><tr><th scope=\"col\">Type</th><th scope=\"col\">What</th><th scope=\"col\">Id</th></tr></thead><tbody>\n");
        for o in shown {
            let id = text(&o["id"]);
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(text(&o["type"])),
                escape(&shorten(&label_of(o), 300)),
                object_link(id, id)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    let refs: Vec<&Value> = v
        .object
        .get("external_references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    if !refs.is_empty() {
        out.push_str("<h3>Sources</h3>\n<ul>\n");
        for r in refs {
            let name = text(&r["source_name"]);
            let line = match r.get("url").and_then(Value::as_str) {
                Some(url) => format!("{}: {}", escape(&shorten(name, 200)), external_url(url)),
                None => format!(
                    "{} {}",
                    escape(&shorten(name, 200)),
                    escape(&shorten(text(&r["external_id"]), 200))
                ),
            };
            let _ = writeln!(out, "<li>{line}</li>");
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
    out
}

fn unavailable(why: &str) -> String {
    format!("<p class=\"notice\">{}</p>\n", escape(&shorten(why, 1_000)))
}

fn correlation_section(v: &IncidentView) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"correlations\"><h2 id=\"correlations\">Correlations</h2>\n",
    );
    match &v.correlation {
        None => {}
        Some(Err(why)) => out.push_str(&unavailable(why)),
        Some(Ok(c)) => {
            let own: Vec<String> = c["observables"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o.as_str())
                .take(200)
                .map(|o| format!("<code>{}</code>", escape(&shorten(o, 200))))
                .collect();
            if !own.is_empty() {
                let _ = writeln!(out, "<p>Its indicators: {}</p>", own.join(", "));
            }
            let links: Vec<&Value> = c["links"].as_array().into_iter().flatten().collect();
            if links.is_empty() {
                out.push_str("<p>It shares no indicator with anything else you may see.</p>\n");
            } else {
                let nodes: Vec<(String, String, f64)> = links
                    .iter()
                    .map(|l| {
                        let id = text(&l["id"]).to_owned();
                        let name = v.names.get(&id).cloned().unwrap_or_else(|| id.clone());
                        (id, name, l["weight"].as_f64().unwrap_or(0.0))
                    })
                    .collect();
                out.push_str(&correlation_graph(&label_of(&v.object), &nodes));
                out.push_str("<table><thead><tr><th scope=\"col\">Item</th><th scope=\"col\">Weight</th><th scope=\"col\">Why</th></tr></thead><tbody>\n");
                for l in links {
                    let id = text(&l["id"]);
                    let name = v.names.get(id).map_or(id, String::as_str);
                    let reasons: Vec<String> = l["reasons"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| escape(&shorten(&reason_text(r), 300)))
                        .collect();
                    let _ = writeln!(
                        out,
                        "<tr><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
                        object_link(id, name),
                        l["weight"].as_f64().unwrap_or(0.0),
                        reasons.join("<br>")
                    );
                }
                out.push_str("</tbody></table>\n");
            }
            let noise: Vec<&Value> = c["noise"].as_array().into_iter().flatten().collect();
            if !noise.is_empty() {
                out.push_str("<details><summary>Values left out as noise</summary><ul>\n");
                for n in noise {
                    let _ = writeln!(out, "<li>{}</li>", escape(&shorten(&reason_text(n), 300)));
                }
                out.push_str("</ul></details>\n");
            }
        }
    }
    out.push_str("</section>\n");
    out
}

fn contributions(list: &Value) -> String {
    let items: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "<li>{} ({}, {:+.2}): {}</li>",
                escape(&shorten(text(&c["evidence"]), 200)),
                escape(text(&c["kind"])),
                c["effect"].as_f64().unwrap_or(0.0),
                escape(&shorten(text(&c["reason"]), 500))
            )
        })
        .collect();
    if items.is_empty() {
        "<p>None.</p>".into()
    } else {
        format!("<ul>{}</ul>", items.concat())
    }
}

fn attribution_section(v: &IncidentView) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"attribution\"><h2 id=\"attribution\">Attribution</h2>\n",
    );
    match &v.attribution {
        None => {}
        Some(Err(why)) => out.push_str(&unavailable(why)),
        Some(Ok(a)) => {
            let _ = writeln!(
                out,
                "<p><strong>Likelihood.</strong> {}</p>\n<p><strong>Confidence.</strong> {}</p>",
                escape(text(&a["likelihood_statement"])),
                escape(text(&a["confidence_statement"]))
            );
            for w in a["warnings"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "<p class=\"error\" role=\"note\">{}</p>",
                    escape(&shorten(text(w), 1_000))
                );
            }
            out.push_str("<table><caption>Candidates</caption><thead><tr><th scope=\"col\">Actor</th><th scope=\"col\">ATT&amp;CK</th><th scope=\"col\">Sponsor</th><th scope=\"col\">Probability</th><th scope=\"col\">Likelihood</th></tr></thead><tbody>\n");
            let candidates: Vec<&Value> =
                a["candidates"].as_array().into_iter().flatten().collect();
            for c in &candidates {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&shorten(text(&c["actor"]), 200)),
                    escape(text(&c["attack_id"])),
                    escape(text(&c["sponsor"])),
                    percent(&c["probability"]),
                    escape(text(&c["likelihood"]))
                );
            }
            let _ = writeln!(
                out,
                "<tr><td>An actor the knowledge base does not describe</td><td></td><td></td><td>{}</td><td>{}</td></tr>",
                percent(&a["not_in_knowledge_base"]),
                escape(text(&a["not_in_knowledge_base_likelihood"]))
            );
            out.push_str("</tbody></table>\n");
            for c in candidates.iter().take(5) {
                // An actor known to use none of the evidence is also
                // weighed as if the tradecraft were new to it.
                let if_new = match c["if_new_tradecraft"].get("contributions") {
                    Some(list) => format!(
                        "<h4>If this is tradecraft new to it ({} of its probability)</h4>{}",
                        percent(&c["from_new_tradecraft"]),
                        contributions(list)
                    ),
                    None => String::new(),
                };
                let _ = writeln!(
                    out,
                    "<details><summary>Why {}</summary><h4>Raised by</h4>{}<h4>Lowered by</h4>{}{if_new}</details>",
                    escape(&shorten(text(&c["actor"]), 200)),
                    contributions(&c["raised"]),
                    contributions(&c["lowered"])
                );
            }
            out.push_str(&ach_matrix(&a["ach"]));
        }
    }
    out.push_str("</section>\n");
    out
}

/// Analysis of Competing Hypotheses: evidence items × the leading
/// hypotheses; each cell's word is written out, not only coloured.
fn ach_matrix(ach: &Value) -> String {
    let hypotheses: Vec<&str> = ach["hypotheses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    if hypotheses.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h3>Analysis of competing hypotheses</h3>\n<div class=\"scroll\"><table class=\"ach\"><thead><tr><th scope=\"col\">Evidence</th>",
    );
    for h in &hypotheses {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(&shorten(h, 60)));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in ach["rows"].as_array().into_iter().flatten() {
        let strong = if row["strong"].as_bool() == Some(true) {
            " <strong>(strong)</strong>"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{} <small>{}</small>{strong}</th>",
            escape(&shorten(text(&row["evidence"]), 120)),
            escape(text(&row["kind"]))
        );
        for b in row["bearings"].as_array().into_iter().flatten() {
            let b = match text(b) {
                "consistent" => "consistent",
                "inconsistent" => "inconsistent",
                _ => "neutral",
            };
            let _ = write!(out, "<td class=\"{b}\">{b}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("<tr><th scope=\"row\">Inconsistent items</th>");
    for n in ach["inconsistencies"].as_array().into_iter().flatten() {
        let _ = write!(out, "<td>{}</td>", n.as_u64().unwrap_or(0));
    }
    out.push_str("</tr>\n</tbody></table></div>\n");
    out
}

fn assessment_section(v: &IncidentView) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"assessment\"><h2 id=\"assessment\">Norm assessment</h2>\n",
    );
    match &v.assessment {
        None => {}
        Some(Err(why)) => out.push_str(&unavailable(why)),
        Some(Ok(a)) => {
            if let Some(note) = a["attribution_note"].as_str() {
                let _ = writeln!(out, "<p>{}</p>", escape(&shorten(note, 1_000)));
            }
            let _ = writeln!(
                out,
                "<p>Catalogue {}.</p>",
                escape(text(&a["catalogue_version"]))
            );
            out.push_str("<table><thead><tr><th scope=\"col\">Norm</th><th scope=\"col\">Source</th><th scope=\"col\">Verdict</th><th scope=\"col\">Rests on</th><th scope=\"col\">Would change with</th></tr></thead><tbody>\n");
            for n in a["norms"].as_array().into_iter().flatten() {
                let list = |v: &Value| {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .map(|x| match x {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let _ = writeln!(
                    out,
                    "<tr><td><strong>{}</strong> {}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(text(&n["norm"])),
                    escape(text(&n["title"])),
                    escape(text(&n["source"])),
                    escape(text(&n["article"])),
                    escape(text(&n["verdict"])),
                    escape(&shorten(&list(&n["rests_on"]), 500)),
                    escape(&shorten(&list(&n["would_change"]), 500))
                );
            }
            out.push_str("</tbody></table>\n");
        }
    }
    out.push_str("</section>\n");
    out
}

pub fn incident_page(s: &Session, v: &IncidentView, error: Option<&str>) -> String {
    let id = text(&v.object["id"]);
    let name = label_of(&v.object);
    let mut main = format!("<h1>{}</h1>\n", escape(&shorten(&name, 300)));
    main.push_str(&flash(error, None));
    let _ = writeln!(
        main,
        "<p><code>{}</code> · {} · reported by {} · {}</p>",
        escape(id),
        escape(text(&v.object["type"])),
        escape(&v.organisation),
        escape(&v.tlp)
    );
    if let Some(d) = v.object.get("description").and_then(Value::as_str) {
        for para in d.lines().filter(|l| !l.trim().is_empty()).take(50) {
            let _ = writeln!(main, "<p>{}</p>", escape(&shorten(para, 4_000)));
        }
    }
    main.push_str(&evidence_section(v));
    main.push_str(&correlation_section(v));
    main.push_str(&attribution_section(v));
    main.push_str(&assessment_section(v));
    main.push_str("<section aria-labelledby=\"cases\"><h2 id=\"cases\">Cases</h2>\n");
    main.push_str(&cases_table(&v.cases));
    if v.may_open_case {
        let _ = writeln!(
            main,
            "<form method=\"post\" action=\"/ui/cases\">{}<fieldset><legend>Open a case on it</legend>\
             <input type=\"hidden\" name=\"subject\" value=\"{}\">\
             <label for=\"case-title\">Title</label><input type=\"text\" id=\"case-title\" name=\"title\" required maxlength=\"1000\" value=\"{}\">\
             <label for=\"case-sponsors\">Suspected sponsor states (two-letter codes, comma-separated; the attribution adds its own)</label>\
             <input type=\"text\" id=\"case-sponsors\" name=\"sponsors\">\
             <label for=\"case-quorum\">Quorum</label><input type=\"number\" id=\"case-quorum\" name=\"quorum\" min=\"1\" max=\"1000\" value=\"5\">\
             <button type=\"submit\">Open a case</button></fieldset></form>",
            csrf_field(s),
            escape(id),
            escape(&shorten(&name, 1_000))
        );
    }
    main.push_str("</section>\n");
    page(s, &name, &main)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hostile_evidence_renders_inert() {
        let evil = "<script>alert(1)</script>\u{202E}";
        let v = IncidentView {
            object: json!({"id": "incident--1", "type": "incident", "name": evil, "description": evil,
                "external_references": [{"source_name": evil, "url": "javascript:alert(1)"},
                                        {"source_name": "ok", "url": "https://example.org/\"onmouseover=x"}]}),
            evidence: vec![
                json!({"id": "malware--\"><svg onload=x>", "type": "malware", "name": evil}),
            ],
            correlation: Some(Ok(json!({"links": [{"id": "incident--<i>", "weight": 0.5,
                "reasons": [{"kind": evil, "value": evil}]}], "noise": [{"kind": "x", "value": evil}]}))),
            attribution: Some(Ok(
                json!({"likelihood_statement": evil, "confidence_statement": evil,
                "warnings": [evil], "candidates": [{"actor": evil, "probability": 0.5,
                "raised": [{"evidence": evil, "kind": "technique", "effect": 1.0, "reason": evil}], "lowered": []}],
                "ach": {"hypotheses": [evil], "rows": [{"evidence": evil, "kind": "x", "strong": true,
                "bearings": ["<b>"]}], "inconsistencies": [0]}}),
            )),
            assessment: Some(Ok(
                json!({"norms": [{"norm": evil, "title": evil, "verdict": evil,
                "rests_on": [evil], "would_change": [evil]}], "attribution_note": evil}),
            )),
            may_open_case: true,
            ..Default::default()
        };
        let html = incident_page(&Session::default(), &v, Some(evil));
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<svg onload"));
        assert!(!html.contains("<i>"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("href=\"javascript:"));
        assert!(!html.contains('\u{202E}'));
        assert!(html.contains("(not a web address; not linked)"));
        // An http(s) URL is linked, its quote escaped inside the attribute.
        assert!(html.contains("href=\"https://example.org/&quot;onmouseover=x\""));
    }

    #[test]
    fn the_graph_shows_at_most_its_limit_and_says_so() {
        let links: Vec<(String, String, f64)> = (0..30)
            .map(|i| (format!("incident--{i}"), format!("n{i}"), 0.5))
            .collect();
        let svg = correlation_graph("centre", &links);
        assert_eq!(svg.matches("<circle").count(), 25);
        assert!(svg.contains("24 strongest of 30"));
    }
}
