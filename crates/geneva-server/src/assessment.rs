//! `GET /api/v1/incidents/{id}/assessment`: a stored incident's verdict on
//! every norm that applies, from what the caller may see of it; when the
//! incident does not say who acted and a knowledge base is imported, who
//! acted comes from its attribution. `GET /api/v1/norms`: the catalogue.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, extract::rejection::PathRejection};
use geneva_access::{Principal, Scope};
use geneva_norms::{Catalogue, Facts};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::require;
use crate::error::ApiError;

pub(crate) async fn norms() -> Json<Value> {
    let catalogue = Catalogue::shipped();
    let norms: Vec<Value> = catalogue
        .norms
        .iter()
        .map(|n| {
            json!({
                "id": n.id, "title": n.title, "summary": n.summary,
                "source": catalogue.sources.get(&n.source).map(|s| &s.title),
                "article": n.article, "binds": n.binds, "applies": n.applies,
                "breach": n.breach, "at_all_times": n.at_all_times, "policy": n.policy,
            })
        })
        .collect();
    Json(json!({"version": catalogue.version, "norms": norms}))
}

pub(crate) async fn assess_stored(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(Json(
        assessment_report(&state, &principal, &id, "api").await?,
    ))
}

/// A stored subject's assessment as the API answers it, audited.
pub(crate) async fn assessment_report(
    state: &AppState,
    principal: &Principal,
    id: &str,
    channel: &str,
) -> Result<Value, ApiError> {
    require(principal, Scope::Read)?;
    let viewer = crate::api::viewer_of(principal);
    let catalogue = Catalogue::shipped();
    let objects = geneva_analysis::attribution::stored_objects(state.store.as_ref(), &viewer, id)
        .await
        .map_err(crate::attribution::analysis_error)?
        .ok_or_else(|| ApiError::not_found(id))?;
    let mut facts = Facts::from_stix(&objects, Some(id))
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad-facts", e.to_string()))?;
    let attribution = if geneva_analysis::assessment::says_who_acted(&facts) {
        None
    } else {
        match crate::attribution::attributor_if_any(state).await? {
            Some(attributor) => geneva_analysis::attribution::attribute_stored(
                &state.index,
                &viewer,
                id,
                &attributor,
                state.config.correlation.clone(),
                state.config.warning_lists.clone(),
            )
            .await
            .map_err(crate::attribution::analysis_error)?,
            None => None,
        }
    };
    let (from_attribution, note) =
        geneva_analysis::assessment::complete(&mut facts, attribution.as_ref());
    let assessment = geneva_norms::assess(&catalogue, &facts);
    state
        .store
        .audit(vec![geneva_store::NewAuditEntry {
            at: geneva_stix::timestamp::now_rfc3339(),
            actor: crate::api::actor_of(principal),
            action: "assess".into(),
            channel: channel.into(),
            target: Some(id.to_owned()),
            detail: format!(
                "catalogue {}, {} norms apply",
                catalogue.version,
                assessment.norms.len()
            ),
        }])
        .await?;
    let mut report = geneva_analysis::assessment::report(
        &catalogue,
        id,
        &facts,
        &assessment,
        from_attribution.as_ref(),
    );
    report["attribution_note"] = json!(note);
    Ok(report)
}
