//! Attackers write evidence: seeded random damage to valid documents must end
//! in a clean result or a clean error, never a panic; and whatever is accepted
//! must canonicalise to a fixed point.

#[allow(dead_code)] // shared with the agreement test, which uses all of it
mod corpus;

use std::panic::{AssertUnwindSafe, catch_unwind};

use geneva_stix::{PrepareOptions, prepare};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

const ROUNDS: usize = 50_000;
const JSON_BYTES: &[u8] = b"{}[]\":,\\ 0123456789.-eE+tfnul\x00\x1f\x7f\xc3\xa9\xff\xfe\xf0";

fn damage(rng: &mut StdRng, doc: &[u8]) -> Vec<u8> {
    let mut out = doc.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        if out.is_empty() {
            break;
        }
        let at = rng.random_range(0..out.len());
        match rng.random_range(0..6) {
            0 => out[at] = JSON_BYTES[rng.random_range(0..JSON_BYTES.len())],
            1 => {
                out.remove(at);
            }
            2 => out.insert(at, JSON_BYTES[rng.random_range(0..JSON_BYTES.len())]),
            3 => out.truncate(at),
            4 => {
                let end = (at + rng.random_range(1..64)).min(out.len());
                let slice = out[at..end].to_vec();
                out.splice(at..at, slice);
            }
            _ => out[at] ^= 1 << rng.random_range(0..8),
        }
    }
    out
}

#[test]
fn damaged_documents_never_panic_and_accepted_ones_are_canonical() {
    let objects: Vec<Value> = corpus::valid_objects()
        .into_iter()
        .map(|(_, o)| o)
        .collect();
    let docs: Vec<Vec<u8>> = objects
        .chunks(7)
        .map(|chunk| {
            serde_json::to_vec_pretty(
                &json!({"type": "bundle", "id": corpus::id("bundle"), "objects": chunk}),
            )
            .unwrap()
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(0x6e6e_7661);
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let doc = damage(&mut rng, &docs[round % docs.len()]);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            prepare(&doc, &PrepareOptions::default())
        }));
        let Ok(result) = outcome else {
            panic!(
                "round {round}: prepare panicked on {:?}",
                String::from_utf8_lossy(&doc)
            );
        };
        match result {
            Err(e) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
            Ok(prepared) => {
                accepted += 1;
                // Re-importing the canonical form gives the same bytes and hashes.
                let again: Vec<Value> = prepared
                    .objects
                    .iter()
                    .map(|o| serde_json::from_str(&o.canonical).unwrap())
                    .collect();
                let bundle = serde_json::to_vec(
                    &json!({"type": "bundle", "id": corpus::id("bundle"), "objects": again}),
                )
                .unwrap();
                let second = prepare(&bundle, &PrepareOptions::default())
                    .expect("canonical output is valid input");
                let first: Vec<_> = prepared.objects.iter().map(|o| (&o.id, o.sha256)).collect();
                let second: Vec<_> = second.objects.iter().map(|o| (&o.id, o.sha256)).collect();
                assert_eq!(
                    first, second,
                    "round {round}: canonical form is not a fixed point"
                );
            }
        }
    }
    eprintln!("{accepted} damaged documents still valid, {refused} refused");
    assert!(
        refused > ROUNDS / 2,
        "the damage should break most documents"
    );
}
