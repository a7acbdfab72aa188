//! The comparison as KTAP (the kernel's Documentation/dev-tools/ktap.rst, version 1), so
//! kernel CI that already reads kselftest and KUnit output can read it too.
//!
//! One test per configuration, with one subtest per kernel: `not ok` when the kernel is
//! worse than the baseline, `ok ... # SKIP` for the baseline itself and for cells with
//! too few runs. A configuration is `not ok` when any of its kernels is.

use super::table::{preamble, summary, tally};
use super::{Report, Verdict};
use std::fmt::Write;

/// A test description may hold neither `#` (it starts the directive) nor a line break.
fn description(s: &str) -> String {
    s.replace('#', "no.").replace(['\n', '\r'], " ")
}

fn diagnostic(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "{indent}# {line}");
    }
}

pub fn ktap(r: &Report) -> String {
    let mut out = String::from("KTAP version 1\n");
    diagnostic(&mut out, "", &format!("oomlab compare: {}", preamble(r)));
    let _ = writeln!(out, "1..{}", r.configurations.len());
    for (i, config) in r.configurations.iter().enumerate() {
        let name = description(&config.label);
        out.push_str("  KTAP version 1\n");
        let _ = writeln!(out, "  # Subtest: {name}");
        let _ = writeln!(out, "  1..{}", config.cells.len());
        for (j, cell) in config.cells.iter().enumerate() {
            diagnostic(&mut out, "  ", &summary(cell));
            for why in &cell.reasons {
                diagnostic(&mut out, "  ", &format!("{}: {why}", cell.verdict));
            }
            let (result, directive) = match cell.verdict {
                Verdict::Worse => ("not ok", String::new()),
                Verdict::Baseline | Verdict::NotEnoughRuns => {
                    ("ok", format!(" # SKIP {}", cell.verdict))
                }
                Verdict::Better | Verdict::NoSignificantDifference => {
                    ("ok", format!(" # {}", cell.verdict))
                }
            };
            let kernel = description(&cell.kernel.to_string());
            let _ = writeln!(out, "  {result} {} {kernel}{directive}", j + 1);
        }
        let failed = config.cells.iter().any(|c| c.verdict == Verdict::Worse);
        let result = if failed { "not ok" } else { "ok" };
        let _ = writeln!(out, "{result} {} {name}", i + 1);
    }
    diagnostic(&mut out, "", &tally(r));
    out
}
