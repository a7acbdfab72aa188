//! shared-mm: two processes, one mm, and only one of them killable.
//!
//! `shared-mm --percent P`
//!
//! Creates a sibling with clone(CLONE_VM) but without CLONE_THREAD: a separate process
//! (own pid, own oom_score_adj) sharing this process's address space. The sibling sets
//! its oom_score_adj to -1000 and sleeps forever; the parent prints both pids and
//! touches P% of MemTotal. Killing the parent frees nothing while the unkillable sibling
//! keeps the mm alive, and the oom_reaper must not reap an mm an OOM_SCORE_ADJ_MIN task
//! still uses: the case of Michal Hocko's 2016 series "mm, oom: kill all tasks sharing
//! the mm" / "skip over vforked tasks" and MMF_OOM_SKIP for such mms (Linux 4.8). The
//! sibling outlives the parent by design; kill it by the pid printed at start.
//! Since Linux 4.8 ("mm, oom_adj: make sure processes sharing mm have same view of
//! oom_score_adj") the sibling's write also sets the parent to -1000; the program
//! prints both values after the sibling's write so a run shows which behaviour it met.

use oomlab_workloads::guest::{self, Mapping};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: shared-mm --percent P";
const SIBLING_STACK: usize = 256 * 1024;

fn parse(args: &[String]) -> Result<u64, String> {
    guest::parse_percent_only(args, USAGE)
}

/// The sibling: only raw system calls. It shares our memory and our main thread's TLS
/// but the C library does not know it exists, so malloc, std's I/O and the like are off
/// limits (errno is shared with the parent's main thread; these calls rarely fail).
extern "C" fn unkillable_sibling(_: *mut libc::c_void) -> libc::c_int {
    const MSG: &[u8] = b"shared-mm: sibling cannot set oom_score_adj to -1000\n";
    // SAFETY: open/write/close on a NUL-terminated path and static buffers; pause.
    unsafe {
        let fd = libc::open(c"/proc/self/oom_score_adj".as_ptr(), libc::O_WRONLY);
        let ok = fd >= 0 && libc::write(fd, b"-1000".as_ptr() as *const _, 5) == 5;
        if fd >= 0 {
            libc::close(fd);
        }
        if !ok {
            libc::write(2, MSG.as_ptr() as *const _, MSG.len());
        }
        loop {
            libc::pause();
        }
    }
}

/// Start `f` as a process sharing our mm. Its stack is leaked: it lives as long as it.
fn spawn_sibling(f: extern "C" fn(*mut libc::c_void) -> libc::c_int) -> std::io::Result<i32> {
    let stack = Mapping::anon(SIBLING_STACK, libc::MAP_STACK)?;
    // SAFETY: the stack top is the end of a live, writable, page-aligned mapping that is
    // never unmapped (forgotten below); `f` touches nothing but its own stack and statics.
    let pid = unsafe {
        let top = stack.as_ptr().add(stack.len()) as *mut libc::c_void;
        libc::clone(f, top, libc::CLONE_VM | libc::SIGCHLD, std::ptr::null_mut())
    };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    std::mem::forget(stack);
    Ok(pid)
}

fn main() -> ExitCode {
    let percent = guest::parse_or_exit("shared-mm", parse);
    let pid = std::process::id();
    let sibling = match spawn_sibling(unkillable_sibling) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("shared-mm: clone(CLONE_VM): {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("shared-mm: parent pid {pid}, sibling pid {sibling} share one mm");
    // Since Linux 4.8 a write to oom_score_adj reaches every process sharing the mm, so
    // the parent may be at -1000 too: say what the kernel made of it.
    let adj = |p: u32| {
        std::fs::read_to_string(format!("/proc/{p}/oom_score_adj"))
            .map_or_else(|e| e.to_string(), |s| s.trim().to_string())
    };
    for _ in 0..100 {
        if adj(sibling as u32) == "-1000" {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    println!(
        "shared-mm: oom_score_adj parent {}, sibling {}",
        adj(pid),
        adj(sibling as u32)
    );
    let tag = format!("shared-mm[{pid}]");
    let held = guest::touch_percent(&tag, percent);
    if let Err(e) = &held {
        // Stay anyway: the shared mm is the point, not how much of it we filled.
        eprintln!("{tag}: {e}");
    }
    guest::hold_forever()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn parses_percent() {
        assert_eq!(parse(&guest::words("--percent 120")), Ok(120));
        assert!(parse(&[]).unwrap_err().contains("--percent is required"));
        assert!(parse(&guest::words("--pct 1"))
            .unwrap_err()
            .contains("unknown"));
    }

    static SEEN: AtomicU32 = AtomicU32::new(0);

    extern "C" fn write_and_wait(_: *mut libc::c_void) -> libc::c_int {
        SEEN.store(std::process::id(), Ordering::SeqCst);
        loop {
            // SAFETY: pause has no preconditions.
            unsafe { libc::pause() };
        }
    }

    #[test]
    fn the_sibling_is_another_process_in_our_memory() {
        let pid = spawn_sibling(write_and_wait).unwrap();
        let mut waited = 0;
        while SEEN.load(Ordering::SeqCst) == 0 && waited < 500 {
            std::thread::sleep(Duration::from_millis(10));
            waited += 1;
        }
        // It wrote its own pid (a process of its own) into our static (a shared mm).
        assert_eq!(SEEN.load(Ordering::SeqCst), pid as u32);
        assert_ne!(pid as u32, std::process::id());
        let mut status = 0;
        // SAFETY: killing and reaping the child we just created.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, &mut status, 0);
        }
        assert!(libc::WIFSIGNALED(status));
    }
}
