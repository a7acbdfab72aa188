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
