//! C2SP formats: signed notes (Go's published test vector), checkpoints,
//! cosignatures and tile paths (the spec's own examples).

use geneva_tlog::checkpoint::{Checkpoint, SignedCheckpoint};
use geneva_tlog::note::{KeyKind, Note, NoteError, SigningKey, VerifierKey};
use geneva_tlog::strata::{self, StripSet};
use geneva_tlog::tiles::{self, TileId};
use geneva_tlog::{Hash, leaf_hash, tree};

const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const SIGNATURE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn go_note_test_vector_signs_and_verifies_byte_for_byte() {
    let key = SigningKey::from_private_text(SKEY).unwrap();
    assert_eq!(key.verifier().to_text(), VKEY);
    assert_eq!(key.to_private_text(), SKEY);
    assert_eq!(key.sign_note(TEXT).to_line(), SIGNATURE);
    let note = Note::parse(format!("{TEXT}\n{SIGNATURE}").as_bytes()).unwrap();
    let verifier = VerifierKey::parse(VKEY).unwrap();
    note.verify(&verifier).unwrap();
    // One changed character in the text breaks it.
    let altered =
        Note::parse(format!("{}\n{SIGNATURE}", TEXT.replace("answer", "Answer")).as_bytes())
            .unwrap();
    assert!(matches!(
        altered.verify(&verifier),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn hostile_notes_and_keys_are_refused_with_reasons() {
    assert_eq!(
        Note::parse(b"no signatures\n"),
        Err(NoteError::NoSignatures)
    );
    assert_eq!(Note::parse(b"text\n\n"), Err(NoteError::NoSignatures));
    assert_eq!(
        Note::parse(b"te\x01xt\n\n\xe2\x80\x94 a AAAAAAA=\n"),
        Err(NoteError::ControlCharacter)
    );
    assert_eq!(Note::parse(b"\xff\n\n"), Err(NoteError::NotUtf8));
    assert_eq!(
        Note::parse("text\n\n- a AAAAAAAA\n".as_bytes()),
        Err(NoteError::MalformedSignature(1))
    );
    let many: String = (0..101)
        .map(|i| format!("\u{2014} k{i} AAAAAAAA\n"))
        .collect();
    assert_eq!(
        Note::parse(format!("text\n\n{many}").as_bytes()),
        Err(NoteError::TooManySignatures)
    );
    assert!(
        VerifierKey::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .is_err()
    );
    assert!(
        VerifierKey::parse("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .is_err()
    );
    assert!(VerifierKey::parse("garbage").is_err());
    assert!(SigningKey::generate("has+plus", KeyKind::Note).is_err());
    // A signature by an unknown key is ignored; the known key must still be there.
    let note = Note::parse(format!("{TEXT}\n\u{2014} Other AAAAAAAAAAAA\n{SIGNATURE}").as_bytes())
        .unwrap();
    note.verify(&VerifierKey::parse(VKEY).unwrap()).unwrap();
    let other = SigningKey::generate("PeterNeumann", KeyKind::Note)
        .unwrap()
        .verifier();
    assert!(matches!(
        note.verify(&other),
        Err(NoteError::NotSignedBy { .. })
    ));
}

#[test]
fn checkpoints_round_trip_and_bind_origin_and_key() {
    let key = SigningKey::generate("geneva.example/log", KeyKind::Note).unwrap();
    let checkpoint = Checkpoint {
        origin: "geneva.example/log".into(),
        size: 20852163,
        root: leaf_hash(b"x"),
        extensions: vec![],
    };
    let text = checkpoint.sign(&key).to_text();
    let opened = SignedCheckpoint::open(text.as_bytes(), &key.verifier()).unwrap();
    assert_eq!(opened.checkpoint, checkpoint);
    // The spec's example body parses.
    let example =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_eq!(Checkpoint::parse_body(example).unwrap().size, 20852163);
    for bad in [
        "origin\n",
        "origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n12\nnot base64\n",
        "origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "origin\n99999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    ] {
        assert!(Checkpoint::parse_body(bad).is_err(), "{bad:?}");
    }
    // Signed by another key of the same name: refused.
    let impostor = SigningKey::generate("geneva.example/log", KeyKind::Note).unwrap();
    let forged = checkpoint.sign(&impostor).to_text();
    assert!(SignedCheckpoint::open(forged.as_bytes(), &key.verifier()).is_err());
}

#[test]
fn cosignatures_follow_tlog_cosignature_v1() {
    let witness = SigningKey::generate("witness.example/w1", KeyKind::Cosignature).unwrap();
    let body =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let signature = witness.cosign(body, 1679315147);
    assert_eq!(signature.signature.len(), 72);
    assert_eq!(&signature.signature[..8], &1679315147u64.to_be_bytes());
    let note = Note {
        text: body.into(),
        signatures: vec![signature],
    };
    let reparsed = Note::parse(note.to_text().as_bytes()).unwrap();
    assert_eq!(
        reparsed.verify(&witness.verifier()).unwrap(),
        Some(1679315147)
    );
    // The key id commits to the cosignature type (0x04), not the note type.
    let vkey = witness.verifier().to_text();
    let parsed = VerifierKey::parse(&vkey).unwrap();
    assert_eq!(parsed.kind(), KeyKind::Cosignature);
    // The spec's decoded example: key id 8d66cf3f, time 1679315147.
    let line = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
    let sig = geneva_tlog::NoteSignature::parse_line(line).unwrap();
    assert_eq!(sig.key_id, 0x8d66cf3f);
    assert_eq!(&sig.signature[..8], &1679315147u64.to_be_bytes());
}

#[test]
fn tile_paths_match_the_spec_examples() {
    assert_eq!(tiles::encode_index(1234067), "x001/x234/067");
    assert_eq!(tiles::encode_index(0), "000");
    assert_eq!(tiles::encode_index(1000), "x001/000");
    let t = TileId::parse("tile/0/x001/x234/067.p/7").unwrap();
    assert_eq!((t.level, t.index, t.width), (0, 1234067, 7));
    assert_eq!(t.path(), "tile/0/x001/x234/067.p/7");
    for bad in [
        "tile/0/1234067",
        "tile/0/x000/001",
        "tile/0/001.p/256",
        "tile/0/001.p/0",
        "tile/00/001",
        "tile/8/001",
        "tile/0/01",
        "tile/0/../001",
        "tile/entries/000",
        "tile/0/x001/x002/x003/x004/x005/x006/x007/008",
    ] {
        assert!(TileId::parse(bad).is_err(), "{bad}");
    }
    // The spec's worked example: a tree of 70,000 leaves.
    let tiles = tiles::tiles_of(70_000);
    let count = |level: u8, full: bool| {
        tiles
            .iter()
            .filter(|t| t.level == level && t.is_full() == full)
            .count()
    };
    assert_eq!(count(0, true), 273);
    assert_eq!(count(1, true), 1);
    let partial = |level: u8| {
        tiles
            .iter()
            .find(|t| t.level == level && !t.is_full())
            .unwrap()
            .width
    };
    assert_eq!((partial(0), partial(1), partial(2)), (112, 17, 1));
}

#[test]
fn level_one_tiles_hold_the_roots_of_level_zero_tiles() {
    let leaves: Vec<Hash> = (0..70_000u32)
        .map(|i| leaf_hash(&i.to_be_bytes()))
        .collect();
    let mut strips = StripSet::new();
    for s in strata::append(0, &StripSet::new(), &leaves).unwrap() {
        strips.insert(s);
    }
    let level1 = TileId {
        level: 1,
        index: 0,
        width: 256,
    };
    let bytes = level1.bytes(&strips).unwrap();
    let hashes = tiles::tile_hashes(&bytes).unwrap();
    for (i, h) in hashes.iter().enumerate().step_by(37) {
        let lo = i as u64 * 256;
        assert_eq!(*h, tree::range_hash(lo, lo + 256, &strips).unwrap());
    }
    let level0 = TileId {
        level: 0,
        index: 273,
        width: 112,
    };
    let bytes = level0.bytes(&strips).unwrap();
    assert_eq!(&bytes[..32], &leaves[273 * 256].0);
    assert!(level0.exists_in(70_000));
    assert!(
        !TileId {
            level: 0,
            index: 273,
            width: 113
        }
        .exists_in(70_000)
    );
}
