//! Helpers shared by the end-to-end tests.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub fn oomlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oomlab"))
}

/// Run oomlab to completion with a bound; panics (fails the test) if it hangs.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn oomlab");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait oomlab"),
        Err(_) => {
            // SAFETY-free: plain kill of our own child.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("oomlab did not finish within {limit:?}");
        }
    }
}

/// One `oomlab run` under TCG into `out`, bounded; its single record.
pub fn run_one(out: &Path, args: &[&str]) -> Value {
    let o = run_bounded(
        oomlab()
            .args(["run", "--accel", "tcg", "--out"])
            .arg(out)
            .args(args),
        Duration::from_secs(600),
    );
    let recs = records(out);
    assert_eq!(recs.len(), 1, "stderr: {}", stderr(&o));
    recs.into_iter().next().unwrap()
}

/// The record's evidence shows the scenario's precondition held: `claim` is what it
/// says it needed.
pub fn assert_evidence(r: &Value, claim: &str) {
    let e = &r["evidence"];
    assert_eq!(e["precondition"], claim, "{e}");
    assert_eq!(e["precondition_met"], true, "seen: {}", e["seen"]);
}

pub fn records(out: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(out.join("runs.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("runs.jsonl line is JSON"))
        .collect()
}

/// Text of one of a record's artifacts (`console`, `events`, `timeline`, ...).
pub fn artifact(out: &Path, record: &Value, which: &str) -> String {
    let rel = record["artifacts"][which]
        .as_str()
        .unwrap_or_else(|| panic!("record has no {which} artifact: {record}"));
    std::fs::read_to_string(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The role of every kill in a record, in order.
pub fn kill_roles(record: &Value) -> Vec<String> {
    record["kills"]
        .as_array()
        .map(|ks| {
            ks.iter()
                .map(|k| k["role"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Direct children of `pid` whose command name is `name`.
pub fn children_named(pid: u32, name: &str) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some((comm_part, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = comm_part.split_once(" (").map_or("", |c| c.1);
        let ppid: u32 = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if ppid == pid && comm.starts_with(name) {
            found.push(child);
        }
    }
    found
}

pub fn alive(pid: u32) -> bool {
    // A zombie is dead for our purposes.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cond()
}

/// The record's setup check called `name`; fails the test when there is none.
pub fn setup_check(r: &Value, name: &str) -> Value {
    r["setup"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no setup check {name}: {}", r["setup"]))
}
