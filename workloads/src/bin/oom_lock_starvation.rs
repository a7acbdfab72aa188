//! oom-lock-starvation: an idle-priority allocator starved by CPU hogs woken by the
//! first OOM kill.
//!
//! `oom-lock-starvation --children N [--percent P=150]`
//!
//! Follows Tetsuo Handa's 2016 reproducer for oom_lock starvation ("mm,oom: Don't call
//! schedule_timeout_killable() with oom_lock held"): a small `first-victim` at
//! oom_score_adj 1000 holds the only write end of a pipe. N children pinned to CPU 0
//! block reading it. The parent, pinned to CPU 0 too, drops to SCHED_IDLE and touches
//! P% of MemTotal. The first OOM kill takes the first victim, the pipe reaches EOF, and
//! the N children spin at SCHED_OTHER on CPU 0: from then on the parent, the allocator
//! most likely to be inside out_of_memory() holding oom_lock, hardly gets the CPU,
//! while every other allocator waits for that lock. Children die with the parent.

use oomlab_workloads::guest::{self, Flags, Ticker, MIB};
use std::process::ExitCode;

const USAGE: &str = "usage: oom-lock-starvation --children N [--percent P]";

#[derive(Debug, PartialEq)]
struct Args {
    children: u32,
    percent: u64,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut children = None;
    let mut percent = 150;
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--children" => children = Some(f.number(flag)?),
            "--percent" => percent = f.number(flag)?,
            other => return Err(f.unknown(other)),
        }
    }
    let children = children.ok_or_else(|| f.error("--children is required"))?;
    if children == 0 {
        return Err(f.error("--children must be at least 1"));
    }
    Ok(Args { children, percent })
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

/// Fork a child that runs `body` and never returns into our code.
fn fork_child(body: impl FnOnce()) -> std::io::Result<libc::pid_t> {
    // SAFETY: the parent is single-threaded; the child only makes system calls and
    // leaves with _exit.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            body();
            // SAFETY: leaving the child without running the parent's exit handlers.
            unsafe { libc::_exit(0) }
        }
        pid => Ok(pid),
    }
}

/// Block until the pipe reaches EOF (every write end closed), then spin.
fn wait_then_spin(read_fd: libc::c_int) {
    let mut byte = 0u8;
    // SAFETY: reading at most one byte into a live local.
    while unsafe { libc::read(read_fd, (&mut byte as *mut u8).cast(), 1) } != 0 {}
    loop {
        std::hint::spin_loop();
    }
}

fn main() -> ExitCode {
    let a = guest::parse_or_exit("oom-lock-starvation", parse);
    let pid = std::process::id();
    let mut fds = [0; 2];
    // SAFETY: pipe writes two descriptors into a live array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        eprintln!(
            "oom-lock-starvation: pipe: {}",
            std::io::Error::last_os_error()
        );
        return ExitCode::FAILURE;
    }
    let [read_fd, write_fd] = fds;
    let parent = pid as libc::pid_t;
    let first = fork_child(|| {
        guest::die_with_parent(parent);
        // SAFETY: closing our copy of the read end; we keep the write end open.
        unsafe { libc::close(read_fd) };
        if let Err(e) = guest::set_oom_score_adj(1000) {
            eprintln!("oom-lock-starvation: first-victim: {e}");
        }
        guest::hold_forever();
    });
    if let Err(e) = first {
        eprintln!("oom-lock-starvation: fork: {e}");
        return ExitCode::FAILURE;
    }
    // SAFETY: only the first victim holds the write end from here on.
    unsafe { libc::close(write_fd) };
    if let Err(e) = pin_to_cpu0() {
        eprintln!("oom-lock-starvation: sched_setaffinity(CPU 0): {e}");
    }
    let mut forked = 0;
    for _ in 0..a.children {
        match fork_child(|| {
            guest::die_with_parent(parent);
            wait_then_spin(read_fd);
        }) {
            Ok(_) => forked += 1,
            Err(e) => {
                eprintln!("oom-lock-starvation: fork after {forked} children: {e}");
                break;
            }
        }
    }
    // Children were forked at SCHED_OTHER; only the parent goes idle.
    if let Err(e) = set_policy(libc::SCHED_IDLE) {
        eprintln!("oom-lock-starvation: sched_setscheduler(SCHED_IDLE): {e}");
    }
    println!(
        "oom-lock-starvation[{pid}]: {forked} children waiting on CPU 0, allocating {}% of RAM at SCHED_IDLE",
        a.percent
    );
    let mut ticker = Ticker::new(guest::PROGRESS);
    let held = guest::percent_of_ram(a.percent).and_then(|bytes| {
        guest::touch_chunks(bytes, MIB, |_, total| {
            if ticker.due() {
                println!("oom-lock-starvation[{pid}]: touched {} MiB", total >> 20);
            }
        })
    });
    match held {
        Ok(maps) => {
            let mib = maps.iter().map(|m| m.len()).sum::<usize>() >> 20;
            println!("oom-lock-starvation[{pid}]: holding {mib} MiB");
            guest::hold_forever()
        }
        Err(e) => {
            eprintln!("oom-lock-starvation[{pid}]: {e}");
            ExitCode::FAILURE
        }
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
        assert_eq!(
            p("--children 20").unwrap(),
            Args {
                children: 20,
                percent: 150
            }
        );
        assert_eq!(p("--children 2 --percent 90").unwrap().percent, 90);
        assert!(p("").unwrap_err().contains("--children is required"));
        assert!(p("--children 0").unwrap_err().contains("at least 1"));
        assert!(p("--children 1 --cow-kib 4")
            .unwrap_err()
            .contains("unknown"));
    }

    #[test]
    fn children_wait_until_the_first_victim_dies() {
        let mut fds = [0; 2];
        // SAFETY: pipe writes two descriptors into a live array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let [read_fd, write_fd] = fds;
        let child = fork_child(|| {
            // SAFETY: the child drops its copy of the write end, as the workload's do.
            unsafe { libc::close(write_fd) };
            wait_then_spin(read_fd);
        })
        .unwrap();
        let state = || {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap();
            stat.rsplit(") ").next().unwrap().chars().next().unwrap()
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(state(), 'S', "blocked on the pipe while a writer lives");
        // SAFETY: closing our write end: the pipe reaches EOF.
        unsafe { libc::close(write_fd) };
        let spinning = (0..50).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            state() == 'R'
        });
        // SAFETY: killing and reaping our own child.
        unsafe {
            libc::kill(child, libc::SIGKILL);
            libc::waitpid(child, std::ptr::null_mut(), 0);
            libc::close(read_fd);
        }
        assert!(spinning, "spins once the pipe is at EOF");
    }
}
