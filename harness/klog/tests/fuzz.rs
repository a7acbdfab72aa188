//! Deterministic fuzzing: the parser must not panic on any input, and all three entry points
//! must agree. Uses an inline xorshift PRNG (fixed seeds) so failures reproduce exactly and no
//! fuzzing dependency is needed.

mod common;

use common::*;
use oomlab_klog::{parse_bytes, parse_reader, Parser};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Bytes that matter to the grammar, so random edits hit interesting paths often.
const SPICE: &[u8] = b"[]():,.= -+#!<>0123456789kBT\r\n\t\xff";

/// Substrings worth splicing in: anchors and fragments of the grammar.
const FRAGMENTS: &[&str] = &[
    "Killed process ",
    "Kill process ",
    "Memory cgroup out of memory: ",
    " invoked oom-killer: ",
    "oom-kill:constraint=CONSTRAINT_MEMCG,",
    ",task_memcg=",
    ",task=",
    ",pid=",
    "oom_reaper: reaped process ",
    "oom_reaper: unable to reap pid:",
    " total-vm:",
    "anon-rss:",
    "kB",
    " score ",
    "Task in ",
    " killed as a result of limit of ",
    "Tasks in ",
    " are going to be killed due to memory.oom.group set",
    "[ 12.345678]",
    "[  T123]",
    "<4>",
    "kernel: ",
    "BUG: soft lockup - CPU#",
    "! [",
    "LOCKUP on cpu ",
    "Watchdog CPU:",
    "Hard LOCKUP",
    "rcu detected stall",
    ": page allocation failure: order:",
    ": page allocation stalls for ",
    "Kernel panic - not syncing: ",
    "---[ end ",
    "INFO: task ",
    " blocked for more than ",
    "no killable processes",
    "panic_on_oom is",
    "99999999999999999999999",
    "4294967295",
    // Task dumps and the report lines around them.
    "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
    "[ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name",
    "[    123]",
    "     0   123    45678    12345   245760        0         -1000 ",
    "Tasks state (memory values in pages):",
    " pages RAM",
    " pages reserved",
    "Total swap = 0kB",
    "memory: usage 1024kB, limit 1024kB, failcnt 1",
    "swap: usage 0kB, limit 0kB, failcnt 0",
    "CPU: 0 PID: 1 Comm: x Not tainted 4.12.0 #1",
    " score 899 or sacrifice child",
];

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(v.len() + 1);
        match rng.below(8) {
            0 => {
                // truncate
                v.truncate(at);
            }
            1 => {
                // drop the head (a line that starts mid-record)
                v.drain(..at.min(v.len()));
            }
            2 => {
                let s = SPICE[rng.below(SPICE.len())];
                v.insert(at.min(v.len()), s);
            }
            3 => {
                if at < v.len() {
                    v[at] = rng.byte();
                }
            }
            4 => {
                let f = FRAGMENTS[rng.below(FRAGMENTS.len())].as_bytes();
                let at = at.min(v.len());
                v.splice(at..at, f.iter().copied());
            }
            5 => {
                // delete a span
                let end = (at + rng.below(12)).min(v.len());
                let at = at.min(end);
                v.drain(at..end);
            }
            6 => {
                // duplicate a span (interleaving-like)
                let end = (at + rng.below(40)).min(v.len());
                let at = at.min(end);
                let dup: Vec<u8> = v[at..end].to_vec();
                let to = rng.below(v.len() + 1);
                v.splice(to..to, dup);
            }
            _ => {
                let s = SPICE[rng.below(SPICE.len())];
                if at < v.len() {
                    v[at] = s;
                }
            }
        }
    }
    v
}

fn corpus_lines() -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for name in fixture_names() {
        for l in fixture(&name).split(|&b| b == b'\n') {
            if !l.is_empty() {
                lines.push(l.to_vec());
            }
        }
    }
    assert!(lines.len() > 100);
    lines
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut p = Parser::new();
    for _ in 0..20_000 {
        let n = rng.below(200);
        let line: Vec<u8> = (0..n)
            .map(|_| {
                if rng.below(3) == 0 {
                    SPICE[rng.below(SPICE.len())]
                } else {
                    rng.byte()
                }
            })
            .collect();
        let _ = p.push_line(&line);
    }
    let _ = p.finish();
}

#[test]
fn mutated_fixture_lines_never_panic() {
    let lines = corpus_lines();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut p = Parser::new();
    for i in 0..60_000 {
        let base = &lines[rng.below(lines.len())];
        let line = mutate(&mut rng, base);
        let _ = p.push_line(&line);
        if i % 5_000 == 0 {
            let _ = std::mem::take(&mut p).finish();
        }
    }
    let _ = p.finish();
}

/// Whole mutated documents through all three entry points: no panic, identical summaries.
#[test]
fn mutated_documents_agree_across_entry_points() {
    let lines = corpus_lines();
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    for _ in 0..1_500 {
        let mut doc = Vec::new();
        for _ in 0..rng.below(30) {
            let base = &lines[rng.below(lines.len())];
            let l = if rng.below(2) == 0 {
                base.clone()
            } else {
                mutate(&mut rng, base)
            };
            doc.extend_from_slice(&l);
            match rng.below(4) {
                0 => doc.extend_from_slice(b"\r\n"),
                _ => doc.push(b'\n'),
            }
        }
        if rng.below(3) == 0 {
            doc.truncate(rng.below(doc.len() + 1));
        }
        let want = summary_by_lines(&doc);
        assert_eq!(parse_bytes(&doc), want);
        assert_eq!(parse_reader(&doc[..]).unwrap(), want);
    }
}

/// Whole reports with task dumps, lines mutated, dropped, duplicated or interleaved with
/// other fixture lines: no panic, and every entry point gives the same summary (line mode
/// must start and stop on the same lines whichever way the input arrives).
#[test]
fn mutated_task_dump_reports_agree_across_entry_points() {
    let lines = corpus_lines();
    let reports: Vec<Vec<u8>> = fixture_names()
        .into_iter()
        .map(|n| fixture(&n))
        .filter(|t| t.windows(13).any(|w| w == b"tgid total_vm"))
        .collect();
    assert!(reports.len() >= 6);
    let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
    for _ in 0..600 {
        let base = &reports[rng.below(reports.len())];
        let mut doc = Vec::new();
        for l in base.split(|&b| b == b'\n') {
            match rng.below(10) {
                0 => {}
                1 => doc.extend_from_slice(&mutate(&mut rng, l)),
                2 => {
                    doc.extend_from_slice(&lines[rng.below(lines.len())]);
                    doc.push(b'\n');
                    doc.extend_from_slice(l);
                }
                3 => {
                    // Another CPU's record glued to this one.
                    doc.extend_from_slice(l);
                    doc.extend_from_slice(&lines[rng.below(lines.len())]);
                }
                _ => doc.extend_from_slice(l),
            }
            doc.push(b'\n');
        }
        if rng.below(3) == 0 {
            doc.truncate(rng.below(doc.len() + 1));
        }
        let want = summary_by_lines(&doc);
        assert_eq!(parse_bytes(&doc), want);
        assert_eq!(parse_reader(&doc[..]).unwrap(), want);
    }
}

/// Pathological shapes: huge lines, lines of only anchors, deep bracket runs.
#[test]
fn pathological_inputs() {
    let big = vec![b'x'; 3 << 20];
    assert_eq!(parse_bytes(&big).lines, 1);
    assert_eq!(parse_reader(&big[..]).unwrap().lines, 1);
    let mut anchors = Vec::new();
    for _ in 0..50_000 {
        anchors.extend_from_slice(b"Killed process ((((");
    }
    let _ = parse_bytes(&anchors);
    let _ = parse_reader(&anchors[..]).unwrap();
    let brackets = "[".repeat(100_000) + "[ 1.0]" + &"]".repeat(1000);
    let _ = Parser::new().push_line(brackets.as_bytes());
    let ts = "[ 1.0]".repeat(20_000) + "oom_reaper: reaped process 1 (x)";
    let e = Parser::new().push_line(ts.as_bytes());
    assert_eq!(e.len(), 1);
    // A header, then rows made of nothing but huge numbers and brackets.
    let mut p = Parser::new();
    let _ =
        p.push_line(b"[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name");
    let _ = p.push_line(format!("[1] {}", "99999999999999999999999 ".repeat(10_000)).as_bytes());
    let _ = p.push_line("[1]".repeat(50_000).as_bytes());
    let _ = p.push_line(b"[4294967295] 4294967295 4294967295 18446744073709551615 18446744073709551615 18446744073709551615 18446744073709551615 -9223372036854775808 x");
    let e = p.finish();
    assert!(matches!(&e[..], [oomlab_klog::Event::TaskDump { tasks, .. }] if tasks.len() == 3));
}
