//! The CLI without guests: parse-log and scenarios.

use std::process::Command;

fn oomlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_oomlab"))
        .args(args)
        .output()
        .unwrap()
}

fn fixture(name: &str) -> String {
    format!("{}/klog/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn parse_log_json_has_the_documented_fields() {
    let o = oomlab(&[
        "parse-log",
        &fixture("linux-5.4-memcg-reaper.log"),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["oom_invocations"], 1);
    let k = &v["kills"][0];
    assert_eq!(k["pid"], 63214);
    assert_eq!(k["comm"], "uwsgi");
    assert_eq!(k["anon_rss_kb"], 164992);
    assert_eq!(k["oom_score_adj"], 986);
    assert_eq!(k["t_ms"], 7063247);
    assert!(k.get("memcg").is_some());
    assert_eq!(v["reaper"][0]["pid"], 63214);
    assert_eq!(v["reaper"][0]["result"], "reaped");
}

#[test]
fn parse_log_json_has_report_counts_a_timeline_and_the_kernels_own_check() {
    let path = format!(
        "{}/tests/fixtures/runs/usemem-6.1-recovered/console.log",
        env!("CARGO_MANIFEST_DIR")
    );
    let o = oomlab(&["parse-log", &path, "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in ["hung_tasks", "soft_lockups", "rcu_stalls", "alloc_failures"] {
        assert_eq!(v[key], 0, "{key}");
    }
    assert_eq!(v["panic"], false);
    let kinds: Vec<&str> = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "oom_invoked",
            "pages_ram",
            "task_dump",
            "constraint",
            "kill",
            "victim_check"
        ]
    );
    // The task dump before the kill lets the wrong-victim analysis run: the kernel killed
    // its own top candidate.
    let h = &v["kills"][0]["heuristic"];
    assert_eq!(h["top_pid"], 89);
    assert_eq!(h["mismatch"], false);
}

#[test]
fn parse_log_reads_a_recorded_oomlab_console() {
    let path = format!(
        "{}/tests/fixtures/runs/usemem-6.1-recovered/console.log",
        env!("CARGO_MANIFEST_DIR")
    );
    let o = oomlab(&["parse-log", &path]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("1 OOM invocations, 1 kills"), "{text}");
    assert!(
        text.contains("pid 89 (usemem) anon-rss 178640 kB"),
        "{text}"
    );
}

#[test]
fn parse_log_on_a_missing_file_is_one_line_and_exit_2() {
    let o = oomlab(&["parse-log", "/nonexistent/dmesg.txt"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/dmesg.txt"), "{err}");
}

#[test]
fn scenarios_list_names_usemem() {
    let o = oomlab(&["scenarios", "list"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("usemem"));
}
