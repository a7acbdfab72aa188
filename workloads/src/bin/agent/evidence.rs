//! At the first OOM invocation, snapshot what the guest's processes are doing, from
//! /proc: thread states, where they sleep, which system call they are in, whether a
//! core dump is in progress, mlocked memory, memory cgroup, oom_score. The host checks
//! a scenario's precondition against it (did the victim really hold mmap_lock, was it
//! dumping core?), so a result can say whether the scenario did what it claims.
//!
//! The trigger is the kernel's own `invoked oom-killer` record, read from /dev/kmsg as
//! it is stored. The killer may have finished with its victim by the time user space
//! reads it, so the processes the agent started are also snapshotted every
//! [`BEFORE_PERIOD_MS`] while pressure is on (however busy the kernel log is), and for
//! each the last look that found it whole goes along.

use crate::channel::Channel;
use crate::sys;
use oomlab_workloads::event::{Event, ProcessSnapshot, ThreadSnapshot, MAX_THREADS};
use oomlab_workloads::CLOCK_MARKER;
use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};

/// Processes kept in a snapshot, largest first: a herd of hundreds would make the
/// snapshot slow exactly when the guest is shortest of CPU.
const MAX_PROCESSES: usize = 48;
const TRIGGER: &str = "invoked oom-killer";
/// How often the agent's own processes are snapshotted before the trigger: a few
/// processes, so the cost stays small.
const BEFORE_PERIOD_MS: i32 = 250;

/// The early look is sent this long after the agent first sees its processes.
const EARLY_LOOK_MS: u64 = 1_000;
const EARLY_TRIGGER: &str = "none yet: an early look 1 s into pressure, before any OOM";

static TRACKED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A process the agent started: part of every snapshot before the trigger.
pub fn track(pid: u32) {
    if let Ok(mut t) = TRACKED.lock() {
        t.push(pid);
    }
}

pub fn spawn(channel: Arc<Channel>) {
    let Ok(mut kmsg) = std::fs::File::open("/dev/kmsg") else {
        return;
    };
    // Only records from now on: the boot log holds no OOM.
    let _ = kmsg.seek(SeekFrom::End(0));
    // Read back below, to put the kernel's record times on the agent's clock.
    crate::setup::write_clock_marker();
    let _ = std::thread::Builder::new()
        .name("evidence".into())
        .spawn(move || {
            let mut record = [0u8; 8192];
            let mut looks = Looks::default();
            let mut last_look: Option<u64> = None;
            // printk clock minus the agent's monotonic clock, in microseconds.
            let mut offset_us: Option<i64> = None;
            let (mut first_look, mut early_sent) = (None::<u64>, false);
            loop {
                let since_look = last_look.map_or(BEFORE_PERIOD_MS as u64, |t| {
                    sys::monotonic_ms().saturating_sub(t)
                });
                let wait = (BEFORE_PERIOD_MS as u64).saturating_sub(since_look) as i32;
                let readable = sys::readable_within(kmsg.as_raw_fd(), wait);
                // A kernel log that never goes quiet must not stop the looks.
                if !readable || since_look >= BEFORE_PERIOD_MS as u64 {
                    let pids = TRACKED.lock().map(|t| t.clone()).unwrap_or_default();
                    let now = sys::monotonic_ms();
                    last_look = Some(now);
                    if !pids.is_empty() {
                        looks.push(pids.into_iter().filter_map(process).collect());
                        // One early look goes out too: a guest that panics right at its
                        // first OOM leaves user space no time to answer the trigger.
                        let since = *first_look.get_or_insert(now);
                        if !early_sent && now - since >= EARLY_LOOK_MS {
                            early_sent = true;
                            channel.send(&Event::Evidence {
                                t_ms: now,
                                trigger: EARLY_TRIGGER.into(),
                                processes_total: 0,
                                processes: vec![],
                                before: looks.before(None),
                                before_t_ms: last_look,
                                trigger_t_ms: None,
                            });
                        }
                    }
                    if !readable {
                        continue;
                    }
                }
                match kmsg.read(&mut record) {
                    Ok(0) => return,
                    Ok(n) => {
                        let text = String::from_utf8_lossy(&record[..n]);
                        let Some((header, message)) = text.split_once(';') else {
                            continue;
                        };
                        if let Some(mono_us) = message
                            .split_once(CLOCK_MARKER)
                            .and_then(|(_, v)| v.trim().parse::<i64>().ok())
                        {
                            offset_us = record_ts_us(header).map(|ts| ts - mono_us);
                        }
                        if message.contains(TRIGGER) {
                            let line = message.lines().next().unwrap_or("").to_string();
                            // Only looks read before the kernel logged the invocation:
                            // one taken while the record waited unread may show the
                            // victim already dying.
                            let until = offset_us
                                .zip(record_ts_us(header))
                                .map(|(off, ts)| ((ts - off).max(0) / 1000) as u64);
                            let before = looks.before(until);
                            // What is already in hand goes out first: a guest that
                            // panics right after this invocation leaves no time to
                            // read /proc again.
                            channel.send(&Event::Evidence {
                                t_ms: sys::monotonic_ms(),
                                trigger: line.clone(),
                                processes_total: 0,
                                processes: vec![],
                                before: before.clone(),
                                before_t_ms: last_look,
                                trigger_t_ms: until,
                            });
                            channel.send(&snapshot(line, before, last_look, until));
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
                    Err(_) => return,
                }
            }
        });
}

/// The third field of a /dev/kmsg record header (`prio,seq,ts_usec,flags`).
fn record_ts_us(header: &str) -> Option<i64> {
    header.split(',').nth(2)?.parse().ok()
}

/// The agent's recent looks at its processes, oldest first.
#[derive(Default)]
struct Looks(VecDeque<Vec<ProcessSnapshot>>);

/// Looks kept: 3 s at one per [`BEFORE_PERIOD_MS`]; the host uses none older than 2 s.
const LOOKS_KEPT: usize = 12;

impl Looks {
    fn push(&mut self, look: Vec<ProcessSnapshot>) {
        if self.0.len() == LOOKS_KEPT {
            self.0.pop_front();
        }
        self.0.push_back(look);
    }

    /// Each process as last seen before `until_ms` (agent clock; `None`: no limit): its
    /// last whole look, which shows what it was doing before it was killed, else its
    /// last look of any kind.
    fn before(&self, until_ms: Option<u64>) -> Vec<ProcessSnapshot> {
        let mut out: Vec<ProcessSnapshot> = Vec::new();
        let in_time =
            |p: &&ProcessSnapshot| until_ms.is_none_or(|u| p.read_t_ms.is_some_and(|r| r < u));
        for p in self.0.iter().flatten().filter(in_time) {
            match out.iter_mut().find(|k| k.pid == p.pid) {
                Some(k) if p.is_whole() || !k.is_whole() => *k = p.clone(),
                Some(_) => {}
                None => out.push(p.clone()),
            }
        }
        out
    }
}

fn snapshot(
    trigger: String,
    before: Vec<ProcessSnapshot>,
    before_t_ms: Option<u64>,
    trigger_t_ms: Option<u64>,
) -> Event {
    let t_ms = sys::monotonic_ms();
    let me = std::process::id();
    // Rank by the rss field of /proc/PID/stat first, so only the kept ones are read whole.
    let mut ranked: Vec<(u64, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (_, _, ppid) = parse_stat(&stat)?;
            (pid != 2 && ppid != 2).then(|| (stat_rss_pages(&stat).unwrap_or(0), pid))
        })
        .collect();
    let processes_total = ranked.len() as u32;
    ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
    let processes = ranked
        .into_iter()
        .take(MAX_PROCESSES)
        .filter_map(|(_, pid)| process(pid))
        .collect();
    Event::Evidence {
        t_ms,
        trigger,
        processes_total,
        processes,
        before,
        before_t_ms,
        trigger_t_ms,
    }
}

/// Field 24 of /proc/PID/stat: resident pages.
fn stat_rss_pages(stat: &str) -> Option<u64> {
    let after = stat.get(stat.rfind(')')? + 1..)?;
    // Fields after the comm start at field 3 (state); rss is field 24.
    after.split_whitespace().nth(24 - 3)?.parse().ok()
}

/// One user process; `None` for kernel threads and processes gone while reading.
fn process(pid: u32) -> Option<ProcessSnapshot> {
    let dir = format!("/proc/{pid}");
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    let (comm, state, ppid) = parse_stat(&stat)?;
    // Kernel threads are kthreadd (2) and its children.
    if pid == 2 || ppid == 2 {
        return None;
    }
    let status = std::fs::read_to_string(format!("{dir}/status")).unwrap_or_default();
    let read_num = |file: &str| -> Option<i64> {
        std::fs::read_to_string(format!("{dir}/{file}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let mut threads: Vec<ThreadSnapshot> = std::fs::read_dir(format!("{dir}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .take(MAX_THREADS)
        .filter_map(|tid| thread(&dir, tid))
        .collect();
    threads.sort_by_key(|t| t.tid);
    // Stamped when the read is over: under pressure it can take longer than the kill, and
    // a look is only "before" the trigger if all of it was read before.
    let read_t_ms = sys::monotonic_ms();
    Some(ProcessSnapshot {
        pid,
        comm,
        state,
        oom_score: read_num("oom_score"),
        oom_score_adj: read_num("oom_score_adj").map(|v| v as i32),
        rss_kb: status_kb(&status, "VmRSS:"),
        mlocked_kb: status_kb(&status, "VmLck:"),
        core_dumping: status_field(&status, "CoreDumping:").map(|v| v == "1"),
        cgroup: std::fs::read_to_string(format!("{dir}/cgroup"))
            .ok()
            .and_then(|c| memory_cgroup(&c)),
        threads,
        read_t_ms: Some(read_t_ms),
    })
}

fn thread(dir: &str, tid: u32) -> Option<ThreadSnapshot> {
    let task = format!("{dir}/task/{tid}");
    let (_, state, _) = parse_stat(&std::fs::read_to_string(format!("{task}/stat")).ok()?)?;
    let wchan = std::fs::read_to_string(format!("{task}/wchan"))
        .ok()
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty() && w != "0");
    let syscall = std::fs::read_to_string(format!("{task}/syscall"))
        .ok()
        .and_then(|s| parse_syscall(&s));
    Some(ThreadSnapshot {
        tid,
        state,
        wchan,
        syscall,
    })
}

/// `PID (COMM) STATE PPID ...`; COMM may hold spaces and parentheses.
fn parse_stat(stat: &str) -> Option<(String, String, u32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.to_string();
    let ppid = rest.next()?.parse().ok()?;
    Some((comm, state, ppid))
}

fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
}

fn status_kb(status: &str, key: &str) -> Option<u64> {
    status_field(status, key)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The v2 path (`0::/x`), or the v1 memory hierarchy's (`N:memory:/x`).
fn memory_cgroup(cgroup: &str) -> Option<String> {
    let lines: Vec<(&str, &str)> = cgroup
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
            Some((controllers, path))
        })
        .collect();
    lines
        .iter()
        .find(|(c, _)| c.split(',').any(|c| c == "memory"))
        .or_else(|| lines.iter().find(|(c, _)| c.is_empty()))
        .map(|(_, p)| p.to_string())
}

/// `/proc/.../syscall`: the number and arguments, `running`, or `-1 ...` (not in one).
fn parse_syscall(text: &str) -> Option<i64> {
    let nr: i64 = text.split_whitespace().next()?.parse().ok()?;
    (nr >= 0).then_some(nr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(pid: u32, state: &str, rss_kb: Option<u64>, read_t_ms: u64) -> ProcessSnapshot {
        ProcessSnapshot {
            pid,
            comm: "w".into(),
            state: state.into(),
            oom_score: None,
            oom_score_adj: None,
            rss_kb,
            mlocked_kb: None,
            core_dumping: None,
            cgroup: None,
            threads: vec![],
            read_t_ms: Some(read_t_ms),
        }
    }

    #[test]
    fn each_process_is_taken_from_its_last_whole_look_before_the_trigger() {
        let mut looks = Looks::default();
        looks.push(vec![look(1, "S", Some(10), 100), look(2, "R", None, 100)]);
        looks.push(vec![
            look(1, "Z", None, 350),
            look(2, "R", None, 350),
            look(3, "D", Some(5), 350),
        ]);
        looks.push(vec![look(1, "S", Some(12), 600), look(3, "Z", None, 600)]);
        fn seen(looks: &Looks, until: Option<u64>) -> Vec<(u32, u64)> {
            looks
                .before(until)
                .iter()
                .map(|k| (k.pid, k.read_t_ms.unwrap()))
                .collect()
        }
        // No limit: 1 whole again at 600; 2 never whole, its latest; 3 caught exiting at
        // 600 keeps its whole look at 350.
        assert_eq!(seen(&looks, None), vec![(1, 600), (2, 350), (3, 350)]);
        // The trigger logged at 500: the look at 600 came after it and is not used, so
        // 1 is its whole look at 100, not the zombie at 350.
        assert_eq!(seen(&looks, Some(500)), vec![(1, 100), (2, 350), (3, 350)]);
        assert_eq!(seen(&looks, Some(100)), vec![]);
        // Only the last LOOKS_KEPT looks are kept.
        for t in 0..LOOKS_KEPT as u64 {
            looks.push(vec![look(9, "R", Some(1), 1000 + t)]);
        }
        assert_eq!(seen(&looks, None), vec![(9, 1000 + LOOKS_KEPT as u64 - 1)]);
    }

    #[test]
    fn reads_the_record_time_from_the_kmsg_header() {
        assert_eq!(record_ts_us("6,1234,5553123,-"), Some(5_553_123));
        assert_eq!(record_ts_us("6,1234"), None);
    }

    #[test]
    fn reads_stat_status_cgroup_and_syscall() {
        assert_eq!(
            parse_stat("123 (my (odd) comm) D 1 123 123 0 -1"),
            Some(("my (odd) comm".into(), "D".into(), 1))
        );
        assert_eq!(parse_stat("garbage"), None);
        let stat = "140 (usemem) R 1 140 0 0 -1 4194560 50 0 0 0 10 20 0 0 20 0 1 0 300 900000000 51234 18446744073709551615";
        assert_eq!(stat_rss_pages(stat), Some(51234));
        let status = "Name:\tusemem\nVmLck:\t  204800 kB\nVmRSS:\t  300000 kB\nCoreDumping:\t1\n";
        assert_eq!(status_kb(status, "VmRSS:"), Some(300_000));
        assert_eq!(status_kb(status, "VmLck:"), Some(204_800));
        assert_eq!(status_field(status, "CoreDumping:"), Some("1"));
        assert_eq!(status_kb(status, "VmSwap:"), None);
        assert_eq!(
            memory_cgroup("0::/oomlab-hog\n"),
            Some("/oomlab-hog".into())
        );
        assert_eq!(
            memory_cgroup("3:cpu,cpuacct:/\n2:memory:/oomlab-hog\n1:name=systemd:/\n"),
            Some("/oomlab-hog".into())
        );
        assert_eq!(
            parse_syscall("9 0x0 0x400000 0x3 0x22 0xffffffffffffffff 0x0 0x7ffd 0x7f"),
            Some(9)
        );
        assert_eq!(parse_syscall("running"), None);
        assert_eq!(parse_syscall("-1 0x7ffd 0x4011"), None);
    }
}
