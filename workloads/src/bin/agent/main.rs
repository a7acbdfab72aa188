//! oomlab's guest agent: PID 1 of every oomlab guest.
//!
//! It sets the guest up, starts the scenario's processes with their roles, streams
//! events to the host over its own serial port, and powers the guest off when the
//! scenario ends. A panic in the agent is reported and powers off too: the guest
//! never hangs silently because of the agent.

mod cgroups;
mod channel;
mod cmdline;
mod evidence;
mod fault;
mod heartbeat;
mod kmsg;
mod probe;
mod sampler;
mod setup;
mod supervisor;
mod swap;
mod sys;

use channel::Channel;
use oomlab_workloads::event::Event;
use oomlab_workloads::spec::GuestSpec;
use oomlab_workloads::{EVENT_TTY, KMSG_TTY, SPEC_PATH};
use std::sync::Arc;

fn main() {
    setup::mount_pseudo_filesystems();
    // With no console (console.device=none) the kernel gave PID 1 no stdio; fill the
    // gap so no file the agent opens lands on fd 0-2 and is taken for one.
    sys::ensure_std_fds();
    let channel = Arc::new(Channel::open(EVENT_TTY));
    install_panic_hook(channel.clone());
    // PID 1 is never an OOM victim, but make the intent explicit for its threads.
    let _ = std::fs::write("/proc/self/oom_score_adj", "-1000");

    channel.send(&Event::Ready {
        t_ms: sys::monotonic_ms(),
        release: setup::kernel_release(),
        mem_total_kb: setup::mem_total_kb(),
        cpus: setup::cpu_count(),
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
    });
    setup::write_clock_marker();

    let spec = match read_spec() {
        Ok(spec) => spec,
        Err(message) => finish(&channel, Some(message), "bad spec"),
    };
    if spec.probe_only {
        finish(&channel, None, "probe");
    }
    if spec.kmsg_forward {
        kmsg::spawn(Channel::open(KMSG_TTY));
    }
    if let Err(e) = sys::lock_all_memory() {
        channel.send(&Event::Error {
            t_ms: sys::monotonic_ms(),
            message: format!("mlockall failed: {e}"),
        });
    }
    heartbeat::spawn(channel.clone(), spec.heartbeat_ms);
    setup::load_modules(&channel);
    if !cmdline::check(&channel, &spec.cmdline) {
        finish(
            &channel,
            None,
            "setup failed: a kernel command-line parameter did not take",
        );
    }
    if !setup::mount_all(&channel, &spec.mounts) {
        finish(&channel, None, "setup failed: a mount check failed");
    }
    if !setup::apply_sysfs(&channel, &spec.sysfs) {
        finish(&channel, None, "setup failed: a sysfs setting did not take");
    }
    if !setup::apply_sysctls(&channel, &spec.sysctls) {
        finish(&channel, None, "setup failed: a sysctl did not take");
    }
    if !swap::setup(&channel, spec.swap.as_ref()) {
        finish(&channel, None, "setup failed: swap could not be turned on");
    }
    if !cgroups::prepare(&channel, &spec.processes, setup::mem_total_kb()) {
        finish(&channel, None, "setup failed: a cgroup check failed");
    }
    // Again, for a console that registered after the first marker (virtio's hvc0 comes
    // with its module and does not replay the log).
    setup::write_clock_marker();
    let cgroups = spec
        .processes
        .iter()
        .filter_map(|p| p.cgroup.as_ref())
        .map(|g| (g.name.clone(), cgroups::dir(g)))
        .collect();
    sampler::spawn(channel.clone(), spec.sample_ms, cgroups);
    let probes = Arc::new(probe::ProbeTable::default());
    let stall_probe_after = match spec.fault {
        Some(oomlab_workloads::spec::Fault::StallProbe { after_ms }) => Some(after_ms),
        _ => None,
    };
    probe::spawn(
        channel.clone(),
        probes.clone(),
        spec.probe_ms,
        spec.probe_kib,
        stall_probe_after,
    );
    evidence::spawn(channel.clone());
    let reason = supervisor::run(&channel, &spec, &probes);
    finish(&channel, None, &reason);
}

fn read_spec() -> Result<GuestSpec, String> {
    let text = std::fs::read(SPEC_PATH).map_err(|e| format!("cannot read {SPEC_PATH}: {e}"))?;
    serde_json::from_slice(&text).map_err(|e| format!("bad spec in {SPEC_PATH}: {e}"))
}

/// Report the end and power off.
fn finish(channel: &Channel, error: Option<String>, reason: &str) -> ! {
    if let Some(message) = error {
        channel.send(&Event::Error {
            t_ms: sys::monotonic_ms(),
            message,
        });
    }
    channel.send(&Event::Done {
        t_ms: sys::monotonic_ms(),
        reason: reason.to_string(),
    });
    channel.drain();
    sys::power_off()
}

fn install_panic_hook(channel: Arc<Channel>) {
    std::panic::set_hook(Box::new(move |info| {
        let message = format!("agent panic: {info}");
        eprintln!("oomlab-agent: {message}");
        channel.send(&Event::Error {
            t_ms: sys::monotonic_ms(),
            message,
        });
        channel.send(&Event::Done {
            t_ms: sys::monotonic_ms(),
            reason: "agent panic".into(),
        });
        channel.drain();
        sys::power_off();
    }));
}
