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
//!
//! For the victim check (module `badness`) the state also holds the current report's
//! context: its task dump (module `tasks`), the lines that size the memory domain
//! (`show_mem()`'s `N pages RAM` / `N pages reserved` and `Total swap = NkB` for a global
//! OOM, `memory: usage X, limit Y` and the swap limit line for a memcg OOM), the kernel
//! release from the `dump_stack()` header, the chosen pid, and the last few victims. The
//! task dump is bounded by [`crate::MAX_DUMP_ROWS`]; everything else is fixed-size.
//!
//! Only the dump header, `Total swap` and the memcg limit lines (`..kB, limit ..`) are
//! anchors. The rest carry none: after an anchored line that announces them (the `invoked
//! oom-killer` line for the release, `Total swap` for `pages RAM` / `pages reserved`, the
//! dump header for its rows) the parser is in *line mode* for a few lines or for the length
//! of the table: every line is looked at, not only anchored ones. Outside OOM reports the
//! fast path is unchanged. The `Total swap` line is only read between a report's `invoked`
//! line and its table or kill, so the show_mem() of a sysrq or an allocation failure does
//! not size an OOM.

use crate::badness::{infer_totalpages, Badness, BadnessEra, HeuristicCheck, ScoreRow};
use crate::bytes::{
    after, field_i32, field_kb, field_token, find, lossy, parse_i64, parse_u32, parse_u64, rfind,
    trim, trim_end, trim_start,
};
use crate::event::{Event, ReapResult};
use crate::scan::{mask, Present};
use crate::tasks::{self, DumpFormat, Table};

/// Once the kernel release is known, it is looked for again in every this many reports.
const RELEASE_RECHECK: u32 = 32;

/// How many recent victims are remembered, to leave them out of later victim checks (the
/// kernel skips reaped victims, `MMF_OOM_SKIP`, though the dump still lists them).
const RECENT_VICTIMS: usize = 64;

/// show_mem()'s swap line, which `N pages RAM` and `N pages reserved` follow; an anchor.
pub(crate) const TOTAL_SWAP: &[u8] = b"Total swap = ";

/// A memcg limit this large (in kB) is "max": the page counter's maximum times the page size.
const UNLIMITED_KB: u64 = 1 << 50;

/// Context lines looked for in line mode: the `dump_stack()` header with the release, and
/// show_mem()'s `N pages RAM` and `N pages reserved` after `Total swap`.
const WANT_RELEASE: u8 = 1;
const WANT_RAM: u8 = 2;
const WANT_RESERVED: u8 = 4;

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
    /// What the current report said about its memory domain and candidates.
    report: ReportCtx,
    /// The task dump being read, if any.
    table: Option<Table>,
    /// Lines still to be looked at one by one for the context in `want` (module docs).
    lookahead: u8,
    want: u8,
    /// Between a report's `invoked oom-killer` line and its table or kill: its show_mem()
    /// swap line is wanted (not the ones of sysrq or allocation-failure reports).
    want_swap: bool,
    /// Kernel release from the last `dump_stack()` header seen, and how many reports ago.
    release: Option<String>,
    reports_since_release: u32,
    /// printk time of the last report's `invoked oom-killer` line.
    last_report_ms: Option<u64>,
    /// The last `Total swap` seen in any report: swap rarely changes during a log, and memcg
    /// reports, which do not print it, need it to size the cgroup.
    known_total_swap_kb: Option<u64>,
    /// The last [`RECENT_VICTIMS`] victims' pids, a ring (order does not matter).
    recent_victims: Vec<u32>,
    next_victim: usize,
    /// Only a [`crate::Summary`] is wanted: task dump rows are reduced to what the victim
    /// check needs and [`Event::TaskDump`] carries no rows.
    pub(crate) summary_only: bool,
}

/// The current OOM report's context for the victim check. Reset by `invoked oom-killer`.
#[derive(Debug, Default)]
struct ReportCtx {
    pages_ram: Option<u64>,
    pages_reserved: Option<u64>,
    total_swap_kb: Option<u64>,
    mem_limit_kb: Option<u64>,
    /// cgroup v1 `memory+swap: ... limit`.
    memsw_limit_kb: Option<u64>,
    /// cgroup v2 `swap: ... limit`.
    swap_limit_kb: Option<u64>,
    /// CONSTRAINT_CPUSET / CONSTRAINT_MEMORY_POLICY: sized by nodes the log does not show.
    node_constraint: bool,
    /// `oom-kill:...,pid=N` (4.19+): the task the heuristic chose.
    chosen_pid: Option<u32>,
    /// The report's finished task dump, waiting for its kill.
    dump: Option<Dump>,
}

/// What the victim check needs of a finished task dump (the rows themselves went out in
/// the [`Event::TaskDump`]).
#[derive(Debug)]
struct Dump {
    rows: Vec<ScoreRow>,
    format: DumpFormat,
    dropped: u64,
}

impl OomState {
    /// Start of a new report: whatever was pending belongs to the previous one.
    fn new_episode(&mut self, t_ms: Option<u64>, out: &mut Vec<Event>) {
        self.flush(out);
        self.ctx = None;
        self.group = None;
        self.memcg_reported = false;
        self.report = ReportCtx::default();
        self.want_swap = true;
        // The dump_stack() header with the release is the next line, or the one after the
        // `cpuset=` line on older kernels. Only a reboot changes it, so once known it is
        // checked again when the printk time went back (or is missing), and every
        // RELEASE_RECHECK reports; a dump whose format contradicts it is caught by
        // `victim_check` in any case.
        let rebooted = match (t_ms, self.last_report_ms) {
            (Some(t), Some(last)) => t < last,
            _ => true,
        };
        self.last_report_ms = t_ms;
        self.reports_since_release = self.reports_since_release.saturating_add(1);
        if self.release.is_none() || rebooted || self.reports_since_release >= RELEASE_RECHECK {
            self.look_ahead(WANT_RELEASE, 2);
        }
    }

    /// Looks at the next `n` lines individually for `what` (the current line's end counts
    /// as one).
    fn look_ahead(&mut self, what: u8, n: u8) {
        self.want |= what;
        self.lookahead = self.lookahead.max(n.saturating_add(1));
    }

    /// True while every line must be parsed, not only anchored ones.
    pub(crate) fn line_mode(&self) -> bool {
        self.lookahead > 0 || self.table_open()
    }

    pub(crate) fn table_open(&self) -> bool {
        self.table.as_ref().is_some_and(|t| !t.suspended)
    }

    /// Takes `msg` as a row of the open table if it is one.
    pub(crate) fn take_row(&mut self, msg: &[u8], t_ms: Option<u64>) -> bool {
        match self.table.as_mut() {
            Some(t) if !t.suspended => t.take_row(msg, t_ms),
            _ => false,
        }
    }

    /// End of a line parsed by the slow path; `row` says whether it was a table row.
    pub(crate) fn line_done(&mut self, row: bool) {
        self.lookahead = self.lookahead.saturating_sub(1);
        if self.lookahead == 0 || self.want == 0 {
            self.lookahead = 0;
            self.want = 0;
        }
        if let Some(t) = self.table.as_mut().filter(|t| !t.suspended) {
            t.line_done(row);
        }
    }

    /// The report moved past the task dump: emit it and keep it for the kill.
    pub(crate) fn end_table(&mut self, out: &mut Vec<Event>) {
        if let Some(t) = self.table.take() {
            self.report.dump = Some(Dump {
                rows: t.rows,
                format: t.header.format,
                dropped: t.dropped,
            });
            out.push(Event::TaskDump {
                t_ms: t.t_ms,
                format: t.header.format,
                tasks: t.tasks,
                dropped_rows: t.dropped,
            });
        }
    }

    /// End of input.
    pub(crate) fn finish(&mut self, out: &mut Vec<Event>) {
        self.end_table(out);
        self.flush(out);
    }

    /// A line seen in line mode while context is wanted: the context lines that follow
    /// anchored ones (module docs). Only prefix and suffix tests, as this runs on every
    /// such line; returns whether the line was one of them.
    pub(crate) fn context_line(
        &mut self,
        msg: &[u8],
        t_ms: Option<u64>,
        out: &mut Vec<Event>,
    ) -> bool {
        if self.want_swap {
            if let Some(rest) = msg.strip_prefix(TOTAL_SWAP) {
                self.want_swap = false;
                let kb = parse_u64(trim_start(rest)).and_then(|(v, n)| {
                    trim_start(rest)
                        .get(n..n + 2)
                        .filter(|u| u == b"kB")
                        .map(|_| v)
                });
                self.report.total_swap_kb = kb;
                if kb.is_some() {
                    self.known_total_swap_kb = kb;
                }
                // show_mem(): `N pages RAM` next, `N pages HighMem...`, `N pages reserved`.
                self.look_ahead(WANT_RAM | WANT_RESERVED, 5);
                return true;
            }
        }
        if self.want == 0 {
            return false;
        }
        if self.want & (WANT_RAM | WANT_RESERVED) != 0 {
            let m = trim_end(msg);
            if let Some(head) = m.strip_suffix(b" pages RAM") {
                if let Some(pages) = count_before(head, head.len()) {
                    self.report.pages_ram = Some(pages);
                    self.want &= !WANT_RAM;
                    out.push(Event::PagesRam { t_ms, pages });
                    return true;
                }
            } else if let Some(head) = m.strip_suffix(b" pages reserved") {
                if let Some(v) = count_before(head, head.len()) {
                    self.report.pages_reserved = Some(v);
                    self.want &= !(WANT_RAM | WANT_RESERVED);
                    return true;
                }
            }
        }
        if self.want & WANT_RELEASE != 0 && (msg.starts_with(b"CPU: ") || msg.starts_with(b"Pid: "))
        {
            // Usually the release already known: confirm it without re-parsing.
            let known = self
                .release
                .as_deref()
                .is_some_and(|r| find(msg, b"ainted ").is_some() && has_token(msg, r.as_bytes()));
            if known {
                self.want &= !WANT_RELEASE;
                self.reports_since_release = 0;
                return true;
            }
            if let Some(r) = tasks::release_of(msg) {
                self.release = Some(r);
                self.want &= !WANT_RELEASE;
                self.reports_since_release = 0;
                return true;
            }
        }
        false
    }

    /// `totalpages` of the domain the current report is about, and whether it rests on a
    /// default (a `pages reserved` or `Total swap` line that was missing).
    fn totalpages(&self, memcg_kill: bool) -> (Option<u64>, bool) {
        let r = &self.report;
        if r.node_constraint {
            return (None, false);
        }
        if memcg_kill || r.mem_limit_kb.is_some() {
            // mem_cgroup_get_max()/get_limit(): the limit, plus swap the cgroup may use.
            let Some(mem) = r.mem_limit_kb.filter(|&m| m < UNLIMITED_KB) else {
                return (None, false);
            };
            let no_swap = r.swap_limit_kb == Some(0)
                || r.memsw_limit_kb.is_some_and(|m| m <= mem)
                || self.known_total_swap_kb == Some(0);
            let pages = (mem / (tasks::PAGE_SIZE / 1024)).max(1);
            return (no_swap.then_some(pages), false);
        }
        let Some(ram) = r.pages_ram else {
            return (None, false);
        };
        let managed = ram.saturating_sub(r.pages_reserved.unwrap_or(0));
        let swap = r.total_swap_kb.unwrap_or(0) / (tasks::PAGE_SIZE / 1024);
        (
            Some(managed.saturating_add(swap)),
            r.pages_reserved.is_none() || r.total_swap_kb.is_none(),
        )
    }

    /// The victim check for a kill whose report had a dump (module `badness`). `score` is
    /// what a pre-5.1 kernel printed for the chosen task.
    fn victim_check(
        &self,
        dump: &Dump,
        chosen: u32,
        score: Option<i64>,
        memcg_kill: bool,
    ) -> Option<HeuristicCheck> {
        if dump.rows.is_empty() {
            return None;
        }
        let (era, exact) = match self.release.as_deref().and_then(BadnessEra::from_release) {
            Some(e) if BadnessEra::format_allows(dump.format, e) => (e, true),
            // The dump contradicts the release: a vendor backport (RHEL 6's 2.6.32 has the
            // 2.6.36 rewrite and its columns), or a release line from before a reboot.
            Some(_) => (BadnessEra::for_format(dump.format).0, false),
            None => BadnessEra::for_format(dump.format),
        };
        if era == BadnessEra::Legacy {
            return None;
        }
        let skip = &self.recent_victims[..];
        let (total, defaulted) = self.totalpages(memcg_kill);
        let rows = &dump.rows[..];
        let mut c = match total {
            Some(t) => Badness::new(era, t).check_rows(rows, chosen, skip),
            None if Badness::independent_of_totalpages(era, &dump.rows, skip) => {
                let mut c = Badness::new(era, 0).check_rows(rows, chosen, skip);
                c.totalpages = None;
                c
            }
            None => {
                // Bounded by the printed score: the same verdict at both ends holds between.
                let row = dump.rows.iter().find(|r| r.pid() == chosen)?;
                let (lo, hi) = infer_totalpages(row, score?, era)?;
                let mut a = Badness::new(era, lo).check_rows(rows, chosen, skip);
                let b = Badness::new(era, hi).check_rows(rows, chosen, skip);
                if (a.top_pid, a.victim_rank) != (b.top_pid, b.victim_rank) {
                    return None;
                }
                a.totalpages = None;
                a.totalpages_range = Some((lo, hi));
                a
            }
        };
        c.approximate |= !exact || defaulted || dump.dropped > 0;
        Some(c)
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
                    chosen: Some(p.pid),
                    chosen_score: p.score,
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
        self.want_swap = false;
        let chosen = k.chosen.or(self.report.chosen_pid).unwrap_or(k.pid);
        let chosen_score = if k.chosen.is_some() {
            k.chosen_score
        } else {
            k.score
        };
        self.report.chosen_pid = None;
        // Only the first kill after a dump is the heuristic's choice (a memory.oom.group
        // sweep kills the rest of the cgroup without one).
        let check = self
            .report
            .dump
            .take()
            .and_then(|d| self.victim_check(&d, chosen, chosen_score, k.memcg.is_some()));
        for pid in [chosen, k.pid] {
            if !self.recent_victims.contains(&pid) {
                if self.recent_victims.len() < RECENT_VICTIMS {
                    self.recent_victims.push(pid);
                } else if let Some(slot) = self.recent_victims.get_mut(self.next_victim) {
                    *slot = pid;
                }
                self.next_victim = (self.next_victim + 1) % RECENT_VICTIMS;
            }
        }
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
        if let Some(check) = check {
            out.push(Event::VictimCheck {
                t_ms: k.t_ms,
                pid: k.pid,
                check,
            });
        }
    }
}

/// `tok` occurs in `msg` as a whole blank-separated token.
fn has_token(msg: &[u8], tok: &[u8]) -> bool {
    let Some(i) = find(msg, tok) else {
        return false;
    };
    let before = i == 0 || msg.get(i - 1) == Some(&b' ');
    let after = msg.get(i + tok.len()).is_none_or(|&c| c == b' ');
    before && after
}

/// The count in `N pages ...`, where `i` is the offset of ` pages`: the whole message
/// before it must be the number.
fn count_before(msg: &[u8], i: usize) -> Option<u64> {
    let head = trim(msg.get(..i)?);
    let (v, n) = parse_u64(head)?;
    (n == head.len()).then_some(v)
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
    /// The pid and score of the `Kill process` half, when known.
    chosen: Option<u32>,
    chosen_score: Option<i64>,
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
            | mask::NO_KILLABLE
            | mask::TASK_HEADER
            | mask::MEMCG_LIMIT,
    ) {
        return;
    }
    if has.any(mask::TASK_HEADER | mask::MEMCG_LIMIT) {
        report_context(st, msg, has, t_ms);
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

/// The anchored lines of a report's context: the dump header and the memcg limits
/// (`memory: usage X, limit Y`, then `memory+swap: ...` on cgroup v1 or
/// `swap: ...` on v2). (The caller already ended any table in progress.)
fn report_context(st: &mut OomState, msg: &[u8], has: Present, t_ms: Option<u64>) {
    if has.any(mask::TASK_HEADER) {
        // show_mem() came before the table, if at all.
        st.want_swap = false;
        if let Some(h) = tasks::parse_header(msg) {
            st.table = Some(Table::new(h, t_ms, !st.summary_only));
        }
    }
    if has.any(mask::MEMCG_LIMIT) {
        let limit = field_kb(msg, b"kB, limit ");
        if find(msg, b"memory: usage ").is_some() {
            st.report.mem_limit_kb = limit;
        } else if find(msg, b"memory+swap: usage ").is_some() {
            st.report.memsw_limit_kb = limit;
        } else if trim(msg).starts_with(b"swap: usage ") {
            st.report.swap_limit_kb = limit;
        }
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
    st.new_episode(t_ms, out);
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
    st.report.chosen_pid = pid;
    st.report.node_constraint =
        constraint == b"CONSTRAINT_CPUSET" || constraint == b"CONSTRAINT_MEMORY_POLICY";
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
    let chosen = pending.as_ref().map(|p| p.pid);
    let chosen_score = pending.as_ref().and_then(|p| p.score);
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
            chosen,
            chosen_score,
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
