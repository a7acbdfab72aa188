//! The harness never leaves a QEMU behind: SIGINT, SIGTERM, or its own death.

use crate::common::*;
use std::process::{Child, Stdio};
use std::time::Duration;

/// Start a long run and wait until its QEMU is up.
fn start_run(out: &std::path::Path) -> (Child, u32) {
    let child = oomlab()
        .args([
            "run",
            "--kernel",
            "debian:6.1",
            "--accel",
            "tcg",
            "--timeout",
            "300",
            "--scenario",
            "usemem",
            "--out",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut qemu = Vec::new();
    let up = wait_until(Duration::from_secs(600), || {
        qemu = children_named(pid, "qemu-system");
        !qemu.is_empty()
    });
    assert!(up, "no QEMU child appeared");
    (child, qemu[0])
}

fn interrupt(signal: &str, expected_exit: i32) {
    let out = tempfile::tempdir().unwrap();
    let (mut child, qemu) = start_run(out.path());
    std::thread::sleep(Duration::from_millis(500));
    let st = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let exited = wait_until(Duration::from_secs(30), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    assert!(exited, "oomlab did not exit after {signal}");
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(expected_exit),
        "exit status after {signal}"
    );
    assert!(
        wait_until(Duration::from_secs(5), || !alive(qemu)),
        "QEMU {qemu} survived {signal}"
    );
    // No record for the unfinished run; its artifacts are kept aside.
    assert!(records(out.path()).is_empty());
    let kept: Vec<_> = std::fs::read_dir(out.path().join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(kept.iter().all(|n| n.ends_with(".interrupted")), "{kept:?}");
}

#[test]
fn sigint_kills_the_guest() {
    interrupt("-INT", 130);
}

#[test]
fn sigterm_kills_the_guest() {
    interrupt("-TERM", 143);
}

#[test]
fn sigkill_of_the_harness_takes_qemu_down() {
    let out = tempfile::tempdir().unwrap();
    let (mut child, qemu) = start_run(out.path());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || !alive(qemu)),
        "QEMU {qemu} outlived a SIGKILLed harness"
    );
}
