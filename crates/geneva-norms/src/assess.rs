//! The assessment of one incident's facts against every applicable norm.
//!
//! For each norm with incident criteria, three questions in three-valued
//! logic: is the norm's actor in the frame (a state-linked actor for norms
//! binding states; non-state actors for the host-state norm; a signatory
//! company for the Tech Accord), is it in force (peacetime, unless the norm
//! holds at all times), and does it apply (`applies`)? All three false on
//! any count: not applicable, and left out. Then `breach`:
//!
//! | in the frame and applicable | `breach` | attribution confidence | verdict |
//! |---|---|---|---|
//! | any | false | any | no breach |
//! | unknown | true or unknown | any | cannot assess |
//! | true | unknown | any | cannot assess |
//! | true | true | high (or the host-state norm) | breach |
//! | true | true | moderate | likely breach |
//! | true | true | low or unknown | cannot assess |
//!
//! Every verdict lists the known facts it rests on and the unknown facts
//! that, once known, would change it (each tried with every value it can
//! take, so a fact listed there really can move the verdict; a "cannot
//! assess" also changes when a fact would make the norm not apply).

use serde::Serialize;

use crate::catalogue::{Binds, Catalogue, Norm};
use crate::criteria::{Expr, Truth};
use crate::facts::{EFFECTS, FACTS, FactKind, FactValue, Facts, fact_kind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Breach,
    LikelyBreach,
    NoBreach,
    CannotAssess,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Breach => "breach",
            Verdict::LikelyBreach => "likely breach",
            Verdict::NoBreach => "no breach",
            Verdict::CannotAssess => "cannot assess",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        [
            Verdict::Breach,
            Verdict::LikelyBreach,
            Verdict::NoBreach,
            Verdict::CannotAssess,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NormAssessment {
    pub norm: String,
    pub title: String,
    pub source: String,
    pub article: String,
    pub verdict: Verdict,
    /// Known facts the verdict rests on, as "fact = value".
    pub rests_on: Vec<String>,
    /// Unknown facts that would change the verdict once known.
    pub would_change: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntensityPart {
    pub factor: String,
    pub points: u32,
}

/// The incident's intensity: points for the worst effect, reach, critical
/// infrastructure, spread and physical harm (formula in [`intensity`]).
#[derive(Debug, Clone, Serialize)]
pub struct Intensity {
    pub score: u32,
    pub max: u32,
    pub band: &'static str,
    pub parts: Vec<IntensityPart>,
    /// Facts the score reads that are unknown: it is a lower bound while
    /// any is listed.
    pub unknown: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub catalogue_version: String,
    pub attributed_state: Option<String>,
    pub norms: Vec<NormAssessment>,
    pub intensity: Intensity,
}

/// Whether the norm's actor is in the frame, and it is in force.
fn frame(norm: &Norm, facts: &Facts) -> Truth {
    let actor = |types: &[&str]| {
        Expr::OneOf(
            "actor.type".into(),
            types.iter().map(|s| (*s).to_owned()).collect(),
        )
    };
    let mut parts = vec![match norm.binds {
        Binds::States => actor(&["state", "state-affiliated", "private-offensive-company"]),
        Binds::HostStates => actor(&["criminal", "hacktivist"]),
        Binds::Companies => Expr::And(vec![
            actor(&["private-offensive-company"]),
            Expr::Fact("actor.tech-accord-signatory".into()),
        ]),
    }];
    if !norm.at_all_times {
        parts.push(Expr::OneOf("context".into(), vec!["peacetime".into()]));
    }
    if let Some(applies) = &norm.applies_expr {
        parts.push(applies.clone());
    }
    Expr::And(parts).eval(facts)
}

/// The verdict on one norm; `None` when it does not apply.
pub fn verdict(norm: &Norm, facts: &Facts) -> Option<Verdict> {
    let breach = norm.breach_expr.as_ref()?;
    let framed = frame(norm, facts);
    if framed == Truth::False {
        return None;
    }
    Some(match (framed, breach.eval(facts)) {
        (_, Truth::False) => Verdict::NoBreach,
        (Truth::Unknown, _) | (_, Truth::Unknown) => Verdict::CannotAssess,
        (_, Truth::True) => match norm.binds {
            Binds::HostStates => Verdict::Breach,
            Binds::States | Binds::Companies => match facts.choice("attribution.confidence") {
                Some("high") => Verdict::Breach,
                Some("moderate") => Verdict::LikelyBreach,
                _ => Verdict::CannotAssess,
            },
        },
    })
}

/// Values worth trying for a fact: every value of a yes/no or one-of fact,
/// and for counts every threshold the catalogue compares with, either side.
pub(crate) fn candidate_values(name: &str, catalogue: &Catalogue) -> Vec<FactValue> {
    match fact_kind(name) {
        Some(FactKind::YesNo) => vec![FactValue::YesNo(false), FactValue::YesNo(true)],
        Some(FactKind::OneOf(values)) => values
            .iter()
            .map(|v| FactValue::Choice((*v).to_owned()))
            .collect(),
        Some(FactKind::Count) => {
            let mut thresholds = vec![0u64, 1];
            for norm in &catalogue.norms {
                for e in [&norm.applies_expr, &norm.breach_expr]
                    .into_iter()
                    .flatten()
                {
                    collect_thresholds(e, name, &mut thresholds);
                }
            }
            thresholds.extend(INTENSITY_THRESHOLDS.iter().copied());
            let mut values: Vec<u64> = thresholds
                .iter()
                .flat_map(|&t| [t.saturating_sub(1), t, t + 1])
                .collect();
            values.sort_unstable();
            values.dedup();
            values.into_iter().map(FactValue::Count).collect()
        }
        None => Vec::new(),
    }
}

fn collect_thresholds(e: &Expr, name: &str, into: &mut Vec<u64>) {
    match e {
        Expr::Count(n, _, t) if n == name => into.push(*t),
        Expr::Not(e) => collect_thresholds(e, name, into),
        Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| collect_thresholds(e, name, into)),
        _ => {}
    }
}

fn assess_norm(norm: &Norm, facts: &Facts, catalogue: &Catalogue) -> Option<NormAssessment> {
    let verdict = verdict(norm, facts)?;
    let reads = norm.reads();
    let rests_on = reads
        .iter()
        .filter_map(|f| facts.describe(f).map(|v| format!("{f} = {v}")))
        .collect();
    let would_change = reads
        .iter()
        .filter(|f| !facts.is_known(f))
        .filter(|f| {
            candidate_values(f, catalogue).into_iter().any(|value| {
                let mut tried = facts.clone();
                // Values come from the fact's own kind: always accepted.
                let _ = tried.set(f, value);
                // Ceasing to apply changes an open question, not a settled answer.
                match self::verdict(norm, &tried) {
                    Some(other) => other != verdict,
                    None => verdict == Verdict::CannotAssess,
                }
            })
        })
        .cloned()
        .collect();
    Some(NormAssessment {
        norm: norm.id.clone(),
        title: norm.title.clone(),
        source: norm.source.clone(),
        article: norm.article.clone(),
        verdict,
        rests_on,
        would_change,
    })
}

/// Points for the worst effect that occurred.
const EFFECT_POINTS: &[(&str, u32)] = &[
    ("espionage", 1),
    ("data-theft", 2),
    ("ip-theft", 2),
    ("backdoor", 2),
    ("hack-and-leak", 3),
    ("election-interference", 3),
    ("supply-chain-compromise", 3),
    ("ransomware", 3),
    ("attack-on-cert", 3),
    ("disruption", 4),
    ("destruction", 5),
];

/// Count thresholds the intensity uses (so `would_change` tries them).
const INTENSITY_THRESHOLDS: &[u64] = &[2, 10, 50, 1_000, 100_000];

/// The intensity formula, in the spirit of EuRepoC's weighted cyber
/// intensity (effect, reach, target and physical harm, summed):
///
/// - worst effect: espionage 1; data theft, IP theft, backdoor 2;
///   hack-and-leak, election interference, supply-chain compromise,
///   ransomware, attack on a CERT 3; disruption 4; destruction 5;
/// - reach in countries: 2–9 → 1, 10–49 → 2, 50 or more → 3;
/// - reach in victims: 10–999 → 1, 1,000–99,999 → 2, 100,000 or more → 3;
/// - critical infrastructure among the victims: 2;
/// - self-propagating: 1;
/// - physical effects: 3; casualties: 3.
///
/// At most 20. Bands: 0–4 low, 5–8 moderate, 9–12 high, 13 and above
/// very high. Unknown facts score nothing and are listed.
pub fn intensity(facts: &Facts) -> Intensity {
    let mut parts = Vec::new();
    let mut unknown = Vec::new();
    let worst = EFFECT_POINTS
        .iter()
        .filter(|(e, _)| facts.truth(&format!("effect.{e}")) == Truth::True)
        .max_by_key(|(_, p)| *p);
    if let Some((effect, points)) = worst {
        parts.push(IntensityPart {
            factor: format!("worst effect: {effect}"),
            points: *points,
        });
    }
    for e in EFFECTS {
        let name = format!("effect.{e}");
        if !facts.is_known(&name) {
            unknown.push(name);
        }
    }
    let mut count_part = |name: &str, steps: &[(u64, u32)], label: &str| match facts.count(name) {
        Some(n) => {
            if let Some((_, p)) = steps.iter().rev().find(|(t, _)| n >= *t) {
                parts.push(IntensityPart {
                    factor: format!("{label}: {n}"),
                    points: *p,
                });
            }
        }
        None => unknown.push(name.to_owned()),
    };
    count_part("scale.countries", &[(2, 1), (10, 2), (50, 3)], "countries");
    count_part(
        "scale.victims",
        &[(10, 1), (1_000, 2), (100_000, 3)],
        "victims",
    );
    let mut yes_part = |name: &str, points: u32, label: &str| match facts.truth(name) {
        Truth::True => parts.push(IntensityPart {
            factor: label.to_owned(),
            points,
        }),
        Truth::False => {}
        Truth::Unknown => unknown.push(name.to_owned()),
    };
    yes_part(
        "victim.critical-infrastructure",
        2,
        "critical infrastructure",
    );
    yes_part("effect.self-propagating", 1, "self-propagating");
    yes_part("scale.physical-effects", 3, "physical effects");
    match facts.count("scale.casualties") {
        Some(n) if n > 0 => parts.push(IntensityPart {
            factor: format!("casualties: {n}"),
            points: 3,
        }),
        Some(_) => {}
        None => unknown.push("scale.casualties".to_owned()),
    }
    unknown.sort();
    unknown.dedup();
    let score: u32 = parts.iter().map(|p| p.points).sum();
    Intensity {
        score,
        max: 20,
        band: match score {
            0..=4 => "low",
            5..=8 => "moderate",
            9..=12 => "high",
            _ => "very high",
        },
        parts,
        unknown,
    }
}

/// Assesses an incident's facts against every norm of the catalogue that
/// applies to it.
pub fn assess(catalogue: &Catalogue, facts: &Facts) -> Assessment {
    Assessment {
        catalogue_version: catalogue.version.clone(),
        attributed_state: facts.attributed_state.clone(),
        norms: catalogue
            .norms
            .iter()
            .filter_map(|n| assess_norm(n, facts, catalogue))
            .collect(),
        intensity: intensity(facts),
    }
}

/// Every fact name, for listings.
pub fn fact_names() -> impl Iterator<Item = &'static str> {
    FACTS.iter().map(|(n, _, _)| *n)
}
