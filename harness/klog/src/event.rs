//! The records the parser extracts, one per kernel report.

use serde::Serialize;

use crate::badness::HeuristicCheck;
use crate::tasks::{DumpFormat, DumpedTask};

/// Outcome of the oom_reaper's attempt on a victim (mm/oom_kill.c, v4.6+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReapResult {
    /// `oom_reaper: reaped process PID (COMM), now anon-rss:...`
    Reaped,
    /// `oom_reaper: unable to reap pid:PID (COMM)`: the victim's mm was locked; the kernel
    /// gave up and the memory is only freed when the victim itself exits.
    Unable,
}

/// One kernel report.
///
/// `t_ms` everywhere is the printk timestamp (`[ 1234.567890]`, seconds since boot)
/// converted to whole milliseconds, rounded down; `None` when the line carried no timestamp
/// (dmesg -t, plain syslog, `dmesg -T` wall-clock stamps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// `COMM invoked oom-killer: gfp_mask=..., order=N, oom_score_adj=N`.
    ///
    /// The start of every OOM report (printed by `dump_header`, which is rate limited, so a
    /// kill can appear without one). `oom_score_adj` is `None` on kernels that printed only
    /// the legacy `oomkilladj=`/`oom_adj=` value, whose -17..15 scale is not comparable.
    OomInvoked {
        t_ms: Option<u64>,
        comm: String,
        gfp_mask: Option<String>,
        order: Option<i32>,
        oom_score_adj: Option<i32>,
    },
    /// `oom-kill:constraint=CONSTRAINT_...,...,task=COMM,pid=PID,uid=UID` (v4.19+): the
    /// one-line summary of which memory domain ran out and who was chosen.
    Constraint {
        t_ms: Option<u64>,
        constraint: String,
        task: Option<String>,
        pid: Option<u32>,
        oom_memcg: Option<String>,
        task_memcg: Option<String>,
    },
    /// A process the OOM killer sent SIGKILL to.
    ///
    /// Built from `[...: ]Killed process PID (COMM) total-vm:...` and, on kernels before 5.1,
    /// merged with the preceding `Kill process PID (COMM) score S or sacrifice child` line.
    /// `memcg` is the victim's cgroup path when the kill was a memory-cgroup OOM (the line
    /// said `Memory cgroup out of memory`), `None` for a global OOM. It is `Some("")` when the
    /// kill was a memcg OOM but the log did not say which cgroup (header rate limited away).
    Kill {
        t_ms: Option<u64>,
        pid: u32,
        comm: String,
        memcg: Option<String>,
        total_vm_kb: Option<u64>,
        anon_rss_kb: Option<u64>,
        file_rss_kb: Option<u64>,
        shmem_rss_kb: Option<u64>,
        oom_score_adj: Option<i32>,
        /// The badness score printed by pre-5.1 kernels on the `Kill process` line.
        score: Option<i64>,
    },
    /// The oom_reaper finished (or gave up on) a victim.
    Reaper {
        t_ms: Option<u64>,
        pid: u32,
        comm: Option<String>,
        result: ReapResult,
        /// anon-rss left after reaping (`Reaped` only).
        anon_rss_kb: Option<u64>,
    },
    /// A memory-cgroup OOM episode, emitted once per episode: from
    /// `Task in /A killed as a result of limit of /B` (pre-4.19; `memcg` = /B, the cgroup
    /// whose limit was hit) or from the first `Memory cgroup out of memory:` kill line
    /// (`memcg` = `oom_memcg` of the preceding `oom-kill:` line, if any).
    MemcgOom {
        t_ms: Option<u64>,
        memcg: Option<String>,
    },
    /// `INFO: task COMM:PID blocked for more than N seconds.` (kernel/hung_task.c)
    HungTask {
        t_ms: Option<u64>,
        comm: String,
        pid: u32,
        secs: Option<u64>,
    },
    /// `BUG: soft lockup - CPU#N stuck for Ss! [COMM:PID]` (kernel/watchdog.c)
    SoftLockup {
        t_ms: Option<u64>,
        cpu: Option<u32>,
        secs: Option<u64>,
        comm: Option<String>,
        pid: Option<u32>,
    },
    /// `Watchdog detected hard LOCKUP on cpu N` and older/arch variants.
    HardLockup { t_ms: Option<u64>, cpu: Option<u32> },
    /// An RCU CPU stall warning (`rcu_sched detected stalls on CPUs/tasks`,
    /// `self-detected stall on CPU`, `RCU detected CPU N stall`, ...).
    RcuStall { t_ms: Option<u64> },
    /// `COMM: page allocation failure: order:N, mode:0x...(GFP_...)` (also the v2.6
    /// `failure. order:` spelling and `vmalloc: allocation failure`). `comm` is empty when
    /// interleaving separated it from the rest of the message.
    AllocFailure {
        t_ms: Option<u64>,
        comm: String,
        order: Option<i32>,
        gfp_mask: Option<String>,
    },
    /// `COMM: page allocation stalls for Nms, order:N, mode:...` (v4.9-v4.14).
    AllocStall {
        t_ms: Option<u64>,
        comm: String,
        order: Option<i32>,
        stall_ms: Option<u64>,
    },
    /// `Out of memory and no killable processes...`: a global OOM found no victim; a panic
    /// follows (in the same line before v4.19, as `System is deadlocked on memory` after).
    OomNoKillable { t_ms: Option<u64> },
    /// `Kernel panic - not syncing: MESSAGE`.
    Panic { t_ms: Option<u64>, message: String },
    /// The OOM report's table of eligible tasks (`dump_tasks()`, module `tasks`), emitted
    /// once per table when the report moves past it (its kill or constraint line, a panic,
    /// the next report) or at [`crate::Parser::finish`], so always before the kill it
    /// belongs to. `t_ms` is the header's. Rows past [`crate::MAX_DUMP_ROWS`] are only
    /// counted in `dropped_rows`.
    TaskDump {
        t_ms: Option<u64>,
        format: DumpFormat,
        tasks: Vec<DumpedTask>,
        dropped_rows: u64,
    },
    /// `N pages RAM` of an OOM report's `show_mem()` block (global OOMs; read after the
    /// block's `Total swap` line, so kernels built without swap, which print neither, give
    /// none): pages of RAM present. `totalram_pages`, which the OOM killer uses, is this
    /// minus the `pages reserved` a few lines later.
    PagesRam { t_ms: Option<u64>, pages: u64 },
    /// The kernel's victim choice checked against its own heuristic, emitted right after
    /// the [`Event::Kill`] it concerns when that kill's report had a task dump and the
    /// ranking could be computed (module `badness`). `pid` is the killed task's, as in the
    /// kill; `check.chosen_pid` is the task the heuristic chose.
    VictimCheck {
        t_ms: Option<u64>,
        pid: u32,
        check: HeuristicCheck,
    },
}

impl Event {
    /// The printk timestamp of the line the event came from, in ms since boot.
    pub fn t_ms(&self) -> Option<u64> {
        match self {
            Event::OomInvoked { t_ms, .. }
            | Event::Constraint { t_ms, .. }
            | Event::Kill { t_ms, .. }
            | Event::Reaper { t_ms, .. }
            | Event::MemcgOom { t_ms, .. }
            | Event::HungTask { t_ms, .. }
            | Event::SoftLockup { t_ms, .. }
            | Event::HardLockup { t_ms, .. }
            | Event::RcuStall { t_ms }
            | Event::AllocFailure { t_ms, .. }
            | Event::AllocStall { t_ms, .. }
            | Event::OomNoKillable { t_ms }
            | Event::Panic { t_ms, .. }
            | Event::TaskDump { t_ms, .. }
            | Event::PagesRam { t_ms, .. }
            | Event::VictimCheck { t_ms, .. } => *t_ms,
        }
    }
}
