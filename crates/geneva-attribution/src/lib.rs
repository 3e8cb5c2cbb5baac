//! The attribution engine: given what an incident shows (ATT&CK techniques,
//! software, infrastructure shared with incidents already attributed, its
//! victims), rank the knowledge base's actors, give each a probability and
//! the probability that the perpetrator is an actor the knowledge base does
//! not describe, state them in ICD 203 terms, rate the evidence base with a
//! separate confidence level, and lay out an Analysis of Competing
//! Hypotheses matrix with a warning when strong evidence points to
//! different actors.
//!
//! This crate owns the model (rarity-weighted features, a conditional logit
//! fitted on cases drawn from the knowledge base itself), the reading of an
//! incident's evidence out of STIX objects, and the evaluation behind
//! `geneva bench attribution`. It must never do I/O, know about storage,
//! HTTP or TLP (callers hand it only evidence the viewer may see), or be
//! tuned on the cases it is evaluated on.
#![forbid(unsafe_code)]

pub mod evaluate;
mod evidence;
mod model;
mod novel;

use std::collections::{BTreeMap, BTreeSet};

use geneva_kb::{KnowledgeBase, normalise_alias};
use serde::Serialize;

pub use evidence::{EvidenceError, from_stix};
pub use model::Weights;
use model::{FEATURE_NAMES, Match, Model, Prepared, dot, features, match_of};
pub use novel::NewTradecraft;

/// What an incident shows, in the knowledge base's terms.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// The incident or campaign the evidence is about.
    pub subject: String,
    /// ATT&CK technique ids (`T1059.001`).
    pub techniques: BTreeSet<String>,
    /// ATT&CK software ids (`S0002`).
    pub software: BTreeSet<String>,
    /// Countries of the victims, as named (matched against the knowledge
    /// base's victims by name, without case or punctuation).
    pub victim_countries: BTreeSet<String>,
    /// Industry sectors of the victims (STIX `industry-sector-ov` or free text).
    pub victim_sectors: BTreeSet<String>,
    /// Shared infrastructure with incidents already attributed.
    pub infrastructure: Vec<InfrastructureLink>,
    /// What the incident named but the knowledge base does not know
    /// (reported, not used).
    pub unrecognised: Vec<String>,
}

impl Evidence {
    /// Evidence of ATT&CK ids alone: techniques (`T…`) and software (the rest).
    pub fn of_attack_ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> Evidence {
        let (techniques, software) = ids.into_iter().cloned().partition(|i| i.starts_with('T'));
        Evidence {
            techniques,
            software,
            ..Evidence::default()
        }
    }
}

/// A correlation with an incident already attributed to an actor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfrastructureLink {
    /// The actor the other incident is attributed to, as named there.
    pub actor: String,
    /// The other incident (or campaign) id.
    pub incident: String,
    /// Why they correlate (`same value ipv4-addr 203.0.113.5`).
    pub reason: String,
    /// The correlation's strength, 0–1.
    pub strength: f64,
}

/// ICD 203 likelihood terms with their probability ranges (percent).
pub const LIKELIHOOD_TERMS: [(&str, u8, u8); 7] = [
    ("almost no chance", 1, 5),
    ("very unlikely", 5, 20),
    ("unlikely", 20, 45),
    ("roughly even chance", 45, 55),
    ("likely", 55, 80),
    ("very likely", 80, 95),
    ("almost certain", 95, 99),
];

/// The ICD 203 term for a probability: each range includes its lower bound;
/// below 1% is still "almost no chance" and above 99% "almost certain",
/// because ICD 203 offers nothing beyond them.
pub fn likelihood_term(probability: f64) -> &'static str {
    let percent = probability * 100.0;
    LIKELIHOOD_TERMS
        .iter()
        .rev()
        .find(|(_, low, _)| percent >= f64::from(*low))
        .map_or(LIKELIHOOD_TERMS[0].0, |(term, _, _)| term)
}

/// Confidence in the evidence base, never in the conclusion's probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfidenceLevel {
    Low,
    Moderate,
    High,
}

impl ConfidenceLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfidenceLevel::Low => "low",
            ConfidenceLevel::Moderate => "moderate",
            ConfidenceLevel::High => "high",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confidence {
    pub level: ConfidenceLevel,
    /// Evidence items used.
    pub quantity: usize,
    /// Kinds of evidence among techniques, software, infrastructure, victims.
    pub diversity: usize,
    /// Whether strong evidence agrees on one actor.
    pub consistent: bool,
    pub reasons: Vec<String>,
}

/// How one piece of evidence moved one candidate's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub evidence: String,
    pub kind: &'static str,
    /// Change in the candidate's log-odds score.
    pub effect: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub actor: String,
    pub attack_id: Option<String>,
    pub sponsor: Option<String>,
    pub probability: f64,
    pub likelihood: &'static str,
    /// The part of `probability` that comes from the hypothesis that the
    /// evidence is tradecraft wholly new to this actor (see
    /// [`Attribution::new_tradecraft`]); zero for an actor known to use
    /// any of it.
    pub from_new_tradecraft: f64,
    pub score: f64,
    /// Evidence that raised it, strongest first.
    pub raised: Vec<Contribution>,
    /// Evidence (and its broad repertoire) that lowered it, strongest first.
    pub lowered: Vec<Contribution>,
    /// For an actor known to use none of the evidence: how the hypothesis
    /// that it is tradecraft new to it scores it, and why.
    pub if_new_tradecraft: Option<NewTradecraftScore>,
}

/// A candidate's score under the new-tradecraft hypothesis (before the
/// victimology and shared infrastructure that count under both), with
/// contributions that sum to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewTradecraftScore {
    pub score: f64,
    pub contributions: Vec<Contribution>,
}

/// An ACH cell: how one evidence item bears on one hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bearing {
    Consistent,
    Inconsistent,
    Neutral,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AchRow {
    pub evidence: String,
    pub kind: &'static str,
    /// Strong evidence: used by at most three known actors, or shared infrastructure.
    pub strong: bool,
    /// One per hypothesis, in [`AchMatrix::hypotheses`] order.
    pub bearings: Vec<Bearing>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AchMatrix {
    pub hypotheses: Vec<String>,
    pub rows: Vec<AchRow>,
    /// Inconsistent items per hypothesis: ACH favours the hypothesis with the fewest.
    pub inconsistencies: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    pub candidates: Vec<Candidate>,
    /// That the perpetrator is an actor the knowledge base does not describe.
    pub not_in_knowledge_base: f64,
    pub not_in_knowledge_base_likelihood: &'static str,
    /// The weight given to the hypothesis that the evidence is tradecraft
    /// wholly new to a known actor (who is then one of the actors known to
    /// use none of it, ranked by how close what they use is to it).
    pub new_tradecraft: f64,
    pub confidence: Confidence,
    pub ach: AchMatrix,
    /// Possible false flag: strong evidence pointing to different actors.
    pub warnings: Vec<String>,
    pub evidence: Evidence,
}

impl Attribution {
    /// The likelihood judgement, in its own sentence.
    pub fn likelihood_sentence(&self) -> String {
        match self.candidates.first() {
            Some(top) if top.probability >= self.not_in_knowledge_base => format!(
                "It is {} ({:.0}%) that {} conducted this activity.",
                top.likelihood,
                top.probability * 100.0,
                top.actor
            ),
            _ => format!(
                "It is {} ({:.0}%) that an actor the knowledge base does not describe conducted this activity.",
                self.not_in_knowledge_base_likelihood,
                self.not_in_knowledge_base * 100.0
            ),
        }
    }

    /// The attribution as JSON, with the two judgements as separate sentences.
    pub fn report(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut value {
            map.insert(
                "likelihood_statement".into(),
                self.likelihood_sentence().into(),
            );
            map.insert(
                "confidence_statement".into(),
                self.confidence_sentence().into(),
            );
        }
        value
    }

    /// The confidence judgement, in a sentence of its own: ICD 203 forbids
    /// putting a likelihood and a confidence level in one sentence.
    pub fn confidence_sentence(&self) -> String {
        format!(
            "Confidence in the evidence base is {}: {}.",
            self.confidence.level.as_str(),
            self.confidence.reasons.join("; ")
        )
    }
}

/// Fixed weights for evidence the knowledge base holds no labelled cases
/// of, so none can be fitted: set by judgement, documented, and shown in
/// every explanation.
pub mod priors {
    /// Per unit of correlation strength with an incident attributed to the
    /// actor. Shared infrastructure is the strongest signal there is: one
    /// full-strength link outweighs a piece of software only two actors
    /// are known to use (about 6 on the fitted scale for ATT&CK 15.1:
    /// Responder alone gives its two users +5.5 and +4.9, everyone else
    /// −0.7) and the repertoire-overlap term.
    pub const SHARED_INFRASTRUCTURE: f64 = 15.0;
    /// Cap on what shared infrastructure adds to one actor.
    pub const SHARED_INFRASTRUCTURE_CAP: f64 = 30.0;
    /// Per victim country the actor is known to have targeted.
    pub const VICTIM_COUNTRY: f64 = 0.5;
    /// Per victim sector the actor is known to target.
    pub const VICTIM_SECTOR: f64 = 0.3;
    /// Cap on what victimology adds to one actor.
    pub const VICTIMOLOGY_CAP: f64 = 2.0;
}

/// A knowledge base compiled for attribution, with its fitted weights.
#[derive(Debug, Clone)]
pub struct Attributor {
    kb: KnowledgeBase,
    model: Model,
    /// Actors by normalised alias, for infrastructure links naming them.
    aliases: BTreeMap<String, usize>,
}

/// How many candidates an attribution lists, and how many the ACH matrix weighs.
const LISTED: usize = 10;
const HYPOTHESES: usize = 5;
/// An item used by at most this many known actors is strong evidence.
const STRONG_USERS: u32 = 3;

impl Attributor {
    /// Compiles the knowledge base and fits the model's weights on it, on
    /// every core.
    pub fn new(kb: KnowledgeBase) -> Attributor {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Attributor::with_threads(kb, threads)
    }

    /// As [`Attributor::new`], fitting on up to `threads` threads; the model
    /// is the same for any number.
    pub fn with_threads(kb: KnowledgeBase, threads: usize) -> Attributor {
        let model = Model::fit(&kb, threads);
        let mut aliases = BTreeMap::new();
        for (at, actor) in kb.actors.iter().enumerate() {
            for name in actor.aliases.iter().chain([&actor.name]) {
                aliases.entry(normalise_alias(name)).or_insert(at);
            }
            if let Some(id) = &actor.attack_id {
                aliases.entry(id.clone()).or_insert(at);
            }
        }
        Attributor { kb, model, aliases }
    }

    pub fn knowledge_base(&self) -> &KnowledgeBase {
        &self.kb
    }

    pub fn weights(&self) -> Weights {
        self.model.weights
    }

    /// The fitted parameters of the new-tradecraft hypothesis.
    pub fn new_tradecraft(&self) -> NewTradecraft {
        self.model.new_tradecraft
    }

    /// What each of the new-tradecraft ranking's weights weighs.
    pub fn new_tradecraft_ranking_names() -> [&'static str; novel::RANKING_FEATURES] {
        novel::RANKING_FEATURE_NAMES
    }

    /// What each of the new-tradecraft gate's weights weighs.
    pub fn gate_feature_names() -> [&'static str; novel::GATE_FEATURES] {
        novel::GATE_FEATURE_NAMES
    }

    /// What each weight means, in [`Weights::features`] order.
    pub fn feature_names() -> [&'static str; model::FEATURES] {
        FEATURE_NAMES
    }

    fn actor_of(&self, name: &str) -> Option<usize> {
        self.aliases
            .get(name)
            .or_else(|| self.aliases.get(&normalise_alias(name)))
            .copied()
    }

    /// Probabilities for every profiled actor (in `model.profiled` order)
    /// and for "not in the knowledge base", from the techniques and
    /// software alone: what the evaluation measures.
    pub(crate) fn probabilities(&self, prepared: &Prepared) -> (Vec<f64>, f64) {
        let w = &self.model.weights;
        let rows = self.feature_rows(prepared);
        let scores: Vec<f64> = rows.iter().map(|f| dot(&w.features, f)).collect();
        let (mut probabilities, mut none) = softmax(&scores, w.not_in_knowledge_base);
        let affinity = self.affinities(prepared, &rows);
        self.model.new_tradecraft.mix(
            &mut probabilities,
            &mut none,
            &affinity,
            &vec![0.0; affinity.of.len()],
        );
        (probabilities, none)
    }

    /// Every profiled actor's affinity with the evidence (`None`: it is
    /// known to use some of it), in `model.profiled` order.
    fn affinities(
        &self,
        prepared: &Prepared,
        rows: &[[f64; model::FEATURES]],
    ) -> novel::Affinities {
        let profiles: Vec<&model::Profile> = self.model.profiled.iter().map(|(_, p)| p).collect();
        let mut affinity = novel::affinities(&self.model, prepared, &profiles, None);
        let sizes: Vec<usize> = profiles.iter().map(|p| p.items.len()).collect();
        affinity.rank_with(rows, &sizes);
        affinity
    }

    /// Every profiled actor's features against the evidence, in
    /// `model.profiled` order.
    fn feature_rows(&self, prepared: &Prepared) -> Vec<[f64; model::FEATURES]> {
        self.model
            .profiled
            .iter()
            .map(|(_, p)| features(prepared, p, None, None))
            .collect()
    }

    pub(crate) fn prepare(&self, evidence: &Evidence) -> Prepared {
        self.model.prepare(
            evidence
                .techniques
                .iter()
                .chain(&evidence.software)
                .map(String::as_str),
        )
    }

    pub(crate) fn profiled_actor(&self, k: usize) -> usize {
        self.model.profiled[k].0
    }

    /// Ranks the knowledge base's actors for this evidence.
    pub fn attribute(&self, evidence: &Evidence) -> Attribution {
        let prepared = self.prepare(evidence);
        let w = self.model.weights;
        // Candidates: every actor with a known repertoire, and any other
        // actor shared infrastructure names.
        let mut rows: Vec<(usize, Option<usize>)> = self
            .model
            .profiled
            .iter()
            .enumerate()
            .map(|(k, (at, _))| (*at, Some(k)))
            .collect();
        let mut infrastructure: BTreeMap<usize, Vec<&InfrastructureLink>> = BTreeMap::new();
        for link in &evidence.infrastructure {
            if let Some(at) = self.actor_of(&link.actor) {
                infrastructure.entry(at).or_default().push(link);
            }
        }
        for &at in infrastructure.keys() {
            if !rows.iter().any(|(a, _)| *a == at) {
                rows.push((at, None));
            }
        }
        let victims = Victimology::new(evidence);
        // Scores first, for every candidate; explanations only for those listed.
        let known_rows = self.feature_rows(&prepared);
        let context: Vec<f64> = rows
            .iter()
            .map(|&(at, _)| self.context(at, &victims, &infrastructure, false).0)
            .collect();
        let scores: Vec<f64> = rows
            .iter()
            .zip(&context)
            .map(|(&(_, profiled), context)| {
                profiled.map_or(0.0, |k| dot(&w.features, &known_rows[k])) + context
            })
            .collect();
        let (mut probabilities, mut none) = softmax(&scores, w.not_in_knowledge_base);
        // The new-tradecraft hypothesis: its candidates are the profiled
        // actors known to use none of the evidence; victimology and shared
        // infrastructure move candidates within it as within the ranking.
        let known_affinity = self.affinities(&prepared, &known_rows);
        let affinity = novel::Affinities {
            of: rows
                .iter()
                .map(|(_, profiled)| profiled.and_then(|k| known_affinity.of[k]))
                .collect(),
            inputs: rows
                .iter()
                .map(|(_, profiled)| profiled.and_then(|k| known_affinity.inputs[k]))
                .collect(),
            ..known_affinity
        };
        let before = probabilities.clone();
        let new_tradecraft =
            self.model
                .new_tradecraft
                .mix(&mut probabilities, &mut none, &affinity, &context);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| {
            probabilities[b]
                .total_cmp(&probabilities[a])
                .then(a.cmp(&b))
        });
        let candidates: Vec<Candidate> = order
            .iter()
            .take(LISTED)
            .map(|&i| {
                let (at, profiled) = rows[i];
                let (score, contributions) =
                    self.score(at, profiled, &prepared, &victims, &infrastructure, true);
                let if_new_tradecraft = match (profiled, affinity.inputs[i]) {
                    (Some(k), Some(x)) => Some(self.new_tradecraft_reasons(&prepared, k, &x)),
                    _ => None,
                };
                let actor = &self.kb.actors[at];
                let (mut raised, mut lowered): (Vec<_>, Vec<_>) =
                    contributions.iter().cloned().partition(|c| c.effect > 0.0);
                raised.sort_by(|a, b| b.effect.total_cmp(&a.effect));
                lowered.retain(|c| c.effect < 0.0);
                lowered.sort_by(|a, b| a.effect.total_cmp(&b.effect));
                Candidate {
                    actor: actor.name.clone(),
                    attack_id: actor.attack_id.clone(),
                    sponsor: actor.sponsor.clone(),
                    probability: probabilities[i],
                    likelihood: likelihood_term(probabilities[i]),
                    from_new_tradecraft: (probabilities[i] - (1.0 - new_tradecraft) * before[i])
                        .max(0.0),
                    score,
                    raised,
                    lowered,
                    if_new_tradecraft,
                }
            })
            .collect();
        let top: Vec<(usize, Option<usize>)> =
            order.iter().take(HYPOTHESES).map(|&i| rows[i]).collect();
        let ach = self.ach(&prepared, evidence, &top, &infrastructure);
        let warnings = false_flags(&ach);
        let confidence = confidence(evidence, &prepared, &warnings);
        Attribution {
            candidates,
            not_in_knowledge_base: none,
            not_in_knowledge_base_likelihood: likelihood_term(none),
            new_tradecraft,
            confidence,
            ach,
            warnings,
            evidence: evidence.clone(),
        }
    }

    /// One candidate's score and, with `explain`, every contribution to it.
    fn score(
        &self,
        at: usize,
        profiled: Option<usize>,
        prepared: &Prepared,
        victims: &Victimology,
        infrastructure: &BTreeMap<usize, Vec<&InfrastructureLink>>,
        explain: bool,
    ) -> (f64, Vec<Contribution>) {
        let w = self.model.weights;
        let mut score = 0.0;
        let mut contributions = Vec::new();
        if let Some(k) = profiled {
            let profile = &self.model.profiled[k].1;
            let mut each = Vec::new();
            let f = features(
                prepared,
                profile,
                Some(&w.features),
                explain.then_some(&mut each),
            );
            score += dot(&w.features, &f);
            if explain {
                let known = each.iter().filter(|(_, m, _)| *m == Match::Known).count();
                contributions.push(Contribution {
                    evidence: format!(
                        "{} known techniques and software",
                        profile.items.len()
                    ),
                    kind: "repertoire",
                    effect: w.features[4] * f[4],
                    reason: format!(
                        "it shares {known} of the {} observed items (Jaccard similarity {:.2}); the broader a repertoire, the less sharing any one item says",
                        prepared.observed.len(),
                        f[4]
                    ),
                });
                if let Some((k, cosine)) = model::closest_report(prepared, profile) {
                    contributions.push(Contribution {
                        evidence: profile.reports[k].name.clone(),
                        kind: "report",
                        effect: w.features[9] * f[9],
                        reason: format!(
                            "the evidence is most like what this report on it tells of (cosine {cosine:.2} of rarity-weighted items)"
                        ),
                    });
                }
                for (n, m, effect) in each {
                    let o = &prepared.observed[n];
                    contributions.push(Contribution {
                        evidence: self.label(&o.label),
                        kind: if o.software { "software" } else { "technique" },
                        effect,
                        reason: self.reason(m, o, profile),
                    });
                }
            }
        }
        let (context, reasons) = self.context(at, victims, infrastructure, explain);
        score += context;
        contributions.extend(reasons);
        (score, contributions)
    }

    /// What victimology and shared infrastructure add to one candidate's
    /// score, under either hypothesis; with `explain`, how.
    fn context(
        &self,
        at: usize,
        victims: &Victimology,
        infrastructure: &BTreeMap<usize, Vec<&InfrastructureLink>>,
        explain: bool,
    ) -> (f64, Vec<Contribution>) {
        let mut score = 0.0;
        let mut contributions = Vec::new();
        let actor = &self.kb.actors[at];
        let (victim_effect, victim_reasons) = victims.effect(actor);
        score += victim_effect;
        if explain {
            contributions.extend(victim_reasons);
        }
        if let Some(links) = infrastructure.get(&at) {
            let total: f64 = links
                .iter()
                .map(|l| priors::SHARED_INFRASTRUCTURE * l.strength.clamp(0.0, 1.0))
                .sum::<f64>()
                .min(priors::SHARED_INFRASTRUCTURE_CAP);
            score += total;
            let each = total / links.len() as f64;
            for link in links.iter().filter(|_| explain) {
                contributions.push(Contribution {
                    evidence: format!("{} ({})", link.incident, link.reason),
                    kind: "infrastructure",
                    effect: each,
                    reason: format!("shared with an incident attributed to {}", link.actor),
                });
            }
        }
        (score, contributions)
    }

    /// Why the new-tradecraft hypothesis ranks a profiled actor where it
    /// does: for each evidence item, the closest item it is known to use;
    /// then the rest of its score.
    fn new_tradecraft_reasons(
        &self,
        prepared: &Prepared,
        k: usize,
        inputs: &[f64; novel::RANKING_FEATURES],
    ) -> NewTradecraftScore {
        let ranking = &self.model.new_tradecraft.ranking;
        let profile = &self.model.profiled[k].1;
        let per_item = ranking[0] / prepared.observed.len().max(1) as f64;
        let mut contributions: Vec<Contribution> =
            novel::closest_items(&self.model, prepared, profile)
                .into_iter()
                .map(|(n, closest)| {
                    let o = &prepared.observed[n];
                    let (effect, reason) = match closest {
                        Some((u, cosine)) => (
                            per_item * cosine,
                            format!(
                                "new to it; the actors who use it also use {}, which it is known to use (cosine {cosine:.2} of their users)",
                                self.label(&self.model.names[u as usize])
                            ),
                        ),
                        None => (
                            0.0,
                            "new to it; no actor known to use it uses anything it is known to use"
                                .to_owned(),
                        ),
                    };
                    Contribution {
                        evidence: self.label(&o.label),
                        kind: "new tradecraft",
                        effect,
                        reason,
                    }
                })
                .collect();
        let score: f64 = ranking.iter().zip(inputs).map(|(w, x)| w * x).sum();
        let rest = score - ranking[0] * inputs[0];
        const NAMES: [&str; novel::RANKING_FEATURES - 1] = [
            "variants it uses",
            "what its software performs",
            "its peers' use (log-lift)",
            "its software's techniques (log-lift)",
            "ln of its repertoire's size",
        ];
        let parts: Vec<String> = NAMES
            .iter()
            .zip(&inputs[1..])
            .zip(&ranking[1..])
            .map(|((name, x), w)| format!("{name} {x:.2} × {w:.2}"))
            .collect();
        contributions.push(Contribution {
            evidence: format!("{} known techniques and software", profile.items.len()),
            kind: "repertoire",
            effect: rest,
            reason: format!(
                "the rest of its score under this hypothesis: {}",
                parts.join("; ")
            ),
        });
        contributions.sort_by(|a, b| b.effect.abs().total_cmp(&a.effect.abs()));
        NewTradecraftScore {
            score,
            contributions,
        }
    }

    fn label(&self, id: &str) -> String {
        match self.kb.names.get(id) {
            Some(name) => format!("{id} {name}"),
            None => id.to_owned(),
        }
    }

    fn reason(&self, m: Match, o: &model::Observed, profile: &model::Profile) -> String {
        let users = o.item.map_or(0, |i| self.model.users[i as usize]);
        let mut reason = match m {
            Match::Known => return format!("known to use it; {users} known actors do"),
            Match::Variant => "known to use another variant of this technique".to_owned(),
            Match::ViaSoftware => "software it is known to use performs it".to_owned(),
            Match::None => format!("not known to use it; {users} known actors do"),
        };
        reason.push_str(&format!(
            "; {:.0}% of the actors most like it use it, against {:.0}% of all",
            100.0 * model::peer_share(o, profile),
            100.0 * o.base_rate
        ));
        if !o.performs.is_empty() {
            reason.push_str(&format!(
                "; it is known to use {:.0}% of what this software does (rarity-weighted), against {:.0}% for the average actor",
                100.0 * model::performed_share(o, profile),
                100.0 * o.performs_base
            ));
        }
        reason
    }

    fn ach(
        &self,
        prepared: &Prepared,
        evidence: &Evidence,
        top: &[(usize, Option<usize>)],
        infrastructure: &BTreeMap<usize, Vec<&InfrastructureLink>>,
    ) -> AchMatrix {
        let hypotheses = top
            .iter()
            .map(|(at, _)| self.kb.actors[*at].name.clone())
            .collect();
        let distinctive = (self.model.profiled.len() as f64 * 0.1).max(1.0);
        let mut rows = Vec::new();
        for o in &prepared.observed {
            let users = o.item.map_or(0, |i| self.model.users[i as usize]);
            let strong = o.item.is_some() && users <= STRONG_USERS;
            let bearings = top
                .iter()
                .map(|(_, profiled)| match profiled {
                    Some(k) => match match_of(o, &self.model.profiled[*k].1) {
                        Match::Known | Match::Variant | Match::ViaSoftware => Bearing::Consistent,
                        Match::None if f64::from(users) <= distinctive => Bearing::Inconsistent,
                        Match::None => Bearing::Neutral,
                    },
                    None => Bearing::Neutral,
                })
                .collect();
            rows.push(AchRow {
                evidence: self.label(&o.label),
                kind: if o.software { "software" } else { "technique" },
                strong,
                bearings,
            });
        }
        for link in &evidence.infrastructure {
            let named = self.actor_of(&link.actor);
            let bearings = top
                .iter()
                .map(|(at, _)| match named {
                    Some(n) if n == *at => Bearing::Consistent,
                    Some(_) => Bearing::Inconsistent,
                    None => Bearing::Neutral,
                })
                .collect();
            rows.push(AchRow {
                evidence: format!("{} ({})", link.incident, link.reason),
                kind: "infrastructure",
                strong: named.is_some_and(|n| infrastructure.contains_key(&n)),
                bearings,
            });
        }
        let inconsistencies = (0..top.len())
            .map(|h| {
                rows.iter()
                    .filter(|r| r.bearings[h] == Bearing::Inconsistent)
                    .count()
            })
            .collect();
        AchMatrix {
            hypotheses,
            rows,
            inconsistencies,
        }
    }
}

/// A warning when the strong evidence splits: some strong items fit only
/// one hypothesis and others only another.
fn false_flags(ach: &AchMatrix) -> Vec<String> {
    let strong: Vec<&AchRow> = ach.rows.iter().filter(|r| r.strong).collect();
    let mut warnings = Vec::new();
    for a in 0..ach.hypotheses.len() {
        for b in a + 1..ach.hypotheses.len() {
            let only = |h: usize, other: usize| -> Vec<&str> {
                strong
                    .iter()
                    .filter(|r| {
                        r.bearings[h] == Bearing::Consistent
                            && r.bearings[other] != Bearing::Consistent
                    })
                    .map(|r| r.evidence.as_str())
                    .collect()
            };
            let (for_a, for_b) = (only(a, b), only(b, a));
            if !for_a.is_empty() && !for_b.is_empty() {
                warnings.push(format!(
                    "possible false flag: strong evidence points to different actors: {} ({}) and {} ({})",
                    ach.hypotheses[a],
                    for_a.join(", "),
                    ach.hypotheses[b],
                    for_b.join(", ")
                ));
            }
        }
    }
    warnings
}

/// Quantity, diversity and consistency of the evidence, as the ODNI guide
/// to cyber attribution rates an evidence base.
fn confidence(evidence: &Evidence, prepared: &Prepared, warnings: &[String]) -> Confidence {
    let known = prepared
        .observed
        .iter()
        .filter(|o| o.item.is_some())
        .count();
    let quantity = known
        + evidence.infrastructure.len()
        + evidence.victim_countries.len()
        + evidence.victim_sectors.len();
    let kinds = [
        !evidence.techniques.is_empty(),
        !evidence.software.is_empty(),
        !evidence.infrastructure.is_empty(),
        !(evidence.victim_countries.is_empty() && evidence.victim_sectors.is_empty()),
    ];
    let diversity = kinds.iter().filter(|k| **k).count();
    let consistent = warnings.is_empty();
    let mut reasons = vec![
        format!(
            "{quantity} evidence {} the knowledge base recognises",
            if quantity == 1 { "item" } else { "items" }
        ),
        format!("{diversity} of 4 kinds (techniques, software, infrastructure, victims)"),
    ];
    if !consistent {
        reasons.push("strong evidence points to different actors".into());
    }
    if !evidence.unrecognised.is_empty() {
        let n = evidence.unrecognised.len();
        reasons.push(format!(
            "{n} {} not in the knowledge base",
            if n == 1 { "item" } else { "items" }
        ));
    }
    let level = if !consistent || quantity < 5 {
        ConfidenceLevel::Low
    } else if quantity >= 15 && diversity >= 3 {
        ConfidenceLevel::High
    } else if quantity >= 8 && diversity >= 2 {
        ConfidenceLevel::Moderate
    } else {
        ConfidenceLevel::Low
    };
    Confidence {
        level,
        quantity,
        diversity,
        consistent,
        reasons,
    }
}

struct Victimology {
    countries: BTreeSet<String>,
    sectors: BTreeSet<String>,
}

impl Victimology {
    fn new(evidence: &Evidence) -> Victimology {
        Victimology {
            countries: evidence
                .victim_countries
                .iter()
                .map(|c| normalise_alias(c))
                .collect(),
            sectors: evidence
                .victim_sectors
                .iter()
                .map(|s| normalise_alias(s))
                .collect(),
        }
    }

    fn effect(&self, actor: &geneva_kb::Actor) -> (f64, Vec<Contribution>) {
        let mut contributions = Vec::new();
        for victim in &actor.victims {
            if self.countries.contains(&normalise_alias(victim)) {
                contributions.push(Contribution {
                    evidence: victim.clone(),
                    kind: "victim country",
                    effect: priors::VICTIM_COUNTRY,
                    reason: "a country it is known to have targeted".into(),
                });
            }
        }
        for category in &actor.target_categories {
            let c = normalise_alias(category);
            if self
                .sectors
                .iter()
                .any(|s| !s.is_empty() && (c.contains(s.as_str()) || s.contains(c.as_str())))
            {
                contributions.push(Contribution {
                    evidence: category.clone(),
                    kind: "victim sector",
                    effect: priors::VICTIM_SECTOR,
                    reason: "a sector it is known to target".into(),
                });
            }
        }
        let total: f64 = contributions.iter().map(|c| c.effect).sum();
        let capped = total.min(priors::VICTIMOLOGY_CAP);
        if total > 0.0 && capped < total {
            for c in &mut contributions {
                c.effect *= capped / total;
            }
        }
        (capped, contributions)
    }
}

/// Softmax over the candidates' scores and the "not in the knowledge base" score.
pub(crate) fn softmax(scores: &[f64], none: f64) -> (Vec<f64>, f64) {
    let top = scores.iter().copied().fold(none, f64::max);
    let mut exp: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
    let none_exp = (none - top).exp();
    let total: f64 = exp.iter().sum::<f64>() + none_exp;
    for p in &mut exp {
        *p /= total;
    }
    (exp, none_exp / total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_reasons_count_in_words_that_agree() {
        let one = Evidence {
            victim_countries: ["Ukraine".to_owned()].into(),
            unrecognised: vec!["T9999".to_owned()],
            ..Evidence::default()
        };
        let reasons = confidence(&one, &Prepared::default(), &[]).reasons;
        assert_eq!(reasons[0], "1 evidence item the knowledge base recognises");
        assert_eq!(reasons[2], "1 item not in the knowledge base");
        let two = Evidence {
            victim_sectors: ["energy".to_owned(), "government".to_owned()].into(),
            unrecognised: vec!["T9998".to_owned(), "T9999".to_owned()],
            ..Evidence::default()
        };
        let reasons = confidence(&two, &Prepared::default(), &[]).reasons;
        assert_eq!(reasons[0], "2 evidence items the knowledge base recognises");
        assert_eq!(reasons[2], "2 items not in the knowledge base");
    }

    #[test]
    fn likelihood_terms_follow_icd_203() {
        for (p, term) in [
            (0.0, "almost no chance"),
            (0.049, "almost no chance"),
            (0.05, "very unlikely"),
            (0.19, "very unlikely"),
            (0.2, "unlikely"),
            (0.45, "roughly even chance"),
            (0.549, "roughly even chance"),
            (0.55, "likely"),
            (0.8, "very likely"),
            (0.95, "almost certain"),
            (1.0, "almost certain"),
        ] {
            assert_eq!(likelihood_term(p), term, "{p}");
        }
    }

    #[test]
    fn softmax_sums_to_one() {
        let (p, none) = softmax(&[1.0, 2.0, 800.0], -3.0);
        assert!((p.iter().sum::<f64>() + none - 1.0).abs() < 1e-12);
        assert!(p[2] > 0.999);
    }
}
