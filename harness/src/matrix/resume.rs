//! What of a plan is already in --out: completed runs are counted per (plan id, cell,
//! rep) from runs.jsonl. An interrupted run left no record (only a `.interrupted`
//! folder), so it counts as missing and runs again.

use super::expand::{Item, Matrix};
use oomlab_results::RunRecord;
use std::collections::BTreeMap;

/// Records of plan `id`, counted per (cell, rep).
pub fn completed(records: &[RunRecord], id: &str) -> BTreeMap<(String, u32), usize> {
    let mut done = BTreeMap::new();
    for r in records {
        if let Some(p) = r.plan.as_ref().filter(|p| p.id == id) {
            *done.entry((p.cell.clone(), r.rep)).or_insert(0) += 1;
        }
    }
    done
}

/// Without --resume, a store holding this plan's records is a mistake to report, not
/// a reason to append duplicates.
pub fn check_fresh(
    done: &BTreeMap<(String, u32), usize>,
    id: &str,
    out: &std::path::Path,
) -> Result<(), String> {
    let n: usize = done.values().sum();
    match n {
        0 => Ok(()),
        _ => Err(format!(
            "{} already holds {n} records of this plan (id {id}); pass --resume to run only the missing ones, or choose another --out",
            out.display()
        )),
    }
}

/// The runs of `items` that have no record yet.
pub fn missing(
    matrix: &Matrix,
    items: Vec<Item>,
    done: &BTreeMap<(String, u32), usize>,
) -> Vec<Item> {
    items
        .into_iter()
        .filter(|i| !done.contains_key(&(matrix.cells[i.cell].key.key.clone(), i.rep)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::plan::parse;
    use crate::matrix::test_record;
    use std::path::Path;

    #[test]
    fn only_missing_runs_are_run_again() {
        let spec = parse(
            Path::new("p.toml"),
            "kernels = [\"debian:6.1\", \"debian:6.12\"]\nscenarios = [\"usemem\"]\nreps = 2\n",
            Path::new("."),
        )
        .unwrap();
        let m = Matrix::expand(spec, Path::new(".")).unwrap();
        let mut recs = vec![
            test_record(&m.id, "debian:6.1|usemem|default", 0, "r027"),
            test_record(&m.id, "debian:6.12|usemem|default", 1, "r128"),
            // Another plan's record of the same cell does not count.
            test_record("otherplan", "debian:6.1|usemem|default", 1, "o1"),
        ];
        let mut legacy: RunRecord = serde_json::from_str(include_str!(
            "../../../results/tests/fixtures/compare/record.json"
        ))
        .unwrap();
        legacy.plan = None;
        recs.push(legacy);
        let done = completed(&recs, &m.id);
        assert_eq!(done.values().sum::<usize>(), 2);
        let todo = missing(&m, m.items(), &done);
        let got: Vec<(usize, u32)> = todo.iter().map(|i| (i.cell, i.rep)).collect();
        assert_eq!(got, [(1, 0), (0, 1)]);
        let e = check_fresh(&done, &m.id, Path::new("/r")).unwrap_err();
        assert!(e.contains("--resume") && e.contains("2 records"), "{e}");
        assert!(check_fresh(&completed(&recs, "nope"), "nope", Path::new("/r")).is_ok());
        // Everything done: nothing to run.
        recs.push(test_record(&m.id, "debian:6.12|usemem|default", 0, "r028"));
        recs.push(test_record(&m.id, "debian:6.1|usemem|default", 1, "r127"));
        assert!(missing(&m, m.items(), &completed(&recs, &m.id)).is_empty());
    }
}
