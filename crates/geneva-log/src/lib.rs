//! Geneva's transparency log: every accepted object version is a leaf of an
//! append-only Merkle tree whose signed checkpoints witnesses cosign.
//!
//! This crate owns what a leaf says ([`leaf`]), integration (turning leaves
//! that imports numbered into tree hashes and a signed checkpoint, a batch at
//! a time), proofs, tiles, cosignatures, the offline checks of `geneva
//! verify` and witnesses ([`verify`]), and the audit of a whole store against
//! its log. The mathematics and formats are `geneva-tlog`'s; storage is the
//! `Store` trait's. It must never speak HTTP or SQL, and never sign a
//! checkpoint that does not extend the last one it finds signed.
#![forbid(unsafe_code)]

pub mod key;
pub mod leaf;
pub mod verify;

use std::collections::HashMap;
use std::sync::Arc;

use geneva_store::{
    Cosignature, LeafKind, LogAppend, LogEntry, Store, StoreError, StoredVersion, Witness,
};
use geneva_tlog::checkpoint::Checkpoint;
use geneva_tlog::strata::{self, STRIP_WIDTH, StripKey, StripSet};
use geneva_tlog::tiles::{TileId, TilePathError};
use geneva_tlog::tree::{self, MissingNode, ProofError};
use geneva_tlog::{Hash, KeyError, Note, NoteError, SigningKey, VerifierKey};
use rustc_hash::FxHashMap;
use serde_json::value::RawValue;
use tokio::sync::{Mutex, OnceCell};

use crate::leaf::Leaf;
use crate::verify::{ProofBundle, VerifyError};

/// Leaves integrated (and checkpoints signed) per batch.
pub const BATCH_LEAVES: usize = 65_536;
/// Strips of the upper strata kept in memory.
const MAX_CACHED_STRIPS: usize = 200_000;
/// Subtrees this tall and taller have their hashes memoised: a complete
/// subtree's hash never changes, there are few of them (one per 256 leaves),
/// and every proof needs a dozen of them.
const MEMO_MIN_HEIGHT: u8 = 8;
const MAX_MEMO_NODES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("log key file: {0}")]
    KeyFile(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(
        "no signing key: leaves wait to be added to the log until a process with the log's key runs (`--log-signing-key`)"
    )]
    NoKey,
    #[error(
        "leaf {leaf} is numbered but its stored item is missing: the log cannot grow past it (a logged item was deleted)"
    )]
    Gap { leaf: u64 },
    #[error(
        "the stored tree does not match the last signed checkpoint ({0}); refusing to sign: was the database altered?"
    )]
    Inconsistent(String),
    #[error("the log has {size} leaves; {asked} is beyond it")]
    BeyondTree { asked: u64, size: u64 },
    /// The message carries the missing node, so it is not also a source: a
    /// chain printed whole would say it twice.
    #[error("the log's stored hashes are incomplete: {0}")]
    Missing(MissingNode),
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error(transparent)]
    Tile(#[from] TilePathError),
    #[error("no such tile at the log's current size")]
    NoSuchTile,
    #[error(
        "{0} is not in the log yet: run `geneva log checkpoint` (or wait for the server) to add pending leaves"
    )]
    NotYetLogged(String),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error("cosignature: {0}")]
    Cosignature(String),
}

impl From<MissingNode> for LogError {
    fn from(error: MissingNode) -> Self {
        LogError::Missing(error)
    }
}

impl From<NoteError> for LogError {
    fn from(e: NoteError) -> Self {
        LogError::Cosignature(e.to_string())
    }
}

/// The few dozen subtree hashes one proof is made of.
#[derive(Default)]
struct KnownNodes(FxHashMap<geneva_tlog::Node, Hash>);

impl geneva_tlog::NodeSource for KnownNodes {
    fn node(&self, node: geneva_tlog::Node) -> Result<Hash, MissingNode> {
        self.0.get(&node).copied().ok_or(MissingNode(node))
    }
}

/// What one call to [`TransparencyLog::integrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Integration {
    pub appended: u64,
    pub checkpoints: u32,
    pub size: u64,
}

/// What [`TransparencyLog::audit`] found.
#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    pub size: u64,
    pub versions: u64,
    pub pending: u64,
    /// Each a sentence naming the item or leaf and what is wrong.
    pub problems: Vec<String>,
}

/// The log over one store. Any number of processes may run one on the same
/// database: integration is a compare-and-swap on the tree size.
pub struct TransparencyLog {
    store: Arc<dyn Store>,
    signer: Option<SigningKey>,
    secret: OnceCell<[u8; 32]>,
    cache: std::sync::Mutex<FxHashMap<StripKey, Arc<[Hash]>>>,
    memo: std::sync::Mutex<FxHashMap<geneva_tlog::Node, Hash>>,
    by_hash: Mutex<LeafHashIndex>,
    /// The largest tree size seen: a tree never shrinks, so sizes up to it need no query.
    known_size: std::sync::atomic::AtomicU64,
}

/// Leaf hash (first 8 bytes) → leaf index, built on first use from the tree
/// itself, so it costs no storage; it grows as the tree does.
#[derive(Default)]
struct LeafHashIndex {
    covered: u64,
    map: HashMap<u64, u64>,
}

fn now_rfc3339() -> String {
    geneva_stix::timestamp::now_rfc3339()
}

fn entry_of(version: &StoredVersion, leaf_index: u64, sha256: [u8; 32]) -> LogEntry {
    LogEntry {
        leaf_index,
        kind: LeafKind::ObjectVersion,
        id: version.id.clone(),
        version: version.version.clone(),
        sha256,
        organisation: version.organisation.clone(),
        submitted_at: version.submitted_at.clone(),
        tlp: version.tlp,
    }
}

impl TransparencyLog {
    pub fn new(store: Arc<dyn Store>, signer: Option<SigningKey>) -> TransparencyLog {
        TransparencyLog {
            store,
            signer,
            secret: OnceCell::new(),
            cache: std::sync::Mutex::new(FxHashMap::default()),
            memo: std::sync::Mutex::new(FxHashMap::default()),
            by_hash: Mutex::new(LeafHashIndex::default()),
            known_size: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn signer(&self) -> Option<&SigningKey> {
        self.signer.as_ref()
    }

    async fn secret(&self) -> Result<[u8; 32], LogError> {
        let secret = self
            .secret
            .get_or_try_init(|| async {
                let mut candidate = [0u8; 32];
                getrandom::fill(&mut candidate)
                    .map_err(|e| LogError::KeyFile(format!("no random source: {e}")))?;
                Ok::<_, LogError>(self.store.log_secret(candidate).await?)
            })
            .await?;
        Ok(*secret)
    }

    /// The strips `keys`: those of strata 1 and up from memory when cached
    /// (entries never change once written, so a cached strip is a valid prefix
    /// even while the tree grows), the rest from the store.
    async fn strips(&self, keys: Vec<StripKey>) -> Result<StripSet, LogError> {
        let mut set = StripSet::new();
        let mut missing = Vec::new();
        {
            let cache = self.cache.lock().expect("strip cache lock");
            for key in keys {
                match cache.get(&key) {
                    Some(hashes) => set.insert_shared(key, hashes.clone()),
                    None => missing.push(key),
                }
            }
        }
        if !missing.is_empty() {
            let fetched = self.store.log_strips(&missing).await?;
            let mut cache = self.cache.lock().expect("strip cache lock");
            if cache.len() > MAX_CACHED_STRIPS {
                cache.clear();
            }
            for strip in fetched {
                let key = strip.key;
                let hashes: Arc<[Hash]> = strip.hashes.into();
                if key.stratum >= 1 {
                    cache.insert(key, hashes.clone());
                }
                set.insert_shared(key, hashes);
            }
        }
        Ok(set)
    }

    /// Loads every strip of the upper strata into memory (a 16th of the
    /// tree: 21 MB at 10 million leaves), so that a proof then reads one
    /// strip from the store, its leaf's. A server does this when it starts.
    pub async fn warm(&self) -> Result<usize, LogError> {
        let size = self.current_size().await?;
        let mut upper = StripSet::new();
        for stratum in 1u8..16 {
            let strips = strata::stratum_len(size, stratum).div_ceil(STRIP_WIDTH);
            if strips == 0 {
                break;
            }
            let mut first = 0;
            while first < strips {
                let last = (first + 4096).min(strips);
                let keys: Vec<StripKey> = (first..last)
                    .map(|index| StripKey { stratum, index })
                    .collect();
                upper.merge(self.strips(keys).await?);
                first = last;
            }
        }
        // And the memo: every complete subtree of MEMO_MIN_HEIGHT and up.
        let mut memo = self.memo.lock().expect("node memo lock");
        for height in MEMO_MIN_HEIGHT..64 {
            let count = size >> height;
            if count == 0 || memo.len() + count as usize > MAX_MEMO_NODES {
                break;
            }
            for index in 0..count {
                let node = geneva_tlog::Node { height, index };
                if let Ok(hash) = geneva_tlog::NodeSource::node(&upper, node) {
                    memo.insert(node, hash);
                }
            }
        }
        Ok(upper.len())
    }

    /// The strips `keys`, read from the store (refreshing the cache).
    async fn strips_fresh(&self, keys: Vec<StripKey>) -> Result<StripSet, LogError> {
        {
            let mut cache = self.cache.lock().expect("strip cache lock");
            for key in &keys {
                cache.remove(key);
            }
        }
        self.strips(keys).await
    }

    /// The hashes of `ranges`: tall subtrees from the memo, the rest
    /// computed from strips. A cached strip too short for them (the tree grew
    /// since it was read) is read again, once.
    async fn hashes_of(&self, ranges: &[(u64, u64)]) -> Result<Vec<Hash>, LogError> {
        let mut known = KnownNodes(FxHashMap::with_capacity_and_hasher(64, Default::default()));
        let mut unknown = Vec::new();
        {
            let memo = self.memo.lock().expect("node memo lock");
            for node in ranges.iter().flat_map(|&(lo, hi)| tree::nodes_of(lo, hi)) {
                match memo.get(&node) {
                    Some(hash) => {
                        known.0.insert(node, *hash);
                    }
                    None => unknown.push(node),
                }
            }
        }
        if !unknown.is_empty() {
            let keys = strata::strips_for(unknown.iter().copied());
            let set = self.strips(keys.clone()).await?;
            let computed: Result<Vec<Hash>, MissingNode> = unknown
                .iter()
                .map(|n| geneva_tlog::NodeSource::node(&set, *n))
                .collect();
            let computed = match computed {
                Ok(hashes) => hashes,
                Err(_) => {
                    let set = self.strips_fresh(keys).await?;
                    unknown
                        .iter()
                        .map(|n| geneva_tlog::NodeSource::node(&set, *n))
                        .collect::<Result<_, _>>()?
                }
            };
            let mut memo = self.memo.lock().expect("node memo lock");
            if memo.len() > MAX_MEMO_NODES {
                memo.clear();
            }
            for (node, hash) in unknown.into_iter().zip(computed) {
                if node.height >= MEMO_MIN_HEIGHT {
                    memo.insert(node, hash);
                }
                known.0.insert(node, hash);
            }
        }
        Ok(tree::hashes_of(ranges, &known)?)
    }

    /// The root of the first `size` leaves, from the stored tree.
    pub async fn root(&self, size: u64) -> Result<Hash, LogError> {
        Ok(self.hashes_of(&[(0, size)]).await?[0])
    }

    /// Adds every pending leaf to the tree, a batch at a time, signing a
    /// checkpoint per batch. Safe to run in several processes at once.
    pub async fn integrate(&self) -> Result<Integration, LogError> {
        let signer = self.signer.as_ref().ok_or(LogError::NoKey)?;
        let public_key = signer.verifier().to_text();
        let secret = self.secret().await?;
        let mut report = Integration::default();
        loop {
            let state = self.store.log_state().await?;
            report.size = state.size;
            if state.pending == 0 {
                break;
            }
            let entries = self.store.log_pending(state.size, BATCH_LEAVES).await?;
            let run = entries
                .iter()
                .enumerate()
                .take_while(|(i, e)| e.leaf_index == state.size + *i as u64)
                .count();
            if run == 0 {
                // Another process may have integrated these leaves since we
                // read the size; only a size that stands still means a gap.
                if self.store.log_state().await?.size != state.size {
                    continue;
                }
                return Err(LogError::Gap { leaf: state.size });
            }
            let mut entries = entries;
            entries.truncate(run);
            // A microsecond or two a leaf (JSON, HMAC, SHA-256): spread over
            // the cores, off the async workers.
            let leaves: Vec<Hash> = tokio::task::spawn_blocking(move || {
                use rayon::prelude::*;
                entries
                    .par_iter()
                    .map(|e| Leaf::of(e, &secret).hash())
                    .collect()
            })
            .await
            .map_err(|e| LogError::Inconsistent(format!("leaf hashing failed: {e}")))?;
            let old_size = state.size;
            let new_size = old_size + run as u64;
            // Everything the old root, the append and the new root need, in one read.
            let mut keys = strata::edge_strips(old_size);
            keys.extend(strata::strips_for(tree::nodes_of(0, old_size)));
            let mut set = self.strips_fresh(keys).await?;
            if let Some(text) = &state.checkpoint {
                let previous = Note::parse(text.as_bytes())
                    .ok()
                    .and_then(|n| Checkpoint::parse_body(&n.text).ok())
                    .ok_or_else(|| {
                        LogError::Inconsistent("the stored checkpoint is unreadable".into())
                    })?;
                let stored_root = tree::root(old_size, &set)
                    .map_err(|e| LogError::Inconsistent(e.to_string()))?;
                if previous.size != old_size || previous.root != stored_root {
                    return Err(LogError::Inconsistent(format!(
                        "checkpoint of {} leaves, tree of {old_size}",
                        previous.size
                    )));
                }
            }
            let changed = strata::append(old_size, &set, &leaves)?;
            for strip in &changed {
                set.insert(strip.clone());
            }
            let missing: Vec<StripKey> = strata::strips_for(tree::nodes_of(0, new_size))
                .into_iter()
                .filter(|k| !set.contains(k))
                .collect();
            if !missing.is_empty() {
                set.merge(self.strips_fresh(missing).await?);
            }
            let root = tree::root(new_size, &set)?;
            let checkpoint = Checkpoint {
                origin: signer.name().to_owned(),
                size: new_size,
                root,
                extensions: Vec::new(),
            }
            .sign(signer)
            .to_text();
            match self
                .store
                .log_append(LogAppend {
                    old_size,
                    new_size,
                    strips: changed,
                    checkpoint,
                    public_key: public_key.clone(),
                    signed_at: now_rfc3339(),
                })
                .await
            {
                Ok(()) => {
                    report.appended += run as u64;
                    report.checkpoints += 1;
                    report.size = new_size;
                }
                // Another process integrated first: start again from its tree.
                Err(StoreError::LogMoved { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(report)
    }

    /// The latest checkpoint with every cosignature received for it.
    pub async fn checkpoint(&self) -> Result<Option<String>, LogError> {
        let state = self.store.log_state().await?;
        let Some(text) = state.checkpoint else {
            return Ok(None);
        };
        self.with_cosignatures(&text, state.size).await.map(Some)
    }

    /// The checkpoint signed at exactly `size`, with its cosignatures.
    pub async fn checkpoint_at(&self, size: u64) -> Result<Option<String>, LogError> {
        match self.store.log_checkpoint(size).await? {
            Some(text) => self.with_cosignatures(&text, size).await.map(Some),
            None => Ok(None),
        }
    }

    async fn with_cosignatures(&self, text: &str, size: u64) -> Result<String, LogError> {
        let lines: Vec<String> = self
            .store
            .log_cosignatures(size)
            .await?
            .into_iter()
            .map(|c| c.line)
            .collect();
        Ok(verify::with_signatures(text, &lines)?)
    }

    async fn current_size(&self) -> Result<u64, LogError> {
        let size = self.store.log_state().await?.size;
        self.known_size
            .fetch_max(size, std::sync::atomic::Ordering::Relaxed);
        Ok(size)
    }

    /// `size`, or the current size; refused beyond the tree.
    async fn tree_size(&self, size: Option<u64>) -> Result<u64, LogError> {
        if let Some(size) = size
            && size <= self.known_size.load(std::sync::atomic::Ordering::Relaxed)
        {
            return Ok(size);
        }
        let tree_size = self.current_size().await?;
        let size = size.unwrap_or(tree_size);
        if size > tree_size {
            return Err(LogError::BeyondTree {
                asked: size,
                size: tree_size,
            });
        }
        Ok(size)
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves (the current size if `None`).
    pub async fn inclusion_proof(
        &self,
        index: u64,
        size: Option<u64>,
    ) -> Result<(u64, Vec<Hash>), LogError> {
        let size = self.tree_size(size).await?;
        let ranges = tree::inclusion_ranges(index, size)?;
        Ok((size, self.hashes_of(&ranges).await?))
    }

    /// Proof that the tree of `old` leaves is a prefix of the tree of `new` (the current size if `None`).
    pub async fn consistency_proof(
        &self,
        old: u64,
        new: Option<u64>,
    ) -> Result<(u64, Vec<Hash>), LogError> {
        let new = self.tree_size(new).await?;
        let ranges = tree::consistency_ranges(old, new)?;
        Ok((new, self.hashes_of(&ranges).await?))
    }

    /// A C2SP tile by its path (`tile/<L>/<N>[.p/<W>]`).
    pub async fn tile(&self, path: &str) -> Result<Vec<u8>, LogError> {
        let id = TileId::parse(path)?;
        if !id.exists_in(self.current_size().await?) {
            return Err(LogError::NoSuchTile);
        }
        let set = self.strips(id.strips()).await?;
        match id.bytes(&set) {
            Some(bytes) => Ok(bytes),
            // A cached strip from when the tree was smaller.
            None => id
                .bytes(&self.strips_fresh(id.strips()).await?)
                .ok_or(LogError::NoSuchTile),
        }
    }

    /// The leaf whose hash is `hash`, among the first `size` leaves.
    pub async fn leaf_by_hash(&self, hash: &Hash) -> Result<Option<u64>, LogError> {
        let size = self.current_size().await?;
        let mut index = self.by_hash.lock().await;
        while index.covered < size {
            let first = index.covered / STRIP_WIDTH;
            let last = (size - 1) / STRIP_WIDTH;
            let keys: Vec<StripKey> = (first..=last.min(first + 4095))
                .map(|i| StripKey {
                    stratum: 0,
                    index: i,
                })
                .collect();
            let strips = self.store.log_strips(&keys).await?;
            let mut read_to = index.covered;
            for strip in strips {
                for (offset, h) in strip.hashes.iter().enumerate() {
                    let leaf = strip.key.index * STRIP_WIDTH + offset as u64;
                    if leaf >= index.covered && leaf < size {
                        let prefix = u64::from_be_bytes(h.0[..8].try_into().expect("8 bytes"));
                        index.map.insert(prefix, leaf);
                        read_to = read_to.max(leaf + 1);
                    }
                }
            }
            if read_to == index.covered {
                return Err(LogError::Missing(MissingNode(geneva_tlog::Node {
                    height: 0,
                    index: read_to,
                })));
            }
            index.covered = read_to;
        }
        let prefix = u64::from_be_bytes(hash.0[..8].try_into().expect("8 bytes"));
        let Some(&leaf) = index.map.get(&prefix) else {
            return Ok(None);
        };
        drop(index);
        // The prefix found a candidate; the whole hash decides.
        let key = StripKey {
            stratum: 0,
            index: leaf / STRIP_WIDTH,
        };
        let set = self.strips(vec![key]).await?;
        let stored = set
            .get(&key)
            .and_then(|h| h.get((leaf % STRIP_WIDTH) as usize))
            .copied();
        Ok((stored == Some(*hash)).then_some(leaf))
    }

    /// A proof bundle for one stored version: leaf, inclusion proof, signed checkpoint, object.
    pub async fn prove(&self, version: &StoredVersion) -> Result<ProofBundle, LogError> {
        let describe = || {
            format!(
                "{} version {}",
                version.id,
                version.version.as_deref().unwrap_or("-")
            )
        };
        let index = version
            .leaf_index
            .ok_or_else(|| LogError::NotYetLogged(describe()))?;
        let state = self.store.log_state().await?;
        let (Some(checkpoint), true) = (state.checkpoint.clone(), index < state.size) else {
            return Err(LogError::NotYetLogged(describe()));
        };
        let secret = self.secret().await?;
        let leaf = Leaf::of(&entry_of(version, index, version.sha256), &secret);
        let (size, proof) = self.inclusion_proof(index, Some(state.size)).await?;
        let checkpoint = self.with_cosignatures(&checkpoint, size).await?;
        let origin = Note::parse(checkpoint.as_bytes())
            .ok()
            .and_then(|n| Checkpoint::parse_body(&n.text).ok())
            .map(|c| c.origin)
            .unwrap_or_default();
        let object = RawValue::from_string(version.canonical.clone())
            .map_err(|e| LogError::Inconsistent(format!("stored JSON of {}: {e}", describe())))?;
        Ok(ProofBundle {
            format: verify::PROOF_FORMAT.into(),
            log: origin,
            leaf_index: index,
            tree_size: size,
            leaf: String::from_utf8(leaf.to_bytes()).expect("JSON is UTF-8"),
            inclusion_proof: verify::encode_hashes(&proof),
            checkpoint,
            object,
        })
    }

    /// Registers a witness by its verifier key (type 0x04, cosignature/v1).
    pub async fn add_witness(&self, public_key: &str) -> Result<Witness, LogError> {
        let key = VerifierKey::parse(public_key)?;
        if key.kind() != geneva_tlog::KeyKind::Cosignature {
            return Err(LogError::Cosignature(
                "a witness key must be a cosignature key (type 0x04); create one with `geneva witness init`".into(),
            ));
        }
        let witness = Witness {
            name: key.name().to_owned(),
            public_key: key.to_text(),
            added_at: now_rfc3339(),
        };
        self.store.log_add_witness(&witness).await?;
        Ok(witness)
    }

    /// Takes a checkpoint note carrying witnesses' cosignatures: the body must
    /// be a checkpoint this log signed, and each cosignature must verify under
    /// a registered witness's key. Returns the names of those accepted.
    pub async fn add_cosignatures(&self, note: &[u8]) -> Result<Vec<String>, LogError> {
        let note = Note::parse(note)?;
        let checkpoint =
            Checkpoint::parse_body(&note.text).map_err(|e| LogError::Cosignature(e.to_string()))?;
        let ours = self
            .store
            .log_checkpoint(checkpoint.size)
            .await?
            .ok_or_else(|| {
                LogError::Cosignature(format!(
                    "this log signed no checkpoint of {} leaves",
                    checkpoint.size
                ))
            })?;
        let ours = Note::parse(ours.as_bytes())?;
        if ours.text != note.text {
            return Err(LogError::Cosignature(format!(
                "the cosigned checkpoint of {} leaves is not the one this log signed",
                checkpoint.size
            )));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut accepted = Vec::new();
        for witness in self.store.log_witnesses().await? {
            let Ok(key) = VerifierKey::parse(&witness.public_key) else {
                continue;
            };
            let Some(signature) = note.signature_by(&key) else {
                continue;
            };
            let time = key.check(&note.text, signature)?.unwrap_or(0);
            if time > now + 600 {
                return Err(LogError::Cosignature(format!(
                    "the cosignature by {} is dated {time}, in the future",
                    witness.name
                )));
            }
            self.store
                .log_add_cosignature(&Cosignature {
                    size: checkpoint.size,
                    witness: witness.name.clone(),
                    line: signature.to_line(),
                    received_at: now_rfc3339(),
                })
                .await?;
            accepted.push(witness.name);
        }
        if accepted.is_empty() {
            return Err(LogError::Cosignature(
                "no signature on the note is by a registered witness".into(),
            ));
        }
        Ok(accepted)
    }

    /// Whether leaf `index` is covered by a checkpoint that at least `k`
    /// witnesses cosigned: the bar a finding must pass to count as published.
    pub async fn witnessed(&self, index: u64, k: usize) -> Result<bool, LogError> {
        if k == 0 {
            return Ok(index < self.current_size().await?);
        }
        Ok(self
            .store
            .log_witnessed_size(k)
            .await?
            .is_some_and(|size| index < size))
    }

    /// Checks the whole store against its log: the last checkpoint's
    /// signature and root, every stored version's leaf (re-hashing its JSON),
    /// and that every leaf has exactly one stored version.
    pub async fn audit(&self, log_key: Option<&VerifierKey>) -> Result<AuditReport, LogError> {
        const SHOWN: usize = 50;
        let state = self.store.log_state().await?;
        let mut report = AuditReport {
            size: state.size,
            pending: state.pending,
            ..AuditReport::default()
        };
        let mut problems = 0usize;
        let mut problem = |report: &mut AuditReport, text: String| {
            problems += 1;
            if report.problems.len() < SHOWN {
                report.problems.push(text);
            }
        };
        if let Some(text) = &state.checkpoint {
            let key = match log_key {
                Some(k) => Some(k.clone()),
                None => state
                    .public_key
                    .as_deref()
                    .and_then(|k| VerifierKey::parse(k).ok()),
            };
            match key {
                Some(key) => {
                    match verify::open_checkpoint(text.as_bytes(), std::slice::from_ref(&key)) {
                        Ok(signed) => {
                            if signed.checkpoint.size != state.size {
                                problem(
                                    &mut report,
                                    format!(
                                        "the latest checkpoint signs {} leaves but the stored tree has {}",
                                        signed.checkpoint.size, state.size
                                    ),
                                );
                            } else {
                                match self.root(state.size).await {
                                    Ok(root) if root == signed.checkpoint.root => {}
                                    Ok(_) => problem(
                                        &mut report,
                                        format!(
                                            "the stored tree of {} leaves does not have the root the checkpoint signs: tree hashes were altered",
                                            state.size
                                        ),
                                    ),
                                    Err(e) => problem(
                                        &mut report,
                                        format!("the stored tree is incomplete: {e}"),
                                    ),
                                }
                            }
                        }
                        Err(e) => problem(&mut report, e.to_string()),
                    }
                }
                None => problem(
                    &mut report,
                    "the log's public key is not recorded in the store".into(),
                ),
            }
        } else if state.size > 0 {
            problem(
                &mut report,
                "the log has leaves but no signed checkpoint".into(),
            );
        }
        let secret = self.secret().await?;
        let mut seen = vec![0u64; state.size.div_ceil(64) as usize];
        let mut window: HashMap<u64, Vec<Hash>> = HashMap::new();
        let mut after = 0u64;
        loop {
            let records = self.store.version_records(after, 10_000).await?;
            let Some(last) = records.last() else { break };
            after = last.seq;
            for record in &records {
                let v = &record.version;
                report.versions += 1;
                let name = format!(
                    "object {} version {}",
                    v.id,
                    v.version.as_deref().unwrap_or("-")
                );
                let Some(index) = v.leaf_index else {
                    problem(&mut report, format!("{name} has no leaf in the log"));
                    continue;
                };
                if index >= state.size {
                    if index >= state.size + state.pending {
                        problem(
                            &mut report,
                            format!(
                                "{name} claims leaf {index}, but the log has {} leaves and {} pending: the log was truncated",
                                state.size, state.pending
                            ),
                        );
                    }
                    continue;
                }
                let word = (index / 64) as usize;
                if seen[word] & (1 << (index % 64)) != 0 {
                    problem(
                        &mut report,
                        format!("{name} claims leaf {index}, which another version claims too"),
                    );
                }
                seen[word] |= 1 << (index % 64);
                let actual = geneva_stix::canonical::sha256(&v.canonical);
                if actual != v.sha256 {
                    problem(
                        &mut report,
                        format!(
                            "{name} (leaf {index}): its stored JSON no longer has the SHA-256 it was logged with: it was altered after it was logged"
                        ),
                    );
                    continue;
                }
                let strip = index / STRIP_WIDTH;
                if !window.contains_key(&strip) {
                    if window.len() > 4096 {
                        window.clear();
                    }
                    let key = StripKey {
                        stratum: 0,
                        index: strip,
                    };
                    let set = self.strips(vec![key]).await?;
                    window.insert(
                        strip,
                        set.get(&key).map(<[Hash]>::to_vec).unwrap_or_default(),
                    );
                }
                let logged = window[&strip].get((index % STRIP_WIDTH) as usize).copied();
                let leaf = Leaf::of(&entry_of(v, index, actual), &secret).hash();
                if logged != Some(leaf) {
                    problem(
                        &mut report,
                        format!(
                            "{name} claims leaf {index}, but leaf {index} of the log is a different item: its content or provenance was altered, or leaves were reordered"
                        ),
                    );
                }
            }
        }
        let mut missing = 0u64;
        for index in 0..state.size {
            if seen[(index / 64) as usize] & (1 << (index % 64)) == 0 {
                missing += 1;
                if missing <= 10 {
                    problem(
                        &mut report,
                        format!("leaf {index} has no stored version: a logged item was deleted"),
                    );
                }
            }
        }
        if missing > 10 {
            problem(
                &mut report,
                format!("… {} more leaves have no stored version", missing - 10),
            );
        }
        if problems > report.problems.len() {
            let more = problems - report.problems.len();
            report.problems.push(format!("… and {more} more problems"));
        }
        Ok(report)
    }
}
