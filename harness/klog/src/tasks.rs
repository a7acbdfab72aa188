//! OOM task dumps: the table of eligible tasks `dump_tasks()` prints in an OOM report
//! (mm/oom_kill.c, v2.6.25+, when `vm.oom_dump_tasks` is set, which is the default).
//!
//! ```text
//! 2.6.25-2.6.35  [ pid ]   uid  tgid total_vm      rss cpu oom_adj name
//! 2.6.36-3.5     [ pid ]   uid  tgid total_vm      rss cpu oom_adj oom_score_adj name
//! 3.6-3.19       [ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name
//! 4.0-4.14       [ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name
//! 4.15-4.18      [ pid ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
//! 4.19-6.7       Tasks state (memory values in pages):
//!                [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
//! 6.8+           [  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name
//! row            [    123]     0   123    45678    12345   245760        0             0 usemem
//! ```
//!
//! (Version boundaries are those of mainline; vendor kernels backport freely, which is why
//! rows are read by the column names of the header that precedes them, not by position.)
//!
//! A row is `[`, spaces, the pid, `]`, one number per header column and the comm, which may
//! contain spaces. The table has no terminator: it ends at the next line that is not a row.
//! Because other CPUs' messages can land between rows, a few non-row lines are tolerated
//! (see [`Table::NONROW_LIMIT`]); the table is only emitted when the report moves on (the
//! next OOM line, a panic) or the input ends, so rows after such an interruption still count.

use serde::Serialize;

use crate::badness::ScoreRow;
use crate::bytes::{find, lossy, parse_u64, trim_end};

/// Most rows kept per table; the rest are counted in `dropped_rows`. A real table has one
/// row per process (or per cgroup member); this only bounds memory on hostile input.
pub const MAX_DUMP_ROWS: usize = 100_000;

/// The assumed page size for converting `nr_ptes`/`nr_pmds` (page counts) to bytes and
/// `pgtables_bytes` back to pages, as `oom_badness()` does with `PAGE_SIZE`.
pub const PAGE_SIZE: u64 = 4096;

/// One row of an OOM task dump (`dump_task()`): one eligible process as the kernel saw it
/// while choosing a victim. Memory values are in pages, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpedTask {
    pub pid: u32,
    pub uid: Option<u32>,
    pub tgid: Option<u32>,
    pub total_vm_pages: Option<u64>,
    pub rss_pages: Option<u64>,
    /// The 6.8+ `rss_anon`/`rss_file`/`rss_shmem` breakdown of `rss_pages`.
    pub rss_anon_pages: Option<u64>,
    pub rss_file_pages: Option<u64>,
    pub rss_shmem_pages: Option<u64>,
    /// Page-table bytes: `pgtables_bytes` (4.15+), or `(nr_ptes + nr_pmds) * 4096` on older
    /// kernels that printed page counts. `None` when the format has neither (before 3.6).
    pub pgtables_bytes: Option<u64>,
    /// Swap entries (pages); `None` when the format has no `swapents` column (before 3.6).
    pub swapents: Option<u64>,
    /// `None` on 2.6.25-2.6.35, whose dump had only the legacy `oom_adj` column.
    pub oom_score_adj: Option<i32>,
    /// The comm (up to 15 bytes; may contain spaces). Empty when the row was cut before it.
    pub name: String,
    /// Every numeric column of the header was read. False for a row cut short or garbled;
    /// its missing values are `None` and [`crate::Badness`] does not rank it.
    pub complete: bool,
}

/// Which `dump_tasks()` header a table had: the column set, and so roughly the kernel era.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpFormat {
    /// `... rss cpu oom_adj name` (2.6.25-2.6.35): no page-table, swap or oom_score_adj.
    CpuOomAdj,
    /// `... rss cpu oom_adj oom_score_adj name` (2.6.36-3.5): no page-table or swap column.
    CpuOomScoreAdj,
    /// `... rss nr_ptes swapents oom_score_adj name` (3.6-3.19).
    NrPtes,
    /// `... rss nr_ptes nr_pmds swapents oom_score_adj name` (4.0-4.14).
    NrPmds,
    /// `[ pid ] ... rss pgtables_bytes swapents oom_score_adj name` (4.15-4.18).
    PgtablesBytes,
    /// `[  pid  ] ... rss pgtables_bytes swapents oom_score_adj name` (4.19-6.7).
    TasksState,
    /// `... rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name` (6.8+).
    RssBreakdown,
    /// Any other column set (vendor kernels); read by column name where known.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Uid,
    Tgid,
    TotalVm,
    Rss,
    RssAnon,
    RssFile,
    RssShmem,
    NrPtes,
    NrPmds,
    PgtablesBytes,
    Swapents,
    OomScoreAdj,
    /// Printed but not kept (`cpu`, `oom_adj`, vendor additions).
    Skip,
}

impl Col {
    fn of(name: &[u8]) -> Col {
        match name {
            b"uid" => Col::Uid,
            b"tgid" => Col::Tgid,
            b"total_vm" => Col::TotalVm,
            b"rss" => Col::Rss,
            b"rss_anon" => Col::RssAnon,
            b"rss_file" => Col::RssFile,
            b"rss_shmem" => Col::RssShmem,
            b"nr_ptes" => Col::NrPtes,
            b"nr_pmds" => Col::NrPmds,
            b"pgtables_bytes" => Col::PgtablesBytes,
            b"swapents" => Col::Swapents,
            b"oom_score_adj" => Col::OomScoreAdj,
            _ => Col::Skip,
        }
    }
}

/// A parsed header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// The numeric columns, in order (the trailing `name` excluded).
    cols: Vec<Col>,
    pub(crate) format: DumpFormat,
    has_pmds: bool,
}

const KNOWN: &[(&[&str], DumpFormat)] = &[
    (
        &["uid", "tgid", "total_vm", "rss", "cpu", "oom_adj", "name"],
        DumpFormat::CpuOomAdj,
    ),
    (
        &[
            "uid",
            "tgid",
            "total_vm",
            "rss",
            "cpu",
            "oom_adj",
            "oom_score_adj",
            "name",
        ],
        DumpFormat::CpuOomScoreAdj,
    ),
    (
        &[
            "uid",
            "tgid",
            "total_vm",
            "rss",
            "nr_ptes",
            "swapents",
            "oom_score_adj",
            "name",
        ],
        DumpFormat::NrPtes,
    ),
    (
        &[
            "uid",
            "tgid",
            "total_vm",
            "rss",
            "nr_ptes",
            "nr_pmds",
            "swapents",
            "oom_score_adj",
            "name",
        ],
        DumpFormat::NrPmds,
    ),
    (
        &[
            "uid",
            "tgid",
            "total_vm",
            "rss",
            "pgtables_bytes",
            "swapents",
            "oom_score_adj",
            "name",
        ],
        DumpFormat::PgtablesBytes,
    ),
    (
        &[
            "uid",
            "tgid",
            "total_vm",
            "rss",
            "rss_anon",
            "rss_file",
            "rss_shmem",
            "pgtables_bytes",
            "swapents",
            "oom_score_adj",
            "name",
        ],
        DumpFormat::RssBreakdown,
    ),
];

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while b.get(i).copied().is_some_and(is_blank) {
        i += 1;
    }
    i
}

/// `[ pid ]` / `[  pid  ]` / `[pid]` at the start of `msg` (after blanks): the offset after
/// the `]` and whether the pid was padded to the 4.19+ width.
fn pid_label(msg: &[u8]) -> Option<(usize, bool)> {
    let mut i = skip_blanks(msg, 0);
    if msg.get(i) != Some(&b'[') {
        return None;
    }
    let open = i;
    i = skip_blanks(msg, i + 1);
    if msg.get(i..i + 3) != Some(&b"pid"[..]) {
        return None;
    }
    i = skip_blanks(msg, i + 3);
    if msg.get(i) != Some(&b']') {
        return None;
    }
    // "[  pid  ]" is 9 bytes, "[ pid ]" 7.
    Some((i + 1, i + 1 - open >= 9))
}

/// The headers mainline printed, after the pid label, and their columns.
const EXACT: &[(&str, DumpFormat, &[Col])] = {
    use Col::*;
    &[
        (
            "   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
            DumpFormat::PgtablesBytes,
            &[Uid, Tgid, TotalVm, Rss, PgtablesBytes, Swapents, OomScoreAdj],
        ),
        (
            "   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name",
            DumpFormat::RssBreakdown,
            &[Uid, Tgid, TotalVm, Rss, RssAnon, RssFile, RssShmem, PgtablesBytes, Swapents, OomScoreAdj],
        ),
        (
            "   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name",
            DumpFormat::NrPmds,
            &[Uid, Tgid, TotalVm, Rss, NrPtes, NrPmds, Swapents, OomScoreAdj],
        ),
        (
            "   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
            DumpFormat::NrPtes,
            &[Uid, Tgid, TotalVm, Rss, NrPtes, Swapents, OomScoreAdj],
        ),
    ]
};

/// Parses a `dump_tasks()` header (`msg` is the message after the line prefix).
pub(crate) fn parse_header(msg: &[u8]) -> Option<Header> {
    let (after, wide) = pid_label(msg)?;
    let rest = trim_end(msg.get(after..)?);
    let wide_format = |f: DumpFormat| {
        if f == DumpFormat::PgtablesBytes && wide {
            DumpFormat::TasksState
        } else {
            f
        }
    };
    // Fast path: the header exactly as mainline prints it.
    if let Some((_, f, cols)) = EXACT.iter().find(|(text, _, _)| rest == text.as_bytes()) {
        return Some(Header {
            cols: cols.to_vec(),
            format: wide_format(*f),
            has_pmds: *f == DumpFormat::NrPmds,
        });
    }
    let names: Vec<&[u8]> = rest
        .split(|&c| is_blank(c))
        .filter(|t| !t.is_empty())
        .collect();
    if !names.contains(&&b"tgid"[..]) || !names.contains(&&b"total_vm"[..]) {
        return None;
    }
    let format = KNOWN
        .iter()
        .find(|(cols, _)| {
            cols.len() == names.len() && cols.iter().zip(&names).all(|(a, b)| a.as_bytes() == *b)
        })
        .map_or(DumpFormat::Other, |(_, f)| wide_format(*f));
    let numeric = match names.split_last() {
        Some((last, rest)) if *last == b"name" => rest,
        _ => &names[..],
    };
    let cols: Vec<Col> = numeric.iter().map(|n| Col::of(n)).collect();
    Some(Header {
        has_pmds: cols.contains(&Col::NrPmds),
        cols,
        format,
    })
}

/// The pid of a row: `[`, optional blanks, digits, `]`. Returns it and the offset after `]`.
fn row_pid(msg: &[u8]) -> Option<(u32, usize)> {
    let mut i = skip_blanks(msg, 0);
    if msg.get(i) != Some(&b'[') {
        return None;
    }
    i = skip_blanks(msg, i + 1);
    let (pid, n) = parse_u64(msg.get(i..)?)?;
    if n > 10 {
        return None;
    }
    i += n;
    if msg.get(i) != Some(&b']') {
        return None;
    }
    Some((u32::try_from(pid).ok()?, i + 1))
}

/// The column starting at `i`: blanks (at least one), an optionally negative number of at
/// most 19 digits, and a blank after it. A number at the very end of the text is not
/// trusted: it may be the first digits of a longer one that was cut off. Returns the value
/// and the offset after its digits.
#[inline]
fn column(msg: &[u8], mut i: usize) -> Option<(i64, usize)> {
    let start = i;
    while let Some(b' ' | b'\t') = msg.get(i) {
        i += 1;
    }
    if i == start {
        return None;
    }
    let neg = msg.get(i) == Some(&b'-');
    if neg {
        i += 1;
    }
    let digits = i;
    let mut v: u64 = 0;
    while let Some(&c) = msg.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        // At most 19 digits are accepted below: no overflow before that check.
        v = v.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    let n = i - digits;
    if n == 0 || n > 19 || !matches!(msg.get(i), Some(b' ' | b'\t')) {
        return None;
    }
    let v = if neg {
        0i64.checked_sub_unsigned(v)?
    } else {
        i64::try_from(v).ok()?
    };
    Some((v, i))
}

/// Quick test used on every line while a table is open: does `msg` start like a row?
pub(crate) fn looks_like_row(msg: &[u8]) -> bool {
    row_pid(msg).is_some()
}

/// Parses one row against `header`. `None` when `msg` is not a row at all; a row cut short
/// is returned with `complete == false` and the values it did carry.
pub(crate) fn parse_row(msg: &[u8], header: &Header) -> Option<DumpedTask> {
    let (mut t, name) = parse_fields(msg, header)?;
    if let Some(i) = name {
        // `%5hd %s`: exactly one blank, then the comm (which may itself start with one).
        let name = trim_end(msg.get(i + 1..).unwrap_or_default());
        t.name = match std::str::from_utf8(name) {
            Ok(s) => s.to_owned(),
            Err(_) => lossy(name),
        };
    }
    Some(t)
}

/// [`parse_row`] reduced to what [`crate::Badness`] reads, for the parser's summary mode.
/// Gives the same [`ScoreRow`] as `ScoreRow::from(&parse_row(..)?)`.
pub(crate) fn parse_score_row(msg: &[u8], header: &Header) -> Option<ScoreRow> {
    let (pid, mut i) = row_pid(msg)?;
    let mut r = ScoreRow {
        pid,
        uid: None,
        rss: None,
        swapents: None,
        pgtables_bytes: None,
        oom_score_adj: None,
        complete: true,
    };
    let mut ptes: Option<u64> = None;
    let mut pmds: Option<u64> = None;
    for col in &header.cols {
        let Some((v, end)) = column(msg, i) else {
            r.complete = false;
            break;
        };
        i = end;
        match col {
            Col::Uid => r.uid = u32::try_from(v).ok(),
            Col::Rss => r.rss = u64::try_from(v).ok(),
            Col::NrPtes => ptes = u64::try_from(v).ok(),
            Col::NrPmds => pmds = u64::try_from(v).ok(),
            Col::PgtablesBytes => r.pgtables_bytes = u64::try_from(v).ok(),
            Col::Swapents => r.swapents = u64::try_from(v).ok(),
            Col::OomScoreAdj => r.oom_score_adj = i32::try_from(v).ok(),
            _ => {}
        }
    }
    if let Some(ptes) = ptes {
        let pmds = if header.has_pmds { pmds } else { Some(0) };
        r.pgtables_bytes = pmds
            .and_then(|pmds| ptes.checked_add(pmds))
            .and_then(|pages| pages.checked_mul(PAGE_SIZE));
    }
    Some(r)
}

/// [`parse_row`] without the name, and the offset of the blank before the name when every
/// column was read.
fn parse_fields(msg: &[u8], header: &Header) -> Option<(DumpedTask, Option<usize>)> {
    let (pid, mut i) = row_pid(msg)?;
    let mut t = DumpedTask {
        pid,
        uid: None,
        tgid: None,
        total_vm_pages: None,
        rss_pages: None,
        rss_anon_pages: None,
        rss_file_pages: None,
        rss_shmem_pages: None,
        pgtables_bytes: None,
        swapents: None,
        oom_score_adj: None,
        name: String::new(),
        complete: false,
    };
    let mut ptes: Option<u64> = None;
    let mut pmds: Option<u64> = None;
    let mut all = true;
    for col in &header.cols {
        let Some((v, end)) = column(msg, i) else {
            all = false;
            break;
        };
        i = end;
        let unsigned = u64::try_from(v).ok();
        match col {
            Col::Uid => t.uid = unsigned.and_then(|v| u32::try_from(v).ok()),
            Col::Tgid => t.tgid = unsigned.and_then(|v| u32::try_from(v).ok()),
            Col::TotalVm => t.total_vm_pages = unsigned,
            Col::Rss => t.rss_pages = unsigned,
            Col::RssAnon => t.rss_anon_pages = unsigned,
            Col::RssFile => t.rss_file_pages = unsigned,
            Col::RssShmem => t.rss_shmem_pages = unsigned,
            Col::NrPtes => ptes = unsigned,
            Col::NrPmds => pmds = unsigned,
            Col::PgtablesBytes => t.pgtables_bytes = unsigned,
            Col::Swapents => t.swapents = unsigned,
            Col::OomScoreAdj => t.oom_score_adj = i32::try_from(v).ok(),
            Col::Skip => {}
        }
    }
    if let Some(ptes) = ptes {
        let pmds = if header.has_pmds { pmds } else { Some(0) };
        t.pgtables_bytes = pmds
            .and_then(|pmds| ptes.checked_add(pmds))
            .and_then(|pages| pages.checked_mul(PAGE_SIZE));
    }
    t.complete = all;
    Some((t, all.then_some(i)))
}

/// A table being read.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) header: Header,
    pub(crate) t_ms: Option<u64>,
    /// The rows, when the parser keeps them (not in summary mode).
    pub(crate) tasks: Vec<DumpedTask>,
    /// What the victim check needs of each row, always kept.
    pub(crate) rows: Vec<ScoreRow>,
    keep_tasks: bool,
    pub(crate) dropped: u64,
    /// Consecutive lines since the last row that were not rows.
    nonrows: u32,
    /// Set by the header line itself, so it is not counted as a non-row line.
    fresh: bool,
    /// Too many non-row lines: rows are no longer looked for, but the table is still held
    /// until the report moves on, then emitted.
    pub(crate) suspended: bool,
}

impl Table {
    /// Non-row lines tolerated inside a table (interleaved messages from other CPUs, blank
    /// lines in pasted logs) before the parser stops looking at every line.
    pub(crate) const NONROW_LIMIT: u32 = 8;

    pub(crate) fn new(header: Header, t_ms: Option<u64>, keep_tasks: bool) -> Self {
        Table {
            header,
            t_ms,
            tasks: Vec::new(),
            rows: Vec::new(),
            keep_tasks,
            dropped: 0,
            nonrows: 0,
            fresh: true,
            suspended: false,
        }
    }

    /// Takes `msg` as a row if it is one.
    #[inline]
    pub(crate) fn take_row(&mut self, msg: &[u8], t_ms: Option<u64>) -> bool {
        if self.rows.len() >= MAX_DUMP_ROWS {
            // Full: only count, without building the row.
            if !looks_like_row(msg) {
                return false;
            }
            self.dropped += 1;
        } else if self.keep_tasks {
            let Some(row) = parse_row(msg, &self.header) else {
                return false;
            };
            self.rows.push(ScoreRow::from(&row));
            self.tasks.push(row);
        } else {
            let Some(row) = parse_score_row(msg, &self.header) else {
                return false;
            };
            self.rows.push(row);
        }
        if self.t_ms.is_none() {
            self.t_ms = t_ms;
        }
        self.nonrows = 0;
        true
    }

    /// End of one input line: `row` says whether it held a row.
    pub(crate) fn line_done(&mut self, row: bool) {
        if self.fresh {
            self.fresh = false;
        } else if !row {
            self.nonrows += 1;
            if self.nonrows > Self::NONROW_LIMIT {
                self.suspended = true;
            }
        }
    }
}

/// `COMM ... Not tainted RELEASE #N` / `Tainted: FLAGS RELEASE #N` (the `dump_stack()`
/// header: `Pid: N, comm: C` on 2.6, `CPU: N PID: N Comm: C` since 3.x): the release.
pub(crate) fn release_of(msg: &[u8]) -> Option<String> {
    let c = find(msg, b"omm: ")?;
    let rest = msg.get(c..)?;
    let i = find(rest, b"Not tainted ")
        .map(|i| i + b"Not tainted ".len())
        .or_else(|| find(rest, b"Tainted: ").map(|i| i + b"Tainted: ".len()))?;
    for tok in rest.get(i..)?.split(|&c| is_blank(c)) {
        if tok.first() == Some(&b'#') {
            break;
        }
        if tok.first().is_some_and(u8::is_ascii_digit) && tok.contains(&b'.') {
            return Some(lossy(tok));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let h = parse_header(
            b"[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
        )
        .unwrap();
        assert_eq!(h.format, DumpFormat::TasksState);
        let h = parse_header(
            b"[ pid ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
        )
        .unwrap();
        assert_eq!(h.format, DumpFormat::PgtablesBytes);
        let h = parse_header(b"[ pid ]   uid  tgid total_vm      rss cpu oom_adj name").unwrap();
        assert_eq!(h.format, DumpFormat::CpuOomAdj);
        let h = parse_header(b"[pid] uid tgid total_vm rss nr_ptes swapents file-rss anon-rss-low file-rss-low oom_score_adj name").unwrap();
        assert_eq!(h.format, DumpFormat::Other);
        assert!(parse_header(b"[ 12.0] uid tgid total_vm").is_none());
        assert!(parse_header(b"[ pid ] nothing").is_none());
    }

    #[test]
    fn rows() {
        let h = parse_header(
            b"[ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name",
        )
        .unwrap();
        let r = parse_row(
            b"[  447]     0   447    23459      384      47       3        0             0 (sd-pam)",
            &h,
        )
        .unwrap();
        assert_eq!(r.pid, 447);
        assert_eq!(r.pgtables_bytes, Some(50 * 4096));
        assert_eq!(r.name, "(sd-pam)");
        assert!(r.complete);
        let r = parse_row(b"[  229]    81   229    11577      146      28       3        0          -900 dbus-daemon\r", &h).unwrap();
        assert_eq!(
            (r.oom_score_adj, r.name.as_str()),
            (Some(-900), "dbus-daemon")
        );
        // Cut inside a number: that number and the rest are unknown.
        let r = parse_row(b"[  229]    81   229    115", &h).unwrap();
        assert_eq!(
            (r.uid, r.tgid, r.total_vm_pages),
            (Some(81), Some(229), None)
        );
        assert!(!r.complete && r.name.is_empty());
        assert!(parse_row(b"[ 12.5] x", &h).is_none());
        assert!(parse_row(b"[  T12] x", &h).is_none());
        assert!(parse_row(b"[99999999999] 0", &h).is_none());
    }

    /// Summary mode's reduced row parse gives exactly what the full one does.
    #[test]
    fn score_rows_match_full_rows() {
        let h = parse_header(
            b"[ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name",
        )
        .unwrap();
        for row in [
            &b"[  447]     0   447    23459      384      47       3        0             0 (sd-pam)"[..],
            b"[  229]    81   229    11577      146      28       3        0          -900 x",
            b"[  229]    81   229    115",
            b"[  229] -81   229 x",
            b"[  229]    81   229    11577      146      28       3        0   99999999999999999999 x",
            b"[  1]",
        ] {
            assert_eq!(
                parse_score_row(row, &h),
                parse_row(row, &h).map(|t| ScoreRow::from(&t)),
                "{}",
                String::from_utf8_lossy(row)
            );
        }
    }

    #[test]
    fn releases() {
        assert_eq!(
            release_of(b"CPU: 0 PID: 132 Comm: systemd-udevd Not tainted 5.0.0-rc8+ #838")
                .as_deref(),
            Some("5.0.0-rc8+")
        );
        assert_eq!(
            release_of(b"CPU: 9 PID: 14881 Comm: java Tainted: G    B          ------------ T 3.10.0-327.4.5.el7.x86_64 #1").as_deref(),
            Some("3.10.0-327.4.5.el7.x86_64")
        );
        assert_eq!(
            release_of(b"Pid: 20789, comm: msgctl11 Not tainted 2.6.31-rc3-cachefs #189")
                .as_deref(),
            Some("2.6.31-rc3-cachefs")
        );
        assert_eq!(release_of(b"Comm: x Not tainted #1"), None);
    }
}
