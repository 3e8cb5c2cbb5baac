//! Micro-benchmarks of the tree maths: `cargo bench -p geneva-tlog --bench tlog`.

use divan::Bencher;
use geneva_tlog::strata::{self, StripSet};
use geneva_tlog::{Hash, leaf_hash, node_hash, tree};

fn main() {
    divan::main();
}

#[divan::bench]
fn node_hash_one(bencher: Bencher) {
    let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
    bencher.bench(|| node_hash(divan::black_box(&a), divan::black_box(&b)));
}

#[divan::bench]
fn leaf_hash_200_bytes(bencher: Bencher) {
    let data = [7u8; 200];
    bencher.bench(|| leaf_hash(divan::black_box(&data)));
}

#[divan::bench(args = [1_000_000])]
fn inclusion_proof_in_memory(bencher: Bencher, size: u64) {
    let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let mut set = StripSet::new();
    for s in strata::append(0, &StripSet::new(), &leaves).unwrap() {
        set.insert(s);
    }
    let mut i = 0u64;
    bencher.bench_local(|| {
        i = (i + 7_919) % size;
        tree::inclusion_proof(i, size, &set).unwrap().unwrap()
    });
}
