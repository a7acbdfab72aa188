//! Real kernel logs (see tests/fixtures/README.md for where each came from): exact values.

mod common;

use common::*;
use oomlab_klog::{parse_bytes, parse_reader, Event, ReapResult};

/// The events of a fixture without the task-dump kinds (`TaskDump`, `PagesRam`,
/// `VictimCheck`), which `tests/task_dumps.rs` covers: the assertions here predate them and
/// show that adding them left every other event unchanged.
fn ev(name: &str) -> Vec<Event> {
    events_of(&fixture(name))
        .into_iter()
        .filter(|e| !is_dump_event(e))
        .collect()
}

#[test]
fn every_fixture_parses_the_same_by_lines_bytes_and_reader() {
    let names = fixture_names();
    assert!(names.len() >= 20, "fixtures missing: {names:?}");
    for name in names {
        let text = fixture(&name);
        let by_lines = summary_by_lines(&text);
        assert_eq!(parse_bytes(&text), by_lines, "{name}: parse_bytes");
        assert_eq!(
            parse_reader(&text[..]).unwrap(),
            by_lines,
            "{name}: parse_reader"
        );
        assert!(!events_of(&text).is_empty(), "{name}: no events");
    }
}

#[test]
fn v2_6_24_two_line_kills_without_timestamps() {
    let e = ev("linux-2.6.24-oomkilladj-two-line.log");
    let k = kill_tuples(&e);
    let pids: Vec<u32> = k.iter().map(|k| k.0).collect();
    assert_eq!(pids, [3837, 3948, 3743, 4434]);
    assert!(k
        .iter()
        .all(|k| k.5.is_none() && k.2.is_none() && k.3.is_none()));
    // The parent (sshd 4432) was chosen but its child bash 4434 was killed: the score
    // belongs to the parent, so it is not attributed to the child.
    let scores: Vec<Option<i64>> = e
        .iter()
        .filter_map(|e| match e {
            Event::Kill { score, .. } => Some(*score),
            _ => None,
        })
        .collect();
    assert_eq!(scores, [Some(897), Some(817), Some(418), None]);
    let invoked: Vec<&Event> = e
        .iter()
        .filter(|e| matches!(e, Event::OomInvoked { .. }))
        .collect();
    assert_eq!(invoked.len(), 3);
    assert_eq!(
        invoked[0],
        &Event::OomInvoked {
            t_ms: None,
            comm: "bash".into(),
            gfp_mask: Some("0x84d0".into()),
            order: Some(0),
            oom_score_adj: None, // only the legacy oomkilladj= was printed
        }
    );
}

#[test]
fn v2_6_31_sacrificed_child_has_its_own_pid() {
    let e = ev("linux-2.6.31-oom_adj-child.log");
    let k = kill_tuples(&e);
    assert_eq!(k.len(), 2);
    assert_eq!((k[0].0, k[0].1.as_str()), (19153, "msgctl11"));
    assert_eq!(k[1].0, 19155);
    assert!(matches!(
        e[0],
        Event::OomInvoked {
            order: Some(1),
            oom_score_adj: None,
            ..
        }
    ));
    assert_eq!(
        parse_bytes(&fixture("linux-2.6.31-oom_adj-child.log")).oom_invocations,
        2
    );
}

#[test]
fn rhel6_uid_before_comm() {
    let e = ev("linux-2.6.32-rhel6-syslog-uid.log");
    assert_eq!(
        e,
        vec![Event::Kill {
            t_ms: Some(2_858_609_598),
            pid: 11726,
            comm: "mysqld".into(),
            memcg: None,
            total_vm_kb: Some(7_823_732),
            anon_rss_kb: Some(2_539_268),
            file_rss_kb: Some(768),
            shmem_rss_kb: None,
            oom_score_adj: None,
            score: None,
        }]
    );
}

#[test]
fn v2_6_35_vsz_spelling_in_syslog() {
    let e = ev("linux-2.6.35-syslog-vsz.log");
    assert_eq!(
        e,
        vec![Event::Kill {
            t_ms: Some(7_094_256),
            pid: 16758,
            comm: "avgscand".into(),
            memcg: None,
            total_vm_kb: Some(264_612),
            anon_rss_kb: Some(158_264),
            file_rss_kb: Some(0),
            shmem_rss_kb: None,
            oom_score_adj: None,
            score: Some(4134),
        }]
    );
}

#[test]
fn v3_both_adj_values_prefers_oom_score_adj() {
    let e = ev("linux-3.x-android-oom_adj.log");
    assert_eq!(
        e,
        vec![Event::OomInvoked {
            t_ms: Some(5_623_859),
            comm: "osmcore_L".into(),
            gfp_mask: Some("0x200da".into()),
            order: Some(0),
            oom_score_adj: Some(-1000),
        }]
    );
}

#[test]
fn v3_rcu_sched_state_stalls() {
    let s = parse_bytes(&fixture("linux-3.x-syslog-rcu_sched_state.log"));
    assert_eq!(s.rcu_stalls, 5);
    let e = ev("linux-3.x-syslog-rcu_sched_state.log");
    assert_eq!(
        e[0],
        Event::RcuStall {
            t_ms: Some(3_556_510)
        }
    );
}

#[test]
fn v3_memcg_task_in_and_uid_after_comm() {
    let e = ev("linux-3.x-syslog-memcg-task-in-uid.log");
    assert_eq!(
        e[0],
        Event::MemcgOom {
            t_ms: None,
            memcg: Some("/0".into())
        }
    );
    assert_eq!(
        e[1],
        Event::Kill {
            t_ms: None,
            pid: 42421,
            comm: "memcg_test_1".into(),
            memcg: Some("/0".into()),
            total_vm_kb: Some(7296),
            anon_rss_kb: Some(96),
            file_rss_kb: Some(0),
            shmem_rss_kb: Some(0),
            oom_score_adj: None,
            score: Some(0),
        }
    );
    assert!(
        matches!(&e[2], Event::OomInvoked { comm, oom_score_adj: Some(0), .. } if comm == "memcg_test_1")
    );
    assert_eq!(e.len(), 3);
}

#[test]
fn v3_10_dmesg_t_memcg_without_header_context() {
    let e = ev("linux-3.10-dmesg-T-memcg-child.log");
    // The header (with the cgroup path) is not in the excerpt: memcg OOM, path unknown.
    assert_eq!(
        e[0],
        Event::MemcgOom {
            t_ms: None,
            memcg: None
        }
    );
    let k = kill_tuples(&e);
    assert_eq!(
        k,
        vec![(
            28438,
            "java".into(),
            Some(String::new()),
            Some(466_160),
            None,
            None
        )]
    );
    assert!(matches!(
        &e[2],
        Event::OomInvoked {
            oom_score_adj: Some(-998),
            t_ms: None,
            ..
        }
    ));
}

#[test]
fn v3_16_compulsory_panic_on_oom() {
    let s = parse_bytes(&fixture("linux-3.16-panic-on-oom.log"));
    assert!(s.panic);
    assert_eq!(
        s.panic_message.as_deref(),
        Some("Out of memory: compulsory panic_on_oom is enabled")
    );
    assert!(!s.oom_no_killable);
}

#[test]
fn v3_18_page_allocation_failure() {
    assert_eq!(
        ev("linux-3.18-page-alloc-failure.log"),
        vec![Event::AllocFailure {
            t_ms: Some(41_923_154),
            comm: "dmwb_writeback_".into(),
            order: Some(8),
            gfp_mask: Some("0x204010".into()),
        }]
    );
}

#[test]
fn v4_9_stall_and_pending_first_half_flushed_at_end() {
    let e = ev("linux-4.9-alloc-stall-two-line-kill.log");
    let k = kill_tuples(&e);
    assert_eq!(k.len(), 3);
    assert_eq!(
        k[0],
        (7267, "a.out".into(), None, Some(84), None, Some(2_802_635))
    );
    assert_eq!(
        k[1],
        (7268, "a.out".into(), None, Some(84), None, Some(2_803_653))
    );
    // 7269's "Killed process" line is not in the excerpt: the kernel's decision still counts.
    assert_eq!(
        k[2],
        (7269, "a.out".into(), None, None, None, Some(2_804_432))
    );
    assert!(e.contains(&Event::AllocStall {
        t_ms: Some(2_805_349),
        comm: "a.out".into(),
        order: Some(0),
        stall_ms: Some(10_047),
    }));
    let s = parse_bytes(&fixture("linux-4.9-alloc-stall-two-line-kill.log"));
    assert_eq!(s.reaper.len(), 2);
    assert!(s.reaper.iter().all(|r| r.result == ReapResult::Reaped));
    assert_eq!(s.alloc_stalls, 1);
}

#[test]
fn v4_9_interleaved_allocation_failures() {
    let e = ev("linux-4.9-interleaved-alloc-failure.log");
    let f: Vec<&Event> = e
        .iter()
        .filter(|e| matches!(e, Event::AllocFailure { .. }))
        .collect();
    assert_eq!(f.len(), 3);
    assert_eq!(
        f[0],
        &Event::AllocFailure {
            t_ms: Some(2_836_069_534),
            comm: String::new(),
            order: Some(0),
            gfp_mask: Some("0x2080020(GFP_ATOMIC)".into()),
        }
    );
    assert!(matches!(f[1], Event::AllocFailure { t_ms: None, .. }));
}

#[test]
fn v4_9_hard_lockups_with_raw_priority_prefix() {
    assert_eq!(
        ev("linux-4.x-coreos-hard-lockup.log"),
        vec![Event::HardLockup {
            t_ms: Some(542_318_000),
            cpu: Some(0)
        }]
    );
    // pstore copy where the continuation "Modules linked in" ran into the cpu number.
    assert_eq!(
        ev("linux-4.9-coreos-pstore-hard-lockup.log"),
        vec![Event::HardLockup {
            t_ms: Some(1_401_585_395),
            cpu: Some(3)
        }]
    );
}

#[test]
fn v4_14_invoked_with_nodemask() {
    assert_eq!(
        ev("linux-4.14-kata-nodemask.log"),
        vec![Event::OomInvoked {
            t_ms: Some(13_957),
            comm: "mem".into(),
            gfp_mask: Some("0x14200ca(GFP_HIGHUSER_MOVABLE)".into()),
            order: Some(0),
            oom_score_adj: Some(0),
        }]
    );
}

#[test]
fn v4_18_no_killable_inside_panic() {
    let e = ev("linux-4.18-no-killable-in-panic.log");
    assert_eq!(
        e,
        vec![
            Event::OomNoKillable { t_ms: Some(10_840) },
            Event::Panic {
                t_ms: Some(10_840),
                message: "Out of memory and no killable processes...".into()
            },
        ]
    );
}

#[test]
fn v4_19_hung_tasks() {
    let e = ev("linux-4.19-hung-task.log");
    assert_eq!(e.len(), 3);
    assert_eq!(
        e[0],
        Event::HungTask {
            t_ms: Some(26_825_855),
            comm: "kworker/2:1".into(),
            pid: 5747,
            secs: Some(120),
        }
    );
    assert!(matches!(&e[2], Event::HungTask { comm, pid: 12767, .. } if comm == "snmpd"));
}

#[test]
fn v5_0_constraint_two_line_kill_and_unable_to_reap() {
    let e = ev("linux-5.0-global-constraint-reaper-unable.log");
    assert_eq!(
        e,
        vec![
            Event::OomInvoked {
                t_ms: Some(9_965),
                comm: "systemd-udevd".into(),
                gfp_mask: Some("0x7080c0(GFP_KERNEL_ACCOUNT|__GFP_ZERO)".into()),
                order: Some(0),
                oom_score_adj: Some(0),
            },
            Event::Constraint {
                t_ms: Some(10_246),
                constraint: "CONSTRAINT_NONE".into(),
                task: Some("systemd-udevd".into()),
                pid: Some(132),
                oom_memcg: None,
                task_memcg: Some("/".into()),
            },
            Event::Kill {
                t_ms: Some(10_251),
                pid: 132,
                comm: "systemd-udevd".into(),
                memcg: None,
                total_vm_kb: Some(35_060),
                anon_rss_kb: Some(400),
                file_rss_kb: Some(4),
                shmem_rss_kb: Some(1692),
                oom_score_adj: None,
                score: Some(17),
            },
            Event::Reaper {
                t_ms: Some(11_295),
                pid: 132,
                comm: Some("systemd-udevd".into()),
                result: ReapResult::Unable,
                anon_rss_kb: None,
            },
        ]
    );
}

#[test]
fn v5_3_invoking_comm_with_space_in_syslog() {
    let e = ev("linux-5.3-sles-syslog-comm-with-space.log");
    assert!(
        matches!(&e[0], Event::OomInvoked { comm, oom_score_adj: Some(872), t_ms: None, .. } if comm == "CPU 2/KVM")
    );
}

#[test]
fn v5_4_memcg_kill_and_reap() {
    let s = parse_bytes(&fixture("linux-5.4-memcg-reaper.log"));
    assert_eq!(s.kills.len(), 1);
    let k = &s.kills[0];
    assert_eq!((k.pid, k.comm.as_str()), (63214, "uwsgi"));
    assert_eq!(k.memcg.as_deref(), Some("")); // memcg OOM, header not in the excerpt
    assert_eq!(
        (k.anon_rss_kb, k.file_rss_kb, k.shmem_rss_kb),
        (Some(164_992), Some(52_176), Some(92))
    );
    assert_eq!(
        (k.oom_score_adj, k.total_vm_kb, k.t_ms),
        (Some(986), Some(3_149_468), Some(7_063_247))
    );
    assert_eq!(s.reaper.len(), 1);
    assert_eq!(
        (s.reaper[0].pid, s.reaper[0].result, s.reaper[0].anon_rss_kb),
        (63214, ReapResult::Reaped, Some(0))
    );
    assert_eq!((s.oom_invocations, s.memcg_ooms), (1, 1));
}

#[test]
fn v5_syslog_comm_in_parentheses() {
    let s = parse_bytes(&fixture("linux-5.x-syslog-parenthesised-comm.log"));
    let comms: Vec<&str> = s.kills.iter().map(|k| k.comm.as_str()).collect();
    assert_eq!(comms, ["python3", "(resolved)", "python3", "(resolved)"]);
    assert_eq!(s.kills[1].pid, 15925);
    assert_eq!(s.kills[1].anon_rss_kb, Some(4064));
    assert_eq!(s.kills[1].t_ms, Some(518_061));
    assert_eq!(s.reaper[3].comm.as_deref(), Some("(resolved)"));
    assert_eq!(s.reaper.len(), 4);
}

#[test]
fn v5_7_soft_lockup_behind_shell_prompt() {
    assert_eq!(
        ev("linux-5.7-soft-lockup-console.log"),
        vec![Event::SoftLockup {
            t_ms: Some(90_216_140),
            cpu: Some(0),
            secs: Some(186),
            comm: Some("kworker/u3:3".into()),
            pid: Some(2073),
        }]
    );
}

#[test]
fn v5_rcu_stalls() {
    let e = ev("linux-5.x-rcu-stall.log");
    assert_eq!(
        e,
        vec![
            Event::RcuStall {
                t_ms: Some(103_087)
            },
            Event::RcuStall {
                t_ms: Some(182_556)
            }
        ]
    );
}

#[test]
fn v5_10_no_killable_then_deadlocked_panic() {
    let s = parse_bytes(&fixture("linux-5.10-no-killable-deadlocked.log"));
    assert!(s.oom_no_killable && s.panic);
    assert_eq!(
        s.panic_message.as_deref(),
        Some("System is deadlocked on memory")
    );
}

#[test]
fn v6_memcg_oom_group_counts_the_victim_once() {
    let e = ev("linux-6.x-memcg-oom-group.log");
    let task_memcg = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod94eb36cd_29e1_478b_b365_4cb5dfc7d6fb.slice/cri-containerd-46b3e0a4df44b752b841aecca454e6e78995d567912a84950390bae6f6777a63.scope";
    let oom_memcg = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod94eb36cd_29e1_478b_b365_4cb5dfc7d6fb.slice";
    assert_eq!(
        kill_tuples(&e),
        vec![(
            22609,
            "node".into(),
            Some(task_memcg.into()),
            Some(4_116_684),
            Some(969),
            Some(2_993_794)
        )]
    );
    assert!(e.contains(&Event::MemcgOom {
        t_ms: Some(2_993_794),
        memcg: Some(oom_memcg.into())
    }));
    assert!(
        matches!(&e[1], Event::Constraint { constraint, pid: Some(22609), task: Some(t), .. } if constraint == "CONSTRAINT_MEMCG" && t == "node")
    );
    let s = parse_bytes(&fixture("linux-6.x-memcg-oom-group.log"));
    assert_eq!((s.memcg_ooms, s.oom_invocations, s.kills.len()), (1, 1, 1));
}

#[test]
fn v6_8_page_allocation_failure_with_nodemask() {
    assert_eq!(
        ev("linux-6.8-page-alloc-failure.log"),
        vec![Event::AllocFailure {
            t_ms: Some(86_554_227),
            comm: "irq/5-600c0004.".into(),
            order: Some(0),
            gfp_mask: Some("0x820(GFP_ATOMIC)".into()),
        }]
    );
}

#[test]
fn v6_15_printk_caller_ids_and_end_trace_is_not_a_panic() {
    let e = ev("linux-6.15-printk-caller-oom-panic.log");
    assert_eq!(e.len(), 2);
    assert!(matches!(&e[0], Event::OomInvoked { t_ms: Some(421_716), comm, .. } if comm == "run"));
    assert_eq!(
        e[1],
        Event::Panic {
            t_ms: Some(423_096),
            message: "Fatal exception".into()
        }
    );
}
