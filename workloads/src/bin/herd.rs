//! herd: many small processes, the "herd" of Tetsuo Handa's reproducers.
//!
//! Forks `--count` children that each touch `--kib` of memory and then loop: a small
//! allocation every `--period-ms`, and with `--fs-dir DIR` a small metadata operation
//! (append to, then rename, a file of their own in DIR). Their oom_score_adj is whatever
//! the parent was started with (the agent sets it), so a herd at 1000 outranks any
//! process at 0 in the OOM killer's eyes. The parent only waits for its children.

use oomlab_workloads::guest::Flags;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: herd --count N [--kib K] [--period-ms MS] [--fs-dir DIR]";

struct Args {
    count: u32,
    kib: usize,
    period_ms: u64,
    fs_dir: Option<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        count: 0,
        kib: 256,
        period_ms: 100,
        fs_dir: None,
    };
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--count" => out.count = f.number(flag)?,
            "--kib" => out.kib = f.number(flag)?,
            "--period-ms" => out.period_ms = f.number::<u64>(flag)?.max(1),
            "--fs-dir" => out.fs_dir = Some(f.value(flag)?.to_string()),
            other => return Err(f.unknown(other)),
        }
    }
    if out.count == 0 {
        return Err(f.error("--count must be at least 1"));
    }
    Ok(out)
}

/// What each member does until it is killed.
fn member(i: u32, a: &Args) -> ! {
    let mut held = vec![0u8; a.kib * 1024];
    for p in (0..held.len()).step_by(4096) {
        held[p] = 1;
    }
    let path = a.fs_dir.as_ref().map(|d| format!("{d}/herd-{i}"));
    let mut n = 0u64;
    loop {
        std::thread::sleep(Duration::from_millis(a.period_ms));
        let small = vec![n as u8; 4096];
        std::hint::black_box(&small);
        if let Some(p) = &path {
            let tmp = format!("{p}.tmp");
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&tmp)
            {
                let _ = writeln!(f, "{i} {n}");
            }
            let _ = std::fs::rename(&tmp, p);
        }
        n += 1;
        std::hint::black_box(&held);
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("herd: {e}");
            return ExitCode::from(64);
        }
    };
    let mut started = 0;
    for i in 0..args.count {
        // SAFETY: the parent is single-threaded, so the child may run any code.
        match unsafe { libc::fork() } {
            0 => member(i, &args),
            -1 => break,
            _ => started += 1,
        }
    }
    println!("herd[{}]: {started} members", std::process::id());
    // Reap members as they die; end when none is left.
    loop {
        let mut status = 0;
        // SAFETY: waiting for any child with a valid status out-parameter.
        if unsafe { libc::wait(&mut status) } < 0 {
            break;
        }
    }
    ExitCode::SUCCESS
}
