//! Domain types of the member directory and the audit log.

use geneva_access::{CountryCode, OrgKind, Scopes, TokenId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub kind: OrgKind,
    pub country: Option<CountryCode>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub organisation: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingGroup {
    pub id: i64,
    pub name: String,
    /// Member organisations' ids, ascending.
    pub members: Vec<i64>,
}

/// What the store knows of a token: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: TokenId,
    pub organisation: i64,
    pub user: Option<i64>,
    pub scopes: Scopes,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// An event to record: who did what, through which door, to what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: String,
    /// `org:<name>` with `token:<id>`, `cli:<org>`, or `anonymous`.
    pub actor: String,
    /// `import`, `read`, `token-create`, `token-revoke`, …
    pub action: String,
    /// `cli`, `api`, `taxii`, …
    pub channel: String,
    pub target: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: u64,
    pub entry: NewAuditEntry,
}
