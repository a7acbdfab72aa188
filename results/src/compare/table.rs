//! The comparison as tables: aligned plain text for a terminal, or Markdown.

use super::bootstrap::DiffCi;
use super::{Cell, Rate, Report, Spread, Verdict};
use std::fmt::Write;

pub(crate) const HEADER: [&str; 12] = [
    "kernel",
    "runs",
    "outcomes",
    "precondition",
    "bad",
    "livelock",
    "wrong victim",
    "ttr ms median [IQR]",
    "ttr diff ms [95% CI]",
    "ttfk ms median [IQR]",
    "ttfk diff ms [95% CI]",
    "verdict",
];

fn rate(r: &Rate) -> String {
    match r.ci95 {
        Some((lo, hi)) => format!("{}/{} ({:.0}-{:.0}%)", r.k, r.n, lo * 100.0, hi * 100.0),
        None => "-".to_string(),
    }
}

fn spread(s: &Option<Spread>) -> String {
    s.map_or_else(
        || "-".to_string(),
        |s| format!("{:.0} [{:.0}-{:.0}]", s.median, s.q1, s.q3),
    )
}

fn diff(d: &Option<DiffCi>) -> String {
    d.map_or_else(
        || "-".to_string(),
        |d| format!("{:+.0} [{:+.0} to {:+.0}]", d.estimate, d.lo, d.hi),
    )
}

pub(crate) fn row(c: &Cell) -> [String; 12] {
    let outcomes: Vec<String> = c.outcomes.iter().map(|(o, n)| format!("{o} {n}")).collect();
    [
        c.kernel.to_string(),
        c.runs.to_string(),
        outcomes.join(", "),
        rate(&c.precondition),
        rate(&c.bad),
        rate(&c.livelock),
        rate(&c.wrong_victim),
        spread(&c.ttr_ms),
        diff(&c.ttr_diff_ms),
        spread(&c.ttfk_ms),
        diff(&c.ttfk_diff_ms),
        c.verdict.to_string(),
    ]
}

/// A cell's numbers on one line, for the diagnostics of KTAP and JUnit.
pub fn summary(c: &Cell) -> String {
    let [_, runs, outcomes, pre, bad, livelock, wrong, ttr, ttr_diff, ttfk, ttfk_diff, _] = row(c);
    format!(
        "runs {runs} ({outcomes}); precondition {pre}; bad {bad}; livelock {livelock}; wrong victim {wrong}; \
         ttr ms {ttr}, diff {ttr_diff}; ttfk ms {ttfk}, diff {ttfk_diff}"
    )
}

/// What the verdicts were judged with, for the top of every format.
pub fn preamble(r: &Report) -> String {
    format!(
        "baseline {}; a verdict needs {} comparable runs on each side; precondition = \
         runs whose evidence shows the scenario reached its situation, of those judged; \
         bad = livelock, \
         unrecovered, hung, panic, timeout; error and boot_failure runs are not compared; \
         time-to-recovery margin {} ms; {} bootstrap resamples; a time difference counts \
         when its 95% interval clears the margin and its Holm-adjusted p (over the {} \
         time comparisons in this report) is below 0.05; rates differ when their 95% \
         Wilson intervals do not overlap",
        r.baseline, r.min_runs, r.ttr_margin_ms, r.resamples, r.comparisons
    )
}

/// One line: how many cells got each verdict.
pub fn tally(r: &Report) -> String {
    let parts: Vec<String> = [
        Verdict::Worse,
        Verdict::Better,
        Verdict::NoSignificantDifference,
        Verdict::NotEnoughRuns,
    ]
    .iter()
    .map(|v| format!("{v} {}", r.count(*v)))
    .collect();
    format!("verdicts: {}", parts.join(", "))
}

fn reasons(c: &Cell) -> impl Iterator<Item = String> + '_ {
    c.reasons
        .iter()
        .map(move |why| format!("{}: {}: {why}", c.kernel, c.verdict))
}

pub fn terminal(r: &Report) -> String {
    let mut out = format!("oomlab compare: {}\n", preamble(r));
    for config in &r.configurations {
        let rows: Vec<[String; 12]> = config.cells.iter().map(row).collect();
        let mut widths: Vec<usize> = HEADER.iter().map(|h| h.len()).collect();
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let mut line = |cells: Vec<&str>| {
            let parts: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            let _ = writeln!(out, "{}", parts.join("  ").trim_end());
        };
        // Blank line, then the configuration's name above its table.
        line(vec![]);
        line(vec![config.label.as_str()]);
        line(HEADER.to_vec());
        for row in &rows {
            line(row.iter().map(String::as_str).collect());
        }
        for why in config.cells.iter().flat_map(reasons) {
            let _ = writeln!(out, "  {why}");
        }
    }
    let _ = writeln!(out, "{}", tally(r));
    out
}

/// Markdown cells cannot hold a bare `|` or a line break.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(r: &Report) -> String {
    let mut out = format!("# oomlab compare\n\n{}.\n", md(&preamble(r)));
    for config in &r.configurations {
        let _ = writeln!(out, "\n## {}\n", md(&config.label));
        let _ = writeln!(out, "| {} |", HEADER.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(HEADER.len()));
        for c in &config.cells {
            let cells: Vec<String> = row(c).iter().map(|s| md(s)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        let reasons: Vec<String> = config.cells.iter().flat_map(reasons).collect();
        if !reasons.is_empty() {
            out.push('\n');
        }
        for why in reasons {
            let _ = writeln!(out, "- {}", md(&why));
        }
    }
    let _ = writeln!(out, "\n{}.", tally(r));
    out
}
