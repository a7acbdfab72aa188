//! core-check: report whether core files written by the kernel to a directory are whole.
//!
//! `core-check [--dir D=/tmp] [--prefix P=core.]`
//!
//! For `core_pattern = /tmp/core.%p`: polls D for files named P<pid>; once process <pid>
//! has exited (a core is final when its dumper is gone), writes one line per core to
//! the kernel log, `oomlab-core: wrote N of M bytes (complete|truncated)` (see
//! core_file), which the harness records as `core_dump`. Runs until killed.

use oomlab_workloads::core_file;
use oomlab_workloads::guest::{self, Flags};
use std::collections::BTreeSet;
use std::time::Duration;

const USAGE: &str = "usage: core-check [--dir D] [--prefix P]";
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, PartialEq)]
struct Args {
    dir: String,
    prefix: String,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        dir: "/tmp".into(),
        prefix: "core.".into(),
    };
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--dir" => a.dir = f.value(flag)?.to_string(),
            "--prefix" => a.prefix = f.value(flag)?.to_string(),
            other => return Err(f.unknown(other)),
        }
    }
    Ok(a)
}

/// Whether process `pid` is gone: no /proc entry, or a zombie waiting to be reaped.
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => matches!(
            stat.rsplit(") ").next().and_then(|s| s.chars().next()),
            Some('Z' | 'X')
        ),
    }
}

/// Cores in `dir` whose dumper has exited: (path, size), by the pid in their name.
fn finished(a: &Args, is_gone: impl Fn(u32) -> bool) -> Vec<(String, u64)> {
    let Ok(entries) = std::fs::read_dir(&a.dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, u64)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let pid: u32 = name.strip_prefix(&a.prefix)?.parse().ok()?;
            let len = e.metadata().ok()?.len();
            is_gone(pid).then(|| (format!("{}/{name}", a.dir), len))
        })
        .collect();
    out.sort();
    out
}

fn main() -> ! {
    let a = guest::parse_or_exit("core-check", parse);
    let mut reported = BTreeSet::new();
    loop {
        for (path, len) in finished(&a, exited) {
            if reported.insert(path.clone()) {
                core_file::report(len, &path);
                println!("core-check: {path}: {len} bytes");
            }
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cores_of_exited_dumpers_are_final() {
        let dir = tempfile::tempdir().unwrap();
        for (name, len) in [
            ("core.10", 100),
            ("core.11", 7),
            ("core.x", 1),
            ("other.12", 1),
        ] {
            std::fs::write(dir.path().join(name), vec![0u8; len]).unwrap();
        }
        let a = Args {
            dir: dir.path().display().to_string(),
            prefix: "core.".into(),
        };
        let done = finished(&a, |pid| pid == 10);
        assert_eq!(done, [(format!("{}/core.10", a.dir), 100)]);
        assert_eq!(finished(&a, |_| true).len(), 2);
    }

    #[test]
    fn parses_arguments() {
        let a = parse(&guest::words("")).unwrap();
        assert_eq!((a.dir.as_str(), a.prefix.as_str()), ("/tmp", "core."));
        let a = parse(&guest::words("--dir /scratch --prefix c-")).unwrap();
        assert_eq!((a.dir.as_str(), a.prefix.as_str()), ("/scratch", "c-"));
        assert!(parse(&guest::words("--dir"))
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse(&guest::words("--x")).unwrap_err().contains("unknown"));
    }
}
