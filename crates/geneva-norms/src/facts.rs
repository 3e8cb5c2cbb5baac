//! Incident facts: the vocabulary the catalogue's criteria read, and how a
//! STIX bundle states them.
//!
//! Every fact is yes/no, one of a few values, or a count, and every fact may
//! be unknown. Facts come from standard STIX where STIX says them (victims'
//! `sectors` and `identity_class` through `targets` relationships, their
//! countries through `location` objects) and otherwise from the Geneva
//! norm-facts extension on the incident ([`GENEVA_FACTS_EXTENSION`]), after
//! what the OASIS Incident Core Extension's impacts say
//! ([`INCIDENT_CORE_EXTENSION`]):
//!
//! ```json
//! "extensions": {"extension-definition--…": {
//!     "extension_type": "property-extension",
//!     "effects": ["disruption", "destruction"],
//!     "effects_complete": true,
//!     "facts": {"actor.type": "state", "context": "peacetime",
//!               "attribution.state": "RU", "attribution.confidence": "high",
//!               "scale.countries": 1, "scale.physical_effects": true}}}
//! ```
//!
//! `effects` lists effects that occurred; with `effects_complete` every other
//! effect is known not to have occurred. `facts` states any fact by name
//! and overrides what the STIX objects imply.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// The Geneva extension-definition that carries incident facts (a property
/// extension on `incident` or `campaign`). Its definition object ships in
/// every fixture and in `extension-definition.json`.
pub const GENEVA_FACTS_EXTENSION: &str =
    "extension-definition--9d7c8c7e-4a8e-4f3c-9d44-6e6f726d7331";

/// The OASIS Incident Core Extension (cti-stix-common-objects). Where it
/// fits, its `impact_refs` are read: an `impact` of category
/// `availability` is a disruption, `confidentiality` a theft of data,
/// `physical` a physical effect. Geneva's own extension overrides them.
pub const INCIDENT_CORE_EXTENSION: &str =
    "extension-definition--ef765651-680c-498d-9894-99799f2fa126";

/// What an Incident Core `impact_category` tells, as a fact.
const IMPACT_FACTS: &[(&str, &str)] = &[
    ("availability", "effect.disruption"),
    ("confidentiality", "effect.data-theft"),
    ("physical", "scale.physical-effects"),
];

/// How a fact may be tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactKind {
    YesNo,
    OneOf(&'static [&'static str]),
    Count,
}

pub const ACTOR_TYPES: &[&str] = &[
    "state",
    "state-affiliated",
    "criminal",
    "private-offensive-company",
    "hacktivist",
];
pub const CONTEXTS: &[&str] = &["peacetime", "armed-conflict"];
pub const CONFIDENCES: &[&str] = &["low", "moderate", "high"];

/// The effect types an incident may have (`effect.<name>`).
pub const EFFECTS: &[&str] = &[
    "espionage",
    "data-theft",
    "ip-theft",
    "disruption",
    "destruction",
    "ransomware",
    "hack-and-leak",
    "election-interference",
    "supply-chain-compromise",
    "backdoor",
    "self-propagating",
    "attack-on-cert",
];

/// Every fact a criterion may read, its kind and what it means.
pub const FACTS: &[(&str, FactKind, &str)] = &[
    (
        "actor.type",
        FactKind::OneOf(ACTOR_TYPES),
        "who acted: a state organ, a group acting for or tolerated by a state, criminals, a private company selling offensive capability to a government, hacktivists",
    ),
    (
        "actor.tech-accord-signatory",
        FactKind::YesNo,
        "the acting company signed the Cybersecurity Tech Accord",
    ),
    (
        "attribution.confidence",
        FactKind::OneOf(CONFIDENCES),
        "confidence (ICD 203) in the attribution to the state named by attribution.state",
    ),
    (
        "context",
        FactKind::OneOf(CONTEXTS),
        "peacetime, or an armed conflict between the states concerned",
    ),
    (
        "territory.knowingly-allowed",
        FactKind::YesNo,
        "the state on whose territory non-state actors operated knew and did not act",
    ),
    (
        "victim.critical-infrastructure",
        FactKind::YesNo,
        "a victim operates critical infrastructure (sectors listed in CRITICAL_SECTORS)",
    ),
    (
        "victim.health",
        FactKind::YesNo,
        "a victim is a hospital or other health-care provider",
    ),
    (
        "victim.energy",
        FactKind::YesNo,
        "a victim supplies electricity, gas, oil or other energy",
    ),
    (
        "victim.finance",
        FactKind::YesNo,
        "a victim is a bank, exchange, payment system or other financial institution",
    ),
    (
        "victim.global-infrastructure",
        FactKind::YesNo,
        "a victim is a system on which the global economy depends: cloud, the Internet's public core, global finance or logistics",
    ),
    (
        "victim.election",
        FactKind::YesNo,
        "a victim is an election body, a party, a campaign or a candidate",
    ),
    (
        "victim.journalists",
        FactKind::YesNo,
        "a victim is a journalist or a news organisation",
    ),
    (
        "victim.cert",
        FactKind::YesNo,
        "a victim is a CERT or CSIRT",
    ),
    (
        "victim.tech-sector",
        FactKind::YesNo,
        "a victim is a technology or telecommunications company",
    ),
    (
        "victim.private-sector",
        FactKind::YesNo,
        "a victim is a private company",
    ),
    (
        "victim.citizens",
        FactKind::YesNo,
        "private individuals were harmed (their data, devices or services)",
    ),
    (
        "victim.government",
        FactKind::YesNo,
        "a victim is a government body",
    ),
    (
        "effect.espionage",
        FactKind::YesNo,
        "information was collected for intelligence",
    ),
    ("effect.data-theft", FactKind::YesNo, "data was taken"),
    (
        "effect.ip-theft",
        FactKind::YesNo,
        "intellectual property or trade secrets were taken for commercial advantage",
    ),
    (
        "effect.disruption",
        FactKind::YesNo,
        "a service or system was made unavailable",
    ),
    (
        "effect.destruction",
        FactKind::YesNo,
        "data or systems were destroyed or physically damaged",
    ),
    (
        "effect.ransomware",
        FactKind::YesNo,
        "data was encrypted or held for ransom",
    ),
    (
        "effect.hack-and-leak",
        FactKind::YesNo,
        "stolen material was published to influence",
    ),
    (
        "effect.election-interference",
        FactKind::YesNo,
        "the operation aimed at an election or referendum",
    ),
    (
        "effect.supply-chain-compromise",
        FactKind::YesNo,
        "a supplier's product or service was compromised to reach its customers",
    ),
    (
        "effect.backdoor",
        FactKind::YesNo,
        "a backdoor was placed in a product or system",
    ),
    (
        "effect.self-propagating",
        FactKind::YesNo,
        "the code spread on its own, beyond its first targets",
    ),
    (
        "effect.attack-on-cert",
        FactKind::YesNo,
        "a CERT's or CSIRT's systems or work were attacked",
    ),
    (
        "scale.countries",
        FactKind::Count,
        "countries where victims were harmed",
    ),
    (
        "scale.victims",
        FactKind::Count,
        "organisations and people harmed",
    ),
    ("scale.systems", FactKind::Count, "systems affected"),
    (
        "scale.physical-effects",
        FactKind::YesNo,
        "there were physical consequences (power cut, equipment damaged)",
    ),
    (
        "scale.casualties",
        FactKind::Count,
        "people killed or injured",
    ),
    (
        "vulnerability.zero-day",
        FactKind::YesNo,
        "a vulnerability unknown to its vendor was exploited",
    ),
    (
        "vulnerability.known",
        FactKind::YesNo,
        "a vulnerability already known to its vendor was exploited",
    ),
    (
        "vulnerability.mass-market-product",
        FactKind::YesNo,
        "the compromised product or vulnerability is in a product in wide use",
    ),
];

/// STIX `industry-sector-ov` values (and Geneva's additions) that count as
/// critical infrastructure: the sectors of high criticality of the EU's NIS2
/// directive (Annex I) in STIX's words, with elections added as Geneva's
/// (election infrastructure is critical in the US since 2017).
pub const CRITICAL_SECTORS: &[&str] = &[
    "energy",
    "utilities",
    "water",
    "infrastructure",
    "infrastructure-dams",
    "infrastructure-nuclear",
    "infrastructure-water",
    "healthcare",
    "financial-services",
    "transportation",
    "telecommunications",
    "communications",
    "government-emergency-services",
    "x-geneva-digital-infrastructure",
    "x-geneva-cloud",
    "x-geneva-elections",
];

/// Which victim facts a sector makes true.
const SECTOR_FACTS: &[(&str, &[&str])] = &[
    ("victim.health", &["healthcare"]),
    (
        "victim.energy",
        &["energy", "utilities", "infrastructure-nuclear"],
    ),
    ("victim.finance", &["financial-services", "insurance"]),
    (
        "victim.global-infrastructure",
        &["x-geneva-cloud", "x-geneva-digital-infrastructure"],
    ),
    ("victim.election", &["x-geneva-elections"]),
    ("victim.journalists", &["x-geneva-media"]),
    ("victim.cert", &["x-geneva-cert"]),
    (
        "victim.tech-sector",
        &["technology", "telecommunications", "x-geneva-cloud"],
    ),
    (
        "victim.government",
        &[
            "government",
            "government-national",
            "government-regional",
            "government-local",
            "government-public-services",
            "government-emergency-services",
            "x-geneva-cert",
        ],
    ),
];

pub fn fact_kind(name: &str) -> Option<FactKind> {
    FACTS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, k, _)| *k)
}

/// A fact's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactValue {
    YesNo(bool),
    Choice(String),
    Count(u64),
}

impl std::fmt::Display for FactValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FactValue::YesNo(b) => write!(f, "{}", if *b { "yes" } else { "no" }),
            FactValue::Choice(c) => f.write_str(c),
            FactValue::Count(n) => write!(f, "{n}"),
        }
    }
}

/// What is known about one incident.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    values: BTreeMap<String, FactValue>,
    /// The state the incident is attributed to (ISO 3166 alpha-2), if any.
    pub attributed_state: Option<String>,
    /// Countries of the victims, from location objects.
    pub victim_countries: BTreeSet<String>,
}

/// Why a bundle's facts could not be read: which object, which property.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactsError {
    #[error("no incident or campaign in the bundle")]
    NoSubject,
    #[error("several incidents or campaigns ({0}); name the one to assess")]
    SeveralSubjects(String),
    #[error("{0} is not in the bundle")]
    SubjectNotFound(String),
    #[error("{object}: {path}: {message}")]
    Invalid {
        object: String,
        path: String,
        message: String,
    },
}

impl Facts {
    pub fn get(&self, name: &str) -> Option<&FactValue> {
        self.values.get(name)
    }

    pub fn is_known(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn known(&self) -> impl Iterator<Item = (&String, &FactValue)> {
        self.values.iter()
    }

    pub fn truth(&self, name: &str) -> crate::criteria::Truth {
        crate::criteria::Truth::of(match self.values.get(name) {
            Some(FactValue::YesNo(b)) => Some(*b),
            _ => None,
        })
    }

    pub fn choice(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(FactValue::Choice(c)) => Some(c),
            _ => None,
        }
    }

    pub fn count(&self, name: &str) -> Option<u64> {
        match self.values.get(name) {
            Some(FactValue::Count(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn describe(&self, name: &str) -> Option<String> {
        self.values.get(name).map(|v| v.to_string())
    }

    /// Sets a fact, checked against its kind.
    pub fn set(&mut self, name: &str, value: FactValue) -> Result<(), String> {
        let kind = fact_kind(name).ok_or_else(|| format!("`{name}` is not a known fact"))?;
        let fits = match (&kind, &value) {
            (FactKind::YesNo, FactValue::YesNo(_)) | (FactKind::Count, FactValue::Count(_)) => true,
            (FactKind::OneOf(allowed), FactValue::Choice(c)) => allowed.contains(&c.as_str()),
            _ => false,
        };
        if !fits {
            return Err(match kind {
                FactKind::YesNo => format!("`{name}` is true or false"),
                FactKind::Count => format!("`{name}` is a whole number"),
                FactKind::OneOf(allowed) => {
                    format!("`{name}` is one of {}", allowed.join(", "))
                }
            });
        }
        self.values.insert(name.to_owned(), value);
        Ok(())
    }

    /// Forgets a fact.
    pub fn unset(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// Reads the facts of one incident (or campaign) from a bundle's objects.
    pub fn from_stix(objects: &[Value], subject: Option<&str>) -> Result<Facts, FactsError> {
        let by_id: BTreeMap<&str, &Value> = objects
            .iter()
            .filter_map(|o| Some((o.get("id")?.as_str()?, o)))
            .collect();
        let subject = pick_subject(objects, subject)?;
        let subject_id = subject["id"].as_str().unwrap_or_default().to_owned();
        let invalid = |path: &str, message: String| FactsError::Invalid {
            object: subject_id.clone(),
            path: path.to_owned(),
            message,
        };
        let mut facts = Facts::default();

        // Victims: what the subject targets, and where they are.
        let mut sectors: BTreeSet<String> = BTreeSet::new();
        let mut victims_with_sectors = 0;
        let mut individuals = false;
        let mut private = false;
        for r in objects.iter().filter(|o| {
            o["type"] == "relationship"
                && o["relationship_type"] == "targets"
                && o["source_ref"].as_str() == Some(subject_id.as_str())
        }) {
            let Some(target) = r["target_ref"].as_str().and_then(|t| by_id.get(t)) else {
                continue;
            };
            match target["type"].as_str() {
                Some("identity") => {
                    if target["identity_class"] == "individual" {
                        individuals = true;
                    }
                    if let Some(list) = target["sectors"].as_array() {
                        victims_with_sectors += 1;
                        let these: Vec<String> = list
                            .iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect();
                        if these.iter().any(|s| !s.starts_with("government"))
                            && target["identity_class"] == "organization"
                        {
                            private = true;
                        }
                        sectors.extend(these);
                    }
                    located(target, objects, &by_id, &mut facts.victim_countries);
                }
                Some("location") => {
                    if let Some(c) = target["country"].as_str() {
                        facts.victim_countries.insert(c.to_ascii_uppercase());
                    }
                }
                _ => {}
            }
        }
        if victims_with_sectors > 0 {
            let critical = sectors
                .iter()
                .any(|s| CRITICAL_SECTORS.contains(&s.as_str()));
            facts.values.insert(
                "victim.critical-infrastructure".into(),
                FactValue::YesNo(critical),
            );
            for (fact, matching) in SECTOR_FACTS {
                let hit = sectors.iter().any(|s| matching.contains(&s.as_str()));
                facts.values.insert((*fact).into(), FactValue::YesNo(hit));
            }
            facts
                .values
                .insert("victim.private-sector".into(), FactValue::YesNo(private));
        }
        if individuals {
            facts
                .values
                .insert("victim.citizens".into(), FactValue::YesNo(true));
        }
        if !facts.victim_countries.is_empty() {
            facts.values.insert(
                "scale.countries".into(),
                FactValue::Count(facts.victim_countries.len() as u64),
            );
        }

        // The Incident Core Extension's impacts, where they fit.
        let core = format!("extensions.{INCIDENT_CORE_EXTENSION}.impact_refs");
        match subject
            .get("extensions")
            .and_then(|e| e.get(INCIDENT_CORE_EXTENSION))
            .and_then(|c| c.get("impact_refs"))
        {
            None => {}
            Some(Value::Array(refs)) => {
                for (i, r) in refs.iter().enumerate() {
                    let Some(r) = r.as_str() else {
                        return Err(invalid(&format!("{core}[{i}]"), "not an identifier".into()));
                    };
                    let category = by_id
                        .get(r)
                        .filter(|o| o["type"] == "impact")
                        .and_then(|o| o["impact_category"].as_str());
                    if let Some((_, fact)) = IMPACT_FACTS.iter().find(|(c, _)| Some(*c) == category)
                    {
                        facts.values.insert((*fact).into(), FactValue::YesNo(true));
                    }
                }
            }
            Some(_) => {
                return Err(invalid(
                    &core,
                    "must be a list of impact identifiers".into(),
                ));
            }
        }

        // The Geneva extension: effects and facts, which override the above.
        let path = format!("extensions.{GENEVA_FACTS_EXTENSION}");
        if let Some(ext) = subject
            .get("extensions")
            .and_then(|e| e.get(GENEVA_FACTS_EXTENSION))
        {
            let complete = match ext.get("effects_complete") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(invalid(
                        &format!("{path}.effects_complete"),
                        "must be true or false".into(),
                    ));
                }
            };
            let listed: Vec<&str> = match ext.get("effects") {
                None => Vec::new(),
                Some(Value::Array(items)) => {
                    let mut listed = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        match item.as_str() {
                            Some(e) if EFFECTS.contains(&e) => listed.push(e),
                            _ => {
                                return Err(invalid(
                                    &format!("{path}.effects[{i}]"),
                                    format!("not an effect type ({})", EFFECTS.join(", ")),
                                ));
                            }
                        }
                    }
                    listed
                }
                Some(_) => {
                    return Err(invalid(
                        &format!("{path}.effects"),
                        "must be a list of effect types".into(),
                    ));
                }
            };
            for effect in EFFECTS {
                let name = format!("effect.{effect}");
                if listed.contains(effect) {
                    facts.values.insert(name, FactValue::YesNo(true));
                } else if complete {
                    facts.values.insert(name, FactValue::YesNo(false));
                }
            }
            match ext.get("facts") {
                None => {}
                Some(Value::Object(map)) => {
                    for (name, value) in map {
                        let at = format!("{path}.facts.{name}");
                        if name == "attribution.state" {
                            match value.as_str() {
                                Some(s)
                                    if s.len() == 2
                                        && s.chars().all(|c| c.is_ascii_alphabetic()) =>
                                {
                                    facts.attributed_state = Some(s.to_ascii_uppercase());
                                }
                                _ => {
                                    return Err(invalid(
                                        &at,
                                        "an ISO 3166 two-letter country code".into(),
                                    ));
                                }
                            }
                            continue;
                        }
                        let value = match value {
                            Value::Bool(b) => FactValue::YesNo(*b),
                            Value::String(s) => FactValue::Choice(s.clone()),
                            Value::Number(n) => match n.as_u64() {
                                Some(n) => FactValue::Count(n),
                                None => return Err(invalid(&at, "a whole number".into())),
                            },
                            Value::Null => {
                                // Stated as unknown: forget what STIX implied.
                                facts.values.remove(name);
                                continue;
                            }
                            _ => {
                                return Err(invalid(
                                    &at,
                                    "true, false, a value or a number".into(),
                                ));
                            }
                        };
                        facts.set(name, value).map_err(|m| invalid(&at, m))?;
                    }
                }
                Some(_) => {
                    return Err(invalid(
                        &format!("{path}.facts"),
                        "must be an object of fact names".into(),
                    ));
                }
            }
        }
        Ok(facts)
    }
}

fn pick_subject<'a>(objects: &'a [Value], subject: Option<&str>) -> Result<&'a Value, FactsError> {
    if let Some(id) = subject {
        return objects
            .iter()
            .find(|o| o["id"].as_str() == Some(id))
            .ok_or_else(|| FactsError::SubjectNotFound(id.to_owned()));
    }
    let subjects: Vec<&Value> = objects
        .iter()
        .filter(|o| o["type"] == "incident" || o["type"] == "campaign")
        .collect();
    match subjects.as_slice() {
        [] => Err(FactsError::NoSubject),
        [one] => Ok(one),
        many => Err(FactsError::SeveralSubjects(
            many.iter()
                .filter_map(|o| o["id"].as_str())
                .take(5)
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// Countries an identity is `located-at`.
fn located(
    identity: &Value,
    objects: &[Value],
    by_id: &BTreeMap<&str, &Value>,
    into: &mut BTreeSet<String>,
) {
    let id = identity["id"].as_str();
    for r in objects.iter().filter(|o| {
        o["type"] == "relationship"
            && o["relationship_type"] == "located-at"
            && o["source_ref"].as_str() == id
    }) {
        if let Some(country) = r["target_ref"]
            .as_str()
            .and_then(|t| by_id.get(t))
            .and_then(|l| l["country"].as_str())
        {
            into.insert(country.to_ascii_uppercase());
        }
    }
}
