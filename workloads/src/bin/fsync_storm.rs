//! fsync-storm: processes that fsync and acknowledge records while the OOM killer works.
//!
//! `fsync-storm --dir DIR --children N [--record-bytes B=512] [--percent P=150]`
//!
//! The parent forks N children. Each sets its oom_score_adj to 1000 (first in line for
//! the OOM killer), truncates DIR/child-<i>.dat and DIR/child-<i>.ack, and loops: append
//! one record (format in `oomlab_workloads::fsync_log`), fsync the .dat, and only once
//! that fsync succeeded, overwrite the .ack with the record's sequence number and fsync
//! it. The parent then touches P% of MemTotal (its oom_score_adj is what it was started
//! with), so children die in the middle of writes, fsyncs and writeback under memory
//! pressure. Afterwards `fsync-verify --dir DIR` checks that every acknowledged record
//! is intact: the promise of fsync that the 2018 "fsyncgate" discussion (PostgreSQL vs
//! writeback errors) was about, here tested against OOM kills instead of I/O errors.
//! A child stops at its first failed write or fsync: nothing after it would be defined.
//! Children are SIGKILLed when the parent dies, so the storm ends as one workload.

use oomlab_workloads::fsync_log::{ack_name, dat_name, encode_ack, encode_record};
use oomlab_workloads::guest::{self, Flags};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage: fsync-storm --dir DIR --children N [--record-bytes B] [--percent P]";

#[derive(Debug, PartialEq)]
struct Args {
    dir: String,
    children: u32,
    record_bytes: usize,
    percent: u64,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let (mut dir, mut children) = (None, None);
    let mut out = Args {
        dir: String::new(),
        children: 0,
        record_bytes: 512,
        percent: 150,
    };
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--dir" => dir = Some(f.value(flag)?.to_string()),
            "--children" => children = Some(f.number(flag)?),
            "--record-bytes" => out.record_bytes = f.number(flag)?,
            "--percent" => out.percent = f.number(flag)?,
            other => return Err(f.unknown(other)),
        }
    }
    out.dir = dir.ok_or_else(|| f.error("--dir is required"))?;
    out.children = children.ok_or_else(|| f.error("--children is required"))?;
    if out.children == 0 {
        return Err(f.error("--children must be at least 1"));
    }
    if out.record_bytes > oomlab_workloads::fsync_log::MAX_PAYLOAD {
        return Err(f.error("--record-bytes is at most 1048576"));
    }
    Ok(out)
}

fn create(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

/// Write, fsync and acknowledge `rounds` records (u64::MAX: until killed).
fn child(dir: &Path, index: u32, record_bytes: usize, rounds: u64) -> Result<(), String> {
    let mut dat = create(&dir.join(dat_name(index)))?; // one writer: appends by file offset
    let ack = create(&dir.join(ack_name(index)))?;
    // The directory entries must be durable too, or a durable file could be unreachable.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("fsync of {}: {e}", dir.display()))?;
    for seq in 0..rounds {
        let step = |what: &str, r: std::io::Result<()>| {
            r.map_err(|e| format!("{what} of record {seq}: {e}"))
        };
        step(
            "write",
            dat.write_all(&encode_record(index, seq, record_bytes)),
        )?;
        step("fsync", dat.sync_all())?;
        step("ack write", ack.write_all_at(&encode_ack(index, seq), 0))?;
        step("ack fsync", ack.sync_all())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let a = guest::parse_or_exit("fsync-storm", parse);
    let dir = Path::new(&a.dir);
    let pid = std::process::id();
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("fsync-storm: cannot create {}: {e}", a.dir);
        return ExitCode::FAILURE;
    }
    let mut started = 0;
    // SAFETY: getpid cannot fail.
    let parent = unsafe { libc::getpid() };
    for i in 0..a.children {
        // SAFETY: the parent is single-threaded, so the child may run any code.
        match unsafe { libc::fork() } {
            0 => {
                guest::die_with_parent(parent);
                if let Err(e) = guest::set_oom_score_adj(1000) {
                    eprintln!("fsync-storm child {i}: {e}");
                }
                let code = match child(dir, i, a.record_bytes, u64::MAX) {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("fsync-storm child {i}: {e}");
                        1
                    }
                };
                std::process::exit(code)
            }
            -1 => eprintln!("fsync-storm: fork: {}", std::io::Error::last_os_error()),
            _ => started += 1,
        }
    }
    println!(
        "fsync-storm[{pid}]: {started} children writing in {}",
        a.dir
    );
    let held = guest::touch_percent(&format!("fsync-storm[{pid}]"), a.percent);
    if let Err(e) = &held {
        eprintln!("fsync-storm[{pid}]: {e}");
    }
    // Hold the memory while any child still writes.
    loop {
        let mut status = 0;
        // SAFETY: waiting for any child with a valid status out-parameter.
        if unsafe { libc::wait(&mut status) } < 0 {
            break;
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use oomlab_workloads::fsync_log::{check, FileReport};

    fn p(s: &str) -> Result<Args, String> {
        parse(&guest::words(s))
    }

    #[test]
    fn parses_arguments() {
        let a = p("--dir /scratch/s --children 4").unwrap();
        assert_eq!(
            a,
            Args {
                dir: "/scratch/s".into(),
                children: 4,
                record_bytes: 512,
                percent: 150
            }
        );
        let a = p("--children 1 --dir d --record-bytes 0 --percent 10").unwrap();
        assert_eq!((a.record_bytes, a.percent), (0, 10));
        assert!(p("--children 1").unwrap_err().contains("--dir is required"));
        assert!(p("--dir d").unwrap_err().contains("--children is required"));
        assert!(p("--dir d --children 0")
            .unwrap_err()
            .contains("at least 1"));
        assert!(p("--dir d --children 1 --record-bytes 2000000")
            .unwrap_err()
            .contains("at most"));
    }

    #[test]
    fn a_child_leaves_files_that_verify_clean() {
        let dir = tempfile::tempdir().unwrap();
        child(dir.path(), 3, 100, 20).unwrap();
        let dat = std::fs::read(dir.path().join("child-3.dat")).unwrap();
        let ack = std::fs::read(dir.path().join("child-3.ack")).unwrap();
        assert_eq!(dat.len(), 20 * 128);
        assert_eq!(
            check(&dat, &ack, 3),
            FileReport {
                records: 20,
                acked: 20,
                ..Default::default()
            }
        );
        // A second run starts both files afresh.
        child(dir.path(), 3, 100, 2).unwrap();
        let dat = std::fs::read(dir.path().join("child-3.dat")).unwrap();
        assert_eq!(dat.len(), 2 * 128);
    }
}
