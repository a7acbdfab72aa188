//! The few raw system calls the agent needs, each wrapped once with why it is sound.

use std::ffi::CString;
use std::io;

/// CLOCK_MONOTONIC in microseconds.
pub fn monotonic_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}

pub fn monotonic_ms() -> u64 {
    monotonic_us() / 1_000
}

/// Load a kernel module from an open file (finit_module has no libc wrapper).
pub fn finit_module(file: &std::fs::File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let params = c"";
    // SAFETY: the fd is open for the duration of the call and `params` is a valid
    // NUL-terminated string; flags 0 asks for no special handling.
    let rc = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        let err = io::Error::last_os_error();
        // Already loaded (e.g. built in, or listed twice) is success for us.
        if err.raw_os_error() == Some(libc::EEXIST) {
            Ok(())
        } else {
            Err(err)
        }
    }
}

/// Lock the agent's memory so reclaim cannot page it out from under the heartbeat.
pub fn lock_all_memory() -> io::Result<()> {
    // SAFETY: mlockall takes only flags.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Flush file systems and power the machine off. Never returns.
pub fn power_off() -> ! {
    // SAFETY: sync and reboot take no pointers; reboot with RB_POWER_OFF as PID 1 is the
    // intended way for init to end the machine.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    // If reboot failed, exiting PID 1 makes the kernel panic, and the harness boots with
    // panic=-1 and -no-reboot, so QEMU still exits rather than hanging.
    std::process::exit(1)
}

pub fn mount(source: &str, target: &str, fstype: &str, data: Option<&str>) -> io::Result<()> {
    let c = |s: &str| CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let (src, tgt, fs) = (c(source)?, c(target)?, c(fstype)?);
    let data = data.map(c).transpose()?;
    let data_ptr = data
        .as_ref()
        .map_or(std::ptr::null(), |d| d.as_ptr() as *const libc::c_void);
    // SAFETY: every pointer is a valid NUL-terminated string (or null for data) that
    // outlives the call.
    let rc = unsafe { libc::mount(src.as_ptr(), tgt.as_ptr(), fs.as_ptr(), 0, data_ptr) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Put a file descriptor of a tty into raw mode so JSON lines pass through unchanged.
pub fn make_raw(fd: std::os::fd::RawFd) -> io::Result<()> {
    // SAFETY: a zeroed termios is a valid out-parameter for tcgetattr.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is an open tty descriptor and `t` is writable.
    if unsafe { libc::tcgetattr(fd, &mut t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: cfmakeraw only edits the struct it is given.
    unsafe { libc::cfmakeraw(&mut t) };
    // SAFETY: as above; TCSANOW applies the settings at once.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Wait until everything written to the tty has been sent (before powering off).
pub fn drain(fd: std::os::fd::RawFd) {
    // SAFETY: tcdrain only takes the descriptor; an error just means nothing to drain.
    unsafe { libc::tcdrain(fd) };
}

/// Sleep until an absolute CLOCK_MONOTONIC time, so heartbeats keep a fixed period
/// instead of drifting by the time each one takes.
pub fn sleep_until_us(deadline_us: u64) {
    let ts = libc::timespec {
        tv_sec: (deadline_us / 1_000_000) as libc::time_t,
        tv_nsec: ((deadline_us % 1_000_000) * 1_000) as libc::c_long,
    };
    loop {
        // SAFETY: `ts` is a valid timespec; a null remainder is allowed with TIMER_ABSTIME.
        let rc = unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            )
        };
        if rc != libc::EINTR {
            return;
        }
    }
}

/// Write `value` to /proc/self/oom_score_adj using only the stack: this runs in a forked
/// child of a multi-threaded process, where allocating could deadlock.
pub fn set_own_oom_score_adj(value: i32) -> io::Result<()> {
    let mut buf = [0u8; 16];
    let len = format_i32(value, &mut buf);
    let path = c"/proc/self/oom_score_adj";
    // SAFETY: `path` is NUL-terminated; the fd is closed below on every path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `buf[..len]` is initialised and in bounds.
    let n = unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, len) };
    let err = io::Error::last_os_error();
    // SAFETY: fd is ours to close.
    unsafe { libc::close(fd) };
    if n == len as isize {
        Ok(())
    } else {
        Err(err)
    }
}

/// Move the calling process into a cgroup by writing "0" to its cgroup.procs. For the
/// same reason as above it must not allocate: the path was prepared before fork.
pub fn join_cgroup(procs: &std::ffi::CStr) -> io::Result<()> {
    // SAFETY: `procs` is NUL-terminated; the fd is closed on every path.
    let fd = unsafe { libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: writing one byte from a static buffer.
    let n = unsafe { libc::write(fd, b"0".as_ptr() as *const libc::c_void, 1) };
    let err = io::Error::last_os_error();
    // SAFETY: fd is ours to close.
    unsafe { libc::close(fd) };
    if n == 1 {
        Ok(())
    } else {
        Err(err)
    }
}

/// Decimal formatting into a stack buffer (no allocation).
fn format_i32(value: i32, buf: &mut [u8; 16]) -> usize {
    let mut digits = [0u8; 12];
    let mut n = (value as i64).unsigned_abs();
    let mut i = 0;
    loop {
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        i += 1;
        if n == 0 {
            break;
        }
    }
    let mut len = 0;
    if value < 0 {
        buf[0] = b'-';
        len = 1;
    }
    while i > 0 {
        i -= 1;
        buf[len] = digits[i];
        len += 1;
    }
    len
}

/// Open /dev/null on any of fd 0, 1, 2 that is closed.
pub fn ensure_std_fds() {
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the descriptor.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            // SAFETY: a constant NUL-terminated path; open returns the lowest free
            // descriptor, which is `fd` since the lower ones are open by now.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}

/// Whether `fd` becomes readable within `timeout_ms` (false on timeout or error).
pub fn readable_within(fd: std::os::fd::RawFd, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, and the count says so.
    let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    n > 0 && p.revents & libc::POLLIN != 0
}

/// setrlimit with soft = hard = `value`; safe between fork and exec (one syscall).
pub fn set_rlimit(resource: i32, value: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: `lim` is a valid rlimit on the stack; the resource is a libc constant.
    if unsafe { libc::setrlimit(resource as _, &lim) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::format_i32;

    #[test]
    fn formats_without_allocating() {
        for v in [0, 7, -1000, 1000, i32::MIN, i32::MAX] {
            let mut buf = [0u8; 16];
            let len = format_i32(v, &mut buf);
            assert_eq!(std::str::from_utf8(&buf[..len]).unwrap(), v.to_string());
        }
    }
}
