//! Every scenario written as a scenario file, on both kernels: the evidence that it put
//! the kernel where it says (its precondition, from the /proc snapshot at the first OOM
//! invocation or from PSI), and an outcome from the set seen when it was measured
//! (docs/scenarios.md). Kill counts and times are not asserted: they vary.

use crate::common::*;
use serde_json::Value;

fn run(scenario: &str, kernel: &str, timeout: &str) -> Value {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &[
            "--scenario",
            scenario,
            "--kernel",
            kernel,
            "--timeout",
            timeout,
        ],
    );
    let checks = r["setup"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["ok"] == true), "setup: {r}");
    r
}

fn outcome_in(r: &Value, allowed: &[&str]) {
    let o = r["outcome"].as_str().unwrap();
    assert!(
        allowed.contains(&o),
        "{} on {}: {o} not in {allowed:?}: {}",
        r["scenario"],
        r["kernel"]["release"],
        r["outcome_reason"]
    );
}

fn precondition_held(r: &Value) {
    let e = &r["evidence"];
    assert_eq!(
        e["precondition_met"], true,
        "{} on {}: precondition {} not shown; seen: {}",
        r["scenario"], r["kernel"]["release"], e["precondition"], e["seen"]
    );
}

fn no_bystander_killed(r: &Value) {
    assert!(
        !kill_roles(r).iter().any(|role| role == "bystander"),
        "{}",
        r["kills"]
    );
}

/// Runs `check` on both kernels.
fn both(check: fn(&str)) {
    check("debian:6.1");
    check("debian:6.12");
}

#[test]
fn usemem_many() {
    both(|k| {
        let r = run("usemem-many", k, "60");
        outcome_in(&r, &["recovered"]);
        precondition_held(&r);
        no_bystander_killed(&r);
    });
}

#[test]
fn mmap_sem_writers() {
    both(|k| {
        let r = run("mmap-sem-writers", k, "60");
        outcome_in(&r, &["recovered"]);
        precondition_held(&r);
    });
}

#[test]
fn coredump_victim() {
    both(|k| {
        let r = run("coredump-victim", k, "60");
        outcome_in(&r, &["recovered"]);
        precondition_held(&r);
    });
}

#[test]
fn coredump_pipe() {
    both(|k| {
        let r = run("coredump-pipe", k, "60");
        outcome_in(&r, &["recovered"]);
        precondition_held(&r);
    });
}

#[test]
fn inode_lock_writers() {
    both(|k| {
        let r = run("inode-lock-writers", k, "60");
        outcome_in(&r, &["recovered"]);
        precondition_held(&r);
    });
}

/// Killed (as seen on both kernels), or the pipe write failed with ENOMEM (exit 10).
#[test]
fn memcg_syscall_enomem() {
    both(|k| {
        let r = run("memcg-syscall-enomem", k, "60");
        outcome_in(&r, &["recovered", "no_oom"]);
        if r["outcome"] == "recovered" {
            precondition_held(&r);
            assert_eq!(kill_roles(&r), ["hog"]);
        }
    });
}

#[test]
fn mlocked_victim() {
    both(|k| {
        let r = run("mlocked-victim", k, "60");
        outcome_in(&r, &["recovered"]);
        precondition_held(&r);
    });
}

#[test]
fn oom_score_adj() {
    both(|k| {
        let r = run("oom-score-adj", k, "60");
        outcome_in(&r, &["recovered"]);
        precondition_held(&r);
        no_bystander_killed(&r);
        assert_eq!(kill_roles(&r)[0], "hog", "{}", r["kills"]);
    });
}

#[test]
fn fork_storm() {
    both(|k| {
        let r = run("fork-storm", k, "90");
        outcome_in(&r, &["recovered", "unrecovered"]);
        precondition_held(&r);
    });
}

/// The hog's mm is shared with a task at -1000, which protects the hog too: one
/// bystander kill, then nothing killable and a panic (as for protected-hog).
#[test]
fn shared_mm() {
    both(|k| {
        let r = run("shared-mm", k, "60");
        outcome_in(&r, &["panic"]);
        precondition_held(&r);
    });
}

/// May starve without an OOM, or livelock: a bounded --timeout still gives a record.
#[test]
fn oom_lock_starvation() {
    both(|k| {
        let r = run("oom-lock-starvation", k, "45");
        outcome_in(
            &r,
            &["no_oom", "livelock", "unrecovered", "recovered", "timeout"],
        );
    });
}

/// The second boot verified the disk: whatever the OOM did, nothing fsync acknowledged
/// may be lost.
#[test]
fn fsync_storm() {
    both(|k| {
        let r = run("fsync-storm", k, "90");
        outcome_in(&r, &["recovered", "unrecovered"]);
        let c = &r["data_check"];
        assert_eq!(c["verified"], true, "{c}");
        assert_eq!(c["files"], 100, "{c}");
        assert!(c["acked"].as_u64().unwrap() > 0, "{c}");
        assert_eq!(
            (c["lost_acked"].as_u64(), c["corrupt_records"].as_u64()),
            (Some(0), Some(0)),
            "{c}"
        );
    });
}

#[test]
fn thrash() {
    both(|k| {
        let r = run("thrash", k, "60");
        outcome_in(&r, &["no_oom", "recovered"]);
        precondition_held(&r);
    });
}
