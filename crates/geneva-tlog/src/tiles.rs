//! C2SP tlog-tiles: the public, static, cacheable view of the tree.
//!
//! A tile at level `L` is up to 256 consecutive hashes of subtrees of height
//! `8L`: in this crate's storage, 16 strips of stratum `2L` ([`crate::strata`]).
//! A full tile never changes and may be cached forever; a partial tile
//! (`.p/W`) is the right edge of the tree at some size.

use crate::hash::Hash;
use crate::strata::{STRIP_WIDTH, StripKey, StripSet, stratum_len};

/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels per tile level.
pub const TILE_HEIGHT: u8 = 8;

/// One tile: its level, its index within the level, and how many hashes it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    pub level: u8,
    pub index: u64,
    /// 1..=256; below 256 the tile is partial.
    pub width: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TilePathError {
    #[error("not a tile path (expected tile/<L>/<N>[.p/<W>])")]
    Malformed,
    #[error("tile level {0} is out of range")]
    Level(u64),
    #[error("partial tile width {0} must be 1 to 255")]
    Width(u64),
    #[error("tile index is not written in canonical x000/000 groups")]
    NonCanonical,
}

impl TileId {
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// `tile/<L>/<N>` or `tile/<L>/<N>.p/<W>`, N in groups of three digits.
    pub fn path(&self) -> String {
        let mut path = format!("tile/{}/{}", self.level, encode_index(self.index));
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Parses what follows `tile/` … the path relative to the log's prefix, e.g. `tile/0/x001/234.p/7`.
    pub fn parse(path: &str) -> Result<TileId, TilePathError> {
        let rest = path.strip_prefix("tile/").ok_or(TilePathError::Malformed)?;
        let (level, rest) = rest.split_once('/').ok_or(TilePathError::Malformed)?;
        let level = parse_decimal(level)?;
        // Levels beyond 7 would cover more than 2^64 leaves.
        if level > 7 {
            return Err(TilePathError::Level(level));
        }
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let w = parse_decimal(width)?;
                if !(1..TILE_WIDTH).contains(&w) {
                    return Err(TilePathError::Width(w));
                }
                (index, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let groups: Vec<&str> = index_part.split('/').collect();
        if groups.len() > 7 {
            return Err(TilePathError::Malformed);
        }
        let mut index: u64 = 0;
        for (i, group) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let digits = if last {
                *group
            } else {
                group.strip_prefix('x').ok_or(TilePathError::NonCanonical)?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TilePathError::NonCanonical);
            }
            index = index
                .checked_mul(1000)
                .and_then(|i| i.checked_add(digits.parse::<u64>().expect("3 digits")))
                .ok_or(TilePathError::Malformed)?;
        }
        let id = TileId {
            level: level as u8,
            index,
            width,
        };
        // Exactly one spelling per tile: no leading `x000/` groups.
        if id.path() != path {
            return Err(TilePathError::NonCanonical);
        }
        Ok(id)
    }

    /// The strips that hold this tile's hashes.
    pub fn strips(&self) -> Vec<StripKey> {
        let stratum = self.level * 2;
        let first = self.index * (TILE_WIDTH / STRIP_WIDTH);
        let count = u64::from(self.width).div_ceil(STRIP_WIDTH);
        (first..first + count)
            .map(|index| StripKey { stratum, index })
            .collect()
    }

    /// The tile's bytes: its hashes, concatenated. `None` if `strips` lacks some.
    pub fn bytes(&self, strips: &StripSet) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::from(self.width) * 32);
        let mut left = usize::from(self.width);
        for key in self.strips() {
            let hashes = strips.get(&key)?;
            let take = left.min(STRIP_WIDTH as usize);
            if hashes.len() < take {
                return None;
            }
            for h in &hashes[..take] {
                out.extend_from_slice(&h.0);
            }
            left -= take;
        }
        Some(out)
    }

    /// Whether a tree of `size` leaves has this tile, exactly as asked: full
    /// tiles exist once complete; a partial tile exists when it is the tree's
    /// right edge at this size. (Tiles of smaller, earlier widths are served too:
    /// they are what an earlier checkpoint's readers ask for.)
    pub fn exists_in(&self, size: u64) -> bool {
        let available = stratum_len(size, self.level * 2).saturating_sub(self.index * TILE_WIDTH);
        available >= u64::from(self.width)
    }
}

fn parse_decimal(text: &str) -> Result<u64, TilePathError> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TilePathError::Malformed);
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(TilePathError::NonCanonical);
    }
    text.parse().map_err(|_| TilePathError::Malformed)
}

/// N in groups of three digits, all but the last prefixed with `x`: 1234067 → `x001/x234/067`.
pub fn encode_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The tiles a reader of a tree of `size` needs for every hash it may ask for:
/// the full tiles of each level and the partial tile at the right edge.
pub fn tiles_of(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    for level in 0u8..8 {
        let len = stratum_len(size, level * 2);
        if len == 0 {
            break;
        }
        for index in 0..len / TILE_WIDTH {
            out.push(TileId {
                level,
                index,
                width: TILE_WIDTH as u16,
            });
        }
        if !len.is_multiple_of(TILE_WIDTH) {
            out.push(TileId {
                level,
                index: len / TILE_WIDTH,
                width: (len % TILE_WIDTH) as u16,
            });
        }
    }
    out
}

/// Reads a tile's bytes back into hashes.
pub fn tile_hashes(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(32)
            .map(|c| Hash::from_slice(c).expect("32 bytes"))
            .collect(),
    )
}
