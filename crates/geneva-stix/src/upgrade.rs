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

use crate::input::Container;

/// Whether an object should be read as STIX 2.0. STIX 2.1 section 3.1 says an
/// object without `spec_version` is 2.0; we apply that inside bundles (where
/// 2.0 objects travel: a bundle declaring `"spec_version": "2.0"`, or a
/// domain/relationship object that has `created` but no `spec_version`), and
/// to any object that declares `"spec_version": "2.0"`. A lone top-level
/// object without `spec_version` is held to 2.1 and fails for the lack of it,
/// as `stix2_validator` does.
pub fn is_stix20(object: &Map<String, Value>, container: &Container) -> bool {
    match object.get("spec_version") {
        Some(Value::String(v)) => v == "2.0",
        Some(_) => false,
        None => match container {
            Container::Bundle { spec_version, .. } => {
                spec_version.as_deref() == Some("2.0") || object.contains_key("created")
            }
            _ => false,
        },
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
            object
                .entry("pattern_type")
                .or_insert_with(|| Value::String("stix".into()));
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
        assert_eq!(
            m,
            json!({"type": "malware", "id": "malware--x", "labels": ["trojan"], "spec_version": "2.1", "is_family": true})
        );
        let mut i = json!({"type": "indicator", "pattern": "[x:y = 'z']"});
        upgrade_object(i.as_object_mut().unwrap());
        assert_eq!(i["pattern_type"], "stix");
    }

    #[test]
    fn detects_version() {
        let bundle = |v: Option<&str>| Container::Bundle {
            id: None,
            spec_version: v.map(str::to_owned),
        };
        let sdo = json!({"type": "campaign", "created": "2016-01-01T00:00:00.000Z"});
        let sco = json!({"type": "ipv4-addr"});
        let v21 = json!({"type": "campaign", "spec_version": "2.1"});
        assert!(is_stix20(sdo.as_object().unwrap(), &bundle(None)));
        assert!(!is_stix20(sdo.as_object().unwrap(), &Container::Object));
        assert!(!is_stix20(sco.as_object().unwrap(), &bundle(None)));
        assert!(is_stix20(sco.as_object().unwrap(), &bundle(Some("2.0"))));
        assert!(!is_stix20(v21.as_object().unwrap(), &bundle(Some("2.0"))));
    }
}
