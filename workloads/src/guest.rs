//! Small helpers the workload binaries share: argument parsing in the house style,
//! sizing by a percentage of MemTotal, chunked anonymous memory, and rate-limited progress.

use std::str::FromStr;
use std::time::{Duration, Instant};

pub const PAGE: usize = 4096;
pub const MIB: usize = 1024 * 1024;
/// Default mapping size for chunked allocation: small enough that heuristic overcommit
/// never refuses one mapping, large enough that mmap calls stay rare.
pub const CHUNK: usize = 4 * MIB;
/// Exit code for bad arguments in the workloads that follow this module.
pub const EXIT_USAGE: u8 = 2;

/// Hand-written flag parser: `--flag value` pairs, errors that end with the usage line.
pub struct Flags<'a> {
    it: std::slice::Iter<'a, String>,
    usage: &'static str,
}

impl<'a> Flags<'a> {
    pub fn new(args: &'a [String], usage: &'static str) -> Self {
        Flags {
            it: args.iter(),
            usage,
        }
    }

    /// The next flag, or None at the end.
    pub fn next_flag(&mut self) -> Option<&'a str> {
        self.it.next().map(String::as_str)
    }

    /// The value following `flag`.
    pub fn value(&mut self, flag: &str) -> Result<&'a str, String> {
        self.it
            .next()
            .map(String::as_str)
            .ok_or_else(|| format!("{flag} needs a value; {}", self.usage))
    }

    /// The value following `flag`, as a whole number.
    pub fn number<T: FromStr>(&mut self, flag: &str) -> Result<T, String> {
        number(flag, self.value(flag)?)
    }

    pub fn unknown(&self, flag: &str) -> String {
        format!("unknown argument {flag:?}; {}", self.usage)
    }

    /// An error about the command line as a whole, e.g. a missing required flag.
    pub fn error(&self, what: &str) -> String {
        format!("{what}; {}", self.usage)
    }
}

/// The command line of a workload whose only argument is `--percent P`.
pub fn parse_percent_only(args: &[String], usage: &'static str) -> Result<u64, String> {
    let mut percent = None;
    let mut f = Flags::new(args, usage);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--percent" => percent = Some(f.number(flag)?),
            other => return Err(f.unknown(other)),
        }
    }
    percent.ok_or_else(|| f.error("--percent is required"))
}

/// Parse `v`, the value of `flag`, as a whole number.
pub fn number<T: FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse::<T>()
        .map_err(|_| format!("{flag} takes a whole number, got {v:?}"))
}

/// Parse the command line with `parse`; on error print `prog: error` and exit 2.
pub fn parse_or_exit<T>(prog: &str, parse: fn(&[String]) -> Result<T, String>) -> T {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    parse(&argv).unwrap_or_else(|e| {
        eprintln!("{prog}: {e}");
        std::process::exit(EXIT_USAGE.into())
    })
}

pub fn mem_total_kb() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `percent` of `total_kb`, in bytes.
pub fn percent_bytes(total_kb: u64, percent: u64) -> u64 {
    total_kb * 1024 * percent / 100
}

/// `percent` of this machine's MemTotal, in bytes.
pub fn percent_of_ram(percent: u64) -> Result<u64, String> {
    let total = mem_total_kb().ok_or("cannot read MemTotal from /proc/meminfo")?;
    Ok(percent_bytes(total, percent))
}

/// A private anonymous mapping, unmapped on drop.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    /// Map `len` bytes read-write; `extra` flags are or-ed into MAP_PRIVATE|MAP_ANONYMOUS.
    pub fn anon(len: usize, extra: libc::c_int) -> std::io::Result<Mapping> {
        // SAFETY: an anonymous private mapping with no address hint; checked below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | extra,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: p as *mut u8,
            len,
        })
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Write `value` to one byte of every page, faulting each page in.
    pub fn touch(&self, value: u8) {
        for off in (0..self.len).step_by(PAGE) {
            // SAFETY: `off < len`, inside this live, writable mapping; `&self` is not
            // shared across threads (Mapping is not Sync), so nothing races the write.
            unsafe { self.ptr.add(off).write_volatile(value) };
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: (ptr, len) is a live mapping from mmap, unmapped only here.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

/// Map and touch `bytes` of anonymous memory in mappings of at most `chunk` bytes, so
/// heuristic overcommit (which refuses one mapping larger than RAM+swap) does not stop
/// us before the OOM killer gets a say. `after` sees each new chunk and the total so far.
pub fn touch_chunks(
    bytes: u64,
    chunk: usize,
    mut after: impl FnMut(&Mapping, u64),
) -> Result<Vec<Mapping>, String> {
    let mut maps = Vec::new();
    let mut done = 0u64;
    while done < bytes {
        let len = (bytes - done).min(chunk.max(1) as u64) as usize;
        let m = Mapping::anon(len, 0)
            .map_err(|e| format!("mmap of {len} bytes failed after {} MiB: {e}", done >> 20))?;
        m.touch(1);
        done += len as u64;
        after(&m, done);
        maps.push(m);
    }
    Ok(maps)
}

/// Touch `percent` of MemTotal in CHUNK mappings, printing `{tag}: touched N MiB` at
/// most every PROGRESS on the way and `{tag}: holding N MiB` at the end.
pub fn touch_percent(tag: &str, percent: u64) -> Result<Vec<Mapping>, String> {
    let mut ticker = Ticker::new(PROGRESS);
    let maps = touch_chunks(percent_of_ram(percent)?, CHUNK, |_, total| {
        if ticker.due() {
            println!("{tag}: touched {} MiB", total >> 20);
        }
    })?;
    let held: usize = maps.iter().map(Mapping::len).sum();
    println!("{tag}: holding {} MiB", held >> 20);
    Ok(maps)
}

/// True at most once per period: progress lines stay rare on the kernel console.
pub struct Ticker {
    last: Instant,
    every: Duration,
}

impl Ticker {
    pub fn new(every: Duration) -> Self {
        Ticker {
            last: Instant::now(),
            every,
        }
    }

    pub fn due(&mut self) -> bool {
        if self.last.elapsed() >= self.every {
            self.last = Instant::now();
            return true;
        }
        false
    }
}

/// The usual period between progress lines.
pub const PROGRESS: Duration = Duration::from_secs(5);

pub fn set_oom_score_adj(adj: i32) -> Result<(), String> {
    std::fs::write("/proc/self/oom_score_adj", adj.to_string())
        .map_err(|e| format!("cannot set oom_score_adj to {adj}: {e}"))
}

/// Print `line()` every PROGRESS until killed: the main thread's job while workers run.
pub fn report_forever(line: impl Fn() -> String) -> ! {
    loop {
        std::thread::sleep(PROGRESS);
        println!("{}", line());
    }
}

/// Split a test command line on whitespace, as argv would arrive.
pub fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// In a forked child: be SIGKILLed when `parent` dies, so a workload ends as one.
pub fn die_with_parent(parent: libc::pid_t) {
    // SAFETY: prctl with integer arguments only; getppid cannot fail.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        // The parent may have died before the prctl took effect.
        if libc::getppid() != parent {
            libc::_exit(0);
        }
    }
}

/// Keep what we hold until killed.
pub fn hold_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_give_values_numbers_and_usage_errors() {
        let a = words("--n 7 --name x --n");
        let mut f = Flags::new(&a, "usage: t");
        assert_eq!(f.next_flag(), Some("--n"));
        assert_eq!(f.number::<u32>("--n"), Ok(7));
        assert_eq!(f.next_flag(), Some("--name"));
        assert_eq!(f.value("--name"), Ok("x"));
        assert_eq!(f.next_flag(), Some("--n"));
        assert_eq!(
            f.number::<u32>("--n").unwrap_err(),
            "--n needs a value; usage: t"
        );
        assert_eq!(f.next_flag(), None);
        assert!(f.unknown("--x").starts_with("unknown argument \"--x\""));
        assert_eq!(
            number::<u64>("--n", "-1").unwrap_err(),
            "--n takes a whole number, got \"-1\""
        );
    }

    #[test]
    fn percent_of_total() {
        assert_eq!(percent_bytes(1024, 100), 1024 * 1024);
        assert_eq!(percent_bytes(1000, 150), 1_536_000);
        assert_eq!(percent_bytes(1000, 0), 0);
    }

    #[test]
    fn allocates_and_touches_real_memory_in_chunks() {
        let mut seen = Vec::new();
        let maps = touch_chunks(3 * MIB as u64 + 5, MIB, |m, total| {
            seen.push((m.len(), total))
        })
        .unwrap();
        assert_eq!(maps.len(), 4);
        assert_eq!(seen.last(), Some(&(5, 3 * MIB as u64 + 5)));
        // SAFETY: the first mapping is live and at least one byte long.
        assert_eq!(unsafe { maps[0].as_ptr().read_volatile() }, 1);
    }
}
