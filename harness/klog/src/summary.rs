//! Aggregate view of a whole log, as the harness records it per run.

use serde::Serialize;

use crate::badness::HeuristicCheck;
use crate::event::{Event, ReapResult};

/// One OOM kill, in log order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KillSummary {
    pub pid: u32,
    pub comm: String,
    /// Victim's cgroup for a memcg OOM (see [`Event::Kill`]), `None` for a global OOM.
    pub memcg: Option<String>,
    pub anon_rss_kb: Option<u64>,
    pub file_rss_kb: Option<u64>,
    pub shmem_rss_kb: Option<u64>,
    pub total_vm_kb: Option<u64>,
    pub oom_score_adj: Option<i32>,
    pub score: Option<i64>,
    pub t_ms: Option<u64>,
    /// Whether this victim was the kernel heuristic's top candidate, when the kill's report
    /// had a task dump and its `totalpages` was known or did not matter
    /// ([`Event::VictimCheck`]).
    pub heuristic: Option<HeuristicCheck>,
}

/// One oom_reaper outcome, in log order. `result` serialises as `"reaped"` / `"unable"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReaperSummary {
    pub pid: u32,
    pub comm: Option<String>,
    pub result: ReapResult,
    pub anon_rss_kb: Option<u64>,
    pub t_ms: Option<u64>,
}

/// Counts and the per-victim lists for one log. Grows only with events, never with input size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `invoked oom-killer` headers (rate limited by the kernel: kills can exceed this).
    pub oom_invocations: u64,
    /// Memory-cgroup OOM episodes ([`Event::MemcgOom`]).
    pub memcg_ooms: u64,
    pub kills: Vec<KillSummary>,
    pub reaper: Vec<ReaperSummary>,
    pub hung_tasks: u64,
    pub soft_lockups: u64,
    pub hard_lockups: u64,
    pub rcu_stalls: u64,
    pub alloc_failures: u64,
    pub alloc_stalls: u64,
    pub panic: bool,
    /// Message of the first panic.
    pub panic_message: Option<String>,
    pub oom_no_killable: bool,
    /// Input lines seen (including those that matched nothing).
    pub lines: u64,
    /// OOM task dumps seen ([`Event::TaskDump`]).
    pub task_dumps: u64,
}

impl Summary {
    /// Folds one event in. Public so a caller driving [`crate::Parser`] line by line (e.g. a
    /// live serial console) can keep the same summary `parse_reader` would produce.
    pub fn record(&mut self, ev: &Event) {
        self.record_owned(ev.clone());
    }

    /// Folds in and drops a batch of events, keeping the vector's allocation for reuse:
    /// the streaming reader's path, which moves strings instead of copying them.
    pub(crate) fn record_all(&mut self, events: &mut Vec<Event>) {
        for ev in events.drain(..) {
            self.record_owned(ev);
        }
    }

    fn record_owned(&mut self, ev: Event) {
        match ev {
            Event::OomInvoked { .. } => self.oom_invocations += 1,
            Event::Constraint { .. } => {}
            Event::Kill {
                t_ms,
                pid,
                comm,
                memcg,
                total_vm_kb,
                anon_rss_kb,
                file_rss_kb,
                shmem_rss_kb,
                oom_score_adj,
                score,
            } => self.kills.push(KillSummary {
                pid,
                comm,
                memcg,
                anon_rss_kb,
                file_rss_kb,
                shmem_rss_kb,
                total_vm_kb,
                oom_score_adj,
                score,
                t_ms,
                heuristic: None,
            }),
            Event::Reaper {
                t_ms,
                pid,
                comm,
                result,
                anon_rss_kb,
            } => self.reaper.push(ReaperSummary {
                pid,
                comm,
                result,
                anon_rss_kb,
                t_ms,
            }),
            Event::MemcgOom { .. } => self.memcg_ooms += 1,
            Event::HungTask { .. } => self.hung_tasks += 1,
            Event::SoftLockup { .. } => self.soft_lockups += 1,
            Event::HardLockup { .. } => self.hard_lockups += 1,
            Event::RcuStall { .. } => self.rcu_stalls += 1,
            Event::AllocFailure { .. } => self.alloc_failures += 1,
            Event::AllocStall { .. } => self.alloc_stalls += 1,
            Event::OomNoKillable { .. } => self.oom_no_killable = true,
            Event::Panic { message, .. } => {
                if !self.panic {
                    self.panic = true;
                    self.panic_message = Some(message);
                }
            }
            Event::TaskDump { .. } => self.task_dumps += 1,
            Event::PagesRam { .. } => {}
            Event::VictimCheck { pid, check, .. } => {
                // The parser emits it right after the kill it concerns.
                if let Some(k) = self.kills.last_mut().filter(|k| k.pid == pid) {
                    k.heuristic = Some(check);
                }
            }
        }
    }
}

/// Pairs each [`Event::Kill`] in `events` with the [`Event::TaskDump`] of the same OOM report:
/// `(kill index, dump index)` for every kill, in order.
///
/// The table is printed before the kill (`dump_header()` runs first, in the global and the
/// memcg paths alike); a report starts at its `invoked oom-killer` line, so a dump pairs with
/// the first kill after it unless an [`Event::OomInvoked`] comes between. Only the first kill
/// gets the dump: further kills of the same report (a `memory.oom.group` sweep) were not
/// chosen by the heuristic. Kills without a dump (rate-limited report headers, dumps turned
/// off) pair with `None`. This is the pairing the parser itself uses for
/// [`Event::VictimCheck`], for callers that hold an event list.
pub fn pair_kills_with_dumps(events: &[Event]) -> Vec<(usize, Option<usize>)> {
    let mut pairs = Vec::new();
    let mut dump = None;
    for (i, e) in events.iter().enumerate() {
        match e {
            Event::OomInvoked { .. } => dump = None,
            Event::TaskDump { .. } => dump = Some(i),
            Event::Kill { .. } => pairs.push((i, dump.take())),
            _ => {}
        }
    }
    pairs
}
