//! usemem: allocate memory, touch every page, optionally hold it, repeat, or run copies.
//!
//! Modeled on the classic usemem (Andrew Morton's, and vm-scalability's): the simplest
//! way to push a machine out of memory on purpose. Memory is taken in chunks so the
//! kernel's heuristic overcommit check (which refuses one mapping larger than RAM+swap)
//! does not stop the process before the OOM killer gets a say.

use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: usemem (--mib N | --percent P) [--chunk-mib N] [--hold SECS|forever] [--repeat N] [--copies N]";
const PAGE: usize = 4096;

#[derive(Debug, PartialEq)]
enum Size {
    Mib(u64),
    Percent(u64),
}

#[derive(Debug, PartialEq)]
enum Hold {
    None,
    Secs(u64),
    Forever,
}

#[derive(Debug, PartialEq)]
struct Args {
    size: Size,
    chunk_mib: u64,
    hold: Hold,
    repeat: u64,
    copies: u64,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut size = None;
    let mut out = Args {
        size: Size::Mib(0),
        chunk_mib: 4,
        hold: Hold::None,
        repeat: 1,
        copies: 1,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))
        };
        let number = |v: &String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, got {v:?}"))
        };
        match flag.as_str() {
            "--mib" => size = Some(Size::Mib(number(value()?)?)),
            "--percent" => size = Some(Size::Percent(number(value()?)?)),
            "--chunk-mib" => out.chunk_mib = number(value()?)?.max(1),
            "--repeat" => out.repeat = number(value()?)?.max(1),
            "--copies" => out.copies = number(value()?)?.max(1),
            "--hold" => {
                let v = value()?;
                out.hold = if v == "forever" {
                    Hold::Forever
                } else {
                    Hold::Secs(number(v)?)
                }
            }
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    out.size = size.ok_or_else(|| format!("say how much memory; {USAGE}"))?;
    Ok(out)
}

fn mem_total_kb() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn target_bytes(size: &Size) -> Result<u64, String> {
    match size {
        Size::Mib(m) => Ok(m * 1024 * 1024),
        Size::Percent(p) => {
            let total = mem_total_kb().ok_or("cannot read MemTotal from /proc/meminfo")?;
            Ok(total * 1024 * p / 100)
        }
    }
}

/// Map and touch `bytes` of anonymous memory in chunks. Returns the mappings.
fn allocate(bytes: u64, chunk: u64) -> Result<Vec<(*mut libc::c_void, usize)>, String> {
    let mut maps = Vec::new();
    let mut left = bytes;
    while left > 0 {
        let len = left.min(chunk) as usize;
        // SAFETY: an anonymous private mapping with no address hint; checked below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!(
                "mmap of {len} bytes failed after {} MiB: {}",
                (bytes - left) >> 20,
                std::io::Error::last_os_error()
            ));
        }
        let base = p as *mut u8;
        for off in (0..len).step_by(PAGE) {
            // SAFETY: `off < len`, inside the mapping just created, which is writable.
            unsafe { base.add(off).write_volatile(1) };
        }
        maps.push((p, len));
        left -= len as u64;
    }
    Ok(maps)
}

fn release(maps: Vec<(*mut libc::c_void, usize)>) {
    for (p, len) in maps {
        // SAFETY: each (p, len) is a mapping returned by mmap above and not yet unmapped.
        unsafe { libc::munmap(p, len) };
    }
}

fn one_copy(args: &Args) -> Result<(), String> {
    let bytes = target_bytes(&args.size)?;
    let pid = std::process::id();
    for round in 0..args.repeat {
        let t0 = Instant::now();
        let maps = allocate(bytes, args.chunk_mib * 1024 * 1024)?;
        println!(
            "usemem[{pid}]: round {round}: touched {} MiB in {} ms",
            bytes >> 20,
            t0.elapsed().as_millis()
        );
        match args.hold {
            Hold::None => {}
            Hold::Secs(s) => std::thread::sleep(Duration::from_secs(s)),
            Hold::Forever => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
        }
        release(maps);
    }
    Ok(())
}

fn run(args: &Args) -> Result<(), String> {
    let mut children = Vec::new();
    for _ in 1..args.copies {
        // SAFETY: usemem is single-threaded here, so the child may run any code.
        match unsafe { libc::fork() } {
            0 => std::process::exit(match one_copy(args) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("usemem[{}]: {e}", std::process::id());
                    2
                }
            }),
            -1 => return Err(format!("fork: {}", std::io::Error::last_os_error())),
            pid => children.push(pid),
        }
    }
    let mine = one_copy(args);
    let mut failed = false;
    for pid in children {
        let mut status = 0;
        // SAFETY: waiting for our own child with a valid status out-parameter.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        failed |= !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
    mine?;
    if failed {
        return Err("a copy failed".into());
    }
    Ok(())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("usemem: {e}");
            return ExitCode::from(64);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("usemem[{}]: {e}", std::process::id());
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Args, String> {
        parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn parses_sizes_and_options() {
        let a = p("--percent 150 --hold forever --copies 3").unwrap();
        assert_eq!(a.size, Size::Percent(150));
        assert_eq!(a.hold, Hold::Forever);
        assert_eq!(a.copies, 3);
        assert_eq!(p("--mib 8 --hold 5").unwrap().hold, Hold::Secs(5));
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(p("").unwrap_err().contains("say how much"));
        assert!(p("--mib x").unwrap_err().contains("whole number"));
        assert!(p("--mib").unwrap_err().contains("needs a value"));
        assert!(p("--frob 1").unwrap_err().contains("unknown argument"));
    }

    #[test]
    fn allocates_and_touches_real_memory() {
        let maps = allocate(3 * 1024 * 1024 + 5, 1024 * 1024).unwrap();
        assert_eq!(maps.len(), 4);
        assert_eq!(
            maps.iter().map(|m| m.1 as u64).sum::<u64>(),
            3 * 1024 * 1024 + 5
        );
        release(maps);
    }
}
