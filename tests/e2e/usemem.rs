//! The spine: usemem on Debian 6.1 and 6.12 recovers after killing the hog.

use crate::common::*;
use std::time::Duration;

fn usemem_recovers(kernel: &str, series: &str) {
    let out = tempfile::tempdir().unwrap();
    let o = run_bounded(
        oomlab()
            .args(["run", "--scenario", "usemem", "--kernel", kernel, "--out"])
            .arg(out.path()),
        Duration::from_secs(900),
    );
    assert!(o.status.success(), "oomlab run failed: {}", stderr(&o));
    let recs = records(out.path());
    assert_eq!(recs.len(), 1, "one record per run");
    let r = &recs[0];
    let ctx = serde_json::to_string_pretty(r).unwrap();
    assert_eq!(r["outcome"], "recovered", "{ctx}");
    assert_evidence(r, "the hog is the largest process");
    let release = r["kernel"]["release"].as_str().unwrap();
    assert!(
        release.starts_with(&format!("{series}.")),
        "release {release} is not {series}: {ctx}"
    );
    assert_eq!(r["kernel"]["sha256"].as_str().unwrap().len(), 64);
    assert!(
        ["tcg", "kvm"].contains(&r["accel"]["used"].as_str().unwrap()),
        "{ctx}"
    );

    let kills = r["kills"].as_array().unwrap();
    assert!(!kills.is_empty(), "{ctx}");
    let hog_pid = r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "hog")
        .and_then(|p| p["pid"].as_u64())
        .expect("the agent reported the hog's pid");
    for k in kills {
        assert_eq!(k["role"], "hog", "{ctx}");
        assert_eq!(k["pid"].as_u64(), Some(hog_pid), "{ctx}");
    }
    assert_eq!(r["wrong_victim_kills"], 0);
    let ttfk = r["time_to_first_kill_ms"].as_u64().expect("ttfk");
    let ttr = r["time_to_recovery_ms"].as_u64().expect("ttr");
    let wall = r["wall_ms"].as_u64().unwrap();
    assert!(
        ttfk <= ttr && ttr < wall,
        "ttfk {ttfk} <= ttr {ttr} < wall {wall}: {ctx}"
    );
    assert!(r["boot_ms"].as_u64().is_some());
    // The probe ran during pressure and the guest's stall is accounted for.
    assert!(r["probe_latency_ms"]["n"].as_u64().unwrap() > 0, "{ctx}");
    assert!(r["stall_ms"].as_u64().is_some(), "{ctx}");
    assert!(r["psi_memory"]["some_pct"].as_f64().is_some(), "{ctx}");
    let timeline = artifact(out.path(), r, "timeline");
    assert!(timeline
        .lines()
        .any(|l| l.contains(r#""source":"kernel""#) && l.contains(r#""kind":"kill""#)));
    assert!(
        r["setup"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true),
        "{ctx}"
    );

    // Artifacts: the raw console and the agent's event log, referenced relative to --out.
    let console = artifact(out.path(), r, "console");
    assert!(
        console.contains("Killed process"),
        "console log lacks the kill"
    );
    let events = artifact(out.path(), r, "events");
    assert!(events.contains("\"event\":\"done\""));
    assert!(out
        .path()
        .join(r["artifacts"]["dir"].as_str().unwrap())
        .join("record.json")
        .exists());
}

#[test]
fn usemem_recovers_on_debian_6_1() {
    usemem_recovers("debian:6.1", "6.1");
}

#[test]
fn usemem_recovers_on_debian_6_12() {
    usemem_recovers("debian:6.12", "6.12");
}

#[test]
fn a_second_run_appends_to_the_same_out() {
    // A relative --out, as in the README: QEMU runs inside the run folder, so every path
    // it is given must not depend on the harness's working directory.
    let cwd = tempfile::tempdir().unwrap();
    let out = cwd.path().join("results/demo");
    // The same plan twice would be refused; a second repetition resumed into it appends.
    for more in [&[][..], &["--reps", "2", "--resume"][..]] {
        let o = run_bounded(
            oomlab()
                .current_dir(cwd.path())
                .args([
                    "run",
                    "--kernel",
                    "debian:6.1",
                    "--accel",
                    "tcg",
                    "--json",
                    "--out",
                    "results/demo",
                ])
                .args(more),
            Duration::from_secs(900),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        // --json puts exactly the new record on stdout.
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
    }
    let recs = records(&out);
    assert_eq!(recs.len(), 2);
    assert_ne!(recs[0]["run_id"], recs[1]["run_id"]);
    assert_eq!(recs[0]["accel"]["used"], "tcg");
    assert!(recs.iter().all(|r| r["outcome"] == "recovered"), "{recs:?}");
}
