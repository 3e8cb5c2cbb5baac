//! Key files: the log's signing key and witnesses' cosigning keys, one
//! `PRIVATE+KEY+…` line each, readable by their owner only.

use std::io::Write as _;
use std::path::Path;

use geneva_tlog::{KeyKind, SigningKey};

use crate::LogError;

/// Writes a new key to `path`, which must not exist, with mode 0600.
pub fn create(path: &Path, name: &str, kind: KeyKind) -> Result<SigningKey, LogError> {
    let key = SigningKey::generate(name, kind)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let io =
        |e: std::io::Error| LogError::KeyFile(format!("cannot create {}: {e}", path.display()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(format!("{}\n", key.to_private_text()).as_bytes())
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(key)
}

/// Reads a key file, refusing one that other users could read.
pub fn load(path: &Path) -> Result<SigningKey, LogError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| LogError::KeyFile(format!("cannot read {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(LogError::KeyFile(format!(
                "{} is readable by other users (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            )));
        }
    }
    if meta.len() > 4096 {
        return Err(LogError::KeyFile(format!(
            "{} is not a key file (too large)",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| LogError::KeyFile(format!("cannot read {}: {e}", path.display())))?;
    SigningKey::from_private_text(text.trim())
        .map_err(|e| LogError::KeyFile(format!("{}: {e}", path.display())))
}

/// A fresh log name: C2SP asks for an origin unique to the log.
pub fn default_origin() -> Result<String, LogError> {
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).map_err(|e| LogError::KeyFile(format!("no random source: {e}")))?;
    let suffix: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("geneva.invalid/log-{suffix}"))
}
