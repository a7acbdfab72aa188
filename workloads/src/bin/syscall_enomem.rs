//! syscall-enomem: take memory inside system calls and see how they fail.
//!
//! `syscall-enomem --mode pipe|read [--percent P=100]`
//!
//! Page faults in user space end in the OOM killer or SIGBUS; allocations made by the
//! kernel on behalf of a system call may instead fail the call. `pipe` creates pipes,
//! grows them to /proc/sys/fs/pipe-max-size with F_SETPIPE_SZ and fills them with
//! write(): kernel-allocated, memcg-accounted pipe buffers. `read` maps fresh anonymous
//! chunks without touching them and read()s /dev/zero into them, so the pages are
//! faulted in by copy_to_user inside the kernel. Either goes on until P% of MemTotal is
//! taken or a call fails. The first failure prints one line naming the call and errno
//! and exits 10 for ENOMEM, 11 for EFAULT, 12 for any other errno; reaching P% holds the
//! memory for 5 s and exits 0; the OOM killer's SIGKILL is the remaining outcome. This
//! is the question behind the 2014-2015 "small allocations never fail" and "too small
//! to fail" discussions (Tetsuo Handa, Michal Hocko, Johannes Weiner on LWN): does the
//! kernel return ENOMEM/EFAULT, or does it loop and OOM-kill instead?

use oomlab_workloads::guest::{self, Flags, Mapping, Ticker, CHUNK};
use std::os::fd::RawFd;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: syscall-enomem --mode pipe|read [--percent P]";

#[derive(Debug, PartialEq, Clone, Copy)]
enum Mode {
    Pipe,
    Read,
}

#[derive(Debug, PartialEq)]
struct Args {
    mode: Mode,
    percent: u64,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut mode = None;
    let mut percent = 100;
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--mode" => {
                mode = Some(match f.value(flag)? {
                    "pipe" => Mode::Pipe,
                    "read" => Mode::Read,
                    other => return Err(f.error(&format!("--mode is pipe or read, not {other:?}"))),
                })
            }
            "--percent" => percent = f.number(flag)?,
            other => return Err(f.unknown(other)),
        }
    }
    let mode = mode.ok_or_else(|| f.error("--mode is required"))?;
    Ok(Args { mode, percent })
}

/// A system call that failed, and its errno.
#[derive(Debug, PartialEq)]
struct Failure {
    call: &'static str,
    errno: i32,
}

impl Failure {
    fn last(call: &'static str) -> Failure {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        Failure { call, errno }
    }
}

fn exit_code(errno: i32) -> u8 {
    match errno {
        libc::ENOMEM => 10,
        libc::EFAULT => 11,
        _ => 12,
    }
}

fn errno_name(errno: i32) -> String {
    match errno {
        libc::ENOMEM => "ENOMEM".into(),
        libc::EFAULT => "EFAULT".into(),
        libc::EMFILE => "EMFILE".into(),
        libc::EPERM => "EPERM".into(),
        n => format!("errno {n}"),
    }
}

/// Progress lines while taking memory.
struct Meter {
    ticker: Ticker,
    taken: u64,
}

impl Meter {
    fn add(&mut self, n: u64) {
        self.taken += n;
        if self.ticker.due() {
            println!(
                "syscall-enomem[{}]: {} MiB",
                std::process::id(),
                self.taken >> 20
            );
        }
    }
}

/// Allow enough pipes: each holds at most pipe-max-size bytes.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid rlimit struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        let want = libc::rlimit {
            rlim_cur: 1 << 20,
            rlim_max: lim.rlim_max.max(1 << 20),
        };
        // Root may raise the hard limit up to fs.nr_open; others get their hard limit.
        if libc::setrlimit(libc::RLIMIT_NOFILE, &want) != 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn pipe_max_size() -> libc::c_int {
    std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 20)
}

/// Fill pipes until `target` bytes sit in pipe buffers. The pipes stay open.
fn fill_pipes(target: u64, meter: &mut Meter) -> Result<(), Failure> {
    raise_fd_limit();
    let size = pipe_max_size();
    let block = vec![0x5au8; 64 * 1024];
    while meter.taken < target {
        let mut fds: [RawFd; 2] = [-1; 2];
        // SAFETY: pipe2 writes two fds into the array we pass.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(Failure::last("pipe2"));
        }
        // SAFETY: fcntl on the write end we just created.
        if unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, size) } < 0 {
            return Err(Failure::last("fcntl(F_SETPIPE_SZ)"));
        }
        while meter.taken < target {
            let len = block.len().min((target - meter.taken) as usize);
            // SAFETY: writing `len` bytes from a live buffer at least that long.
            let n = unsafe { libc::write(fds[1], block.as_ptr() as *const _, len) };
            if n > 0 {
                meter.add(n as u64);
                continue;
            }
            let f = Failure::last("write");
            if f.errno == libc::EAGAIN {
                break; // this pipe is full: make another
            }
            return Err(f);
        }
    }
    Ok(())
}

/// read() /dev/zero into fresh, untouched mappings until `target` bytes are taken.
fn fill_reads(target: u64, meter: &mut Meter) -> Result<Vec<Mapping>, Failure> {
    // SAFETY: open with a NUL-terminated path.
    let fd = unsafe { libc::open(c"/dev/zero".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Failure::last("open(/dev/zero)"));
    }
    let mut maps = Vec::new();
    while meter.taken < target {
        let len = CHUNK.min((target - meter.taken) as usize);
        let m = Mapping::anon(len, 0).map_err(|_| Failure::last("mmap"))?;
        let mut off = 0;
        while off < len {
            // SAFETY: reading into [off, len) of the live, writable mapping `m`.
            let n = unsafe { libc::read(fd, m.as_ptr().add(off) as *mut _, len - off) };
            if n > 0 {
                off += n as usize;
                meter.add(n as u64);
                continue;
            }
            let f = Failure::last("read");
            if n < 0 && f.errno == libc::EINTR {
                continue;
            }
            return Err(f);
        }
        maps.push(m);
    }
    Ok(maps)
}

fn main() -> ExitCode {
    let a = guest::parse_or_exit("syscall-enomem", parse);
    let pid = std::process::id();
    let target = match guest::percent_of_ram(a.percent) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("syscall-enomem[{pid}]: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut meter = Meter {
        ticker: Ticker::new(guest::PROGRESS),
        taken: 0,
    };
    let result = match a.mode {
        Mode::Pipe => fill_pipes(target, &mut meter).map(|()| Vec::new()),
        Mode::Read => fill_reads(target, &mut meter),
    };
    match result {
        Ok(_held) => {
            println!(
                "syscall-enomem[{pid}]: took {} MiB without a failure, holding 5 s",
                meter.taken >> 20
            );
            std::thread::sleep(Duration::from_secs(5));
            ExitCode::SUCCESS
        }
        Err(f) => {
            println!(
                "syscall-enomem[{pid}]: {} failed after {} MiB: {}: {}",
                f.call,
                meter.taken >> 20,
                errno_name(f.errno),
                std::io::Error::from_raw_os_error(f.errno)
            );
            ExitCode::from(exit_code(f.errno))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Args, String> {
        parse(&guest::words(s))
    }

    fn meter() -> Meter {
        Meter {
            ticker: Ticker::new(Duration::from_secs(3600)),
            taken: 0,
        }
    }

    #[test]
    fn parses_arguments() {
        assert_eq!(
            p("--mode pipe").unwrap(),
            Args {
                mode: Mode::Pipe,
                percent: 100
            }
        );
        assert_eq!(p("--percent 30 --mode read").unwrap().mode, Mode::Read);
        assert!(p("--mode mmap").unwrap_err().contains("pipe or read"));
        assert!(p("--percent 3").unwrap_err().contains("--mode is required"));
    }

    #[test]
    fn exit_codes_name_the_errno() {
        assert_eq!(exit_code(libc::ENOMEM), 10);
        assert_eq!(exit_code(libc::EFAULT), 11);
        assert_eq!(exit_code(libc::EMFILE), 12);
        assert_eq!(exit_code(libc::EPERM), 12);
        assert_eq!(exit_code(0), 12);
        assert_eq!(errno_name(libc::ENOMEM), "ENOMEM");
        assert_eq!(errno_name(5), "errno 5");
    }

    #[test]
    fn pipes_take_the_target() {
        let mut m = meter();
        fill_pipes(3 * 64 * 1024 + 100, &mut m).unwrap();
        assert_eq!(m.taken, 3 * 64 * 1024 + 100);
    }

    #[test]
    fn reads_fault_in_untouched_chunks() {
        let mut m = meter();
        let maps = fill_reads(CHUNK as u64 + 4096, &mut m).unwrap();
        assert_eq!(m.taken, CHUNK as u64 + 4096);
        assert_eq!(maps.len(), 2);
    }

    #[test]
    fn a_bad_buffer_is_efault() {
        // What an unbacked destination looks like to read(): EFAULT, mapped to 11.
        // SAFETY: open with a NUL-terminated path; read into an address never mapped
        // (the kernel checks it and fails), then close.
        let errno = unsafe {
            let fd = libc::open(c"/dev/zero".as_ptr(), libc::O_RDONLY);
            let n = libc::read(fd, 8 as *mut libc::c_void, 4096);
            let f = Failure::last("read");
            libc::close(fd);
            assert_eq!(n, -1);
            f.errno
        };
        assert_eq!(exit_code(errno), 11);
    }
}
