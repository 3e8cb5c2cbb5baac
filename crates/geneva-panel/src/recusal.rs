//! Conflicts of interest: a panel member whose organisation's country is a
//! victim of the case, or the suspected sponsor of a candidate actor, does
//! not vote on it. The rules are configurable; every recusal says why.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A panel member and the organisation they come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub organisation: String,
    /// ISO 3166-1 alpha-2, upper case; none for companies without one.
    pub country: Option<String>,
}

/// Who a case concerns, as the conflict rules read it. Countries are ISO
/// 3166-1 alpha-2 codes, upper case (the caller normalises).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parties {
    pub victim_countries: BTreeSet<String>,
    pub victim_organisations: BTreeSet<String>,
    /// Suspected sponsor states of the candidate actors considered.
    pub suspected_sponsors: BTreeSet<String>,
}

/// Which conflicts recuse. All on by default (and for any field left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConflictRules {
    pub victim_country: bool,
    pub victim_organisation: bool,
    pub suspected_sponsor: bool,
}

impl Default for ConflictRules {
    fn default() -> Self {
        ConflictRules {
            victim_country: true,
            victim_organisation: true,
            suspected_sponsor: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recusal {
    pub member: String,
    pub reason: String,
}

/// The members the rules recuse, each with the reason, in member order.
pub fn recusals(members: &[Member], parties: &Parties, rules: &ConflictRules) -> Vec<Recusal> {
    let mut out = Vec::new();
    for m in members {
        let mut reasons = Vec::new();
        if let Some(country) = &m.country {
            let country = country.to_ascii_uppercase();
            if rules.victim_country && parties.victim_countries.contains(&country) {
                reasons.push(format!(
                    "{country}, their organisation's country, is a victim"
                ));
            }
            if rules.suspected_sponsor && parties.suspected_sponsors.contains(&country) {
                reasons.push(format!(
                    "{country}, their organisation's country, is a suspected sponsor of a candidate actor"
                ));
            }
        }
        if rules.victim_organisation && parties.victim_organisations.contains(&m.organisation) {
            reasons.push(format!(
                "their organisation, {}, is a victim",
                m.organisation
            ));
        }
        if !reasons.is_empty() {
            out.push(Recusal {
                member: m.id.clone(),
                reason: reasons.join("; "),
            });
        }
    }
    out
}
