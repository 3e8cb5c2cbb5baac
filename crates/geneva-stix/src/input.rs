//! Splitting a document into its objects without building a DOM of the whole.
//!
//! A bundle, a TAXII envelope or a single object is scanned once; each entry of
//! `objects` becomes a borrowed slice of the input, parsed later on its own (in
//! parallel), so a large bundle is never held twice as a tree.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use serde::de::{self, Deserializer as _, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::DocumentError;
use crate::json::{self, JsonError};

/// Default upper bound on a document, after decompression.
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 512 * 1024 * 1024;

/// What wrapped the objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Container {
    /// `{"type": "bundle", ...}`; `spec_version` is present only in STIX 2.0 bundles.
    Bundle {
        id: Option<String>,
        spec_version: Option<String>,
    },
    /// A TAXII 2.1 envelope: `{"more": ..., "next": ..., "objects": [...]}`.
    Envelope,
    /// The document is one STIX object.
    Object,
    /// A bare JSON array of STIX objects.
    List,
}

impl Container {
    /// Prefix of the JSON path of each object in this container.
    pub fn object_path(&self, index: usize) -> String {
        match self {
            Container::Object => "$".to_string(),
            Container::List => format!("$[{index}]"),
            _ => format!("$.objects[{index}]"),
        }
    }
}

/// One entry of the document's object list, still unparsed.
#[derive(Debug, Clone, Copy)]
pub struct RawObject<'a> {
    pub index: usize,
    pub json: &'a str,
    /// Byte offset of the object in the (decompressed) document.
    pub offset: usize,
}

#[derive(Debug)]
pub struct SplitDocument<'a> {
    pub container: Container,
    pub objects: Vec<RawObject<'a>>,
}

/// Decompresses gzip input (recognised by its magic bytes) and enforces the size limit.
pub fn decode(bytes: &[u8], max_bytes: u64) -> Result<Cow<'_, [u8]>, DocumentError> {
    if bytes.len() as u64 > max_bytes {
        return Err(DocumentError::TooLarge {
            size: bytes.len() as u64,
            limit: max_bytes,
        });
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let mut reader = flate2::read::MultiGzDecoder::new(bytes).take(max_bytes + 1);
        reader
            .read_to_end(&mut out)
            .map_err(|e| DocumentError::Gzip(e.to_string()))?;
        if out.len() as u64 > max_bytes {
            return Err(DocumentError::TooLarge {
                size: out.len() as u64,
                limit: max_bytes,
            });
        }
        return Ok(Cow::Owned(out));
    }
    Ok(Cow::Borrowed(bytes))
}

/// A document's objects as JSON values, each read by the strict parser:
/// for callers that read evidence rather than import it (attribution). Any
/// container an import takes (bundle, envelope, list, one object), gzip and
/// the size limit as for imports.
pub fn objects_as_values(
    bytes: &[u8],
    max_bytes: u64,
) -> Result<Vec<serde_json::Value>, DocumentError> {
    let doc = decode(bytes, max_bytes)?;
    let split = split(&doc)?;
    split
        .objects
        .iter()
        .map(|o| {
            json::parse_strict(o.json.as_bytes()).map_err(|e| {
                DocumentError::Shape(format!("{}: {e}", split.container.object_path(o.index)))
            })
        })
        .collect()
}

/// Splits a decoded document into its container and raw objects.
pub fn split(doc: &[u8]) -> Result<SplitDocument<'_>, DocumentError> {
    if doc.iter().all(u8::is_ascii_whitespace) {
        return Err(DocumentError::Empty);
    }
    if doc.starts_with(&[0xef, 0xbb, 0xbf]) {
        return Err(DocumentError::Shape(
            "the file starts with a UTF-8 byte order mark, which JSON (RFC 8259) does not allow; remove it".into(),
        ));
    }
    if doc.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let items: Vec<&RawValue> =
            serde_json::from_slice(doc).map_err(|e| top_level_error(doc, &e))?;
        return Ok(SplitDocument {
            container: Container::List,
            objects: borrowed_objects(doc, items),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(doc);
    let members = de
        .deserialize_map(TopLevelVisitor)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| top_level_error(doc, &e))?;

    let get = |name: &str| members.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
    let str_member = |name: &str| -> Result<Option<String>, DocumentError> {
        match get(name) {
            None => Ok(None),
            Some(raw) => match serde_json::from_str::<serde_json::Value>(raw.get()) {
                Ok(serde_json::Value::String(s)) => Ok(Some(s)),
                _ => Err(DocumentError::Shape(format!(
                    "top-level \"{name}\" must be a string"
                ))),
            },
        }
    };

    let type_name = str_member("type")?;
    let container = match type_name.as_deref() {
        Some("bundle") => Container::Bundle {
            id: str_member("id")?,
            spec_version: str_member("spec_version")?,
        },
        Some(_) => {
            let offset = 0;
            let json = std::str::from_utf8(doc).map_err(|e| {
                DocumentError::Shape(format!("invalid UTF-8 at byte {}", e.valid_up_to()))
            })?;
            return Ok(SplitDocument {
                container: Container::Object,
                objects: vec![RawObject {
                    index: 0,
                    json: json.trim(),
                    offset,
                }],
            });
        }
        None if get("objects").is_some() => Container::Envelope,
        None => {
            return Err(DocumentError::Shape(
                "the top-level object has neither \"type\" nor \"objects\": expected a STIX bundle, a TAXII envelope or a STIX object"
                    .into(),
            ));
        }
    };

    let objects = match get("objects") {
        None => Vec::new(),
        Some(raw) => {
            let items: Vec<&RawValue> = serde_json::from_str(raw.get()).map_err(|_| {
                DocumentError::Shape("\"objects\" must be a JSON array of STIX objects".into())
            })?;
            borrowed_objects(doc, items)
        }
    };
    Ok(SplitDocument { container, objects })
}

fn borrowed_objects<'a>(doc: &'a [u8], items: Vec<&'a RawValue>) -> Vec<RawObject<'a>> {
    let base = doc.as_ptr() as usize;
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| RawObject {
            index,
            json: item.get(),
            offset: item.get().as_ptr() as usize - base,
        })
        .collect()
}

fn top_level_error(doc: &[u8], e: &serde_json::Error) -> DocumentError {
    let first = doc.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if e.is_eof() && first == Some(b'{') {
        return DocumentError::Json(JsonError {
            message: format!(
                "the document ends before its JSON is complete (truncated?): {}",
                json::describe_serde_error(e)
            ),
            line: e.line(),
            column: e.column(),
            path: Vec::new(),
        });
    }
    if first.is_some() && first != Some(b'{') && e.classify() == serde_json::error::Category::Data {
        return DocumentError::Shape(
            "the document must be a JSON object: a STIX bundle, a TAXII envelope or a single STIX object".into(),
        );
    }
    DocumentError::Json(JsonError {
        message: json::describe_serde_error(e),
        line: e.line(),
        column: e.column(),
        path: Vec::new(),
    })
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members: Vec<(String, &'de RawValue)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!(
                    "duplicate top-level key {key:?}"
                )));
            }
            let value: &'de RawValue = map.next_value()?;
            members.push((key, value));
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_bundle_into_borrowed_objects() {
        let doc = br#"{"type":"bundle","id":"bundle--1","objects":[{"a":1}, {"b":[2]}]}"#;
        let split = split(doc).unwrap();
        assert_eq!(split.objects.len(), 2);
        assert_eq!(split.objects[1].json, r#"{"b":[2]}"#);
        assert_eq!(&doc[split.objects[1].offset..][..9], br#"{"b":[2]}"#);
    }

    #[test]
    fn recognises_envelopes_and_single_objects() {
        assert_eq!(
            split(br#"{"more":false,"objects":[]}"#).unwrap().container,
            Container::Envelope
        );
        let one = split(br#"{"type":"identity","id":"x"}"#).unwrap();
        assert_eq!(one.container, Container::Object);
        assert_eq!(one.objects.len(), 1);
    }

    #[test]
    fn rejects_hostile_shapes() {
        assert!(matches!(split(b""), Err(DocumentError::Empty)));
        assert!(matches!(split(b"  \n"), Err(DocumentError::Empty)));
        assert!(matches!(split(b"\"text\""), Err(DocumentError::Shape(_))));
        assert_eq!(split(b"[{\"a\":1}]").unwrap().container, Container::List);
        assert!(matches!(
            split(br#"{"type":"bundle","objects":[{"#),
            Err(DocumentError::Json(_))
        ));
        assert!(split(br#"{"type":"bundle","type":"bundle"}"#).is_err());
        assert!(split(b"{\"type\":\"bundle\",\"id\":\"\xff\"}").is_err());
        let deep = format!(
            "{{\"type\":\"bundle\",\"objects\":[{}{}]}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        // Splitting scans iteratively; the depth error comes when the object is parsed.
        assert!(split(deep.as_bytes()).is_ok());
    }

    #[test]
    fn enforces_size_limit_before_and_after_gunzip() {
        assert!(matches!(
            decode(b"12345", 4),
            Err(DocumentError::TooLarge { .. })
        ));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &vec![b' '; 10_000]).unwrap();
        let gz = gz.finish().unwrap();
        assert!(matches!(
            decode(&gz, 1000),
            Err(DocumentError::TooLarge { .. })
        ));
        assert_eq!(decode(&gz, 20_000).unwrap().len(), 10_000);
    }
}
