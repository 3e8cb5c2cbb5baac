//! Incident intake: the form, and the STIX 2.1 bundle a filled-in form
//! becomes (an incident; its victim as an identity with sectors and a
//! located-at country; `uses` relationships to ATT&CK techniques and to
//! software by name or ATT&CK id; its indicators as cyber-observables the
//! incident refers to, which is what correlation reads).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::{Session, csrf_field, escape, flash, page};

/// STIX 2.1's industry-sector-ov.
pub const SECTORS: &[&str] = &[
    "agriculture",
    "aerospace",
    "automotive",
    "chemical",
    "commercial",
    "communications",
    "construction",
    "defense",
    "education",
    "energy",
    "entertainment",
    "financial-services",
    "government",
    "government-emergency-services",
    "government-local",
    "government-national",
    "government-public-services",
    "government-regional",
    "healthcare",
    "hospitality-leisure",
    "infrastructure",
    "infrastructure-dams",
    "infrastructure-nuclear",
    "infrastructure-water",
    "insurance",
    "manufacturing",
    "mining",
    "non-profit",
    "pharmaceuticals",
    "retail",
    "technology",
    "telecommunications",
    "transportation",
    "utilities",
];

const TLPS: &[&str] = &["clear", "green", "amber", "amber+strict", "red"];

/// What the intake form holds, as typed.
#[derive(Debug, Clone, Default)]
pub struct IntakeForm {
    pub name: String,
    pub description: String,
    pub victim: String,
    pub sector: String,
    pub country: String,
    /// ATT&CK technique ids, separated by commas, spaces or lines.
    pub techniques: String,
    /// Software names or ATT&CK software ids, one per line or comma-separated.
    pub software: String,
    /// One indicator a line: IP address, domain, URL, e-mail address, file hash.
    pub indicators: String,
    pub tlp: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("the incident needs a name")]
    NoName,
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{0:?} is not an ATT&CK technique id (T1234 or T1234.001)")]
    Technique(String),
    #[error("{0:?} is not a country's ISO 3166 two-letter code")]
    Country(String),
    #[error("{0:?} is not one of STIX's industry sectors")]
    Sector(String),
    #[error(
        "line {line}: {value:?} is not an IP address, domain, URL, e-mail address or MD5/SHA-1/SHA-256 hash"
    )]
    Indicator { line: usize, value: String },
    #[error("{0:?} is not a TLP level (clear, green, amber, amber+strict, red)")]
    Tlp(String),
    #[error("more than {0} items in one list")]
    TooMany(usize),
}

const MAX_ITEMS: usize = 1_000;

fn bounded(field: &'static str, text: &str, max: usize) -> Result<(), IntakeError> {
    if text.chars().count() > max {
        Err(IntakeError::TooLong { field, max })
    } else {
        Ok(())
    }
}

fn items(text: &str, separators: &[char]) -> Result<Vec<String>, IntakeError> {
    let out: Vec<String> = text
        .split(|c: char| c == '\n' || separators.contains(&c))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if out.len() > MAX_ITEMS {
        return Err(IntakeError::TooMany(MAX_ITEMS));
    }
    Ok(out)
}

fn is_technique(id: &str) -> bool {
    let b = id.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => b[0] == b'T' && digits(&b[1..]),
        9 => b[0] == b'T' && digits(&b[1..5]) && b[5] == b'.' && digits(&b[6..]),
        _ => false,
    }
}

fn is_software_id(id: &str) -> bool {
    id.len() == 5 && id.starts_with('S') && id[1..].bytes().all(|b| b.is_ascii_digit())
}

/// STIX's namespace for cyber-observables' deterministic ids.
const SCO_NAMESPACE: uuid::Uuid = uuid::uuid!("00abedb4-aa42-466c-9c01-fed23315a9b7");

fn sco(kind: &str, contributing: Value) -> Value {
    let id = uuid::Uuid::new_v5(&SCO_NAMESPACE, contributing.to_string().as_bytes());
    let mut o = json!({"type": kind, "spec_version": "2.1", "id": format!("{kind}--{id}")});
    if let (Value::Object(o), Value::Object(c)) = (&mut o, contributing) {
        o.extend(c);
    }
    o
}

/// The cyber-observable one line of the indicators box stands for.
fn observable(value: &str) -> Option<Value> {
    if let Ok(ip) = value.parse::<std::net::IpAddr>() {
        let kind = if ip.is_ipv4() {
            "ipv4-addr"
        } else {
            "ipv6-addr"
        };
        return Some(sco(kind, json!({"value": ip.to_string()})));
    }
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return (!value.contains(char::is_whitespace)).then(|| sco("url", json!({"value": value})));
    }
    if value.len() <= 254
        && let Some((local, domain)) = value.split_once('@')
        && !local.is_empty()
        && is_domain(domain)
    {
        return Some(sco("email-addr", json!({"value": value})));
    }
    if value.bytes().all(|b| b.is_ascii_hexdigit()) {
        let algorithm = match value.len() {
            32 => "MD5",
            40 => "SHA-1",
            64 => "SHA-256",
            _ => return None,
        };
        return Some(sco("file", json!({"hashes": {algorithm: lower}})));
    }
    is_domain(value).then(|| sco("domain-name", json!({"value": lower})))
}

fn is_domain(value: &str) -> bool {
    value.len() <= 253
        && value.contains('.')
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The bundle a filled-in intake form becomes, and the incident's id.
/// `now` is an RFC 3339 timestamp with milliseconds.
pub fn intake_bundle(form: &IntakeForm, now: &str) -> Result<(String, Value), IntakeError> {
    let name = form.name.trim();
    if name.is_empty() {
        return Err(IntakeError::NoName);
    }
    bounded("the name", name, 1_000)?;
    bounded("the description", &form.description, 100_000)?;
    bounded("the victim's name", &form.victim, 1_000)?;
    let tlp = form.tlp.trim().to_ascii_lowercase();
    if !tlp.is_empty() && !TLPS.contains(&tlp.as_str()) {
        return Err(IntakeError::Tlp(form.tlp.clone()));
    }
    let sector = form.sector.trim();
    if !sector.is_empty() && !SECTORS.contains(&sector) {
        return Err(IntakeError::Sector(sector.to_owned()));
    }
    let country = form.country.trim().to_ascii_uppercase();
    if !country.is_empty()
        && (country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(IntakeError::Country(form.country.clone()));
    }
    let techniques = items(&form.techniques, &[',', ' ', ';'])?;
    if let Some(bad) = techniques.iter().find(|t| !is_technique(t)) {
        return Err(IntakeError::Technique(bad.clone()));
    }
    let software = items(&form.software, &[','])?;
    for s in &software {
        bounded("a software name", s, 200)?;
    }
    let mut observables = Vec::new();
    for (i, line) in form.indicators.lines().enumerate() {
        let value = line.trim();
        if value.is_empty() {
            continue;
        }
        if observables.len() >= MAX_ITEMS {
            return Err(IntakeError::TooMany(MAX_ITEMS));
        }
        let o = observable(value).ok_or_else(|| IntakeError::Indicator {
            line: i + 1,
            value: value.chars().take(200).collect(),
        })?;
        observables.push(o);
    }
    observables.dedup_by(|a, b| a["id"] == b["id"]);

    let new_id = |kind: &str| format!("{kind}--{}", uuid::Uuid::new_v4());
    let incident_id = new_id("incident");
    let sdo = |kind: &str, id: &str, fields: Value| {
        let mut o =
            json!({"type": kind, "spec_version": "2.1", "id": id, "created": now, "modified": now});
        if let (Value::Object(o), Value::Object(f)) = (&mut o, fields) {
            o.extend(f);
        }
        o
    };
    let relationship = |kind: &str, from: &str, to: &str| {
        sdo(
            "relationship",
            &new_id("relationship"),
            json!({"relationship_type": kind, "source_ref": from, "target_ref": to}),
        )
    };
    let mut incident = json!({"name": name});
    if !form.description.trim().is_empty() {
        incident["description"] = json!(form.description.trim());
    }
    if !observables.is_empty() {
        incident["object_refs"] = json!(observables.iter().map(|o| &o["id"]).collect::<Vec<_>>());
    }
    let mut objects = vec![sdo("incident", &incident_id, incident)];
    if !form.victim.trim().is_empty() || !sector.is_empty() || !country.is_empty() {
        let victim_id = new_id("identity");
        let mut victim = json!({"name": if form.victim.trim().is_empty() { "Unnamed victim" } else { form.victim.trim() },
                                "identity_class": "organization"});
        if !sector.is_empty() {
            victim["sectors"] = json!([sector]);
        }
        objects.push(sdo("identity", &victim_id, victim));
        objects.push(relationship("targets", &incident_id, &victim_id));
        if !country.is_empty() {
            let place = new_id("location");
            objects.push(sdo("location", &place, json!({"country": country})));
            objects.push(relationship("located-at", &victim_id, &place));
        }
    }
    for t in &techniques {
        let id = new_id("attack-pattern");
        objects.push(sdo(
            "attack-pattern",
            &id,
            json!({"name": t, "external_references": [{"source_name": "mitre-attack", "external_id": t}]}),
        ));
        objects.push(relationship("uses", &incident_id, &id));
    }
    for s in &software {
        let id = new_id("malware");
        let mut m = json!({"name": s, "is_family": true});
        if is_software_id(s) {
            m["external_references"] = json!([{"source_name": "mitre-attack", "external_id": s}]);
        }
        objects.push(sdo("malware", &id, m));
        objects.push(relationship("uses", &incident_id, &id));
    }
    objects.extend(observables);
    let bundle = json!({"type": "bundle", "id": new_id("bundle"), "objects": objects});
    Ok((incident_id, bundle))
}

/// The intake page: the form (refilled after an error) and a bundle upload.
pub fn intake_page(s: &Session, form: &IntakeForm, error: Option<&str>) -> String {
    let csrf = csrf_field(s);
    let option = |value: &str, chosen: &str| {
        format!(
            "<option value=\"{0}\"{1}>{0}</option>",
            escape(value),
            if value == chosen { " selected" } else { "" }
        )
    };
    let sectors: String = std::iter::once("<option value=\"\">(unknown)</option>".to_owned())
        .chain(SECTORS.iter().map(|x| option(x, &form.sector)))
        .collect();
    let chosen_tlp = if form.tlp.is_empty() {
        "amber"
    } else {
        &form.tlp
    };
    let tlps: String = TLPS.iter().map(|x| option(x, chosen_tlp)).collect();
    let mut main = String::from("<h1>Report an incident</h1>\n");
    main.push_str(&flash(error, None));
    let _ = write!(
        main,
        "<form method=\"post\" action=\"/ui/incidents\">{csrf}\n<fieldset><legend>The incident</legend>\n\
         <label for=\"name\">Name</label><input type=\"text\" id=\"name\" name=\"name\" required maxlength=\"1000\" value=\"{}\">\n\
         <label for=\"description\">What happened</label><textarea id=\"description\" name=\"description\">{}</textarea>\n\
         <label for=\"tlp\">Sharing (TLP 2.0)</label><select id=\"tlp\" name=\"tlp\">{tlps}</select>\n</fieldset>\n\
         <fieldset><legend>The victim</legend>\n\
         <label for=\"victim\">Organisation</label><input type=\"text\" id=\"victim\" name=\"victim\" maxlength=\"1000\" value=\"{}\">\n\
         <label for=\"sector\">Sector</label><select id=\"sector\" name=\"sector\">{sectors}</select>\n\
         <label for=\"country\">Country (ISO 3166 two-letter code)</label><input type=\"text\" id=\"country\" name=\"country\" maxlength=\"2\" value=\"{}\">\n</fieldset>\n\
         <fieldset><legend>Evidence</legend>\n\
         <label for=\"techniques\">ATT&amp;CK techniques</label><input type=\"text\" id=\"techniques\" name=\"techniques\" placeholder=\"T1566.001, T1059\" value=\"{}\">\n\
         <label for=\"software\">Software and malware (names or ATT&amp;CK ids, one a line)</label><textarea id=\"software\" name=\"software\">{}</textarea>\n\
         <label for=\"indicators\">Indicators (one a line: IP address, domain, URL, e-mail address, MD5/SHA-1/SHA-256)</label><textarea id=\"indicators\" name=\"indicators\">{}</textarea>\n\
         </fieldset>\n<button type=\"submit\">Submit the incident</button>\n</form>\n",
        escape(&form.name),
        escape(&form.description),
        escape(&form.victim),
        escape(&form.country),
        escape(&form.techniques),
        escape(&form.software),
        escape(&form.indicators),
    );
    let _ = write!(
        main,
        "<h2>Or upload a STIX bundle</h2>\n<form method=\"post\" action=\"/ui/bundles\" enctype=\"multipart/form-data\">{csrf}\n\
         <label for=\"bundle\">STIX 2.1 (or 2.0) bundle, JSON</label><input type=\"file\" id=\"bundle\" name=\"bundle\" accept=\".json,application/json\" required>\n\
         <label for=\"bundle-tlp\">Sharing for objects without a TLP marking</label><select id=\"bundle-tlp\" name=\"tlp\">{tlps}</select>\n\
         <button type=\"submit\">Upload</button>\n</form>\n"
    );
    page(s, "Report an incident", &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> IntakeForm {
        IntakeForm {
            name: "Wiper at a water utility".into(),
            description: "Pumps stopped.".into(),
            victim: "Utility".into(),
            sector: "infrastructure-water".into(),
            country: "ch".into(),
            techniques: "T1566.001, T1059\nT1485".into(),
            software: "Industroyer\nS0023".into(),
            indicators: "45.133.1.20\nevil.example.com\nhttps://evil.example.com/x\n\
                         d41d8cd98f00b204e9800998ecf8427e\nops@evil.example.com\n2001:db8::1"
                .into(),
            tlp: "green".into(),
        }
    }

    #[test]
    fn a_form_becomes_an_incident_with_its_evidence() {
        let (id, bundle) = intake_bundle(&form(), "2026-11-26T00:00:00.000Z").unwrap();
        let objects = bundle["objects"].as_array().unwrap();
        let incident = objects.iter().find(|o| o["id"] == id.as_str()).unwrap();
        assert_eq!(incident["object_refs"].as_array().unwrap().len(), 6);
        let kinds: Vec<&str> = objects
            .iter()
            .map(|o| o["type"].as_str().unwrap())
            .collect();
        for k in [
            "identity",
            "location",
            "attack-pattern",
            "malware",
            "ipv4-addr",
            "ipv6-addr",
            "domain-name",
            "url",
            "file",
            "email-addr",
        ] {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
        let location = objects.iter().find(|o| o["type"] == "location").unwrap();
        assert_eq!(location["country"], "CH");
        let uses = objects
            .iter()
            .filter(|o| o["relationship_type"] == "uses")
            .count();
        assert_eq!(uses, 5);
        let s0023 = objects.iter().find(|o| o["name"] == "S0023").unwrap();
        assert_eq!(s0023["external_references"][0]["external_id"], "S0023");
        // Deterministic ids for observables, as STIX requires: the same value, the same id.
        let (_, again) = intake_bundle(&form(), "2026-11-26T00:00:00.000Z").unwrap();
        let ip = |b: &Value| {
            b["objects"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["type"] == "ipv4-addr")
                .unwrap()["id"]
                .clone()
        };
        assert_eq!(ip(&bundle), ip(&again));
    }

    #[test]
    fn bad_fields_are_named() {
        let mut f = form();
        f.techniques = "T1566, <script>".into();
        assert_eq!(
            intake_bundle(&f, "t").unwrap_err(),
            IntakeError::Technique("<script>".into())
        );
        let mut f = form();
        f.indicators = "1.2.3.4\nnot an indicator".into();
        assert!(matches!(
            intake_bundle(&f, "t").unwrap_err(),
            IntakeError::Indicator { line: 2, .. }
        ));
        let mut f = form();
        f.name = "  ".into();
        assert_eq!(intake_bundle(&f, "t").unwrap_err(), IntakeError::NoName);
        let mut f = form();
        f.country = "Switzerland".into();
        assert!(matches!(
            intake_bundle(&f, "t").unwrap_err(),
            IntakeError::Country(_)
        ));
        let mut f = form();
        f.sector = "<b>".into();
        assert!(matches!(
            intake_bundle(&f, "t").unwrap_err(),
            IntakeError::Sector(_)
        ));
        let mut f = form();
        f.indicators = "1.1.1.1\n".repeat(MAX_ITEMS + 1);
        assert_eq!(
            intake_bundle(&f, "t").unwrap_err(),
            IntakeError::TooMany(MAX_ITEMS)
        );
    }

    #[test]
    fn a_refilled_form_is_escaped() {
        let mut f = form();
        f.name = "\"><script>alert(1)</script>".into();
        f.description = "</textarea><script>".into();
        let html = intake_page(&crate::Session::default(), &f, Some("<b>bad</b>"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("</textarea><script"));
        assert!(!html.contains("<b>bad"));
    }
}
