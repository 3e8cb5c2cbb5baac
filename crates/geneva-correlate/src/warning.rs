//! Warning lists: values that are everywhere for innocent reasons (public
//! resolvers, private and reserved ranges, cloud and CDN ranges, the most
//! visited domains, the hashes of the empty file) and would link everything
//! to everything. Built in, and loaded from files, one value a line.

use geneva_observables::{HashAlgo, Observable, normalize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("warning list {list}, line {line}: {reason}")]
pub struct WarningError {
    pub list: String,
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct WarningLists {
    lists: Vec<(String, Vec<Observable>)>,
    /// Lookups built from `lists`: values by key, domains (which cover their
    /// subdomains) by name, and the ranges, each with its list's position.
    exact: rustc_hash::FxHashMap<Observable, usize>,
    domains: rustc_hash::FxHashMap<String, usize>,
    ranges: Vec<(Observable, usize)>,
}

const BUILTIN: &[(&str, &[&str])] = &[
    (
        "private-and-reserved-ranges",
        &[
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "224.0.0.0/4",
            "240.0.0.0/4",
            "::1/128",
            "::/128",
            "fc00::/7",
            "fe80::/10",
            "ff00::/8",
            "2001:db8::/32",
        ],
    ),
    (
        "public-dns-resolvers",
        &[
            "8.8.8.8",
            "8.8.4.4",
            "1.1.1.1",
            "1.0.0.1",
            "9.9.9.9",
            "149.112.112.112",
            "208.67.222.222",
            "208.67.220.220",
            "2001:4860:4860::8888",
            "2001:4860:4860::8844",
            "2606:4700:4700::1111",
            "2606:4700:4700::1001",
        ],
    ),
    ("empty-file-hashes", &[]),
];

impl WarningLists {
    /// The lists Geneva ships: private and reserved ranges (the documentation
    /// ranges included: examples are not evidence), public resolvers, and the
    /// hashes of the empty file.
    pub fn builtin() -> WarningLists {
        let mut lists = WarningLists::default();
        for (name, values) in BUILTIN {
            let text = values.join("\n");
            lists.add(name, &text).expect("built-in lists are valid");
        }
        let empty: Vec<Observable> = [
            HashAlgo::Md5,
            HashAlgo::Sha1,
            HashAlgo::Sha256,
            HashAlgo::Sha512,
        ]
        .into_iter()
        .map(|a| Observable::FileHash(a, crate::empty_file_hash(a).to_owned()))
        .collect();
        if let Some(list) = lists
            .lists
            .iter_mut()
            .find(|(n, _)| n == "empty-file-hashes")
        {
            list.1 = empty;
        }
        lists.reindex();
        lists
    }

    /// Adds a list from text: one IP address, CIDR range, domain (it and its
    /// subdomains) or file hash a line; `#` starts a comment.
    pub fn add(&mut self, name: &str, text: &str) -> Result<usize, WarningError> {
        let mut values = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let value = parse_value(line).ok_or_else(|| WarningError {
                list: name.to_owned(),
                line: n + 1,
                reason: format!("{line:?} is not an IP address, range, domain or file hash"),
            })?;
            values.push(value);
        }
        let count = values.len();
        match self.lists.iter_mut().find(|(n, _)| n == name) {
            Some(list) => list.1 = values,
            None => self.lists.push((name.to_owned(), values)),
        }
        self.reindex();
        Ok(count)
    }

    fn reindex(&mut self) {
        self.exact.clear();
        self.domains.clear();
        self.ranges.clear();
        for (position, (_, values)) in self.lists.iter().enumerate() {
            for v in values {
                match v {
                    Observable::Domain(d) => {
                        self.domains.entry(d.clone()).or_insert(position);
                    }
                    Observable::Ipv4Net(..) | Observable::Ipv6Net(..) => {
                        self.ranges.push((v.clone(), position))
                    }
                    other => {
                        self.exact.entry(other.clone()).or_insert(position);
                    }
                }
            }
        }
    }

    /// The list that covers `o`, if any (the first added, when several do).
    pub fn list_of(&self, o: &Observable) -> Option<&str> {
        self.position_of(o).map(|p| self.lists[p].0.as_str())
    }

    /// As [`list_of`](Self::list_of) for a URL whose host the caller has
    /// already taken (with [`normalize::url_host`]), to parse it once.
    pub fn list_of_url(&self, url: &Observable, host: Option<&Observable>) -> Option<&str> {
        self.position_of_with_host(url, host)
            .map(|p| self.lists[p].0.as_str())
    }

    fn position_of(&self, o: &Observable) -> Option<usize> {
        match o {
            Observable::Url(u) => self.position_of_with_host(o, normalize::url_host(u).as_ref()),
            _ => self.position_of_with_host(o, None),
        }
    }

    fn position_of_with_host(
        &self,
        o: &Observable,
        url_host: Option<&Observable>,
    ) -> Option<usize> {
        let mut best: Option<usize> = self.exact.get(o).copied();
        let mut consider = |p: usize| best = Some(best.map_or(p, |b| b.min(p)));
        match o {
            Observable::Domain(d) => {
                // The domain and each parent: a listed domain covers its subdomains.
                let mut rest = d.as_str();
                loop {
                    if let Some(&p) = self.domains.get(rest) {
                        consider(p);
                    }
                    match rest.split_once('.') {
                        Some((_, parent)) => rest = parent,
                        None => break,
                    }
                }
            }
            Observable::Url(_) => {
                if let Some(host) = url_host
                    && let Some(p) = self.position_of(host)
                {
                    consider(p);
                }
            }
            Observable::Ipv4(_)
            | Observable::Ipv6(_)
            | Observable::Ipv4Net(..)
            | Observable::Ipv6Net(..) => {
                for (range, p) in &self.ranges {
                    if covers(range, o) {
                        consider(*p);
                    }
                }
            }
            _ => {}
        }
        best
    }
}

fn parse_value(line: &str) -> Option<Observable> {
    if let Ok(o) = normalize::cidr(line) {
        return Some(o);
    }
    for algo in [
        HashAlgo::Md5,
        HashAlgo::Sha1,
        HashAlgo::Sha256,
        HashAlgo::Sha512,
    ] {
        if let Ok(h) = normalize::file_hash(algo, line) {
            return Some(Observable::FileHash(algo, h));
        }
    }
    normalize::domain(line).ok().map(Observable::Domain)
}

/// Whether a listed range covers an address or a narrower range of its family.
fn covers(listed: &Observable, o: &Observable) -> bool {
    match (listed, o) {
        (
            Observable::Ipv4Net(..) | Observable::Ipv6Net(..),
            Observable::Ipv4(_) | Observable::Ipv6(_),
        ) => normalize::contains(listed, o),
        (Observable::Ipv4Net(_, p), Observable::Ipv4Net(m, q)) => {
            q >= p && normalize::contains(listed, &Observable::Ipv4(*m))
        }
        (Observable::Ipv6Net(_, p), Observable::Ipv6Net(m, q)) => {
            q >= p && normalize::contains(listed, &Observable::Ipv6(*m))
        }
        _ => false,
    }
}
