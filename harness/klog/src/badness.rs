//! The kernel's own victim choice, recomputed from a task dump: `oom_badness()` and the
//! selection loop around it (`select_bad_process()` / `oom_evaluate_task()`,
//! mm/oom_kill.c), for each era whose formula can be evaluated from the dumped columns.
//!
//! # Formulas
//!
//! `raw = rss + swapents + page-table pages` (`pgtables_bytes / PAGE_SIZE`, or `nr_ptes`
//! [+ `nr_pmds`] before 4.15) for every era below; tasks with `oom_score_adj == -1000` are
//! never candidates. `T` is `totalpages`, the size of the memory domain that ran out (RAM +
//! swap for a global OOM, the cgroup limit for a memcg OOM). Integer arithmetic throughout,
//! as in C; `T / 1000` is truncated *before* multiplying, exactly as the kernel writes it.
//!
//! | era | mainline versions | points |
//! |---|---|---|
//! | [`Legacy`](BadnessEra::Legacy) | ..2.6.35 | `badness()`: total_vm, children, CPU/run time, nice, capabilities, `oom_adj` shifts. Not reproducible from a dump. |
//! | [`V2_6_36`](BadnessEra::V2_6_36) | 2.6.36-3.4 | `raw * 1000 / T`, `- 30` for CAP_SYS_ADMIN, `+ oom_score_adj`, clamped to 1..=1000 |
//! | [`V3_5`](BadnessEra::V3_5) | 3.5-3.13 | `raw + (oom_score_adj - 30 if CAP_SYS_ADMIN) * (T / 1000)`, at least 1 |
//! | [`V3_14`](BadnessEra::V3_14) | 3.14-4.16 | `raw - raw * 3 / 100` for CAP_SYS_ADMIN, `+ oom_score_adj * (T / 1000)`, at least 1 |
//! | [`V4_17`](BadnessEra::V4_17) | 4.17-5.2 | `raw + oom_score_adj * (T / 1000)`, at least 1 |
//! | [`V5_3`](BadnessEra::V5_3) | 5.3-5.8 | as 4.17, but ties go to the *last* task scanned |
//! | [`V5_9`](BadnessEra::V5_9) | 5.9-6.x | `raw + oom_score_adj * (T / 1000)`, no clamp (may be negative); ties to the last |
//!
//! Sources: a63d83f427fb "oom: badness heuristic rewrite" (2.6.36); a7f638f999ff "mm, oom:
//! normalize oom scores to oom_score_adj scale only for userspace" (posted May 2012);
//! 778c14affaf9 "mm, oom: base root bonus on current usage" (Jan 2014); "mm, oom: remove 3%
//! bonus for CAP_SYS_ADMIN processes" (Mar 2018, 4.17); "mm: oom: Remove thread group leader
//! check in oom_evaluate_task()" (Tetsuo Handa, posted 2019-06-18); "mm, oom: make the
//! calculation of oom badness more accurate" (Yafang Shao, 2020, `LONG_MIN` for unkillable
//! tasks and no clamp). The version in which each patch first shipped is our reading of
//! its posting date and the stored trees we checked; vendor kernels (RHEL, Android) backport
//! these changes on their own schedule, so prefer [`BadnessEra::from_release`] plus
//! knowledge of the vendor tree over the column guess.
//!
//! # Ties and scan order
//!
//! The dump lists tasks in the order the selection loop visits them: both walk
//! `for_each_process()` for a global OOM and `mem_cgroup_scan_tasks()` for a memcg OOM.
//! Up to 5.2 the loop kept the *first* task with the highest points (`points > chosen`, or
//! the "prefer thread group leaders" check that skipped an equal later task); from 5.3 the
//! test is `points < chosen_points → skip`, so an equal later task replaces the earlier
//! one and the kernel kills the *last* task with the highest points. The ranking here
//! orders ties accordingly (dump order up to 5.2, reverse dump order from 5.3), so rank 1
//! is always the task the kernel would have picked.
//!
//! # Limits
//!
//! * CAP_SYS_ADMIN is not in the dump; the root bonus eras use `uid == 0` as a stand-in
//!   (and mark the result approximate).
//! * The kernel also skips tasks the dump still lists: previous victims already reaped
//!   (`MMF_OOM_SKIP`), a task in `vfork()`, and it picks a task marked as the OOM origin
//!   (swapoff, KSM unmerge) outright. The parser excludes earlier victims it saw killed.
//! * The dump is printed *after* the choice, from live counters, so a racing task can have
//!   grown or shrunk by a few pages; a close ranking is not proof of a wrong choice.
//! * Before 5.1 the chosen task could sacrifice a child: compare against the pid of the
//!   `Kill process` line (or `oom-kill:...pid=`), not the `Killed process` one.

use serde::Serialize;

use crate::tasks::{DumpFormat, DumpedTask, PAGE_SIZE};

/// Which kernel's `oom_badness()` and selection loop to reproduce. See the module docs for
/// the formulas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BadnessEra {
    /// Before 2.6.36: not computable from a task dump.
    Legacy,
    /// 2.6.36-3.4: normalized to 0..1000, root bonus of 30.
    V2_6_36,
    /// 3.5-3.13: raw pages, root bonus of 3% of `totalpages`.
    V3_5,
    /// 3.14-4.16: raw pages, root bonus of 3% of the task's own usage.
    V3_14,
    /// 4.17-5.2: no root bonus.
    V4_17,
    /// 5.3-5.8: ties go to the last task scanned.
    V5_3,
    /// 5.9 and later (every 6.x): signed points, no clamp.
    V5_9,
}

impl BadnessEra {
    /// The era of a mainline release string such as `5.0.0-rc8+` or
    /// `3.10.0-327.4.5.el7.x86_64` (`uname -r`, or the `dump_stack()` header line). `None`
    /// when it does not start with `MAJOR.MINOR`.
    pub fn from_release(release: &str) -> Option<BadnessEra> {
        let mut it = release.split(|c: char| !c.is_ascii_digit());
        let major: u32 = it.next()?.parse().ok()?;
        let minor: u32 = it.next()?.parse().ok()?;
        let patch: u32 = it.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let v = (major, minor, patch);
        Some(if v < (2, 6, 36) {
            BadnessEra::Legacy
        } else if v < (3, 5, 0) {
            BadnessEra::V2_6_36
        } else if v < (3, 14, 0) {
            BadnessEra::V3_5
        } else if v < (4, 17, 0) {
            BadnessEra::V3_14
        } else if v < (5, 3, 0) {
            BadnessEra::V4_17
        } else if v < (5, 9, 0) {
            BadnessEra::V5_3
        } else {
            BadnessEra::V5_9
        })
    }

    /// Best guess from a dump's column set alone, and whether that format pins the era
    /// down (`true`) or spans several (`false`, the most common one is returned).
    pub fn for_format(format: DumpFormat) -> (BadnessEra, bool) {
        match format {
            DumpFormat::CpuOomAdj => (BadnessEra::Legacy, true),
            // 2.6.36-3.5: mostly the normalized formula.
            DumpFormat::CpuOomScoreAdj => (BadnessEra::V2_6_36, false),
            // 3.6-3.19; 3.10 (RHEL/CentOS 7) is by far the most common.
            DumpFormat::NrPtes => (BadnessEra::V3_5, false),
            DumpFormat::NrPmds => (BadnessEra::V3_14, true),
            // 4.15-4.18.
            DumpFormat::PgtablesBytes => (BadnessEra::V4_17, false),
            // 4.19-6.7.
            DumpFormat::TasksState => (BadnessEra::V5_9, false),
            DumpFormat::RssBreakdown => (BadnessEra::V5_9, true),
            DumpFormat::Other => (BadnessEra::V5_9, false),
        }
    }

    /// Whether a mainline kernel of era `era` could have printed a dump in `format` (the
    /// column sets changed in 2.6.36, 3.6, 4.0, 4.15, 4.19 and 6.8).
    pub fn format_allows(format: DumpFormat, era: BadnessEra) -> bool {
        use BadnessEra as E;
        let (lo, hi) = match format {
            DumpFormat::CpuOomAdj => (E::Legacy, E::Legacy),
            DumpFormat::CpuOomScoreAdj => (E::V2_6_36, E::V3_5),
            DumpFormat::NrPtes => (E::V3_5, E::V3_14),
            DumpFormat::NrPmds => (E::V3_14, E::V3_14),
            DumpFormat::PgtablesBytes => (E::V3_14, E::V4_17),
            DumpFormat::TasksState => (E::V4_17, E::V5_9),
            DumpFormat::RssBreakdown => (E::V5_9, E::V5_9),
            DumpFormat::Other => (E::Legacy, E::V5_9),
        };
        (lo..=hi).contains(&era)
    }

    /// Whether an equal later task replaces the chosen one (5.3+).
    pub fn ties_to_last(self) -> bool {
        self >= BadnessEra::V5_3
    }

    fn root_bonus(self) -> bool {
        matches!(
            self,
            BadnessEra::V2_6_36 | BadnessEra::V3_5 | BadnessEra::V3_14
        )
    }
}

/// The columns `oom_badness()` needs from one dumped task: what the parser keeps of a task
/// dump between its table and its kill, without the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScoreRow {
    pub(crate) pid: u32,
    pub(crate) uid: Option<u32>,
    pub(crate) rss: Option<u64>,
    pub(crate) swapents: Option<u64>,
    pub(crate) pgtables_bytes: Option<u64>,
    pub(crate) oom_score_adj: Option<i32>,
    pub(crate) complete: bool,
}

impl ScoreRow {
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }
}

impl From<&DumpedTask> for ScoreRow {
    fn from(t: &DumpedTask) -> Self {
        ScoreRow {
            pid: t.pid,
            uid: t.uid,
            rss: t.rss_pages,
            swapents: t.swapents,
            pgtables_bytes: t.pgtables_bytes,
            oom_score_adj: t.oom_score_adj,
            complete: t.complete,
        }
    }
}

/// How one dumped task scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Score {
    /// `oom_score_adj == -1000`: never a candidate.
    Unkillable,
    /// The row lacks what the formula needs (cut short), or the era is `Legacy`.
    Unknown,
    Points {
        points: i64,
        /// A column the formula uses is absent from this dump format (counted as 0) or the
        /// uid stood in for CAP_SYS_ADMIN.
        approximate: bool,
    },
}

/// What a dump says about one kill: was the killed task the one the kernel's heuristic
/// ranks first?
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeuristicCheck {
    /// The pid compared: the task the kernel chose (on kernels before 5.1 it may have
    /// sacrificed a child, whose pid then appears in the `Killed process` line instead).
    pub chosen_pid: u32,
    /// The top-ranked candidate; `None` when no row is a candidate.
    pub top_pid: Option<u32>,
    /// 1-based rank of `chosen_pid`; `None` when it is not in the dump or not rankable.
    pub victim_rank: Option<usize>,
    /// `chosen_pid` is not the top candidate.
    pub mismatch: bool,
    /// How many candidates outrank `chosen_pid` (`victim_rank - 1`).
    pub candidates_ahead_of: Option<usize>,
    pub top_points: Option<i64>,
    pub victim_points: Option<i64>,
    /// The `totalpages` used; `None` when it was not known exactly: either every candidate
    /// had the same adjustment, so the ranking does not depend on it (the points are then
    /// those for `totalpages = 0`), or `totalpages_range` bounds it.
    pub totalpages: Option<u64>,
    /// When `totalpages` was only known to lie in this inclusive range (from the printed
    /// score, [`infer_totalpages_from_kill`]) and the ranking is the same across it. The
    /// points are then those at the low end.
    pub totalpages_range: Option<(u64, u64)>,
    pub era: BadnessEra,
    /// Some input was missing or stood in for: rows cut short, columns the format lacks,
    /// uid 0 for CAP_SYS_ADMIN, a guessed era, rows dropped over the cap, or `chosen_pid`
    /// missing from the dump (the kernel lists every eligible task, so the dump is then
    /// incomplete).
    pub approximate: bool,
}

/// One era's `oom_badness()` with a fixed `totalpages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Badness {
    pub era: BadnessEra,
    pub totalpages: u64,
}

impl Badness {
    pub fn new(era: BadnessEra, totalpages: u64) -> Self {
        Badness { era, totalpages }
    }

    fn score(&self, t: &ScoreRow) -> Score {
        let adj = i128::from(t.oom_score_adj.unwrap_or(0));
        if adj == -1000 {
            return Score::Unkillable;
        }
        if self.era == BadnessEra::Legacy || !t.complete {
            return Score::Unknown;
        }
        let Some(rss) = t.rss else {
            return Score::Unknown;
        };
        let mut approximate = t.swapents.is_none() || t.pgtables_bytes.is_none();
        let raw = i128::from(rss)
            + i128::from(t.swapents.unwrap_or(0))
            + i128::from(t.pgtables_bytes.unwrap_or(0) / PAGE_SIZE);
        let root = t.uid == Some(0);
        if root && self.era.root_bonus() {
            approximate = true;
        }
        let total = i128::from(self.totalpages);
        let per_mille = total / 1000;
        let points = match self.era {
            BadnessEra::Legacy => return Score::Unknown,
            BadnessEra::V2_6_36 => {
                let mut p = raw * 1000 / total.max(1);
                if root {
                    p -= 30;
                }
                p += adj;
                if p <= 0 {
                    1
                } else {
                    p.min(1000)
                }
            }
            BadnessEra::V3_5 => {
                let a = if root { adj - 30 } else { adj };
                (raw + a * per_mille).max(1)
            }
            BadnessEra::V3_14 => {
                let r = if root { raw - raw * 3 / 100 } else { raw };
                (r + adj * per_mille).max(1)
            }
            BadnessEra::V4_17 | BadnessEra::V5_3 => (raw + adj * per_mille).max(1),
            BadnessEra::V5_9 => raw + adj * per_mille,
        };
        Score::Points {
            points: i64::try_from(points).unwrap_or(if points < 0 { i64::MIN } else { i64::MAX }),
            approximate,
        }
    }

    /// `oom_badness()` of one task; `None` for an unkillable task (`oom_score_adj` -1000), a
    /// row cut short, or the `Legacy` era.
    pub fn points(&self, task: &DumpedTask) -> Option<i64> {
        match self.score(&ScoreRow::from(task)) {
            Score::Points { points, .. } => Some(points),
            _ => None,
        }
    }

    /// Candidates as `(index in tasks, pid, points)`, best first in the kernel's order, plus
    /// whether anything was approximate or left out as unknown.
    fn ranked<I>(&self, rows: I, skip: &[u32]) -> (Vec<(usize, u32, i64)>, bool)
    where
        I: IntoIterator<Item = ScoreRow>,
    {
        let mut approx = false;
        let mut v = Vec::new();
        for (i, t) in rows.into_iter().enumerate() {
            if skip.contains(&t.pid) {
                continue;
            }
            match self.score(&t) {
                Score::Points {
                    points,
                    approximate,
                } => {
                    approx |= approximate;
                    v.push((i, t.pid, points));
                }
                Score::Unknown => approx = true,
                Score::Unkillable => {}
            }
        }
        let last = self.era.ties_to_last();
        v.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then_with(|| if last { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) })
        });
        (v, approx)
    }

    /// `(pid, points)` of every candidate, highest first; equal points in the order that
    /// makes rank 1 the kernel's pick (see the module docs).
    pub fn ranking(&self, tasks: &[DumpedTask]) -> Vec<(u32, i64)> {
        self.ranked(tasks.iter().map(ScoreRow::from), &[])
            .0
            .into_iter()
            .map(|(_, pid, p)| (pid, p))
            .collect()
    }

    /// How many candidates the kernel would have preferred to `pid`; `None` when `pid` is
    /// not a rankable candidate in `tasks`.
    pub fn candidates_ahead(&self, tasks: &[DumpedTask], pid: u32) -> Option<usize> {
        self.ranked(tasks.iter().map(ScoreRow::from), &[])
            .0
            .iter()
            .position(|c| c.1 == pid)
    }

    /// Compares the kernel's actual choice `chosen_pid` with the top of the ranking.
    pub fn check(&self, tasks: &[DumpedTask], chosen_pid: u32) -> HeuristicCheck {
        let rows: Vec<ScoreRow> = tasks.iter().map(ScoreRow::from).collect();
        self.check_rows(&rows, chosen_pid, &[])
    }

    /// [`Badness::check`] on kept rows, ignoring the pids in `skip` (earlier victims the
    /// kernel no longer considers). The same verdict as [`Badness::ranking`] gives.
    pub(crate) fn check_rows(
        &self,
        rows: &[ScoreRow],
        chosen_pid: u32,
        skip: &[u32],
    ) -> HeuristicCheck {
        // Two passes without allocating: the top candidate and the chosen task's best row,
        // then how many candidates rank ahead of that row.
        let last = self.era.ties_to_last();
        // Does (points a, index i) rank ahead of (points b, index j)?
        let ahead = |a: i64, i: usize, b: i64, j: usize| a > b || (a == b && (i > j) == last);
        let mut approximate = false;
        let mut top: Option<(i64, usize, u32)> = None;
        let mut victim: Option<(i64, usize)> = None;
        for (i, t) in rows.iter().enumerate() {
            if skip.contains(&t.pid) {
                continue;
            }
            match self.score(t) {
                Score::Points {
                    points,
                    approximate: a,
                } => {
                    approximate |= a;
                    if top.is_none_or(|(p, j, _)| ahead(points, i, p, j)) {
                        top = Some((points, i, t.pid));
                    }
                    if t.pid == chosen_pid && victim.is_none_or(|(p, j)| ahead(points, i, p, j)) {
                        victim = Some((points, i));
                    }
                }
                Score::Unknown => approximate = true,
                Score::Unkillable => {}
            }
        }
        let ahead_of_victim = victim.map(|(vp, vi)| {
            rows.iter()
                .enumerate()
                .filter(|(i, t)| !skip.contains(&t.pid) && *i != vi)
                .filter(|(i, t)| match self.score(t) {
                    Score::Points { points, .. } => ahead(points, *i, vp, vi),
                    _ => false,
                })
                .count()
        });
        let approximate = approximate || (victim.is_none() && !skip.contains(&chosen_pid));
        HeuristicCheck {
            chosen_pid,
            top_pid: top.map(|t| t.2),
            victim_rank: ahead_of_victim.map(|n| n + 1),
            mismatch: top.map(|t| t.2) != Some(chosen_pid),
            candidates_ahead_of: ahead_of_victim,
            top_points: top.map(|t| t.0),
            victim_points: victim.map(|v| v.0),
            totalpages: Some(self.totalpages),
            totalpages_range: None,
            era: self.era,
            approximate,
        }
    }

    /// Whether the ranking of `tasks` would be the same for every `totalpages`: true when
    /// all candidates carry the same `oom_score_adj` (and, in the 3.5-3.13 era whose root
    /// bonus scales with `totalpages`, the same rootness). Never true for 2.6.36-3.4, whose
    /// normalization truncates differently for each `totalpages`.
    pub(crate) fn independent_of_totalpages(
        era: BadnessEra,
        tasks: &[ScoreRow],
        skip: &[u32],
    ) -> bool {
        if matches!(era, BadnessEra::Legacy | BadnessEra::V2_6_36) {
            return false;
        }
        let mut first: Option<(i32, bool)> = None;
        for t in tasks {
            let adj = t.oom_score_adj.unwrap_or(0);
            if adj == -1000 || skip.contains(&t.pid) {
                continue;
            }
            let key = (adj, era == BadnessEra::V3_5 && t.uid == Some(0));
            match first {
                None => first = Some(key),
                Some(k) if k != key => return false,
                Some(_) => {}
            }
        }
        true
    }
}

/// The range of `totalpages` consistent with the score a kernel before 5.1 printed for the
/// task it chose, `Kill process N (comm) score S or sacrifice child`, given that task's row
/// `chosen` from the same report's dump; `None` when the score does not pin it down.
///
/// From 3.5 to 5.0 the printed score is `points * 1000 / totalpages` (integer division),
/// where `points` is the chosen task's badness. When `points` does not itself depend on
/// `totalpages` (the task's `oom_score_adj` is 0, and in the 3.5-3.13 era it is not root,
/// whose bonus scales with `totalpages`) this gives `points * 1000 / (S + 1) < totalpages <=
/// points * 1000 / S`. That is sound, not a guess: only the dump's own values go in. It is
/// exact up to the few pages the counters may have moved between the choice and the dump.
/// Other eras print no score (5.1+), print the normalized points themselves (2.6.36-3.4), or
/// are not reproducible (`Legacy`): `None`.
///
/// Every candidate's points are affine in `totalpages / 1000` in these eras, so if a ranking
/// puts the same task first at both ends of the range it does so everywhere in between; the
/// parser uses that to check kills in reports that lack the `pages RAM` line.
pub fn infer_totalpages_from_kill(
    chosen: &DumpedTask,
    score: i64,
    era: BadnessEra,
) -> Option<(u64, u64)> {
    infer_totalpages(&ScoreRow::from(chosen), score, era)
}

pub(crate) fn infer_totalpages(
    chosen: &ScoreRow,
    score: i64,
    era: BadnessEra,
) -> Option<(u64, u64)> {
    if !matches!(
        era,
        BadnessEra::V3_5 | BadnessEra::V3_14 | BadnessEra::V4_17
    ) || chosen.oom_score_adj.unwrap_or(0) != 0
        || (era == BadnessEra::V3_5 && chosen.uid == Some(0))
        || score < 0
    {
        return None;
    }
    let Score::Points { points, .. } = Badness::new(era, 0).score(chosen) else {
        return None;
    };
    let scaled = u64::try_from(points).ok()?.checked_mul(1000)?;
    let score = u64::try_from(score).ok()?;
    let lo = scaled / (score + 1) + 1;
    let hi = scaled.checked_div(score).unwrap_or(u64::MAX);
    (lo <= hi).then_some((lo, hi))
}

/// The 5.9+ (every 6.x) ranking: `(pid, points)` of every candidate in `tasks`, highest
/// first, with `points = rss + swapents + pgtables_bytes / 4096 + oom_score_adj *
/// (totalpages / 1000)` and tasks at `oom_score_adj == -1000` left out. Equal points are
/// ordered last-scanned first: since 5.3 the kernel keeps the *last* task with the highest
/// points, and the dump lists tasks in its scan order, so rank 1 is the kernel's pick. For
/// older kernels (normalized scores before 3.5, the root bonus before 4.17, first-wins ties
/// before 5.3) use [`Badness`] with the matching [`BadnessEra`].
///
/// `totalpages` is the size of the domain that ran out: `totalram_pages + total_swap_pages`
/// for a global OOM (from the report: `pages RAM` minus `pages reserved`, plus `Total swap`
/// in pages), the cgroup's limit (plus usable swap) for a memcg OOM.
pub fn badness_ranking(tasks: &[DumpedTask], totalpages: u64) -> Vec<(u32, i64)> {
    Badness::new(BadnessEra::V5_9, totalpages).ranking(tasks)
}

/// [`Badness::check`] with the 5.9+ formula of [`badness_ranking`]: is `victim_pid` the
/// kernel's top candidate in `dump`?
pub fn heuristic_check(dump: &[DumpedTask], victim_pid: u32, totalpages: u64) -> HeuristicCheck {
    Badness::new(BadnessEra::V5_9, totalpages).check(dump, victim_pid)
}

/// How many tasks in `dump` outrank `pid` under the 5.9+ formula of [`badness_ranking`];
/// `None` when `pid` is not a candidate there.
pub fn candidates_ahead(dump: &[DumpedTask], pid: u32, totalpages: u64) -> Option<usize> {
    Badness::new(BadnessEra::V5_9, totalpages).candidates_ahead(dump, pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(pid: u32, uid: u32, rss: u64, pt: u64, swap: u64, adj: i32) -> DumpedTask {
        DumpedTask {
            pid,
            uid: Some(uid),
            tgid: Some(pid),
            total_vm_pages: Some(rss * 2),
            rss_pages: Some(rss),
            rss_anon_pages: None,
            rss_file_pages: None,
            rss_shmem_pages: None,
            pgtables_bytes: Some(pt),
            swapents: Some(swap),
            oom_score_adj: Some(adj),
            name: format!("t{pid}"),
            complete: true,
        }
    }

    #[test]
    fn releases() {
        let e = |r| BadnessEra::from_release(r).unwrap();
        // Mainline 2.6.32; RHEL 6 backported the rewrite, which its dump format shows.
        assert_eq!(e("2.6.32-573.12.1.el6"), BadnessEra::Legacy);
        assert_eq!(e("2.6.24-rc5-mm1"), BadnessEra::Legacy);
        assert_eq!(e("3.2.0-75-generic"), BadnessEra::V2_6_36);
        assert_eq!(e("3.10.0-327.el7.x86_64"), BadnessEra::V3_5);
        assert_eq!(e("4.12.0-rc1-mm1+"), BadnessEra::V3_14);
        assert_eq!(e("5.0.0-rc8+"), BadnessEra::V4_17);
        assert_eq!(e("5.4.0-77-generic"), BadnessEra::V5_3);
        assert_eq!(e("6.1.0-56-cloud-amd64"), BadnessEra::V5_9);
        assert_eq!(BadnessEra::from_release("x"), None);
        assert!(BadnessEra::format_allows(DumpFormat::NrPtes, e("3.10.0")));
        assert!(!BadnessEra::format_allows(DumpFormat::NrPtes, e("6.1.0")));
        assert!(!BadnessEra::format_allows(
            DumpFormat::CpuOomScoreAdj,
            e("2.6.32")
        ));
    }

    #[test]
    fn ties_follow_the_era() {
        let tasks = [task(1, 1000, 10, 0, 0, 0), task(2, 1000, 10, 0, 0, 0)];
        assert_eq!(badness_ranking(&tasks, 1000), vec![(2, 10), (1, 10)]);
        let old = Badness::new(BadnessEra::V4_17, 1000);
        assert_eq!(old.ranking(&tasks), vec![(1, 10), (2, 10)]);
    }

    #[test]
    fn adj_and_unkillable() {
        let tasks = [
            task(1, 1000, 5000, 8192, 100, 0),
            task(2, 1000, 100, 0, 0, 500),
            task(3, 1000, 90000, 0, 0, -1000),
        ];
        // 1: 5000 + 100 + 2 = 5102; 2: 100 + 500 * (20000 / 1000) = 10100.
        assert_eq!(badness_ranking(&tasks, 20_999), vec![(2, 10100), (1, 5102)]);
        let c = heuristic_check(&tasks, 1, 20_999);
        assert!(c.mismatch);
        assert_eq!((c.top_pid, c.victim_rank), (Some(2), Some(2)));
        assert_eq!(candidates_ahead(&tasks, 1, 20_999), Some(1));
        assert_eq!(candidates_ahead(&tasks, 3, 20_999), None);
        // Negative points are kept from 5.9, clamped to 1 before.
        let neg = [task(4, 1000, 10, 0, 0, -500)];
        assert_eq!(badness_ranking(&neg, 10_000), vec![(4, -4990)]);
        assert_eq!(
            Badness::new(BadnessEra::V5_3, 10_000).ranking(&neg),
            vec![(4, 1)]
        );
    }

    #[test]
    fn root_bonus_eras() {
        let t = [task(1, 0, 1000, 0, 0, 0)];
        assert_eq!(
            Badness::new(BadnessEra::V2_6_36, 10_000).ranking(&t),
            vec![(1, 70)]
        );
        assert_eq!(
            Badness::new(BadnessEra::V3_5, 10_000).ranking(&t),
            vec![(1, 700)]
        );
        assert_eq!(
            Badness::new(BadnessEra::V3_14, 10_000).ranking(&t),
            vec![(1, 970)]
        );
        assert!(
            Badness::new(BadnessEra::V3_14, 10_000)
                .check(&t, 1)
                .approximate
        );
        assert!(!heuristic_check(&t, 1, 10_000).approximate);
    }

    #[test]
    fn totalpages_from_score() {
        // 4.12: 473645 rss + (934 + 5) page-table pages, root: 474584 - 3% = 460347.
        let t = DumpedTask {
            pgtables_bytes: Some(939 * 4096),
            ..task(492, 0, 473645, 0, 0, 0)
        };
        assert_eq!(
            infer_totalpages_from_kill(&t, 899, BadnessEra::V3_14),
            Some((511497, 512065))
        );
        assert_eq!(infer_totalpages_from_kill(&t, 899, BadnessEra::V5_9), None);
        let adj = task(1, 1000, 10, 0, 0, 5);
        assert_eq!(infer_totalpages_from_kill(&adj, 1, BadnessEra::V4_17), None);
        let root = task(1, 0, 10, 0, 0, 0);
        assert_eq!(infer_totalpages_from_kill(&root, 1, BadnessEra::V3_5), None);
        // Score 0: anything above points * 1000.
        let small = task(1, 1000, 10, 0, 0, 0);
        assert_eq!(
            infer_totalpages_from_kill(&small, 0, BadnessEra::V4_17),
            Some((10_001, u64::MAX))
        );
    }

    /// The one-pass check and the sorted ranking agree on every rank, with ties, duplicate
    /// pids and unkillable rows, under both tie rules.
    #[test]
    fn check_agrees_with_ranking() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for era in [BadnessEra::V4_17, BadnessEra::V5_9, BadnessEra::V3_14] {
            for _ in 0..200 {
                let tasks: Vec<DumpedTask> = (0..next(12))
                    .map(|_| {
                        let adj = [0, 0, -1000, 500, -500][next(5) as usize];
                        task(next(6) as u32, next(2) as u32 * 1000, next(4), 0, 0, adj)
                    })
                    .collect();
                let b = Badness::new(era, 10_000);
                let ranking = b.ranking(&tasks);
                for pid in 0..6 {
                    let c = b.check(&tasks, pid);
                    let pos = ranking.iter().position(|r| r.0 == pid);
                    assert_eq!(c.candidates_ahead_of, pos, "{era:?} {tasks:?} {pid}");
                    assert_eq!(c.top_pid, ranking.first().map(|r| r.0));
                    assert_eq!(c.victim_points, pos.map(|p| ranking[p].1));
                }
            }
        }
    }

    #[test]
    fn incomplete_rows_are_not_ranked() {
        let mut t = task(1, 1000, 10, 0, 0, 0);
        t.complete = false;
        let c = heuristic_check(&[t], 1, 100);
        assert_eq!((c.top_pid, c.victim_rank, c.mismatch), (None, None, true));
        assert!(c.approximate);
    }
}
