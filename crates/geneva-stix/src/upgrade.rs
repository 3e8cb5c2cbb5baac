//! STIX 2.0 → 2.1 upgrade, applied on import so that only 2.1 is stored.
//!
//! The upgrade is the smallest one that makes a valid 2.0 object a valid 2.1
//! object with the same meaning: `spec_version` moves from the bundle onto each
//! object, malware gains the now-required `is_family` (2.0 malware always
//! described families), indicators gain the now-required `pattern_type: "stix"`
//! (2.0 only had STIX patterns). Properties that 2.1 merely deprecates or
//! supplements (`labels`, the embedded `objects` of observed-data) are kept as
//! they are: guessing `malware_types` from free-text labels would invent data.

use serde_json::{Map, Value};

use crate::kind::{ObjectKind, SCO_TYPES};

/// Whether an object should be read as STIX 2.0: it sits in a bundle that
/// declares 2.0, or (STIX 2.1 section 3.1) it is not an SCO and has no
/// `spec_version`.
pub fn is_stix20(object: &Map<String, Value>, bundle_spec_version: Option<&str>) -> bool {
    match object.get("spec_version") {
        Some(Value::String(v)) => v == "2.0",
        Some(_) => false,
        None => {
            if bundle_spec_version == Some("2.0") {
                return true;
            }
            let t = object.get("type").and_then(Value::as_str).unwrap_or_default();
            !SCO_TYPES.contains(&t) && ObjectKind::of(t) != ObjectKind::Sco
        }
    }
}

/// Upgrades one STIX 2.0 object in place.
pub fn upgrade_object(object: &mut Map<String, Value>) {
    object.insert("spec_version".into(), Value::String("2.1".into()));
    match object.get("type").and_then(Value::as_str) {
        Some("malware") => {
            object.entry("is_family").or_insert(Value::Bool(true));
        }
        Some("indicator") => {
            object.entry("pattern_type").or_insert_with(|| Value::String("stix".into()));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn upgrades_malware_and_indicator() {
        let mut m = json!({"type": "malware", "id": "malware--x", "labels": ["trojan"]});
        upgrade_object(m.as_object_mut().unwrap());
        assert_eq!(m, json!({"type": "malware", "id": "malware--x", "labels": ["trojan"], "spec_version": "2.1", "is_family": true}));
        let mut i = json!({"type": "indicator", "pattern": "[x:y = 'z']"});
        upgrade_object(i.as_object_mut().unwrap());
        assert_eq!(i["pattern_type"], "stix");
    }

    #[test]
    fn detects_version() {
        let sdo = json!({"type": "campaign"});
        let sco = json!({"type": "ipv4-addr"});
        let v21 = json!({"type": "campaign", "spec_version": "2.1"});
        assert!(is_stix20(sdo.as_object().unwrap(), None));
        assert!(!is_stix20(sco.as_object().unwrap(), None));
        assert!(!is_stix20(v21.as_object().unwrap(), Some("2.0")));
    }
}
