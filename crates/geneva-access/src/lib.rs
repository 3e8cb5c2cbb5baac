//! Access control vocabulary: organisations and their kinds, principals,
//! scopes, and API tokens (generation, parsing, hashing, constant-time
//! verification).
//!
//! This crate owns the rules of *who is asking and what they may do*. It must
//! never store anything or speak HTTP: the store keeps token hashes and the
//! server extracts credentials from requests, both through the types here.
#![forbid(unsafe_code)]

pub mod token;

use std::fmt;
use std::str::FromStr;

pub use token::{ApiToken, TokenError, TokenHash, TokenId};

/// What kind of member an organisation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrgKind {
    /// A state, or its government CERT.
    State,
    Company,
    /// The body's own expert panel.
    Panel,
    Vendor,
    Researcher,
}

impl OrgKind {
    pub const ALL: [OrgKind; 5] = [
        OrgKind::State,
        OrgKind::Company,
        OrgKind::Panel,
        OrgKind::Vendor,
        OrgKind::Researcher,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::State => "state",
            OrgKind::Company => "company",
            OrgKind::Panel => "panel",
            OrgKind::Vendor => "vendor",
            OrgKind::Researcher => "researcher",
        }
    }
}

impl fmt::Display for OrgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown organisation kind {0:?}: use state, company, panel, vendor or researcher")]
pub struct UnknownKind(pub String);

impl FromStr for OrgKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "state" | "government" | "cert" | "government-cert" => Ok(OrgKind::State),
            "company" => Ok(OrgKind::Company),
            "panel" => Ok(OrgKind::Panel),
            "vendor" => Ok(OrgKind::Vendor),
            "researcher" => Ok(OrgKind::Researcher),
            _ => Err(UnknownKind(s.to_owned())),
        }
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. CH)")]
pub struct BadCountry(pub String);

impl CountryCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CountryCode {
    type Err = BadCountry;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(CountryCode(t.to_ascii_uppercase()))
        } else {
            Err(BadCountry(s.to_owned()))
        }
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Read what the organisation may see.
    Read,
    /// Submit evidence.
    Submit,
    /// Run analyses (correlation, attribution).
    Analyse,
    /// Vote in panel reviews.
    Vote,
    /// Manage organisations, users, groups and tokens; read the audit log.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::Submit,
        Scope::Analyse,
        Scope::Vote,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Submit => "submit",
            Scope::Analyse => "analyse",
            Scope::Vote => "vote",
            Scope::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}: use read, submit, analyse, vote or admin")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| {
                scope.as_str() == s.trim().to_ascii_lowercase()
                    || (s.trim() == "analyze" && *scope == Scope::Analyse)
            })
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// A set of scopes, stored as a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Scopes(u8);

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        Scopes(scopes.into_iter().fold(0, |acc, s| acc | s.bit()))
    }
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }
    pub fn bits(self) -> u8 {
        self.0
    }
    /// From stored bits; unknown bits are dropped.
    pub fn from_bits(bits: u8) -> Self {
        Scopes(bits & Scopes::new(Scope::ALL).0)
    }
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(","))
    }
}

/// Who is asking: nobody in particular, or a member organisation (and possibly one of its users) holding a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Member {
        organisation: i64,
        organisation_name: String,
        user: Option<i64>,
        scopes: Scopes,
        token: TokenId,
    },
}

impl Principal {
    pub fn has(&self, scope: Scope) -> bool {
        match self {
            Principal::Anonymous => false,
            Principal::Member { scopes, .. } => scopes.contains(scope),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in OrgKind::ALL {
            assert_eq!(k.as_str().parse::<OrgKind>().unwrap(), k);
        }
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>().unwrap(), s);
        }
        assert!("root".parse::<Scope>().is_err());
        assert_eq!("ch".parse::<CountryCode>().unwrap().as_str(), "CH");
        assert!("CHE".parse::<CountryCode>().is_err());
    }

    #[test]
    fn scope_sets() {
        let s = Scopes::new([Scope::Read, Scope::Vote]);
        assert!(s.contains(Scope::Read) && s.contains(Scope::Vote) && !s.contains(Scope::Admin));
        assert_eq!(Scopes::from_bits(s.bits()), s);
        assert_eq!(s.to_string(), "read,vote");
        assert_eq!(Scopes::from_bits(0xff), Scopes::new(Scope::ALL));
    }
}
