//! The record of one run: what was asked, what the kernel did, and the verdict.
//!
//! One JSON object per run, one per line in `runs.jsonl`. Field meanings are defined in
//! docs/verdicts.md; times are milliseconds on the guest clock unless named otherwise.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of this record's shape; bump when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// At least one OOM kill, and the guest was responsive again afterwards.
    Recovered,
    /// The scenario ended without any OOM kill.
    NoOom,
    /// The guest was alive but made no OOM progress within the livelock window.
    Livelock,
    /// Kills went on until the end but user space never became responsive again:
    /// the slow-motion OOM (a kill every few seconds, each freeing little).
    Unrecovered,
    /// Console and event channel both went silent.
    Hung,
    /// The kernel panicked.
    Panic,
    /// The guest never reached agent-ready.
    BootFailure,
    /// The harness's own time limit ended the run with nothing more specific known.
    Timeout,
    /// The run itself went wrong (setup check failed, harness error): not a kernel result.
    Error,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Recovered,
        Outcome::NoOom,
        Outcome::Livelock,
        Outcome::Unrecovered,
        Outcome::Hung,
        Outcome::Panic,
        Outcome::BootFailure,
        Outcome::Timeout,
        Outcome::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Recovered => "recovered",
            Outcome::NoOom => "no_oom",
            Outcome::Livelock => "livelock",
            Outcome::Unrecovered => "unrecovered",
            Outcome::Hung => "hung",
            Outcome::Panic => "panic",
            Outcome::BootFailure => "boot_failure",
            Outcome::Timeout => "timeout",
            Outcome::Error => "error",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelInfo {
    /// As the user wrote it (`debian:6.1`, a path).
    pub spec: String,
    /// `uname -r` of the kernel, as resolved on the host (and checked in the guest).
    pub release: String,
    /// sha256 of the bzImage.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccelInfo {
    /// `tcg` or `kvm`: what this run actually ran on.
    pub used: String,
    /// What was asked (`auto`, `tcg`, `kvm`).
    pub requested: String,
    /// Why `used` was chosen (probe verdict, forced, cached probe).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestInfo {
    /// Under TCG: `single` (all vCPUs on one host thread) or `multi` (MTTCG).
    #[serde(default)]
    pub tcg_threads: Option<String>,
    pub memory_mib: u64,
    pub cpus: u32,
    /// The kernel command line the guest booted with.
    pub cmdline: String,
    /// MemTotal the guest reported.
    #[serde(default)]
    pub mem_total_kb: Option<u64>,
    /// More vCPU threads were running on the host (parallel guests) than it has cores,
    /// so timings may be stretched by CPU contention (docs/matrix.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_shared: Option<bool>,
    /// Host cores the guest's QEMU was pinned to (parallel guests, each its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned_cpus: Vec<usize>,
}

/// One OOM kill, joined with the role of the process it hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillRecord {
    pub pid: u32,
    pub comm: String,
    /// `hog`, `expendable`, `bystander`, or `unknown` for a process the agent did not start.
    pub role: String,
    pub anon_rss_kb: Option<u64>,
    pub oom_score_adj: Option<i32>,
    /// cgroup path for a memcg OOM kill, absent for a global one.
    pub memcg: Option<String>,
    /// Guest milliseconds since pressure start (negative would mean before it).
    pub t_ms: Option<i64>,
    /// The kernel's own heuristic recomputed from the task dump before this kill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_choice: Option<KernelChoice>,
}

/// Did the kernel kill the task its own badness heuristic ranks first?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelChoice {
    /// The top-ranked candidate of the dump.
    pub top_pid: Option<u32>,
    /// 1-based rank of the task the kernel chose.
    pub victim_rank: Option<usize>,
    /// The chosen task is not the top candidate.
    pub mismatch: bool,
    /// Some input was missing or approximated (see klog's HeuristicCheck).
    pub approximate: bool,
}

/// A process the scenario started, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub name: String,
    pub role: String,
    pub pid: u32,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Killed by the agent when the scenario ended, not by the kernel.
    #[serde(default)]
    pub stopped_by_agent: bool,
}

/// One check of the run's own setup, made inside the guest before pressure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupCheck {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Distribution of the responsiveness probe's latency over the pressure phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub n: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

/// Memory pressure stall information averaged over the pressure phase, in percent of
/// wall time (from the `total=` counters of /proc/pressure/memory).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PsiSummary {
    pub some_pct: f64,
    pub full_pct: f64,
}

/// Page-cache refaults over the pressure phase (/proc/vmstat `workingset_refault_file`):
/// pages read back soon after they were evicted, the kernel's own count of thrashing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefaultSummary {
    pub file_pages: u64,
    pub per_s: f64,
    /// Refaulted bytes over the guest's MemTotal: 1.0 means a whole RAM's worth was read
    /// back in after eviction.
    pub ram_multiple: Option<f64>,
    /// Major faults (`pgmajfault`) over the same span.
    pub majfaults: Option<u64>,
    /// kB read from block devices over the same span (/proc/vmstat `pgpgin`), over the
    /// guest's MemTotal. Reads beyond a file working set's own size are pages read
    /// again: thrashing measured without the refault counter, whose meaning differs
    /// between kernels (docs/scenarios.md, thrash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_read_ram_multiple: Option<f64>,
}

/// How the kills went: pace, reaping and memory freed (docs/verdicts.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KillStats {
    /// Time between consecutive kills (needs two kills).
    pub kill_interval_ms: Option<Percentiles2>,
    /// Median time from a kill to the oom_reaper reaping that pid.
    pub kill_to_reap_ms: Option<u64>,
    /// Median anon+file+shmem RSS of the victims, from the kill lines.
    pub freed_per_kill_kb: Option<u64>,
    /// Kills per minute between the first and the last kill (needs two kills).
    pub kills_per_min: Option<f64>,
}

/// What the guest's processes were doing when the OOM killer was first invoked (a /proc
/// snapshot by the agent), and whether that shows the scenario's precondition held.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// When the snapshot was taken, ms since pressure start.
    pub t_ms: Option<i64>,
    /// The kernel line that triggered it.
    pub trigger: String,
    /// User processes in the guest at the time; `processes` keeps the largest.
    pub processes_total: u32,
    pub processes: Vec<EvidenceProcess>,
    /// What the scenario needs to have happened, in words (None: it states nothing).
    pub precondition: Option<String>,
    /// Whether the snapshot shows it (None: no precondition, or nothing to check it on).
    pub precondition_met: Option<bool>,
    /// What was seen, in words.
    pub seen: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvidenceProcess {
    /// `trigger` (read at the OOM invocation) or `before` (the agent's last look before
    /// it, used when the process was already exiting at the trigger).
    pub snapshot: String,
    /// For a `before` look: how long before the agent read the trigger it was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_before_trigger_ms: Option<u64>,
    pub pid: u32,
    pub role: String,
    pub comm: String,
    pub state: String,
    pub oom_score: Option<i64>,
    pub oom_score_adj: Option<i32>,
    pub rss_kb: Option<u64>,
    pub mlocked_kb: Option<u64>,
    pub core_dumping: Option<bool>,
    pub cgroup: Option<String>,
    pub threads: Vec<EvidenceThread>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvidenceThread {
    pub tid: u32,
    pub state: String,
    pub wchan: Option<String>,
    /// The system call it was in, by name where known (x86-64 numbers otherwise).
    pub syscall: Option<String>,
}

/// What a second boot on the run's scratch disk found (fsync-storm's verifier): data
/// the kernel acknowledged with fsync before the OOM kills, checked record by record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataCheck {
    /// The verifier ran and reported; false with `error` when it could not look.
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub files: u64,
    #[serde(default)]
    pub records: u64,
    /// Records whose fsync had returned success.
    #[serde(default)]
    pub acked: u64,
    /// Acknowledged records missing or damaged: data the kernel promised and lost.
    #[serde(default)]
    pub lost_acked: u64,
    /// Damaged records followed by intact data: stale or corrupt contents.
    #[serde(default)]
    pub corrupt_records: u64,
    /// An incomplete last record, never acknowledged: allowed.
    #[serde(default)]
    pub torn_tail_records: u64,
    #[serde(default)]
    pub files_with_problems: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DataCheck {
    /// Acknowledged data lost, or corrupt data found.
    pub fn data_lost(&self) -> bool {
        self.lost_acked > 0 || self.corrupt_records > 0
    }
}

/// A core dumped through oomlab's pipe helper: how much arrived of what its own headers
/// promised. A dump the OOM killer cut short is truncated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CoreDump {
    pub written_bytes: u64,
    pub expected_bytes: Option<u64>,
    pub truncated: Option<bool>,
}

/// What the kernel console cost (docs/verdicts.md, "The console"). Times are printk ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConsoleStats {
    /// `console.device`: serial, virtio or none.
    pub device: String,
    /// The console log level in force (messages below it reach the console).
    pub loglevel: u8,
    /// Where the verdict read the kernel log: `console`, or `kmsg` (forwarded by the
    /// agent from /dev/kmsg because the console did not carry all of it).
    pub kernel_log_source: String,
    /// Bytes the console device wrote during the whole run.
    pub bytes: u64,
    /// From the first OOM report to the last kill line (needs a kill).
    pub oom_window_ms: Option<u64>,
    /// Console bytes with a timestamp inside that window.
    pub oom_window_bytes: Option<u64>,
    pub bytes_per_kill: Option<u64>,
    /// Time inside OOM reports (each from `invoked oom-killer` to its kill line, while
    /// the killer holds the OOM lock and prints), summed over the window.
    pub in_reports_ms: Option<u64>,
    /// `in_reports_ms / oom_window_ms`: the share of the OOM window spent in reports.
    pub report_share: Option<f64>,
    /// Kernel log records overwritten before the agent could forward them (kmsg only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kmsg_lost_records: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles2 {
    pub p50: u64,
    pub p90: u64,
}

/// Counts of the kernel's own reports in the console.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelReports {
    pub hung_tasks: u64,
    pub soft_lockups: u64,
    pub hard_lockups: u64,
    pub rcu_stalls: u64,
    pub alloc_failures: u64,
    pub alloc_stalls: u64,
    pub oom_no_killable: bool,
}

/// The thresholds the verdict was computed with, so it can be recomputed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerdictConfig {
    pub responsive_gap_ms: u64,
    pub probe_ms: u64,
    pub probe_threshold_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReaperCounts {
    pub reaped: u32,
    pub unable: u32,
}

/// Something the harness did to the guest during the run (sysrq dumps, register
/// capture), with when: ms since QEMU start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarnessAction {
    pub at_ms: u64,
    pub what: String,
}

/// Where a run sits in a matrix plan: resume and merge count records per (id, cell, rep).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRef {
    /// Hash of the normalized plan (its axes and guest shape, not its repetitions).
    pub id: String,
    /// Stable key of the cell: `KERNEL|SCENARIO[PARAMS]|VARIANT`.
    pub cell: String,
    /// The setting set's name.
    pub variant: String,
}

/// Paths relative to the output directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Artifacts {
    pub dir: String,
    pub console: String,
    pub events: String,
    pub qemu_stderr: String,
    pub spec: String,
    /// Agent and kernel events merged on the agent clock.
    #[serde(default)]
    pub timeline: String,
    /// The kernel log forwarded from /dev/kmsg, when the console did not carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kmsg: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema: u32,
    pub run_id: String,
    /// UTC start time, RFC 3339.
    pub started_at: String,
    pub scenario: String,
    /// The scenario's parameters as used (defaults included).
    #[serde(default)]
    pub scenario_params: BTreeMap<String, String>,
    pub kernel: KernelInfo,
    pub accel: AccelInfo,
    pub guest: GuestInfo,
    pub settings: BTreeMap<String, String>,
    pub rep: u32,
    pub outcome: Outcome,
    /// One line on why the verdict is what it is.
    pub outcome_reason: String,
    pub setup: Vec<SetupCheck>,
    pub oom_invocations: u64,
    pub kills: Vec<KillRecord>,
    pub wrong_victim_kills: u32,
    /// Kills after every hog had exited and a probe had shown the guest responsive.
    #[serde(default)]
    pub overkill_kills: u32,
    /// Whether any kill went against the kernel's own heuristic (null: no task dump
    /// to check against).
    #[serde(default)]
    pub heuristic_mismatch: Option<bool>,
    /// In the last task dump, how many candidates outrank the hog by the kernel's
    /// badness, and how long killing them would take at the median kill interval.
    #[serde(default)]
    pub candidates_ahead_of_hog: Option<u64>,
    #[serde(default)]
    pub projected_ms_to_hog: Option<u64>,
    pub reaper: ReaperCounts,
    pub processes: Vec<ProcessRecord>,
    pub time_to_first_kill_ms: Option<u64>,
    pub time_to_recovery_ms: Option<u64>,
    pub max_heartbeat_gap_ms: Option<u64>,
    /// Time the probe spent over its threshold during pressure.
    #[serde(default)]
    pub kill_stats: KillStats,
    #[serde(default)]
    pub console: Option<ConsoleStats>,
    #[serde(default)]
    pub evidence: Option<Evidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_check: Option<DataCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_dump: Option<CoreDump>,
    /// The matrix plan cell this run belongs to (docs/matrix.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanRef>,
    #[serde(default)]
    pub stall_ms: Option<u64>,
    #[serde(default)]
    pub probe_latency_ms: Option<LatencySummary>,
    #[serde(default)]
    pub psi_memory: Option<PsiSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refaults: Option<RefaultSummary>,
    #[serde(default)]
    pub kernel_reports: KernelReports,
    #[serde(default)]
    pub verdict_config: VerdictConfig,
    #[serde(default)]
    pub harness_actions: Vec<HarnessAction>,
    /// QEMU start to agent-ready, host wall clock.
    pub boot_ms: Option<u64>,
    /// QEMU start to QEMU exit, host wall clock.
    pub wall_ms: u64,
    /// printk clock minus agent CLOCK_MONOTONIC, measured from the agent's kmsg marker.
    pub clock_offset_ms: Option<i64>,
    pub qemu_version: String,
    pub oomlab_version: String,
    pub artifacts: Artifacts,
}

impl RunRecord {
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Processes the agent started that the OOM killer killed and that had still not
    /// exited when the run ended: the victim is stuck (starved of CPU, or waiting on a
    /// lock) even if the oom_reaper took its memory.
    pub fn victims_never_exited(&self) -> Vec<&ProcessRecord> {
        self.processes
            .iter()
            .filter(|p| p.exit_code.is_none() && p.signal.is_none())
            .filter(|p| self.kills.iter().any(|k| k.pid == p.pid))
            .collect()
    }
}
