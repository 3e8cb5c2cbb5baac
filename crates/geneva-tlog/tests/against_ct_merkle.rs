//! Geneva's Merkle tree against an independent implementation (the `ct-merkle`
//! crate) and the RFC 6962 reference vectors of transparency-dev/merkle:
//! identical roots and proofs for every tree size 1..=1000 and for random
//! sizes up to 1,000,000, with the tree built by appends of random batch sizes.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use geneva_tlog::strata::{self, StripSet};
use geneva_tlog::tree::{self, ProofError};
use geneva_tlog::{Hash, leaf_hash};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sha2_for_ct_merkle::Sha256;

type CtTree = MemoryBackedTree<Sha256, Vec<u8>>;

fn leaf_data(i: u64) -> Vec<u8> {
    format!("geneva test leaf {i}").into_bytes()
}

/// Our tree of `size` leaves, appended in batches of random sizes (1..=max_batch).
fn build_ours(size: u64, max_batch: u64, rng: &mut StdRng) -> StripSet {
    let mut strips = StripSet::new();
    let mut n = 0;
    while n < size {
        let batch = rng.random_range(1..=max_batch).min(size - n);
        let leaves: Vec<Hash> = (n..n + batch).map(|i| leaf_hash(&leaf_data(i))).collect();
        // Only the edge strips are handed to append, as the log service does.
        let mut edge = StripSet::new();
        for key in strata::edge_strips(n) {
            let hashes = strips.get(&key).expect("edge strip stored").to_vec();
            edge.insert(geneva_tlog::Strip { key, hashes });
        }
        for strip in strata::append(n, &edge, &leaves).expect("append") {
            strips.insert(strip);
        }
        n += batch;
    }
    strips
}

fn ct_hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks_exact(32)
        .map(|c| Hash::from_slice(c).unwrap())
        .collect()
}

fn ct_root(t: &CtTree) -> Hash {
    Hash::from_slice(t.root().as_bytes().as_slice()).unwrap()
}

fn check_size(t: &CtTree, ours: &StripSet, n: u64, indexes: &[u64], olds: &[u64]) {
    let root = tree::root(n, ours).unwrap();
    assert_eq!(root, ct_root(t), "root at size {n}");
    for &i in indexes {
        let proof = tree::inclusion_proof(i, n, ours).unwrap().unwrap();
        let expected = ct_hashes(t.prove_inclusion(i as usize).as_bytes());
        assert_eq!(proof, expected, "inclusion proof of {i} at size {n}");
        let leaf = leaf_hash(&leaf_data(i));
        tree::verify_inclusion(i, n, &leaf, &proof, &root).unwrap();
    }
    for &m in olds {
        let proof = tree::consistency_proof(m, n, ours).unwrap().unwrap();
        let expected = if m == n {
            Vec::new()
        } else {
            ct_hashes(t.prove_consistency((n - m) as usize).as_bytes())
        };
        assert_eq!(proof, expected, "consistency proof {m} -> {n}");
        let old_root = tree::root(m, ours).unwrap();
        tree::verify_consistency(m, n, &old_root, &root, &proof).unwrap();
    }
}

#[test]
fn every_size_up_to_1000_matches_ct_merkle() {
    let mut rng = StdRng::seed_from_u64(9162);
    let ours = build_ours(1000, 40, &mut rng);
    let mut t = CtTree::new();
    for n in 1..=1000u64 {
        t.push(leaf_data(n - 1));
        let all: Vec<u64> = (0..n).collect();
        let olds: Vec<u64> = (1..=n).collect();
        check_size(&t, &ours, n, &all, &olds);
    }
}

#[test]
fn random_sizes_up_to_a_million_match_ct_merkle() {
    let mut rng = StdRng::seed_from_u64(6962);
    let max = 1_000_000u64;
    let ours = build_ours(max, 5_000, &mut rng);
    let mut sizes: Vec<u64> = (0..12).map(|_| rng.random_range(1001..=max)).collect();
    sizes.extend([1 << 16, (1 << 16) + 1, 65_535, max]);
    sizes.sort_unstable();
    sizes.dedup();
    let mut t = CtTree::new();
    let mut n = 0u64;
    for size in sizes {
        while n < size {
            t.push(leaf_data(n));
            n += 1;
        }
        let indexes: Vec<u64> = (0..40)
            .map(|_| rng.random_range(0..size))
            .chain([0, size - 1])
            .collect();
        let olds: Vec<u64> = (0..40)
            .map(|_| rng.random_range(1..=size))
            .chain([1, size - 1, size].into_iter().filter(|&m| m >= 1))
            .collect();
        check_size(&t, &ours, size, &indexes, &olds);
    }
}

fn hex_hashes(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|h| Hash::from_hex(h).unwrap()).collect()
}

/// transparency-dev/merkle testonly vectors (RFC 6962 reference leaves).
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn reference_tree() -> StripSet {
    let leaves: Vec<Hash> = LEAVES
        .iter()
        .map(|l| {
            let bytes: Vec<u8> = (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                .collect();
            leaf_hash(&bytes)
        })
        .collect();
    let mut strips = StripSet::new();
    for s in strata::append(0, &StripSet::new(), &leaves).unwrap() {
        strips.insert(s);
    }
    strips
}

#[test]
fn rfc_6962_reference_roots_and_proofs() {
    let t = reference_tree();
    for (n, root) in ROOTS.iter().enumerate() {
        assert_eq!(
            tree::root(n as u64, &t).unwrap().to_hex(),
            *root,
            "root of size {n}"
        );
    }
    let inclusion: &[(u64, u64, &[&str])] = &[
        (0, 1, &[]),
        (
            0,
            2,
            &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
        ),
        (
            1,
            2,
            &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (index, size, expected) in inclusion {
        let proof = tree::inclusion_proof(*index, *size, &t).unwrap().unwrap();
        assert_eq!(proof, hex_hashes(expected), "inclusion {index}:{size}");
    }
    let consistency: &[(u64, u64, &[&str])] = &[
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (old, new, expected) in consistency {
        let proof = tree::consistency_proof(*old, *new, &t).unwrap().unwrap();
        assert_eq!(proof, hex_hashes(expected), "consistency {old}->{new}");
    }
}

#[test]
fn altered_proofs_and_forks_are_refused() {
    let t = reference_tree();
    let root8 = tree::root(8, &t).unwrap();
    let leaf5 = tree::range_hash(5, 6, &t).unwrap();
    let mut proof = tree::inclusion_proof(5, 8, &t).unwrap().unwrap();
    tree::verify_inclusion(5, 8, &leaf5, &proof, &root8).unwrap();
    // Wrong index, wrong size, a flipped bit, a missing or an extra hash.
    assert_eq!(
        tree::verify_inclusion(4, 8, &leaf5, &proof, &root8),
        Err(ProofError::RootMismatch)
    );
    let root7 = tree::root(7, &t).unwrap();
    assert!(tree::verify_inclusion(5, 7, &leaf5, &proof, &root7).is_err());
    assert_eq!(
        tree::verify_inclusion(8, 8, &leaf5, &proof, &root8),
        Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
    );
    proof[1].0[7] ^= 1;
    assert_eq!(
        tree::verify_inclusion(5, 8, &leaf5, &proof, &root8),
        Err(ProofError::RootMismatch)
    );
    proof.pop();
    assert!(matches!(
        tree::verify_inclusion(5, 8, &leaf5, &proof, &root8),
        Err(ProofError::WrongLength { .. })
    ));

    let root6 = tree::root(6, &t).unwrap();
    let cproof = tree::consistency_proof(6, 8, &t).unwrap().unwrap();
    tree::verify_consistency(6, 8, &root6, &root8, &cproof).unwrap();
    let mut forked = root6;
    forked.0[0] ^= 0x80;
    assert_eq!(
        tree::verify_consistency(6, 8, &forked, &root8, &cproof),
        Err(ProofError::OldRootMismatch)
    );
    assert_eq!(
        tree::verify_consistency(8, 8, &root8, &forked, &[]),
        Err(ProofError::Fork { size: 8 })
    );
    assert_eq!(
        tree::verify_consistency(8, 6, &root8, &root6, &cproof),
        Err(ProofError::OldLarger { old: 8, new: 6 })
    );
}
