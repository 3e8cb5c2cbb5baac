//! Observables out of STIX: from cyber-observable objects (with references
//! inside the same document resolved) and from indicator patterns, where an
//! equality (or `IN`, or `ISSUBSET` of a range) on a known property becomes an
//! observable and everything else is left to the parsed pattern.

use std::collections::HashMap;

use geneva_stix::pattern::{Comparison, Literal, Op, PathComponent, parse_pattern};
use serde_json::Value;

use crate::{HashAlgo, Observable, normalize};

/// An observable and where it came from in its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub observable: Observable,
    /// The STIX property path it was read from, e.g. `hashes.SHA-256`.
    pub path: String,
}

/// A value that looked like an observable but was not valid: kept for the
/// analyst, never correlated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Extraction {
    pub observables: Vec<Extracted>,
    pub rejected: Vec<Rejected>,
}

impl Extraction {
    fn push(
        &mut self,
        path: impl Into<String>,
        result: Result<Observable, normalize::NormalizeError>,
    ) {
        match result {
            Ok(observable) => self.observables.push(Extracted {
                observable,
                path: path.into(),
            }),
            Err(e) => self.rejected.push(Rejected {
                path: path.into(),
                reason: e.to_string(),
            }),
        }
    }

    fn add_hashes(&mut self, prefix: &str, hashes: &serde_json::Map<String, Value>) {
        for (name, value) in hashes {
            let Some(text) = value.as_str() else { continue };
            let path = format!("{prefix}hashes.{name}");
            if let Some(algo) = HashAlgo::from_stix(name) {
                self.push(
                    path,
                    normalize::file_hash(algo, text).map(|h| Observable::FileHash(algo, h)),
                );
            } else if name.eq_ignore_ascii_case("SSDEEP") {
                self.push(path, normalize::ssdeep(text).map(Observable::Ssdeep));
            } else if name.eq_ignore_ascii_case("TLSH") {
                self.push(path, normalize::tlsh(text).map(Observable::Tlsh));
            }
        }
    }
}

/// The observables of one cyber-observable object. `objects` resolves
/// `*_ref`s (network-traffic endpoints, e-mail senders) within the document.
pub fn from_object(object: &Value, objects: &HashMap<&str, &Value>) -> Extraction {
    let mut out = Extraction::default();
    let Some(kind) = object.get("type").and_then(Value::as_str) else {
        return out;
    };
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    match kind {
        "ipv4-addr" | "ipv6-addr" => {
            if let Some(v) = text("value") {
                out.push("value", normalize::cidr(v));
            }
        }
        "domain-name" => {
            if let Some(v) = text("value") {
                out.push("value", normalize::domain(v).map(Observable::Domain));
            }
        }
        "url" => {
            if let Some(v) = text("value") {
                let url = normalize::url(v);
                if let Ok(u) = &url
                    && let Some(host) = normalize::url_host(u)
                {
                    out.observables.push(Extracted {
                        observable: host,
                        path: "value (host)".into(),
                    });
                }
                out.push("value", url.map(Observable::Url));
            }
        }
        "email-addr" => {
            if let Some(v) = text("value") {
                out.push("value", normalize::email(v).map(Observable::Email));
            }
        }
        "file" | "artifact" => {
            if let Some(hashes) = object.get("hashes").and_then(Value::as_object) {
                out.add_hashes("", hashes);
            }
        }
        "x509-certificate" => {
            if let Some(hashes) = object.get("hashes").and_then(Value::as_object) {
                out.add_hashes("", hashes);
            }
            if let Some(v) = text("serial_number") {
                out.push(
                    "serial_number",
                    normalize::x509_serial(v).map(Observable::X509Serial),
                );
            }
        }
        "autonomous-system" => {
            if let Some(n) = object.get("number").and_then(Value::as_u64) {
                out.push(
                    "number",
                    u32::try_from(n)
                        .map(Observable::Asn)
                        .map_err(|_| normalize::NormalizeError {
                            what: "AS number",
                            input: n.to_string(),
                            reason: "AS numbers are 32 bits".into(),
                        }),
                );
            }
        }
        "mac-addr" => {
            if let Some(v) = text("value") {
                out.push("value", normalize::mac(v).map(Observable::Mac));
            }
        }
        "windows-registry-key" => {
            if let Some(v) = text("key") {
                out.push(
                    "key",
                    normalize::registry_key(v).map(Observable::RegistryKey),
                );
            }
        }
        "mutex" => {
            if let Some(v) = text("name")
                && !v.is_empty()
            {
                out.observables.push(Extracted {
                    observable: Observable::Mutex(v.to_owned()),
                    path: "name".into(),
                });
            }
        }
        "network-traffic" => {
            for side in ["src_ref", "dst_ref"] {
                if let Some(target) = text(side).and_then(|id| objects.get(id)) {
                    for e in from_object(target, objects).observables {
                        out.observables.push(Extracted {
                            observable: e.observable,
                            path: format!("{side}.{}", e.path),
                        });
                    }
                }
            }
        }
        _ => {}
    }
    out
}

/// Every observable of a document's cyber-observables, references resolved.
pub fn from_objects(objects: &[Value]) -> Vec<(String, Extraction)> {
    let by_id: HashMap<&str, &Value> = objects
        .iter()
        .filter_map(|o| Some((o.get("id")?.as_str()?, o)))
        .collect();
    objects
        .iter()
        .filter_map(|o| {
            let id = o.get("id")?.as_str()?;
            let found = from_object(o, &by_id);
            (!found.observables.is_empty() || !found.rejected.is_empty())
                .then(|| (id.to_owned(), found))
        })
        .collect()
}

fn path_text(c: &Comparison) -> String {
    let mut out = format!("{}:", c.path.object_type);
    for (i, part) in c.path.components.iter().enumerate() {
        match part {
            PathComponent::Property(p) => {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(p);
            }
            PathComponent::Index(n) => out.push_str(&format!("[{n}]")),
            PathComponent::AnyIndex => out.push_str("[*]"),
        }
    }
    out
}

/// Turns a pattern's string literal into an observable.
type Normaliser = Box<dyn Fn(&str) -> Result<Observable, normalize::NormalizeError>>;

/// Which normaliser a pattern path calls for.
fn normaliser(c: &Comparison) -> Option<Normaliser> {
    let props: Vec<&str> = c
        .path
        .components
        .iter()
        .filter_map(|p| match p {
            PathComponent::Property(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    let last = *props.last()?;
    let first = *props.first()?;
    let hash_of = |name: &str| -> Option<Normaliser> {
        if let Some(algo) = HashAlgo::from_stix(name) {
            return Some(Box::new(move |v| {
                normalize::file_hash(algo, v).map(|h| Observable::FileHash(algo, h))
            }));
        }
        if name.eq_ignore_ascii_case("SSDEEP") {
            return Some(Box::new(|v| normalize::ssdeep(v).map(Observable::Ssdeep)));
        }
        if name.eq_ignore_ascii_case("TLSH") {
            return Some(Box::new(|v| normalize::tlsh(v).map(Observable::Tlsh)));
        }
        None
    };
    let endpoint = matches!(first, "src_ref" | "dst_ref") && last == "value";
    match (c.path.object_type.as_str(), first) {
        ("ipv4-addr" | "ipv6-addr", "value") => Some(Box::new(normalize::cidr)),
        ("domain-name", "value") => {
            Some(Box::new(|v| normalize::domain(v).map(Observable::Domain)))
        }
        ("url", "value") => Some(Box::new(|v| normalize::url(v).map(Observable::Url))),
        ("email-addr", "value") => Some(Box::new(|v| normalize::email(v).map(Observable::Email))),
        ("file" | "artifact" | "x509-certificate", "hashes") if props.len() == 2 => hash_of(last),
        ("x509-certificate", "serial_number") => Some(Box::new(|v| {
            normalize::x509_serial(v).map(Observable::X509Serial)
        })),
        ("mac-addr", "value") => Some(Box::new(|v| normalize::mac(v).map(Observable::Mac))),
        ("windows-registry-key", "key") => Some(Box::new(|v| {
            normalize::registry_key(v).map(Observable::RegistryKey)
        })),
        ("mutex", "name") => Some(Box::new(|v: &str| Ok(Observable::Mutex(v.to_owned())))),
        ("domain-name" | "ipv4-addr" | "ipv6-addr", "resolves_to_refs") if last == "value" => {
            Some(Box::new(|v| {
                normalize::cidr(v).or_else(|_| normalize::domain(v).map(Observable::Domain))
            }))
        }
        ("network-traffic", _) if endpoint => Some(Box::new(|v| {
            normalize::cidr(v).or_else(|_| normalize::domain(v).map(Observable::Domain))
        })),
        ("email-message", "from_ref" | "sender_ref") if last == "value" => {
            Some(Box::new(|v| normalize::email(v).map(Observable::Email)))
        }
        _ => None,
    }
}

/// The observables an indicator's STIX pattern names. Only positive
/// `=`, `IN` and `ISSUBSET` comparisons name values; `!=`, `LIKE`,
/// `MATCHES` and the rest describe sets of values and are not observables.
pub fn from_pattern(pattern: &str) -> Result<Extraction, geneva_stix::pattern::PatternError> {
    let parsed = parse_pattern(pattern)?;
    let mut out = Extraction::default();
    for c in parsed.comparisons() {
        if c.negated {
            continue;
        }
        let Some(normalise) = normaliser(c) else {
            if c.path.object_type == "autonomous-system"
                && matches!(c.op, Op::Eq)
                && let Some(Literal::Int(n)) = &c.value
                && let Ok(n) = u32::try_from(*n)
            {
                out.observables.push(Extracted {
                    observable: Observable::Asn(n),
                    path: path_text(c),
                });
            }
            continue;
        };
        let values: Vec<&str> = match (&c.op, &c.value) {
            (Op::Eq | Op::IsSubset, Some(Literal::String(s))) => vec![s.as_str()],
            (Op::In, Some(Literal::Set(items))) => items
                .iter()
                .filter_map(|l| match l {
                    Literal::String(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect(),
            _ => continue,
        };
        for value in values {
            out.push(path_text(c), normalise(value));
        }
    }
    Ok(out)
}

/// Something correlation links: a report, grouping, incident or observed-data
/// (with the observables of everything it refers to), or an indicator (with
/// its pattern's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub kind: String,
    pub observables: Vec<Observable>,
}

/// Object types whose observables are those of the objects they refer to.
pub const CONTAINERS: &[&str] = &[
    "report",
    "grouping",
    "incident",
    "observed-data",
    "note",
    "opinion",
];

/// An object's own observables: a cyber-observable's values (its `*_ref`s
/// resolved through `objects`), an indicator's STIX pattern's; none for
/// anything else.
pub fn observables_of(o: &Value, objects: &HashMap<&str, &Value>) -> Vec<Observable> {
    match o.get("type").and_then(Value::as_str) {
        Some("indicator") => o
            .get("pattern")
            .and_then(Value::as_str)
            .filter(|_| {
                o.get("pattern_type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "stix")
            })
            .and_then(|p| from_pattern(p).ok())
            .map(|e| e.observables.into_iter().map(|x| x.observable).collect())
            .unwrap_or_default(),
        _ => from_object(o, objects)
            .observables
            .into_iter()
            .map(|x| x.observable)
            .collect(),
    }
}

/// The items of a set of objects (typically everything a viewer may see).
/// A container's observables are those of the cyber-observables and
/// indicators it refers to (`object_refs`), references inside them resolved;
/// an indicator's are its pattern's.
pub fn items(objects: &[Value]) -> Vec<Item> {
    let by_id: HashMap<&str, &Value> = objects
        .iter()
        .filter_map(|o| Some((o.get("id")?.as_str()?, o)))
        .collect();
    let own = |o: &Value| observables_of(o, &by_id);
    let mut out = Vec::new();
    for o in objects {
        let (Some(id), Some(kind)) = (
            o.get("id").and_then(Value::as_str),
            o.get("type").and_then(Value::as_str),
        ) else {
            continue;
        };
        let mut observables: Vec<Observable> = if CONTAINERS.contains(&kind) {
            o.get("object_refs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| by_id.get(r.as_str()?))
                .flat_map(|target| own(target))
                .collect()
        } else if kind == "indicator" {
            own(o)
        } else {
            continue;
        };
        observables.sort();
        observables.dedup();
        if !observables.is_empty() {
            out.push(Item {
                id: id.to_owned(),
                kind: kind.to_owned(),
                observables,
            });
        }
    }
    out
}
