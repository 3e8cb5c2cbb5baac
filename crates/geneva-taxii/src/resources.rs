//! The JSON resources of TAXII 2.1 (§4–§5), field for field. Optional
//! fields are left out when empty, as the specification's examples do.

use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

/// `GET /taxii2/` (§4.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_roots: Vec<String>,
}

/// `GET {api-root}/` (§4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiRoot {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub versions: Vec<String>,
    pub max_content_length: u64,
}

/// One collection (§5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    pub can_read: bool,
    pub can_write: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_types: Vec<String>,
}

/// `GET {api-root}/collections/` (§5.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collections {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<Collection>,
}

/// A page of objects (§3.7) written straight from stored JSON: `objects`
/// are each one JSON object (the store's canonical form, already checked),
/// copied without being parsed again, since a page of a hundred ATT&CK
/// objects is 150 KB and parsing it was a tenth of serving it.
pub fn envelope_bytes<'a>(
    more: bool,
    next: Option<&str>,
    objects: impl IntoIterator<Item = &'a str>,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(16 * 1024);
    body.push(b'{');
    if more {
        body.extend_from_slice(br#""more":true,"#);
    }
    if let Some(next) = next {
        body.extend_from_slice(br#""next":"#);
        // A string always serialises.
        let _ = serde_json::to_writer(&mut body, next);
        body.push(b',');
    }
    let mut any = false;
    for object in objects {
        body.extend_from_slice(if any { b"," } else { br#""objects":["# });
        body.extend_from_slice(object.as_bytes());
        any = true;
    }
    if any {
        body.push(b']');
    } else if body.last() == Some(&b',') {
        body.pop();
    }
    body.push(b'}');
    body
}

/// One object version in a manifest (§5.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestRecord {
    pub id: String,
    pub date_added: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// `GET …/manifest/` (§5.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(default, skip_serializing_if = "is_false")]
    pub more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ManifestRecord>,
}

/// `GET …/objects/{id}/versions/` (§5.8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    #[serde(default, skip_serializing_if = "is_false")]
    pub more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

/// One object in a status resource's lists (§4.3.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDetail {
    pub id: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `GET {api-root}/status/{id}/` and the answer to a POST of objects (§4.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub id: String,
    /// `complete` or `pending`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timestamp: Option<String>,
    pub total_count: u64,
    pub success_count: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub successes: Vec<StatusDetail>,
    pub failure_count: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<StatusDetail>,
    pub pending_count: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pendings: Vec<StatusDetail>,
}

/// The error message every failing TAXII request answers with (§3.6.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorMessage {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The HTTP status, as a string (the specification types it so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_details: Option<String>,
}

impl ErrorMessage {
    pub fn new(status: u16, title: impl Into<String>, description: impl Into<String>) -> Self {
        ErrorMessage {
            title: title.into(),
            description: Some(description.into()),
            error_id: None,
            error_code: None,
            http_status: Some(status.to_string()),
            external_details: None,
        }
    }
}
