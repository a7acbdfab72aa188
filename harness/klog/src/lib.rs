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
//!   events.

mod alloc;
mod bytes;
mod event;
mod lockup;
mod oom;
mod panic;
mod prefix;
mod reader;
mod scan;
mod summary;

use std::io;

pub use event::{Event, ReapResult};
pub use summary::{KillSummary, ReaperSummary, Summary};

/// Incremental parser: feed it lines in log order.
///
/// It keeps only the little context OOM reports spread over several lines (the first half of
/// an old two-line kill, the memcg an OOM report announced), so it can follow a live console.
#[derive(Debug, Default)]
pub struct Parser {
    oom: oom::OomState,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one line (with or without its `\n` / `\r\n`) and returns the events it completes,
    /// usually none or one. Lines that cannot contain a report return an empty `Vec`, which
    /// does not allocate.
    pub fn push_line(&mut self, line: &[u8]) -> Vec<Event> {
        let line = bytes::strip_eol(line);
        let mut out = Vec::new();
        if scan::has_anchor(line) {
            self.parse_matched(line, &mut out);
        }
        out
    }

    /// Ends the input: returns a kill whose second line never arrived.
    pub fn finish(mut self) -> Vec<Event> {
        let mut out = Vec::new();
        self.oom.flush(&mut out);
        out
    }

    /// Slow path for a line known to contain an anchor.
    pub(crate) fn parse_matched(&mut self, line: &[u8], out: &mut Vec<Event>) {
        for seg in prefix::segments(line) {
            let pre = prefix::parse(seg);
            let msg = seg.get(pre.msg_start..).unwrap_or_default();
            let has = scan::Present::of(msg);
            if has.is_empty() {
                continue;
            }
            let t = pre.t_ms;
            oom::parse(&mut self.oom, msg, has, t, out);
            lockup::parse(msg, has, t, out);
            alloc::parse(msg, has, t, out);
            // Last, so a panic caused by a reported condition follows that report.
            panic::parse(msg, has, t, out);
        }
    }
}

/// Parses a whole log from a reader in bounded memory; any bytes (not only UTF-8) are fine.
///
/// Equivalent to feeding every line to [`Parser::push_line`], calling [`Parser::finish`] and
/// folding the events into a [`Summary`] with [`Summary::record`], plus counting lines.
pub fn parse_reader<R: io::BufRead>(r: R) -> io::Result<Summary> {
    reader::parse_reader(r)
}

/// [`parse_reader`] for text already in memory.
pub fn parse_bytes(b: &[u8]) -> Summary {
    reader::parse_bytes(b)
}
