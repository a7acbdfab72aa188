//! Helpers shared by the integration tests.
#![allow(dead_code)]

use oomlab_klog::{Event, Parser, Summary};
use std::path::PathBuf;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let p = fixture_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// All fixture log files, sorted.
pub fn fixture_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    v.sort();
    v
}

/// Events from feeding `text` line by line, then `finish`.
pub fn events_of(text: &[u8]) -> Vec<Event> {
    let mut p = Parser::new();
    let mut out = Vec::new();
    for line in text.split_inclusive(|&b| b == b'\n') {
        out.extend(p.push_line(line));
    }
    out.extend(p.finish());
    out
}

pub fn events(text: &str) -> Vec<Event> {
    events_of(text.as_bytes())
}

/// Summary built the way a live caller would: push_line + Summary::record.
pub fn summary_by_lines(text: &[u8]) -> Summary {
    let mut s = Summary {
        lines: text.split_inclusive(|&b| b == b'\n').count() as u64,
        ..Summary::default()
    };
    for e in events_of(text) {
        s.record(&e);
    }
    s
}

/// The event kinds added with task dumps.
pub fn is_dump_event(e: &Event) -> bool {
    matches!(
        e,
        Event::TaskDump { .. } | Event::PagesRam { .. } | Event::VictimCheck { .. }
    )
}

pub fn kills(evs: &[Event]) -> Vec<&Event> {
    evs.iter()
        .filter(|e| matches!(e, Event::Kill { .. }))
        .collect()
}

/// `(pid, comm, memcg, anon_rss_kb, oom_score_adj, t_ms)` of a kill.
pub type KillTuple = (
    u32,
    String,
    Option<String>,
    Option<u64>,
    Option<i32>,
    Option<u64>,
);

/// [`KillTuple`] of each kill.
pub fn kill_tuples(evs: &[Event]) -> Vec<KillTuple> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Kill {
                pid,
                comm,
                memcg,
                anon_rss_kb,
                oom_score_adj,
                t_ms,
                ..
            } => Some((
                *pid,
                comm.clone(),
                memcg.clone(),
                *anon_rss_kb,
                *oom_score_adj,
                *t_ms,
            )),
            _ => None,
        })
        .collect()
}
