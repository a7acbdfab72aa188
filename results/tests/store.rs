use oomlab_results::record::*;
use oomlab_results::summary;
use oomlab_results::{Store, StoreError};
use std::collections::BTreeMap;

fn record(id: &str, outcome: Outcome) -> RunRecord {
    RunRecord {
        schema: SCHEMA_VERSION,
        run_id: id.into(),
        started_at: "2026-11-27T12:00:00Z".into(),
        scenario: "usemem".into(),
        scenario_params: BTreeMap::new(),
        kernel: KernelInfo {
            spec: "debian:6.1".into(),
            release: "6.1.0-56-cloud-amd64".into(),
            sha256: "ab".into(),
            package: None,
        },
        accel: AccelInfo {
            used: "tcg".into(),
            requested: "auto".into(),
            reason: "forced".into(),
        },
        guest: GuestInfo {
            tcg_threads: Some("single".into()),
            memory_mib: 256,
            cpus: 2,
            cmdline: "console=ttyS0".into(),
            mem_total_kb: Some(200_000),
            cpus_shared: None,
            pinned_cpus: vec![],
        },
        settings: BTreeMap::new(),
        rep: 0,
        outcome,
        outcome_reason: "because".into(),
        setup: vec![],
        oom_invocations: 1,
        kills: vec![],
        wrong_victim_kills: 0,
        overkill_kills: 0,
        heuristic_mismatch: None,
        candidates_ahead_of_hog: None,
        projected_ms_to_hog: None,
        reaper: ReaperCounts::default(),
        processes: vec![],
        time_to_first_kill_ms: Some(10),
        time_to_recovery_ms: Some(20),
        max_heartbeat_gap_ms: Some(300),
        kill_stats: KillStats::default(),
        console: None,
        evidence: None,
        data_check: None,
        core_dump: None,
        plan: None,
        stall_ms: Some(0),
        probe_latency_ms: None,
        psi_memory: None,
        refaults: None,
        kernel_reports: KernelReports::default(),
        verdict_config: VerdictConfig::default(),
        harness_actions: vec![],
        boot_ms: Some(1500),
        wall_ms: 4000,
        clock_offset_ms: Some(0),
        qemu_version: "7.2".into(),
        oomlab_version: "0.1.0".into(),
        artifacts: Artifacts::default(),
    }
}

#[test]
fn commits_append_and_never_clobber() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for id in ["a", "b"] {
        let run = store.begin_run(id).unwrap();
        std::fs::write(run.path.join("console.log"), "x").unwrap();
        store.commit(run, &record(id, Outcome::Recovered)).unwrap();
    }
    // A second store on the same directory sees both and appends a third.
    let again = Store::open(dir.path()).unwrap();
    let run = again.begin_run("c").unwrap();
    again.commit(run, &record("c", Outcome::NoOom)).unwrap();
    let ids: Vec<String> = again
        .load()
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert!(dir.path().join("runs/a/console.log").exists());
    assert!(dir.path().join("runs/a/record.json").exists());
    assert!(!dir.path().join("runs/a.partial").exists());
    // Reusing an id is refused, both at begin and at commit.
    assert!(matches!(
        again.begin_run("a"),
        Err(StoreError::Duplicate(_))
    ));
}

#[test]
fn interrupted_runs_keep_artifacts_but_add_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let run = store.begin_run("x").unwrap();
    std::fs::write(run.path.join("console.log"), "boot").unwrap();
    let kept = store.abandon(run);
    assert!(kept.ends_with("x.interrupted"));
    assert!(kept.join("console.log").exists());
    assert!(store.load().unwrap().is_empty());
}

#[test]
fn refuses_foreign_or_unwritable_directories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("runs.jsonl"), "not json\n").unwrap();
    let err = Store::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("not an oomlab results file"), "{err}");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "").unwrap();
    let err = Store::open(&file.join("sub")).err().unwrap().to_string();
    assert!(err.contains("choose a writable --out"), "{err}");
}

#[test]
fn summary_gives_the_outcome_distribution_of_repetitions() {
    let mut runs: Vec<RunRecord> = (0..5)
        .map(|i| {
            let mut r = record(&format!("r{i}"), Outcome::Recovered);
            r.time_to_first_kill_ms = Some(100 + 10 * i);
            r
        })
        .collect();
    runs.push(record("x", Outcome::Livelock));
    let t = summary::table(&runs);
    assert!(
        t.contains("usemem on 6.1.0-56-cloud-amd64: recovered 5/6 (95% CI 44-97%), livelock 1/6 (95% CI 3-56%)"),
        "{t}"
    );
    // And the spread of each metric over the same runs: ttfk 100..140 and the
    // livelock's 10 (nearest-rank median of six: the third, 110).
    assert!(
        t.contains("usemem on 6.1.0-56-cloud-amd64: kills 0 [0-0, n=6], ttfk_ms 110 [10-140, n=6], ttr_ms 20 [20-20, n=6]"),
        "{t}"
    );
    // Groups that differ by a setting are named by it.
    let mut other = record("y", Outcome::Panic);
    other.settings.insert("vm.panic_on_oom".into(), "1".into());
    let mut other2 = other.clone();
    other2.run_id = "z".into();
    runs.extend([other, other2]);
    let t = summary::table(&runs);
    assert!(
        t.contains("usemem on 6.1.0-56-cloud-amd64 vm.panic_on_oom=1: panic 2/2"),
        "{t}"
    );
    assert!(
        t.contains("usemem on 6.1.0-56-cloud-amd64 vm.panic_on_oom=-: recovered 5/6"),
        "{t}"
    );
}

#[test]
fn summary_states_the_kill_pace_of_a_kill_storm() {
    let mut r = record("storm", Outcome::Unrecovered);
    r.kill_stats = KillStats {
        kill_interval_ms: Some(Percentiles2 {
            p50: 2050,
            p90: 2300,
        }),
        kill_to_reap_ms: Some(2010),
        freed_per_kill_kb: Some(700),
        kills_per_min: Some(29.0),
    };
    r.candidates_ahead_of_hog = Some(1000);
    r.projected_ms_to_hog = Some(2_050_000);
    let t = summary::table(&[r]);
    assert!(
        t.contains("storm: one kill every 2.0 s, 0.7 MB freed per kill, reaped 2.0 s after the kill, 1000 candidates ahead of the hog: about 34 min to reach it"),
        "{t}"
    );
}

fn kill(pid: u32, role: &str) -> KillRecord {
    KillRecord {
        pid,
        comm: "oom-lock-starva".into(),
        role: role.into(),
        anon_rss_kb: Some(135_040),
        oom_score_adj: Some(0),
        memcg: None,
        t_ms: Some(1800),
        kernel_choice: None,
    }
}

fn process(pid: u32, role: &str, signal: Option<i32>) -> ProcessRecord {
    ProcessRecord {
        name: format!("p{pid}"),
        role: role.into(),
        pid,
        exit_code: None,
        signal,
        stopped_by_agent: false,
    }
}

#[test]
fn summary_names_a_victim_that_never_exited() {
    let mut r = record("starve", Outcome::Recovered);
    r.kills = vec![kill(146, "expendable"), kill(145, "hog")];
    r.processes = vec![process(143, "bystander", None), process(145, "hog", None)];
    r.kill_stats.kill_interval_ms = Some(Percentiles2 { p50: 61, p90: 61 });
    r.candidates_ahead_of_hog = Some(0);
    assert_eq!(r.victims_never_exited().len(), 1);
    let t = summary::table(&[r.clone()]);
    assert!(
        t.contains("starve: killed but never exited by the end of the run: p145 (hog, pid 145)"),
        "{t}"
    );
    assert!(
        t.contains("one kill every 0.1 s, the hog was among them"),
        "{t}"
    );
    // Once it has exited (killed by SIGKILL), it is no longer stuck.
    r.processes[1].signal = Some(9);
    assert!(r.victims_never_exited().is_empty());
    assert!(!summary::table(&[r]).contains("never exited"));
}

#[test]
fn summary_lists_every_run_and_counts_outcomes() {
    let t = summary::table(&[
        record("a", Outcome::Recovered),
        record("b", Outcome::Timeout),
    ]);
    assert!(t.lines().next().unwrap().starts_with("run"));
    assert!(t.contains("b: timeout (because)"), "{t}");
    assert!(t.contains("outcomes: recovered 1, timeout 1"), "{t}");
}

#[test]
fn written_files_are_readable_by_others() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.md");
    oomlab_results::store::write_atomically(&path, b"x").unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
}
