//! One JSON error shape for every failure: `{"error": {"code", "message", "issues"?}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use geneva_stix::{DocumentError, Issue};
use geneva_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub issues: Vec<Issue>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            issues: Vec::new(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no object with id {what:?}"),
        )
    }
}

/// Issues listed in an error body; more are counted, not shown.
const MAX_ISSUES_IN_BODY: usize = 100;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let issues: Vec<_> = self
            .issues
            .iter()
            .take(MAX_ISSUES_IN_BODY)
            .map(|i| {
                json!({
                    "severity": if i.severity == geneva_stix::Severity::Error { "error" } else { "warning" },
                    "object_index": i.object_index,
                    "object_id": i.object_id,
                    "line": i.line,
                    "path": i.path,
                    "rule": i.rule,
                    "message": i.message,
                })
            })
            .collect();
        let mut error = json!({"code": self.code, "message": self.message});
        if !self.issues.is_empty() {
            error["issues"] = json!(issues);
            error["issues_total"] = json!(self.issues.len());
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(
                    "Bearer realm=\"geneva\", Basic realm=\"geneva\"",
                ),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::VersionConflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, "version_conflict", e.to_string())
            }
            StoreError::InvalidCursor(_) => ApiError::bad_request(e.to_string()),
            StoreError::AlreadyExists(_) => {
                ApiError::new(StatusCode::CONFLICT, "already_exists", e.to_string())
            }
            StoreError::Stale { .. } => ApiError::new(StatusCode::CONFLICT, "stale", e.to_string()),
            StoreError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            StoreError::Abandoned
            | StoreError::Corrupt(_)
            | StoreError::Backend(_)
            | StoreError::LogMoved { .. }
            | StoreError::LogKeyMismatch { .. } => {
                tracing::error!(error = %e, "store failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the store failed; the server log has details",
                )
            }
        }
    }
}

impl From<DocumentError> for ApiError {
    fn from(e: DocumentError) -> Self {
        match e {
            DocumentError::TooLarge { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
            }
            DocumentError::Invalid { ref issues, .. } => {
                let issues = issues.clone();
                ApiError {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    code: "invalid_stix",
                    message: e.to_string(),
                    issues,
                }
            }
            _ => ApiError::bad_request(e.to_string()),
        }
    }
}
