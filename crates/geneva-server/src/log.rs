//! The transparency log over HTTP: `/log/checkpoint`, `/log/key`, C2SP tiles
//! under `/log/tile/…`, inclusion and consistency proofs, cosignatures from
//! witnesses, and each object's proof bundle under `/api/v1`.
//!
//! Everything under `/log` is public: it holds hashes and signatures only.
//! A proof bundle carries an object and its provenance, so it follows the
//! same TLP rules as reading the object.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use geneva_access::Principal;
use geneva_log::LogError;
use geneva_tlog::Hash;
use serde::Deserialize;
use serde_json::json;

use crate::api::{audit_reads, require_read, viewer_of};
use crate::{AppState, error::ApiError};

/// Largest cosignature note accepted.
const MAX_COSIGNATURE_BYTES: usize = 64 * 1024;

impl From<LogError> for ApiError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Store(s) => s.into(),
            LogError::BeyondTree { .. } | LogError::Proof(_) | LogError::Tile(_) => {
                ApiError::bad_request(e.to_string())
            }
            LogError::NoSuchTile => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            LogError::NotYetLogged(_) => {
                ApiError::new(StatusCode::CONFLICT, "not_yet_logged", e.to_string())
            }
            LogError::Cosignature(_) | LogError::Key(_) | LogError::Verify(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "bad_cosignature", e.to_string())
            }
            other => {
                tracing::error!(error = %other, "transparency log failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the transparency log failed; the server log has details",
                )
            }
        }
    }
}

fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.log.checkpoint().await? {
        // Mutable: C2SP tlog-tiles asks that it not be cached beyond a few seconds.
        Some(note) => Ok(text(note, "no-cache, max-age=0")),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the log has no checkpoint yet",
        )),
    }
}

pub(crate) async fn key(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.store.log_state().await?.public_key {
        Some(key) => Ok(text(format!("{key}\n"), "no-cache, max-age=0")),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the log has no key yet",
        )),
    }
}

pub(crate) async fn tile(
    State(state): State<AppState>,
    Path(rest): Path<String>,
) -> Result<Response, ApiError> {
    let bytes = state.log.tile(&format!("tile/{rest}")).await?;
    // A tile of a given width never changes, partial or not.
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct InclusionParams {
    index: Option<u64>,
    hash: Option<String>,
    size: Option<u64>,
}

fn parse_hash(text: &str) -> Result<Hash, ApiError> {
    Hash::from_hex(text)
        .or_else(|| {
            STANDARD
                .decode(text)
                .ok()
                .and_then(|b| Hash::from_slice(&b))
        })
        .ok_or_else(|| {
            ApiError::bad_request("hash must be a leaf hash: 64 hex digits or 44 base64 characters")
        })
}

pub(crate) async fn inclusion(
    State(state): State<AppState>,
    params: Result<Query<InclusionParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(params) = params
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    let index = match (params.index, params.hash) {
        (Some(index), None) => index,
        (None, Some(hash)) => {
            let hash = parse_hash(&hash)?;
            state.log.leaf_by_hash(&hash).await?.ok_or_else(|| {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "no leaf has that hash")
            })?
        }
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of index= and hash=",
            ));
        }
    };
    let (size, proof) = state.log.inclusion_proof(index, params.size).await?;
    Ok(Json(json!({
        "leaf_index": index,
        "tree_size": size,
        "proof": geneva_log::verify::encode_hashes(&proof),
    })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ConsistencyParams {
    old: u64,
    new: Option<u64>,
}

pub(crate) async fn consistency(
    State(state): State<AppState>,
    params: Result<Query<ConsistencyParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(params) = params
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    let (new, proof) = state.log.consistency_proof(params.old, params.new).await?;
    Ok(Json(json!({
        "old_size": params.old,
        "new_size": new,
        "proof": geneva_log::verify::encode_hashes(&proof),
    })))
}

/// A witness posts the checkpoint note with its cosignature line(s) under it.
pub(crate) async fn cosignatures(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    if body.len() > MAX_COSIGNATURE_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("a cosigned checkpoint is at most {MAX_COSIGNATURE_BYTES} bytes"),
        ));
    }
    let accepted = state.log.add_cosignatures(&body).await?;
    Ok(Json(json!({ "accepted": accepted })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ProofParams {
    version: Option<String>,
}

/// The proof bundle of an object's current version (or `?version=`), as `geneva verify` reads it.
pub(crate) async fn object_proof(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    params: Result<Query<ProofParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    require_read(&principal)?;
    let Query(params) = params
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    let viewer = viewer_of(&principal);
    let version = match &params.version {
        None => state.store.get(&id, &viewer).await?,
        Some(wanted) => state
            .store
            .versions(&id, &viewer)
            .await?
            .into_iter()
            .rev()
            .find(|v| v.version.as_deref() == Some(wanted.as_str())),
    };
    let Some(version) = version else {
        return Err(ApiError::not_found(&id));
    };
    audit_reads(&state, &principal, "api", std::slice::from_ref(&version)).await?;
    let bundle = state.log.prove(&version).await?;
    let witnessed = match version.leaf_index {
        Some(index) if state.config.require_witnesses > 0 => {
            state
                .log
                .witnessed(index, state.config.require_witnesses)
                .await?
        }
        _ => true,
    };
    let mut response = Json(bundle).into_response();
    response.headers_mut().insert(
        "x-geneva-witnessed",
        HeaderValue::from_static(if witnessed { "true" } else { "false" }),
    );
    Ok(response)
}
