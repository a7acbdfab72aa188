//! Matrices (docs/matrix.md): plan files, parallel guests, resume after SIGINT, shards
//! and their merge, and a real single-node Slurm when one is running.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(600);

fn write_plan(dir: &Path, kernels: &[&str], reps: u32) -> PathBuf {
    let kernels: Vec<String> = kernels.iter().map(|k| format!("{k:?}")).collect();
    let path = dir.join("plan.toml");
    std::fs::write(
        &path,
        format!(
            "kernels = [{}]\nscenarios = [\"usemem\"]\nreps = {reps}\naccel = \"tcg\"\n",
            kernels.join(", ")
        ),
    )
    .unwrap();
    path
}

fn run_plan(plan: &Path, out: &Path, extra: &[&str], limit: Duration) -> std::process::Output {
    run_bounded(
        oomlab()
            .arg("run")
            .args(extra)
            .arg("--plan")
            .arg(plan)
            .arg("--out")
            .arg(out),
        limit,
    )
}

/// (cell, rep) -> how many records, checking every record names one plan.
fn cells(recs: &[Value]) -> BTreeMap<(String, u64), usize> {
    let id = recs[0]["plan"]["id"].clone();
    let mut out = BTreeMap::new();
    for r in recs {
        assert_eq!(r["plan"]["id"], id, "{}", r["plan"]);
        assert_eq!(r["plan"]["variant"], "default");
        let key = (
            r["plan"]["cell"].as_str().unwrap().to_string(),
            r["rep"].as_u64().unwrap(),
        );
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

fn expected(kernels: &[&str], reps: u64) -> BTreeMap<(String, u64), usize> {
    kernels
        .iter()
        .flat_map(|k| (0..reps).map(move |r| ((format!("{k}|usemem|default"), r), 1)))
        .collect()
}

#[test]
fn a_plan_runs_every_cell_with_parallel_guests() {
    let dir = tempfile::tempdir().unwrap();
    let kernels = ["debian:6.1", "debian:6.12"];
    let plan = write_plan(dir.path(), &kernels, 2);
    let out = dir.path().join("out");
    let o = run_plan(&plan, &out, &["--jobs", "2"], LIMIT);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let recs = records(&out);
    assert_eq!(cells(&recs), expected(&kernels, 2));
    for r in &recs {
        assert_eq!(r["outcome"], "recovered", "{}", r["outcome_reason"]);
        // Two single-threaded TCG guests on this machine's two cores, each pinned to
        // a core of its own.
        assert_eq!(r["guest"]["cpus_shared"], false);
        let pinned = &r["guest"]["pinned_cpus"];
        assert!(
            pinned == &serde_json::json!([0]) || pinned == &serde_json::json!([1]),
            "{pinned}"
        );
    }
    // The plan is kept beside its records.
    let id = recs[0]["plan"]["id"].as_str().unwrap();
    assert!(out.join(format!("plans/{id}.json")).is_file());
    // Running the same plan into the same --out again is refused, before any boot.
    let o = run_plan(&plan, &out, &[], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    assert_eq!(records(&out).len(), 4);
}

#[test]
fn an_interrupted_matrix_resumes_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let kernels = ["debian:6.1"];
    let plan = write_plan(dir.path(), &kernels, 3);
    let out = dir.path().join("out");
    let mut child = oomlab()
        .args(["run", "--jobs", "2", "--plan"])
        .arg(&plan)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut qemus = Vec::new();
    let first = wait_until(LIMIT, || {
        qemus.extend(children_named(pid, "qemu-system"));
        !records(&out).is_empty()
    });
    assert!(first, "no record appeared");
    qemus.extend(children_named(pid, "qemu-system"));
    let st = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(
        wait_until(Duration::from_secs(30), || matches!(
            child.try_wait(),
            Ok(Some(_))
        )),
        "oomlab did not exit after SIGINT"
    );
    assert_eq!(child.wait().unwrap().code(), Some(130));
    for q in &qemus {
        assert!(
            wait_until(Duration::from_secs(5), || !alive(*q)),
            "QEMU {q} survived SIGINT"
        );
    }
    let before = records(&out).len();
    assert!((1..3).contains(&before), "{before} records after SIGINT");

    let o = run_plan(&plan, &out, &["--resume"], LIMIT);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{before} already recorded")),
        "{}",
        stderr(&o)
    );
    assert_eq!(cells(&records(&out)), expected(&kernels, 3));
}

fn shard(plan: &Path, out: &Path, which: &str) -> std::process::Child {
    oomlab()
        .args(["run", "--jobs", "1", "--shard", which, "--plan"])
        .arg(plan)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn two_shards_merge_into_the_whole_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let kernels = ["debian:6.12"];
    let plan = write_plan(dir.path(), &kernels, 2);
    let (s0, s1) = (dir.path().join("s0"), dir.path().join("s1"));
    // Both shards at once, as two batch tasks would.
    let (a, b) = (shard(&plan, &s0, "0/2"), shard(&plan, &s1, "1/2"));
    for c in [a, b] {
        let o = c.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    assert_eq!(records(&s0).len(), 1);
    assert_eq!(records(&s1).len(), 1);

    let merged = dir.path().join("merged");
    // One shard alone: merged, with the missing run named and exit 3.
    let o = run_bounded(
        oomlab().arg("merge").arg(&merged).arg(&s0),
        Duration::from_secs(60),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(text.contains("debian:6.12|usemem|default rep 1"), "{text}");
    // Both: complete; s0's run was merged already and is not copied twice.
    let o = run_bounded(
        oomlab().arg("merge").arg(&merged).arg(&s0).arg(&s1),
        Duration::from_secs(60),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let recs = records(&merged);
    assert_eq!(cells(&recs), expected(&kernels, 2));
    for r in &recs {
        // The run's folder came along: its artifacts and its record.
        assert!(!artifact(&merged, r, "events").is_empty());
        let dir = merged.join(r["artifacts"]["dir"].as_str().unwrap());
        assert!(dir.join("record.json").is_file());
    }
}

#[test]
fn a_bad_plan_file_is_one_line_with_its_place_and_boots_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\"]\n[[settings]]\nname = \"x\"\nset = [\"vm.oom_kill_allocating_task\"]\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run_plan(&plan, &out, &[], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("oomlab: {}:5: ", plan.display())) && err.contains("key=value"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written for a bad plan");
}

fn require_slurm() {
    let up = Command::new("timeout")
        .args(["10", "sinfo", "-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| {
            o.status.success() && {
                let s = String::from_utf8_lossy(&o.stdout);
                s.contains("idle") || s.contains("mixed") || s.contains("alloc")
            }
        });
    // scripts/setup starts one: a missing Slurm fails the test rather than skipping it.
    assert!(
        up,
        "no Slurm node answers; run scripts/setup (it starts one with scripts/slurm-local)"
    );
}

#[test]
fn slurm_runs_a_plan_as_an_array_and_merges_it() {
    require_slurm();
    let dir = tempfile::tempdir().unwrap();
    let kernels = ["debian:6.1"];
    let plan = write_plan(dir.path(), &kernels, 2);
    let out = dir.path().join("slurm");
    let o = run_bounded(
        oomlab()
            .args(["slurm-script", "--shards", "2", "--out"])
            .arg(&out)
            .arg(&plan),
        Duration::from_secs(60),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let script = dir.path().join("job.sh");
    std::fs::write(&script, &o.stdout).unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let name = text
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --job-name="))
        .expect("the script names its job")
        .to_string();
    let sub = Command::new("sbatch")
        .arg("--parsable")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(sub.status.success(), "{}", stderr(&sub));
    let job = String::from_utf8_lossy(&sub.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // Done when the array and the merge job it submitted have left the queue.
    let mut seen_merge = false;
    let finished = wait_until(LIMIT, || {
        let q = Command::new("squeue")
            .args(["-h", "-o", "%j", "--name"])
            .arg(format!("{name},{name}-merge"))
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        std::thread::sleep(Duration::from_millis(900));
        seen_merge |= merge_logs(&out) > 0;
        q.trim().is_empty() && seen_merge && !records(&out).is_empty()
    });
    let logs: String = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("slurm-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    if !finished {
        let _ = Command::new("scancel").arg(&job).status();
    }
    assert!(finished, "the Slurm job did not finish; logs:\n{logs}");
    assert_eq!(cells(&records(&out)), expected(&kernels, 2), "{logs}");
    assert!(logs.contains("complete: 2 runs"), "{logs}");
}

fn merge_logs(out: &Path) -> usize {
    std::fs::read_dir(out)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with("-merge.out"))
                .count()
        })
        .unwrap_or(0)
}
