//! Merkle tree algorithms of RFC 9162 §2.1: tree heads, inclusion and
//! consistency proofs, and their verification.
//!
//! Proof generation is split in two so that storage can be asynchronous: the
//! `*_ranges` functions say which subtrees a proof consists of, [`nodes_of`]
//! which complete subtrees those are made of, and [`range_hash`] folds hashes
//! read from any [`NodeSource`] into the subtree hashes of the proof.

use crate::hash::{Hash, empty_root, node_hash};

/// A complete (perfect) subtree: the leaves `[index << height, (index + 1) << height)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    pub height: u8,
    pub index: u64,
}

/// Where complete subtrees' hashes come from.
pub trait NodeSource {
    fn node(&self, node: Node) -> Result<Hash, MissingNode>;
}

/// Hashes already known, by subtree: what a caller resolved from storage or memoised.
impl NodeSource for std::collections::HashMap<Node, Hash> {
    fn node(&self, node: Node) -> Result<Hash, MissingNode> {
        self.get(&node).copied().ok_or(MissingNode(node))
    }
}

/// A hash the source does not hold: the tree is smaller than asked, or storage lost it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no stored hash for the subtree at height {} index {}", .0.height, .0.index)]
pub struct MissingNode(pub Node);

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("the old tree size {old} is larger than the new tree size {new}")]
    OldLarger { old: u64, new: u64 },
    #[error("the proof has {got} hashes; a tree of this size needs {expected}")]
    WrongLength { got: usize, expected: usize },
    #[error("the proof does not lead to the expected root hash")]
    RootMismatch,
    #[error("the old root hash is not the one the proof leads to: the two trees have forked")]
    OldRootMismatch,
    #[error("two tree heads of size {size} have different roots: the log has forked")]
    Fork { size: u64 },
}

/// The largest power of two strictly smaller than `n` (n ≥ 2): RFC 9162's split point.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The complete subtrees that make up leaves `[lo, hi)`, left to right, as
/// RFC 9162 splits them. `lo` must be aligned to the smallest power of two ≥ `hi - lo`,
/// which holds for every range a proof or a tree head uses.
pub fn nodes_of(lo: u64, hi: u64) -> impl Iterator<Item = Node> {
    let mut bits = hi - lo;
    let mut position = lo;
    std::iter::from_fn(move || {
        if bits == 0 {
            return None;
        }
        let height = 63 - bits.leading_zeros() as u8;
        bits &= !(1u64 << height);
        let node = Node {
            height,
            index: position >> height,
        };
        position += 1u64 << height;
        Some(node)
    })
}

/// [`nodes_of`], right to left: the order a range's hash is folded in.
fn nodes_of_rev(lo: u64, hi: u64) -> impl Iterator<Item = Node> {
    let mut bits = hi - lo;
    let mut end = hi;
    std::iter::from_fn(move || {
        if bits == 0 {
            return None;
        }
        let height = bits.trailing_zeros() as u8;
        bits &= bits - 1;
        end -= 1u64 << height;
        Some(Node {
            height,
            index: end >> height,
        })
    })
}

/// MTH of leaves `[lo, hi)` (see [`nodes_of`] for the alignment it needs).
pub fn range_hash(lo: u64, hi: u64, source: &impl NodeSource) -> Result<Hash, MissingNode> {
    let mut nodes = nodes_of_rev(lo, hi);
    let Some(last) = nodes.next() else {
        return Ok(empty_root());
    };
    let mut acc = source.node(last)?;
    for node in nodes {
        acc = node_hash(&source.node(node)?, &acc);
    }
    Ok(acc)
}

/// The tree head (root hash) of the first `size` leaves.
pub fn root(size: u64, source: &impl NodeSource) -> Result<Hash, MissingNode> {
    range_hash(0, size, source)
}

/// The subtrees whose hashes prove leaf `index` in a tree of `size`, in proof
/// order (RFC 9162 §2.1.3.1: nearest the leaf first).
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut lo, mut hi) = (0, size);
    let mut out = Vec::with_capacity(64);
    while hi - lo > 1 {
        let k = split(hi - lo);
        if index < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    Ok(out)
}

/// The subtrees whose hashes prove that the tree of `old` leaves is a prefix of
/// the tree of `new` leaves (RFC 9162 §2.1.4.1). Empty when `old` is 0 or equals `new`.
pub fn consistency_ranges(old: u64, new: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if old > new {
        return Err(ProofError::OldLarger { old, new });
    }
    let mut out = Vec::new();
    if old == 0 || old == new {
        return Ok(out);
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled: the recursion only ever descends into
    // one side, pushing the other side's hash after the deeper part.
    let (mut lo, mut hi, mut whole) = (0u64, new, true);
    let mut tail = Vec::new();
    loop {
        if old == hi {
            if !whole {
                out.push((lo, hi));
            }
            break;
        }
        let k = split(hi - lo);
        if old <= lo + k {
            tail.push((lo + k, hi));
            hi = lo + k;
        } else {
            tail.push((lo, lo + k));
            lo += k;
            whole = false;
        }
    }
    out.extend(tail.into_iter().rev());
    Ok(out)
}

/// Hashes of the given ranges, read from `source`.
pub fn hashes_of(
    ranges: &[(u64, u64)],
    source: &impl NodeSource,
) -> Result<Vec<Hash>, MissingNode> {
    ranges
        .iter()
        .map(|&(lo, hi)| range_hash(lo, hi, source))
        .collect()
}

/// An inclusion proof for leaf `index` in the tree of `size`.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    source: &impl NodeSource,
) -> Result<Result<Vec<Hash>, MissingNode>, ProofError> {
    Ok(hashes_of(&inclusion_ranges(index, size)?, source))
}

/// A consistency proof from the tree of `old` leaves to the tree of `new` leaves.
pub fn consistency_proof(
    old: u64,
    new: u64,
    source: &impl NodeSource,
) -> Result<Result<Vec<Hash>, MissingNode>, ProofError> {
    Ok(hashes_of(&consistency_ranges(old, new)?, source))
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2).
pub fn root_from_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    debug_assert_eq!(s, 0);
    Ok(r)
}

/// Checks that `leaf` is at `index` in the tree of `size` whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if root_from_inclusion(index, size, leaf, proof)? == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Number of hashes in an inclusion proof: one per level the leaf climbs.
fn inclusion_len(index: u64, size: u64) -> usize {
    // Levels below the point where the leaf's path and the right edge meet,
    // plus the levels of the right edge above it that are not skipped.
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    // `inner` is 64 when the leaf and the last leaf differ in the top bit.
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// Checks that the tree of `old` leaves with root `old_root` is a prefix of
/// the tree of `new` leaves with root `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::OldLarger { old, new });
    }
    let expected = consistency_ranges(old, new)?.len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    if old == new {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::Fork { size: old })
        };
    }
    if old == 0 {
        // Every tree extends the empty one.
        return Ok(());
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                expected,
            });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}
