//! Events the agent streams to the host, one JSON object per line.
//!
//! Every event carries `t_ms`: the guest's CLOCK_MONOTONIC in milliseconds. The kernel's
//! printk timestamps use a different clock (local_clock); the agent writes a marker to
//! /dev/kmsg (see [`crate::CLOCK_MARKER`]) so the host can measure the offset.

use crate::spec::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The agent is up; what it found.
    Ready {
        t_ms: u64,
        release: String,
        mem_total_kb: u64,
        cpus: u32,
        agent_version: String,
    },
    /// A kernel module from the initramfs was loaded (or not).
    Module {
        t_ms: u64,
        name: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A sysctl was applied and read back.
    Setting {
        t_ms: u64,
        key: String,
        requested: String,
        #[serde(default)]
        actual: Option<String>,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A check of the guest's setup made before pressure (cgroup created, limit
    /// written and read back, ...). A failed check makes the run an `error`.
    Check {
        t_ms: u64,
        name: String,
        ok: bool,
        detail: String,
    },
    /// The first scenario process is about to start.
    PressureStart { t_ms: u64 },
    Started {
        t_ms: u64,
        name: String,
        role: Role,
        pid: u32,
        /// The cgroup (name under /sys/fs/cgroup) it was started in, if any: its
        /// descendants inherit it, so a kill of one of them can be traced to this role.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cgroup: Option<String>,
        /// The role of the other processes in that cgroup, when not `role`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        members_role: Option<Role>,
    },
    /// A process the agent reaped. `name`/`role` are absent for processes it did not
    /// start itself (children of workloads, reparented to PID 1).
    Exited {
        t_ms: u64,
        pid: u32,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        role: Option<Role>,
        #[serde(default)]
        code: Option<i32>,
        #[serde(default)]
        signal: Option<i32>,
        /// The agent itself killed it at the end of the scenario (not the OOM killer).
        #[serde(default)]
        stopped_by_agent: bool,
    },
    /// Periodic proof that the agent gets scheduled. `gap_ms` is the time since the
    /// previous heartbeat (the period when all is well).
    Heartbeat { t_ms: u64, seq: u64, gap_ms: u64 },
    /// Processes in a scenario cgroup that the agent had not reported yet (a herd's
    /// members): their role is the role of the process that owns the cgroup.
    Members {
        t_ms: u64,
        cgroup: String,
        pids: Vec<u32>,
    },
    /// One responsiveness probe: started at `t_ms`, reaped `latency_ms` later.
    /// `ok` is false when the probe did not exit 0 (killed, failed to start).
    Probe {
        t_ms: u64,
        latency_ms: u64,
        ok: bool,
    },
    /// Memory state sample.
    Sample {
        t_ms: u64,
        mem_available_kb: Option<u64>,
        mem_free_kb: Option<u64>,
        oom_kill: Option<u64>,
        pgmajfault: Option<u64>,
        psi_some_avg10: Option<f64>,
        psi_full_avg10: Option<f64>,
        /// Cumulative stall time from /proc/pressure/memory (`total=`, microseconds).
        #[serde(default)]
        psi_some_total_us: Option<u64>,
        #[serde(default)]
        psi_full_total_us: Option<u64>,
        /// /proc/vmstat `workingset_refault_file` (`workingset_refault` before 5.9):
        /// page-cache pages read back soon after they were evicted.
        #[serde(default)]
        refault_file: Option<u64>,
        /// /proc/vmstat `pgpgin`: kB read from block devices. Unlike the refault
        /// counter it means the same on every kernel (6.1 with MGLRU on counts only
        /// refaults of recent evictions).
        #[serde(default)]
        pgpgin_kb: Option<u64>,
    },
    /// What the guest's processes were doing when the OOM killer was first invoked,
    /// from /proc: the evidence that a scenario's precondition held.
    Evidence {
        t_ms: u64,
        /// The kernel log line that triggered the snapshot.
        trigger: String,
        /// User processes in /proc at the time (the snapshot keeps the largest).
        processes_total: u32,
        processes: Vec<ProcessSnapshot>,
        /// The agent's own processes as last seen whole before the trigger (a victim may
        /// be gone by the time the trigger is read), and when the latest look was.
        #[serde(default)]
        before: Vec<ProcessSnapshot>,
        #[serde(default)]
        before_t_ms: Option<u64>,
        /// When the kernel logged the trigger, on the agent's clock (from the record's
        /// printk time): `None` for the early look, or when the clocks could not be
        /// lined up.
        #[serde(default)]
        trigger_t_ms: Option<u64>,
    },
    /// The pressure phase is over; the agent will power off.
    Done { t_ms: u64, reason: String },
    /// Something went wrong inside the agent (setup failure, its own panic).
    Error { t_ms: u64, message: String },
}

/// One process in an [`Event::Evidence`] snapshot. Fields are `None` where /proc did
/// not say (the process died while being read, an older kernel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSnapshot {
    pub pid: u32,
    pub comm: String,
    /// Process state letter from /proc/PID/stat (R, S, D, Z, ...).
    pub state: String,
    pub oom_score: Option<i64>,
    pub oom_score_adj: Option<i32>,
    pub rss_kb: Option<u64>,
    /// `VmLck`: memory the process has mlocked (the oom_reaper cannot free it).
    pub mlocked_kb: Option<u64>,
    /// `CoreDumping` (Linux 4.15+): a core dump is being written.
    pub core_dumping: Option<bool>,
    /// The memory cgroup path (v2 `0::` line, or the v1 `memory` line).
    pub cgroup: Option<String>,
    /// Its threads, the first [`MAX_THREADS`] of them.
    pub threads: Vec<ThreadSnapshot>,
    /// When reading it finished (guest monotonic ms): a look kept from before the
    /// trigger may be older than the latest one.
    #[serde(default)]
    pub read_t_ms: Option<u64>,
}

impl ProcessSnapshot {
    /// Read while it still had its memory: not a zombie, and /proc/PID/status had VmRSS.
    /// A process caught exiting is better shown by an earlier look that was whole.
    pub fn is_whole(&self) -> bool {
        self.state != "Z" && self.state != "X" && self.rss_kb.is_some()
    }
}

/// Threads kept per process in a snapshot.
pub const MAX_THREADS: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadSnapshot {
    pub tid: u32,
    pub state: String,
    /// Where it sleeps (/proc/PID/task/TID/wchan), e.g. `rwsem_down_write_slowpath`.
    pub wchan: Option<String>,
    /// The system call it is in (/proc/.../syscall), `None` when running in user space.
    pub syscall: Option<i64>,
}

impl Event {
    pub fn t_ms(&self) -> u64 {
        match self {
            Event::Ready { t_ms, .. }
            | Event::Module { t_ms, .. }
            | Event::Setting { t_ms, .. }
            | Event::Check { t_ms, .. }
            | Event::PressureStart { t_ms }
            | Event::Started { t_ms, .. }
            | Event::Exited { t_ms, .. }
            | Event::Heartbeat { t_ms, .. }
            | Event::Probe { t_ms, .. }
            | Event::Members { t_ms, .. }
            | Event::Sample { t_ms, .. }
            | Event::Evidence { t_ms, .. }
            | Event::Done { t_ms, .. }
            | Event::Error { t_ms, .. } => *t_ms,
        }
    }

    /// One line of the wire format (no trailing newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// Parse one line; `None` for anything that is not an event (a truncated last line).
    pub fn from_line(line: &str) -> Option<Event> {
        serde_json::from_str(line.trim_end_matches(['\r', '\n'])).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_line() {
        let e = Event::Exited {
            t_ms: 7,
            pid: 42,
            name: Some("hog".into()),
            role: Some(Role::Hog),
            code: None,
            signal: Some(9),
            stopped_by_agent: false,
        };
        let line = e.to_line();
        assert!(line.contains(r#""event":"exited""#), "{line}");
        assert_eq!(Event::from_line(&format!("{line}\r\n")), Some(e));
    }

    #[test]
    fn garbage_is_not_an_event() {
        assert_eq!(Event::from_line("{\"event\":\"heartbeat\",\"t_ms\":"), None);
        assert_eq!(Event::from_line("\u{0}\u{0}"), None);
    }
}
