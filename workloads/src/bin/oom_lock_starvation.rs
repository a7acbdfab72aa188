//! oom-lock-starvation: an idle-priority allocator starved by many forking children.
//!
//! `oom-lock-starvation --children N [--percent P=150] [--cow-kib K=64]`
//!
//! Follows Tetsuo Handa's 2016 reproducer for oom_lock starvation: pin to CPU 0, touch a
//! K KiB buffer, fork N children (they inherit the pinning) that each write to every
//! page of that buffer (copy-on-write faults that allocate), sleep briefly and exit,
//! while the parent drops to SCHED_IDLE and allocates up to P% of MemTotal, re-forking
//! children as they exit so that about N exist. The parent is likely to be the task
//! holding oom_lock when memory runs out, and on one CPU full of SCHED_OTHER children it
//! hardly runs: the OOM killer makes no progress while everyone else spins in the
//! allocator ("mm,oom: Don't call schedule_timeout_killable() with oom_lock held").
//! Children reset themselves to SCHED_OTHER, since a SCHED_IDLE policy would be inherited.

use oomlab_workloads::guest::{self, Flags, Mapping, Ticker, MIB};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: oom-lock-starvation --children N [--percent P] [--cow-kib K]";
/// How long a child lives after its copy-on-write faults.
const CHILD_SLEEP: Duration = Duration::from_millis(100);
/// A child's exit status when it could not leave SCHED_IDLE.
const EXIT_NO_RESET: i32 = 3;

#[derive(Debug, PartialEq)]
struct Args {
    children: u32,
    percent: u64,
    cow_kib: usize,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut children = None;
    let mut out = Args {
        children: 0,
        percent: 150,
        cow_kib: 64,
    };
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--children" => children = Some(f.number(flag)?),
            "--percent" => out.percent = f.number(flag)?,
            "--cow-kib" => out.cow_kib = f.number::<usize>(flag)?.max(4),
            other => return Err(f.unknown(other)),
        }
    }
    out.children = children.ok_or_else(|| f.error("--children is required"))?;
    if out.children == 0 {
        return Err(f.error("--children must be at least 1"));
    }
    Ok(out)
}

fn set_policy(policy: libc::c_int) -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler on ourselves with a valid sched_param.
    if unsafe { libc::sched_setscheduler(0, policy, &param) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn pin_to_cpu0() -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and sched_setaffinity
    // get a pointer to it and its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The children, kept at about `want`.
struct Herd {
    buf: Mapping,
    want: u32,
    live: u32,
    forked: u64,
    fork_failed: bool,
    reset_failed: bool,
}

impl Herd {
    /// Fork children until `want` are alive. Each writes to every page of the
    /// inherited buffer (a copy-on-write fault, so an allocation, per page).
    fn refill(&mut self) {
        while self.live < self.want {
            // SAFETY: the parent is single-threaded; the child only writes to memory,
            // makes system calls and leaves with _exit.
            match unsafe { libc::fork() } {
                0 => {
                    let code = match set_policy(libc::SCHED_OTHER) {
                        Ok(()) => 0,
                        Err(_) => EXIT_NO_RESET,
                    };
                    self.buf.touch(2);
                    std::thread::sleep(CHILD_SLEEP);
                    // SAFETY: leaving the child without running the parent's exit handlers.
                    unsafe { libc::_exit(code) }
                }
                -1 => {
                    if !self.fork_failed {
                        self.fork_failed = true;
                        eprintln!(
                            "oom-lock-starvation: fork: {}",
                            std::io::Error::last_os_error()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    return;
                }
                _ => {
                    self.live += 1;
                    self.forked += 1;
                }
            }
        }
    }

    /// Collect exited children; with `block`, wait for at least one.
    fn reap(&mut self, mut block: bool) {
        while self.live > 0 {
            let mut status = 0;
            let flags = if block { 0 } else { libc::WNOHANG };
            // SAFETY: waiting for any child with a valid status out-parameter.
            let pid = unsafe { libc::waitpid(-1, &mut status, flags) };
            if pid <= 0 {
                return;
            }
            block = false;
            self.live -= 1;
            if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == EXIT_NO_RESET {
                if !self.reset_failed {
                    eprintln!("oom-lock-starvation: children cannot leave SCHED_IDLE");
                }
                self.reset_failed = true;
            }
        }
    }
}

fn main() -> ExitCode {
    let a = guest::parse_or_exit("oom-lock-starvation", parse);
    let pid = std::process::id();
    if let Err(e) = pin_to_cpu0() {
        eprintln!("oom-lock-starvation: sched_setaffinity(CPU 0): {e}");
    }
    let buf = match Mapping::anon(a.cow_kib * 1024, 0) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("oom-lock-starvation: mmap: {e}");
            return ExitCode::FAILURE;
        }
    };
    buf.touch(1);
    let mut herd = Herd {
        buf,
        want: a.children,
        live: 0,
        forked: 0,
        fork_failed: false,
        reset_failed: false,
    };
    herd.refill();
    if let Err(e) = set_policy(libc::SCHED_IDLE) {
        eprintln!("oom-lock-starvation: sched_setscheduler(SCHED_IDLE): {e}");
    }
    println!(
        "oom-lock-starvation[{pid}]: {} children on CPU 0, allocating {}% of RAM",
        herd.live, a.percent
    );
    let mut ticker = Ticker::new(guest::PROGRESS);
    let mut progress = |herd: &Herd, touched: u64| {
        if ticker.due() {
            println!(
                "oom-lock-starvation[{pid}]: touched {} MiB, forked {} children",
                touched >> 20,
                herd.forked
            );
        }
    };
    // Small chunks, so children are replaced often while the parent allocates.
    let held = guest::percent_of_ram(a.percent).and_then(|bytes| {
        guest::touch_chunks(bytes, MIB, |_, total| {
            herd.reap(false);
            herd.refill();
            progress(&herd, total);
        })
    });
    let touched = match &held {
        Ok(maps) => maps.iter().map(|m| m.len() as u64).sum(),
        Err(e) => {
            eprintln!("oom-lock-starvation[{pid}]: {e}");
            0
        }
    };
    loop {
        herd.reap(true);
        herd.refill();
        progress(&herd, touched);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Args, String> {
        parse(&guest::words(s))
    }

    #[test]
    fn parses_arguments() {
        let a = p("--children 20").unwrap();
        assert_eq!(
            a,
            Args {
                children: 20,
                percent: 150,
                cow_kib: 64
            }
        );
        let a = p("--children 2 --percent 90 --cow-kib 1").unwrap();
        assert_eq!((a.percent, a.cow_kib), (90, 4));
        assert!(p("").unwrap_err().contains("--children is required"));
        assert!(p("--children 0").unwrap_err().contains("at least 1"));
        assert!(p("--children 1 --cow").unwrap_err().contains("unknown"));
    }

    #[test]
    fn children_copy_on_write_and_are_replaced() {
        let buf = Mapping::anon(8 * guest::PAGE, 0).unwrap();
        buf.touch(1);
        let mut herd = Herd {
            buf,
            want: 3,
            live: 0,
            forked: 0,
            fork_failed: false,
            reset_failed: false,
        };
        herd.refill();
        assert_eq!((herd.live, herd.forked), (3, 3));
        herd.reap(true);
        herd.reap(true);
        herd.refill();
        assert_eq!(herd.live, 3);
        assert!(herd.forked >= 4);
        while herd.live > 0 {
            herd.reap(true);
        }
        assert!(!herd.reset_failed);
        // The children's writes went to their own copies.
        // SAFETY: the buffer is live and its first byte is inside it.
        assert_eq!(unsafe { herd.buf.as_ptr().read_volatile() }, 1);
    }
}
