//! The STIX 2.1 MUST rules, applied to one object at a time.
//!
//! Property types come from the tables in [`crate::spec`]; rules that relate
//! several properties are the `check_*` functions below. Each finding carries
//! the JSON path (relative to the object) and a short rule name. Errors are
//! MUST violations; warnings are SHOULDs and never make an object invalid.

use std::fmt::Write;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::Severity;
use crate::kind::ObjectKind;
use crate::spec::{self, Prop, Ty};
use crate::timestamp::Timestamp;
use crate::tlp;

/// One broken rule inside an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// Path relative to the object, e.g. `.external_references[0].source_name`.
    pub path: String,
    pub rule: &'static str,
    pub message: String,
}

#[derive(Default)]
struct Checker {
    findings: Vec<Finding>,
}

impl Checker {
    fn error(&mut self, path: &str, rule: &'static str, message: impl Into<String>) {
        self.findings.push(Finding { severity: Severity::Error, path: path.to_owned(), rule, message: message.into() });
    }
    fn warn(&mut self, path: &str, rule: &'static str, message: impl Into<String>) {
        self.findings.push(Finding { severity: Severity::Warning, path: path.to_owned(), rule, message: message.into() });
    }
}

fn child(path: &str, key: &str) -> String {
    let mut p = String::with_capacity(path.len() + key.len() + 1);
    p.push_str(path);
    crate::json::push_segment(&mut p, &crate::json::PathSegment::Key(key.to_owned()));
    p
}

fn item(path: &str, index: usize) -> String {
    let mut p = String::with_capacity(path.len() + 6);
    p.push_str(path);
    let _ = write!(p, "[{index}]");
    p
}

/// Checks one STIX 2.1 object against the specification's MUST rules.
pub fn validate_object(object: &Map<String, Value>) -> Vec<Finding> {
    let mut c = Checker::default();
    let type_name = match object.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => {
            c.error(".type", "type", "`type` must be a string");
            return c.findings;
        }
        None => {
            c.error(".type", "required", "every STIX object needs a `type`");
            return c.findings;
        }
    };
    if !is_valid_type_name(type_name) {
        c.error(
            ".type",
            "type-name",
            format!("type {type_name:?} must be 3-250 characters of a-z, 0-9 and hyphen, start with a letter, not end with a hyphen, and contain no \"--\""),
        );
    }
    let kind = ObjectKind::of(type_name);
    let specific: &[Prop] = spec::type_spec(type_name).map(|s| s.props).unwrap_or(&[]);
    let common = spec::common_properties(kind, type_name);
    let common = if type_name == "marking-definition" { spec::MARKING_DEFINITION } else { common };

    for prop in common.iter().chain(specific) {
        match object.get(prop.name) {
            Some(value) => check_value(&mut c, &child("", prop.name), value, &prop.ty),
            None if prop.required => c.error(
                &child("", prop.name),
                "required",
                format!("{type_name} objects must have `{}`", prop.name),
            ),
            None => {}
        }
    }
    for key in object.keys() {
        let known = common.iter().chain(specific).any(|p| p.name == key);
        if !known {
            check_custom_property_name(&mut c, "", key);
        }
    }

    if let Some(Value::String(id)) = object.get("id") {
        if let Some((prefix, _)) = id.split_once("--") {
            if prefix != type_name {
                c.error(".id", "id-type", format!("id {id:?} must start with the object's type, \"{type_name}--\""));
            }
        }
    }
    if let Some(Value::String(v)) = object.get("spec_version") {
        if v != "2.1" {
            c.error(".spec_version", "spec-version", format!("spec_version must be \"2.1\" (found {v:?})"));
        }
    }
    check_order(&mut c, object, "created", "modified", false);
    check_type_rules(&mut c, type_name, object);
    c.findings
}

fn is_valid_type_name(t: &str) -> bool {
    (3..=250).contains(&t.len())
        && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && t.as_bytes()[0].is_ascii_lowercase()
        && !t.ends_with('-')
        && !t.contains("--")
}

fn check_custom_property_name(c: &mut Checker, path: &str, key: &str) {
    let ok = (3..=250).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        c.error(
            &child(path, key),
            "property-name",
            format!("property name {key:?} must be 3-250 characters of a-z, 0-9 and underscore"),
        );
    } else if !key.starts_with("x_") {
        c.warn(&child(path, key), "custom-prefix", format!("custom property {key:?} should start with \"x_\""));
    }
}

/// `later` must not be before `earlier` (or must be strictly after, if `strict`).
fn check_order(c: &mut Checker, object: &Map<String, Value>, earlier: &str, later: &str, strict: bool) {
    let ts = |k: &str| object.get(k).and_then(Value::as_str).and_then(|s| Timestamp::parse(s).ok());
    if let (Some(a), Some(b)) = (ts(earlier), ts(later)) {
        if b < a || (strict && b == a) {
            let relation = if strict { "after" } else { "at or after" };
            c.error(&child("", later), "timestamp-order", format!("`{later}` ({b}) must be {relation} `{earlier}` ({a})"));
        }
    }
}

fn check_value(c: &mut Checker, path: &str, value: &Value, ty: &Ty) {
    match ty {
        Ty::Any => {}
        Ty::String | Ty::OpenVocab => {
            if !value.is_string() {
                c.error(path, "type", "must be a string");
            }
        }
        Ty::Boolean => {
            if !value.is_boolean() {
                c.error(path, "type", "must be true or false");
            }
        }
        Ty::Integer { min, max } => match value.as_i64() {
            Some(n) if n < *min || n > *max => c.error(path, "range", format!("must be between {min} and {max} (found {n})")),
            Some(_) => {}
            None if value.as_u64().is_some() && *max == i64::MAX => {}
            None => c.error(path, "type", "must be an integer"),
        },
        Ty::Float { min, max } => match value.as_f64() {
            Some(n) if n < *min || n > *max => c.error(path, "range", format!("must be between {min} and {max} (found {n})")),
            Some(_) => {}
            None => c.error(path, "type", "must be a number"),
        },
        Ty::Timestamp => match value.as_str() {
            Some(s) => {
                if let Err(e) = Timestamp::parse(s) {
                    c.error(path, "timestamp", format!("{s:?} is not a valid STIX timestamp: {e}"));
                }
            }
            None => c.error(path, "type", "must be a timestamp string"),
        },
        Ty::Identifier(types) => match value.as_str() {
            Some(s) => check_identifier(c, path, s, types),
            None => c.error(path, "type", "must be an identifier string"),
        },
        Ty::List(inner) => match value.as_array() {
            Some(items) if items.is_empty() => c.error(path, "empty-list", "must not be an empty list"),
            Some(items) => {
                for (i, v) in items.iter().enumerate() {
                    check_value(c, &item(path, i), v, inner);
                }
            }
            None => c.error(path, "type", "must be a list"),
        },
        Ty::Dictionary => match value.as_object() {
            Some(map) => check_dictionary_keys(c, path, map),
            None => c.error(path, "type", "must be a dictionary (JSON object)"),
        },
        Ty::Hashes => check_hashes(c, path, value),
        Ty::KillChainPhase => check_object_props(c, path, value, spec::KILL_CHAIN_PHASE_PROPS, false),
        Ty::ExternalReference => check_external_reference(c, path, value),
        Ty::GranularMarking => check_granular_marking(c, path, value),
        Ty::Extensions => check_extensions(c, path, value),
        Ty::Enum(allowed) => match value.as_str() {
            Some(s) if allowed.contains(&s) => {}
            Some(s) => c.error(path, "vocabulary", format!("{s:?} is not one of {}", allowed.join(", "))),
            None => c.error(path, "type", "must be a string"),
        },
        Ty::Hex => match value.as_str() {
            Some(s) if !s.is_empty() && s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {}
            Some(s) => c.error(path, "hex", format!("{s:?} must be an even number of hexadecimal digits")),
            None => c.error(path, "type", "must be a hex string"),
        },
        Ty::Binary => match value.as_str() {
            Some(s) if base64::engine::general_purpose::STANDARD.decode(s).is_ok() => {}
            Some(_) => c.error(path, "binary", "must be base64 (RFC 4648)"),
            None => c.error(path, "type", "must be a base64 string"),
        },
        Ty::Object(props) => check_object_props(c, path, value, props, true),
    }
}

fn check_object_props(c: &mut Checker, path: &str, value: &Value, props: &[Prop], allow_custom: bool) {
    let Some(map) = value.as_object() else {
        c.error(path, "type", "must be an object");
        return;
    };
    for prop in props {
        match map.get(prop.name) {
            Some(v) => check_value(c, &child(path, prop.name), v, &prop.ty),
            None if prop.required => c.error(&child(path, prop.name), "required", format!("`{}` is required here", prop.name)),
            None => {}
        }
    }
    if allow_custom {
        for key in map.keys().filter(|k| !props.iter().any(|p| p.name == k.as_str())) {
            check_custom_property_name(c, path, key);
        }
    }
}

/// `type--UUID`, the UUID in RFC 4122 form (any version, the RFC 4122 variant).
pub fn is_valid_identifier(id: &str) -> bool {
    let Some((prefix, uuid)) = id.split_once("--") else { return false };
    is_valid_type_name(prefix) && is_valid_uuid(uuid)
}

fn is_valid_uuid(u: &str) -> bool {
    let b = u.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, ch)| match i {
            8 | 13 | 18 | 23 => *ch == b'-',
            _ => ch.is_ascii_hexdigit(),
        })
        && matches!(b[14], b'1'..=b'8')
        && matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

fn check_identifier(c: &mut Checker, path: &str, id: &str, types: &[&str]) {
    if !is_valid_identifier(id) {
        c.error(path, "identifier", format!("{id:?} is not a STIX identifier (type--UUID, RFC 4122)"));
        return;
    }
    let prefix = id.split_once("--").map(|(p, _)| p).unwrap_or_default();
    if !types.is_empty() && !types.contains(&prefix) {
        c.error(path, "reference-type", format!("{id:?} must point at {}", types.join(" or ")));
    }
}

fn check_dictionary_keys(c: &mut Checker, path: &str, map: &Map<String, Value>) {
    for key in map.keys() {
        if key.is_empty() || key.len() > 250 || !key.is_ascii() {
            c.error(&child(path, key), "dictionary-key", format!("dictionary key {key:?} must be 1-250 ASCII characters"));
        }
    }
}

fn check_hashes(c: &mut Checker, path: &str, value: &Value) {
    let Some(map) = value.as_object() else {
        c.error(path, "type", "hashes must be a dictionary");
        return;
    };
    if map.is_empty() {
        c.error(path, "empty-hashes", "hashes must not be empty");
    }
    for (key, v) in map {
        let p = child(path, key);
        if key.len() < 3 || key.len() > 250 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            c.error(&p, "hash-name", format!("hash name {key:?} must be 3-250 characters of letters, digits, - and _"));
        }
        if !v.is_string() {
            c.error(&p, "type", "hash values must be strings");
        }
    }
}

fn check_external_reference(c: &mut Checker, path: &str, value: &Value) {
    check_object_props(c, path, value, spec::EXTERNAL_REFERENCE_PROPS, true);
    if let Some(map) = value.as_object() {
        if !["description", "url", "external_id"].iter().any(|k| map.contains_key(*k)) {
            c.error(path, "external-reference", "an external reference needs description, url or external_id besides source_name");
        }
    }
}

fn check_granular_marking(c: &mut Checker, path: &str, value: &Value) {
    check_object_props(c, path, value, spec::GRANULAR_MARKING_PROPS, false);
    if let Some(map) = value.as_object() {
        match (map.contains_key("marking_ref"), map.contains_key("lang")) {
            (true, true) | (false, false) => {
                c.error(path, "granular-marking", "a granular marking needs exactly one of marking_ref and lang")
            }
            _ => {}
        }
    }
}

fn check_extensions(c: &mut Checker, path: &str, value: &Value) {
    let Some(map) = value.as_object() else {
        c.error(path, "type", "extensions must be a dictionary");
        return;
    };
    if map.is_empty() {
        c.error(path, "empty-extensions", "extensions must not be empty");
    }
    for (name, ext) in map {
        let p = child(path, name);
        if !ext.is_object() {
            c.error(&p, "type", "an extension must be an object");
            continue;
        }
        if name.starts_with("extension-definition--") {
            check_identifier(c, &p, name, &["extension-definition"]);
        } else if let Some(spec) = spec::extension_spec(name) {
            check_object_props(c, &p, ext, spec.props, true);
        }
    }
}

fn check_type_rules(c: &mut Checker, type_name: &str, o: &Map<String, Value>) {
    let has = |k: &str| o.contains_key(k);
    match type_name {
        "campaign" | "infrastructure" | "intrusion-set" | "threat-actor" | "sighting" => {
            check_order(c, o, "first_seen", "last_seen", false)
        }
        "indicator" => check_order(c, o, "valid_from", "valid_until", true),
        "relationship" => {
            check_order(c, o, "start_time", "stop_time", true);
            for key in ["source_ref", "target_ref"] {
                if let Some(id) = o.get(key).and_then(Value::as_str) {
                    let t = id.split_once("--").map(|(t, _)| t).unwrap_or_default();
                    if matches!(ObjectKind::of(t), ObjectKind::Sro | ObjectKind::Meta) || t == "bundle" {
                        c.error(&child("", key), "reference-type", format!("{key} must point at an SDO or SCO, not a {t}"));
                    }
                }
            }
        }
        "observed-data" => {
            check_order(c, o, "first_observed", "last_observed", false);
            match (has("objects"), has("object_refs")) {
                (true, true) => c.error(".objects", "observed-data", "observed-data must not have both objects and object_refs"),
                (false, false) => c.error(".object_refs", "observed-data", "observed-data needs object_refs (or the deprecated objects)"),
                _ => {}
            }
        }
        "location" => {
            match (has("latitude"), has("longitude")) {
                (true, false) => c.error(".longitude", "location", "latitude requires longitude"),
                (false, true) => c.error(".latitude", "location", "longitude requires latitude"),
                _ => {}
            }
            if has("precision") && !(has("latitude") && has("longitude")) {
                c.error(".precision", "location", "precision requires latitude and longitude");
            }
            if !(has("region") || has("country") || (has("latitude") && has("longitude"))) {
                c.error("", "location", "a location needs region, country, or latitude and longitude");
            }
        }
        "malware" => {
            check_order(c, o, "first_seen", "last_seen", false);
            if o.get("is_family") == Some(&Value::Bool(true)) && !has("name") {
                c.error(".name", "required", "a malware family (is_family: true) must have a name");
            }
        }
        "malware-analysis" => {
            if !has("result") && !has("analysis_sco_refs") {
                c.error(".result", "malware-analysis", "malware-analysis needs result or analysis_sco_refs");
            }
        }
        "artifact" => {
            match (has("payload_bin"), has("url")) {
                (true, true) => c.error(".url", "artifact", "artifact must not have both payload_bin and url"),
                (false, true) if !has("hashes") => c.error(".hashes", "artifact", "an artifact with url must have hashes"),
                _ => {}
            }
            if has("decryption_key") && !has("encryption_algorithm") {
                c.error(".decryption_key", "artifact", "decryption_key requires encryption_algorithm");
            }
        }
        "email-message" => match o.get("is_multipart") {
            Some(Value::Bool(true)) if has("body") => c.error(".body", "email-message", "a multipart message must not have body"),
            Some(Value::Bool(false)) if has("body_multipart") => {
                c.error(".body_multipart", "email-message", "a message that is not multipart must not have body_multipart")
            }
            _ => {}
        },
        "file" => {
            if !has("hashes") && !has("name") {
                c.error("", "file", "a file needs hashes or name");
            }
        }
        "network-traffic" => {
            if !has("src_ref") && !has("dst_ref") {
                c.error("", "network-traffic", "network-traffic needs src_ref or dst_ref");
            }
            if o.get("is_active") == Some(&Value::Bool(true)) && has("end") {
                c.error(".end", "network-traffic", "active traffic (is_active: true) must not have end");
            }
            check_order(c, o, "start", "end", false);
        }
        "process" | "user-account" | "x509-certificate" | "windows-registry-key" => {
            let base: &[&str] = &["type", "id", "spec_version", "object_marking_refs", "granular_markings", "defanged"];
            if o.keys().all(|k| base.contains(&k.as_str())) {
                c.error("", "at-least-one", format!("a {type_name} needs at least one property of its own"));
            }
        }
        "marking-definition" => check_marking_definition(c, o),
        _ => {}
    }
}

fn check_marking_definition(c: &mut Checker, o: &Map<String, Value>) {
    let id = o.get("id").and_then(Value::as_str).unwrap_or_default();
    let has_ext = o.get("extensions").and_then(Value::as_object).is_some_and(|e| !e.is_empty());
    match (o.get("definition_type"), o.get("definition")) {
        (Some(_), None) => c.error(".definition", "required", "definition_type requires definition"),
        (None, Some(_)) => c.error(".definition_type", "required", "definition requires definition_type"),
        (None, None) if !has_ext => {
            c.error("", "marking-definition", "a marking-definition needs definition_type and definition, or extensions")
        }
        _ => {}
    }
    if let (Some(Value::String(kind)), Some(Value::Object(def))) = (o.get("definition_type"), o.get("definition")) {
        match kind.as_str() {
            "statement" if !def.get("statement").is_some_and(Value::is_string) => {
                c.error(".definition.statement", "marking-definition", "a statement marking needs a string definition.statement")
            }
            "tlp" => match def.get("tlp").and_then(Value::as_str) {
                Some(level) => {
                    let expected = tlp::TLP_1_0_DEFINITIONS.iter().find(|(_, l)| *l == level).map(|(m, _)| *m);
                    match expected {
                        Some(m) if m == id => {}
                        Some(m) => c.error(".id", "tlp-marking", format!("the TLP {level} marking-definition must have id {m}")),
                        None => c.error(".definition.tlp", "vocabulary", "tlp must be white, green, amber or red"),
                    }
                }
                None => c.error(".definition.tlp", "required", "a tlp marking needs a string definition.tlp"),
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(v: Value) -> Vec<(String, &'static str)> {
        validate_object(v.as_object().unwrap())
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| (f.path, f.rule))
            .collect()
    }

    fn campaign() -> Value {
        json!({"type": "campaign", "spec_version": "2.1", "id": "campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
               "created": "2016-04-06T20:03:00.000Z", "modified": "2016-04-06T20:03:00.000Z", "name": "Green Group Attacks"})
    }

    #[test]
    fn valid_campaign_has_no_errors() {
        assert_eq!(errors(campaign()), vec![]);
    }

    #[test]
    fn names_path_and_rule() {
        let mut o = campaign();
        o["modified"] = json!("2015-01-01T00:00:00Z");
        o["external_references"] = json!([{"source_name": "x"}]);
        assert_eq!(
            errors(o),
            vec![
                (".external_references[0]".to_string(), "external-reference"),
                (".modified".to_string(), "timestamp-order"),
            ]
        );
    }

    #[test]
    fn id_prefix_must_match_type() {
        let mut o = campaign();
        o["id"] = json!("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
        assert_eq!(errors(o), vec![(".id".to_string(), "id-type")]);
    }

    #[test]
    fn identifiers() {
        assert!(is_valid_identifier("campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"));
        assert!(!is_valid_identifier("campaign--8e2e2d2b-17d4-4cbf-738f-98ee46b3cd3f"));
        assert!(!is_valid_identifier("campaign-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"));
        assert!(!is_valid_identifier("Campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"));
    }
}
