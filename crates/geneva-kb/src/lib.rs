//! The attribution knowledge base: one view of each threat actor, merged
//! from MITRE ATT&CK's groups (their techniques, software and the
//! campaigns attributed to them) and MISP galaxy threat actors (aliases,
//! suspected state sponsor, victims, target categories), by ATT&CK id
//! first and by alias otherwise.
//!
//! This crate owns reading those two formats and merging them. It must never
//! do I/O (callers hand it bytes), touch storage, or rank candidates: it
//! states what is known, the attribution engine weighs it.
#![forbid(unsafe_code)]

mod attack;
mod misp;

use std::collections::{BTreeMap, BTreeSet};

pub use misp::MergeReport;

/// Why a knowledge-base file was refused.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    // The message carries the parser's words, so the parser's error is not
    // also a source: a chain printed whole would say it twice.
    #[error("not JSON: {0}")]
    Json(serde_json::Error),
    #[error("at {path}: {message}")]
    Shape { path: String, message: String },
}

impl From<serde_json::Error> for KbError {
    fn from(error: serde_json::Error) -> Self {
        KbError::Json(error)
    }
}

fn shape(path: impl Into<String>, message: impl Into<String>) -> KbError {
    KbError::Shape {
        path: path.into(),
        message: message.into(),
    }
}

/// A threat actor as the knowledge base knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    /// ATT&CK's group id (`G0006`), when ATT&CK knows the actor.
    pub attack_id: Option<String>,
    /// The ATT&CK intrusion-set's STIX id.
    pub stix_id: Option<String>,
    /// The MISP galaxy cluster's UUID, when the galaxy knows the actor.
    pub misp_uuid: Option<String>,
    /// Every name it goes by, its own included, as written.
    pub aliases: BTreeSet<String>,
    /// The state suspected of sponsoring it (MISP's CFR field, or its country).
    pub sponsor: Option<String>,
    pub victims: BTreeSet<String>,
    pub target_categories: BTreeSet<String>,
    /// ATT&CK technique ids (`T1059`, `T1059.001`) it is known to use.
    pub techniques: BTreeSet<String>,
    /// ATT&CK software ids (`S0002`) it is known to use.
    pub software: BTreeSet<String>,
    /// The same uses by the report ATT&CK cites for each (its citation's
    /// `source_name`; a use cited to no report is filed under ""). One
    /// report tells of one operation, so these are incidents as they are
    /// really seen, what the attribution model learns from.
    pub reports: BTreeMap<String, BTreeSet<String>>,
}

/// A campaign ATT&CK describes, and the actor it is attributed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Campaign {
    pub attack_id: String,
    pub stix_id: String,
    pub name: String,
    /// Index into [`KnowledgeBase::actors`].
    pub attributed_to: Option<usize>,
    pub techniques: BTreeSet<String>,
    pub software: BTreeSet<String>,
}

/// The merged knowledge base.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    pub actors: Vec<Actor>,
    pub campaigns: Vec<Campaign>,
    /// Technique and software names by ATT&CK id.
    pub names: BTreeMap<String, String>,
    /// The techniques each piece of software (`S…`) is known to use.
    pub software_techniques: BTreeMap<String, BTreeSet<String>>,
    /// Technique and software ATT&CK ids by STIX id, and by name and alias
    /// compared normalised, so that evidence naming them either way is known.
    used_ids: BTreeMap<String, String>,
    /// The newest `modified` among the ATT&CK objects read: which release this is.
    pub latest_modified: Option<String>,
    /// Actors by normalised alias and by ATT&CK id.
    index: BTreeMap<String, usize>,
}

/// How names compare: case, spaces, dashes and dots do not matter
/// (`Comment Panda`, `comment-panda`).
pub fn normalise_alias(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl KnowledgeBase {
    /// A knowledge base of an ATT&CK STIX 2.0 or 2.1 bundle's active groups,
    /// campaigns, techniques and software (revoked and deprecated objects and
    /// relationships left out).
    pub fn from_attack(bytes: &[u8]) -> Result<KnowledgeBase, KbError> {
        attack::read(bytes)
    }

    /// Merges a MISP galaxy threat-actor file: each cluster joins the actor
    /// with its ATT&CK id or one of its names, or becomes an actor of its own.
    pub fn merge_misp_galaxy(&mut self, bytes: &[u8]) -> Result<MergeReport, KbError> {
        misp::merge(self, bytes)
    }

    /// The actor with this ATT&CK id or name (any alias, compared normalised).
    pub fn actor(&self, name_or_id: &str) -> Option<&Actor> {
        self.index
            .get(name_or_id)
            .or_else(|| self.index.get(&normalise_alias(name_or_id)))
            .map(|&i| &self.actors[i])
    }

    /// The ATT&CK id of a technique or piece of software named by its
    /// ATT&CK id (`T1059.001`, `S0002`), its STIX id, or its name or alias.
    pub fn used_id(&self, reference: &str) -> Option<&str> {
        if self.names.contains_key(reference) {
            return self.names.get_key_value(reference).map(|(k, _)| k.as_str());
        }
        self.used_ids
            .get(reference)
            .or_else(|| self.used_ids.get(&normalise_alias(reference)))
            .map(String::as_str)
    }

    /// Everything an actor is known to use: its own techniques and software
    /// and those of the campaigns attributed to it.
    pub fn repertoire(&self, actor: usize) -> BTreeSet<String> {
        let own = &self.actors[actor];
        let mut all: BTreeSet<String> = own.techniques.union(&own.software).cloned().collect();
        for campaign in &self.campaigns {
            if campaign.attributed_to == Some(actor) {
                all.extend(campaign.techniques.iter().cloned());
                all.extend(campaign.software.iter().cloned());
            }
        }
        all
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// Files an actor's ATT&CK id and aliases; an alias already filed for
    /// another actor keeps its first owner (ATT&CK's, which come first).
    fn file(&mut self, at: usize) {
        let actor = &self.actors[at];
        let mut keys: Vec<String> = actor.aliases.iter().map(|a| normalise_alias(a)).collect();
        keys.push(normalise_alias(&actor.name));
        if let Some(id) = &actor.attack_id {
            keys.push(id.clone());
        }
        for key in keys {
            if !key.is_empty() {
                self.index.entry(key).or_insert(at);
            }
        }
    }
}

/// The ISO 3166-1 alpha-2 code of a suspected sponsor as the knowledge base
/// names it: MISP's `country` field is already a code; its
/// `cfr-suspected-state-sponsor` is a name, mapped here for every name the
/// galaxy uses. `None` for "Unknown" and for names not in the table.
pub fn sponsor_country_code(sponsor: &str) -> Option<String> {
    let s = sponsor.trim();
    if s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic()) {
        return Some(s.to_ascii_uppercase());
    }
    const NAMES: &[(&str, &str)] = &[
        ("china", "CN"),
        ("people's republic of china", "CN"),
        ("iran (islamic republic of)", "IR"),
        ("iran", "IR"),
        ("russian federation", "RU"),
        ("russia", "RU"),
        ("korea (democratic people's republic of)", "KP"),
        ("north korea", "KP"),
        ("korea (republic of)", "KR"),
        ("south korea", "KR"),
        ("united states", "US"),
        ("united states of america", "US"),
        ("palestine", "PS"),
        ("pakistan", "PK"),
        ("india", "IN"),
        ("belarus", "BY"),
        ("france", "FR"),
        ("united arab emirates", "AE"),
        ("vietnam", "VN"),
        ("viet nam", "VN"),
        ("spain", "ES"),
        ("israel", "IL"),
        ("lebanon", "LB"),
        ("turkey", "TR"),
        ("united kingdom", "GB"),
    ];
    let lower = s.to_lowercase();
    NAMES
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, code)| (*code).to_owned())
}

#[cfg(test)]
mod sponsor_tests {
    #[test]
    fn every_sponsor_name_of_the_galaxy_has_its_code() {
        for (name, code) in [
            ("Russian Federation", "RU"),
            ("Iran (Islamic Republic of)", "IR"),
            ("Korea (Democratic People's Republic of)", "KP"),
            ("People's Republic of China", "CN"),
            ("US", "US"),
            ("ru", "RU"),
        ] {
            assert_eq!(
                super::sponsor_country_code(name).as_deref(),
                Some(code),
                "{name}"
            );
        }
        assert_eq!(super::sponsor_country_code("Unknown"), None);
    }
}
