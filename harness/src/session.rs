//! Boot one guest and watch it until it ends, with every wait bounded.
//!
//! The session only observes: it collects the agent's events and the kernel's log
//! events and says how the guest ended. Judging what that means is the verdict's job.

use crate::channels::FileTail;
use crate::cleanup;
use crate::qemu::command::{CONSOLE_LOG, EVENTS_LOG, KMSG_LOG};
use crate::qemu::{GuestMachine, QemuProcess};
use oomlab_workloads::event::Event;
use oomlab_workloads::CLOCK_MARKER;
use std::path::Path;
use std::time::{Duration, Instant};

/// How often the channels are read when the caller has no reason to choose.
pub const DEFAULT_POLL: Duration = Duration::from_millis(50);
/// After the agent says `done`, the guest powers off; QEMU gets this long to exit.
const POWEROFF_GRACE: Duration = Duration::from_secs(15);
const STOP_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// QEMU start to agent-ready.
    pub boot: Duration,
    /// QEMU start to the end of the run.
    pub total: Duration,
    /// After ready: both channels silent this long means the guest is hung.
    pub silence: Duration,
    /// How often to read the channels (the resolution of boot_ms).
    pub poll: Duration,
    /// After pressure start: no probe back within its threshold and no kill or reap for
    /// this long is a livelock. None when the run has no probe (nothing to tell starvation by).
    pub livelock: Option<Duration>,
    /// On livelock, send sysrq-f after the dumps and watch whether the guest recovers.
    pub sysrq_f: bool,
    /// A probe finishing within this long after sysrq-f counts as recovery.
    pub probe_threshold: Duration,
}

/// How long console output of a sysrq dump is given to arrive before the next key.
const SYSRQ_DRAIN: Duration = Duration::from_secs(2);
/// How long to watch for recovery after sysrq-f.
const SYSRQ_F_WATCH: Duration = Duration::from_secs(15);
const QMP_TIMEOUT: Duration = Duration::from_secs(5);
/// Where the vCPU registers of a silent guest are saved.
pub const REGISTERS_LOG: &str = "registers.txt";

#[derive(Debug, Clone, PartialEq)]
pub enum EndReason {
    /// The agent said `done` and the guest powered off.
    Finished,
    /// QEMU exited without the agent saying `done` (panic reboot, triple fault, crash).
    QemuExited(String),
    BootTimeout,
    Timeout,
    /// Console and event channel both silent for the silence limit.
    Silent,
    Interrupted(i32),
    SpawnFailed(String),
    /// Alive but starved: no probe finished and no kill or reap within the window.
    /// Whether sysrq-f brought it back, when it was tried.
    Livelock {
        sysrq_f_recovered: Option<bool>,
    },
}

/// Something the harness did to the guest, with when (ms since QEMU start).
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub at_ms: u64,
    pub what: String,
}

/// What the guest phase looks like from outside, for progress display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    Boot,
    Setup,
    Pressure,
    OomKill(usize),
    Finishing,
}

#[derive(Debug, Default)]
pub struct Observation {
    pub agent: Vec<Event>,
    pub kernel: Vec<oomlab_klog::Event>,
    /// printk clock minus agent monotonic clock, from the agent's kmsg marker.
    pub clock_offset_ms: Option<i64>,
    pub ready_after: Option<Duration>,
    pub wall: Duration,
    pub end: Option<EndReason>,
    pub console_bytes: u64,
    pub qmp_error: Option<String>,
    /// Milestones seen so far, kept as the streams are read so the watch loop need
    /// not rescan every event on every poll.
    pub progress: Milestones,
    pub actions: Vec<Action>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Milestones {
    pub ready: bool,
    pub pressure: bool,
    pub kills: usize,
    /// Kills plus reaper results: the kernel making OOM progress.
    pub oom_progress: usize,
    /// Probes that finished ok within the threshold.
    pub fast_probes: usize,
    pub done: bool,
}

impl Milestones {
    fn phase(&self) -> Phase {
        if self.done {
            Phase::Finishing
        } else if self.kills > 0 {
            Phase::OomKill(self.kills)
        } else if self.pressure {
            Phase::Pressure
        } else if self.ready {
            Phase::Setup
        } else {
            Phase::Boot
        }
    }
}

/// Split a console line into its printk timestamp (µs) and the rest.
pub fn printk_timestamp_us(line: &str) -> Option<(u64, &str)> {
    let rest = line.trim_start().strip_prefix('[')?;
    let (ts, after) = rest.split_once(']')?;
    let (secs, frac) = ts.trim().split_once('.')?;
    let secs: u64 = secs.parse().ok()?;
    let frac6 = format!("{frac:0<6}");
    let us: u64 = frac6.get(..6)?.parse().ok()?;
    Some((secs.checked_mul(1_000_000)?.checked_add(us)?, after))
}

/// Offset of printk time over agent time, from the line the agent wrote to /dev/kmsg.
pub fn clock_offset_from_marker(line: &str) -> Option<i64> {
    let (printk_us, rest) = printk_timestamp_us(line)?;
    let mono_us: u64 = rest
        .split_once(CLOCK_MARKER)?
        .1
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((printk_us as i64 - mono_us as i64) / 1_000)
}

pub fn watch(
    machine: &GuestMachine,
    run_dir: &Path,
    limits: Limits,
    on_phase: &mut dyn FnMut(Phase),
) -> Observation {
    let mut obs = Observation::default();
    let mut qemu = match QemuProcess::spawn(machine, run_dir) {
        Ok(q) => q,
        Err(e) => {
            obs.end = Some(EndReason::SpawnFailed(e));
            return obs;
        }
    };
    obs.qmp_error = qemu.qmp_error.clone();
    // The kernel log comes from the console, or from the agent's kmsg port when the
    // console does not carry all of it; console.log is then only measured.
    let mut console = FileTail::new(run_dir.join(kernel_log_file(machine)));
    let console_path = run_dir.join(CONSOLE_LOG);
    let mut console_size = 0;
    let mut events = FileTail::new(run_dir.join(EVENTS_LOG));
    let mut parser = oomlab_klog::Parser::new();
    let mut last_activity = Instant::now();
    let mut done_at: Option<Instant> = None;
    let mut phase = Phase::Boot;
    on_phase(phase);
    // Livelock watch: when a probe last finished and when the kernel last made OOM
    // progress, both starting at pressure start.
    let mut watch = LivelockWatch::default();

    let end = loop {
        let got_console = ingest_console(&mut obs, &mut parser, console.poll());
        let got_events = ingest_events(&mut obs, events.poll(), limits.probe_threshold);
        let console_grew = machine.kmsg_port && {
            let size = file_len(&console_path);
            std::mem::replace(&mut console_size, size) != size
        };
        if got_console || got_events || console_grew {
            last_activity = Instant::now();
        }
        let next = obs.progress.phase();
        if next != phase {
            phase = next;
            on_phase(phase);
        }
        if done_at.is_none() && obs.progress.done {
            done_at = Some(Instant::now());
        }
        if obs.ready_after.is_none() && obs.progress.ready {
            obs.ready_after = Some(qemu.started.elapsed());
        }
        let elapsed = qemu.started.elapsed();
        if let Some(sig) = cleanup::interrupted() {
            break EndReason::Interrupted(sig);
        }
        if let Some(status) = qemu.try_wait() {
            break if done_at.is_some() {
                EndReason::Finished
            } else {
                EndReason::QemuExited(status.to_string())
            };
        }
        if let Some(t) = done_at {
            if t.elapsed() > POWEROFF_GRACE {
                break EndReason::QemuExited("guest did not power off after done".into());
            }
        }
        if obs.ready_after.is_none() && elapsed > limits.boot {
            break EndReason::BootTimeout;
        }
        if elapsed > limits.total {
            break EndReason::Timeout;
        }
        if obs.ready_after.is_some() && last_activity.elapsed() > limits.silence {
            save_registers(&mut qemu, &mut obs, run_dir);
            break EndReason::Silent;
        }
        if let Some(window) = limits.livelock.filter(|_| done_at.is_none()) {
            if watch.starved_for(&obs.progress) >= window {
                // Starved and silent too: that is a hung guest, not a livelock.
                if last_activity.elapsed() >= window {
                    save_registers(&mut qemu, &mut obs, run_dir);
                    break EndReason::Silent;
                }
                let sysrq_f_recovered = on_livelock(
                    &mut qemu,
                    &mut obs,
                    &mut parser,
                    &mut console,
                    &mut events,
                    limits,
                );
                break EndReason::Livelock { sysrq_f_recovered };
            }
        }
        std::thread::sleep(limits.poll);
    };
    qemu.stop(STOP_GRACE);
    obs.wall = qemu.started.elapsed();
    // Whatever QEMU wrote before it died still counts.
    ingest_console(&mut obs, &mut parser, console.finish());
    ingest_events(&mut obs, events.finish(), limits.probe_threshold);
    obs.kernel.extend(parser.finish());
    obs.console_bytes = file_len(&console_path);
    obs.end = Some(end);
    drop(qemu);
    obs
}

/// The file (relative to the run directory) the kernel log is read from.
pub fn kernel_log_file(machine: &GuestMachine) -> &'static str {
    if machine.kmsg_port {
        KMSG_LOG
    } else {
        CONSOLE_LOG
    }
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[derive(Default)]
struct LivelockWatch {
    fast_probes: usize,
    oom_progress: usize,
    probe_at: Option<Instant>,
    progress_at: Option<Instant>,
}

impl LivelockWatch {
    /// How long no probe came back within its threshold (a stuck probe and slow ones
    /// alike) and the kernel neither killed nor reaped; zero before pressure starts.
    fn starved_for(&mut self, m: &Milestones) -> Duration {
        if !m.pressure {
            return Duration::ZERO;
        }
        let now = Instant::now();
        if self.probe_at.is_none() || m.fast_probes != self.fast_probes {
            self.fast_probes = m.fast_probes;
            self.probe_at = Some(now);
        }
        if self.progress_at.is_none() || m.oom_progress != self.oom_progress {
            self.oom_progress = m.oom_progress;
            self.progress_at = Some(now);
        }
        let since = |t: Option<Instant>| t.map_or(Duration::ZERO, |t| now - t);
        since(self.probe_at).min(since(self.progress_at))
    }
}

fn note(obs: &mut Observation, qemu: &QemuProcess, what: String) {
    obs.actions.push(Action {
        at_ms: qemu.started.elapsed().as_millis() as u64,
        what,
    });
}

/// A silent guest: keep what its vCPUs were doing.
fn save_registers(qemu: &mut QemuProcess, obs: &mut Observation, run_dir: &Path) {
    let result = match qemu.qmp.as_mut() {
        Some(q) => q.hmp("info registers -a", QMP_TIMEOUT),
        None => Err("no QMP connection".into()),
    };
    let what = match result.and_then(|text| {
        std::fs::write(run_dir.join(REGISTERS_LOG), text).map_err(|e| e.to_string())
    }) {
        Ok(()) => format!("saved vCPU registers to {REGISTERS_LOG}"),
        Err(e) => format!("could not save vCPU registers: {e}"),
    };
    note(obs, qemu, what);
}

/// A starved guest: dump memory, blocked tasks and all task states through sysrq (the
/// output lands in the console log), then optionally try a manual OOM kill.
fn on_livelock(
    qemu: &mut QemuProcess,
    obs: &mut Observation,
    parser: &mut oomlab_klog::Parser,
    console: &mut FileTail,
    events: &mut FileTail,
    limits: Limits,
) -> Option<bool> {
    note(
        obs,
        qemu,
        "livelock: no probe finished and no kill or reap in the window".into(),
    );
    let mut drain = |obs: &mut Observation, d: Duration| {
        let until = Instant::now() + d;
        while Instant::now() < until {
            ingest_console(obs, parser, console.poll());
            ingest_events(obs, events.poll(), limits.probe_threshold);
            std::thread::sleep(limits.poll);
        }
    };
    for (key, what) in [
        ('m', "memory info"),
        ('w', "blocked tasks"),
        ('t', "all task states"),
    ] {
        let sent = qemu.qmp.as_mut().map(|q| q.sysrq(key, QMP_TIMEOUT));
        let text = match sent {
            Some(Ok(())) => format!("sent sysrq-{key} ({what})"),
            Some(Err(e)) => format!("sysrq-{key} failed: {e}"),
            None => format!("sysrq-{key} not sent: no QMP connection"),
        };
        note(obs, qemu, text);
        drain(obs, SYSRQ_DRAIN);
    }
    if !limits.sysrq_f {
        return None;
    }
    let before = obs.progress.fast_probes;
    let text = match qemu.qmp.as_mut().map(|q| q.sysrq('f', QMP_TIMEOUT)) {
        Some(Ok(())) => "sent sysrq-f (manual OOM kill)".to_string(),
        Some(Err(e)) => format!("sysrq-f failed: {e}"),
        None => "sysrq-f not sent: no QMP connection".to_string(),
    };
    note(obs, qemu, text);
    let until = Instant::now() + SYSRQ_F_WATCH;
    while Instant::now() < until {
        drain(obs, limits.poll);
        if obs.progress.fast_probes > before {
            note(obs, qemu, "a probe finished in time after sysrq-f".into());
            return Some(true);
        }
    }
    Some(false)
}

/// Build an observation from saved artifacts (a run folder's console.log and
/// events.jsonl), as the live watcher would have seen them.
#[cfg(test)]
pub fn observe_logs(console: &[u8], events: &[u8], end: EndReason) -> Observation {
    let mut obs = Observation::default();
    let mut parser = oomlab_klog::Parser::new();
    let lines = |b: &[u8]| {
        b.split(|&c| c == b'\n')
            .map(<[u8]>::to_vec)
            .collect::<Vec<_>>()
    };
    ingest_console(&mut obs, &mut parser, lines(console));
    ingest_events(&mut obs, lines(events), Duration::from_millis(500));
    obs.kernel.extend(parser.finish());
    obs.console_bytes = console.len() as u64;
    obs.end = Some(end);
    obs
}

fn ingest_console(
    obs: &mut Observation,
    parser: &mut oomlab_klog::Parser,
    lines: Vec<Vec<u8>>,
) -> bool {
    let any = !lines.is_empty();
    for line in lines {
        if obs.clock_offset_ms.is_none() {
            let text = String::from_utf8_lossy(&line);
            if text.contains(CLOCK_MARKER) {
                obs.clock_offset_ms = clock_offset_from_marker(&text);
            }
        }
        for e in parser.push_line(&line) {
            let kill = matches!(e, oomlab_klog::Event::Kill { .. });
            obs.progress.kills += kill as usize;
            obs.progress.oom_progress +=
                (kill || matches!(e, oomlab_klog::Event::Reaper { .. })) as usize;
            obs.kernel.push(e);
        }
    }
    any
}

fn ingest_events(obs: &mut Observation, lines: Vec<Vec<u8>>, probe_threshold: Duration) -> bool {
    let any = !lines.is_empty();
    for line in lines {
        if let Some(e) = Event::from_line(&String::from_utf8_lossy(&line)) {
            let m = &mut obs.progress;
            match e {
                Event::Ready { .. } => m.ready = true,
                Event::PressureStart { .. } => m.pressure = true,
                Event::Done { .. } => m.done = true,
                Event::Probe { latency_ms, ok, .. } => {
                    m.fast_probes +=
                        (ok && latency_ms <= probe_threshold.as_millis() as u64) as usize;
                }
                _ => {}
            }
            obs.agent.push(e);
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_printk_timestamps_and_the_clock_marker() {
        assert_eq!(
            printk_timestamp_us("[    1.500000] hello"),
            Some((1_500_000, " hello"))
        );
        assert_eq!(printk_timestamp_us("no stamp"), None);
        let line = format!("[    2.250000] {CLOCK_MARKER}2000000");
        assert_eq!(clock_offset_from_marker(&line), Some(250));
        assert_eq!(clock_offset_from_marker("[ 1.0] other"), None);
    }
}
