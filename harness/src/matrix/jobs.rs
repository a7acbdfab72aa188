//! `--jobs`: how many guests run at once.
//!
//! Default: host cores / vCPU threads per guest (single-threaded TCG runs a guest on
//! one host thread). Never more than host RAM allows: each guest costs its memory plus
//! QEMU's own overhead, budgeted against MemAvailable minus a reserve for the host.

/// QEMU's own memory beside the guest's RAM (TCG translation cache, devices, I/O).
pub const QEMU_OVERHEAD_MIB: u64 = 200;
/// Left to the host and the harness.
pub const HOST_RESERVE_MIB: u64 = 1024;

#[derive(Debug, Clone, Copy)]
pub struct Host {
    pub cores: u32,
    pub mem_available_mib: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Jobs {
    pub jobs: u32,
    /// jobs × vCPU threads exceeds the host's cores.
    pub cpus_shared: bool,
    /// One line when the requested or default count was lowered for RAM.
    pub note: Option<String>,
}

pub fn host() -> Host {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let mem_available_mib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(u64::MAX, |kb| kb / 1024);
    Host {
        cores,
        mem_available_mib,
    }
}

pub fn choose(
    requested: Option<u32>,
    vcpu_threads: u32,
    guest_mib: u64,
    host: Host,
    runs: usize,
) -> Jobs {
    let threads = vcpu_threads.max(1);
    let wanted = requested.unwrap_or((host.cores / threads).max(1)).max(1);
    let per_guest = guest_mib + QEMU_OVERHEAD_MIB;
    let fit = host.mem_available_mib.saturating_sub(HOST_RESERVE_MIB) / per_guest;
    let fit = fit.clamp(1, u32::MAX as u64) as u32;
    let note = (wanted > fit).then(|| {
        format!(
            "--jobs lowered from {wanted} to {fit}: each guest needs {guest_mib}+{QEMU_OVERHEAD_MIB} MiB and the host has {} MiB available ({HOST_RESERVE_MIB} MiB kept in reserve)",
            host.mem_available_mib
        )
    });
    let jobs = wanted.min(fit).min(runs.max(1) as u32);
    Jobs {
        jobs,
        cpus_shared: jobs as u64 * threads as u64 > host.cores as u64,
        note,
    }
}

/// The host cores worker `worker` of `jobs` pins its guests to: its own `threads` of
/// them. Nothing is pinned for a single guest or when cores are shared anyway.
pub fn cores_for(
    worker: u32,
    jobs: u32,
    threads: u32,
    host_cores: u32,
    shared: bool,
) -> Vec<usize> {
    if jobs < 2 || shared || host_cores == 0 {
        return vec![];
    }
    let threads = threads.max(1) as usize;
    (0..threads)
        .map(|j| (worker as usize * threads + j) % host_cores as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: Host = Host {
        cores: 2,
        mem_available_mib: 22_000,
    };

    #[test]
    fn each_worker_gets_its_own_cores() {
        assert_eq!(cores_for(0, 2, 1, 2, false), [0]);
        assert_eq!(cores_for(1, 2, 1, 2, false), [1]);
        assert_eq!(cores_for(1, 2, 2, 4, false), [2, 3]);
        assert!(
            cores_for(0, 1, 1, 2, false).is_empty(),
            "one guest: no pinning"
        );
        assert!(
            cores_for(1, 3, 1, 2, true).is_empty(),
            "shared anyway: no pinning"
        );
    }

    #[test]
    fn default_is_cores_over_vcpu_threads() {
        let j = choose(None, 1, 256, BIG, 100);
        assert_eq!((j.jobs, j.cpus_shared, j.note), (2, false, None));
        let j = choose(None, 2, 256, BIG, 100);
        assert_eq!((j.jobs, j.cpus_shared), (1, false));
        let j = choose(None, 4, 256, BIG, 100);
        assert_eq!((j.jobs, j.cpus_shared), (1, true));
        // Never more guests than runs.
        assert_eq!(choose(None, 1, 256, BIG, 1).jobs, 1);
    }

    #[test]
    fn asking_for_more_than_cores_shares_them() {
        let j = choose(Some(4), 1, 256, BIG, 100);
        assert_eq!((j.jobs, j.cpus_shared, j.note), (4, true, None));
    }

    #[test]
    fn ram_lowers_jobs_and_says_so() {
        let small = Host {
            cores: 16,
            mem_available_mib: HOST_RESERVE_MIB + 3 * (1024 + QEMU_OVERHEAD_MIB) + 10,
        };
        let j = choose(Some(8), 1, 1024, small, 100);
        assert_eq!(j.jobs, 3);
        let note = j.note.unwrap();
        assert!(
            note.contains("from 8 to 3") && !note.contains('\n'),
            "{note}"
        );
        // Even with no room, one guest runs (as a single run always did).
        let none = Host {
            cores: 2,
            mem_available_mib: 100,
        };
        assert_eq!(choose(None, 1, 256, none, 5).jobs, 1);
    }
}
