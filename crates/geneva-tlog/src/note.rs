//! C2SP signed-note with Ed25519 keys, and C2SP tlog-cosignature (witness
//! cosignatures, `cosignature/v1`).
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one line per
//! signature: `— <name> <base64(key id ‖ signature)>`. The key id is the first
//! four bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key), type 0x01 for
//! Ed25519 note signatures and 0x04 for cosignatures. Keys are written as Go's
//! `golang.org/x/mod/sumdb/note` writes them: `name+hexid+base64(type ‖ key)`,
//! and `PRIVATE+KEY+name+hexid+base64(type ‖ seed)` for the secret half.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, Verifier as _};
use sha2::{Digest, Sha256};

/// The em dash (U+2014) that starts every signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";
/// More signatures than this on one note is an attack, not a log.
pub const MAX_SIGNATURES: usize = 100;
/// Longest note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// What a key signs: plain notes (checkpoints) or witness cosignatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Ed25519 over the note text (signature type 0x01).
    Note,
    /// Ed25519 over `cosignature/v1`, `time T` and the checkpoint (type 0x04).
    Cosignature,
}

impl KeyKind {
    fn type_byte(self) -> u8 {
        match self {
            KeyKind::Note => 0x01,
            KeyKind::Cosignature => 0x04,
        }
    }

    fn from_type_byte(b: u8) -> Option<KeyKind> {
        match b {
            0x01 => Some(KeyKind::Note),
            0x04 => Some(KeyKind::Cosignature),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "key name {0:?} is not allowed: it must be non-empty UTF-8 without spaces, control characters or '+'"
    )]
    Name(String),
    #[error("not a key in name+id+base64 form: {0}")]
    Malformed(&'static str),
    #[error("key type {0:#04x} is not supported (Ed25519 notes 0x01, cosignatures 0x04)")]
    UnsupportedType(u8),
    #[error("the key id {given:08x} does not match the key (computed {computed:08x})")]
    KeyIdMismatch { given: u32, computed: u32 },
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("the note is larger than {MAX_NOTE_BYTES} bytes")]
    TooLarge,
    #[error("the note is not UTF-8")]
    NotUtf8,
    #[error("the note has no signature block (text, blank line, signature lines)")]
    NoSignatures,
    #[error("the note text contains a control character other than newline")]
    ControlCharacter,
    #[error("signature line {0} is malformed")]
    MalformedSignature(usize),
    #[error("the note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("no signature by {name} (key id {key_id:08x}) on the note")]
    NotSignedBy { name: String, key_id: u32 },
    #[error(
        "the signature by {name} (key id {key_id:08x}) is invalid: the note was altered or signed by another key of that name"
    )]
    BadSignature { name: String, key_id: u32 },
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('+')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// First 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key), big-endian.
pub fn key_id(name: &str, kind: KeyKind, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, kind.type_byte()]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A private signing key with its name.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    kind: KeyKind,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "SigningKey({})", self.verifier().to_text())
    }
}

impl SigningKey {
    /// A new key from the operating system's random source.
    pub fn generate(name: &str, kind: KeyKind) -> Result<SigningKey, KeyError> {
        if !valid_name(name) {
            return Err(KeyError::Name(name.to_owned()));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(SigningKey {
            name: name.to_owned(),
            kind,
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }

    /// A key from a 32-byte seed (tests and reproducible fixtures).
    pub fn from_seed(name: &str, kind: KeyKind, seed: [u8; 32]) -> Result<SigningKey, KeyError> {
        if !valid_name(name) {
            return Err(KeyError::Name(name.to_owned()));
        }
        Ok(SigningKey {
            name: name.to_owned(),
            kind,
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// `PRIVATE+KEY+name+hexid+base64(type ‖ seed)`.
    pub fn to_private_text(&self) -> String {
        let mut raw = vec![self.kind.type_byte()];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.verifier().key_id,
            STANDARD.encode(raw)
        )
    }

    pub fn from_private_text(text: &str) -> Result<SigningKey, KeyError> {
        let rest = text
            .trim_end_matches(['\n', '\r'])
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(KeyError::Malformed(
                "a private key starts with PRIVATE+KEY+",
            ))?;
        let (name, id, raw) = split_key(rest)?;
        let kind = KeyKind::from_type_byte(raw[0]).ok_or(KeyError::UnsupportedType(raw[0]))?;
        let seed: [u8; 32] = raw[1..]
            .try_into()
            .map_err(|_| KeyError::Malformed("an Ed25519 seed is 32 bytes"))?;
        let key = SigningKey::from_seed(name, kind, seed)?;
        let computed = key.verifier().key_id;
        if computed != id {
            return Err(KeyError::KeyIdMismatch {
                given: id,
                computed,
            });
        }
        Ok(key)
    }

    pub fn verifier(&self) -> VerifierKey {
        let public = self.key.verifying_key();
        VerifierKey {
            name: self.name.clone(),
            kind: self.kind,
            key_id: key_id(&self.name, self.kind, public.as_bytes()),
            key: public,
        }
    }

    /// Signs note text (which must end in a newline) with a type-0x01 key.
    pub fn sign_note(&self, text: &str) -> NoteSignature {
        let signature = self.key.sign(text.as_bytes()).to_bytes().to_vec();
        NoteSignature {
            name: self.name.clone(),
            key_id: self.verifier().key_id,
            signature,
        }
    }

    /// Cosigns a checkpoint body at `timestamp` (seconds since the Unix epoch).
    pub fn cosign(&self, checkpoint_body: &str, timestamp: u64) -> NoteSignature {
        let message = cosignature_message(checkpoint_body, timestamp);
        let mut signature = timestamp.to_be_bytes().to_vec();
        signature.extend_from_slice(&self.key.sign(message.as_bytes()).to_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.verifier().key_id,
            signature,
        }
    }
}

/// What a cosigner signs: `cosignature/v1`, `time T`, then the checkpoint body.
pub fn cosignature_message(checkpoint_body: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_body}")
}

fn split_key(text: &str) -> Result<(&str, u32, Vec<u8>), KeyError> {
    let mut parts = text.splitn(3, '+');
    let name = parts.next().unwrap_or_default();
    let id = parts.next().ok_or(KeyError::Malformed("missing key id"))?;
    let encoded = parts.next().ok_or(KeyError::Malformed("missing key"))?;
    if !valid_name(name) {
        return Err(KeyError::Name(name.to_owned()));
    }
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::Malformed("the key id is 8 hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| KeyError::Malformed("bad key id"))?;
    let raw = STANDARD
        .decode(encoded)
        .map_err(|_| KeyError::Malformed("the key is not standard base64"))?;
    if raw.len() != 33 {
        return Err(KeyError::Malformed(
            "a key is one type byte and 32 key bytes",
        ));
    }
    Ok((name, id, raw))
}

/// A public key that checks signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    kind: KeyKind,
    key_id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl VerifierKey {
    pub fn parse(text: &str) -> Result<VerifierKey, KeyError> {
        let (name, id, raw) = split_key(text.trim())?;
        let kind = KeyKind::from_type_byte(raw[0]).ok_or(KeyError::UnsupportedType(raw[0]))?;
        let bytes: [u8; 32] = raw[1..].try_into().expect("33-byte key");
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| KeyError::Malformed("not an Ed25519 public key"))?;
        let computed = key_id(name, kind, &bytes);
        if computed != id {
            return Err(KeyError::KeyIdMismatch {
                given: id,
                computed,
            });
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            kind,
            key_id: id,
            key,
        })
    }

    /// `name+hexid+base64(type ‖ public key)`.
    pub fn to_text(&self) -> String {
        let mut raw = vec![self.kind.type_byte()];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(raw))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    fn matches(&self, signature: &NoteSignature) -> bool {
        signature.name == self.name && signature.key_id == self.key_id
    }

    /// Checks one signature of this key on `text`. For a cosignature key,
    /// returns the time it was made.
    pub fn check(&self, text: &str, signature: &NoteSignature) -> Result<Option<u64>, NoteError> {
        let bad = || NoteError::BadSignature {
            name: self.name.clone(),
            key_id: self.key_id,
        };
        if !self.matches(signature) {
            return Err(NoteError::NotSignedBy {
                name: self.name.clone(),
                key_id: self.key_id,
            });
        }
        match self.kind {
            KeyKind::Note => {
                let sig = ed25519_dalek::Signature::from_slice(&signature.signature)
                    .map_err(|_| bad())?;
                self.key.verify(text.as_bytes(), &sig).map_err(|_| bad())?;
                Ok(None)
            }
            KeyKind::Cosignature => {
                if signature.signature.len() != 72 {
                    return Err(bad());
                }
                let timestamp =
                    u64::from_be_bytes(signature.signature[..8].try_into().expect("8 bytes"));
                let sig = ed25519_dalek::Signature::from_slice(&signature.signature[8..])
                    .map_err(|_| bad())?;
                let message = cosignature_message(text, timestamp);
                self.key
                    .verify(message.as_bytes(), &sig)
                    .map_err(|_| bad())?;
                Ok(Some(timestamp))
            }
        }
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    /// What follows the key id: the Ed25519 signature, or for a cosignature
    /// the 8-byte big-endian time and then the signature.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, STANDARD.encode(raw))
    }

    /// Parses `— name base64` (without its newline).
    pub fn parse_line(line: &str) -> Option<NoteSignature> {
        let rest = line.strip_prefix(SIGNATURE_PREFIX)?;
        let (name, encoded) = rest.split_once(' ')?;
        if !valid_name(name) {
            return None;
        }
        let raw = STANDARD.decode(encoded).ok()?;
        if raw.len() < 5 {
            return None;
        }
        Some(NoteSignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes(raw[..4].try_into().ok()?),
            signature: raw[4..].to_vec(),
        })
    }
}

/// A signed note: text and the signatures on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        let all = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        if all.chars().any(|c| c.is_control() && c != '\n') {
            return Err(NoteError::ControlCharacter);
        }
        // The signature block follows the last blank line.
        let split = all.rfind("\n\n").ok_or(NoteError::NoSignatures)?;
        let text = &all[..split + 1];
        let block = &all[split + 2..];
        if block.is_empty() || !block.ends_with('\n') {
            return Err(NoteError::NoSignatures);
        }
        let mut signatures = Vec::new();
        for (i, line) in block.trim_end_matches('\n').split('\n').enumerate() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures
                .push(NoteSignature::parse_line(line).ok_or(NoteError::MalformedSignature(i + 1))?);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out
    }

    /// Checks the signature of `key`; unknown signatures are ignored, as the
    /// spec asks. Returns the cosignature time for cosignature keys.
    pub fn verify(&self, key: &VerifierKey) -> Result<Option<u64>, NoteError> {
        let mine = self
            .signatures
            .iter()
            .find(|s| key.matches(s))
            .ok_or_else(|| NoteError::NotSignedBy {
                name: key.name.clone(),
                key_id: key.key_id,
            })?;
        key.check(&self.text, mine)
    }

    /// The signature line by `key`'s name and id, if any (not yet checked).
    pub fn signature_by(&self, key: &VerifierKey) -> Option<&NoteSignature> {
        self.signatures.iter().find(|s| key.matches(s))
    }

    /// Adds a signature unless one by the same key is already there.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        if !self
            .signatures
            .iter()
            .any(|s| s.name == signature.name && s.key_id == signature.key_id)
        {
            self.signatures.push(signature);
        }
    }
}
