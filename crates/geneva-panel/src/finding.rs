//! A finding: a STIX `report` with `attributed-to` relationships and
//! `note`s — the attributed actor and sponsor state, the likelihood term
//! and the confidence level (never in one sentence), the norms breached,
//! a public evidence summary, the tally and the dissents — composed only
//! from what may be public: TLP:CLEAR content, and content its owners
//! released for publication. Everything the finding says is marked
//! TLP:CLEAR.

use serde_json::{Value, json};

use geneva_stix::Tlp;

use crate::vote::Tally;

/// Whether a piece of the case may reach a public output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disclosure {
    pub tlp: Tlp,
    /// Its owner released it for publication.
    pub released: bool,
}

impl Disclosure {
    pub fn is_public(self) -> bool {
        self.tlp == Tlp::Clear || self.released
    }
}

/// An item of the case: a subject (incident or campaign) or a piece of
/// evidence, with the public summary the panel wrote of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceItem {
    pub id: String,
    pub summary: String,
    pub disclosure: Disclosure,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NormVerdict {
    pub norm: String,
    pub title: String,
    pub verdict: String,
}

/// What the panel drafted and voted on.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftFinding {
    pub case_id: String,
    pub title: String,
    pub subjects: Vec<EvidenceItem>,
    /// The attributed actor: a STIX id (threat-actor or intrusion-set) and its name.
    pub actor: Option<(String, String)>,
    pub sponsor_state: Option<String>,
    /// ICD 203 term and probability of the attribution.
    pub likelihood: String,
    pub probability: f64,
    pub confidence: String,
    pub norms: Vec<NormVerdict>,
    pub evidence: Vec<EvidenceItem>,
    /// An earlier finding this one corrects or retracts: nothing published
    /// is edited, a new finding refers to the old.
    pub supersedes: Option<Supersedes>,
}

/// How a finding replaces an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Supersedes {
    /// The earlier finding's report id.
    pub report: String,
    pub retraction: bool,
}

impl Supersedes {
    /// From a "corrects" or a "retracts" report id (at most one is given).
    pub fn from_choice(corrects: Option<String>, retracts: Option<String>) -> Option<Supersedes> {
        match (corrects, retracts) {
            (Some(report), _) => Some(Supersedes {
                report,
                retraction: false,
            }),
            (None, Some(report)) => Some(Supersedes {
                report,
                retraction: true,
            }),
            (None, None) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindingError {
    #[error("the vote did not carry ({0}): nothing is published")]
    NotCarried(String),
    #[error(
        "no subject of case {0} is TLP:CLEAR or released for publication: a finding must be about something public"
    )]
    NoPublicSubject(String),
}

/// The finding's STIX objects. `new_id(type)` names each new object;
/// `body` is the body's identity, which authors them; `at` the time.
pub fn compose_finding(
    draft: &DraftFinding,
    tally: &Tally,
    body: &str,
    at: &str,
    mut new_id: impl FnMut(&str) -> String,
) -> Result<Vec<Value>, FindingError> {
    if !tally.carried {
        return Err(FindingError::NotCarried(tally.sentence()));
    }
    let subjects: Vec<&EvidenceItem> = draft
        .subjects
        .iter()
        .filter(|s| s.disclosure.is_public())
        .collect();
    if subjects.is_empty() {
        return Err(FindingError::NoPublicSubject(draft.case_id.clone()));
    }
    let clear = [Tlp::Clear.marking_id()];
    let object = |kind: &str, id: String, fields: Value| {
        let mut o = json!({
            "type": kind, "spec_version": "2.1", "id": id, "created": at, "modified": at,
            "created_by_ref": body, "object_marking_refs": clear,
        });
        if let (Some(o), Some(f)) = (o.as_object_mut(), fields.as_object()) {
            o.extend(f.clone());
        }
        o
    };
    let mut out = Vec::new();
    let mut refs: Vec<String> = subjects.iter().map(|s| s.id.clone()).collect();

    if let Some((actor_id, _)) = &draft.actor {
        refs.push(actor_id.clone());
        for s in &subjects {
            let id = new_id("relationship");
            refs.push(id.clone());
            out.push(object(
                "relationship",
                id,
                json!({"relationship_type": "attributed-to", "source_ref": s.id, "target_ref": actor_id}),
            ));
        }
    }
    let actor_name = draft.actor.as_ref().map(|(_, n)| n.as_str());
    let mut notes: Vec<(String, String)> = Vec::new();
    notes.push((
        "Attribution".into(),
        match actor_name {
            Some(name) => format!(
                "It is {} ({:.0}%) that {name} conducted this activity{}. The panel has {} confidence in this assessment.",
                draft.likelihood,
                draft.probability * 100.0,
                draft
                    .sponsor_state
                    .as_ref()
                    .map_or(String::new(), |s| format!(", on behalf of the state {s}")),
                draft.confidence
            ),
            None => match &draft.sponsor_state {
                Some(state) => format!(
                    "It is {} ({:.0}%) that this activity was conducted on behalf of the state {state}; the panel names no actor. The panel has {} confidence in this assessment.",
                    draft.likelihood,
                    draft.probability * 100.0,
                    draft.confidence
                ),
                None => format!(
                    "The panel attributes this activity to no actor. The panel has {} confidence in this assessment.",
                    draft.confidence
                ),
            },
        },
    ));
    if let Some(old) = &draft.supersedes {
        refs.push(old.report.clone());
        notes.push(if old.retraction {
            (
                "Retraction".into(),
                format!(
                    "This finding retracts finding {}; that finding stands in the record, withdrawn.",
                    old.report
                ),
            )
        } else {
            (
                "Correction".into(),
                format!(
                    "This finding corrects finding {}, which stands in the record as it was published.",
                    old.report
                ),
            )
        });
    }
    if !draft.norms.is_empty() {
        let lines: Vec<String> = draft
            .norms
            .iter()
            .map(|n| format!("{} ({}): {}", n.norm, n.title, n.verdict))
            .collect();
        notes.push(("Norms".into(), lines.join("\n")));
    }
    let public_evidence: Vec<&EvidenceItem> = draft
        .evidence
        .iter()
        .filter(|e| e.disclosure.is_public())
        .collect();
    notes.push((
        "Public evidence".into(),
        if public_evidence.is_empty() {
            "None of the evidence is public.".to_owned()
        } else {
            public_evidence
                .iter()
                .map(|e| format!("{}: {}", e.id, e.summary))
                .collect::<Vec<_>>()
                .join("\n")
        },
    ));
    refs.extend(public_evidence.iter().map(|e| e.id.clone()));
    notes.push(("Vote".into(), tally.sentence()));
    for d in &tally.dissents {
        notes.push((
            format!("Dissent of {}", d.member),
            d.explanation.clone().unwrap_or_default(),
        ));
    }
    let mut note_ids = Vec::new();
    for (abstract_, content) in notes {
        let id = new_id("note");
        note_ids.push(id.clone());
        out.push(object(
            "note",
            id,
            json!({"abstract": abstract_, "content": content, "object_refs": subjects.iter().map(|s| &s.id).collect::<Vec<_>>()}),
        ));
    }
    refs.extend(note_ids);
    let report = object(
        "report",
        new_id("report"),
        json!({
            "name": draft.title,
            "description": format!("Finding of case {} of the Digital Geneva Convention's attribution panel.", draft.case_id),
            "report_types": ["threat-report"],
            "published": at,
            "object_refs": refs,
        }),
    );
    out.insert(0, report);
    Ok(out)
}
