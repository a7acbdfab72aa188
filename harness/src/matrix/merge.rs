//! `oomlab merge OUT IN...`: join shard outputs into one store.
//!
//! Everything is checked before anything is written: every record comes from a plan,
//! all from the same plan id, and no (cell, rep) appears twice (across the inputs, or
//! against what OUT already holds). A record whose run id OUT already holds was merged
//! before and is skipped, so merging again after a late shard is safe. Run folders are
//! copied under `runs/<id>.partial` and committed with one atomic rewrite of runs.jsonl.

use super::expand::{cell_keys, items};
use super::{SavedPlan, PLANS_DIR};
use crate::error::{exit, CliError};
use oomlab_results::store::{parse_records, RECORDS_FILE};
use oomlab_results::{RunRecord, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One shard output as read.
pub struct Input {
    pub dir: PathBuf,
    pub records: Vec<RunRecord>,
    pub plans: Vec<SavedPlan>,
}

pub fn read_input(dir: &Path) -> Result<Input, String> {
    let records_path = dir.join(RECORDS_FILE);
    let plans_dir = dir.join(PLANS_DIR);
    if !records_path.exists() && !plans_dir.is_dir() {
        return Err(format!(
            "{}: no {RECORDS_FILE} and no {PLANS_DIR}/; give the --out folder of an `oomlab run --plan`",
            dir.display()
        ));
    }
    let records = match std::fs::read_to_string(&records_path) {
        Ok(text) => parse_records(&text).map_err(|(line, e)| {
            format!(
                "{}:{line}: not an oomlab record: {e}",
                records_path.display()
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(format!("{}: {e}", records_path.display())),
    };
    let mut plans = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&plans_dir) {
        for e in entries.flatten() {
            let text = std::fs::read_to_string(e.path())
                .map_err(|err| format!("{}: {err}", e.path().display()))?;
            let saved: SavedPlan = serde_json::from_str(&text)
                .map_err(|err| format!("{}: not an oomlab plan: {err}", e.path().display()))?;
            plans.push(saved);
        }
    }
    Ok(Input {
        dir: dir.to_path_buf(),
        records,
        plans,
    })
}

/// What a merge will do, decided before anything is written.
#[derive(Debug)]
pub struct MergePlan<'a> {
    pub id: String,
    /// (input number, record) to copy, in input order.
    pub copy: Vec<(usize, &'a RunRecord)>,
    pub already: usize,
}

/// The checks, on records only: same plan id everywhere, no (cell, rep) twice.
pub fn check<'a>(inputs: &'a [Input], existing: &[RunRecord]) -> Result<MergePlan<'a>, String> {
    let mut id: Option<(String, PathBuf)> = None;
    let mut seen: BTreeMap<(String, u32), (String, String)> = BTreeMap::new();
    let mut plan_ids = BTreeSet::new();
    for input in inputs {
        for p in &input.plans {
            plan_ids.insert(p.id.clone());
        }
        for r in &input.records {
            let p = r.plan.as_ref().ok_or_else(|| {
                format!(
                    "{}: run {} has no plan; merge joins the outputs of `oomlab run --plan ... --shard`",
                    input.dir.display(),
                    r.run_id
                )
            })?;
            match &id {
                None => id = Some((p.id.clone(), input.dir.clone())),
                Some((first, dir)) if *first != p.id => {
                    return Err(format!(
                    "{} holds runs of plan {} but {} holds plan {first}; merge shards of one plan",
                    input.dir.display(),
                    p.id,
                    dir.display()
                ))
                }
                Some(_) => {}
            }
        }
    }
    let id = match id {
        Some((id, _)) => id,
        // No records at all (shards with nothing to run): the saved plan names it.
        None if plan_ids.len() == 1 => plan_ids.into_iter().next().unwrap_or_default(),
        None => return Err("no records to merge and no single plan in the inputs".into()),
    };
    let existing_ids: BTreeSet<&str> = existing.iter().map(|r| r.run_id.as_str()).collect();
    for r in existing {
        if let Some(p) = r.plan.as_ref().filter(|p| p.id == id) {
            seen.insert(
                (p.cell.clone(), r.rep),
                (r.run_id.clone(), "the output".into()),
            );
        }
    }
    let mut copy = Vec::new();
    let mut already = 0;
    for (n, input) in inputs.iter().enumerate() {
        for r in &input.records {
            let p = r.plan.as_ref().expect("checked above");
            let key = (p.cell.clone(), r.rep);
            let here = input.dir.display().to_string();
            if let Some((run_id, where_)) = seen.get(&key) {
                if *run_id == r.run_id {
                    // The same run, merged before (or given twice): nothing to do.
                    already += 1;
                    continue;
                }
                return Err(format!(
                    "cell {} rep {} appears twice: run {} in {where_} and run {} in {here}; were shards run with different --shard counts?",
                    p.cell, r.rep, run_id, r.run_id
                ));
            }
            seen.insert(key, (r.run_id.clone(), here));
            if existing_ids.contains(r.run_id.as_str()) {
                already += 1;
            } else {
                copy.push((n, r));
            }
        }
    }
    Ok(MergePlan { id, copy, already })
}

/// Runs of the plan with no record among `records`: `CELL rep N` lines.
pub fn missing(saved: &SavedPlan, records: &[RunRecord]) -> Vec<String> {
    let done = super::resume::completed(records, &saved.id);
    let keys = cell_keys(&saved.plan);
    items(keys.len(), saved.plan.reps)
        .into_iter()
        .filter(|i| !done.contains_key(&(keys[i.cell].key.clone(), i.rep)))
        .map(|i| format!("{} rep {}", keys[i.cell].key, i.rep))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            std::fs::create_dir(&dest)?;
            copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)?;
        }
    }
    Ok(())
}

pub fn run(out: &Path, dirs: &[PathBuf]) -> Result<u8, CliError> {
    let usage = CliError::Usage;
    let inputs = dirs
        .iter()
        .map(|d| read_input(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    let store = Store::open(out).map_err(|e| CliError::Usage(e.to_string()))?;
    let existing = store.load().map_err(|e| CliError::Usage(e.to_string()))?;
    let plan = check(&inputs, &existing).map_err(usage)?;

    let internal = |e: String| CliError::Internal(e);
    let mut runs: Vec<(oomlab_results::RunDir, &RunRecord)> = Vec::new();
    for (n, r) in &plan.copy {
        let run = store
            .begin_run(&r.run_id)
            .map_err(|e| internal(e.to_string()))?;
        let from = inputs[*n].dir.join(&r.artifacts.dir);
        if let Err(e) = copy_dir(&from, &run.path) {
            let _ = std::fs::remove_dir_all(&run.path);
            for (run, _) in &runs {
                let _ = std::fs::remove_dir_all(&run.path);
            }
            return Err(internal(format!("cannot copy {}: {e}", from.display())));
        }
        runs.push((run, *r));
    }
    let copied = runs.len();
    store
        .commit_all(runs)
        .map_err(|e| internal(e.to_string()))?;

    // Keep the plan beside the records: the largest rep count seen wins.
    let saved = inputs
        .iter()
        .flat_map(|i| &i.plans)
        .filter(|p| p.id == plan.id)
        .max_by_key(|p| p.plan.reps)
        .cloned();
    println!(
        "merged {copied} runs of plan {} from {} inputs into {} ({} already there)",
        plan.id,
        inputs.len(),
        store.root().display(),
        plan.already
    );
    let Some(saved) = saved else {
        eprintln!(
            "oomlab: no plans/{}.json in the inputs; cannot tell which runs are missing",
            plan.id
        );
        return Ok(exit::OK);
    };
    super::save_plan(store.root(), &saved).map_err(internal)?;
    let all = store.load().map_err(|e| internal(e.to_string()))?;
    let missing = missing(&saved, &all);
    if missing.is_empty() {
        println!("plan {} complete: {} runs", plan.id, saved.plan.runs());
        return Ok(exit::OK);
    }
    println!(
        "plan {} incomplete: {} of {} runs missing:",
        plan.id,
        missing.len(),
        saved.plan.runs()
    );
    for m in &missing {
        println!("  {m}");
    }
    Ok(exit::RUN_FAILED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::plan::parse;
    use crate::matrix::test_record as record;

    fn input(dir: &str, records: Vec<RunRecord>) -> Input {
        Input {
            dir: dir.into(),
            records,
            plans: vec![],
        }
    }

    const A: &str = "debian:6.1|usemem|default";
    const B: &str = "debian:6.12|usemem|default";

    #[test]
    fn shards_of_one_plan_merge() {
        let ins = [
            input("s0", vec![record("p", A, 0, "r1"), record("p", A, 1, "r2")]),
            input("s1", vec![record("p", B, 0, "r3")]),
        ];
        let m = check(&ins, &[]).unwrap();
        assert_eq!(m.id, "p");
        assert_eq!(m.copy.len(), 3);
        // Merging again into the same output copies nothing.
        let merged: Vec<RunRecord> = m.copy.iter().map(|(_, r)| (*r).clone()).collect();
        let again = check(&ins, &merged).unwrap();
        assert_eq!((again.copy.len(), again.already), (0, 3));
    }

    #[test]
    fn different_plans_and_duplicates_are_refused() {
        let ins = [
            input("s0", vec![record("p", A, 0, "r1")]),
            input("s1", vec![record("q", A, 1, "r2")]),
        ];
        let e = check(&ins, &[]).unwrap_err();
        assert!(e.contains("plan q") && e.contains("plan p"), "{e}");
        let ins = [
            input("s0", vec![record("p", A, 0, "r1")]),
            input("s1", vec![record("p", A, 0, "r9")]),
        ];
        let e = check(&ins, &[]).unwrap_err();
        assert!(
            e.contains("appears twice") && e.contains("s0") && e.contains("s1"),
            "{e}"
        );
        // Against what the output already holds, too.
        let e = check(&ins[1..], &[record("p", A, 0, "r1")]).unwrap_err();
        assert!(e.contains("the output"), "{e}");
        let mut planless = record("p", A, 0, "r1");
        planless.plan = None;
        let e = check(&[input("s0", vec![planless])], &[]).unwrap_err();
        assert!(e.contains("has no plan"), "{e}");
    }

    #[test]
    fn missing_runs_are_named() {
        let spec = parse(
            Path::new("p.toml"),
            "kernels = [\"debian:6.1\", \"debian:6.12\"]\nscenarios = [\"usemem\"]\nreps = 2\n",
            Path::new("."),
        )
        .unwrap();
        let saved = SavedPlan {
            id: spec.id(),
            plan: spec,
        };
        let recs = [
            record(&saved.id, A, 0, "r1"),
            record(&saved.id, B, 1, "r2"),
            record(&saved.id, A, 1, "r3"),
        ];
        assert_eq!(missing(&saved, &recs), [format!("{B} rep 0")]);
    }
}
