//! One progress line per guest: boot -> pressure -> oom-kill -> outcome.
//!
//! On a terminal this is an indicatif spinner; otherwise (CI logs, pipes) each phase
//! change is one plain line, so logs stay readable. Always on stderr: stdout is for results.

use crate::session::Phase;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

pub struct Progress {
    multi: Option<MultiProgress>,
}

pub struct GuestLine {
    bar: Option<ProgressBar>,
    label: String,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            multi: std::io::stderr().is_terminal().then(MultiProgress::new),
        }
    }

    pub fn guest(&self, label: &str) -> GuestLine {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed:>4}] {prefix} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        GuestLine {
            bar,
            label: label.to_string(),
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
            Some(b) => b.finish_with_message(outcome.to_string()),
            None => eprintln!("{}: {outcome}", self.label),
        }
    }

    fn set(&self, text: &str) {
        match &self.bar {
            Some(b) => b.set_message(text.to_string()),
            None => eprintln!("{}: {text}", self.label),
        }
    }
}
