//! Traffic Light Protocol levels and the STIX marking-definition ids that carry them.
//!
//! Ids come from the STIX 2.1 specification (TLP 1.0, section 7.2.1.4) and from
//! the TLP 2.0 marking definitions in OASIS cti-stix-common-objects.

use std::fmt;
use std::str::FromStr;

/// A TLP 2.0 level, ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

/// The extension-definition id that carries TLP 2.0 levels.
pub const TLP_2_0_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

const MARKINGS: &[(&str, Tlp)] = &[
    (
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Clear,
    ),
    (
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Green,
    ),
    (
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::Amber,
    ),
    (
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::AmberStrict,
    ),
    (
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        Tlp::Red,
    ),
    // TLP 1.0, predefined by STIX 2.1.
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
];

/// The TLP 1.0 marking definitions as STIX 2.1 defines them, byte for byte in meaning.
pub const TLP_1_0_DEFINITIONS: &[(&str, &str)] = &[
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        "white",
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        "green",
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        "amber",
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        "red",
    ),
];

impl Tlp {
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The level a marking-definition id stands for, TLP 1.0 or 2.0.
    pub fn from_marking_id(id: &str) -> Option<Tlp> {
        MARKINGS.iter().find(|(m, _)| *m == id).map(|(_, t)| *t)
    }

    /// The TLP 2.0 marking-definition id of this level.
    pub fn marking_id(self) -> &'static str {
        MARKINGS
            .iter()
            .find(|(_, t)| *t == self)
            .map(|(m, _)| *m)
            .unwrap_or_default()
    }

    /// The label as TLP 2.0 writes it.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// A short lower-case name used in the database and the API (`amber+strict`).
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown TLP level {0:?}: use clear, green, amber, amber+strict or red")]
pub struct UnknownTlp(pub String);

impl FromStr for Tlp {
    type Err = UnknownTlp;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        let t = t.strip_prefix("tlp:").unwrap_or(&t);
        Ok(match t {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" | "amber-strict" | "amber_strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => return Err(UnknownTlp(s.to_owned())),
        })
    }
}

/// Marking-definitions a document defines with the TLP 2.0 extension
/// (`extensions.<TLP_2_0_EXTENSION>.tlp_2_0`), by id: producers may mint their
/// own TLP marking-definition objects instead of using the well-known ids.
pub type LocalMarkings = std::collections::HashMap<String, Tlp>;

/// The TLP level a marking-definition object itself declares, if it is a TLP
/// marking: a well-known id, a TLP 1.0 `definition`, or the TLP 2.0 extension.
pub fn declared_level(object: &serde_json::Map<String, serde_json::Value>) -> Option<Tlp> {
    if object.get("type").and_then(|t| t.as_str()) != Some("marking-definition") {
        return None;
    }
    let id = object
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if let Some(t) = Tlp::from_marking_id(id) {
        return Some(t);
    }
    let extension = object
        .get("extensions")
        .and_then(|e| e.get(TLP_2_0_EXTENSION))
        .and_then(|e| e.get("tlp_2_0"))
        .and_then(|v| v.as_str());
    let tlp_1_0 = object
        .get("definition")
        .and_then(|d| d.get("tlp"))
        .and_then(|v| v.as_str());
    extension.or(tlp_1_0).and_then(|level| level.parse().ok())
}

/// The most restrictive TLP level among the object-level and granular markings
/// of `object`, if any of them is a TLP marking.
pub fn tlp_of(object: &serde_json::Map<String, serde_json::Value>) -> Option<Tlp> {
    tlp_with_local(object, &LocalMarkings::new())
}

/// As [`tlp_of`], also resolving TLP marking-definitions defined in the same document.
/// A TLP marking-definition that is not itself marked is TLP:CLEAR: the labels are public.
pub fn tlp_with_local(
    object: &serde_json::Map<String, serde_json::Value>,
    local: &LocalMarkings,
) -> Option<Tlp> {
    let object_level = object
        .get("object_marking_refs")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten();
    let granular = object
        .get("granular_markings")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|g| g.get("marking_ref"));
    let marked = object_level
        .chain(granular)
        .filter_map(|v| v.as_str())
        .filter_map(|id| Tlp::from_marking_id(id).or_else(|| local.get(id).copied()))
        .max();
    marked.or_else(|| declared_level(object).map(|_| Tlp::Clear))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strictest_marking_wins() {
        let o = json!({
            "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],
            "granular_markings": [{"marking_ref": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "selectors": ["name"]}]
        });
        assert_eq!(tlp_of(o.as_object().unwrap()), Some(Tlp::Red));
    }

    #[test]
    fn resolves_markings_defined_in_the_document() {
        let definition = json!({"type": "marking-definition", "id": "marking-definition--0b1f3d7e-2e4f-4a5b-8c9d-0e1f2a3b4c5d",
            "extensions": {TLP_2_0_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": "amber+strict"}}});
        let level = declared_level(definition.as_object().unwrap()).unwrap();
        assert_eq!(level, Tlp::AmberStrict);
        let mut local = LocalMarkings::new();
        local.insert(
            "marking-definition--0b1f3d7e-2e4f-4a5b-8c9d-0e1f2a3b4c5d".into(),
            level,
        );
        let marked = json!({"object_marking_refs": ["marking-definition--0b1f3d7e-2e4f-4a5b-8c9d-0e1f2a3b4c5d"]});
        assert_eq!(
            tlp_with_local(marked.as_object().unwrap(), &local),
            Some(Tlp::AmberStrict)
        );
        assert_eq!(tlp_of(marked.as_object().unwrap()), None);
        // The definition itself is public.
        assert_eq!(tlp_of(definition.as_object().unwrap()), Some(Tlp::Clear));
    }

    #[test]
    fn round_trips_names() {
        for t in Tlp::ALL {
            assert_eq!(t.as_str().parse::<Tlp>().unwrap(), t);
            assert_eq!(t.label().parse::<Tlp>().unwrap(), t);
            assert_eq!(Tlp::from_marking_id(t.marking_id()), Some(t));
        }
        assert!("purple".parse::<Tlp>().is_err());
    }
}
