//! One progress line per running guest: boot -> pressure -> oom-kill -> outcome, and
//! below them one bar for the whole matrix with its ETA.
//!
//! On a terminal these are indicatif lines; a finished guest's line becomes a plain
//! line above them, so only running guests keep a line. Otherwise (CI logs, pipes) each
//! phase change is one plain line, so logs stay readable. Always on stderr: stdout is
//! for results.

use crate::session::Phase;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

pub struct Progress {
    multi: Option<MultiProgress>,
    /// The matrix bar, kept last: guest lines are inserted above it.
    overall: std::sync::OnceLock<ProgressBar>,
    /// Notes already shown by `note_once`.
    shown: std::sync::Mutex<std::collections::HashSet<String>>,
}

pub struct GuestLine {
    bar: Option<(MultiProgress, ProgressBar)>,
    label: String,
}

/// The whole matrix: runs done out of planned, with an ETA.
pub struct Overall {
    bar: Option<ProgressBar>,
    total: u64,
    done: std::sync::atomic::AtomicU64,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            multi: std::io::stderr().is_terminal().then(MultiProgress::new),
            overall: std::sync::OnceLock::new(),
            shown: Default::default(),
        }
    }

    /// The matrix bar; call once, before the guests start.
    pub fn overall(&self, total: u64) -> Overall {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(total));
            bar.set_style(
                ProgressStyle::with_template(
                    "[{elapsed_precise}] {wide_bar} {pos}/{len} runs, ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(500));
            let _ = self.overall.set(bar.clone());
            bar
        });
        Overall {
            bar,
            total,
            done: Default::default(),
        }
    }

    pub fn guest(&self, label: &str) -> GuestLine {
        let bar = self.multi.as_ref().map(|m| {
            let bar = match self.overall.get() {
                Some(o) => m.insert_before(o, ProgressBar::new_spinner()),
                None => m.add(ProgressBar::new_spinner()),
            };
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed:>4}] {prefix} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            (m.clone(), bar)
        });
        GuestLine {
            bar,
            label: label.to_string(),
        }
    }

    /// `note`, unless the same text was already shown: a matrix prepares a kernel once
    /// per scenario, and its line need not repeat.
    pub fn note_once(&self, text: &str) {
        if self.first_time(text) {
            self.note(text);
        }
    }

    fn first_time(&self, text: &str) -> bool {
        match self.shown.lock() {
            Ok(mut shown) => shown.insert(text.to_string()),
            Err(_) => true,
        }
    }

    /// A note that does not belong to one guest (kernel download, probe).
    pub fn note(&self, text: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(text);
            }
            None => eprintln!("{text}"),
        }
    }
}

impl GuestLine {
    pub fn phase(&self, phase: Phase) {
        let text = match phase {
            Phase::Boot => "boot".to_string(),
            Phase::Setup => "setup".to_string(),
            Phase::Pressure => "pressure".to_string(),
            Phase::OomKill(n) => format!("oom-kill ({n})"),
            Phase::Finishing => "finishing".to_string(),
        };
        self.set(&text);
    }

    pub fn finish(&self, outcome: &str) {
        match &self.bar {
            Some((m, b)) => {
                let _ = m.println(format!("{}: {outcome}", self.label));
                b.finish_and_clear();
                m.remove(b);
            }
            None => eprintln!("{}: {outcome}", self.label),
        }
    }

    fn set(&self, text: &str) {
        match &self.bar {
            Some((_, b)) => b.set_message(text.to_string()),
            None => eprintln!("{}: {text}", self.label),
        }
    }
}

impl Overall {
    pub fn inc(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        match &self.bar {
            Some(b) => b.inc(1),
            None if self.total > 1 => eprintln!("[{done}/{}] runs done", self.total),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_once_is_shown_once_per_text() {
        let p = Progress::new();
        assert!(p.first_time("debian:6.1: kernel 6.1.0"));
        assert!(!p.first_time("debian:6.1: kernel 6.1.0"));
        assert!(p.first_time("debian:6.12: kernel 6.12.117"));
    }
}
