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

const USAGE: &str =
    "usage: herd --count N [--kib K | --total-percent P] [--period-ms MS] [--fs-dir DIR]";

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
    let mut total_percent = None;
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--count" => out.count = f.number(flag)?,
            "--kib" => out.kib = f.number(flag)?,
            // The whole herd holds P% of RAM: sizes scale with the guest.
            "--total-percent" => {
                let p: u64 = f.number(flag)?;
                total_percent = Some(p);
            }
            "--period-ms" => out.period_ms = f.number::<u64>(flag)?.max(1),
            "--fs-dir" => out.fs_dir = Some(f.value(flag)?.to_string()),
            other => return Err(f.unknown(other)),
        }
    }
    if out.count == 0 {
        return Err(f.error("--count must be at least 1"));
    }
    if let Some(p) = total_percent {
        let total_kb = oomlab_workloads::guest::mem_total_kb()
            .ok_or_else(|| f.error("--total-percent needs MemTotal from /proc/meminfo"))?;
        out.kib = member_kib(total_kb, p, out.count);
    }
    Ok(out)
}

/// Each member's share of `percent` of RAM.
fn member_kib(total_kb: u64, percent: u64, count: u32) -> usize {
    (total_kb * percent / 100 / u64::from(count.max(1))) as usize
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_total_percent_is_shared_by_the_members() {
        // 256 MiB guest, 300 members holding 240% between them: about 2 MiB each.
        assert_eq!(member_kib(262_144, 240, 300), 2097);
        assert_eq!(member_kib(262_144, 100, 1), 262_144);
    }

    #[test]
    fn parses_counts_and_sizes() {
        let a = parse(&oomlab_workloads::guest::words("--count 3 --kib 64")).unwrap();
        assert_eq!((a.count, a.kib), (3, 64));
        assert!(parse(&oomlab_workloads::guest::words("--count 0")).is_err());
        assert!(parse(&oomlab_workloads::guest::words(
            "--count 2 --total-percent x"
        ))
        .is_err());
    }
}
