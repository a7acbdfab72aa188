//! mmap-sem-writers: page faults and mmap_lock writers in one process under OOM.
//!
//! `mmap-sem-writers --percent P [--fault-threads N=2] [--writer-threads M=4] [--populate-mib K=4]`
//!
//! Fault threads each touch their share of P% of MemTotal in chunks, then keep faulting
//! (drop one chunk with MADV_DONTNEED and touch it again, round robin): page faults take
//! mmap_lock for read. Writer threads loop mmap(K MiB, MAP_POPULATE) / mprotect /
//! mlock+munlock / munmap: they take mmap_lock for write and allocate while holding it.
//! When this process is the OOM victim, its exit can wait on mmap_lock behind a writer
//! stuck in allocation: the situation the oom_reaper (Michal Hocko, 2016, Linux 4.6) was
//! written for, since it reaps the victim's memory without the victim's cooperation.

use oomlab_workloads::guest::{self, Flags, Mapping, CHUNK, MIB};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const USAGE: &str = "usage: mmap-sem-writers --percent P [--fault-threads N] [--writer-threads M] [--populate-mib K]";

#[derive(Debug, PartialEq)]
struct Args {
    percent: u64,
    fault_threads: u64,
    writer_threads: u64,
    populate_mib: usize,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut percent = None;
    let mut out = Args {
        percent: 0,
        fault_threads: 2,
        writer_threads: 4,
        populate_mib: 4,
    };
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--percent" => percent = Some(f.number(flag)?),
            "--fault-threads" => out.fault_threads = f.number(flag)?,
            "--writer-threads" => out.writer_threads = f.number(flag)?,
            "--populate-mib" => out.populate_mib = f.number::<usize>(flag)?.max(1),
            other => return Err(f.unknown(other)),
        }
    }
    out.percent = percent.ok_or_else(|| f.error("--percent is required"))?;
    if out.fault_threads + out.writer_threads == 0 {
        return Err(f.error("at least one thread is needed"));
    }
    Ok(out)
}

/// Bytes each of `threads` fault threads takes so that together they take `total`.
fn share(total: u64, threads: u64, i: u64) -> u64 {
    total / threads + u64::from(i < total % threads)
}

static TOUCHED: AtomicU64 = AtomicU64::new(0);
static CYCLES: AtomicU64 = AtomicU64::new(0);
static ERRORS: AtomicU64 = AtomicU64::new(0);

fn fault_thread(bytes: u64) {
    let maps = match guest::touch_chunks(bytes, CHUNK, |m, _| {
        TOUCHED.fetch_add(m.len() as u64, Relaxed);
    }) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("mmap-sem-writers: fault thread: {e}");
            return;
        }
    };
    if maps.is_empty() {
        return;
    }
    for round in 0u64.. {
        let m = &maps[(round % maps.len() as u64) as usize];
        // SAFETY: `m` is a live private anonymous mapping; MADV_DONTNEED only drops its
        // pages, which read back as zero, and we hold no references into it.
        unsafe { libc::madvise(m.as_ptr() as *mut _, m.len(), libc::MADV_DONTNEED) };
        m.touch(round as u8);
    }
}

/// One mmap_lock-for-write cycle; Err names the call that failed.
fn writer_cycle(len: usize) -> Result<(), &'static str> {
    let m = Mapping::anon(len, libc::MAP_POPULATE).map_err(|_| "mmap")?;
    let p = m.as_ptr() as *mut libc::c_void;
    // SAFETY: (p, len) is the live mapping `m`, which nothing else references; the
    // protection changes and locking leave it valid, and Drop unmaps it.
    let failed = unsafe {
        if libc::mprotect(p, len, libc::PROT_READ) != 0
            || libc::mprotect(p, len, libc::PROT_READ | libc::PROT_WRITE) != 0
        {
            Some("mprotect")
        } else if libc::mlock(p, len) != 0 {
            Some("mlock")
        } else if libc::munlock(p, len) != 0 {
            Some("munlock")
        } else {
            None
        }
    };
    drop(m);
    failed.map_or(Ok(()), Err)
}

fn writer_thread(len: usize) {
    let mut reported = false;
    loop {
        match writer_cycle(len) {
            Ok(()) => CYCLES.fetch_add(1, Relaxed),
            Err(call) => {
                if !reported {
                    reported = true;
                    eprintln!(
                        "mmap-sem-writers: writer: {call}: {}",
                        std::io::Error::last_os_error()
                    );
                }
                ERRORS.fetch_add(1, Relaxed)
            }
        };
    }
}

fn main() -> ExitCode {
    let args = guest::parse_or_exit("mmap-sem-writers", parse);
    let total = match guest::percent_of_ram(args.percent) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("mmap-sem-writers: {e}");
            return ExitCode::FAILURE;
        }
    };
    for i in 0..args.fault_threads {
        let bytes = share(total, args.fault_threads, i);
        std::thread::spawn(move || fault_thread(bytes));
    }
    for _ in 0..args.writer_threads {
        let len = args.populate_mib * MIB;
        std::thread::spawn(move || writer_thread(len));
    }
    let pid = std::process::id();
    println!(
        "mmap-sem-writers[{pid}]: {} fault threads for {} MiB, {} writer threads",
        args.fault_threads,
        total >> 20,
        args.writer_threads
    );
    guest::report_forever(|| {
        format!(
            "mmap-sem-writers[{pid}]: touched {} MiB, writer cycles {}, errors {}",
            TOUCHED.load(Relaxed) >> 20,
            CYCLES.load(Relaxed),
            ERRORS.load(Relaxed)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Args, String> {
        parse(&guest::words(s))
    }

    #[test]
    fn defaults_and_options() {
        let a = p("--percent 90").unwrap();
        assert_eq!(
            a,
            Args {
                percent: 90,
                fault_threads: 2,
                writer_threads: 4,
                populate_mib: 4
            }
        );
        let a = p("--percent 5 --fault-threads 1 --writer-threads 8 --populate-mib 16").unwrap();
        assert_eq!(
            (a.fault_threads, a.writer_threads, a.populate_mib),
            (1, 8, 16)
        );
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(p("").unwrap_err().contains("--percent is required"));
        assert!(p("--percent x").unwrap_err().contains("whole number"));
        assert!(p("--percent 1 --fault-threads 0 --writer-threads 0")
            .unwrap_err()
            .contains("at least one thread"));
        assert!(p("--percent 1 --frob").unwrap_err().contains("unknown"));
    }

    #[test]
    fn shares_add_up() {
        for (total, n) in [(10u64, 3u64), (9, 3), (1, 4), (0, 2)] {
            assert_eq!((0..n).map(|i| share(total, n, i)).sum::<u64>(), total);
        }
        assert_eq!(share(10, 3, 0), 4);
        assert_eq!(share(10, 3, 2), 3);
    }

    #[test]
    fn one_writer_cycle_works() {
        assert_eq!(writer_cycle(64 * 1024), Ok(()));
    }
}
