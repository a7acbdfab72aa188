//! Whole-input drivers: `parse_bytes` and the streaming `parse_reader`.
//!
//! Instead of splitting the input into lines and testing each, the anchor automaton is run
//! over a large buffer at once; the newline count is a separate SIMD count. Only lines that
//! contain an anchor are cut out and handed to the parser, so the cost for the 99.9% of
//! uninteresting lines is two vectorised scans. The exception is the parser's line mode
//! (inside an OOM report's task dump and for a few lines after some report lines), where
//! every line is handed over, as [`Parser::push_line`] would see it. The result is identical
//! to feeding every line to [`Parser::push_line`]: outside line mode, lines without an anchor
//! never change parser state.

use std::io::{self, BufRead, ErrorKind};

use crate::bytes::strip_eol;
use crate::scan::{automaton, LineMatches, Present};
use crate::summary::Summary;
use crate::{Anchors, Event, Parser};

/// Scan window size. Lines longer than this are parsed in window-sized pieces.
pub(crate) const CHUNK: usize = 1 << 20;

fn count_newlines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

/// Parses every anchored line of `region` (which holds whole lines, or one piece of an
/// over-long line), and every line while the parser is in line mode. One search over the
/// region finds every anchor; each line is handed over with its matches, so the parser need
/// not search it again.
fn scan_region(p: &mut Parser, region: &[u8], events: &mut Vec<Event>) {
    let mut matches = automaton().find_iter(region).peekable();
    let mut pos = 0;
    while pos < region.len() {
        while matches.next_if(|m| m.start() < pos).is_some() {}
        let (start, end) = if p.line_mode() {
            let rest = region.get(pos..).unwrap_or_default();
            (
                pos,
                memchr::memchr(b'\n', rest).map_or(region.len(), |i| pos + i),
            )
        } else {
            let Some(hit) = matches.peek().map(|m| m.start()) else {
                break;
            };
            let start = memchr::memrchr(b'\n', region.get(pos..hit).unwrap_or_default())
                .map_or(pos, |i| pos + i + 1);
            let end = memchr::memchr(b'\n', region.get(hit..).unwrap_or_default())
                .map_or(region.len(), |i| hit + i);
            (start, end)
        };
        let mut found = LineMatches::new();
        while let Some(m) = matches.next_if(|m| m.start() < end) {
            found.push(m.start() - start, Present::bit(m.pattern().as_usize()));
        }
        let anchors = if found.is_empty() {
            Anchors::None
        } else {
            Anchors::Known(found)
        };
        p.parse_line(
            strip_eol(region.get(start..end).unwrap_or_default()),
            anchors,
            events,
        );
        pos = end + 1;
    }
}

pub(crate) fn parse_bytes(b: &[u8]) -> Summary {
    let mut p = Parser::summary_only();
    let mut s = Summary::default();
    let mut events = Vec::new();
    s.lines = count_newlines(b) + u64::from(!b.is_empty() && !b.ends_with(b"\n"));
    scan_region(&mut p, b, &mut events);
    events.extend(p.finish());
    s.record_all(&mut events);
    s
}

pub(crate) fn parse_reader<R: BufRead>(r: R) -> io::Result<Summary> {
    parse_reader_chunked(r, CHUNK, &mut |_| {})
}

/// [`parse_reader`] that also shows every event to `on_event`, in log order, before it
/// is folded into the summary (for a caller that keeps a timeline).
pub(crate) fn parse_reader_with<R: BufRead>(
    r: R,
    on_event: &mut dyn FnMut(&Event),
) -> io::Result<Summary> {
    parse_reader_chunked(r, CHUNK, on_event)
}

/// Hand the pending events to the caller's hook, then to the summary.
fn flush(s: &mut Summary, events: &mut Vec<Event>, on_event: &mut dyn FnMut(&Event)) {
    events.iter().for_each(&mut *on_event);
    s.record_all(events);
}

/// [`parse_reader`] with a bounded scan window, so tests can force lines across boundaries.
///
/// The reader's own buffer is scanned in place, at most `chunk` bytes at a time; only the
/// unfinished line at the end of a buffer is copied (into `carry`), to be completed from the
/// next one. A line longer than `chunk` is parsed in `chunk`-sized pieces, so memory stays
/// bounded whatever the input.
pub(crate) fn parse_reader_chunked<R: BufRead>(
    mut r: R,
    chunk: usize,
    on_event: &mut dyn FnMut(&Event),
) -> io::Result<Summary> {
    let chunk = chunk.max(1);
    let mut p = Parser::summary_only();
    let mut s = Summary::default();
    let mut events = Vec::new();
    // The start of a line whose end is still to come; always shorter than `chunk`.
    let mut carry: Vec<u8> = Vec::new();
    // Part of an over-long line was already parsed and dropped; its end is still to come.
    let mut in_long_line = false;
    loop {
        let data = match r.fill_buf() {
            Ok(d) => d,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if data.is_empty() {
            break;
        }
        let window = data.get(..chunk.min(data.len())).unwrap_or(data);
        let mut used = 0usize;
        if !carry.is_empty() {
            // Complete the carried line (or fill it up to one whole piece).
            let room = chunk.saturating_sub(carry.len());
            let take = window.get(..room.min(window.len())).unwrap_or_default();
            match memchr::memchr(b'\n', take) {
                Some(i) => {
                    carry.extend_from_slice(take.get(..=i).unwrap_or_default());
                    used = i + 1;
                    s.lines += 1;
                    scan_region(&mut p, &carry, &mut events);
                    flush(&mut s, &mut events, on_event);
                    carry.clear();
                    in_long_line = false;
                }
                None => {
                    carry.extend_from_slice(take);
                    used = take.len();
                    if carry.len() >= chunk {
                        scan_region(&mut p, &carry, &mut events);
                        flush(&mut s, &mut events, on_event);
                        carry.clear();
                        in_long_line = true;
                    }
                }
            }
        }
        if carry.is_empty() {
            let rest = window.get(used..).unwrap_or_default();
            match memchr::memrchr(b'\n', rest) {
                Some(last) => {
                    let region = rest.get(..=last).unwrap_or_default();
                    s.lines += count_newlines(region);
                    scan_region(&mut p, region, &mut events);
                    flush(&mut s, &mut events, on_event);
                    in_long_line = false;
                    carry.extend_from_slice(rest.get(last + 1..).unwrap_or_default());
                }
                None if rest.len() >= chunk => {
                    scan_region(&mut p, rest, &mut events);
                    flush(&mut s, &mut events, on_event);
                    in_long_line = true;
                }
                None => carry.extend_from_slice(rest),
            }
            used = window.len();
        }
        r.consume(used);
    }
    if !carry.is_empty() || in_long_line {
        s.lines += 1;
    }
    scan_region(&mut p, &carry, &mut events);
    events.extend(p.finish());
    flush(&mut s, &mut events, on_event);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_hook_sees_every_event_and_the_summary_is_unchanged() {
        let mut seen = Vec::new();
        let with = parse_reader_with(LOG.as_bytes(), &mut |e| seen.push(e.clone())).unwrap();
        assert_eq!(with, parse_reader(LOG.as_bytes()).unwrap());
        let kills = seen
            .iter()
            .filter(|e| matches!(e, Event::Kill { .. }))
            .count();
        assert_eq!(kills, with.kills.len());
        assert!(seen.iter().any(|e| matches!(e, Event::OomInvoked { .. })));
    }

    const LOG: &str =
        "[ 1.0] x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n\
        noise line\r\n\
        [ 1.1] Out of memory: Kill process 7 (x) score 9 or sacrifice child\n\
        [ 1.2] Killed process 7 (x) total-vm:10kB, anon-rss:5kB, file-rss:0kB, shmem-rss:0kB\n\
        [ 1.3] oom_reaper: reaped process 7 (x), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB\n\
        [ 2.0] INFO: task a:1 blocked for more than 120 seconds.\n\
        tail without newline Kernel panic - not syncing: boom";

    fn by_lines(s: &str) -> Summary {
        let mut p = Parser::new();
        let mut sum = Summary::default();
        for l in s.split_inclusive('\n') {
            sum.lines += 1;
            for e in p.push_line(l.as_bytes()) {
                sum.record(&e);
            }
        }
        for e in p.finish() {
            sum.record(&e);
        }
        sum
    }

    #[test]
    fn all_paths_agree_at_every_chunk_size() {
        let want = by_lines(LOG);
        assert_eq!(want.kills.len(), 1);
        assert_eq!(want.lines, 7);
        assert!(want.panic);
        assert_eq!(parse_bytes(LOG.as_bytes()), want);
        for chunk in [1, 2, 3, 7, 16, 50, 64, 100, 1000, CHUNK] {
            let got = parse_reader_chunked(LOG.as_bytes(), chunk, &mut |_| {}).unwrap();
            // Tiny buffers cut anchors in half; only sizes that hold a whole line must agree.
            if chunk >= 100 {
                assert_eq!(got, want, "chunk {chunk}");
            } else {
                assert!(
                    got.lines == want.lines,
                    "chunk {chunk}: {} lines",
                    got.lines
                );
            }
        }
    }

    /// A report with a task dump: line mode must start and stop on the same lines whatever
    /// the buffer boundaries.
    const REPORT: &str = "[ 1.0] x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n\
        [ 1.0] CPU: 0 PID: 7 Comm: x Not tainted 6.1.0 #1\n\
        [ 1.1] Total swap = 0kB\n\
        [ 1.1] 1000 pages RAM\n\
        noise\n\
        [ 1.1] 100 pages reserved\n\
        [ 1.2] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name\n\
        [ 1.2] [      6]     0     6       10        5     4096        0             0 y\n\
        [ 1.2] other CPU\r\n\
        [ 1.2] [      7]     0     7      100       50     8192        0             0 x\n\
        [ 1.3] Out of memory: Killed process 7 (x) total-vm:400kB, anon-rss:200kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:8kB oom_score_adj:0\n\
        [ 1.4] [      8]     0     8      100       50     8192        0             0 not-a-row-now\n";

    #[test]
    fn line_mode_agrees_at_every_chunk_size() {
        let want = by_lines(REPORT);
        assert_eq!(want.task_dumps, 1);
        let h = want.kills[0].heuristic.as_ref().unwrap();
        assert_eq!((h.top_pid, h.totalpages), (Some(7), Some(900)));
        assert_eq!(parse_bytes(REPORT.as_bytes()), want);
        for chunk in [160, 161, 200, 256, 333, 512, 1000, CHUNK] {
            let got = parse_reader_chunked(REPORT.as_bytes(), chunk, &mut |_| {}).unwrap();
            assert_eq!(got, want, "chunk {chunk}");
        }
    }

    #[test]
    fn empty_and_newline_only() {
        assert_eq!(parse_bytes(b"").lines, 0);
        assert_eq!(parse_bytes(b"\n").lines, 1);
        assert_eq!(
            parse_reader_chunked(&b"\n\n"[..], 1, &mut |_| {})
                .unwrap()
                .lines,
            2
        );
        assert_eq!(
            parse_reader_chunked(&b"abc"[..], 2, &mut |_| {})
                .unwrap()
                .lines,
            1
        );
    }
}
