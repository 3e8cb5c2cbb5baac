//! One correlation query: what an item shares with others, in two rounds of
//! batched lookups so that a store answers it in a handful of calls.
//!
//! Round one looks up the item's own values, the ranges containing its
//! addresses, its URLs' hosts, and the derived keys (registrable domain, URL
//! host, ssdeep grams, TLSH bands) and address ranges that lead to *other*
//! values. Round two looks up the postings of those other values that pass
//! the rules (a different domain under the same registrable domain, an ssdeep
//! score or TLSH distance within the thresholds, not on a warning list).

use async_trait::async_trait;
use geneva_observables::fuzzy::{SsdeepDigest, Tlsh};
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

/// An item carrying a value, and the object that carried it, as numbers the
/// source gives its objects (equal numbers, equal objects): a query meets
/// thousands of hits and reports a few hundred links, so it names only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hit {
    pub item: u64,
    pub source: u64,
}

/// Where postings come from. Implementations answer only with what the
/// caller may see; every method answers each of its keys in order.
#[async_trait]
pub trait Postings: Sync {
    type Error: Send;
    /// Prefix lengths (in the 128-bit space) of the ranges held.
    async fn range_prefixes(&self) -> Result<Vec<u8>, Self::Error>;
    /// Items carrying each value key.
    async fn postings(&self, keys: &[&str], cap: usize) -> Result<Vec<Capped<Hit>>, Self::Error>;
    /// Value keys filed under each derived-key hash.
    async fn derived(
        &self,
        hashes: &[u64],
        cap: usize,
    ) -> Result<Vec<Capped<std::sync::Arc<str>>>, Self::Error>;
    /// The STIX ids of objects hits named; `None` for one the source no
    /// longer knows (its index was rebuilt meanwhile), which is left out.
    async fn names(&self, objects: &[u64])
    -> Result<Vec<Option<std::sync::Arc<str>>>, Self::Error>;
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
    Registrable {
        registrable: String,
        ours: String,
    },
    UrlsOnHost {
        host: String,
    },
    Ssdeep {
        ours: String,
        parsed: Box<SsdeepDigest>,
    },
    Tlsh {
        ours: String,
        parsed: Box<Tlsh>,
    },
    AddressesIn {
        range: String,
    },
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

/// What each other item shares, by object number; the item asked about is
/// told apart by name once the numbers are named.
#[derive(Default)]
struct Links {
    found: FxHashMap<u64, (Vec<Reason>, Vec<u64>)>,
}

impl Links {
    fn add(&mut self, hit: &Hit, reason: &Reason) {
        let (reasons, via) = self.found.entry(hit.item).or_default();
        if !reasons.contains(reason) {
            reasons.push(reason.clone());
        }
        if !via.contains(&hit.source) {
            via.push(hit.source);
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
                if let Ok(parsed) = SsdeepDigest::parse(s) {
                    for gram in ssdeep_gram_keys(s) {
                        leads.push((
                            derived_hash(&gram),
                            Lead::Ssdeep {
                                ours: s.clone(),
                                parsed: Box::new(parsed.clone()),
                            },
                        ));
                    }
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

    let exact_keys: Vec<&str> = exact.iter().map(|(k, _)| k.as_str()).collect();
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

    let mut links = Links::default();
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
    let mut second: Vec<(std::sync::Arc<str>, Reason, usize)> = Vec::new();
    // The group of each of our values, named once however many candidates it has.
    let mut group_names: Vec<String> = Vec::new();
    let mut group_of: FxHashMap<String, usize> = FxHashMap::default();
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
            Lead::Ssdeep { ours, .. } | Lead::Tlsh { ours, .. } => ours,
            Lead::AddressesIn { range } => range,
        };
        let group_name = match lead {
            Lead::Registrable { registrable, .. } => registrable_key(registrable),
            Lead::UrlsOnHost { host } => url_host_key_of(host),
            Lead::Ssdeep { ours, .. } => format!("ssdeep:{ours}"),
            Lead::Tlsh { ours, .. } => format!("tlsh:{ours}"),
            Lead::AddressesIn { range } => range.clone(),
        };
        let group = match group_of.get(&group_name) {
            Some(&g) => g,
            None => {
                group_names.push(group_name.clone());
                group_of.insert(group_name, group_names.len() - 1);
                group_names.len() - 1
            }
        };
        for theirs in values {
            // The grams of one digest lead to the same files over and over:
            // each pair is parsed and judged once.
            if !judged.insert((ours_key.as_str(), theirs.clone())) {
                continue;
            }
            let Some(theirs_o) = Observable::from_index_key(&theirs) else {
                continue;
            };
            let url_host = match &theirs_o {
                Observable::Url(u) => normalize::url_host(u),
                _ => None,
            };
            let listed = match &theirs_o {
                Observable::Url(_) => warnings.list_of_url(&theirs_o, url_host.as_ref()),
                _ => warnings.list_of(&theirs_o),
            };
            if listed.is_some() {
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
                    if url_host.as_ref().is_some_and(|h| h.key() == *host) =>
                {
                    Reason::UrlHost {
                        url: u.clone(),
                        host: host.clone(),
                    }
                }
                (Lead::Ssdeep { ours, parsed }, Observable::Ssdeep(t)) if t != ours => {
                    match SsdeepDigest::parse(t).map(|theirs| parsed.score(&theirs)) {
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
            second.push((theirs, reason, group));
        }
    }
    if !second.is_empty() {
        // Each group's candidates are read a slice at a time (cap + 1, then
        // twice as many each round) and a group stops as soon as it reaches
        // more items than the cap: what it reaches only grows with more
        // candidates, so the verdict is the one reading them all would give,
        // and a hot file family costs one slice instead of hundreds of reads.
        let mut groups: Vec<usize> = Vec::new();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); group_names.len()];
        for (i, &(_, _, group)) in second.iter().enumerate() {
            if members[group].is_empty() {
                groups.push(group);
            }
            members[group].push(i);
        }
        let mut hits: Vec<Option<Capped<Hit>>> = vec![None; second.len()];
        let mut reached: Vec<FxHashSet<u64>> = vec![FxHashSet::default(); group_names.len()];
        let mut over = vec![false; group_names.len()];
        let mut read = vec![0usize; group_names.len()];
        let mut slice = cap + 1;
        loop {
            let mut ask: Vec<usize> = Vec::new();
            for &group in &groups {
                if over[group] {
                    continue;
                }
                let list = &members[group];
                let from = read[group];
                let to = (from + slice).min(list.len());
                ask.extend(&list[from..to]);
                read[group] = to;
            }
            if ask.is_empty() {
                break;
            }
            let keys: Vec<&str> = ask.iter().map(|&i| &*second[i].0).collect();
            let found = source.postings(&keys, cap).await?;
            for (&i, found) in ask.iter().zip(found) {
                let group = second[i].2;
                match &found {
                    Capped::Within(h) => {
                        let items = &mut reached[group];
                        items.extend(h.iter().map(|h| h.item));
                        if items.len() > cap {
                            over[group] = true;
                        }
                    }
                    Capped::Over(_) => over[group] = true,
                }
                hits[i] = Some(found);
            }
            slice = slice.saturating_mul(2);
        }
        for &group in &groups {
            if over[group] {
                let n = reached[group].len().max(cap + 1);
                note(&mut noise, group_names[group].clone(), n);
            }
        }
        for ((_, reason, group), hits) in second.iter().zip(&hits) {
            if over[*group] {
                continue;
            }
            if let Some(Capped::Within(hits)) = hits {
                for hit in hits {
                    links.add(hit, reason);
                }
            }
        }
    }

    let mut objects: Vec<u64> = links
        .found
        .iter()
        .flat_map(|(&other, (_, via))| std::iter::once(other).chain(via.iter().copied()))
        .collect();
    objects.sort_unstable();
    objects.dedup();
    let names: FxHashMap<u64, std::sync::Arc<str>> = objects
        .iter()
        .zip(source.names(&objects).await?)
        .filter_map(|(&o, name)| Some((o, name?)))
        .collect();
    let mut out: Vec<Link> = links
        .found
        .into_iter()
        .filter_map(|(other, (reasons, via))| {
            let other = names.get(&other)?;
            if **other == *item {
                return None;
            }
            let mut via: Vec<String> = via
                .iter()
                .filter_map(|s| names.get(s).map(|n| n.to_string()))
                .collect();
            via.sort_unstable();
            via.dedup();
            Some(Link {
                item: other.to_string(),
                weight: 1.0 - reasons.iter().map(|r| 1.0 - r.weight()).product::<f64>(),
                reasons,
                via,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then_with(|| a.item.cmp(&b.item))
    });
    Ok((out, noise))
}
