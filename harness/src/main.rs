//! oomlab: boot throwaway QEMU guests with a chosen kernel, push them out of memory,
//! and record what the OOM killer did.

mod bench;
mod channels;
mod cleanup;
mod cli;
mod compare_cmd;
mod error;
mod guest_bins;
mod parse_log;
mod precondition;
mod progress;
mod qemu;
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
    let opts = run::RunOptions {
        scenario: a.scenario,
        params: a.params,
        kernels: a.kernels,
        modules: a.modules,
        load_modules: a.load_modules,
        out: a.out,
        accel: a.accel,
        tcg_threads: a.tcg_threads,
        memory_mib: a.memory,
        cpus: a.cpus,
        timeout: Duration::from_secs(a.timeout),
        boot_timeout: Duration::from_secs(a.boot_timeout),
        silence_timeout: Duration::from_secs(a.silence_timeout),
        reps: a.reps,
        cache_dir: a.cache_dir,
        sets: a.sets,
        heartbeat_ms: a.heartbeat_ms,
        responsive_gap_ms: a.responsive_gap_ms,
        probe_ms: a.probe_ms,
        probe_kib: a.probe_kib,
        probe_threshold_ms: a.probe_threshold_ms,
        inject: a.inject,
        livelock_window: Duration::from_secs(a.livelock_window),
        sysrq_f: a.sysrq_f,
        settle_ms: a.settle_ms,
    };
    let progress = progress::Progress::new();
    let records = run::run(&opts, &progress)?;
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
