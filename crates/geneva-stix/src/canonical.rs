//! Canonical JSON (RFC 8785, JSON Canonicalization Scheme) and its SHA-256.
//!
//! Every stored object version is kept in this form, so that the same content
//! always has the same bytes and the same hash, whatever order or spacing the
//! submitter used. The transparency log hashes these bytes.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Serialises `value` in RFC 8785 canonical form.
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value);
    out
}

/// SHA-256 of the canonical form.
pub fn sha256(canonical: &str) -> [u8; 32] {
    Sha256::digest(canonical.as_bytes()).into()
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                out.push_str(&n.to_string());
            } else if let Some(f) = n.as_f64() {
                // ECMAScript Number-to-String, as RFC 8785 section 3.2.2.3 requires.
                let mut buf = ryu_js::Buffer::new();
                out.push_str(buf.format_finite(f));
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    // serde_json's map iterates in byte order, which equals the UTF-16 code unit
    // order RFC 8785 asks for unless a key holds characters above U+FFFF.
    if map.keys().all(|k| k.is_ascii()) {
        write_members(out, map.iter());
    } else {
        let mut entries: Vec<_> = map.iter().collect();
        entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
        write_members(out, entries.into_iter());
    }
    out.push('}');
}

fn write_members<'a>(out: &mut String, members: impl Iterator<Item = (&'a String, &'a Value)>) {
    for (i, (key, value)) in members.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, value);
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v: Value = serde_json::from_str(r#"{ "b": 1, "a": [true, null, "x"] }"#).unwrap();
        assert_eq!(to_canonical_string(&v), r#"{"a":[true,null,"x"],"b":1}"#);
    }

    #[test]
    fn rfc8785_number_examples() {
        // Values from RFC 8785 appendix B.
        for (input, expected) in [
            ("0", "0"),
            ("-0.0", "0"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("0.000001", "0.000001"),
            ("1e-7", "1e-7"),
            ("333333333.3333333", "333333333.3333333"),
            ("4.50", "4.5"),
        ] {
            let v: Value = serde_json::from_str(input).unwrap();
            assert_eq!(to_canonical_string(&v), expected, "{input}");
        }
    }

    #[test]
    fn escapes_like_ecmascript() {
        let v = json!("a\"b\\c\n\u{1}\u{7f}é€\u{2028}");
        assert_eq!(
            to_canonical_string(&v),
            "\"a\\\"b\\\\c\\n\\u0001\u{7f}é€\u{2028}\""
        );
    }

    #[test]
    fn sorts_by_utf16_code_units() {
        // U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16 but after it in UTF-8.
        let v = json!({"\u{fb33}": 1, "\u{1f600}": 2});
        assert_eq!(to_canonical_string(&v), "{\"\u{1f600}\":2,\"\u{fb33}\":1}");
    }
}
