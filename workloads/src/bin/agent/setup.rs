//! Make the guest usable before pressure starts: file systems, modules, sysctls.
//! Each step reports what it did, so a run records its own setup.

use crate::channel::Channel;
use crate::sys;
use oomlab_workloads::event::Event;
use oomlab_workloads::{CLOCK_MARKER, MODULES_DIR, MODULES_LIST_PATH};
use std::collections::BTreeMap;
use std::io::Write;

/// Mount the pseudo file systems the agent and workloads read.
/// Errors go to the console only: the event tty needs /dev, so it is not open yet.
pub fn mount_pseudo_filesystems() {
    let mounts = [
        ("proc", "/proc", "proc"),
        ("sysfs", "/sys", "sysfs"),
        ("devtmpfs", "/dev", "devtmpfs"),
    ];
    for (src, target, fs) in mounts {
        let _ = std::fs::create_dir_all(target);
        if let Err(e) = sys::mount(src, target, fs, None) {
            eprintln!("oomlab-agent: mount {fs} on {target}: {e}");
        }
    }
    if let Err(e) = sys::mount("cgroup2", "/sys/fs/cgroup", "cgroup2", None) {
        eprintln!("oomlab-agent: mount cgroup2: {e}");
    }
}

/// Load the modules listed in the initramfs, in the order the host resolved.
pub fn load_modules(channel: &Channel) {
    let Ok(list) = std::fs::read_to_string(MODULES_LIST_PATH) else {
        return;
    };
    for file_name in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let path = format!("{MODULES_DIR}/{file_name}");
        let result = std::fs::File::open(&path).and_then(|f| sys::finit_module(&f));
        let name = file_name.trim_end_matches(".ko").to_string();
        channel.send(&Event::Module {
            t_ms: sys::monotonic_ms(),
            name,
            ok: result.is_ok(),
            error: result.err().map(|e| e.to_string()),
        });
    }
}

/// Write each sysfs knob and read it back against what the host expects.
pub fn apply_sysfs(channel: &Channel, settings: &[oomlab_workloads::spec::SysfsSetting]) -> bool {
    let mut all_ok = true;
    for s in settings {
        let written = std::fs::write(&s.path, s.value.as_bytes());
        let actual = std::fs::read_to_string(&s.path)
            .ok()
            .map(|v| v.trim().to_string());
        let matches = actual.as_deref().is_some_and(|a| {
            !matches!(s.expect.as_deref(), Some(e) if e != a) && s.expect_not.as_deref() != Some(a)
        });
        let ok = written.is_ok() && matches;
        all_ok &= ok;
        channel.send(&Event::Setting {
            t_ms: sys::monotonic_ms(),
            key: s.key.clone(),
            requested: format!("{} > {}", s.value, s.path),
            actual,
            ok,
            error: written.err().map(|e| e.to_string()),
        });
    }
    all_ok
}

/// Apply sysctls and read each back; a value the kernel rewrote or refused is reported
/// with `ok: false` so the host can refuse to call the run a kernel result.
pub fn apply_sysctls(channel: &Channel, sysctls: &BTreeMap<String, String>) -> bool {
    let mut all_ok = true;
    for (key, requested) in sysctls {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let written = std::fs::write(&path, requested.as_bytes());
        let actual = std::fs::read_to_string(&path)
            .ok()
            .map(|s| s.trim().to_string());
        let normalise = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let ok = written.is_ok() && actual.as_deref().map(normalise) == Some(normalise(requested));
        all_ok &= ok;
        channel.send(&Event::Setting {
            t_ms: sys::monotonic_ms(),
            key: key.clone(),
            requested: requested.clone(),
            actual,
            ok,
            error: written.err().map(|e| e.to_string()),
        });
    }
    all_ok
}

/// Write a marker into the kernel log carrying the agent's clock, so the host can
/// line printk timestamps up with event timestamps. Logged at KERN_ALERT (`<1>`) so it
/// reaches the console at any log level but the most silent one.
pub fn write_clock_marker() {
    if let Ok(mut kmsg) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
        // One write() per kmsg record: write! would split the line into several records.
        let line = format!("<1>{CLOCK_MARKER}{}\n", sys::monotonic_us());
        let _ = kmsg.write_all(line.as_bytes());
    }
}

pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

pub fn mem_total_kb() -> u64 {
    crate::sampler::meminfo_field("MemTotal").unwrap_or(0)
}

pub fn cpu_count() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// How long a disk may take to appear after its driver loads.
const DEVICE_WAIT_MS: u64 = 10_000;

/// Mount each requested file system and check, from /proc/mounts, that it is there with
/// the type asked for. A workload whose disk silently failed to appear would write to
/// the initramfs's memory instead and behave completely differently under OOM.
pub fn mount_all(channel: &Channel, mounts: &[oomlab_workloads::spec::MountSpec]) -> bool {
    let mut all_ok = true;
    for m in mounts {
        let deadline = sys::monotonic_ms() + DEVICE_WAIT_MS;
        while !std::path::Path::new(&m.device).exists() && sys::monotonic_ms() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = std::fs::create_dir_all(&m.target);
        let result = sys::mount(&m.device, &m.target, &m.fstype, None);
        let mounted = std::fs::read_to_string("/proc/mounts")
            .unwrap_or_default()
            .lines()
            .any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 2 && f[0] == m.device && f[1] == m.target && f[2] == m.fstype
            });
        let ok = result.is_ok() && mounted;
        all_ok &= ok;
        channel.send(&Event::Check {
            t_ms: sys::monotonic_ms(),
            name: format!("mount {} on {}", m.device, m.target),
            ok,
            detail: match (&result, mounted) {
                (Ok(()), true) => format!("{} mounted, listed in /proc/mounts", m.fstype),
                (Ok(()), false) => "mount returned but /proc/mounts does not list it".into(),
                (Err(e), _) if !std::path::Path::new(&m.device).exists() => {
                    format!("{} never appeared ({e})", m.device)
                }
                (Err(e), _) => format!("mount {} as {}: {e}", m.device, m.fstype),
            },
        });
    }
    all_ok
}
