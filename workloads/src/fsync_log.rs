//! The on-disk format of fsync-storm and its verification by fsync-verify.
//!
//! Child `i` appends records to `child-<i>.dat` and, after each fsync of it succeeds,
//! overwrites `child-<i>.ack` with the sequence number just made durable. All integers
//! are little-endian.
//!
//! Record: magic u32 | child index u32 | seq u64 | payload length u32 | payload |
//! FNV-1a 64 of everything before it (u64). The payload is a pure function of
//! (index, seq), so a record copied from elsewhere is caught too.
//!
//! Ack: magic u32 | child index u32 | seq u64 | FNV-1a 64 of the first 16 bytes (u64).

pub const RECORD_MAGIC: u32 = 0x5243_4f4f; // "OOCR"
pub const ACK_MAGIC: u32 = 0x4b41_4f4f; // "OOAK"
const HEADER: usize = 20;
const TRAILER: usize = 8;
pub const ACK_LEN: usize = 24;
/// Larger claimed payloads are garbage, not records.
pub const MAX_PAYLOAD: usize = 1 << 20;

pub fn dat_name(index: u32) -> String {
    format!("child-{index}.dat")
}

pub fn ack_name(index: u32) -> String {
    format!("child-{index}.ack")
}

/// The child index named by a `child-<i>.dat` or `child-<i>.ack` file name.
pub fn index_of(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("child-")?;
    let digits = rest
        .strip_suffix(".dat")
        .or_else(|| rest.strip_suffix(".ack"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The payload of record (index, seq): a splitmix64 stream seeded by both.
pub fn payload(index: u32, seq: u64, len: usize) -> Vec<u8> {
    let mut state = (u64::from(index) << 40) ^ seq;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn encode_record(index: u32, seq: u64, payload_len: usize) -> Vec<u8> {
    let mut r = Vec::with_capacity(HEADER + payload_len + TRAILER);
    r.extend_from_slice(&RECORD_MAGIC.to_le_bytes());
    r.extend_from_slice(&index.to_le_bytes());
    r.extend_from_slice(&seq.to_le_bytes());
    r.extend_from_slice(&(payload_len as u32).to_le_bytes());
    r.extend_from_slice(&payload(index, seq, payload_len));
    let sum = fnv1a64(&r);
    r.extend_from_slice(&sum.to_le_bytes());
    r
}

pub fn encode_ack(index: u32, seq: u64) -> [u8; ACK_LEN] {
    let mut a = [0u8; ACK_LEN];
    a[0..4].copy_from_slice(&ACK_MAGIC.to_le_bytes());
    a[4..8].copy_from_slice(&index.to_le_bytes());
    a[8..16].copy_from_slice(&seq.to_le_bytes());
    let sum = fnv1a64(&a[..16]);
    a[16..24].copy_from_slice(&sum.to_le_bytes());
    a
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The acknowledged sequence number in an ack file's contents: Ok(None) when nothing
/// was acknowledged yet (empty file), Err when the contents are not a valid ack.
pub fn decode_ack(b: &[u8], index: u32) -> Result<Option<u64>, &'static str> {
    if b.is_empty() {
        return Ok(None);
    }
    let ok = b.len() == ACK_LEN
        && u32_at(b, 0) == ACK_MAGIC
        && u32_at(b, 4) == index
        && u64_at(b, 16) == fnv1a64(&b[..16]);
    if ok {
        Ok(Some(u64_at(b, 8)))
    } else {
        Err("not a valid ack")
    }
}

/// What the bytes at one offset of a .dat file hold.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// A whole, intact record of this child: its sequence number and length in bytes.
    Valid { seq: u64, len: usize },
    /// The file ends before the record does; `len` is its length if the header says.
    Short { len: Option<usize> },
    /// Not an intact record of this child; `len` is what its header claims, if sane.
    Invalid { len: Option<usize> },
}

pub fn decode_record(b: &[u8], index: u32) -> Decoded {
    if b.len() < 4 {
        return Decoded::Short { len: None };
    }
    if u32_at(b, 0) != RECORD_MAGIC {
        return Decoded::Invalid { len: None };
    }
    if b.len() < HEADER {
        return Decoded::Short { len: None };
    }
    let payload_len = u32_at(b, 16) as usize;
    if payload_len > MAX_PAYLOAD {
        return Decoded::Invalid { len: None };
    }
    let len = HEADER + payload_len + TRAILER;
    if b.len() < len {
        return Decoded::Short { len: Some(len) };
    }
    let seq = u64_at(b, 8);
    let intact = u64_at(b, len - TRAILER) == fnv1a64(&b[..len - TRAILER])
        && u32_at(b, 4) == index
        && b[HEADER..len - TRAILER] == payload(index, seq, payload_len)[..];
    if intact {
        Decoded::Valid { seq, len }
    } else {
        Decoded::Invalid { len: Some(len) }
    }
}

/// What one child's pair of files says.
#[derive(Debug, Default, PartialEq)]
pub struct FileReport {
    /// Intact records in increasing sequence order.
    pub records: u64,
    /// Records acknowledged by the ack file (acked seq + 1).
    pub acked: u64,
    /// Acknowledged sequence numbers with no intact record: data fsync promised and lost.
    pub lost_acked: u64,
    /// Damaged, missing or misplaced records with intact data after them.
    pub corrupt: u64,
    /// 1 if the file ends in a damaged record followed by nothing but zeros.
    pub torn_tail: u64,
    /// The ack file holds something that is not an ack.
    pub bad_ack: bool,
}

impl FileReport {
    pub fn has_problems(&self) -> bool {
        self.lost_acked > 0 || self.corrupt > 0 || self.bad_ack
    }
}

/// The first intact record at or after `from` with a sequence number of at least `next`.
fn resync(dat: &[u8], from: usize, next: u64, index: u32) -> Option<(usize, u64, usize)> {
    let magic = RECORD_MAGIC.to_le_bytes();
    (from..dat.len().saturating_sub(3))
        .filter(|&q| dat[q..q + 4] == magic)
        .find_map(|q| match decode_record(&dat[q..], index) {
            Decoded::Valid { seq, len } if seq >= next => Some((q, seq, len)),
            _ => None,
        })
}

/// Classify child `index`'s .dat contents against its .ack contents.
pub fn check(dat: &[u8], ack: &[u8], index: u32) -> FileReport {
    let mut r = FileReport::default();
    let acked_seq = match decode_ack(ack, index) {
        Ok(s) => s,
        Err(_) => {
            r.bad_ack = true;
            None
        }
    };
    r.acked = acked_seq.map_or(0, |s| s + 1);
    let mut present = 0u64; // intact records among the acknowledged ones
    let mut accept = |r: &mut FileReport, seq: u64| {
        r.records += 1;
        if acked_seq.is_some_and(|a| seq <= a) {
            present += 1;
        }
    };
    let (mut pos, mut next) = (0usize, 0u64);
    let mut record_len = None; // learned from intact records, to size a damaged tail
    while pos < dat.len() {
        let here = decode_record(&dat[pos..], index);
        match here {
            Decoded::Valid { seq, .. } if seq == next => {}
            Decoded::Valid { seq, len } if seq < next => {
                // A stale or duplicated record in the middle of the sequence.
                r.corrupt += 1;
                pos += len;
                continue;
            }
            Decoded::Valid { .. } => {}
            Decoded::Short { .. } | Decoded::Invalid { .. } => {
                if let Some((q, seq, _)) = resync(dat, pos + 1, next, index) {
                    // Damage between intact records. The sequence numbers it ate are
                    // counted as a gap at `q`; damage that ate none still counts once.
                    r.corrupt += u64::from(seq == next);
                    pos = q;
                    continue;
                }
            }
        }
        match here {
            Decoded::Valid { seq, len } => {
                // seq == next, or a gap: records missing without any damaged bytes.
                r.corrupt += seq - next;
                accept(&mut r, seq);
                record_len = Some(len);
                next = seq + 1;
                pos += len;
            }
            Decoded::Short { len } | Decoded::Invalid { len } => {
                // Nothing intact follows: a torn last record if only zeros come after it.
                let end = pos
                    .saturating_add(len.or(record_len).unwrap_or(dat.len()))
                    .min(dat.len());
                if dat[end..].iter().all(|&b| b == 0) {
                    r.torn_tail = 1;
                } else {
                    r.corrupt += 1;
                }
                break;
            }
        }
    }
    r.lost_acked = r.acked - present;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(index: u32, seqs: impl IntoIterator<Item = u64>, b: usize) -> Vec<u8> {
        seqs.into_iter()
            .flat_map(|s| encode_record(index, s, b))
            .collect()
    }

    #[test]
    fn fnv1a64_known_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn records_round_trip_and_reject_damage() {
        let r = encode_record(3, 7, 100);
        assert_eq!(r.len(), 128);
        assert_eq!(decode_record(&r, 3), Decoded::Valid { seq: 7, len: 128 });
        assert_eq!(decode_record(&r, 4), Decoded::Invalid { len: Some(128) });
        assert_eq!(
            decode_record(&r[..50], 3),
            Decoded::Short { len: Some(128) }
        );
        assert_eq!(decode_record(&r[..10], 3), Decoded::Short { len: None });
        let mut bad = r.clone();
        bad[60] ^= 1;
        assert_eq!(decode_record(&bad, 3), Decoded::Invalid { len: Some(128) });
        assert_eq!(decode_record(&[0; 64], 3), Decoded::Invalid { len: None });
        assert_ne!(payload(3, 7, 16), payload(3, 8, 16));
        assert_ne!(payload(3, 7, 16), payload(4, 7, 16));
    }

    #[test]
    fn acks_round_trip() {
        assert_eq!(decode_ack(&encode_ack(2, 41), 2), Ok(Some(41)));
        assert_eq!(decode_ack(&[], 2), Ok(None));
        assert_eq!(decode_ack(&encode_ack(2, 41), 1), Err("not a valid ack"));
        assert_eq!(
            decode_ack(&encode_ack(2, 41)[..20], 2),
            Err("not a valid ack")
        );
    }

    #[test]
    fn names() {
        assert_eq!(index_of(&dat_name(12)), Some(12));
        assert_eq!(index_of(&ack_name(0)), Some(0));
        assert_eq!(index_of("child-.dat"), None);
        assert_eq!(index_of("child-1.dat.tmp"), None);
        assert_eq!(index_of("child-+1.dat"), None);
    }

    #[test]
    fn good_file() {
        let r = check(&file(1, 0..10, 64), &encode_ack(1, 9), 1);
        assert_eq!(
            r,
            FileReport {
                records: 10,
                acked: 10,
                ..Default::default()
            }
        );
        assert!(!r.has_problems());
        // Records written after the last ack are fine too.
        assert_eq!(
            check(&file(1, 0..10, 64), &encode_ack(1, 7), 1).lost_acked,
            0
        );
    }

    #[test]
    fn torn_tail_is_allowed() {
        let mut d = file(0, 0..5, 64);
        d.extend_from_slice(&encode_record(0, 5, 64)[..30]);
        let r = check(&d, &encode_ack(0, 4), 0);
        assert_eq!((r.records, r.torn_tail, r.corrupt), (5, 1, 0));
        assert!(!r.has_problems());
        // A whole last record with a bad checksum, then zeros (a size update without data).
        let mut d = file(0, 0..5, 64);
        let mut last = encode_record(0, 5, 64);
        last[40] ^= 0xff;
        d.extend_from_slice(&last);
        d.extend_from_slice(&[0; 300]);
        let r = check(&d, &encode_ack(0, 4), 0);
        assert_eq!((r.records, r.torn_tail, r.corrupt), (5, 1, 0));
        // Only zeros where the last record should be.
        let mut d = file(0, 0..5, 64);
        d.extend_from_slice(&[0; 92]);
        assert_eq!(check(&d, &[], 0).torn_tail, 1);
    }

    #[test]
    fn corrupt_middle_is_counted() {
        let mut d = file(2, 0..8, 64);
        d[3 * 92 + 50] ^= 0x10; // inside record 3
        let r = check(&d, &encode_ack(2, 7), 2);
        assert_eq!((r.records, r.corrupt, r.torn_tail), (7, 1, 0));
        assert_eq!(r.lost_acked, 1);
        assert!(r.has_problems());
        // A damaged record followed by non-zero garbage, not by intact records.
        let mut d = file(2, 0..3, 64);
        d.extend_from_slice(&[0xab; 500]);
        let r = check(&d, &encode_ack(2, 1), 2);
        assert_eq!(
            (r.records, r.corrupt, r.torn_tail, r.lost_acked),
            (3, 1, 0, 0)
        );
        // Two records vanished without a trace, and a duplicate crept in.
        let d = file(2, [0, 1, 4, 5, 5, 6], 64);
        let r = check(&d, &encode_ack(2, 6), 2);
        assert_eq!((r.records, r.corrupt, r.lost_acked), (5, 3, 2));
    }

    #[test]
    fn acked_but_missing_is_lost() {
        let r = check(&file(4, 0..3, 64), &encode_ack(4, 9), 4);
        assert_eq!((r.records, r.acked, r.lost_acked, r.corrupt), (3, 10, 7, 0));
        assert!(r.has_problems());
        let r = check(&[], &encode_ack(4, 0), 4);
        assert_eq!((r.records, r.lost_acked), (0, 1));
        // An ack that is not one is a problem, not a count.
        let r = check(&file(4, 0..3, 64), &[1, 2, 3], 4);
        assert!(r.bad_ack && r.has_problems());
        assert_eq!(r.acked, 0);
    }
}
