//! The terminal summary: one row per run, then the outcome counts.

use crate::record::{Outcome, RunRecord};
use std::fmt::Write;

fn ms(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v}"))
}

/// A plain-text table, aligned, for the end of `oomlab run`.
pub fn table(records: &[RunRecord]) -> String {
    let header = [
        "run",
        "kernel",
        "accel",
        "outcome",
        "kills",
        "wrong",
        "ttfk_ms",
        "ttr_ms",
        "max_gap_ms",
        "boot_ms",
        "wall_ms",
    ];
    let rows: Vec<[String; 11]> = records
        .iter()
        .map(|r| {
            [
                r.run_id.clone(),
                r.kernel.release.clone(),
                r.accel.used.clone(),
                r.outcome.to_string(),
                r.kills.len().to_string(),
                r.wrong_victim_kills.to_string(),
                ms(r.time_to_first_kill_ms),
                ms(r.time_to_recovery_ms),
                ms(r.max_heartbeat_gap_ms),
                ms(r.boot_ms),
                r.wall_ms.to_string(),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let parts: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut header.iter().copied());
    for row in &rows {
        line(&mut row.iter().map(String::as_str));
    }
    for r in records.iter().filter(|r| r.outcome != Outcome::Recovered) {
        let _ = writeln!(out, "{}: {} ({})", r.run_id, r.outcome, r.outcome_reason);
    }
    for r in records {
        if let Some(line) = kill_pace(r) {
            let _ = writeln!(out, "{}: {line}", r.run_id);
        }
        let stuck = r.victims_never_exited();
        if !stuck.is_empty() {
            let names: Vec<String> = stuck
                .iter()
                .map(|p| format!("{} ({}, pid {})", p.name, p.role, p.pid))
                .collect();
            let _ = writeln!(
                out,
                "{}: killed but never exited by the end of the run: {}",
                r.run_id,
                names.join(", ")
            );
        }
        if let Some(line) = console_cost(r) {
            let _ = writeln!(out, "{}: {line}", r.run_id);
        }
        if let Some(c) = &r.core_dump {
            let line = match (c.expected_bytes, c.truncated) {
                (Some(m), Some(t)) => format!(
                    "core dump: {} of {m} bytes written ({})",
                    c.written_bytes,
                    if t { "truncated" } else { "complete" }
                ),
                _ => format!("core dump: {} bytes, not an ELF core", c.written_bytes),
            };
            let _ = writeln!(out, "{}: {line}", r.run_id);
        }
        if let Some(c) = &r.data_check {
            let line = match &c.error {
                Some(e) => format!("data check could not run: {e}"),
                None => format!(
                    "data check: {} files, {} acknowledged records, {} lost, {} corrupt, {} torn tails{}",
                    c.files,
                    c.acked,
                    c.lost_acked,
                    c.corrupt_records,
                    c.torn_tail_records,
                    if c.data_lost() { ": DATA LOSS" } else { "" }
                ),
            };
            let _ = writeln!(out, "{}: {line}", r.run_id);
        }
    }
    out.push_str(&distributions(records));
    let counts: Vec<String> = Outcome::ALL
        .iter()
        .filter_map(|o| {
            let n = records.iter().filter(|r| r.outcome == *o).count();
            (n > 0).then(|| format!("{o} {n}"))
        })
        .collect();
    let _ = writeln!(out, "outcomes: {}", counts.join(", "));
    out
}

/// For each group of repetitions (same scenario, kernel and settings) with more than one
/// run: the count of each outcome with its 95% Wilson interval. One run is an anecdote.
/// Groups are named by the settings that differ between the records shown.
fn distributions(records: &[RunRecord]) -> String {
    // Settings and scenario parameters alike: whatever differs between runs names them.
    let knobs = |r: &RunRecord| -> std::collections::BTreeMap<String, String> {
        let mut all = r.settings.clone();
        all.extend(
            r.scenario_params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        all
    };
    let all_keys: std::collections::BTreeSet<String> =
        records.iter().flat_map(|r| knobs(r).into_keys()).collect();
    let varying: Vec<String> = all_keys
        .into_iter()
        .filter(|k| {
            let first = records.first().and_then(|r| knobs(r).get(k).cloned());
            records.iter().any(|r| knobs(r).get(k).cloned() != first)
        })
        .collect();
    let mut groups: Vec<(String, Vec<&RunRecord>)> = Vec::new();
    for r in records {
        let key = format!(
            "{} on {}{}",
            r.scenario,
            r.kernel.release,
            varying
                .iter()
                .map(|k| format!(" {k}={}", knobs(r).get(k).map_or("-", String::as_str)))
                .collect::<String>()
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    let mut out = String::new();
    for (key, g) in groups.iter().filter(|(_, g)| g.len() > 1) {
        let n = g.len() as u64;
        let parts: Vec<String> = Outcome::ALL
            .iter()
            .filter_map(|o| {
                let k = g.iter().filter(|r| r.outcome == *o).count() as u64;
                let (lo, hi) = crate::stats::wilson_95(k, n)?;
                (k > 0)
                    .then(|| format!("{o} {k}/{n} (95% CI {:.0}-{:.0}%)", lo * 100.0, hi * 100.0))
            })
            .collect();
        let _ = writeln!(out, "{key}: {}", parts.join(", "));
        let spread = metric_spread(g);
        if !spread.is_empty() {
            let _ = writeln!(out, "{key}: {spread}");
        }
    }
    out
}

/// Median and range of each metric over a group's runs (those that have it), so the
/// spread is seen, not only the outcome.
/// A metric's name and how to read it off a record.
type Metric = (&'static str, fn(&RunRecord) -> Option<u64>);

fn metric_spread(g: &[&RunRecord]) -> String {
    let metrics: [Metric; 5] = [
        ("kills", |r| Some(r.kills.len() as u64)),
        ("ttfk_ms", |r| r.time_to_first_kill_ms),
        ("ttr_ms", |r| r.time_to_recovery_ms),
        ("stall_ms", |r| r.stall_ms),
        ("max_gap_ms", |r| r.max_heartbeat_gap_ms),
    ];
    metrics
        .iter()
        .filter_map(|(name, get)| {
            let values: Vec<u64> = g.iter().filter_map(|r| get(r)).collect();
            let median = crate::stats::percentile(&values, 0.5)?;
            let (lo, hi) = (values.iter().min()?, values.iter().max()?);
            Some(format!("{name} {median} [{lo}-{hi}, n={}]", values.len()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// For a run with kills: what the console printed around them and how much of the OOM
/// window went into the reports.
fn console_cost(r: &RunRecord) -> Option<String> {
    let c = r.console.as_ref()?;
    let bytes = c.oom_window_bytes?;
    let mut line = format!(
        "console {} at loglevel {}: {:.1} KB printed in the OOM window",
        c.device,
        c.loglevel,
        bytes as f64 / 1024.0
    );
    if let Some(per_kill) = c.bytes_per_kill {
        let _ = write!(line, ", {:.1} KB per kill", per_kill as f64 / 1024.0);
    }
    if let Some((ms, share)) = c.in_reports_ms.zip(c.report_share) {
        let _ = write!(
            line,
            ", {ms} ms inside OOM reports ({:.0}% of the window)",
            share * 100.0
        );
    }
    if c.kernel_log_source == "kmsg" {
        line.push_str(" (kernel log forwarded from /dev/kmsg");
        if let Some(lost) = c.kmsg_lost_records.filter(|n| *n > 0) {
            let _ = write!(line, ", {lost} records lost");
        }
        line.push(')');
    }
    Some(line)
}

/// For a run with a stream of kills: their pace, what each freed, and how far the hog
/// was, so a slow-motion OOM reads off the summary without opening the logs.
fn kill_pace(r: &RunRecord) -> Option<String> {
    let interval = r.kill_stats.kill_interval_ms.as_ref()?;
    let mut line = format!("one kill every {:.1} s", interval.p50 as f64 / 1000.0);
    if let Some(kb) = r.kill_stats.freed_per_kill_kb {
        let _ = write!(line, ", {:.1} MB freed per kill", kb as f64 / 1024.0);
    }
    if let Some(reap) = r.kill_stats.kill_to_reap_ms {
        let _ = write!(
            line,
            ", reaped {:.1} s after the kill",
            reap as f64 / 1000.0
        );
    }
    if r.kills.iter().any(|k| k.role == "hog") {
        line.push_str(", the hog was among them");
    } else if let Some(n) = r.candidates_ahead_of_hog {
        let _ = write!(line, ", {n} candidates ahead of the hog");
        if let Some(ms) = r.projected_ms_to_hog {
            let _ = write!(line, ": about {:.0} min to reach it", ms as f64 / 60_000.0);
        }
    }
    Some(line)
}
