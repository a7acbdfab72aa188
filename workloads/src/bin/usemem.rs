//! usemem: allocate memory, touch every page, optionally hold it, repeat, or run copies.
//!
//! Modeled on the classic usemem (Andrew Morton's, and vm-scalability's): the simplest
//! way to push a machine out of memory on purpose. Memory is taken in chunks so the
//! kernel's heuristic overcommit check (which refuses one mapping larger than RAM+swap)
//! does not stop the process before the OOM killer gets a say.

use oomlab_workloads::guest::{self, Flags, Mapping, MIB};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: usemem (--mib N | --percent P) [--chunk-mib N] [--hold SECS|forever] [--repeat N] [--copies N] [--mlock]";

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
    /// mlock each chunk once touched: locked memory cannot be reaped or reclaimed.
    mlock: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut size = None;
    let mut out = Args {
        size: Size::Mib(0),
        chunk_mib: 4,
        hold: Hold::None,
        repeat: 1,
        copies: 1,
        mlock: false,
    };
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--mib" => size = Some(Size::Mib(f.number(flag)?)),
            "--percent" => size = Some(Size::Percent(f.number(flag)?)),
            "--chunk-mib" => out.chunk_mib = f.number::<u64>(flag)?.max(1),
            "--repeat" => out.repeat = f.number::<u64>(flag)?.max(1),
            "--copies" => out.copies = f.number::<u64>(flag)?.max(1),
            "--mlock" => out.mlock = true,
            "--hold" => {
                let v = f.value(flag)?;
                out.hold = if v == "forever" {
                    Hold::Forever
                } else {
                    Hold::Secs(guest::number(flag, v)?)
                }
            }
            other => return Err(f.unknown(other)),
        }
    }
    out.size = size.ok_or_else(|| f.error("say how much memory"))?;
    Ok(out)
}

fn target_bytes(size: &Size) -> Result<u64, String> {
    match size {
        Size::Mib(m) => Ok(m * MIB as u64),
        Size::Percent(p) => guest::percent_of_ram(*p),
    }
}

/// Touch `bytes` in chunks, locking each one after it is touched when asked to.
fn allocate(bytes: u64, chunk: usize, mlock: bool) -> Result<Vec<Mapping>, String> {
    let mut lock_failed = false;
    guest::touch_chunks(bytes, chunk, |m, _| {
        // SAFETY: `m` is a live mapping of m.len() bytes.
        if mlock && !lock_failed && unsafe { libc::mlock(m.as_ptr() as *const _, m.len()) } != 0 {
            // One line, then carry on unlocked: the pressure still matters.
            lock_failed = true;
            eprintln!(
                "usemem[{}]: mlock: {}",
                std::process::id(),
                std::io::Error::last_os_error()
            );
        }
    })
}

fn one_copy(args: &Args) -> Result<(), String> {
    let bytes = target_bytes(&args.size)?;
    let pid = std::process::id();
    for round in 0..args.repeat {
        let t0 = Instant::now();
        let maps = allocate(bytes, (args.chunk_mib as usize) * MIB, args.mlock)?;
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
        drop(maps);
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
        parse(&guest::words(s))
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
    fn mlock_flag() {
        assert!(!p("--mib 1").unwrap().mlock);
        assert!(p("--mib 1 --mlock").unwrap().mlock);
    }

    #[test]
    fn allocates_and_locks_real_memory() {
        // 64 KiB fits under the default RLIMIT_MEMLOCK; a failure would only be reported.
        let maps = allocate(64 * 1024, 16 * 1024, true).unwrap();
        assert_eq!(maps.len(), 4);
    }
}
