//! `oomlab compare --rerun-failures N`: a configuration whose outcomes differ from the
//! baseline's is run N more times on both kernels, into the results directory its runs
//! came from, and the report gives its outcomes as rates.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(600);

fn compare(out: &std::path::Path, n: &str) -> Value {
    let o = run_bounded(
        oomlab()
            .args(["compare", "--baseline", "debian:6.1", "--min-runs", "1"])
            .args(["--rerun-failures", n, "--jobs", "2", "--format", "json"])
            .arg(out),
        LIMIT,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn cell<'a>(report: &'a Value, spec: &str) -> &'a Value {
    report["configurations"][0]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kernel"]["spec"] == spec)
        .unwrap()
}

#[test]
fn a_differing_configuration_is_rerun_and_reported_as_a_rate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run_bounded(
        oomlab()
            .args(["run", "--kernel", "debian:6.1", "--kernel", "debian:6.12"])
            .args([
                "--scenario",
                "usemem",
                "--accel",
                "tcg",
                "--jobs",
                "2",
                "--out",
            ])
            .arg(&out),
        LIMIT,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Stand-in for an unlucky run: mark the 6.12 run a livelock. The reruns are real.
    let path = out.join("runs.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut r: Value = serde_json::from_str(l).unwrap();
            if r["kernel"]["spec"] == "debian:6.12" {
                r["outcome"] = "livelock".into();
            }
            r.to_string()
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let report = compare(&out, "2");
    let recs = records(&out);
    assert_eq!(recs.len(), 2 + 2 * 2, "two more runs of each kernel");
    let odd = cell(&report, "debian:6.12");
    assert_eq!(odd["runs"], 3);
    assert_eq!(odd["outcomes"]["livelock"], 1, "{odd}");
    let why = odd["reasons"].to_string();
    assert!(
        why.contains("--rerun-failures 2") && why.contains("livelock in 1/3"),
        "{why}"
    );
    assert_eq!(cell(&report, "debian:6.1")["runs"], 3);

    // Still differing: one more each, numbered after every earlier run of the cell,
    // never twice. (Both kernels differ or are the baseline here, so the narrowed plan
    // is the original plan, and the reruns continue its repetitions.)
    compare(&out, "1");
    let recs = records(&out);
    assert_eq!(recs.len(), 8);
    let keys: BTreeSet<(String, String, u64)> = recs
        .iter()
        .map(|r| {
            (
                r["plan"]["id"].as_str().unwrap().to_string(),
                r["plan"]["cell"].as_str().unwrap().to_string(),
                r["rep"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(keys.len(), 8, "no (plan, cell, rep) twice: {keys:?}");
    assert_eq!(
        keys.iter().map(|k| k.2).collect::<BTreeSet<_>>(),
        [0, 1, 2, 3].into()
    );
}
