//! Hostile evidence renders inert: script tags, `javascript:` URLs, HTML
//! in names and descriptions, right-to-left overrides and very long
//! strings, on every page.

use geneva_portal::*;

const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "javascript:alert(1)",
    "evil\u{202E}gnp.exe",
    "a\u{0}b\u{7}c",
];

/// Only the portal's own tags, none with an event handler or a
/// `javascript:` link, and no raw override or NUL character.
fn inert(html: &str) {
    const OURS: &[&str] = &[
        "!doctype", "html", "head", "meta", "title", "link", "body", "header", "nav", "a", "main",
        "footer", "p", "h1", "h2", "table", "caption", "thead", "tr", "th", "td", "tbody",
        "section", "ul", "li", "code", "pre", "svg", "text", "rect", "form", "label", "input",
        "button", "time",
    ];
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        let tag_text = &rest[at..rest[at..].find('>').map_or(rest.len(), |e| at + e + 1)];
        let name: String = tag_text[1..]
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect::<String>()
            .to_lowercase();
        assert!(
            OURS.contains(&name.as_str()),
            "a foreign tag {tag_text:?} in:\n{html}"
        );
        // Outside its quoted values (where `"` is always escaped).
        let bare: String = tag_text
            .split('"')
            .step_by(2)
            .collect::<Vec<_>>()
            .join("\"\"");
        let lower = bare.to_lowercase();
        assert!(!lower.contains(" on"), "an event handler in {tag_text:?}");
        assert!(
            !tag_text.to_lowercase().contains("href=\"javascript:"),
            "{tag_text:?}"
        );
        rest = &rest[at + 1..];
    }
    assert!(!html.contains('\u{202E}') && !html.contains('\u{0}'));
}

#[test]
fn every_page_renders_hostile_text_inert() {
    for h in HOSTILE {
        let long = h.repeat(10_000);
        let summary = FindingSummary {
            report: format!("report--{h}"),
            name: long.clone(),
            published: h.to_string(),
            sponsor_state: Some(h.to_string()),
            norms: vec![h.to_string()],
            incident_years: vec![h.to_string()],
            sectors: vec![h.to_string()],
        };
        let list = findings_page(std::slice::from_ref(&summary), &[&summary], h);
        inert(&list);
        assert!(list.len() < 20_000, "a very long name is cut in the list");
        let finding = finding_page(&FindingView {
            report: format!("report--{h}"),
            name: h.to_string(),
            description: long.clone(),
            published: h.to_string(),
            notes: vec![Note {
                heading: h.to_string(),
                text: format!("{h}\n{long}"),
            }],
            subjects: vec![h.to_string()],
            log_index: Some(7),
        });
        inert(&finding);
        let record = state_page(&StateRecord {
            state: h.to_string(),
            findings: vec![summary.clone()],
            norms: vec![(h.to_string(), 3)],
        });
        inert(&record);
    }
    assert!(escape("evil\u{202E}gnp.exe").contains("[U+202E]"));
}

#[test]
fn pages_load_nothing_from_elsewhere() {
    let f = FindingSummary {
        report: "report--1".into(),
        name: "n".into(),
        published: "2026-11-26".into(),
        sponsor_state: Some("RU".into()),
        norms: vec!["gge-2015-f".into()],
        incident_years: vec!["2015".into()],
        sectors: vec!["energy".into()],
    };
    let html = findings_page(std::slice::from_ref(&f), &[&f], "");
    assert!(html.contains("Norms found breached"));
    assert!(html.contains("Incidents examined, by victim sector"));
    assert!(html.contains("Incidents examined, by year"));
    // Each chart's title id is unique on the page.
    assert_eq!(html.matches("id=\"chart-by-state\"").count(), 1);
    assert_eq!(html.matches("id=\"chart-by-year\"").count(), 1);
    for needle in ["http://", "https://", "<script"] {
        // The SVG namespace is an identifier, not a fetch.
        let outside = html
            .replace("http://www.w3.org/2000/svg", "")
            .contains(needle);
        assert!(!outside, "{needle} in the page");
    }
    assert!(html.contains("<svg role=\"img\""));
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none'"));
}

#[test]
fn search_matches_every_word_in_any_field() {
    let f = FindingSummary {
        report: "report--1".into(),
        name: "Grid outage in Ukraine".into(),
        published: "2026-11-26".into(),
        sponsor_state: Some("RU".into()),
        norms: vec!["gge-2015-f".into()],
        incident_years: vec!["2015".into()],
        sectors: vec!["energy".into()],
    };
    assert!(geneva_portal::matches(&f, "grid ru"));
    assert!(geneva_portal::matches(&f, "GGE-2015-F"));
    assert!(geneva_portal::matches(&f, "energy"));
    assert!(!geneva_portal::matches(&f, "grid cn"));
    let page = findings_page(std::slice::from_ref(&f), &[], "grid cn");
    assert!(page.contains("0 of 1 findings match"));
    assert!(!page.contains("/portal/findings/report--1"));
}
