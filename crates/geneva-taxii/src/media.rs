//! Media types and `Accept` negotiation (TAXII 2.1 §1.6.8).

/// TAXII resources, including the envelope of objects.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// STIX content, as named in manifests and collections.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Taxii,
    Stix,
}

impl MediaKind {
    fn subtype(self) -> &'static str {
        match self {
            MediaKind::Taxii => "taxii+json",
            MediaKind::Stix => "stix+json",
        }
    }
}

/// One media range: `type/subtype` in lower case, its `version`, its `q`.
struct Range<'a> {
    essence: String,
    version: Option<&'a str>,
    quality_zero: bool,
}

fn ranges(header: &str) -> impl Iterator<Item = Range<'_>> {
    header.split(',').filter_map(|part| {
        let mut pieces = part.split(';');
        let essence = pieces.next()?.trim().to_ascii_lowercase();
        if essence.is_empty() {
            return None;
        }
        let mut version = None;
        let mut quality_zero = false;
        for parameter in pieces {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "version" => version = Some(value),
                "q" => quality_zero = value.parse::<f32>().is_ok_and(|q| q <= 0.0),
                _ => {}
            }
        }
        Some(Range {
            essence,
            version,
            quality_zero,
        })
    })
}

/// Whether an `Accept` header admits TAXII 2.1 content of `kind`. No header
/// admits anything; `*/*` and `application/*` do; the TAXII or STIX type
/// does without a version (the latest, which is 2.1) or with version 2.1.
pub fn accepts(header: Option<&str>, kind: MediaKind) -> bool {
    let Some(header) = header else {
        return true;
    };
    if header.trim().is_empty() {
        return true;
    }
    ranges(header).any(|r| {
        !r.quality_zero
            && match r.essence.as_str() {
                "*/*" | "application/*" => true,
                essence => {
                    essence.strip_prefix("application/") == Some(kind.subtype())
                        && r.version.is_none_or(|v| v == "2.1")
                }
            }
    })
}

/// Whether a `Content-Type` names TAXII 2.1 (what a POST of objects carries).
pub fn is_taxii_content(header: Option<&str>) -> bool {
    let Some(header) = header else {
        return false;
    };
    let mut all = ranges(header);
    match (all.next(), all.next()) {
        (Some(r), None) => {
            r.essence == "application/taxii+json" && r.version.is_none_or(|v| v == "2.1")
        }
        _ => false,
    }
}
