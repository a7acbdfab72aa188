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
