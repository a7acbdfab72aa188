//! filewalk: a file-backed working set larger than RAM, walked again and again.
//!
//! `filewalk --file PATH --percent P [--passes N=0]`
//!
//! Writes PATH once, P% of MemTotal in 1 MiB writes, and fsyncs it; then maps it
//! shared and read-only and reads one byte of every page, pass after pass (N passes,
//! 0 = until killed). With P above the memory left for page cache, every pass refaults
//! pages reclaimed during the previous one: thrashing, which the OOM killer does not see
//! as an out-of-memory condition because clean page cache can always be reclaimed. The
//! situation behind the workingset refault detection (Johannes Weiner, 2014, Linux
//! 3.15) and PSI (2018), and the "system thrashes for minutes before the OOM killer
//! acts" reports that led to user-space killers such as oomd and earlyoom. Prints each
//! pass's number and duration, at most every few seconds (and always the last).

use oomlab_workloads::guest::{self, Flags, Ticker, MIB, PAGE};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: filewalk --file PATH --percent P [--passes N]";

#[derive(Debug, PartialEq)]
struct Args {
    file: String,
    percent: u64,
    passes: u64,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let (mut file, mut percent) = (None, None);
    let mut passes = 0;
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--file" => file = Some(f.value(flag)?.to_string()),
            "--percent" => percent = Some(f.number(flag)?),
            "--passes" => passes = f.number(flag)?,
            other => return Err(f.unknown(other)),
        }
    }
    Ok(Args {
        file: file.ok_or_else(|| f.error("--file is required"))?,
        percent: percent.ok_or_else(|| f.error("--percent is required"))?,
        passes,
    })
}

/// Byte `off` of the file: each page starts with its own index, so a walk can tell.
fn pattern(off: u64) -> u8 {
    (off / PAGE as u64) as u8
}

/// Create `path` holding `size` bytes of the pattern, and make it durable.
fn write_file(path: &str, size: u64) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    let mut buf = vec![0u8; MIB];
    let mut off = 0u64;
    while off < size {
        let n = (size - off).min(MIB as u64) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = pattern(off + i as u64);
        }
        f.write_all(&buf[..n])?;
        off += n as u64;
    }
    f.sync_all()
}

/// A shared, read-only mapping of a whole file.
struct FileMap {
    ptr: *const u8,
    len: usize,
}

impl FileMap {
    fn open(path: &str) -> std::io::Result<FileMap> {
        let f = std::fs::File::open(path)?;
        let len = f.metadata()?.len() as usize;
        // SAFETY: mapping `len` bytes of an open file read-only; checked below. The
        // mapping keeps its own reference to the file once `f` is closed.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(FileMap {
            ptr: p as *const u8,
            len,
        })
    }

    /// Read the first byte of every page. Returns (pages, sum of the bytes read).
    fn walk(&self) -> (u64, u64) {
        let (mut pages, mut sum) = (0u64, 0u64);
        for off in (0..self.len).step_by(PAGE) {
            // SAFETY: `off < len`, inside the live read-only mapping. (The file is ours;
            // truncating it underneath us would raise SIGBUS, not read out of bounds.)
            sum += u64::from(unsafe { self.ptr.add(off).read_volatile() });
            pages += 1;
        }
        (pages, sum)
    }
}

impl Drop for FileMap {
    fn drop(&mut self) {
        // SAFETY: (ptr, len) is the live mapping from mmap, unmapped only here.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

fn run(a: &Args) -> Result<(), String> {
    let tag = format!("filewalk[{}]", std::process::id());
    let size = guest::percent_of_ram(a.percent)?;
    if size == 0 {
        return Err("--percent gives an empty file".into());
    }
    let t0 = Instant::now();
    write_file(&a.file, size).map_err(|e| format!("writing {}: {e}", a.file))?;
    println!(
        "{tag}: wrote {} MiB to {} in {} ms",
        size >> 20,
        a.file,
        t0.elapsed().as_millis()
    );
    let map = FileMap::open(&a.file).map_err(|e| format!("mapping {}: {e}", a.file))?;
    let mut ticker = Ticker::new(guest::PROGRESS);
    let mut pass = 1u64;
    loop {
        let t = Instant::now();
        std::hint::black_box(map.walk());
        let last = pass == a.passes;
        if pass == 1 || last || ticker.due() {
            println!("{tag}: pass {pass}: {} ms", t.elapsed().as_millis());
        }
        if last {
            return Ok(());
        }
        pass += 1;
    }
}

fn main() -> ExitCode {
    let a = guest::parse_or_exit("filewalk", parse);
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("filewalk: {e}");
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
        let a = p("--file /scratch/w --percent 150").unwrap();
        assert_eq!(
            a,
            Args {
                file: "/scratch/w".into(),
                percent: 150,
                passes: 0
            }
        );
        assert_eq!(p("--percent 1 --file f --passes 3").unwrap().passes, 3);
        assert!(p("--percent 1").unwrap_err().contains("--file is required"));
        assert!(p("--file f").unwrap_err().contains("--percent is required"));
        assert!(p("--file f --percent 1 --passes x")
            .unwrap_err()
            .contains("whole number"));
    }

    #[test]
    fn writes_then_walks_every_page() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("w");
        let path = path.to_str().unwrap();
        let size = 2 * MIB as u64 + 100;
        write_file(path, size).unwrap();
        assert_eq!(std::fs::metadata(path).unwrap().len(), size);
        let (pages, sum) = FileMap::open(path).unwrap().walk();
        assert_eq!(pages, 513);
        // Page i starts with i mod 256.
        assert_eq!(sum, (0..513u64).map(|i| i % 256).sum::<u64>());
    }
}
