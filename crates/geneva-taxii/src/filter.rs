//! The filters of the objects, manifest and versions endpoints (TAXII 2.1
//! §3.4–3.6): `added_after`, `limit`, `next` and `match[id|type|version|
//! spec_version]`, each `match` a comma-separated list, repeatable.

use geneva_stix::Timestamp;

/// Longest query string considered: filters are short, and the rest of a
/// request is bounded by the server.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Most values one `match[…]` filter may list.
pub const MAX_MATCH_VALUES: usize = 1_000;

/// Which versions of each object a request wants (`match[version]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionMatch {
    Last,
    First,
    All,
    /// Versions whose `modified` (or `created`) is this instant.
    At(Timestamp),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFilter {
    /// Only versions added strictly after this instant.
    pub added_after: Option<Timestamp>,
    /// Most results wanted, already lowered to the server's maximum.
    pub limit: usize,
    /// Where the previous page stopped (opaque to the client).
    pub next: Option<String>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    /// `[Last]` when the request names none.
    pub versions: Vec<VersionMatch>,
    pub spec_versions: Vec<String>,
}

/// A filter the request got wrong: which parameter, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter {parameter}: {reason}")]
pub struct FilterError {
    pub parameter: String,
    pub reason: String,
}

fn refuse(parameter: &str, reason: impl Into<String>) -> FilterError {
    FilterError {
        parameter: parameter.chars().take(64).collect(),
        reason: reason.into(),
    }
}

fn is_type_name(s: &str) -> bool {
    (3..=250).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_object_id(s: &str) -> bool {
    s.len() <= 300
        && s.split_once("--").is_some_and(|(t, uuid)| {
            is_type_name(t)
                && uuid.len() == 36
                && uuid.bytes().enumerate().all(|(i, b)| match i {
                    8 | 13 | 18 | 23 => b == b'-',
                    _ => b.is_ascii_hexdigit(),
                })
        })
}

impl ObjectFilter {
    /// Parses a raw (still percent-encoded) query string. Parameters TAXII
    /// does not define are ignored; a defined one that is malformed, or a
    /// single-valued one given twice, is an error. `max_limit` caps `limit`
    /// and is the page size when none is asked for.
    pub fn parse(query: &str, max_limit: usize) -> Result<ObjectFilter, FilterError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(refuse(
                "(query)",
                format!("longer than {MAX_QUERY_BYTES} bytes"),
            ));
        }
        let mut filter = ObjectFilter {
            added_after: None,
            limit: max_limit,
            next: None,
            ids: Vec::new(),
            types: Vec::new(),
            versions: Vec::new(),
            spec_versions: Vec::new(),
        };
        let mut seen_limit = false;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let once = |seen: bool| {
                if seen {
                    Err(refuse(&name, "given more than once"))
                } else {
                    Ok(())
                }
            };
            match name.as_ref() {
                "added_after" => {
                    once(filter.added_after.is_some())?;
                    filter.added_after = Some(
                        Timestamp::parse(&value)
                            .map_err(|e| refuse(&name, format!("not a timestamp: {e}")))?,
                    );
                }
                "limit" => {
                    once(seen_limit)?;
                    seen_limit = true;
                    let n: usize = value
                        .parse()
                        .map_err(|_| refuse(&name, "not a positive whole number"))?;
                    if n == 0 {
                        return Err(refuse(&name, "must be at least 1"));
                    }
                    filter.limit = n.min(max_limit);
                }
                "next" => {
                    once(filter.next.is_some())?;
                    if value.is_empty() || value.len() > 1024 {
                        return Err(refuse(&name, "empty or longer than 1024 bytes"));
                    }
                    filter.next = Some(value.into_owned());
                }
                "match[id]" => {
                    for id in list(&name, &value, filter.ids.len())? {
                        if !is_object_id(id) {
                            return Err(refuse(&name, format!("{id:.80} is not a STIX id")));
                        }
                        filter.ids.push(id.to_owned());
                    }
                }
                "match[type]" => {
                    for t in list(&name, &value, filter.types.len())? {
                        if !is_type_name(t) {
                            return Err(refuse(&name, format!("{t:.80} is not a STIX type")));
                        }
                        filter.types.push(t.to_owned());
                    }
                }
                "match[version]" => {
                    for v in list(&name, &value, filter.versions.len())? {
                        filter.versions.push(match v {
                            "last" => VersionMatch::Last,
                            "first" => VersionMatch::First,
                            "all" => VersionMatch::All,
                            other => VersionMatch::At(Timestamp::parse(other).map_err(|_| {
                                refuse(
                                    &name,
                                    format!(
                                        "{other:.80} is neither last, first, all nor a timestamp"
                                    ),
                                )
                            })?),
                        });
                    }
                }
                "match[spec_version]" => {
                    for v in list(&name, &value, filter.spec_versions.len())? {
                        let valid = v.split_once('.').is_some_and(|(major, minor)| {
                            !major.is_empty()
                                && !minor.is_empty()
                                && major.len() + minor.len() <= 6
                                && (major.bytes().chain(minor.bytes())).all(|b| b.is_ascii_digit())
                        });
                        if !valid {
                            return Err(refuse(
                                &name,
                                format!("{v:.80} is not a version like 2.1"),
                            ));
                        }
                        filter.spec_versions.push(v.to_owned());
                    }
                }
                _ => {}
            }
        }
        if filter.versions.is_empty() {
            filter.versions.push(VersionMatch::Last);
        }
        Ok(filter)
    }

    /// Whether `match[version]` asked for every version.
    pub fn wants_all_versions(&self) -> bool {
        self.versions.contains(&VersionMatch::All)
    }
}

fn list<'v>(name: &str, value: &'v str, already: usize) -> Result<Vec<&'v str>, FilterError> {
    let values: Vec<&str> = value.split(',').map(str::trim).collect();
    if values.iter().any(|v| v.is_empty()) {
        return Err(refuse(name, "has an empty value"));
    }
    if already + values.len() > MAX_MATCH_VALUES {
        return Err(refuse(
            name,
            format!("lists more than {MAX_MATCH_VALUES} values"),
        ));
    }
    Ok(values)
}

/// Milliseconds since the Unix epoch of a timestamp, finer digits dropped
/// (dates added are kept to the millisecond, so "after" stays exact).
pub fn unix_millis(timestamp: &Timestamp) -> i64 {
    let t = timestamp.as_str().as_bytes();
    let num = |r: std::ops::Range<usize>| -> i64 {
        t[r].iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0'))
    };
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let (hour, minute, second) = (num(11..13), num(14..16), num(17..19));
    let mut millis = 0;
    let mut digits = 0;
    if t.get(19) == Some(&b'.') {
        for d in t[20..].iter().take_while(|d| d.is_ascii_digit()).take(3) {
            millis = millis * 10 + i64::from(d - b'0');
            digits += 1;
        }
    }
    while digits < 3 {
        millis *= 10;
        digits += 1;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
}
