//! `/ui/`: the analysts' workspace. Members sign in with one of their API
//! tokens, which the browser keeps in an HttpOnly, SameSite=Strict cookie
//! scoped to `/ui/` (the API and TAXII never read it). Every form that
//! changes something carries a token derived from the session's, checked
//! before anything else (cross-site request forgery). Each page calls the
//! same steps as the API, with the same scopes, visibility rules and
//! audit entries (channel `ui`); `geneva-workspace` renders them.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use geneva_access::{ApiToken, CountryCode, OrgKind, Principal, Scope, Scopes, TokenId};
use geneva_store::{Cursor, ListQuery, NewAuditEntry, TokenRecord};
use geneva_workspace as ui;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::api::{SharingParams, viewer_of};
use crate::auth::{SESSION_COOKIE, SessionToken, require};
use crate::cases::{
    DraftBody, MembersBody, NoteBody, OpenBody, ReleaseBody, StatusBody, Step, VoteBody,
};
use crate::error::ApiError;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui", get(|| async { redirect("/ui/") }))
        .route("/ui/", get(home))
        .route("/ui/login", get(login_form).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/incidents", get(open_by_id).post(submit_form))
        .route("/ui/incidents/new", get(intake))
        .route("/ui/incidents/{id}", get(incident))
        .route("/ui/bundles", post(upload))
        .route("/ui/search", get(search))
        .route("/ui/cases", get(cases).post(open_case))
        .route("/ui/cases/{id}", get(case))
        .route("/ui/cases/{id}/publish", post(publish))
        .route("/ui/cases/{id}/{step}", post(case_step))
        .route("/ui/admin", get(admin))
        .route("/ui/admin/organisations", post(add_organisation))
        .route("/ui/admin/users", post(add_user))
        .route("/ui/admin/tokens", post(create_token))
        .route("/ui/admin/tokens/revoke", post(revoke_token))
        .route("/ui/audit", get(audit))
}

/// A workspace page: the pages' security headers, and never cached (it
/// shows what one member may see).
fn html(status: StatusCode, body: String) -> Response {
    let mut response = public_html(status, body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An HTML page with the security headers every page has: the strict
/// Content-Security-Policy, nosniff, no referrer.
pub(crate) fn public_html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(geneva_portal::CONTENT_SECURITY_POLICY),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        body,
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/ui/")),
        )],
    )
        .into_response()
}

/// The form token for a session: derived from its secret, so a page of
/// another site can neither read nor forge it.
fn csrf_of(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"geneva workspace form\0");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

/// Who is signed in, and how their pages show them.
struct Ui {
    principal: Principal,
    session: ui::Session,
}

impl Ui {
    fn fail(&self, e: ApiError) -> Response {
        failure(Some(&self.session), e)
    }

    /// Refuses a form whose token is not this session's.
    fn check(&self, csrf: &str) -> Result<(), Box<Response>> {
        let expected = self.session.csrf.as_bytes();
        let given = csrf.as_bytes();
        let same = expected.len() == given.len()
            && expected
                .iter()
                .zip(given)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(Box::new(self.fail(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this form is stale or came from another site; reload the page and try again",
            ))))
        }
    }

    /// A posted form, understood and carrying this session's form token.
    fn accept<T: FormToken>(
        &self,
        form: Result<Form<T>, FormRejection>,
    ) -> Result<T, Box<Response>> {
        let Form(form) = form.map_err(|e| {
            Box::new(self.fail(ApiError::bad_request(format!(
                "the form was not understood: {}",
                e.body_text()
            ))))
        })?;
        self.check(form.form_token())?;
        Ok(form)
    }
}

fn failure(s: Option<&ui::Session>, e: ApiError) -> Response {
    let heading = match e.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::UNAUTHORIZED => "Sign in needed",
        s if s.is_server_error() => "Something went wrong",
        _ => "Refused",
    };
    let mut message = e.message;
    for issue in e.issues.iter().take(20) {
        message.push_str(&format!(
            "\n{}{}: {}",
            issue.object_id.as_deref().unwrap_or(""),
            if issue.path.is_empty() {
                String::new()
            } else {
                format!(" {}", issue.path)
            },
            issue.message
        ));
    }
    html(e.status, ui::error_page(s, heading, &message))
}

/// The signed-in member, or a redirect to the sign-in page.
async fn signed_in(
    state: &AppState,
    principal: &Principal,
    token: Option<Extension<SessionToken>>,
) -> Result<Ui, Response> {
    let (Some(Extension(SessionToken(token))), Principal::Member { .. }) = (token, principal)
    else {
        return Err(redirect("/ui/login"));
    };
    let Principal::Member {
        organisation_name,
        user,
        ..
    } = principal
    else {
        return Err(redirect("/ui/login"));
    };
    let user_name = match user {
        Some(id) => match state.store.users().await {
            Ok(users) => users
                .into_iter()
                .find(|u| u.id == *id)
                .map(|u| u.name)
                .unwrap_or_else(|| organisation_name.clone()),
            Err(e) => return Err(failure(None, e.into())),
        },
        None => organisation_name.clone(),
    };
    Ok(Ui {
        session: ui::Session {
            user: user_name,
            organisation: organisation_name.clone(),
            csrf: csrf_of(&token),
            admin: principal.has(Scope::Admin),
        },
        principal: principal.clone(),
    })
}

macro_rules! signed_in {
    ($state:expr, $principal:expr, $token:expr) => {
        match signed_in(&$state, &$principal, $token).await {
            Ok(ui) => ui,
            Err(response) => return response,
        }
    };
}

/// A form that carries the session's form token.
trait FormToken {
    fn form_token(&self) -> &str;
}

macro_rules! form_token {
    ($($form:ty),*) => {
        $(impl FormToken for $form {
            fn form_token(&self) -> &str {
                &self.csrf
            }
        })*
    };
}

impl FormToken for Vec<(String, String)> {
    fn form_token(&self) -> &str {
        self.iter()
            .find(|(k, _)| k == "csrf")
            .map_or("", |(_, v)| v.as_str())
    }
}

async fn login_form() -> Response {
    html(StatusCode::OK, ui::login_page(None))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    // A sign-in posted from another site would sign the browser in to
    // someone else's account (login forgery): a browser says where a form
    // came from, and only this site's own form is taken.
    if !same_origin(&headers) {
        return html(
            StatusCode::FORBIDDEN,
            ui::login_page(Some("sign in from this site's own sign-in page")),
        );
    }
    let ip = peer.ip();
    if state.throttle.blocked(ip) {
        return html(
            StatusCode::TOO_MANY_REQUESTS,
            ui::login_page(Some(
                "too many failed sign-ins from this address; wait a minute",
            )),
        );
    }
    let Ok(Form(form)) = form else {
        return html(
            StatusCode::BAD_REQUEST,
            ui::login_page(Some("the form was not understood")),
        );
    };
    let raw = form.token.trim().to_owned();
    let principal = match ApiToken::parse(&raw) {
        Ok(token) => match crate::auth::resolve(&state, &token).await {
            Ok(p) => p,
            Err(e) => return failure(None, e),
        },
        Err(_) => None,
    };
    if principal.is_none() {
        state.throttle.record_failure(ip);
        return html(
            StatusCode::UNAUTHORIZED,
            ui::login_page(Some("that token is unknown, revoked or mistyped")),
        );
    }
    // Secure when the request reached us (or our proxy) over TLS.
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let cookie = format!(
        "{SESSION_COOKIE}={raw}; Path=/ui/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    let mut response = redirect("/ui/");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// Whether a browser says the request came from this site's own page:
/// `Sec-Fetch-Site` where the browser sends it (every current one does),
/// else `Origin` against `Host`. The pages' no-referrer policy makes
/// browsers send `Origin: null` with form posts, which tells nothing and
/// passes, as does a request from no browser at all.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none");
    }
    match text("origin") {
        None | Some("null") => true,
        Some(origin) => {
            let origin_host = origin
                .split_once("://")
                .map_or(origin, |(_, rest)| rest)
                .trim_end_matches('/');
            text("host").is_some_and(|host| origin_host.eq_ignore_ascii_case(host))
        }
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    if let Err(r) = ui.accept(form) {
        return *r;
    }
    let mut response = redirect("/ui/login");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "geneva_session=; Path=/ui/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

#[derive(Deserialize)]
struct Paging {
    after: Option<String>,
}

async fn home(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    paging: Result<Query<Paging>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    let after = paging.ok().and_then(|Query(p)| p.after).map(Cursor);
    match incident_rows(&state, &ui, after).await {
        Ok((rows, next)) => html(
            StatusCode::OK,
            ui::incidents_page(&ui.session, &rows, next.as_deref(), None),
        ),
        Err(e) => ui.fail(e),
    }
}

const PAGE: usize = 50;

async fn incident_rows(
    state: &AppState,
    ui: &Ui,
    after: Option<Cursor>,
) -> Result<(Vec<ui::IncidentRow>, Option<String>), ApiError> {
    crate::api::require_read(&ui.principal)?;
    let page = state
        .store
        .list(
            &ListQuery {
                types: vec!["incident".into()],
                since: None,
                after,
                limit: PAGE,
                newest_first: true,
            },
            &viewer_of(&ui.principal),
        )
        .await?;
    crate::api::audit_reads(state, &ui.principal, "ui", &page.items).await?;
    let rows = page
        .items
        .iter()
        .map(|v| {
            let o: Value = serde_json::from_str(&v.canonical).unwrap_or(Value::Null);
            ui::IncidentRow {
                id: v.id.clone(),
                name: o["name"].as_str().unwrap_or(&v.id).to_owned(),
                created: o["created"].as_str().unwrap_or_default().to_owned(),
                organisation: v.organisation.clone(),
                tlp: v.tlp.to_string(),
            }
        })
        .collect();
    Ok((rows, page.next.map(|c| c.0)))
}

#[derive(Deserialize)]
struct OpenById {
    id: String,
}

async fn open_by_id(Query(q): Query<OpenById>) -> Response {
    redirect(&format!(
        "/ui/incidents/{}",
        geneva_portal::url_segment(q.id.trim())
    ))
}

async fn intake(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    html(
        StatusCode::OK,
        ui::intake_page(&ui.session, &ui::IntakeForm::default(), None),
    )
}

#[derive(Deserialize)]
struct IntakeFields {
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    victim: String,
    #[serde(default)]
    sector: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    techniques: String,
    #[serde(default)]
    software: String,
    #[serde(default)]
    indicators: String,
    #[serde(default)]
    tlp: String,
}

fn actor(ui: &Ui) -> String {
    format!("{} (workspace)", crate::api::actor_of(&ui.principal))
}

async fn submit_form(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    form: Result<Form<IntakeFields>, FormRejection>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    let f = match ui.accept(form) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if let Err(e) = require(&ui.principal, Scope::Submit) {
        return ui.fail(e);
    }
    let form = ui::IntakeForm {
        name: f.name,
        description: f.description,
        victim: f.victim,
        sector: f.sector,
        country: f.country,
        techniques: f.techniques,
        software: f.software,
        indicators: f.indicators,
        tlp: f.tlp,
    };
    let refused = |message: String, form: &ui::IntakeForm| {
        html(
            StatusCode::UNPROCESSABLE_ENTITY,
            ui::intake_page(&ui.session, form, Some(&message)),
        )
    };
    let now = geneva_stix::timestamp::now_rfc3339();
    let (id, bundle) = match ui::intake_bundle(&form, &now) {
        Ok(x) => x,
        Err(e) => return refused(e.to_string(), &form),
    };
    let sharing = SharingParams {
        default_tlp: Some(if form.tlp.is_empty() {
            "amber".into()
        } else {
            form.tlp.clone()
        }),
        ..SharingParams::default()
    };
    let body = Bytes::from(bundle.to_string());
    match crate::api::submit_audited(&state, &ui.principal, &sharing, body, actor(&ui), "ui").await
    {
        Ok(_) => redirect(&format!(
            "/ui/incidents/{}",
            geneva_portal::url_segment(&id)
        )),
        Err(e) => refused(e.message, &form),
    }
}

/// A bundle uploaded as a file: imported all or nothing like a POST to
/// `/api/v1/bundles`.
async fn upload(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(e) => return ui.fail(ApiError::bad_request(e.body_text())),
    };
    let (mut csrf, mut tlp, mut bundle) = (None, None, None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return ui.fail(ApiError::bad_request(format!(
                    "the upload was cut short or malformed: {e}"
                )));
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        // The form token comes first (the page's form puts it first), so a
        // forged form's file is refused before it is read.
        if name == "bundle" && csrf.is_none() {
            return ui.fail(ApiError::bad_request(
                "the form token must come before the file; reload the page and upload again",
            ));
        }
        let data = match field.bytes().await {
            Ok(d) => d,
            Err(e) => {
                return ui.fail(ApiError::bad_request(format!(
                    "the upload was cut short or malformed: {e}"
                )));
            }
        };
        match name.as_str() {
            "csrf" => csrf = Some(String::from_utf8_lossy(&data).into_owned()),
            "tlp" => tlp = Some(String::from_utf8_lossy(&data).into_owned()),
            "bundle" => bundle = Some(data),
            _ => {}
        }
    }
    if let Err(r) = ui.check(csrf.as_deref().unwrap_or_default()) {
        return *r;
    }
    if let Err(e) = require(&ui.principal, Scope::Submit) {
        return ui.fail(e);
    }
    let Some(bundle) = bundle.filter(|b| !b.is_empty()) else {
        return ui.fail(ApiError::bad_request("choose a bundle file to upload"));
    };
    let sharing = SharingParams {
        default_tlp: tlp,
        ..SharingParams::default()
    };
    match crate::api::submit_audited(&state, &ui.principal, &sharing, bundle, actor(&ui), "ui")
        .await
    {
        Ok((_, summary)) => {
            let notice = format!(
                "Imported: {} new, {} updated, {} unchanged{}.",
                summary["new"],
                summary["updated"],
                summary["unchanged"],
                if summary["upgraded_from_stix20"] == true {
                    " (upgraded from STIX 2.0)"
                } else {
                    ""
                }
            );
            match incident_rows(&state, &ui, None).await {
                Ok((rows, next)) => html(
                    StatusCode::OK,
                    ui::incidents_page(&ui.session, &rows, next.as_deref(), Some(&notice)),
                ),
                Err(e) => ui.fail(e),
            }
        }
        Err(e) => ui.fail(e),
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// Items carrying an indicator value, as the member may see them.
async fn search(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    let q: String = query
        .ok()
        .and_then(|Query(q)| q.q)
        .unwrap_or_default()
        .chars()
        .take(4_096)
        .collect();
    if q.trim().is_empty() {
        return html(StatusCode::OK, ui::search_page(&ui.session, "", None));
    }
    let outcome = match crate::api::search_report(&state, &ui.principal, &q, "ui").await {
        Ok(found) => {
            let viewer = viewer_of(&ui.principal);
            let mut items = Vec::new();
            let mut read = Vec::new();
            for id in found.items.iter().take(500) {
                match state.store.get(id, &viewer).await {
                    Ok(Some(v)) => {
                        let o: Value = serde_json::from_str(&v.canonical).unwrap_or(Value::Null);
                        items.push(ui::Found {
                            id: id.clone(),
                            kind: v.object_type.clone(),
                            name: o["name"].as_str().unwrap_or(id).to_owned(),
                        });
                        read.push(v);
                    }
                    Ok(None) => {}
                    Err(e) => return ui.fail(e.into()),
                }
            }
            if let Err(e) = crate::api::audit_reads(&state, &ui.principal, "ui", &read).await {
                return ui.fail(e);
            }
            ui::SearchOutcome::Found {
                value: found.key,
                items,
                more_than: found.more_than,
            }
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            ui::SearchOutcome::Refused(e.message)
        }
        Err(e) => return ui.fail(e),
    };
    html(
        StatusCode::OK,
        ui::search_page(&ui.session, &q, Some(&outcome)),
    )
}

/// An analysis's answer, or what to tell the member instead.
fn shown(result: Result<Value, ApiError>) -> Option<Result<Value, String>> {
    Some(result.map_err(|e| e.message))
}

async fn incident(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    Path(id): Path<String>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    match incident_view(&state, &ui, &id).await {
        Ok(view) => html(StatusCode::OK, ui::incident_page(&ui.session, &view, None)),
        Err(e) => ui.fail(e),
    }
}

/// Evidence objects an incident's page lists.
const MAX_EVIDENCE_SHOWN: usize = 500;

async fn incident_view(state: &AppState, ui: &Ui, id: &str) -> Result<ui::IncidentView, ApiError> {
    crate::api::require_read(&ui.principal)?;
    let viewer = viewer_of(&ui.principal);
    let Some(version) = state.store.get(id, &viewer).await? else {
        return Err(ApiError::not_found(id));
    };
    crate::api::audit_reads(state, &ui.principal, "ui", std::slice::from_ref(&version)).await?;
    let object: Value = serde_json::from_str(&version.canonical)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let kind = version.object_type.as_str();
    let subject = matches!(kind, "incident" | "campaign");
    let evidence: Vec<Value> = if subject {
        geneva_analysis::attribution::stored_objects(state.store.as_ref(), &viewer, id)
            .await
            .map_err(crate::attribution::analysis_error)?
            .unwrap_or_default()
            .into_iter()
            .filter(|o| o["id"] != id)
            .take(MAX_EVIDENCE_SHOWN)
            .collect()
    } else {
        Vec::new()
    };
    // What the page shows of each evidence object is a read like any other:
    // TLP:AMBER and above is audited.
    let mut evidence_read = Vec::with_capacity(evidence.len());
    for o in &evidence {
        if let Some(e) = o["id"].as_str()
            && let Some(v) = state.store.get(e, &viewer).await?
        {
            evidence_read.push(v);
        }
    }
    crate::api::audit_reads(state, &ui.principal, "ui", &evidence_read).await?;
    let correlation = shown(crate::api::correlation_report(state, &ui.principal, id, "ui").await);
    let attribution = if subject {
        shown(crate::attribution::attribution_report(state, &ui.principal, id, "ui").await)
    } else {
        None
    };
    let assessment = if kind == "incident" {
        shown(crate::assessment::assessment_report(state, &ui.principal, id, "ui").await)
    } else {
        None
    };
    // The graph names what it links to, as far as the member may see it.
    let mut names = std::collections::HashMap::new();
    let mut named = Vec::new();
    if let Some(Ok(c)) = &correlation {
        for l in c["links"].as_array().into_iter().flatten().take(50) {
            let Some(other) = l["id"].as_str() else {
                continue;
            };
            if let Some(v) = state.store.get(other, &viewer).await?
                && let Ok(o) = serde_json::from_str::<Value>(&v.canonical)
                && let Some(name) = o["name"].as_str()
            {
                names.insert(other.to_owned(), name.to_owned());
                named.push(v);
            }
        }
    }
    crate::api::audit_reads(state, &ui.principal, "ui", &named).await?;
    let panel = ui.principal.has(Scope::Analyse) || ui.principal.has(Scope::Vote);
    let cases = if panel {
        crate::cases::list_cases(state, &ui.principal)
            .await?
            .into_iter()
            .filter(|f| f.case.subjects.iter().any(|s| s == id))
            .map(|f| case_row(&f))
            .collect()
    } else {
        Vec::new()
    };
    Ok(ui::IncidentView {
        object,
        tlp: version.tlp.to_string(),
        organisation: version.organisation,
        evidence,
        correlation,
        attribution,
        assessment,
        cases,
        names,
        may_open_case: subject && ui.principal.has(Scope::Analyse),
    })
}

fn case_row(f: &geneva_panel::CaseFile) -> ui::CaseRow {
    ui::CaseRow {
        id: f.case.id.clone(),
        title: f.case.title.clone(),
        status: f.case.status.as_str().to_owned(),
        subjects: f.case.subjects.clone(),
    }
}

async fn cases(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    match crate::cases::list_cases(&state, &ui.principal).await {
        Ok(files) => {
            let mut rows: Vec<ui::CaseRow> = files.iter().map(case_row).collect();
            rows.reverse();
            html(StatusCode::OK, ui::cases_page(&ui.session, &rows))
        }
        Err(e) => ui.fail(e),
    }
}

#[derive(Deserialize)]
struct OpenFields {
    csrf: String,
    subject: String,
    title: String,
    #[serde(default)]
    sponsors: String,
    quorum: Option<usize>,
}

async fn open_case(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    form: Result<Form<OpenFields>, FormRejection>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    let f = match ui.accept(form) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let body = OpenBody {
        title: f.title,
        subjects: vec![f.subject],
        sponsors: crate::api::comma_list(&f.sponsors)
            .into_iter()
            .map(|s| s.to_ascii_uppercase())
            .collect(),
        corrects: None,
        retracts: None,
        quorum: f.quorum,
        majority: None,
        conflicts: None,
    };
    match crate::cases::open_case(&state, &ui.principal, body).await {
        Ok(file) => redirect(&format!(
            "/ui/cases/{}",
            geneva_portal::url_segment(&file.case.id)
        )),
        Err(e) => ui.fail(e),
    }
}

async fn case(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    Path(id): Path<String>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    match crate::cases::show_case(&state, &ui.principal, &id).await {
        Ok((file, _)) => html(
            StatusCode::OK,
            ui::case_page(&ui.session, &file, None, None),
        ),
        Err(e) => ui.fail(e),
    }
}

/// Every field a case step's form may send; each step reads its own.
#[derive(Deserialize)]
struct StepFields {
    csrf: String,
    users: Option<String>,
    text: Option<String>,
    title: Option<String>,
    actor: Option<String>,
    actor_name: Option<String>,
    sponsor: Option<String>,
    probability: Option<String>,
    confidence: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    opinion: Option<String>,
    explanation: Option<String>,
    id: Option<String>,
}

form_token!(CsrfOnly, IntakeFields, OpenFields, StepFields);

/// A form field left empty is a field not given.
fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn step_of(name: &str, f: StepFields) -> Result<Step, ApiError> {
    let need = |v: Option<String>, what: &str| {
        given(v).ok_or_else(|| ApiError::bad_request(format!("{what} is needed")))
    };
    Ok(match name {
        "members" => Step::Assign(MembersBody {
            users: crate::api::comma_list(&need(f.users, "at least one user name")?),
        }),
        "notes" => Step::Note(NoteBody {
            text: need(f.text, "the note's text")?,
        }),
        "examine" => Step::Examine,
        "draft" => Step::Draft(DraftBody {
            title: need(f.title, "a title")?,
            actor_name: given(f.actor.clone()).and(given(f.actor_name)),
            actor: given(f.actor),
            sponsor: given(f.sponsor).map(|s| s.to_ascii_uppercase()),
            probability: need(f.probability, "a probability")?
                .parse()
                .map_err(|_| ApiError::bad_request("the probability is a number from 0 to 1"))?,
            confidence: need(f.confidence, "a confidence level")?,
            norms: Default::default(),
        }),
        "status" => Step::Status(StatusBody {
            status: need(f.status, "the status to move to")?,
            reason: given(f.reason),
        }),
        "votes" => Step::Vote(VoteBody {
            opinion: need(f.opinion, "an opinion")?,
            explanation: given(f.explanation),
        }),
        "releases" => Step::Release(ReleaseBody {
            id: need(f.id, "the item to release")?,
        }),
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no case step {other:?}"),
            ));
        }
    })
}

async fn case_step(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    Path((id, name)): Path<(String, String)>,
    form: Result<Form<StepFields>, FormRejection>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    let f = match ui.accept(form) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let outcome = match step_of(&name, f) {
        Ok(step) => crate::cases::step(&state, &ui.principal, &id, step).await,
        Err(e) => Err(e),
    };
    after_step(&state, &ui, &id, outcome.map(|_| ())).await
}

/// Back to the case after a step; a refused step shows the case with why.
async fn after_step(
    state: &AppState,
    ui: &Ui,
    id: &str,
    outcome: Result<(), ApiError>,
) -> Response {
    match outcome {
        Ok(()) => redirect(&format!("/ui/cases/{}", geneva_portal::url_segment(id))),
        Err(e) => match crate::cases::show_case(state, &ui.principal, id).await {
            Ok((file, _)) => html(
                e.status,
                ui::case_page(&ui.session, &file, Some(&e.message), None),
            ),
            Err(_) => ui.fail(e),
        },
    }
}

async fn publish(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    Path(id): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    if let Err(r) = ui.accept(form) {
        return *r;
    }
    let outcome = crate::cases::publish_case(&state, &ui.principal, &id)
        .await
        .map(|_| ());
    after_step(&state, &ui, &id, outcome).await
}

async fn directory(state: &AppState) -> Result<ui::Directory, ApiError> {
    let organisations = state.store.organisations().await?;
    let org_name = |id: i64| {
        organisations
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.name.clone())
            .unwrap_or_default()
    };
    let users = state.store.users().await?;
    let user_name = |id: Option<i64>| {
        id.and_then(|id| users.iter().find(|u| u.id == id))
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    let tokens = state.store.tokens().await?;
    Ok(ui::Directory {
        organisations: organisations
            .iter()
            .map(|o| ui::OrganisationRow {
                name: o.name.clone(),
                kind: o.kind.as_str().to_owned(),
                country: o
                    .country
                    .as_ref()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default(),
            })
            .collect(),
        users: users
            .iter()
            .map(|u| ui::UserRow {
                name: u.name.clone(),
                organisation: org_name(u.organisation),
            })
            .collect(),
        tokens: tokens
            .iter()
            .map(|t| ui::TokenRow {
                id: t.id.as_str().to_owned(),
                organisation: org_name(t.organisation),
                user: user_name(t.user),
                scopes: t.scopes.to_string(),
                label: t.label.clone(),
                created: t.created_at.clone(),
                revoked: t.revoked_at.clone(),
            })
            .collect(),
        kinds: OrgKind::ALL.iter().map(|k| k.as_str().to_owned()).collect(),
        scopes: Scope::ALL.iter().map(|s| s.as_str().to_owned()).collect(),
    })
}

async fn admin_response(
    state: &AppState,
    ui: &Ui,
    status: StatusCode,
    new_token: Option<&str>,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    match directory(state).await {
        Ok(d) => html(
            status,
            ui::admin_page(&ui.session, &d, new_token, error, notice),
        ),
        Err(e) => ui.fail(e),
    }
}

async fn admin(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    if let Err(e) = require(&ui.principal, Scope::Admin) {
        return ui.fail(e);
    }
    admin_response(&state, &ui, StatusCode::OK, None, None, None).await
}

/// What an administration form did: the audit entry it leaves, and what
/// the page then says.
struct Administered {
    action: &'static str,
    target: String,
    detail: String,
    shown: Shown,
}

enum Shown {
    Notice(String),
    /// A token's secret, shown this once.
    NewToken(String),
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
}

/// Runs an administration form: signed in, its form token checked, the
/// admin scope held; then `act`. What it did is audited (channel `ui`) and
/// the page shows it; a refusal is shown on the page with its reason.
async fn administer<F, Fut>(
    state: AppState,
    principal: Principal,
    token: Option<Extension<SessionToken>>,
    fields: Result<Form<Vec<(String, String)>>, FormRejection>,
    act: F,
) -> Response
where
    F: FnOnce(AppState, Vec<(String, String)>) -> Fut,
    Fut: std::future::Future<Output = Result<Administered, ApiError>>,
{
    let ui = signed_in!(state, principal, token);
    let fields = match ui.accept(fields) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if let Err(e) = require(&ui.principal, Scope::Admin) {
        return ui.fail(e);
    }
    let done = match act(state.clone(), fields).await {
        Ok(done) => done,
        Err(e) => return admin_response(&state, &ui, e.status, None, Some(&e.message), None).await,
    };
    let entry = NewAuditEntry {
        at: geneva_stix::timestamp::now_rfc3339(),
        actor: actor(&ui),
        action: done.action.into(),
        channel: "ui".into(),
        target: Some(done.target),
        detail: done.detail,
    };
    if let Err(e) = state.store.audit(vec![entry]).await {
        return ui.fail(e.into());
    }
    match &done.shown {
        Shown::Notice(n) => admin_response(&state, &ui, StatusCode::OK, None, None, Some(n)).await,
        Shown::NewToken(t) => {
            admin_response(&state, &ui, StatusCode::OK, Some(t), None, None).await
        }
    }
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// A name typed into a form: 1 to 200 characters.
fn name_field(fields: &[(String, String)], what: &str) -> Result<String, ApiError> {
    let name = field(fields, "name");
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid(format!("{what}'s name is 1 to 200 characters")));
    }
    Ok(name)
}

async fn organisation_field(
    state: &AppState,
    fields: &[(String, String)],
) -> Result<geneva_store::Organisation, ApiError> {
    state
        .store
        .organisation(&field(fields, "organisation"))
        .await?
        .ok_or_else(|| invalid("no such organisation"))
}

async fn add_organisation(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    fields: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    administer(
        state,
        principal,
        token,
        fields,
        |state, fields| async move {
            let name = name_field(&fields, "an organisation")?;
            let kind = field(&fields, "kind")
                .parse::<OrgKind>()
                .map_err(|e| invalid(e.to_string()))?;
            let country = match field(&fields, "country") {
                c if c.is_empty() => None,
                c => Some(
                    c.parse::<CountryCode>()
                        .map_err(|e| invalid(e.to_string()))?,
                ),
            };
            let org = state.store.add_organisation(&name, kind, country).await?;
            Ok(Administered {
                action: "org-add",
                target: org.name,
                detail: kind.as_str().into(),
                shown: Shown::Notice(format!("Added organisation {name}.")),
            })
        },
    )
    .await
}

async fn add_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    fields: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    administer(
        state,
        principal,
        token,
        fields,
        |state, fields| async move {
            let name = name_field(&fields, "a user")?;
            let org = organisation_field(&state, &fields).await?;
            let user = state.store.add_user(&name, org.id).await?;
            Ok(Administered {
                action: "user-add",
                target: user.name,
                detail: org.name.clone(),
                shown: Shown::Notice(format!("Added user {name} to {}.", org.name)),
            })
        },
    )
    .await
}

async fn create_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    fields: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    administer(
        state,
        principal,
        token,
        fields,
        |state, fields| async move {
            let org = organisation_field(&state, &fields).await?;
            let user = match field(&fields, "user") {
                u if u.is_empty() => None,
                u => match state.store.user(&u).await? {
                    Some(user) if user.organisation == org.id => Some(user.id),
                    _ => return Err(invalid(format!("{u} is not a user of {}", org.name))),
                },
            };
            let scopes = fields
                .iter()
                .filter(|(k, _)| k == "scope")
                .map(|(_, v)| v.parse::<Scope>().map_err(|e| invalid(e.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            if scopes.is_empty() {
                return Err(invalid("a token needs at least one scope"));
            }
            let secret = ApiToken::generate().map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })?;
            let record = TokenRecord {
                id: secret.id.clone(),
                organisation: org.id,
                user,
                scopes: Scopes::new(scopes),
                label: field(&fields, "label").chars().take(200).collect(),
                created_at: geneva_stix::timestamp::now_rfc3339(),
                revoked_at: None,
            };
            state.store.add_token(&record, secret.hash()).await?;
            Ok(Administered {
                action: "token-create",
                target: record.id.to_string(),
                detail: format!("{} scopes {}", org.name, record.scopes),
                shown: Shown::NewToken(secret.reveal()),
            })
        },
    )
    .await
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    fields: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    administer(
        state,
        principal,
        token,
        fields,
        |state, fields| async move {
            let id = TokenId::parse(&field(&fields, "id")).map_err(|e| invalid(e.to_string()))?;
            if !state
                .store
                .revoke_token(&id, &geneva_stix::timestamp::now_rfc3339())
                .await?
            {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no such token",
                ));
            }
            Ok(Administered {
                action: "token-revoke",
                target: id.to_string(),
                detail: String::new(),
                shown: Shown::Notice(format!("Revoked token {id}.")),
            })
        },
    )
    .await
}

#[derive(Deserialize)]
struct AuditPaging {
    after: Option<u64>,
}

async fn audit(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    token: Option<Extension<SessionToken>>,
    paging: Result<Query<AuditPaging>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let ui = signed_in!(state, principal, token);
    if let Err(e) = require(&ui.principal, Scope::Admin) {
        return ui.fail(e);
    }
    const AUDIT_PAGE: usize = 100;
    let after = paging.ok().and_then(|Query(p)| p.after).unwrap_or(0);
    match state.store.audit_log(after, AUDIT_PAGE).await {
        Ok(entries) => {
            let next = (entries.len() == AUDIT_PAGE)
                .then(|| entries.last().map(|e| e.seq))
                .flatten();
            let rows: Vec<ui::AuditRow> = entries
                .into_iter()
                .map(|e| ui::AuditRow {
                    seq: e.seq,
                    at: e.entry.at,
                    actor: e.entry.actor,
                    action: e.entry.action,
                    channel: e.entry.channel,
                    target: e.entry.target.unwrap_or_default(),
                    detail: e.entry.detail,
                })
                .collect();
            html(StatusCode::OK, ui::audit_page(&ui.session, &rows, next))
        }
        Err(e) => ui.fail(e.into()),
    }
}
