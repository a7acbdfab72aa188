//! The fast path: deciding that a line (or a whole buffer) contains nothing of interest.
//!
//! A 500 MB log is overwhelmingly lines we do not care about, so the parser's cost is the
//! cost of rejecting them. Every report the parser understands contains at least one of the
//! [`ANCHORS`] below; one Aho-Corasick search (which uses a SIMD "Teddy" prefilter for a set
//! this small) over the input finds candidate lines, and only those are parsed. The anchors are
//! deliberately short and version independent: they are the substrings that stayed the same
//! across 2.6 to 6.x while the text around them changed.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Substrings one of which every recognised report contains.
pub(crate) const ANCHORS: &[&str] = &[
    // mm/oom_kill.c
    "invoked oom-killer",
    // Order matters: bit positions are used by `mask`, and at one position the earlier
    // pattern wins, so "illed process " must precede "ill process ".
    "illed process ", // Killed process
    "ill process ",   // Kill process / kill process
    "oom-kill:",
    "oom_reaper: ",
    "no killable processes",
    "panic_on_oom is",
    // mm/memcontrol.c
    "killed as a result of limit of",
    "memory.oom.group",
    // kernel/hung_task.c
    "blocked for more than",
    // kernel/watchdog.c and arch NMI watchdogs
    "soft lockup",
    "LOCKUP on",
    "Hard LOCKUP",
    // kernel/rcu
    "detected stall",
    "detected expedited stall",
    "RCU detected CPU",
    // mm/page_alloc.c, mm/vmalloc.c
    "allocation failure",
    "allocation stalls for",
    // kernel/panic.c
    "Kernel panic - not syncing",
    // The rest of an OOM report (mm/oom_kill.c dump_tasks(), mm/swap_state.c,
    // mm/memcontrol.c): the task dump header, show_mem()'s swap line and the memcg limits.
    // Rows, the release line and show_mem()'s `N pages RAM` / `N pages reserved` that
    // follow the swap line are read in line mode (see `crate::oom`): no anchor needed.
    "tgid total_vm",
    "Total swap = ",
    // memory: usage X, limit Y / memory+swap: ... / swap: ... (cgroup v1 and v2)
    "kB, limit ",
];

/// Which anchors a segment contains: bit `i` is set when `ANCHORS[i]` occurs.
///
/// The slow path computes this with one automaton pass so each detector can skip its own
/// (much more expensive, per-detector) searches when its anchor is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Present(u32);

impl Present {
    pub(crate) fn of(hay: &[u8]) -> Self {
        let mut bits = 0u32;
        for m in automaton().find_iter(hay) {
            bits |= 1u32.checked_shl(m.pattern().as_u32()).unwrap_or(0);
        }
        Present(bits)
    }

    /// True when any anchor in the `mask` set is present.
    pub(crate) fn any(self, set: u32) -> bool {
        self.0 & set != 0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Only the `Total swap` anchor, which no detector reads: such a line is handed to the
    /// context lines (see `crate::oom`).
    pub(crate) const TOTAL_SWAP_ONLY: Present = Present(mask::TOTAL_SWAP);

    /// The bit of one match's pattern.
    pub(crate) fn bit(pattern: usize) -> u32 {
        u32::try_from(pattern)
            .ok()
            .and_then(|p| 1u32.checked_shl(p))
            .unwrap_or(0)
    }
}

/// Anchor matches of one line, as found by a search over a larger buffer: `(offset in the
/// line, anchor bit)`, in order. Only the first few are kept; `complete` is false if there
/// were more.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineMatches {
    found: [(usize, u32); 4],
    len: usize,
    complete: bool,
}

impl LineMatches {
    pub(crate) fn new() -> Self {
        LineMatches {
            found: [(0, 0); 4],
            len: 0,
            complete: true,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0 && self.complete
    }

    pub(crate) fn push(&mut self, offset: usize, bit: u32) {
        match self.found.get_mut(self.len) {
            Some(slot) => {
                *slot = (offset, bit);
                self.len += 1;
            }
            None => self.complete = false,
        }
    }

    /// The anchors of the part of the line from `from` on, if the search over the larger
    /// buffer settles them: it does when no match starts before `from` (the search then
    /// reached `from` in the same state as a search of the part alone, because no anchor
    /// contains a newline). `None`: search the part itself.
    pub(crate) fn present_from(&self, from: usize) -> Option<Present> {
        let found = self.found.get(..self.len)?;
        if !self.complete || found.iter().any(|&(o, _)| o < from) {
            return None;
        }
        Some(Present(found.iter().fold(0, |bits, &(_, b)| bits | b)))
    }
}

/// Anchor-set masks for the detectors, by index into [`ANCHORS`].
pub(crate) mod mask {
    pub const INVOKED: u32 = 1 << 0;
    pub const KILLED: u32 = 1 << 1;
    pub const KILL: u32 = 1 << 2;
    pub const CONSTRAINT: u32 = 1 << 3;
    pub const REAPER: u32 = 1 << 4;
    pub const NO_KILLABLE: u32 = 1 << 5;
    pub const PANIC_ON_OOM: u32 = 1 << 6;
    pub const TASK_IN: u32 = 1 << 7;
    pub const OOM_GROUP: u32 = 1 << 8;
    pub const HUNG: u32 = 1 << 9;
    pub const SOFT: u32 = 1 << 10;
    pub const HARD: u32 = 1 << 11 | 1 << 12;
    pub const RCU: u32 = 1 << 13 | 1 << 14 | 1 << 15;
    pub const ALLOC_FAIL: u32 = 1 << 16;
    pub const ALLOC_STALL: u32 = 1 << 17;
    pub const PANIC: u32 = 1 << 18 | PANIC_ON_OOM;
    pub const TASK_HEADER: u32 = 1 << 19;
    pub const TOTAL_SWAP: u32 = 1 << 20;
    pub const MEMCG_LIMIT: u32 = 1 << 21;
    /// Lines that mean the report has moved past a task dump. Hung tasks, lockups, RCU
    /// stalls, allocation warnings and reaper lines may come from other CPUs in the middle
    /// of a table and do not end it.
    pub const ENDS_TABLE: u32 = INVOKED
        | KILLED
        | KILL
        | CONSTRAINT
        | NO_KILLABLE
        | TASK_IN
        | OOM_GROUP
        | PANIC
        | TASK_HEADER
        | MEMCG_LIMIT;
}

/// The shared automaton over [`ANCHORS`]; built once per process.
pub(crate) fn automaton() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(ANCHORS)
            .expect("static anchor set is valid")
    })
}

/// True when `line` may contain a report. False means it certainly does not.
#[inline]
pub(crate) fn has_anchor(line: &[u8]) -> bool {
    automaton().is_match(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The masks are bit positions in `ANCHORS`; keep them in step with the list.
    #[test]
    fn masks_match_anchor_positions() {
        let bit = |text: &str| 1u32 << ANCHORS.iter().position(|a| *a == text).unwrap();
        assert_eq!(mask::INVOKED, bit("invoked oom-killer"));
        assert_eq!(mask::KILLED, bit("illed process "));
        assert_eq!(mask::KILL, bit("ill process "));
        assert_eq!(mask::CONSTRAINT, bit("oom-kill:"));
        assert_eq!(mask::REAPER, bit("oom_reaper: "));
        assert_eq!(mask::NO_KILLABLE, bit("no killable processes"));
        assert_eq!(mask::PANIC_ON_OOM, bit("panic_on_oom is"));
        assert_eq!(mask::TASK_IN, bit("killed as a result of limit of"));
        assert_eq!(mask::OOM_GROUP, bit("memory.oom.group"));
        assert_eq!(mask::HUNG, bit("blocked for more than"));
        assert_eq!(mask::SOFT, bit("soft lockup"));
        assert_eq!(mask::HARD, bit("LOCKUP on") | bit("Hard LOCKUP"));
        assert_eq!(
            mask::RCU,
            bit("detected stall") | bit("detected expedited stall") | bit("RCU detected CPU")
        );
        assert_eq!(mask::ALLOC_FAIL, bit("allocation failure"));
        assert_eq!(mask::ALLOC_STALL, bit("allocation stalls for"));
        assert_eq!(
            mask::PANIC,
            bit("Kernel panic - not syncing") | mask::PANIC_ON_OOM
        );
        assert_eq!(mask::TASK_HEADER, bit("tgid total_vm"));
        assert_eq!(mask::MEMCG_LIMIT, bit("kB, limit "));
        assert_eq!(mask::TOTAL_SWAP, bit("Total swap = "));
        assert_eq!(ANCHORS.len(), 22);
    }

    #[test]
    fn present_sees_killed_not_kill() {
        let p = Present::of(b"Out of memory: Killed process 1 (x)");
        assert!(p.any(mask::KILLED) && !p.any(mask::KILL));
        assert!(Present::of(b"nothing here").is_empty());
    }
}
