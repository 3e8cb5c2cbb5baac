//! The correlation index: *value → (item version, source version)* postings,
//! derived keys (registrable domain, URL host, ssdeep grams, TLSH bands) and
//! addresses, held in memory for lookups in microseconds and persisted in a
//! directory of its own as an append-only log of checksummed batches, folded
//! into a snapshot when the log outgrows it. Writes cost what the batch
//! costs, whatever the size of the index; reads never touch the disk.
//!
//! It owns the index's layout, its files and its recovery: a torn write is
//! cut off, a damaged file is discarded and the index rebuilt from the
//! store's feed (it is a projection of stored versions, never evidence).
//! One process writes a directory at a time (a file lock); another process
//! opening it reads it and then keeps its own copy in memory. It must never
//! make up its own access rules: every posting it returns has passed the
//! store's rule for the caller, applied here to the access facts the indexer
//! brought with each version (`VersionAccess::visible_to`, held to the same
//! oracle as the store's SQL) or asked of the store (`Store::visible_seqs`);
//! and it never parses STIX or knows the link rules (those are
//! `geneva-correlate`'s).
#![forbid(unsafe_code)]

mod codec;
mod memory;

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use geneva_store::{
    Capped, IndexBatch, IndexStats, ObjectHandle, PostingHit, Store, StoreError, Viewer,
};

use codec::{Frames, MAGIC, Record};

/// Maps over storage numbers and ids within one query: seeded per process,
/// and much cheaper than SipHash for the thousands of lookups a query makes.
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use memory::Memory;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The cause is in the message, not chained, so that it is said once.
    #[error("correlation index file {}: {error} (the index is rebuilt from the store if this path is removed)", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

const LOG: &str = "postings.log";
const SNAPSHOT: &str = "postings.snapshot";
const LOCK: &str = "lock";

/// The log is folded into a new snapshot once it is larger than the last
/// snapshot and than this: rewriting costs at most as much as was appended.
const FOLD_AT: u64 = 64 << 20;

/// Values per snapshot chunk.
const CHUNK_VALUES: usize = 100_000;

struct Files {
    dir: PathBuf,
    log: File,
    log_bytes: u64,
    snapshot_bytes: u64,
    /// Held for as long as this process writes the directory.
    _lock: File,
}

impl Files {
    fn io(&self, name: &str) -> impl FnOnce(std::io::Error) -> IndexError {
        let path = self.dir.join(name);
        move |error| IndexError::Io { path, error }
    }
}

/// The index of one process, over one store.
pub struct PostingIndex {
    store: Arc<dyn Store>,
    memory: RwLock<Memory>,
    /// `None`: kept in memory only (no directory, or another process writes it).
    files: Mutex<Option<Files>>,
    fold_at: u64,
}

/// How an index directory was found when it was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// This process writes the directory.
    Writing,
    /// Another process writes it: read once, then kept in memory.
    ReadOnly,
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |error| IndexError::Io {
        path: path.to_owned(),
        error,
    }
}

/// Opens a file and checks its magic line; `None` when it does not exist.
fn open_existing(path: &Path) -> Result<Option<BufReader<File>>, IndexError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_at(path)(e)),
    };
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut magic = vec![0u8; MAGIC.len()];
    use std::io::Read;
    match reader.read_exact(&mut magic) {
        Ok(()) if magic == MAGIC => Ok(Some(reader)),
        // Empty or foreign: as good as absent; the caller rewrites it.
        _ => Ok(None),
    }
}

/// Why a directory's contents were not used.
type Damage = String;

/// Loads the snapshot, if any: the memory it holds, or what is wrong with it.
fn load_snapshot(path: &Path) -> Result<Result<Memory, Damage>, IndexError> {
    let Some(reader) = open_existing(path)? else {
        return Ok(Ok(Memory::new()));
    };
    let mut frames = Frames::new(reader, MAGIC.len() as u64);
    let mut memory = Memory::new();
    while let Some(payload) = frames.next_frame().map_err(io_at(path))? {
        match codec::decode(&payload) {
            Ok(Record::Chunk(body)) => {
                if let Err(e) = memory.apply_chunk(body) {
                    return Ok(Err(format!("chunk ending at byte {}: {e}", frames.good)));
                }
            }
            // The cursor comes last: a snapshot without it is incomplete.
            Ok(Record::Snapshot { cursor, batches }) => {
                memory.cursor = cursor;
                memory.batches = batches;
                return Ok(Ok(memory));
            }
            Ok(Record::Batch { .. }) => {
                return Ok(Err(format!("a batch at byte {}", frames.good)));
            }
            Err(e) => return Ok(Err(format!("record ending at byte {}: {e}", frames.good))),
        }
    }
    Ok(Err(format!(
        "it ends at byte {} without its cursor",
        frames.good
    )))
}

/// Replays the log's batches that follow `memory`'s cursor, in their chain.
/// Returns the offset after the last whole frame, or the damage found.
fn replay_log(path: &Path, memory: &mut Memory) -> Result<Result<u64, Damage>, IndexError> {
    let Some(reader) = open_existing(path)? else {
        return Ok(Ok(0));
    };
    let mut frames = Frames::new(reader, MAGIC.len() as u64);
    while let Some(payload) = frames.next_frame().map_err(io_at(path))? {
        match codec::decode(&payload) {
            Ok(Record::Batch {
                number,
                from,
                to,
                body,
            }) => {
                if number <= memory.batches {
                    // Already in the snapshot.
                    continue;
                }
                if number != memory.batches + 1 || from != memory.cursor {
                    // A gap (the log of an older snapshot): the feed fills it.
                    break;
                }
                memory.apply(body);
                memory.cursor = Some(to);
                memory.batches = number;
            }
            Ok(_) => return Ok(Err(format!("a snapshot record at byte {}", frames.good))),
            Err(e) => return Ok(Err(format!("record ending at byte {}: {e}", frames.good))),
        }
    }
    Ok(Ok(frames.good))
}

impl PostingIndex {
    /// An index kept in memory only, built from the feed as queries need it.
    pub fn in_memory(store: Arc<dyn Store>) -> Self {
        PostingIndex {
            store,
            memory: RwLock::new(Memory::new()),
            files: Mutex::new(None),
            fold_at: FOLD_AT,
        }
    }

    /// Opens (creating) the index kept in `dir`. A damaged directory is
    /// emptied and the index starts again from the feed.
    pub fn open(dir: &Path, store: Arc<dyn Store>) -> Result<(Self, Opened), IndexError> {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        let lock_path = dir.join(LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_at(&lock_path))?;
        let writing = match lock.try_lock() {
            Ok(()) => true,
            Err(std::fs::TryLockError::WouldBlock) => false,
            Err(std::fs::TryLockError::Error(e)) => return Err(io_at(&lock_path)(e)),
        };
        let (snapshot, log) = (dir.join(SNAPSHOT), dir.join(LOG));
        let loaded = match load_snapshot(&snapshot)? {
            Ok(mut memory) => match replay_log(&log, &mut memory)? {
                Ok(end) => Ok((memory, end)),
                Err(damage) => Err(format!("{}: {damage}", log.display())),
            },
            Err(damage) => Err(format!("{}: {damage}", snapshot.display())),
        };
        let (memory, log_end) = match loaded {
            Ok(found) => found,
            Err(damage) => {
                tracing::warn!(%damage, "the correlation index is damaged; rebuilding it from the store");
                if writing {
                    remove_if_present(&snapshot)?;
                    remove_if_present(&log)?;
                }
                (Memory::new(), 0)
            }
        };
        if !writing {
            let index = PostingIndex {
                store,
                memory: RwLock::new(memory),
                files: Mutex::new(None),
                fold_at: FOLD_AT,
            };
            return Ok((index, Opened::ReadOnly));
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&log)
            .map_err(io_at(&log))?;
        // Cut a torn tail, or start the file.
        let log_bytes = if log_end < MAGIC.len() as u64 {
            file.set_len(0).map_err(io_at(&log))?;
            file.write_all(MAGIC).map_err(io_at(&log))?;
            MAGIC.len() as u64
        } else {
            file.set_len(log_end).map_err(io_at(&log))?;
            log_end
        };
        file.seek(SeekFrom::Start(log_bytes)).map_err(io_at(&log))?;
        let snapshot_bytes = std::fs::metadata(&snapshot).map_or(0, |m| m.len());
        let files = Files {
            dir: dir.to_owned(),
            log: file,
            log_bytes,
            snapshot_bytes,
            _lock: lock,
        };
        let index = PostingIndex {
            store,
            memory: RwLock::new(memory),
            files: Mutex::new(Some(files)),
            fold_at: FOLD_AT,
        };
        Ok((index, Opened::Writing))
    }

    /// Folds the log into a snapshot once it is over `bytes` (and over the
    /// last snapshot) instead of 64 MiB.
    pub fn with_fold_at(mut self, bytes: u64) -> Self {
        self.fold_at = bytes;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn memory(&self) -> std::sync::RwLockReadGuard<'_, Memory> {
        self.memory.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The feed position the index has read up to (`None`: nothing yet).
    pub fn cursor(&self) -> Option<u64> {
        self.memory().cursor
    }

    /// Applies a batch if the cursor is still `from`; `false` (and nothing
    /// changed) when another run moved it first. The batch is in the log
    /// before it is in memory, so a failed write changes nothing.
    pub fn apply(&self, batch: IndexBatch, from: Option<u64>) -> Result<bool, IndexError> {
        let mut memory = self.memory.write().unwrap_or_else(|e| e.into_inner());
        if memory.cursor != from {
            return Ok(false);
        }
        let to = batch.to;
        let record = Record::Batch {
            number: memory.batches + 1,
            from,
            to,
            body: memory::body_of(batch),
        };
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(files) = files.as_mut() {
            let mut frame = Vec::new();
            codec::write_frame(&mut frame, &codec::encode(&record)).expect("writing to memory");
            if let Err(e) = files.log.write_all(&frame) {
                // Whatever part was written is a torn frame: cut it.
                let _ = files.log.set_len(files.log_bytes);
                let _ = files.log.seek(SeekFrom::Start(files.log_bytes));
                return Err(files.io(LOG)(e));
            }
            files.log_bytes += frame.len() as u64;
        }
        let Record::Batch { body, .. } = record else {
            unreachable!("built above")
        };
        memory.apply(body);
        memory.cursor = Some(to);
        memory.batches += 1;
        let due = files
            .as_ref()
            .is_some_and(|f| f.log_bytes > self.fold_at.max(f.snapshot_bytes));
        drop(files);
        drop(memory);
        // The batch is in the log: a failed fold loses nothing and is tried
        // again after the next batch.
        if due && let Err(e) = self.fold_if_due() {
            tracing::warn!(error = %e, "cannot fold the correlation log into a snapshot");
        }
        Ok(true)
    }

    /// Folds the log into a snapshot if it is due, under the read lock:
    /// queries go on while the snapshot is written (a second at 10M
    /// observables); batches wait, since the log is started again after it.
    fn fold_if_due(&self) -> Result<(), IndexError> {
        // Memory before files, as in `apply`.
        let memory = self.memory();
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        match files.as_mut() {
            Some(files) if files.log_bytes > self.fold_at.max(files.snapshot_bytes) => {
                fold(files, &memory)
            }
            _ => Ok(()),
        }
    }

    /// Empties the index, to be rebuilt from the start of the feed.
    pub fn reset(&self) -> Result<(), IndexError> {
        let mut memory = self.memory.write().unwrap_or_else(|e| e.into_inner());
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(files) = files.as_mut() {
            remove_if_present(&files.dir.join(SNAPSHOT))?;
            files.snapshot_bytes = 0;
            restart_log(files)?;
        }
        *memory = Memory::new();
        Ok(())
    }

    /// Container versions that refer to each of `ids`, as indexed.
    pub fn referrers(&self, ids: &[String]) -> Vec<(String, u64)> {
        self.memory().referrers(ids)
    }

    /// For each key, the item versions carrying it that the viewer may see,
    /// through sources the viewer may see; or, when more than `cap` versions
    /// carry it (whoever may see them), "more than `cap`".
    pub async fn postings<K: AsRef<str> + Sync>(
        &self,
        keys: &[K],
        cap: usize,
        viewer: &Viewer,
    ) -> Result<Vec<Capped<PostingHit>>, IndexError> {
        // All keys' postings are copied into one buffer under the lock: one
        // allocation however many keys, and no lock held across the await.
        let mut flat: Vec<(u64, u64)> = Vec::new();
        let mut spans: Vec<Option<std::ops::Range<usize>>> = Vec::with_capacity(keys.len());
        {
            let memory = self.memory();
            for key in keys {
                let p = memory.postings_of(key.as_ref());
                if p.len() > cap {
                    spans.push(None);
                } else {
                    spans.push(Some(flat.len()..flat.len() + p.len()));
                    flat.extend_from_slice(p);
                }
            }
        }
        let mut seqs: Vec<u64> = flat.iter().flat_map(|&(i, s)| [i, s]).collect();
        seqs.sort_unstable();
        seqs.dedup();
        let visible = self.visible_objects(&seqs, viewer).await?;
        // Postings are unique pairs of versions; they are unique pairs of
        // objects too unless two of the versions are of one object.
        let mut objects: Vec<ObjectHandle> = visible.values().copied().collect();
        objects.sort_unstable();
        objects.dedup();
        let versions_share_objects = objects.len() < visible.len();
        Ok(spans
            .into_iter()
            .map(|span| {
                let Some(span) = span else {
                    return Capped::Over(cap + 1);
                };
                let p = &flat[span];
                let mut hits: Vec<PostingHit> = Vec::with_capacity(p.len());
                for (item, source) in p {
                    if let (Some(&item), Some(&source)) = (visible.get(item), visible.get(source)) {
                        let hit = PostingHit { item, source };
                        if !(versions_share_objects && hits.contains(&hit)) {
                            hits.push(hit);
                        }
                    }
                }
                Capped::Within(hits)
            })
            .collect())
    }

    /// The STIX ids of objects this index handed out; `None` for a handle
    /// from before the index was rebuilt.
    pub fn object_ids(&self, handles: &[ObjectHandle]) -> Vec<Option<Arc<str>>> {
        let memory = self.memory();
        handles
            .iter()
            .map(|&h| memory.object_id(h).cloned())
            .collect()
    }

    /// The STIX id of each of `seqs` the viewer may see. Versions whose
    /// access facts came with their batch are decided here by the store's
    /// rule (`VersionAccess::visible_to`); any other is asked of the store.
    pub async fn visible_ids(
        &self,
        seqs: &[u64],
        viewer: &Viewer,
    ) -> Result<std::collections::HashMap<u64, String>, IndexError> {
        let visible = self.visible_objects(seqs, viewer).await?;
        let memory = self.memory();
        Ok(visible
            .into_iter()
            .filter_map(|(seq, h)| Some((seq, memory.object_id(h)?.to_string())))
            .collect())
    }

    /// The object of each of `seqs` the viewer may see.
    async fn visible_objects(
        &self,
        seqs: &[u64],
        viewer: &Viewer,
    ) -> Result<FastMap<u64, ObjectHandle>, IndexError> {
        let mut visible = FastMap::with_capacity_and_hasher(seqs.len(), Default::default());
        if seqs.is_empty() {
            return Ok(visible);
        }
        let groups: Vec<i64> = match viewer {
            Viewer::Member { organisation, .. } => self
                .store
                .groups()
                .await?
                .into_iter()
                .filter(|g| g.members.contains(organisation))
                .map(|g| g.id)
                .collect(),
            _ => Vec::new(),
        };
        let mut unknown = Vec::new();
        {
            let memory = self.memory();
            for &seq in seqs {
                match memory.access(seq) {
                    Some((object, facts)) => {
                        if facts.visible_to(viewer, &groups) {
                            visible.insert(seq, memory.handle(object));
                        }
                    }
                    None => unknown.push(seq),
                }
            }
        }
        if !unknown.is_empty() {
            let found = self.store.visible_seqs(&unknown, viewer).await?;
            // Rare (versions indexed before batches carried access facts):
            // their objects are numbered as they are met.
            let mut memory = self.memory.write().unwrap_or_else(|e| e.into_inner());
            for (seq, id) in found {
                let object = memory.object(&id);
                visible.insert(seq, memory.handle(object));
            }
        }
        Ok(visible)
    }

    /// For each derived-key hash, the value keys filed under it (at most `cap`).
    pub fn derived(&self, hashes: &[u64], cap: usize) -> Vec<Capped<std::sync::Arc<str>>> {
        self.memory().derived(hashes, cap)
    }

    /// For each inclusive range of the 128-bit address space, the address
    /// values inside it (at most `cap`).
    pub fn addresses(
        &self,
        ranges: &[(u128, u128)],
        cap: usize,
    ) -> Vec<Capped<std::sync::Arc<str>>> {
        self.memory().addresses(ranges, cap)
    }

    /// Prefix lengths of the ranges indexed, in the 128-bit space.
    pub fn range_prefixes(&self) -> Vec<u8> {
        self.memory().range_prefixes()
    }

    /// The value keys indexed for `item` (a STIX id), from the item versions
    /// and sources the viewer may see, sorted.
    pub async fn item_values(
        &self,
        item: &str,
        viewer: &Viewer,
    ) -> Result<Vec<String>, IndexError> {
        let versions = self.store.version_seqs(item, viewer).await?;
        let filed: Vec<(u64, Vec<String>)> = {
            let memory = self.memory();
            versions
                .iter()
                .flat_map(|&v| memory.item_sources(v))
                .collect()
        };
        let mut sources: Vec<u64> = filed.iter().map(|(s, _)| *s).collect();
        sources.sort_unstable();
        sources.dedup();
        let visible = self.visible_ids(&sources, viewer).await?;
        let mut keys: Vec<String> = filed
            .into_iter()
            .filter(|(s, _)| visible.contains_key(s))
            .flat_map(|(_, keys)| keys)
            .collect();
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// Every item id with indexed values the viewer may see, in the order
    /// their first version was stored (campaigns walk these).
    pub async fn items(&self, viewer: &Viewer) -> Result<Vec<String>, IndexError> {
        let pairs = self.memory().item_pairs();
        let mut seqs: Vec<u64> = pairs.iter().flat_map(|&(i, s)| [i, s]).collect();
        seqs.sort_unstable();
        seqs.dedup();
        let visible = self.visible_ids(&seqs, viewer).await?;
        let mut seen = std::collections::HashSet::new();
        // Pairs are in item order, so an id's first pair is its oldest version.
        Ok(pairs
            .into_iter()
            .filter(|(_, s)| visible.contains_key(s))
            .filter_map(|(i, _)| visible.get(&i))
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect())
    }

    pub fn stats(&self) -> IndexStats {
        let memory = self.memory();
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        IndexStats {
            cursor: memory.cursor.unwrap_or(0),
            values: memory.values(),
            postings: memory.postings,
            derived: memory.derived_rows,
            addresses: memory.address_count(),
            bytes: files.as_ref().map(|f| f.log_bytes + f.snapshot_bytes),
        }
    }
}

fn remove_if_present(path: &Path) -> Result<(), IndexError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_at(path)(e)),
        _ => Ok(()),
    }
}

fn restart_log(files: &mut Files) -> Result<(), IndexError> {
    files.log.set_len(0).map_err(files.io(LOG))?;
    files.log.seek(SeekFrom::Start(0)).map_err(files.io(LOG))?;
    files.log.write_all(MAGIC).map_err(files.io(LOG))?;
    files.log_bytes = MAGIC.len() as u64;
    Ok(())
}

/// Writes the whole index as a new snapshot (beside, then renamed over the
/// old one once on disk) and starts the log again.
fn fold(files: &mut Files, memory: &Memory) -> Result<(), IndexError> {
    let tmp = files.dir.join(format!("{SNAPSHOT}.tmp"));
    let write = || -> std::io::Result<u64> {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        out.write_all(MAGIC)?;
        let mut bytes = MAGIC.len() as u64;
        let mut emit = |record: Record| -> std::io::Result<()> {
            let payload = codec::encode(&record);
            codec::write_frame(&mut out, &payload)?;
            bytes += 8 + payload.len() as u64;
            Ok(())
        };
        memory.chunks(CHUNK_VALUES, |body| emit(Record::Chunk(body)))?;
        emit(Record::Snapshot {
            cursor: memory.cursor,
            batches: memory.batches,
        })?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(bytes)
    };
    let bytes = write().map_err(io_at(&tmp))?;
    let snapshot = files.dir.join(SNAPSHOT);
    std::fs::rename(&tmp, &snapshot).map_err(io_at(&snapshot))?;
    if let Ok(dir) = File::open(&files.dir) {
        let _ = dir.sync_all();
    }
    files.snapshot_bytes = bytes;
    // The log's batches are all in the snapshot now; an old log found beside
    // a newer snapshot is skipped batch by batch on load anyway.
    restart_log(files)
}
