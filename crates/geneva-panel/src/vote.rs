//! Votes on a draft finding: one per assigned, unrecused member, each a
//! STIX 2.1 `opinion` on the draft; carried with a quorum and a qualified
//! majority (by default at least 5 votes, two thirds in agreement). A vote
//! against must give its reasons: dissents are published with the finding.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::recusal::{Member, Recusal};

/// STIX 2.1 `opinion-enum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Opinion {
    StronglyDisagree,
    Disagree,
    Neutral,
    Agree,
    StronglyAgree,
}

impl Opinion {
    pub const ALL: [Opinion; 5] = [
        Opinion::StronglyDisagree,
        Opinion::Disagree,
        Opinion::Neutral,
        Opinion::Agree,
        Opinion::StronglyAgree,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Opinion::StronglyDisagree => "strongly-disagree",
            Opinion::Disagree => "disagree",
            Opinion::Neutral => "neutral",
            Opinion::Agree => "agree",
            Opinion::StronglyAgree => "strongly-agree",
        }
    }

    pub fn parse(s: &str) -> Option<Opinion> {
        Opinion::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn in_favour(self) -> bool {
        matches!(self, Opinion::Agree | Opinion::StronglyAgree)
    }

    pub fn against(self) -> bool {
        matches!(self, Opinion::Disagree | Opinion::StronglyDisagree)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub member: String,
    pub opinion: Opinion,
    pub explanation: Option<String>,
    pub at: String,
}

impl Vote {
    /// The vote as a STIX `opinion` on the draft finding, by the member's
    /// identity (what the transparency log records).
    pub fn to_stix(&self, id: &str, member_identity: &str, draft_finding: &str) -> Value {
        let mut opinion = json!({
            "type": "opinion", "spec_version": "2.1", "id": id,
            "created": self.at, "modified": self.at,
            "created_by_ref": member_identity,
            "opinion": self.opinion.as_str(),
            "object_refs": [draft_finding],
        });
        if let Some(e) = &self.explanation {
            opinion["explanation"] = json!(e);
        }
        opinion
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoteError {
    #[error("{0} is not assigned to this case")]
    NotAssigned(String),
    #[error("{member} is recused from this case: {reason}")]
    Recused { member: String, reason: String },
    #[error("{0} has already voted on this draft")]
    AlreadyVoted(String),
    #[error("{0} votes against without reasons: a dissent is published, so it must say why")]
    DissentWithoutReasons(String),
}

/// Records `vote` if its member may vote: assigned, not recused, not yet
/// voted; a vote against needs an explanation.
pub fn cast(
    votes: &mut Vec<Vote>,
    vote: Vote,
    assigned: &[Member],
    recused: &[Recusal],
) -> Result<(), VoteError> {
    if !assigned.iter().any(|m| m.id == vote.member) {
        return Err(VoteError::NotAssigned(vote.member));
    }
    if let Some(r) = recused.iter().find(|r| r.member == vote.member) {
        return Err(VoteError::Recused {
            member: vote.member,
            reason: r.reason.clone(),
        });
    }
    if votes.iter().any(|v| v.member == vote.member) {
        return Err(VoteError::AlreadyVoted(vote.member));
    }
    if vote.opinion.against()
        && vote
            .explanation
            .as_deref()
            .is_none_or(|e| e.trim().is_empty())
    {
        return Err(VoteError::DissentWithoutReasons(vote.member));
    }
    votes.push(vote);
    Ok(())
}

/// Quorum and majority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VotingRules {
    /// Votes needed for the vote to count at all.
    pub quorum: usize,
    /// Share of the votes cast that must be in favour: numerator / denominator.
    pub majority: (usize, usize),
}

impl Default for VotingRules {
    fn default() -> Self {
        VotingRules {
            quorum: 5,
            majority: (2, 3),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub cast: usize,
    pub in_favour: usize,
    pub against: usize,
    pub neutral: usize,
    pub quorum: usize,
    pub quorum_met: bool,
    pub carried: bool,
    /// The votes against, with their reasons: published with the finding.
    pub dissents: Vec<Vote>,
}

impl Tally {
    pub fn sentence(&self) -> String {
        format!(
            "{} votes cast (quorum {}): {} in favour, {} against, {} neutral; {}",
            self.cast,
            self.quorum,
            self.in_favour,
            self.against,
            self.neutral,
            match (self.quorum_met, self.carried) {
                (false, _) => "no quorum",
                (true, true) => "carried",
                (true, false) => "not carried",
            }
        )
    }
}

/// Counts the votes. Neutral votes count towards the quorum and the
/// denominator of the majority: abstaining is not agreeing.
pub fn tally(votes: &[Vote], rules: &VotingRules) -> Tally {
    let cast = votes.len();
    let in_favour = votes.iter().filter(|v| v.opinion.in_favour()).count();
    let against = votes.iter().filter(|v| v.opinion.against()).count();
    let quorum_met = cast >= rules.quorum.max(1);
    let (num, den) = rules.majority;
    Tally {
        cast,
        in_favour,
        against,
        neutral: cast - in_favour - against,
        quorum: rules.quorum,
        quorum_met,
        carried: quorum_met && in_favour * den.max(1) >= num * cast,
        dissents: votes
            .iter()
            .filter(|v| v.opinion.against())
            .cloned()
            .collect(),
    }
}
