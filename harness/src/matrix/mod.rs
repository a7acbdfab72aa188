//! `oomlab run` over a matrix: kernels × setting sets × scenarios × repetitions
//! (docs/matrix.md). Everything is checked and every kernel prepared before the first
//! guest boots; then up to `--jobs` guests run at once, each run recorded atomically.

pub mod expand;
pub mod jobs;
pub mod merge;
pub mod plan;
pub mod resume;
pub mod shard;
pub mod slurm;

use crate::cleanup;
use crate::error::CliError;
use crate::progress::Progress;
use crate::qemu::command::{Accel, TcgThreads};
use crate::run::{self, Prepared, RunOptions, RunTag, Tools};
use expand::{Item, Matrix};
use oomlab_results::{RunRecord, Store};
use plan::PlanSpec;
use serde::{Deserialize, Serialize};
use shard::ShardArg;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Where a store keeps the plans its records came from: `plans/<id>.json`.
pub const PLANS_DIR: &str = "plans";

/// A plan as kept beside its records, so merge can tell which runs are missing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub id: String,
    pub plan: PlanSpec,
}

/// How to run a plan (everything that is not the plan itself).
pub struct Request {
    pub spec: PlanSpec,
    /// The plan file's folder: relative scenario files are found from there.
    pub base: PathBuf,
    pub resume: bool,
    pub shard: Option<ShardArg>,
    pub shard_count: Option<u32>,
    pub jobs: Option<u32>,
}

fn usage(e: impl ToString) -> CliError {
    CliError::Usage(e.to_string())
}

pub fn save_plan(root: &Path, saved: &SavedPlan) -> Result<(), String> {
    let dir = root.join(PLANS_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_vec_pretty(saved).unwrap_or_default();
    oomlab_results::store::write_atomically(&dir.join(format!("{}.json", saved.id)), &json)
        .map_err(|e| e.to_string())
}

/// Run the plan's missing runs of this shard; the records written, in plan order.
pub fn execute(
    base_opts: &RunOptions,
    req: &Request,
    progress: &Progress,
) -> Result<Vec<RunRecord>, CliError> {
    let matrix = Matrix::expand(req.spec.clone(), &req.base).map_err(usage)?;
    let mut opts = base_opts.clone();
    opts.memory_mib = matrix.spec.memory_mib;
    opts.cpus = matrix.spec.cpus;
    opts.timeout = Duration::from_secs(matrix.spec.timeout_s);
    opts.accel = plan::check_accel(&matrix.spec.accel).map_err(usage)?;
    let shard = match req.shard {
        None => None,
        Some(ShardArg::Fixed(s)) => Some(s),
        Some(ShardArg::Auto) => {
            Some(shard::from_env(|k| std::env::var(k).ok(), req.shard_count).map_err(usage)?)
        }
    };

    let store = Store::open(&opts.out).map_err(usage)?;
    let done = resume::completed(&store.load().map_err(usage)?, &matrix.id);
    if !req.resume {
        resume::check_fresh(&done, &matrix.id, &opts.out).map_err(usage)?;
    }
    let all = matrix.items();
    let mine = match shard {
        Some(s) => s.select(all.clone()),
        None => all.clone(),
    };
    let planned = mine.len();
    let todo = resume::missing(&matrix, mine, &done);
    let scope = shard.map_or(String::new(), |s| format!(", shard {s}"));
    progress.note(&format!(
        "plan {}: {} cells x {} reps = {} runs{scope}: {planned} here, {} already recorded, {} to run",
        matrix.id,
        matrix.cells.len(),
        matrix.spec.reps,
        all.len(),
        planned - todo.len(),
        todo.len()
    ));
    let saved = SavedPlan {
        id: matrix.id.clone(),
        plan: matrix.spec.clone(),
    };
    if todo.is_empty() {
        save_plan(store.root(), &saved).map_err(CliError::Internal)?;
        return Ok(vec![]);
    }

    let tools = Tools::find(opts.cache_dir.as_deref())?;
    let prepared = prepare_all(&opts, &matrix, &todo, &tools, progress)?;
    save_plan(store.root(), &saved).map_err(CliError::Internal)?;

    let threads = prepared
        .values()
        .map(|p| match (p.accel.used, opts.tcg_threads) {
            (Accel::Tcg, TcgThreads::Single) => 1,
            _ => opts.cpus,
        })
        .max()
        .unwrap_or(1);
    let j = jobs::choose(req.jobs, threads, opts.memory_mib, jobs::host(), todo.len());
    if let Some(n) = &j.note {
        progress.note(n);
    }
    let ctx = Pool {
        opts: &opts,
        matrix: &matrix,
        prepared: &prepared,
        store: &store,
        qemu_version: &tools.qemu_version,
        progress,
        cpus_shared: j.cpus_shared,
        vcpu_threads: threads,
    };
    ctx.run(todo, j.jobs)
}

/// Prepared kernels and initramfs, by (kernel, scenario, console device): the base
/// initramfs depends on the scenario's files and modules and on the console.
type PreparedKey = (usize, usize, Vec<&'static str>);

fn prepared_key(matrix: &Matrix, item: &Item) -> PreparedKey {
    let c = &matrix.cells[item.cell];
    (c.key.kernel, c.key.scenario, c.settings.modules())
}

fn prepare_all(
    opts: &RunOptions,
    matrix: &Matrix,
    todo: &[Item],
    tools: &Tools,
    progress: &Progress,
) -> Result<BTreeMap<PreparedKey, Prepared>, CliError> {
    let mut prepared = BTreeMap::new();
    for item in todo {
        let key = prepared_key(matrix, item);
        if prepared.contains_key(&key) {
            continue;
        }
        let cell = &matrix.cells[item.cell];
        let p = run::prepare(
            opts,
            &cell.scenario,
            &cell.settings.modules(),
            matrix.kernel_text(cell),
            &cell.kernel_spec,
            tools,
            progress,
        )?;
        prepared.insert(key, p);
    }
    Ok(prepared)
}

struct Pool<'a> {
    opts: &'a RunOptions,
    matrix: &'a Matrix,
    prepared: &'a BTreeMap<PreparedKey, Prepared>,
    store: &'a Store,
    qemu_version: &'a str,
    progress: &'a Progress,
    cpus_shared: bool,
    /// Host threads one guest's vCPUs run on (1 for single-threaded TCG).
    vcpu_threads: u32,
}

impl Pool<'_> {
    /// `jobs` workers take runs off one queue. A failed run stops new ones from
    /// starting; the others finish and keep their records. On a signal every QEMU is
    /// killed by the cleanup thread and each worker records its run as interrupted.
    fn run(&self, todo: Vec<Item>, jobs: u32) -> Result<Vec<RunRecord>, CliError> {
        let overall = self.progress.overall(todo.len() as u64);
        let queue = Mutex::new(VecDeque::from(todo));
        let records: Mutex<Vec<(usize, RunRecord)>> = Mutex::new(Vec::new());
        let failure: Mutex<Option<CliError>> = Mutex::new(None);
        std::thread::scope(|s| {
            for worker in 0..jobs {
                let cpus = self.cores_for(worker, jobs);
                let queue = &queue;
                let records = &records;
                let failure = &failure;
                let overall = &overall;
                s.spawn(move || loop {
                    if cleanup::interrupted().is_some() || lock(failure).is_some() {
                        break;
                    }
                    let Some(item) = lock(queue).pop_front() else {
                        break;
                    };
                    match self.one(&item, &cpus) {
                        Ok(r) => lock(records).push((item.index, r)),
                        Err(e) => {
                            lock(failure).get_or_insert(e);
                            break;
                        }
                    }
                    overall.inc();
                });
            }
        });
        overall.finish();
        if let Some(code) = cleanup::interrupted_exit_code() {
            return Err(CliError::Interrupted(code));
        }
        if let Some(e) = lock(&failure).take() {
            return Err(e);
        }
        let mut records = std::mem::take(&mut *lock(&records));
        records.sort_by_key(|(i, _)| *i);
        Ok(records.into_iter().map(|(_, r)| r).collect())
    }

    /// With several guests and a core (or vCPU-thread count) each, worker `w` gets its
    /// own cores so guests do not migrate onto each other; with one guest, or cores
    /// shared anyway, nothing is pinned.
    fn cores_for(&self, worker: u32, jobs: u32) -> Vec<usize> {
        jobs::cores_for(
            worker,
            jobs,
            self.vcpu_threads,
            jobs::host().cores,
            self.cpus_shared,
        )
    }

    fn one(&self, item: &Item, cpus: &[usize]) -> Result<RunRecord, CliError> {
        let cell = &self.matrix.cells[item.cell];
        let prepared = &self.prepared[&prepared_key(self.matrix, item)];
        let tag = RunTag {
            plan: self.matrix.plan_ref(item),
            cpus_shared: self.cpus_shared,
            cpus: cpus.to_vec(),
        };
        run::one_run(
            self.opts,
            &cell.scenario,
            &cell.settings,
            prepared,
            self.store,
            item.rep,
            self.qemu_version,
            self.progress,
            &tag,
        )
    }
}

/// A poisoned lock only means another worker panicked; its data is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A one-cell plan (bench's usemem run).
pub fn single(kernel: &str, scenario: &str, accel: &str) -> PlanSpec {
    PlanSpec {
        kernels: vec![kernel.to_string()],
        scenarios: vec![plan::ScenarioAxis {
            name: scenario.to_string(),
            params: BTreeMap::new(),
        }],
        set: vec![],
        variants: vec![plan::Variant {
            name: plan::DEFAULT_VARIANT.into(),
            set: vec![],
        }],
        reps: 1,
        memory_mib: plan::DEFAULT_MEMORY_MIB,
        cpus: plan::DEFAULT_CPUS,
        timeout_s: plan::DEFAULT_TIMEOUT_S,
        accel: accel.to_string(),
    }
}

/// A record of plan `id`, cell and rep, for the bookkeeping tests.
#[cfg(test)]
pub(crate) fn test_record(id: &str, cell: &str, rep: u32, run_id: &str) -> RunRecord {
    const FIXTURE: &str = include_str!("../../../results/tests/fixtures/compare/record.json");
    let mut r: RunRecord = serde_json::from_str(FIXTURE).expect("fixture parses");
    r.run_id = run_id.into();
    r.rep = rep;
    r.plan = Some(oomlab_results::record::PlanRef {
        id: id.into(),
        cell: cell.into(),
        variant: "default".into(),
    });
    r
}
