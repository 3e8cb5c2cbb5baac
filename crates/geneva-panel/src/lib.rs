//! The expert panel's rules, as data and pure functions.
//!
//! This crate owns what makes a finding credible: a case's lifecycle
//! (intake → analysis → review → vote → published, or closed without a
//! finding) with every transition recorded, automatic recusal of members
//! with a conflict of interest, votes as STIX 2.1 `opinion` objects with
//! quorum and majority, dissents, and the composition of a finding — a
//! STIX `report` with its `attributed-to` relationship and `note`s — from
//! public content only. It does no I/O and knows nothing of HTTP, SQL, the
//! store or the transparency log; callers persist cases and log what this
//! crate produces.
#![forbid(unsafe_code)]

pub mod case;
pub mod file;
pub mod finding;
pub mod recusal;
pub mod vote;

pub use case::{Case, CaseError, Status, Transition};
pub use file::{CaseFile, CaseNote, DraftSpec, FileError, Published};
pub use finding::{
    Disclosure, DraftFinding, EvidenceItem, FindingError, NormVerdict, Supersedes, compose_finding,
};
pub use recusal::{ConflictRules, Member, Parties, Recusal, recusals};
pub use vote::{Opinion, Tally, Vote, VoteError, VotingRules, tally};
