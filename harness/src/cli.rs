//! Command-line interface. Every default is visible in `--help`.

use crate::qemu::accel::AccelRequest;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "oomlab",
    version,
    about = "Boot throwaway QEMU guests, push them out of memory, and record what the OOM killer did"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run scenarios on kernels (a matrix, from flags or --plan) and append the records to --out.
    Run(Box<RunArgs>),
    /// Join the --out folders of a sharded plan into OUT, checking they hold one plan
    /// and no run twice; lists the runs still missing (exit 3 if any).
    Merge {
        /// The merged results directory (created if needed; may already hold records).
        out: PathBuf,
        /// Shard output folders.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Print an sbatch script running a plan as a Slurm job array, one shard per task,
    /// with a merge job after it (docs/matrix.md).
    SlurmScript {
        /// The plan file.
        plan: PathBuf,
        /// Array tasks (shards).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        shards: u32,
        /// Results directory: shards go to OUT/shard-I, merged records to OUT.
        #[arg(long)]
        out: PathBuf,
        /// The oomlab binary the tasks run [default: this one].
        #[arg(long)]
        oomlab: Option<PathBuf>,
    },
    /// Parse a dmesg, journal or serial console log for OOM kills and reaper results.
    ParseLog {
        /// The log file ("-" for standard input).
        file: PathBuf,
        /// Print one JSON object instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Measure the spine's budgets: boot overhead, harness RSS, parse-log speed.
    Bench {
        #[arg(long, default_value = "debian:6.1")]
        kernel: String,
        /// Boot measurements per kind (bare, agent), alternating.
        #[arg(long, default_value_t = 5)]
        reps: u32,
        #[arg(long, value_enum, default_value = "auto")]
        accel: AccelRequest,
        /// Size of the console log parse-log and grep are timed on.
        #[arg(long, default_value_t = 500)]
        log_mib: u64,
        #[arg(long)]
        cache_dir: Option<PathBuf>,
    },
    /// Compare kernels across recorded runs: per configuration, each kernel against a
    /// baseline, with a verdict per cell (rules in docs/compare.md).
    Compare(CompareArgs),
    /// The built-in scenarios.
    Scenarios {
        #[command(subcommand)]
        what: ScenariosCmd,
    },
}

#[derive(Subcommand, Debug)]
pub enum ScenariosCmd {
    /// One line per scenario.
    List,
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Results directories (holding runs.jsonl) or runs.jsonl files; their runs are pooled.
    #[arg(required = true, value_name = "RESULTS")]
    pub results: Vec<PathBuf>,
    /// Kernel to compare against, by spec (debian:6.1) or release [default: the first record's kernel].
    #[arg(long, value_name = "SPEC")]
    pub baseline: Option<String>,
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: ReportFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 1 when any kernel is worse than the baseline (after writing the report).
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Comparable runs (not error or boot_failure) needed on each side for a verdict.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub min_runs: u64,
    /// A time-to-recovery difference counts only when its 95% interval clears this many ms.
    #[arg(long, default_value_t = 0)]
    pub ttr_margin_ms: u64,
    /// Before reporting, run N more repetitions of each configuration whose outcomes
    /// differ from the baseline's (that kernel and the baseline), appended to the results
    /// directory the runs came from, so a rate replaces one unlucky run.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rerun_failures: u32,
    /// Guests at once for --rerun-failures [default: what the machine holds].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ReportFormat {
    Terminal,
    Markdown,
    Json,
    Ktap,
    Junit,
    // One self-contained page: the tables plus SVG plots (docs/compare.md).
    Html,
    // A KCIDB (KernelCI) submission: checkouts, builds, a test per run and per cell.
    Kcidb,
}

/// Every `oomlab run` option at its default, for runs started by other commands.
#[derive(Parser, Debug)]
struct RunDefaults {
    #[command(flatten)]
    run: RunArgs,
}

impl RunArgs {
    pub fn defaults() -> RunArgs {
        RunDefaults::parse_from(["oomlab"]).run
    }
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// A plan file (TOML): kernels × setting sets × scenarios × reps, guest shape and
    /// accel in one place (docs/matrix.md). Replaces the matrix flags.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "scenarios", "params", "kernels", "sets", "set_variants", "reps", "memory", "cpus",
        "timeout", "accel",
    ])]
    pub plan: Option<PathBuf>,
    /// Scenario name (see `oomlab scenarios list`) or scenario file, optionally with
    /// parameters: NAME:key=value,key=value. Repeat for several.
    #[arg(long = "scenario", default_value = "usemem")]
    pub scenarios: Vec<String>,
    /// Scenario parameter for every --scenario, e.g. --param herd.adj=0 (see `oomlab scenarios list`). Repeatable.
    #[arg(long = "param")]
    pub params: Vec<String>,
    /// Kernel: debian:SERIES[-FLAVOUR] (debian:6.1, debian:6.12, debian:6.12-rt, debian:6.1-amd64) or a bzImage path. Repeat for several.
    #[arg(long = "kernel", default_value = "debian:6.1")]
    pub kernels: Vec<String>,
    /// Kernel module to pack into the initramfs (with its dependencies, from the
    /// kernel's modules.dep) and load in the guest before pressure; its load is a setup
    /// check of the run. Repeatable.
    #[arg(long = "load-module")]
    pub load_modules: Vec<String>,
    /// Modules directory for a bzImage path (lib/modules/RELEASE or a directory holding it).
    #[arg(long)]
    pub modules: Option<PathBuf>,
    /// Results directory: runs.jsonl plus one folder per run. Appended to, never overwritten.
    #[arg(long, default_value = "results/oomlab")]
    pub out: PathBuf,
    /// Accelerator: auto probes KVM (bounded) and falls back to TCG.
    #[arg(long, value_enum, default_value = "auto")]
    pub accel: AccelRequest,
    /// TCG vCPU threads: single (all vCPUs on one host thread) avoids an MTTCG
    /// cross-modifying-code race that makes some 6.12 boots oops; multi gives each vCPU
    /// a host thread.
    #[arg(long, value_enum, default_value = "single")]
    pub tcg_threads: crate::qemu::command::TcgThreads,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 256)]
    pub memory: u64,
    /// Guest vCPUs.
    #[arg(long, default_value_t = 2)]
    pub cpus: u32,
    /// Hard limit per run in seconds, boot included; the guest is killed and the run recorded as timeout.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Seconds from QEMU start to agent-ready before the run is a boot_failure.
    #[arg(long, default_value_t = 60)]
    pub boot_timeout: u64,
    /// Seconds of silence on both console and event channel, after ready, that make a run hung.
    #[arg(long, default_value_t = 50)]
    pub silence_timeout: u64,
    /// Repetitions per cell: OOM behaviour varies from run to run.
    #[arg(long, default_value_t = 1)]
    pub reps: u32,
    /// Sysctl applied in the guest before pressure, e.g. --set vm.oom_dump_tasks=0. Repeatable; applies to every run.
    #[arg(long = "set")]
    pub sets: Vec<String>,
    /// A named setting set, one axis value of the matrix: NAME:key=value,key=value
    /// (after the --sets). Repeat for several; without any, one set named "default".
    #[arg(long = "set-variant", value_name = "NAME:K=V,...")]
    pub set_variants: Vec<String>,
    /// Continue a matrix in --out: run only the (cell, rep)s that have no record yet.
    #[arg(long)]
    pub resume: bool,
    /// Run one slice of the matrix: I/N takes the runs whose index % N == I; auto reads
    /// Slurm's SLURM_ARRAY_TASK_ID/COUNT or Kubernetes' JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "I/N|auto", value_parser = crate::matrix::shard::parse_arg)]
    pub shard: Option<crate::matrix::shard::ShardArg>,
    /// Shard count for --shard auto under a Kubernetes Indexed Job [default: $OOMLAB_SHARD_COUNT].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_count: Option<u32>,
    /// Guests run at once [default: host cores / vCPU threads per guest, lowered to fit host RAM].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Kernel and image cache [default: $OOMLAB_CACHE_DIR, $XDG_CACHE_HOME/oomlab, ~/.cache/oomlab].
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Agent heartbeat period in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub heartbeat_ms: u64,
    /// A heartbeat gap at most this long counts as responsive (time_to_recovery_ms).
    #[arg(long, default_value_t = 300)]
    pub responsive_gap_ms: u64,
    /// Start a responsiveness probe (a fresh process touching --probe-kib) this often; 0 disables it.
    #[arg(long, default_value_t = 250)]
    pub probe_ms: u64,
    /// Memory each probe allocates and touches, in KiB.
    #[arg(long, default_value_t = 256)]
    pub probe_kib: u64,
    /// A probe completing within this many ms shows user space responsive (time_to_recovery_ms, stall_ms).
    #[arg(long, default_value_t = 500)]
    pub probe_threshold_ms: u64,
    /// Seconds with no probe back within its threshold and no OOM kill or reap, after pressure start,
    /// that make a run a livelock (sysrq m/w/t dumps are then saved to the console log).
    #[arg(long, default_value_t = 40)]
    pub livelock_window: u64,
    /// On livelock, also send sysrq-f (a manual OOM kill) and record whether the guest recovers.
    #[arg(long)]
    pub sysrq_f: bool,
    /// Fault to inject, to test oomlab's own detectors: freeze-agent:MS stops every agent
    /// thread MS after pressure start (no events, console quiet: a hung guest);
    /// stall-probe:MS stops starting probes MS after they begin (alive but starved);
    /// detach-scratch-disk leaves the scenario's scratch disk out (a setup check fails).
    #[arg(long, value_parser = parse_fault)]
    pub inject: Option<oomlab_workloads::spec::Fault>,
    /// After the last hog exits, keep watching this long before ending the run.
    #[arg(long, default_value_t = 3000)]
    pub settle_ms: u64,
    /// Print the records as JSON lines on stdout instead of the summary table.
    #[arg(long)]
    pub json: bool,
}

fn parse_fault(s: &str) -> Result<oomlab_workloads::spec::Fault, String> {
    let (kind, arg) = s.split_once(':').unwrap_or((s, ""));
    match kind {
        "freeze-agent" => arg
            .parse()
            .map(|after_ms| oomlab_workloads::spec::Fault::FreezeAgent { after_ms })
            .map_err(|_| {
                format!("freeze-agent needs a delay in ms, e.g. freeze-agent:3000 (got {arg:?})")
            }),
        "stall-probe" => arg
            .parse()
            .map(|after_ms| oomlab_workloads::spec::Fault::StallProbe { after_ms })
            .map_err(|_| {
                format!("stall-probe needs a delay in ms, e.g. stall-probe:3000 (got {arg:?})")
            }),
        "detach-scratch-disk" if arg.is_empty() => {
            Ok(oomlab_workloads::spec::Fault::DetachScratchDisk)
        }
        _ => Err(format!(
            "unknown fault {s:?}; known: freeze-agent:MS, stall-probe:MS, detach-scratch-disk"
        )),
    }
}
