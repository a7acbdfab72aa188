//! The run's numbers beyond kills and recovery: kill pace and yield, probe latency,
//! memory pressure, the kernel's ranking of the hog, and whether kills went on to the end.

use super::Observation;
use oomlab_klog::Event as K;
use oomlab_results::record::{
    KillStats, LatencySummary, Percentiles2, ProcessRecord, PsiSummary, RefaultSummary,
};
use oomlab_results::stats::percentile;
use oomlab_workloads::event::Event as A;
use std::collections::HashMap;

/// Pace and yield of the kills, from the kernel's own lines (printk clock: only
/// differences are taken, so the clock offset does not matter).
pub(super) fn kill_stats(kernel: &[K]) -> KillStats {
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
pub(super) fn latency_summary(v: Vec<u64>) -> Option<LatencySummary> {
    let p = |q| percentile(&v, q);
    Some(LatencySummary {
        n: v.len() as u64,
        p50: p(0.50)?,
        p90: p(0.90)?,
        p99: p(0.99)?,
        max: p(1.0)?,
    })
}

/// The first sample at or after pressure start and the last one, each with what `pick`
/// takes from it (samples it gives nothing for are skipped), if time passed between them.
fn pressure_span<T: Copy>(
    agent: &[A],
    pressure_start: Option<i64>,
    pick: impl Fn(&A) -> Option<T>,
) -> Option<(u64, T, T)> {
    let ps = pressure_start?;
    let mut taken = agent.iter().filter_map(|e| match e {
        A::Sample { t_ms, .. } if *t_ms as i64 >= ps => Some((*t_ms, pick(e)?)),
        _ => None,
    });
    let first = taken.next()?;
    let last = taken.last()?;
    let span_ms = last.0.checked_sub(first.0).filter(|d| *d > 0)?;
    Some((span_ms, first.1, last.1))
}

/// The guest's MemTotal, as the agent reported it when ready.
fn mem_total_kb(agent: &[A]) -> Option<u64> {
    agent.iter().find_map(|e| match e {
        A::Ready { mem_total_kb, .. } => Some(*mem_total_kb),
        _ => None,
    })
}

/// Share of the pressure phase spent stalled on memory, from the first sample at or
/// after pressure start to the last sample, using PSI's cumulative `total=` counters.
pub(super) fn psi_over_pressure(agent: &[A], pressure_start: Option<i64>) -> Option<PsiSummary> {
    let (span_ms, first, last) = pressure_span(agent, pressure_start, |e| match e {
        A::Sample {
            psi_some_total_us: Some(some),
            psi_full_total_us: Some(full),
            ..
        } => Some((*some, *full)),
        _ => None,
    })?;
    let span_us = span_ms * 1_000;
    let pct = |a: u64, b: u64| (b.saturating_sub(a) as f64 * 100.0 / span_us as f64).min(100.0);
    Some(PsiSummary {
        some_pct: pct(first.0, last.0),
        full_pct: pct(first.1, last.1),
    })
}

/// Page-cache refaults and disk reads from the first sample at or after pressure start
/// to the last.
pub(super) fn refaults_over_pressure(
    agent: &[A],
    pressure_start: Option<i64>,
) -> Option<RefaultSummary> {
    let (span_ms, first, last) = pressure_span(agent, pressure_start, |e| match e {
        A::Sample {
            refault_file: Some(r),
            pgmajfault,
            pgpgin_kb,
            ..
        } => Some((*r, *pgmajfault, *pgpgin_kb)),
        _ => None,
    })?;
    let file_pages = last.0.saturating_sub(first.0);
    let ram_kb = mem_total_kb(agent).filter(|m| *m > 0);
    let of_ram = |kb: u64| ram_kb.map(|m| kb as f64 / m as f64);
    Some(RefaultSummary {
        file_pages,
        per_s: file_pages as f64 * 1000.0 / span_ms as f64,
        ram_multiple: of_ram(file_pages * 4),
        majfaults: first.1.zip(last.1).map(|(a, b)| b.saturating_sub(a)),
        disk_read_ram_multiple: first
            .2
            .zip(last.2)
            .and_then(|(a, b)| of_ram(b.saturating_sub(a))),
    })
}

/// In the last task dump that lists a hog: how many candidates the kernel's badness
/// ranks above it. totalpages is what the kernel's last checked report used, else the
/// guest's MemTotal in pages (equal to it on the Debian kernels measured).
pub(super) fn candidates_ahead_of_hog(
    obs: &Observation,
    processes: &[ProcessRecord],
    checks: &HashMap<u32, &oomlab_klog::HeuristicCheck>,
) -> Option<u64> {
    let hogs: Vec<u32> = processes
        .iter()
        .filter(|p| p.role == "hog")
        .map(|p| p.pid)
        .collect();
    let totalpages = checks
        .values()
        .find_map(|c| c.totalpages)
        .or_else(|| mem_total_kb(&obs.agent).map(|kb| kb / 4))?;
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
/// pressure phase (the agent stopping leftovers or its `done`, else its last event).
pub(super) fn kills_continued_to_the_end(
    obs: &Observation,
    pressure_end: Option<i64>,
    last_kill: Option<i64>,
    s: &KillStats,
) -> bool {
    let Some(last_kill) = last_kill else {
        return false;
    };
    let Some(end) = pressure_end.or_else(|| obs.agent.last().map(|e| e.t_ms() as i64)) else {
        return false;
    };
    let window = s
        .kill_interval_ms
        .as_ref()
        .map_or(0, |i| 3 * i.p50)
        .max(10_000) as i64;
    end - last_kill <= window && s.kill_interval_ms.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_ms: u64, refault_file: Option<u64>, pgmajfault: u64) -> A {
        read_sample(t_ms, refault_file, pgmajfault, None)
    }

    fn read_sample(
        t_ms: u64,
        refault_file: Option<u64>,
        pgmajfault: u64,
        pgpgin_kb: Option<u64>,
    ) -> A {
        A::Sample {
            t_ms,
            mem_available_kb: None,
            mem_free_kb: None,
            oom_kill: None,
            pgmajfault: Some(pgmajfault),
            psi_some_avg10: None,
            psi_full_avg10: None,
            psi_some_total_us: None,
            psi_full_total_us: None,
            refault_file,
            pgpgin_kb,
        }
    }

    #[test]
    fn refaults_count_from_pressure_start_against_the_ram() {
        let agent = vec![
            A::Ready {
                t_ms: 0,
                release: "6.12".into(),
                mem_total_kb: 262_144,
                cpus: 2,
                agent_version: "0".into(),
            },
            // Before pressure: not counted.
            sample(900, Some(10), 5),
            sample(1000, Some(100), 7),
            sample(3000, Some(40_100), 507),
            sample(5000, Some(131_172), 1007),
        ];
        let r = refaults_over_pressure(&agent, Some(1000)).unwrap();
        assert_eq!(r.file_pages, 131_072);
        assert_eq!(r.per_s, 131_072.0 / 4.0);
        // 131072 pages of 4 KiB = 512 MiB over 256 MiB of RAM.
        assert_eq!(r.ram_multiple, Some(2.0));
        assert_eq!(r.majfaults, Some(1000));
        // No disk read counts (an older agent): no multiple, rather than zero.
        assert_eq!(r.disk_read_ram_multiple, None);
        // An older agent sends no refault counts: nothing to summarise.
        let old = vec![sample(1000, None, 1), sample(2000, None, 2)];
        assert_eq!(refaults_over_pressure(&old, Some(0)), None);
    }

    #[test]
    fn disk_reads_count_from_pressure_start_against_the_ram() {
        let agent = vec![
            A::Ready {
                t_ms: 0,
                release: "6.1".into(),
                mem_total_kb: 262_144,
                cpus: 2,
                agent_version: "0".into(),
            },
            read_sample(500, Some(0), 0, Some(1_000_000)),
            read_sample(1000, Some(0), 0, Some(2_000)),
            read_sample(9000, Some(30), 0, Some(2_000 + 655_360)),
        ];
        let r = refaults_over_pressure(&agent, Some(1000)).unwrap();
        // 640 MiB read during pressure over 256 MiB of RAM, while the refault counter
        // barely moved (as on 6.1 with MGLRU on).
        assert_eq!(r.disk_read_ram_multiple, Some(2.5));
        assert_eq!(r.file_pages, 30);
    }
}
