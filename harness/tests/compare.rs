//! `oomlab compare` as a user runs it: the built binary on recorded runs (fixtures in
//! results/tests/fixtures/compare, see its README), its output and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn oomlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oomlab"))
        .arg("compare")
        .args(args)
        .output()
        .unwrap()
}

fn fixture(name: &str) -> String {
    format!(
        "{}/../results/tests/fixtures/compare/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A usage error: exit 2, nothing on stdout, exactly one `oomlab: ` line on stderr.
fn one_line_error(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty());
    assert!(
        err.starts_with("oomlab: ") && err.lines().count() == 1,
        "{err:?}"
    );
    err
}

#[test]
fn the_terminal_report_names_each_verdict_and_exits_0() {
    let o = oomlab(&[&fixture("derived")]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.starts_with("oomlab compare: baseline debian:6.1;"),
        "{out}"
    );
    assert!(
        out.contains("./bzImage-slow (6.1.0-56-cloud-amd64+slow): worse: time to recovery slower")
    );
    assert!(out.ends_with(
        "verdicts: worse 2, better 1, no significant difference 1, not enough runs 1\n"
    ));
}

#[test]
fn fail_on_regression_exits_1_after_the_report_and_only_when_worse() {
    let o = oomlab(&[&fixture("derived"), "--fail-on-regression"]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stdout(&o).contains("verdicts: worse 2"));
    assert!(o.stderr.is_empty());
    // Real 6.1 against 6.12: no cell is worse.
    let o = oomlab(&[&fixture("real-reps"), "--fail-on-regression"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // The baseline named by spec, here a kernel that always livelocks...
    let o = oomlab(&[
        &fixture("derived/runs.jsonl"),
        "--baseline",
        "./bzImage-livelock",
        "--fail-on-regression",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let verdicts: Vec<&str> = v["configurations"][0]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    // ...against a kernel that always livelocks, every kernel with enough runs is better.
    assert_eq!(
        verdicts,
        [
            "baseline",
            "better",
            "better",
            "better",
            "better",
            "not_enough_runs"
        ]
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn min_runs_and_the_margin_change_the_verdicts() {
    let o = oomlab(&[
        &fixture("derived"),
        "--min-runs",
        "2",
        "--ttr-margin-ms",
        "5000",
    ]);
    assert!(stdout(&o).ends_with(
        "verdicts: worse 1, better 0, no significant difference 4, not enough runs 0\n"
    ));
    let o = oomlab(&[&fixture("derived"), "--min-runs", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn every_format_writes_to_out_and_nothing_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    for (format, starts) in [
        ("terminal", "oomlab compare:"),
        ("markdown", "# oomlab compare"),
        ("json", "{"),
        ("ktap", "KTAP version 1\n"),
        (
            "junit",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ",
        ),
        ("html", "<!DOCTYPE html>\n<html lang=\"en\">\n"),
        ("kcidb", "{\n  \"builds\": [\n"),
    ] {
        let out = dir.path().join(format);
        let o = oomlab(&[
            &fixture("derived"),
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{format}");
        assert!(o.stdout.is_empty(), "{format}");
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.starts_with(starts), "{format}: {text}");
    }
    let o = oomlab(&[&fixture("derived"), "--out", "/proc/no/such/dir/report"]);
    assert!(one_line_error(&o).contains("choose a writable --out"));
}

#[test]
fn kcidb_is_one_submission_with_a_test_per_run_and_per_cell() {
    let o = oomlab(&[
        &fixture("derived"),
        "--format",
        "kcidb",
        "--fail-on-regression",
    ]);
    // The exit code still says that a kernel is worse; the document says which.
    assert_eq!(o.status.code(), Some(4));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], serde_json::json!({"major": 5, "minor": 3}));
    assert_eq!(v["checkouts"].as_array().unwrap().len(), 6);
    assert_eq!(v["builds"].as_array().unwrap().len(), 6);
    let tests = v["tests"].as_array().unwrap();
    // 27 runs and 6 cells.
    assert_eq!(tests.len(), 27 + 6);
    let failed: Vec<&str> = tests
        .iter()
        .filter(|t| t["path"] == "oomlab-compare.usemem" && t["status"] == "FAIL")
        .map(|t| t["misc"]["kernel_spec"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["./bzImage-livelock", "./bzImage-slow"]);
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("runs.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_inputs_are_one_line_errors_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let e = one_line_error(&oomlab(&[missing.to_str().unwrap()]));
    assert!(e.contains("cannot read") && e.contains("nowhere"), "{e}");

    // A directory without runs.jsonl names the file it looked for.
    let e = one_line_error(&oomlab(&[dir.path().to_str().unwrap()]));
    assert!(e.contains("runs.jsonl"), "{e}");

    write(dir.path(), "\n  \n");
    let e = one_line_error(&oomlab(&[dir.path().to_str().unwrap()]));
    assert!(e.ends_with("runs.jsonl holds no run records\n"), "{e}");

    let real = std::fs::read_to_string(fixture("derived/runs.jsonl")).unwrap();
    let first = real.lines().next().unwrap();
    write(
        dir.path(),
        &format!("{first}\n{{\"schema\": 1, \"truncated\n"),
    );
    let e = one_line_error(&oomlab(&[dir.path().to_str().unwrap()]));
    assert!(
        e.contains("runs.jsonl line 2: not an oomlab run record"),
        "{e}"
    );

    let e = one_line_error(&oomlab(&[&fixture("derived"), "--baseline", "debian:5.10"]));
    assert!(
        e.contains("no kernel matches --baseline debian:5.10; the records have: debian:6.1 (6.1.0-56-cloud-amd64), debian:6.12"),
        "{e}"
    );

    let e = one_line_error(&oomlab(&[
        &fixture("derived"),
        &fixture("derived/runs.jsonl"),
    ]));
    assert!(e.contains("pass each result once"), "{e}");
}
