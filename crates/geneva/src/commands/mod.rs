//! One module per subcommand, plus what they share: opening the store and reading input.

pub mod attribution;
pub mod bench;
pub mod bench_attribution;
pub mod bench_portal;
pub mod bench_taxii;
pub mod case;
pub mod correlate;
pub mod demo;
pub mod evidence;
pub mod export;
pub mod feeds;
pub mod import;
pub mod log;
pub mod members;
pub mod migrate;
pub mod norms;
pub mod serve;
pub mod show;
pub mod stats;
pub mod taxii;
pub mod validate;
pub mod verify;
pub mod witness;

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use geneva_store_sqlite::SqliteStore;

/// File name of the embedded database inside the data directory.
pub const DATABASE_FILE: &str = "geneva.db";

/// Where the store is: a PostgreSQL URL, or else the embedded database in the data directory.
#[derive(Debug, Clone)]
pub struct StoreLocation {
    pub data: std::path::PathBuf,
    pub database: Option<String>,
    /// The transparency log's signing key file (default: `log.key` in `data`).
    pub log_key: Option<std::path::PathBuf>,
}

/// Opens the store, creating the data directory and database if `create`.
pub async fn open_store(
    location: &StoreLocation,
    create: bool,
) -> anyhow::Result<std::sync::Arc<dyn geneva_store::Store>> {
    if let Some(url) = &location.database {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let store = geneva_store_postgres::PostgresStore::connect(url, None)
                .await
                .with_context(|| format!("cannot open the PostgreSQL database {}", redact(url)))?;
            return Ok(std::sync::Arc::new(store));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            return Ok(std::sync::Arc::new(open_sqlite(Path::new(path), create)?));
        }
        bail!(
            "--database must be a postgres:// URL or sqlite:PATH (got {})",
            redact(url)
        );
    }
    let db = location.data.join(DATABASE_FILE);
    Ok(std::sync::Arc::new(open_sqlite(&db, create)?))
}

/// Directory of the correlation index inside the data directory (whatever the database).
pub fn index_dir(location: &StoreLocation) -> std::path::PathBuf {
    location.data.join("correlation")
}

/// Opens the correlation index over `store`: written by this process, or
/// read and kept in memory while a server writes it.
pub fn open_index(
    location: &StoreLocation,
    store: std::sync::Arc<dyn geneva_store::Store>,
) -> anyhow::Result<geneva_postings::PostingIndex> {
    let dir = index_dir(location);
    let (index, _) = geneva_postings::PostingIndex::open(&dir, store)
        .with_context(|| format!("cannot open the correlation index in {}", dir.display()))?;
    Ok(index)
}

/// The submitter `--as ORG` names: its name and directory id, or the
/// instance's own operators (`local`) when no organisation is named.
pub async fn submitter(
    store: &dyn geneva_store::Store,
    organisation: Option<&str>,
) -> anyhow::Result<(String, Option<i64>)> {
    match organisation {
        None => Ok(("local".to_string(), None)),
        Some(name) => match store.organisation(name).await? {
            Some(org) => Ok((org.name, Some(org.id))),
            None => bail!(
                "no organisation named {name:?} (add it with `geneva org add {name} --kind …`)"
            ),
        },
    }
}

/// A URL fit for an error message: without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

fn open_sqlite(db: &Path, create: bool) -> anyhow::Result<SqliteStore> {
    let data = db.parent().unwrap_or(Path::new("."));
    if !create && !db.exists() {
        bail!(
            "no Geneva database at {} (check --data, --database or the sqlite: path, or run `geneva import` first)",
            db.display()
        );
    }
    if create {
        std::fs::create_dir_all(data)
            .with_context(|| format!("cannot create data directory {}", data.display()))?;
    }
    SqliteStore::open(db).with_context(|| format!("cannot open {}", db.display()))
}

/// Reads a named file (or standard input for `-`), refusing anything over `limit` bytes.
pub fn read_input(path: &Path, limit: u64) -> anyhow::Result<Vec<u8>> {
    let too_large = |size: u64| {
        anyhow::anyhow!(
            "{size} bytes is over the limit of {limit} bytes (raise it with --max-bytes)"
        )
    };
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        if buf.len() as u64 > limit {
            return Err(too_large(buf.len() as u64));
        }
        return Ok(buf);
    }
    let meta = std::fs::metadata(path).context("cannot read file")?;
    if meta.is_dir() {
        bail!("is a directory; name the files inside it");
    }
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .context("cannot open file")?
        .take(limit + 1)
        .read_to_end(&mut buf)
        .context("cannot read file")?;
    if buf.len() as u64 > limit {
        return Err(too_large(buf.len() as u64));
    }
    Ok(buf)
}

pub fn display_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Writes `bytes` to `path` atomically (a `.partial` file renamed into place), or to standard output.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.write_all(b"\n")?;
            Ok(())
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("output");
            let tmp = dir.join(format!(".{name}.partial"));
            let mut file = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot create {}", tmp.display()))?;
            file.write_all(bytes)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
        }
    }
}
