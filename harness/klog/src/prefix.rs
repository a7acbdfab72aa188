//! Line prefixes: printk timestamps, caller ids, syslog/journal headers, and splitting a line
//! where another CPU's record starts in the middle of it.
//!
//! The same kernel message reaches us wrapped in many ways:
//!
//! ```text
//! [  12.345678] msg                                  dmesg, serial console
//! <4>[  12.345678] msg                               /dev/kmsg-style raw priority, pstore
//! [   12.345678][  T123] msg                         CONFIG_PRINTK_CALLER
//! Nov 27 12:00:01 host kernel: [  12.3] msg          syslog with kernel timestamps
//! Nov 27 12:00:01 host kernel: msg                   syslog / journalctl -o short
//! [  12.345678] host kernel: msg                     journalctl -o short-monotonic
//! [Thu Dec  7 00:05:15 2017] msg                     dmesg -T
//! kern  :warn  : [  12.3] msg                        dmesg -x
//! 16407: [  12.3] msg, / # [  12.3] msg              captured consoles with junk in front
//! ```
//!
//! Rather than recognising each wrapper as a whole, a line is cut into *segments* at every
//! printk timestamp that is not at its very start; a segment's prefix is then peeled token by
//! token. That one rule handles the junk-in-front cases and, for free, the interleaving case
//! where CPU B's record starts in the middle of CPU A's:
//! `[ 5.1] Out of memory: Kil[ 5.1] oom_reaper: reaped process 12 ...` becomes two segments
//! and the second still parses.

use crate::bytes::{find, parse_u64};

/// Where a segment's message starts and the timestamp found in front of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prefix {
    pub t_ms: Option<u64>,
    pub msg_start: usize,
}

/// If `b` starts with a printk timestamp `[ SSSS.UUUUUU]`, its value in ms (floor) and length.
///
/// The outer `Option` says whether the bracket *is* a timestamp; the inner one is `None` when
/// it is but the value cannot be represented (absurdly long digit runs) or is relative
/// (`[  +0.000022]` from `dmesg -d`/`-H`), which is not time since boot.
pub(crate) fn timestamp_at(b: &[u8]) -> Option<(Option<u64>, usize)> {
    if b.first() != Some(&b'[') {
        return None;
    }
    let mut i = 1;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let relative = b.get(i) == Some(&b'+');
    if relative {
        i += 1;
    }
    // One pass: the seconds as they are scanned (`None` once they overflow), then the
    // first three fractional digits as milliseconds (padded when fewer were printed).
    let int_start = i;
    let mut secs = 0u64;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        // Wrapping is harmless: more than 15 digits is reported as unrepresentable below.
        secs = secs.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
        i += 1;
    }
    if i == int_start || b.get(i) != Some(&b'.') {
        return None;
    }
    // 10^15 s fits in u64 as milliseconds; longer runs are garbage, not time since boot.
    let secs = (i - int_start <= 15).then_some(secs);
    i += 1;
    let frac_start = i;
    let mut frac: u64 = 0;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        if i - frac_start < 3 {
            frac = frac * 10 + u64::from(c - b'0');
        }
        i += 1;
    }
    let frac_len = i - frac_start;
    if frac_len == 0 || b.get(i) != Some(&b']') {
        return None;
    }
    for _ in frac_len..3 {
        frac *= 10;
    }
    let len = i + 1;
    if relative {
        return Some((None, len));
    }
    let ms = secs.map(|s| s * 1000 + frac);
    Some((ms, len))
}

/// `[  T123]` / `[C1]` (CONFIG_PRINTK_CALLER): returns its length.
fn caller_id_at(b: &[u8]) -> Option<usize> {
    if b.first() != Some(&b'[') {
        return None;
    }
    let mut i = 1;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    if !matches!(b.get(i), Some(b'T') | Some(b'C')) {
        return None;
    }
    i += 1;
    let (_, n) = parse_u64(b.get(i..)?)?;
    i += n;
    (b.get(i) == Some(&b']')).then_some(i + 1)
}

/// `[Thu Dec  7 00:05:15 2017]` (dmesg -T, any locale): a bracket that starts with a letter,
/// closes soon and contains a clock-like `:`. Returns its length.
fn wallclock_at(b: &[u8]) -> Option<usize> {
    if b.first() != Some(&b'[') || !b.get(1).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let window = b.get(..b.len().min(48))?;
    let close = memchr::memchr(b']', window)?;
    let inner = window.get(1..close)?;
    (memchr::memchr(b':', inner).is_some() && memchr::memchr(b'[', inner).is_none())
        .then_some(close + 1)
}

/// `<4>` raw console priority.
fn priority_at(b: &[u8]) -> Option<usize> {
    if b.first() != Some(&b'<') {
        return None;
    }
    let (_, n) = parse_u64(b.get(1..)?)?;
    (b.get(1 + n) == Some(&b'>')).then_some(n + 2)
}

/// `kern  :warn  : ` (dmesg -x): lowercase word, spaces, `:`, word, spaces, `: `.
fn dmesg_x_at(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    for _ in 0..2 {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_lowercase) {
            i += 1;
        }
        if i == start || i - start > 8 {
            return None;
        }
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
    }
    (b.get(i) == Some(&b' ')).then_some(i + 1)
}

/// `HOST kernel: ` ending a syslog/journal header. Only accepted when the text before it looks
/// like a header (no `(` and no `": "`), so a comm or path containing "kernel: " inside a
/// message is not mistaken for one.
fn kernel_tag_end(b: &[u8]) -> Option<usize> {
    let window = b.get(..b.len().min(128))?;
    let k = find(window, b"kernel: ")?;
    let head = window.get(..k)?;
    if memchr::memchr2(b'(', b'[', head).is_some() || find(head, b": ").is_some() {
        return None;
    }
    Some(k + b"kernel: ".len())
}

/// The common case of [`parse`], cheaply: a segment that is a printk timestamp, blanks and a
/// message no other wrapper could claim. Returns the same as [`parse`] would, or `None`
/// (then call [`parse`]).
#[inline]
pub(crate) fn bare(seg: &[u8]) -> Option<Prefix> {
    let (t_ms, n) = timestamp_at(seg)?;
    let mut i = n;
    while matches!(seg.get(i), Some(b' ') | Some(b'\t')) {
        i += 1;
    }
    let rest = seg.get(i..).unwrap_or_default();
    // What the loop in `parse` would try next, in its order; a timestamp here would have
    // started a new segment.
    let wrapped = match rest.first() {
        None => false,
        Some(b'[') => {
            timestamp_at(rest).is_some()
                || caller_id_at(rest).is_some()
                || wallclock_at(rest).is_some()
                || kernel_tag_end(rest).is_some()
        }
        Some(b'<') => priority_at(rest).is_some() || kernel_tag_end(rest).is_some(),
        Some(_) => {
            rest.starts_with(b"MESSAGE=")
                || dmesg_x_at(rest).is_some()
                || kernel_tag_end(rest).is_some()
        }
    };
    (!wrapped).then_some(Prefix {
        t_ms,
        msg_start: i.min(seg.len()),
    })
}

/// Peels wrapper tokens off the front of a segment.
pub(crate) fn parse(seg: &[u8]) -> Prefix {
    let mut i = 0;
    let mut t_ms = None;
    let mut saw_kernel_tag = false;
    loop {
        while matches!(seg.get(i), Some(b' ') | Some(b'\t')) {
            i += 1;
        }
        let rest = seg.get(i..).unwrap_or_default();
        if rest.is_empty() {
            break;
        }
        if let Some((t, n)) = timestamp_at(rest) {
            if t.is_some() {
                t_ms = t;
            }
            i += n;
        } else if let Some(n) = caller_id_at(rest)
            .or_else(|| priority_at(rest))
            .or_else(|| wallclock_at(rest))
        {
            i += n;
        } else if rest.starts_with(b"MESSAGE=") {
            i += b"MESSAGE=".len();
        } else if let Some(n) = dmesg_x_at(rest) {
            i += n;
        } else if !saw_kernel_tag {
            saw_kernel_tag = true;
            match kernel_tag_end(rest) {
                Some(n) => i += n,
                None => break,
            }
        } else {
            break;
        }
    }
    Prefix {
        t_ms,
        msg_start: i.min(seg.len()),
    }
}

/// Splits `line` before every printk timestamp that is not at position 0.
pub(crate) fn segments(line: &[u8]) -> Segments<'_> {
    Segments { line, start: 0 }
}

pub(crate) struct Segments<'a> {
    line: &'a [u8],
    start: usize,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.line.get(self.start..)?;
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len();
        for j in memchr::memchr_iter(b'[', rest) {
            if j > 0 && rest.get(j..).and_then(timestamp_at).is_some() {
                end = j;
                break;
            }
        }
        self.start += end;
        rest.get(..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (Option<u64>, &str) {
        let pre = parse(s.as_bytes());
        (pre.t_ms, &s[pre.msg_start..])
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            timestamp_at(b"[ 1234.567890] x"),
            Some((Some(1_234_567), 14))
        );
        assert_eq!(timestamp_at(b"[12.3]"), Some((Some(12_300), 6)));
        assert_eq!(timestamp_at(b"[    0.000000]"), Some((Some(0), 14)));
        assert_eq!(timestamp_at(b"[  +0.000022]"), Some((None, 13)));
        assert_eq!(
            timestamp_at(b"[99999999999999999999.1]").map(|x| x.0),
            Some(None)
        );
        assert_eq!(timestamp_at(b"[ pid ]"), None);
        assert_eq!(timestamp_at(b"[12.]"), None);
        assert_eq!(timestamp_at(b"[1234"), None);
    }

    #[test]
    fn prefixes() {
        assert_eq!(p("[  12.345678] msg"), (Some(12_345), "msg"));
        assert_eq!(p("<4>[  12.345678] msg"), (Some(12_345), "msg"));
        assert_eq!(p("[   12.345678][  T123] msg"), (Some(12_345), "msg"));
        assert_eq!(p("[ 1.5][    C1] msg"), (Some(1_500), "msg"));
        assert_eq!(p("Nov 27 12:00:01 host kernel: msg"), (None, "msg"));
        assert_eq!(p("[  12.345678] host kernel: msg"), (Some(12_345), "msg"));
        assert_eq!(p("[Thu Dec  7 00:05:15 2017] msg"), (None, "msg"));
        assert_eq!(p("kern  :warn  : [ 3.0] msg"), (Some(3_000), "msg"));
        assert_eq!(
            p("2026-05-28T12:21:57.303295+00:00 vm-1 kernel: msg"),
            (None, "msg")
        );
        assert_eq!(p("MESSAGE=msg"), (None, "msg"));
        // A message that merely mentions "kernel: " is not a header.
        assert_eq!(
            p("[ 1.0] foo (kernel: x)"),
            (Some(1_000), "foo (kernel: x)")
        );
    }

    #[test]
    fn splits_interleaved() {
        let line = b"[ 5.1] Out of memory: Kil[ 5.2] oom_reaper: reaped";
        let segs: Vec<&[u8]> = segments(line).collect();
        assert_eq!(
            segs,
            vec![
                &b"[ 5.1] Out of memory: Kil"[..],
                &b"[ 5.2] oom_reaper: reaped"[..]
            ]
        );
        let segs: Vec<&[u8]> = segments(b"16407: [  120.5] x").collect();
        assert_eq!(segs.len(), 2);
        let segs: Vec<&[u8]> = segments(b"[   12.3][  T1] x [ pid ]").collect();
        assert_eq!(segs.len(), 1);
        assert_eq!(segments(b"").count(), 0);
    }
}
