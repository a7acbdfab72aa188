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

/// Where an ELF64 core's last segment ends, from its program headers (in `head`, the
/// first bytes of the file); None if `head` is not an ELF64 core's start.
fn expected_size(head: &[u8]) -> Option<u64> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(head.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(head.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(head.get(o..o + 8)?.try_into().ok()?));
    if head.get(..5)? != b"\x7fELF\x02" {
        return None;
    }
    let (phoff, phentsize, phnum) = (
        u64_at(0x20)? as usize,
        u16_at(0x36)? as usize,
        u16_at(0x38)?,
    );
    let mut end = 0u64;
    for i in 0..phnum as usize {
        let ph = phoff + i * phentsize;
        let _type = u32_at(ph)?;
        let (offset, filesz) = (u64_at(ph + 8)?, u64_at(ph + 32)?);
        end = end.max(offset.saturating_add(filesz));
    }
    Some(end)
}

/// One line in the kernel log (the helper's stdout goes nowhere).
fn report(written: u64, path: &str) {
    let mut head = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(1 << 20).read_to_end(&mut head);
    }
    let line = match expected_size(&head) {
        Some(expected) => format!(
            "<4>oomlab-core: wrote {written} of {expected} bytes ({})\n",
            if written >= expected {
                "complete"
            } else {
                "truncated"
            }
        ),
        None => format!("<4>oomlab-core: wrote {written} bytes, not an ELF core\n"),
    };
    if let Ok(mut kmsg) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
        let _ = kmsg.write_all(line.as_bytes());
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
            report(written, &a.out);
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

    /// An ELF64 header with two program headers ending at 4096+100 and 8192+4096.
    fn fake_core() -> Vec<u8> {
        let mut h = vec![0u8; 64 + 2 * 56];
        h[..5].copy_from_slice(b"\x7fELF\x02");
        h[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        h[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        h[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        for (i, (off, sz)) in [(4096u64, 100u64), (8192, 4096)].into_iter().enumerate() {
            let ph = 64 + i * 56;
            h[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes());
            h[ph + 8..ph + 16].copy_from_slice(&off.to_le_bytes());
            h[ph + 32..ph + 40].copy_from_slice(&sz.to_le_bytes());
        }
        h
    }

    #[test]
    fn knows_where_a_core_ends() {
        assert_eq!(expected_size(&fake_core()), Some(12288));
        assert_eq!(expected_size(b"not elf"), None);
        assert_eq!(
            expected_size(&fake_core()[..80]),
            None,
            "cut inside the headers"
        );
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
