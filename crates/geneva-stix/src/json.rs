//! Strict JSON: the subset of RFC 8259 that evidence may arrive in.
//!
//! `serde_json::Value` silently keeps the last of two duplicate keys; an attacker
//! can use that to show one reader one value and another reader a different one.
//! This parser rejects duplicates and records the JSON path of the offending key.
//! Nesting depth is bounded by serde_json's recursion limit (128), so hostile
//! nesting ends in an error, never a stack overflow.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// Formats a path as `$.objects[3].name`, quoting keys that are not identifiers.
pub fn format_path(segments: &[PathSegment]) -> String {
    let mut out = String::from("$");
    for segment in segments {
        push_segment(&mut out, segment);
    }
    out
}

pub(crate) fn push_segment(out: &mut String, segment: &PathSegment) {
    use std::fmt::Write;
    match segment {
        PathSegment::Index(i) => {
            let _ = write!(out, "[{i}]");
        }
        PathSegment::Key(k) if is_plain_key(k) => {
            out.push('.');
            out.push_str(k);
        }
        PathSegment::Key(k) => {
            let _ = write!(out, "[{}]", Value::String(k.clone()));
        }
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A parse failure with its position in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub message: String,
    /// 1-based line and column as reported by the parser (0 when unknown).
    pub line: usize,
    pub column: usize,
    /// Path of the value that broke a strictness rule, when known.
    pub path: Vec<PathSegment>,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if !self.path.is_empty() {
            write!(f, " at {}", format_path(&self.path))?;
        }
        if self.line > 0 {
            write!(f, " (line {}, column {})", self.line, self.column)?;
        }
        Ok(())
    }
}

impl std::error::Error for JsonError {}

/// Parses one JSON document strictly: no duplicate keys, bounded depth, no trailing data.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let path = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed { path: &path }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| {
            let mut segments = path.take();
            segments.reverse();
            JsonError {
                message: describe_serde_error(&e),
                line: e.line(),
                column: e.column(),
                path: segments,
            }
        })?;
    Ok(value)
}

/// Removes serde_json's " at line X column Y" suffix, which we report separately.
pub(crate) fn describe_serde_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(pos) => text[..pos].to_string(),
        None => text,
    };
    // serde_json reports bad UTF-8 and bad \u escapes alike; say which to look for.
    if text == "invalid unicode code point" {
        return "invalid UTF-8 byte sequence or \\u escape in a string".to_string();
    }
    text
}

/// Deserialises a `Value`, rejecting duplicate keys. On error, each enclosing
/// level appends its path segment to `path` (innermost first).
#[derive(Clone, Copy)]
struct StrictSeed<'p> {
    path: &'p RefCell<Vec<PathSegment>>,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        loop {
            match seq.next_element_seed(self) {
                Ok(Some(v)) => items.push(v),
                Ok(None) => break,
                Err(e) => {
                    self.path.borrow_mut().push(PathSegment::Index(items.len()));
                    return Err(e);
                }
            }
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let message = format!("duplicate key {}", Value::String(key.clone()));
                self.path.borrow_mut().push(PathSegment::Key(key));
                return Err(de::Error::custom(message));
            }
            match map.next_value_seed(self) {
                Ok(v) => {
                    object.insert(key, v);
                }
                Err(e) => {
                    self.path.borrow_mut().push(PathSegment::Key(key));
                    return Err(e);
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicate_keys_with_path() {
        let err = parse_strict(br#"{"a": {"b": [1, {"c": 1, "c": 2}]}}"#).unwrap_err();
        assert!(err.message.contains("duplicate key \"c\""), "{err}");
        assert_eq!(format_path(&err.path), "$.a.b[1].c");
    }

    #[test]
    fn rejects_deep_nesting_without_overflow() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let err = parse_strict(deep.as_bytes()).unwrap_err();
        assert!(err.message.contains("recursion limit"), "{err}");
    }

    #[test]
    fn rejects_invalid_utf8_and_trailing_data() {
        assert!(parse_strict(b"\"\xff\"").is_err());
        assert!(parse_strict(b"{} {}").is_err());
        assert!(parse_strict(b"").is_err());
    }

    #[test]
    fn keeps_values() {
        let v = parse_strict(br#"{"x": [1, -2, 1.5, true, null, "s"]}"#).unwrap();
        assert_eq!(v, serde_json::json!({"x": [1, -2, 1.5, true, null, "s"]}));
    }

    #[test]
    fn quotes_odd_keys_in_paths() {
        let path = [PathSegment::Key("a b".into()), PathSegment::Index(2)];
        assert_eq!(format_path(&path), "$[\"a b\"][2]");
    }
}
