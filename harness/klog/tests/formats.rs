//! Per-format tests on lines constructed from the kernel's printk format strings (file and
//! version noted at each), plus the robustness cases: truncation, interleaving, prefixes,
//! CRLF, missing timestamps, odd comms and absurd numbers.

mod common;

use common::*;
use oomlab_klog::{parse_bytes, Event, Parser, ReapResult};

fn kill(t_ms: Option<u64>, pid: u32, comm: &str) -> Event {
    Event::Kill {
        t_ms,
        pid,
        comm: comm.into(),
        memcg: None,
        total_vm_kb: None,
        anon_rss_kb: None,
        file_rss_kb: None,
        shmem_rss_kb: None,
        oom_score_adj: None,
        score: None,
    }
}

// ---- OOM killer (mm/oom_kill.c) -------------------------------------------------------------

/// v6.x `__oom_kill_process`: "%s: Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB,
/// file-rss:%lukB, shmem-rss:%lukB, UID:%u pgtables:%lukB oom_score_adj:%hd"; v6.x
/// `dump_oom_victim`/`dump_oom_summary` for the constraint line; `oom_reap_task_mm` for the
/// reaper line.
const V6_GLOBAL: &str = "\
[  101.250001] usemem invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0
[  101.250900] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/user.slice/user-0.slice/session-1.scope,task=usemem,pid=1234,uid=0
[  101.251000] Out of memory: Killed process 1234 (usemem) total-vm:1049088kB, anon-rss:1046528kB, file-rss:4kB, shmem-rss:0kB, UID:0 pgtables:2096kB oom_score_adj:500
[  101.300999] oom_reaper: reaped process 1234 (usemem), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
";

#[test]
fn v6_global_oom_full_report() {
    let e = events(V6_GLOBAL);
    assert_eq!(e.len(), 4);
    assert_eq!(
        e[0],
        Event::OomInvoked {
            t_ms: Some(101_250),
            comm: "usemem".into(),
            gfp_mask: Some("0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)".into()),
            order: Some(0),
            oom_score_adj: Some(0),
        }
    );
    assert_eq!(
        e[1],
        Event::Constraint {
            t_ms: Some(101_250),
            constraint: "CONSTRAINT_NONE".into(),
            task: Some("usemem".into()),
            pid: Some(1234),
            oom_memcg: None,
            task_memcg: Some("/user.slice/user-0.slice/session-1.scope".into()),
        }
    );
    assert_eq!(
        e[2],
        Event::Kill {
            t_ms: Some(101_251),
            pid: 1234,
            comm: "usemem".into(),
            memcg: None, // a global OOM, even though the task lives in a cgroup
            total_vm_kb: Some(1_049_088),
            anon_rss_kb: Some(1_046_528),
            file_rss_kb: Some(4),
            shmem_rss_kb: Some(0),
            oom_score_adj: Some(500),
            score: None,
        }
    );
    assert_eq!(
        e[3],
        Event::Reaper {
            t_ms: Some(101_300),
            pid: 1234,
            comm: Some("usemem".into()),
            result: ReapResult::Reaped,
            anon_rss_kb: Some(0),
        }
    );
}

/// v4.19+ memcg: constraint line from `dump_oom_summary` + `mem_cgroup_print_oom_context`,
/// then the 5.1+ "Memory cgroup out of memory: Killed process" line.
#[test]
fn memcg_kill_takes_task_memcg() {
    let e = events(
        "[ 50.000000] usemem invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n\
         [ 50.001000] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/foo,task_memcg=/foo/bar,task=usemem,pid=123,uid=0\n\
         [ 50.002000] Memory cgroup out of memory: Killed process 123 (usemem) total-vm:9kB, anon-rss:8kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0\n",
    );
    assert_eq!(
        e[2],
        Event::MemcgOom {
            t_ms: Some(50_002),
            memcg: Some("/foo".into())
        }
    );
    assert_eq!(
        kill_tuples(&e),
        vec![(
            123,
            "usemem".into(),
            Some("/foo/bar".into()),
            Some(8),
            Some(0),
            Some(50_002)
        )]
    );
    let s = parse_bytes(
        b"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/foo,task_memcg=/foo,task=usemem,pid=123,uid=0\n\
          Memory cgroup out of memory: Killed process 123 (usemem) total-vm:9kB, anon-rss:8kB, file-rss:0kB, shmem-rss:0kB\n",
    );
    assert_eq!(s.kills[0].memcg.as_deref(), Some("/foo"));
    assert_eq!(s.memcg_ooms, 1);
}

/// 4.19-5.0: constraint line, then the two-line "Memory cgroup out of memory: Kill process ...
/// or sacrifice child" + "Killed process ..." pair: one kill.
#[test]
fn memcg_two_line_kill_v4_19() {
    let e = events(
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/lab,task_memcg=/lab,task=hog,pid=77,uid=0\n\
         Memory cgroup out of memory: Kill process 77 (hog) score 990 or sacrifice child\n\
         Killed process 77 (hog) total-vm:2052kB, anon-rss:2000kB, file-rss:0kB, shmem-rss:0kB\n",
    );
    let kills = kills(&e);
    assert_eq!(kills.len(), 1);
    assert!(
        matches!(kills[0], Event::Kill { pid: 77, memcg: Some(m), score: Some(990), anon_rss_kb: Some(2000), .. } if m == "/lab")
    );
    assert_eq!(
        e.iter()
            .filter(|e| matches!(e, Event::MemcgOom { .. }))
            .count(),
        1
    );
}

/// A later global kill does not inherit the cgroup of an earlier memcg OOM, and a later
/// header-less memcg kill does not reuse a consumed context.
#[test]
fn memcg_context_is_not_reused() {
    let e = events(
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a,task=x,pid=1,uid=0\n\
         Memory cgroup out of memory: Killed process 1 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n\
         Out of memory: Killed process 2 (y) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n\
         Memory cgroup out of memory: Killed process 3 (z) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n",
    );
    let m: Vec<Option<String>> = kill_tuples(&e).into_iter().map(|k| k.2).collect();
    assert_eq!(m, vec![Some("/a".into()), None, Some(String::new())]);
    assert_eq!(
        e.iter()
            .filter(|e| matches!(e, Event::MemcgOom { .. }))
            .count(),
        2
    );
}

/// mm/memcontrol.c before 4.19: "Task in %s killed as a result of limit of %s".
#[test]
fn memcg_task_in_line() {
    let e = events(
        "[  12.000000] Task in /lab/hog killed as a result of limit of /lab\n\
         [  12.000100] Memory cgroup out of memory: Kill process 55 (hog) score 1000 or sacrifice child\n\
         [  12.000200] Killed process 55 (hog) total-vm:100kB, anon-rss:90kB, file-rss:1kB, shmem-rss:0kB\n",
    );
    assert_eq!(
        e[0],
        Event::MemcgOom {
            t_ms: Some(12_000),
            memcg: Some("/lab".into())
        }
    );
    assert_eq!(
        kill_tuples(&e),
        vec![(
            55,
            "hog".into(),
            Some("/lab/hog".into()),
            Some(90),
            None,
            Some(12_000)
        )]
    );
    assert_eq!(e.len(), 2);
}

/// 2.6.1x mm/oom_kill.c: "Out of Memory: Kill process %d (%s) score %li and children." and
/// "%s: Killed process %d (%s)." (constructed; checked against torvalds/linux history).
#[test]
fn v2_6_early_formats() {
    let e = events(
        "Out of Memory: Kill process 12 (x) score 99 and children.\n\
         Out of memory: Killed process 13 (y).\n",
    );
    assert_eq!(e, vec![kill(None, 13, "y")]);
    // The 2.6.35 spelling with vsz: for total-vm.
    let e =
        events("Killed process 620 (localedef) vsz:59500kB, anon-rss:57596kB, file-rss:820kB\n");
    assert!(matches!(
        e[0],
        Event::Kill {
            total_vm_kb: Some(59500),
            anon_rss_kb: Some(57596),
            ..
        }
    ));
}

/// "Kill process %d (%s) sharing same memory" (3.x-4.x) names a task killed alongside the
/// victim; it is not a new victim and must not disturb the pending first half.
#[test]
fn sharing_same_memory_is_not_a_victim() {
    let e = events(
        "Out of memory: Kill process 10 (a) score 5 or sacrifice child\n\
         Killed process 10 (a) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n\
         Kill process 11 (b) sharing same memory\n",
    );
    assert_eq!(kills(&e).len(), 1);
}

#[test]
fn oom_kill_allocating_task_prefix() {
    let e = events("Out of memory (oom_kill_allocating_task): Killed process 9 (hog) total-vm:5kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:0kB oom_score_adj:0\n");
    assert_eq!(
        kill_tuples(&e),
        vec![(9, "hog".into(), None, Some(4), Some(0), None)]
    );
}

/// v4.6's first oom_reaper message: "oom_reaper: reaped process :%d (%s) anon-rss:%lukB,
/// file-rss:%lukB, shmem-rss:%lulB" (the typo was fixed before release; accepted anyway).
#[test]
fn early_reaper_format() {
    let e =
        events("oom_reaper: reaped process :42 (x) anon-rss:7kB, file-rss:0kB, shmem-rss:0lB\n");
    assert!(
        matches!(&e[0], Event::Reaper { pid: 42, anon_rss_kb: Some(7), result: ReapResult::Reaped, comm: Some(c), .. } if c == "x")
    );
}

#[test]
fn reaper_unable_keeps_parenthesised_comm() {
    let e = events("[ 3.5] oom_reaper: unable to reap pid:812 ((sd-pam))\r\n");
    assert_eq!(
        e,
        vec![Event::Reaper {
            t_ms: Some(3_500),
            pid: 812,
            comm: Some("(sd-pam)".into()),
            result: ReapResult::Unable,
            anon_rss_kb: None,
        }]
    );
}

#[test]
fn comms_with_spaces_parens_and_slashes() {
    let e = events(
        "Out of memory: Killed process 2279 (Web Content) total-vm:5606512kB, anon-rss:1694156kB, file-rss:0kB, shmem-rss:0kB\n\
         Out of memory: Killed process 5 (a) b) total-vm:1kB, anon-rss:2kB, file-rss:0kB, shmem-rss:0kB\n\
         Out of memory: Killed process 6 (kworker/u4:2) total-vm:1kB, anon-rss:3kB, file-rss:0kB, shmem-rss:0kB\n",
    );
    let comms: Vec<String> = kill_tuples(&e).into_iter().map(|k| k.1).collect();
    assert_eq!(comms, ["Web Content", "a) b", "kworker/u4:2"]);
}

#[test]
fn no_killable_and_panic_on_oom() {
    let s = parse_bytes(b"[ 9.0] Out of memory and no killable processes...\n[ 9.0] Kernel panic - not syncing: System is deadlocked on memory\n");
    assert!(s.oom_no_killable && s.panic);
    // A console that lost the "Kernel panic" part: the panic_on_oom message still means panic.
    let s = parse_bytes(b"Out of memory: system-wide panic_on_oom is enabled\n");
    assert_eq!(
        s.panic_message.as_deref(),
        Some("Out of memory: system-wide panic_on_oom is enabled")
    );
}

// ---- truncation and interleaving ------------------------------------------------------------

#[test]
fn truncated_kill_keeps_complete_fields() {
    let full = "[  77.123456] Out of memory: Killed process 4242 (usemem) total-vm:2000kB, anon-rss:1900kB, file-rss:4kB, shmem-rss:0kB, UID:0 pgtables:8kB oom_score_adj:1000";
    let cut = |n: usize| events(&full[..n]);
    // Cut inside anon-rss's number: total-vm survives, the partial number does not.
    let e = cut(full.find("anon-rss:1900").unwrap() + 11);
    assert!(matches!(
        e[0],
        Event::Kill {
            pid: 4242,
            total_vm_kb: Some(2000),
            anon_rss_kb: None,
            ..
        }
    ));
    // Cut right after the comm.
    let e = cut(full.find("usemem)").unwrap() + 7);
    assert_eq!(e, vec![kill(Some(77_123), 4242, "usemem")]);
    // Cut inside a follower word.
    assert_eq!(
        cut(full.find(" total").unwrap() + 4),
        vec![kill(Some(77_123), 4242, "usemem")]
    );
    // Comm incomplete, or pid incomplete: nothing.
    assert!(cut(full.find("usemem)").unwrap() + 3).is_empty());
    assert!(cut(full.find("4242").unwrap() + 2).is_empty());
    // Every prefix of the line is handled without panicking and yields at most one kill.
    for n in 0..=full.len() {
        assert!(cut(n).len() <= 1);
    }
}

#[test]
fn interleaved_record_after_a_cut_one_is_found() {
    let e = events("[    5.100000] Out of memory: Kil[    5.100100] oom_reaper: reaped process 12 (x), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB\n");
    assert_eq!(
        e,
        vec![Event::Reaper {
            t_ms: Some(5_100),
            pid: 12,
            comm: Some("x".into()),
            result: ReapResult::Reaped,
            anon_rss_kb: Some(0),
        }]
    );
    // A kill line interrupted mid-fields by another CPU's record: both are reported, and the
    // kill keeps only what came before the interruption.
    let e = events("[ 6.0] Out of memory: Killed process 7 (a) total-vm:10kB, anon-rs[ 6.1] INFO: task b:8 blocked for more than 120 seconds.\n");
    assert!(matches!(
        e[0],
        Event::Kill {
            pid: 7,
            total_vm_kb: Some(10),
            anon_rss_kb: None,
            ..
        }
    ));
    assert!(matches!(
        &e[1],
        Event::HungTask {
            pid: 8,
            t_ms: Some(6_100),
            ..
        }
    ));
    // Without timestamps there is nothing to split on, but the later record is still found.
    let e = events("Out of memory: Kiloom_reaper: unable to reap pid:12 (x)\n");
    assert!(matches!(
        e[0],
        Event::Reaper {
            pid: 12,
            result: ReapResult::Unable,
            ..
        }
    ));
}

// ---- prefixes, line endings, timestamps ------------------------------------------------------

const KILL_MSG: &str = "Out of memory: Killed process 321 (hog) total-vm:10kB, anon-rss:9kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0";

#[test]
fn every_wrapper_yields_the_same_kill() {
    let cases: &[(&str, Option<u64>)] = &[
        ("", None),
        ("[ 1234.567890] ", Some(1_234_567)),
        ("[    0.999999] ", Some(999)),
        ("<4>[  12.345678] ", Some(12_345)),
        ("[   12.345678][  T123] ", Some(12_345)),
        ("[   12.345678][    C1] ", Some(12_345)),
        ("Nov 27 12:00:01 host kernel: [  12.3] ", Some(12_300)),
        ("Nov 27 12:00:01 host kernel: ", None),
        ("[  12.345678] host kernel: ", Some(12_345)),
        ("2026-05-28T12:21:57.303295+00:00 vm-1 kernel: ", None),
        ("[Thu Dec  7 00:05:15 2017] ", None),
        ("[  +0.000022] ", None),
        ("kern  :err   : [ 3.5] ", Some(3_500)),
        ("16407: [  120.523895] ", Some(120_523)),
        ("/ # [  7.0] ", Some(7_000)),
        ("MESSAGE=", None),
    ];
    for (prefix, t) in cases {
        for eol in ["", "\n", "\r\n", "\r\r\n"] {
            let line = format!("{prefix}{KILL_MSG}{eol}");
            let e = events(&line);
            assert_eq!(
                kill_tuples(&e),
                vec![(321, "hog".into(), None, Some(9), Some(0), *t)],
                "{line:?}"
            );
        }
    }
}

#[test]
fn invoking_comm_is_found_behind_every_wrapper() {
    for prefix in [
        "",
        "[ 1.0] ",
        "<4>[ 1.0] ",
        "[ 1.0][  T9] ",
        "Nov 27 12:00:01 host kernel: ",
        "[ 1.0] host kernel: ",
    ] {
        let e = events(&format!("{prefix}Web Content invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=167\n"));
        assert!(
            matches!(&e[0], Event::OomInvoked { comm, oom_score_adj: Some(167), .. } if comm == "Web Content"),
            "{prefix}"
        );
    }
}

#[test]
fn absurd_numbers_become_none_not_panics() {
    let e = events(
        "[99999999999999999999.000000] Out of memory: Killed process 4294967296 (x) total-vm:1kB\n",
    );
    assert!(e.is_empty(), "pid does not fit in u32");
    let e = events("[99999999999999999999.000000] Out of memory: Killed process 7 (x) total-vm:99999999999999999999999kB, anon-rss:1kB, oom_score_adj:99999999999\n");
    assert!(matches!(
        e[0],
        Event::Kill {
            t_ms: None,
            total_vm_kb: None,
            anon_rss_kb: Some(1),
            oom_score_adj: None,
            ..
        }
    ));
    let e = events("x invoked oom-killer: gfp_mask=0x1, order=-1, oom_score_adj=-1000\n");
    assert!(matches!(
        e[0],
        Event::OomInvoked {
            order: Some(-1),
            oom_score_adj: Some(-1000),
            ..
        }
    ));
}

#[test]
fn non_utf8_bytes_are_tolerated() {
    let mut line = b"[ 2.0] Out of memory: Killed process 5 (\xff\xfeab) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n".to_vec();
    line.extend_from_slice(b"\x00\x01garbage\xc3\x28\n");
    let e = events_of(&line);
    assert!(matches!(&e[0], Event::Kill { pid: 5, comm, .. } if comm.ends_with("ab")));
}

#[test]
fn non_matching_lines_produce_nothing() {
    let mut p = Parser::new();
    for l in [
        "",
        "\n",
        "[    0.000000] Linux version 6.1.0",
        "Mem-Info:",
        "kill -9 1234",
        "Killed",
        "[  123]     0   123    45678    12345   245760        0             0 not-in-a-table",
    ] {
        assert!(p.push_line(l.as_bytes()).is_empty(), "{l}");
    }
    assert!(p.finish().is_empty());
    // A task dump header opens a table, reported (empty here) when the input ends.
    let mut p = Parser::new();
    let header = "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name";
    assert!(p.push_line(header.as_bytes()).is_empty());
    assert!(matches!(&p.finish()[..], [Event::TaskDump { tasks, .. }] if tasks.is_empty()));
}

// ---- hung tasks, lockups, RCU (kernel/hung_task.c, kernel/watchdog*.c, kernel/rcu) ----------

#[test]
fn hung_task_comm_with_colons() {
    let e =
        events("[  240.000000] INFO: task kworker/u4:2:10762 blocked for more than 122 seconds.\n");
    assert_eq!(
        e,
        vec![Event::HungTask {
            t_ms: Some(240_000),
            comm: "kworker/u4:2".into(),
            pid: 10762,
            secs: Some(122)
        }]
    );
}

#[test]
fn soft_lockup_variants() {
    // kernel/watchdog.c 4.x+: "BUG: soft lockup - CPU#%d stuck for %us! [%s:%d]"
    let e = events("[ 10.0] watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:123]\n");
    assert_eq!(
        e,
        vec![Event::SoftLockup {
            t_ms: Some(10_000),
            cpu: Some(3),
            secs: Some(23),
            comm: Some("kworker/3:1".into()),
            pid: Some(123)
        }]
    );
    // 2.6.18 kernel/softlockup.c: "BUG: soft lockup detected on CPU#%d!"
    let e = events("BUG: soft lockup detected on CPU#1!\n");
    assert_eq!(
        e,
        vec![Event::SoftLockup {
            t_ms: None,
            cpu: Some(1),
            secs: None,
            comm: None,
            pid: None
        }]
    );
    // The panic that follows a soft lockup is a panic, not another lockup.
    let e = events("Kernel panic - not syncing: softlockup: hung tasks\n");
    assert_eq!(
        e,
        vec![Event::Panic {
            t_ms: None,
            message: "softlockup: hung tasks".into()
        }]
    );
}

#[test]
fn hard_lockup_variants() {
    let one = |s: &str| events(s);
    // 2.6 arch/x86 nmi.c: "NMI Watchdog detected LOCKUP on CPU %d" (continuation glued on)
    assert_eq!(
        one("NMI Watchdog detected LOCKUP on CPU2CPU 2\n"),
        vec![Event::HardLockup {
            t_ms: None,
            cpu: Some(2)
        }]
    );
    // 6.x buddy detector: "CPU%u: Watchdog detected hard LOCKUP on cpu %u"
    assert_eq!(
        one("[ 1.0] watchdog: CPU3: Watchdog detected hard LOCKUP on cpu 3\n"),
        vec![Event::HardLockup {
            t_ms: Some(1_000),
            cpu: Some(3)
        }]
    );
    // arch/powerpc/kernel/watchdog.c: "Watchdog CPU:%d Hard LOCKUP"
    assert_eq!(
        one("[  252.718655] Watchdog CPU:59 Hard LOCKUP\n"),
        vec![Event::HardLockup {
            t_ms: Some(252_718),
            cpu: Some(59)
        }]
    );
    // 4.x+: the follow-up panic is not a second lockup ...
    assert_eq!(
        one("Kernel panic - not syncing: Hard LOCKUP\n"),
        vec![Event::Panic {
            t_ms: None,
            message: "Hard LOCKUP".into()
        }]
    );
    // ... but 3.x panicked with the report itself: one lockup and one panic.
    assert_eq!(
        one("Kernel panic - not syncing: Watchdog detected hard LOCKUP on cpu 0\n"),
        vec![
            Event::HardLockup {
                t_ms: None,
                cpu: Some(0)
            },
            Event::Panic {
                t_ms: None,
                message: "Watchdog detected hard LOCKUP on cpu 0".into()
            }
        ]
    );
}

#[test]
fn rcu_stall_variants() {
    for l in [
        "INFO: RCU detected CPU 0 stall (t=4295359473/2500 jiffies)", // 2.6.2x classic RCU
        "INFO: RCU detected CPU stalls: 1 (detected by 0, t=1000 jiffies)",
        "[  324.072607] INFO: rcu_sched self-detected stall on CPU",
        "[   89.892668] rcu: INFO: rcu_sched self-detected stall on CPU",
        "[  745.155635] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
        "INFO: rcu_sched detected expedited stalls on CPUs/tasks: { 1-... } 21000 jiffies s: 805 root: 0x2/.",
        "INFO: rcu_tasks detected stalls on tasks:",
    ] {
        assert_eq!(events(l).len(), 1, "{l}");
    }
    // Not RCU: another subsystem's wording, and RCU's own follow-up lines.
    for l in [
        "foo: detected stall on queue 3",
        "rcu: \t(detected by 0, t=38227 jiffies, g=-1127, q=10)",
        "rcu: rcu_sched kthread starved for 38227 jiffies!",
        "Kernel panic - not syncing: RCU Stall",
    ] {
        assert!(
            !events(l)
                .iter()
                .any(|e| matches!(e, Event::RcuStall { .. })),
            "{l}"
        );
    }
}

// ---- allocation warnings (mm/page_alloc.c, mm/vmalloc.c) ------------------------------------

#[test]
fn allocation_warning_variants() {
    // 2.6.x: "%s: page allocation failure. order:%d, mode:0x%x"
    let e = events("swapper: page allocation failure. order:1, mode:0x20\n");
    assert_eq!(
        e,
        vec![Event::AllocFailure {
            t_ms: None,
            comm: "swapper".into(),
            order: Some(1),
            gfp_mask: Some("0x20".into())
        }]
    );
    // 5.x+: warn_alloc with cpuset suffix
    let e = events("[ 3.0] kworker/0:1: page allocation failure: order:4, mode:0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO), nodemask=(null),cpuset=/,mems_allowed=0\n");
    assert!(
        matches!(&e[0], Event::AllocFailure { comm, order: Some(4), gfp_mask: Some(g), .. } if comm == "kworker/0:1" && g == "0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO)")
    );
    // 4.x mm/vmalloc.c: "vmalloc: allocation failure: %lu bytes"
    let e = events("insmod: vmalloc: allocation failure: 4096 bytes, mode:0xcc0(GFP_KERNEL), nodemask=(null)\n");
    assert!(matches!(&e[0], Event::AllocFailure { comm, order: None, .. } if comm == "insmod"));
    // 4.13: "%s: page allocation stalls for %ums, order:%u, mode:%#x(%pGg), nodemask=%*pbl"
    let e = events("[ 6109.502115] chrome: page allocation stalls for 10321ms, order:0, mode:0x14000d2(GFP_TEMPORARY|__GFP_HIGHMEM), nodemask=(null)\n");
    assert_eq!(
        e,
        vec![Event::AllocStall {
            t_ms: Some(6_109_502),
            comm: "chrome".into(),
            order: Some(0),
            stall_ms: Some(10_321)
        }]
    );
}

// ---- panics (kernel/panic.c) -----------------------------------------------------------------

#[test]
fn end_of_panic_marker_is_not_a_second_panic() {
    let s = parse_bytes(
        b"[ 5.0] Kernel panic - not syncing: Fatal exception\n[ 5.1] ---[ end Kernel panic - not syncing: Fatal exception ]---\n",
    );
    assert!(s.panic);
    assert_eq!(s.panic_message.as_deref(), Some("Fatal exception"));
    let e = events("[ 5.1] ---[ end Kernel panic - not syncing: Fatal exception ]---\n");
    assert!(e.is_empty());
}

// ---- serialisation -------------------------------------------------------------------------

#[test]
fn serde_shapes() {
    let s = parse_bytes(V6_GLOBAL.as_bytes());
    let v = serde_json::to_value(&s).unwrap();
    let k = &v["kills"][0];
    for key in [
        "pid",
        "comm",
        "memcg",
        "anon_rss_kb",
        "oom_score_adj",
        "t_ms",
    ] {
        assert!(k.get(key).is_some(), "kills[0].{key}");
    }
    assert_eq!(k["pid"], 1234);
    assert_eq!(v["reaper"][0]["result"], "reaped");
    assert_eq!(v["lines"], 4);
    assert_eq!(v["oom_invocations"], 1);
    let ev = serde_json::to_value(Event::Reaper {
        t_ms: None,
        pid: 1,
        comm: None,
        result: ReapResult::Unable,
        anon_rss_kb: None,
    })
    .unwrap();
    assert_eq!(ev["kind"], "reaper");
    assert_eq!(ev["result"], "unable");
    let ev = serde_json::to_value(Event::OomNoKillable { t_ms: Some(3) }).unwrap();
    assert_eq!(ev["kind"], "oom_no_killable");
    let ev = serde_json::to_value(Event::MemcgOom {
        t_ms: None,
        memcg: None,
    })
    .unwrap();
    assert_eq!(ev["kind"], "memcg_oom");
}

#[test]
fn event_t_ms_accessor() {
    for e in events(V6_GLOBAL) {
        assert!(e.t_ms().is_some());
    }
}
