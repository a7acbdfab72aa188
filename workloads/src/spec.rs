//! The run as the guest sees it: settings to apply and processes to start.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a process is for, so a kill can be judged right or wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The process a sensible OOM killer should pick.
    Hog,
    /// An acceptable victim.
    Expendable,
    /// Must survive.
    Bystander,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Hog => "hog",
            Role::Expendable => "expendable",
            Role::Bystander => "bystander",
        }
    }
}

/// A memory cgroup a process is started in, created by the agent before pressure
/// starts: under /sys/fs/cgroup (v2), or with `v1` in a cgroup v1 memory hierarchy the
/// agent mounts at [`crate::CGROUP_V1_MEMORY`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupSpec {
    /// Directory name under /sys/fs/cgroup (letters, digits, '-', '_').
    pub name: String,
    /// `memory.max`: bytes with an optional K/M/G suffix, or `N%` of guest RAM.
    #[serde(default)]
    pub memory_max: Option<String>,
    /// `memory.high`, same forms.
    #[serde(default)]
    pub memory_high: Option<String>,
    /// `memory.oom.group`: kill the whole group on a memcg OOM (v2 only).
    #[serde(default)]
    pub oom_group: bool,
    /// A cgroup v1 memory group (`memory.limit_in_bytes`) instead of v2: kernels may be
    /// built without it (CONFIG_MEMCG_V1 is off in Debian's 6.12).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub v1: bool,
    /// The role of the other processes in the group: the ones the process forks, which
    /// stay in its cgroup (a storm's children may be expendable while their parent is the
    /// hog). Default: the process's own role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members_role: Option<Role>,
}

/// One process the agent starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// Unique within the run; names the process in events.
    pub name: String,
    pub role: Role,
    /// argv[0] is an absolute path inside the guest.
    pub argv: Vec<String>,
    #[serde(default)]
    pub oom_score_adj: i32,
    /// Start this long after pressure start.
    #[serde(default)]
    pub start_delay_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<CgroupSpec>,
    /// Resource limits set before exec: `core`, `memlock`, ... -> a number or
    /// `unlimited` (see [`rlimit_resource`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rlimits: BTreeMap<String, String>,
}

/// The setrlimit resource for an rlimit name in a spec.
pub fn rlimit_resource(name: &str) -> Option<i32> {
    Some(match name {
        "core" => libc::RLIMIT_CORE,
        "memlock" => libc::RLIMIT_MEMLOCK,
        "nofile" => libc::RLIMIT_NOFILE,
        "nproc" => libc::RLIMIT_NPROC,
        "as" => libc::RLIMIT_AS,
        "data" => libc::RLIMIT_DATA,
        "stack" => libc::RLIMIT_STACK,
        "fsize" => libc::RLIMIT_FSIZE,
        _ => return None,
    } as i32)
}

/// An rlimit value: a number, or `unlimited`.
pub fn rlimit_value(value: &str) -> Option<u64> {
    match value {
        "unlimited" => Some(libc::RLIM_INFINITY),
        v => v.parse().ok(),
    }
}

/// One sysfs write and what reading it back must show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SysfsSetting {
    /// The setting's name as the user gave it (`mglru`), for the record.
    pub key: String,
    pub path: String,
    pub value: String,
    /// The read-back, trimmed, must equal this...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// ...or must differ from this (a bitmask whose bits depend on the CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_not: Option<String>,
}

/// A block device the agent mounts before pressure, checked as part of the setup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountSpec {
    pub device: String,
    pub target: String,
    pub fstype: String,
}

/// When the pressure phase is over (then `settle_ms` more are watched).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioEnd {
    /// Every hog has exited (with no hog: every process).
    #[default]
    HogsExited,
    /// Any scenario process has exited: for scenarios where killing either side ends
    /// the pressure (an idle hog beside an allocating bystander).
    AnyExited,
    /// These named processes have exited: when pressure also comes from a process that
    /// is not the hog (make beside usemem keeps forking jobs after usemem is gone).
    Exited(Vec<String>),
}

/// A fault the agent injects on purpose, to test the harness's own detectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// This long after pressure start, every agent thread stops at its next event:
    /// no heartbeat, no probe, no events, nothing on the console from the agent.
    FreezeAgent { after_ms: u64 },
    /// This long after the agent starts its probe thread, it stops starting probes while
    /// everything else goes on: to the harness the guest looks alive but starved.
    StallProbe { after_ms: u64 },
    /// The harness leaves the scenario's scratch disk out of the machine (the agent
    /// does nothing): the setup check must catch the missing disk.
    DetachScratchDisk,
}

/// The whole per-run spec. Times are guest milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestSpec {
    pub run_id: String,
    pub scenario: String,
    /// Boot, report `ready` and power off at once: used by the accelerator probe.
    #[serde(default)]
    pub probe_only: bool,
    pub heartbeat_ms: u64,
    pub sample_ms: u64,
    /// Start a responsiveness probe this often (0: no probe). At most one runs at a time.
    #[serde(default)]
    pub probe_ms: u64,
    /// Memory each probe allocates and touches.
    #[serde(default = "default_probe_kib")]
    pub probe_kib: u64,
    /// After every hog has exited, keep watching this long (late kills, recovery) before ending.
    pub settle_ms: u64,
    /// End the pressure phase after this long even if a hog is still alive.
    pub max_pressure_ms: u64,
    /// `vm.*`-style sysctls, applied before pressure starts and read back.
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// Kernel knobs in sysfs (MGLRU), written before pressure and read back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sysfs: Vec<SysfsSetting>,
    #[serde(default)]
    pub processes: Vec<ProcessSpec>,
    #[serde(default)]
    pub end: ScenarioEnd,
    /// File systems to mount before pressure (the scratch disk).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<MountSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// Forward /dev/kmsg to the third serial port: the console does not carry the whole
    /// kernel log (quiet log level or no console device).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kmsg_forward: bool,
    /// Kernel command-line parameters the run asked for: the agent checks each is on
    /// /proc/cmdline and that the kernel did not call it unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmdline: Vec<String>,
    /// Swap the agent turns on before pressure (none without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<SwapSpec>,
}

/// A swap device: a zram disk the agent sizes, or a block device the host attached.
/// The agent writes the swap header itself (there is no mkswap in the guest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwapSpec {
    pub device: String,
    /// For zram: the disksize to set first, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zram_bytes: Option<u64>,
}

fn default_probe_kib() -> u64 {
    256
}

/// Guest path of the probe binary.
pub const PROBE_PATH: &str = "/bin/oomlab-probe";

impl GuestSpec {
    pub fn to_json(&self) -> Vec<u8> {
        // A plain struct of strings and integers cannot fail to serialize.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}
