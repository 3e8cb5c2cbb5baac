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
use crate::formats::{self, is_language_tag};
use crate::kind::ObjectKind;
use crate::pattern;
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
        self.findings.push(Finding {
            severity: Severity::Error,
            path: path.to_owned(),
            rule,
            message: message.into(),
        });
    }
    fn warn(&mut self, path: &str, rule: &'static str, message: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Warning,
            path: path.to_owned(),
            rule,
            message: message.into(),
        });
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
    if type_name == "action" {
        c.error(
            ".type",
            "type-name",
            "\"action\" is reserved and cannot be used as a type",
        );
    }
    let kind = ObjectKind::of(type_name);
    let sdo_like = object.contains_key("created") || object.contains_key("modified");
    let specific: &[Prop] = spec::type_spec(type_name).map(|s| s.props).unwrap_or(&[]);
    let common = spec::common_properties(kind, type_name, sdo_like);

    for (key, value) in object {
        let p = child("", key);
        match common.iter().chain(specific).find(|prop| prop.name == key) {
            Some(prop) => check_value(&mut c, &p, value, &prop.ty),
            None => {
                if RESERVED_PROPERTIES.contains(&key.as_str()) {
                    c.error(
                        &p,
                        "reserved-property",
                        format!("{key:?} is reserved by STIX 2.1 and must not be used"),
                    );
                    continue;
                }
                check_custom_property_name(&mut c, "", key);
                check_custom_value(&mut c, &p, value);
            }
        }
    }
    for prop in common.iter().chain(specific).filter(|p| p.required) {
        if !object.contains_key(prop.name) {
            c.error(
                &child("", prop.name),
                "required",
                format!("{type_name} objects must have `{}`", prop.name),
            );
        }
    }

    if let Some(Value::String(id)) = object.get("id")
        && let Some((prefix, _)) = id.split_once("--")
        && prefix != type_name
    {
        c.error(
            ".id",
            "id-type",
            format!("id {id:?} must start with the object's type, \"{type_name}--\""),
        );
    }
    if let Some(v) = object.get("spec_version") {
        match v.as_str() {
            Some("2.1") => {}
            Some(other) => c.error(
                ".spec_version",
                "spec-version",
                format!("spec_version must be \"2.1\" (found {other:?})"),
            ),
            None => {}
        }
    }
    if let Some(lang) = object.get("lang").and_then(Value::as_str)
        && !is_language_tag(lang)
    {
        c.error(
            ".lang",
            "language",
            format!("lang {lang:?} is not an RFC 5646 language tag (e.g. en, en-US, zh-Hant-TW)"),
        );
    }
    if let Some(Value::Array(markings)) = object.get("granular_markings") {
        for (i, marking) in markings.iter().enumerate() {
            let Some(selectors) = marking.get("selectors").and_then(Value::as_array) else {
                continue;
            };
            for (j, selector) in selectors.iter().enumerate() {
                if let Some(sel) = selector.as_str()
                    && let Err(why) = resolve_selector(object, sel)
                {
                    c.error(
                        &format!(".granular_markings[{i}].selectors[{j}]"),
                        "selector",
                        format!("selector {sel:?} {why}"),
                    );
                }
            }
        }
    }
    check_order(&mut c, object, "created", "modified", false);
    check_type_rules(&mut c, type_name, object);
    c.findings
}

fn is_valid_type_name(t: &str) -> bool {
    (3..=250).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && t.as_bytes()[0].is_ascii_lowercase()
        && !t.ends_with('-')
        && !t.contains("--")
}

/// Property names STIX 2.1 reserves (section 3.1 and the removed 2.0 properties).
const RESERVED_PROPERTIES: &[&str] = &["severity", "action", "username", "phone_numbers"];

/// Custom property values: JSON null and empty lists are not STIX values.
fn check_custom_value(c: &mut Checker, path: &str, value: &Value) {
    match value {
        Value::Null => c.error(
            path,
            "null",
            "null is not a STIX value; leave the property out instead",
        ),
        Value::Array(items) if items.is_empty() => c.error(
            path,
            "empty-list",
            "must not be an empty list; leave the property out instead",
        ),
        _ => {}
    }
}

fn check_custom_property_name(c: &mut Checker, path: &str, key: &str) {
    let ok = (3..=250).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        c.error(
            &child(path, key),
            "property-name",
            format!("property name {key:?} must be 3-250 characters of a-z, 0-9 and underscore"),
        );
    } else if !key.starts_with("x_") {
        c.warn(
            &child(path, key),
            "custom-prefix",
            format!("custom property {key:?} should start with \"x_\""),
        );
    }
}

/// `later` must not be before `earlier` (or must be strictly after, if `strict`).
fn check_order(
    c: &mut Checker,
    object: &Map<String, Value>,
    earlier: &str,
    later: &str,
    strict: bool,
) {
    let ts = |k: &str| {
        object
            .get(k)
            .and_then(Value::as_str)
            .and_then(|s| Timestamp::parse(s).ok())
    };
    if let (Some(a), Some(b)) = (ts(earlier), ts(later))
        && (b < a || (strict && b == a))
    {
        let relation = if strict { "after" } else { "at or after" };
        c.error(
            &child("", later),
            "timestamp-order",
            format!("`{later}` ({b}) must be {relation} `{earlier}` ({a})"),
        );
    }
}

fn check_value(c: &mut Checker, path: &str, value: &Value, ty: &Ty) {
    if value.is_null() {
        c.error(
            path,
            "null",
            "null is not a STIX value; leave the property out instead",
        );
        return;
    }
    match ty {
        Ty::Any => check_custom_value(c, path, value),
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
        Ty::Integer { min, max } => match as_integer(value) {
            Some(n) if n < i128::from(*min) || n > i128::from(*max) => c.error(
                path,
                "range",
                format!("must be between {min} and {max} (found {n})"),
            ),
            Some(_) => {}
            None => c.error(path, "type", "must be an integer"),
        },
        Ty::Float { min, max } => match value.as_f64() {
            Some(n) if n < *min || n > *max => c.error(
                path,
                "range",
                format!("must be between {min} and {max} (found {n})"),
            ),
            Some(_) => {}
            None => c.error(path, "type", "must be a number"),
        },
        Ty::Timestamp | Ty::TimestampMillis => match value.as_str() {
            Some(s) => match Timestamp::parse(s) {
                Err(e) => c.error(
                    path,
                    "timestamp",
                    format!("{s:?} is not a valid STIX timestamp: {e}"),
                ),
                Ok(t) if matches!(ty, Ty::TimestampMillis) && t.fraction_digits() < 3 => c.error(
                    path,
                    "timestamp-precision",
                    format!(
                        "{s:?} must be precise to the millisecond (e.g. 2016-05-12T08:17:27.000Z)"
                    ),
                ),
                Ok(_) => {}
            },
            None => c.error(path, "type", "must be a timestamp string"),
        },
        Ty::Identifier(types) => match value.as_str() {
            Some(s) => check_identifier(c, path, s, types),
            None => c.error(path, "type", "must be an identifier string"),
        },
        Ty::List(inner) => match value.as_array() {
            Some(items) if items.is_empty() => {
                c.error(path, "empty-list", "must not be an empty list")
            }
            Some(items) => {
                for (i, v) in items.iter().enumerate() {
                    check_value(c, &item(path, i), v, inner);
                }
            }
            None => c.error(path, "type", "must be a list"),
        },
        Ty::Dictionary => check_dictionary(c, path, value),
        Ty::Hashes => check_hashes(c, path, value, false),
        Ty::KillChainPhase => {
            check_object_props(c, path, value, spec::KILL_CHAIN_PHASE_PROPS, false)
        }
        Ty::ExternalReference => check_external_reference(c, path, value),
        Ty::GranularMarking => check_granular_marking(c, path, value),
        Ty::Extensions => check_extensions(c, path, value),
        Ty::Enum(allowed) => match value.as_str() {
            Some(s) if allowed.contains(&s) => {}
            Some(s) => c.error(
                path,
                "vocabulary",
                format!("{s:?} is not one of {}", allowed.join(", ")),
            ),
            None => c.error(path, "type", "must be a string"),
        },
        Ty::Hex => match value.as_str() {
            Some(s) if is_hex(s) => {}
            Some(s) => c.error(
                path,
                "hex",
                format!("{s:?} must be an even, non-zero number of hexadecimal digits"),
            ),
            None => c.error(path, "type", "must be a hex string"),
        },
        Ty::Binary => match value.as_str() {
            Some(s)
                if !s.is_empty() && base64::engine::general_purpose::STANDARD.decode(s).is_ok() => {
            }
            Some(_) => c.error(
                path,
                "binary",
                "must be non-empty, padded base64 (RFC 4648)",
            ),
            None => c.error(path, "type", "must be a base64 string"),
        },
        Ty::Object(props) => check_object_props(c, path, value, props, true),
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// JSON integers, and floats with no fractional part (`50.0`), as JSON Schema counts them.
fn as_integer(value: &Value) -> Option<i128> {
    if let Some(i) = value.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = value.as_u64() {
        return Some(i128::from(u));
    }
    match value.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e30 => Some(f as i128),
        _ => None,
    }
}

fn check_object_props(
    c: &mut Checker,
    path: &str,
    value: &Value,
    props: &[Prop],
    allow_custom: bool,
) {
    let Some(map) = value.as_object() else {
        c.error(path, "type", "must be an object");
        return;
    };
    for (key, v) in map {
        match props.iter().find(|p| p.name == key) {
            Some(prop) => check_value(c, &child(path, key), v, &prop.ty),
            None if allow_custom => {
                check_custom_property_name(c, path, key);
                check_custom_value(c, &child(path, key), v);
            }
            None => {}
        }
    }
    for prop in props
        .iter()
        .filter(|p| p.required && !map.contains_key(p.name))
    {
        c.error(
            &child(path, prop.name),
            "required",
            format!("`{}` is required here", prop.name),
        );
    }
}

/// `type--UUID`, the UUID in RFC 4122 form (versions 1-5, the RFC 4122 variant).
pub fn is_valid_identifier(id: &str) -> bool {
    let Some((prefix, uuid)) = id.split_once("--") else {
        return false;
    };
    is_valid_type_name(prefix) && is_valid_uuid(uuid)
}

fn is_valid_uuid(u: &str) -> bool {
    let b = u.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, ch)| match i {
            8 | 13 | 18 | 23 => *ch == b'-',
            _ => ch.is_ascii_hexdigit(),
        })
        && matches!(b[14], b'1'..=b'5')
        && matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

fn uuid_version(id: &str) -> Option<u8> {
    let (_, uuid) = id.split_once("--")?;
    uuid.as_bytes().get(14).map(|b| b.wrapping_sub(b'0'))
}

fn check_identifier(c: &mut Checker, path: &str, id: &str, types: &[&str]) {
    if !is_valid_identifier(id) {
        c.error(
            path,
            "identifier",
            format!("{id:?} is not a STIX identifier (type--UUID, RFC 4122 version 1-5)"),
        );
        return;
    }
    let prefix = id.split_once("--").map(|(p, _)| p).unwrap_or_default();
    if !types.is_empty() && !types.contains(&prefix) {
        c.error(
            path,
            "reference-type",
            format!("{id:?} must point at {}", types.join(" or ")),
        );
    }
}

/// The value as a JSON object, reporting an error if it is not one or is empty.
fn non_empty_object<'v>(
    c: &mut Checker,
    path: &str,
    value: &'v Value,
    what: &str,
    empty_rule: &'static str,
) -> Option<&'v Map<String, Value>> {
    let Some(map) = value.as_object() else {
        c.error(
            path,
            "type",
            format!("{what} must be a dictionary (JSON object)"),
        );
        return None;
    };
    if map.is_empty() {
        c.error(path, empty_rule, format!("{what} must not be empty"));
    }
    Some(map)
}

/// STIX dictionaries: non-empty; keys of letters, digits, `_` and `-`, at most 250; no null or empty-list values.
fn check_dictionary(c: &mut Checker, path: &str, value: &Value) {
    let Some(map) = non_empty_object(c, path, value, "a dictionary", "empty-dictionary") else {
        return;
    };
    for (key, v) in map {
        let p = child(path, key);
        if key.len() > 250
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            c.error(
                &p,
                "dictionary-key",
                format!("dictionary key {key:?} must be at most 250 letters, digits, _ or -"),
            );
        }
        check_custom_value(c, &p, v);
    }
}

/// Length (in hex digits) of the hash algorithms STIX names in its hash-algorithm-ov.
fn hash_hex_length(name: &str) -> Option<usize> {
    Some(match name {
        "MD5" => 32,
        "SHA-1" => 40,
        "SHA-256" | "SHA3-256" => 64,
        "SHA-512" | "SHA3-512" => 128,
        _ => return None,
    })
}

const HASH_NAMES: &[&str] = &[
    "MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH",
];

fn check_hashes(c: &mut Checker, path: &str, value: &Value, only_standard_names: bool) {
    let Some(map) = non_empty_object(c, path, value, "hashes", "empty-hashes") else {
        return;
    };
    for (key, v) in map {
        let p = child(path, key);
        if key.len() < 3
            || key.len() > 250
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            c.error(
                &p,
                "hash-name",
                format!("hash name {key:?} must be 3-250 letters, digits, - or _"),
            );
        } else if only_standard_names && !HASH_NAMES.contains(&key.as_str()) {
            c.error(
                &p,
                "hash-name",
                format!("hash name {key:?} must be one of {}", HASH_NAMES.join(", ")),
            );
        }
        let Some(text) = v.as_str() else {
            c.error(&p, "type", "hash values must be strings");
            continue;
        };
        let ok = match key.as_str() {
            "SSDEEP" => {
                (1..=128).contains(&text.len())
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/+:.".contains(&b))
            }
            "TLSH" => text.len() == 70 && text.bytes().all(|b| b.is_ascii_alphanumeric()),
            name => hash_hex_length(name)
                .is_none_or(|n| text.len() == n && text.bytes().all(|b| b.is_ascii_hexdigit())),
        };
        if !ok {
            c.error(
                &p,
                "hash-value",
                format!("{text:?} is not a valid {key} value"),
            );
        }
    }
}

fn is_cve_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
        && (number.len() == 4 || !number.starts_with('0'))
}

fn is_capec_id(s: &str) -> bool {
    s.strip_prefix("CAPEC-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn check_external_reference(c: &mut Checker, path: &str, value: &Value) {
    check_object_props(c, path, value, spec::EXTERNAL_REFERENCE_PROPS, true);
    let Some(map) = value.as_object() else { return };
    if let Some(url) = map.get("url").and_then(Value::as_str)
        && !formats::is_uri(url)
    {
        c.error(
            &child(path, "url"),
            "uri",
            format!(
                "{url:?} is not a URI (RFC 3986): it needs a scheme and no spaces or raw non-ASCII"
            ),
        );
    }
    if let Some(h) = map.get("hashes")
        && h.is_object()
    {
        check_hashes(c, &child(path, "hashes"), h, true);
    }
    let source = map
        .get("source_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let external_id = map.get("external_id").and_then(Value::as_str);
    match (source, external_id) {
        ("cve", Some(id)) if is_cve_id(id) => {}
        ("cve", _) => c.error(
            &child(path, "external_id"),
            "external-reference",
            "a cve reference needs external_id CVE-YYYY-NNNN",
        ),
        ("capec", Some(id)) if is_capec_id(id) => {}
        ("capec", _) => c.error(
            &child(path, "external_id"),
            "external-reference",
            "a capec reference needs external_id CAPEC-N",
        ),
        (_, Some(id)) if is_cve_id(id) || is_capec_id(id) => c.error(
            &child(path, "source_name"),
            "external-reference",
            format!(
                "external_id {id:?} is a CVE/CAPEC id, so source_name must be \"cve\" or \"capec\""
            ),
        ),
        _ => {
            if !["description", "url", "external_id"]
                .iter()
                .any(|k| map.contains_key(*k))
            {
                c.error(path, "external-reference", "an external reference needs description, url or external_id besides source_name");
            }
        }
    }
}

fn is_selector_syntax(sel: &str) -> bool {
    if sel == "id" {
        return true;
    }
    let mut parts = sel.split('.');
    let first = parts.next().unwrap_or_default();
    let plain = |p: &str, min: usize, max: usize| {
        (min..=max).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    plain(first, 3, 249)
        && parts.all(|p| {
            plain(p, 1, 250)
                || p.strip_prefix('[')
                    .and_then(|r| r.strip_suffix(']'))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// A granular-marking selector must name something the object has (STIX 2.1 section 7.2.3.1).
fn resolve_selector(object: &Map<String, Value>, selector: &str) -> Result<(), &'static str> {
    let mut current: Option<&Value> = None;
    for (i, part) in selector.split('.').enumerate() {
        let index = part
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|n| n.parse::<usize>().ok());
        let next = match (current, index) {
            (None, _) if i == 0 => object.get(part),
            (Some(Value::Array(items)), Some(n)) => items.get(n),
            (Some(Value::Object(map)), None) => map.get(part),
            _ => return Err("does not match the object's structure"),
        };
        match next {
            Some(v) => current = Some(v),
            None => return Err("names a property or list index the object does not have"),
        }
    }
    Ok(())
}

fn check_granular_marking(c: &mut Checker, path: &str, value: &Value) {
    check_object_props(c, path, value, spec::GRANULAR_MARKING_PROPS, false);
    let Some(map) = value.as_object() else { return };
    match (map.contains_key("marking_ref"), map.contains_key("lang")) {
        (true, true) | (false, false) => c.error(
            path,
            "granular-marking",
            "a granular marking needs exactly one of marking_ref and lang",
        ),
        _ => {}
    }
    if let Some(Value::Array(selectors)) = map.get("selectors") {
        for (i, sel) in selectors.iter().enumerate() {
            if let Some(s) = sel.as_str()
                && !is_selector_syntax(s)
            {
                c.error(
                    &item(&child(path, "selectors"), i),
                    "selector",
                    format!("{s:?} is not a selector (property.path.[index])"),
                );
            }
        }
    }
}

/// Predefined-style extension names: a type-like name ending in `-ext`.
fn is_extension_name(name: &str) -> bool {
    name.len() > 4 && name.ends_with("-ext") && is_valid_type_name(name)
}

fn check_extensions(c: &mut Checker, path: &str, value: &Value) {
    let Some(map) = non_empty_object(c, path, value, "extensions", "empty-extensions") else {
        return;
    };
    for (name, ext) in map {
        let p = child(path, name);
        let Some(body) = ext.as_object() else {
            c.error(&p, "type", "an extension must be an object");
            continue;
        };
        if body.is_empty() {
            c.error(&p, "empty-extension", "an extension must not be empty");
        }
        if name.starts_with("extension-definition--") {
            check_identifier(c, &p, name, &["extension-definition"]);
            match body.get("extension_type") {
                Some(t) => check_value(
                    c,
                    &child(&p, "extension_type"),
                    t,
                    &Ty::Enum(EXTENSION_TYPES),
                ),
                None => c.error(
                    &child(&p, "extension_type"),
                    "required",
                    "an extension-definition extension needs extension_type",
                ),
            }
            check_object_props(c, &p, ext, &[], true);
        } else if let Some(spec) = spec::extension_spec(name) {
            check_object_props(c, &p, ext, spec.props, true);
            check_extension_rules(c, &p, name, body);
        } else if is_extension_name(name) {
            check_object_props(c, &p, ext, &[], true);
        } else {
            c.error(
                &p,
                "extension-name",
                format!(
                    "extension {name:?} must be an extension-definition id or a name ending in -ext"
                ),
            );
        }
    }
}

const EXTENSION_TYPES: &[&str] = &[
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
];

fn require_any(c: &mut Checker, path: &str, o: &Map<String, Value>, keys: &[&str], what: &str) {
    if !keys.iter().any(|k| o.contains_key(*k)) {
        c.error(
            path,
            "at-least-one",
            format!("{what} needs at least one of {}", keys.join(", ")),
        );
    }
}

fn check_extension_rules(c: &mut Checker, path: &str, name: &str, o: &Map<String, Value>) {
    match name {
        "ntfs-ext" => require_any(c, path, o, &["sid", "alternate_data_streams"], name),
        "raster-image-ext" => require_any(
            c,
            path,
            o,
            &["image_height", "image_width", "bits_per_pixel", "exif_tags"],
            name,
        ),
        "pdf-ext" => require_any(
            c,
            path,
            o,
            &[
                "version",
                "is_optimized",
                "document_info_dict",
                "pdfid0",
                "pdfid1",
            ],
            name,
        ),
        "windows-pebinary-ext" => {
            require_any(
                c,
                path,
                o,
                &[
                    "imphash",
                    "machine_hex",
                    "number_of_sections",
                    "time_date_stamp",
                    "pointer_to_symbol_table_hex",
                    "number_of_symbols",
                    "size_of_optional_header",
                    "characteristics_hex",
                    "file_header_hashes",
                    "optional_header",
                    "sections",
                ],
                name,
            );
            if let Some(t) = o.get("time_date_stamp").and_then(Value::as_str)
                && Timestamp::parse(t).is_ok_and(|t| t.fraction_digits() > 0)
            {
                c.error(
                    &child(path, "time_date_stamp"),
                    "timestamp-precision",
                    "time_date_stamp is precise to the second: no fraction",
                );
            }
        }
        "tcp-ext" => require_any(c, path, o, &["src_flags_hex", "dst_flags_hex"], name),
        "unix-account-ext" => {
            require_any(c, path, o, &["gid", "groups", "home_dir", "shell"], name)
        }
        "windows-process-ext" => require_any(
            c,
            path,
            o,
            &[
                "aslr_enabled",
                "dep_enabled",
                "priority",
                "owner_sid",
                "window_title",
                "startup_info",
            ],
            name,
        ),
        "windows-service-ext" => require_any(
            c,
            path,
            o,
            &[
                "service_name",
                "descriptions",
                "display_name",
                "group_name",
                "start_type",
                "service_dll_refs",
                "service_type",
                "service_status",
            ],
            name,
        ),
        _ => {}
    }
}

fn ref_type(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key)
        .and_then(Value::as_str)
        .and_then(|id| id.split_once("--"))
        .map(|(t, _)| t.to_owned())
}

/// Types an SRO may not point at: other relationships and the meta objects.
const NOT_RELATABLE: &[&str] = &[
    "relationship",
    "sighting",
    "bundle",
    "marking-definition",
    "language-content",
];

fn check_type_rules(c: &mut Checker, type_name: &str, o: &Map<String, Value>) {
    let has = |k: &str| o.contains_key(k);
    match type_name {
        "campaign" | "infrastructure" | "intrusion-set" | "threat-actor" | "sighting" => {
            check_order(c, o, "first_seen", "last_seen", false)
        }
        "indicator" => {
            check_order(c, o, "valid_from", "valid_until", true);
            check_indicator_pattern(c, o);
        }
        "relationship" => {
            check_order(c, o, "start_time", "stop_time", true);
            for key in ["source_ref", "target_ref"] {
                if let Some(t) = ref_type(o, key)
                    && NOT_RELATABLE.contains(&t.as_str())
                {
                    c.error(
                        &child("", key),
                        "reference-type",
                        format!("{key} must point at an SDO or SCO, not a {t}"),
                    );
                }
            }
        }
        "observed-data" => check_observed_data(c, o),
        "location" => {
            match (has("latitude"), has("longitude")) {
                (true, false) => c.error(".longitude", "location", "latitude requires longitude"),
                (false, true) => c.error(".latitude", "location", "longitude requires latitude"),
                _ => {}
            }
            if has("precision") && !(has("latitude") && has("longitude")) {
                c.error(
                    ".precision",
                    "location",
                    "precision requires latitude and longitude",
                );
            }
            if !(has("region") || has("country") || (has("latitude") && has("longitude"))) {
                c.error(
                    "",
                    "location",
                    "a location needs region, country, or latitude and longitude",
                );
            }
        }
        "malware" => {
            check_order(c, o, "first_seen", "last_seen", false);
            if o.get("is_family") == Some(&Value::Bool(true)) && !has("name") {
                c.error(
                    ".name",
                    "required",
                    "a malware family (is_family: true) must have a name",
                );
            }
        }
        "malware-analysis" => require_any(
            c,
            "",
            o,
            &["result", "analysis_sco_refs"],
            "malware-analysis",
        ),
        "language-content" => check_language_content(c, o),
        "extension-definition" => {
            let toplevel = o
                .get("extension_types")
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().any(|v| v == "toplevel-property-extension"));
            if has("extension_properties") && !toplevel {
                c.error(".extension_properties", "extension-definition", "extension_properties needs extension_types to include toplevel-property-extension");
            }
        }
        "artifact" => {
            match (has("payload_bin"), has("url")) {
                (true, true) => c.error(
                    ".url",
                    "artifact",
                    "an artifact has payload_bin or url, not both",
                ),
                (false, false) => c.error("", "artifact", "an artifact needs payload_bin or url"),
                (false, true) if !has("hashes") => c.error(
                    ".hashes",
                    "artifact",
                    "an artifact with url must have hashes",
                ),
                _ => {}
            }
            if has("decryption_key") && !has("encryption_algorithm") {
                c.error(
                    ".decryption_key",
                    "artifact",
                    "decryption_key requires encryption_algorithm",
                );
            }
            check_format(
                c,
                o,
                "mime_type",
                formats::is_media_type,
                "a media type such as application/zip",
            );
            check_v4_without_contributing(c, o, &["hashes", "payload_bin"]);
        }
        "directory" => check_format(
            c,
            o,
            "path_enc",
            formats::is_charset_name,
            "an IANA character set name",
        ),
        "domain-name" => check_format(c, o, "value", formats::is_hostname, "a domain name"),
        "email-addr" => check_format(
            c,
            o,
            "value",
            formats::is_email_address,
            "an e-mail address",
        ),
        "email-message" => check_email_message(c, o),
        "file" => {
            require_any(c, "", o, &["hashes", "name"], "a file");
            check_format(
                c,
                o,
                "name_enc",
                formats::is_charset_name,
                "an IANA character set name",
            );
        }
        "ipv4-addr" => check_format(
            c,
            o,
            "value",
            formats::is_ipv4_value,
            "an IPv4 address or CIDR block",
        ),
        "ipv6-addr" => check_format(
            c,
            o,
            "value",
            formats::is_ipv6_value,
            "an IPv6 address or CIDR block",
        ),
        "mac-addr" => check_format(
            c,
            o,
            "value",
            formats::is_mac_value,
            "a lower-case, colon-separated MAC-48 address",
        ),
        "network-traffic" => {
            require_any(c, "", o, &["src_ref", "dst_ref"], "network-traffic");
            if o.get("is_active") == Some(&Value::Bool(true)) && has("end") {
                c.error(
                    ".end",
                    "network-traffic",
                    "active traffic (is_active: true) must not have end",
                );
            }
            check_order(c, o, "start", "end", false);
        }
        "process" => {
            if o.get("id")
                .and_then(Value::as_str)
                .and_then(uuid_version)
                .is_some_and(|v| v != 4)
            {
                c.error(
                    ".id",
                    "uuid-version",
                    "a process id must use a version 4 (random) UUID",
                );
            }
            require_any(
                c,
                "",
                o,
                &[
                    "extensions",
                    "is_hidden",
                    "pid",
                    "created_time",
                    "cwd",
                    "command_line",
                    "environment_variables",
                    "opened_connection_refs",
                    "creator_user_ref",
                    "image_ref",
                    "parent_ref",
                    "child_refs",
                ],
                "a process",
            );
        }
        "software" => {
            check_format(
                c,
                o,
                "cpe",
                formats::is_cpe23,
                "a CPE 2.3 formatted string (cpe:2.3:part:vendor:product:…)",
            );
            if let Some(Value::Array(langs)) = o.get("languages") {
                for (i, l) in langs.iter().enumerate() {
                    if let Some(s) = l.as_str()
                        && !formats::is_language_tag(s)
                    {
                        c.error(
                            &format!(".languages[{i}]"),
                            "language",
                            format!("{s:?} is not a language code"),
                        );
                    }
                }
            }
        }
        "url" => check_format(c, o, "value", formats::is_uri, "a URI (RFC 3986)"),
        "user-account" => {
            require_any(
                c,
                "",
                o,
                &[
                    "extensions",
                    "user_id",
                    "credential",
                    "account_login",
                    "account_type",
                    "display_name",
                    "is_service_account",
                    "is_privileged",
                    "can_escalate_privs",
                    "is_disabled",
                    "account_created",
                    "account_expires",
                    "credential_last_changed",
                    "account_first_login",
                    "account_last_login",
                ],
                "a user-account",
            );
            check_v4_without_contributing(c, o, &["account_type", "user_id", "account_login"]);
        }
        "windows-registry-key" => {
            require_any(
                c,
                "",
                o,
                &[
                    "key",
                    "values",
                    "modified_time",
                    "creator_user_ref",
                    "number_of_subkeys",
                ],
                "a windows-registry-key",
            );
            if let Some(key) = o.get("key").and_then(Value::as_str) {
                let hive = key
                    .split('\\')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                if ["HKLM", "HKCC", "HKCR", "HKCU", "HKU"].contains(&hive.as_str()) {
                    c.error(
                        ".key",
                        "registry-hive",
                        format!(
                            "the hive must be written in full (e.g. HKEY_LOCAL_MACHINE), not {hive}"
                        ),
                    );
                }
            }
            if let Some(Value::Array(values)) = o.get("values") {
                for (i, v) in values.iter().enumerate() {
                    if let Some(v) = v.as_object() {
                        require_any(
                            c,
                            &format!(".values[{i}]"),
                            v,
                            &["name", "data", "data_type"],
                            "a registry value",
                        );
                    }
                }
            }
            check_v4_without_contributing(c, o, &["key", "values"]);
        }
        "x509-certificate" => {
            require_any(
                c,
                "",
                o,
                &[
                    "is_self_signed",
                    "hashes",
                    "version",
                    "serial_number",
                    "signature_algorithm",
                    "issuer",
                    "validity_not_before",
                    "validity_not_after",
                    "subject",
                    "subject_public_key_algorithm",
                    "subject_public_key_modulus",
                    "subject_public_key_exponent",
                    "x509_v3_extensions",
                ],
                "an x509-certificate",
            );
            if let Some(Value::Object(ext)) = o.get("x509_v3_extensions")
                && ext.is_empty()
            {
                c.error(
                    ".x509_v3_extensions",
                    "at-least-one",
                    "x509_v3_extensions must not be empty",
                );
            }
            check_v4_without_contributing(c, o, &["hashes", "serial_number"]);
        }
        "marking-definition" => check_marking_definition(c, o),
        _ => {}
    }
}

fn check_format(
    c: &mut Checker,
    o: &Map<String, Value>,
    key: &str,
    ok: fn(&str) -> bool,
    what: &str,
) {
    if let Some(s) = o.get(key).and_then(Value::as_str)
        && !ok(s)
    {
        c.error(&child("", key), "format", format!("{s:?} is not {what}"));
    }
}

/// SCOs whose id cannot be derived from content (none of its ID contributing
/// properties is present) must use a random, version 4 UUID (STIX 2.1 section 2.9).
fn check_v4_without_contributing(c: &mut Checker, o: &Map<String, Value>, contributing: &[&str]) {
    if contributing.iter().any(|k| o.contains_key(*k)) {
        return;
    }
    if o.get("id")
        .and_then(Value::as_str)
        .and_then(uuid_version)
        .is_some_and(|v| v != 4)
    {
        c.error(
            ".id",
            "uuid-version",
            format!(
                "without {} the id must use a version 4 UUID",
                contributing.join(" or ")
            ),
        );
    }
}

fn check_indicator_pattern(c: &mut Checker, o: &Map<String, Value>) {
    if o.get("pattern_type").and_then(Value::as_str) != Some("stix") {
        return;
    }
    let Some(pattern) = o.get("pattern").and_then(Value::as_str) else {
        return;
    };
    let version = match o.get("pattern_version").and_then(Value::as_str) {
        Some("2.1") | None => pattern::PatternVersion::V21,
        Some(_) => pattern::PatternVersion::V20,
    };
    if let Err(e) = pattern::validate_pattern(pattern, version) {
        c.error(
            ".pattern",
            "pattern",
            format!("not a valid STIX pattern: {e}"),
        );
    }
}

fn check_observed_data(c: &mut Checker, o: &Map<String, Value>) {
    check_order(c, o, "first_observed", "last_observed", false);
    match (o.contains_key("objects"), o.contains_key("object_refs")) {
        (true, true) => c.error(
            ".objects",
            "observed-data",
            "observed-data has object_refs or the deprecated objects, not both",
        ),
        (false, false) => c.error(
            ".object_refs",
            "observed-data",
            "observed-data needs object_refs (or the deprecated objects)",
        ),
        _ => {}
    }
    if let Some(Value::Array(refs)) = o.get("object_refs") {
        for (i, r) in refs.iter().enumerate() {
            let t = r
                .as_str()
                .and_then(|id| id.split_once("--"))
                .map(|(t, _)| t)
                .unwrap_or_default();
            if matches!(ObjectKind::of(t), ObjectKind::Sdo | ObjectKind::Meta) {
                c.error(
                    &format!(".object_refs[{i}]"),
                    "reference-type",
                    format!("observed-data refers to SCOs and SROs, not a {t}"),
                );
            }
        }
    }
    match o.get("objects") {
        None => {}
        Some(Value::Object(objects)) if !objects.is_empty() => {
            for (key, embedded) in objects {
                let p = child(".objects", key);
                match embedded.as_object() {
                    Some(e) if e.get("type").is_some() => {
                        for f in validate_object(e) {
                            c.findings.push(Finding {
                                path: format!("{p}{}", f.path),
                                ..f
                            });
                        }
                    }
                    _ => c.error(
                        &p,
                        "observed-data",
                        "each embedded observable must be an object with a type",
                    ),
                }
            }
        }
        Some(_) => c.error(
            ".objects",
            "observed-data",
            "objects must be a non-empty dictionary of cyber-observables",
        ),
    }
}

fn check_language_content(c: &mut Checker, o: &Map<String, Value>) {
    if let Some(t) = ref_type(o, "object_ref")
        && (t == "bundle" || t == "language-content")
    {
        c.error(
            ".object_ref",
            "reference-type",
            format!("language-content cannot translate a {t}"),
        );
    }
    let Some(contents) = o.get("contents") else {
        return;
    };
    let Some(map) = contents.as_object().filter(|m| !m.is_empty()) else {
        c.error(
            ".contents",
            "type",
            "contents must be a non-empty dictionary keyed by language",
        );
        return;
    };
    for (lang, translation) in map {
        let p = child(".contents", lang);
        if !formats::is_language_tag(lang) {
            c.error(
                &p,
                "language",
                format!("{lang:?} is not an RFC 5646 language tag"),
            );
        }
        match translation.as_object() {
            Some(t) if !t.is_empty() => {
                for key in t.keys() {
                    if !(3..=250).contains(&key.len())
                        || !key
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    {
                        c.error(
                            &child(&p, key),
                            "property-name",
                            format!("{key:?} is not a STIX property name"),
                        );
                    }
                }
            }
            _ => c.error(
                &p,
                "type",
                "each translation must be a non-empty object of translated properties",
            ),
        }
    }
}

fn check_email_message(c: &mut Checker, o: &Map<String, Value>) {
    match o.get("is_multipart") {
        Some(Value::Bool(true)) if o.contains_key("body") => c.error(
            ".body",
            "email-message",
            "a multipart message has body_multipart, not body",
        ),
        Some(Value::Bool(false)) if o.contains_key("body_multipart") => c.error(
            ".body_multipart",
            "email-message",
            "a message that is not multipart has body, not body_multipart",
        ),
        _ => {}
    }
    if let Some(Value::Array(parts)) = o.get("body_multipart") {
        for (i, part) in parts.iter().enumerate() {
            if let Some(p) = part.as_object()
                && p.contains_key("body") == p.contains_key("body_raw_ref")
            {
                c.error(
                    &format!(".body_multipart[{i}]"),
                    "email-message",
                    "a MIME part has exactly one of body and body_raw_ref",
                );
            }
        }
    }
    if let Some(fields) = o.get("additional_header_fields") {
        match fields.as_object() {
            Some(map) if !map.is_empty() => {
                for (name, v) in map {
                    let ok = v.is_string()
                        || v.as_array()
                            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string));
                    if !ok {
                        c.error(
                            &child(".additional_header_fields", name),
                            "type",
                            "header values are strings or lists of strings",
                        );
                    }
                }
            }
            _ => c.error(
                ".additional_header_fields",
                "type",
                "additional_header_fields must be a non-empty dictionary",
            ),
        }
    }
}

fn check_marking_definition(c: &mut Checker, o: &Map<String, Value>) {
    let id = o.get("id").and_then(Value::as_str).unwrap_or_default();
    let has_ext = o
        .get("extensions")
        .and_then(Value::as_object)
        .is_some_and(|e| !e.is_empty());
    match (o.get("definition_type"), o.get("definition")) {
        (Some(_), None) => c.error(
            ".definition",
            "required",
            "definition_type requires definition",
        ),
        (None, Some(_)) => c.error(
            ".definition_type",
            "required",
            "definition requires definition_type",
        ),
        (None, None) if !has_ext => c.error(
            "",
            "marking-definition",
            "a marking-definition needs definition_type and definition, or extensions",
        ),
        _ => {}
    }
    if let Some(def) = o.get("definition")
        && !def.is_object()
    {
        c.error(".definition", "type", "definition must be an object");
    }
    if let Some(Value::Object(ext)) = o.get("extensions") {
        for name in ext
            .keys()
            .filter(|k| !k.starts_with("extension-definition--"))
        {
            c.error(
                &child(".extensions", name),
                "extension-name",
                "marking-definitions take only extension-definition extensions",
            );
        }
    }
    let refers_to_itself = o
        .get("object_marking_refs")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(|r| r == id))
        || o.get("granular_markings")
            .and_then(Value::as_array)
            .is_some_and(|gm| {
                gm.iter()
                    .any(|g| g.get("marking_ref").and_then(Value::as_str) == Some(id))
            });
    if refers_to_itself {
        c.error(
            ".object_marking_refs",
            "circular-marking",
            "a marking-definition cannot be marked by itself",
        );
    }
    if let (Some(Value::String(kind)), Some(Value::Object(def))) =
        (o.get("definition_type"), o.get("definition"))
    {
        match kind.as_str() {
            "statement" if !def.get("statement").is_some_and(Value::is_string) => c.error(
                ".definition.statement",
                "marking-definition",
                "a statement marking needs a string definition.statement",
            ),
            "tlp" => check_tlp1_marking(c, o, id, def),
            _ => {}
        }
    }
}

/// TLP 1.0 markings are fixed by STIX 2.1 section 7.2.1.4: only the four predefined objects, exactly as written there.
fn check_tlp1_marking(c: &mut Checker, o: &Map<String, Value>, id: &str, def: &Map<String, Value>) {
    let Some(level) = def.get("tlp").and_then(Value::as_str) else {
        c.error(
            ".definition.tlp",
            "required",
            "a tlp marking needs definition.tlp",
        );
        return;
    };
    let Some((expected_id, _)) = tlp::TLP_1_0_DEFINITIONS.iter().find(|(_, l)| *l == level) else {
        c.error(
            ".definition.tlp",
            "vocabulary",
            "definition.tlp must be white, green, amber or red",
        );
        return;
    };
    if *expected_id != id {
        c.error(
            ".id",
            "tlp-marking",
            format!("the TLP {level} marking-definition has id {expected_id}"),
        );
    }
    let expected_name = format!("TLP:{}", level.to_ascii_uppercase());
    if o.get("name").and_then(Value::as_str) != Some(expected_name.as_str()) {
        c.error(
            ".name",
            "tlp-marking",
            format!("the TLP {level} marking-definition is named {expected_name:?}"),
        );
    }
    if o.get("created").and_then(Value::as_str) != Some("2017-01-20T00:00:00.000Z") {
        c.error(
            ".created",
            "tlp-marking",
            "the predefined TLP marking-definitions were created 2017-01-20T00:00:00.000Z",
        );
    }
    const ALLOWED: &[&str] = &[
        "type",
        "spec_version",
        "id",
        "created",
        "name",
        "definition_type",
        "definition",
    ];
    for key in o.keys().filter(|k| !ALLOWED.contains(&k.as_str())) {
        c.error(
            &child("", key),
            "tlp-marking",
            "the predefined TLP marking-definitions have no other properties",
        );
    }
    if def.len() != 1 {
        c.error(
            ".definition",
            "tlp-marking",
            "a TLP definition holds only tlp",
        );
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
        o["modified"] = json!("2015-01-01T00:00:00.000Z");
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
        assert!(is_valid_identifier(
            "campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
        ));
        assert!(!is_valid_identifier(
            "campaign--8e2e2d2b-17d4-4cbf-738f-98ee46b3cd3f"
        ));
        assert!(!is_valid_identifier(
            "campaign-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
        ));
        assert!(!is_valid_identifier(
            "Campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
        ));
    }
}
