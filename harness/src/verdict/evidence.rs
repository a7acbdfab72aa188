//! The agent's /proc snapshot at the first OOM invocation, with each process's role.
//!
//! A process already exiting at the trigger (the victim, often: the killer does not
//! wait for user space) is taken from the agent's last whole look at it before the
//! trigger, if that is recent; the record says how long before.

use super::roles::Roles;
use crate::syscalls;
use oomlab_results::record::{Evidence, EvidenceProcess, EvidenceThread};
use oomlab_workloads::event::{Event as A, ProcessSnapshot};

/// A look from before the trigger older than this says little about the OOM: the
/// process is then taken as the trigger found it.
const MAX_LOOK_AGE_MS: u64 = 2_000;

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
            trigger_t_ms,
            ..
        } => {
            // Age from when the kernel logged the invocation where the agent could tell
            // (it may read the record late on a starved guest), else from its reading.
            let reference = trigger_t_ms.unwrap_or(*t_ms);
            let age = |b: &ProcessSnapshot| b.read_t_ms.map(|r| reference.saturating_sub(r));
            // Looks without a time come from an agent that kept only its latest look.
            let recent = |b: &&ProcessSnapshot| age(b).is_none_or(|a| a <= MAX_LOOK_AGE_MS);
            let mut kept: Vec<EvidenceProcess> = Vec::new();
            for p in processes {
                let earlier = before
                    .iter()
                    .filter(recent)
                    .find(|b| b.pid == p.pid && b.is_whole());
                match earlier {
                    Some(b) if !p.is_whole() => kept.push(record(b, "before", age(b), roles)),
                    _ => kept.push(record(p, "trigger", None, roles)),
                }
            }
            // Started processes gone from /proc by the trigger.
            for b in before
                .iter()
                .filter(recent)
                .filter(|b| !processes.iter().any(|p| p.pid == b.pid))
            {
                kept.push(record(b, "before", age(b), roles));
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

fn record(
    p: &ProcessSnapshot,
    snapshot: &str,
    age_ms: Option<u64>,
    roles: &Roles,
) -> EvidenceProcess {
    EvidenceProcess {
        snapshot: snapshot.to_string(),
        read_before_trigger_ms: age_ms,
        pid: p.pid,
        role: roles
            .of_process(p.pid, p.cgroup.as_deref(), &p.comm)
            .to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Observation;
    use oomlab_results::record::ProcessRecord;

    fn look(pid: u32, state: &str, rss_kb: Option<u64>, read_t_ms: u64) -> ProcessSnapshot {
        ProcessSnapshot {
            pid,
            comm: "coredump-victim".into(),
            state: state.into(),
            oom_score: None,
            oom_score_adj: None,
            rss_kb,
            mlocked_kb: None,
            core_dumping: rss_kb.map(|_| true),
            cgroup: None,
            threads: vec![],
            read_t_ms: Some(read_t_ms),
        }
    }

    fn evidence_of(processes: Vec<ProcessSnapshot>, before: Vec<ProcessSnapshot>) -> Evidence {
        evidence_at(processes, before, None)
    }

    /// The agent read the trigger at 10 s; `trigger_t_ms`: when the kernel logged it.
    fn evidence_at(
        processes: Vec<ProcessSnapshot>,
        before: Vec<ProcessSnapshot>,
        trigger_t_ms: Option<u64>,
    ) -> Evidence {
        let hog = ProcessRecord {
            name: "dumper".into(),
            role: "hog".into(),
            pid: 7,
            exit_code: None,
            signal: None,
            stopped_by_agent: false,
        };
        let roles = Roles::new(&Observation::default(), &[hog], &[]);
        let event = A::Evidence {
            t_ms: 10_000,
            trigger: "usemem invoked oom-killer".into(),
            processes_total: processes.len() as u32,
            processes,
            before,
            before_t_ms: Some(9_900),
            trigger_t_ms,
        };
        evidence(&[event], &roles, Some(4_000)).unwrap()
    }

    #[test]
    fn an_exiting_victim_is_taken_from_its_recent_whole_look() {
        let e = evidence_of(
            vec![look(7, "R", None, 10_001)],
            vec![look(7, "S", Some(90_000), 9_700)],
        );
        let p = &e.processes[0];
        assert_eq!((p.snapshot.as_str(), p.role.as_str()), ("before", "hog"));
        assert_eq!(p.core_dumping, Some(true));
        assert_eq!(p.read_before_trigger_ms, Some(300));
        assert_eq!(e.t_ms, Some(6_000));
    }

    #[test]
    fn a_stale_look_is_not_evidence() {
        // Read 5 s before the trigger: the trigger's own (exiting) view stands, and a
        // process long gone from /proc is not listed at all.
        let e = evidence_of(
            vec![look(7, "R", None, 10_001)],
            vec![
                look(7, "S", Some(90_000), 5_000),
                look(8, "S", Some(10), 5_000),
            ],
        );
        assert_eq!(e.processes.len(), 1);
        assert_eq!(e.processes[0].snapshot, "trigger");
        assert_eq!(e.processes[0].core_dumping, None);
    }

    #[test]
    fn a_trigger_read_late_is_aged_from_when_the_kernel_logged_it() {
        // Logged at 7 s, read at 10 s on a starved guest: the look at 6.8 s is 200 ms
        // before the invocation, not 3.2 s.
        let e = evidence_at(
            vec![look(7, "Z", None, 10_001)],
            vec![look(7, "S", Some(90_000), 6_800)],
            Some(7_000),
        );
        assert_eq!(e.processes[0].snapshot, "before");
        assert_eq!(e.processes[0].read_before_trigger_ms, Some(200));
    }

    #[test]
    fn a_whole_process_at_the_trigger_is_taken_as_the_trigger_saw_it() {
        let e = evidence_of(
            vec![look(7, "D", Some(80_000), 10_001)],
            vec![look(7, "S", Some(90_000), 9_900)],
        );
        assert_eq!(e.processes[0].snapshot, "trigger");
        assert_eq!(e.processes[0].state, "D");
        assert_eq!(e.processes[0].read_before_trigger_ms, None);
    }
}
