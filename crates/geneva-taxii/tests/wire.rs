//! Content negotiation and filters as TAXII 2.1 states them, including what
//! hostile or careless clients send.

use geneva_stix::Timestamp;
use geneva_taxii::{
    ErrorMessage, MediaKind, ObjectFilter, VersionMatch, accepts, is_taxii_content,
};

#[test]
fn accept_headers() {
    for ok in [
        None,
        Some(""),
        Some("application/taxii+json;version=2.1"),
        Some("application/taxii+json"),
        Some("Application/TAXII+JSON; Version=2.1"),
        Some("application/taxii+json;version=\"2.1\""),
        Some("*/*"),
        Some("application/*"),
        Some("text/html, application/taxii+json;version=2.1;q=0.9"),
    ] {
        assert!(accepts(ok, MediaKind::Taxii), "{ok:?}");
    }
    for refused in [
        "application/taxii+json;version=2.0",
        "application/json",
        "text/html",
        "application/stix+json;version=2.1",
        "application/taxii+json;version=2.1;q=0",
        ",,,;;;",
    ] {
        assert!(!accepts(Some(refused), MediaKind::Taxii), "{refused:?}");
    }
    assert!(accepts(
        Some("application/stix+json;version=2.1"),
        MediaKind::Stix
    ));
}

#[test]
fn content_types() {
    assert!(is_taxii_content(Some("application/taxii+json;version=2.1")));
    assert!(is_taxii_content(Some("application/taxii+json")));
    for refused in [
        None,
        Some("application/json"),
        Some("application/taxii+json;version=2.0"),
        Some("application/taxii+json, application/json"),
        Some(""),
    ] {
        assert!(!is_taxii_content(refused), "{refused:?}");
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

#[test]
fn filters_parse_as_the_specification_writes_them() {
    let f = ObjectFilter::parse("", 100).unwrap();
    assert_eq!(f.limit, 100);
    assert_eq!(f.versions, vec![VersionMatch::Last]);
    assert!(f.ids.is_empty() && f.types.is_empty() && f.added_after.is_none());

    let f = ObjectFilter::parse(
        "added_after=2016-02-01T00:00:01.000Z&limit=10&next=abc\
         &match[type]=indicator,sighting&match[type]=malware\
         &match%5Bid%5D=indicator--c410e480-e42b-47d1-9476-85307c12bcbf\
         &match[version]=first,2016-01-01T01:01:01.000Z&match[spec_version]=2.0,2.1\
         &unknown=ignored",
        1000,
    )
    .unwrap();
    assert_eq!(f.added_after, Some(ts("2016-02-01T00:00:01.000Z")));
    assert_eq!(f.limit, 10);
    assert_eq!(f.next.as_deref(), Some("abc"));
    assert_eq!(f.types, vec!["indicator", "sighting", "malware"]);
    assert_eq!(
        f.ids,
        vec!["indicator--c410e480-e42b-47d1-9476-85307c12bcbf"]
    );
    assert_eq!(
        f.versions,
        vec![
            VersionMatch::First,
            VersionMatch::At(ts("2016-01-01T01:01:01.000Z"))
        ]
    );
    assert_eq!(f.spec_versions, vec!["2.0", "2.1"]);

    // The server's maximum wins over the client's wish.
    assert_eq!(ObjectFilter::parse("limit=5000", 100).unwrap().limit, 100);
    assert!(
        ObjectFilter::parse("match[version]=all", 100)
            .unwrap()
            .wants_all_versions()
    );
}

#[test]
fn malformed_filters_name_the_parameter() {
    for (query, parameter) in [
        ("added_after=yesterday", "added_after"),
        (
            "added_after=2016-01-01T00:00:00Z&added_after=2017-01-01T00:00:00Z",
            "added_after",
        ),
        ("limit=0", "limit"),
        ("limit=-3", "limit"),
        ("limit=ten", "limit"),
        ("limit=1&limit=2", "limit"),
        ("next=", "next"),
        ("match[id]=not-an-id", "match[id]"),
        ("match[id]=indicator--zzzz", "match[id]"),
        ("match[type]=Indicator", "match[type]"),
        ("match[type]=a,,b", "match[type]"),
        ("match[version]=newest", "match[version]"),
        ("match[spec_version]=two", "match[spec_version]"),
    ] {
        let e = ObjectFilter::parse(query, 100).unwrap_err();
        assert_eq!(e.parameter, parameter, "{query}: {e}");
    }
    let many = format!("match[type]={}", vec!["malware"; 1001].join(","));
    assert!(ObjectFilter::parse(&many, 100).is_err());
    let huge = "a".repeat(70_000);
    assert!(ObjectFilter::parse(&huge, 100).is_err());
}

#[test]
fn garbage_queries_never_panic() {
    let mut seed: u64 = 7;
    let alphabet = b"&=[]%,.:-_aimdtvelnxyp0129ZT";
    for _ in 0..20_000 {
        let len = (seed % 60) as usize;
        let mut q = String::new();
        for _ in 0..len {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            q.push(alphabet[(seed >> 33) as usize % alphabet.len()] as char);
        }
        let _ = ObjectFilter::parse(&q, 100);
        let _ = accepts(Some(&q), MediaKind::Taxii);
    }
}

#[test]
fn error_messages_carry_the_status_as_a_string() {
    let e =
        serde_json::to_value(ErrorMessage::new(406, "Not Acceptable", "use TAXII 2.1")).unwrap();
    assert_eq!(e["http_status"], "406");
    assert_eq!(e["title"], "Not Acceptable");
    assert!(e.get("error_id").is_none());
}

#[test]
fn instants_in_milliseconds() {
    use geneva_taxii::unix_millis;
    assert_eq!(unix_millis(&ts("1970-01-01T00:00:00Z")), 0);
    assert_eq!(
        unix_millis(&ts("2026-01-02T00:00:00.5Z")),
        1_767_312_000_500
    );
    assert_eq!(
        unix_millis(&ts("2026-01-02T00:00:00.500999Z")),
        1_767_312_000_500
    );
    assert_eq!(
        unix_millis(&ts("2000-02-29T23:59:59.999Z")),
        951_868_799_999
    );
    assert_eq!(unix_millis(&ts("1969-12-31T23:59:59.000Z")), -1_000);
}

#[test]
fn envelopes_are_written_from_stored_json() {
    use geneva_taxii::envelope_bytes;
    let parse = |b: Vec<u8>| serde_json::from_slice::<serde_json::Value>(&b).unwrap();
    assert_eq!(
        parse(envelope_bytes(false, None, [])),
        serde_json::json!({})
    );
    assert_eq!(
        parse(envelope_bytes(
            true,
            Some("v\"7"),
            [r#"{"id":"a"}"#, r#"{"id":"b"}"#]
        )),
        serde_json::json!({"more": true, "next": "v\"7", "objects": [{"id": "a"}, {"id": "b"}]})
    );
    assert_eq!(
        parse(envelope_bytes(false, None, [r#"{"id":"a"}"#])),
        serde_json::json!({"objects": [{"id": "a"}]})
    );
}
