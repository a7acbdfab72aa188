//! The agent's /proc snapshot at the first OOM invocation, with each process's role.
//!
//! A process already exiting at the trigger (the victim, often: the killer does not
//! wait for user space) is taken from the agent's last look before it.

use super::roles::Roles;
use crate::syscalls;
use oomlab_results::record::{Evidence, EvidenceProcess, EvidenceThread};
use oomlab_workloads::event::{Event as A, ProcessSnapshot};

pub(super) fn evidence(
    agent: &[A],
    roles: &Roles,
    pressure_start: Option<u64>,
) -> Option<Evidence> {
    // The agent may send an early look, then its last look at the trigger, then the full
    // snapshot: the latest that arrived is the most complete.
    agent.iter().rev().find_map(|e| match e {
        A::Evidence {
            t_ms,
            trigger,
            processes_total,
            processes,
            before,
            ..
        } => {
            let intact =
                |p: &ProcessSnapshot| p.state != "Z" && p.state != "X" && p.rss_kb.is_some();
            let mut kept: Vec<EvidenceProcess> = Vec::new();
            for p in processes {
                let earlier = before.iter().find(|b| b.pid == p.pid && intact(b));
                match earlier {
                    Some(b) if !intact(p) => kept.push(record(b, "before", roles)),
                    _ => kept.push(record(p, "trigger", roles)),
                }
            }
            // Started processes gone from /proc by the trigger.
            for b in before
                .iter()
                .filter(|b| !processes.iter().any(|p| p.pid == b.pid))
            {
                kept.push(record(b, "before", roles));
            }
            Some(Evidence {
                t_ms: pressure_start.map(|p| *t_ms as i64 - p as i64),
                trigger: trigger.clone(),
                processes_total: *processes_total,
                processes: kept,
                precondition: None,
                precondition_met: None,
                seen: String::new(),
            })
        }
        _ => None,
    })
}

fn record(p: &ProcessSnapshot, snapshot: &str, roles: &Roles) -> EvidenceProcess {
    EvidenceProcess {
        snapshot: snapshot.to_string(),
        pid: p.pid,
        role: roles.of_process(p.pid, p.cgroup.as_deref()).to_string(),
        comm: p.comm.clone(),
        state: p.state.clone(),
        oom_score: p.oom_score,
        oom_score_adj: p.oom_score_adj,
        rss_kb: p.rss_kb,
        mlocked_kb: p.mlocked_kb,
        core_dumping: p.core_dumping,
        cgroup: p.cgroup.clone(),
        threads: p
            .threads
            .iter()
            .map(|t| EvidenceThread {
                tid: t.tid,
                state: t.state.clone(),
                wchan: t.wchan.clone(),
                syscall: t.syscall.map(syscalls::name),
            })
            .collect(),
    }
}
