//! Lockup and stall detectors: hung tasks (kernel/hung_task.c), soft and hard lockups
//! (kernel/watchdog*.c, older arch NMI watchdogs) and RCU CPU stall warnings (kernel/rcu).
//!
//! These are stateless: each report's first line carries everything we record.

use crate::bytes::{after, contains_ci, find, lossy, parse_u32, parse_u64, rfind, trim};
use crate::event::Event;
use crate::scan::{mask, Present};

pub(crate) fn parse(msg: &[u8], has: Present, t_ms: Option<u64>, out: &mut Vec<Event>) {
    if has.any(mask::HUNG) {
        hung_task(msg, t_ms, out);
    }
    if has.any(mask::SOFT) {
        soft_lockup(msg, t_ms, out);
    }
    if has.any(mask::HARD) {
        hard_lockup(msg, t_ms, out);
    }
    if has.any(mask::RCU) {
        rcu_stall(msg, t_ms, out);
    }
}

/// Splits `COMM:PID` at the last colon (comms such as `kworker/1:2` contain colons).
fn comm_pid(b: &[u8]) -> Option<(&[u8], u32)> {
    let c = memchr::memrchr(b':', b)?;
    let digits = b.get(c + 1..)?;
    let (pid, n) = parse_u32(digits)?;
    if n != digits.len() {
        return None;
    }
    Some((b.get(..c)?, pid))
}

/// `INFO: task COMM:PID blocked for more than N seconds.` (2.6.3x-6.x, unchanged).
fn hung_task(msg: &[u8], t_ms: Option<u64>, out: &mut Vec<Event>) {
    let Some(i) = find(msg, b" blocked for more than ") else {
        return;
    };
    let head = msg.get(..i).unwrap_or_default();
    let Some(s) = rfind(head, b"task ") else {
        return;
    };
    let Some((comm, pid)) = head.get(s + b"task ".len()..).and_then(comm_pid) else {
        return;
    };
    let secs = msg
        .get(i + b" blocked for more than ".len()..)
        .and_then(parse_u64)
        .map(|(v, _)| v);
    out.push(Event::HungTask {
        t_ms,
        comm: lossy(comm),
        pid,
        secs,
    });
}

/// `BUG: soft lockup - CPU#N stuck for Ss! [COMM:PID]` (2.6.2x+; `watchdog: ` / `NMI watchdog: `
/// prefixes in 4.x+) and 2.6.1x's `BUG: soft lockup detected on CPU#N!`.
fn soft_lockup(msg: &[u8], t_ms: Option<u64>, out: &mut Vec<Event>) {
    let Some(rest) = after(msg, b"BUG: soft lockup") else {
        return;
    };
    let cpu = after(rest, b"CPU#").and_then(parse_u32).map(|(v, _)| v);
    let secs = after(rest, b"stuck for ")
        .and_then(parse_u64)
        .map(|(v, _)| v);
    let (comm, pid) = match after(rest, b"! [") {
        Some(b) => {
            let inner = match memchr::memrchr(b']', b) {
                Some(e) => b.get(..e).unwrap_or_default(),
                None => b,
            };
            match comm_pid(inner) {
                Some((c, p)) => (Some(lossy(c)), Some(p)),
                None => (None, None),
            }
        }
        None => (None, None),
    };
    out.push(Event::SoftLockup {
        t_ms,
        cpu,
        secs,
        comm,
        pid,
    });
}

/// `[NMI ]watchdog: [CPUn: ]Watchdog detected hard LOCKUP on cpu N` (3.x-6.x), `NMI Watchdog
/// detected LOCKUP on CPU N` / `on CPU2CPU 2` (2.6), and powerpc's `Watchdog CPU:N Hard LOCKUP`.
///
/// `Kernel panic - not syncing: Hard LOCKUP` (4.x+ hardlockup_panic) is the panic that follows
/// a report, not a second lockup, and matches none of these.
fn hard_lockup(msg: &[u8], t_ms: Option<u64>, out: &mut Vec<Event>) {
    if let Some(rest) = after(msg, b"LOCKUP on") {
        let rest = trim(rest);
        let cpu = if rest.len() >= 3
            && rest
                .get(..3)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"cpu"))
        {
            rest.get(3..).map(trim).and_then(parse_u32).map(|(v, _)| v)
        } else {
            None
        };
        out.push(Event::HardLockup { t_ms, cpu });
    } else if let Some(i) = find(msg, b"Hard LOCKUP") {
        let head = msg.get(..i).unwrap_or_default();
        if let Some(r) = after(head, b"Watchdog CPU:") {
            let cpu = parse_u32(r).map(|(v, _)| v);
            out.push(Event::HardLockup { t_ms, cpu });
        }
    }
}

/// RCU CPU stall warnings. Spellings across versions:
/// `INFO: RCU detected CPU 1 stall` / `INFO: RCU detected CPU stalls:` (2.6.2x classic RCU),
/// `INFO: rcu_sched_state detected stall on CPU 0` (2.6.3x), `INFO: rcu_sched detected stalls
/// on CPUs/tasks:`, `INFO: rcu_preempt self-detected stall on CPU`, `... detected expedited
/// stalls ...` (3.x+, `rcu: ` prefix from 4.20). One stall report can produce both a
/// "detected stalls" line from the noticing CPU and a "self-detected" line from the stuck one;
/// each is counted, as each is a report the kernel made.
fn rcu_stall(msg: &[u8], t_ms: Option<u64>, out: &mut Vec<Event>) {
    let pos = find(msg, b"detected stall")
        .or_else(|| find(msg, b"detected expedited stall"))
        .or_else(|| find(msg, b"RCU detected CPU"));
    let Some(i) = pos else {
        return;
    };
    // Require the RCU flavour name in front so another subsystem's "detected stall" is not
    // counted ("rcu_sched", "rcu_preempt", "rcu_bh", "rcu_tasks", "RCU").
    let head = msg.get(..i + 3).unwrap_or(msg);
    if contains_ci(head, b"rcu") {
        out.push(Event::RcuStall { t_ms });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_pid_split() {
        assert_eq!(
            comm_pid(b"kworker/1:2:10762"),
            Some((&b"kworker/1:2"[..], 10762))
        );
        assert_eq!(comm_pid(b"x:12a"), None);
        assert_eq!(comm_pid(b"x"), None);
    }
}
