//! Streaming, never-panicking parser for Linux kernel log text.
//!
//! oomlab pushes QEMU guests out of memory and needs to know, from whatever log text it
//! captured (serial console, `dmesg`, `journalctl`, syslog files), what the kernel did: which
//! processes the OOM killer chose, whether the oom_reaper could free their memory, and whether
//! the guest instead hung, locked up, stalled RCU or panicked. This crate turns such text into
//! [`Event`]s and a per-log [`Summary`].
//!
//! Design constraints, and why:
//! * **Any kernel from 2.6 to 6.x.** Guests run old and new kernels; each report format is
//!   matched on the substrings that stayed stable across versions and every field is optional.
//!   The module docs list the exact format strings handled.
//! * **Any wrapper.** Timestamps, caller ids, syslog/journal headers and interleaved CPUs are
//!   peeled off or split apart (module `prefix`) before matching.
//! * **Never panic, whatever the bytes.** Input is untrusted (a crashing guest writes garbage);
//!   all access is checked and bad numbers become `None`. A fuzz test enforces it.
//! * **Cheap on the lines that don't matter.** See module `scan`: one multi-pattern
//!   search rejects a non-matching line without allocating.
//! * **Flat memory.** [`parse_reader`] holds one 1 MiB buffer; the summary grows only with
//!   events. A task dump is held until its table ends and capped at [`MAX_DUMP_ROWS`] rows.
//!
//! Beyond extraction, module `badness` recomputes the kernel's own victim choice from an OOM
//! report's task dump ([`Event::TaskDump`]): [`badness_ranking`], [`heuristic_check`],
//! [`candidates_ahead`] and, for older kernels, [`Badness`] with a [`BadnessEra`]. The parser
//! runs that check itself for every kill whose report had a dump ([`Event::VictimCheck`],
//! [`KillSummary::heuristic`]).

mod alloc;
mod badness;
mod bytes;
mod event;
mod lockup;
mod oom;
mod panic;
mod prefix;
mod reader;
mod scan;
mod summary;
mod tasks;

use std::io;

pub use badness::{
    badness_ranking, candidates_ahead, heuristic_check, infer_totalpages_from_kill, Badness,
    BadnessEra, HeuristicCheck,
};
pub use event::{Event, ReapResult};
pub use summary::{pair_kills_with_dumps, KillSummary, ReaperSummary, Summary};
pub use tasks::{DumpFormat, DumpedTask, MAX_DUMP_ROWS, PAGE_SIZE};

/// What the caller of [`Parser::parse_line`] knows about a line's anchors.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Anchors {
    /// The line has none.
    None,
    /// It has some; each segment is searched.
    Unknown,
    /// These, from a search over the buffer holding the line.
    Known(scan::LineMatches),
}

/// Incremental parser: feed it lines in log order.
///
/// It keeps only the context OOM reports spread over several lines (the first half of an old
/// two-line kill, the memcg an OOM report announced, the report's task dump and memory
/// sizes), so it can follow a live console.
#[derive(Debug, Default)]
pub struct Parser {
    oom: oom::OomState,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser for [`parse_reader`] and [`parse_bytes`], whose only output is a [`Summary`]:
    /// [`Event::TaskDump`] events carry no rows (the summary only counts them); everything
    /// else, the victim checks included, is the same as [`Parser::new`]'s.
    pub(crate) fn summary_only() -> Self {
        let mut p = Self::default();
        p.oom.summary_only = true;
        p
    }

    /// Feeds one line (with or without its `\n` / `\r\n`) and returns the events it completes,
    /// usually none or one. Lines that cannot contain a report return an empty `Vec`, which
    /// does not allocate.
    pub fn push_line(&mut self, line: &[u8]) -> Vec<Event> {
        let line = bytes::strip_eol(line);
        let mut out = Vec::new();
        self.feed(line, &mut out);
        out
    }

    /// Ends the input: returns a task dump still open and a kill whose second line never
    /// arrived.
    pub fn finish(mut self) -> Vec<Event> {
        let mut out = Vec::new();
        self.oom.finish(&mut out);
        out
    }

    /// One line without its end-of-line bytes.
    pub(crate) fn feed(&mut self, line: &[u8], out: &mut Vec<Event>) {
        if scan::has_anchor(line) {
            self.parse_line(line, Anchors::Unknown, out);
        } else if self.oom.line_mode() {
            self.parse_line(line, Anchors::None, out);
        }
    }

    /// True while the parser must see every line, not only anchored ones (inside an OOM
    /// report's task dump and a few lines after some report lines).
    pub(crate) fn line_mode(&self) -> bool {
        self.oom.line_mode()
    }

    /// Slow path: a line that contains an anchor, or any line in line mode. `anchors` is
    /// what the caller already knows of the line's anchors.
    pub(crate) fn parse_line(&mut self, line: &[u8], anchors: Anchors, out: &mut Vec<Event>) {
        let mut row = false;
        let mut seg_start = 0;
        for seg in prefix::segments(line) {
            let seg_offset = seg_start;
            seg_start += seg.len();
            // A table row right after a printk timestamp: no other wrapper can claim text
            // starting `[` + blanks + digits + `]`, so the full peel would stop here too.
            if self.oom.table_open() {
                if let Some((t, n)) = prefix::timestamp_at(seg) {
                    let rest = seg.get(n..).unwrap_or_default();
                    let blanks = rest
                        .iter()
                        .take_while(|&&c| c == b' ' || c == b'\t')
                        .count();
                    if self.oom.take_row(rest.get(blanks..).unwrap_or_default(), t) {
                        row = true;
                        continue;
                    }
                }
            }
            let pre = prefix::bare(seg).unwrap_or_else(|| prefix::parse(seg));
            let msg = seg.get(pre.msg_start..).unwrap_or_default();
            let t = pre.t_ms;
            if self.oom.take_row(msg, t) {
                row = true;
                continue;
            }
            let has = match &anchors {
                Anchors::None => {
                    self.oom.context_line(msg, t, out);
                    continue;
                }
                Anchors::Unknown => scan::Present::of(msg),
                // One segment: the caller's search settles it, unless a match began in
                // the prefix.
                Anchors::Known(m) if seg.len() == line.len() => m
                    .present_from(seg_offset + pre.msg_start)
                    .unwrap_or_else(|| scan::Present::of(msg)),
                Anchors::Known(_) => scan::Present::of(msg),
            };
            // No anchor, or only `Total swap` (which no detector reads): a context line.
            if has.is_empty() || has == scan::Present::TOTAL_SWAP_ONLY {
                self.oom.context_line(msg, t, out);
                continue;
            }
            if has.any(scan::mask::ENDS_TABLE) {
                self.oom.end_table(out);
            }
            oom::parse(&mut self.oom, msg, has, t, out);
            lockup::parse(msg, has, t, out);
            alloc::parse(msg, has, t, out);
            // Last, so a panic caused by a reported condition follows that report.
            panic::parse(msg, has, t, out);
        }
        self.oom.line_done(row);
    }
}

/// Parses a whole log from a reader in bounded memory; any bytes (not only UTF-8) are fine.
///
/// Equivalent to feeding every line to [`Parser::push_line`], calling [`Parser::finish`] and
/// folding the events into a [`Summary`] with [`Summary::record`], plus counting lines.
pub fn parse_reader<R: io::BufRead>(r: R) -> io::Result<Summary> {
    reader::parse_reader(r)
}

/// [`parse_reader`] that also shows every event, in log order, to `on_event` (e.g. to
/// keep a timeline): one pass, the same summary.
pub fn parse_reader_with<R: io::BufRead>(
    r: R,
    mut on_event: impl FnMut(&Event),
) -> io::Result<Summary> {
    reader::parse_reader_with(r, &mut on_event)
}

/// [`parse_reader`] for text already in memory.
pub fn parse_bytes(b: &[u8]) -> Summary {
    reader::parse_bytes(b)
}
