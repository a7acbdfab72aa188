//! cgroup v2 groups for scenario processes: created, limited and read back before
//! pressure starts; processes join theirs between fork and exec.

use crate::channel::Channel;
use crate::sys;
use oomlab_workloads::event::Event;
use oomlab_workloads::spec::{CgroupSpec, ProcessSpec};
use std::ffi::CString;

const ROOT: &str = "/sys/fs/cgroup";

fn check(channel: &Channel, name: String, ok: bool, detail: String) -> bool {
    channel.send(&Event::Check {
        t_ms: sys::monotonic_ms(),
        name,
        ok,
        detail,
    });
    ok
}

/// `64M`, `1G`, `123456` or `30%` (of MemTotal) -> bytes, as memory.max takes them.
pub fn to_bytes(value: &str, mem_total_kb: u64) -> Option<u64> {
    let v = value.trim();
    if let Some(p) = v.strip_suffix('%') {
        return Some(mem_total_kb * 1024 * p.parse::<u64>().ok()? / 100);
    }
    let (digits, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => v.split_at(i),
        None => (v, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let mult = match unit {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Create every group the scenario names, with its limits; false if any check failed.
pub fn prepare(channel: &Channel, processes: &[ProcessSpec], mem_total_kb: u64) -> bool {
    let groups: Vec<&CgroupSpec> = processes.iter().filter_map(|p| p.cgroup.as_ref()).collect();
    if groups.is_empty() {
        return true;
    }
    let controllers =
        std::fs::read_to_string(format!("{ROOT}/cgroup.controllers")).unwrap_or_default();
    if !check(
        channel,
        "cgroup v2 memory controller".into(),
        controllers.split_whitespace().any(|c| c == "memory"),
        format!("{ROOT}/cgroup.controllers: {}", controllers.trim()),
    ) {
        return false;
    }
    let enabled = std::fs::write(format!("{ROOT}/cgroup.subtree_control"), "+memory");
    let mut ok = check(
        channel,
        "cgroup memory delegation".into(),
        enabled.is_ok(),
        enabled
            .err()
            .map_or("+memory in the root's subtree_control".into(), |e| {
                e.to_string()
            }),
    );
    for g in groups {
        let dir = format!("{ROOT}/{}", g.name);
        let made = match std::fs::create_dir(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        };
        ok &= check(
            channel,
            format!("cgroup {}", g.name),
            made.is_ok(),
            made.err()
                .map_or_else(|| dir.clone(), |e| format!("{dir}: {e}")),
        );
        let limits = [
            ("memory.max", g.memory_max.as_deref()),
            ("memory.high", g.memory_high.as_deref()),
            ("memory.oom.group", g.oom_group.then_some("1")),
        ];
        for (file, value) in limits {
            let Some(value) = value else { continue };
            let bytes = if file == "memory.oom.group" {
                Some(1)
            } else {
                to_bytes(value, mem_total_kb)
            };
            let Some(bytes) = bytes else {
                ok &= check(
                    channel,
                    format!("cgroup {} {file}", g.name),
                    false,
                    format!("cannot read size {value:?}"),
                );
                continue;
            };
            // The kernel rounds limits down to whole pages; compare what it kept.
            let path = format!("{dir}/{file}");
            let written = std::fs::write(&path, bytes.to_string());
            let back = std::fs::read_to_string(&path).unwrap_or_default();
            let kept = back.trim().parse::<u64>().ok();
            let good = written.is_ok() && kept.is_some_and(|k| k <= bytes && bytes - k < 4096);
            ok &= check(
                channel,
                format!("cgroup {} {file}", g.name),
                good,
                format!("asked {value} = {bytes}, read back {}", back.trim()),
            );
        }
    }
    ok
}

/// Path of a group's cgroup.procs, prepared before fork so joining needs no allocation.
pub fn procs_path(g: &CgroupSpec) -> Option<CString> {
    CString::new(format!("{ROOT}/{}/cgroup.procs", g.name)).ok()
}

#[cfg(test)]
mod tests {
    use super::to_bytes;

    #[test]
    fn reads_sizes() {
        assert_eq!(to_bytes("64M", 0), Some(64 << 20));
        assert_eq!(to_bytes("2G", 0), Some(2 << 30));
        assert_eq!(to_bytes("4096", 0), Some(4096));
        assert_eq!(to_bytes("50%", 1000), Some(512_000));
        assert_eq!(to_bytes("12X", 0), None);
        assert_eq!(to_bytes("%", 0), None);
    }
}
