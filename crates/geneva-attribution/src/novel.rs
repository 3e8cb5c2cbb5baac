//! The second hypothesis weighed for every actor known to use none of the
//! evidence: that the incident shows tradecraft wholly new to it. The
//! ranking model scores how well each actor's known repertoire explains
//! the evidence, so for such an actor it can only say "not this one"; yet
//! actors do take up new techniques and tools. Under this hypothesis those
//! actors are ranked by a small softmax of their own, led by *affinity*:
//! for each evidence item, the closest item the actor is known to use, by
//! the cosine of the two items' users (item-to-item collaborative
//! filtering, as recommenders guess what a user will take up next),
//! averaged over the evidence. A logistic gate weighs the hypothesis case
//! by case against the ranking model.
//!
//! This module owns the affinity, the hypothesis's ranking, the gate and
//! their fit; [`crate::model`] draws the cases they are fitted on, from the
//! knowledge base itself, with the share wholly new to their actor that the
//! knowledge base's own reports show. It must never be fitted on, or have
//! its share set from, an evaluation case.

use serde::Serialize;

use crate::model::{FEATURES, ItemSet, Model, Prepared, Profile};

/// What ranks actors under the hypothesis; their order is
/// [`RANKING_FEATURE_NAMES`].
pub(crate) const RANKING_FEATURES: usize = 6;

pub(crate) const RANKING_FEATURE_NAMES: [&str; RANKING_FEATURES] = [
    "affinity: for each evidence item, the cosine of its users and the users of the closest item the actor is known to use, averaged",
    "techniques it uses a variant of (same parent technique)",
    "techniques its known software performs",
    "items its closest peers use (log-lift over all actors)",
    "software whose techniques it is known to use (log-lift over all actors)",
    "ln of the size of its known repertoire",
];

/// The ranking model's features that still tell of an actor known to use
/// none of the evidence, in [`RANKING_FEATURE_NAMES`] order after affinity.
const FROM_RANKING_MODEL: [usize; 4] = [2, 3, 7, 8];

/// Inputs of the gate; their order is [`GATE_FEATURE_NAMES`].
pub(crate) const GATE_FEATURES: usize = 9;

pub(crate) const GATE_FEATURE_NAMES: [&str; GATE_FEATURES] = [
    "constant",
    "highest affinity among actors known to use none of the evidence",
    "how far the highest affinity stands above the second",
    "ln of the number of evidence items",
    "ln of the ranking model's highest probability",
    "ln of the ranking model's probability of an actor it does not describe",
    "share of the actors known to use none of the evidence",
    "the largest rarity-weighted share of the evidence one actor is known to use",
    "share of the evidence no actor is known to use",
];

/// The fitted parameters of the new-tradecraft hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NewTradecraft {
    /// Weights of the hypothesis's own ranking, in
    /// [`RANKING_FEATURE_NAMES`] order.
    pub ranking: [f64; RANKING_FEATURES],
    /// Logistic weights of the gate, in [`GATE_FEATURE_NAMES`] order.
    pub gate: [f64; GATE_FEATURES],
    /// The share of incidents wholly new to their actor the gate was
    /// fitted to expect (measured on the knowledge base's reports).
    pub assumed_share: f64,
}

impl Default for NewTradecraft {
    /// Never weighs the hypothesis: what a model with nothing to fit on gets.
    fn default() -> Self {
        let mut ranking = [0.0; RANKING_FEATURES];
        ranking[0] = 1.0;
        let mut gate = [0.0; GATE_FEATURES];
        gate[0] = -40.0;
        NewTradecraft {
            ranking,
            gate,
            assumed_share: 0.0,
        }
    }
}

/// For each candidate profile (in the order given), its affinity with the
/// evidence if it is known to use none of it, else `None`. `removed` is a
/// training case's target (by position in `Model::profiled`) and the items
/// the case takes from it, whose use by it is not counted.
pub(crate) fn affinities(
    model: &Model,
    prepared: &Prepared,
    profiles: &[&Profile],
    removed: Option<(usize, &ItemSet)>,
) -> Affinities {
    let observed: Vec<_> = prepared.observed.iter().filter_map(|o| o.item).collect();
    let total_rarity: f64 = prepared.observed.iter().map(|o| o.rarity).sum();
    let mut coverage = 0.0f64;
    let mut affinity: Vec<Option<f64>> = profiles
        .iter()
        .map(|p| {
            // One pass over the evidence per actor: how much of it the actor
            // is known to use, and whether any.
            let (mut known, mut known_rarity) = (0usize, 0.0);
            for o in &prepared.observed {
                if o.item.is_some_and(|i| p.items.contains(&i)) {
                    known += 1;
                    known_rarity += o.rarity;
                }
            }
            if total_rarity > 0.0 {
                coverage = coverage.max(known_rarity / total_rarity);
            }
            // Without technique or software evidence there is no
            // tradecraft to be new (an incident seen only through shared
            // infrastructure or its victims).
            (!prepared.observed.is_empty() && known == 0).then_some(0.0)
        })
        .collect();
    let evidence = prepared.observed.len();
    if prepared.observed.is_empty() || affinity.iter().all(Option::is_none) {
        return Affinities {
            of: affinity,
            evidence,
            orphans: evidence,
            coverage,
            inputs: Vec::new(),
        };
    }
    let mut orphans = evidence - observed.len();
    let users = |item: u32| -> (&[u32], bool) {
        let all = model.users_of_item(item);
        let lost = removed.is_some_and(|(_, items)| items.contains(&item));
        (all, lost)
    };
    let target = removed.map(|(k, _)| k);
    let mut marked = vec![false; model.profiled.len()];
    // Similarity of the current evidence item with each item, computed
    // once per evidence item (`stamp` says for which).
    let mut similarity = vec![(usize::MAX, 0.0f64); model.names.len()];
    for (n, &t) in observed.iter().enumerate() {
        let (t_users, t_lost) = users(t);
        let mut t_count = 0usize;
        for &b in t_users {
            if !(t_lost && Some(b as usize) == target) {
                marked[b as usize] = true;
                t_count += 1;
            }
        }
        orphans += usize::from(t_count == 0);
        if t_count > 0 {
            for (p, a) in profiles.iter().zip(affinity.iter_mut()) {
                let Some(sum) = a else { continue };
                let mut best = 0.0f64;
                for &u in &p.items {
                    let (stamp, s) = similarity[u as usize];
                    let s = if stamp == n {
                        s
                    } else {
                        let (u_users, u_lost) = users(u);
                        let mut co = u_users.iter().filter(|&&b| marked[b as usize]).count();
                        let mut u_count = u_users.len();
                        if u_lost {
                            u_count -= 1;
                            if target.is_some_and(|k| marked[k]) {
                                co -= 1;
                            }
                        }
                        let s = if u_count == 0 {
                            0.0
                        } else {
                            co as f64 / ((t_count * u_count) as f64).sqrt()
                        };
                        similarity[u as usize] = (n, s);
                        s
                    };
                    best = best.max(s);
                }
                *sum += best;
            }
        }
        for &b in t_users {
            marked[b as usize] = false;
        }
    }
    let n = prepared.observed.len() as f64;
    for a in affinity.iter_mut().flatten() {
        *a /= n;
    }
    Affinities {
        of: affinity,
        evidence,
        orphans,
        coverage,
        inputs: Vec::new(),
    }
}

/// Each candidate's affinity (`None`: known to use some of the evidence),
/// and what the gate needs to know of the evidence besides.
#[derive(Debug, Clone, Default)]
pub(crate) struct Affinities {
    pub of: Vec<Option<f64>>,
    /// How many evidence items there are.
    pub evidence: usize,
    /// How many of them no candidate is known to use.
    pub orphans: usize,
    /// The largest rarity-weighted share of the evidence one candidate is
    /// known to use.
    pub coverage: f64,
    /// Each candidate's inputs to the hypothesis's ranking (`None` where
    /// `of` is), once [`Affinities::rank_with`] has filled them in.
    pub inputs: Vec<Option<[f64; RANKING_FEATURES]>>,
}

impl Affinities {
    /// Completes each candidate's ranking inputs with its features under
    /// the ranking model (`rows`, in candidate order) and the size of its
    /// repertoire.
    pub(crate) fn rank_with(&mut self, rows: &[[f64; FEATURES]], sizes: &[usize]) {
        self.inputs = self
            .of
            .iter()
            .zip(rows)
            .zip(sizes)
            .map(|((a, row), &size)| {
                a.map(|a| {
                    let mut x = [0.0; RANKING_FEATURES];
                    x[0] = a;
                    for (k, &f) in FROM_RANKING_MODEL.iter().enumerate() {
                        x[1 + k] = row[f];
                    }
                    x[RANKING_FEATURES - 1] = (size.max(1) as f64).ln();
                    x
                })
            })
            .collect();
    }
}

/// The gate's inputs for one case.
pub(crate) fn gate_features(
    engine: &[f64],
    none: f64,
    affinity: &Affinities,
) -> [f64; GATE_FEATURES] {
    let (mut best, mut second, mut candidates) = (0.0f64, 0.0f64, 0usize);
    for &a in affinity.of.iter().flatten() {
        candidates += 1;
        if a > best {
            second = best;
            best = a;
        } else if a > second {
            second = a;
        }
    }
    let top = engine.iter().copied().fold(0.0, f64::max);
    [
        1.0,
        best,
        best - second,
        (affinity.evidence.max(1) as f64).ln(),
        top.max(1e-12).ln(),
        none.max(1e-12).ln(),
        candidates as f64 / affinity.of.len().max(1) as f64,
        affinity.coverage,
        affinity.orphans as f64 / affinity.evidence.max(1) as f64,
    ]
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl NewTradecraft {
    /// The weight of the hypothesis for a case with these gate inputs.
    pub(crate) fn gate(&self, f: &[f64; GATE_FEATURES]) -> f64 {
        logistic(dot(&self.gate, f))
    }

    /// Probabilities under the hypothesis: a softmax of its ranking score
    /// plus `extra` (victimology and shared infrastructure, which move
    /// candidates under every hypothesis) over the actors it admits.
    pub(crate) fn probabilities(
        &self,
        inputs: &[Option<[f64; RANKING_FEATURES]>],
        extra: &[f64],
    ) -> Vec<f64> {
        let scores: Vec<Option<f64>> = inputs
            .iter()
            .zip(extra)
            .map(|(x, e)| x.map(|x| dot(&self.ranking, &x) + e))
            .collect();
        let top = scores.iter().flatten().copied().fold(f64::MIN, f64::max);
        let mut q: Vec<f64> = scores
            .iter()
            .map(|s| s.map_or(0.0, |s| (s - top).exp()))
            .collect();
        let total: f64 = q.iter().sum();
        if total > 0.0 {
            for x in &mut q {
                *x /= total;
            }
        }
        q
    }

    /// Mixes the ranking model's probabilities (`engine`, `none`) with the
    /// hypothesis's, in place; returns the hypothesis's weight.
    pub(crate) fn mix(
        &self,
        engine: &mut [f64],
        none: &mut f64,
        affinity: &Affinities,
        extra: &[f64],
    ) -> f64 {
        if affinity.inputs.iter().all(Option::is_none) {
            return 0.0;
        }
        let g = self.gate(&gate_features(engine, *none, affinity));
        let q = self.probabilities(&affinity.inputs, extra);
        for (p, q) in engine.iter_mut().zip(q) {
            *p = (1.0 - g) * *p + g * q;
        }
        *none *= 1.0 - g;
        g
    }
}

/// One case the gate is fitted on: the ranking model's probabilities, the
/// affinities, the right answer (`None`: the actor was left out) and the
/// case's weight in the likelihood.
pub(crate) struct GateCase {
    pub engine: Vec<f64>,
    pub none: f64,
    pub affinity: Affinities,
    pub truth: Option<usize>,
    pub weight: f64,
}

/// Fits the hypothesis's ranking and the gate by maximum likelihood
/// (Adam, a little L2 on the gate). Single-threaded: a few hundred small
/// softmaxes.
pub(crate) fn fit(cases: &[GateCase], assumed_share: f64) -> NewTradecraft {
    const STEPS: usize = 600;
    const RATE: f64 = 0.1;
    const L2: f64 = 1e-3;
    const R: usize = RANKING_FEATURES;
    const P: usize = R + GATE_FEATURES;
    // Each case with candidates under the hypothesis (the others do not
    // depend on it), densely: its candidates, where among them the right
    // actor is, and the ranking model's probability of the right answer.
    struct Dense {
        candidates: Vec<[f64; RANKING_FEATURES]>,
        truth: Option<usize>,
        engine_p: f64,
        weight: f64,
        gate: [f64; GATE_FEATURES],
    }
    let dense: Vec<Dense> = cases
        .iter()
        .filter(|c| c.affinity.inputs.iter().any(Option::is_some))
        .map(|case| {
            let mut candidates = Vec::new();
            let mut truth = None;
            for (k, x) in case.affinity.inputs.iter().enumerate() {
                if let Some(x) = x {
                    if case.truth == Some(k) {
                        truth = Some(candidates.len());
                    }
                    candidates.push(*x);
                }
            }
            Dense {
                candidates,
                truth,
                engine_p: case.truth.map_or(case.none, |t| case.engine[t]),
                weight: case.weight,
                gate: gate_features(&case.engine, case.none, &case.affinity),
            }
        })
        .collect();
    let total_weight: f64 = dense.iter().map(|c| c.weight).sum();
    if dense.is_empty() || total_weight <= 0.0 || assumed_share <= 0.0 {
        return NewTradecraft {
            assumed_share,
            ..NewTradecraft::default()
        };
    }
    let split = |theta: &[f64; P]| NewTradecraft {
        ranking: theta[..R].try_into().expect("sized"),
        gate: theta[R..].try_into().expect("sized"),
        assumed_share,
    };
    let mut theta = [0.0; P];
    theta[0] = 50.0;
    theta[R] = -3.0;
    let (mut m, mut v) = ([0.0; P], [0.0; P]);
    let mut q = Vec::new();
    for step in 1..=STEPS {
        let model = split(&theta);
        let mut grad = [0.0; P];
        for case in &dense {
            let g = model.gate(&case.gate);
            q.clear();
            q.extend(case.candidates.iter().map(|x| dot(&model.ranking, x)));
            let top = q.iter().copied().fold(f64::MIN, f64::max);
            let mut total = 0.0;
            for s in q.iter_mut() {
                *s = (*s - top).exp();
                total += *s;
            }
            let q_t = case.truth.map_or(0.0, |t| q[t] / total);
            let p = ((1.0 - g) * case.engine_p + g * q_t).max(1e-300);
            let scale = case.weight / p;
            // d(−ln p)/d gate weights.
            let dg = -(q_t - case.engine_p) * g * (1.0 - g) * scale;
            for k in 0..GATE_FEATURES {
                grad[R + k] += dg * case.gate[k];
            }
            // d(−ln p)/d ranking weights, through q_t.
            if let Some(t) = case.truth {
                let mut mean = [0.0; RANKING_FEATURES];
                for (x, e) in case.candidates.iter().zip(&q) {
                    for k in 0..RANKING_FEATURES {
                        mean[k] += e / total * x[k];
                    }
                }
                let x_t = &case.candidates[t];
                for k in 0..RANKING_FEATURES {
                    grad[k] -= g * q_t * (x_t[k] - mean[k]) * scale;
                }
            }
        }
        for k in 0..P {
            // Affinity lies in 0–1, so its weight is large (about 50 on
            // ATT&CK): only the gate is held back by L2.
            let l2 = if k >= R { L2 } else { 0.0 };
            let g = grad[k] / total_weight + 2.0 * l2 * theta[k];
            m[k] = 0.9 * m[k] + 0.1 * g;
            v[k] = 0.999 * v[k] + 0.001 * g * g;
            let m_hat = m[k] / (1.0 - 0.9f64.powi(step as i32));
            let v_hat = v[k] / (1.0 - 0.999f64.powi(step as i32));
            theta[k] -= RATE * m_hat / (v_hat.sqrt() + 1e-8);
        }
    }
    split(&theta)
}

fn dot<const N: usize>(w: &[f64; N], x: &[f64; N]) -> f64 {
    w.iter().zip(x).map(|(w, x)| w * x).sum()
}

/// For each evidence item (by index into `prepared.observed`), the item
/// the actor is known to use whose users are most like its users, and the
/// cosine of the two: why the hypothesis ranks this actor where it does.
pub(crate) fn closest_items(
    model: &Model,
    prepared: &Prepared,
    profile: &Profile,
) -> Vec<(usize, Option<(u32, f64)>)> {
    let mut marked = vec![false; model.profiled.len()];
    prepared
        .observed
        .iter()
        .enumerate()
        .map(|(n, o)| {
            let Some(t) = o.item else { return (n, None) };
            let t_users = model.users_of_item(t);
            if t_users.is_empty() {
                return (n, None);
            }
            for &b in t_users {
                marked[b as usize] = true;
            }
            let mut best: Option<(u32, f64)> = None;
            let mut items: Vec<u32> = profile.items.iter().copied().collect();
            items.sort_unstable();
            for u in items {
                let u_users = model.users_of_item(u);
                let co = u_users.iter().filter(|&&b| marked[b as usize]).count();
                if co == 0 {
                    continue;
                }
                let s = co as f64 / ((t_users.len() * u_users.len()) as f64).sqrt();
                if best.is_none_or(|(_, b)| s > b) {
                    best = Some((u, s));
                }
            }
            for &b in t_users {
                marked[b as usize] = false;
            }
            (n, best)
        })
        .collect()
}
