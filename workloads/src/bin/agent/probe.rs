//! The responsiveness probe: every period, start a fresh small process that allocates
//! and touches a little memory; its latency (fork to reaped) says whether user space
//! can still make progress. The supervisor reaps every child, so probe pids are kept
//! in a table it consults; the table's lock is held across spawn+insert so the
//! supervisor can never reap a probe before it is known to be one.

use crate::channel::Channel;
use crate::sys;
use oomlab_workloads::event::Event;
use oomlab_workloads::spec::PROBE_PATH;
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Probe pid -> start time (µs, CLOCK_MONOTONIC).
#[derive(Default)]
pub struct ProbeTable(Mutex<HashMap<u32, u64>>);

impl ProbeTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, u64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called by the supervisor for every reaped pid: a probe's exit becomes a Probe
    /// event; returns false for any other pid.
    pub fn finish(&self, channel: &Channel, pid: u32, exited_ok: bool) -> bool {
        let Some(start_us) = self.lock().remove(&pid) else {
            return false;
        };
        channel.send(&Event::Probe {
            t_ms: start_us / 1_000,
            latency_ms: sys::monotonic_us().saturating_sub(start_us) / 1_000,
            ok: exited_ok,
        });
        true
    }

    fn outstanding(&self) -> bool {
        !self.lock().is_empty()
    }
}

/// `stall_after_ms`: the StallProbe fault, counted from now.
pub fn spawn(
    channel: Arc<Channel>,
    table: Arc<ProbeTable>,
    period_ms: u64,
    kib: u64,
    stall_after_ms: Option<u64>,
) {
    if period_ms == 0 {
        return;
    }
    let stall_at = stall_after_ms.map(|ms| sys::monotonic_ms() + ms);
    let _ = std::thread::Builder::new()
        .name("probe".into())
        .spawn(move || loop {
            let stalled = stall_at.is_some_and(|t| sys::monotonic_ms() >= t);
            // One probe at a time: a stalled probe is itself the measurement.
            if !stalled && !table.outstanding() {
                start_one(&channel, &table, kib);
            }
            std::thread::sleep(Duration::from_millis(period_ms));
        });
}

fn start_one(channel: &Channel, table: &ProbeTable, kib: u64) {
    let mut guard = table.lock();
    let start = sys::monotonic_us();
    let mut cmd = Command::new(PROBE_PATH);
    cmd.arg(kib.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: runs between fork and exec; set_own_oom_score_adj only uses the stack.
    // The probe must never be the OOM victim: it measures, it is not a workload.
    unsafe {
        cmd.pre_exec(|| sys::set_own_oom_score_adj(-1000));
    }
    match cmd.spawn() {
        Ok(child) => {
            guard.insert(child.id(), start);
        }
        Err(_) => {
            drop(guard);
            channel.send(&Event::Probe {
                t_ms: start / 1_000,
                latency_ms: sys::monotonic_us().saturating_sub(start) / 1_000,
                ok: false,
            });
        }
    }
}
