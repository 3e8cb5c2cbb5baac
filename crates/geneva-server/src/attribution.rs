//! `POST /api/v1/attribution`: ranks candidate perpetrators of the incident
//! a STIX bundle describes, against the knowledge base kept in the store.
//! The model is compiled once and again only when the kept sources change
//! (another process may import a newer release).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, extract::rejection::QueryRejection};
use geneva_access::{Principal, Scope};
use geneva_attribution::Attributor;
use std::sync::Arc;

use crate::AppState;
use crate::auth::require;
use crate::error::ApiError;

/// The compiled knowledge base and the sources it was compiled from.
#[derive(Default)]
pub(crate) struct Cache {
    compiled: tokio::sync::Mutex<Option<(Vec<String>, Arc<Attributor>)>>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct AttributeParams {
    /// The incident or campaign to attribute, when the bundle holds several.
    subject: Option<String>,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "analysis failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the analysis failed; the server log has details",
    )
}

/// An analysis's failure as the caller sees it: the store's own errors as
/// the store's, bad evidence as 422, anything else logged and kept inside.
pub(crate) fn analysis_error(e: geneva_analysis::AnalysisError) -> ApiError {
    match e {
        geneva_analysis::AnalysisError::Store(s)
        | geneva_analysis::AnalysisError::Index(geneva_postings::IndexError::Store(s)) => {
            ApiError::from(s)
        }
        geneva_analysis::AnalysisError::Evidence(e) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no-subject",
            e.to_string(),
        ),
        geneva_analysis::AnalysisError::Facts(e) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad-facts", e.to_string())
        }
        other => internal(other),
    }
}

async fn attributor(state: &AppState) -> Result<Arc<Attributor>, ApiError> {
    attributor_if_any(state).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no-knowledge-base",
            "no knowledge base is imported: an operator runs `geneva kb import enterprise-attack.json`",
        )
    })
}

/// The compiled knowledge base, if one is imported.
pub(crate) async fn attributor_if_any(
    state: &AppState,
) -> Result<Option<Arc<Attributor>>, ApiError> {
    let sources: Vec<String> = state
        .store
        .knowledge_sources()
        .await?
        .into_iter()
        .map(|s| s.sha256)
        .collect();
    let mut compiled = state.attribution.compiled.lock().await;
    if let Some((seen, attributor)) = compiled.as_ref()
        && *seen == sources
    {
        return Ok(Some(attributor.clone()));
    }
    let Some(kb) = geneva_analysis::knowledge::load(state.store.as_ref())
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let attributor = tokio::task::spawn_blocking(move || Arc::new(Attributor::new(kb)))
        .await
        .map_err(internal)?;
    *compiled = Some((sources, attributor.clone()));
    Ok(Some(attributor))
}

pub(crate) async fn attribute(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<AttributeParams>, QueryRejection>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(params) = params
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    require(&principal, Scope::Read)?;
    let objects = geneva_stix::input::objects_as_values(&body, u64::MAX)
        .map_err(|e| ApiError::bad_request(format!("the body is not a STIX bundle: {e}")))?;
    let attributor = attributor(&state).await?;
    let evidence = geneva_analysis::attribution::bundle_evidence(
        &state.index,
        &crate::api::viewer_of(&principal),
        &objects,
        params.subject.as_deref(),
        &attributor,
        state.config.correlation.clone(),
        state.config.warning_lists.clone(),
    )
    .await
    .map_err(analysis_error)?;
    let result = tokio::task::spawn_blocking(move || attributor.attribute(&evidence))
        .await
        .map_err(internal)?;
    Ok(Json(result.report()))
}

/// `GET /api/v1/incidents/{id}/attribution`: a stored incident or campaign,
/// with what the caller may see of it and of the items it correlates with.
pub(crate) async fn attribute_stored(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(
        attribution_report(&state, &principal, &id, "api").await?,
    ))
}

/// A stored subject's attribution as the API answers it, audited.
pub(crate) async fn attribution_report(
    state: &AppState,
    principal: &Principal,
    id: &str,
    channel: &str,
) -> Result<serde_json::Value, ApiError> {
    require(principal, Scope::Read)?;
    let viewer = crate::api::viewer_of(principal);
    let attributor = attributor(state).await?;
    let result = geneva_analysis::attribution::attribute_stored(
        &state.index,
        &viewer,
        id,
        &attributor,
        state.config.correlation.clone(),
        state.config.warning_lists.clone(),
    )
    .await
    .map_err(analysis_error)?
    .ok_or_else(|| ApiError::not_found(id))?;
    state
        .store
        .audit(vec![geneva_store::NewAuditEntry {
            at: geneva_stix::timestamp::now_rfc3339(),
            actor: crate::api::actor_of(principal),
            action: "attribute".into(),
            channel: channel.into(),
            target: Some(id.to_owned()),
            detail: format!("{} candidates", result.candidates.len()),
        }])
        .await?;
    Ok(result.report())
}
