//! coredump-victim: dump a large core while memory is short.
//!
//! `coredump-victim --percent P`
//!
//! Sets RLIMIT_CORE to unlimited and PR_SET_DUMPABLE, touches P% of MemTotal, then dies
//! of a real SIGSEGV (a write to a PROT_NONE page) so the kernel writes a core as large
//! as the memory it holds while the machine is short of it. With core_pattern
//! `|/bin/core-pipe-helper --out /tmp/core` the dump goes through a slow pipe reader and
//! the dying task stays in do_coredump(), holding its memory: the OOM killer must cope
//! with a victim that is already exiting but cannot free anything yet (the coredump
//! cases of the 2016 oom_reaper / "mm, oom: task_will_free_mem" work by Michal Hocko).

use oomlab_workloads::guest::{self, PAGE};
use std::process::ExitCode;

const USAGE: &str = "usage: coredump-victim --percent P";

fn parse(args: &[String]) -> Result<u64, String> {
    guest::parse_percent_only(args, USAGE)
}

/// Make sure a crash leaves a core: no size limit, dumpable even after setuid games.
fn allow_core() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads a valid rlimit; prctl with integer arguments only.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_CORE, &unlimited) != 0 {
            eprintln!(
                "coredump-victim: setrlimit(RLIMIT_CORE): {}",
                std::io::Error::last_os_error()
            );
        }
        if libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) != 0 {
            eprintln!(
                "coredump-victim: prctl(PR_SET_DUMPABLE): {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Die of SIGSEGV with the default action (core). A write to a PROT_NONE page faults
/// for real; a null pointer would trip Rust's debug precondition check and abort instead.
fn crash() -> ! {
    // SAFETY: restoring the default SIGSEGV action (std installs a handler for stack
    // overflow detection); mapping one inaccessible page and writing to it, which raises
    // SIGSEGV: that crash is the purpose of this program. raise() is the fallback.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        let p = libc::mmap(
            std::ptr::null_mut(),
            PAGE,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p != libc::MAP_FAILED {
            (p as *mut u8).write_volatile(1);
        }
        libc::raise(libc::SIGSEGV);
    }
    unreachable!("SIGSEGV did not kill us")
}

fn main() -> ExitCode {
    let percent = guest::parse_or_exit("coredump-victim", parse);
    allow_core();
    let pid = std::process::id();
    match guest::touch_percent(&format!("coredump-victim[{pid}]"), percent) {
        Ok(maps) => {
            println!("coredump-victim[{pid}]: crashing");
            // The memory must still be mapped when the core is written.
            std::mem::forget(maps);
            crash()
        }
        Err(e) => {
            eprintln!("coredump-victim[{pid}]: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<u64, String> {
        parse(&guest::words(s))
    }

    #[test]
    fn parses_percent() {
        assert_eq!(p("--percent 80"), Ok(80));
        assert!(p("").unwrap_err().contains("--percent is required"));
        assert!(p("--percent").unwrap_err().contains("needs a value"));
        assert!(p("--mib 3").unwrap_err().contains("unknown"));
    }
}
