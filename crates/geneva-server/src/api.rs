//! `/api/v1` handlers and `/healthz`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use geneva_access::{Principal, Scope};
use geneva_stix::Tlp;
use geneva_stix::{PrepareOptions, Timestamp};
use geneva_store::{Cursor, ListQuery, NewAuditEntry, Provenance, StoredVersion, Viewer};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use crate::auth::require;
use crate::{AppState, error::ApiError};

/// Whose eyes a request reads with: admin tokens are the body's operators.
pub(crate) fn viewer_of(principal: &Principal) -> Viewer {
    match principal {
        Principal::Anonymous => Viewer::Anonymous,
        p if p.has(Scope::Admin) => Viewer::Operator,
        Principal::Member {
            organisation, user, ..
        } => Viewer::Member {
            organisation: *organisation,
            user: *user,
        },
    }
}

pub(crate) fn actor_of(principal: &Principal) -> String {
    match principal {
        Principal::Anonymous => "anonymous".into(),
        Principal::Member {
            organisation_name,
            token,
            ..
        } => format!("org:{organisation_name} token:{token}"),
    }
}

/// Every read of AMBER, AMBER+STRICT or RED material is audited: who, what, when, which path.
pub(crate) async fn audit_reads(
    state: &AppState,
    principal: &Principal,
    channel: &str,
    items: &[StoredVersion],
) -> Result<(), ApiError> {
    audit_revealed(
        state,
        principal,
        channel,
        items
            .iter()
            .map(|v| (v.id.as_str(), v.tlp, v.version.as_deref())),
    )
    .await
}

/// Audits what a read revealed above TLP:GREEN: (id, TLP, version) each.
pub(crate) async fn audit_revealed<'a>(
    state: &AppState,
    principal: &Principal,
    channel: &str,
    revealed: impl Iterator<Item = (&'a str, Tlp, Option<&'a str>)>,
) -> Result<(), ApiError> {
    let at = geneva_stix::timestamp::now_rfc3339();
    let entries: Vec<NewAuditEntry> = revealed
        .filter(|(_, tlp, _)| *tlp >= Tlp::Amber)
        .map(|(id, tlp, version)| NewAuditEntry {
            at: at.clone(),
            actor: actor_of(principal),
            action: "read".into(),
            channel: channel.into(),
            target: Some(id.to_owned()),
            detail: format!("{tlp} version {}", version.unwrap_or("-")),
        })
        .collect();
    if !entries.is_empty() {
        state.store.audit(entries).await?;
    }
    Ok(())
}

/// Reads are open to anonymous callers; a member's token must carry `read`.
pub(crate) fn require_read(principal: &Principal) -> Result<(), ApiError> {
    match principal {
        Principal::Anonymous => Ok(()),
        p => require(p, Scope::Read),
    }
}

/// Every route the server answers, as written in the OpenAPI document.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/objects"),
    ("get", "/api/v1/objects/{id}"),
    ("get", "/api/v1/objects/{id}/versions"),
    ("post", "/api/v1/bundles"),
    ("get", "/api/v1/objects/{id}/proof"),
    ("get", "/api/v1/correlations/{id}"),
    ("get", "/api/v1/search"),
    ("post", "/api/v1/attribution"),
    ("get", "/api/v1/incidents/{id}/attribution"),
    ("get", "/api/v1/incidents/{id}/assessment"),
    ("get", "/api/v1/norms"),
    ("get", "/api/v1/cases"),
    ("post", "/api/v1/cases"),
    ("get", "/api/v1/cases/{id}"),
    ("post", "/api/v1/cases/{id}/members"),
    ("post", "/api/v1/cases/{id}/notes"),
    ("post", "/api/v1/cases/{id}/examine"),
    ("post", "/api/v1/cases/{id}/draft"),
    ("post", "/api/v1/cases/{id}/status"),
    ("post", "/api/v1/cases/{id}/votes"),
    ("post", "/api/v1/cases/{id}/releases"),
    ("post", "/api/v1/cases/{id}/publish"),
    ("get", "/"),
    ("get", "/portal/style.css"),
    ("get", "/portal/findings/{id}"),
    ("get", "/portal/states/{code}"),
    ("get", "/findings"),
    ("get", "/findings.atom"),
    ("get", "/findings/{id}"),
    ("get", "/log/checkpoint"),
    ("get", "/log/key"),
    ("get", "/log/tile/{path}"),
    ("get", "/log/proof/inclusion"),
    ("get", "/log/proof/consistency"),
    ("post", "/log/cosignatures"),
    ("get", "/ui"),
    ("get", "/ui/"),
    ("get", "/ui/login"),
    ("post", "/ui/login"),
    ("post", "/ui/logout"),
    ("get", "/ui/incidents"),
    ("post", "/ui/incidents"),
    ("get", "/ui/incidents/new"),
    ("get", "/ui/incidents/{id}"),
    ("post", "/ui/bundles"),
    ("get", "/ui/search"),
    ("get", "/ui/cases"),
    ("post", "/ui/cases"),
    ("get", "/ui/cases/{id}"),
    ("post", "/ui/cases/{id}/publish"),
    ("post", "/ui/cases/{id}/{step}"),
    ("get", "/ui/admin"),
    ("post", "/ui/admin/organisations"),
    ("post", "/ui/admin/users"),
    ("post", "/ui/admin/tokens"),
    ("post", "/ui/admin/tokens/revoke"),
    ("get", "/ui/audit"),
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/objects", get(list_objects))
        .route("/api/v1/objects/{id}", get(get_object))
        .route("/api/v1/objects/{id}/versions", get(object_versions))
        .route("/api/v1/bundles", post(post_bundle))
        .route("/api/v1/objects/{id}/proof", get(crate::log::object_proof))
        .route("/api/v1/correlations/{id}", get(correlations))
        .route("/api/v1/search", get(search))
        .route("/api/v1/attribution", post(crate::attribution::attribute))
        .route(
            "/api/v1/incidents/{id}/attribution",
            get(crate::attribution::attribute_stored),
        )
        .route(
            "/api/v1/incidents/{id}/assessment",
            get(crate::assessment::assess_stored),
        )
        .route("/api/v1/norms", get(crate::assessment::norms))
        .route("/", get(crate::findings::portal_home))
        .route("/portal/style.css", get(crate::findings::portal_style))
        .route(
            "/portal/findings/{id}",
            get(crate::findings::portal_finding),
        )
        .route("/portal/states/{code}", get(crate::findings::portal_state))
        .route("/findings", get(crate::findings::list))
        .route("/findings.atom", get(crate::findings::atom))
        .route("/findings/{id}", get(crate::findings::bundle))
        .route("/log/checkpoint", get(crate::log::checkpoint))
        .route("/log/key", get(crate::log::key))
        .route("/log/tile/{*path}", get(crate::log::tile))
        .route("/log/proof/inclusion", get(crate::log::inclusion))
        .route("/log/proof/consistency", get(crate::log::consistency))
        .route("/log/cosignatures", post(crate::log::cosignatures))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint; see /api/v1/openapi.json",
            )
        })
}

async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    // Touch the store so that a broken database shows as unhealthy.
    state.store.ping().await?;
    Ok(Json(json!({"status": "ok"})))
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::OPENAPI_JSON,
    )
        .into_response()
}

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
struct ListParams {
    #[serde(rename = "type")]
    types: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    since: Option<String>,
}

/// An object version as the API shows it: metadata plus the STIX object itself.
fn version_json(v: &StoredVersion) -> Result<serde_json::Value, ApiError> {
    let object: Box<RawValue> = RawValue::from_string(v.canonical.clone()).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("stored JSON unreadable: {e}"),
        )
    })?;
    Ok(json!({
        "id": v.id,
        "type": v.object_type,
        "version": v.version,
        "current": v.current,
        "revoked": v.revoked,
        "tlp": v.tlp.label(),
        "sha256": hex::encode(v.sha256),
        "submitted_by": v.organisation,
        "submitted_at": v.submitted_at,
        "leaf_index": v.leaf_index,
        "object": object,
    }))
}

async fn list_objects(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_read(&principal)?;
    let Query(params) = params
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let after = match params.cursor {
        None => None,
        Some(c) => {
            let raw = URL_SAFE_NO_PAD
                .decode(c.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ApiError::bad_request("cursor is not one this server issued"))?;
            Some(Cursor(raw))
        }
    };
    let since = match params.since {
        None => None,
        Some(s) => Some(
            Timestamp::parse(&s).map_err(|e| ApiError::bad_request(format!("since {s:?}: {e}")))?,
        ),
    };
    let types = params
        .types
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let page = state
        .store
        .list(
            &ListQuery {
                types,
                since,
                after,
                limit,
                newest_first: false,
            },
            &viewer_of(&principal),
        )
        .await?;
    audit_reads(&state, &principal, "api", &page.items).await?;
    let objects = page
        .items
        .iter()
        .map(version_json)
        .collect::<Result<Vec<_>, _>>()?;
    let next = page
        .next
        .map(|Cursor(c)| URL_SAFE_NO_PAD.encode(c.as_bytes()));
    Ok(Json(json!({"objects": objects, "next": next})))
}

async fn get_object(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_read(&principal)?;
    match state.store.get(&id, &viewer_of(&principal)).await? {
        Some(v) => {
            audit_reads(&state, &principal, "api", std::slice::from_ref(&v)).await?;
            Ok(Json(version_json(&v)?))
        }
        None => Err(ApiError::not_found(&id)),
    }
}

async fn object_versions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_read(&principal)?;
    let versions = state.store.versions(&id, &viewer_of(&principal)).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found(&id));
    }
    audit_reads(&state, &principal, "api", &versions).await?;
    let versions = versions
        .iter()
        .map(version_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({"id": id, "versions": versions})))
}

/// What an object shares with everything else the caller may see.
async fn correlations(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(
        correlation_report(&state, &principal, &id, "api").await?,
    ))
}

/// The correlation of `id` as the API answers it, audited.
pub(crate) async fn correlation_report(
    state: &AppState,
    principal: &Principal,
    id: &str,
    channel: &str,
) -> Result<serde_json::Value, ApiError> {
    require_read(principal)?;
    let viewer = viewer_of(principal);
    let found = geneva_analysis::correlate(
        &state.index,
        &viewer,
        id,
        state.config.correlation.clone(),
        state.config.warning_lists.clone(),
    )
    .await
    .map_err(crate::attribution::analysis_error)?;
    let Some(found) = found else {
        return Err(ApiError::not_found(id));
    };
    state
        .store
        .audit(vec![NewAuditEntry {
            at: geneva_stix::timestamp::now_rfc3339(),
            actor: actor_of(principal),
            action: "correlate".into(),
            channel: channel.into(),
            target: Some(id.to_owned()),
            detail: format!("{} links", found.links.len()),
        }])
        .await?;
    Ok(found.to_json())
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    value: String,
}

/// The items carrying a value (an address, a domain, a URL, a hash).
async fn search(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(params) = params
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    Ok(Json(
        search_report(&state, &principal, &params.value, "api")
            .await?
            .to_json(),
    ))
}

/// What a value search finds for the caller, audited.
pub(crate) async fn search_report(
    state: &AppState,
    principal: &Principal,
    value: &str,
    channel: &str,
) -> Result<geneva_analysis::ValueSearch, ApiError> {
    require_read(principal)?;
    let found = geneva_analysis::search_value(&state.index, &viewer_of(principal), value)
        .await
        .map_err(crate::attribution::analysis_error)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-a-value",
                "search for an IP address or range, a domain, a URL, an e-mail address or a file hash (defanged forms are fine)",
            )
        })?;
    state
        .store
        .audit(vec![NewAuditEntry {
            at: geneva_stix::timestamp::now_rfc3339(),
            actor: actor_of(principal),
            action: "search".into(),
            channel: channel.into(),
            target: Some(found.key.clone()),
            detail: format!("{} items", found.items.len()),
        }])
        .await?;
    Ok(found)
}

async fn post_bundle(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    sharing: Result<Query<SharingParams>, QueryRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Query(sharing) = sharing
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    require(&principal, Scope::Submit)?;
    let Principal::Member {
        organisation_name,
        token,
        ..
    } = &principal
    else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "submitting needs a token",
        ));
    };
    let actor = format!("org:{organisation_name} token:{token}");
    let (status, summary) =
        submit_audited(&state, &principal, &sharing, body, actor, "api").await?;
    Ok((status, Json(summary)).into_response())
}

/// Stores a submission all or nothing and records in the audit log that
/// it was imported or refused, and why.
pub(crate) async fn submit_audited(
    state: &AppState,
    principal: &Principal,
    sharing: &SharingParams,
    body: Bytes,
    actor: String,
    channel: &str,
) -> Result<(StatusCode, serde_json::Value), ApiError> {
    let response = submit(state, principal, sharing, body).await;
    let (action, detail) = match &response {
        Ok((_, summary)) => ("import", summary.to_string()),
        Err(e) => ("import-refused", e.message.clone()),
    };
    let entry = NewAuditEntry {
        at: geneva_stix::timestamp::now_rfc3339(),
        actor,
        action: action.into(),
        channel: channel.into(),
        target: None,
        detail,
    };
    state.store.audit(vec![entry]).await?;
    response
}

/// Who besides the submitter may see restricted objects of a submission.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SharingParams {
    /// Comma-separated organisation or sharing-group names (AMBER, AMBER+STRICT).
    pub share_with: Option<String>,
    /// Comma-separated user names (RED).
    pub share_with_users: Option<String>,
    /// TLP level for objects without a TLP marking (default: the server's, AMBER unless configured).
    pub default_tlp: Option<String>,
}

fn names(list: &Option<String>) -> Vec<String> {
    list.as_deref().map(comma_list).unwrap_or_default()
}

/// `a, b,,c` → `[a, b, c]`: the names a comma-separated field lists.
pub(crate) fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn submit(
    state: &AppState,
    principal: &Principal,
    sharing: &SharingParams,
    body: Bytes,
) -> Result<(StatusCode, serde_json::Value), ApiError> {
    let Principal::Member {
        organisation,
        organisation_name,
        ..
    } = principal
    else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "submitting needs a token",
        ));
    };
    let default_tlp = match &sharing.default_tlp {
        None => state.config.default_tlp,
        Some(level) => level
            .parse::<Tlp>()
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
    };
    let recipients = geneva_store::resolve_recipients(
        state.store.as_ref(),
        &names(&sharing.share_with),
        &names(&sharing.share_with_users),
    )
    .await
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let options = PrepareOptions {
        max_document_bytes: state.config.max_body_bytes as u64,
        ..PrepareOptions::default()
    };
    // Parsing and validation are CPU-bound: keep them off the async workers.
    let prepared = tokio::task::spawn_blocking(move || geneva_stix::prepare(&body, &options))
        .await
        .map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })??;
    let warnings = prepared.warnings.len();
    let upgraded = prepared.upgraded();
    let provenance = Provenance {
        organisation: organisation_name.clone(),
        organisation_id: Some(*organisation),
        submitted_at: geneva_stix::timestamp::now_rfc3339(),
        default_tlp,
        recipients,
    };
    let summary = state.store.import(prepared.objects, provenance).await?;
    // The import is committed; its leaves join the log now if this process
    // holds the key (else the next integration round, here or elsewhere, adds them).
    crate::integrate_pending(&state.log).await;
    let status = if summary.new + summary.updated > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = json!({
        "new": summary.new,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "rejected": 0,
        "upgraded_from_stix20": upgraded,
        "warnings": warnings,
    });
    Ok((status, body))
}
