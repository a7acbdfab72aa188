//! The verdict over recorded real runs and small edits of them.

use super::*;
use crate::session::observe_logs;
use crate::session::EndReason;

const T: Thresholds = Thresholds {
    responsive_gap_ms: 300,
    probe_threshold_ms: 500,
};
const CONSOLE_61: &str = include_str!("../../tests/fixtures/runs/usemem-6.1-recovered/console.log");
const EVENTS_61: &str = include_str!("../../tests/fixtures/runs/usemem-6.1-recovered/events.jsonl");
const CONSOLE_OOPS: &str = include_str!("../../tests/fixtures/runs/boot-oops-6.12/console.log");

const CONSOLE_612: &str = include_str!("../../tests/fixtures/runs/usemem-6.12-probes/console.log");
const EVENTS_612: &str = include_str!("../../tests/fixtures/runs/usemem-6.12-probes/events.jsonl");

fn judge_logs(console: &str, events: &str, end: EndReason) -> Verdict {
    judge_logs_with(console, events, end, &[])
}

/// `judge_logs` for a scenario with kernel helpers.
fn judge_logs_with(
    console: &str,
    events: &str,
    end: EndReason,
    helpers: &[crate::scenario::KernelHelper],
) -> Verdict {
    judge(
        &observe_logs(console.as_bytes(), events.as_bytes(), end),
        T,
        helpers,
    )
}

fn without_events(events: &str, kind: &str) -> String {
    events
        .lines()
        .filter(|l| !l.contains(&format!("\"event\":\"{kind}\"")))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn real_usemem_run_on_6_1_recovers_with_the_hog_killed() {
    let v = judge_logs(CONSOLE_61, EVENTS_61, EndReason::Finished);
    assert_eq!(v.outcome, Outcome::Recovered, "{}", v.reason);
    assert_eq!(v.kills.len(), 1);
    assert_eq!(v.kills[0].pid, 89);
    assert_eq!(v.kills[0].role, "hog");
    assert_eq!(v.kills[0].anon_rss_kb, Some(178640));
    assert_eq!(v.wrong_victim_kills, 0);
    let (ttfk, ttr) = (
        v.time_to_first_kill_ms.unwrap(),
        v.time_to_recovery_ms.unwrap(),
    );
    assert!(ttfk <= ttr, "{ttfk} <= {ttr}");
    // The hog's kill line is at printk 4.507471 s, the clock marker says printk runs
    // 45 ms behind the agent clock, and pressure started at agent 2831 ms.
    assert_eq!(ttfk, 4507 + 45 - 2831);
    assert_eq!(v.max_heartbeat_gap_ms, Some(102));
    let bystander = v.processes.iter().find(|p| p.role == "bystander").unwrap();
    assert!(bystander.stopped_by_agent || bystander.signal == Some(9));
}

#[test]
fn recovery_on_6_12_is_seen_by_the_first_fast_probe_after_the_hog_exits() {
    let v = judge_logs(CONSOLE_612, EVENTS_612, EndReason::Finished);
    assert_eq!(v.outcome, Outcome::Recovered, "{}", v.reason);
    // Marker: printk 3.979419 s vs agent 4033084 us -> offset -53 ms. Kill at printk
    // 5.553 s = agent 5606 ms; pressure start 4104 ms.
    assert_eq!(v.time_to_first_kill_ms, Some(5553 + 53 - 4104));
    // Recovery point = hog reaped at 5739 ms (after the kill); the first probe started
    // after it began at 5969 ms and took 61 ms.
    assert_eq!(v.time_to_recovery_ms, Some(5969 + 61 - 4104));
    assert_eq!(v.stall_ms, Some(0));
    let l = v.probe_latency_ms.unwrap();
    assert_eq!((l.n, l.max), (17, 103));
    assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max);
    // PSI some total grew 20346 us over 4045 ms of samples.
    let psi = v.psi_memory.unwrap();
    assert!(
        (psi.some_pct - 20346.0 * 100.0 / 4_045_000.0).abs() < 1e-9,
        "{psi:?}"
    );
    assert_eq!(v.kernel_reports, KernelReports::default());
}

#[test]
fn slow_probes_count_as_stall_and_delay_recovery() {
    // Stretch the two probes after the kill past the threshold.
    let events = EVENTS_612
        .replace(
            r#""t_ms":5969,"latency_ms":61"#,
            r#""t_ms":5969,"latency_ms":861"#,
        )
        .replace(
            r#""t_ms":6238,"latency_ms":91"#,
            r#""t_ms":6238,"latency_ms":691"#,
        );
    assert_ne!(
        events, EVENTS_612,
        "fixture changed: update the replacement"
    );
    let v = judge_logs(CONSOLE_612, &events, EndReason::Finished);
    assert_eq!(v.stall_ms, Some((861 - 500) + (691 - 500)));
    assert_eq!(v.time_to_recovery_ms, Some(6514 + 74 - 4104));
}

#[test]
fn latency_percentiles_use_nearest_rank() {
    let l = latency_summary((1..=100).collect()).unwrap();
    assert_eq!((l.n, l.p50, l.p90, l.p99, l.max), (100, 50, 90, 99, 100));
    assert_eq!(latency_summary(vec![]), None);
    let one = latency_summary(vec![7]).unwrap();
    assert_eq!((one.p50, one.p99), (7, 7));
}

#[test]
fn kernel_reports_are_counted() {
    let console = format!(
        "{CONSOLE_612}[   20.000000] INFO: task usemem:145 blocked for more than 120 seconds.\n[   21.000000] watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [usemem:145]\n"
    );
    let v = judge_logs(&console, EVENTS_612, EndReason::Finished);
    assert_eq!(v.kernel_reports.hung_tasks, 1);
    assert_eq!(v.kernel_reports.soft_lockups, 1);
}

#[test]
fn the_agent_stopping_a_hog_at_the_end_is_not_the_recovery_point() {
    // As if the hog had survived and the agent killed it when the scenario ended:
    // recovery must still be measured from the kill, not from that late SIGKILL.
    let events = EVENTS_612.replace(
        r#""t_ms":5739,"pid":145,"name":"hog","role":"hog","code":null,"signal":9,"stopped_by_agent":false"#,
        r#""t_ms":8769,"pid":145,"name":"hog","role":"hog","code":null,"signal":9,"stopped_by_agent":true"#,
    );
    assert_ne!(
        events, EVENTS_612,
        "fixture changed: update the replacement"
    );
    let v = judge_logs(CONSOLE_612, &events, EndReason::Finished);
    assert_eq!(v.outcome, Outcome::Recovered, "{}", v.reason);
    // First probe started after the kill (agent 5606 ms): 5708 ms, 54 ms.
    assert_eq!(v.time_to_recovery_ms, Some(5708 + 54 - 4104));
}

#[test]
fn a_kill_after_the_pressure_was_relieved_is_overkill() {
    // The hog was reaped at 5739 ms and the probe started at 5969 ms came back in
    // 61 ms: relieved at 6030 ms (agent) = printk 5977 ms. A kill after that is overkill,
    // and the recovery point moves to it.
    let late = "[    6.500000] Out of memory: Killed process 143 (usemem) total-vm:9000kB, anon-rss:8200kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:60kB oom_score_adj:0\n";
    let v = judge_logs(
        &format!("{CONSOLE_612}{late}"),
        EVENTS_612,
        EndReason::Finished,
    );
    assert_eq!(v.kills.len(), 2);
    assert_eq!(v.overkill_kills, 1);
    assert_eq!(v.wrong_victim_kills, 1, "the late victim is the bystander");
    let real = judge_logs(CONSOLE_612, EVENTS_612, EndReason::Finished);
    assert_eq!(real.overkill_kills, 0);
}

/// The 6.12 run with extra kills of herd members every 2 s, the last at printk
/// `last_s`, as if the kernel had kept killing small processes.
fn herd_kills_until(last_s: u32) -> String {
    let mut console = CONSOLE_612.to_string();
    for (i, t) in (6..=last_s).step_by(2).enumerate() {
        console.push_str(&format!(
            "[{t:>5}.600000] Out of memory: Killed process {} (herd) total-vm:900kB, anon-rss:700kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:1000\n",
            300 + i
        ));
    }
    console
}

#[test]
fn kills_every_2_s_to_the_end_without_recovery_are_unrecovered() {
    // Kills at printk 6.6 and 8.6 s (agent 6653, 8653 ms); the last probe started at
    // 8478 ms, before the last kill, and the agent's done came at 8770 ms.
    let v = judge_logs(&herd_kills_until(8), EVENTS_612, EndReason::Finished);
    assert_eq!(v.outcome, Outcome::Unrecovered, "{}", v.reason);
    assert!(v.reason.contains("one kill every"), "{}", v.reason);
    assert_eq!(
        v.kill_stats.kill_interval_ms.as_ref().map(|i| i.p50),
        Some(1047)
    );
    // The same at the harness's time limit.
    let v = judge_logs(
        &herd_kills_until(8),
        &without_events(EVENTS_612, "done"),
        EndReason::Timeout,
    );
    assert_eq!(v.outcome, Outcome::Unrecovered, "{}", v.reason);
}

#[test]
fn a_late_kill_followed_by_a_fast_probe_is_recovery() {
    // Kills up to printk 6.6 s (agent 6653 ms); probes started at 6786 ms and later
    // came back within the threshold, so the guest recovered after the last kill.
    let v = judge_logs(&herd_kills_until(6), EVENTS_612, EndReason::Finished);
    assert_eq!(v.outcome, Outcome::Recovered, "{}", v.reason);
    assert_eq!(v.time_to_recovery_ms, Some(6786 + 92 - 4104));
}

#[test]
fn kill_stats_measure_pace_reaping_and_yield() {
    let console = "\
[   10.000000] Out of memory: Killed process 10 (a) total-vm:2000kB, anon-rss:1000kB, file-rss:100kB, shmem-rss:24kB, UID:0 pgtables:40kB oom_score_adj:1000
[   10.150000] oom_reaper: reaped process 10 (a), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
[   12.000000] Out of memory: Killed process 11 (b) total-vm:2000kB, anon-rss:900kB, file-rss:100kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:1000
[   12.050000] oom_reaper: reaped process 11 (b), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
[   14.500000] Out of memory: Killed process 12 (c) total-vm:2000kB, anon-rss:700kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:1000
";
    let obs = observe_logs(console.as_bytes(), b"", EndReason::Timeout);
    let s = kill_stats(&obs.kernel);
    let i = s.kill_interval_ms.unwrap();
    assert_eq!((i.p50, i.p90), (2000, 2500));
    assert_eq!(
        s.kill_to_reap_ms,
        Some(50),
        "median of 150 and 50 by nearest rank"
    );
    assert_eq!(s.freed_per_kill_kb, Some(1000), "median of 1124, 1000, 700");
    assert!((s.kills_per_min.unwrap() - 2.0 * 60_000.0 / 4500.0).abs() < 1e-9);
    let one = kill_stats(&observe_logs(CONSOLE_61.as_bytes(), b"", EndReason::Finished).kernel);
    assert_eq!(one.kill_interval_ms, None);
    assert_eq!(one.kills_per_min, None);
    assert_eq!(one.freed_per_kill_kb, Some(178640 + 4 + 1096));
}

#[test]
fn the_kernels_own_ranking_is_checked_against_its_choice() {
    let v = judge_logs(CONSOLE_61, EVENTS_61, EndReason::Finished);
    assert_eq!(v.heuristic_mismatch, Some(false));
    let choice = v.kills[0].kernel_choice.as_ref().unwrap();
    assert_eq!((choice.top_pid, choice.victim_rank), (Some(89), Some(1)));
    assert_eq!(v.candidates_ahead_of_hog, Some(0));
    // Raise the bystander's adj in the dump: by the kernel's own rules it now
    // outranks the hog, so killing the hog is a mismatch and one candidate is ahead.
    let console = CONSOLE_61.replace(
        "[     88]     0    88     2463     2299    57344        0             0 usemem",
        "[     88]     0    88     2463     2299    57344        0          1000 usemem",
    );
    assert_ne!(console, CONSOLE_61);
    let v = judge_logs(&console, EVENTS_61, EndReason::Finished);
    assert_eq!(v.heuristic_mismatch, Some(true));
    assert_eq!(v.kills[0].kernel_choice.as_ref().unwrap().top_pid, Some(88));
    assert_eq!(v.candidates_ahead_of_hog, Some(1));
}

#[test]
fn a_kill_of_the_bystander_is_a_wrong_victim() {
    let console = CONSOLE_61.replace("Killed process 89 (usemem)", "Killed process 88 (usemem)");
    let v = judge_logs(&console, EVENTS_61, EndReason::Finished);
    assert_eq!(v.kills[0].role, "bystander");
    assert_eq!(v.wrong_victim_kills, 1);
}

#[test]
fn a_kill_of_a_process_the_agent_did_not_start_is_unknown_and_wrong() {
    let console = CONSOLE_61.replace("Killed process 89 (usemem)", "Killed process 4242 (usemem)");
    let v = judge_logs(&console, EVENTS_61, EndReason::Finished);
    assert_eq!(v.kills[0].role, "unknown");
    assert_eq!(v.wrong_victim_kills, 1);
}

const CONSOLE_PIPE: &str =
    include_str!("../../tests/fixtures/runs/coredump-pipe-6.12-helper-killed/console.log");
const EVENTS_PIPE: &str =
    include_str!("../../tests/fixtures/runs/coredump-pipe-6.12-helper-killed/events.jsonl");

#[test]
fn the_kernels_pipe_helper_takes_the_role_coredump_pipe_gives_it() {
    // vm.oom_kill_allocating_task=1 killed the core_pattern helper the kernel started
    // (pid 152, task name cut to 15 bytes), then usemem.
    let unnamed = judge_logs(CONSOLE_PIPE, EVENTS_PIPE, EndReason::Finished);
    assert_eq!(unnamed.kills[0].comm, "core-pipe-helpe");
    assert_eq!(unnamed.kills[0].role, "unknown");
    assert_eq!(unnamed.wrong_victim_kills, 1);

    let plan = crate::scenario::resolve("coredump-pipe", &[]).unwrap();
    let v = judge_logs_with(
        CONSOLE_PIPE,
        EVENTS_PIPE,
        EndReason::Finished,
        &plan.kernel_helpers,
    );
    let roles: Vec<(u32, &str)> = v.kills.iter().map(|k| (k.pid, k.role.as_str())).collect();
    assert_eq!(roles, [(152, "expendable"), (155, "expendable")]);
    assert_eq!(v.wrong_victim_kills, 0);
    assert_eq!(v.outcome, Outcome::Recovered, "{}", v.reason);
}

#[test]
fn a_helper_name_never_overrides_a_role_known_by_pid() {
    // usemem (pid 89) is the hog by pid; a helper of the same name must not relabel it.
    let helper = crate::scenario::KernelHelper {
        program: "usemem".into(),
        role: Role::Bystander,
    };
    let v = judge_logs_with(CONSOLE_61, EVENTS_61, EndReason::Finished, &[helper]);
    assert_eq!(v.kills[0].role, "hog");
}

#[test]
fn a_member_of_a_cgroup_takes_its_members_role() {
    // The hog runs in cgroup oomlab-storm and forks pid 4242 there; the agent lists it.
    let console = CONSOLE_61.replace("Killed process 89 (usemem)", "Killed process 4242 (usemem)");
    let started = r#""name":"hog","role":"hog","pid":89}"#;
    let members =
        "{\"event\":\"members\",\"t_ms\":3100,\"cgroup\":\"oomlab-storm\",\"pids\":[4242]}\n";
    let with = |extra: &str| {
        EVENTS_61.replace(
            started,
            &format!(
                r#""name":"hog","role":"hog","pid":89,"cgroup":"oomlab-storm"{extra}}}
{members}"#
            ),
        )
    };
    let v = judge_logs(
        &console,
        &with(r#","members_role":"expendable""#),
        EndReason::Finished,
    );
    assert_eq!(v.kills[0].role, "expendable");
    assert_eq!(v.wrong_victim_kills, 0);
    // Without members_role a member has its owner's role.
    let v = judge_logs(&console, &with(""), EndReason::Finished);
    assert_eq!(v.kills[0].role, "hog");
}

#[test]
fn no_responsive_heartbeat_after_the_kill_is_not_recovery() {
    let events: String = EVENTS_61
        .lines()
        .filter(|l| {
            // Drop every heartbeat after the hog's exit (agent time 4.5 s on).
            !(l.contains("\"heartbeat\"") && A::from_line(l).is_some_and(|e| e.t_ms() > 4_500))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let v = judge_logs(CONSOLE_61, &events, EndReason::Finished);
    assert_eq!(v.outcome, Outcome::Timeout, "{}", v.reason);
    assert_eq!(v.time_to_recovery_ms, None);
}

#[test]
fn the_harness_limit_without_done_is_a_timeout() {
    let v = judge_logs(
        CONSOLE_61,
        &without_events(EVENTS_61, "done"),
        EndReason::Timeout,
    );
    assert_eq!(v.outcome, Outcome::Timeout);
}

#[test]
fn a_livelock_end_is_a_livelock_and_says_what_sysrq_f_did() {
    let v = judge_logs(
        CONSOLE_612,
        &without_events(EVENTS_612, "done"),
        EndReason::Livelock {
            sysrq_f_recovered: Some(false),
        },
    );
    assert_eq!(v.outcome, Outcome::Livelock);
    assert!(v.reason.contains("after sysrq-f"), "{}", v.reason);
}

#[test]
fn silence_after_ready_is_hung() {
    let v = judge_logs(
        CONSOLE_61,
        &without_events(EVENTS_61, "done"),
        EndReason::Silent,
    );
    assert_eq!(v.outcome, Outcome::Hung);
}

#[test]
fn no_kill_is_no_oom() {
    let console: String = CONSOLE_61
        .lines()
        .filter(|l| !l.contains("Killed process"))
        .map(|l| format!("{l}\n"))
        .collect();
    let v = judge_logs(&console, EVENTS_61, EndReason::Finished);
    assert_eq!(v.outcome, Outcome::NoOom, "{}", v.reason);
    assert_eq!(v.time_to_first_kill_ms, None);
    assert_eq!(v.time_to_recovery_ms, None);
}

#[test]
fn a_panic_after_ready_is_panic() {
    let console = format!("{CONSOLE_61}[    9.000000] Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled\n");
    let v = judge_logs(
        &console,
        &without_events(EVENTS_61, "done"),
        EndReason::QemuExited("exit status: 0".into()),
    );
    assert_eq!(v.outcome, Outcome::Panic, "{}", v.reason);
    assert!(v.reason.contains("panic_on_oom"), "{}", v.reason);
}

#[test]
fn a_real_boot_oops_on_6_12_is_a_boot_failure_that_names_the_panic() {
    let v = judge_logs(
        CONSOLE_OOPS,
        "",
        EndReason::QemuExited("exit status: 0".into()),
    );
    assert_eq!(v.outcome, Outcome::BootFailure);
    assert!(v.reason.contains("panic during boot"), "{}", v.reason);
    assert!(
        v.reason.contains("Fatal exception in interrupt"),
        "{}",
        v.reason
    );
}

#[test]
fn a_setting_that_did_not_take_is_an_error_not_a_kernel_result() {
    let events = EVENTS_61.replace(
        r#""actual":"7\t4\t1\t7","ok":true"#,
        r#""actual":"4\t4\t1\t7","ok":false"#,
    );
    assert_ne!(events, EVENTS_61, "fixture changed: update the replacement");
    let v = judge_logs(CONSOLE_61, &events, EndReason::Finished);
    assert_eq!(v.outcome, Outcome::Error);
    assert!(v.reason.contains("kernel.printk"), "{}", v.reason);
}

#[test]
fn a_failed_setup_check_is_an_error_naming_it() {
    let check = r#"{"event":"check","t_ms":2800,"name":"cgroup oomlab-hog memory.max","ok":false,"detail":"asked 30%, read back max"}"#;
    let events = EVENTS_61.replacen(
        r#"{"event":"pressure_start""#,
        &format!("{check}\n{{\"event\":\"pressure_start\""),
        1,
    );
    assert_ne!(events, EVENTS_61);
    let v = judge_logs(CONSOLE_61, &events, EndReason::Finished);
    assert_eq!(v.outcome, Outcome::Error);
    assert!(
        v.reason.contains("cgroup oomlab-hog memory.max"),
        "{}",
        v.reason
    );
}

#[test]
fn qemu_that_cannot_start_is_an_error() {
    let v = judge_logs("", "", EndReason::SpawnFailed("cannot start qemu".into()));
    assert_eq!(v.outcome, Outcome::Error);
}

const CONSOLE_HERD_FS: &str =
    include_str!("../../tests/fixtures/runs/herd-fs-6.1-slow-motion/console.log");
const EVENTS_HERD_FS: &str =
    include_str!("../../tests/fixtures/runs/herd-fs-6.1-slow-motion/events.jsonl");

#[test]
fn a_real_slow_motion_oom_is_unrecovered_with_the_reaper_pace() {
    let v = judge_logs(CONSOLE_HERD_FS, EVENTS_HERD_FS, EndReason::Finished);
    assert_eq!(v.outcome, Outcome::Unrecovered, "{}", v.reason);
    assert_eq!(v.kills.len(), 58);
    assert!(v.kills.iter().all(|k| k.role == "expendable"));
    // One kill per oom_reaper delay: the median gap and kill-to-reap are both ~2 s.
    let s = &v.kill_stats;
    let i = s.kill_interval_ms.as_ref().unwrap();
    assert!((2000..2500).contains(&i.p50), "{i:?}");
    assert!((2000..2200).contains(&s.kill_to_reap_ms.unwrap()), "{s:?}");
    // The agent's SIGKILLs of the leftovers at the deadline let a probe through, but
    // that is not the kernel recovering.
    assert_eq!(v.time_to_recovery_ms, None);
    assert!(v.kernel_reports.hung_tasks > 0);
    let ahead = v.candidates_ahead_of_hog.unwrap();
    assert!(ahead > 300, "{ahead} candidates ahead of the hog");
    assert!(v.projected_ms_to_hog.unwrap() > 10 * 60 * 1000);
    assert_eq!(v.heuristic_mismatch, Some(false));
}
