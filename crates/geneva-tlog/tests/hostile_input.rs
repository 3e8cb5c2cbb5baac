//! Notes, checkpoints, keys, tile paths and proofs come from the network:
//! seeded random damage to valid ones never panics, and whatever still parses
//! re-serialises to itself.

use geneva_tlog::checkpoint::Checkpoint;
use geneva_tlog::note::{KeyKind, Note, SigningKey, VerifierKey};
use geneva_tlog::tiles::TileId;
use geneva_tlog::{leaf_hash, tree};
use rand::{Rng, SeedableRng, rngs::StdRng};

fn damage(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        match rng.random_range(0..5) {
            0 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                out[i] = rng.random();
            }
            1 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                out.remove(i);
            }
            2 => {
                let i = rng.random_range(0..=out.len());
                let byte = *[b'\n', b' ', b'+', b'/', b'=', 0xe2, 0x80, 0x94, b'x', b'0']
                    .get(rng.random_range(0..10))
                    .unwrap();
                out.insert(i, byte);
            }
            3 if out.len() > 1 => {
                let cut = rng.random_range(0..out.len());
                out.truncate(cut);
            }
            _ => {
                let i = rng.random_range(0..=out.len());
                let copy = out[..i].to_vec();
                out.extend_from_slice(&copy[..copy.len().min(64)]);
            }
        }
    }
    out
}

#[test]
fn damaged_notes_checkpoints_keys_and_paths_never_panic() {
    let key = SigningKey::from_seed("geneva.test/log", KeyKind::Note, [3; 32]).unwrap();
    let witness = SigningKey::from_seed("witness.test/w", KeyKind::Cosignature, [4; 32]).unwrap();
    let checkpoint = Checkpoint {
        origin: "geneva.test/log".into(),
        size: 123_456,
        root: leaf_hash(b"root"),
        extensions: vec![],
    };
    let mut note = checkpoint.sign(&key);
    note.signatures
        .push(witness.cosign(&checkpoint.body(), 1_700_000_000));
    let note_text = note.to_text();
    let vkey = key.verifier().to_text();
    let skey = key.to_private_text();
    let mut rng = StdRng::seed_from_u64(20_261_126);
    let mut parsed = 0;
    for _ in 0..20_000 {
        let bytes = damage(&mut rng, note_text.as_bytes());
        if let Ok(note) = Note::parse(&bytes) {
            parsed += 1;
            assert_eq!(Note::parse(note.to_text().as_bytes()).unwrap(), note);
            let _ = note.verify(&key.verifier());
            let _ = note.verify(&witness.verifier());
            if let Ok(cp) = Checkpoint::parse_body(&note.text) {
                assert_eq!(Checkpoint::parse_body(&cp.body()).unwrap(), cp);
            }
        }
        let _ = VerifierKey::parse(&String::from_utf8_lossy(&damage(&mut rng, vkey.as_bytes())));
        let _ = SigningKey::from_private_text(&String::from_utf8_lossy(&damage(
            &mut rng,
            skey.as_bytes(),
        )));
        let path = damage(&mut rng, b"tile/1/x001/x234/067.p/17");
        if let Ok(id) = TileId::parse(&String::from_utf8_lossy(&path)) {
            assert_eq!(TileId::parse(&id.path()).unwrap(), id);
        }
    }
    assert!(
        parsed > 100,
        "the damage should leave some notes parseable: {parsed}"
    );
}

#[test]
fn proofs_of_any_shape_are_refused_not_panicked_on() {
    let mut rng = StdRng::seed_from_u64(6962);
    let root = leaf_hash(b"root");
    for _ in 0..20_000 {
        let size = rng.random_range(0..u64::MAX);
        let index = rng.random_range(0..=size);
        let old = rng.random_range(0..=u64::MAX);
        let proof: Vec<_> = (0..rng.random_range(0..70))
            .map(|i| leaf_hash(&[i as u8]))
            .collect();
        let _ = tree::verify_inclusion(index, size, &root, &proof, &root);
        let _ = tree::verify_consistency(old, size, &root, &root, &proof);
        let _ = tree::verify_consistency(size.min(old), size, &root, &root, &proof);
    }
}
