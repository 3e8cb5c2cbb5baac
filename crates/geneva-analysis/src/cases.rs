//! The panel's work on a case over the store, shared by `geneva case` and
//! `/api/v1/cases`: each step loads the case document, applies the rules
//! of `geneva-panel`, writes it back naming the revision it read, and
//! audits who did it. Objects a step produces (a vote's opinion, a
//! finding) are handed back with their provenance: the caller stores them
//! through its own import path, so they join the transparency log.

use geneva_norms::{Catalogue, Facts, Verdict};
use geneva_panel::{
    Case, CaseFile, Disclosure, DraftFinding, DraftSpec, EvidenceItem, Member, NormVerdict,
    Opinion, Parties, Published, Status, Supersedes, Vote, compose_finding,
};
use geneva_stix::Tlp;
use geneva_store::{NewAuditEntry, Provenance, Recipients, Store, StoreError, Viewer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::AnalysisError;

#[derive(Debug, thiserror::Error)]
pub enum CaseOpError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rules(#[from] geneva_panel::FileError),
    #[error(transparent)]
    Lifecycle(#[from] geneva_panel::CaseError),
    #[error(transparent)]
    Finding(#[from] geneva_panel::FindingError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("case {id} is stored in a form this Geneva cannot read: {reason}")]
    Unreadable { id: String, reason: String },
}

/// Bounds on what a step writes into the case document, which every later
/// step reads and rewrites whole.
const MAX_TITLE: usize = 1_000;
const MAX_TEXT: usize = 100_000;
const MAX_LIST: usize = 1_000;

fn bounded(what: &str, text: &str, max: usize) -> Result<(), CaseOpError> {
    if text.chars().count() > max {
        return Err(CaseOpError::Invalid(format!(
            "{what} is longer than {max} characters"
        )));
    }
    Ok(())
}

fn country_code(what: &str, code: &str) -> Result<String, CaseOpError> {
    if code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(code.to_ascii_uppercase())
    } else {
        Err(CaseOpError::Invalid(format!(
            "{what} {code:?} is not an ISO 3166 two-letter country code"
        )))
    }
}

/// Who takes a step: the name recorded in the case's history, and the
/// audit log's actor and channel.
#[derive(Debug, Clone)]
pub struct Who {
    pub name: String,
    pub actor: String,
    pub channel: &'static str,
}

/// Objects a step produced, to be stored as `provenance` says.
#[derive(Debug, Clone)]
pub struct ToStore {
    pub objects: Vec<Value>,
    pub provenance: Provenance,
}

impl ToStore {
    /// The objects through the import pipeline's checks, ready for
    /// `Store::import` with `self.provenance`.
    pub fn prepare(&self) -> Result<Vec<geneva_stix::PreparedObject>, CaseOpError> {
        let bundle = json!({"type": "bundle",
            "id": derived_id("bundle", &[&self.provenance.submitted_at]),
            "objects": self.objects});
        let bytes = serde_json::to_vec(&bundle).map_err(|e| CaseOpError::Invalid(e.to_string()))?;
        geneva_stix::prepare(&bytes, &geneva_stix::PrepareOptions::default())
            .map(|p| p.objects)
            .map_err(|e| {
                CaseOpError::Invalid(format!("the panel's objects are not valid STIX: {e:?}"))
            })
    }
}

pub async fn load(store: &dyn Store, id: &str) -> Result<(CaseFile, u64), CaseOpError> {
    let Some(record) = store.case(id).await? else {
        return Err(CaseOpError::NotFound(format!("no case {id:?}")));
    };
    let file = serde_json::from_str(&record.document).map_err(|e| CaseOpError::Unreadable {
        id: id.to_owned(),
        reason: e.to_string(),
    })?;
    Ok((file, record.revision))
}

async fn save(
    store: &dyn Store,
    file: &CaseFile,
    revision: Option<u64>,
) -> Result<u64, CaseOpError> {
    let document = serde_json::to_string(file).map_err(|e| CaseOpError::Invalid(e.to_string()))?;
    Ok(store.put_case(&file.case.id, &document, revision).await?)
}

async fn audit(
    store: &dyn Store,
    who: &Who,
    action: &str,
    case: &str,
    detail: String,
) -> Result<(), CaseOpError> {
    store
        .audit(vec![NewAuditEntry {
            at: geneva_stix::timestamp::now_rfc3339(),
            actor: who.actor.clone(),
            action: action.into(),
            channel: who.channel.into(),
            target: Some(case.to_owned()),
            detail,
        }])
        .await?;
    Ok(())
}

/// A STIX id derived from what it names, so a retried step makes the same one.
pub fn derived_id(kind: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let b = h.finalize();
    let mut u = [0u8; 16];
    u.copy_from_slice(&b[..16]);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    format!("{kind}--{}", uuid::Uuid::from_bytes(u))
}

/// A panel member: a user and their organisation's country.
pub async fn member(store: &dyn Store, user: &str) -> Result<Member, CaseOpError> {
    let Some(u) = store.user(user).await? else {
        return Err(CaseOpError::NotFound(format!("no user {user:?}")));
    };
    let Some(org) = store.organisation_by_id(u.organisation).await? else {
        return Err(CaseOpError::NotFound(format!(
            "user {user} belongs to no organisation"
        )));
    };
    Ok(Member {
        id: u.name,
        organisation: org.name,
        country: org.country.map(|c| c.as_str().to_owned()),
    })
}

/// A stored subject's objects and facts, as the operator sees them.
pub async fn subject_facts(
    store: &dyn Store,
    id: &str,
) -> Result<Option<(Vec<Value>, Facts)>, CaseOpError> {
    let Some(objects) = crate::attribution::stored_objects(store, &Viewer::Operator, id).await?
    else {
        return Ok(None);
    };
    let facts = Facts::from_stix(&objects, Some(id))
        .map_err(|e| CaseOpError::Invalid(format!("{id}: {e}")))?;
    Ok(Some((objects, facts)))
}

/// What a new case examines.
#[derive(Debug, Clone, Default)]
pub struct NewCase {
    pub title: String,
    pub subjects: Vec<String>,
    /// Suspected sponsor states (ISO 3166 codes) besides those the subjects state.
    pub sponsors: Vec<String>,
    pub supersedes: Option<Supersedes>,
    /// Quorum and majority; default 5 votes, two thirds.
    pub voting: Option<geneva_panel::VotingRules>,
    /// Which conflicts recuse; default all.
    pub conflicts: Option<geneva_panel::ConflictRules>,
}

/// Opens a case on subjects `viewer` may see. Who the case concerns is read
/// from the subjects as they are (victim countries and organisations, the
/// stated attributed state), whatever the viewer may see of them.
pub async fn open(
    store: &dyn Store,
    viewer: &Viewer,
    who: &Who,
    new: NewCase,
) -> Result<CaseFile, CaseOpError> {
    if let Some(old) = &new.supersedes {
        let mut found = false;
        for record in store.cases().await? {
            if let Ok(file) = serde_json::from_str::<CaseFile>(&record.document) {
                found |= file.published.is_some_and(|p| p.report == old.report);
            }
        }
        if !found {
            return Err(CaseOpError::Invalid(format!(
                "{} is not a published finding; only findings are corrected or retracted",
                old.report
            )));
        }
    }
    bounded("the title", &new.title, MAX_TITLE)?;
    if new.title.trim().is_empty() || new.subjects.len() > MAX_LIST {
        return Err(CaseOpError::Invalid(format!(
            "a case has a title and at most {MAX_LIST} subjects"
        )));
    }
    let mut parties = Parties::default();
    for s in &new.sponsors {
        parties
            .suspected_sponsors
            .insert(country_code("the sponsor", s)?);
    }
    for id in &new.subjects {
        if store.get(id, viewer).await?.is_none() {
            return Err(CaseOpError::NotFound(format!(
                "no incident or campaign {id:?} that you may see"
            )));
        }
        let Some((objects, facts)) = subject_facts(store, id).await? else {
            return Err(CaseOpError::NotFound(format!(
                "no incident or campaign {id:?}"
            )));
        };
        parties
            .victim_countries
            .extend(facts.victim_countries.iter().cloned());
        if let Some(state) = &facts.attributed_state {
            parties
                .suspected_sponsors
                .insert(state.to_ascii_uppercase());
        }
        for o in &objects {
            if o["type"] == "identity"
                && o["identity_class"] == "organization"
                && let Some(name) = o["name"].as_str()
            {
                parties.victim_organisations.insert(name.to_owned());
            }
        }
    }
    // The next free number; two cases opened at once race to the same id
    // and the store refuses the second (AlreadyExists): it is retried.
    let mut n = store.cases().await?.len() + 1;
    loop {
        let id = format!("case-{n}");
        let case = Case::open(&id, &new.title, new.subjects.clone())?;
        let mut file = CaseFile::new(case, parties.clone());
        file.supersedes = new.supersedes.clone();
        if let Some(v) = new.voting {
            if v.quorum == 0 || v.majority.1 == 0 || v.majority.0 > v.majority.1 {
                return Err(CaseOpError::Invalid(
                    "a quorum is at least 1 and a majority a fraction no more than 1 (e.g. 2/3)"
                        .into(),
                ));
            }
            file.voting_rules = v;
        }
        if let Some(c) = new.conflicts {
            file.conflict_rules = c;
        }
        match save(store, &file, None).await {
            Ok(_) => {
                audit(store, who, "case-open", &id, new.title.clone()).await?;
                return Ok(file);
            }
            Err(CaseOpError::Store(StoreError::AlreadyExists(_))) if n < 1_000_000 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

pub async fn assign(
    store: &dyn Store,
    who: &Who,
    id: &str,
    users: &[String],
) -> Result<CaseFile, CaseOpError> {
    if users.len() > MAX_LIST {
        return Err(CaseOpError::Invalid(format!(
            "at most {MAX_LIST} members at once"
        )));
    }
    let mut members = Vec::new();
    for u in users {
        members.push(member(store, u).await?);
    }
    let (mut file, revision) = load(store, id).await?;
    file.assign(members)?;
    save(store, &file, Some(revision)).await?;
    audit(store, who, "case-assign", id, users.join(",")).await?;
    Ok(file)
}

pub async fn note(
    store: &dyn Store,
    who: &Who,
    id: &str,
    text: &str,
    at: &str,
) -> Result<CaseFile, CaseOpError> {
    if text.trim().is_empty() {
        return Err(CaseOpError::Invalid("a note needs text".into()));
    }
    bounded("the note", text, MAX_TEXT)?;
    let (mut file, revision) = load(store, id).await?;
    file.note(&who.name, at, text)?;
    save(store, &file, Some(revision)).await?;
    Ok(file)
}

/// The finding put to the vote.
#[derive(Debug, Clone, Default)]
pub struct NewDraft {
    pub title: String,
    pub actor: Option<(String, String)>,
    pub sponsor: Option<String>,
    pub probability: f64,
    pub confidence: String,
    /// (norm id, verdict); empty: the breaches and likely breaches of the
    /// subjects' assessments.
    pub norms: Vec<(String, String)>,
}

pub async fn draft(
    store: &dyn Store,
    who: &Who,
    id: &str,
    new: NewDraft,
    at: &str,
) -> Result<CaseFile, CaseOpError> {
    if !(0.0..=1.0).contains(&new.probability) {
        return Err(CaseOpError::Invalid(
            "the probability is between 0 and 1".into(),
        ));
    }
    if !["low", "moderate", "high"].contains(&new.confidence.as_str()) {
        return Err(CaseOpError::Invalid(
            "the confidence is low, moderate or high".into(),
        ));
    }
    bounded("the title", &new.title, MAX_TITLE)?;
    if let Some((actor, name)) = &new.actor {
        bounded("the actor", actor, MAX_TITLE)?;
        bounded("the actor's name", name, MAX_TITLE)?;
    }
    let sponsor = new
        .sponsor
        .as_deref()
        .map(|s| country_code("the sponsor", s))
        .transpose()?;
    let (mut file, revision) = load(store, id).await?;
    let catalogue = Catalogue::shipped();
    let mut norms: Vec<NormVerdict> = Vec::new();
    if new.norms.is_empty() {
        for subject in &file.case.subjects {
            let Some((_, facts)) = subject_facts(store, subject).await? else {
                continue;
            };
            for a in geneva_norms::assess(&catalogue, &facts).norms {
                if matches!(a.verdict, Verdict::Breach | Verdict::LikelyBreach)
                    && !norms.iter().any(|n| n.norm == a.norm)
                {
                    norms.push(NormVerdict {
                        norm: a.norm,
                        title: a.title,
                        verdict: a.verdict.as_str().to_owned(),
                    });
                }
            }
        }
    } else {
        for (norm_id, verdict) in &new.norms {
            let Some(norm) = catalogue.norm(norm_id) else {
                return Err(CaseOpError::Invalid(format!(
                    "no norm {norm_id} (geneva norms list)"
                )));
            };
            if Verdict::parse(verdict).is_none() {
                return Err(CaseOpError::Invalid(format!(
                    "{norm_id}: the verdict is breach, likely breach, no breach or cannot assess"
                )));
            }
            norms.push(NormVerdict {
                norm: norm.id.clone(),
                title: norm.title.clone(),
                verdict: verdict.clone(),
            });
        }
    }
    file.set_draft(DraftSpec {
        report_id: derived_id("report", &[id, "draft", at]),
        title: new.title,
        actor: new.actor,
        sponsor_state: sponsor,
        likelihood: geneva_attribution::likelihood_term(new.probability).to_owned(),
        probability: new.probability,
        confidence: new.confidence,
        norms,
    })?;
    save(store, &file, Some(revision)).await?;
    audit(store, who, "case-draft", id, "draft set".into()).await?;
    Ok(file)
}

/// Moves a case to analysis, review, vote or closed (publication is `publish`).
pub async fn transition(
    store: &dyn Store,
    who: &Who,
    id: &str,
    to: &str,
    at: &str,
    reason: Option<String>,
) -> Result<CaseFile, CaseOpError> {
    let to = match to {
        "analysis" => Status::Analysis,
        "review" => Status::Review,
        "vote" => Status::Vote,
        "closed" => Status::Closed,
        "published" => {
            return Err(CaseOpError::Invalid(
                "a finding is published with publish".into(),
            ));
        }
        other => {
            return Err(CaseOpError::Invalid(format!(
                "no status {other:?}: analysis, review, vote or closed"
            )));
        }
    };
    let (mut file, revision) = load(store, id).await?;
    file.transition(to, &who.name, at, reason)?;
    save(store, &file, Some(revision)).await?;
    audit(store, who, "case-move", id, to.as_str().into()).await?;
    Ok(file)
}

/// Casts `user`'s vote; the opinion (with the voter's identity) comes back
/// to be stored as the voter's organisation's TLP:AMBER submission.
pub async fn vote(
    store: &dyn Store,
    who: &Who,
    id: &str,
    user: &str,
    opinion: &str,
    explanation: Option<String>,
    at: &str,
) -> Result<(CaseFile, ToStore), CaseOpError> {
    let Some(opinion) = Opinion::parse(opinion) else {
        return Err(CaseOpError::Invalid(format!(
            "no opinion {opinion:?}: strongly-disagree, disagree, neutral, agree or strongly-agree"
        )));
    };
    if let Some(e) = &explanation {
        bounded("the explanation", e, MAX_TEXT)?;
    }
    let voter = member(store, user).await?;
    let (mut file, revision) = load(store, id).await?;
    let vote = Vote {
        member: user.to_owned(),
        opinion,
        explanation,
        at: at.to_owned(),
    };
    file.vote(vote.clone())?;
    let draft = file.draft.as_ref().expect("a vote needs a draft");
    let identity = derived_id("identity", &["panel-member", user]);
    let opinion_id = derived_id("opinion", &[id, &draft.report_id, user]);
    let objects = vec![
        json!({"type": "identity", "spec_version": "2.1", "id": identity,
               "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
               "name": user, "identity_class": "individual"}),
        vote.to_stix(&opinion_id, &identity, &draft.report_id),
    ];
    save(store, &file, Some(revision)).await?;
    let org = store.organisation(&voter.organisation).await?;
    audit(
        store,
        who,
        "case-vote",
        id,
        format!("{user}: {}", opinion.as_str()),
    )
    .await?;
    Ok((
        file,
        ToStore {
            objects,
            provenance: Provenance {
                organisation: voter.organisation,
                organisation_id: org.map(|o| o.id),
                submitted_at: at.to_owned(),
                default_tlp: Tlp::Amber,
                recipients: Recipients::default(),
            },
        },
    ))
}

/// Records that an item's owner released it for publication.
pub async fn release(
    store: &dyn Store,
    who: &Who,
    id: &str,
    item: &str,
) -> Result<CaseFile, CaseOpError> {
    let (mut file, revision) = load(store, id).await?;
    if !file.released.iter().any(|r| r == item) {
        file.released.push(item.to_owned());
    }
    save(store, &file, Some(revision)).await?;
    audit(store, who, "case-release", id, item.to_owned()).await?;
    Ok(file)
}

/// Publication in two steps around the caller's storing of the objects.
pub enum Publication {
    /// Published already: what was published (publishing is idempotent).
    Done(Published),
    /// The finding to store, then to record with [`finish_publication`].
    Ready {
        file: Box<CaseFile>,
        revision: u64,
        to_store: ToStore,
        published: Published,
    },
}

/// Evidence items a finding may cite per subject.
const MAX_EVIDENCE: usize = 200;

/// The objects each subject's evidence is made of (what it uses, targets,
/// refers to), each with its disclosure: the finding cites only those that
/// are TLP:CLEAR or released by their owners, by id and a one-line summary.
async fn subject_evidence(
    store: &dyn Store,
    file: &CaseFile,
) -> Result<Vec<EvidenceItem>, CaseOpError> {
    let mut out: Vec<EvidenceItem> = Vec::new();
    for subject in &file.case.subjects {
        let Some(objects) =
            crate::attribution::stored_objects(store, &Viewer::Operator, subject).await?
        else {
            continue;
        };
        for o in objects
            .iter()
            .filter(|o| o["type"] != "relationship" && o["id"] != subject.as_str())
            .take(MAX_EVIDENCE)
        {
            let Some(oid) = o["id"].as_str() else {
                continue;
            };
            if out.iter().any(|e| e.id == oid) {
                continue;
            }
            let tlp = store
                .get(oid, &Viewer::Operator)
                .await?
                .map_or(Tlp::Red, |v| v.tlp);
            let label = ["name", "value"]
                .iter()
                .find_map(|k| o[*k].as_str())
                .unwrap_or(oid);
            let summary: String = format!("{} {label}", o["type"].as_str().unwrap_or("object"))
                .chars()
                .take(300)
                .collect();
            out.push(EvidenceItem {
                id: oid.to_owned(),
                summary,
                disclosure: Disclosure {
                    tlp,
                    released: file.released.iter().any(|r| r == oid),
                },
            });
        }
    }
    Ok(out)
}

/// Composes the finding of a carried vote. Its time is fixed in the case
/// before anything is stored and its ids derive from the case, so a retried
/// publication composes the very same objects.
pub async fn prepare_publication(
    store: &dyn Store,
    id: &str,
    now: &str,
) -> Result<Publication, CaseOpError> {
    let (mut file, mut revision) = load(store, id).await?;
    if let Some(p) = &file.published {
        return Ok(Publication::Done(p.clone()));
    }
    if file.case.status != Status::Vote {
        return Err(CaseOpError::Invalid(format!(
            "{id} is {}: a finding is published after a vote",
            file.case.status.as_str()
        )));
    }
    let tally = file.tally();
    if !tally.carried {
        return Err(CaseOpError::Invalid(format!(
            "the vote did not carry: {}",
            tally.sentence()
        )));
    }
    let at = match &file.publishing_at {
        Some(at) => at.clone(),
        None => {
            file.publishing_at = Some(now.to_owned());
            revision = save(store, &file, Some(revision)).await?;
            now.to_owned()
        }
    };
    let draft = file.draft.clone().expect("a carried vote has a draft");
    let mut subjects = Vec::new();
    for s in &file.case.subjects {
        let tlp = store
            .get(s, &Viewer::Operator)
            .await?
            .map_or(Tlp::Red, |v| v.tlp);
        subjects.push(EvidenceItem {
            id: s.clone(),
            summary: String::new(),
            disclosure: Disclosure {
                tlp,
                released: file.released.contains(s),
            },
        });
    }
    let evidence = subject_evidence(store, &file).await?;
    let finding = DraftFinding {
        case_id: id.to_owned(),
        title: draft.title.clone(),
        subjects,
        actor: draft.actor.clone(),
        sponsor_state: draft.sponsor_state.clone(),
        likelihood: draft.likelihood.clone(),
        probability: draft.probability,
        confidence: draft.confidence.clone(),
        norms: draft.norms.clone(),
        evidence,
        supersedes: file.supersedes.clone(),
    };
    let body = derived_id("identity", &["geneva-body"]);
    let mut n = 0;
    let mut objects = compose_finding(&finding, &tally, &body, &at, |kind| {
        n += 1;
        if kind == "report" {
            draft.report_id.clone()
        } else {
            derived_id(kind, &[id, &draft.report_id, &n.to_string()])
        }
    })?;
    objects.insert(
        0,
        json!({"type": "identity", "spec_version": "2.1", "id": body,
               "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
               "name": "Digital Geneva Convention attribution panel", "identity_class": "organization",
               "object_marking_refs": [Tlp::Clear.marking_id()]}),
    );
    let published = Published {
        at: at.clone(),
        report: draft.report_id.clone(),
        objects: objects
            .iter()
            .filter_map(|o| o["id"].as_str().map(str::to_owned))
            .collect(),
    };
    Ok(Publication::Ready {
        file: Box::new(file),
        revision,
        to_store: ToStore {
            objects,
            provenance: Provenance {
                organisation: "local".into(),
                organisation_id: None,
                submitted_at: at,
                default_tlp: Tlp::Clear,
                recipients: Recipients::default(),
            },
        },
        published,
    })
}

/// Records a stored finding in its case, which becomes final.
pub async fn finish_publication(
    store: &dyn Store,
    who: &Who,
    mut file: CaseFile,
    revision: u64,
    published: Published,
) -> Result<CaseFile, CaseOpError> {
    file.transition(Status::Published, &who.name, &published.at, None)?;
    let report = published.report.clone();
    file.published = Some(published);
    save(store, &file, Some(revision)).await?;
    let id = file.case.id.clone();
    audit(store, who, "case-publish", &id, report).await?;
    Ok(file)
}

/// A candidate actor's least probability for its sponsor to count as a
/// party of the case: the bottom of ICD 203's "very unlikely".
pub const CANDIDATE_THRESHOLD: f64 = 0.05;

/// One subject's analysis as a case keeps it: the attribution (hypotheses,
/// ACH matrix) and the norm assessment, completed from the attribution when
/// the subject does not say who acted.
pub fn analysis(
    catalogue: &Catalogue,
    subject: &str,
    mut facts: Facts,
    attribution: Option<&geneva_attribution::Attribution>,
    at: &str,
) -> Value {
    let (from, note) = crate::assessment::complete(&mut facts, attribution);
    let assessment = geneva_norms::assess(catalogue, &facts);
    let mut report =
        crate::assessment::report(catalogue, subject, &facts, &assessment, from.as_ref());
    report["attribution_note"] = json!(note);
    json!({
        "subject": subject,
        "at": at,
        "attribution": attribution.map(|a| a.report()),
        "assessment": report,
    })
}

/// Attaches the subjects' analyses to a case, replacing earlier ones.
pub async fn attach_analyses(
    store: &dyn Store,
    who: &Who,
    id: &str,
    analyses: Vec<Value>,
) -> Result<CaseFile, CaseOpError> {
    let (mut file, revision) = load(store, id).await?;
    if file.case.status.is_final() || file.case.status == Status::Vote {
        return Err(CaseOpError::Invalid(format!(
            "{id} is {}: subjects are examined before the vote",
            file.case.status.as_str()
        )));
    }
    // The suspected sponsors of the candidate actors (any the attribution
    // does not rule out: 5% or more) join the parties, and recusals follow.
    for a in &analyses {
        for c in a["attribution"]["candidates"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if c["probability"].as_f64().unwrap_or(0.0) >= CANDIDATE_THRESHOLD
                && let Some(code) = c["sponsor"]
                    .as_str()
                    .and_then(geneva_kb::sponsor_country_code)
            {
                file.parties.suspected_sponsors.insert(code);
            }
        }
    }
    file.analyses = analyses;
    file.assign(Vec::new())?;
    save(store, &file, Some(revision)).await?;
    audit(
        store,
        who,
        "case-examine",
        id,
        format!("{} subjects", file.analyses.len()),
    )
    .await?;
    Ok(file)
}
