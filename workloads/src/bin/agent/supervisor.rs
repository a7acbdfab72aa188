//! Start the scenario's processes, reap every child, and decide when pressure is over.

use crate::channel::Channel;
use crate::probe::ProbeTable;
use crate::sys;
use oomlab_workloads::event::Event;
use oomlab_workloads::spec::{
    rlimit_resource, rlimit_value, Fault, GuestSpec, ProcessSpec, Role, ScenarioEnd,
};
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How often the supervisor wakes to start, reap and check deadlines.
const TICK: Duration = Duration::from_millis(10);
/// How long to wait for killed leftovers to be reaped at the end.
const REAP_GRACE_MS: u64 = 2_000;

struct Tracked {
    name: String,
    role: Role,
}

/// Run the pressure phase; returns why it ended.
pub fn run(channel: &Channel, spec: &GuestSpec, probes: &ProbeTable) -> String {
    let start = sys::monotonic_ms();
    channel.send(&Event::PressureStart { t_ms: start });
    let mut pending: Vec<&ProcessSpec> = spec.processes.iter().collect();
    pending.sort_by_key(|p| p.start_delay_ms);
    let mut tracked: HashMap<u32, Tracked> = HashMap::new();
    let hogs_total = spec
        .processes
        .iter()
        .filter(|p| p.role == Role::Hog)
        .count();
    let mut hogs_exited = 0usize;
    let mut any_exited = false;
    let mut exited_names: Vec<String> = Vec::new();
    let mut quiet_since: Option<u64> = None;

    let reason = loop {
        let now = sys::monotonic_ms();
        while let Some(p) = pending.first() {
            if now < start + p.start_delay_ms {
                break;
            }
            start_process(channel, p, &mut tracked);
            pending.remove(0);
        }
        for (_, t) in reap(channel, probes, &mut tracked, false) {
            any_exited |= t.is_some();
            if let Some(t) = &t {
                exited_names.push(t.name.clone());
            }
            if t.map(|t| t.role) == Some(Role::Hog) {
                hogs_exited += 1;
            }
        }
        // Pressure is over when every hog is gone (or, with no hog, every process), and
        // then `settle_ms` passes: late kills and recovery happen in that window.
        let finished = pending.is_empty()
            && match &spec.end {
                ScenarioEnd::AnyExited => any_exited,
                ScenarioEnd::HogsExited if hogs_total > 0 => hogs_exited >= hogs_total,
                ScenarioEnd::HogsExited => tracked.is_empty(),
                ScenarioEnd::Exited(names) => names.iter().all(|n| exited_names.contains(n)),
            };
        if finished {
            let since = *quiet_since.get_or_insert(now);
            if now - since >= spec.settle_ms {
                break match &spec.end {
                    ScenarioEnd::AnyExited => "a scenario process exited",
                    ScenarioEnd::HogsExited if hogs_total > 0 => "hogs exited",
                    ScenarioEnd::HogsExited => "all processes exited",
                    ScenarioEnd::Exited(_) => "the named processes exited",
                };
            }
        }
        if let Some(Fault::FreezeAgent { after_ms }) = spec.fault {
            if now - start >= after_ms {
                crate::fault::freeze();
            }
        }
        if now - start >= spec.max_pressure_ms {
            break "pressure deadline";
        }
        std::thread::sleep(TICK);
    };
    stop_leftovers(channel, probes, &mut tracked);
    reason.to_string()
}

fn start_process(channel: &Channel, p: &ProcessSpec, tracked: &mut HashMap<u32, Tracked>) {
    let Some((program, args)) = p.argv.split_first() else {
        channel.send(&Event::Error {
            t_ms: sys::monotonic_ms(),
            message: format!("process {} has an empty argv", p.name),
        });
        return;
    };
    let adj = p.oom_score_adj;
    let cgroup = p.cgroup.as_ref().and_then(crate::cgroups::procs_path);
    // Resolved before fork: the child may not allocate.
    let rlimits: Vec<(i32, u64)> = p
        .rlimits
        .iter()
        .filter_map(|(k, v)| Some((rlimit_resource(k)?, rlimit_value(v)?)))
        .collect();
    if rlimits.len() != p.rlimits.len() {
        channel.send(&Event::Error {
            t_ms: sys::monotonic_ms(),
            message: format!("process {}: unknown rlimit in {:?}", p.name, p.rlimits),
        });
    }
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    // SAFETY: the closure runs between fork and exec in a child of a multi-threaded
    // process; join_cgroup and set_own_oom_score_adj use only stack buffers, a path
    // made before fork, and raw syscalls.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(procs) = &cgroup {
                sys::join_cgroup(procs)?;
            }
            for &(resource, value) in &rlimits {
                sys::set_rlimit(resource, value)?;
            }
            sys::set_own_oom_score_adj(adj)
        });
    }
    match cmd.spawn() {
        Ok(child) => {
            let pid = child.id();
            crate::evidence::track(pid);
            // The agent reaps with waitpid(-1); the Child handle is not needed.
            drop(child);
            tracked.insert(
                pid,
                Tracked {
                    name: p.name.clone(),
                    role: p.role,
                },
            );
            channel.send(&Event::Started {
                t_ms: sys::monotonic_ms(),
                name: p.name.clone(),
                role: p.role,
                pid,
                cgroup: p.cgroup.as_ref().map(|g| g.name.clone()),
                members_role: p.cgroup.as_ref().and_then(|g| g.members_role),
            });
        }
        Err(e) => channel.send(&Event::Error {
            t_ms: sys::monotonic_ms(),
            message: format!("cannot start {} ({program}): {e}", p.name),
        }),
    }
}

/// Reap every exited child (PID 1 inherits orphans too) and report each.
fn reap(
    channel: &Channel,
    probes: &ProbeTable,
    tracked: &mut HashMap<u32, Tracked>,
    stopped_by_agent: bool,
) -> Vec<(u32, Option<Tracked>)> {
    let mut out = Vec::new();
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-parameter; WNOHANG never blocks.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            break;
        }
        let pid = pid as u32;
        let (code, signal) = if libc::WIFEXITED(status) {
            (Some(libc::WEXITSTATUS(status)), None)
        } else if libc::WIFSIGNALED(status) {
            (None, Some(libc::WTERMSIG(status)))
        } else {
            (None, None)
        };
        if probes.finish(channel, pid, code == Some(0)) {
            continue;
        }
        let t = tracked.remove(&pid);
        channel.send(&Event::Exited {
            t_ms: sys::monotonic_ms(),
            pid,
            name: t.as_ref().map(|t| t.name.clone()),
            role: t.as_ref().map(|t| t.role),
            code,
            signal,
            stopped_by_agent: stopped_by_agent && signal == Some(libc::SIGKILL),
        });
        out.push((pid, t));
    }
    out
}

/// Kill what is still running so the guest can power off, and report those exits.
fn stop_leftovers(channel: &Channel, probes: &ProbeTable, tracked: &mut HashMap<u32, Tracked>) {
    for pid in tracked.keys() {
        // SAFETY: sending a signal to a pid we started and have not reaped.
        unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
    }
    let deadline = sys::monotonic_ms() + REAP_GRACE_MS;
    while !tracked.is_empty() && sys::monotonic_ms() < deadline {
        reap(channel, probes, tracked, true);
        std::thread::sleep(TICK);
    }
}
