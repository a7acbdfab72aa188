//! One run: boot, watch, judge and record. `oomlab run` resolves its matrix up front
//! and schedules the runs in crate::matrix.

use crate::error::CliError;
use crate::progress::Progress;
use crate::qemu::accel::{self, AccelChoice, AccelRequest, ProbeGuest};
use crate::qemu::command::{kernel_cmdline, ConsoleDevice, Drive};
use crate::qemu::command::{CONSOLE_LOG, EVENTS_LOG};
use crate::qemu::process::STDERR_LOG;
use crate::qemu::GuestMachine;
use crate::session::{self, Limits};
use crate::settings::Swap;
use crate::verdict::{self, Thresholds};
use crate::{cleanup, guest_bins, role_cgroups, scenario, settings};
use oomlab_results::record::*;
use oomlab_results::{RunDir, Store};
use oomlab_vm_images::cache::CacheDir;
use oomlab_vm_images::initramfs::{self, GuestFile};
use oomlab_vm_images::kernel::{self, KernelSpec, ResolvedKernel};
use oomlab_workloads::event::Event;
use oomlab_workloads::spec::{Fault, GuestSpec, MountSpec, SwapSpec};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub modules: Option<PathBuf>,
    /// Modules the guest loads before pressure (dependencies are added).
    pub load_modules: Vec<String>,
    pub out: PathBuf,
    pub accel: AccelRequest,
    pub tcg_threads: crate::qemu::command::TcgThreads,
    pub memory_mib: u64,
    pub cpus: u32,
    pub timeout: Duration,
    pub boot_timeout: Duration,
    pub silence_timeout: Duration,
    pub cache_dir: Option<PathBuf>,
    pub heartbeat_ms: u64,
    pub responsive_gap_ms: u64,
    pub probe_ms: u64,
    pub probe_kib: u64,
    pub probe_threshold_ms: u64,
    pub settle_ms: u64,
    /// Fault the agent injects on purpose (tests of the harness's detectors).
    pub inject: Option<oomlab_workloads::spec::Fault>,
    /// No kill, no reap and no finished probe for this long after pressure start: livelock.
    pub livelock_window: Duration,
    /// On livelock, send sysrq-f (a manual OOM kill) after the dumps and watch for recovery.
    pub sysrq_f: bool,
}

const SPEC_FILE: &str = "spec.json";
/// The scratch disk image, in the run folder (QEMU's working directory).
const SCRATCH_IMAGE: &str = "scratch.img";
/// The swap disk image for `swap=disk:SIZE`, in the run folder; thrown away after the run.
const SWAP_IMAGE: &str = "swap.img";

/// A sparse file of `mib` MiB: the agent writes the swap header itself.
fn make_swap_disk(path: &Path, mib: u64) -> Result<(), String> {
    std::fs::File::create(path)
        .and_then(|f| f.set_len(mib << 20))
        .map_err(|e| format!("cannot create the swap disk {}: {e}", path.display()))
}

/// The swap the agent turns on: zram0, or the virtio disk after the scratch disk.
fn swap_spec(swap: Swap, scratch: bool, ram_mib: u64) -> Option<SwapSpec> {
    match swap {
        Swap::None => None,
        Swap::Zram(size) => Some(SwapSpec {
            device: "/dev/zram0".into(),
            zram_bytes: Some(size.mib(ram_mib) << 20),
        }),
        Swap::Disk(_) => Some(SwapSpec {
            device: if scratch { "/dev/vdb" } else { "/dev/vda" }.into(),
            zram_bytes: None,
        }),
    }
}

/// An empty ext4 image made without root (mke2fs writes a sparse file).
fn make_scratch_disk(path: &Path, mib: u64) -> Result<(), String> {
    let out = std::process::Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4"])
        .arg(path)
        .arg(format!("{mib}M"))
        .output()
        .map_err(|e| format!("cannot run mke2fs for the scratch disk: {e}; install it with `apt-get install e2fsprogs`"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mke2fs failed for the scratch disk: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
const RUN_INITRD: &str = "initrd.img";

/// Everything a run needs that does not change between repetitions.
pub(crate) struct Prepared {
    pub kernel: ResolvedKernel,
    pub base_initrd: PathBuf,
    pub accel: AccelChoice,
}

/// A cell's settings: `--set`s (already checked), and the scenario's own sysctls where
/// no `--set` names them.
pub(crate) fn cell_settings(
    plan: &scenario::Plan,
    sets: &[String],
) -> Result<settings::Settings, String> {
    let mut settings = settings::resolve(sets)?;
    for (k, v) in &plan.sysctls {
        if !sets
            .iter()
            .any(|s| s.split('=').next().map(str::trim) == Some(k))
        {
            settings.sysctls.insert(k.clone(), v.clone());
        }
    }
    Ok(settings)
}

/// What a run's record says about its place in the matrix and the host it shared.
pub(crate) struct RunTag {
    pub plan: PlanRef,
    pub cpus_shared: bool,
    /// Host cores this run's QEMU is pinned to (empty: not pinned).
    pub cpus: Vec<usize>,
}

/// What every run on this host needs: QEMU, the guest binaries, the cache.
pub(crate) struct Tools {
    pub qemu_version: String,
    pub agent: PathBuf,
    pub files: Vec<GuestFile>,
    pub cache: CacheDir,
}

impl Tools {
    pub(crate) fn find(cache_dir: Option<&Path>) -> Result<Tools, CliError> {
        let qemu_version = crate::qemu::version().map_err(CliError::Usage)?;
        let agent = guest_bins::locate(guest_bins::AGENT).map_err(CliError::Usage)?;
        let files = guest_bins::WORKLOADS
            .iter()
            .map(|name| {
                Ok(GuestFile {
                    guest_path: format!("/bin/{name}"),
                    host_path: guest_bins::locate(name)?,
                    mode: 0o755,
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(CliError::Usage)?;
        let cache = CacheDir::resolve(cache_dir).map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(Tools {
            qemu_version,
            agent,
            files,
            cache,
        })
    }
}

pub(crate) fn prepare(
    opts: &RunOptions,
    plan: &scenario::Plan,
    settings_modules: &[&'static str],
    spec_text: &str,
    spec: &KernelSpec,
    tools: &Tools,
    progress: &Progress,
) -> Result<Prepared, CliError> {
    let cache = &tools.cache;
    let qemu_version = &tools.qemu_version;
    let kernel = kernel::resolve(spec, spec_text, opts.modules.as_deref(), cache, &mut |m| {
        progress.note(&format!("{spec_text}: {m}"))
    })
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let mut modules: Vec<&str> = opts.load_modules.iter().map(String::as_str).collect();
    if plan.scratch_disk_mib.is_some() {
        modules.extend(scenario::SCRATCH_MODULES);
    }
    modules.extend(settings_modules);
    let mut files = tools.files.clone();
    files.extend(plan.files.iter().cloned());
    // A user's dynamic program travels with its loader and libraries.
    let files = initramfs::with_libraries(files).map_err(|e| CliError::Usage(e.to_string()))?;
    let base_initrd = initramfs::build_base(&kernel, &tools.agent, &files, &modules, cache)
        .map_err(|e| match e {
            oomlab_vm_images::Error::Io { .. } => CliError::Internal(e.to_string()),
            _ => CliError::Usage(e.to_string()),
        })?;
    let probe_kernel = kernel.bzimage.clone();
    let probe_base = base_initrd.clone();
    let accel = accel::choose(opts.accel, qemu_version, &cache.root, move || {
        let initrd = tempfile::NamedTempFile::new()
            .map_err(|e| e.to_string())?
            .into_temp_path();
        let spec = probe_only_spec("accel-probe");
        initramfs::write_run_initrd(&probe_base, &spec.to_json(), &initrd)
            .map_err(|e| e.to_string())?;
        Ok(ProbeGuest {
            kernel: probe_kernel,
            initrd,
            cmdline: kernel_cmdline(ConsoleDevice::Serial, &[]),
        })
    });
    if let Some(code) = cleanup::interrupted_exit_code() {
        return Err(CliError::Interrupted(code));
    }
    progress.note_once(&format!(
        "{spec_text}: kernel {} ({}), accel {} ({})",
        kernel.release,
        &kernel.sha256.get(..12).unwrap_or(&kernel.sha256),
        accel.used.as_str(),
        accel.reason
    ));
    Ok(Prepared {
        kernel,
        base_initrd,
        accel,
    })
}

/// The spec of a guest that only boots, reports ready and powers off (KVM probe, bench).
pub(crate) fn probe_only_spec(run_id: &str) -> GuestSpec {
    GuestSpec {
        run_id: run_id.to_string(),
        scenario: "probe".to_string(),
        probe_only: true,
        heartbeat_ms: 100,
        sample_ms: 500,
        probe_ms: 0,
        probe_kib: 0,
        settle_ms: 0,
        max_pressure_ms: 0,
        sysctls: BTreeMap::new(),
        sysfs: vec![],
        processes: vec![],
        end: Default::default(),
        mounts: vec![],
        fault: None,
        kmsg_forward: false,
        cmdline: vec![],
        swap: None,
    }
}

fn run_spec(
    opts: &RunOptions,
    run_id: &str,
    plan: &scenario::Plan,
    settings: &settings::Settings,
) -> GuestSpec {
    // The guest ends its pressure phase on its own a little before the harness's
    // limit, so a slow scenario still reports `done` rather than being cut off.
    let timeout_ms = opts.timeout.as_millis() as u64;
    GuestSpec {
        run_id: run_id.to_string(),
        scenario: plan.name.clone(),
        probe_only: false,
        heartbeat_ms: opts.heartbeat_ms,
        sample_ms: 500,
        probe_ms: opts.probe_ms,
        probe_kib: opts.probe_kib,
        settle_ms: opts.settle_ms,
        max_pressure_ms: timeout_ms.saturating_sub(15_000).max(timeout_ms * 3 / 4),
        sysctls: settings.sysctls.clone(),
        sysfs: settings.sysfs.clone(),
        processes: {
            let mut processes = plan.processes.clone();
            role_cgroups::apply(&mut processes, &settings.role_cgroups);
            processes
        },
        end: plan.end.clone(),
        mounts: plan
            .scratch_disk_mib
            .map(|_| MountSpec {
                device: "/dev/vda".into(),
                target: scenario::SCRATCH.into(),
                fstype: "ext4".into(),
            })
            .into_iter()
            .collect(),
        fault: opts.inject.clone(),
        kmsg_forward: !settings.console.carries_kernel_log(),
        cmdline: settings.cmdline.clone(),
        swap: swap_spec(
            settings.swap,
            plan.scratch_disk_mib.is_some(),
            opts.memory_mib,
        ),
    }
}

fn new_run_id(scenario: &str, release: &str, rep: u32) -> String {
    let now = SystemTime::now();
    let stamp = humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace([':', '-'], "");
    let nanos = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let series: String = release.split(['-', '+']).next().unwrap_or("k").to_string();
    format!(
        "{stamp}-{scenario}-{series}-r{rep}-{:04x}{:04x}",
        std::process::id() & 0xffff,
        nanos & 0xffff
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn one_run(
    opts: &RunOptions,
    plan: &scenario::Plan,
    settings: &settings::Settings,
    prepared: &Prepared,
    store: &Store,
    rep: u32,
    qemu_version: &str,
    progress: &Progress,
    tag: &RunTag,
) -> Result<RunRecord, CliError> {
    let kernel = &prepared.kernel;
    let run_id = new_run_id(&plan.name, &kernel.release, rep);
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let run = store
        .begin_run(&run_id)
        .map_err(|e| CliError::Internal(e.to_string()))?;
    let line = progress.guest(&format!("{} r{rep}", tag.plan.cell));

    let spec = run_spec(opts, &run_id, plan, settings);
    let initrd = run.path.join(RUN_INITRD);
    let written = std::fs::write(run.path.join(SPEC_FILE), spec.to_json())
        .map_err(|e| e.to_string())
        .and_then(|_| {
            initramfs::write_run_initrd(&prepared.base_initrd, &spec.to_json(), &initrd)
                .map_err(|e| e.to_string())
        })
        .and_then(|_| match plan.scratch_disk_mib {
            // At least the scenario's share of guest RAM: a working set sized by RAM
            // must fit at any --memory.
            Some(mib) => make_scratch_disk(
                &run.path.join(SCRATCH_IMAGE),
                mib.max(opts.memory_mib * plan.scratch_ram_percent.unwrap_or(0) / 100),
            ),
            None => Ok(()),
        })
        .and_then(|_| match settings.swap {
            Swap::Disk(size) => {
                make_swap_disk(&run.path.join(SWAP_IMAGE), size.mib(opts.memory_mib))
            }
            _ => Ok(()),
        });
    if let Err(e) = written {
        store.abandon(run);
        return Err(CliError::Internal(format!(
            "cannot prepare run {run_id}: {e}"
        )));
    }
    let cmdline = kernel_cmdline(settings.console.device, &settings.cmdline);
    let machine = GuestMachine {
        accel: prepared.accel.used,
        tcg_threads: opts.tcg_threads,
        memory_mib: opts.memory_mib,
        cpus: opts.cpus,
        kernel: kernel.bzimage.clone(),
        initrd: initrd.clone(),
        cmdline: cmdline.clone(),
        drives: plan
            .scratch_disk_mib
            .filter(|_| opts.inject != Some(Fault::DetachScratchDisk))
            .map(|_| Drive {
                path: SCRATCH_IMAGE.to_string(),
                iops: plan.scratch_iops,
            })
            .into_iter()
            // The swap disk comes after the scratch disk: /dev/vdb beside it.
            .chain(matches!(settings.swap, Swap::Disk(_)).then(|| Drive {
                path: SWAP_IMAGE.to_string(),
                iops: None,
            }))
            .collect(),
        console: settings.console.device,
        kmsg_port: spec.kmsg_forward,
        cpu_affinity: tag.cpus.clone(),
    };
    let limits = Limits {
        boot: opts.boot_timeout,
        total: opts.timeout,
        silence: opts.silence_timeout,
        poll: session::DEFAULT_POLL,
        livelock: (opts.probe_ms > 0).then_some(opts.livelock_window),
        sysrq_f: opts.sysrq_f,
        probe_threshold: Duration::from_millis(opts.probe_threshold_ms),
    };
    let obs = session::watch(&machine, &run.path, limits, &mut |p| line.phase(p));
    let _ = std::fs::remove_file(&initrd);
    let data_check = match &plan.verify {
        Some(argv) if !machine.drives.is_empty() && cleanup::interrupted().is_none() => {
            line.phase(session::Phase::Finishing);
            progress.note(&format!(
                "{run_id}: verifying the scratch disk in a second boot"
            ));
            Some(crate::verify_boot::verify(
                &crate::verify_boot::VerifyGuest {
                    base_initrd: &prepared.base_initrd,
                    kernel: &kernel.bzimage,
                    accel: prepared.accel.used,
                    memory_mib: opts.memory_mib,
                    cpus: opts.cpus,
                    scratch_image: SCRATCH_IMAGE,
                    mount_target: scenario::SCRATCH,
                },
                &run.path,
                argv,
            ))
        }
        _ => None,
    };
    // The per-run initrd is a copy of the cached base, and the scratch disk is thrown
    // away after the run (and its verification): neither is worth keeping.
    let _ = std::fs::remove_file(run.path.join(SCRATCH_IMAGE));
    let _ = std::fs::remove_file(run.path.join(SWAP_IMAGE));
    if let Some(code) = cleanup::interrupted_exit_code() {
        let kept = store.abandon(run);
        line.finish("interrupted");
        progress.note(&format!(
            "artifacts of the interrupted run kept in {}",
            kept.display()
        ));
        return Err(CliError::Interrupted(code));
    }

    if let Err(e) = crate::timeline::write(&obs, &run.path) {
        progress.note(&format!("{run_id}: cannot write the timeline: {e}"));
    }
    let mut v = verdict::judge(
        &obs,
        Thresholds {
            responsive_gap_ms: opts.responsive_gap_ms,
            probe_threshold_ms: opts.probe_threshold_ms,
        },
        &plan.kernel_helpers,
    );
    // Each log is read once, for the console's cost and the core-dump report. Unreadable
    // files count as empty: the run may have died before writing them.
    let console_log = std::fs::read(run.path.join(CONSOLE_LOG)).unwrap_or_default();
    let kmsg_log = machine.kmsg_port.then(|| {
        std::fs::read(run.path.join(session::kernel_log_file(&machine))).unwrap_or_default()
    });
    let console = verdict::console::console_stats(
        &settings.console,
        &console_log,
        kmsg_log.as_deref(),
        &obs.kernel,
    );
    let core_dump = verdict::core_dump::from_log(kmsg_log.as_deref().unwrap_or(&console_log));
    crate::precondition::apply(
        plan.precondition.as_ref(),
        &mut v.evidence,
        crate::precondition::Pressure {
            psi: v.psi_memory.as_ref(),
            refaults: v.refaults.as_ref(),
        },
    );
    let ready = obs.agent.iter().find_map(|e| match e {
        Event::Ready {
            release,
            mem_total_kb,
            ..
        } => Some((release.clone(), *mem_total_kb)),
        _ => None,
    });
    let mut setup = setup_checks(&obs.agent);
    if let Some((release, _)) = &ready {
        let ok = kernel.release == "unknown" || *release == kernel.release;
        setup.push(SetupCheck {
            name: "kernel release".into(),
            ok,
            detail: format!("guest runs {release}, resolved {}", kernel.release),
        });
        if !ok && v.outcome != Outcome::Error {
            v.outcome = Outcome::Error;
            v.reason = format!(
                "setup check failed: guest runs {release}, expected {}",
                kernel.release
            );
        }
    }
    let dir = Store::relative_run_dir(&run_id);
    let record = RunRecord {
        schema: SCHEMA_VERSION,
        run_id: run_id.clone(),
        started_at,
        scenario: plan.name.clone(),
        scenario_params: plan.params.clone(),
        kernel: KernelInfo {
            spec: kernel.spec.clone(),
            release: kernel.release.clone(),
            sha256: kernel.sha256.clone(),
            package: kernel.package.clone(),
        },
        accel: AccelInfo {
            used: prepared.accel.used.as_str().to_string(),
            requested: opts.accel.as_str().to_string(),
            reason: prepared.accel.reason.clone(),
        },
        guest: GuestInfo {
            tcg_threads: (prepared.accel.used == crate::qemu::command::Accel::Tcg)
                .then(|| opts.tcg_threads.as_str().to_string()),
            memory_mib: opts.memory_mib,
            cpus: opts.cpus,
            cmdline,
            mem_total_kb: ready.map(|r| r.1),
            cpus_shared: Some(tag.cpus_shared),
            pinned_cpus: tag.cpus.clone(),
        },
        settings: settings.recorded(),
        rep,
        outcome: v.outcome,
        outcome_reason: v.reason,
        setup,
        oom_invocations: v.oom_invocations,
        kills: v.kills,
        wrong_victim_kills: v.wrong_victim_kills,
        overkill_kills: v.overkill_kills,
        heuristic_mismatch: v.heuristic_mismatch,
        candidates_ahead_of_hog: v.candidates_ahead_of_hog,
        projected_ms_to_hog: v.projected_ms_to_hog,
        reaper: v.reaper,
        processes: v.processes,
        time_to_first_kill_ms: v.time_to_first_kill_ms,
        time_to_recovery_ms: v.time_to_recovery_ms,
        max_heartbeat_gap_ms: v.max_heartbeat_gap_ms,
        kill_stats: v.kill_stats,
        console: Some(console),
        evidence: v.evidence,
        data_check,
        core_dump,
        plan: Some(tag.plan.clone()),
        stall_ms: v.stall_ms,
        probe_latency_ms: v.probe_latency_ms,
        psi_memory: v.psi_memory,
        refaults: v.refaults,
        kernel_reports: v.kernel_reports,
        harness_actions: obs
            .actions
            .iter()
            .map(|a| HarnessAction {
                at_ms: a.at_ms,
                what: a.what.clone(),
            })
            .collect(),
        verdict_config: VerdictConfig {
            responsive_gap_ms: opts.responsive_gap_ms,
            probe_ms: opts.probe_ms,
            probe_threshold_ms: opts.probe_threshold_ms,
        },
        boot_ms: obs.ready_after.map(|d| d.as_millis() as u64),
        wall_ms: obs.wall.as_millis() as u64,
        clock_offset_ms: obs.clock_offset_ms,
        qemu_version: qemu_version.to_string(),
        oomlab_version: env!("CARGO_PKG_VERSION").to_string(),
        artifacts: Artifacts {
            console: format!("{dir}/{CONSOLE_LOG}"),
            events: format!("{dir}/{EVENTS_LOG}"),
            qemu_stderr: format!("{dir}/{STDERR_LOG}"),
            spec: format!("{dir}/{SPEC_FILE}"),
            timeline: format!("{dir}/{}", crate::timeline::TIMELINE_LOG),
            kmsg: machine
                .kmsg_port
                .then(|| format!("{dir}/{}", session::kernel_log_file(&machine))),
            dir,
        },
    };
    commit(store, run, &record)?;
    line.finish(&format!(
        "{} ({} kills)",
        record.outcome,
        record.kills.len()
    ));
    Ok(record)
}

fn commit(store: &Store, run: RunDir, record: &RunRecord) -> Result<(), CliError> {
    store
        .commit(run, record)
        .map(drop)
        .map_err(|e| CliError::Internal(e.to_string()))
}

fn setup_checks(agent: &[Event]) -> Vec<SetupCheck> {
    agent
        .iter()
        .filter_map(|e| match e {
            Event::Setting {
                key,
                requested,
                actual,
                ok,
                ..
            } => Some(SetupCheck {
                // sysfs knobs say where they wrote: "VALUE > /sys/...".
                name: if requested.contains(" > /sys/") {
                    format!("sysfs {key}")
                } else {
                    format!("sysctl {key}")
                },
                ok: *ok,
                detail: format!(
                    "asked {requested}, read back {}",
                    actual.as_deref().unwrap_or("nothing")
                ),
            }),
            Event::Check {
                name, ok, detail, ..
            } => Some(SetupCheck {
                name: name.clone(),
                ok: *ok,
                detail: detail.clone(),
            }),
            Event::Module {
                name, ok, error, ..
            } => Some(SetupCheck {
                name: format!("module {name}"),
                ok: *ok,
                detail: error.clone().unwrap_or_else(|| "loaded".into()),
            }),
            _ => None,
        })
        .collect()
}
