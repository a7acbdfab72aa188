//! `--set key=value`: sysctls applied in the guest before pressure starts, and the
//! console settings the harness applies to the machine itself.
//!
//! Checked here before any guest boots (name and value in a safe character set), and
//! again in the guest, where the agent writes each sysctl and reads it back.

use crate::qemu::command::ConsoleDevice;
use crate::role_cgroups;
use oomlab_workloads::spec::SysfsSetting;
use std::collections::BTreeMap;

const LRU_GEN: &str = "/sys/kernel/mm/lru_gen";
const THP: &str = "/sys/kernel/mm/transparent_hugepage";
/// Transparent hugepage modes, in the order the kernel lists them.
const THP_ENABLED: [&str; 3] = ["always", "madvise", "never"];
const THP_DEFRAG: [&str; 5] = ["always", "defer", "defer+madvise", "madvise", "never"];

/// What the kernel shows in a THP mode file when `chosen` is in force:
/// `always [madvise] never`.
fn thp_read_back(modes: &[&str], chosen: &str) -> String {
    let shown: Vec<String> = modes
        .iter()
        .map(|m| {
            if *m == chosen {
                format!("[{m}]")
            } else {
                m.to_string()
            }
        })
        .collect();
    shown.join(" ")
}

/// The console log level every run gets unless `console.loglevel` says otherwise: 7
/// prints everything but debug, so OOM reports, task dumps and reaper lines reach it.
pub const DEFAULT_LOGLEVEL: u8 = 7;

/// Kernel command-line parameters a run may add (`--set cmdline.NAME=VALUE`): ones that
/// change memory management or how a stall is reported, each with the values it takes.
/// The harness owns the rest of the command line (console, panic, watchdogs), so its
/// detectors keep working.
const CMDLINE_ALLOWED: &[(&str, &str)] = &[
    ("transparent_hugepage", "always|madvise|never"),
    ("numa_balancing", "enable|disable"),
    ("init_on_alloc", "0|1"),
    ("init_on_free", "0|1"),
    ("page_alloc.shuffle", "0|1"),
    ("zswap.enabled", "0|1"),
    ("zswap.compressor", "lzo|lz4|zstd|deflate"),
    ("zswap.max_pool_percent", "N"),
    ("cgroup_disable", "memory"),
    ("cgroup_no_v1", "memory|all"),
    ("psi", "0|1"),
    ("hung_task_panic", "0|1"),
    ("softlockup_panic", "0|1"),
    ("hugepages", "N"),
    ("kernelcore", "N|N%|NM|NG"),
    ("movablecore", "N|N%|NM|NG"),
];

/// Check one `cmdline.NAME=VALUE` against the allowlist; `NAME=VALUE` if it passes.
fn cmdline_param(arg: &str, name: &str, value: &str) -> Result<String, String> {
    let Some((_, values)) = CMDLINE_ALLOWED.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = CMDLINE_ALLOWED.iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "--set {arg:?}: {name:?} is not a kernel parameter oomlab passes; allowed: {}",
            names.join(", ")
        ));
    };
    let digits = |v: &str| !v.is_empty() && v.len() <= 12 && v.chars().all(|c| c.is_ascii_digit());
    let ok = values.split('|').any(|form| match form {
        "N" => digits(value),
        "N%" => value.strip_suffix('%').is_some_and(digits),
        "NM" => value.strip_suffix('M').is_some_and(digits),
        "NG" => value.strip_suffix('G').is_some_and(digits),
        literal => value == literal,
    });
    if !ok {
        return Err(format!("--set {arg:?}: {name} takes {values}"));
    }
    Ok(format!("{name}={value}"))
}

/// Swap for a run: none (the default), a zram disk in guest RAM, or a disk on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Swap {
    #[default]
    None,
    Zram(Size),
    Disk(Size),
}

/// A size as the user gave it: MiB, or a percentage of guest RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Mib(u64),
    PercentOfRam(u64),
}

impl Size {
    fn parse(v: &str) -> Option<Size> {
        if let Some(p) = v.strip_suffix('%') {
            return p
                .parse()
                .ok()
                .filter(|p| (1..=400).contains(p))
                .map(Size::PercentOfRam);
        }
        let (digits, mult) = match v.as_bytes().last()? {
            b'M' => (&v[..v.len() - 1], 1),
            b'G' => (&v[..v.len() - 1], 1024),
            _ => return None,
        };
        digits
            .parse::<u64>()
            .ok()
            .map(|n| n * mult)
            .filter(|m| (1..=65536).contains(m))
            .map(Size::Mib)
    }

    pub fn mib(self, ram_mib: u64) -> u64 {
        match self {
            Size::Mib(m) => m,
            Size::PercentOfRam(p) => (ram_mib * p / 100).max(1),
        }
    }
}

impl Swap {
    /// Modules the guest needs for it (built in on some kernels, then skipped).
    pub fn modules(self) -> &'static [&'static str] {
        match self {
            Swap::None => &[],
            Swap::Zram(_) => &["zram"],
            Swap::Disk(_) => crate::scenario::SCRATCH_MODULES,
        }
    }
}

/// Everything `--set` decides for a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Written and read back in the guest, `kernel.printk` included.
    pub sysctls: BTreeMap<String, String>,
    /// sysfs knobs (MGLRU), written and read back in the guest.
    pub sysfs: Vec<SysfsSetting>,
    /// Those knobs as the user named them (`mglru` -> `on`), for the record.
    pub named: BTreeMap<String, String>,
    pub console: ConsoleSettings,
    pub swap: Swap,
    /// Extra kernel command-line parameters, `NAME=VALUE`, in the order given.
    pub cmdline: Vec<String>,
    /// Memory cgroup limits per role (`cgroup.ROLE.KNOB`).
    pub role_cgroups: role_cgroups::ByRole,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsoleSettings {
    /// The kernel's console_loglevel: messages below it reach the console.
    pub loglevel: u8,
    pub device: ConsoleDevice,
}

impl ConsoleSettings {
    /// Whether the console carries every line the verdict reads. When it does not (a
    /// quiet log level, or no console), the agent forwards /dev/kmsg on a port of its
    /// own and the harness reads the kernel log from there.
    pub fn carries_kernel_log(&self) -> bool {
        self.device != ConsoleDevice::None && self.loglevel >= DEFAULT_LOGLEVEL
    }
}

impl Settings {
    /// Modules the guest loads for these settings: the console's and the swap's.
    pub fn modules(&self) -> Vec<&'static str> {
        let mut m = self.console.device.modules().to_vec();
        m.extend(self.swap.modules());
        m
    }

    /// What the record keeps under `settings`: every sysctl and the console keys.
    pub fn recorded(&self) -> BTreeMap<String, String> {
        let mut all = self.sysctls.clone();
        all.insert("console.loglevel".into(), self.console.loglevel.to_string());
        all.insert("console.device".into(), self.console.device.as_str().into());
        all.extend(self.named.iter().map(|(k, v)| (k.clone(), v.clone())));
        all.extend(role_cgroups::recorded(&self.role_cgroups));
        all
    }
}

/// Sysctl defaults every run gets unless overridden, each written and read back in the
/// guest so the record shows what was in force:
/// - `vm.oom_dump_tasks`: task dumps on (the kernel default), stated so it is recorded;
/// - `kernel.sysrq`: all sysrq functions, so the harness can dump tasks and memory of a
///   livelocked guest (Debian's default mask leaves the dump keys off);
/// - `kernel.hung_task_timeout_secs`: 30 s, below the livelock window (see
///   docs/verdicts.md, "Watchdog order").
///
/// `kernel.printk` comes from `console.loglevel`: the guest boots `quiet` and the
/// level is raised before pressure.
fn sysctl_defaults() -> BTreeMap<String, String> {
    [
        ("vm.oom_dump_tasks", "1"),
        ("kernel.sysrq", "1"),
        ("kernel.hung_task_timeout_secs", "30"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Split one `--set` argument into a trimmed key and value.
fn split(arg: &str) -> Result<(&str, &str), String> {
    let (key, value) = arg.split_once('=').ok_or_else(|| {
        format!("--set {arg:?}: expected key=value, e.g. --set vm.oom_dump_tasks=0")
    })?;
    Ok((key.trim(), value.trim()))
}

/// Parse one sysctl `--set` argument.
pub fn parse(arg: &str) -> Result<(String, String), String> {
    let (key, value) = split(arg)?;
    let key_ok = (key.starts_with("vm.") || key.starts_with("kernel."))
        && key.len() > key.find('.').unwrap_or(0) + 1
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        && !key.contains("..");
    if !key_ok {
        return Err(format!(
            "--set {arg:?}: {key:?} is not a setting oomlab knows; use a vm.* or kernel.* sysctl such as vm.overcommit_memory, console.loglevel / console.device, mglru, thp / thp.defrag, swap, cmdline.NAME, or cgroup.ROLE.memory.max"
        ));
    }
    let value_ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _-.,/|%:".contains(c));
    if !value_ok {
        return Err(format!(
            "--set {arg:?}: value {value:?} must be 1-64 characters of letters, digits, space and _ - . , / | % :"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

fn parse_loglevel(arg: &str, value: &str) -> Result<u8, String> {
    value.parse::<u8>().ok().filter(|l| *l <= 8).ok_or_else(|| {
        format!(
            "--set {arg:?}: console.loglevel takes 0-8 (8 prints everything, 0 only emergencies)"
        )
    })
}

/// Defaults overlaid with the user's settings.
pub fn resolve(args: &[String]) -> Result<Settings, String> {
    let mut sysctls = sysctl_defaults();
    let mut loglevel = None;
    let mut device = ConsoleDevice::Serial;
    let mut sysfs: Vec<SysfsSetting> = Vec::new();
    let mut named = BTreeMap::new();
    let mut swap = Swap::None;
    let mut cmdline: Vec<String> = Vec::new();
    let mut role_limits = role_cgroups::ByRole::new();
    for a in args {
        match split(a)? {
            (k, v) if role_cgroups::is_key(k) => role_cgroups::parse(&mut role_limits, a, k, v)?,
            (k, v) if k.starts_with("cmdline.") => {
                let name = &k["cmdline.".len()..];
                let param = cmdline_param(a, name, v)?;
                cmdline.retain(|p| p.split('=').next() != Some(name));
                cmdline.push(param);
                named.insert(k.to_string(), v.to_string());
            }
            ("swap", v) => {
                let bad = || {
                    format!("--set {a:?}: swap is none, zram:SIZE or disk:SIZE, SIZE as 64M, 1G or 50% of guest RAM")
                };
                swap = match v.split_once(':') {
                    None if v == "none" => Swap::None,
                    Some(("zram", size)) => Swap::Zram(Size::parse(size).ok_or_else(bad)?),
                    Some(("disk", size)) => Swap::Disk(Size::parse(size).ok_or_else(bad)?),
                    _ => return Err(bad()),
                };
                // No swap is what every run had before this setting: not recorded, so
                // such runs still compare with older ones.
                named.remove("swap");
                if swap != Swap::None {
                    named.insert("swap".to_string(), v.to_string());
                }
            }
            ("console.loglevel", v) => loglevel = Some(parse_loglevel(a, v)?),
            ("console.device", v) => {
                device = v.parse().map_err(|e| format!("--set {a:?}: {e}"))?;
            }
            ("mglru", v) => {
                let (value, expect, expect_not) = match v {
                    // The read-back is a bitmask of the features the CPU allows: any
                    // non-zero mask means on.
                    "on" => ("y", None, Some("0x0000")),
                    "off" => ("n", Some("0x0000"), None),
                    _ => {
                        return Err(format!(
                            "--set {a:?}: mglru is on or off (or set mglru.min_ttl_ms=N)"
                        ))
                    }
                };
                set_sysfs(&mut sysfs, "mglru", &format!("{LRU_GEN}/enabled"), value, expect, expect_not);
                named.insert("mglru".to_string(), v.to_string());
            }
            ("mglru.min_ttl_ms", v) => {
                let ms: u32 = v.parse().map_err(|_| {
                    format!("--set {a:?}: mglru.min_ttl_ms takes milliseconds, e.g. 1000")
                })?;
                let ms = ms.to_string();
                set_sysfs(&mut sysfs, "mglru.min_ttl_ms", &format!("{LRU_GEN}/min_ttl_ms"), &ms, Some(&ms), None);
                named.insert("mglru.min_ttl_ms".to_string(), ms);
            }
            (key @ ("thp" | "thp.defrag"), v) => {
                let (modes, file): (&[&str], _) = match key {
                    "thp" => (&THP_ENABLED, "enabled"),
                    _ => (&THP_DEFRAG, "defrag"),
                };
                if !modes.contains(&v) {
                    return Err(format!(
                        "--set {a:?}: {key} is one of {}",
                        modes.join(", ")
                    ));
                }
                let expect = thp_read_back(modes, v);
                set_sysfs(&mut sysfs, key, &format!("{THP}/{file}"), v, Some(&expect), None);
                named.insert(key.to_string(), v.to_string());
            }
            (k, _) if k.starts_with("console.") => {
                return Err(format!(
                    "--set {a:?}: unknown console setting; the console settings are console.loglevel (0-8) and console.device (serial, virtio, none)"
                ))
            }
            _ => {
                let (k, v) = parse(a)?;
                sysctls.insert(k, v);
            }
        }
    }
    let loglevel = match (loglevel, sysctls.get("kernel.printk")) {
        (Some(_), Some(_)) => {
            return Err(
                "--set console.loglevel and --set kernel.printk both set the console log level; keep one".into(),
            )
        }
        (Some(l), None) => l,
        // The first field of kernel.printk is the console log level.
        (None, Some(printk)) => printk
            .split_whitespace()
            .next()
            .and_then(|f| f.parse::<u8>().ok())
            .filter(|l| *l <= 8)
            .ok_or_else(|| {
                format!("--set kernel.printk={printk:?}: its first field must be a log level 0-8, e.g. kernel.printk=\"7 4 1 7\"")
            })?,
        (None, None) => DEFAULT_LOGLEVEL,
    };
    sysctls
        .entry("kernel.printk".into())
        .or_insert_with(|| format!("{loglevel} 4 1 7"));
    Ok(Settings {
        sysctls,
        sysfs,
        named,
        console: ConsoleSettings { loglevel, device },
        swap,
        cmdline,
        role_cgroups: role_limits,
    })
}

/// Set (or replace) one sysfs knob.
fn set_sysfs(
    all: &mut Vec<SysfsSetting>,
    key: &str,
    path: &str,
    value: &str,
    expect: Option<&str>,
    expect_not: Option<&str>,
) {
    all.retain(|s| s.key != key);
    all.push(SysfsSetting {
        key: key.into(),
        path: path.into(),
        value: value.into(),
        expect: expect.map(Into::into),
        expect_not: expect_not.map(Into::into),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sysctls_and_rejects_the_rest() {
        assert_eq!(
            parse("vm.oom_dump_tasks=0").unwrap(),
            ("vm.oom_dump_tasks".into(), "0".into())
        );
        assert!(parse("vm.oom_dump_tasks")
            .unwrap_err()
            .contains("key=value"));
        assert!(parse("net.ipv4.ip_forward=1").unwrap_err().contains("vm.*"));
        assert!(parse("vm.=1").is_err());
        assert!(parse("vm.x=$(reboot)").unwrap_err().contains("must be"));
        assert!(parse("vm/../x=1").is_err());
    }

    #[test]
    fn user_settings_override_defaults() {
        let s = resolve(&["kernel.printk=4 4 1 7".into()]).unwrap();
        assert_eq!(s.sysctls["kernel.printk"], "4 4 1 7");
        assert_eq!(s.console.loglevel, 4);
        assert!(!s.console.carries_kernel_log());
    }

    #[test]
    fn console_loglevel_becomes_kernel_printk() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.sysctls["kernel.printk"], "7 4 1 7");
        assert!(s.console.carries_kernel_log());
        let s = resolve(&["console.loglevel=1".into()]).unwrap();
        assert_eq!(s.sysctls["kernel.printk"], "1 4 1 7");
        assert_eq!(s.recorded()["console.loglevel"], "1");
        assert_eq!(s.recorded()["console.device"], "serial");
        assert!(!s.console.carries_kernel_log());
    }

    #[test]
    fn mglru_is_a_sysfs_setting_with_its_read_back() {
        let s = resolve(&["mglru=off".into()]).unwrap();
        assert_eq!(s.sysfs.len(), 1);
        assert_eq!(s.sysfs[0].path, "/sys/kernel/mm/lru_gen/enabled");
        assert_eq!(
            (s.sysfs[0].value.as_str(), s.sysfs[0].expect.as_deref()),
            ("n", Some("0x0000"))
        );
        assert_eq!(s.recorded()["mglru"], "off");
        let s = resolve(&["mglru=off".into(), "mglru=on".into()]).unwrap();
        assert_eq!(s.sysfs.len(), 1);
        assert_eq!(s.sysfs[0].expect_not.as_deref(), Some("0x0000"));
        assert!(resolve(&["mglru=maybe".into()])
            .unwrap_err()
            .contains("on or off"));
        assert!(resolve(&["mglru.min_ttl_ms=x".into()]).is_err());
    }

    #[test]
    fn thp_modes_are_sysfs_settings_read_back_with_the_bracket() {
        let s = resolve(&["thp=never".into(), "thp.defrag=defer+madvise".into()]).unwrap();
        assert_eq!(s.sysfs.len(), 2);
        assert_eq!(
            s.sysfs[0].path,
            "/sys/kernel/mm/transparent_hugepage/enabled"
        );
        assert_eq!(
            (s.sysfs[0].value.as_str(), s.sysfs[0].expect.as_deref()),
            ("never", Some("always madvise [never]"))
        );
        assert_eq!(
            s.sysfs[1].expect.as_deref(),
            Some("always defer [defer+madvise] madvise never")
        );
        assert_eq!(s.recorded()["thp"], "never");
        let e = resolve(&["thp=sometimes".into()]).unwrap_err();
        assert!(e.contains("always, madvise, never"), "{e}");
        assert!(resolve(&["thp.defrag=eager".into()]).is_err());
    }

    #[test]
    fn swap_is_none_unless_asked_and_sizes_are_checked() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.swap, Swap::None);
        assert!(!s.recorded().contains_key("swap"));
        assert!(s.modules().is_empty());
        let s = resolve(&["swap=zram:64M".into()]).unwrap();
        assert_eq!(s.swap, Swap::Zram(Size::Mib(64)));
        assert_eq!(s.recorded()["swap"], "zram:64M");
        assert_eq!(s.modules(), ["zram"]);
        let s = resolve(&["swap=disk:50%".into()]).unwrap();
        assert_eq!(s.swap, Swap::Disk(Size::PercentOfRam(50)));
        assert_eq!(Size::PercentOfRam(50).mib(256), 128);
        assert_eq!(Size::parse("1G"), Some(Size::Mib(1024)));
        let s = resolve(&["swap=zram:64M".into(), "swap=none".into()]).unwrap();
        assert_eq!(s.swap, Swap::None);
        assert!(!s.recorded().contains_key("swap"));
        for bad in [
            "swap=zram",
            "swap=zram:64",
            "swap=zram:0M",
            "swap=file:1G",
            "swap=disk:900%",
        ] {
            let e = resolve(&[bad.into()]).unwrap_err();
            assert!(e.contains("none, zram:SIZE or disk:SIZE"), "{bad}: {e}");
        }
    }

    #[test]
    fn kernel_parameters_come_from_an_allowlist_with_their_values() {
        let s = resolve(&[
            "cmdline.numa_balancing=disable".into(),
            "cmdline.kernelcore=25%".into(),
            "cmdline.numa_balancing=enable".into(),
        ])
        .unwrap();
        assert_eq!(s.cmdline, ["kernelcore=25%", "numa_balancing=enable"]);
        assert_eq!(s.recorded()["cmdline.numa_balancing"], "enable");
        let e = resolve(&["cmdline.init=/bin/sh".into()]).unwrap_err();
        assert!(
            e.contains("not a kernel parameter oomlab passes") && e.contains("psi"),
            "{e}"
        );
        let e = resolve(&["cmdline.psi=yes".into()]).unwrap_err();
        assert!(e.contains("psi takes 0|1"), "{e}");
        assert!(resolve(&["cmdline.hugepages=1x".into()]).is_err());
        assert!(resolve(&["cmdline.kernelcore=64M".into()]).is_ok());
    }

    #[test]
    fn console_settings_are_checked() {
        for bad in [
            "console.loglevel=9",
            "console.loglevel=x",
            "console.loglevel=",
        ] {
            assert!(resolve(&[bad.into()]).unwrap_err().contains("0-8"), "{bad}");
        }
        let e = resolve(&["console.device=usb".into()]).unwrap_err();
        assert!(e.contains("serial, virtio, none"), "{e}");
        assert!(resolve(&["console.colour=red".into()])
            .unwrap_err()
            .contains("unknown console setting"));
        let both = ["console.loglevel=1".into(), "kernel.printk=7 4 1 7".into()];
        assert!(resolve(&both).unwrap_err().contains("keep one"));
        let s = resolve(&["console.device=virtio".into()]).unwrap();
        assert_eq!(s.console.device, ConsoleDevice::Virtio);
        let s = resolve(&["console.device=none".into()]).unwrap();
        assert!(!s.console.carries_kernel_log());
    }
}
