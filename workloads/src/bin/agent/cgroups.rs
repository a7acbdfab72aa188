//! Memory cgroups for scenario processes (v2, or v1 where a scenario asks): created,
//! limited and read back before pressure starts; processes join theirs between fork
//! and exec.

use crate::channel::Channel;
use crate::sys;
use oomlab_workloads::event::Event;
use oomlab_workloads::spec::{CgroupSpec, ProcessSpec};
use oomlab_workloads::CGROUP_V1_MEMORY;
use std::ffi::CString;

const ROOT: &str = "/sys/fs/cgroup";

/// The group's directory in its hierarchy.
pub fn dir(g: &CgroupSpec) -> String {
    let root = if g.v1 { CGROUP_V1_MEMORY } else { ROOT };
    format!("{root}/{}", g.name)
}

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
    let all: Vec<&CgroupSpec> = processes.iter().filter_map(|p| p.cgroup.as_ref()).collect();
    let (v1, v2): (Vec<&CgroupSpec>, Vec<&CgroupSpec>) = all.into_iter().partition(|g| g.v1);
    (v1.is_empty() || prepare_v1(channel, &v1, mem_total_kb))
        && (v2.is_empty() || prepare_v2(channel, &v2, mem_total_kb))
}

/// Mount the v1 memory hierarchy and create its groups. The controller must not be in
/// use by v2, which it is not: the agent enables it there only for v2 groups.
fn prepare_v1(channel: &Channel, groups: &[&CgroupSpec], mem_total_kb: u64) -> bool {
    let _ = std::fs::create_dir_all(CGROUP_V1_MEMORY);
    let mounted = sys::mount("cgroup", CGROUP_V1_MEMORY, "cgroup", Some("memory"));
    if !check(
        channel,
        "cgroup v1 memory controller".into(),
        mounted.is_ok(),
        match &mounted {
            Ok(()) => format!("mounted on {CGROUP_V1_MEMORY}"),
            Err(e) => format!(
                "mount -t cgroup -o memory: {e}; the kernel lacks cgroup v1 memory (CONFIG_MEMCG_V1) or v2 holds the controller"
            ),
        },
    ) {
        return false;
    }
    let mut ok = true;
    for g in groups {
        ok &= make_group(channel, g);
        let unsupported = [
            ("memory.high", g.memory_high.is_some()),
            ("memory.oom.group", g.oom_group),
        ];
        for (what, asked) in unsupported.into_iter().filter(|u| u.1) {
            ok &= check(
                channel,
                format!("cgroup {} {what}", g.name),
                !asked,
                "has no cgroup v1 equivalent; use a v2 group".into(),
            );
        }
        if let Some(max) = g.memory_max.as_deref() {
            ok &= write_limit(channel, g, "memory.limit_in_bytes", max, mem_total_kb);
        }
    }
    ok
}

fn prepare_v2(channel: &Channel, groups: &[&CgroupSpec], mem_total_kb: u64) -> bool {
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
        ok &= make_group(channel, g);
        let limits = [
            ("memory.max", g.memory_max.as_deref()),
            ("memory.high", g.memory_high.as_deref()),
            ("memory.oom.group", g.oom_group.then_some("1")),
        ];
        for (file, value) in limits {
            if let Some(value) = value {
                ok &= write_limit(channel, g, file, value, mem_total_kb);
            }
        }
    }
    ok
}

fn make_group(channel: &Channel, g: &CgroupSpec) -> bool {
    let dir = dir(g);
    let made = match std::fs::create_dir(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    };
    check(
        channel,
        format!("cgroup {}", g.name),
        made.is_ok(),
        made.err()
            .map_or_else(|| dir.clone(), |e| format!("{dir}: {e}")),
    )
}

/// Write one limit and read it back; the kernel rounds sizes down to whole pages, so
/// what it kept is compared with what was asked.
fn write_limit(
    channel: &Channel,
    g: &CgroupSpec,
    file: &str,
    value: &str,
    mem_total_kb: u64,
) -> bool {
    let name = format!("cgroup {} {file}", g.name);
    let bytes = if file == "memory.oom.group" {
        Some(1)
    } else {
        to_bytes(value, mem_total_kb)
    };
    let Some(bytes) = bytes else {
        return check(channel, name, false, format!("cannot read size {value:?}"));
    };
    let path = format!("{}/{file}", dir(g));
    let written = std::fs::write(&path, bytes.to_string());
    let back = std::fs::read_to_string(&path).unwrap_or_default();
    let kept = back.trim().parse::<u64>().ok();
    let good = written.is_ok() && kept.is_some_and(|k| k <= bytes && bytes - k < 4096);
    check(
        channel,
        name,
        good,
        format!("asked {value} = {bytes}, read back {}", back.trim()),
    )
}

/// Path of a group's cgroup.procs, prepared before fork so joining needs no allocation.
pub fn procs_path(g: &CgroupSpec) -> Option<CString> {
    CString::new(format!("{}/cgroup.procs", dir(g))).ok()
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
