//! Small byte-slice helpers.
//!
//! Kernel logs are not guaranteed to be UTF-8 (serial consoles pick up line noise, comm names
//! are arbitrary bytes), so the parser works on `&[u8]` throughout and only converts the few
//! fields it keeps. Every helper here is total: no indexing that can go out of bounds and no
//! arithmetic that can overflow; a malformed number is `None`, never a panic.

/// Haystacks up to this size are searched by scanning for the needle's first byte:
/// building a `memmem` searcher costs more than the search itself on one log line.
const SHORT: usize = 4096;

/// Position of the first occurrence of `needle` in `hay`.
#[inline]
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if hay.len() > SHORT {
        return memchr::memmem::find(hay, needle);
    }
    let (&first, rest) = needle.split_first()?;
    let last_start = hay.len().checked_sub(needle.len())?;
    let starts = hay.get(..=last_start)?;
    let second = rest.first();
    memchr::memchr_iter(first, starts).find(|&i| {
        // The second byte first, inline: most candidates fail there without a memcmp call.
        (second.is_none() || hay.get(i + 1) == second)
            && hay.get(i..i + needle.len()) == Some(needle)
    })
}

/// Position of the last occurrence of `needle` in `hay`.
#[inline]
pub(crate) fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if hay.len() > SHORT {
        return memchr::memmem::rfind(hay, needle);
    }
    let (&first, _) = needle.split_first()?;
    let last_start = hay.len().checked_sub(needle.len())?;
    let starts = hay.get(..=last_start)?;
    memchr::memrchr_iter(first, starts).find(|&i| hay.get(i..i + needle.len()) == Some(needle))
}

/// The part of `hay` after the first occurrence of `key`.
#[inline]
pub(crate) fn after<'a>(hay: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let i = find(hay, key)?;
    hay.get(i + key.len()..)
}

/// Leading ASCII digits of `b` as an unsigned number and how many bytes they took.
/// `None` when there is no digit or the value does not fit in a `u64`.
pub(crate) fn parse_u64(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    let mut n = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        n += 1;
    }
    if n == 0 {
        None
    } else {
        Some((v, n))
    }
}

/// Like [`parse_u64`] but accepts one leading `-` or `+`.
pub(crate) fn parse_i64(b: &[u8]) -> Option<(i64, usize)> {
    let (neg, skip) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let (mag, n) = parse_u64(b.get(skip..)?)?;
    let v = if neg {
        // -(i64::MAX + 1) is representable; handle it without overflowing.
        0i64.checked_sub_unsigned(mag)?
    } else {
        i64::try_from(mag).ok()?
    };
    Some((v, n + skip))
}

/// Leading digits as a `u32` (pids, cpu numbers).
pub(crate) fn parse_u32(b: &[u8]) -> Option<(u32, usize)> {
    let (v, n) = parse_u64(b)?;
    Some((u32::try_from(v).ok()?, n))
}

/// Leading signed number as an `i32` (orders, oom_score_adj).
pub(crate) fn parse_i32(b: &[u8]) -> Option<(i32, usize)> {
    let (v, n) = parse_i64(b)?;
    Some((i32::try_from(v).ok()?, n))
}

/// Value of `key<i32>` anywhere in `hay`.
pub(crate) fn field_i32(hay: &[u8], key: &[u8]) -> Option<i32> {
    parse_i32(after(hay, key)?).map(|(v, _)| v)
}

/// Value of `key<n>kB` anywhere in `hay`.
///
/// The unit is required: a line cut in the middle of a number (`anon-rss:12`) must not report
/// a plausible but wrong size. `lB` is accepted because v4.6's oom_reaper message had a
/// `%lulB` typo.
pub(crate) fn field_kb(hay: &[u8], key: &[u8]) -> Option<u64> {
    let rest = after(hay, key)?;
    let rest = trim_start(rest);
    let (v, n) = parse_u64(rest)?;
    match rest.get(n..n + 2) {
        Some(b"kB") | Some(b"lB") => Some(v),
        _ => None,
    }
}

/// Bytes after `key` up to (not including) the first `,` or the end, trimmed.
pub(crate) fn field_token<'a>(hay: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let rest = after(hay, key)?;
    let end = memchr::memchr(b',', rest).unwrap_or(rest.len());
    let tok = trim(rest.get(..end)?);
    if tok.is_empty() {
        None
    } else {
        Some(tok)
    }
}

#[inline]
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0)
}

pub(crate) fn trim_start(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|&c| !is_space(c)).unwrap_or(b.len());
    b.get(i..).unwrap_or_default()
}

pub(crate) fn trim_end(b: &[u8]) -> &[u8] {
    let i = b.iter().rposition(|&c| !is_space(c)).map_or(0, |i| i + 1);
    b.get(..i).unwrap_or_default()
}

pub(crate) fn trim(b: &[u8]) -> &[u8] {
    trim_end(trim_start(b))
}

/// Strips a trailing `\n`, `\r\n`, or any run of `\r`/`\n` (serial consoles emit `\r\r\n`).
pub(crate) fn strip_eol(b: &[u8]) -> &[u8] {
    let i = b
        .iter()
        .rposition(|&c| c != b'\n' && c != b'\r')
        .map_or(0, |i| i + 1);
    b.get(..i).unwrap_or_default()
}

/// Owned text for a kept field; invalid UTF-8 becomes U+FFFD rather than an error.
pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// ASCII case-insensitive substring test (only used on short, already-matched text).
pub(crate) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"123kB"), Some((123, 3)));
        assert_eq!(parse_u64(b"x"), None);
        assert_eq!(parse_u64(b"99999999999999999999999"), None);
        assert_eq!(parse_i64(b"-1000,"), Some((-1000, 5)));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some((i64::MIN, 20)));
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_i32(b"+7"), Some((7, 2)));
    }

    #[test]
    fn fields() {
        let l = b"total-vm:1234kB, anon-rss:12, file-rss: 5kB, shmem-rss:3lB";
        assert_eq!(field_kb(l, b"total-vm:"), Some(1234));
        assert_eq!(field_kb(l, b"anon-rss:"), None);
        assert_eq!(field_kb(l, b"file-rss:"), Some(5));
        assert_eq!(field_kb(l, b"shmem-rss:"), Some(3));
        assert_eq!(
            field_token(b"mode:0x20(GFP_ATOMIC), x", b"mode:"),
            Some(&b"0x20(GFP_ATOMIC)"[..])
        );
    }

    #[test]
    fn finds() {
        assert_eq!(find(b"abcabc", b"bc"), Some(1));
        assert_eq!(rfind(b"abcabc", b"bc"), Some(4));
        assert_eq!(find(b"ab", b"abc"), None);
        assert_eq!(find(b"abc", b""), None);
        assert_eq!(find(b"", b"a"), None);
        assert_eq!(rfind(b"a", b"a"), Some(0));
        let long = [b"x".repeat(5000), b"needle".to_vec()].concat();
        assert_eq!(find(&long, b"needle"), Some(5000));
        assert_eq!(rfind(&long, b"needle"), Some(5000));
    }

    #[test]
    fn trims() {
        assert_eq!(strip_eol(b"abc\r\r\n"), b"abc");
        assert_eq!(strip_eol(b"\n"), b"");
        assert_eq!(trim(b"  a b \t"), b"a b");
        assert!(contains_ci(b"INFO: rcu_sched", b"RCU"));
    }
}
