//! Users' own scenarios: a TOML file composing workloads, roles, cgroups, rlimits and a
//! precondition, and running the user's own program copied in from the host.

use crate::common::*;

/// usemem beside a bystander at -1000, the hog in its own memory cgroup, with a
/// precondition the run must show; written the way a user would.
const FILE: &str = r#"
description = "a hog in a limited cgroup beside an unkillable bystander"

[[process]]
name = "keeper"
role = "bystander"
argv = ["usemem", "--mib", "8", "--hold", "forever"]
oom_score_adj = -1000

[[process]]
name = "hog"
role = "hog"
argv = ["HOG", "--percent", "60", "--hold", "forever"]
start_delay_ms = 200
rlimits = { core = "0", nofile = "256" }
cgroup = { name = "my-hog", memory_max = "25%" }

[precondition]
kind = "in-cgroup"
role = "hog"
path = "/my-hog"
"#;

fn run_file(kernel: &str, hog_program: &str, dir: &std::path::Path) -> serde_json::Value {
    let file = dir.join("mine.toml");
    std::fs::write(&file, FILE.replace("HOG", hog_program)).unwrap();
    let out = dir.join("out");
    let r = run_one(
        &out,
        &["--kernel", kernel, "--scenario", file.to_str().unwrap()],
    );
    assert_eq!(r["scenario"], "mine");
    assert_eq!(r["outcome"], "recovered", "{r}");
    assert_eq!(kill_roles(&r), ["hog"], "{r}");
    assert_eq!(r["kills"][0]["memcg"], "/my-hog", "{r}");
    assert_evidence(&r, "the hog is in memory cgroup /my-hog");
    r
}

#[test]
fn a_scenario_file_runs_on_6_1() {
    let dir = tempfile::tempdir().unwrap();
    run_file("debian:6.1", "usemem", dir.path());
}

/// The hog is "the user's program": a copy of usemem under another name beside the
/// scenario file, taken into the guest from the host.
#[test]
fn a_users_own_program_runs_on_6_12() {
    let dir = tempfile::tempdir().unwrap();
    let usemem = std::path::Path::new(env!("CARGO_BIN_EXE_oomlab"))
        .parent()
        .unwrap()
        .join("usemem");
    std::fs::copy(&usemem, dir.path().join("my-repro")).unwrap();
    let r = run_file("debian:6.12", "./my-repro", dir.path());
    let hog = r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "hog")
        .unwrap()
        .clone();
    assert_eq!(hog["signal"], 9, "{hog}");
    let spec = artifact(&dir.path().join("out"), &r, "spec");
    assert!(spec.contains("/opt/oomlab/bin/my-repro"), "{spec}");
}

/// A dynamically linked host program (GNU make) runs in the guest: its loader and
/// libraries are found on the host and packed with it.
#[test]
fn a_dynamic_host_program_runs_with_its_libraries_on_6_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dyn.toml");
    std::fs::write(
        &file,
        r#"
[[process]]
name = "make"
role = "bystander"
argv = ["/usr/bin/make", "--version"]

[[process]]
name = "hog"
role = "hog"
argv = ["usemem", "--percent", "150"]
start_delay_ms = 500
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let r = run_one(
        &out,
        &[
            "--kernel",
            "debian:6.1",
            "--scenario",
            file.to_str().unwrap(),
        ],
    );
    let make = r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "make")
        .unwrap()
        .clone();
    assert_eq!(make["exit_code"], 0, "make did not run in the guest: {r}");
    let console = artifact(&out, &r, "console");
    assert!(console.contains("GNU Make"), "{console}");
}
