//! Observables: the values correlation compares, taken from STIX
//! cyber-observables and from indicator patterns, and normalised so that two
//! spellings of one thing become one key (`1.2.3.4` and `::ffff:1.2.3.4`,
//! `Example.COM.` and `example.com`, `hxxp://evil[.]com` and
//! `http://evil.com/`).
//!
//! This crate owns normalisation ([`normalize`]) and extraction
//! ([`extract`]). It must never touch storage, the network or files, and never
//! decide what correlates with what: it turns evidence into comparable keys.
#![forbid(unsafe_code)]

pub mod extract;
pub mod fuzzy;
pub mod normalize;

use std::net::{Ipv4Addr, Ipv6Addr};

pub use normalize::NormalizeError;

/// File hash algorithms that identify a file exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlgo {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl HashAlgo {
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "md5",
            HashAlgo::Sha1 => "sha1",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha512 => "sha512",
        }
    }

    /// Hex digits in a hash of this kind.
    pub fn hex_len(self) -> usize {
        match self {
            HashAlgo::Md5 => 32,
            HashAlgo::Sha1 => 40,
            HashAlgo::Sha256 => 64,
            HashAlgo::Sha512 => 128,
        }
    }

    /// The STIX hash-algorithm-ov names (and the spellings seen in the wild).
    pub fn from_stix(name: &str) -> Option<HashAlgo> {
        match name.to_ascii_uppercase().replace(['-', '_'], "").as_str() {
            "MD5" => Some(HashAlgo::Md5),
            "SHA1" => Some(HashAlgo::Sha1),
            "SHA256" => Some(HashAlgo::Sha256),
            "SHA512" => Some(HashAlgo::Sha512),
            _ => None,
        }
    }
}

/// A normalised observable value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Observable {
    /// An IPv4 address (IPv4-mapped IPv6 addresses become this).
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// A CIDR range, network address with host bits cleared.
    Ipv4Net(Ipv4Addr, u8),
    Ipv6Net(Ipv6Addr, u8),
    /// A domain name: ASCII (IDNA), lower case, no trailing dot.
    Domain(String),
    /// A URL normalised per RFC 3986 (see [`normalize::url`]).
    Url(String),
    /// An e-mail address, its domain normalised as a domain.
    Email(String),
    FileHash(HashAlgo, String),
    /// `blocksize:hash1:hash2`, as ssdeep prints it.
    Ssdeep(String),
    /// TLSH digest, upper-case hex with its `T1` version prefix.
    Tlsh(String),
    /// An X.509 certificate's serial number, lower-case hex without separators.
    X509Serial(String),
    /// An autonomous system number.
    Asn(u32),
    Mac([u8; 6]),
    /// A Windows registry key, hive spelled out, lower case.
    RegistryKey(String),
    Mutex(String),
}

impl Observable {
    /// The kind, as keys and STIX spell it.
    pub fn kind(&self) -> &'static str {
        match self {
            Observable::Ipv4(_) => "ipv4",
            Observable::Ipv6(_) => "ipv6",
            Observable::Ipv4Net(..) => "ipv4-net",
            Observable::Ipv6Net(..) => "ipv6-net",
            Observable::Domain(_) => "domain",
            Observable::Url(_) => "url",
            Observable::Email(_) => "email",
            Observable::FileHash(algo, _) => algo.as_str(),
            Observable::Ssdeep(_) => "ssdeep",
            Observable::Tlsh(_) => "tlsh",
            Observable::X509Serial(_) => "x509-serial",
            Observable::Asn(_) => "asn",
            Observable::Mac(_) => "mac",
            Observable::RegistryKey(_) => "regkey",
            Observable::Mutex(_) => "mutex",
        }
    }

    /// The observable a person most likely means by `text` typed into a
    /// search box: defanged first (`hxxp://evil[.]com`), then read as an IP
    /// address, a CIDR range, a URL, an e-mail address, a file hash (by its
    /// length in hex), an ssdeep digest or a domain, in that order; or a key
    /// (`ipv4:1.2.3.4`). `None` for anything else.
    pub fn guess(text: &str) -> Option<Observable> {
        let text = normalize::defang(text.trim());
        if text.is_empty() || text.len() > 4_096 {
            return None;
        }
        if let Some(o) = Observable::from_key(&text) {
            return Some(o);
        }
        if let Ok(o) = normalize::ip(&text) {
            return Some(o);
        }
        if text.contains('/')
            && !text.contains("://")
            && let Ok(o) = normalize::cidr(&text)
        {
            return Some(o);
        }
        if text.contains("://") {
            return normalize::url(&text).ok().map(Observable::Url);
        }
        if text.contains('@') {
            return normalize::email(&text).ok().map(Observable::Email);
        }
        if text.bytes().all(|b| b.is_ascii_hexdigit()) {
            let algo = match text.len() {
                32 => HashAlgo::Md5,
                40 => HashAlgo::Sha1,
                64 => HashAlgo::Sha256,
                128 => HashAlgo::Sha512,
                _ => return None,
            };
            return normalize::file_hash(algo, &text)
                .ok()
                .map(|h| Observable::FileHash(algo, h));
        }
        if text.matches(':').count() == 2
            && let Ok(d) = normalize::ssdeep(&text)
        {
            return Some(Observable::Ssdeep(d));
        }
        if text.contains('.') {
            return normalize::domain(&text).ok().map(Observable::Domain);
        }
        None
    }

    /// The observable a [`key`](Observable::key) names, normalised again:
    /// `None` for text that is not a key of a valid value.
    pub fn from_key(key: &str) -> Option<Observable> {
        let (kind, value) = key.split_once(':')?;
        let o = match kind {
            "ipv4" | "ipv6" => normalize::ip(value).ok()?,
            "ipv4-net" | "ipv6-net" => normalize::cidr(value).ok()?,
            "domain" => Observable::Domain(normalize::domain(value).ok()?),
            "url" => Observable::Url(normalize::url(value).ok()?),
            "email" => Observable::Email(normalize::email(value).ok()?),
            "ssdeep" => Observable::Ssdeep(normalize::ssdeep(value).ok()?),
            "tlsh" => Observable::Tlsh(normalize::tlsh(value).ok()?),
            "x509-serial" => Observable::X509Serial(normalize::x509_serial(value).ok()?),
            "asn" => Observable::Asn(value.parse().ok()?),
            "mac" => Observable::Mac(normalize::mac(value).ok()?),
            "regkey" => Observable::RegistryKey(normalize::registry_key(value).ok()?),
            "mutex" => Observable::Mutex(value.to_owned()),
            other => {
                let algo = HashAlgo::from_stix(other)?;
                Observable::FileHash(algo, normalize::file_hash(algo, value).ok()?)
            }
        };
        (o.key() == key).then_some(o)
    }

    /// The observable a key made by [`key`](Observable::key) names, without
    /// normalising it again: for keys read back from an index that only
    /// files keys of normalised values, where normalising (IDNA, URL
    /// parsing) would cost more than the lookup. Text that is not such a
    /// key may give an observable that matches nothing; it never panics.
    pub fn from_index_key(key: &str) -> Option<Observable> {
        let (kind, value) = key.split_once(':')?;
        fn net(value: &str) -> Option<(&str, u8)> {
            let (address, prefix) = value.split_once('/')?;
            Some((address, prefix.parse().ok()?))
        }
        Some(match kind {
            "ipv4" => Observable::Ipv4(value.parse().ok()?),
            "ipv6" => Observable::Ipv6(value.parse().ok()?),
            "ipv4-net" => {
                let (address, prefix) = net(value)?;
                Observable::Ipv4Net(address.parse().ok()?, prefix)
            }
            "ipv6-net" => {
                let (address, prefix) = net(value)?;
                Observable::Ipv6Net(address.parse().ok()?, prefix)
            }
            "domain" => Observable::Domain(value.to_owned()),
            "url" => Observable::Url(value.to_owned()),
            "email" => Observable::Email(value.to_owned()),
            "ssdeep" => Observable::Ssdeep(value.to_owned()),
            "tlsh" => Observable::Tlsh(value.to_owned()),
            "x509-serial" => Observable::X509Serial(value.to_owned()),
            "regkey" => Observable::RegistryKey(value.to_owned()),
            "mutex" => Observable::Mutex(value.to_owned()),
            "md5" => Observable::FileHash(HashAlgo::Md5, value.to_owned()),
            "sha1" => Observable::FileHash(HashAlgo::Sha1, value.to_owned()),
            "sha256" => Observable::FileHash(HashAlgo::Sha256, value.to_owned()),
            "sha512" => Observable::FileHash(HashAlgo::Sha512, value.to_owned()),
            _ => return Observable::from_key(key),
        })
    }

    /// `kind:value`: equal keys mean the same thing.
    pub fn key(&self) -> String {
        let value = match self {
            Observable::Ipv4(a) => a.to_string(),
            Observable::Ipv6(a) => a.to_string(),
            Observable::Ipv4Net(a, p) => format!("{a}/{p}"),
            Observable::Ipv6Net(a, p) => format!("{a}/{p}"),
            Observable::Domain(s)
            | Observable::Url(s)
            | Observable::Email(s)
            | Observable::FileHash(_, s)
            | Observable::Ssdeep(s)
            | Observable::Tlsh(s)
            | Observable::X509Serial(s)
            | Observable::RegistryKey(s)
            | Observable::Mutex(s) => s.clone(),
            Observable::Asn(n) => n.to_string(),
            Observable::Mac(m) => m
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        };
        format!("{}:{value}", self.kind())
    }
}
