//! The analysts' workspace (`/ui/`), rendered to HTML strings.
//!
//! This crate owns the workspace's markup: the signed-in layout, the
//! incident list and intake form (and the STIX bundle a filled-in form
//! becomes), an incident's page with its evidence, correlation graph,
//! attribution candidates, ACH matrix and norm assessment, a case's page
//! with every panel step as a form, administration and the audit log. It
//! renders what callers hand it, in the API's own JSON shapes, and escapes
//! every text whatever it holds (evidence is written by attackers). It must
//! never fetch data, know HTTP or storage, or decide who may see what:
//! callers hand it only what the signed-in member may see. Pages use no
//! script, so the portal's strict Content-Security-Policy holds here too.
#![forbid(unsafe_code)]

mod case;
mod incident;
mod intake;

use std::fmt::Write as _;

pub use case::case_page;
pub use geneva_portal::{CONTENT_SECURITY_POLICY, escape, shorten, url_segment};
pub use incident::{IncidentView, correlation_graph, incident_page};
pub use intake::{IntakeError, IntakeForm, SECTORS, intake_bundle, intake_page};

/// Who is signed in, as every page's header shows them, and the token
/// their forms must carry back (cross-site request forgery protection).
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub user: String,
    pub organisation: String,
    pub csrf: String,
    pub admin: bool,
}

/// The hidden field every state-changing form carries.
pub fn csrf_field(s: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(&s.csrf)
    )
}

fn document(title: &str, nav: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · Geneva workspace</title>\n<link rel=\"stylesheet\" href=\"/portal/style.css\">\n\
         </head>\n<body>\n<a href=\"#main\" class=\"skip\">Skip to content</a>\n\
         <header>{nav}</header>\n<main id=\"main\">\n{main}\n</main>\n</body>\n</html>\n",
        escape(&shorten(title, 200))
    )
}

/// A signed-in page: navigation, who is signed in, the content.
pub fn page(s: &Session, title: &str, main: &str) -> String {
    let admin = if s.admin {
        "<a href=\"/ui/admin\">Administration</a> <a href=\"/ui/audit\">Audit log</a> "
    } else {
        ""
    };
    let nav = format!(
        "<nav aria-label=\"Workspace\"><a href=\"/ui/\" accesskey=\"i\">Incidents</a> \
         <a href=\"/ui/search\" accesskey=\"s\">Search</a> \
         <a href=\"/ui/incidents/new\" accesskey=\"n\">Report an incident</a> <a href=\"/ui/cases\" accesskey=\"c\">Cases</a> {admin}\
         <a href=\"/\">Public portal</a> \
         <span>Signed in as {} ({})</span> \
         <form method=\"post\" action=\"/ui/logout\">{}<button type=\"submit\" class=\"secondary\">Sign out</button></form></nav>",
        escape(&s.user),
        escape(&s.organisation),
        csrf_field(s)
    );
    document(title, &nav, main)
}

/// A message above a page's content: an error, or what the last step did.
pub fn flash(error: Option<&str>, notice: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(e) = error {
        let _ = writeln!(
            out,
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(&shorten(e, 2_000))
        );
    }
    if let Some(n) = notice {
        let _ = writeln!(
            out,
            "<p class=\"notice\" role=\"status\">{}</p>",
            escape(&shorten(n, 2_000))
        );
    }
    out
}

/// The sign-in form: members sign in with one of their API tokens.
pub fn login_page(error: Option<&str>) -> String {
    let main = format!(
        "<h1>Sign in</h1>\n{}<form method=\"post\" action=\"/ui/login\">\n\
         <label for=\"token\">Your API token</label>\n\
         <input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"current-password\" required \
         aria-describedby=\"token-help\">\n\
         <p id=\"token-help\">The token an operator gave you (<code>geneva token create</code>); it starts with <code>gva_</code>. \
         The browser keeps it in a cookie only this site's workspace can read, until you sign out.</p>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n",
        flash(error, None)
    );
    document(
        "Sign in",
        "<nav aria-label=\"Workspace\"><a href=\"/\">Public portal</a></nav>",
        &main,
    )
}

/// A page for a refused or failed request, signed in or not.
pub fn error_page(s: Option<&Session>, heading: &str, message: &str) -> String {
    let main = format!(
        "<h1>{}</h1>\n{}<p><a href=\"/ui/\">Back to the workspace</a></p>\n",
        escape(heading),
        flash(Some(message), None)
    );
    match s {
        Some(s) => page(s, heading, &main),
        None => document(heading, "", &main),
    }
}

/// One incident in the list.
#[derive(Debug, Clone, Default)]
pub struct IncidentRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub organisation: String,
    pub tlp: String,
}

/// The workspace's home: incidents the member may see, a page at a time.
pub fn incidents_page(
    s: &Session,
    rows: &[IncidentRow],
    next: Option<&str>,
    notice: Option<&str>,
) -> String {
    let mut main = String::from("<h1>Incidents</h1>\n");
    main.push_str(&flash(None, notice));
    main.push_str(&search_form(""));
    main.push_str(
        "<form method=\"get\" action=\"/ui/incidents\">\
         <label for=\"go\">Open an incident by its STIX id</label>\
         <input type=\"text\" id=\"go\" name=\"id\" placeholder=\"incident--…\">\
         <button type=\"submit\">Open</button></form>\n",
    );
    if rows.is_empty() {
        main.push_str("<p>No incident you may see has been reported yet. <a href=\"/ui/incidents/new\">Report one</a>.</p>\n");
    } else {
        main.push_str(
            "<table>\n<caption>Incidents you may see, most recently reported or updated first</caption>\n<thead><tr><th scope=\"col\">Incident</th>\
             <th scope=\"col\">Reported by</th><th scope=\"col\">TLP</th><th scope=\"col\">Created</th></tr></thead>\n<tbody>\n",
        );
        for r in rows {
            let _ = writeln!(
                main,
                "<tr><td><a href=\"/ui/incidents/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                url_segment(&r.id),
                escape(&shorten(&r.name, 200)),
                escape(&r.organisation),
                escape(&r.tlp),
                escape(&r.created)
            );
        }
        main.push_str("</tbody>\n</table>\n");
    }
    if let Some(next) = next {
        let _ = writeln!(
            main,
            "<p><a href=\"/ui/?after={}\" rel=\"next\">Next page</a></p>",
            url_segment(next)
        );
    }
    page(s, "Incidents", &main)
}

fn search_form(query: &str) -> String {
    format!(
        "<form method=\"get\" action=\"/ui/search\" role=\"search\">\
         <label for=\"q\">Search by indicator</label>\
         <input type=\"text\" id=\"q\" name=\"q\" maxlength=\"4096\" value=\"{}\" \
         placeholder=\"an IP address or range, domain, URL, e-mail address or file hash\">\
         <button type=\"submit\">Search</button></form>\n",
        escape(query)
    )
}

/// One item a search found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub id: String,
    pub kind: String,
    pub name: String,
}

/// What an indicator search found: the value as normalised and the items
/// carrying it, or why there is no answer.
#[derive(Debug, Clone)]
pub enum SearchOutcome {
    Found {
        value: String,
        items: Vec<Found>,
        /// Too common a value: more than this many carry it.
        more_than: Option<usize>,
    },
    Refused(String),
}

pub fn search_page(s: &Session, query: &str, outcome: Option<&SearchOutcome>) -> String {
    let mut main = String::from("<h1>Search by indicator</h1>\n");
    main.push_str(&search_form(query));
    match outcome {
        None => {}
        Some(SearchOutcome::Refused(why)) => main.push_str(&flash(Some(why), None)),
        Some(SearchOutcome::Found {
            value,
            items,
            more_than,
        }) => {
            let _ = writeln!(
                main,
                "<p role=\"status\">Searched for <code>{}</code>: {} you may see.</p>",
                escape(value),
                match items.len() {
                    1 => "1 item".to_owned(),
                    n => format!("{n} items"),
                }
            );
            if let Some(n) = more_than {
                let _ = writeln!(
                    main,
                    "<p class=\"notice\">More than {n} items carry this value: too common to list (correlation leaves it out too).</p>"
                );
            }
            if !items.is_empty() {
                main.push_str("<table><thead><tr><th scope=\"col\">Item</th><th scope=\"col\">Type</th></tr></thead><tbody>\n");
                for f in items {
                    let _ = writeln!(
                        main,
                        "<tr><td><a href=\"/ui/incidents/{}\">{}</a></td><td>{}</td></tr>",
                        url_segment(&f.id),
                        escape(&shorten(&f.name, 200)),
                        escape(&f.kind)
                    );
                }
                main.push_str("</tbody></table>\n");
            }
        }
    }
    page(s, "Search by indicator", &main)
}

/// One case in a list.
#[derive(Debug, Clone, Default)]
pub struct CaseRow {
    pub id: String,
    pub title: String,
    pub status: String,
    pub subjects: Vec<String>,
}

pub fn cases_table(rows: &[CaseRow]) -> String {
    if rows.is_empty() {
        return "<p>No case.</p>\n".into();
    }
    let mut out = String::from(
        "<table>\n<thead><tr><th scope=\"col\">Case</th><th scope=\"col\">Title</th><th scope=\"col\">Status</th></tr></thead>\n<tbody>\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"/ui/cases/{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            url_segment(&r.id),
            escape(&r.id),
            escape(&shorten(&r.title, 200)),
            escape(&r.status)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

pub fn cases_page(s: &Session, rows: &[CaseRow]) -> String {
    let main = format!(
        "<h1>Cases</h1>\n<p>Cases are opened from an incident's page.</p>\n{}",
        cases_table(rows)
    );
    page(s, "Cases", &main)
}

#[derive(Debug, Clone, Default)]
pub struct OrganisationRow {
    pub name: String,
    pub kind: String,
    pub country: String,
}

#[derive(Debug, Clone, Default)]
pub struct UserRow {
    pub name: String,
    pub organisation: String,
}

#[derive(Debug, Clone, Default)]
pub struct TokenRow {
    pub id: String,
    pub organisation: String,
    pub user: String,
    pub scopes: String,
    pub label: String,
    pub created: String,
    pub revoked: Option<String>,
}

/// What the administration page lists.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub organisations: Vec<OrganisationRow>,
    pub users: Vec<UserRow>,
    pub tokens: Vec<TokenRow>,
    pub kinds: Vec<String>,
    pub scopes: Vec<String>,
}

/// Organisations, users and tokens, with forms to add them and to revoke
/// tokens. `new_token` is a secret just created, shown this once.
pub fn admin_page(
    s: &Session,
    d: &Directory,
    new_token: Option<&str>,
    error: Option<&str>,
    notice: Option<&str>,
) -> String {
    let csrf = csrf_field(s);
    let mut main = String::from("<h1>Administration</h1>\n");
    main.push_str(&flash(error, notice));
    if let Some(t) = new_token {
        let _ = writeln!(
            main,
            "<section aria-labelledby=\"new-token\"><h2 id=\"new-token\">New token</h2>\
             <p>Copy it now: it is not stored and will not be shown again.</p>\
             <p class=\"secret\" id=\"new-token-value\">{}</p></section>",
            escape(t)
        );
    }
    main.push_str("<h2>Organisations</h2>\n<table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Kind</th><th scope=\"col\">Country</th></tr></thead><tbody>\n");
    for o in &d.organisations {
        let _ = writeln!(
            main,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&o.name),
            escape(&o.kind),
            escape(&o.country)
        );
    }
    main.push_str("</tbody></table>\n");
    let kinds: String = d
        .kinds
        .iter()
        .map(|k| format!("<option value=\"{0}\">{0}</option>", escape(k)))
        .collect();
    let _ = writeln!(
        main,
        "<form method=\"post\" action=\"/ui/admin/organisations\">{csrf}<fieldset><legend>Add an organisation</legend>\
         <label for=\"org-name\">Name</label><input type=\"text\" id=\"org-name\" name=\"name\" required maxlength=\"200\">\
         <label for=\"org-kind\">Kind</label><select id=\"org-kind\" name=\"kind\">{kinds}</select>\
         <label for=\"org-country\">Country (ISO 3166 two-letter code)</label><input type=\"text\" id=\"org-country\" name=\"country\" maxlength=\"2\">\
         <button type=\"submit\">Add organisation</button></fieldset></form>"
    );
    main.push_str("<h2>Users</h2>\n<table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Organisation</th></tr></thead><tbody>\n");
    for u in &d.users {
        let _ = writeln!(
            main,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(&u.name),
            escape(&u.organisation)
        );
    }
    main.push_str("</tbody></table>\n");
    let orgs: String = d
        .organisations
        .iter()
        .map(|o| format!("<option value=\"{0}\">{0}</option>", escape(&o.name)))
        .collect();
    let _ = writeln!(
        main,
        "<form method=\"post\" action=\"/ui/admin/users\">{csrf}<fieldset><legend>Add a user</legend>\
         <label for=\"user-name\">Name</label><input type=\"text\" id=\"user-name\" name=\"name\" required maxlength=\"200\">\
         <label for=\"user-org\">Organisation</label><select id=\"user-org\" name=\"organisation\">{orgs}</select>\
         <button type=\"submit\">Add user</button></fieldset></form>"
    );
    main.push_str("<h2>Tokens</h2>\n<table><thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Organisation</th><th scope=\"col\">User</th><th scope=\"col\">Scopes</th><th scope=\"col\">Label</th><th scope=\"col\">Created</th><th scope=\"col\">Status</th></tr></thead><tbody>\n");
    for t in &d.tokens {
        let status = match &t.revoked {
            Some(at) => format!("revoked {}", escape(at)),
            None => format!(
                "<form method=\"post\" action=\"/ui/admin/tokens/revoke\" class=\"inline\">{csrf}\
                 <input type=\"hidden\" name=\"id\" value=\"{}\"><button type=\"submit\" class=\"secondary\" \
                 aria-label=\"Revoke token {}\">Revoke</button></form>",
                escape(&t.id),
                escape(&t.id)
            ),
        };
        let _ = writeln!(
            main,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{status}</td></tr>",
            escape(&t.id),
            escape(&t.organisation),
            escape(&t.user),
            escape(&t.scopes),
            escape(&t.label),
            escape(&t.created)
        );
    }
    main.push_str("</tbody></table>\n");
    let scopes: String = d
        .scopes
        .iter()
        .map(|sc| {
            format!(
                "<label><input type=\"checkbox\" name=\"scope\" value=\"{0}\"> {0}</label>",
                escape(sc)
            )
        })
        .collect();
    let users: String =
        std::iter::once("<option value=\"\">(the organisation itself)</option>".to_owned())
            .chain(
                d.users
                    .iter()
                    .map(|u| format!("<option value=\"{0}\">{0}</option>", escape(&u.name))),
            )
            .collect();
    let _ = writeln!(
        main,
        "<form method=\"post\" action=\"/ui/admin/tokens\">{csrf}<fieldset><legend>Create a token</legend>\
         <label for=\"token-org\">Organisation</label><select id=\"token-org\" name=\"organisation\">{orgs}</select>\
         <label for=\"token-user\">User</label><select id=\"token-user\" name=\"user\">{users}</select>\
         <fieldset><legend>Scopes</legend>{scopes}</fieldset>\
         <label for=\"token-label\">Label</label><input type=\"text\" id=\"token-label\" name=\"label\" maxlength=\"200\">\
         <button type=\"submit\">Create token</button></fieldset></form>"
    );
    page(s, "Administration", &main)
}

#[derive(Debug, Clone, Default)]
pub struct AuditRow {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub channel: String,
    pub target: String,
    pub detail: String,
}

/// The audit log, oldest first, a page at a time.
pub fn audit_page(s: &Session, rows: &[AuditRow], next: Option<u64>) -> String {
    let mut main = String::from(
        "<h1>Audit log</h1>\n<p>Every read of TLP:AMBER or stricter material, every import, correlation, attribution, assessment and case step.</p>\n",
    );
    main.push_str("<table><thead><tr><th scope=\"col\">#</th><th scope=\"col\">At</th><th scope=\"col\">Who</th><th scope=\"col\">Action</th><th scope=\"col\">Through</th><th scope=\"col\">On</th><th scope=\"col\">Detail</th></tr></thead><tbody>\n");
    for r in rows {
        let _ = writeln!(
            main,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            r.seq,
            escape(&r.at),
            escape(&shorten(&r.actor, 200)),
            escape(&r.action),
            escape(&r.channel),
            escape(&shorten(&r.target, 200)),
            escape(&shorten(&r.detail, 500))
        );
    }
    main.push_str("</tbody></table>\n");
    if let Some(next) = next {
        let _ = writeln!(
            main,
            "<p><a href=\"/ui/audit?after={next}\" rel=\"next\">Next page</a></p>"
        );
    }
    page(s, "Audit log", &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            user: "<b>eve</b>".into(),
            organisation: "Org\u{202E}gro".into(),
            csrf: "\"><script>".into(),
            admin: true,
        }
    }

    #[test]
    fn the_layout_escapes_who_is_signed_in() {
        let html = page(&session(), "<title>", "");
        assert!(!html.contains("<b>eve"));
        assert!(!html.contains("\"><script>"));
        assert!(html.contains("[U+202E]"));
        assert!(html.contains("&lt;title&gt;"));
    }

    #[test]
    fn rows_are_escaped_and_ids_stay_in_their_segment() {
        let rows = [IncidentRow {
            id: "incident--x\"/../<a>".into(),
            name: "<img src=x onerror=alert(1)>".into(),
            ..Default::default()
        }];
        let html = incidents_page(&session(), &rows, Some("a&b"), None);
        assert!(!html.contains("<img"));
        assert!(html.contains("/ui/incidents/incident--x%22%2F..%2F%3Ca%3E"));
        assert!(html.contains("after=a%26b"));
    }
}
