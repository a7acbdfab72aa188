//! oomlab: boot throwaway QEMU guests with a chosen kernel, push them out of memory,
//! and record what the OOM killer did.

mod bench;
mod channels;
mod cleanup;
mod cli;
mod compare_cmd;
mod error;
mod guest_bins;
mod matrix;
mod parse_log;
mod precondition;
mod progress;
mod qemu;
mod rerun;
mod role_cgroups;
mod run;
mod scenario;
mod scenario_file;
mod session;
mod settings;
mod syscalls;
mod timeline;
mod verdict;
mod verify_boot;

use clap::Parser;
use cli::{Cli, Command, ScenariosCmd};
use error::{exit, CliError};
use oomlab_results::Outcome;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    if let Err(e) = cleanup::install() {
        eprintln!("oomlab: cannot install signal handlers: {e}");
        return ExitCode::from(exit::INTERNAL);
    }
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("oomlab: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(cli: Cli) -> Result<u8, CliError> {
    match cli.command {
        Command::Run(args) => run_command(*args),
        Command::ParseLog { file, json } => parse_log::run(&file, json).map(|_| exit::OK),
        Command::Bench {
            kernel,
            reps,
            accel,
            log_mib,
            cache_dir,
        } => {
            let opts = bench::BenchOptions {
                kernel,
                reps,
                accel,
                log_mib,
                cache_dir,
            };
            bench::run(&opts, &progress::Progress::new()).map(|_| exit::OK)
        }
        Command::Compare(args) => compare_cmd::run(&args),
        Command::Merge { out, inputs } => matrix::merge::run(&out, &inputs),
        Command::SlurmScript {
            plan,
            shards,
            out,
            oomlab,
        } => slurm_script(&plan, shards, &out, oomlab),
        Command::Scenarios {
            what: ScenariosCmd::List,
        } => {
            for (name, description, params) in scenario::list() {
                println!("{name:<22} {description}");
                for p in params {
                    println!(
                        "{:<22}   --param {}=N  {} (default {}, {}..{})",
                        "", p.name, p.help, p.default, p.min, p.max
                    );
                }
            }
            Ok(exit::OK)
        }
    }
}

fn run_command(a: cli::RunArgs) -> Result<u8, CliError> {
    let (spec, base) = match &a.plan {
        Some(path) => {
            let l = matrix::plan::load(path).map_err(CliError::Usage)?;
            (l.spec, l.base)
        }
        None => {
            let spec = matrix::plan::from_cli(matrix::plan::CliAxes {
                kernels: a.kernels.clone(),
                scenarios: a.scenarios.clone(),
                params: a.params.clone(),
                sets: a.sets.clone(),
                variants: a.set_variants.clone(),
                reps: a.reps,
                memory_mib: a.memory,
                cpus: a.cpus,
                timeout_s: a.timeout,
                accel: a.accel.as_str().to_string(),
            })
            .map_err(CliError::Usage)?;
            (spec, std::path::PathBuf::from("."))
        }
    };
    let opts = run_options(&a);
    let req = matrix::Request {
        spec,
        base,
        resume: a.resume,
        shard: a.shard,
        shard_count: a.shard_count,
        jobs: a.jobs,
    };
    let progress = progress::Progress::new();
    let records = matrix::execute(&opts, &req, &progress)?;
    if a.json {
        for r in &records {
            println!("{}", r.to_line());
        }
    } else {
        print!("{}", oomlab_results::summary::table(&records));
        println!(
            "records appended to {}",
            opts.out.join(oomlab_results::store::RECORDS_FILE).display()
        );
    }
    let failed: Vec<_> = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::BootFailure | Outcome::Error))
        .collect();
    for r in &failed {
        eprintln!(
            "oomlab: run {} ended as {}: {}",
            r.run_id, r.outcome, r.outcome_reason
        );
    }
    Ok(if failed.is_empty() {
        exit::OK
    } else {
        exit::RUN_FAILED
    })
}

/// The options of one run, as `oomlab run` took them.
pub(crate) fn run_options(a: &cli::RunArgs) -> run::RunOptions {
    run::RunOptions {
        modules: a.modules.clone(),
        load_modules: a.load_modules.clone(),
        out: a.out.clone(),
        accel: a.accel,
        tcg_threads: a.tcg_threads,
        memory_mib: a.memory,
        cpus: a.cpus,
        timeout: Duration::from_secs(a.timeout),
        boot_timeout: Duration::from_secs(a.boot_timeout),
        silence_timeout: Duration::from_secs(a.silence_timeout),
        cache_dir: a.cache_dir.clone(),
        heartbeat_ms: a.heartbeat_ms,
        responsive_gap_ms: a.responsive_gap_ms,
        probe_ms: a.probe_ms,
        probe_kib: a.probe_kib,
        probe_threshold_ms: a.probe_threshold_ms,
        inject: a.inject.clone(),
        livelock_window: Duration::from_secs(a.livelock_window),
        sysrq_f: a.sysrq_f,
        settle_ms: a.settle_ms,
    }
}

fn slurm_script(
    plan: &std::path::Path,
    shards: u32,
    out: &std::path::Path,
    oomlab: Option<std::path::PathBuf>,
) -> Result<u8, CliError> {
    let usage = |e: String| CliError::Usage(e);
    let loaded = matrix::plan::load(plan).map_err(usage)?;
    matrix::expand::Matrix::expand(loaded.spec.clone(), &loaded.base).map_err(usage)?;
    let abs = |p: &std::path::Path, what: &str| {
        std::path::absolute(p).map_err(|e| usage(format!("{what} {}: {e}", p.display())))
    };
    let oomlab = match oomlab {
        Some(p) => abs(&p, "--oomlab")?,
        None => std::env::current_exe().map_err(|e| CliError::Internal(e.to_string()))?,
    };
    // The job's log files go to --out, which Slurm does not create.
    std::fs::create_dir_all(out)
        .map_err(|e| usage(format!("cannot create --out {}: {e}", out.display())))?;
    print!(
        "{}",
        matrix::slurm::script(&matrix::slurm::ScriptArgs {
            plan_file: &abs(plan, "plan")?,
            spec: &loaded.spec,
            shards,
            out: &abs(out, "--out")?,
            oomlab: &oomlab,
        })
    );
    Ok(exit::OK)
}
