//! Reading the runs to compare: result directories or `runs.jsonl` files, read only.

use super::CompareError;
use crate::record::RunRecord;
use crate::store::{parse_records, RECORDS_FILE};
use std::path::PathBuf;

/// Every record of every input, in the order given. A directory stands for its
/// `runs.jsonl`. An input without records is an error rather than a silently smaller
/// comparison, and so is a run read twice, which would count double.
pub fn load(inputs: &[PathBuf]) -> Result<Vec<RunRecord>, CompareError> {
    let mut all: Vec<(RunRecord, PathBuf)> = Vec::new();
    for input in inputs {
        let path = if input.is_dir() {
            input.join(RECORDS_FILE)
        } else {
            input.clone()
        };
        let text = std::fs::read_to_string(&path).map_err(|source| CompareError::Read {
            path: path.clone(),
            source,
        })?;
        let records = parse_records(&text).map_err(|(line, e)| CompareError::Corrupt {
            path: path.clone(),
            line,
            reason: e.to_string(),
        })?;
        if records.is_empty() {
            return Err(CompareError::Empty(path));
        }
        for r in records {
            if let Some((_, first)) = all.iter().find(|(o, _)| o.run_id == r.run_id) {
                return Err(CompareError::Duplicate {
                    run_id: r.run_id,
                    first: first.clone(),
                    second: path,
                });
            }
            all.push((r, path.clone()));
        }
    }
    Ok(all.into_iter().map(|(r, _)| r).collect())
}
