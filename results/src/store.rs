//! The results directory: `runs.jsonl` plus one folder of artifacts per run.
//!
//! Nothing is ever half-written or silently overwritten:
//! - a run's folder is created as `runs/<id>.partial` (creation fails if it exists) and
//!   renamed to `runs/<id>` only when its record is complete;
//! - `runs.jsonl` is replaced atomically (write a temporary file, fsync, rename) under an
//!   exclusive lock, so concurrent oomlab processes appending to one store serialise and
//!   a crash leaves either the old file or the new one;
//! - a run that was interrupted keeps its artifacts under `runs/<id>.interrupted` and
//!   adds no record.

use crate::record::RunRecord;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const RECORDS_FILE: &str = "runs.jsonl";
const RUNS_DIR: &str = "runs";
const LOCK_FILE: &str = ".oomlab.lock";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot use {path} as the output directory: {source}; choose a writable --out")]
    Unwritable { path: PathBuf, source: io::Error },
    #[error("{path} is not an oomlab results file (line {line}: {reason}); choose another --out")]
    Foreign {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("run {0} already exists in this store; run ids must be unique")]
    Duplicate(String),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub struct Store {
    root: PathBuf,
}

/// A run's artifact folder while the run is in progress.
#[derive(Debug)]
pub struct RunDir {
    pub run_id: String,
    /// Where artifacts are written during the run.
    pub path: PathBuf,
}

impl Store {
    /// Open (creating if needed) a results directory and prove it is writable, before
    /// any guest boots.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let unwritable = |source| StoreError::Unwritable {
            path: root.to_path_buf(),
            source,
        };
        fs::create_dir_all(root.join(RUNS_DIR)).map_err(unwritable)?;
        tempfile::NamedTempFile::new_in(root).map_err(unwritable)?;
        // Absolute from here on: QEMU runs with a run folder as its working directory,
        // so a relative --out would point somewhere else for it.
        let root = root.canonicalize().map_err(unwritable)?;
        let store = Store { root };
        store.load()?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn records_path(&self) -> PathBuf {
        self.root.join(RECORDS_FILE)
    }

    /// Every record in the store, in the order they were added.
    pub fn load(&self) -> Result<Vec<RunRecord>, StoreError> {
        let path = self.records_path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::Unwritable { path, source }),
        };
        parse_records(&text).map_err(|(line, e)| StoreError::Foreign {
            path,
            line,
            reason: e.to_string(),
        })
    }

    /// Create the folder for a new run. Fails rather than reuse an existing one.
    pub fn begin_run(&self, run_id: &str) -> Result<RunDir, StoreError> {
        let final_path = self.run_path(run_id);
        let path = self.root.join(RUNS_DIR).join(format!("{run_id}.partial"));
        if final_path.exists() {
            return Err(StoreError::Duplicate(run_id.to_string()));
        }
        fs::create_dir(&path).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => StoreError::Duplicate(run_id.to_string()),
            _ => StoreError::Io {
                path: path.clone(),
                source: e,
            },
        })?;
        Ok(RunDir {
            run_id: run_id.to_string(),
            path,
        })
    }

    /// Where a committed run's artifacts live.
    pub fn run_path(&self, run_id: &str) -> PathBuf {
        self.root.join(RUNS_DIR).join(run_id)
    }

    /// Artifact path of a run relative to the store root, as records name them.
    pub fn relative_run_dir(run_id: &str) -> String {
        format!("{RUNS_DIR}/{run_id}")
    }

    /// Finish a run: its record goes into its folder and into `runs.jsonl`.
    pub fn commit(&self, run: RunDir, record: &RunRecord) -> Result<PathBuf, StoreError> {
        let final_path = self.run_path(&run.run_id);
        self.commit_all(vec![(run, record)])?;
        Ok(final_path)
    }

    /// Finish several runs with one rewrite of `runs.jsonl` (merging shards would
    /// otherwise rewrite it once per record). Every id is checked before anything moves.
    pub fn commit_all(&self, runs: Vec<(RunDir, &RunRecord)>) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let existing = self.load()?;
        let mut ids = std::collections::HashSet::new();
        for (run, record) in &runs {
            if existing.iter().any(|r| r.run_id == record.run_id)
                || !ids.insert(record.run_id.as_str())
                || self.run_path(&run.run_id).exists()
            {
                return Err(StoreError::Duplicate(record.run_id.clone()));
            }
        }
        let records = self.records_path();
        let mut bytes = match fs::read(&records) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&records)(e)),
        };
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            bytes.push(b'\n');
        }
        for (run, record) in runs {
            let pretty = serde_json::to_vec_pretty(record).unwrap_or_default();
            write_atomically(&run.path.join("record.json"), &pretty)?;
            let final_path = self.run_path(&run.run_id);
            fs::rename(&run.path, &final_path).map_err(io_err(&final_path))?;
            bytes.extend_from_slice(record.to_line().as_bytes());
            bytes.push(b'\n');
        }
        write_atomically(&records, &bytes)
    }

    /// Keep an interrupted run's artifacts for inspection, without a record.
    pub fn abandon(&self, run: RunDir) -> PathBuf {
        let dest = self
            .root
            .join(RUNS_DIR)
            .join(format!("{}.interrupted", run.run_id));
        match fs::rename(&run.path, &dest) {
            Ok(()) => dest,
            Err(_) => run.path,
        }
    }

    fn lock(&self) -> Result<File, StoreError> {
        let path = self.root.join(LOCK_FILE);
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        f.lock().map_err(io_err(&path))?;
        Ok(f)
    }
}

/// The records of a `runs.jsonl` text, blank lines skipped; on failure the 1-based line
/// number and why.
pub fn parse_records(text: &str) -> Result<Vec<RunRecord>, (usize, serde_json::Error)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| (i + 1, e)))
        .collect()
}

/// Write `bytes` to `path` so that readers see the old content or the new, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(path))?;
    tmp.write_all(bytes).map_err(io_err(path))?;
    // A temporary file is created 0600; results and reports are for others to read.
    use std::os::unix::fs::PermissionsExt;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(io_err(path))?;
    tmp.as_file().sync_all().map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| io_err(path)(e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
