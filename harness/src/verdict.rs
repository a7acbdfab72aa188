//! From what was observed to what it means: the outcome and the metrics of one run.
//!
//! Rules, first match wins (docs/verdicts.md is the reference):
//!
//! | # | condition                                                        | outcome        |
//! |---|------------------------------------------------------------------|----------------|
//! | 1 | the harness could not start QEMU, or the agent reported a setup  | `error`        |
//! |   | failure (bad spec, a sysctl or module that did not take)         |                |
//! | 2 | the agent never said `ready` (a panic before it included)        | `boot_failure` |
//! | 3 | the kernel printed `Kernel panic - not syncing`                  | `panic`        |
//! | 4 | after pressure start, no probe finished and no kill or reap for   | `livelock`     |
//! |   | the livelock window (the guest still talks)                      |                |
//! | 5 | after ready, console and events were silent for the silence limit| `hung`         |
//! | 6 | the harness's time limit hit, or the guest stopped without `done`| `timeout` / `error` |
//! | 7 | `done` and no OOM kill                                           | `no_oom`       |
//! | 8 | `done`, kills, and a responsive probe after the recovery point   | `recovered`    |
//! | 9 | `done`, kills, and no responsive probe after them                | `timeout`      |
//!
//! The recovery point is the later of the last OOM kill and the exit of the last hog; a
//! heartbeat is responsive when its gap is at most `responsive_gap_ms`.

use crate::session::{EndReason, Observation};
use oomlab_klog::Event as K;
use oomlab_results::record::{
    KernelChoice, KernelReports, KillRecord, KillStats, LatencySummary, Outcome, Percentiles2,
    ProcessRecord, PsiSummary, ReaperCounts,
};
use oomlab_results::stats::percentile;
use oomlab_workloads::event::Event as A;
use oomlab_workloads::spec::Role;
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
    pub kernel_reports: KernelReports,
}

/// One responsiveness probe on the agent clock.
struct Probe {
    start: i64,
    latency: u64,
    ok: bool,
}

pub fn judge(obs: &Observation, thresholds: Thresholds) -> Verdict {
    let pressure_start = obs.agent.iter().find_map(|e| match e {
        A::PressureStart { t_ms } => Some(*t_ms),
        _ => None,
    });
    let processes = processes(&obs.agent);
    let roles: HashMap<u32, Role> = processes
        .iter()
        .filter_map(|p| Some((p.pid, role_from_str(&p.role)?)))
        .collect();
    // Descendants of a scenario process (a herd's members) are not known to the agent by
    // pid, but they share its cgroup, and the kernel names the victim's cgroup in the
    // `oom-kill:constraint=...,task_memcg=/NAME,...,pid=N` line before each kill.
    let cgroup_roles: HashMap<String, Role> = obs
        .agent
        .iter()
        .filter_map(|e| match e {
            A::Started {
                role,
                cgroup: Some(g),
                ..
            } => Some((format!("/{g}"), *role)),
            _ => None,
        })
        .collect();
    let victim_cgroups: HashMap<u32, &str> = obs
        .kernel
        .iter()
        .filter_map(|e| match e {
            K::Constraint {
                pid: Some(pid),
                task_memcg: Some(m),
                ..
            } => Some((*pid, m.as_str())),
            _ => None,
        })
        .collect();
    // The agent also lists each scenario cgroup's members as they appear; the kernel's
    // constraint line is rate-limited with the rest of the OOM report, the list is not.
    let member_cgroups: HashMap<u32, String> = obs
        .agent
        .iter()
        .filter_map(|e| match e {
            A::Members { cgroup, pids, .. } => {
                Some(pids.iter().map(move |p| (*p, format!("/{cgroup}"))))
            }
            _ => None,
        })
        .flatten()
        .collect();
    let role_of = |pid: &u32| -> &'static str {
        roles
            .get(pid)
            .or_else(|| cgroup_roles.get(*victim_cgroups.get(pid)?))
            .or_else(|| cgroup_roles.get(member_cgroups.get(pid)?))
            .map_or("unknown", |r| r.as_str())
    };
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
                    role: role_of(pid).to_string(),
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
    // (--probe-ms 0) falls back to the heartbeat.
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
    let still_killing = kills_continued_to_the_end(obs, last_kill_agent, &kill_stats);
    let (outcome, reason) = outcome(
        obs,
        panic,
        &kills,
        recovered_at.map(|_| seen_by),
        still_killing.then_some(&kill_stats),
    );
    Verdict {
        outcome,
        reason,
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
        kernel_reports: reports,
    }
}

/// In the last task dump that lists a hog: how many candidates the kernel's badness
/// ranks above it. totalpages is what the kernel's last checked report used, else the
/// guest's MemTotal in pages (equal to it on the Debian kernels measured).
fn candidates_ahead_of_hog(
    obs: &Observation,
    processes: &[ProcessRecord],
    checks: &HashMap<u32, &oomlab_klog::HeuristicCheck>,
) -> Option<u64> {
    let hogs: Vec<u32> = processes
        .iter()
        .filter(|p| p.role == "hog")
        .map(|p| p.pid)
        .collect();
    let totalpages = checks.values().find_map(|c| c.totalpages).or_else(|| {
        obs.agent.iter().find_map(|e| match e {
            A::Ready { mem_total_kb, .. } => Some(mem_total_kb / 4),
            _ => None,
        })
    })?;
    obs.kernel.iter().rev().find_map(|e| match e {
        K::TaskDump { tasks, .. } => {
            let hog = hogs.iter().find(|h| tasks.iter().any(|t| t.pid == **h))?;
            oomlab_klog::candidates_ahead(tasks, *hog, totalpages).map(|n| n as u64)
        }
        _ => None,
    })
}

/// Were kills still going on when pressure ended? The last kill must fall within the
/// end window: three median kill intervals, and at least 10 s, before the end of the
/// run (the agent's `done`, or its last event).
fn kills_continued_to_the_end(obs: &Observation, last_kill: Option<i64>, s: &KillStats) -> bool {
    let Some(last_kill) = last_kill else {
        return false;
    };
    let end = obs.agent.iter().rev().find_map(|e| match e {
        A::Done { t_ms, .. } => Some(*t_ms),
        _ => None,
    });
    let Some(end) = end.or_else(|| obs.agent.last().map(A::t_ms)) else {
        return false;
    };
    let window = s
        .kill_interval_ms
        .as_ref()
        .map_or(0, |i| 3 * i.p50)
        .max(10_000) as i64;
    end as i64 - last_kill <= window && s.kill_interval_ms.is_some()
}

/// Pace and yield of the kills, from the kernel's own lines (printk clock: only
/// differences are taken, so the clock offset does not matter).
fn kill_stats(kernel: &[K]) -> KillStats {
    let kills: Vec<(Option<u64>, u32, u64)> = kernel
        .iter()
        .filter_map(|e| match e {
            K::Kill {
                t_ms,
                pid,
                anon_rss_kb,
                file_rss_kb,
                shmem_rss_kb,
                ..
            } => Some((
                *t_ms,
                *pid,
                anon_rss_kb.unwrap_or(0) + file_rss_kb.unwrap_or(0) + shmem_rss_kb.unwrap_or(0),
            )),
            _ => None,
        })
        .collect();
    let times: Vec<u64> = kills.iter().filter_map(|k| k.0).collect();
    let intervals: Vec<u64> = times
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect();
    let reaps: Vec<u64> = kernel
        .iter()
        .filter_map(|e| match e {
            K::Reaper {
                t_ms: Some(t),
                pid,
                result: oomlab_klog::ReapResult::Reaped,
                ..
            } => {
                let killed = kills
                    .iter()
                    .rev()
                    .find(|k| k.1 == *pid && k.0 <= Some(*t))?;
                Some(t - killed.0?)
            }
            _ => None,
        })
        .collect();
    let freed: Vec<u64> = kills.iter().map(|k| k.2).collect();
    let span_ms = times.last().zip(times.first()).map(|(l, f)| l - f);
    KillStats {
        kill_interval_ms: percentile(&intervals, 0.5)
            .zip(percentile(&intervals, 0.9))
            .map(|(p50, p90)| Percentiles2 { p50, p90 }),
        kill_to_reap_ms: percentile(&reaps, 0.5),
        freed_per_kill_kb: percentile(&freed, 0.5),
        kills_per_min: span_ms
            .filter(|s| *s > 0 && times.len() > 1)
            .map(|s| (times.len() - 1) as f64 * 60_000.0 / s as f64),
    }
}

/// Nearest-rank percentiles of the probe latencies.
fn latency_summary(v: Vec<u64>) -> Option<LatencySummary> {
    let p = |q| percentile(&v, q);
    Some(LatencySummary {
        n: v.len() as u64,
        p50: p(0.50)?,
        p90: p(0.90)?,
        p99: p(0.99)?,
        max: p(1.0)?,
    })
}

/// Share of the pressure phase spent stalled on memory, from the first sample at or
/// after pressure start to the last sample, using PSI's cumulative `total=` counters.
fn psi_over_pressure(agent: &[A], pressure_start: Option<i64>) -> Option<PsiSummary> {
    let ps = pressure_start?;
    let samples: Vec<(u64, u64, u64)> = agent
        .iter()
        .filter_map(|e| match e {
            A::Sample {
                t_ms,
                psi_some_total_us: Some(some),
                psi_full_total_us: Some(full),
                ..
            } if *t_ms as i64 >= ps => Some((*t_ms, *some, *full)),
            _ => None,
        })
        .collect();
    let (first, last) = (samples.first()?, samples.last()?);
    let span_us = last.0.checked_sub(first.0).filter(|d| *d > 0)? * 1_000;
    let pct = |a: u64, b: u64| (b.saturating_sub(a) as f64 * 100.0 / span_us as f64).min(100.0);
    Some(PsiSummary {
        some_pct: pct(first.1, last.1),
        full_pct: pct(first.2, last.2),
    })
}

fn outcome(
    obs: &Observation,
    panic: Option<String>,
    kills: &[(Option<i64>, KillRecord)],
    // What showed recovery (probe or heartbeat), if anything did.
    recovered: Option<&str>,
    // Set when kills were still going on when the run ended.
    still_killing: Option<&KillStats>,
) -> (Outcome, String) {
    let unrecovered = |s: &KillStats| {
        let pace = s
            .kill_interval_ms
            .as_ref()
            .map(|i| format!(", one kill every {:.1} s", i.p50 as f64 / 1000.0))
            .unwrap_or_default();
        let freed = s
            .freed_per_kill_kb
            .map(|kb| format!(", {:.1} MB freed per kill", kb as f64 / 1024.0))
            .unwrap_or_default();
        (
            Outcome::Unrecovered,
            format!(
                "{} kill(s) and still killing when the run ended, never responsive again{pace}{freed}",
                kills.len()
            ),
        )
    };
    let ready = obs.agent.iter().any(|e| matches!(e, A::Ready { .. }));
    let done = obs.agent.iter().find_map(|e| match e {
        A::Done { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    if let Some(EndReason::SpawnFailed(e)) = &obs.end {
        return (Outcome::Error, e.clone());
    }
    if let Some(failure) = setup_failure(obs) {
        return (Outcome::Error, failure);
    }
    if !ready {
        let why = match &obs.end {
            _ if panic.is_some() => format!(
                "kernel panic during boot, before agent-ready: {}",
                panic.unwrap_or_default()
            ),
            Some(EndReason::BootTimeout) => "no agent-ready within the boot limit".to_string(),
            Some(EndReason::QemuExited(s)) => format!("QEMU exited before agent-ready ({s})"),
            Some(EndReason::Interrupted(s)) => format!("interrupted by signal {s} during boot"),
            other => format!("the agent never reported ready ({other:?})"),
        };
        return (Outcome::BootFailure, why);
    }
    if let Some(message) = panic {
        return (Outcome::Panic, format!("kernel panic: {message}"));
    }
    match &obs.end {
        Some(EndReason::Livelock { sysrq_f_recovered }) => {
            let after = match sysrq_f_recovered {
                Some(true) => "; a probe finished in time after sysrq-f",
                Some(false) => "; still starved 15 s after sysrq-f",
                None => "",
            };
            return (
                Outcome::Livelock,
                format!(
                    "alive but no probe finished and no OOM kill or reap within the livelock window ({} kill(s) before){after}",
                    kills.len()
                ),
            );
        }
        Some(EndReason::Silent) => {
            return (
                Outcome::Hung,
                "console and event channel both went silent".into(),
            )
        }
        Some(EndReason::Timeout) if still_killing.is_some() && recovered.is_none() => {
            return unrecovered(still_killing.unwrap_or(&KillStats::default()));
        }
        Some(EndReason::Timeout) => {
            return (
                Outcome::Timeout,
                format!(
                    "the harness time limit ended the run after {} kill(s)",
                    kills.len()
                ),
            )
        }
        Some(EndReason::QemuExited(s)) if done.is_none() => {
            return (
                Outcome::Error,
                format!("the guest stopped without finishing the scenario ({s})"),
            )
        }
        Some(EndReason::Interrupted(s)) => {
            return (Outcome::Error, format!("interrupted by signal {s}"))
        }
        _ => {}
    }
    let done = done.unwrap_or_default();
    if kills.is_empty() {
        (
            Outcome::NoOom,
            format!("scenario ended ({done}) without an OOM kill"),
        )
    } else if let Some(by) = recovered {
        (
            Outcome::Recovered,
            format!("{} kill(s), responsive {by} afterwards", kills.len()),
        )
    } else if let Some(s) = still_killing {
        unrecovered(s)
    } else {
        (
            Outcome::Timeout,
            format!(
                "{} kill(s) but no responsive probe or heartbeat after the recovery point before the scenario ended ({done})",
                kills.len()
            ),
        )
    }
}

/// A run whose own setup failed is not a kernel result.
fn setup_failure(obs: &Observation) -> Option<String> {
    let pressure_at = obs
        .agent
        .iter()
        .position(|e| matches!(e, A::PressureStart { .. }));
    for (i, e) in obs.agent.iter().enumerate() {
        let before_pressure = pressure_at.is_none_or(|p| i < p);
        match e {
            A::Setting {
                key,
                requested,
                actual,
                ok: false,
                error,
                ..
            } => {
                return Some(format!(
                    "setup check failed: {key} asked {requested}, read back {}{}",
                    actual.as_deref().unwrap_or("nothing"),
                    error
                        .as_ref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ))
            }
            A::Module {
                name,
                ok: false,
                error,
                ..
            } => {
                return Some(format!(
                    "setup check failed: module {name} did not load ({})",
                    error.as_deref().unwrap_or("?")
                ))
            }
            A::Check {
                name,
                ok: false,
                detail,
                ..
            } => return Some(format!("setup check failed: {name}: {detail}")),
            A::Error { message, .. } if before_pressure => {
                return Some(format!("agent error: {message}"))
            }
            _ => {}
        }
    }
    None
}

fn processes(agent: &[A]) -> Vec<ProcessRecord> {
    let mut out: Vec<ProcessRecord> = Vec::new();
    for e in agent {
        match e {
            A::Started {
                name, role, pid, ..
            } => out.push(ProcessRecord {
                name: name.clone(),
                role: role.as_str().to_string(),
                pid: *pid,
                exit_code: None,
                signal: None,
                stopped_by_agent: false,
            }),
            A::Exited {
                pid,
                code,
                signal,
                stopped_by_agent,
                ..
            } => {
                if let Some(p) = out.iter_mut().find(|p| p.pid == *pid) {
                    p.exit_code = *code;
                    p.signal = *signal;
                    p.stopped_by_agent = *stopped_by_agent;
                }
            }
            _ => {}
        }
    }
    out
}

fn role_from_str(s: &str) -> Option<Role> {
    match s {
        "hog" => Some(Role::Hog),
        "expendable" => Some(Role::Expendable),
        "bystander" => Some(Role::Bystander),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::observe_logs;

    const T: Thresholds = Thresholds {
        responsive_gap_ms: 300,
        probe_threshold_ms: 500,
    };
    const CONSOLE_61: &str =
        include_str!("../tests/fixtures/runs/usemem-6.1-recovered/console.log");
    const EVENTS_61: &str =
        include_str!("../tests/fixtures/runs/usemem-6.1-recovered/events.jsonl");
    const CONSOLE_OOPS: &str = include_str!("../tests/fixtures/runs/boot-oops-6.12/console.log");

    const CONSOLE_612: &str = include_str!("../tests/fixtures/runs/usemem-6.12-probes/console.log");
    const EVENTS_612: &str = include_str!("../tests/fixtures/runs/usemem-6.12-probes/events.jsonl");

    fn judge_logs(console: &str, events: &str, end: EndReason) -> Verdict {
        judge(&observe_logs(console.as_bytes(), events.as_bytes(), end), T)
    }

    fn without_events(events: &str, kind: &str) -> String {
        events
            .lines()
            .filter(|l| !l.contains(&format!("\"event\":\"{kind}\"")))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn real_usemem_run_on_6_1_recovers_with_the_hog_killed() {
        let v = judge_logs(CONSOLE_61, EVENTS_61, EndReason::Finished);
        assert_eq!(v.outcome, Outcome::Recovered, "{}", v.reason);
        assert_eq!(v.kills.len(), 1);
        assert_eq!(v.kills[0].pid, 89);
        assert_eq!(v.kills[0].role, "hog");
        assert_eq!(v.kills[0].anon_rss_kb, Some(178640));
        assert_eq!(v.wrong_victim_kills, 0);
        let (ttfk, ttr) = (
            v.time_to_first_kill_ms.unwrap(),
            v.time_to_recovery_ms.unwrap(),
        );
        assert!(ttfk <= ttr, "{ttfk} <= {ttr}");
        // The hog's kill line is at printk 4.507471 s, the clock marker says printk runs
        // 45 ms behind the agent clock, and pressure started at agent 2831 ms.
        assert_eq!(ttfk, 4507 + 45 - 2831);
        assert_eq!(v.max_heartbeat_gap_ms, Some(102));
        let bystander = v.processes.iter().find(|p| p.role == "bystander").unwrap();
        assert!(bystander.stopped_by_agent || bystander.signal == Some(9));
    }

    #[test]
    fn recovery_on_6_12_is_seen_by_the_first_fast_probe_after_the_hog_exits() {
        let v = judge_logs(CONSOLE_612, EVENTS_612, EndReason::Finished);
        assert_eq!(v.outcome, Outcome::Recovered, "{}", v.reason);
        // Marker: printk 3.979419 s vs agent 4033084 us -> offset -53 ms. Kill at printk
        // 5.553 s = agent 5606 ms; pressure start 4104 ms.
        assert_eq!(v.time_to_first_kill_ms, Some(5553 + 53 - 4104));
        // Recovery point = hog reaped at 5739 ms (after the kill); the first probe started
        // after it began at 5969 ms and took 61 ms.
        assert_eq!(v.time_to_recovery_ms, Some(5969 + 61 - 4104));
        assert_eq!(v.stall_ms, Some(0));
        let l = v.probe_latency_ms.unwrap();
        assert_eq!((l.n, l.max), (17, 103));
        assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max);
        // PSI some total grew 20346 us over 4045 ms of samples.
        let psi = v.psi_memory.unwrap();
        assert!(
            (psi.some_pct - 20346.0 * 100.0 / 4_045_000.0).abs() < 1e-9,
            "{psi:?}"
        );
        assert_eq!(v.kernel_reports, KernelReports::default());
    }

    #[test]
    fn slow_probes_count_as_stall_and_delay_recovery() {
        // Stretch the two probes after the kill past the threshold.
        let events = EVENTS_612
            .replace(
                r#""t_ms":5969,"latency_ms":61"#,
                r#""t_ms":5969,"latency_ms":861"#,
            )
            .replace(
                r#""t_ms":6238,"latency_ms":91"#,
                r#""t_ms":6238,"latency_ms":691"#,
            );
        assert_ne!(
            events, EVENTS_612,
            "fixture changed: update the replacement"
        );
        let v = judge_logs(CONSOLE_612, &events, EndReason::Finished);
        assert_eq!(v.stall_ms, Some((861 - 500) + (691 - 500)));
        assert_eq!(v.time_to_recovery_ms, Some(6514 + 74 - 4104));
    }

    #[test]
    fn latency_percentiles_use_nearest_rank() {
        let l = latency_summary((1..=100).collect()).unwrap();
        assert_eq!((l.n, l.p50, l.p90, l.p99, l.max), (100, 50, 90, 99, 100));
        assert_eq!(latency_summary(vec![]), None);
        let one = latency_summary(vec![7]).unwrap();
        assert_eq!((one.p50, one.p99), (7, 7));
    }

    #[test]
    fn kernel_reports_are_counted() {
        let console = format!(
            "{CONSOLE_612}[   20.000000] INFO: task usemem:145 blocked for more than 120 seconds.\n[   21.000000] watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [usemem:145]\n"
        );
        let v = judge_logs(&console, EVENTS_612, EndReason::Finished);
        assert_eq!(v.kernel_reports.hung_tasks, 1);
        assert_eq!(v.kernel_reports.soft_lockups, 1);
    }

    #[test]
    fn the_agent_stopping_a_hog_at_the_end_is_not_the_recovery_point() {
        // As if the hog had survived and the agent killed it when the scenario ended:
        // recovery must still be measured from the kill, not from that late SIGKILL.
        let events = EVENTS_612.replace(
            r#""t_ms":5739,"pid":145,"name":"hog","role":"hog","code":null,"signal":9,"stopped_by_agent":false"#,
            r#""t_ms":8769,"pid":145,"name":"hog","role":"hog","code":null,"signal":9,"stopped_by_agent":true"#,
        );
        assert_ne!(
            events, EVENTS_612,
            "fixture changed: update the replacement"
        );
        let v = judge_logs(CONSOLE_612, &events, EndReason::Finished);
        assert_eq!(v.outcome, Outcome::Recovered, "{}", v.reason);
        // First probe started after the kill (agent 5606 ms): 5708 ms, 54 ms.
        assert_eq!(v.time_to_recovery_ms, Some(5708 + 54 - 4104));
    }

    #[test]
    fn a_kill_after_the_pressure_was_relieved_is_overkill() {
        // The hog was reaped at 5739 ms and the probe started at 5969 ms came back in
        // 61 ms: relieved at 6030 ms (agent) = printk 5977 ms. A kill after that is overkill,
        // and the recovery point moves to it.
        let late = "[    6.500000] Out of memory: Killed process 143 (usemem) total-vm:9000kB, anon-rss:8200kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:60kB oom_score_adj:0\n";
        let v = judge_logs(
            &format!("{CONSOLE_612}{late}"),
            EVENTS_612,
            EndReason::Finished,
        );
        assert_eq!(v.kills.len(), 2);
        assert_eq!(v.overkill_kills, 1);
        assert_eq!(v.wrong_victim_kills, 1, "the late victim is the bystander");
        let real = judge_logs(CONSOLE_612, EVENTS_612, EndReason::Finished);
        assert_eq!(real.overkill_kills, 0);
    }

    /// The 6.12 run with extra kills of herd members every 2 s, the last at printk
    /// `last_s`, as if the kernel had kept killing small processes.
    fn herd_kills_until(last_s: u32) -> String {
        let mut console = CONSOLE_612.to_string();
        for (i, t) in (6..=last_s).step_by(2).enumerate() {
            console.push_str(&format!(
                "[{t:>5}.600000] Out of memory: Killed process {} (herd) total-vm:900kB, anon-rss:700kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:1000\n",
                300 + i
            ));
        }
        console
    }

    #[test]
    fn kills_every_2_s_to_the_end_without_recovery_are_unrecovered() {
        // Kills at printk 6.6 and 8.6 s (agent 6653, 8653 ms); the last probe started at
        // 8478 ms, before the last kill, and the agent's done came at 8770 ms.
        let v = judge_logs(&herd_kills_until(8), EVENTS_612, EndReason::Finished);
        assert_eq!(v.outcome, Outcome::Unrecovered, "{}", v.reason);
        assert!(v.reason.contains("one kill every"), "{}", v.reason);
        assert_eq!(
            v.kill_stats.kill_interval_ms.as_ref().map(|i| i.p50),
            Some(1047)
        );
        // The same at the harness's time limit.
        let v = judge_logs(
            &herd_kills_until(8),
            &without_events(EVENTS_612, "done"),
            EndReason::Timeout,
        );
        assert_eq!(v.outcome, Outcome::Unrecovered, "{}", v.reason);
    }

    #[test]
    fn a_late_kill_followed_by_a_fast_probe_is_recovery() {
        // Kills up to printk 6.6 s (agent 6653 ms); probes started at 6786 ms and later
        // came back within the threshold, so the guest recovered after the last kill.
        let v = judge_logs(&herd_kills_until(6), EVENTS_612, EndReason::Finished);
        assert_eq!(v.outcome, Outcome::Recovered, "{}", v.reason);
        assert_eq!(v.time_to_recovery_ms, Some(6786 + 92 - 4104));
    }

    #[test]
    fn kill_stats_measure_pace_reaping_and_yield() {
        let console = "\
[   10.000000] Out of memory: Killed process 10 (a) total-vm:2000kB, anon-rss:1000kB, file-rss:100kB, shmem-rss:24kB, UID:0 pgtables:40kB oom_score_adj:1000
[   10.150000] oom_reaper: reaped process 10 (a), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
[   12.000000] Out of memory: Killed process 11 (b) total-vm:2000kB, anon-rss:900kB, file-rss:100kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:1000
[   12.050000] oom_reaper: reaped process 11 (b), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
[   14.500000] Out of memory: Killed process 12 (c) total-vm:2000kB, anon-rss:700kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:1000
";
        let obs = observe_logs(console.as_bytes(), b"", EndReason::Timeout);
        let s = kill_stats(&obs.kernel);
        let i = s.kill_interval_ms.unwrap();
        assert_eq!((i.p50, i.p90), (2000, 2500));
        assert_eq!(
            s.kill_to_reap_ms,
            Some(50),
            "median of 150 and 50 by nearest rank"
        );
        assert_eq!(s.freed_per_kill_kb, Some(1000), "median of 1124, 1000, 700");
        assert!((s.kills_per_min.unwrap() - 2.0 * 60_000.0 / 4500.0).abs() < 1e-9);
        let one = kill_stats(&observe_logs(CONSOLE_61.as_bytes(), b"", EndReason::Finished).kernel);
        assert_eq!(one.kill_interval_ms, None);
        assert_eq!(one.kills_per_min, None);
        assert_eq!(one.freed_per_kill_kb, Some(178640 + 4 + 1096));
    }

    #[test]
    fn the_kernels_own_ranking_is_checked_against_its_choice() {
        let v = judge_logs(CONSOLE_61, EVENTS_61, EndReason::Finished);
        assert_eq!(v.heuristic_mismatch, Some(false));
        let choice = v.kills[0].kernel_choice.as_ref().unwrap();
        assert_eq!((choice.top_pid, choice.victim_rank), (Some(89), Some(1)));
        assert_eq!(v.candidates_ahead_of_hog, Some(0));
        // Raise the bystander's adj in the dump: by the kernel's own rules it now
        // outranks the hog, so killing the hog is a mismatch and one candidate is ahead.
        let console = CONSOLE_61.replace(
            "[     88]     0    88     2463     2299    57344        0             0 usemem",
            "[     88]     0    88     2463     2299    57344        0          1000 usemem",
        );
        assert_ne!(console, CONSOLE_61);
        let v = judge_logs(&console, EVENTS_61, EndReason::Finished);
        assert_eq!(v.heuristic_mismatch, Some(true));
        assert_eq!(v.kills[0].kernel_choice.as_ref().unwrap().top_pid, Some(88));
        assert_eq!(v.candidates_ahead_of_hog, Some(1));
    }

    #[test]
    fn a_kill_of_the_bystander_is_a_wrong_victim() {
        let console =
            CONSOLE_61.replace("Killed process 89 (usemem)", "Killed process 88 (usemem)");
        let v = judge_logs(&console, EVENTS_61, EndReason::Finished);
        assert_eq!(v.kills[0].role, "bystander");
        assert_eq!(v.wrong_victim_kills, 1);
    }

    #[test]
    fn a_kill_of_a_process_the_agent_did_not_start_is_unknown_and_wrong() {
        let console =
            CONSOLE_61.replace("Killed process 89 (usemem)", "Killed process 4242 (usemem)");
        let v = judge_logs(&console, EVENTS_61, EndReason::Finished);
        assert_eq!(v.kills[0].role, "unknown");
        assert_eq!(v.wrong_victim_kills, 1);
    }

    #[test]
    fn no_responsive_heartbeat_after_the_kill_is_not_recovery() {
        let events: String = EVENTS_61
            .lines()
            .filter(|l| {
                // Drop every heartbeat after the hog's exit (agent time 4.5 s on).
                !(l.contains("\"heartbeat\"") && A::from_line(l).is_some_and(|e| e.t_ms() > 4_500))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let v = judge_logs(CONSOLE_61, &events, EndReason::Finished);
        assert_eq!(v.outcome, Outcome::Timeout, "{}", v.reason);
        assert_eq!(v.time_to_recovery_ms, None);
    }

    #[test]
    fn the_harness_limit_without_done_is_a_timeout() {
        let v = judge_logs(
            CONSOLE_61,
            &without_events(EVENTS_61, "done"),
            EndReason::Timeout,
        );
        assert_eq!(v.outcome, Outcome::Timeout);
    }

    #[test]
    fn a_livelock_end_is_a_livelock_and_says_what_sysrq_f_did() {
        let v = judge_logs(
            CONSOLE_612,
            &without_events(EVENTS_612, "done"),
            EndReason::Livelock {
                sysrq_f_recovered: Some(false),
            },
        );
        assert_eq!(v.outcome, Outcome::Livelock);
        assert!(v.reason.contains("after sysrq-f"), "{}", v.reason);
    }

    #[test]
    fn silence_after_ready_is_hung() {
        let v = judge_logs(
            CONSOLE_61,
            &without_events(EVENTS_61, "done"),
            EndReason::Silent,
        );
        assert_eq!(v.outcome, Outcome::Hung);
    }

    #[test]
    fn no_kill_is_no_oom() {
        let console: String = CONSOLE_61
            .lines()
            .filter(|l| !l.contains("Killed process"))
            .map(|l| format!("{l}\n"))
            .collect();
        let v = judge_logs(&console, EVENTS_61, EndReason::Finished);
        assert_eq!(v.outcome, Outcome::NoOom, "{}", v.reason);
        assert_eq!(v.time_to_first_kill_ms, None);
        assert_eq!(v.time_to_recovery_ms, None);
    }

    #[test]
    fn a_panic_after_ready_is_panic() {
        let console = format!("{CONSOLE_61}[    9.000000] Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled\n");
        let v = judge_logs(
            &console,
            &without_events(EVENTS_61, "done"),
            EndReason::QemuExited("exit status: 0".into()),
        );
        assert_eq!(v.outcome, Outcome::Panic, "{}", v.reason);
        assert!(v.reason.contains("panic_on_oom"), "{}", v.reason);
    }

    #[test]
    fn a_real_boot_oops_on_6_12_is_a_boot_failure_that_names_the_panic() {
        let v = judge_logs(
            CONSOLE_OOPS,
            "",
            EndReason::QemuExited("exit status: 0".into()),
        );
        assert_eq!(v.outcome, Outcome::BootFailure);
        assert!(v.reason.contains("panic during boot"), "{}", v.reason);
        assert!(
            v.reason.contains("Fatal exception in interrupt"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn a_setting_that_did_not_take_is_an_error_not_a_kernel_result() {
        let events = EVENTS_61.replace(
            r#""actual":"7\t4\t1\t7","ok":true"#,
            r#""actual":"4\t4\t1\t7","ok":false"#,
        );
        assert_ne!(events, EVENTS_61, "fixture changed: update the replacement");
        let v = judge_logs(CONSOLE_61, &events, EndReason::Finished);
        assert_eq!(v.outcome, Outcome::Error);
        assert!(v.reason.contains("kernel.printk"), "{}", v.reason);
    }

    #[test]
    fn a_failed_setup_check_is_an_error_naming_it() {
        let check = r#"{"event":"check","t_ms":2800,"name":"cgroup oomlab-hog memory.max","ok":false,"detail":"asked 30%, read back max"}"#;
        let events = EVENTS_61.replacen(
            r#"{"event":"pressure_start""#,
            &format!("{check}\n{{\"event\":\"pressure_start\""),
            1,
        );
        assert_ne!(events, EVENTS_61);
        let v = judge_logs(CONSOLE_61, &events, EndReason::Finished);
        assert_eq!(v.outcome, Outcome::Error);
        assert!(
            v.reason.contains("cgroup oomlab-hog memory.max"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn qemu_that_cannot_start_is_an_error() {
        let v = judge_logs("", "", EndReason::SpawnFailed("cannot start qemu".into()));
        assert_eq!(v.outcome, Outcome::Error);
    }
}
