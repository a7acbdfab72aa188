//! fsync-verify: check what fsync-storm's children left behind.
//!
//! `fsync-verify --dir DIR`
//!
//! Reads every child-<i>.dat / child-<i>.ack pair in DIR and prints one JSON line:
//! `{"files":n,"records":n,"acked":n,"lost_acked":n,"corrupt_records":n,
//! "torn_tail_records":n,"files_with_problems":["child-3.dat",...]}`.
//! records: intact records in sequence order; acked: records the .ack files vouch for;
//! lost_acked: acknowledged sequence numbers with no intact record (data a successful
//! fsync promised); corrupt_records: damaged, missing or misplaced records with intact
//! or non-zero data after them; torn_tail_records: files ending in one damaged record
//! followed only by zeros (never acknowledged, so allowed). A file has problems when it
//! lost acknowledged data, holds corrupt records, or its .ack is not a valid ack.
//! Exit 0 when the verification ran (whatever it found), 1 if DIR cannot be read,
//! 2 on bad arguments. The classification lives in `oomlab_workloads::fsync_log`.

use oomlab_workloads::fsync_log::{ack_name, check, dat_name, index_of, FileReport};
use oomlab_workloads::guest::{self, Flags};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage: fsync-verify --dir DIR";

fn parse(args: &[String]) -> Result<String, String> {
    let mut dir = None;
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--dir" => dir = Some(f.value(flag)?.to_string()),
            other => return Err(f.unknown(other)),
        }
    }
    dir.ok_or_else(|| f.error("--dir is required"))
}

/// A file's contents; a missing file reads as empty, an unreadable one as None.
fn contents(path: &Path) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Vec::new()),
        Err(e) => {
            eprintln!("fsync-verify: {}: {e}", path.display());
            None
        }
    }
}

fn verify(dir: &Path) -> std::io::Result<String> {
    let mut indices = BTreeSet::new();
    for entry in std::fs::read_dir(dir)? {
        if let Some(i) = index_of(&entry?.file_name().to_string_lossy()) {
            indices.insert(i);
        }
    }
    let mut total = FileReport::default();
    let mut problems = Vec::new();
    for &i in &indices {
        let dat = contents(&dir.join(dat_name(i)));
        let ack = contents(&dir.join(ack_name(i)));
        let r = check(
            dat.as_deref().unwrap_or_default(),
            ack.as_deref().unwrap_or_default(),
            i,
        );
        if r.has_problems() || dat.is_none() || ack.is_none() {
            problems.push(dat_name(i));
        }
        total.records += r.records;
        total.acked += r.acked;
        total.lost_acked += r.lost_acked;
        total.corrupt += r.corrupt;
        total.torn_tail += r.torn_tail;
    }
    // Written by hand to keep the keys in this order (serde_json would sort them).
    Ok(format!(
        "{{\"files\":{},\"records\":{},\"acked\":{},\"lost_acked\":{},\"corrupt_records\":{},\"torn_tail_records\":{},\"files_with_problems\":{}}}",
        indices.len(),
        total.records,
        total.acked,
        total.lost_acked,
        total.corrupt,
        total.torn_tail,
        serde_json::Value::from(problems),
    ))
}

fn main() -> ExitCode {
    let dir = guest::parse_or_exit("fsync-verify", parse);
    match verify(Path::new(&dir)) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fsync-verify: cannot read {dir}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oomlab_workloads::fsync_log::{encode_ack, encode_record};

    fn records(index: u32, seqs: std::ops::Range<u64>) -> Vec<u8> {
        seqs.flat_map(|s| encode_record(index, s, 32)).collect()
    }

    #[test]
    fn parses_arguments() {
        assert_eq!(parse(&guest::words("--dir /x")), Ok("/x".to_string()));
        assert!(parse(&[]).unwrap_err().contains("--dir is required"));
        assert!(parse(&guest::words("--dir"))
            .unwrap_err()
            .contains("needs a value"));
    }

    #[test]
    fn sums_a_directory_and_names_the_bad_files() {
        let d = tempfile::tempdir().unwrap();
        let put = |name: &str, b: &[u8]| std::fs::write(d.path().join(name), b).unwrap();
        // 0: clean. 1: torn tail. 2: corrupt middle. 3: acked but missing. 4: ack only.
        put("child-0.dat", &records(0, 0..4));
        put("child-0.ack", &encode_ack(0, 3));
        let mut torn = records(1, 0..4);
        torn.extend_from_slice(&encode_record(1, 4, 32)[..10]);
        put("child-1.dat", &torn);
        put("child-1.ack", &encode_ack(1, 3));
        let mut bad = records(2, 0..4);
        bad[60 + 30] ^= 1; // inside record 1 (records are 60 bytes)
        put("child-2.dat", &bad);
        put("child-2.ack", &encode_ack(2, 3));
        put("child-3.dat", &records(3, 0..2));
        put("child-3.ack", &encode_ack(3, 3));
        put("child-4.ack", &encode_ack(4, 0));
        put("unrelated.txt", b"x");
        let line = verify(d.path()).unwrap();
        assert!(line.starts_with(r#"{"files":5,"records":13,"#), "{line}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&line).unwrap(),
            serde_json::json!({
                "files": 5, "records": 13, "acked": 17, "lost_acked": 4,
                "corrupt_records": 1, "torn_tail_records": 1,
                "files_with_problems": ["child-2.dat", "child-3.dat", "child-4.dat"],
            })
        );
    }

    #[test]
    fn an_unreadable_directory_is_an_error() {
        assert!(verify(Path::new("/nonexistent/fsync-verify")).is_err());
    }
}
