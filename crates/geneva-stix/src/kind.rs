//! The families of STIX objects and which type names belong to each.

/// What family a STIX type belongs to; decides which common properties apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// STIX Domain Object.
    Sdo,
    /// STIX Relationship Object.
    Sro,
    /// STIX Cyber-observable Object.
    Sco,
    /// marking-definition, language-content, extension-definition.
    Meta,
    /// A type this specification does not define (custom object).
    Custom,
}

pub const SDO_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];

pub const SRO_TYPES: &[&str] = &["relationship", "sighting"];

pub const SCO_TYPES: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

pub const META_TYPES: &[&str] = &[
    "marking-definition",
    "language-content",
    "extension-definition",
];

impl ObjectKind {
    pub fn of(type_name: &str) -> ObjectKind {
        if SDO_TYPES.contains(&type_name) {
            ObjectKind::Sdo
        } else if SRO_TYPES.contains(&type_name) {
            ObjectKind::Sro
        } else if SCO_TYPES.contains(&type_name) {
            ObjectKind::Sco
        } else if META_TYPES.contains(&type_name) {
            ObjectKind::Meta
        } else {
            ObjectKind::Custom
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Sdo => "sdo",
            ObjectKind::Sro => "sro",
            ObjectKind::Sco => "sco",
            ObjectKind::Meta => "meta",
            ObjectKind::Custom => "custom",
        }
    }
}
