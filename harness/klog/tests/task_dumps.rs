//! OOM task dumps and the kernel's own victim choice: real reports (tests/fixtures/README.md
//! says where each came from) with exact rows, rankings and checks, plus constructed cases
//! for what the real ones do not show.

mod common;

use common::*;
use oomlab_klog::{
    badness_ranking, candidates_ahead, heuristic_check, infer_totalpages_from_kill,
    pair_kills_with_dumps, parse_bytes, Badness, BadnessEra, DumpFormat, DumpedTask, Event,
    HeuristicCheck, Parser, MAX_DUMP_ROWS,
};

fn all(name: &str) -> Vec<Event> {
    events_of(&fixture(name))
}

/// The tables of a fixture: `(format, tasks, dropped_rows)`.
fn dumps(evs: &[Event]) -> Vec<(DumpFormat, &[DumpedTask], u64)> {
    evs.iter()
        .filter_map(|e| match e {
            Event::TaskDump {
                format,
                tasks,
                dropped_rows,
                ..
            } => Some((*format, &tasks[..], *dropped_rows)),
            _ => None,
        })
        .collect()
}

/// `(killed pid, check)` of every victim check.
fn checks(evs: &[Event]) -> Vec<(u32, &HeuristicCheck)> {
    evs.iter()
        .filter_map(|e| match e {
            Event::VictimCheck { pid, check, .. } => Some((*pid, check)),
            _ => None,
        })
        .collect()
}

fn pids(tasks: &[DumpedTask]) -> Vec<u32> {
    tasks.iter().map(|t| t.pid).collect()
}

#[allow(clippy::too_many_arguments)]
fn row(
    pid: u32,
    uid: u32,
    total_vm: u64,
    rss: u64,
    pgtables_bytes: Option<u64>,
    swapents: Option<u64>,
    adj: i32,
    name: &str,
) -> DumpedTask {
    DumpedTask {
        pid,
        uid: Some(uid),
        tgid: Some(pid),
        total_vm_pages: Some(total_vm),
        rss_pages: Some(rss),
        rss_anon_pages: None,
        rss_file_pages: None,
        rss_shmem_pages: None,
        pgtables_bytes,
        swapents,
        oom_score_adj: Some(adj),
        name: name.into(),
        complete: true,
    }
}

// ---- real reports -------------------------------------------------------------------------

/// 3.2 (Ubuntu 12.04, 32-bit): the whole process table of a global OOM in syslog form, the
/// 2.6.36-3.5 `cpu oom_adj oom_score_adj` columns, and a parent (MathKernel) chosen whose
/// child (java) was killed.
#[test]
fn v3_2_full_table_and_sacrificed_child() {
    let e = all("linux-3.2-syslog-task-dump-sacrificed-child.log");
    let d = dumps(&e);
    assert_eq!(d.len(), 1);
    let (format, tasks, dropped) = d[0];
    assert_eq!(
        (format, dropped, tasks.len()),
        (DumpFormat::CpuOomScoreAdj, 0, 76)
    );
    assert_eq!(
        tasks[0],
        row(305, 0, 710, 0, None, None, 0, "upstart-udev-br")
    );
    assert_eq!(tasks[1], row(308, 0, 811, 1, None, None, -1000, "udevd"));
    assert_eq!(
        tasks[72],
        row(3361, 1000, 693_235, 472_470, None, None, 0, "MathKernel")
    );
    assert_eq!(
        tasks[73],
        row(3526, 1000, 123_422, 0, None, None, 0, "java")
    );
    assert_eq!(pids(&tasks[74..]), [3948, 3949]);
    assert!(tasks.iter().all(|t| t.complete));
    assert!(e
        .iter()
        .any(|e| matches!(e, Event::PagesRam { pages: 521_920, .. })));

    // totalpages = (RAM - reserved) + swap pages = (521920 - 8799) + 1036284 / 4.
    let c = checks(&e);
    assert_eq!(c.len(), 1);
    let (killed, c) = c[0];
    assert_eq!(killed, 3526, "the check rides on the java kill");
    assert_eq!(c.chosen_pid, 3361, "but compares the task the kernel chose");
    assert_eq!(c.totalpages, Some(772_192));
    assert_eq!(c.era, BadnessEra::V2_6_36);
    assert_eq!(
        (c.top_pid, c.victim_rank, c.mismatch),
        (Some(3361), Some(1), false)
    );
    // Normalized: 472470 * 1000 / 772192 = 611. The kernel printed 837: it also counted swap
    // and page tables, which this dump format does not show, hence `approximate`.
    assert_eq!(c.top_points, Some(611));
    assert!(c.approximate);
    // Everything else is clamped to 1 and ties go to the first scanned; -1000 is left out.
    let r = Badness::new(BadnessEra::V2_6_36, 772_192).ranking(tasks);
    assert_eq!(&r[..3], [(3361, 611), (305, 1), (530, 1)]);
    assert_eq!(r.len(), 73);
    assert!(r.iter().all(|(pid, _)| ![308, 3948, 3949].contains(pid)));
}

/// 3.7 memcg OOMs (linux-mm post): full cgroup tables, the cgroup limit as `totalpages`, and
/// the kernel's printed scores reproduced exactly by the 3.5-3.13 formula.
#[test]
fn v3_7_memcg_tables_reproduce_the_printed_scores() {
    let e = all("linux-3.7-memcg-task-dump-two-reports.log");
    let d = dumps(&e);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].0, DumpFormat::NrPtes);
    assert_eq!(pids(d[0].1), [2693, 2754, 2811, 2874, 2935, 2976]);
    assert_eq!(
        d[0].1[5],
        row(2976, 0, 21520, 17577, Some(42 * 4096), Some(0), 0, "mal-80")
    );
    assert_eq!(pids(d[1].1), [2260, 2383, 2503, 2622, 2695, 2704]);

    let c = checks(&e);
    let scores: Vec<i64> = e
        .iter()
        .filter_map(|e| match e {
            Event::Kill { score, .. } => *score,
            _ => None,
        })
        .collect();
    assert_eq!(scores, [665, 669]);
    // Limits 101376 kB and 102400 kB (memory+swap no larger): 25344 and 25600 pages.
    let want = [(2976, 25_344, 16_869), (2704, 25_600, 17_132)];
    for ((pid, check), (want_pid, total, points)) in c.iter().zip(want) {
        assert_eq!(*pid, want_pid);
        assert_eq!(check.era, BadnessEra::V3_5);
        assert_eq!(check.totalpages, Some(total));
        assert_eq!(
            (check.top_pid, check.victim_rank, check.mismatch),
            (Some(want_pid), Some(1), false)
        );
        // rss + nr_ptes + (0 - 30) * (totalpages / 1000) for root.
        assert_eq!(check.top_points, Some(points));
        // The kill line's score is points * 1000 / totalpages.
        let printed = points * 1000 / total as i64;
        assert!(scores.contains(&printed), "{printed}");
    }
    // The 'show_mem' lines of the first report describe the machine, not the cgroup.
    assert!(e.iter().any(|e| matches!(
        e,
        Event::PagesRam {
            pages: 1_040_368,
            ..
        }
    )));
    let s = parse_bytes(&fixture("linux-3.7-memcg-task-dump-two-reports.log"));
    assert_eq!(s.task_dumps, 2);
    assert!(s.kills.iter().all(|k| k.heuristic.is_some()));
}

/// 4.12 global OOM (linux-mm post): the 4.0-4.14 `nr_ptes nr_pmds` columns and no `pages RAM`
/// line in the excerpt; `totalpages` is bounded by the printed score instead.
#[test]
fn v4_12_nr_pmds_and_totalpages_from_the_score() {
    let e = all("linux-4.12-global-task-dump-nr_pmds.log");
    let d = dumps(&e);
    assert_eq!(d.len(), 1);
    let (format, tasks, _) = d[0];
    assert_eq!((format, tasks.len()), (DumpFormat::NrPmds, 21));
    assert_eq!(
        tasks[17],
        row(447, 0, 23459, 384, Some(50 * 4096), Some(0), 0, "(sd-pam)")
    );
    assert_eq!(tasks[4].oom_score_adj, Some(-900));
    let allocate = &tasks[20];
    assert_eq!(
        *allocate,
        row(
            492,
            0,
            513_092,
            473_645,
            Some(939 * 4096),
            Some(0),
            0,
            "allocate"
        )
    );

    // score 899 = points * 1000 / totalpages, points = 474584 - 3% (root) = 460347.
    assert_eq!(
        infer_totalpages_from_kill(allocate, 899, BadnessEra::V3_14),
        Some((511_497, 512_065))
    );
    let c = checks(&e);
    assert_eq!(c.len(), 1, "the second report printed no table");
    let (pid, c) = c[0];
    assert_eq!(pid, 492);
    assert_eq!(c.era, BadnessEra::V3_14);
    assert_eq!(
        (c.totalpages, c.totalpages_range),
        (None, Some((511_497, 512_065)))
    );
    assert_eq!(
        (c.top_pid, c.victim_rank, c.mismatch),
        (Some(492), Some(1), false)
    );
    assert_eq!(c.top_points, Some(460_347));

    let r = Badness::new(BadnessEra::V3_14, 512_000).ranking(tasks);
    let top: Vec<u32> = r.iter().take(3).map(|x| x.0).collect();
    assert_eq!(top, [492, 233, 394]);
    // dbus-daemon at -900 is clamped to 1; the -1000 tasks are not candidates.
    assert!(r.contains(&(229, 1)));
    assert_eq!(r.len(), 18);

    // The second kill (firewalld, chosen while the first victim was still exiting) has no
    // table in its report, so no check.
    let s = parse_bytes(&fixture("linux-4.12-global-task-dump-nr_pmds.log"));
    assert_eq!(s.kills.len(), 2);
    assert!(s.kills[0].heuristic.is_some() && s.kills[1].heuristic.is_none());
    let kills_and_dumps = pair_kills_with_dumps(&e);
    assert_eq!(kills_and_dumps.len(), 2);
    assert!(kills_and_dumps[0].1.is_some() && kills_and_dumps[1].1.is_none());
}

/// 5.0 (already a fixture): the 4.19+ `Tasks state` table, the release from the
/// `dump_stack()` header, and no `pages RAM` needed because every candidate has adj 0.
#[test]
fn v5_0_tasks_state_table() {
    let e = all("linux-5.0-global-constraint-reaper-unable.log");
    let d = dumps(&e);
    assert_eq!(d[0].0, DumpFormat::TasksState);
    assert_eq!(pids(d[0].1), [128, 130, 132, 180, 181, 185]);
    assert_eq!(
        d[0].1[0],
        row(
            128,
            0,
            8930,
            954,
            Some(114_688),
            Some(0),
            -1000,
            "systemd-udevd"
        )
    );
    assert_eq!(d[0].1[3].name, "systemd-detect-");
    let c = checks(&e);
    let (_, c) = c[0];
    assert_eq!(c.era, BadnessEra::V4_17);
    assert_eq!(c.totalpages, None);
    assert!(!c.approximate);
    assert_eq!(
        (c.top_pid, c.top_points, c.mismatch),
        (Some(132), Some(551), false)
    );
    // 132 beat 130 by one page of rss.
    let r = Badness::new(BadnessEra::V4_17, 0).ranking(d[0].1);
    assert_eq!(&r[..2], [(132, 551), (130, 550)]);
}

/// The oomlab run (Debian 6.1 guest): exact `totalpages` from the report, equal to the
/// guest's MemTotal (222376 kB) since it had no swap.
#[test]
fn v6_1_oomlab_run_is_exact() {
    let e = all("linux-6.1-oomlab-usemem-global.log");
    let d = dumps(&e);
    assert_eq!(
        d[0].1,
        [
            row(88, 0, 2463, 2299, Some(57_344), Some(0), 0, "usemem"),
            row(89, 0, 45_471, 44_935, Some(397_312), Some(0), 0, "usemem"),
        ]
    );
    let c = checks(&e);
    let (pid, c) = c[0];
    assert_eq!(pid, 89);
    assert_eq!(c.totalpages, Some(65_406 - 9_812));
    assert_eq!(c.totalpages, Some(222_376 / 4));
    assert_eq!(c.era, BadnessEra::V5_9);
    assert!(!c.approximate && !c.mismatch);
    assert_eq!(
        badness_ranking(d[0].1, 55_594),
        [(89, 44_935 + 97), (88, 2_299 + 14)]
    );
}

/// The 6.8+ `rss_anon rss_file rss_shmem` columns (sample from the upstream commit message).
#[test]
fn v6_8_rss_breakdown_columns() {
    let e = all("linux-6.8-rss-breakdown-columns.log");
    assert_eq!(e.len(), 1, "the table is emitted at the end of input");
    let d = dumps(&e);
    assert_eq!(d[0].0, DumpFormat::RssBreakdown);
    let mut want = row(
        156,
        0,
        153_531,
        153_345,
        Some(1_269_760),
        Some(0),
        0,
        "mm_test",
    );
    want.rss_anon_pages = Some(153_345);
    want.rss_file_pages = Some(0);
    want.rss_shmem_pages = Some(0);
    assert_eq!(d[0].1[1], want);
    assert_eq!(d[0].1[0].rss_file_pages, Some(288));
    assert!(matches!(
        e[0],
        Event::TaskDump {
            t_ms: Some(1_630_902),
            ..
        }
    ));
}

/// 3.x memcg (already a fixture): two identical rows. Up to 5.2 the kernel keeps the first
/// task with the highest points, and it killed the first; from 5.3 it would keep the last.
#[test]
fn v3_identical_rows_tie_to_the_first() {
    let e = all("linux-3.x-syslog-memcg-task-in-uid.log");
    let d = dumps(&e);
    assert_eq!(pids(d[0].1), [42421, 42423]);
    let (_, c) = checks(&e)[0];
    assert_eq!((c.top_pid, c.mismatch), (Some(42421), false));
    assert_eq!(c.totalpages, None, "the cgroup limit is 0 kB: not usable");
    assert_eq!(badness_ranking(d[0].1, 0)[0].0, 42423);
}

/// Excerpts that cut the table: a chosen task missing from the dump is flagged, and an empty
/// table gives no check.
#[test]
fn partial_tables_in_excerpts() {
    let e = all("linux-3.10-dmesg-T-memcg-child.log");
    let (killed, c) = checks(&e)[0];
    assert_eq!((killed, c.chosen_pid), (28438, 24572));
    assert_eq!((c.victim_rank, c.top_pid), (None, Some(28438)));
    assert!(c.approximate && c.mismatch);

    let e = all("linux-6.x-memcg-oom-group.log");
    let d = dumps(&e);
    assert_eq!((d.len(), d[0].1.len()), (1, 0));
    assert!(checks(&e).is_empty());
    assert_eq!(pair_kills_with_dumps(&e).len(), 1);
}

/// Two real reports from different kernels in one log (a reboot: the printk time goes
/// back): each is checked with its own kernel's era.
#[test]
fn reboot_into_another_kernel() {
    let mut log = fixture("linux-5.0-global-constraint-reaper-unable.log");
    log.extend(fixture("linux-6.1-oomlab-usemem-global.log"));
    let e = events_of(&log);
    let eras: Vec<BadnessEra> = checks(&e).iter().map(|c| c.1.era).collect();
    assert_eq!(eras, [BadnessEra::V4_17, BadnessEra::V5_9]);
}

/// A show_mem() block outside an OOM report (sysrq-m, an allocation failure) does not size
/// the next report.
#[test]
fn show_mem_outside_a_report_is_not_read() {
    let log = "[    1.0] Total swap = 0kB\n[    1.0] 1000 pages RAM\n[    1.0] 10 pages reserved\n";
    assert!(events(log).is_empty());
}

// ---- constructed cases ----------------------------------------------------------------------

/// The 6.1 run with the bystander's oom_score_adj raised to 1000: the kernel would have killed
/// it, yet the log says pid 89 died. (Constructed from the real fixture.)
#[test]
fn constructed_wrong_victim_is_a_mismatch() {
    let text = String::from_utf8(fixture("linux-6.1-oomlab-usemem-global.log")).unwrap();
    let row88 = "[     88]     0    88     2463     2299    57344        0             0 usemem";
    assert!(text.contains(row88));
    let text = text.replace(
        row88,
        "[     88]     0    88     2463     2299    57344        0          1000 usemem",
    );
    let e = events(&text);
    let (_, c) = checks(&e)[0];
    assert_eq!(c.chosen_pid, 89);
    assert_eq!((c.top_pid, c.victim_rank), (Some(88), Some(2)));
    assert_eq!(c.candidates_ahead_of, Some(1));
    assert!(c.mismatch);
    // adj 1000 adds 1000 * (55594 / 1000) = 55000 pages.
    assert_eq!(c.top_points, Some(2_313 + 55_000));
    let d = dumps(&e);
    assert_eq!(heuristic_check(d[0].1, 89, 55_594), *c);
    assert_eq!(candidates_ahead(d[0].1, 89, 55_594), Some(1));
    let s = parse_bytes(text.as_bytes());
    assert!(s.kills[0].heuristic.as_ref().is_some_and(|h| h.mismatch));
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.contains(r#""task_dumps":1"#), "{json}");
    assert!(
        json.contains(r#""heuristic":{"chosen_pid":89,"top_pid":88"#),
        "{json}"
    );
    assert!(json.contains(r#""era":"v5_9""#), "{json}");
}

const HEADER: &str =
    "[   10.0] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name";

fn task_line(t: &str, pid: u32, rss: u64, adj: i32, name: &str) -> String {
    format!(
        "[{t}] [{pid:7}] {:5} {pid:5} {:8} {rss:8} {:8} {:8}         {adj:5} {name}",
        0,
        rss * 2,
        8192,
        0
    )
}

/// Rows interleaved with other CPUs' lines, without timestamps, split mid-line by another
/// record, or cut short; the table still ends at the OOM line.
#[test]
fn interleaved_and_truncated_rows() {
    let log = [
        HEADER.to_string(),
        task_line("   10.1", 100, 500, 0, "a"),
        "[   10.1] systemd[1]: Started Session 3 of user root.".into(),
        // No timestamp (console line continuation, dmesg -t).
        task_line("   10.1", 101, 700, 0, "Web Content")
            .split_once("] ")
            .unwrap()
            .1
            .to_string(),
        // Another CPU's record starts in the middle of this row.
        task_line("   10.2", 102, 900, 0, "worker") + "[   10.2] eth0: link up",
        // Cut inside a number.
        "[   10.3] [    103]     0   103     99".into(),
        "[   10.4] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=worker,pid=102,uid=0".into(),
        "[   10.5] Out of memory: Killed process 102 (worker) total-vm:7200kB, anon-rss:3600kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:8kB oom_score_adj:0".into(),
        task_line("   10.6", 104, 1, 0, "after-the-table"),
    ]
    .join("\n");
    let e = events(&log);
    let d = dumps(&e);
    assert_eq!(d.len(), 1);
    let t = d[0].1;
    assert_eq!(pids(t), [100, 101, 102, 103]);
    assert_eq!(
        (t[1].name.as_str(), t[1].rss_pages),
        ("Web Content", Some(700))
    );
    assert_eq!(t[2].name, "worker");
    assert!(t[..3].iter().all(|t| t.complete));
    assert_eq!((t[3].total_vm_pages, t[3].complete), (None, false));
    assert!(matches!(
        e[0],
        Event::TaskDump {
            t_ms: Some(10_000),
            ..
        }
    ));
    // The dump precedes the constraint line, which precedes the kill and its check.
    let kinds: Vec<&str> = e
        .iter()
        .map(|e| match e {
            Event::TaskDump { .. } => "dump",
            Event::Constraint { .. } => "constraint",
            Event::Kill { .. } => "kill",
            Event::VictimCheck { .. } => "check",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["dump", "constraint", "kill", "check"]);
    let (_, c) = checks(&e)[0];
    assert_eq!(
        (c.top_pid, c.mismatch, c.approximate),
        (Some(102), false, true)
    );
    // All three entry points agree.
    assert_eq!(
        parse_bytes(log.as_bytes()),
        summary_by_lines(log.as_bytes())
    );
}

/// Past `NONROW_LIMIT` non-row lines the parser stops reading rows, but the table is still
/// reported before the report's next line.
#[test]
fn long_interruptions_stop_row_reading() {
    let mut lines = vec![HEADER.to_string(), task_line("   10.1", 1, 5, 0, "a")];
    lines.extend((0..9).map(|i| format!("[   10.2] unrelated message {i}")));
    lines.push(task_line("   10.3", 2, 5, 0, "b"));
    lines.push("[   10.4] Out of memory: Killed process 1 (a) total-vm:40kB, anon-rss:20kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:8kB oom_score_adj:0".into());
    let log = lines.join("\n");
    let e = events(&log);
    assert_eq!(pids(dumps(&e)[0].1), [1]);
    assert!(matches!(e[1], Event::Kill { pid: 1, .. }));
    assert_eq!(
        parse_bytes(log.as_bytes()),
        summary_by_lines(log.as_bytes())
    );
}

/// A table is capped at `MAX_DUMP_ROWS` rows; the rest are counted.
#[test]
fn row_cap() {
    let mut p = Parser::new();
    assert!(p.push_line(HEADER.as_bytes()).is_empty());
    for pid in 0..=MAX_DUMP_ROWS as u32 {
        let l =
            format!("[{pid:7}]     0 {pid:5}       10        5     4096        0             0 x");
        assert!(p.push_line(l.as_bytes()).is_empty());
    }
    let e = p.finish();
    let d = dumps(&e);
    assert_eq!((d[0].1.len(), d[0].2), (MAX_DUMP_ROWS, 1));
}

/// Tables from every kernel generation, headers taken from mm/oom_kill.c of each era.
#[test]
fn every_header_format() {
    let cases = [
        (
            "[ pid ]   uid  tgid total_vm      rss cpu oom_adj name",
            "[ 1234]     0  1234     2000      100   1       0 bash",
            DumpFormat::CpuOomAdj,
        ),
        (
            "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
            "[ 1234]     0  1234     2000      100      10        5             0 bash",
            DumpFormat::NrPtes,
        ),
        (
            "[ pid ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
            "[ 1234]     0  1234     2000      100    40960        5             0 bash",
            DumpFormat::PgtablesBytes,
        ),
    ];
    for (h, r, f) in cases {
        let e = events(&format!("{h}\n{r}\n"));
        let d = dumps(&e);
        assert_eq!(d[0].0, f, "{h}");
        let t = &d[0].1[0];
        assert_eq!(
            (t.pid, t.rss_pages, t.name.as_str()),
            (1234, Some(100), "bash")
        );
        assert!(t.complete);
    }
    // The legacy era's table is parsed but not ranked.
    let legacy = events("[ pid ]   uid  tgid total_vm      rss cpu oom_adj name\n[ 1234]     0  1234     2000      100   1       0 bash\n");
    assert_eq!(dumps(&legacy)[0].1[0].oom_score_adj, None);
    assert!(Badness::new(BadnessEra::Legacy, 1000)
        .ranking(dumps(&legacy)[0].1)
        .is_empty());
}
