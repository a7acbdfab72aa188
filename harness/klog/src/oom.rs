//! OOM killer reports (mm/oom_kill.c, mm/memcontrol.c) and the little state they need.
//!
//! One OOM episode is spread over several lines, and the format moved a lot:
//!
//! ```text
//! 2.6.1x  Out of Memory: Kill process 12 (x) score 99 and children.
//!         Out of memory: Killed process 13 (y).
//! 2.6.2x  Out of memory: kill process 12 (x) score 99 or a child
//!         Killed process 13 (y)
//! 2.6.32+ Out of memory: Kill process 12 (x) score 99 or sacrifice child
//!         Killed process 12 (x) total-vm:..kB, anon-rss:..kB, file-rss:..kB[, shmem-rss:..kB]
//!         (RHEL 6/7: "Killed process 12, UID 0, (x) ..." / "Killed process 12 (x), UID 0, ...")
//! 4.19+   oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/a,task_memcg=/a/b,task=x,pid=12,uid=0
//! 5.1+    Memory cgroup out of memory: Killed process 12 (x) total-vm:..., UID:0 pgtables:..kB oom_score_adj:0
//! memcg   Task in /a/b killed as a result of limit of /a           (before 4.19)
//!         Tasks in /a are going to be killed due to memory.oom.group set   (4.19+, cgroup v2)
//! ```
//!
//! The state kept between lines is therefore: the pending first half of a two-line kill, the
//! memcg context announced before a kill, and whether the current memcg episode was already
//! reported. It is a handful of small fields; nothing accumulates.

use crate::bytes::{
    after, field_i32, field_kb, field_token, find, lossy, parse_i64, parse_u32, rfind, trim,
    trim_end,
};
use crate::event::{Event, ReapResult};
use crate::scan::{mask, Present};

/// First half of a pre-5.1 two-line kill, waiting for its `Killed process` line.
#[derive(Debug, Clone)]
struct PendingKill {
    t_ms: Option<u64>,
    pid: u32,
    comm: String,
    score: Option<i64>,
    memcg_oom: bool,
}

/// Which cgroup the next memcg kill belongs to, as announced by the report header.
#[derive(Debug, Clone, Default)]
struct MemcgContext {
    oom_memcg: Option<String>,
    task_memcg: Option<String>,
    /// Set once a kill used it, so a later rate-limited report (no header) does not inherit a
    /// stale cgroup.
    used: bool,
}

#[derive(Debug, Default)]
pub(crate) struct OomState {
    pending: Option<PendingKill>,
    ctx: Option<MemcgContext>,
    /// `memory.oom.group` cgroup whose members are being killed, and the first victim's pid
    /// (which the kernel prints a second time while killing the group).
    group: Option<(String, Option<u32>)>,
    /// A `MemcgOom` was already emitted for the current episode.
    memcg_reported: bool,
    last_kill_pid: Option<u32>,
}

impl OomState {
    /// Start of a new report: whatever was pending belongs to the previous one.
    fn new_episode(&mut self, out: &mut Vec<Event>) {
        self.flush(out);
        self.ctx = None;
        self.group = None;
        self.memcg_reported = false;
    }

    /// Emits a pending first-half kill whose `Killed process` line never came (log cut, or
    /// the victim exited first). It is still the kernel's decision to kill that task.
    pub(crate) fn flush(&mut self, out: &mut Vec<Event>) {
        if let Some(p) = self.pending.take() {
            let memcg = if p.memcg_oom {
                Some(self.memcg_for_kill())
            } else {
                None
            };
            self.push_kill(
                out,
                KillFields {
                    t_ms: p.t_ms,
                    pid: p.pid,
                    comm: p.comm,
                    memcg,
                    score: p.score,
                    ..KillFields::default()
                },
            );
        }
    }

    fn memcg_for_kill(&mut self) -> String {
        if let Some((g, _)) = &self.group {
            return g.clone();
        }
        match self.ctx.as_mut() {
            Some(c) if !c.used => {
                c.used = true;
                c.task_memcg
                    .clone()
                    .or_else(|| c.oom_memcg.clone())
                    .unwrap_or_default()
            }
            _ => String::new(),
        }
    }

    fn report_memcg(&mut self, t_ms: Option<u64>, out: &mut Vec<Event>) {
        if self.memcg_reported {
            return;
        }
        self.memcg_reported = true;
        let memcg = match (&self.group, &self.ctx) {
            (_, Some(c)) if !c.used => c.oom_memcg.clone().or_else(|| c.task_memcg.clone()),
            (Some((g, _)), _) => Some(g.clone()),
            _ => None,
        };
        out.push(Event::MemcgOom { t_ms, memcg });
    }

    fn push_kill(&mut self, out: &mut Vec<Event>, k: KillFields) {
        self.last_kill_pid = Some(k.pid);
        if self.group.is_none() {
            // Without a memory.oom.group sweep in progress, each memcg kill ends its episode;
            // a later header-less (rate-limited) memcg kill is a new one.
            self.memcg_reported = false;
        }
        out.push(Event::Kill {
            t_ms: k.t_ms,
            pid: k.pid,
            comm: k.comm,
            memcg: k.memcg,
            total_vm_kb: k.total_vm_kb,
            anon_rss_kb: k.anon_rss_kb,
            file_rss_kb: k.file_rss_kb,
            shmem_rss_kb: k.shmem_rss_kb,
            oom_score_adj: k.oom_score_adj,
            score: k.score,
        });
    }
}

#[derive(Debug, Default)]
struct KillFields {
    t_ms: Option<u64>,
    pid: u32,
    comm: String,
    memcg: Option<String>,
    total_vm_kb: Option<u64>,
    anon_rss_kb: Option<u64>,
    file_rss_kb: Option<u64>,
    shmem_rss_kb: Option<u64>,
    oom_score_adj: Option<i32>,
    score: Option<i64>,
}

const MEMCG_PREFIX: &[u8] = b"Memory cgroup out of memory: ";

/// Text that may follow the `)` closing a comm on a `Killed process` line, in any version.
const KILLED_FOLLOWERS: &[&[u8]] = &[b" total-vm:", b" vsz:", b", UID ", b".", b" score "];
/// ... on a `Kill process` (first half) line.
const KILL_FOLLOWERS: &[&[u8]] = &[b" score ", b" sharing same memory", b" and children"];
/// ... on an `oom_reaper: reaped process` line (v4.6's first version had no ", now").
const REAPED_FOLLOWERS: &[&[u8]] = &[b", now ", b" anon-rss:"];

/// Splits `r` (which starts just after `(`) into the comm and the text after its `)`.
///
/// A comm is up to 15 bytes of anything, including spaces and parentheses (`(sd-pam)`,
/// `Web Content`), so the closing parenthesis is the first `)` followed by text that the
/// format puts there, or by a prefix of such text when the line was cut short.
fn take_comm<'a>(r: &'a [u8], followers: &[&[u8]]) -> Option<(&'a [u8], &'a [u8])> {
    let window = r.get(..r.len().min(80))?;
    for j in memchr::memchr_iter(b')', window) {
        let rest = r.get(j + 1..)?;
        let ok = rest.is_empty()
            || followers
                .iter()
                .any(|f| rest.starts_with(f) || f.starts_with(rest));
        if ok {
            return Some((r.get(..j)?, rest));
        }
    }
    None
}

/// `PID (` or, on RHEL 6, `PID, UID N, (`: returns the pid and the text after `(`.
fn pid_then_paren(r: &[u8]) -> Option<(u32, &[u8])> {
    let (pid, n) = parse_u32(r)?;
    let mut rest = r.get(n..)?;
    if let Some(after_uid) = rest.strip_prefix(b", UID ") {
        let (_, m) = parse_i64(after_uid)?;
        rest = after_uid.get(m..)?.strip_prefix(b",")?;
    }
    let rest = rest.strip_prefix(b" (")?;
    Some((pid, rest))
}

/// Handles every OOM-killer line in one segment (`msg` is the segment after its prefix).
pub(crate) fn parse(
    st: &mut OomState,
    msg: &[u8],
    has: Present,
    t_ms: Option<u64>,
    out: &mut Vec<Event>,
) {
    if !has.any(
        mask::INVOKED
            | mask::CONSTRAINT
            | mask::TASK_IN
            | mask::OOM_GROUP
            | mask::KILLED
            | mask::KILL
            | mask::REAPER
            | mask::NO_KILLABLE,
    ) {
        return;
    }
    if has.any(mask::INVOKED) {
        if let Some(i) = find(msg, b" invoked oom-killer") {
            invoked(st, msg, i, t_ms, out);
        }
    }
    if has.any(mask::CONSTRAINT) {
        if let Some(rest) = after(msg, b"oom-kill:constraint=") {
            constraint(st, rest, t_ms, out);
        }
    }
    if has.any(mask::TASK_IN) {
        if let Some(i) = find(msg, b" killed as a result of limit of ") {
            task_in(st, msg, i, t_ms, out);
        }
    }
    if has.any(mask::OOM_GROUP) {
        oom_group(st, msg);
    }
    if has.any(mask::KILLED | mask::KILL) {
        if let Some(i) = find(msg, b"illed process ") {
            if i > 0 && matches!(msg.get(i - 1), Some(b'K') | Some(b'k')) {
                killed(st, msg, i - 1, t_ms, out);
            }
        } else if let Some(i) = find(msg, b"ill process ") {
            if i > 0 && matches!(msg.get(i - 1), Some(b'K') | Some(b'k')) {
                kill_first_half(st, msg, i - 1, t_ms, out);
            }
        }
    }
    if has.any(mask::REAPER) {
        if let Some(rest) = after(msg, b"oom_reaper: ") {
            reaper(rest, t_ms, out);
        }
    }
    if has.any(mask::NO_KILLABLE) && find(msg, b"Out of memory and no killable processes").is_some()
    {
        out.push(Event::OomNoKillable { t_ms });
    }
}

/// `Tasks in /a are going to be killed due to memory.oom.group set` (4.19+).
fn oom_group(st: &mut OomState, msg: &[u8]) {
    let Some(i) = find(msg, b" are going to be killed due to memory.oom.group") else {
        return;
    };
    let head = msg.get(..i).unwrap_or_default();
    if let Some(s) = rfind(head, b"Tasks in ") {
        let path = trim(head.get(s + b"Tasks in ".len()..).unwrap_or_default());
        st.group = Some((lossy(path), st.last_kill_pid));
        // The sweep belongs to the episode that was just reported.
        st.memcg_reported = true;
    }
}

fn invoked(st: &mut OomState, msg: &[u8], i: usize, t_ms: Option<u64>, out: &mut Vec<Event>) {
    st.new_episode(out);
    let comm = trim(msg.get(..i).unwrap_or_default());
    let rest = msg.get(i..).unwrap_or_default();
    out.push(Event::OomInvoked {
        t_ms,
        comm: lossy(comm),
        gfp_mask: field_token(rest, b"gfp_mask=").map(lossy),
        order: field_i32(rest, b"order="),
        oom_score_adj: field_i32(rest, b"oom_score_adj="),
    });
}

/// Value of `,key=` up to the start of the next known key (paths and comms may hold commas).
fn kv<'a>(rest: &'a [u8], key: &[u8], next: &[&[u8]]) -> Option<&'a [u8]> {
    let v = after(rest, key)?;
    let end = next
        .iter()
        .filter_map(|n| find(v, n))
        .min()
        .unwrap_or(v.len());
    v.get(..end)
}

fn constraint(st: &mut OomState, rest: &[u8], t_ms: Option<u64>, out: &mut Vec<Event>) {
    let cend = memchr::memchr(b',', rest).unwrap_or(rest.len());
    let constraint = trim(rest.get(..cend).unwrap_or_default());
    if constraint.is_empty() {
        return;
    }
    let oom_memcg = kv(rest, b",oom_memcg=", &[b",task_memcg=", b",task="]).map(lossy);
    let task_memcg = kv(rest, b",task_memcg=", &[b",task="]).map(lossy);
    let (task, pid) = match after(rest, b",task=") {
        Some(t) => match rfind(t, b",pid=") {
            Some(p) => (
                t.get(..p).map(lossy),
                t.get(p + b",pid=".len()..)
                    .and_then(parse_u32)
                    .map(|(v, _)| v),
            ),
            None => (Some(lossy(trim(t))), None),
        },
        None => (None, None),
    };
    // A new header: the memcg context and episode start here (the invoked line may have been
    // lost to interleaving).
    st.flush(out);
    st.group = None;
    st.memcg_reported = false;
    st.ctx = if constraint == b"CONSTRAINT_MEMCG" {
        Some(MemcgContext {
            oom_memcg: oom_memcg.clone(),
            task_memcg: task_memcg.clone(),
            used: false,
        })
    } else {
        None
    };
    out.push(Event::Constraint {
        t_ms,
        constraint: lossy(constraint),
        task,
        pid,
        oom_memcg,
        task_memcg,
    });
}

fn task_in(st: &mut OomState, msg: &[u8], i: usize, t_ms: Option<u64>, out: &mut Vec<Event>) {
    let head = msg.get(..i).unwrap_or_default();
    let task_memcg = rfind(head, b"Task in ")
        .and_then(|s| head.get(s + b"Task in ".len()..))
        .map(|p| lossy(trim(p)));
    let limit = msg
        .get(i + b" killed as a result of limit of ".len()..)
        .map(trim_end)
        .filter(|p| !p.is_empty())
        .map(lossy);
    st.flush(out);
    st.group = None;
    st.ctx = Some(MemcgContext {
        oom_memcg: limit,
        task_memcg,
        used: false,
    });
    st.memcg_reported = false;
    st.report_memcg(t_ms, out);
}

fn kill_first_half(
    st: &mut OomState,
    msg: &[u8],
    k: usize,
    t_ms: Option<u64>,
    out: &mut Vec<Event>,
) {
    let Some(r) = msg.get(k + b"Kill process ".len()..) else {
        return;
    };
    let Some((pid, r)) = pid_then_paren(r) else {
        return;
    };
    let Some((comm, rest)) = take_comm(r, KILL_FOLLOWERS) else {
        return;
    };
    // "Kill process N (x) sharing same memory" names an extra task killed alongside the
    // victim, not a new victim.
    if rest.starts_with(b" sharing") {
        return;
    }
    let memcg_oom = msg.get(..k).is_some_and(|h| h.ends_with(MEMCG_PREFIX));
    st.flush(out);
    if memcg_oom {
        st.report_memcg(t_ms, out);
    }
    st.pending = Some(PendingKill {
        t_ms,
        pid,
        comm: lossy(comm),
        score: rest
            .strip_prefix(b" score ")
            .and_then(parse_i64)
            .map(|(v, _)| v),
        memcg_oom,
    });
}

fn killed(st: &mut OomState, msg: &[u8], k: usize, t_ms: Option<u64>, out: &mut Vec<Event>) {
    let Some(r) = msg.get(k + b"Killed process ".len()..) else {
        return;
    };
    let Some((pid, r)) = pid_then_paren(r) else {
        return;
    };
    let Some((comm, rest)) = take_comm(r, KILLED_FOLLOWERS) else {
        return;
    };
    let pending = st.pending.take();
    let mut memcg_oom = msg.get(..k).is_some_and(|h| h.ends_with(MEMCG_PREFIX));
    let mut score = None;
    if let Some(p) = &pending {
        memcg_oom |= p.memcg_oom;
        if p.pid == pid {
            score = p.score;
        }
    }
    // With memory.oom.group the first victim is printed again while the group is swept.
    if let Some((_, Some(victim))) = &st.group {
        if *victim == pid {
            return;
        }
    }
    let memcg = if memcg_oom {
        st.report_memcg(t_ms, out);
        Some(st.memcg_for_kill())
    } else {
        None
    };
    st.push_kill(
        out,
        KillFields {
            t_ms,
            pid,
            comm: lossy(comm),
            memcg,
            total_vm_kb: field_kb(rest, b"total-vm:").or_else(|| field_kb(rest, b"vsz:")),
            anon_rss_kb: field_kb(rest, b"anon-rss:"),
            file_rss_kb: field_kb(rest, b"file-rss:"),
            shmem_rss_kb: field_kb(rest, b"shmem-rss:"),
            oom_score_adj: field_i32(rest, b"oom_score_adj:"),
            score,
        },
    );
}

fn reaper(rest: &[u8], t_ms: Option<u64>, out: &mut Vec<Event>) {
    if let Some(r) = rest.strip_prefix(b"reaped process ") {
        let r = r.strip_prefix(b":").unwrap_or(r);
        let Some((pid, r)) = pid_then_paren(r) else {
            return;
        };
        let (comm, tail) = match take_comm(r, REAPED_FOLLOWERS) {
            Some((c, t)) => (Some(lossy(c)), t),
            None => (None, &b""[..]),
        };
        out.push(Event::Reaper {
            t_ms,
            pid,
            comm,
            result: ReapResult::Reaped,
            anon_rss_kb: field_kb(tail, b"anon-rss:"),
        });
    } else if let Some(r) = rest.strip_prefix(b"unable to reap ") {
        let Some(r) = after(r, b"pid:") else {
            return;
        };
        let Some((pid, n)) = parse_u32(r) else {
            return;
        };
        // The comm runs to the last ')' of the line: "(sd-pam)" keeps its own parentheses.
        let tail = trim_end(r.get(n..).unwrap_or_default());
        let comm = tail
            .strip_prefix(b" (")
            .and_then(|c| c.strip_suffix(b")"))
            .map(lossy);
        out.push(Event::Reaper {
            t_ms,
            pid,
            comm,
            result: ReapResult::Unable,
            anon_rss_kb: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_with_parens_and_truncation() {
        let (c, r) = take_comm(b"(sd-pam)) total-vm:1kB", KILLED_FOLLOWERS).unwrap();
        assert_eq!(c, b"(sd-pam)");
        assert_eq!(r, b" total-vm:1kB");
        let (c, _) = take_comm(b"a) b) total-vm:1kB", KILLED_FOLLOWERS).unwrap();
        assert_eq!(c, b"a) b");
        let (c, r) = take_comm(b"Web Content) tot", KILLED_FOLLOWERS).unwrap();
        assert_eq!((c, r), (&b"Web Content"[..], &b" tot"[..]));
        let (c, _) = take_comm(b"x)", KILLED_FOLLOWERS).unwrap();
        assert_eq!(c, b"x");
        assert!(take_comm(b"Web Cont", KILLED_FOLLOWERS).is_none());
    }

    #[test]
    fn rhel_pid_forms() {
        assert_eq!(
            pid_then_paren(b"11726, UID 498, (mysqld) t").map(|x| x.0),
            Some(11726)
        );
        assert_eq!(pid_then_paren(b"12 (x)").map(|x| x.0), Some(12));
        assert!(pid_then_paren(b"12(x)").is_none());
        assert!(pid_then_paren(b"99999999999 (x)").is_none());
    }
}
