//! A case as it is kept: the case and its history, who it concerns, the
//! panel assigned and who of them is recused, notes, the draft finding put
//! to the vote, the votes, and the published finding. One JSON document per
//! case (the store keeps it with a revision every write must name).

use serde::{Deserialize, Serialize};

use crate::case::{Case, CaseError, Status};
use crate::finding::{NormVerdict, Supersedes};
use crate::recusal::{ConflictRules, Member, Parties, Recusal, recusals};
use crate::vote::{Tally, Vote, VoteError, VotingRules, cast, tally};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseNote {
    pub by: String,
    pub at: String,
    pub text: String,
}

/// The finding the panel votes on, before it is composed for publication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftSpec {
    /// The STIX id the published report will have; votes refer to it.
    pub report_id: String,
    pub title: String,
    /// The attributed actor: STIX id and name.
    pub actor: Option<(String, String)>,
    pub sponsor_state: Option<String>,
    pub likelihood: String,
    pub probability: f64,
    pub confidence: String,
    pub norms: Vec<NormVerdict>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub at: String,
    pub report: String,
    pub objects: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error(transparent)]
    Vote(#[from] VoteError),
    #[error("the case is {}: {what} only while it is {}", .status.as_str(), .allowed)]
    WrongStatus {
        status: Status,
        what: &'static str,
        allowed: &'static str,
    },
    #[error("there is no draft finding to vote on: `geneva case draft` first")]
    NoDraft,
    #[error("the vote did not carry: {0}")]
    NotCarried(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseFile {
    pub case: Case,
    pub parties: Parties,
    pub conflict_rules: ConflictRules,
    pub voting_rules: VotingRules,
    pub members: Vec<Member>,
    pub recusals: Vec<Recusal>,
    pub notes: Vec<CaseNote>,
    pub draft: Option<DraftSpec>,
    pub votes: Vec<Vote>,
    /// Ids of subjects and evidence their owners released for publication.
    pub released: Vec<String>,
    /// Set before the finding's objects are stored, so a retried publication
    /// composes the very same objects (same time, same ids).
    pub publishing_at: Option<String>,
    pub published: Option<Published>,
    /// The earlier finding this case's finding corrects or retracts.
    #[serde(default)]
    pub supersedes: Option<Supersedes>,
    /// The attribution and the norm assessment of each subject when the
    /// case was examined (JSON, as `geneva attribute` and `geneva assess`
    /// give them): the hypotheses, the ACH matrix and the verdicts the panel
    /// worked from.
    #[serde(default)]
    pub analyses: Vec<serde_json::Value>,
}

impl CaseFile {
    pub fn new(case: Case, parties: Parties) -> CaseFile {
        CaseFile {
            case,
            parties,
            conflict_rules: ConflictRules::default(),
            voting_rules: VotingRules::default(),
            members: Vec::new(),
            recusals: Vec::new(),
            notes: Vec::new(),
            draft: None,
            votes: Vec::new(),
            released: Vec::new(),
            publishing_at: None,
            published: None,
            supersedes: None,
            analyses: Vec::new(),
        }
    }

    fn still_open(&self) -> Result<(), FileError> {
        if self.case.status.is_final() {
            return Err(CaseError::Final(self.case.status).into());
        }
        Ok(())
    }

    /// Assigns members (again assigning one changes nothing) and recuses
    /// those the conflict rules name.
    pub fn assign(&mut self, members: Vec<Member>) -> Result<&[Recusal], FileError> {
        self.still_open()?;
        for m in members {
            if !self.members.iter().any(|x| x.id == m.id) {
                self.members.push(m);
            }
        }
        self.recusals = recusals(&self.members, &self.parties, &self.conflict_rules);
        Ok(&self.recusals)
    }

    pub fn note(&mut self, by: &str, at: &str, text: &str) -> Result<(), FileError> {
        self.still_open()?;
        self.notes.push(CaseNote {
            by: by.to_owned(),
            at: at.to_owned(),
            text: text.to_owned(),
        });
        Ok(())
    }

    /// Sets the draft put to the vote; votes on an earlier draft are void.
    pub fn set_draft(&mut self, draft: DraftSpec) -> Result<(), FileError> {
        if !matches!(self.case.status, Status::Analysis | Status::Review) {
            return Err(FileError::WrongStatus {
                status: self.case.status,
                what: "the draft can change",
                allowed: "in analysis or review",
            });
        }
        self.draft = Some(draft);
        self.votes.clear();
        Ok(())
    }

    pub fn vote(&mut self, vote: Vote) -> Result<(), FileError> {
        if self.case.status != Status::Vote {
            return Err(FileError::WrongStatus {
                status: self.case.status,
                what: "votes are cast",
                allowed: "in vote",
            });
        }
        if self.draft.is_none() {
            return Err(FileError::NoDraft);
        }
        cast(&mut self.votes, vote, &self.members, &self.recusals)?;
        Ok(())
    }

    pub fn tally(&self) -> Tally {
        tally(&self.votes, &self.voting_rules)
    }

    /// Moves the case; the vote is only opened on a draft, and a case is
    /// only published with a carried vote.
    pub fn transition(
        &mut self,
        to: Status,
        by: &str,
        at: &str,
        reason: Option<String>,
    ) -> Result<(), FileError> {
        // The lifecycle first: its answer says where the case may go.
        if self.case.status.is_final() {
            return Err(CaseError::Final(self.case.status).into());
        }
        if !self.case.status.next().contains(&to) {
            return Err(CaseError::NotAllowed {
                from: self.case.status,
                to,
            }
            .into());
        }
        if to == Status::Vote && self.draft.is_none() {
            return Err(FileError::NoDraft);
        }
        if to == Status::Published {
            let t = self.tally();
            if !t.carried {
                return Err(FileError::NotCarried(t.sentence()));
            }
        }
        self.case.transition(to, by, at, reason)?;
        Ok(())
    }
}
