//! Periodic memory-state samples from /proc.

use crate::channel::Channel;
use crate::sys;
use oomlab_workloads::event::Event;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// How often the scenario's cgroups are listed for new members.
const MEMBERS_PERIOD_MS: u64 = 100;

/// `cgroups`: the scenario's cgroups (name, directory), whose new members are reported
/// each period.
pub fn spawn(channel: Arc<Channel>, period_ms: u64, cgroups: Vec<(String, String)>) {
    let _ = std::thread::Builder::new()
        .name("sampler".into())
        .spawn(move || {
            let mut known: HashSet<u32> = HashSet::new();
            let mut next_sample = 0;
            loop {
                let now = sys::monotonic_ms();
                if now >= next_sample {
                    channel.send(&sample());
                    next_sample = now + period_ms.max(10);
                }
                // Members more often than samples: a short-lived member (a herd respawning
                // its killed ones) must be listed before its kill, whose own cgroup line
                // the kernel may have rate-limited away.
                for (name, dir) in &cgroups {
                    report_members(&channel, name, dir, &mut known);
                }
                std::thread::sleep(Duration::from_millis(
                    MEMBERS_PERIOD_MS.min(period_ms.max(10)),
                ));
            }
        });
}

fn report_members(channel: &Channel, cgroup: &str, dir: &str, known: &mut HashSet<u32>) {
    let Ok(text) = std::fs::read_to_string(format!("{dir}/cgroup.procs")) else {
        return;
    };
    let pids: Vec<u32> = text
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|p| known.insert(*p))
        .collect();
    if !pids.is_empty() {
        channel.send(&Event::Members {
            t_ms: sys::monotonic_ms(),
            cgroup: cgroup.to_string(),
            pids,
        });
    }
}

fn sample() -> Event {
    let vmstat = std::fs::read_to_string("/proc/vmstat").unwrap_or_default();
    let psi = std::fs::read_to_string("/proc/pressure/memory").unwrap_or_default();
    Event::Sample {
        t_ms: sys::monotonic_ms(),
        mem_available_kb: meminfo_field("MemAvailable"),
        mem_free_kb: meminfo_field("MemFree"),
        oom_kill: keyed_value(&vmstat, "oom_kill"),
        pgmajfault: keyed_value(&vmstat, "pgmajfault"),
        psi_some_avg10: psi_avg10(&psi, "some"),
        psi_full_avg10: psi_avg10(&psi, "full"),
        psi_some_total_us: psi_field(&psi, "some", "total="),
        psi_full_total_us: psi_field(&psi, "full", "total="),
        refault_file: keyed_value(&vmstat, "workingset_refault_file")
            .or_else(|| keyed_value(&vmstat, "workingset_refault")),
        pgpgin_kb: keyed_value(&vmstat, "pgpgin"),
    }
}

pub fn meminfo_field(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

fn keyed_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next()? == key).then_some(())?;
        it.next()?.parse().ok()
    })
}

/// `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` -> the avg10 of the given line.
fn psi_avg10(text: &str, kind: &str) -> Option<f64> {
    psi_field(text, kind, "avg10=")
}

fn psi_field<T: std::str::FromStr>(text: &str, kind: &str, field: &str) -> Option<T> {
    let line = text.lines().find(|l| l.starts_with(kind))?;
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(field))?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_psi_and_vmstat_lines() {
        let psi = "some avg10=1.50 avg60=0.00 avg300=0.00 total=10\nfull avg10=0.25 avg60=0.00 avg300=0.00 total=5\n";
        assert_eq!(psi_avg10(psi, "some"), Some(1.5));
        assert_eq!(psi_avg10(psi, "full"), Some(0.25));
        assert_eq!(psi_field::<u64>(psi, "some", "total="), Some(10));
        assert_eq!(keyed_value("nr_free 3\noom_kill 2\n", "oom_kill"), Some(2));
        assert_eq!(keyed_value("oom_killx 2\n", "oom_kill"), None);
        let vmstat = "workingset_refault_anon 4\nworkingset_refault_file 70123\n";
        assert_eq!(keyed_value(vmstat, "workingset_refault_file"), Some(70123));
    }
}
