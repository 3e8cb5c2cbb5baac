//! The public transparency portal's pages, rendered to HTML strings.
//!
//! This crate owns the portal's markup: the layout (no external resource:
//! no CDN, no font, no script; one stylesheet served by the portal itself,
//! so a strict Content-Security-Policy holds), the list of findings, a
//! finding's page with how to verify it, a state's record, and charts as
//! inline SVG. Every text that comes from data is escaped here, whatever
//! it holds (evidence is written by attackers). It must never fetch data,
//! know HTTP or storage, or decide what is public: callers hand it only
//! public content.
#![forbid(unsafe_code)]

use std::fmt::Write as _;

/// The Content-Security-Policy every portal page is served with.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The portal's stylesheet, served at `/portal/style.css`.
pub const STYLESHEET: &str = include_str!("style.css");

/// Text for HTML character data and attribute values: the five
/// significant characters escaped, control characters dropped, and the
/// bidirectional overrides (which can make a name read backwards) made
/// visible instead of obeyed.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' => {
                let _ = write!(out, "[U+{:04X}]", c as u32);
            }
            c if c.is_control() && !matches!(c, '\n' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

/// A path segment for an href: unreserved characters kept, the rest
/// percent-encoded, so no id can leave its segment or its attribute.
pub fn url_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Long strings are cut for display (the full text stays in the STIX download).
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// A whole page: title, navigation, main content.
pub fn page(title: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · Geneva</title>\n<link rel=\"stylesheet\" href=\"/portal/style.css\">\n\
         <link rel=\"alternate\" type=\"application/atom+xml\" title=\"Findings\" href=\"/findings.atom\">\n\
         </head>\n<body>\n<header><nav aria-label=\"Portal\"><a href=\"/\">Findings</a> \
         <a href=\"/findings.atom\">Atom feed</a></nav></header>\n<main>\n{main}\n</main>\n\
         <footer><p>Findings of the Digital Geneva Convention's attribution panel. Every finding is \
         in a public, append-only transparency log; each page says how to check it.</p></footer>\n\
         </body>\n</html>\n",
        escape(&shorten(title, 200))
    )
}

/// One finding as the list shows it.
#[derive(Debug, Clone, Default)]
pub struct FindingSummary {
    pub report: String,
    pub name: String,
    pub published: String,
    pub sponsor_state: Option<String>,
    /// Norms the finding found breached or likely breached.
    pub norms: Vec<String>,
    /// The year each incident it is about began (where public).
    pub incident_years: Vec<String>,
    /// The victims' sectors of the incidents it is about (where public).
    pub sectors: Vec<String>,
}

/// How many times each key occurs, most frequent first.
fn counts<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for k in keys {
        match out.iter_mut().find(|(x, _)| x == k) {
            Some((_, n)) => *n += 1,
            None => out.push((k.to_owned(), 1)),
        }
    }
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// The portal's front page: findings, newest first (those matching
/// `query`, when there is one), and charts of all of them by sponsor state,
/// by year, by norm, and of the incidents they examined by year and sector.
pub fn findings_page(all: &[FindingSummary], shown: &[&FindingSummary], query: &str) -> String {
    let mut main = String::from("<h1>Findings</h1>\n");
    let _ = writeln!(
        main,
        "<form method=\"get\" action=\"/\" role=\"search\"><label for=\"q\">Search findings</label>\
         <input type=\"search\" id=\"q\" name=\"q\" maxlength=\"200\" value=\"{}\" \
         placeholder=\"a name, a state's code, a norm\"><button type=\"submit\">Search</button></form>",
        escape(query)
    );
    if !query.is_empty() {
        let _ = writeln!(
            main,
            "<p role=\"status\">{} of {} findings match “{}”. <a href=\"/\">Show all</a>.</p>",
            shown.len(),
            all.len(),
            escape(query)
        );
    }
    if all.is_empty() {
        main.push_str("<p>No finding has been published yet.</p>\n");
        return page("Findings", &main);
    }
    if !shown.is_empty() {
        main.push_str("<table>\n<caption>Published findings, newest first</caption>\n<thead><tr><th scope=\"col\">Published</th><th scope=\"col\">Finding</th><th scope=\"col\">Sponsor state</th></tr></thead>\n<tbody>\n");
        for f in shown {
            let _ = writeln!(
                main,
                "<tr><td><time datetime=\"{0}\">{1}</time></td><td><a href=\"/portal/findings/{2}\">{3}</a></td><td>{4}</td></tr>",
                escape(&f.published),
                escape(f.published.get(..10).unwrap_or(&f.published)),
                url_segment(&f.report),
                escape(&shorten(&f.name, 200)),
                match &f.sponsor_state {
                    Some(s) => format!(
                        "<a href=\"/portal/states/{}\">{}</a>",
                        url_segment(s),
                        escape(s)
                    ),
                    None => "—".to_owned(),
                }
            );
        }
        main.push_str("</tbody>\n</table>\n");
    }
    let by_state = counts(
        all.iter()
            .map(|f| f.sponsor_state.as_deref().unwrap_or("none")),
    );
    main.push_str("<h2>Findings by sponsor state</h2>\n");
    main.push_str(&bar_chart(
        "by-state",
        "Findings by sponsor state",
        &by_state,
    ));
    let mut by_year = counts(all.iter().map(|f| f.published.get(..4).unwrap_or("?")));
    by_year.sort_by(|a, b| a.0.cmp(&b.0));
    main.push_str("<h2>Findings by year</h2>\n");
    main.push_str(&bar_chart(
        "by-year",
        "Findings by year of publication",
        &by_year,
    ));
    let by_norm = counts(all.iter().flat_map(|f| f.norms.iter().map(String::as_str)));
    if !by_norm.is_empty() {
        main.push_str("<h2>Norms found breached</h2>\n");
        main.push_str(&bar_chart(
            "by-norm",
            "Findings by norm found breached",
            &by_norm,
        ));
    }
    let mut incidents_by_year = counts(
        all.iter()
            .flat_map(|f| f.incident_years.iter().map(String::as_str)),
    );
    incidents_by_year.sort_by(|a, b| a.0.cmp(&b.0));
    if !incidents_by_year.is_empty() {
        main.push_str("<h2>Incidents examined, by year</h2>\n");
        main.push_str(&bar_chart(
            "incidents-by-year",
            "Incidents the findings examined, by the year they began",
            &incidents_by_year,
        ));
    }
    let by_sector = counts(
        all.iter()
            .flat_map(|f| f.sectors.iter().map(String::as_str)),
    );
    if !by_sector.is_empty() {
        main.push_str("<h2>Incidents examined, by victim sector</h2>\n");
        main.push_str(&bar_chart(
            "incidents-by-sector",
            "Incidents the findings examined, by the victims' sector",
            &by_sector,
        ));
    }
    page("Findings", &main)
}

/// Whether a finding matches a search: every word of `query`, ignoring
/// case, in its name, its sponsor state, its norms or its report id.
pub fn matches(f: &FindingSummary, query: &str) -> bool {
    let haystack = format!(
        "{} {} {} {} {}",
        f.name,
        f.sponsor_state.as_deref().unwrap_or(""),
        f.norms.join(" "),
        f.sectors.join(" "),
        f.report
    )
    .to_lowercase();
    query
        .to_lowercase()
        .split_whitespace()
        .all(|word| haystack.contains(word))
}

/// A note of a finding: its heading and its text.
#[derive(Debug, Clone, Default)]
pub struct Note {
    pub heading: String,
    pub text: String,
}

/// A finding's page.
#[derive(Debug, Clone, Default)]
pub struct FindingView {
    pub report: String,
    pub name: String,
    pub description: String,
    pub published: String,
    pub notes: Vec<Note>,
    pub subjects: Vec<String>,
    /// The report's leaf in the transparency log.
    pub log_index: Option<u64>,
}

pub fn finding_page(f: &FindingView) -> String {
    let mut main = String::new();
    let _ = writeln!(main, "<h1>{}</h1>", escape(&shorten(&f.name, 300)));
    let _ = writeln!(
        main,
        "<p>Published {}. {}</p>",
        escape(&f.published),
        escape(&shorten(&f.description, 2_000))
    );
    for n in &f.notes {
        let _ = writeln!(
            main,
            "<section>\n<h2>{}</h2>",
            escape(&shorten(&n.heading, 200))
        );
        for para in n.text.lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(main, "<p>{}</p>", escape(&shorten(para, 4_000)));
        }
        main.push_str("</section>\n");
    }
    if !f.subjects.is_empty() {
        main.push_str("<section>\n<h2>About</h2>\n<ul>\n");
        for s in &f.subjects {
            let _ = writeln!(main, "<li><code>{}</code></li>", escape(s));
        }
        main.push_str("</ul>\n</section>\n");
    }
    let r = url_segment(&f.report);
    let leaf = match f.log_index {
        Some(i) => format!(
            "This finding is leaf {i} of the body's transparency log; the log's latest signed checkpoint is at \
             <a href=\"/log/checkpoint\">/log/checkpoint</a>."
        ),
        None => "This finding is waiting to join the body's transparency log.".to_owned(),
    };
    let _ = write!(
        main,
        "<section>\n<h2>Check it yourself</h2>\n<p>{leaf} \
         Download <a href=\"/findings/{r}\">the finding as STIX</a> and \
         <a href=\"/api/v1/objects/{r}/proof\">its proof</a>, take the log's public key from \
         <a href=\"/log/key\">/log/key</a>, and run:</p>\n\
         <pre><code>geneva verify --log-key \"$(curl -s HOST/log/key)\" proof.json</code></pre>\n\
         <p>The proof carries the signed checkpoint; <code>geneva verify</code> needs no access to this server's database.</p>\n</section>\n"
    );
    page(&f.name, &main)
}

/// A state's record: the findings naming it as sponsor, and the norms they
/// found breached.
#[derive(Debug, Clone, Default)]
pub struct StateRecord {
    pub state: String,
    pub findings: Vec<FindingSummary>,
    /// (norm, times found breached or likely breached)
    pub norms: Vec<(String, usize)>,
}

pub fn state_page(r: &StateRecord) -> String {
    let mut main = String::new();
    let _ = writeln!(main, "<h1>Record of {}</h1>", escape(&r.state));
    if r.findings.is_empty() {
        main.push_str("<p>No published finding names this state as a sponsor.</p>\n");
    } else {
        main.push_str("<h2>Findings naming it as sponsor</h2>\n<ul>\n");
        for f in &r.findings {
            let _ = writeln!(
                main,
                "<li><a href=\"/portal/findings/{}\">{}</a> ({})</li>",
                url_segment(&f.report),
                escape(&shorten(&f.name, 200)),
                escape(&f.published)
            );
        }
        main.push_str("</ul>\n");
        if !r.norms.is_empty() {
            main.push_str("<h2>Norms found breached</h2>\n");
            main.push_str(&bar_chart("norms", "Norms found breached", &r.norms));
        }
    }
    page(&format!("Record of {}", r.state), &main)
}

/// A horizontal bar chart as inline SVG, titled for assistive technology;
/// `id` must be unique on its page.
pub fn bar_chart(id: &str, title: &str, bars: &[(String, usize)]) -> String {
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let height = 24 * bars.len() + 8;
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"chart-{id}\" width=\"100%\" height=\"{height}\" viewBox=\"0 0 600 {height}\" xmlns=\"http://www.w3.org/2000/svg\">\n<title id=\"chart-{id}\">{}</title>\n",
        escape(title)
    );
    for (i, (label, n)) in bars.iter().enumerate() {
        let y = 4 + i * 24;
        let w = 380 * n / max;
        let _ = writeln!(
            svg,
            "<text x=\"0\" y=\"{}\" class=\"label\">{}</text><rect x=\"200\" y=\"{y}\" width=\"{w}\" height=\"18\" class=\"bar\"/><text x=\"{}\" y=\"{}\" class=\"value\">{n}</text>",
            y + 14,
            escape(&shorten(label, 28)),
            205 + w,
            y + 14
        );
    }
    svg.push_str("</svg>\n");
    svg
}
