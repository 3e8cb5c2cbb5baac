//! The evaluation behind `geneva bench attribution`: leave-one-out over the
//! knowledge base's attributed campaigns and over the reports it cites for
//! groups' uses, and hidden subsets of groups' repertoires, for the engine
//! and two baselines (Jaccard over techniques, TF-IDF cosine), with top-1,
//! top-5, mean reciprocal rank, Brier score and a reliability table.
//!
//! Every case is scored by an engine fitted on the knowledge base *without*
//! that case: the campaign and its `attributed-to` link are removed (and so
//! is what its group is known to use only through it), or the report (and
//! what only it tells of), or the hidden items are removed from the group
//! and its campaigns, before the weights are fitted.

use std::collections::{BTreeSet, HashMap};

use geneva_kb::KnowledgeBase;
use serde::Serialize;

use crate::model::SplitMix;
use crate::{Attributor, Evidence};

/// One evaluation case.
#[derive(Debug, Clone)]
pub struct Case {
    pub label: String,
    /// The knowledge base the case is scored against (the case taken out).
    pub kb: KnowledgeBase,
    /// Technique and software ATT&CK ids observed.
    pub observed: BTreeSet<String>,
    /// Index of the right actor in `kb.actors`.
    pub truth: usize,
}

/// Leave-one-out cases: one per campaign attributed to a group.
pub fn campaign_cases(kb: &KnowledgeBase) -> Vec<Case> {
    let mut cases = Vec::new();
    for (n, campaign) in kb.campaigns.iter().enumerate() {
        let Some(truth) = campaign.attributed_to else {
            continue;
        };
        let mut reduced = kb.clone();
        reduced.campaigns.remove(n);
        cases.push(Case {
            label: format!(
                "{} {} → {}",
                campaign.attack_id, campaign.name, kb.actors[truth].name
            ),
            kb: reduced,
            observed: campaign
                .techniques
                .union(&campaign.software)
                .cloned()
                .collect(),
            truth,
        });
    }
    cases
}

/// The fewest uses a report must be cited for to be a case by default:
/// fewer tell too little of an incident.
pub const REPORT_MIN_USES: usize = 3;

/// Leave-one-report-out cases: for each group and each report ATT&CK cites
/// for at least `min_uses` of its uses, the report is taken out of the
/// knowledge base (with what the group is known to use only through it:
/// neither another report nor one of its campaigns tells of it), and the
/// group is attributed from what the report told of. Reports are how
/// incidents are really seen, and there are hundreds of them, against a
/// dozen attributed campaigns.
pub fn report_cases(kb: &KnowledgeBase, min_uses: usize) -> Vec<Case> {
    let mut cases = Vec::new();
    for (at, actor) in kb.actors.iter().enumerate() {
        for (name, told) in &actor.reports {
            if name.is_empty() || told.len() < min_uses {
                continue;
            }
            let mut reduced = kb.clone();
            let group = &mut reduced.actors[at];
            group.reports.remove(name);
            let still: BTreeSet<&String> = group.reports.values().flatten().collect();
            let (techniques, software) = (
                group
                    .techniques
                    .iter()
                    .filter(|i| still.contains(i))
                    .cloned()
                    .collect(),
                group
                    .software
                    .iter()
                    .filter(|i| still.contains(i))
                    .cloned()
                    .collect(),
            );
            group.techniques = techniques;
            group.software = software;
            cases.push(Case {
                label: format!("{} · {name}", actor.name),
                kb: reduced,
                observed: told.clone(),
                truth: at,
            });
        }
    }
    cases
}

/// What a hidden-subset case does with the hidden uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hiding {
    /// Removed from the knowledge base (from the group and its campaigns):
    /// the evidence is, by construction, nothing the knowledge base
    /// attributes to the group.
    FromKnowledgeBase,
    /// Kept in the knowledge base: a partial observation of a known
    /// repertoire (recognition, not generalisation).
    FromTheObserverOnly,
}

/// Hidden-subset cases: for each seed and each group with at least four
/// known uses, a random `fraction` of its uses (at least one) is the evidence.
pub fn hidden_cases(kb: &KnowledgeBase, seeds: &[u64], fraction: f64, hiding: Hiding) -> Vec<Case> {
    let mut cases = Vec::new();
    for &seed in seeds {
        let mut rng = SplitMix(seed);
        for (at, actor) in kb.actors.iter().enumerate() {
            let uses: Vec<&String> = actor.techniques.iter().chain(&actor.software).collect();
            if uses.len() < 4 {
                continue;
            }
            let k = ((uses.len() as f64 * fraction).round() as usize).max(1);
            let hidden: BTreeSet<String> = rng.sample(&uses, k).into_iter().cloned().collect();
            let mut reduced = kb.clone();
            if hiding == Hiding::FromTheObserverOnly {
                cases.push(Case {
                    label: format!("{} seed {seed} (observed)", actor.name),
                    kb: reduced,
                    observed: hidden,
                    truth: at,
                });
                continue;
            }
            let group = &mut reduced.actors[at];
            group.techniques.retain(|t| !hidden.contains(t));
            group.software.retain(|s| !hidden.contains(s));
            for items in group.reports.values_mut() {
                items.retain(|i| !hidden.contains(i));
            }
            group.reports.retain(|_, items| !items.is_empty());
            for campaign in &mut reduced.campaigns {
                if campaign.attributed_to == Some(at) {
                    campaign.techniques.retain(|t| !hidden.contains(t));
                    campaign.software.retain(|s| !hidden.contains(s));
                }
            }
            cases.push(Case {
                label: format!("{} seed {seed}", actor.name),
                kb: reduced,
                observed: hidden,
                truth: at,
            });
        }
    }
    cases
}

/// The methods compared.
pub const METHODS: [&str; 3] = ["geneva", "jaccard-techniques", "tfidf-cosine"];

/// Whether each method can answer "not in the knowledge base" (the
/// baselines rank actors only, so it is never a candidate above theirs).
const ANSWERS_NONE: [bool; 3] = [true, false, false];

/// Each method's probabilities for one case: over the actors with a
/// repertoire (by index into `kb.actors`) and "not in the knowledge base".
#[derive(Debug, Clone)]
pub struct Scored {
    pub actors: Vec<usize>,
    pub probabilities: [Vec<f64>; 3],
    pub none: [f64; 3],
}

/// Scores one case with the engine (fitted on the case's own knowledge
/// base) and the two baselines.
pub fn score(case: &Case) -> Scored {
    let attributor = Attributor::with_threads(case.kb.clone(), 1);
    let evidence = Evidence::of_attack_ids(&case.observed);
    let prepared = attributor.prepare(&evidence);
    let (geneva, none) = attributor.probabilities(&prepared);
    let actors: Vec<usize> = (0..geneva.len())
        .map(|k| attributor.profiled_actor(k))
        .collect();
    let repertoires: Vec<BTreeSet<String>> =
        actors.iter().map(|&a| case.kb.repertoire(a)).collect();
    let jaccard = normalise(
        repertoires
            .iter()
            .map(|r| jaccard_techniques(&case.observed, r))
            .collect(),
    );
    let tfidf = normalise(tfidf_cosine(&case.observed, &repertoires));
    Scored {
        actors,
        probabilities: [geneva, jaccard, tfidf],
        none: [none, 0.0, 0.0],
    }
}

fn jaccard_techniques(observed: &BTreeSet<String>, repertoire: &BTreeSet<String>) -> f64 {
    let techniques = |s: &BTreeSet<String>| -> BTreeSet<String> {
        s.iter().filter(|i| i.starts_with('T')).cloned().collect()
    };
    let (a, b) = (techniques(observed), techniques(repertoire));
    let union = a.union(&b).count();
    if union == 0 {
        0.0
    } else {
        a.intersection(&b).count() as f64 / union as f64
    }
}

/// Cosine of binary TF-IDF vectors, with scikit-learn's smoothed idf
/// `ln((1 + n) / (1 + df)) + 1`.
fn tfidf_cosine(observed: &BTreeSet<String>, repertoires: &[BTreeSet<String>]) -> Vec<f64> {
    let n = repertoires.len() as f64;
    let mut df: HashMap<&str, f64> = HashMap::new();
    for r in repertoires {
        for item in r {
            *df.entry(item).or_default() += 1.0;
        }
    }
    let idf = |item: &str| ((1.0 + n) / (1.0 + df.get(item).copied().unwrap_or(0.0))).ln() + 1.0;
    let norm = |s: &BTreeSet<String>| s.iter().map(|i| idf(i).powi(2)).sum::<f64>().sqrt();
    let observed_norm = norm(observed);
    repertoires
        .iter()
        .map(|r| {
            let dot: f64 = observed.intersection(r).map(|i| idf(i).powi(2)).sum();
            let d = observed_norm * norm(r);
            if d > 0.0 { dot / d } else { 0.0 }
        })
        .collect()
}

/// Similarities as probabilities: each candidate's share of the total (a
/// baseline has no notion of "not in the knowledge base").
fn normalise(scores: Vec<f64>) -> Vec<f64> {
    let total: f64 = scores.iter().sum();
    if total > 0.0 {
        scores.into_iter().map(|s| s / total).collect()
    } else {
        let n = scores.len().max(1) as f64;
        scores.into_iter().map(|_| 1.0 / n).collect()
    }
}

/// A row of the reliability table: top-1 predictions whose probability fell
/// in `[lower, upper)`, and how often they were right.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    pub lower: f64,
    pub upper: f64,
    pub predictions: usize,
    pub mean_probability: f64,
    pub accuracy: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub method: &'static str,
    pub cases: usize,
    pub top1: f64,
    pub top5: f64,
    /// Top-1 and top-5 among the actors alone, as if "not in the knowledge
    /// base" were not an answer (the baselines never give it).
    pub top1_actors: f64,
    pub top5_actors: f64,
    pub mean_reciprocal_rank: f64,
    /// Multi-class Brier score over every candidate and "not in the
    /// knowledge base" (0 is perfect, 2 is worst).
    pub brier: f64,
    /// Expected calibration error of the top-1 probability.
    pub calibration_error: f64,
    pub reliability: Vec<Bin>,
    /// The right actor's rank in each case (1 is first; a tie counts as
    /// the middle of the places it spans).
    pub ranks: Vec<f64>,
}

/// Metrics of each method over scored cases.
pub fn metrics(cases: &[Case], scored: &[Scored]) -> Vec<Metrics> {
    (0..METHODS.len())
        .map(|m| {
            let mut ranks = Vec::new();
            let mut actor_ranks = Vec::new();
            let mut brier = 0.0;
            let mut top: Vec<(f64, f64)> = Vec::new();
            for (case, s) in cases.iter().zip(scored) {
                let p = &s.probabilities[m];
                let none = s.none[m];
                let truth = s.actors.iter().position(|&a| a == case.truth);
                let truth_p = truth.map_or(none, |t| p[t]);
                let among_actors = Placing::of(p, truth, truth_p);
                let placing = match truth {
                    Some(_) if ANSWERS_NONE[m] => among_actors.and(none, truth_p),
                    _ => among_actors,
                };
                ranks.push(placing);
                actor_ranks.push(among_actors);
                brier += p
                    .iter()
                    .enumerate()
                    .map(|(k, x)| (x - f64::from(u8::from(Some(k) == truth))).powi(2))
                    .sum::<f64>()
                    + (none - f64::from(u8::from(truth.is_none()))).powi(2);
                let best = p.iter().copied().fold(none, f64::max);
                top.push((best, placing.within(1)));
            }
            let n = ranks.len().max(1) as f64;
            let reliability = reliability(&top);
            let calibration_error = reliability
                .iter()
                .map(|b| b.predictions as f64 / n * (b.mean_probability - b.accuracy).abs())
                .sum();
            let mean = |f: &dyn Fn(&Placing) -> f64, of: &[Placing]| -> f64 {
                of.iter().map(f).sum::<f64>() / n
            };
            Metrics {
                method: METHODS[m],
                cases: ranks.len(),
                top1: mean(&|r| r.within(1), &ranks),
                top5: mean(&|r| r.within(5), &ranks),
                top1_actors: mean(&|r| r.within(1), &actor_ranks),
                top5_actors: mean(&|r| r.within(5), &actor_ranks),
                mean_reciprocal_rank: mean(&Placing::reciprocal, &ranks),
                brier: brier / n,
                calibration_error,
                reliability,
                ranks: ranks.iter().map(Placing::mean_rank).collect(),
            }
        })
        .collect()
}

/// Where the right answer falls in a ranking: how many candidates score
/// above it, and how many tie with it. Ties are broken at random, so every
/// figure is its expectation over the tied places: a method that gives
/// every candidate the same score ranks the right one, on average, in the
/// middle, not first.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Placing {
    above: usize,
    tied: usize,
}

impl Placing {
    /// The right answer (`truth`, scoring `truth_p`) among `scores`.
    fn of(scores: &[f64], truth: Option<usize>, truth_p: f64) -> Placing {
        let mut placing = Placing { above: 0, tied: 0 };
        for (k, &x) in scores.iter().enumerate() {
            if x > truth_p {
                placing.above += 1;
            } else if x == truth_p && Some(k) != truth {
                placing.tied += 1;
            }
        }
        placing
    }

    /// The same with one more candidate scoring `other`.
    fn and(self, other: f64, truth_p: f64) -> Placing {
        Placing {
            above: self.above + usize::from(other > truth_p),
            tied: self.tied + usize::from(other == truth_p),
        }
    }

    /// The places it may take, from first to last, equally likely.
    fn places(self) -> std::ops::RangeInclusive<usize> {
        self.above + 1..=self.above + self.tied + 1
    }

    /// The chance it is among the first `k`.
    fn within(&self, k: usize) -> f64 {
        let inside = self.places().filter(|&r| r <= k).count();
        inside as f64 / (self.tied + 1) as f64
    }

    fn reciprocal(&self) -> f64 {
        self.places().map(|r| 1.0 / r as f64).sum::<f64>() / (self.tied + 1) as f64
    }

    fn mean_rank(&self) -> f64 {
        self.above as f64 + 1.0 + self.tied as f64 / 2.0
    }
}

fn reliability(top: &[(f64, f64)]) -> Vec<Bin> {
    (0..10)
        .map(|b| {
            let (lower, upper) = (b as f64 / 10.0, (b + 1) as f64 / 10.0);
            let inside: Vec<&(f64, f64)> = top
                .iter()
                .filter(|(p, _)| *p >= lower && (*p < upper || (b == 9 && *p <= 1.0)))
                .collect();
            let count = inside.len();
            let mean = |f: &dyn Fn(&(f64, f64)) -> f64| {
                if count == 0 {
                    0.0
                } else {
                    inside.iter().map(|x| f(x)).sum::<f64>() / count as f64
                }
            };
            Bin {
                lower,
                upper,
                predictions: count,
                mean_probability: mean(&|x| x.0),
                accuracy: mean(&|x| x.1),
            }
        })
        .collect()
}

/// Scores cases on `threads` threads (each case fits its own engine, on
/// its own thread).
pub fn score_all(cases: &[Case], threads: usize) -> Vec<Scored> {
    crate::model::map_in_order(cases, threads, score)
}

#[cfg(test)]
mod tests {
    use super::Placing;

    #[test]
    fn ties_are_broken_at_random_not_in_the_right_answers_favour() {
        // All ten candidates score the same: the right one is first one time
        // in ten, among the first five half the time.
        let flat = [0.1; 10];
        let placing = Placing::of(&flat, Some(3), flat[3]);
        assert_eq!(placing, Placing { above: 0, tied: 9 });
        assert!((placing.within(1) - 0.1).abs() < 1e-12);
        assert!((placing.within(5) - 0.5).abs() < 1e-12);
        let harmonic: f64 = (1..=10).map(|r| 1.0 / f64::from(r)).sum();
        assert!((placing.reciprocal() - harmonic / 10.0).abs() < 1e-12);
        assert!((placing.mean_rank() - 5.5).abs() < 1e-12);
    }

    #[test]
    fn a_clear_ranking_is_counted_as_it_stands() {
        let scores = [0.5, 0.3, 0.15, 0.05];
        let second = Placing::of(&scores, Some(1), scores[1]);
        assert_eq!((second.within(1), second.within(5)), (0.0, 1.0));
        assert_eq!(second.reciprocal(), 0.5);
        // "Not in the knowledge base" above it makes it third.
        let third = second.and(0.4, scores[1]);
        assert_eq!(third.mean_rank(), 3.0);
        assert_eq!(third.and(0.3, scores[1]).within(3), 0.5);
    }
}
