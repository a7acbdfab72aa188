//! core-pipe-helper: a deliberately slow core_pattern pipe reader.
//!
//! `core-pipe-helper --out PATH [--delay-ms D=50] [--chunk-kib C=64]`
//!
//! Run by the kernel as `core_pattern = |/bin/core-pipe-helper --out /tmp/core`: reads
//! the core from stdin C KiB at a time, sleeping D ms after each chunk, and writes it
//! unchanged to PATH. The slowness keeps the dumping task (coredump-victim) inside
//! do_coredump() for a long time while it still holds all its memory. Exits 0 once
//! stdin ends; 1 if PATH cannot be written; 2 on bad arguments.
//!
//! At the end it says in the kernel log whether the core is whole:
//! `oomlab-core: wrote N of M bytes (complete|truncated)`, M being where the core's own
//! program headers say its last segment ends. A dump the OOM killer cut short ends
//! early; the harness records it (`core_dump` in the record).

use oomlab_workloads::core_file;
use oomlab_workloads::guest::{self, Flags};
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: core-pipe-helper --out PATH [--delay-ms D] [--chunk-kib C]";

#[derive(Debug, PartialEq)]
struct Args {
    out: String,
    delay_ms: u64,
    chunk_kib: usize,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = None;
    let mut a = Args {
        out: String::new(),
        delay_ms: 50,
        chunk_kib: 64,
    };
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--out" => out = Some(f.value(flag)?.to_string()),
            "--delay-ms" => a.delay_ms = f.number(flag)?,
            "--chunk-kib" => a.chunk_kib = f.number::<usize>(flag)?.max(1),
            other => return Err(f.unknown(other)),
        }
    }
    a.out = out.ok_or_else(|| f.error("--out is required"))?;
    Ok(a)
}

/// Copy `input` to `output` in chunks of `chunk` bytes (the last may be short), sleeping
/// `delay` after each. Returns the bytes copied.
fn pump(
    mut input: impl Read,
    mut output: impl Write,
    chunk: usize,
    delay: Duration,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; chunk];
    let mut total = 0u64;
    loop {
        // Fill a whole chunk: pipe reads return whatever is there, often less.
        let mut n = 0;
        while n < chunk {
            match input.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if n == 0 {
            return Ok(total);
        }
        output.write_all(&buf[..n])?;
        total += n as u64;
        if n < chunk {
            return Ok(total);
        }
        std::thread::sleep(delay);
    }
}

fn main() -> ExitCode {
    let a = guest::parse_or_exit("core-pipe-helper", parse);
    let out = match std::fs::File::create(&a.out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("core-pipe-helper: cannot create {}: {e}", a.out);
            return ExitCode::FAILURE;
        }
    };
    let delay = Duration::from_millis(a.delay_ms);
    match pump(std::io::stdin().lock(), out, a.chunk_kib * 1024, delay) {
        Ok(written) => {
            core_file::report(written, &a.out);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("core-pipe-helper: copying the core to {}: {e}", a.out);
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
        let a = p("--out /tmp/core").unwrap();
        assert_eq!(
            (a.out.as_str(), a.delay_ms, a.chunk_kib),
            ("/tmp/core", 50, 64)
        );
        let a = p("--delay-ms 0 --chunk-kib 4 --out x").unwrap();
        assert_eq!((a.delay_ms, a.chunk_kib), (0, 4));
        assert!(p("--delay-ms 1").unwrap_err().contains("--out is required"));
        assert!(p("--out").unwrap_err().contains("needs a value"));
    }

    /// A reader that hands out at most 3 bytes per read, as a pipe might.
    struct Dribble<'a>(&'a [u8]);

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(3).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn copies_everything_through_short_reads() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let mut out = Vec::new();
        let n = pump(Dribble(&data), &mut out, 64, Duration::ZERO).unwrap();
        assert_eq!(n, 1000);
        assert_eq!(out, data);
        // An exact multiple of the chunk ends cleanly too.
        let mut out = Vec::new();
        assert_eq!(
            pump(&data[..128], &mut out, 64, Duration::ZERO).unwrap(),
            128
        );
        assert_eq!(out, &data[..128]);
        assert_eq!(pump(&[][..], Vec::new(), 64, Duration::ZERO).unwrap(), 0);
    }
}
