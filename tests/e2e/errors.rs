//! Bad input: one clear line, a non-zero exit, nothing half-written, no hang.

use crate::common::*;
use std::time::Duration;

fn one_line_error(args: &[&str], out: &std::path::Path, expect: &str) {
    let o = run_bounded(
        oomlab().args(args).arg("--out").arg(out),
        Duration::from_secs(120),
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "exit code for {args:?}: {}",
        stderr(&o)
    );
    let err = stderr(&o);
    // Progress notes may precede it (e.g. "looking up Debian kernels"); the error is
    // exactly one line, the last, prefixed "oomlab: ".
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("oomlab: ")).collect();
    assert_eq!(errors.len(), 1, "expected one error line, got: {err}");
    assert_eq!(err.lines().last(), Some(errors[0]), "{err}");
    assert!(errors[0].contains(expect), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn missing_kernel_file() {
    let out = tempfile::tempdir().unwrap();
    one_line_error(
        &["run", "--kernel", "/nonexistent/bzImage"],
        out.path(),
        "/nonexistent/bzImage",
    );
    assert!(records(out.path()).is_empty());
}

#[test]
fn unknown_debian_series() {
    let out = tempfile::tempdir().unwrap();
    one_line_error(&["run", "--kernel", "debian:2.4"], out.path(), "2.4");
}

#[test]
fn unknown_module() {
    let out = tempfile::tempdir().unwrap();
    one_line_error(
        &["run", "--load-module", "no_such_module"],
        out.path(),
        "no_such_module",
    );
}

#[test]
fn unknown_scenario() {
    let out = tempfile::tempdir().unwrap();
    one_line_error(
        &["run", "--scenario", "no-such-thing"],
        out.path(),
        "unknown scenario",
    );
}

#[test]
fn unwritable_out() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    one_line_error(&["run"], &file.join("sub"), "--out");
}

#[test]
fn bad_setting() {
    let out = tempfile::tempdir().unwrap();
    one_line_error(&["run", "--set", "net.core.x=1"], out.path(), "vm.*");
}

#[test]
fn bad_scenario_files_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[process]]\nname = \"hog\"\nrole = \"hog\"\nargv = [\"stress-ng\", \"--vm\", \"1\"]\n",
    )
    .unwrap();
    let arg = file.to_str().unwrap();
    one_line_error(
        &["run", "--scenario", arg],
        dir.path(),
        &format!("{arg}:4: unknown program \"stress-ng\""),
    );
    std::fs::write(&file, "[[process]]\nname = \"hog\"\nrolle = \"hog\"\n").unwrap();
    one_line_error(
        &["run", "--scenario", arg],
        dir.path(),
        &format!("{arg}:3: unknown field `rolle`"),
    );
    one_line_error(
        &["run", "--scenario", "./missing.toml"],
        dir.path(),
        "./missing.toml",
    );
}

#[test]
fn bad_console_settings() {
    let out = tempfile::tempdir().unwrap();
    one_line_error(&["run", "--set", "console.loglevel=9"], out.path(), "0-8");
    one_line_error(
        &["run", "--set", "console.device=usb"],
        out.path(),
        "serial, virtio, none",
    );
    one_line_error(
        &["run", "--set", "thp=sometimes"],
        out.path(),
        "always, madvise, never",
    );
    one_line_error(
        &["run", "--set", "swap=zram:lots"],
        out.path(),
        "none, zram:SIZE or disk:SIZE",
    );
    one_line_error(
        &["run", "--set", "cmdline.init=/bin/sh"],
        out.path(),
        "not a kernel parameter oomlab passes",
    );
    one_line_error(
        &["run", "--set", "cgroup.hog.memory.max=150%"],
        out.path(),
        "1-100% of guest RAM",
    );
    one_line_error(
        &["run", "--set", "cgroup.victim.memory.max=30%"],
        out.path(),
        "is not a role",
    );
}

#[test]
fn garbage_kernel_is_a_boot_failure_record() {
    let out = tempfile::tempdir().unwrap();
    let garbage = out.path().join("garbage-bzImage");
    std::fs::write(&garbage, vec![0x5au8; 4 << 20]).unwrap();
    let o = run_bounded(
        oomlab()
            .args(["run", "--accel", "tcg", "--boot-timeout", "30", "--kernel"])
            .arg(&garbage)
            .arg("--out")
            .arg(out.path().join("res")),
        Duration::from_secs(120),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let recs = records(&out.path().join("res"));
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["outcome"], "boot_failure", "{}", recs[0]);
    let err = stderr(&o);
    assert!(err.lines().any(|l| l.contains("boot_failure")), "{err}");
}
