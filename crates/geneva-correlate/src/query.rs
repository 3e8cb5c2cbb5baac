//! One correlation query: what an item shares with others, in two rounds of
//! batched lookups so that a store answers it in a handful of calls.
//!
//! Round one looks up the item's own values, the ranges containing its
//! addresses, its URLs' hosts, and the derived keys (registrable domain, URL
//! host, ssdeep grams, TLSH bands) and address ranges that lead to *other*
//! values. Round two looks up the postings of those other values that pass
//! the rules (a different domain under the same registrable domain, an ssdeep
//! score or TLSH distance within the thresholds, not on a warning list).

use std::collections::BTreeSet;

use async_trait::async_trait;
use geneva_observables::fuzzy::{self, Tlsh};
use geneva_observables::{Observable, normalize};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::{
    Config, Link, Noise, Reason, WarningLists, derived_hash, ip_space, is_mapped,
    observable_in_space, prefix_mask, registrable_key, ssdeep_gram_keys, tlsh_band_keys,
    url_host_key,
};

/// The answer for one key: the matches, or how many there are when they are
/// more than the cap asked for (then none are listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capped<T> {
    Within(Vec<T>),
    Over(usize),
}

/// An item carrying a value, and the object that carried it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hit {
    /// Shared, not copied: one item is hit by many values in a query.
    pub item: std::sync::Arc<str>,
    pub source: std::sync::Arc<str>,
}

/// Where postings come from. Implementations answer only with what the
/// caller may see; every method answers each of its keys in order.
#[async_trait]
pub trait Postings: Sync {
    type Error: Send;
    /// Prefix lengths (in the 128-bit space) of the ranges held.
    async fn range_prefixes(&self) -> Result<Vec<u8>, Self::Error>;
    /// Items carrying each value key.
    async fn postings(&self, keys: &[String], cap: usize) -> Result<Vec<Capped<Hit>>, Self::Error>;
    /// Value keys filed under each derived-key hash.
    async fn derived(
        &self,
        hashes: &[u64],
        cap: usize,
    ) -> Result<Vec<Capped<std::sync::Arc<str>>>, Self::Error>;
    /// Address value keys inside each inclusive range.
    async fn addresses(
        &self,
        ranges: &[(u128, u128)],
        cap: usize,
    ) -> Result<Vec<Capped<std::sync::Arc<str>>>, Self::Error>;
}

/// What a round-one value lookup means when it finds items.
enum Exact {
    Same(String),
    /// Our address (key) in a range (key) someone reported.
    InRange(String, String),
    /// Our URL on a host (key) someone reported.
    UrlHost(String, String),
}

/// What a derived or range lookup leads to.
enum Lead {
    Registrable { registrable: String, ours: String },
    UrlsOnHost { host: String },
    Ssdeep { ours: String },
    Tlsh { ours: String, parsed: Box<Tlsh> },
    AddressesIn { range: String },
}

/// IPv4, mapped into `::ffff:0:0/96`.
const MAPPED: (u128, u128) = (0xffff_u128 << 32, 0xffff_ffff_ffff_u128);

/// `start..=end` less the mapped IPv4 space: an IPv6 range shorter than /96
/// "contains" all of IPv4, which no one reporting `2000::/3` means.
fn without_mapped_space(start: u128, end: u128) -> Vec<(u128, u128)> {
    if end < MAPPED.0 || start > MAPPED.1 {
        return vec![(start, end)];
    }
    let mut spans = Vec::new();
    if start < MAPPED.0 {
        spans.push((start, MAPPED.0 - 1));
    }
    if end > MAPPED.1 {
        spans.push((MAPPED.1 + 1, end));
    }
    spans
}

fn url_host_key_of(host_key: &str) -> String {
    format!("url-host:{host_key}")
}

struct Links {
    item: String,
    found: FxHashMap<String, (Vec<Reason>, BTreeSet<String>)>,
}

impl Links {
    fn add(&mut self, hit: &Hit, reason: &Reason) {
        if *hit.item == *self.item {
            return;
        }
        // Most hits repeat an item and a source already found: no copies for those.
        if !self.found.contains_key(&*hit.item) {
            self.found.insert(hit.item.to_string(), Default::default());
        }
        let (reasons, via) = self.found.get_mut(&*hit.item).expect("inserted above");
        if !reasons.contains(reason) {
            reasons.push(reason.clone());
        }
        if !via.contains(&*hit.source) {
            via.insert(hit.source.to_string());
        }
    }
}

fn note(noise: &mut Vec<Noise>, key: String, items: usize) {
    let n = Noise::OverCorrelating { key, items };
    if !noise.contains(&n) {
        noise.push(n);
    }
}

/// Everything `item`, whose values are `own`, shares with other items,
/// strongest first, and the values left out as noise.
pub async fn correlate<P: Postings>(
    source: &P,
    item: &str,
    own: &[Observable],
    config: &Config,
    warnings: &WarningLists,
) -> Result<(Vec<Link>, Vec<Noise>), P::Error> {
    let cap = config.max_items_per_value;
    let mut noise = Vec::new();
    let mut kept: Vec<&Observable> = Vec::new();
    for o in own {
        match warnings.list_of(o) {
            Some(list) => {
                let n = Noise::Listed {
                    key: o.key(),
                    list: list.to_owned(),
                };
                if !noise.contains(&n) {
                    noise.push(n);
                }
            }
            None if !kept.contains(&o) => kept.push(o),
            None => {}
        }
    }
    let prefixes = if kept.iter().any(|o| ip_space(o).is_some()) {
        source.range_prefixes().await?
    } else {
        Vec::new()
    };

    let mut exact: Vec<(String, Exact)> = Vec::new();
    let mut leads: Vec<(u64, Lead)> = Vec::new();
    let mut ranges: Vec<((u128, u128), Lead)> = Vec::new();
    for o in &kept {
        let key = o.key();
        exact.push((key.clone(), Exact::Same(key.clone())));
        match o {
            Observable::Ipv4(_) | Observable::Ipv6(_) => {
                let (address, _) = ip_space(o).expect("an address");
                for &p in &prefixes {
                    // An IPv4 address is only in IPv4 ranges (IPv6 ranges
                    // shorter than /96 "contain" the whole mapped space).
                    if p >= 128 || (is_mapped(address) && p < 96) {
                        continue;
                    }
                    let range = observable_in_space(address & prefix_mask(p), p).key();
                    exact.push((range.clone(), Exact::InRange(key.clone(), range)));
                }
            }
            Observable::Ipv4Net(..) | Observable::Ipv6Net(..) => {
                let (start, p) = ip_space(o).expect("a range");
                let end = start | !prefix_mask(p);
                let spans = if p < 96 {
                    without_mapped_space(start, end)
                } else {
                    vec![(start, end)]
                };
                for span in spans {
                    ranges.push((span, Lead::AddressesIn { range: key.clone() }));
                }
            }
            Observable::Domain(d) => {
                if let Some(r) = normalize::registrable_domain(d) {
                    leads.push((
                        derived_hash(&registrable_key(&r)),
                        Lead::Registrable {
                            registrable: r,
                            ours: d.clone(),
                        },
                    ));
                }
                leads.push((
                    derived_hash(&url_host_key(o)),
                    Lead::UrlsOnHost { host: key.clone() },
                ));
            }
            Observable::Url(u) => {
                if let Some(host) = normalize::url_host(u) {
                    let host = host.key();
                    exact.push((host.clone(), Exact::UrlHost(u.clone(), host)));
                }
            }
            Observable::Ssdeep(s) => {
                for gram in ssdeep_gram_keys(s) {
                    leads.push((derived_hash(&gram), Lead::Ssdeep { ours: s.clone() }));
                }
            }
            Observable::Tlsh(t) => {
                if let Ok(parsed) = Tlsh::parse(t) {
                    for band in tlsh_band_keys(&parsed) {
                        leads.push((
                            derived_hash(&band),
                            Lead::Tlsh {
                                ours: t.clone(),
                                parsed: Box::new(parsed.clone()),
                            },
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    let exact_keys: Vec<String> = exact.iter().map(|(k, _)| k.clone()).collect();
    let hashes: Vec<u64> = leads.iter().map(|(h, _)| *h).collect();
    let spans: Vec<(u128, u128)> = ranges.iter().map(|(r, _)| *r).collect();
    let exact_hits = source.postings(&exact_keys, cap).await?;
    let derived = if hashes.is_empty() {
        Vec::new()
    } else {
        source.derived(&hashes, cap).await?
    };
    let inside = if spans.is_empty() {
        Vec::new()
    } else {
        source.addresses(&spans, cap).await?
    };

    let mut links = Links {
        item: item.to_owned(),
        found: FxHashMap::default(),
    };
    for ((_, meaning), hits) in exact.iter().zip(exact_hits) {
        match (meaning, hits) {
            (Exact::Same(key), Capped::Over(n)) => note(&mut noise, key.clone(), n),
            (_, Capped::Over(_)) => {}
            (meaning, Capped::Within(hits)) => {
                let reason = match meaning {
                    Exact::Same(key) => Reason::Same { key: key.clone() },
                    Exact::InRange(address, range) => Reason::InRange {
                        address: address.clone(),
                        range: range.clone(),
                    },
                    Exact::UrlHost(url, host) => Reason::UrlHost {
                        url: url.clone(),
                        host: host.clone(),
                    },
                };
                for hit in &hits {
                    links.add(hit, &reason);
                }
            }
        }
    }

    // Round two: the other values the leads found, each judged once. Each
    // of our values is a group: when the other values it leads to are in
    // more items together than the cap (a registrable domain with hosts
    // everywhere, a file family spread over many incidents), the group is
    // noise, as one over-correlating value would be.
    let mut second: Vec<(std::sync::Arc<str>, Reason, String)> = Vec::new();
    let mut judged: FxHashSet<(&str, std::sync::Arc<str>)> = FxHashSet::default();
    let candidates = leads
        .iter()
        .map(|(_, lead)| lead)
        .zip(derived)
        .chain(ranges.iter().map(|(_, lead)| lead).zip(inside));
    for (lead, values) in candidates {
        let values = match values {
            Capped::Within(values) => values,
            Capped::Over(n) => {
                match lead {
                    Lead::Registrable { registrable, .. } => {
                        note(&mut noise, registrable_key(registrable), n)
                    }
                    Lead::AddressesIn { range } => note(&mut noise, range.clone(), n),
                    _ => {}
                }
                continue;
            }
        };
        let ours_key = match lead {
            Lead::Registrable { ours, .. } => ours,
            Lead::UrlsOnHost { host } => host,
            Lead::Ssdeep { ours } | Lead::Tlsh { ours, .. } => ours,
            Lead::AddressesIn { range } => range,
        };
        for theirs in values {
            // The grams of one digest lead to the same files over and over:
            // each pair is parsed and judged once.
            if !judged.insert((ours_key.as_str(), theirs.clone())) {
                continue;
            }
            let Some(theirs_o) = Observable::from_key(&theirs) else {
                continue;
            };
            if warnings.list_of(&theirs_o).is_some() {
                continue;
            }
            let reason = match (lead, &theirs_o) {
                (Lead::Registrable { registrable, ours }, Observable::Domain(d)) if d != ours => {
                    Reason::SameRegistrableDomain {
                        registrable: registrable.clone(),
                        ours: ours.clone(),
                        theirs: d.clone(),
                    }
                }
                (Lead::UrlsOnHost { host }, Observable::Url(u))
                    if normalize::url_host(u).is_some_and(|h| h.key() == *host) =>
                {
                    Reason::UrlHost {
                        url: u.clone(),
                        host: host.clone(),
                    }
                }
                (Lead::Ssdeep { ours }, Observable::Ssdeep(t)) if t != ours => {
                    match fuzzy::ssdeep_score(ours, t) {
                        Ok(score) if score >= config.ssdeep_min_score => Reason::Ssdeep {
                            ours: ours.clone(),
                            theirs: t.clone(),
                            score,
                        },
                        _ => continue,
                    }
                }
                (Lead::Tlsh { ours, parsed }, Observable::Tlsh(t)) if t != ours => {
                    match Tlsh::parse(t).map(|theirs| parsed.distance(&theirs)) {
                        Ok(distance) if distance <= config.tlsh_max_distance => Reason::Tlsh {
                            ours: ours.clone(),
                            theirs: t.clone(),
                            distance,
                        },
                        _ => continue,
                    }
                }
                (Lead::AddressesIn { range }, Observable::Ipv4(_) | Observable::Ipv6(_)) => {
                    Reason::InRange {
                        address: theirs.to_string(),
                        range: range.clone(),
                    }
                }
                _ => continue,
            };
            let group = match lead {
                Lead::Registrable { registrable, .. } => registrable_key(registrable),
                Lead::UrlsOnHost { host } => url_host_key_of(host),
                Lead::Ssdeep { ours } => format!("ssdeep:{ours}"),
                Lead::Tlsh { ours, .. } => format!("tlsh:{ours}"),
                Lead::AddressesIn { range } => range.clone(),
            };
            second.push((theirs, reason, group));
        }
    }
    if !second.is_empty() {
        // Each group's candidates are read a slice at a time (cap + 1, then
        // twice as many each round) and a group stops as soon as it reaches
        // more items than the cap: what it reaches only grows with more
        // candidates, so the verdict is the one reading them all would give,
        // and a hot file family costs one slice instead of hundreds of reads.
        let mut groups: Vec<&str> = Vec::new();
        let mut members: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
        for (i, (_, _, group)) in second.iter().enumerate() {
            let list = members.entry(group.as_str()).or_insert_with(|| {
                groups.push(group.as_str());
                Vec::new()
            });
            list.push(i);
        }
        let mut hits: Vec<Option<Capped<Hit>>> = vec![None; second.len()];
        let mut reached: FxHashMap<&str, FxHashSet<std::sync::Arc<str>>> = FxHashMap::default();
        let mut over: FxHashSet<&str> = FxHashSet::default();
        let mut read: FxHashMap<&str, usize> = FxHashMap::default();
        let mut slice = cap + 1;
        loop {
            let mut ask: Vec<usize> = Vec::new();
            for group in &groups {
                if over.contains(group) {
                    continue;
                }
                let list = &members[group];
                let from = read.get(group).copied().unwrap_or(0);
                let to = (from + slice).min(list.len());
                ask.extend(&list[from..to]);
                read.insert(group, to);
            }
            if ask.is_empty() {
                break;
            }
            let keys: Vec<String> = ask.iter().map(|&i| second[i].0.to_string()).collect();
            let found = source.postings(&keys, cap).await?;
            for (&i, found) in ask.iter().zip(found) {
                let group = second[i].2.as_str();
                match &found {
                    Capped::Within(h) => {
                        let items = reached.entry(group).or_default();
                        items.extend(h.iter().map(|h| h.item.clone()));
                        if items.len() > cap {
                            over.insert(group);
                        }
                    }
                    Capped::Over(_) => {
                        over.insert(group);
                    }
                }
                hits[i] = Some(found);
            }
            slice = slice.saturating_mul(2);
        }
        for group in &groups {
            if over.contains(group) {
                let n = reached.get(group).map_or(cap + 1, |i| i.len().max(cap + 1));
                note(&mut noise, (*group).to_owned(), n);
            }
        }
        for ((_, reason, group), hits) in second.iter().zip(&hits) {
            if over.contains(group.as_str()) {
                continue;
            }
            if let Some(Capped::Within(hits)) = hits {
                for hit in hits {
                    links.add(hit, reason);
                }
            }
        }
    }

    let mut out: Vec<Link> = links
        .found
        .into_iter()
        .map(|(other, (reasons, via))| Link {
            item: other,
            weight: 1.0 - reasons.iter().map(|r| 1.0 - r.weight()).product::<f64>(),
            reasons,
            via: via.into_iter().collect(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then_with(|| a.item.cmp(&b.item))
    });
    Ok((out, noise))
}
