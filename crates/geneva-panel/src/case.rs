//! A case and its lifecycle. Every transition is recorded with who made it
//! and when; the only ways out are a published finding or closing without
//! one, and neither can be undone (a correction is a new case's finding).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Intake,
    Analysis,
    Review,
    Vote,
    Published,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Intake => "intake",
            Status::Analysis => "analysis",
            Status::Review => "review",
            Status::Vote => "vote",
            Status::Published => "published",
            Status::Closed => "closed",
        }
    }

    /// Where a case may go from here. Review may send it back to analysis,
    /// and a vote that fails sends it back to review; anything not yet
    /// final may be closed without a finding.
    pub fn next(self) -> &'static [Status] {
        match self {
            Status::Intake => &[Status::Analysis, Status::Closed],
            Status::Analysis => &[Status::Review, Status::Closed],
            Status::Review => &[Status::Vote, Status::Analysis, Status::Closed],
            Status::Vote => &[Status::Published, Status::Review, Status::Closed],
            Status::Published | Status::Closed => &[],
        }
    }

    pub fn is_final(self) -> bool {
        self.next().is_empty()
    }
}

/// One recorded step of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: Status,
    pub to: Status,
    pub by: String,
    pub at: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("a case in {} cannot move to {}; from {} it may go to {}", .from.as_str(), .to.as_str(), .from.as_str(), list(.from.next()))]
    NotAllowed { from: Status, to: Status },
    #[error("the case is {} and can no longer change", .0.as_str())]
    Final(Status),
    #[error("a case is opened on at least one incident or campaign")]
    NothingToExamine,
}

fn list(next: &[Status]) -> String {
    if next.is_empty() {
        "nowhere".to_owned()
    } else {
        next.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// A case: what it examines, its status and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub title: String,
    /// The incidents or campaigns examined (STIX ids).
    pub subjects: Vec<String>,
    pub status: Status,
    pub history: Vec<Transition>,
}

impl Case {
    pub fn open(
        id: impl Into<String>,
        title: impl Into<String>,
        subjects: Vec<String>,
    ) -> Result<Case, CaseError> {
        if subjects.is_empty() {
            return Err(CaseError::NothingToExamine);
        }
        Ok(Case {
            id: id.into(),
            title: title.into(),
            subjects,
            status: Status::Intake,
            history: Vec::new(),
        })
    }

    /// Moves the case, recording who did it and when.
    pub fn transition(
        &mut self,
        to: Status,
        by: impl Into<String>,
        at: impl Into<String>,
        reason: Option<String>,
    ) -> Result<&Transition, CaseError> {
        if self.status.is_final() {
            return Err(CaseError::Final(self.status));
        }
        if !self.status.next().contains(&to) {
            return Err(CaseError::NotAllowed {
                from: self.status,
                to,
            });
        }
        self.history.push(Transition {
            from: self.status,
            to,
            by: by.into(),
            at: at.into(),
            reason,
        });
        self.status = to;
        Ok(self.history.last().expect("just pushed"))
    }
}
