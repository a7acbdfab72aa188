//! The outcome rules, first match wins (docs/verdicts.md is the reference):
//!
//! | #  | condition                                                              | outcome        |
//! |----|------------------------------------------------------------------------|----------------|
//! | 1  | QEMU could not start, or a setup check failed (bad spec, a sysctl,     | `error`        |
//! |    | module or cgroup limit that did not take, an agent error before pressure)|              |
//! | 2  | the agent never said `ready` (a panic before it included)              | `boot_failure` |
//! | 3  | after ready, the kernel printed `Kernel panic - not syncing`           | `panic`        |
//! | 4  | no probe back within its threshold, no kill or reap, for the window    | `livelock`     |
//! | 5  | console and events silent for the silence limit                        | `hung`         |
//! | 6  | the run limit hit while kills went on, never responsive again          | `unrecovered`  |
//! | 7  | the run limit hit otherwise / the guest stopped without `done`         | `timeout` / `error` |
//! | 8  | `done` and no OOM kill                                                 | `no_oom`       |
//! | 9  | `done`, kills, and a responsive probe after the recovery point         | `recovered`    |
//! | 10 | `done`, kills still going on at the end, no responsive probe           | `unrecovered`  |
//! | 11 | `done`, kills, no responsive probe, kills had stopped                  | `timeout`      |
//!
//! The recovery point is the later of the last OOM kill and the exit of the last hog.

use super::Observation;
use crate::session::EndReason;
use oomlab_results::record::{KillRecord, KillStats, Outcome};
use oomlab_workloads::event::Event as A;

pub(super) fn outcome(
    obs: &Observation,
    panic: Option<String>,
    kills: &[(Option<i64>, KillRecord)],
    // What showed recovery (probe or heartbeat), if anything did.
    recovered: Option<&str>,
    // Set when kills were still going on when the run ended.
    still_killing: Option<&KillStats>,
) -> (Outcome, String) {
    let unrecovered = |s: &KillStats| {
        let pace = s
            .kill_interval_ms
            .as_ref()
            .map(|i| format!(", one kill every {:.1} s", i.p50 as f64 / 1000.0))
            .unwrap_or_default();
        let freed = s
            .freed_per_kill_kb
            .map(|kb| format!(", {:.1} MB freed per kill", kb as f64 / 1024.0))
            .unwrap_or_default();
        (
            Outcome::Unrecovered,
            format!(
                "{} kill(s) and still killing when the run ended, never responsive again{pace}{freed}",
                kills.len()
            ),
        )
    };
    let ready = obs.agent.iter().any(|e| matches!(e, A::Ready { .. }));
    let done = obs.agent.iter().find_map(|e| match e {
        A::Done { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    if let Some(EndReason::SpawnFailed(e)) = &obs.end {
        return (Outcome::Error, e.clone());
    }
    if let Some(failure) = setup_failure(obs) {
        return (Outcome::Error, failure);
    }
    if !ready {
        let why = match &obs.end {
            _ if panic.is_some() => format!(
                "kernel panic during boot, before agent-ready: {}",
                panic.unwrap_or_default()
            ),
            Some(EndReason::BootTimeout) => "no agent-ready within the boot limit".to_string(),
            Some(EndReason::QemuExited(s)) => format!("QEMU exited before agent-ready ({s})"),
            Some(EndReason::Interrupted(s)) => format!("interrupted by signal {s} during boot"),
            other => format!("the agent never reported ready ({other:?})"),
        };
        return (Outcome::BootFailure, why);
    }
    if let Some(message) = panic {
        return (Outcome::Panic, format!("kernel panic: {message}"));
    }
    match &obs.end {
        Some(EndReason::Livelock { sysrq_f_recovered }) => {
            let after = match sysrq_f_recovered {
                Some(true) => "; a probe finished in time after sysrq-f",
                Some(false) => "; still starved 15 s after sysrq-f",
                None => "",
            };
            return (
                Outcome::Livelock,
                format!(
                    "alive but no probe came back within its threshold and no OOM kill or reap within the livelock window ({} kill(s) before){after}",
                    kills.len()
                ),
            );
        }
        Some(EndReason::Silent) => {
            return (
                Outcome::Hung,
                "console and event channel both went silent".into(),
            )
        }
        Some(EndReason::Timeout) if still_killing.is_some() && recovered.is_none() => {
            return unrecovered(still_killing.unwrap_or(&KillStats::default()));
        }
        Some(EndReason::Timeout) => {
            return (
                Outcome::Timeout,
                format!(
                    "the harness time limit ended the run after {} kill(s)",
                    kills.len()
                ),
            )
        }
        Some(EndReason::QemuExited(s)) if done.is_none() => {
            return (
                Outcome::Error,
                format!("the guest stopped without finishing the scenario ({s})"),
            )
        }
        Some(EndReason::Interrupted(s)) => {
            return (Outcome::Error, format!("interrupted by signal {s}"))
        }
        _ => {}
    }
    let done = done.unwrap_or_default();
    if kills.is_empty() {
        (
            Outcome::NoOom,
            format!("scenario ended ({done}) without an OOM kill"),
        )
    } else if let Some(by) = recovered {
        (
            Outcome::Recovered,
            format!("{} kill(s), responsive {by} afterwards", kills.len()),
        )
    } else if let Some(s) = still_killing {
        unrecovered(s)
    } else {
        (
            Outcome::Timeout,
            format!(
                "{} kill(s) but no responsive probe or heartbeat after the recovery point before the scenario ended ({done})",
                kills.len()
            ),
        )
    }
}

/// A run whose own setup failed is not a kernel result.
pub(super) fn setup_failure(obs: &Observation) -> Option<String> {
    let pressure_at = obs
        .agent
        .iter()
        .position(|e| matches!(e, A::PressureStart { .. }));
    for (i, e) in obs.agent.iter().enumerate() {
        let before_pressure = pressure_at.is_none_or(|p| i < p);
        match e {
            A::Setting {
                key,
                requested,
                actual,
                ok: false,
                error,
                ..
            } => {
                return Some(format!(
                    "setup check failed: {key} asked {requested}, read back {}{}",
                    actual.as_deref().unwrap_or("nothing"),
                    error
                        .as_ref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ))
            }
            A::Module {
                name,
                ok: false,
                error,
                ..
            } => {
                return Some(format!(
                    "setup check failed: module {name} did not load ({})",
                    error.as_deref().unwrap_or("?")
                ))
            }
            A::Check {
                name,
                ok: false,
                detail,
                ..
            } => return Some(format!("setup check failed: {name}: {detail}")),
            A::Error { message, .. } if before_pressure => {
                return Some(format!("agent error: {message}"))
            }
            _ => {}
        }
    }
    None
}
