//! A case's page: where it stands, its parties, members and recusals, its
//! notes, the analyses it was examined with, the draft, the votes and
//! their tally, and every next step as a form.

use std::fmt::Write as _;

use geneva_panel::{CaseFile, Opinion};
use serde_json::Value;

use crate::{Session, csrf_field, escape, flash, page, shorten, url_segment};

fn form(s: &Session, case: &str, action: &str, legend: &str, fields: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/ui/cases/{}/{action}\">{}<fieldset><legend>{legend}</legend>{fields}\
         <button type=\"submit\">{button}</button></fieldset></form>\n",
        url_segment(case),
        csrf_field(s)
    )
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn analyses(file: &CaseFile) -> String {
    if file.analyses.is_empty() {
        return "<p>Not examined yet: “Examine” attaches each subject's attribution and norm assessment.</p>\n".into();
    }
    let mut out = String::new();
    for a in &file.analyses {
        let _ = writeln!(
            out,
            "<h3>{} <small>(examined {})</small></h3>",
            escape(text(&a["subject"])),
            escape(text(&a["at"]))
        );
        let attribution = &a["attribution"];
        if attribution.is_object() {
            let _ = writeln!(
                out,
                "<p>{}</p>\n<p>{}</p>",
                escape(text(&attribution["likelihood_statement"])),
                escape(text(&attribution["confidence_statement"]))
            );
            out.push_str("<ol>");
            for c in attribution["candidates"]
                .as_array()
                .into_iter()
                .flatten()
                .take(5)
            {
                let _ = write!(
                    out,
                    "<li>{} {} — {:.0}% ({}), sponsor {}</li>",
                    escape(&shorten(text(&c["actor"]), 200)),
                    escape(text(&c["attack_id"])),
                    c["probability"].as_f64().unwrap_or(0.0) * 100.0,
                    escape(text(&c["likelihood"])),
                    escape(if c["sponsor"].is_string() {
                        text(&c["sponsor"])
                    } else {
                        "unknown"
                    })
                );
            }
            out.push_str("</ol>\n");
        } else {
            out.push_str("<p>No attribution (no knowledge base is imported).</p>\n");
        }
        let breaches: Vec<String> = a["assessment"]["norms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| {
                let v = text(&n["verdict"]);
                v.contains("breach") && v != "no breach"
            })
            .map(|n| {
                format!(
                    "<li>{}: {}</li>",
                    escape(text(&n["norm"])),
                    escape(text(&n["verdict"]))
                )
            })
            .collect();
        if !breaches.is_empty() {
            let _ = writeln!(out, "<p>Norms at issue:</p><ul>{}</ul>", breaches.concat());
        }
    }
    out
}

/// The leading candidate of the first examined subject, to fill in the draft.
fn leading(file: &CaseFile) -> Option<&Value> {
    file.analyses
        .iter()
        .find_map(|a| a["attribution"]["candidates"].as_array()?.first())
}

pub fn case_page(
    s: &Session,
    file: &CaseFile,
    error: Option<&str>,
    notice: Option<&str>,
) -> String {
    let c = &file.case;
    let id = c.id.as_str();
    let mut main = format!(
        "<h1>{} <small>{}</small></h1>\n",
        escape(&shorten(&c.title, 300)),
        escape(id)
    );
    main.push_str(&flash(error, notice));
    let _ = writeln!(
        main,
        "<p>Status: <strong id=\"case-status\">{}</strong>.</p>",
        c.status.as_str()
    );
    if let Some(p) = &file.published {
        let _ = writeln!(
            main,
            "<p class=\"notice\">Published {} as <a href=\"/portal/findings/{}\">{}</a>.</p>",
            escape(&p.at),
            url_segment(&p.report),
            escape(&p.report)
        );
    }
    main.push_str("<h2>Subjects</h2>\n<ul>\n");
    for subject in &c.subjects {
        let released = if file.released.contains(subject) {
            " (released for publication)"
        } else {
            ""
        };
        let _ = writeln!(
            main,
            "<li><a href=\"/ui/incidents/{}\">{}</a>{released}</li>",
            url_segment(subject),
            escape(subject)
        );
    }
    main.push_str("</ul>\n<h2>Parties</h2>\n");
    let join = |set: &std::collections::BTreeSet<String>| {
        if set.is_empty() {
            "none".to_owned()
        } else {
            set.iter().map(|x| escape(x)).collect::<Vec<_>>().join(", ")
        }
    };
    let _ = writeln!(
        main,
        "<p>Victim countries: {}. Victim organisations: {}. Suspected sponsors: {}.</p>",
        join(&file.parties.victim_countries),
        join(&file.parties.victim_organisations),
        join(&file.parties.suspected_sponsors)
    );
    main.push_str("<h2>Panel</h2>\n");
    if file.members.is_empty() {
        main.push_str("<p>No member assigned yet.</p>\n");
    } else {
        main.push_str("<table><thead><tr><th scope=\"col\">Member</th><th scope=\"col\">Organisation</th><th scope=\"col\">Country</th><th scope=\"col\">Recused</th></tr></thead><tbody>\n");
        for m in &file.members {
            let recused = file
                .recusals
                .iter()
                .find(|r| r.member == m.id)
                .map(|r| escape(&r.reason))
                .unwrap_or_else(|| "no".into());
            let _ = writeln!(
                main,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{recused}</td></tr>",
                escape(&m.id),
                escape(&m.organisation),
                escape(m.country.as_deref().unwrap_or("—"))
            );
        }
        main.push_str("</tbody></table>\n");
    }
    main.push_str("<h2>Analyses</h2>\n");
    main.push_str(&analyses(file));
    main.push_str("<h2>Draft finding</h2>\n");
    match &file.draft {
        None => main.push_str("<p>No draft yet.</p>\n"),
        Some(d) => {
            let _ = writeln!(
                main,
                "<p id=\"draft\"><strong>{}</strong>. Actor: {}. Sponsor state: {}. {} ({:.0}%), {} confidence.</p>",
                escape(&d.title),
                escape(d.actor.as_ref().map_or("none", |(_, n)| n.as_str())),
                escape(d.sponsor_state.as_deref().unwrap_or("none")),
                escape(&d.likelihood),
                d.probability * 100.0,
                escape(&d.confidence)
            );
            if !d.norms.is_empty() {
                main.push_str("<ul>");
                for n in &d.norms {
                    let _ = write!(
                        main,
                        "<li>{} {}: {}</li>",
                        escape(&n.norm),
                        escape(&n.title),
                        escape(&n.verdict)
                    );
                }
                main.push_str("</ul>\n");
            }
        }
    }
    main.push_str("<h2>Votes</h2>\n");
    let tally = file.tally();
    let _ = writeln!(main, "<p id=\"tally\">{}</p>", escape(&tally.sentence()));
    if !file.votes.is_empty() {
        main.push_str("<table><thead><tr><th scope=\"col\">Member</th><th scope=\"col\">Opinion</th><th scope=\"col\">Explanation</th><th scope=\"col\">At</th></tr></thead><tbody>\n");
        for v in &file.votes {
            let _ = writeln!(
                main,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&v.member),
                v.opinion.as_str(),
                escape(&shorten(v.explanation.as_deref().unwrap_or(""), 2_000)),
                escape(&v.at)
            );
        }
        main.push_str("</tbody></table>\n");
    }
    main.push_str("<h2>Notes</h2>\n");
    if file.notes.is_empty() {
        main.push_str("<p>No note yet.</p>\n");
    }
    for n in &file.notes {
        let _ = writeln!(
            main,
            "<article><p><strong>{}</strong> <small>{}</small></p><p>{}</p></article>",
            escape(&n.by),
            escape(&n.at),
            escape(&shorten(&n.text, 10_000))
        );
    }
    main.push_str("<h2>History</h2>\n<ol>\n");
    for t in &c.history {
        let _ = writeln!(
            main,
            "<li>{} → {} by {} at {}{}</li>",
            t.from.as_str(),
            t.to.as_str(),
            escape(&t.by),
            escape(&t.at),
            t.reason
                .as_deref()
                .map(|r| format!(": {}", escape(&shorten(r, 1_000))))
                .unwrap_or_default()
        );
    }
    main.push_str("</ol>\n");

    if !c.status.is_final() {
        main.push_str("<h2>Next steps</h2>\n<div class=\"grid\">\n");
        main.push_str(&form(
            s,
            id,
            "members",
            "Assign panel members",
            "<label for=\"users\">User names (comma-separated)</label><input type=\"text\" id=\"users\" name=\"users\" required>",
            "Assign",
        ));
        main.push_str(&form(
            s,
            id,
            "notes",
            "Add a note",
            "<label for=\"note\">Note</label><textarea id=\"note\" name=\"text\" required maxlength=\"100000\"></textarea>",
            "Add note",
        ));
        main.push_str(&form(
            s,
            id,
            "examine",
            "Examine the subjects",
            "<p>Attaches each subject's attribution and norm assessment as you may see them.</p>",
            "Examine",
        ));
        let lead = leading(file);
        let lead_name = lead.map(|c| text(&c["actor"])).unwrap_or_default();
        let lead_sponsor = lead.map(|c| text(&c["sponsor"])).unwrap_or_default();
        let lead_probability = lead
            .and_then(|c| c["probability"].as_f64())
            .map(|p| format!("{:.2}", p))
            .unwrap_or_default();
        let confidences: String = ["low", "moderate", "high"]
            .iter()
            .map(|x| format!("<option value=\"{x}\">{x}</option>"))
            .collect();
        main.push_str(&form(
            s,
            id,
            "draft",
            "Draft the finding",
            &format!(
                "<label for=\"draft-title\">Title</label><input type=\"text\" id=\"draft-title\" name=\"title\" required maxlength=\"1000\" value=\"{}\">\
                 <label for=\"draft-actor\">Attributed actor's STIX id (intrusion-set or threat-actor; empty for none)</label><input type=\"text\" id=\"draft-actor\" name=\"actor\">\
                 <label for=\"draft-actor-name\">Attributed actor's name</label><input type=\"text\" id=\"draft-actor-name\" name=\"actor_name\" value=\"{}\">\
                 <label for=\"draft-sponsor\">Sponsor state (two-letter code; empty for none)</label><input type=\"text\" id=\"draft-sponsor\" name=\"sponsor\" maxlength=\"2\" value=\"{}\">\
                 <label for=\"draft-probability\">Probability (0–1)</label><input type=\"text\" id=\"draft-probability\" name=\"probability\" inputmode=\"decimal\" required value=\"{}\">\
                 <label for=\"draft-confidence\">Confidence</label><select id=\"draft-confidence\" name=\"confidence\">{confidences}</select>\
                 <p>The norms' verdicts come from the subjects' assessments.</p>",
                escape(&shorten(&c.title, 1_000)),
                escape(lead_name),
                escape(lead_sponsor),
                escape(&lead_probability)
            ),
            "Save draft",
        ));
        let next: String = c
            .status
            .next()
            .iter()
            .filter(|st| st.as_str() != "published")
            .map(|st| format!("<option value=\"{0}\">{0}</option>", st.as_str()))
            .collect();
        if !next.is_empty() {
            main.push_str(&form(
                s,
                id,
                "status",
                "Move the case",
                &format!(
                    "<label for=\"status\">To</label><select id=\"status\" name=\"status\">{next}</select>\
                     <label for=\"reason\">Reason</label><input type=\"text\" id=\"reason\" name=\"reason\" maxlength=\"1000\">"
                ),
                "Move",
            ));
        }
        let opinions: String = Opinion::ALL
            .iter()
            .map(|o| format!("<option value=\"{0}\">{0}</option>", o.as_str()))
            .collect();
        main.push_str(&form(
            s,
            id,
            "votes",
            "Vote on the draft",
            &format!(
                "<label for=\"opinion\">Your opinion</label><select id=\"opinion\" name=\"opinion\">{opinions}</select>\
                 <label for=\"explanation\">Explanation (required to dissent)</label><textarea id=\"explanation\" name=\"explanation\" maxlength=\"100000\"></textarea>"
            ),
            "Cast vote",
        ));
        let subjects: String = c
            .subjects
            .iter()
            .map(|x| format!("<option value=\"{0}\">{0}</option>", escape(x)))
            .collect();
        main.push_str(&form(
            s,
            id,
            "releases",
            "Release an item for publication",
            &format!(
                "<p>The owner's decision: the organisation that submitted it, or an operator.</p>\
                 <label for=\"release-id\">Item</label><select id=\"release-id\" name=\"id\">{subjects}</select>"
            ),
            "Release",
        ));
        main.push_str(&form(
            s,
            id,
            "publish",
            "Publish the finding",
            "<p>Needs a vote that carried. The finding joins the public transparency log and cannot be changed afterwards.</p>",
            "Publish",
        ));
        main.push_str("</div>\n");
    }
    page(s, &format!("{id}: {}", c.title), &main)
}
