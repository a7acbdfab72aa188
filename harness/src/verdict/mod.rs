//! From what was observed to what it means: the outcome and the metrics of one run.
//! `judge` gathers the facts; `rules` turns them into an outcome, `roles` says who each
//! victim was, `metrics` computes the numbers. docs/verdicts.md defines all of them.

pub mod console;
pub mod core_dump;
mod evidence;
mod metrics;
mod roles;
mod rules;

use crate::scenario::KernelHelper;
use crate::session::Observation;
use metrics::{
    candidates_ahead_of_hog, kill_stats, kills_continued_to_the_end, latency_summary,
    psi_over_pressure, refaults_over_pressure,
};
use oomlab_klog::Event as K;
use oomlab_results::record::{
    KernelChoice, KernelReports, KillRecord, KillStats, LatencySummary, Outcome, ProcessRecord,
    PsiSummary, ReaperCounts, RefaultSummary,
};
use oomlab_workloads::event::Event as A;
use oomlab_workloads::spec::Role;
use roles::{processes, Roles};
use rules::outcome;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// A heartbeat gap at most this long shows the agent still scheduled.
    pub responsive_gap_ms: u64,
    /// A probe completing within this long shows user space responsive.
    pub probe_threshold_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub reason: String,
    pub kills: Vec<KillRecord>,
    pub wrong_victim_kills: u32,
    pub overkill_kills: u32,
    pub heuristic_mismatch: Option<bool>,
    pub candidates_ahead_of_hog: Option<u64>,
    pub projected_ms_to_hog: Option<u64>,
    pub oom_invocations: u64,
    pub reaper: ReaperCounts,
    pub processes: Vec<ProcessRecord>,
    pub time_to_first_kill_ms: Option<u64>,
    pub time_to_recovery_ms: Option<u64>,
    pub max_heartbeat_gap_ms: Option<u64>,
    pub kill_stats: KillStats,
    pub stall_ms: Option<u64>,
    pub probe_latency_ms: Option<LatencySummary>,
    pub psi_memory: Option<PsiSummary>,
    pub refaults: Option<RefaultSummary>,
    pub kernel_reports: KernelReports,
    pub evidence: Option<oomlab_results::record::Evidence>,
}

/// When the pressure phase ended: the agent's first SIGKILL of a leftover process, or
/// its `done` if it had nothing left to stop.
fn pressure_end(agent: &[A]) -> Option<i64> {
    let stopped = agent.iter().find_map(|e| match e {
        A::Exited {
            t_ms,
            stopped_by_agent: true,
            ..
        } => Some(*t_ms as i64),
        _ => None,
    });
    stopped.or_else(|| {
        agent.iter().find_map(|e| match e {
            A::Done { t_ms, .. } => Some(*t_ms as i64),
            _ => None,
        })
    })
}

/// One responsiveness probe on the agent clock.
struct Probe {
    start: i64,
    latency: u64,
    ok: bool,
}

/// `helpers` are the programs the kernel starts for the scenario, known by name.
pub fn judge(obs: &Observation, thresholds: Thresholds, helpers: &[KernelHelper]) -> Verdict {
    let pressure_start = obs.agent.iter().find_map(|e| match e {
        A::PressureStart { t_ms } => Some(*t_ms),
        _ => None,
    });
    let processes = processes(&obs.agent);
    let roles = Roles::new(obs, &processes, helpers);
    // Kernel times are printk times; move them onto the agent's clock.
    let offset = obs.clock_offset_ms.unwrap_or(0);
    let to_agent = |t: Option<u64>| t.map(|t| t as i64 - offset);
    let since_pressure = |t: Option<i64>| -> Option<i64> { Some(t? - pressure_start? as i64) };

    // The kernel's own ranking, recomputed by klog from the task dump before each kill.
    let checks: HashMap<u32, &oomlab_klog::HeuristicCheck> = obs
        .kernel
        .iter()
        .filter_map(|e| match e {
            K::VictimCheck { pid, check, .. } => Some((*pid, check)),
            _ => None,
        })
        .collect();
    let mut kills = Vec::new();
    let mut reaper = ReaperCounts::default();
    let mut oom_invocations = 0;
    let mut panic = None;
    let mut reports = KernelReports::default();
    for e in &obs.kernel {
        match e {
            K::Kill {
                t_ms,
                pid,
                comm,
                memcg,
                anon_rss_kb,
                oom_score_adj,
                ..
            } => kills.push((
                to_agent(*t_ms),
                KillRecord {
                    pid: *pid,
                    comm: comm.clone(),
                    role: roles.of(*pid, comm).to_string(),
                    kernel_choice: checks.get(pid).map(|c| KernelChoice {
                        top_pid: c.top_pid,
                        victim_rank: c.victim_rank,
                        mismatch: c.mismatch,
                        approximate: c.approximate,
                    }),
                    anon_rss_kb: *anon_rss_kb,
                    oom_score_adj: *oom_score_adj,
                    memcg: memcg.clone(),
                    t_ms: since_pressure(to_agent(*t_ms)),
                },
            )),
            K::Reaper { result, .. } => match result {
                oomlab_klog::ReapResult::Reaped => reaper.reaped += 1,
                oomlab_klog::ReapResult::Unable => reaper.unable += 1,
            },
            K::OomInvoked { .. } => oom_invocations += 1,
            K::Panic { message, .. } => panic = panic.or(Some(message.clone())),
            K::HungTask { .. } => reports.hung_tasks += 1,
            K::SoftLockup { .. } => reports.soft_lockups += 1,
            K::HardLockup { .. } => reports.hard_lockups += 1,
            K::RcuStall { .. } => reports.rcu_stalls += 1,
            K::AllocFailure { .. } => reports.alloc_failures += 1,
            K::AllocStall { .. } => reports.alloc_stalls += 1,
            K::OomNoKillable { .. } => reports.oom_no_killable = true,
            _ => {}
        }
    }
    // Hogs and expendables are acceptable victims; bystanders and processes of no known
    // role are not.
    let wrong_victim_kills = kills
        .iter()
        .filter(|(_, k)| k.role != "hog" && k.role != "expendable")
        .count() as u32;

    let heartbeats: Vec<(u64, u64)> = obs
        .agent
        .iter()
        .filter_map(|e| match e {
            A::Heartbeat { t_ms, gap_ms, .. } => Some((*t_ms, *gap_ms)),
            _ => None,
        })
        .collect();
    let max_heartbeat_gap_ms = heartbeats.iter().map(|h| h.1).max();
    let first_kill_agent = kills.iter().filter_map(|(t, _)| *t).min();
    let last_kill_agent = kills.iter().filter_map(|(t, _)| *t).max();
    let last_hog_exit = obs
        .agent
        .iter()
        .filter_map(|e| match e {
            // The agent's own SIGKILL of leftovers at the end is not the pressure ending.
            A::Exited {
                t_ms,
                role: Some(Role::Hog),
                stopped_by_agent: false,
                ..
            } => Some(*t_ms as i64),
            _ => None,
        })
        .max();
    let recovery_point = last_kill_agent.max(last_hog_exit);
    let ps = pressure_start.map(|p| p as i64);
    let probes: Vec<Probe> = obs
        .agent
        .iter()
        .filter_map(|e| match e {
            A::Probe {
                t_ms,
                latency_ms,
                ok,
            } => Some(Probe {
                start: *t_ms as i64,
                latency: *latency_ms,
                ok: *ok,
            }),
            _ => None,
        })
        .filter(|p| ps.is_some_and(|ps| p.start >= ps))
        .collect();
    // Recovery is seen by the probe when there is one; a run without probes
    // (--probe-ms 0) falls back to the heartbeat. Either must show it before the agent
    // started killing leftovers at the end: responsiveness bought by the agent's own
    // SIGKILLs is not the kernel recovering.
    let pressure_end = pressure_end(&obs.agent);
    let before_end = |t: i64| pressure_end.is_none_or(|end| t <= end);
    let recovered_at = recovery_point.and_then(|rp| {
        if probes.is_empty() {
            heartbeats
                .iter()
                .find(|(t, gap)| *t as i64 > rp && *gap <= thresholds.responsive_gap_ms)
                .map(|(t, _)| *t as i64)
        } else {
            probes
                .iter()
                .find(|p| p.start > rp && p.ok && p.latency <= thresholds.probe_threshold_ms)
                .map(|p| p.start + p.latency as i64)
        }
        .filter(|t| before_end(*t))
    });
    let clamp = |v: Option<i64>| v.map(|v| v.max(0) as u64);
    let time_to_first_kill_ms = clamp(first_kill_agent.zip(ps).map(|(k, p)| k - p));
    let time_to_recovery_ms = if kills.is_empty() {
        None
    } else {
        clamp(recovered_at.zip(ps).map(|(r, p)| r - p))
    };
    // Overkill: kills after the pressure was already relieved, i.e. after every hog had
    // exited (by the kernel's hand or its own) and a probe then showed user space
    // responsive again.
    let hogs_started = processes.iter().filter(|p| p.role == "hog").count();
    let hog_exits = obs
        .agent
        .iter()
        .filter(|e| {
            matches!(
                e,
                A::Exited {
                    role: Some(Role::Hog),
                    stopped_by_agent: false,
                    ..
                }
            )
        })
        .count();
    let relieved_at = last_hog_exit
        .filter(|_| hogs_started > 0 && hog_exits >= hogs_started)
        .and_then(|gone| {
            probes
                .iter()
                .find(|p| p.start > gone && p.ok && p.latency <= thresholds.probe_threshold_ms)
                .map(|p| p.start + p.latency as i64)
        });
    let overkill_kills = relieved_at.map_or(0, |r| {
        kills
            .iter()
            .filter(|(t, _)| t.is_some_and(|t| t > r))
            .count() as u32
    });
    let stall_ms = (!probes.is_empty()).then(|| {
        probes
            .iter()
            .map(|p| p.latency.saturating_sub(thresholds.probe_threshold_ms))
            .sum()
    });
    let probe_latency_ms = latency_summary(probes.iter().map(|p| p.latency).collect());
    let psi_memory = psi_over_pressure(&obs.agent, ps);
    let refaults = refaults_over_pressure(&obs.agent, ps);

    let seen_by = if probes.is_empty() {
        "heartbeat"
    } else {
        "probe"
    };
    let kill_stats = kill_stats(&obs.kernel);
    let heuristic_mismatch = (!checks.is_empty()).then(|| checks.values().any(|c| c.mismatch));
    let candidates_ahead_of_hog = candidates_ahead_of_hog(obs, &processes, &checks);
    let projected_ms_to_hog = candidates_ahead_of_hog
        .zip(kill_stats.kill_interval_ms.as_ref())
        .map(|(n, i)| n * i.p50);
    let still_killing = kills_continued_to_the_end(obs, pressure_end, last_kill_agent, &kill_stats);
    let (outcome, reason) = outcome(
        obs,
        panic,
        &kills,
        recovered_at.map(|_| seen_by),
        still_killing.then_some(&kill_stats),
    );
    let evidence = evidence::evidence(&obs.agent, &roles, pressure_start);
    Verdict {
        outcome,
        reason,
        evidence,
        kills: kills.into_iter().map(|(_, k)| k).collect(),
        wrong_victim_kills,
        overkill_kills,
        heuristic_mismatch,
        candidates_ahead_of_hog,
        projected_ms_to_hog,
        kill_stats,
        oom_invocations,
        reaper,
        processes,
        time_to_first_kill_ms,
        time_to_recovery_ms,
        max_heartbeat_gap_ms,
        stall_ms,
        probe_latency_ms,
        psi_memory,
        refaults,
        kernel_reports: reports,
    }
}

#[cfg(test)]
mod tests;
