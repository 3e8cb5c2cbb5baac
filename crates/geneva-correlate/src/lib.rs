//! Correlation by postings, not pairs: each normalised value points at the
//! items (reports, incidents, indicators) it occurs in, so a value shared by n
//! items costs n entries, where MISP's pair tables cost n². Links are found at
//! query time: exact values, an address inside a reported range, the same
//! registrable domain, a URL's host, and fuzzy file hashes (ssdeep through
//! winnowed 7-character grams, TLSH through bands of its buckets), each with a
//! weight and the reason it was made. Values on warning lists (public
//! resolvers, cloud ranges, empty-file hashes…) are never linked, and a value
//! shared by more than a set number of items is flagged as over-correlating
//! instead. Campaigns are connected components over strong links, grouped
//! into communities over weak ones.
//!
//! This crate owns the link rules: which keys a value is filed under
//! ([`index_entry`]), how a query walks them ([`correlate`]) and how links
//! become clusters ([`cluster`]). It must never do I/O, know about STIX
//! documents, storage or TLP: postings come through the [`Postings`] trait,
//! already restricted to what the caller may see.
#![forbid(unsafe_code)]

mod warning;

mod cluster;
mod query;

use geneva_observables::fuzzy::{self, Tlsh};
use geneva_observables::{HashAlgo, Observable, normalize};

pub use cluster::{Campaign, Clusters, Community, cluster};
pub use query::{Capped, Hit, Postings, correlate};

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
    /// Lighter links at least this heavy join campaigns into a community.
    pub weak_link: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_items_per_value: 50,
            ssdeep_min_score: 60,
            tlsh_max_distance: 60,
            strong_link: 0.6,
            weak_link: 0.3,
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
    /// The objects its side of the evidence came from (itself, or the
    /// observables and indicators it refers to).
    pub via: Vec<String>,
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

/// TLSH buckets are cut into this many bands; two digests sharing a band
/// exactly become candidates (locality-sensitive hashing). Sixteen bands of
/// eight buckets find pairs differing in 15 of 128 buckets 99.9% of the time.
const TLSH_BANDS: usize = 16;

/// Winnowing window for ssdeep grams: about a fifth of the grams are kept,
/// and digests sharing 14 characters in a part still meet.
const SSDEEP_WINNOW: usize = 8;

/// A value as the index files it: its key, the derived keys that find it
/// (as stable hashes), and its place in the address space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub key: String,
    pub derived: Vec<u64>,
    pub address: Option<u128>,
    pub range_prefix: Option<u8>,
}

/// A stable 64-bit hash of a derived key: stored on disk, so it must never change.
pub fn derived_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

fn registrable_key(registrable: &str) -> String {
    format!("registrable:{registrable}")
}

fn url_host_key(host: &Observable) -> String {
    format!("url-host:{}", host.key())
}

fn ssdeep_gram_keys(digest: &str) -> Vec<String> {
    fuzzy::ssdeep_winnowed_grams(digest, SSDEEP_WINNOW)
        .map(|grams| {
            grams
                .into_iter()
                .map(|g| format!("ssdeep-gram:{g}"))
                .collect()
        })
        .unwrap_or_default()
}

fn tlsh_band_keys(digest: &Tlsh) -> Vec<String> {
    let buckets = digest.buckets();
    buckets
        .chunks(128 / TLSH_BANDS)
        .enumerate()
        .map(|(band, chunk)| {
            let code: String = chunk.iter().map(|b| char::from(b'0' + b)).collect();
            format!("tlsh-band:{band}:{code}")
        })
        .collect()
}

/// How the index files `o`.
pub fn index_entry(o: &Observable) -> IndexEntry {
    let derived: Vec<String> = match o {
        Observable::Domain(d) => normalize::registrable_domain(d)
            .map(|r| vec![registrable_key(&r)])
            .unwrap_or_default(),
        Observable::Url(u) => normalize::url_host(u)
            .map(|h| vec![url_host_key(&h)])
            .unwrap_or_default(),
        Observable::Ssdeep(s) => ssdeep_gram_keys(s),
        Observable::Tlsh(t) => Tlsh::parse(t)
            .map(|t| tlsh_band_keys(&t))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let (address, range_prefix) = match ip_space(o) {
        Some((a, 128)) => (Some(a), None),
        Some((_, p)) => (None, Some(p)),
        None => (None, None),
    };
    IndexEntry {
        key: o.key(),
        derived: derived.iter().map(|k| derived_hash(k)).collect(),
        address,
        range_prefix,
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
