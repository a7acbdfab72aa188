//! The runs and the comparison as a KCIDB submission (KernelCI's common database of
//! kernel test results), I/O schema v5.3, so the results can be sent with `kcidb-submit`
//! and shown next to other CI systems' results. The mapping is in docs/compare.md:
//!
//! - one **checkout** per kernel release (`uname -r`): the source, as far as a run
//!   record knows it;
//! - one **build** per kernel binary (release and sha256 of the bzImage) under it;
//! - one **test** per run, path `oomlab.SCENARIO`, status from the outcome;
//! - one **test** per compare cell, path `oomlab-compare.SCENARIO`, status from the
//!   verdict.
//!
//! KCIDB allows no nulls, so absent values are left out rather than written as `null`.

use super::group::{Configuration, KernelId};
use super::{Cell, ConfigReport, Report, Verdict, BAD};
use crate::record::{Outcome, RunRecord};
use serde_json::{json, Map, Value};

/// The origin of every object: the CI system that submits them.
pub const ORIGIN: &str = "oomlab";
/// The I/O schema version written (kcidb-io's latest, `kcidb_io.schema.V5_3`).
pub const VERSION: (u64, u64) = (5, 3);
/// Every guest is booted with qemu-system-x86_64 from a bzImage.
const ARCHITECTURE: &str = "x86_64";

/// KCIDB status of a run: PASS when the kernel handled the OOM (`recovered`, `no_oom`),
/// FAIL when it did not (the bad outcomes), ERROR when the run says nothing about the
/// kernel (`error`, `boot_failure`: the status of the code is unknown).
pub fn run_status(o: Outcome) -> &'static str {
    if BAD.contains(&o) {
        "FAIL"
    } else if matches!(o, Outcome::Error | Outcome::BootFailure) {
        "ERROR"
    } else {
        "PASS"
    }
}

/// KCIDB status of a compare cell: FAIL when worse than the baseline, SKIP when there
/// is no verdict (the baseline itself, too few runs), PASS otherwise.
pub fn verdict_status(v: Verdict) -> &'static str {
    match v {
        Verdict::Worse => "FAIL",
        Verdict::Baseline | Verdict::NotEnoughRuns => "SKIP",
        Verdict::Better | Verdict::NoSignificantDifference => "PASS",
    }
}

/// No KCIDB string may hold a NUL.
fn text(s: &str) -> String {
    s.replace('\0', "\u{fffd}")
}

fn id(local: &str) -> String {
    format!("{ORIGIN}:{}", text(local))
}

/// A test path segment: letters, digits, `_` and `-` only (a `.` would split it).
fn segment(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "_".to_string()
    } else {
        s
    }
}

pub fn checkout_id(r: &RunRecord) -> String {
    id(&r.kernel.release)
}

pub fn build_id(r: &RunRecord) -> String {
    id(&format!("{}:{}", r.kernel.release, r.kernel.sha256))
}

pub fn run_test_id(r: &RunRecord) -> String {
    id(&r.run_id)
}

/// Drop every null, at any depth: KCIDB has no null values.
fn no_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, no_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.into_iter()
                .filter(|v| !v.is_null())
                .map(no_nulls)
                .collect(),
        ),
        v => v,
    }
}

/// Add `value` to the list at `key` unless it is there already.
fn add_once(misc: &mut Map<String, Value>, key: &str, value: &str) {
    let list = misc
        .entry(key)
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .expect("a list");
    if !list.iter().any(|v| v == value) {
        list.push(Value::from(value));
    }
}

/// Objects keyed by id, in order of first appearance.
#[derive(Default)]
struct Objects(Vec<(String, Map<String, Value>)>);

impl Objects {
    fn entry(
        &mut self,
        id: String,
        new: impl FnOnce() -> Map<String, Value>,
    ) -> &mut Map<String, Value> {
        let i = match self.0.iter().position(|(k, _)| *k == id) {
            Some(i) => i,
            None => {
                self.0.push((id, new()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    fn into_values(self) -> Vec<Value> {
        self.0.into_iter().map(|(_, o)| Value::Object(o)).collect()
    }
}

fn misc_of(o: &mut Map<String, Value>) -> &mut Map<String, Value> {
    o.get_mut("misc")
        .and_then(Value::as_object_mut)
        .expect("every object here has misc")
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("built with json!({{...}})"),
    }
}

/// Where a configuration's runs ran: the guest, the accelerator, the settings.
fn environment(label: &str, config: &Configuration, r: Option<&RunRecord>) -> Value {
    let mut misc = object(serde_json::to_value(config).unwrap_or_default());
    if let Some(r) = r {
        misc.insert("accel_requested".into(), json!(r.accel.requested));
        misc.insert("tcg_threads".into(), json!(r.guest.tcg_threads));
        misc.insert("cmdline".into(), json!(r.guest.cmdline));
        misc.insert("qemu_version".into(), json!(r.qemu_version));
    }
    json!({ "comment": text(label), "misc": misc })
}

fn run_test(r: &RunRecord, label: &str) -> Value {
    let mut test = json!({
        "id": run_test_id(r),
        "origin": ORIGIN,
        "build_id": build_id(r),
        "path": format!("oomlab.{}", segment(&r.scenario)),
        "status": run_status(r.outcome),
        "start_time": r.started_at,
        "duration": r.wall_ms as f64 / 1000.0,
        "comment": text(&format!("{}: {}", r.outcome, r.outcome_reason)),
        "environment": environment(label, &Configuration::of(r), Some(r)),
        "misc": {
            "run_id": r.run_id,
            "rep": r.rep,
            "kernel_spec": r.kernel.spec,
            "outcome": r.outcome.as_str(),
            "outcome_reason": r.outcome_reason,
            "oom_invocations": r.oom_invocations,
            "kills": r.kills.len(),
            "wrong_victim_kills": r.wrong_victim_kills,
            "overkill_kills": r.overkill_kills,
            "time_to_first_kill_ms": r.time_to_first_kill_ms,
            "time_to_recovery_ms": r.time_to_recovery_ms,
            "max_heartbeat_gap_ms": r.max_heartbeat_gap_ms,
            "boot_ms": r.boot_ms,
            "wall_ms": r.wall_ms,
            "oomlab_version": r.oomlab_version,
            "artifacts_dir": r.artifacts.dir,
        },
    });
    if let Some(ttr) = r.time_to_recovery_ms {
        test["number"] = json!({ "value": ttr, "unit": "ms" });
    }
    test
}

/// The cell's verdict as a test of its kernel's build. Its id is a hash of everything
/// the verdict depends on (both sides' runs and the options), so the same comparison
/// submitted twice is the same object, and a different one is another.
fn cell_test(report: &Report, config: &ConfigReport, cell: &Cell, records: &[RunRecord]) -> Value {
    let runs_of = |k: &KernelId| -> Vec<&RunRecord> {
        records
            .iter()
            .filter(|r| KernelId::of(r) == *k && Configuration::of(r) == config.config)
            .collect()
    };
    let runs = runs_of(&cell.kernel);
    let baseline = config
        .cells
        .iter()
        .find(|c| c.verdict == Verdict::Baseline)
        .map(|c| &c.kernel);
    let base_runs = baseline.map(runs_of).unwrap_or_default();
    let ids = |runs: &[&RunRecord]| runs.iter().map(|r| run_test_id(r)).collect::<Vec<_>>();
    // The verdict also depends on the family Holm adjusted over.
    let key = format!(
        "{}|{}|{}|{}|{:?}|{:?}",
        report.min_runs,
        report.ttr_margin_ms,
        report.resamples,
        report.comparisons,
        ids(&base_runs),
        ids(&runs)
    );
    let hash = super::bootstrap::seed_for(&key);
    let mut builds: Vec<String> = Vec::new();
    for r in &runs {
        let b = build_id(r);
        if !builds.contains(&b) {
            builds.push(b);
        }
    }
    let mut misc = object(serde_json::to_value(cell).unwrap_or_default());
    misc.remove("kernel");
    misc.insert("kernel_spec".into(), json!(cell.kernel.spec));
    misc.insert("kernel_release".into(), json!(cell.kernel.release));
    misc.insert("baseline".into(), json!(baseline.map(ToString::to_string)));
    misc.insert("min_runs".into(), json!(report.min_runs));
    misc.insert("ttr_margin_ms".into(), json!(report.ttr_margin_ms));
    misc.insert("holm_comparisons".into(), json!(report.comparisons));
    misc.insert("run_test_ids".into(), json!(ids(&runs)));
    misc.insert("baseline_run_test_ids".into(), json!(ids(&base_runs)));
    misc.insert("build_ids".into(), json!(builds));
    let comment = match baseline {
        Some(_) if cell.verdict == Verdict::Baseline => "the baseline".to_string(),
        Some(b) if cell.reasons.is_empty() => format!("{} vs {b}", cell.verdict),
        Some(b) => format!("{} vs {b}: {}", cell.verdict, cell.reasons.join("; ")),
        None => format!("{}: {}", cell.verdict, cell.reasons.join("; ")),
    };
    json!({
        "id": id(&format!("compare-{hash:016x}")),
        "origin": ORIGIN,
        // A cell's runs are all of one release; one binary in all but odd cases (a
        // path rebuilt between runs): the first run's, with every one in misc.
        "build_id": builds.first(),
        "path": format!("oomlab-compare.{}", segment(&config.config.scenario)),
        "status": verdict_status(cell.verdict),
        "comment": text(&comment),
        "environment": environment(&config.label, &config.config, runs.first().copied()),
        "misc": misc,
    })
}

/// The submission as a JSON value: every record as a test, every cell as another.
pub fn submission(report: &Report, records: &[RunRecord]) -> Value {
    let (mut checkouts, mut builds) = (Objects::default(), Objects::default());
    for r in records {
        let checkout = checkouts.entry(checkout_id(r), || {
            object(json!({
                "id": checkout_id(r),
                "origin": ORIGIN,
                "comment": text(&format!("kernel {}", r.kernel.release)),
                "misc": { "kernel_release": r.kernel.release },
            }))
        });
        add_once(misc_of(checkout), "kernel_specs", &r.kernel.spec);
        let build = builds.entry(build_id(r), || {
            object(json!({
                "id": build_id(r),
                "origin": ORIGIN,
                "checkout_id": checkout_id(r),
                "architecture": ARCHITECTURE,
                "comment": text(&format!(
                    "kernel {}, sha256 {}",
                    r.kernel.release, r.kernel.sha256
                )),
                "misc": {
                    "kernel_release": r.kernel.release,
                    "kernel_sha256": r.kernel.sha256,
                },
            }))
        });
        let misc = misc_of(build);
        add_once(misc, "kernel_specs", &r.kernel.spec);
        if let Some(p) = &r.kernel.package {
            add_once(misc, "kernel_packages", p);
        }
    }
    let label = |r: &RunRecord| {
        let config = Configuration::of(r);
        report
            .configurations
            .iter()
            .find(|c| c.config == config)
            .map_or_else(String::new, |c| c.label.clone())
    };
    let mut tests: Vec<Value> = records.iter().map(|r| run_test(r, &label(r))).collect();
    tests.extend(
        report
            .cells()
            .map(|(config, cell)| cell_test(report, config, cell, records)),
    );
    no_nulls(json!({
        "version": { "major": VERSION.0, "minor": VERSION.1 },
        "checkouts": checkouts.into_values(),
        "builds": builds.into_values(),
        "tests": tests,
    }))
}

/// The submission as pretty-printed JSON, one trailing newline.
pub fn kcidb(report: &Report, records: &[RunRecord]) -> String {
    let mut s = serde_json::to_string_pretty(&submission(report, records))
        .expect("a serde_json::Value always serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_and_verdict_has_a_status() {
        let statuses: Vec<&str> = Outcome::ALL.iter().map(|o| run_status(*o)).collect();
        assert_eq!(
            statuses,
            ["PASS", "PASS", "FAIL", "FAIL", "FAIL", "FAIL", "ERROR", "FAIL", "ERROR"]
        );
        assert_eq!(verdict_status(Verdict::Worse), "FAIL");
        assert_eq!(verdict_status(Verdict::NotEnoughRuns), "SKIP");
    }

    #[test]
    fn segments_hold_only_what_a_path_allows() {
        assert_eq!(segment("protected-hog"), "protected-hog");
        assert_eq!(segment("a.b c/ü"), "a_b_c__");
        assert_eq!(segment(""), "_");
    }

    #[test]
    fn nulls_are_dropped_at_any_depth() {
        let v = no_nulls(json!({"a": null, "b": {"c": null, "d": [1, null]}}));
        assert_eq!(v, json!({"b": {"d": [1]}}));
    }
}
