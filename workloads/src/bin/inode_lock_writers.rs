//! inode-lock-writers: many writers queued on one inode's lock while memory runs out.
//!
//! `inode-lock-writers --file PATH --threads N [--write-kib K=256] [--percent P]`
//!
//! N threads write() K KiB buffers in a loop to one file, each through its own O_APPEND
//! descriptor, so they queue on the inode's i_rwsem while the holder allocates page
//! cache under it. (Through one shared descriptor they would queue on its f_pos lock
//! instead, in `fdget_pos`, before ever reaching the inode: seen in the first runs.) With
//! `--percent`, one more thread touches P% of MemTotal and holds it: the task that
//! drives the machine into OOM while the writers wait. In the style of Tetsuo Handa's
//! lockup reports (2016-2018), where tasks stuck in mutex/rwsem waits on a shared inode
//! kept the OOM victim from exiting. Runs until killed; at ENOSPC/EFBIG the file is
//! truncated and the writers go on.

use oomlab_workloads::guest::{self, Flags};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

const USAGE: &str =
    "usage: inode-lock-writers --file PATH --threads N [--write-kib K] [--percent P]";

#[derive(Debug, PartialEq)]
struct Args {
    file: String,
    threads: u64,
    write_kib: usize,
    percent: Option<u64>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let (mut file, mut threads) = (None, None);
    let mut out = Args {
        file: String::new(),
        threads: 0,
        write_kib: 256,
        percent: None,
    };
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--file" => file = Some(f.value(flag)?.to_string()),
            "--threads" => threads = Some(f.number(flag)?),
            "--write-kib" => out.write_kib = f.number::<usize>(flag)?.max(1),
            "--percent" => out.percent = Some(f.number(flag)?),
            other => return Err(f.unknown(other)),
        }
    }
    out.file = file.ok_or_else(|| f.error("--file is required"))?;
    out.threads = threads.ok_or_else(|| f.error("--threads is required"))?;
    if out.threads == 0 {
        return Err(f.error("--threads must be at least 1"));
    }
    Ok(out)
}

static WRITTEN: AtomicU64 = AtomicU64::new(0);
static ERRORS: AtomicU64 = AtomicU64::new(0);

/// Write `buf` to `file` `rounds` times (u64::MAX: in effect forever). A full file system or file-size
/// limit truncates the file and goes on: the point is the lock, not the data.
fn writer(mut file: &File, buf: &[u8], rounds: u64) {
    let mut reported = false;
    let mut done = 0u64;
    while done < rounds {
        done += 1;
        match file.write(buf) {
            Ok(n) => {
                WRITTEN.fetch_add(n as u64, Relaxed);
            }
            Err(e) => {
                ERRORS.fetch_add(1, Relaxed);
                if !reported {
                    reported = true;
                    eprintln!("inode-lock-writers: write: {e}");
                }
                if matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EFBIG)) {
                    let _ = file.set_len(0);
                } else {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
}

fn open(path: &str) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .open(path)
}

fn main() -> ExitCode {
    let args = guest::parse_or_exit("inode-lock-writers", parse);
    let file: &'static File = match open(&args.file) {
        Ok(f) => Box::leak(Box::new(f)),
        Err(e) => {
            eprintln!("inode-lock-writers: cannot open {}: {e}", args.file);
            return ExitCode::FAILURE;
        }
    };
    let pid = std::process::id();
    if let Some(p) = args.percent {
        std::thread::spawn(move || {
            match guest::touch_percent(&format!("inode-lock-writers[{pid}]"), p) {
                Ok(_held) => guest::hold_forever(),
                Err(e) => eprintln!("inode-lock-writers[{pid}]: {e}"),
            }
        });
    }
    for i in 0..args.threads {
        // Distinct contents per thread, so interleaving is visible in the file.
        let buf = vec![b'a' + (i % 26) as u8; args.write_kib * 1024];
        let own: &'static File = match open(&args.file) {
            Ok(f) => Box::leak(Box::new(f)),
            Err(e) => {
                eprintln!("inode-lock-writers: cannot open {}: {e}", args.file);
                file
            }
        };
        std::thread::spawn(move || writer(own, &buf, u64::MAX));
    }
    println!(
        "inode-lock-writers[{pid}]: {} writers of {} KiB on {}",
        args.threads, args.write_kib, args.file
    );
    guest::report_forever(|| {
        format!(
            "inode-lock-writers[{pid}]: written {} MiB, errors {}",
            WRITTEN.load(Relaxed) >> 20,
            ERRORS.load(Relaxed)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Args, String> {
        parse(&guest::words(s))
    }

    #[test]
    fn parses_arguments() {
        let a = p("--file /scratch/f --threads 8").unwrap();
        assert_eq!(
            a,
            Args {
                file: "/scratch/f".into(),
                threads: 8,
                write_kib: 256,
                percent: None
            }
        );
        let a = p("--threads 2 --file f --write-kib 4 --percent 120").unwrap();
        assert_eq!((a.write_kib, a.percent), (4, Some(120)));
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(p("--threads 2").unwrap_err().contains("--file is required"));
        assert!(p("--file f").unwrap_err().contains("--threads is required"));
        assert!(p("--file f --threads 0")
            .unwrap_err()
            .contains("at least 1"));
        assert!(p("--file f --threads 1 --percent")
            .unwrap_err()
            .contains("needs a value"));
    }

    #[test]
    fn concurrent_appends_keep_whole_buffers() {
        let path = std::env::temp_dir().join(format!("ilw-test-{}", std::process::id()));
        let file: &'static File = Box::leak(Box::new(open(path.to_str().unwrap()).unwrap()));
        let threads: Vec<_> = (0..3u8)
            .map(|i| std::thread::spawn(move || writer(file, &[b'a' + i; 4096], 10)))
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let data = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(data.len(), 3 * 10 * 4096);
        // O_APPEND writes serialize on the inode: each 4 KiB block comes from one writer.
        for block in data.chunks(4096) {
            assert!(block.iter().all(|&b| b == block[0]));
        }
    }
}
