//! Reading the runs to compare: result directories or `runs.jsonl` files, read only.

use super::CompareError;
use crate::record::RunRecord;
use crate::store::{parse_records, RECORDS_FILE};
use std::path::{Path, PathBuf};

/// The records read, each with the results directory it came from: a record's artifact
/// paths (`artifacts.timeline`, ...) are relative to that directory.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub records: Vec<RunRecord>,
    /// `dirs[i]` is the results directory of `records[i]`.
    pub dirs: Vec<PathBuf>,
}

impl Loaded {
    /// The results directory of the run with this id.
    pub fn dir_of(&self, run_id: &str) -> Option<&Path> {
        let i = self.records.iter().position(|r| r.run_id == run_id)?;
        self.dirs.get(i).map(PathBuf::as_path)
    }
}

/// Every record of every input, in the order given. A directory stands for its
/// `runs.jsonl`. An input without records is an error rather than a silently smaller
/// comparison, and so is a run read twice, which would count double.
pub fn load(inputs: &[PathBuf]) -> Result<Vec<RunRecord>, CompareError> {
    Ok(load_with_dirs(inputs)?.records)
}

/// As [`load`], keeping each record's results directory (the input itself, or the
/// folder holding the `runs.jsonl` given).
pub fn load_with_dirs(inputs: &[PathBuf]) -> Result<Loaded, CompareError> {
    let mut all: Vec<(RunRecord, PathBuf)> = Vec::new();
    let mut loaded = Loaded::default();
    for input in inputs {
        let (path, dir) = if input.is_dir() {
            (input.join(RECORDS_FILE), input.clone())
        } else {
            let dir = input.parent().map_or_else(PathBuf::new, Path::to_path_buf);
            (input.clone(), dir)
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
            loaded.dirs.push(dir.clone());
        }
    }
    loaded.records = all.into_iter().map(|(r, _)| r).collect();
    Ok(loaded)
}
