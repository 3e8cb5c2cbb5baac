//! Similarity of fuzzy file hashes: ssdeep's 0–100 match score and TLSH's
//! distance (0 = identical, larger = further apart). Both agree with the
//! reference implementations (`ppdeep`, `py-tlsh`) on a generated corpus in CI.

use crate::normalize::{self, NormalizeError};

const SPAMSUM_LENGTH: usize = 64;
const MIN_BLOCKSIZE: u64 = 3;
const ROLLING_WINDOW: usize = 7;

/// An ssdeep digest, parsed once so that one digest can be scored against
/// many without parsing it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsdeepDigest {
    block_size: u64,
    first: Vec<u8>,
    second: Vec<u8>,
}

/// Runs of more than three equal characters carry no more information
/// (ssdeep's `eliminate_sequences`).
fn strip_sequences(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out: Vec<u8> = b.iter().take(3).copied().collect();
    for i in 3..b.len() {
        if b[i] != b[i - 1] || b[i] != b[i - 2] || b[i] != b[i - 3] {
            out.push(b[i]);
        }
    }
    out
}

fn parse_ssdeep(text: &str) -> Result<SsdeepDigest, NormalizeError> {
    let normal = normalize::ssdeep(text)?;
    let mut parts = normal.splitn(3, ':');
    let block_size = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let first = strip_sequences(parts.next().unwrap_or(""));
    let second = strip_sequences(parts.next().unwrap_or(""));
    Ok(SsdeepDigest {
        block_size,
        first,
        second,
    })
}

/// Whether two parts share a 7-byte window. Windows are packed into
/// integers, ours sorted on the stack (parts are at most 64 bytes).
fn has_common_substring(a: &[u8], b: &[u8]) -> bool {
    if a.len() < ROLLING_WINDOW || b.len() < ROLLING_WINDOW {
        return false;
    }
    let pack = |w: &[u8]| w.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let mut ours = [0u64; SPAMSUM_LENGTH];
    let n = (a.len() - ROLLING_WINDOW + 1).min(SPAMSUM_LENGTH);
    for (slot, w) in ours.iter_mut().zip(a.windows(ROLLING_WINDOW)) {
        *slot = pack(w);
    }
    let ours = &mut ours[..n];
    ours.sort_unstable();
    b.windows(ROLLING_WINDOW)
        .any(|w| ours.binary_search(&pack(w)).is_ok())
}

/// Unit-cost edit distance. Parts are at most 64 bytes, so the shorter one
/// fits a machine word and Myers' bit-parallel algorithm (in Hyyrö's
/// formulation) computes a column of the table per step.
fn levenshtein(a: &[u8], b: &[u8]) -> usize {
    let (pattern, text) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if pattern.is_empty() {
        return text.len();
    }
    if pattern.len() > 64 {
        return levenshtein_table(a, b);
    }
    let mut peq = [0u64; 256];
    for (i, &c) in pattern.iter().enumerate() {
        peq[usize::from(c)] |= 1 << i;
    }
    let last = 1u64 << (pattern.len() - 1);
    let mut pv = u64::MAX;
    let mut mv = 0u64;
    let mut score = pattern.len();
    for &c in text {
        let eq = peq[usize::from(c)];
        let xv = eq | mv;
        let xh = ((eq & pv).wrapping_add(pv) ^ pv) | eq;
        let mut ph = mv | !(xh | pv);
        let mut mh = pv & xh;
        if ph & last != 0 {
            score += 1;
        } else if mh & last != 0 {
            score -= 1;
        }
        ph = (ph << 1) | 1;
        mh <<= 1;
        pv = mh | !(xv | ph);
        mv = ph & xv;
    }
    score
}

/// The textbook table, for parts too long for a word (never from a valid
/// digest; kept so that `levenshtein` is total) and as the tests' oracle.
fn levenshtein_table(a: &[u8], b: &[u8]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let cost = usize::from(x != y);
            current[j + 1] = (current[j] + 1)
                .min(previous[j + 1] + 1)
                .min(previous[j] + cost);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

fn score_strings(a: &[u8], b: &[u8], block_size: u64) -> u32 {
    if a.len() > SPAMSUM_LENGTH || b.len() > SPAMSUM_LENGTH || !has_common_substring(a, b) {
        return 0;
    }
    let distance = levenshtein(a, b);
    let scaled = (distance * SPAMSUM_LENGTH) / (a.len() + b.len());
    let mut score = 100 - (100 * scaled / SPAMSUM_LENGTH) as u64;
    // Small block sizes: a match is not allowed to exaggerate.
    let cap = block_size / MIN_BLOCKSIZE * a.len().min(b.len()) as u64;
    if score > cap {
        score = cap;
    }
    score as u32
}

impl SsdeepDigest {
    pub fn parse(text: &str) -> Result<SsdeepDigest, NormalizeError> {
        parse_ssdeep(text)
    }

    /// ssdeep's match score against `other`, 0 (nothing in common) to 100.
    pub fn score(&self, other: &SsdeepDigest) -> u32 {
        let (x, y) = (self, other);
        let (bx, by) = (x.block_size, y.block_size);
        if bx != by && bx != by.saturating_mul(2) && by != bx.saturating_mul(2) {
            return 0;
        }
        if bx == by && x.first == y.first {
            return 100;
        }
        if bx == by {
            score_strings(&x.first, &y.first, bx).max(score_strings(
                &x.second,
                &y.second,
                by.saturating_mul(2),
            ))
        } else if bx == by.saturating_mul(2) {
            score_strings(&x.first, &y.second, bx)
        } else {
            score_strings(&x.second, &y.first, by)
        }
    }
}

/// ssdeep's match score of two digests, 0 (nothing in common) to 100.
pub fn ssdeep_score(a: &str, b: &str) -> Result<u32, NormalizeError> {
    Ok(parse_ssdeep(a)?.score(&parse_ssdeep(b)?))
}

/// The 7-character substrings of a digest's two parts (and its first part
/// whole): two digests can only score above 0 if they share one, so an index
/// over these finds every candidate without comparing all pairs.
pub fn ssdeep_grams(digest: &str) -> Result<(u64, Vec<String>), NormalizeError> {
    let d = parse_ssdeep(digest)?;
    // Equal first parts under one block size score 100 whatever their length.
    let mut grams = vec![format!(
        "{}:={}",
        d.block_size,
        String::from_utf8_lossy(&d.first)
    )];
    for (part, size) in [
        (&d.first, d.block_size),
        (&d.second, d.block_size.saturating_mul(2)),
    ] {
        for w in part.windows(ROLLING_WINDOW) {
            grams.push(format!("{size}:{}", String::from_utf8_lossy(w)));
        }
    }
    grams.sort();
    grams.dedup();
    Ok((d.block_size, grams))
}

/// A winnowed subset of [`ssdeep_grams`] (Schleimer et al., 2003): in every
/// run of `window` consecutive grams of a part, the one with the least hash
/// is kept. Two digests sharing a substring of at least `window + 6`
/// characters in a part share a kept gram, so an index over these finds
/// every pair that shares such a run for about `2 / (window + 1)` of the
/// space. Digests similar enough to score well share far longer runs.
pub fn ssdeep_winnowed_grams(digest: &str, window: usize) -> Result<Vec<String>, NormalizeError> {
    let d = parse_ssdeep(digest)?;
    let window = window.max(1);
    let mut grams = vec![format!(
        "{}:={}",
        d.block_size,
        String::from_utf8_lossy(&d.first)
    )];
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }
    for (part, size) in [
        (&d.first, d.block_size),
        (&d.second, d.block_size.saturating_mul(2)),
    ] {
        let all: Vec<&[u8]> = part.windows(ROLLING_WINDOW).collect();
        if all.is_empty() {
            continue;
        }
        let hashes: Vec<u64> = all.iter().map(|g| fnv(g)).collect();
        let mut last = usize::MAX;
        for start in 0..=all.len().saturating_sub(window) {
            let end = (start + window).min(all.len());
            // The rightmost least hash, as the algorithm prescribes.
            let pick = (start..end)
                .rev()
                .min_by_key(|&i| hashes[i])
                .expect("a non-empty window");
            if pick != last {
                grams.push(format!("{size}:{}", String::from_utf8_lossy(all[pick])));
                last = pick;
            }
        }
    }
    grams.sort();
    grams.dedup();
    Ok(grams)
}

/// A TLSH digest, decoded (TLSH 4.x, 128 buckets, 1-byte checksum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsh {
    checksum: u8,
    lvalue: u8,
    q1: u8,
    q2: u8,
    body: [u8; 32],
}

fn swap(b: u8) -> u8 {
    b.rotate_left(4)
}

impl Tlsh {
    pub fn parse(text: &str) -> Result<Tlsh, NormalizeError> {
        let normal = normalize::tlsh(text)?;
        let hex = &normal[2..];
        let byte = |i: usize| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex");
        let q = swap(byte(2));
        let mut body = [0u8; 32];
        for (j, b) in body.iter_mut().enumerate() {
            *b = byte(3 + 31 - j);
        }
        Ok(Tlsh {
            checksum: swap(byte(0)),
            lvalue: swap(byte(1)),
            q1: q & 0x0f,
            q2: q >> 4,
            body,
        })
    }

    /// The TLSH distance (`diff` in the reference), counting the length
    /// difference as the reference does by default.
    pub fn distance(&self, other: &Tlsh) -> u32 {
        fn mod_diff(x: u8, y: u8, range: u32) -> u32 {
            let (x, y) = (u32::from(x), u32::from(y));
            let direct = x.abs_diff(y);
            direct.min(range - direct)
        }
        let mut diff = 0;
        let l = mod_diff(self.lvalue, other.lvalue, 256);
        diff += if l <= 1 { l } else { l * 12 };
        for (a, b) in [(self.q1, other.q1), (self.q2, other.q2)] {
            let q = mod_diff(a, b, 16);
            diff += if q <= 1 { q } else { (q - 1) * 12 };
        }
        if self.checksum != other.checksum {
            diff += 1;
        }
        for (a, b) in self.body.iter().zip(&other.body) {
            for shift in [0, 2, 4, 6] {
                let d = ((a >> shift) & 3).abs_diff((b >> shift) & 3);
                diff += if d == 3 { 6 } else { u32::from(d) };
            }
        }
        diff
    }

    /// The body's 2-bit buckets: distances are sums over them, which is
    /// what an index can bound without comparing all pairs.
    pub fn buckets(&self) -> [u8; 128] {
        let mut out = [0u8; 128];
        for (i, byte) in self.body.iter().enumerate() {
            for k in 0..4 {
                out[i * 4 + k] = (byte >> (2 * k)) & 3;
            }
        }
        out
    }
}

/// TLSH distance of two digests.
pub fn tlsh_distance(a: &str, b: &str) -> Result<u32, NormalizeError> {
    Ok(Tlsh::parse(a)?.distance(&Tlsh::parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// Random parts over a small alphabet, so that edits and shared runs are common.
    fn part(rng: &mut StdRng, max: usize) -> Vec<u8> {
        let len = rng.random_range(0..=max);
        (0..len)
            .map(|_| b"ABCDab+/"[rng.random_range(0..8)])
            .collect()
    }

    #[test]
    fn bit_parallel_edit_distance_agrees_with_the_table() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let (a, b) = (part(&mut rng, 64), part(&mut rng, 64));
            assert_eq!(
                levenshtein(&a, &b),
                levenshtein_table(&a, &b),
                "{:?} {:?}",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            );
        }
        assert_eq!(levenshtein(b"", b"abc"), 3);
        assert_eq!(levenshtein(b"kitten", b"sitting"), 3);
        let long = vec![b'a'; 70];
        assert_eq!(levenshtein(&long, &long[..65]), 5);
    }

    #[test]
    fn shared_windows_agree_with_the_naive_search() {
        let mut rng = StdRng::seed_from_u64(8);
        for _ in 0..20_000 {
            let (a, b) = (part(&mut rng, 20), part(&mut rng, 20));
            let naive = a.len() >= ROLLING_WINDOW
                && b.len() >= ROLLING_WINDOW
                && a.windows(ROLLING_WINDOW)
                    .any(|w| b.windows(ROLLING_WINDOW).any(|v| v == w));
            assert_eq!(has_common_substring(&a, &b), naive);
        }
    }

    #[test]
    fn the_largest_block_sizes_do_not_overflow() {
        let top = 3u64 << 62;
        let a = format!("{top}:AAAAAAAAAB:CCCCCCCCD");
        assert!(ssdeep_grams(&a).is_ok());
        assert!(ssdeep_winnowed_grams(&a, 4).is_ok());
        assert_eq!(ssdeep_score(&a, &a).unwrap(), 100);
        let half = format!("{}:AAAAAAAAAB:CCCCCCCCD", top / 2);
        assert!(ssdeep_score(&a, &half).is_ok());
    }
}
