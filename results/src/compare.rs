//! Comparing kernels: for each configuration, every kernel's runs against a baseline
//! kernel's, with a plain verdict per cell. The rule is documented in docs/compare.md.

pub mod bootstrap;
pub mod group;
pub mod html;
pub mod junit;
pub mod kcidb;
pub mod ktap;
pub mod load;
pub mod svg;
pub mod table;

use crate::record::{Outcome, RunRecord};
use crate::stats::{quantile_sorted, wilson_95};
use bootstrap::DiffCi;
use group::{Configuration, KernelId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Outcomes that are the kernel failing the scenario. `recovered` and `no_oom` are fine;
/// `error` and `boot_failure` say more about the setup than about OOM handling, so they
/// are left out of every rate and only counted.
pub const BAD: [Outcome; 5] = [
    Outcome::Livelock,
    Outcome::Unrecovered,
    Outcome::Hung,
    Outcome::Panic,
    Outcome::Timeout,
];

fn excluded(o: Outcome) -> bool {
    matches!(o, Outcome::Error | Outcome::BootFailure)
}

fn comparable<'a>(runs: &[&'a RunRecord]) -> Vec<&'a RunRecord> {
    runs.iter()
        .copied()
        .filter(|r| !excluded(r.outcome))
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line}: not an oomlab run record: {reason}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{0} holds no run records")]
    Empty(PathBuf),
    #[error("run {run_id} is in {first} and again in {second}; pass each result once")]
    Duplicate {
        run_id: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("no kernel matches --baseline {name}; the records have: {present}")]
    UnknownBaseline { name: String, present: String },
    #[error("--baseline {name} matches more than one kernel in {config} ({matches}); name a release instead")]
    AmbiguousBaseline {
        name: String,
        config: String,
        matches: String,
    },
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Kernel spec or release; `None`: the kernel of the first record.
    pub baseline: Option<String>,
    /// Fewer comparable runs than this on either side: `not enough runs`.
    pub min_runs: usize,
    /// The time-to-recovery difference interval must clear this many ms to count.
    pub ttr_margin_ms: u64,
    pub resamples: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            baseline: None,
            min_runs: 5,
            ttr_margin_ms: 0,
            resamples: bootstrap::RESAMPLES,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Baseline,
    Better,
    Worse,
    NoSignificantDifference,
    NotEnoughRuns,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Baseline => "baseline",
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::NoSignificantDifference => "no significant difference",
            Verdict::NotEnoughRuns => "not enough runs",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `k` of `n` comparable runs, with the 95% Wilson interval (absent for n = 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub k: u64,
    pub n: u64,
    pub ci95: Option<(f64, f64)>,
}

impl Rate {
    fn of(k: usize, n: usize) -> Rate {
        let (k, n) = (k as u64, n as u64);
        Rate {
            k,
            n,
            ci95: wilson_95(k, n),
        }
    }

    /// Higher than `other` beyond chance: the intervals do not overlap.
    fn above(&self, other: &Rate) -> bool {
        matches!((self.ci95, other.ci95), (Some((lo, _)), Some((_, hi))) if lo > hi)
    }
}

/// Median and interquartile range (type-7 quartiles) of the runs that have the value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub n: usize,
    pub median: f64,
    pub q1: f64,
    pub q3: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v = values.to_vec();
        v.sort_unstable_by(f64::total_cmp);
        Some(Spread {
            n: v.len(),
            median: quantile_sorted(&v, 0.5)?,
            q1: quantile_sorted(&v, 0.25)?,
            q3: quantile_sorted(&v, 0.75)?,
        })
    }
}

/// One kernel in one configuration, and how it compares with the baseline there.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub kernel: KernelId,
    /// Every run, `error` and `boot_failure` included.
    pub runs: usize,
    /// Runs that count: all but `error` and `boot_failure`.
    pub comparable: usize,
    /// Outcome name to count, the outcomes seen only.
    pub outcomes: BTreeMap<String, usize>,
    /// Runs with a bad outcome (livelock, unrecovered, hung, panic, timeout).
    pub bad: Rate,
    pub livelock: Rate,
    /// Runs with at least one kill of a process that was not the intended victim.
    pub wrong_victim: Rate,
    /// Runs whose evidence shows the scenario reached the situation it names, of those
    /// where it was judged (n = 0: the scenario claims nothing, or no run could tell).
    pub precondition: Rate,
    /// time_to_recovery_ms of the comparable runs that have it.
    pub ttr_ms: Option<Spread>,
    /// time_to_first_kill_ms likewise.
    pub ttfk_ms: Option<Spread>,
    /// This kernel's median minus the baseline's; absent for the baseline itself.
    pub ttr_diff_ms: Option<DiffCi>,
    pub ttfk_diff_ms: Option<DiffCi>,
    /// The time-to-recovery p-value after Holm's adjustment over the report's family of
    /// comparisons (absent where times were not compared).
    pub ttr_p_holm: Option<f64>,
    pub verdict: Verdict,
    /// Why the verdict is what it is, one short sentence each.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigReport {
    pub label: String,
    pub config: Configuration,
    /// Baseline first (when it ran here), then the others in order of appearance.
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// As given, or the first record's kernel spec.
    pub baseline: String,
    pub min_runs: usize,
    pub ttr_margin_ms: u64,
    /// Bootstrap resamples per interval: the asked number, raised for a large family.
    pub resamples: usize,
    /// Time-to-recovery differences judged together (Holm's family).
    pub comparisons: usize,
    pub configurations: Vec<ConfigReport>,
}

impl Report {
    pub fn cells(&self) -> impl Iterator<Item = (&ConfigReport, &Cell)> {
        self.configurations
            .iter()
            .flat_map(|c| c.cells.iter().map(move |cell| (c, cell)))
    }

    pub fn count(&self, verdict: Verdict) -> usize {
        self.cells().filter(|(_, c)| c.verdict == verdict).count()
    }

    /// For `--rerun-failures`: per configuration, the kernels to run again. A kernel
    /// whose comparable runs ended in a set of outcomes other than the baseline's goes
    /// in, and the baseline with it, since either side's odd run may be the fluke.
    pub fn differing(&self) -> Vec<(&ConfigReport, Vec<&KernelId>)> {
        let seen = |c: &Cell| -> Vec<String> {
            c.outcomes
                .keys()
                .filter(|o| {
                    !Outcome::ALL
                        .iter()
                        .any(|x| excluded(*x) && x.as_str() == o.as_str())
                })
                .cloned()
                .collect()
        };
        let mut out = Vec::new();
        for config in &self.configurations {
            let Some(base) = config
                .cells
                .iter()
                .find(|c| c.kernel.is_named(&self.baseline))
            else {
                continue;
            };
            let mut kernels: Vec<&KernelId> = config
                .cells
                .iter()
                .filter(|c| c.verdict != Verdict::Baseline && seen(c) != seen(base))
                .map(|c| &c.kernel)
                .collect();
            if !kernels.is_empty() {
                kernels.insert(0, &base.kernel);
                out.push((config, kernels));
            }
        }
        out
    }
}

/// The comparable runs' values of one metric, as floats for the statistics.
fn values(runs: &[&RunRecord], metric: fn(&RunRecord) -> Option<u64>) -> Vec<f64> {
    runs.iter()
        .filter_map(|r| metric(r))
        .map(|v| v as f64)
        .collect()
}

fn ttr(r: &RunRecord) -> Option<u64> {
    r.time_to_recovery_ms
}

fn ttfk(r: &RunRecord) -> Option<u64> {
    r.time_to_first_kill_ms
}

fn precondition_met(r: &RunRecord) -> Option<bool> {
    r.evidence.as_ref().and_then(|e| e.precondition_met)
}

/// A cell's own numbers, before it is set against the baseline.
fn measure(kernel: &KernelId, all: &[&RunRecord]) -> Cell {
    let runs = comparable(all);
    let n = runs.len();
    let count = |f: &dyn Fn(&RunRecord) -> bool| runs.iter().filter(|r| f(r)).count();
    let mut outcomes = BTreeMap::new();
    for r in all {
        *outcomes.entry(r.outcome.to_string()).or_insert(0) += 1;
    }
    Cell {
        kernel: kernel.clone(),
        runs: all.len(),
        comparable: n,
        outcomes,
        bad: Rate::of(count(&|r| BAD.contains(&r.outcome)), n),
        livelock: Rate::of(count(&|r| r.outcome == Outcome::Livelock), n),
        wrong_victim: Rate::of(count(&|r| r.wrong_victim_kills > 0), n),
        precondition: Rate::of(
            count(&|r| precondition_met(r) == Some(true)),
            count(&|r| precondition_met(r).is_some()),
        ),
        ttr_ms: Spread::of(&values(&runs, ttr)),
        ttfk_ms: Spread::of(&values(&runs, ttfk)),
        ttr_diff_ms: None,
        ttfk_diff_ms: None,
        ttr_p_holm: None,
        verdict: Verdict::Baseline,
        reasons: Vec::new(),
    }
}

fn pct(r: &Rate) -> String {
    match r.ci95 {
        Some((lo, hi)) => format!(
            "{}/{} (95% CI {:.0}-{:.0}%)",
            r.k,
            r.n,
            lo * 100.0,
            hi * 100.0
        ),
        None => format!("{}/{}", r.k, r.n),
    }
}

/// The bootstrap differences of `cell` from the baseline, time to recovery judged
/// against the margin.
fn differences(
    cell: &mut Cell,
    runs: &[&RunRecord],
    base_runs: &[&RunRecord],
    seed_name: &str,
    opts: &Options,
    resamples: usize,
) {
    let (runs, base_runs) = (comparable(runs), comparable(base_runs));
    let diff = |metric: fn(&RunRecord) -> Option<u64>, name: &str, margin: u64| {
        bootstrap::median_diff_ci(
            &values(&base_runs, metric),
            &values(&runs, metric),
            resamples,
            bootstrap::seed_for(&format!("{seed_name}|{name}")),
            margin as f64,
        )
    };
    cell.ttr_diff_ms = diff(ttr, "ttr", opts.ttr_margin_ms);
    cell.ttfk_diff_ms = diff(ttfk, "ttfk", 0);
}

fn enough_runs(cell: &Cell, base: &Cell, opts: &Options) -> bool {
    cell.comparable >= opts.min_runs && base.comparable >= opts.min_runs
}

/// Whether the time-to-recovery difference is one of the family Holm adjusts: both
/// sides have enough runs, and enough of them recovered.
fn times_judged(cell: &Cell, base: &Cell, opts: &Options) -> bool {
    let enough = |s: &Option<Spread>| s.is_some_and(|s| s.n >= opts.min_runs);
    enough_runs(cell, base, opts) && enough(&cell.ttr_ms) && enough(&base.ttr_ms)
}

/// Set `cell` against `base`: the verdict and its reasons.
fn judge(cell: &mut Cell, base: &Cell, opts: &Options, family: usize) {
    if !enough_runs(cell, base, opts) {
        cell.verdict = Verdict::NotEnoughRuns;
        cell.reasons.push(format!(
            "{} comparable runs here, {} on the baseline; {} needed on each",
            cell.comparable, base.comparable, opts.min_runs
        ));
        return;
    }
    let (mut worse, mut better) = (Vec::new(), Vec::new());
    for (name, mine, theirs) in [
        ("bad outcomes", &cell.bad, &base.bad),
        ("livelock", &cell.livelock, &base.livelock),
        ("wrong victim", &cell.wrong_victim, &base.wrong_victim),
    ] {
        let line = || format!("{name} {} vs baseline {}", pct(mine), pct(theirs));
        if mine.above(theirs) {
            worse.push(line());
        } else if theirs.above(mine) {
            better.push(line());
        }
    }
    if let (Some(d), Some(p)) = (cell.ttr_diff_ms, cell.ttr_p_holm) {
        let margin = opts.ttr_margin_ms as f64;
        let line = |word: &str| {
            format!(
                "time to recovery {word}: median {:+.0} ms (95% CI {:+.0} to {:+.0}, margin {margin:.0} ms; Holm-adjusted p {p:.3} over {family} comparisons)",
                d.estimate, d.lo, d.hi
            )
        };
        // The interval must clear the margin, and the difference must stand among all
        // the report's comparisons (Holm), not only in its own cell.
        if d.lo > margin && p < ALPHA {
            worse.push(line("slower"));
        } else if d.hi < -margin && p < ALPHA {
            better.push(line("faster"));
        }
    }
    (cell.verdict, cell.reasons) = if !worse.is_empty() {
        (Verdict::Worse, worse)
    } else if !better.is_empty() {
        (Verdict::Better, better)
    } else {
        (Verdict::NoSignificantDifference, Vec::new())
    };
    // Not a reason for the verdict but a doubt about it: if one side reached the
    // scenario's situation far more often, the two did not run the same experiment.
    let (mine, theirs) = (&cell.precondition, &base.precondition);
    if mine.above(theirs) || theirs.above(mine) {
        cell.reasons.push(format!(
            "caution: the scenario's precondition held in {} here and {} on the baseline, so these runs may not test the same situation",
            pct(mine),
            pct(theirs)
        ));
    }
}

/// The family-wise error rate of the report's better/worse verdicts on time.
const ALPHA: f64 = 0.05;

/// Which kernel is the baseline in each configuration, checked against every record.
fn baseline_name(records: &[RunRecord], opts: &Options) -> Result<String, CompareError> {
    let Some(name) = opts.baseline.clone() else {
        return Ok(records
            .first()
            .map_or_else(String::new, |r| r.kernel.spec.clone()));
    };
    if records.iter().any(|r| KernelId::of(r).is_named(&name)) {
        return Ok(name);
    }
    let mut present: Vec<String> = Vec::new();
    for r in records {
        let k = KernelId::of(r).to_string();
        if !present.contains(&k) {
            present.push(k);
        }
    }
    Err(CompareError::UnknownBaseline {
        name,
        present: present.join(", "),
    })
}

pub fn compare(records: &[RunRecord], opts: &Options) -> Result<Report, CompareError> {
    let baseline = baseline_name(records, opts)?;
    let groups = group::group(records);
    let labels = group::labels(&groups.iter().map(|g| &g.config).collect::<Vec<_>>());
    // Measure every cell first: the family of time comparisons (and so the resamples
    // Holm needs) is known only once all of them are.
    let mut measured = Vec::new();
    for (g, label) in groups.iter().zip(labels) {
        let named: Vec<usize> = (0..g.kernels.len())
            .filter(|&i| g.kernels[i].0.is_named(&baseline))
            .collect();
        if named.len() > 1 {
            return Err(CompareError::AmbiguousBaseline {
                name: baseline,
                config: label,
                matches: named
                    .iter()
                    .map(|&i| g.kernels[i].0.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let base = named.first().copied();
        // Baseline first, then the others in order of appearance.
        let order = base
            .into_iter()
            .chain((0..g.kernels.len()).filter(|i| Some(*i) != base));
        let cells: Vec<(Cell, &[&RunRecord])> = order
            .map(|i| {
                let (k, runs) = &g.kernels[i];
                (measure(k, runs), runs.as_slice())
            })
            .collect();
        measured.push((label, g, base.is_some(), cells));
    }
    let family = measured
        .iter()
        .filter(|(_, _, has_base, _)| *has_base)
        .flat_map(|(_, _, _, cells)| cells[1..].iter().map(move |c| (&c.0, &cells[0].0)))
        .filter(|(c, b)| times_judged(c, b, opts))
        .count();
    // Holm's strictest threshold is ALPHA / family; a bootstrap p is at least
    // 2 / (B + 1). With B = 200 per comparison, a difference no resample contradicts
    // reaches an adjusted p of about 0.01 however large the family.
    let resamples = opts.resamples.max(family * 200);
    for (label, _, has_base, cells) in &mut measured {
        if !*has_base {
            for (cell, _) in cells.iter_mut() {
                cell.verdict = Verdict::NotEnoughRuns;
                cell.reasons
                    .push(format!("the baseline {baseline} has no runs here"));
            }
            continue;
        }
        let (base, rest) = cells.split_first_mut().expect("the baseline is a cell");
        for (cell, runs) in rest {
            let seed = format!("{label}|{}|{}", cell.kernel.spec, cell.kernel.release);
            differences(cell, runs, base.1, &seed, opts, resamples);
        }
    }
    // Holm over every judged time difference in the report.
    let mut judged: Vec<&mut Cell> = Vec::new();
    for (_, _, has_base, cells) in &mut measured {
        if !*has_base {
            continue;
        }
        let (base, rest) = cells.split_first_mut().expect("the baseline is a cell");
        judged.extend(
            rest.iter_mut()
                .map(|(c, _)| c)
                .filter(|c| times_judged(c, &base.0, opts) && c.ttr_diff_ms.is_some()),
        );
    }
    let p: Vec<f64> = judged
        .iter()
        .map(|c| c.ttr_diff_ms.map_or(1.0, |d| d.p))
        .collect();
    for (cell, adjusted) in judged.into_iter().zip(bootstrap::holm(&p)) {
        cell.ttr_p_holm = Some(adjusted);
    }
    let mut configurations = Vec::new();
    for (label, g, has_base, cells) in measured {
        let mut cells: Vec<Cell> = cells.into_iter().map(|(c, _)| c).collect();
        if has_base {
            let (base, rest) = cells.split_first_mut().expect("the baseline is a cell");
            for cell in rest {
                judge(cell, base, opts, family);
            }
        }
        configurations.push(ConfigReport {
            label,
            config: g.config.clone(),
            cells,
        });
    }
    Ok(Report {
        baseline,
        min_runs: opts.min_runs,
        ttr_margin_ms: opts.ttr_margin_ms,
        resamples,
        comparisons: family,
        configurations,
    })
}

/// Records for tests: one real record (a recovered usemem run on Debian 6.1) varied.
#[cfg(test)]
pub(crate) mod testdata {
    use crate::record::{Outcome, RunRecord};

    const REAL: &str = include_str!("../tests/fixtures/compare/record.json");

    pub fn run(kernel: &str, outcome: Outcome, ttr: Option<u64>) -> RunRecord {
        let mut r: RunRecord = serde_json::from_str(REAL).expect("fixture parses");
        r.kernel.spec = kernel.to_string();
        r.kernel.release = format!("{kernel}-release");
        r.outcome = outcome;
        r.time_to_recovery_ms = ttr;
        r.time_to_first_kill_ms = ttr.map(|t| t / 2);
        r
    }

    /// `n` recovered runs with recovery times start, start + step, ...
    pub fn recovered(kernel: &str, n: u64, start: u64, step: u64) -> Vec<RunRecord> {
        (0..n)
            .map(|i| run(kernel, Outcome::Recovered, Some(start + i * step)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::{recovered, run};
    use super::*;

    fn verdicts(records: &[RunRecord], opts: &Options) -> Vec<(String, Verdict)> {
        compare(records, opts).unwrap().configurations[0]
            .cells
            .iter()
            .map(|c| (c.kernel.spec.clone(), c.verdict))
            .collect()
    }

    fn cell<'a>(report: &'a Report, spec: &str) -> &'a Cell {
        report
            .cells()
            .map(|(_, c)| c)
            .find(|c| c.kernel.spec == spec)
            .unwrap()
    }

    #[test]
    fn rates_medians_and_iqr_match_hand_computed_values() {
        let mut records = recovered("a", 5, 1000, 100);
        records.push(run("b", Outcome::Livelock, None));
        records.push(run("b", Outcome::Livelock, None));
        records.extend(recovered("b", 4, 1000, 200));
        records.push(run("b", Outcome::Error, None));
        records[7].wrong_victim_kills = 1;
        let report = compare(&records, &Options::default()).unwrap();
        let b = cell(&report, "b");
        assert_eq!((b.runs, b.comparable), (7, 6));
        assert_eq!(b.outcomes["livelock"], 2);
        assert_eq!(b.outcomes["error"], 1);
        // 2/6: Wilson 0.0968..0.7000 (stats.rs checks the same pair by hand).
        assert_eq!((b.bad.k, b.bad.n, b.livelock.k), (2, 6, 2));
        let (lo, hi) = b.bad.ci95.unwrap();
        assert!((lo - 0.0968).abs() < 5e-4 && (hi - 0.7000).abs() < 5e-4);
        assert_eq!((b.wrong_victim.k, b.wrong_victim.n), (1, 6));
        // 1000, 1200, 1400, 1600: median 1300; type-7 quartiles at h = 0.75 and 2.25.
        let ttr = b.ttr_ms.unwrap();
        assert_eq!(
            (ttr.n, ttr.median, ttr.q1, ttr.q3),
            (4, 1300.0, 1150.0, 1450.0)
        );
        // The baseline: 1000..1400 step 100, median 1200, quartiles 1100 and 1300.
        let a = cell(&report, "a");
        let ttr = a.ttr_ms.unwrap();
        assert_eq!((ttr.median, ttr.q1, ttr.q3), (1200.0, 1100.0, 1300.0));
        assert_eq!(b.ttr_diff_ms.unwrap().estimate, 100.0);
        assert_eq!(a.verdict, Verdict::Baseline);
        assert_eq!(a.ttr_diff_ms, None);
    }

    #[test]
    fn precondition_rates_count_judged_runs_and_a_gap_is_a_caution() {
        let judged = |met: Option<bool>| {
            let mut r = run("b", Outcome::NoOom, None);
            r.evidence = Some(crate::record::Evidence {
                precondition: Some("thrashing".into()),
                precondition_met: met,
                ..Default::default()
            });
            r
        };
        let mut records: Vec<RunRecord> = (0..5)
            .map(|_| RunRecord {
                kernel: run("a", Outcome::NoOom, None).kernel,
                ..judged(Some(true))
            })
            .collect();
        records.extend((0..5).map(|_| judged(Some(false))));
        // Not judged (no snapshot, no pressure numbers): left out of n.
        records.push(judged(None));
        let report = compare(&records, &Options::default()).unwrap();
        let (a, b) = (cell(&report, "a"), cell(&report, "b"));
        assert_eq!((a.precondition.k, a.precondition.n), (5, 5));
        assert_eq!((b.precondition.k, b.precondition.n), (0, 5));
        // The outcomes agree, so the verdict stands, with the doubt said beside it.
        assert_eq!(b.verdict, Verdict::NoSignificantDifference);
        assert_eq!(b.reasons.len(), 1);
        assert!(
            b.reasons[0].contains("precondition held in 0/5")
                && b.reasons[0].contains("5/5 (95% CI 57-100%) on the baseline"),
            "{:?}",
            b.reasons
        );
        // A record from a scenario that claims nothing: no rate, no caution.
        let plain = compare(&recovered("a", 5, 1000, 10), &Options::default()).unwrap();
        assert_eq!(plain.configurations[0].cells[0].precondition.n, 0);
    }

    #[test]
    fn groups_whose_outcomes_differ_from_the_baseline_are_rerun_with_it() {
        let mut records = recovered("base", 5, 3000, 100);
        records.extend(recovered("same", 5, 3000, 100));
        records.push(run("same", Outcome::Error, None));
        records.extend(recovered("odd", 4, 3000, 100));
        records.push(run("odd", Outcome::Livelock, None));
        let report = compare(&records, &Options::default()).unwrap();
        let differing = report.differing();
        assert_eq!(differing.len(), 1);
        let specs: Vec<&str> = differing[0].1.iter().map(|k| k.spec.as_str()).collect();
        // An error run says nothing about the kernel: "same" is not rerun.
        assert_eq!(specs, ["base", "odd"]);
        let alike = compare(&recovered("base", 3, 1000, 10), &Options::default()).unwrap();
        assert!(alike.differing().is_empty());
    }

    #[test]
    fn all_livelocks_against_none_is_worse_and_the_reverse_better() {
        let mut records = recovered("base", 5, 3000, 100);
        records.extend((0..5).map(|_| run("bad", Outcome::Livelock, None)));
        let report = compare(&records, &Options::default()).unwrap();
        let bad = cell(&report, "bad");
        assert_eq!(bad.verdict, Verdict::Worse);
        // 5/5 is 57-100%, 0/5 is 0-43%: bad outcomes and livelock both count.
        assert_eq!(bad.reasons.len(), 2, "{:?}", bad.reasons);
        assert!(
            bad.reasons[0].starts_with("bad outcomes 5/5"),
            "{:?}",
            bad.reasons
        );

        let opts = Options {
            baseline: Some("bad".into()),
            ..Options::default()
        };
        let v = verdicts(&records, &opts);
        assert_eq!(
            v,
            [
                ("bad".into(), Verdict::Baseline),
                ("base".into(), Verdict::Better)
            ]
        );
    }

    #[test]
    fn four_of_five_against_none_is_not_significant() {
        // 4/5 is 38-96%, overlapping 0/5's 0-43%: not enough evidence at n = 5.
        let mut records = recovered("base", 5, 3000, 100);
        records.extend((0..4).map(|_| run("cand", Outcome::Hung, None)));
        records.extend(recovered("cand", 1, 3000, 0));
        let v = verdicts(&records, &Options::default());
        assert_eq!(v[1], ("cand".into(), Verdict::NoSignificantDifference));
    }

    #[test]
    fn slower_recovery_beyond_the_margin_is_worse() {
        let mut records = recovered("base", 6, 1000, 20);
        records.extend(recovered("slow", 6, 4000, 20));
        records.extend(recovered("fast", 6, 500, 20));
        records.extend(recovered("same", 6, 1010, 20));
        let v = verdicts(&records, &Options::default());
        assert_eq!(
            v,
            [
                ("base".into(), Verdict::Baseline),
                ("slow".into(), Verdict::Worse),
                ("fast".into(), Verdict::Better),
                ("same".into(), Verdict::NoSignificantDifference),
            ]
        );
        // A margin wider than the 3000 ms slowdown lets it pass.
        let opts = Options {
            ttr_margin_ms: 3500,
            ..Options::default()
        };
        assert_eq!(
            verdicts(&records, &opts)[1].1,
            Verdict::NoSignificantDifference
        );
    }

    #[test]
    fn a_difference_clear_alone_does_not_stand_among_many_comparisons() {
        // 6 runs each: medians 1050 and 1130, per-cell bootstrap p 0.007 (2000 resamples).
        let mut records = recovered("base", 6, 1000, 20);
        records.extend(recovered("edge", 6, 1080, 20));
        let alone = compare(&records, &Options::default()).unwrap();
        let edge = cell(&alone, "edge");
        assert_eq!((edge.verdict, alone.comparisons), (Verdict::Worse, 1));
        let p = edge.ttr_diff_ms.unwrap().p;
        assert!((0.005..0.01).contains(&p), "{p}");
        assert_eq!(edge.ttr_p_holm, Some(p));
        assert!(
            edge.reasons[0].contains("over 1 comparisons"),
            "{:?}",
            edge.reasons
        );
        // Nine more kernels that behave like the baseline: ten comparisons, and Holm
        // multiplies the smallest p by ten.
        for k in 0..9 {
            records.extend(recovered(&format!("same{k}"), 6, 1000, 20));
        }
        let many = compare(&records, &Options::default()).unwrap();
        let edge = cell(&many, "edge");
        assert_eq!(many.comparisons, 10);
        assert!(
            edge.ttr_diff_ms.unwrap().lo > 0.0,
            "the cell's own interval still clears 0"
        );
        assert!((edge.ttr_p_holm.unwrap() - 10.0 * p).abs() < 1e-9);
        assert_eq!(edge.verdict, Verdict::NoSignificantDifference);
        assert_eq!(many.count(Verdict::NoSignificantDifference), 10);
    }

    #[test]
    fn a_large_family_gets_enough_resamples_to_reach_holms_threshold() {
        // 60 comparisons: Holm's strictest threshold is 0.05 / 60, below 2 / 2001, so
        // the resamples are raised and a clear difference still counts.
        let mut records = recovered("base", 5, 1000, 10);
        records.extend(recovered("slow", 5, 9000, 10));
        for k in 0..59 {
            records.extend(recovered(&format!("same{k}"), 5, 1000, 10));
        }
        let report = compare(&records, &Options::default()).unwrap();
        assert_eq!((report.comparisons, report.resamples), (60, 12_000));
        assert_eq!(cell(&report, "slow").verdict, Verdict::Worse);
    }

    #[test]
    fn worse_wins_over_better() {
        // Fewer livelocks would be better, but recovery is much slower.
        let mut records = recovered("base", 5, 1000, 10);
        records.extend((0..5).map(|_| run("base", Outcome::Livelock, None)));
        records.extend(recovered("cand", 10, 9000, 10));
        let report = compare(&records, &Options::default()).unwrap();
        assert_eq!(cell(&report, "cand").verdict, Verdict::Worse);
    }

    #[test]
    fn few_runs_or_excluded_runs_give_not_enough_runs() {
        let mut records = recovered("base", 5, 1000, 10);
        records.extend((0..5).map(|_| run("cand", Outcome::Livelock, None)));
        // A sixth and seventh run that say nothing about the kernel.
        records.push(run("cand", Outcome::BootFailure, None));
        records.push(run("cand", Outcome::Error, None));
        let opts = Options {
            min_runs: 6,
            ..Options::default()
        };
        let report = compare(&records, &opts).unwrap();
        let c = cell(&report, "cand");
        assert_eq!(
            (c.verdict, c.runs, c.comparable),
            (Verdict::NotEnoughRuns, 7, 5)
        );
        assert!(c.reasons[0].contains("5 comparable runs here, 5 on the baseline"));
    }

    #[test]
    fn configurations_are_kept_apart_and_missing_baselines_said() {
        let mut records = recovered("base", 5, 1000, 10);
        let mut other = recovered("cand", 5, 1000, 10);
        for r in &mut other {
            r.settings.insert("vm.overcommit_memory".into(), "2".into());
        }
        records.extend(other);
        records.extend(recovered("cand", 5, 1000, 10));
        let report = compare(&records, &Options::default()).unwrap();
        assert_eq!(report.configurations.len(), 2);
        assert_eq!(
            report.configurations[0].label,
            "usemem, 256 MiB, 2 cpus, tcg, vm.overcommit_memory=(unset)"
        );
        assert_eq!(report.configurations[0].cells.len(), 2);
        let lone = &report.configurations[1].cells[0];
        assert_eq!(lone.verdict, Verdict::NotEnoughRuns);
        assert_eq!(lone.reasons, ["the baseline base has no runs here"]);
    }

    #[test]
    fn baselines_are_named_by_spec_or_release_and_checked() {
        let mut records = recovered("base", 5, 1000, 10);
        records.extend(recovered("cand", 5, 1000, 10));
        let by_release = Options {
            baseline: Some("cand-release".into()),
            ..Options::default()
        };
        assert_eq!(verdicts(&records, &by_release)[0].0, "cand");
        let unknown = Options {
            baseline: Some("debian:5.10".into()),
            ..Options::default()
        };
        let e = compare(&records, &unknown).unwrap_err().to_string();
        assert_eq!(
            e,
            "no kernel matches --baseline debian:5.10; the records have: \
             base (base-release), cand (cand-release)"
        );
        // One spec resolved to two releases: which one is meant must be said.
        records[0].kernel.release = "base-newer".into();
        let spec = Options {
            baseline: Some("base".into()),
            ..Options::default()
        };
        let e = compare(&records, &spec).unwrap_err().to_string();
        assert!(e.contains("matches more than one kernel"), "{e}");
    }

    #[test]
    fn the_same_records_give_the_same_report() {
        let mut records = recovered("base", 7, 1000, 37);
        records.extend(recovered("cand", 7, 1020, 41));
        let one = serde_json::to_string(&compare(&records, &Options::default()).unwrap());
        let two = serde_json::to_string(&compare(&records, &Options::default()).unwrap());
        assert_eq!(one.unwrap(), two.unwrap());
    }
}
