//! Evidence files — malware samples, packet captures, documents attached to
//! incidents — kept by content: a file's name is the SHA-256 of its bytes.
//!
//! This crate owns the layout (`sha256/ab/cd/<64 hex digits>`) and the promise
//! that what is read back is what was stored (every read is re-hashed). It
//! stores through the `object_store` crate: a local directory by default, or
//! S3-compatible storage named by URL. It must never decide who may read a
//! file: access follows the STIX objects that refer to it, in the store.
#![forbid(unsafe_code)]

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use sha2::{Digest, Sha256};

/// The SHA-256 of a stored file, as 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(String);

impl BlobId {
    pub fn of(bytes: &[u8]) -> BlobId {
        BlobId(hex::encode(Sha256::digest(bytes)))
    }

    pub fn parse(text: &str) -> Result<BlobId, BlobError> {
        let t = text.trim().to_ascii_lowercase();
        if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(BlobId(t))
        } else {
            Err(BlobError::BadId(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn path(&self) -> Path {
        Path::from(format!(
            "sha256/{}/{}/{}",
            &self.0[..2],
            &self.0[2..4],
            self.0
        ))
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{0:?} is not a SHA-256 (64 hex digits)")]
    BadId(String),
    #[error("blob {id} is corrupt: its bytes hash to {actual}")]
    Corrupt { id: BlobId, actual: BlobId },
    #[error("cannot use blob storage {location:?}: {reason}")]
    Location { location: String, reason: String },
    /// The message carries the storage's words, so its error is not also
    /// a source: a chain printed whole would say it twice.
    #[error("blob storage failed: {0}")]
    Storage(object_store::Error),
}

impl From<object_store::Error> for BlobError {
    fn from(error: object_store::Error) -> Self {
        BlobError::Storage(error)
    }
}

/// Where evidence files live.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    location: String,
}

impl fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobStore({})", self.location)
    }
}

impl BlobStore {
    /// A local directory (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<BlobStore, BlobError> {
        let location = dir.display().to_string();
        std::fs::create_dir_all(dir).map_err(|e| BlobError::Location {
            location: location.clone(),
            reason: e.to_string(),
        })?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|e| {
            BlobError::Location {
                location: location.clone(),
                reason: e.to_string(),
            }
        })?;
        Ok(BlobStore {
            store: Arc::new(store),
            location,
        })
    }

    /// From a URL: `s3://bucket/prefix` (credentials and endpoint from the usual
    /// `AWS_*` environment variables, so MinIO and other S3-compatible servers
    /// work), `file:///absolute/dir`, or `memory://` (for tests).
    pub fn from_url(url: &str) -> Result<BlobStore, BlobError> {
        let bad = |reason: String| BlobError::Location {
            location: url.to_owned(),
            reason,
        };
        let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if parsed.scheme() == "file" {
            let dir = parsed
                .to_file_path()
                .map_err(|()| bad("not an absolute file path".into()))?;
            return BlobStore::local(&dir);
        }
        let env = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v));
        let (store, prefix) =
            object_store::parse_url_opts(&parsed, env).map_err(|e| bad(e.to_string()))?;
        let store: Arc<dyn ObjectStore> =
            Arc::new(object_store::prefix::PrefixStore::new(store, prefix));
        Ok(BlobStore {
            store,
            location: url.to_owned(),
        })
    }

    /// Stores `bytes` under their hash; storing the same bytes again changes nothing.
    pub async fn put(&self, bytes: Bytes) -> Result<BlobId, BlobError> {
        let id = BlobId::of(&bytes);
        if !self.contains(&id).await? {
            self.store
                .put(&id.path(), PutPayload::from_bytes(bytes))
                .await?;
        }
        Ok(id)
    }

    /// The file's bytes, re-hashed: a file altered at rest is an error, never returned.
    pub async fn get(&self, id: &BlobId) -> Result<Option<Bytes>, BlobError> {
        let bytes = match self.store.get(&id.path()).await {
            Ok(result) => result.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let actual = BlobId::of(&bytes);
        if &actual != id {
            return Err(BlobError::Corrupt {
                id: id.clone(),
                actual,
            });
        }
        Ok(Some(bytes))
    }

    pub async fn contains(&self, id: &BlobId) -> Result<bool, BlobError> {
        match self.store.head(&id.path()).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_files_round_trip_and_are_verified() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::local(dir.path()).unwrap();
        let sample = Bytes::from_static(b"MZ\x90\x00 not really a PE file");
        let id = blobs.put(sample.clone()).await.unwrap();
        assert_eq!(id, BlobId::of(&sample));
        assert_eq!(blobs.put(sample.clone()).await.unwrap(), id, "idempotent");
        assert_eq!(blobs.get(&id).await.unwrap(), Some(sample));
        let on_disk = dir
            .path()
            .join("sha256")
            .join(&id.as_str()[..2])
            .join(&id.as_str()[2..4])
            .join(id.as_str());
        assert!(on_disk.is_file(), "content-addressed layout");

        // Altered at rest: refused with both hashes named.
        std::fs::write(&on_disk, b"tampered").unwrap();
        let err = blobs.get(&id).await.unwrap_err();
        assert!(matches!(err, BlobError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(id.as_str()));

        let absent = BlobId::of(b"never stored");
        assert_eq!(blobs.get(&absent).await.unwrap(), None);
        assert!(!blobs.contains(&absent).await.unwrap());
    }

    #[tokio::test]
    async fn urls_choose_the_backend() {
        let dir = tempfile::tempdir().unwrap();
        let url = url::Url::from_directory_path(dir.path())
            .unwrap()
            .to_string();
        let blobs = BlobStore::from_url(&url).unwrap();
        let id = blobs.put(Bytes::from_static(b"pcap")).await.unwrap();
        assert!(
            BlobStore::local(dir.path())
                .unwrap()
                .contains(&id)
                .await
                .unwrap()
        );
        let memory = BlobStore::from_url("memory://").unwrap();
        let id = memory.put(Bytes::from_static(b"x")).await.unwrap();
        assert!(memory.contains(&id).await.unwrap());
        assert!(BlobStore::from_url("not a url").is_err());
        assert!(BlobStore::from_url("gopher://x/y").is_err());
    }

    #[test]
    fn ids_are_strict() {
        assert!(BlobId::parse(&"a".repeat(64)).is_ok());
        assert!(BlobId::parse(&"A".repeat(64)).is_ok());
        assert!(BlobId::parse("abc").is_err());
        assert!(BlobId::parse(&"g".repeat(64)).is_err());
        assert!(BlobId::parse("../../etc/passwd").is_err());
    }
}
