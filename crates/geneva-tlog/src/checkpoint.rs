//! C2SP tlog-checkpoint: the signed statement of a log's size and root.
//!
//! The body is the origin line (the log's unique name), the tree size in
//! decimal, the root hash in standard base64, then optional extension lines,
//! each line ending in a newline. It is the text of a signed note.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::hash::Hash;
use crate::note::{Note, NoteError, SigningKey, VerifierKey};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Extension lines, without their newlines.
    pub extensions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a checkpoint: {0}")]
    Malformed(&'static str),
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("the checkpoint is for log {found:?}, not {expected:?}")]
    WrongOrigin { expected: String, found: String },
}

impl Checkpoint {
    pub fn body(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root.0)
        );
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    pub fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("the body must end in a newline"))?
            .split('\n')
            .collect();
        if lines.len() < 3 {
            return Err(CheckpointError::Malformed(
                "a checkpoint has an origin, a size and a root hash",
            ));
        }
        let origin = lines[0];
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("the origin line is empty"));
        }
        let size_text = lines[1];
        if size_text.is_empty()
            || !size_text.bytes().all(|b| b.is_ascii_digit())
            || (size_text.len() > 1 && size_text.starts_with('0'))
        {
            return Err(CheckpointError::Malformed(
                "the tree size is not a decimal number",
            ));
        }
        let size: u64 = size_text
            .parse()
            .map_err(|_| CheckpointError::Malformed("the tree size is too large"))?;
        let root = STANDARD
            .decode(lines[2])
            .ok()
            .and_then(|b| Hash::from_slice(&b))
            .ok_or(CheckpointError::Malformed(
                "the root hash is not 32 bytes of base64",
            ))?;
        let extensions: Vec<String> = lines[3..].iter().map(|s| s.to_string()).collect();
        if extensions.iter().any(|l| l.is_empty()) {
            return Err(CheckpointError::Malformed("an extension line is empty"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The checkpoint as a note signed by `key`.
    pub fn sign(&self, key: &SigningKey) -> Note {
        let text = self.body();
        let signature = key.sign_note(&text);
        Note {
            text,
            signatures: vec![signature],
        }
    }
}

/// A checkpoint together with the note it came in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint and checks it is signed by the log's key and
    /// names the log's origin (the key's name).
    pub fn open(bytes: &[u8], log_key: &VerifierKey) -> Result<SignedCheckpoint, CheckpointError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse_body(&note.text)?;
        if checkpoint.origin != log_key.name() {
            return Err(CheckpointError::WrongOrigin {
                expected: log_key.name().to_owned(),
                found: checkpoint.origin,
            });
        }
        note.verify(log_key)?;
        Ok(SignedCheckpoint { checkpoint, note })
    }
}
