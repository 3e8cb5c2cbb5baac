//! How a log keeps its tree: every fourth level of it ("strata"), in strips of
//! 16 consecutive hashes.
//!
//! Stratum `s` holds the hashes of the complete subtrees of height `4s`:
//! stratum 0 the leaf hashes, stratum 1 one hash per 16 leaves, and so on. A
//! strip is 16 consecutive entries of one stratum, and a full strip of stratum
//! `s` is exactly the 16 leaves of one entry of stratum `s + 1`. Any complete
//! subtree of height `h` is thus at most 8 entries of one strip away (15 hash
//! operations), which keeps proofs fast, while the whole tree costs
//! 32 × 16/15 ≈ 34 bytes per leaf. A strip is 512 bytes, which packs database
//! pages far better than a 256-hash public tile would.
//!
//! The public tiles of C2SP tlog-tiles (height 8) are strata 0, 2, 4, …
//! read 16 strips at a time: see [`crate::tiles`].

use rustc_hash::FxHashMap;

use crate::hash::{Hash, perfect_root};
use crate::tree::{MissingNode, Node, NodeSource};

/// Levels of the tree between two strata.
pub const STRATUM_HEIGHT: u8 = 4;
/// Entries in one strip.
pub const STRIP_WIDTH: u64 = 1 << STRATUM_HEIGHT;

/// Which strip: stratum and position within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StripKey {
    pub stratum: u8,
    pub index: u64,
}

/// A strip's contents: 1 to 16 hashes (fewer only at the right edge of the tree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strip {
    pub key: StripKey,
    pub hashes: Vec<Hash>,
}

impl Strip {
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes.iter().flat_map(|h| h.0).collect()
    }

    pub fn from_bytes(key: StripKey, bytes: &[u8]) -> Option<Strip> {
        if bytes.is_empty()
            || !bytes.len().is_multiple_of(32)
            || bytes.len() > 32 * STRIP_WIDTH as usize
        {
            return None;
        }
        let hashes = bytes
            .chunks_exact(32)
            .map(|c| Hash::from_slice(c).expect("32 bytes"))
            .collect();
        Some(Strip { key, hashes })
    }
}

/// Entries stratum `stratum` holds in a tree of `size` leaves.
pub fn stratum_len(size: u64, stratum: u8) -> u64 {
    let shift = u32::from(stratum) * u32::from(STRATUM_HEIGHT);
    if shift >= 64 { 0 } else { size >> shift }
}

/// The strip holding the entries a complete subtree is made of.
pub fn strip_of(node: Node) -> StripKey {
    let stratum = node.height / STRATUM_HEIGHT;
    let first = node.index << (node.height % STRATUM_HEIGHT);
    StripKey {
        stratum,
        index: first / STRIP_WIDTH,
    }
}

/// The strips needed to compute `nodes`, without duplicates.
pub fn strips_for(nodes: impl IntoIterator<Item = Node>) -> Vec<StripKey> {
    let mut keys: Vec<StripKey> = nodes.into_iter().map(strip_of).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The strips an append to a tree of `size` must read first: the partial
/// strip at the right edge of each stratum.
pub fn edge_strips(size: u64) -> Vec<StripKey> {
    (0u8..16)
        .map_while(|stratum| {
            let len = stratum_len(size, stratum);
            (len > 0).then_some((stratum, len))
        })
        .filter(|(_, len)| len % STRIP_WIDTH != 0)
        .map(|(stratum, len)| StripKey {
            stratum,
            index: len / STRIP_WIDTH,
        })
        .collect()
}

/// Strips in memory, answering for the complete subtrees they cover.
#[derive(Debug, Default, Clone)]
pub struct StripSet {
    strips: FxHashMap<StripKey, std::sync::Arc<[Hash]>>,
}

impl StripSet {
    pub fn new() -> StripSet {
        StripSet::default()
    }

    pub fn insert(&mut self, strip: Strip) {
        self.strips.insert(strip.key, strip.hashes.into());
    }

    /// Adds a strip shared with a cache, without copying it.
    pub fn insert_shared(&mut self, key: StripKey, hashes: std::sync::Arc<[Hash]>) {
        self.strips.insert(key, hashes);
    }

    /// The strip, shareable (see [`StripSet::insert_shared`]).
    pub fn get_shared(&self, key: &StripKey) -> Option<&std::sync::Arc<[Hash]>> {
        self.strips.get(key)
    }

    pub fn get(&self, key: &StripKey) -> Option<&[Hash]> {
        self.strips.get(key).map(|h| &h[..])
    }

    pub fn len(&self) -> usize {
        self.strips.len()
    }

    /// Adds every strip of `other`, replacing any of the same key.
    pub fn merge(&mut self, other: StripSet) {
        self.strips.extend(other.strips);
    }

    pub fn contains(&self, key: &StripKey) -> bool {
        self.strips.contains_key(key)
    }

    pub fn is_empty(&self) -> bool {
        self.strips.is_empty()
    }
}

impl NodeSource for StripSet {
    fn node(&self, node: Node) -> Result<Hash, MissingNode> {
        let key = strip_of(node);
        let width = 1usize << (node.height % STRATUM_HEIGHT);
        let first = ((node.index << (node.height % STRATUM_HEIGHT)) % STRIP_WIDTH) as usize;
        match self.strips.get(&key) {
            Some(hashes) if hashes.len() >= first + width => {
                Ok(perfect_root(&hashes[first..first + width]))
            }
            _ => Err(MissingNode(node)),
        }
    }
}

/// Appends `leaves` (leaf hashes) to a tree of `size` leaves whose edge strips
/// ([`edge_strips`]) are in `edge`, and returns every strip that changed or
/// was created, with its whole new contents.
pub fn append(size: u64, edge: &StripSet, leaves: &[Hash]) -> Result<Vec<Strip>, MissingNode> {
    let mut changed = Vec::new();
    let mut entries: Vec<Hash> = leaves.to_vec();
    let mut stratum = 0u8;
    while !entries.is_empty() {
        let len = stratum_len(size, stratum);
        let mut index = len / STRIP_WIDTH;
        let have = (len % STRIP_WIDTH) as usize;
        let key = StripKey { stratum, index };
        let mut current: Vec<Hash> = Vec::with_capacity(STRIP_WIDTH as usize);
        if have > 0 {
            match edge.get(&key) {
                Some(hashes) if hashes.len() >= have => current.extend_from_slice(&hashes[..have]),
                _ => {
                    return Err(MissingNode(Node {
                        height: stratum * STRATUM_HEIGHT,
                        index: len - 1,
                    }));
                }
            }
        }
        let mut parents = Vec::with_capacity(entries.len() / STRIP_WIDTH as usize + 1);
        for entry in entries {
            current.push(entry);
            if current.len() == STRIP_WIDTH as usize {
                parents.push(perfect_root(&current));
                changed.push(Strip {
                    key: StripKey { stratum, index },
                    hashes: std::mem::replace(
                        &mut current,
                        Vec::with_capacity(STRIP_WIDTH as usize),
                    ),
                });
                index += 1;
            }
        }
        if !current.is_empty() {
            changed.push(Strip {
                key: StripKey { stratum, index },
                hashes: current,
            });
        }
        entries = parents;
        stratum += 1;
    }
    Ok(changed)
}
