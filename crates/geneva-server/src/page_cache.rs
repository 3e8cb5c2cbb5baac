//! Serialised TAXII object pages kept between requests.
//!
//! Members' systems poll the same collections page by page, so the same
//! listing is read, serialised and sent again and again; serving it from
//! memory is what lets 64 clients walk ATT&CK at several thousand pages a
//! second (BENCHMARKS.md). An entry is keyed by everything the page depends
//! on: the viewer (TLP rules differ per organisation and user), the whole
//! query (the collection's scope, every filter, the cursor, the limit) and
//! the store's read generation, read *before* the page was. So a page is
//! never older than the generation it is filed under, and any committed
//! write to what a listing reads (a new object or version, a recipient, a
//! group's membership, an organisation, a user), by this process or another
//! on the same database, empties the cache at the next request. Reads that
//! must be audited (TLP:AMBER and above) still are, on every hit.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use geneva_stix::Tlp;
use geneva_store::{VersionPage, VersionQuery, Viewer};

/// What identifies one page for one viewer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PageKey {
    pub viewer: Viewer,
    pub query: VersionQuery,
}

/// One object version a page reveals that must be audited when read.
#[derive(Debug, Clone)]
pub(crate) struct AuditedRead {
    pub id: String,
    pub tlp: Tlp,
    pub version: Option<String>,
}

/// A page as sent: the envelope and the headers computed from its items.
#[derive(Debug)]
pub(crate) struct CachedPage {
    pub body: Bytes,
    pub date_added_first: Option<String>,
    pub date_added_last: Option<String>,
    pub audited: Vec<AuditedRead>,
}

impl CachedPage {
    pub(crate) fn new(page: &VersionPage, body: Bytes) -> CachedPage {
        CachedPage {
            body,
            date_added_first: page.items.first().map(|v| v.submitted_at.clone()),
            date_added_last: page.items.last().map(|v| v.submitted_at.clone()),
            audited: page
                .items
                .iter()
                .filter(|v| v.tlp >= Tlp::Amber)
                .map(|v| AuditedRead {
                    id: v.id.clone(),
                    tlp: v.tlp,
                    version: v.version.clone(),
                })
                .collect(),
        }
    }

    /// What the entry holds, for the byte budget.
    fn size(&self, key: &PageKey) -> usize {
        let query = &key.query;
        self.body.len()
            + self.date_added_first.as_ref().map_or(0, String::len)
            + self.date_added_last.as_ref().map_or(0, String::len)
            + self
                .audited
                .iter()
                .map(|a| a.id.len() + a.version.as_ref().map_or(0, String::len) + 32)
                .sum::<usize>()
            + query
                .ids
                .iter()
                .chain(&query.types)
                .map(String::len)
                .sum::<usize>()
            + query.after.as_ref().map_or(0, |c| c.0.len())
            + 256
    }
}

#[derive(Default)]
struct Entries {
    generation: u64,
    pages: HashMap<PageKey, Arc<CachedPage>>,
    /// Insertion order, for eviction: the oldest page goes first.
    order: VecDeque<PageKey>,
    bytes: usize,
}

/// The cache, bounded in bytes; a budget of zero turns it off.
pub(crate) struct PageCache {
    budget: usize,
    entries: Mutex<Entries>,
}

impl PageCache {
    pub(crate) fn new(budget_bytes: usize) -> PageCache {
        PageCache {
            budget: budget_bytes,
            entries: Mutex::default(),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// The page filed under `key` at exactly `generation`.
    pub(crate) fn get(&self, generation: u64, key: &PageKey) -> Option<Arc<CachedPage>> {
        let entries = self.entries.lock().ok()?;
        if entries.generation != generation {
            return None;
        }
        entries.pages.get(key).cloned()
    }

    /// Files a page read after `generation` was. A newer generation empties
    /// the cache first; a page from an older one is not kept.
    pub(crate) fn put(&self, generation: u64, key: PageKey, page: Arc<CachedPage>) {
        if !self.enabled() {
            return;
        }
        let size = page.size(&key);
        if size > self.budget {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if generation > entries.generation {
            *entries = Entries {
                generation,
                ..Entries::default()
            };
        } else if generation < entries.generation {
            return;
        }
        if let Some(old) = entries.pages.insert(key.clone(), page) {
            // Two requests raced to fill the same page; keep one in the count.
            entries.bytes -= old.size(&key);
        } else {
            entries.order.push_back(key);
        }
        entries.bytes += size;
        while entries.bytes > self.budget {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            if let Some(evicted) = entries.pages.remove(&oldest) {
                entries.bytes -= evicted.size(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(limit: usize) -> PageKey {
        PageKey {
            viewer: Viewer::Anonymous,
            query: VersionQuery {
                limit,
                ..VersionQuery::default()
            },
        }
    }

    fn page(bytes: usize) -> Arc<CachedPage> {
        Arc::new(CachedPage {
            body: Bytes::from(vec![b' '; bytes]),
            date_added_first: None,
            date_added_last: None,
            audited: Vec::new(),
        })
    }

    #[test]
    fn a_page_is_served_only_at_its_generation_and_key() {
        let cache = PageCache::new(1 << 20);
        cache.put(3, key(10), page(100));
        assert!(cache.get(3, &key(10)).is_some());
        assert!(cache.get(3, &key(11)).is_none(), "another query");
        assert!(cache.get(4, &key(10)).is_none(), "a newer generation");
        let member = PageKey {
            viewer: Viewer::Member {
                organisation: 1,
                user: None,
            },
            ..key(10)
        };
        assert!(cache.get(3, &member).is_none(), "another viewer");
    }

    #[test]
    fn a_newer_generation_empties_it_and_an_older_one_is_not_kept() {
        let cache = PageCache::new(1 << 20);
        cache.put(3, key(10), page(100));
        cache.put(4, key(11), page(100));
        assert!(cache.get(4, &key(11)).is_some());
        assert!(cache.get(3, &key(10)).is_none());
        assert!(cache.get(4, &key(10)).is_none());
        cache.put(3, key(12), page(100));
        assert!(cache.get(3, &key(12)).is_none());
        assert!(cache.get(4, &key(12)).is_none());
    }

    #[test]
    fn the_oldest_pages_leave_when_the_budget_is_spent() {
        let one = page(1000).size(&key(1));
        let cache = PageCache::new(3 * one);
        for limit in 1..=5 {
            cache.put(1, key(limit), page(1000));
        }
        let kept: Vec<usize> = (1..=5)
            .filter(|&l| cache.get(1, &key(l)).is_some())
            .collect();
        assert_eq!(kept, vec![3, 4, 5]);
        assert!(cache.entries.lock().unwrap().bytes <= 3 * one);
        cache.put(1, key(9), page(10 * one));
        assert!(cache.get(1, &key(9)).is_none(), "larger than the budget");
    }

    #[test]
    fn a_zero_budget_keeps_nothing() {
        let cache = PageCache::new(0);
        cache.put(1, key(1), page(10));
        assert!(cache.get(1, &key(1)).is_none());
    }
}
