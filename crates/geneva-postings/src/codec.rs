//! The bytes of the log and the snapshot: frames of `length, CRC-32, payload`
//! after a magic line, integers as LEB128. A frame that is short or fails its
//! checksum ends the file (a torn write); a frame that passes its checksum
//! but does not parse is corruption.

use std::io::Write;

use geneva_stix::Tlp;
use geneva_store::{IndexedValue, Recipients, VersionAccess};

/// First bytes of every file, with the format's version.
pub(crate) const MAGIC: &[u8] = b"geneva-postings 2\n";

/// A frame's payload may not claim more than this (a snapshot is written
/// in chunks well under it).
pub(crate) const MAX_FRAME: usize = 1 << 30;

/// What a batch adds to the index, with each distinct value once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Body {
    pub values: Vec<IndexedValue>,
    /// (item, source, indexes into `values`)
    pub groups: Vec<(u64, u64, Vec<u32>)>,
    pub references: Vec<(String, u64)>,
    /// Access facts of versions the groups name.
    pub access: Vec<VersionAccess>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// One applied batch: its number (counted since the index was empty),
    /// chained on the cursor it moved (a batch may leave the cursor where it was).
    Batch {
        number: u64,
        from: Option<u64>,
        to: u64,
        body: Body,
    },
    /// The end of a snapshot: the cursor and the number of batches the
    /// chunks before it hold.
    Snapshot { cursor: Option<u64>, batches: u64 },
    /// Part of a snapshot's contents: values appended in index order, and
    /// groups naming values by their place in the whole index.
    Chunk(Body),
}

const BATCH: u8 = 1;
const SNAPSHOT: u8 = 2;
const CHUNK: u8 = 3;

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_cursor(out: &mut Vec<u8>, c: Option<u64>) {
    match c {
        None => put_varint(out, 0),
        Some(c) => {
            put_varint(out, 1);
            put_varint(out, c);
        }
    }
}

fn put_body(out: &mut Vec<u8>, body: &Body) {
    put_varint(out, body.values.len() as u64);
    for v in &body.values {
        put_bytes(out, v.key.as_bytes());
        put_varint(out, v.derived.len() as u64);
        for d in &v.derived {
            out.extend_from_slice(&d.to_le_bytes());
        }
        let flags = u8::from(v.address.is_some()) | (u8::from(v.range_prefix.is_some()) << 1);
        out.push(flags);
        if let Some(a) = v.address {
            out.extend_from_slice(&a.to_le_bytes());
        }
        if let Some(p) = v.range_prefix {
            out.push(p);
        }
    }
    put_varint(out, body.groups.len() as u64);
    for (item, source, values) in &body.groups {
        put_varint(out, *item);
        put_varint(out, *source);
        put_varint(out, values.len() as u64);
        for v in values {
            put_varint(out, u64::from(*v));
        }
    }
    put_varint(out, body.references.len() as u64);
    for (target, item) in &body.references {
        put_bytes(out, target.as_bytes());
        put_varint(out, *item);
    }
    put_varint(out, body.access.len() as u64);
    for a in &body.access {
        put_varint(out, a.seq);
        put_bytes(out, a.id.as_bytes());
        out.push(tlp_code(a.tlp));
        match a.organisation_id {
            None => put_varint(out, 0),
            Some(org) => {
                put_varint(out, 1);
                put_varint(out, org as u64);
            }
        }
        for list in [
            &a.recipients.organisations,
            &a.recipients.groups,
            &a.recipients.users,
        ] {
            put_varint(out, list.len() as u64);
            for id in list {
                put_varint(out, *id as u64);
            }
        }
    }
}

fn tlp_code(tlp: Tlp) -> u8 {
    match tlp {
        Tlp::Clear => 0,
        Tlp::Green => 1,
        Tlp::Amber => 2,
        Tlp::AmberStrict => 3,
        Tlp::Red => 4,
    }
}

fn tlp_of_code(code: u8) -> Parse<Tlp> {
    Ok(match code {
        0 => Tlp::Clear,
        1 => Tlp::Green,
        2 => Tlp::Amber,
        3 => Tlp::AmberStrict,
        4 => Tlp::Red,
        other => return Err(format!("TLP code {other}")),
    })
}

pub(crate) fn encode(record: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    match record {
        Record::Batch {
            number,
            from,
            to,
            body,
        } => {
            out.push(BATCH);
            put_varint(&mut out, *number);
            put_cursor(&mut out, *from);
            put_varint(&mut out, *to);
            put_body(&mut out, body);
        }
        Record::Snapshot { cursor, batches } => {
            out.push(SNAPSHOT);
            put_cursor(&mut out, *cursor);
            put_varint(&mut out, *batches);
        }
        Record::Chunk(body) => {
            out.push(CHUNK);
            put_body(&mut out, body);
        }
    }
    out
}

/// Writes `payload` as one frame.
pub(crate) fn write_frame(w: &mut impl Write, payload: &[u8]) -> std::io::Result<()> {
    let mut head = [0u8; 8];
    head[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    head[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    w.write_all(&head)?;
    w.write_all(payload)
}

/// Reads frames one at a time; a frame cut short or failing its checksum
/// ends the stream (a torn write), and `good` is where the last whole one ended.
pub(crate) struct Frames<R> {
    inner: R,
    pub good: u64,
}

impl<R: std::io::Read> Frames<R> {
    pub fn new(inner: R, start: u64) -> Self {
        Frames { inner, good: start }
    }

    pub fn next_frame(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut head = [0u8; 8];
        if !read_all(&mut self.inner, &mut head)? {
            return Ok(None);
        }
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
        if len > MAX_FRAME {
            return Ok(None);
        }
        let mut payload = vec![0u8; len];
        if !read_all(&mut self.inner, &mut payload)? || crc32fast::hash(&payload) != crc {
            return Ok(None);
        }
        self.good += 8 + len as u64;
        Ok(Some(payload))
    }
}

/// Fills `buf`; `false` when the input ends first.
fn read_all(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut at = 0;
    while at < buf.len() {
        match r.read(&mut buf[at..]) {
            Ok(0) => return Ok(false),
            Ok(n) => at += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

type Parse<T> = Result<T, String>;

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Parse<u8> {
        let b = *self.bytes.get(self.at).ok_or("ends early")?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Parse<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or("length overflows")?;
        let b = self.bytes.get(self.at..end).ok_or("ends early")?;
        self.at = end;
        Ok(b)
    }

    fn varint(&mut self) -> Parse<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err("integer longer than 64 bits".into())
    }

    /// A count of items each at least `min` bytes long, checked against what is left.
    fn count(&mut self, min: usize) -> Parse<usize> {
        let n = self.varint()?;
        let left = (self.bytes.len() - self.at) as u64;
        if n.saturating_mul(min as u64) > left {
            return Err(format!("claims {n} entries in {left} bytes"));
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Parse<String> {
        let n = self.count(1)?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "a key is not UTF-8".to_string())
    }

    fn cursor(&mut self) -> Parse<Option<u64>> {
        match self.varint()? {
            0 => Ok(None),
            1 => Ok(Some(self.varint()?)),
            other => Err(format!("cursor tag {other}")),
        }
    }

    /// A body; in a batch, groups name the body's own values (`local`), in
    /// a snapshot chunk, values by their place in the whole index.
    fn body(&mut self, local: bool) -> Parse<Body> {
        let n = self.count(3)?;
        let mut values = Vec::with_capacity(n);
        for _ in 0..n {
            let key = self.string()?;
            let d = self.count(8)?;
            let mut derived = Vec::with_capacity(d);
            for _ in 0..d {
                derived.push(u64::from_le_bytes(
                    self.take(8)?.try_into().expect("8 bytes"),
                ));
            }
            let flags = self.byte()?;
            if flags > 3 {
                return Err(format!("value flags {flags}"));
            }
            let address = if flags & 1 != 0 {
                Some(u128::from_le_bytes(
                    self.take(16)?.try_into().expect("16 bytes"),
                ))
            } else {
                None
            };
            let range_prefix = if flags & 2 != 0 {
                Some(self.byte()?)
            } else {
                None
            };
            values.push(IndexedValue {
                key,
                derived,
                address,
                range_prefix,
            });
        }
        let g = self.count(3)?;
        let mut groups = Vec::with_capacity(g);
        for _ in 0..g {
            let item = self.varint()?;
            let source = self.varint()?;
            let k = self.count(1)?;
            let mut ids = Vec::with_capacity(k);
            for _ in 0..k {
                let i = self.varint()?;
                if i > u64::from(u32::MAX) || (local && i >= values.len() as u64) {
                    return Err(format!("value {i} of {}", values.len()));
                }
                ids.push(i as u32);
            }
            groups.push((item, source, ids));
        }
        let r = self.count(2)?;
        let mut references = Vec::with_capacity(r);
        for _ in 0..r {
            references.push((self.string()?, self.varint()?));
        }
        let n = self.count(7)?;
        let mut access = Vec::with_capacity(n);
        for _ in 0..n {
            let seq = self.varint()?;
            let id = self.string()?;
            let tlp = tlp_of_code(self.byte()?)?;
            let organisation_id = match self.varint()? {
                0 => None,
                1 => Some(self.varint()? as i64),
                other => return Err(format!("organisation tag {other}")),
            };
            let mut lists: [Vec<i64>; 3] = Default::default();
            for list in &mut lists {
                let k = self.count(1)?;
                list.reserve(k);
                for _ in 0..k {
                    list.push(self.varint()? as i64);
                }
            }
            let [organisations, groups, users] = lists;
            access.push(VersionAccess {
                seq,
                id,
                tlp,
                organisation_id,
                recipients: Recipients {
                    organisations,
                    groups,
                    users,
                },
            });
        }
        Ok(Body {
            values,
            groups,
            references,
            access,
        })
    }
}

pub(crate) fn decode(payload: &[u8]) -> Parse<Record> {
    let mut r = Reader {
        bytes: payload,
        at: 0,
    };
    let record = match r.byte()? {
        BATCH => Record::Batch {
            number: r.varint()?,
            from: r.cursor()?,
            to: r.varint()?,
            body: r.body(true)?,
        },
        SNAPSHOT => Record::Snapshot {
            cursor: r.cursor()?,
            batches: r.varint()?,
        },
        CHUNK => Record::Chunk(r.body(false)?),
        other => return Err(format!("record kind {other}")),
    };
    if r.at != payload.len() {
        return Err(format!("{} bytes after the record", payload.len() - r.at));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Body {
        Body {
            values: vec![
                IndexedValue {
                    key: "ipv4:10.0.0.0/8".into(),
                    derived: vec![],
                    address: Some(0xffff_0a00_0000),
                    range_prefix: Some(104),
                },
                IndexedValue {
                    key: "domain:évil.example".into(),
                    derived: vec![1, u64::MAX],
                    address: None,
                    range_prefix: None,
                },
            ],
            groups: vec![(7, 3, vec![0, 1]), (u64::MAX, 0, vec![])],
            references: vec![("indicator--x".into(), 9)],
            access: vec![
                VersionAccess {
                    seq: 7,
                    id: "incident--x".into(),
                    tlp: Tlp::Amber,
                    organisation_id: Some(3),
                    recipients: Recipients {
                        organisations: vec![1, 2],
                        groups: vec![i64::MAX],
                        users: vec![],
                    },
                },
                VersionAccess {
                    seq: 3,
                    id: "domain-name--y".into(),
                    tlp: Tlp::Red,
                    organisation_id: None,
                    recipients: Recipients {
                        organisations: vec![],
                        groups: vec![],
                        users: vec![5],
                    },
                },
            ],
        }
    }

    #[test]
    fn records_read_back_as_written() {
        for record in [
            Record::Batch {
                number: 1,
                from: None,
                to: 5,
                body: sample(),
            },
            Record::Batch {
                number: u64::MAX,
                from: Some(u64::MAX - 1),
                to: u64::MAX,
                body: Body::default(),
            },
            Record::Snapshot {
                cursor: Some(0),
                batches: 3,
            },
            Record::Snapshot {
                cursor: None,
                batches: 0,
            },
            Record::Chunk(sample()),
        ] {
            assert_eq!(decode(&encode(&record)), Ok(record));
        }
    }

    #[test]
    fn every_truncation_and_flipped_byte_is_an_error_or_a_torn_frame() {
        let payload = encode(&Record::Chunk(sample()));
        for cut in 0..payload.len() {
            assert!(decode(&payload[..cut]).is_err(), "cut at {cut}");
        }
        let mut file = Vec::new();
        write_frame(&mut file, &payload).unwrap();
        let count = |bytes: &[u8]| {
            let mut frames = Frames::new(bytes, 0);
            let mut n = 0;
            while frames.next_frame().unwrap().is_some() {
                n += 1;
            }
            (n, frames.good)
        };
        for i in 0..file.len() {
            for bit in 0..8 {
                let mut bad = file.clone();
                bad[i] ^= 1 << bit;
                // The checksum or the length catches it: no frame comes out.
                assert_eq!(count(&bad), (0, 0), "byte {i} bit {bit}");
            }
        }
        for cut in 0..file.len() {
            assert_eq!(count(&file[..cut]), (0, 0), "cut at {cut}");
        }
        assert_eq!(count(&file), (1, file.len() as u64));
    }

    #[test]
    fn hostile_counts_are_refused_without_allocating() {
        let mut payload = vec![CHUNK];
        put_varint(&mut payload, u64::MAX);
        assert!(decode(&payload).unwrap_err().contains("claims"));
        let mut payload = vec![CHUNK];
        put_varint(&mut payload, 1);
        put_varint(&mut payload, 1 << 40);
        assert!(decode(&payload).is_err());
        assert!(decode(&[0xff; 12]).is_err());
    }
}
