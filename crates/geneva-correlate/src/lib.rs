//! Correlation by postings, not pairs: each normalised value points at the
//! items (reports, incidents) it occurs in, so a value shared by n items costs
//! n entries, where MISP's pair tables cost n². Links are found at query time:
//! exact values, an address inside a reported range, the same registrable
//! domain, a URL's host, and fuzzy file hashes (ssdeep through an index of
//! 7-character grams, TLSH through bands of its buckets), each with a weight
//! and the reason it was made. Values on warning lists (public resolvers,
//! cloud ranges, empty-file hashes…) are never linked, and a value shared by
//! more than a set number of items is flagged as over-correlating instead.
//!
//! This crate owns the index and the link rules. It must never do I/O, know
//! about STIX documents, storage or TLP: callers feed it observables of the
//! items a viewer may see and get links between those items back.
#![forbid(unsafe_code)]

mod warning;

use std::collections::BTreeMap;

use geneva_observables::fuzzy::{self, Tlsh};
use geneva_observables::{HashAlgo, Observable, normalize};
use rustc_hash::{FxHashMap, FxHashSet};

pub use warning::{WarningError, WarningLists};

/// Tuning knobs, with the defaults analysts start from.
#[derive(Debug, Clone)]
pub struct Config {
    /// A value in more items than this is flagged, not linked.
    pub max_items_per_value: usize,
    /// Lowest ssdeep score that links two files.
    pub ssdeep_min_score: u32,
    /// Largest TLSH distance that links two files.
    pub tlsh_max_distance: u32,
    /// Links at least this heavy join items into one campaign.
    pub strong_link: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_items_per_value: 50,
            ssdeep_min_score: 60,
            tlsh_max_distance: 60,
            strong_link: 0.6,
        }
    }
}

/// Why two items are linked.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// The same value in both.
    Same { key: String },
    /// An address of one lies in a range of the other.
    InRange { address: String, range: String },
    /// Two domains with one registrable domain.
    SameRegistrableDomain {
        registrable: String,
        ours: String,
        theirs: String,
    },
    /// A URL of one is on a host the other names.
    UrlHost { url: String, host: String },
    /// Similar files by ssdeep (0–100).
    Ssdeep {
        ours: String,
        theirs: String,
        score: u32,
    },
    /// Similar files by TLSH (0 = identical).
    Tlsh {
        ours: String,
        theirs: String,
        distance: u32,
    },
}

impl Reason {
    /// How much the reason says, 0 to 1.
    pub fn weight(&self) -> f64 {
        match self {
            Reason::Same { key } => match key.split(':').next().unwrap_or("") {
                "md5" | "sha1" | "sha256" | "sha512" | "x509-serial" | "mac" => 1.0,
                "url" => 0.9,
                "domain" | "email" | "ssdeep" | "tlsh" => 0.8,
                "mutex" => 0.7,
                "ipv4" | "ipv6" => 0.6,
                "regkey" => 0.4,
                "ipv4-net" | "ipv6-net" => 0.3,
                _ => 0.1,
            },
            Reason::InRange { .. } => 0.3,
            Reason::SameRegistrableDomain { .. } => 0.4,
            Reason::UrlHost { .. } => 0.7,
            Reason::Ssdeep { score, .. } => 0.9 * f64::from(*score) / 100.0,
            Reason::Tlsh { distance, .. } => 0.8 * (1.0 - f64::from(*distance) / 300.0).max(0.0),
        }
    }
}

/// Another item and everything it shares with the one asked about.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub item: String,
    /// 1 − Π(1 − wᵢ) over the reasons: more independent evidence, closer to 1.
    pub weight: f64,
    pub reasons: Vec<Reason>,
}

/// A value left out of linking, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Noise {
    /// On a warning list (named).
    Listed { key: String, list: String },
    /// In more items than `max_items_per_value`.
    OverCorrelating { key: String, items: usize },
}

type ItemId = u32;

/// TLSH buckets are cut into this many bands; two digests sharing a band
/// exactly become candidates (locality-sensitive hashing).
const TLSH_BANDS: usize = 16;

#[derive(Default)]
pub struct Index {
    config: Config,
    warnings: WarningLists,
    names: Vec<String>,
    ids: FxHashMap<String, ItemId>,
    /// Each item's observables, as added.
    observables: Vec<Vec<Observable>>,
    /// Each item's values left out because a warning list covers them.
    listed: Vec<Vec<Noise>>,
    /// value key → items, in the order they were added.
    postings: FxHashMap<String, Vec<ItemId>>,
    /// Addresses → items, IPv4 as IPv4-mapped IPv6 so that one ordered map
    /// answers "which reported addresses lie in this range" for both families.
    addresses: BTreeMap<u128, Vec<ItemId>>,
    /// Prefix lengths of reported ranges in that space (IPv4's plus 96), for
    /// "which ranges contain this address": one lookup per length in use.
    range_prefixes: FxHashSet<u8>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("items", &self.names.len())
            .field("values", &self.postings.len())
            .finish()
    }
}

fn derived_keys(o: &Observable) -> Vec<String> {
    let mut keys = vec![o.key()];
    match o {
        Observable::Domain(d) => {
            if let Some(r) = normalize::registrable_domain(d) {
                keys.push(format!("registrable:{r}"));
            }
        }
        Observable::Url(u) => {
            if let Some(host) = normalize::url_host(u) {
                keys.push(format!("url-host:{}", host.key()));
            }
        }
        Observable::Ssdeep(s) => {
            if let Ok((_, grams)) = fuzzy::ssdeep_grams(s) {
                keys.extend(grams.into_iter().map(|g| format!("ssdeep-gram:{g}")));
            }
        }
        Observable::Tlsh(t) => {
            if let Ok(parsed) = Tlsh::parse(t) {
                let buckets = parsed.buckets();
                for (band, chunk) in buckets.chunks(128 / TLSH_BANDS).enumerate() {
                    let code: String = chunk.iter().map(|b| char::from(b'0' + b)).collect();
                    keys.push(format!("tlsh-band:{band}:{code}"));
                }
            }
        }
        _ => {}
    }
    keys
}

impl Index {
    pub fn new(config: Config, warnings: WarningLists) -> Index {
        Index {
            config,
            warnings,
            ..Index::default()
        }
    }

    pub fn items(&self) -> usize {
        self.names.len()
    }

    /// Distinct keys held (values and the grams and bands that find fuzzy matches).
    pub fn keys(&self) -> usize {
        self.postings.len()
    }

    /// Adds an item's observables (again: they are added to what it had).
    pub fn add(&mut self, item: &str, observables: &[Observable]) -> Vec<Noise> {
        let id = match self.ids.get(item) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as ItemId;
                self.names.push(item.to_owned());
                self.ids.insert(item.to_owned(), id);
                self.observables.push(Vec::new());
                self.listed.push(Vec::new());
                id
            }
        };
        let mut noise = Vec::new();
        for o in observables {
            if let Some(list) = self.warnings.list_of(o) {
                let n = Noise::Listed {
                    key: o.key(),
                    list: list.to_owned(),
                };
                if !self.listed[id as usize].contains(&n) {
                    self.listed[id as usize].push(n.clone());
                }
                noise.push(n);
                continue;
            }
            if self.observables[id as usize].contains(o) {
                continue;
            }
            self.observables[id as usize].push(o.clone());
            for key in derived_keys(o) {
                let items = self.postings.entry(key).or_default();
                // Items are numbered as they arrive, so a posting is sorted and
                // a new item goes at the end; only an old item adding more
                // values needs a search (a common value has thousands of items).
                match items.last() {
                    Some(&last) if last >= id => {
                        if let Err(at) = items.binary_search(&id) {
                            items.insert(at, id);
                        }
                    }
                    _ => items.push(id),
                }
            }
            match ip_space(o) {
                Some((address, 128)) => self.addresses.entry(address).or_default().push(id),
                Some((_, prefix)) => {
                    self.range_prefixes.insert(prefix);
                }
                None => {}
            }
        }
        noise
    }

    /// Items sharing `key`, unless it is over-correlating (then `Err(count)`).
    fn posting(&self, key: &str) -> Result<&[ItemId], usize> {
        let items = self.postings.get(key).map(Vec::as_slice).unwrap_or(&[]);
        if items.len() > self.config.max_items_per_value {
            Err(items.len())
        } else {
            Ok(items)
        }
    }

    /// Everything `item` shares with other items, strongest first, and the
    /// values that were too common to count.
    pub fn correlate(&self, item: &str) -> (Vec<Link>, Vec<Noise>) {
        let Some(&id) = self.ids.get(item) else {
            return (Vec::new(), Vec::new());
        };
        let mut found: FxHashMap<ItemId, Vec<Reason>> = FxHashMap::default();
        let mut noise = self.listed[id as usize].clone();
        let note = |key: &str, count: usize, noise: &mut Vec<Noise>| {
            let n = Noise::OverCorrelating {
                key: key.to_owned(),
                items: count,
            };
            if !noise.contains(&n) {
                noise.push(n);
            }
        };
        let link = |found: &mut FxHashMap<ItemId, Vec<Reason>>, other: ItemId, reason: Reason| {
            if other != id {
                let reasons = found.entry(other).or_default();
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
        };
        for o in &self.observables[id as usize] {
            let key = o.key();
            match self.posting(&key) {
                Ok(items) => {
                    for &other in items {
                        link(&mut found, other, Reason::Same { key: key.clone() });
                    }
                }
                Err(count) => {
                    note(&key, count, &mut noise);
                    continue;
                }
            }
            match o {
                Observable::Ipv4(_) | Observable::Ipv6(_) => {
                    let (address, _) = ip_space(o).expect("an address");
                    let mapped = is_mapped(address);
                    for &p in &self.range_prefixes {
                        // An IPv4 address is only in IPv4 ranges (IPv6 ranges shorter
                        // than /96 "contain" the whole mapped space).
                        if mapped && p < 96 {
                            continue;
                        }
                        let range = observable_in_space(address & prefix_mask(p), p).key();
                        if let Ok(items) = self.posting(&range) {
                            for &other in items {
                                link(
                                    &mut found,
                                    other,
                                    Reason::InRange {
                                        address: key.clone(),
                                        range: range.clone(),
                                    },
                                );
                            }
                        }
                    }
                }
                Observable::Ipv4Net(..) | Observable::Ipv6Net(..) => {
                    let (start, p) = ip_space(o).expect("a range");
                    let end = start | !prefix_mask(p);
                    let mut inside = 0;
                    for (address, items) in self.addresses.range(start..=end) {
                        if p < 96 && is_mapped(*address) {
                            continue;
                        }
                        inside += items.len();
                        if inside > self.config.max_items_per_value {
                            note(&key, inside, &mut noise);
                            break;
                        }
                        let address = observable_in_space(*address, 128).key();
                        for &other in items {
                            link(
                                &mut found,
                                other,
                                Reason::InRange {
                                    address: address.clone(),
                                    range: key.clone(),
                                },
                            );
                        }
                    }
                }
                Observable::Domain(d) => {
                    if let Some(r) = normalize::registrable_domain(d) {
                        match self.posting(&format!("registrable:{r}")) {
                            Ok(items) => {
                                for &other in items {
                                    for theirs in self.domains_under(other, &r) {
                                        if theirs != *d {
                                            link(
                                                &mut found,
                                                other,
                                                Reason::SameRegistrableDomain {
                                                    registrable: r.clone(),
                                                    ours: d.clone(),
                                                    theirs,
                                                },
                                            );
                                        }
                                    }
                                }
                            }
                            Err(count) => note(&format!("registrable:{r}"), count, &mut noise),
                        }
                    }
                    if let Ok(items) = self.posting(&format!("url-host:{key}")) {
                        for &other in items {
                            for url in self.urls_on(other, o) {
                                link(
                                    &mut found,
                                    other,
                                    Reason::UrlHost {
                                        url,
                                        host: key.clone(),
                                    },
                                );
                            }
                        }
                    }
                }
                Observable::Url(u) => {
                    if let Some(host) = normalize::url_host(u)
                        && let Ok(items) = self.posting(&host.key())
                    {
                        for &other in items {
                            link(
                                &mut found,
                                other,
                                Reason::UrlHost {
                                    url: u.clone(),
                                    host: host.key(),
                                },
                            );
                        }
                    }
                }
                Observable::Ssdeep(s) => {
                    self.fuzzy_ssdeep(s, &mut |other, reason| link(&mut found, other, reason))
                }
                Observable::Tlsh(t) => {
                    self.fuzzy_tlsh(t, &mut |other, reason| link(&mut found, other, reason))
                }
                _ => {}
            }
        }
        let mut links: Vec<Link> = found
            .into_iter()
            .map(|(other, reasons)| Link {
                item: self.names[other as usize].clone(),
                weight: 1.0 - reasons.iter().map(|r| 1.0 - r.weight()).product::<f64>(),
                reasons,
            })
            .collect();
        links.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.item.cmp(&b.item))
        });
        (links, noise)
    }

    fn domains_under(&self, item: ItemId, registrable: &str) -> Vec<String> {
        self.observables[item as usize]
            .iter()
            .filter_map(|o| match o {
                Observable::Domain(d)
                    if normalize::registrable_domain(d).as_deref() == Some(registrable) =>
                {
                    Some(d.clone())
                }
                _ => None,
            })
            .collect()
    }

    fn urls_on(&self, item: ItemId, host: &Observable) -> Vec<String> {
        self.observables[item as usize]
            .iter()
            .filter_map(|o| match o {
                Observable::Url(u) if normalize::url_host(u).as_ref() == Some(host) => {
                    Some(u.clone())
                }
                _ => None,
            })
            .collect()
    }

    fn fuzzy_ssdeep(&self, ours: &str, link: &mut dyn FnMut(ItemId, Reason)) {
        let Ok((_, grams)) = fuzzy::ssdeep_grams(ours) else {
            return;
        };
        let mut seen = FxHashSet::default();
        for gram in grams {
            let Ok(items) = self.posting(&format!("ssdeep-gram:{gram}")) else {
                continue;
            };
            for &other in items {
                if !seen.insert(other) {
                    continue;
                }
                for o in &self.observables[other as usize] {
                    if let Observable::Ssdeep(theirs) = o
                        && theirs != ours
                        && let Ok(score) = fuzzy::ssdeep_score(ours, theirs)
                        && score >= self.config.ssdeep_min_score
                    {
                        link(
                            other,
                            Reason::Ssdeep {
                                ours: ours.to_owned(),
                                theirs: theirs.clone(),
                                score,
                            },
                        );
                    }
                }
            }
        }
    }

    fn fuzzy_tlsh(&self, ours: &str, link: &mut dyn FnMut(ItemId, Reason)) {
        let Ok(parsed) = Tlsh::parse(ours) else {
            return;
        };
        let mut seen = FxHashSet::default();
        let buckets = parsed.buckets();
        for (band, chunk) in buckets.chunks(128 / TLSH_BANDS).enumerate() {
            let code: String = chunk.iter().map(|b| char::from(b'0' + b)).collect();
            let Ok(items) = self.posting(&format!("tlsh-band:{band}:{code}")) else {
                continue;
            };
            for &other in items {
                if !seen.insert(other) {
                    continue;
                }
                for o in &self.observables[other as usize] {
                    if let Observable::Tlsh(theirs) = o
                        && theirs != ours
                        && let Ok(t) = Tlsh::parse(theirs)
                    {
                        let distance = parsed.distance(&t);
                        if distance <= self.config.tlsh_max_distance {
                            link(
                                other,
                                Reason::Tlsh {
                                    ours: ours.to_owned(),
                                    theirs: theirs.clone(),
                                    distance,
                                },
                            );
                        }
                    }
                }
            }
        }
    }

    /// Campaigns: items joined by links of at least `strong_link`, as
    /// connected components. A campaign is named after its earliest-added
    /// member, so its name stays when later items join it; when two merge,
    /// the older name wins.
    pub fn campaigns(&self) -> Vec<Campaign> {
        let n = self.names.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        for id in 0..n {
            let (links, _) = self.correlate(&self.names[id]);
            for l in links {
                if l.weight >= self.config.strong_link {
                    let other = self.ids[&l.item] as usize;
                    let (a, b) = (find(&mut parent, id), find(&mut parent, other));
                    // The smaller id (the older item) is the root, and so the name.
                    if a != b {
                        let (keep, merge) = if a < b { (a, b) } else { (b, a) };
                        parent[merge] = keep;
                    }
                }
            }
        }
        let mut groups: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for id in 0..n {
            let root = find(&mut parent, id);
            groups.entry(root).or_default().push(self.names[id].clone());
        }
        groups
            .into_iter()
            .filter(|(_, members)| members.len() > 1)
            .map(|(root, members)| Campaign {
                id: format!("cluster:{}", self.names[root]),
                members,
            })
            .collect()
    }
}

/// An address or range as (network, prefix) in the IPv6 space, IPv4 mapped
/// into `::ffff:0:0/96`.
fn ip_space(o: &Observable) -> Option<(u128, u8)> {
    match o {
        Observable::Ipv4(a) => Some((u128::from(a.to_ipv6_mapped()), 128)),
        Observable::Ipv6(a) => Some((u128::from(*a), 128)),
        Observable::Ipv4Net(a, p) => Some((u128::from(a.to_ipv6_mapped()), p + 96)),
        Observable::Ipv6Net(a, p) => Some((u128::from(*a), *p)),
        _ => None,
    }
}

fn is_mapped(address: u128) -> bool {
    address >> 32 == 0xffff
}

fn prefix_mask(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

/// The observable a (network, prefix) of [`ip_space`] stands for.
fn observable_in_space(network: u128, prefix: u8) -> Observable {
    let v6 = std::net::Ipv6Addr::from(network);
    match (v6.to_ipv4_mapped(), prefix) {
        (Some(v4), 128) => Observable::Ipv4(v4),
        (Some(v4), p) if p >= 96 => Observable::Ipv4Net(v4, p - 96),
        (_, 128) => Observable::Ipv6(v6),
        (_, p) => Observable::Ipv6Net(v6, p),
    }
}

/// Items joined by strong links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// `cluster:` and the earliest member's name: stable as the data grows.
    pub id: String,
    /// In the order they were added.
    pub members: Vec<String>,
}

/// File hash of the empty file, by algorithm: on every default warning list.
pub fn empty_file_hash(algo: HashAlgo) -> &'static str {
    match algo {
        HashAlgo::Md5 => "d41d8cd98f00b204e9800998ecf8427e",
        HashAlgo::Sha1 => "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        HashAlgo::Sha256 => "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        HashAlgo::Sha512 => {
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        }
    }
}
