//! Errors that say where and which rule: object index, id, JSON path, rule name.

use std::fmt;

use crate::json::JsonError;

/// How bad an issue is: errors make an object invalid, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One broken rule, located precisely enough that a person can go and fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub severity: Severity,
    /// Position of the object in the document's `objects` (0 for a single
    /// object); `None` for the container (the bundle itself).
    pub object_index: Option<usize>,
    pub object_id: Option<String>,
    /// 1-based line where the object starts in the document.
    pub line: usize,
    /// JSON path from the document root, e.g. `$.objects[3].created`.
    pub path: String,
    /// Short stable rule name, e.g. `timestamp-format`.
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.object_index {
            Some(index) => write!(f, "object {index}")?,
            None => f.write_str("bundle")?,
        }
        match &self.object_id {
            Some(id) => write!(f, " ({id}, line {})", self.line)?,
            None => write!(f, " (line {})", self.line)?,
        }
        write!(f, " at {}: {} [{}]", self.path, self.message, self.rule)
    }
}

/// Why a whole document was refused. Nothing from a refused document is stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DocumentError {
    #[error("the document is empty")]
    Empty,
    #[error("the document is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("the gzip stream is corrupt: {0}")]
    Gzip(String),
    #[error("not valid JSON: {0}")]
    Json(JsonError),
    #[error("{0}")]
    Shape(String),
    #[error("{invalid_objects} of {total_objects} objects break STIX 2.1 rules; first: {}", first_error(.issues))]
    Invalid {
        invalid_objects: usize,
        total_objects: usize,
        issues: Vec<Issue>,
    },
}

fn first_error(issues: &[Issue]) -> String {
    issues
        .iter()
        .find(|i| i.severity == Severity::Error)
        .map(ToString::to_string)
        .unwrap_or_default()
}

impl DocumentError {
    /// The broken rules, if the document failed validation (errors and warnings).
    pub fn issues(&self) -> &[Issue] {
        match self {
            DocumentError::Invalid { issues, .. } => issues,
            _ => &[],
        }
    }
}
