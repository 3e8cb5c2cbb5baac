//! The import pipeline up to the store: split, parse, upgrade, validate,
//! canonicalise and hash, objects in parallel; all or nothing.

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::canonical;
use crate::error::{DocumentError, Issue, Severity};
use crate::input::{self, Container, RawObject};
use crate::json;
use crate::kind::ObjectKind;
use crate::timestamp::Timestamp;
use crate::tlp::{self, Tlp};
use crate::upgrade;
use crate::validate::{self, Finding};

#[derive(Debug, Clone)]
pub struct PrepareOptions {
    /// Largest document accepted, after decompression.
    pub max_document_bytes: u64,
    /// Read STIX 2.0 objects and upgrade them to 2.1. When false, objects are
    /// held to STIX 2.1 exactly as `stix2_validator --version 2.1` does.
    pub upgrade_stix20: bool,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            max_document_bytes: input::DEFAULT_MAX_DOCUMENT_BYTES,
            upgrade_stix20: true,
        }
    }
}

/// One valid object version, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedObject {
    /// Position of the object in its document's `objects`.
    pub document_index: usize,
    pub id: String,
    pub object_type: String,
    pub kind: ObjectKind,
    pub spec_version: Option<String>,
    pub created: Option<Timestamp>,
    pub modified: Option<Timestamp>,
    pub revoked: bool,
    /// Strictest TLP marking on the object, if it carries one.
    pub tlp: Option<Tlp>,
    /// RFC 8785 canonical JSON: what is stored, exported and hashed.
    pub canonical: String,
    pub sha256: [u8; 32],
    /// True when the object arrived as STIX 2.0 and was upgraded.
    pub upgraded: bool,
}

impl PreparedObject {
    /// What distinguishes versions of one id: `modified` (or `created` for
    /// objects that have no `modified`), normalised so equal instants compare
    /// equal. Cyber-observables have neither: each distinct content of one
    /// SCO id is its own version, keyed by its hash.
    pub fn version_key(&self) -> String {
        match (&self.modified, &self.created) {
            (Some(m), _) => m.sort_key().to_string(),
            (None, Some(c)) => c.sort_key().to_string(),
            (None, None) => format!("sha256:{}", hex::encode(self.sha256)),
        }
    }

    /// `modified`, else `created`, as written: the STIX version identifier.
    pub fn version_text(&self) -> Option<&str> {
        self.modified
            .as_ref()
            .or(self.created.as_ref())
            .map(Timestamp::as_str)
    }
}

/// A whole document that passed validation.
#[derive(Debug)]
pub struct PreparedDocument {
    pub container: Container,
    pub objects: Vec<PreparedObject>,
    /// SHOULD-level findings; they do not stop the import.
    pub warnings: Vec<Issue>,
    /// Exact repeats inside the document that were dropped.
    pub duplicates_in_document: usize,
}

impl PreparedDocument {
    pub fn upgraded(&self) -> usize {
        self.objects.iter().filter(|o| o.upgraded).count()
    }
}

/// Validates and prepares every object of a document; any error refuses the whole document.
pub fn prepare(bytes: &[u8], options: &PrepareOptions) -> Result<PreparedDocument, DocumentError> {
    let mut objects = Vec::new();
    let outline = prepare_in_chunks(
        bytes,
        options,
        usize::MAX,
        |chunk| {
            objects.extend(chunk);
            true
        },
        |_, _| {},
    )?;
    Ok(PreparedDocument {
        container: outline.container,
        objects,
        warnings: outline.warnings,
        duplicates_in_document: outline.duplicates_in_document,
    })
}

/// What [`prepare_in_chunks`] learnt about a document, besides its objects.
#[derive(Debug)]
pub struct DocumentOutline {
    pub container: Container,
    /// Objects handed to the sink.
    pub objects: usize,
    pub upgraded: usize,
    pub warnings: Vec<Issue>,
    pub duplicates_in_document: usize,
}

/// Objects prepared per parallel step when streaming: large enough to keep both
/// cores busy, small enough that a writer can start early and memory stays flat.
pub const DEFAULT_CHUNK: usize = 2048;

/// Prepares a document `chunk` objects at a time (each chunk in parallel) and
/// hands every fully valid chunk to `sink` in document order, so that a store
/// can write while the rest is still being checked.
///
/// Once any object is invalid, nothing more reaches the sink, the remaining
/// objects are still checked (so that every error is reported), and the result
/// is an error: the caller must then discard what the sink received. The sink
/// returns `false` to stop early (its consumer failed); the result is then
/// `Ok` with the objects counted so far, and the caller knows why it stopped.
/// `progress(checked, total)` is called after each chunk has been checked.
pub fn prepare_in_chunks(
    bytes: &[u8],
    options: &PrepareOptions,
    chunk: usize,
    mut sink: impl FnMut(Vec<PreparedObject>) -> bool,
    mut progress: impl FnMut(usize, usize),
) -> Result<DocumentOutline, DocumentError> {
    let doc = input::decode(bytes, options.max_document_bytes)?;
    let split = input::split(&doc)?;
    let mut issues = container_issues(&split.container, options);
    let mut failed = issues.iter().any(|i| i.severity == Severity::Error);
    let mut versions = VersionsSeen::default();
    let (mut invalid_objects, mut sunk, mut upgraded) = (0, 0, 0);
    let local_markings = local_tlp_markings(&split.objects);
    let mut checked = 0;
    for raws in split.objects.chunks(chunk.max(1)) {
        let results: Vec<ObjectOutcome> = raws
            .par_iter()
            .map(|raw| process(&split.container, raw, options, &local_markings))
            .collect();
        let mut prepared = Vec::with_capacity(results.len());
        for outcome in results {
            if outcome.issues.iter().any(|i| i.severity == Severity::Error) {
                invalid_objects += 1;
            }
            issues.extend(outcome.issues);
            if let Some(o) = outcome.prepared {
                match versions.admit(&split.container, &split.objects, &o, &mut issues) {
                    Admission::Keep => prepared.push(o),
                    Admission::Repeat => {}
                    Admission::Conflict => invalid_objects += 1,
                }
            }
        }
        checked += raws.len();
        progress(checked, split.objects.len());
        failed |= issues.iter().any(|i| i.severity == Severity::Error);
        if failed {
            continue;
        }
        sunk += prepared.len();
        upgraded += prepared.iter().filter(|o| o.upgraded).count();
        if !prepared.is_empty() && !sink(prepared) {
            break;
        }
    }
    assign_lines(&doc, &mut issues);
    if failed {
        issues.sort_by_key(|i| (i.object_index, std::cmp::Reverse(i.severity)));
        return Err(DocumentError::Invalid {
            invalid_objects: invalid_objects.max(1),
            total_objects: split.objects.len(),
            issues,
        });
    }
    Ok(DocumentOutline {
        container: split.container,
        objects: sunk,
        upgraded,
        warnings: issues,
        duplicates_in_document: versions.duplicates,
    })
}

/// All findings for a document, without preparing anything for storage.
pub fn validate_document(
    bytes: &[u8],
    options: &PrepareOptions,
) -> Result<Vec<Issue>, DocumentError> {
    match prepare(bytes, options) {
        Ok(doc) => Ok(doc.warnings),
        Err(DocumentError::Invalid { issues, .. }) => Ok(issues),
        Err(e) => Err(e),
    }
}

/// Rules for the wrapper: a bundle's id, and its `spec_version`, which only STIX 2.0 bundles carry.
fn container_issues(container: &Container, options: &PrepareOptions) -> Vec<Issue> {
    let mut issues = Vec::new();
    let Container::Bundle { id, spec_version } = container else {
        return issues;
    };
    let mut error = |path: &str, rule, message: String| {
        issues.push(Issue {
            severity: Severity::Error,
            object_index: None,
            object_id: id.clone(),
            line: 1,
            path: path.into(),
            rule,
            message,
        })
    };
    match id {
        Some(id) if validate::is_valid_identifier(id) && id.starts_with("bundle--") => {}
        Some(id) => error(
            "$.id",
            "identifier",
            format!("bundle id {id:?} must be bundle--UUID"),
        ),
        None => error("$.id", "required", "a bundle needs an id".into()),
    }
    match spec_version.as_deref() {
        None => {}
        // STIX 2.1 bundles have no spec_version; "2.0" marks a STIX 2.0 bundle and "2.1" is a common, harmless addition.
        Some("2.0") if options.upgrade_stix20 => {}
        Some("2.1") => {}
        Some(v) => error(
            "$.spec_version",
            "spec-version",
            format!("a bundle's spec_version can only be \"2.0\" (a STIX 2.0 bundle); found {v:?}"),
        ),
    }
    issues
}

struct ObjectOutcome {
    prepared: Option<PreparedObject>,
    issues: Vec<Issue>,
}

/// TLP marking-definitions the document defines with the TLP 2.0 extension. A
/// cheap text search finds the candidates, so documents without any pay nothing.
fn local_tlp_markings(raws: &[RawObject<'_>]) -> tlp::LocalMarkings {
    raws.iter()
        .filter(|raw| raw.json.contains("tlp_2_0"))
        .filter_map(|raw| json::parse_strict(raw.json.as_bytes()).ok())
        .filter_map(|v| {
            let object = v.as_object()?;
            let id = object.get("id")?.as_str()?.to_owned();
            tlp::declared_level(object).map(|level| (id, level))
        })
        .collect()
}

fn process(
    container: &Container,
    raw: &RawObject<'_>,
    options: &PrepareOptions,
    local_markings: &tlp::LocalMarkings,
) -> ObjectOutcome {
    let located = |severity, id: Option<String>, suffix: &str, rule, message| Issue {
        severity,
        object_index: Some(raw.index),
        object_id: id,
        // Filled in by `assign_lines`: counting lines per issue would rescan the document each time.
        line: raw.offset,
        path: format!("{}{}", container.object_path(raw.index), suffix),
        rule,
        message,
    };
    let mut value = match json::parse_strict(raw.json.as_bytes()) {
        Ok(v) => v,
        Err(e) => {
            let suffix = json::format_path(&e.path)[1..].to_string();
            let message = match e.message.as_str() {
                m if m.starts_with("recursion limit") => {
                    "JSON nesting is deeper than 128 levels, which no STIX object needs".to_string()
                }
                m => m.to_string(),
            };
            return ObjectOutcome {
                prepared: None,
                issues: vec![located(Severity::Error, None, &suffix, "json", message)],
            };
        }
    };
    let Some(object) = value.as_object_mut() else {
        return ObjectOutcome {
            prepared: None,
            issues: vec![located(
                Severity::Error,
                None,
                "",
                "object",
                "a STIX object must be a JSON object".into(),
            )],
        };
    };
    let id = object.get("id").and_then(Value::as_str).map(str::to_owned);
    let upgraded = options.upgrade_stix20 && upgrade::is_stix20(object, container);
    if upgraded {
        upgrade::upgrade_object(object);
    }
    let findings = validate::validate_object(object);
    let issues: Vec<Issue> = findings
        .into_iter()
        .map(
            |Finding {
                 severity,
                 path,
                 rule,
                 message,
             }| located(severity, id.clone(), &path, rule, message),
        )
        .collect();
    if issues.iter().any(|i| i.severity == Severity::Error) {
        return ObjectOutcome {
            prepared: None,
            issues,
        };
    }
    let canonical = canonical::to_canonical_string(&value);
    let sha256 = canonical::sha256(&canonical);
    let object = value.as_object().expect("checked above");
    ObjectOutcome {
        prepared: Some(describe(
            raw.index,
            object,
            canonical,
            sha256,
            upgraded,
            local_markings,
        )),
        issues,
    }
}

fn describe(
    document_index: usize,
    object: &Map<String, Value>,
    canonical: String,
    sha256: [u8; 32],
    upgraded: bool,
    local_markings: &tlp::LocalMarkings,
) -> PreparedObject {
    let text = |k: &str| object.get(k).and_then(Value::as_str);
    let ts = |k: &str| text(k).and_then(|t| Timestamp::parse(t).ok());
    let object_type = text("type").unwrap_or_default().to_owned();
    let kind = ObjectKind::of(&object_type);
    PreparedObject {
        document_index,
        id: text("id").unwrap_or_default().to_owned(),
        kind,
        spec_version: text("spec_version").map(str::to_owned),
        created: ts("created"),
        modified: ts("modified"),
        revoked: object
            .get("revoked")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        tlp: tlp::tlp_with_local(object, local_markings),
        object_type,
        canonical,
        sha256,
        upgraded,
    }
}

/// Within one document, one (id, version) may appear once. Exact repeats are
/// dropped; differing content under one version is an error, because STIX
/// requires a new `modified` for every change.
#[derive(Default)]
struct VersionsSeen {
    seen: std::collections::HashMap<(String, String), [u8; 32]>,
    duplicates: usize,
}

impl VersionsSeen {
    /// Whether `o` should be kept; records an issue if it conflicts.
    fn admit(
        &mut self,
        container: &Container,
        raws: &[RawObject<'_>],
        o: &PreparedObject,
        issues: &mut Vec<Issue>,
    ) -> Admission {
        use std::collections::hash_map::Entry;
        match self.seen.entry((o.id.clone(), o.version_key())) {
            Entry::Vacant(v) => {
                v.insert(o.sha256);
                Admission::Keep
            }
            Entry::Occupied(e) if *e.get() == o.sha256 => {
                self.duplicates += 1;
                Admission::Repeat
            }
            Entry::Occupied(_) => {
                let index = o.document_index;
                issues.push(Issue {
                    severity: Severity::Error,
                    object_index: Some(index),
                    object_id: Some(o.id.clone()),
                    line: raws.get(index).map_or(0, |r| r.offset),
                    path: format!("{}.modified", container.object_path(index)),
                    rule: "version-conflict",
                    message: format!(
                        "the document holds two different objects with id {} and version {}; a changed object needs a new `modified`",
                        o.id,
                        o.version_text().unwrap_or("(none)")
                    ),
                });
                Admission::Conflict
            }
        }
    }
}

enum Admission {
    Keep,
    /// The same content again: dropped.
    Repeat,
    Conflict,
}

/// Turns the byte offsets parked in `Issue::line` into 1-based line numbers, in one pass.
fn assign_lines(doc: &[u8], issues: &mut [Issue]) {
    let mut order: Vec<usize> = (0..issues.len())
        .filter(|&i| issues[i].object_index.is_some())
        .collect();
    order.sort_by_key(|&i| issues[i].line);
    let (mut pos, mut line) = (0usize, 1usize);
    for i in order {
        let offset = issues[i].line.min(doc.len());
        line += doc[pos..offset].iter().filter(|&&b| b == b'\n').count();
        pos = offset;
        issues[i].line = line;
    }
}
