//! Choose the accelerator: KVM when it really works, TCG otherwise.
//!
//! `/dev/kvm` existing proves little: on nested setups KVM guests die with "KVM internal
//! error ... emulation failure" (QEMU then waits forever) or run a thousand times slower
//! than TCG. So `auto` boots the real kernel once under KVM with a probe spec (the agent
//! reports ready and powers off at once) and calls KVM usable only if `ready` arrives
//! within a bound. The verdict is cached per host (QEMU version, host kernel, CPU model)
//! so later runs skip the probe; every record says which accelerator it ran on and why.

use super::command::{Accel, GuestMachine};
use crate::session::{self, EndReason, Limits};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A healthy KVM guest reaches agent-ready in well under a second; TCG in ~2 s.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);
const CACHE_FILE: &str = "accel-probe.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelRequest {
    Auto,
    Tcg,
    Kvm,
}

impl AccelRequest {
    pub fn as_str(self) -> &'static str {
        match self {
            AccelRequest::Auto => "auto",
            AccelRequest::Tcg => "tcg",
            AccelRequest::Kvm => "kvm",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AccelChoice {
    pub used: Accel,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct CachedProbe {
    host_key: String,
    kvm_usable: bool,
    detail: String,
}

/// What identifies "this host" for the probe cache.
fn host_key(qemu_version: &str) -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .unwrap_or("")
        .to_string();
    format!("{qemu_version} | {} | {model}", release.trim())
}

fn kvm_openable() -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map(drop)
        .map_err(|e| format!("/dev/kvm not usable: {e}"))
}

/// Everything needed to boot the probe guest.
pub struct ProbeGuest {
    pub kernel: PathBuf,
    /// A per-run style initrd whose spec has `probe_only: true`; removed when dropped.
    pub initrd: tempfile::TempPath,
    pub cmdline: String,
}

pub fn choose(
    request: AccelRequest,
    qemu_version: &str,
    cache_root: &Path,
    probe: impl FnOnce() -> Result<ProbeGuest, String>,
) -> AccelChoice {
    match request {
        AccelRequest::Tcg => AccelChoice {
            used: Accel::Tcg,
            reason: "forced by --accel tcg".into(),
        },
        AccelRequest::Kvm => AccelChoice {
            used: Accel::Kvm,
            reason: "forced by --accel kvm".into(),
        },
        AccelRequest::Auto => {
            if let Err(e) = kvm_openable() {
                return AccelChoice {
                    used: Accel::Tcg,
                    reason: format!("auto: {e}"),
                };
            }
            let key = host_key(qemu_version);
            let cache_path = cache_root.join(CACHE_FILE);
            if let Some(c) = read_cache(&cache_path).filter(|c| c.host_key == key) {
                return verdict(
                    c.kvm_usable,
                    format!("auto: cached KVM probe: {}", c.detail),
                );
            }
            let (usable, detail) = match probe() {
                Ok(guest) => run_probe(&guest),
                Err(e) => (false, format!("probe could not be prepared: {e}")),
            };
            let cached = CachedProbe {
                host_key: key,
                kvm_usable: usable,
                detail: detail.clone(),
            };
            let _ = oomlab_results::store::write_atomically(
                &cache_path,
                &serde_json::to_vec_pretty(&cached).unwrap_or_default(),
            );
            verdict(usable, format!("auto: KVM probe: {detail}"))
        }
    }
}

fn verdict(kvm_usable: bool, reason: String) -> AccelChoice {
    AccelChoice {
        used: if kvm_usable { Accel::Kvm } else { Accel::Tcg },
        reason,
    }
}

fn read_cache(path: &Path) -> Option<CachedProbe> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Boot the probe guest under KVM; usable only if the agent reports ready in time.
fn run_probe(guest: &ProbeGuest) -> (bool, String) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return (false, format!("no temp dir for the probe: {e}")),
    };
    let machine = GuestMachine {
        accel: Accel::Kvm,
        tcg_threads: Default::default(),
        memory_mib: 128,
        cpus: 1,
        kernel: guest.kernel.clone(),
        initrd: guest.initrd.to_path_buf(),
        cmdline: guest.cmdline.clone(),
        drives: vec![],
        console: Default::default(),
        kmsg_port: false,
        cpu_affinity: vec![],
    };
    let limits = Limits {
        boot: PROBE_TIMEOUT,
        total: PROBE_TIMEOUT,
        silence: PROBE_TIMEOUT,
        poll: session::DEFAULT_POLL,
        livelock: None,
        sysrq_f: false,
        probe_threshold: Duration::from_millis(500),
    };
    let obs = session::watch(&machine, dir.path(), limits, &mut |_| {});
    let stderr =
        std::fs::read_to_string(dir.path().join(super::process::STDERR_LOG)).unwrap_or_default();
    let first_err = stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    match (obs.ready_after, &obs.end) {
        (Some(t), _) => (
            true,
            format!("agent ready after {} ms under KVM", t.as_millis()),
        ),
        (None, Some(EndReason::BootTimeout)) => (
            false,
            format!(
                "no agent-ready within {} s under KVM{}",
                PROBE_TIMEOUT.as_secs(),
                if first_err.is_empty() {
                    String::new()
                } else {
                    format!(" ({first_err})")
                }
            ),
        ),
        (None, end) => (false, format!("KVM guest ended early: {end:?} {first_err}")),
    }
}
