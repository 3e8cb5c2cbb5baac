//! The index itself, in memory: what a batch adds and what a lookup finds,
//! with no I/O and no notion of a viewer (the caller checks every version).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use geneva_store::{Capped, IndexBatch, IndexedValue, ObjectHandle, VersionAccess};

use crate::codec::Body;

/// Seeded per process: keys are written by whoever wrote the evidence.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

struct Value {
    key: Arc<str>,
    /// A range's prefix length (the other filing is kept by key).
    prefix: Option<u8>,
    /// (item, source) version pairs, sorted, distinct.
    postings: Vec<(u64, u64)>,
}

#[derive(Default)]
pub(crate) struct Memory {
    /// Which index this is: handles carry it, so that a handle given out
    /// before a rebuild is never read as another object after it.
    epoch: u32,
    pub cursor: Option<u64>,
    /// Batches applied since the index was empty: what the log chains on.
    pub batches: u64,
    by_key: Map<Arc<str>, u32>,
    values: Vec<Value>,
    derived: Map<u64, Vec<u32>>,
    /// (address, value): an address and a range starting at it are two values.
    addresses: BTreeSet<(u128, u32)>,
    prefixes: BTreeSet<u8>,
    /// (item, source) → the values that source gives the item, sorted.
    items: BTreeMap<(u64, u64), Vec<u32>>,
    references: Map<Box<str>, Vec<u64>>,
    /// Access facts of the versions postings name, with the version's
    /// object number (the facts' own `id` is left empty); found through a
    /// compact map from storage number to place and object, since a query
    /// looks up thousands and the operator needs only the object.
    access: Vec<(u32, VersionAccess)>,
    access_at: Map<u64, (u32, u32)>,
    /// Objects by number: one shared id for all versions of an object.
    objects: Vec<Arc<str>>,
    object_of: Map<Arc<str>, u32>,
    pub postings: u64,
    pub derived_rows: u64,
}

/// Inserts `x` into a sorted, distinct list; whether it was absent. Items and
/// sources are storage numbers, so nearly every insert is at the end.
fn insert_sorted<T: Ord + Copy>(list: &mut Vec<T>, x: T) -> bool {
    match list.last() {
        None => {
            list.push(x);
            true
        }
        Some(last) if *last < x => {
            list.push(x);
            true
        }
        _ => match list.binary_search(&x) {
            Ok(_) => false,
            Err(at) => {
                list.insert(at, x);
                true
            }
        },
    }
}

/// A batch in the form the log keeps: each distinct value once.
pub(crate) fn body_of(batch: IndexBatch) -> Body {
    let mut position: Map<String, u32> = Map::default();
    let mut values: Vec<IndexedValue> = Vec::new();
    let mut groups = Vec::with_capacity(batch.postings.len());
    for group in batch.postings {
        let mut ids = Vec::with_capacity(group.values.len());
        for value in group.values {
            let next = values.len() as u32;
            let id = *position.entry(value.key.clone()).or_insert(next);
            if id == next {
                values.push(value);
            }
            ids.push(id);
        }
        groups.push((group.item, group.source, ids));
    }
    Body {
        values,
        groups,
        references: batch.references,
        access: batch.access,
    }
}

static EPOCHS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

impl Memory {
    pub fn new() -> Memory {
        Memory {
            epoch: EPOCHS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            ..Memory::default()
        }
    }

    /// The number of the object with STIX id `id`, given one if new.
    pub fn object(&mut self, id: &str) -> u32 {
        if let Some(&n) = self.object_of.get(id) {
            return n;
        }
        let n = self.objects.len() as u32;
        let id: Arc<str> = Arc::from(id);
        self.objects.push(id.clone());
        self.object_of.insert(id, n);
        n
    }

    pub fn handle(&self, object: u32) -> ObjectHandle {
        ObjectHandle((u64::from(self.epoch) << 32) | u64::from(object))
    }

    /// The STIX id a handle of this index names.
    pub fn object_id(&self, handle: ObjectHandle) -> Option<&Arc<str>> {
        if (handle.0 >> 32) as u32 != self.epoch {
            return None;
        }
        self.objects.get(handle.0 as u32 as usize)
    }

    fn intern(&mut self, value: IndexedValue) -> u32 {
        if let Some(&id) = self.by_key.get(value.key.as_str()) {
            return id;
        }
        let id = self.values.len() as u32;
        let key: Arc<str> = Arc::from(value.key);
        self.by_key.insert(key.clone(), id);
        self.values.push(Value {
            key,
            prefix: value.range_prefix,
            postings: Vec::new(),
        });
        let mut derived = value.derived;
        derived.sort_unstable();
        derived.dedup();
        for d in derived {
            self.derived.entry(d).or_default().push(id);
            self.derived_rows += 1;
        }
        if let Some(a) = value.address {
            self.addresses.insert((a, id));
        }
        if let Some(p) = value.range_prefix {
            self.prefixes.insert(p);
        }
        id
    }

    pub fn apply(&mut self, body: Body) {
        let ids: Vec<u32> = body.values.into_iter().map(|v| self.intern(v)).collect();
        for (item, source, local) in body.groups {
            let mut vals: Vec<u32> = local.iter().map(|&i| ids[i as usize]).collect();
            for &v in &vals {
                if insert_sorted(&mut self.values[v as usize].postings, (item, source)) {
                    self.postings += 1;
                }
            }
            vals.sort_unstable();
            vals.dedup();
            match self.items.entry((item, source)) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(vals);
                }
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    for v in vals {
                        insert_sorted(e.get_mut(), v);
                    }
                }
            }
        }
        for (target, item) in body.references {
            insert_sorted(
                self.references.entry(target.into_boxed_str()).or_default(),
                item,
            );
        }
        self.keep_access(body.access);
    }

    fn keep_access(&mut self, access: Vec<VersionAccess>) {
        for mut a in access {
            let object = self.object(&std::mem::take(&mut a.id));
            match self.access_at.get(&a.seq) {
                Some(&(at, _)) => {
                    self.access_at.insert(a.seq, (at, object));
                    self.access[at as usize] = (object, a);
                }
                None => {
                    self.access_at
                        .insert(a.seq, (self.access.len() as u32, object));
                    self.access.push((object, a));
                }
            }
        }
    }

    /// The object and access facts of version `seq`, if a batch brought
    /// them. The facts are only read if the caller reads them.
    pub fn access(&self, seq: u64) -> Option<(u32, &VersionAccess)> {
        self.access_at
            .get(&seq)
            .map(|&(at, object)| (object, &self.access[at as usize].1))
    }

    /// The postings of one key, sorted and unique; empty when never indexed.
    pub fn postings_of(&self, key: &str) -> &[(u64, u64)] {
        match self.by_key.get(key) {
            Some(&id) => &self.values[id as usize].postings,
            None => &[],
        }
    }

    pub fn derived(&self, hashes: &[u64], cap: usize) -> Vec<Capped<std::sync::Arc<str>>> {
        hashes
            .iter()
            .map(|h| match self.derived.get(h) {
                None => Capped::Within(Vec::new()),
                Some(ids) if ids.len() > cap => Capped::Over(cap + 1),
                Some(ids) => Capped::Within(ids.iter().map(|&i| self.shared_key(i)).collect()),
            })
            .collect()
    }

    pub fn addresses(
        &self,
        ranges: &[(u128, u128)],
        cap: usize,
    ) -> Vec<Capped<std::sync::Arc<str>>> {
        ranges
            .iter()
            .map(|&(start, end)| {
                if start > end {
                    return Capped::Within(Vec::new());
                }
                let found: Vec<u32> = self
                    .addresses
                    .range((start, 0)..=(end, u32::MAX))
                    .take(cap + 1)
                    .map(|(_, v)| *v)
                    .collect();
                if found.len() > cap {
                    Capped::Over(found.len())
                } else {
                    Capped::Within(found.into_iter().map(|i| self.shared_key(i)).collect())
                }
            })
            .collect()
    }

    pub fn range_prefixes(&self) -> Vec<u8> {
        self.prefixes.iter().copied().collect()
    }

    pub fn referrers(&self, ids: &[String]) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for id in ids {
            for &item in self.references.get(id.as_str()).into_iter().flatten() {
                out.push((id.clone(), item));
            }
        }
        out
    }

    /// (source, value keys) for each source filed under item version `item`.
    pub fn item_sources(&self, item: u64) -> Vec<(u64, Vec<String>)> {
        self.items
            .range((item, 0)..=(item, u64::MAX))
            .map(|(&(_, source), vals)| (source, vals.iter().map(|&v| self.key(v)).collect()))
            .collect()
    }

    /// Every (item, source) pair filed.
    pub fn item_pairs(&self) -> Vec<(u64, u64)> {
        self.items.keys().copied().collect()
    }

    fn shared_key(&self, id: u32) -> Arc<str> {
        self.values[id as usize].key.clone()
    }

    fn key(&self, id: u32) -> String {
        self.values[id as usize].key.to_string()
    }

    pub fn values(&self) -> u64 {
        self.values.len() as u64
    }

    pub fn address_count(&self) -> u64 {
        self.addresses.len() as u64
    }

    /// Applies a snapshot chunk to an index loaded from the same snapshot so
    /// far: its values take the next ids, its groups name ids.
    pub fn apply_chunk(&mut self, body: Body) -> Result<(), String> {
        for value in body.values {
            let expected = self.values.len() as u32;
            if self.intern(value) != expected {
                return Err("a value appears twice".into());
            }
        }
        let known = self.values.len() as u32;
        for (item, source, ids) in body.groups {
            if let Some(bad) = ids.iter().find(|&&v| v >= known) {
                return Err(format!("value {bad} of {known}"));
            }
            for &v in &ids {
                if insert_sorted(&mut self.values[v as usize].postings, (item, source)) {
                    self.postings += 1;
                }
            }
            let mut ids = ids;
            ids.sort_unstable();
            ids.dedup();
            self.items.insert((item, source), ids);
        }
        for (target, item) in body.references {
            insert_sorted(
                self.references.entry(target.into_boxed_str()).or_default(),
                item,
            );
        }
        self.keep_access(body.access);
        Ok(())
    }

    /// The whole index as snapshot chunks: values in id order with how each
    /// was filed, then the groups and references.
    pub fn chunks(
        &self,
        per_chunk: usize,
        mut emit: impl FnMut(Body) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        // Derived keys and addresses are kept by key, not by value: turned around once here.
        let mut derived: Vec<(u32, u64)> = Vec::with_capacity(self.derived_rows as usize);
        for (&d, ids) in &self.derived {
            derived.extend(ids.iter().map(|&v| (v, d)));
        }
        derived.sort_unstable();
        let mut addresses: Vec<(u32, u128)> = self.addresses.iter().map(|&(a, v)| (v, a)).collect();
        addresses.sort_unstable();
        let (mut d, mut a) = (0, 0);
        let mut body = Body::default();
        for (id, value) in self.values.iter().enumerate() {
            let id = id as u32;
            let mut filed = IndexedValue {
                key: value.key.to_string(),
                derived: Vec::new(),
                address: None,
                range_prefix: value.prefix,
            };
            while derived.get(d).is_some_and(|(v, _)| *v == id) {
                filed.derived.push(derived[d].1);
                d += 1;
            }
            if addresses.get(a).is_some_and(|(v, _)| *v == id) {
                filed.address = Some(addresses[a].1);
                a += 1;
            }
            body.values.push(filed);
            if body.values.len() >= per_chunk {
                emit(std::mem::take(&mut body))?;
            }
        }
        drop(derived);
        drop(addresses);
        let mut size = 0;
        for (&(item, source), vals) in &self.items {
            size += vals.len() + 2;
            body.groups.push((item, source, vals.clone()));
            if size >= per_chunk * 4 {
                emit(std::mem::take(&mut body))?;
                size = 0;
            }
        }
        for (target, items) in &self.references {
            body.references
                .extend(items.iter().map(|&i| (target.to_string(), i)));
        }
        for (object, access) in &self.access {
            body.access.push(VersionAccess {
                id: self.objects[*object as usize].to_string(),
                ..access.clone()
            });
            if body.access.len() >= per_chunk {
                emit(std::mem::take(&mut body))?;
            }
        }
        emit(body)
    }
}
