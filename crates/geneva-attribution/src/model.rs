//! The ranking model: what each actor is known to use, how rare each item
//! is, the features that compare an incident's evidence with an actor, and
//! the conditional-logit weights fitted on cases drawn from the knowledge
//! base itself.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use geneva_kb::KnowledgeBase;

use crate::novel::{self, GateCase, NewTradecraft};

/// Features of one (evidence, actor) pair; their order is [`FEATURE_NAMES`].
pub(crate) const FEATURES: usize = 10;

pub(crate) const FEATURE_NAMES: [&str; FEATURES] = [
    "techniques it is known to use (rarity-weighted)",
    "software it is known to use (rarity-weighted)",
    "techniques it uses a variant of (same parent technique)",
    "techniques its known software performs",
    "Jaccard similarity of the evidence and its known repertoire",
    "cosine similarity of rarity-weighted repertoires",
    "share of the evidence it explains, less the share it does not",
    "items its closest peers use (log-lift over all actors)",
    "software whose techniques it is known to use (log-lift over all actors)",
    "cosine similarity with the one report on it most like the evidence",
];

/// How many of an actor's most similar actors estimate what it might use
/// beyond what it is known to use.
const PEERS: usize = 10;
/// Smoothing of the peer estimate and the base rate in the log-lift.
const LIFT_SMOOTHING: f64 = 0.05;

/// The parent of a sub-technique (`T1059.001` → `T1059`); anything else is
/// its own parent.
pub(crate) fn parent(item: &str) -> &str {
    match item.split_once('.') {
        Some((head, _)) if item.starts_with('T') => head,
        _ => item,
    }
}

/// An item's number in the model's vocabulary.
pub(crate) type Item = u32;

/// Items are small integers the model assigns itself (never keys an
/// attacker chooses: evidence is looked up by name in a SipHash map first),
/// so a multiplicative hash, as rustc's FxHash, is enough. It matters:
/// `features` looks items up for every actor and every evidence item, and
/// SipHash was the largest cost of one attribution after the arithmetic.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ItemHasher(u64);

impl ItemHasher {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for ItemHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type ItemSet = HashSet<Item, BuildHasherDefault<ItemHasher>>;
pub(crate) type ItemMap<V> = HashMap<Item, V, BuildHasherDefault<ItemHasher>>;

/// One actor's repertoire as the model sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Profile {
    pub items: ItemSet,
    /// Parents of its techniques.
    pub parents: ItemSet,
    /// Techniques its known software performs.
    pub via_software: ItemSet,
    /// Euclidean norm of its items' rarity weights.
    pub norm: f64,
    /// For each item its closest peers use, the similarity-weighted share
    /// of those peers that use it: how likely an actor like this one is to
    /// use it, known or not.
    pub peer_use: ItemMap<f64>,
    /// What each report on it (and each campaign attributed to it) tells of.
    pub reports: Vec<Report>,
    /// Its position in [`Model::profiled`]; `None` for a profile built
    /// for one training case, which per-actor precomputations do not cover.
    pub position: Option<usize>,
}

/// What one report or campaign tells of an actor: an operation's toolkit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    pub name: String,
    pub items: ItemSet,
    /// Euclidean norm of its items' rarity weights.
    pub norm: f64,
}

/// One piece of technique or software evidence, prepared against the vocabulary.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    pub label: String,
    pub item: Option<Item>,
    pub parent: Option<Item>,
    pub software: bool,
    pub rarity: f64,
    pub parent_rarity: f64,
    /// Share of the profiled actors known to use it.
    pub base_rate: f64,
    /// For software: the techniques it performs, with their rarity.
    pub performs: Vec<(Item, f64)>,
    /// For software: the mean over profiled actors of the rarity-weighted
    /// share of its techniques they are known to use.
    pub performs_base: f64,
    /// For software: that share for each profiled actor, by position.
    pub performed_by: Vec<f64>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Prepared {
    pub observed: Vec<Observed>,
    pub norm: f64,
}

/// The knowledge base compiled for ranking.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    vocabulary: HashMap<String, Item>,
    pub names: Vec<String>,
    /// Actors of the knowledge base with a repertoire, by index into
    /// `KnowledgeBase::actors`, and their profiles.
    pub profiled: Vec<(usize, Profile)>,
    /// How many profiled actors use each item (the parents counted as items of their own).
    pub users: Vec<u32>,
    /// The profiled actors (by position in `profiled`) using each item.
    item_users: Vec<Vec<u32>>,
    /// Techniques each piece of software performs.
    software_techniques: HashMap<Item, Vec<Item>>,

    pub weights: Weights,
    pub new_tradecraft: NewTradecraft,
}

/// The fitted weights: one per feature, and the score of "an actor the
/// knowledge base does not describe".
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Weights {
    pub features: [f64; FEATURES],
    pub not_in_knowledge_base: f64,
}

impl Model {
    /// Compiles a knowledge base and fits the weights on cases drawn from it
    /// (seeded, so the same knowledge base always gives the same model).
    /// The work is shared among `threads` threads; the weights are the same
    /// for any number.
    pub fn fit(kb: &KnowledgeBase, threads: usize) -> Model {
        let mut model = Model::compile(kb);
        model.weights = train(&model, 0x6765_6e65_7661, threads);
        let novelty = report_novelty(kb);
        let wholly_new = if novelty.is_empty() {
            DEFAULT_WHOLLY_NEW_SHARE
        } else {
            novelty.iter().filter(|&&s| s >= 1.0).count() as f64 / novelty.len() as f64
        };
        let partly_new: Vec<f64> = novelty.into_iter().filter(|&s| s < 1.0).collect();
        let cases = gate_cases(&model, wholly_new, &partly_new, 0x6e65_7774_7261, threads);
        model.new_tradecraft = novel::fit(&cases, wholly_new);
        model
    }

    fn compile(kb: &KnowledgeBase) -> Model {
        let mut model = Model {
            vocabulary: HashMap::new(),
            names: Vec::new(),
            profiled: Vec::new(),
            users: Vec::new(),
            item_users: Vec::new(),
            software_techniques: HashMap::new(),
            weights: Weights {
                features: [0.0; FEATURES],
                not_in_knowledge_base: 0.0,
            },
            new_tradecraft: NewTradecraft::default(),
        };
        let mut raw: Vec<(usize, ItemSet)> = Vec::new();
        for at in 0..kb.actors.len() {
            let repertoire = kb.repertoire(at);
            if repertoire.is_empty() {
                continue;
            }
            let items = repertoire.iter().map(|i| model.intern(i)).collect();
            raw.push((at, items));
        }
        for (software, techniques) in &kb.software_techniques {
            let s = model.intern(software);
            let t = techniques.iter().map(|t| model.intern(t)).collect();
            model.software_techniques.insert(s, t);
        }
        // Parents are interned before any profile is built, so that
        // building one never grows the vocabulary.
        for name in model.names.clone() {
            model.intern(parent(&name));
        }
        for (at, items) in raw {
            let mut profile = model.profile_of(items);
            profile.reports = model.reports_of(kb, at);
            model.profiled.push((at, profile));
        }
        model.users = vec![0; model.names.len()];
        for (_, profile) in &model.profiled {
            for &i in profile
                .items
                .iter()
                .chain(profile.parents.difference(&profile.items))
            {
                model.users[i as usize] += 1;
            }
        }
        let report_norms: Vec<Vec<f64>> = model
            .profiled
            .iter()
            .map(|(_, p)| p.reports.iter().map(|r| model.norm_of(&r.items)).collect())
            .collect();
        for ((_, profile), norms) in model.profiled.iter_mut().zip(report_norms) {
            for (report, norm) in profile.reports.iter_mut().zip(norms) {
                report.norm = norm;
            }
        }
        let norms: Vec<f64> = model
            .profiled
            .iter()
            .map(|(_, p)| model.norm_of(&p.items))
            .collect();
        for ((_, profile), norm) in model.profiled.iter_mut().zip(norms) {
            profile.norm = norm;
        }
        model.item_users = vec![Vec::new(); model.names.len()];
        for (k, (_, profile)) in model.profiled.iter().enumerate() {
            for &i in &profile.items {
                model.item_users[i as usize].push(k as u32);
            }
        }
        let peer_use: Vec<ItemMap<f64>> = (0..model.profiled.len())
            .map(|k| model.peer_use(&model.profiled[k].1, Some(k)))
            .collect();
        for (k, ((_, profile), peer_use)) in model.profiled.iter_mut().zip(peer_use).enumerate() {
            profile.peer_use = peer_use;
            profile.position = Some(k);
        }
        model
    }

    /// The reports ATT&CK cites for an actor's uses and the campaigns
    /// attributed to it, each as the set of what it tells of (norms are
    /// filled in once rarities are known).
    fn reports_of(&self, kb: &KnowledgeBase, at: usize) -> Vec<Report> {
        let items = |told: &mut dyn Iterator<Item = &String>| -> ItemSet {
            told.filter_map(|i| self.lookup(i)).collect()
        };
        let cited = kb.actors[at]
            .reports
            .iter()
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, told)| Report {
                name: name.clone(),
                items: items(&mut told.iter()),
                norm: 0.0,
            });
        let campaigns = kb
            .campaigns
            .iter()
            .filter(|c| c.attributed_to == Some(at))
            .map(|c| Report {
                name: format!("{} {}", c.attack_id, c.name),
                items: items(&mut c.techniques.iter().chain(&c.software)),
                norm: 0.0,
            });
        cited.chain(campaigns).collect()
    }

    /// What the closest peers of a profile use (see [`Profile::peer_use`]);
    /// `itself` is the profile's own position, never its own peer.
    fn peer_use(&self, profile: &Profile, itself: Option<usize>) -> ItemMap<f64> {
        let mut overlap = vec![0.0; self.profiled.len()];
        for &i in &profile.items {
            let r = self.rarity(Some(i));
            for &b in &self.item_users[i as usize] {
                overlap[b as usize] += r * r;
            }
        }
        let mut peers: Vec<(usize, f64)> = overlap
            .iter()
            .enumerate()
            .filter(|&(b, &o)| Some(b) != itself && o > 0.0)
            .map(|(b, &o)| {
                (
                    b,
                    o / (profile.norm * self.profiled[b].1.norm).max(f64::MIN_POSITIVE),
                )
            })
            .collect();
        peers.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        peers.truncate(PEERS);
        let total: f64 = peers.iter().map(|p| p.1).sum();
        let mut used = ItemMap::default();
        if total <= 0.0 {
            return used;
        }
        for (b, similarity) in peers {
            for &i in &self.profiled[b].1.items {
                *used.entry(i).or_insert(0.0) += similarity / total;
            }
        }
        used
    }

    /// A profile of these items: their parents and the techniques of their
    /// software derived from them alone (its norm is filled in later).
    fn profile_of(&self, items: ItemSet) -> Profile {
        let mut profile = Profile {
            items,
            ..Profile::default()
        };
        for &i in &profile.items {
            let name = &self.names[i as usize];
            if let Some(p) = name
                .starts_with('T')
                .then(|| self.lookup(parent(name)))
                .flatten()
            {
                profile.parents.insert(p);
            }
            if let Some(techniques) = self.software_techniques.get(&i) {
                profile.via_software.extend(techniques.iter().copied());
            }
        }
        profile
    }

    fn intern(&mut self, name: &str) -> Item {
        if let Some(&i) = self.vocabulary.get(name) {
            return i;
        }
        let i = self.names.len() as Item;
        self.names.push(name.to_owned());
        self.vocabulary.insert(name.to_owned(), i);
        i
    }

    /// How much an item says about who used it: `ln((A + 1) / (users + ½))`
    /// over the A profiled actors, so an item nobody is known to use weighs most.
    pub fn rarity(&self, item: Option<Item>) -> f64 {
        self.rarity_of(self.users_of(item, &ItemSet::default()))
    }

    fn rarity_of(&self, users: u32) -> f64 {
        ((self.profiled.len() as f64 + 1.0) / (f64::from(users) + 0.5)).ln()
    }

    /// How many profiled actors use an item, not counting one actor's use
    /// of the `discounted` items.
    fn users_of(&self, item: Option<Item>, discounted: &ItemSet) -> u32 {
        item.map_or(0, |i| {
            let users = self.users.get(i as usize).copied().unwrap_or(0);
            users.saturating_sub(u32::from(discounted.contains(&i)))
        })
    }

    fn norm_of(&self, items: &ItemSet) -> f64 {
        items
            .iter()
            .map(|&i| self.rarity(Some(i)).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    /// The profiled actors (by position) known to use an item.
    pub fn users_of_item(&self, item: Item) -> &[u32] {
        self.item_users
            .get(item as usize)
            .map_or(&[], Vec::as_slice)
    }

    pub fn lookup(&self, name: &str) -> Option<Item> {
        self.vocabulary.get(name).copied()
    }

    /// Technique and software ATT&CK ids, prepared once per attribution.
    pub fn prepare<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Prepared {
        self.prepare_discounting(ids, &ItemSet::default())
    }

    /// As [`Model::prepare`], as if one actor were not known to use the
    /// `discounted` items or techniques of the `discounted` families (see
    /// [`lost_uses`]). A training case must look like a real one: in a
    /// real case, what the right actor is not known to use is used by one
    /// actor fewer (an item only it used is unknown to everyone), and the
    /// rarity and base rates, of the items and of their families, must say so.
    fn prepare_discounting<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
        discounted: &ItemSet,
    ) -> Prepared {
        let mut observed: Vec<Observed> = ids
            .into_iter()
            .map(|id| {
                let item = self.lookup(id);
                let parent_item = self.lookup(parent(id));
                Observed {
                    label: id.to_owned(),
                    item,
                    parent: parent_item,
                    software: id.starts_with('S'),
                    rarity: self.rarity_of(self.users_of(item, discounted)),
                    parent_rarity: self.rarity_of(self.users_of(parent_item, discounted)),
                    base_rate: f64::from(self.users_of(item, discounted))
                        / self.profiled.len().max(1) as f64,
                    performs: Vec::new(),
                    performs_base: 0.0,
                    performed_by: Vec::new(),
                }
            })
            .collect();
        observed.sort_by(|a, b| a.label.cmp(&b.label));
        observed.dedup_by(|a, b| a.label == b.label);
        let actors = self.profiled.len();
        for o in &mut observed {
            let Some(s) = o.item else { continue };
            let Some(techniques) = self.software_techniques.get(&s) else {
                continue;
            };
            o.performs = techniques
                .iter()
                .map(|&t| (t, self.rarity(Some(t))))
                .collect();
            // Each actor's share, and their mean, through who uses each
            // technique rather than actor by actor.
            let total: f64 = o.performs.iter().map(|(_, r)| r).sum();
            o.performed_by = vec![0.0; actors];
            if total > 0.0 {
                for &(t, r) in &o.performs {
                    for &b in &self.item_users[t as usize] {
                        o.performed_by[b as usize] += r / total;
                    }
                }
            }
            o.performs_base = o.performed_by.iter().sum::<f64>() / actors.max(1) as f64;
        }
        let norm = observed
            .iter()
            .map(|o| o.rarity.powi(2))
            .sum::<f64>()
            .sqrt();
        Prepared { observed, norm }
    }
}

/// How one evidence item relates to one actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// The actor is known to use it.
    Known,
    /// The actor is known to use another variant of the same technique.
    Variant,
    /// Software the actor is known to use performs it.
    ViaSoftware,
    None,
}

/// The rarity-weighted share of a piece of software's techniques that an
/// actor is known to use.
pub(crate) fn performed_share(o: &Observed, p: &Profile) -> f64 {
    if let Some(k) = p.position {
        return o.performed_by.get(k).copied().unwrap_or(0.0);
    }
    let performs = &o.performs;
    let total: f64 = performs.iter().map(|(_, r)| r).sum();
    if total <= 0.0 {
        return 0.0;
    }
    performs
        .iter()
        .filter(|(t, _)| p.items.contains(t))
        .map(|(_, r)| r)
        .sum::<f64>()
        / total
}

/// The similarity-weighted share of an actor's closest peers that use an item.
pub(crate) fn peer_share(o: &Observed, p: &Profile) -> f64 {
    o.item
        .and_then(|i| p.peer_use.get(&i))
        .copied()
        .unwrap_or(0.0)
}

pub(crate) fn match_of(o: &Observed, p: &Profile) -> Match {
    if o.item.is_some_and(|i| p.items.contains(&i)) {
        Match::Known
    } else if !o.software && o.parent.is_some_and(|i| p.parents.contains(&i)) {
        Match::Variant
    } else if !o.software && o.item.is_some_and(|i| p.via_software.contains(&i)) {
        Match::ViaSoftware
    } else {
        Match::None
    }
}

/// The features of one actor against the evidence; with `each`, also every
/// evidence item's share of `weights · features` (they sum to the score,
/// less the repertoire-overlap and closest-report terms).
pub(crate) fn features(
    e: &Prepared,
    p: &Profile,
    weights: Option<&[f64; FEATURES]>,
    mut each: Option<&mut Vec<(usize, Match, f64)>>,
) -> [f64; FEATURES] {
    let mut f = [0.0; FEATURES];
    if e.observed.is_empty() {
        return f;
    }
    f[9] = closest_report(e, p).map_or(0.0, |(_, cosine)| cosine);
    let share = 1.0 / e.observed.len() as f64;
    let cosine_scale = if e.norm > 0.0 && p.norm > 0.0 {
        1.0 / (e.norm * p.norm)
    } else {
        0.0
    };
    let mut known = 0;
    for (n, o) in e.observed.iter().enumerate() {
        let mut g = [0.0; FEATURES];
        let m = match_of(o, p);
        match m {
            Match::Known => {
                g[if o.software { 1 } else { 0 }] = o.rarity;
                g[5] = o.rarity * o.rarity * cosine_scale;
                g[6] = share;
            }
            Match::Variant => {
                g[2] = o.parent_rarity;
                g[6] = -share;
            }
            Match::ViaSoftware => {
                g[3] = o.rarity;
                g[6] = -share;
            }
            Match::None => g[6] = -share,
        }
        if m != Match::Known {
            let peers = peer_share(o, p);
            g[7] = ((peers + LIFT_SMOOTHING) / (o.base_rate + LIFT_SMOOTHING)).ln();
            if !o.performs.is_empty() {
                let share = performed_share(o, p);
                g[8] = ((share + LIFT_SMOOTHING) / (o.performs_base + LIFT_SMOOTHING)).ln();
            }
        }
        for k in 0..FEATURES {
            f[k] += g[k];
        }
        known += usize::from(m == Match::Known);
        if let (Some(w), Some(each)) = (weights, each.as_deref_mut()) {
            let effect: f64 = g.iter().zip(w).map(|(x, w)| x * w).sum();
            each.push((n, m, effect));
        }
    }
    f[4] = jaccard(known, e.observed.len(), p.items.len());
    f
}

/// The Jaccard similarity of the evidence and a repertoire that share
/// `known` items: a broad repertoire, which explains many items by chance,
/// is weighed against how much of the evidence it shares. It replaced the
/// log of the repertoire's size scaled by the evidence up to ten items,
/// which charged every actor of one size the same however much of the
/// evidence it explained (BENCHMARKS.md has the comparison).
fn jaccard(known: usize, observed: usize, repertoire: usize) -> f64 {
    let union = observed + repertoire - known;
    if union == 0 {
        0.0
    } else {
        known as f64 / union as f64
    }
}

/// The report on an actor most like the evidence (its position in
/// [`Profile::reports`]) and their cosine of rarity-weighted items: an
/// incident that looks like one known operation's toolkit says more than
/// the same items scattered over an actor's history.
pub(crate) fn closest_report(e: &Prepared, p: &Profile) -> Option<(usize, f64)> {
    if e.norm <= 0.0 {
        return None;
    }
    p.reports
        .iter()
        .enumerate()
        .filter(|(_, r)| r.norm > 0.0)
        .map(|(k, r)| {
            let shared: f64 = e
                .observed
                .iter()
                .filter(|o| o.item.is_some_and(|i| r.items.contains(&i)))
                .map(|o| o.rarity * o.rarity)
                .sum();
            (k, shared / (e.norm * r.norm))
        })
        .filter(|&(_, cosine)| cosine > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
}

pub(crate) fn dot(w: &[f64; FEATURES], f: &[f64; FEATURES]) -> f64 {
    w.iter().zip(f).map(|(w, f)| w * f).sum()
}

/// A small, seeded generator (SplitMix64): the cases drawn for training
/// must be the same on every machine and every run.
pub(crate) struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `k` distinct picks out of `items`, in a random order.
    pub fn sample<T: Copy>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut pool = items.to_vec();
        let k = k.min(pool.len());
        for i in 0..k {
            let j = i + self.below(pool.len() - i);
            pool.swap(i, j);
        }
        pool.truncate(k);
        pool
    }
}

/// How many cases are drawn from each actor. With two (about 260 cases on
/// ATT&CK) the fitted weights depended on the seed: across four seeds the
/// closest-report weight ranged 1.6–2.7 and the 534-report evaluation's
/// top-1 43.6–46.3%. With eight (about 1,040), the campaign evaluation
/// still moved with the seed (top-1 66.7–75%, top-5 83.3–91.7% over six
/// seeds); with sixteen (about 2,080) top-1 is the same at every seed
/// tried, for twice the fitting time.
const TRAINING_ROUNDS: usize = 16;

/// What an actor is counted as a user of (`Model::users`: its items and
/// the parents of its sub-techniques) before a training case and no longer
/// in it (`after`: the actor as the case leaves it, or `None` when the
/// case leaves it out). A technique taken from it whose family it still
/// uses another variant of is not lost.
fn lost_uses(before: &Profile, after: Option<&Profile>) -> ItemSet {
    let uses = |p: &Profile| -> ItemSet { p.items.union(&p.parents).copied().collect() };
    match after {
        None => uses(before),
        Some(after) => uses(before).difference(&uses(after)).copied().collect(),
    }
}

/// One training case: every candidate's features, and which one is right
/// (`None`: the actor was taken out of the knowledge base).
struct Case {
    rows: Vec<[f64; FEATURES]>,
    truth: Option<usize>,
}

/// Draws incident-like cases from the knowledge base's own actors: up to
/// 40% of an actor's repertoire is the evidence, and an evenly drawn share
/// of that, from none to all but one item, is taken from the actor for the
/// case, as a new campaign's techniques are partly new; now and then the
/// actor is left out altogether, so that "not in the knowledge base" is
/// learnt too. Then fits a conditional logit (softmax
/// over the candidates and "not in the knowledge base") by Adam with a
/// little L2.
fn train(model: &Model, seed: u64, threads: usize) -> Weights {
    fit(&training_cases(model, seed, threads), threads)
}

/// The evidence of one drawn case: incidents show anything from one item
/// to a good part of an actor's repertoire (none for an actor known for
/// fewer than six items, too few to draw from).
fn draw_evidence(rng: &mut SplitMix, profile: &Profile) -> Option<Vec<Item>> {
    if profile.items.len() < 6 {
        return None;
    }
    let mut all: Vec<Item> = profile.items.iter().copied().collect();
    all.sort_unstable();
    let k = 1 + rng.below(((all.len() as f64 * 0.4).round() as usize).max(3));
    Some(rng.sample(&all, k))
}

/// The cases [`train`] fits on (see there).
fn training_cases(model: &Model, seed: u64, threads: usize) -> Vec<Case> {
    let mut rng = SplitMix(seed);
    // Every draw is made here, in order, so that the cases do not depend on
    // how many threads build them.
    let mut drawn = Vec::new();
    for _round in 0..TRAINING_ROUNDS {
        for (target, (_, profile)) in model.profiled.iter().enumerate() {
            let Some(evidence) = draw_evidence(&mut rng, profile) else {
                continue;
            };
            let k = evidence.len();
            // The share of it that is new to the actor is drawn evenly
            // from [0, 1) and rounded down, so at least one item stays
            // known: evidence wholly new to the knowledge base is what the
            // cases without the actor teach.
            let unknown_count = (rng.unit() * k as f64).floor() as usize;
            let unknown: ItemSet = evidence[..unknown_count].iter().copied().collect();
            let left_out = rng.unit() < 0.15;
            drawn.push((target, evidence, unknown, left_out));
        }
    }
    map_in_order(&drawn, threads, |(target, evidence, unknown, left_out)| {
        let profile = &model.profiled[*target].1;
        let reduced = (!left_out).then(|| reduced_profile(model, *target, profile, unknown));
        training_case(model, *target, profile, evidence, reduced)
    })
}

/// The actor as a training case leaves it: without the `unknown` items.
fn reduced_profile(model: &Model, target: usize, profile: &Profile, unknown: &ItemSet) -> Profile {
    let items = profile
        .items
        .iter()
        .copied()
        .filter(|i| !unknown.contains(i))
        .collect();
    let mut reduced = model.profile_of(items);
    reduced.reports = profile
        .reports
        .iter()
        .map(|r| {
            let items: ItemSet = r
                .items
                .iter()
                .copied()
                .filter(|i| !unknown.contains(i))
                .collect();
            let norm = model.norm_of(&items);
            Report {
                name: r.name.clone(),
                items,
                norm,
            }
        })
        .filter(|r| !r.items.is_empty())
        .collect();
    reduced.norm = model.norm_of(&reduced.items);
    reduced.peer_use = model.peer_use(&reduced, Some(target));
    reduced
}

/// Every candidate's features against `evidence` drawn from actor
/// `target`, which the case leaves as `reduced` (`None`: left out).
fn training_case(
    model: &Model,
    target: usize,
    profile: &Profile,
    evidence: &[Item],
    reduced: Option<Profile>,
) -> Case {
    training_case_prepared(model, target, profile, evidence, reduced.as_ref()).0
}

/// As [`training_case`], with the evidence as prepared for it.
fn training_case_prepared(
    model: &Model,
    target: usize,
    profile: &Profile,
    evidence: &[Item],
    reduced: Option<&Profile>,
) -> (Case, Prepared) {
    let discounted = lost_uses(profile, reduced);
    let prepared = model.prepare_discounting(
        evidence.iter().map(|&i| model.names[i as usize].as_str()),
        &discounted,
    );
    let mut rows = Vec::with_capacity(model.profiled.len());
    let mut truth = None;
    for (k, (_, p)) in model.profiled.iter().enumerate() {
        if k == target {
            match reduced {
                Some(r) => {
                    truth = Some(rows.len());
                    rows.push(features(&prepared, r, None, None));
                }
                None => continue,
            }
        } else {
            rows.push(features(&prepared, p, None, None));
        }
    }
    (Case { rows, truth }, prepared)
}

/// How many cases per actor the new-tradecraft gate is fitted on.
const GATE_ROUNDS: usize = 4;
/// The share of gate cases drawn wholly new to their actor; the likelihood
/// weighs them back to the assumed share, so that the rare kind of case is
/// seen often enough to fit on without drawing thousands of cases.
const GATE_NEW_DRAWN: f64 = 0.5;
/// The fewest items a report must tell of for its novelty to be measured
/// (as for the bench's reports left out).
const REPORT_ITEMS: usize = 3;
/// Used when the knowledge base cites no report with enough uses to measure it.
const DEFAULT_WHOLLY_NEW_SHARE: f64 = 0.05;

/// For each of the knowledge base's reports cited for at least three of
/// an actor's uses, the share of what it told of that the knowledge base
/// knows of the actor from nowhere else (no other citation, no campaign
/// attributed to it): how new an incident's tradecraft is to its actor, as
/// far as the knowledge base itself can say.
pub(crate) fn report_novelty(kb: &KnowledgeBase) -> Vec<f64> {
    let mut shares = Vec::new();
    for (at, actor) in kb.actors.iter().enumerate() {
        let campaigns: Vec<&geneva_kb::Campaign> = kb
            .campaigns
            .iter()
            .filter(|c| c.attributed_to == Some(at))
            .collect();
        for (name, told) in &actor.reports {
            if name.is_empty() || told.len() < REPORT_ITEMS {
                continue;
            }
            let new = told
                .iter()
                .filter(|item| {
                    let cited = actor
                        .reports
                        .iter()
                        .any(|(other, items)| other != name && items.contains(*item));
                    let campaign = campaigns
                        .iter()
                        .any(|c| c.techniques.contains(*item) || c.software.contains(*item));
                    !cited && !campaign
                })
                .count();
            shares.push(new as f64 / told.len() as f64);
        }
    }
    shares
}

/// Cases the new-tradecraft gate is fitted on, drawn as [`train`]'s are
/// (with a seed of their own, after the ranking weights are fitted) except
/// in how much of the evidence is new to the actor: half the cases are
/// wholly new to an actor kept in the knowledge base, weighed so that they
/// count for `share` of the whole, and in the others the share new to it
/// is one of `partly_new`, the knowledge base's own reports' (see
/// [`report_novelty`]), drawn evenly.
fn gate_cases(
    model: &Model,
    share: f64,
    partly_new: &[f64],
    seed: u64,
    threads: usize,
) -> Vec<GateCase> {
    let mut rng = SplitMix(seed);
    let mut drawn = Vec::new();
    for _round in 0..GATE_ROUNDS {
        for (target, (_, profile)) in model.profiled.iter().enumerate() {
            let Some(evidence) = draw_evidence(&mut rng, profile) else {
                continue;
            };
            let k = evidence.len();
            let wholly_new = rng.unit() < GATE_NEW_DRAWN;
            let (unknown_count, left_out) = if wholly_new {
                (k, false)
            } else {
                let new = if partly_new.is_empty() {
                    rng.unit()
                } else {
                    partly_new[rng.below(partly_new.len())]
                };
                (
                    ((new * k as f64).round() as usize).min(k - 1),
                    rng.unit() < 0.15,
                )
            };
            let unknown: ItemSet = evidence[..unknown_count].iter().copied().collect();
            let weight = if wholly_new {
                share / GATE_NEW_DRAWN
            } else {
                (1.0 - share) / (1.0 - GATE_NEW_DRAWN)
            };
            drawn.push((target, evidence, unknown, left_out, weight));
        }
    }
    map_in_order(
        &drawn,
        threads,
        |(target, evidence, unknown, left_out, weight)| {
            let profile = &model.profiled[*target].1;
            let reduced = (!left_out).then(|| reduced_profile(model, *target, profile, unknown));
            let (case, prepared) =
                training_case_prepared(model, *target, profile, evidence, reduced.as_ref());
            let scores: Vec<f64> = case
                .rows
                .iter()
                .map(|f| dot(&model.weights.features, f))
                .collect();
            let (engine, none) = crate::softmax(&scores, model.weights.not_in_knowledge_base);
            let profiles: Vec<&Profile> = model
                .profiled
                .iter()
                .enumerate()
                .filter_map(|(k, (_, p))| {
                    if k == *target {
                        reduced.as_ref()
                    } else {
                        Some(p)
                    }
                })
                .collect();
            let removed: ItemSet = match &reduced {
                Some(r) => profile.items.difference(&r.items).copied().collect(),
                None => profile.items.clone(),
            };
            let mut affinity =
                novel::affinities(model, &prepared, &profiles, Some((*target, &removed)));
            let sizes: Vec<usize> = profiles.iter().map(|p| p.items.len()).collect();
            affinity.rank_with(&case.rows, &sizes);
            GateCase {
                engine,
                none,
                affinity,
                truth: case.truth,
                weight: *weight,
            }
        },
    )
}

/// The cases' gradient is summed over this many fixed slices of them, in
/// order, however many threads compute the slices: the fitted weights must
/// not depend on the machine.
const GRADIENT_SLICES: usize = 16;

fn fit(cases: &[Case], threads: usize) -> Weights {
    const L2: f64 = 1e-4;
    const STEPS: usize = 300;
    const RATE: f64 = 0.05;
    let mut w = [0.0; FEATURES + 1];
    let (mut m, mut v) = ([0.0; FEATURES + 1], [0.0; FEATURES + 1]);
    if cases.is_empty() {
        return Weights {
            features: [0.0; FEATURES],
            not_in_knowledge_base: 0.0,
        };
    }
    let n = cases.len() as f64;
    let slices: Vec<&[Case]> = cases
        .chunks(cases.len().div_ceil(GRADIENT_SLICES))
        .collect();
    for step in 1..=STEPS {
        let mut grad = [0.0; FEATURES + 1];
        for part in map_in_order(&slices, threads, |slice| gradient(slice, &w)) {
            for (g, p) in grad.iter_mut().zip(part) {
                *g += p;
            }
        }
        for k in 0..=FEATURES {
            let g = grad[k] / n + 2.0 * L2 * w[k];
            m[k] = 0.9 * m[k] + 0.1 * g;
            v[k] = 0.999 * v[k] + 0.001 * g * g;
            let m_hat = m[k] / (1.0 - 0.9f64.powi(step as i32));
            let v_hat = v[k] / (1.0 - 0.999f64.powi(step as i32));
            w[k] -= RATE * m_hat / (v_hat.sqrt() + 1e-8);
        }
    }
    Weights {
        features: w[..FEATURES].try_into().expect("sized"),
        not_in_knowledge_base: w[FEATURES],
    }
}

/// The conditional logit's negative log-likelihood gradient over `cases`
/// at `w` (the feature weights, then the score of "not in the knowledge
/// base").
fn gradient(cases: &[Case], w: &[f64; FEATURES + 1]) -> [f64; FEATURES + 1] {
    let mut grad = [0.0; FEATURES + 1];
    let weights: [f64; FEATURES] = w[..FEATURES].try_into().expect("sized");
    let none = w[FEATURES];
    let mut scores = Vec::new();
    for case in cases {
        scores.clear();
        scores.extend(case.rows.iter().map(|f| dot(&weights, f)));
        let top = scores.iter().copied().fold(none, f64::max);
        let mut total = (none - top).exp();
        for s in scores.iter_mut() {
            *s = (*s - top).exp();
            total += *s;
        }
        for (row, s) in case.rows.iter().zip(&scores) {
            let p = s / total;
            for k in 0..FEATURES {
                grad[k] += p * row[k];
            }
        }
        grad[FEATURES] += (none - top).exp() / total;
        match case.truth {
            Some(t) => {
                for (g, x) in grad.iter_mut().zip(&case.rows[t]) {
                    *g -= x;
                }
            }
            None => grad[FEATURES] -= 1.0,
        }
    }
    grad
}

/// `f` of every item, in order, on up to `threads` threads (contiguous
/// runs of items each).
pub(crate) fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let run = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(run)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fitted_weights_do_not_depend_on_the_threads() {
        let mut kb = KnowledgeBase::default();
        let pool: Vec<String> = (0..30).map(|t| format!("T{}", 1000 + t)).collect();
        kb.actors = (0..12)
            .map(|a| {
                let uses: Vec<&str> = (0..8)
                    .map(|k| pool[(a * 3 + k * 2) % 30].as_str())
                    .collect();
                actor(&format!("actor {a}"), &uses)
            })
            .collect();
        let fitted = |threads| Model::fit(&kb, threads).new_tradecraft;
        let (one_new, many_new) = (fitted(1), fitted(3));
        assert_eq!(
            one_new.ranking.map(f64::to_bits),
            many_new.ranking.map(f64::to_bits)
        );
        assert_eq!(
            one_new.gate.map(f64::to_bits),
            many_new.gate.map(f64::to_bits)
        );
        let model = Model::compile(&kb);
        let one = train(&model, 7, 1);
        assert!(one.features.iter().any(|&w| w != 0.0), "{one:?}");
        for threads in [2, 3, 16, 64] {
            let many = train(&model, 7, threads);
            assert_eq!(
                many.features.map(f64::to_bits),
                one.features.map(f64::to_bits),
                "{threads} threads"
            );
            assert_eq!(
                many.not_in_knowledge_base.to_bits(),
                one.not_in_knowledge_base.to_bits()
            );
        }
    }

    #[test]
    fn affinity_ranks_those_known_to_use_none_of_the_evidence_by_their_nearest_tradecraft() {
        let model = families();
        let profiles: Vec<&Profile> = model.profiled.iter().map(|(_, p)| p).collect();
        let names: Vec<&str> = model
            .profiled
            .iter()
            .map(|(at, _)| {
                [
                    "wiper one",
                    "wiper two",
                    "wiper three",
                    "spy one",
                    "spy two",
                ][*at]
            })
            .collect();
        // Wipers two and three use T1529; wiper one does not, but uses
        // what they use; the spies share nothing with them.
        let affinity = novel::affinities(&model, &model.prepare(["T1529"]), &profiles, None);
        let of = |name: &str| affinity.of[names.iter().position(|n| *n == name).unwrap()];
        assert_eq!(of("wiper two"), None);
        assert_eq!(of("wiper three"), None);
        assert_eq!(of("spy one"), Some(0.0));
        // T1485 and T1561.002 are used by all three wipers, T1529 by two:
        // cosine 2 / √(2·3).
        let expected = 2.0 / 6f64.sqrt();
        assert!(
            (of("wiper one").unwrap() - expected).abs() < 1e-12,
            "{affinity:?}"
        );
        // The explanation names the closest item and the same cosine.
        let closest = novel::closest_items(&model, &model.prepare(["T1529"]), profiles[0]);
        let (_, Some((item, cosine))) = closest[0] else {
            panic!("{closest:?}")
        };
        assert!(["T1485", "T1561.002"].contains(&model.names[item as usize].as_str()));
        assert!((cosine - expected).abs() < 1e-12);
        assert_eq!(affinity.evidence, 1);
        assert_eq!(affinity.orphans, 0);
    }

    #[test]
    fn a_training_case_weighs_new_tradecraft_as_a_real_case_would() {
        // "wiper three" without T1529, drawn from the full knowledge base,
        // must look as it does in a knowledge base that never knew of it.
        let model = families();
        let target = 2;
        let profile = &model.profiled[target].1;
        let t1529 = model.lookup("T1529").expect("interned");
        let removed: ItemSet = [t1529].into_iter().collect();
        let reduced = reduced_profile(&model, target, profile, &removed);
        let profiles: Vec<&Profile> = model
            .profiled
            .iter()
            .enumerate()
            .map(|(k, (_, p))| if k == target { &reduced } else { p })
            .collect();
        let discounted = lost_uses(profile, Some(&reduced));
        let drawn = model.prepare_discounting(["T1529"], &discounted);
        let drawn = novel::affinities(&model, &drawn, &profiles, Some((target, &removed)));

        let mut kb = KnowledgeBase::default();
        kb.actors = vec![
            actor("wiper one", &["T1485", "T1561.002", "T1490", "S0001"]),
            actor("wiper two", &["T1485", "T1561.002", "T1490", "T1529"]),
            actor("wiper three", &["T1485", "T1561.002"]),
            actor("spy one", &["T1114.002", "T1566.002", "T1071.001", "S0002"]),
            actor("spy two", &["T1114.002", "T1566.002", "T1071.001"]),
        ];
        let real_model = Model::compile(&kb);
        let real_profiles: Vec<&Profile> = real_model.profiled.iter().map(|(_, p)| p).collect();
        let real = novel::affinities(
            &real_model,
            &real_model.prepare(["T1529"]),
            &real_profiles,
            None,
        );
        assert_eq!(drawn.of.len(), real.of.len());
        for (d, r) in drawn.of.iter().zip(&real.of) {
            match (d, r) {
                (Some(d), Some(r)) => assert!((d - r).abs() < 1e-12, "{drawn:?} {real:?}"),
                _ => assert_eq!(d, r),
            }
        }
        assert!(drawn.of[target].unwrap() > 0.0);
    }

    #[test]
    fn the_mixture_stays_a_distribution() {
        let model = families();
        let evidence = model.prepare(["T1529", "S0003"]);
        let profiles: Vec<&Profile> = model.profiled.iter().map(|(_, p)| p).collect();
        let mut affinity = novel::affinities(&model, &evidence, &profiles, None);
        let rows: Vec<[f64; FEATURES]> = profiles
            .iter()
            .map(|p| features(&evidence, p, None, None))
            .collect();
        let sizes: Vec<usize> = profiles.iter().map(|p| p.items.len()).collect();
        affinity.rank_with(&rows, &sizes);
        let mut hypothesis = NewTradecraft::default();
        hypothesis.gate[0] = 0.0;
        let (mut p, mut none) = (vec![0.3, 0.3, 0.2, 0.05, 0.05], 0.1);
        let g = hypothesis.mix(&mut p, &mut none, &affinity, &[0.0; 5]);
        assert!(g > 0.0 && g < 1.0);
        assert!(
            (p.iter().sum::<f64>() + none - 1.0).abs() < 1e-12,
            "{p:?} {none}"
        );
        assert!((none - 0.1 * (1.0 - g)).abs() < 1e-12);
        // Nobody known to use none of it: the hypothesis has no candidate.
        let everyone = model.prepare(["T1485", "T1114.002"]);
        let nobody = novel::affinities(&model, &everyone, &profiles, None);
        let (mut p, mut none) = (vec![0.2; 5], 0.0);
        assert_eq!(hypothesis.mix(&mut p, &mut none, &nobody, &[0.0; 5]), 0.0);
        assert_eq!(p, vec![0.2; 5]);
        // No technique or software evidence: no tradecraft to be new.
        let silent = novel::affinities(&model, &model.prepare([]), &profiles, None);
        assert!(silent.of.iter().all(Option::is_none), "{silent:?}");
    }

    #[test]
    fn the_gate_learns_what_its_cases_show() {
        // Wholly new cases where the right actor has the highest affinity,
        // and cases the ranking model gets right.
        let new_case = |truth: usize| GateCase {
            engine: vec![0.2; 4],
            none: 0.2,
            affinity: novel::Affinities {
                of: (0..4)
                    .map(|k| Some(if k == truth { 0.8 } else { 0.2 }))
                    .collect(),
                evidence: 3,
                orphans: 0,
                coverage: 0.5,
                inputs: (0..4)
                    .map(|k| {
                        let mut x = [0.0; novel::RANKING_FEATURES];
                        x[0] = if k == truth { 0.8 } else { 0.2 };
                        Some(x)
                    })
                    .collect(),
            },
            truth: Some(truth),
            weight: 1.0,
        };
        let cases: Vec<GateCase> = (0..40).map(|n| new_case(n % 4)).collect();
        let fitted = novel::fit(&cases, 0.5);
        assert!(fitted.ranking[0] > 0.0, "{fitted:?}");
        let f = novel::gate_features(&cases[0].engine, cases[0].none, &cases[0].affinity);
        assert!(fitted.gate(&f) > 0.5, "{fitted:?}");
        // Expecting none, it is never weighed.
        let never = novel::fit(&cases, 0.0);
        assert!(never.gate(&f) < 1e-12);
    }

    #[test]
    fn parents_of_sub_techniques() {
        assert_eq!(parent("T1059.001"), "T1059");
        assert_eq!(parent("T1059"), "T1059");
        assert_eq!(parent("S0002"), "S0002");
    }

    fn actor(name: &str, uses: &[&str]) -> geneva_kb::Actor {
        geneva_kb::Actor {
            name: name.into(),
            techniques: uses
                .iter()
                .filter(|u| u.starts_with('T'))
                .map(|u| u.to_string())
                .collect(),
            software: uses
                .iter()
                .filter(|u| u.starts_with('S'))
                .map(|u| u.to_string())
                .collect(),
            ..Default::default()
        }
    }

    /// Two families of actors that share tradecraft within the family; the
    /// evidence is something only the other members of one family use.
    fn families() -> Model {
        let mut kb = KnowledgeBase::default();
        kb.actors = vec![
            actor("wiper one", &["T1485", "T1561.002", "T1490", "S0001"]),
            actor("wiper two", &["T1485", "T1561.002", "T1490", "T1529"]),
            actor("wiper three", &["T1485", "T1561.002", "T1529"]),
            actor("spy one", &["T1114.002", "T1566.002", "T1071.001", "S0002"]),
            actor("spy two", &["T1114.002", "T1566.002", "T1071.001"]),
        ];
        kb.software_techniques.insert(
            "S0001".into(),
            ["T1485", "T1561.002"].map(String::from).into(),
        );
        kb.software_techniques.insert(
            "S0002".into(),
            ["T1114.002", "T1071.001"].map(String::from).into(),
        );
        kb.software_techniques.insert(
            "S0003".into(),
            ["T1485", "T1490", "T1529"].map(String::from).into(),
        );
        Model::compile(&kb)
    }

    #[test]
    fn peers_lift_what_an_actor_is_not_known_to_use() {
        let model = families();
        let profile = |name: &str| profile_named(&model, name);
        // "wiper three" is not known to use T1490, but its peers are.
        let evidence = model.prepare(["T1490"]);
        let wiper = features(&evidence, profile("wiper three"), None, None);
        let spy = features(&evidence, profile("spy two"), None, None);
        assert!(wiper[7] > 0.0 && spy[7] < 0.0, "{wiper:?} {spy:?}");
        // An actor is never its own peer: "wiper one" alone uses S0001.
        let s0001 = model.lookup("S0001").expect("interned");
        assert!(!profile("wiper one").peer_use.contains_key(&s0001));
        for (_, p) in &model.profiled {
            assert!(
                p.peer_use
                    .values()
                    .all(|&share| (0.0..=1.0 + 1e-9).contains(&share))
            );
        }
    }

    #[test]
    fn unknown_software_counts_by_what_it_does() {
        let model = families();
        let profile = |name: &str| profile_named(&model, name);
        // Nobody is known to use S0003, but it does what the wipers do.
        let evidence = model.prepare(["S0003"]);
        assert_eq!(evidence.observed[0].performs.len(), 3);
        let mean = model
            .profiled
            .iter()
            .map(|(_, p)| {
                let mut alone = p.clone();
                alone.position = None;
                performed_share(&evidence.observed[0], &alone)
            })
            .sum::<f64>()
            / model.profiled.len() as f64;
        assert!((evidence.observed[0].performs_base - mean).abs() < 1e-12);
        let wiper = features(&evidence, profile("wiper two"), None, None);
        let spy = features(&evidence, profile("spy one"), None, None);
        assert!(wiper[8] > 0.0 && spy[8] < 0.0, "{wiper:?} {spy:?}");
    }

    #[test]
    fn a_training_case_rates_what_it_takes_from_the_actor_as_a_real_case_would() {
        let model = families();
        let s0001 = model.lookup("S0001").expect("interned");
        let t1485 = model.lookup("T1485").expect("interned");
        let taken: ItemSet = [s0001, t1485].into_iter().collect();
        let real = model.prepare(["S0001", "T1485", "T1490"]);
        let drawn = model.prepare_discounting(["S0001", "T1485", "T1490"], &taken);
        // Only "wiper one" uses S0001: taken from it, nobody does.
        let unseen = model.prepare(["S9999"]).observed[0].rarity;
        assert!(real.observed[0].rarity < unseen);
        assert_eq!(drawn.observed[0].rarity, unseen);
        assert_eq!(drawn.observed[0].base_rate, 0.0);
        // Three wipers use T1485: taken from one, two do.
        assert_eq!(real.observed[1].base_rate, 3.0 / 5.0);
        assert_eq!(drawn.observed[1].base_rate, 2.0 / 5.0);
        assert!(drawn.observed[1].rarity > real.observed[1].rarity);
        // What was not taken is rated as it is.
        assert_eq!(drawn.observed[2].rarity, real.observed[2].rarity);

        // Its only variant of T1561 taken, "wiper one" is no longer one of
        // the three wipers that use the family.
        let wiper = profile_named(&model, "wiper one");
        let t1561_002 = model.lookup("T1561.002").expect("interned");
        let left = wiper.items.iter().copied().filter(|&i| i != t1561_002);
        let lost = lost_uses(wiper, Some(&model.profile_of(left.collect())));
        let family = model.lookup("T1561").expect("parents are interned");
        assert!(
            lost.contains(&family) && lost.contains(&t1561_002),
            "{lost:?}"
        );
        assert_eq!(lost.len(), 2, "{lost:?}");
        let real = model.prepare(["T1561.001"]).observed[0].parent_rarity;
        let drawn = model.prepare_discounting(["T1561.001"], &lost).observed[0].parent_rarity;
        assert_eq!(real, model.rarity_of(3));
        assert_eq!(drawn, model.rarity_of(2));
        // Left out altogether, it uses nothing.
        assert_eq!(lost_uses(wiper, None).len(), wiper.items.len() + 1);
    }

    #[test]
    fn the_closest_report_is_the_operation_the_evidence_looks_like() {
        let mut kb = KnowledgeBase::default();
        let mut wiper = actor("wiper", &["T1485", "T1490", "T1059", "T1566.001", "S0001"]);
        wiper.reports = [
            ("Wiper report", vec!["T1485", "T1490", "S0001"]),
            ("Phishing report", vec!["T1566.001", "T1059"]),
        ]
        .into_iter()
        .map(|(name, told)| {
            (
                name.to_owned(),
                told.into_iter().map(String::from).collect(),
            )
        })
        .collect();
        kb.actors = vec![wiper, actor("other", &["T1059", "T1566.001"])];
        kb.campaigns = vec![geneva_kb::Campaign {
            attack_id: "C9001".into(),
            name: "Outage".into(),
            attributed_to: Some(0),
            techniques: ["T1485".to_owned()].into(),
            ..Default::default()
        }];
        let model = Model::compile(&kb);
        let of = |at: usize| {
            &model
                .profiled
                .iter()
                .find(|(a, _)| *a == at)
                .expect("profiled")
                .1
        };
        let profile = of(0);
        let names: Vec<&str> = profile.reports.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Phishing report", "Wiper report", "C9001 Outage"]);
        let evidence = model.prepare(["T1485", "T1490"]);
        let (k, cosine) = closest_report(&evidence, profile).expect("a report shares items");
        assert_eq!(profile.reports[k].name, "Wiper report");
        assert!(cosine > 0.0 && cosine < 1.0, "{cosine}");
        // Evidence no report tells of has no closest report.
        assert!(closest_report(&model.prepare(["T9999"]), profile).is_none());
        assert!(of(1).reports.is_empty(), "no report is cited for it");
    }

    /// The profile of one of [`families`]' actors, named in the order given there.
    fn profile_named<'m>(model: &'m Model, name: &str) -> &'m Profile {
        let names = [
            "wiper one",
            "wiper two",
            "wiper three",
            "spy one",
            "spy two",
        ];
        &model
            .profiled
            .iter()
            .find(|(at, _)| names[*at] == name)
            .expect("profiled")
            .1
    }

    #[test]
    fn samples_are_distinct_and_seeded() {
        let items: Vec<u32> = (0..50).collect();
        let a = SplitMix(7).sample(&items, 20);
        let b = SplitMix(7).sample(&items, 20);
        assert_eq!(a, b);
        let distinct: HashSet<_> = a.iter().collect();
        assert_eq!(distinct.len(), 20);
        assert_eq!(SplitMix(1).sample(&items, 80).len(), 50);
    }
}
