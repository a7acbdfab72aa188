//! `oomlab compare`: read recorded runs, compare kernels, write the report.

use crate::cli::{CompareArgs, ReportFormat};
use crate::error::{exit, CliError};
use oomlab_results::compare::{self, html, junit, kcidb, ktap, load, table, Options, Verdict};

pub fn run(a: &CompareArgs) -> Result<u8, CliError> {
    let usage = |e: compare::CompareError| CliError::Usage(e.to_string());
    let loaded = load::load_with_dirs(&a.results).map_err(usage)?;
    let opts = Options {
        baseline: a.baseline.clone(),
        min_runs: usize::try_from(a.min_runs).unwrap_or(usize::MAX),
        ttr_margin_ms: a.ttr_margin_ms,
        ..Options::default()
    };
    let mut report = compare::compare(&loaded.records, &opts).map_err(usage)?;
    if a.rerun_failures > 0 {
        let progress = crate::progress::Progress::new();
        let reruns = crate::rerun::rerun(&loaded, &report, a.rerun_failures, a.jobs, &progress)?;
        if !reruns.is_empty() {
            let loaded = load::load_with_dirs(&a.results).map_err(usage)?;
            report = compare::compare(&loaded.records, &opts).map_err(usage)?;
            note_reruns(&mut report, &reruns, a.rerun_failures);
        }
    }
    let text = match a.format {
        ReportFormat::Terminal => table::terminal(&report),
        ReportFormat::Markdown => table::markdown(&report),
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report)
                .map_err(|e| CliError::Internal(format!("cannot encode the report: {e}")))?;
            s.push('\n');
            s
        }
        ReportFormat::Ktap => ktap::ktap(&report),
        ReportFormat::Junit => junit::junit(&report),
        ReportFormat::Html => html::html(&report, &loaded),
        ReportFormat::Kcidb => kcidb::kcidb(&report, &loaded.records),
    };
    match &a.out {
        Some(path) => oomlab_results::store::write_atomically(path, text.as_bytes())
            .map_err(|e| CliError::Usage(format!("{e}; choose a writable --out")))?,
        None => print!("{text}"),
    }
    let regressed = report.count(Verdict::Worse) > 0;
    Ok(if a.fail_on_regression && regressed {
        exit::REGRESSION
    } else {
        exit::OK
    })
}

/// Say in each rerun cell's reasons that it was rerun, with its outcomes as rates.
fn note_reruns(report: &mut compare::Report, reruns: &[crate::rerun::Rerun], n: u32) {
    for config in &mut report.configurations {
        let Some(rerun) = reruns.iter().find(|r| r.config == config.config) else {
            continue;
        };
        for cell in &mut config.cells {
            if !rerun.kernels.contains(&cell.kernel) {
                continue;
            }
            let rates: Vec<String> = cell
                .outcomes
                .iter()
                .map(|(o, k)| format!("{o} in {k}/{}", cell.runs))
                .collect();
            cell.reasons.push(format!(
                "rerun with --rerun-failures {n} ({} runs added here and beside it): {}",
                rerun.added,
                rates.join(", ")
            ));
        }
    }
}
