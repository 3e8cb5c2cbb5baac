//! `geneva evidence`: files attached to incidents, kept by their SHA-256.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use geneva_blobs::{BlobId, BlobStore};
use serde_json::json;

use super::StoreLocation;

#[derive(Debug, clap::Subcommand)]
pub enum EvidenceCommand {
    /// Store files; prints each one's SHA-256, which STIX objects (artifact, file) refer to.
    Add {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Largest file accepted, in bytes.
        #[arg(long, default_value_t = 1024 * 1024 * 1024)]
        max_bytes: u64,
        #[arg(long)]
        json: bool,
    },
    /// Write a stored file (verified against its hash) to a file or standard output.
    Get {
        sha256: String,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// `--blobs URL` (GENEVA_BLOBS), else `blobs/` in the data directory.
fn open(location: &StoreLocation, blobs: Option<&str>) -> anyhow::Result<BlobStore> {
    Ok(match blobs {
        Some(url) => BlobStore::from_url(url)?,
        None => BlobStore::local(&location.data.join("blobs"))?,
    })
}

pub async fn run(
    location: &StoreLocation,
    blobs: Option<&str>,
    command: EvidenceCommand,
) -> anyhow::Result<ExitCode> {
    let store = open(location, blobs)?;
    match command {
        EvidenceCommand::Add {
            files,
            max_bytes,
            json,
        } => {
            let mut added = Vec::new();
            for path in &files {
                let bytes = super::read_input(path, max_bytes)
                    .with_context(|| path.display().to_string())?;
                let size = bytes.len();
                let id = store.put(bytes::Bytes::from(bytes)).await?;
                added.push(json!({"file": path.display().to_string(), "sha256": id.as_str(), "size": size}));
                if !json {
                    println!("{id}  {}", path.display());
                }
            }
            if json {
                println!("{}", json!(added));
            }
        }
        EvidenceCommand::Get { sha256, output } => {
            let id = BlobId::parse(&sha256)?;
            let Some(bytes) = store.get(&id).await? else {
                eprintln!("error: no evidence file with SHA-256 {id}");
                return Ok(ExitCode::FAILURE);
            };
            match output {
                Some(path) => std::fs::write(&path, &bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => std::io::Write::write_all(&mut std::io::stdout().lock(), &bytes)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
