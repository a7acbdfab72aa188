//! `oomlab compare --rerun-failures N`: run again the configurations whose outcomes
//! differ from the baseline's, so that "livelock in 1/5" can become "livelock in 1/10"
//! or "in 6/10" before anyone blames a kernel.
//!
//! A rerun is the original plan narrowed to that cell (its kernels, setting set and
//! scenario), run into the results directory its records came from with the next
//! repetition numbers. Plans keep the guest shape, accelerator and timeout; the other
//! harness options (probe period, boot and silence timeouts) are `oomlab run`'s defaults.

use crate::cli::RunArgs;
use crate::error::CliError;
use crate::matrix::{self, plan::PlanSpec, resume, SavedPlan, PLANS_DIR};
use crate::progress::Progress;
use oomlab_results::compare::group::{Configuration, KernelId};
use oomlab_results::compare::load::Loaded;
use oomlab_results::compare::Report;
use oomlab_results::record::{PlanRef, RunRecord};
use oomlab_results::Store;
use std::path::{Path, PathBuf};

/// What one configuration's rerun added.
pub struct Rerun {
    pub config: Configuration,
    pub kernels: Vec<KernelId>,
    pub added: usize,
}

/// One narrowed plan to run into one results directory.
struct Job {
    dir: PathBuf,
    spec: PlanSpec,
    config: Configuration,
    kernels: Vec<KernelId>,
}

fn usage(e: impl ToString) -> CliError {
    CliError::Usage(e.to_string())
}

/// `plan` cut down to the cell `cell` names, with no repetitions yet.
pub fn narrow(plan: &PlanSpec, cell: &PlanRef) -> Option<PlanSpec> {
    let keys = matrix::expand::cell_keys(plan);
    let key = keys.iter().find(|k| k.key == cell.cell)?;
    Some(PlanSpec {
        kernels: vec![plan.kernels[key.kernel].clone()],
        scenarios: vec![plan.scenarios[key.scenario].clone()],
        variants: vec![plan.variants[key.variant].clone()],
        reps: 0,
        ..plan.clone()
    })
}

fn read_plan(dir: &Path, id: &str) -> Result<PlanSpec, CliError> {
    let path = dir.join(PLANS_DIR).join(format!("{id}.json"));
    let text = std::fs::read(&path).map_err(|e| {
        usage(format!(
            "cannot read the plan of a run to rerun, {}: {e}",
            path.display()
        ))
    })?;
    let saved: SavedPlan = serde_json::from_slice(&text)
        .map_err(|e| usage(format!("{} is not a saved plan: {e}", path.display())))?;
    Ok(saved.plan)
}

/// The narrowed plans for every configuration the report says differs, joined per
/// results directory so a kernel and its baseline run side by side.
fn jobs(loaded: &Loaded, report: &Report) -> Result<Vec<Job>, CliError> {
    let mut jobs: Vec<Job> = Vec::new();
    for (config, kernels) in report.differing() {
        for kernel in kernels {
            let found = loaded.records.iter().enumerate().find(|(_, r)| {
                r.plan.is_some()
                    && KernelId::of(r) == *kernel
                    && Configuration::of(r) == config.config
            });
            let Some((i, record)) = found else {
                return Err(usage(format!(
                    "no run of {kernel} in {} names the plan it came from; rerun it with oomlab run",
                    config.label
                )));
            };
            let dir = loaded.dirs[i].clone();
            let cell = record.plan.as_ref().expect("filtered on plan");
            let spec = narrow(&read_plan(&dir, &cell.id)?, cell).ok_or_else(|| {
                usage(format!(
                    "run {} names cell {} that its plan {} does not have",
                    record.run_id, cell.cell, cell.id
                ))
            })?;
            match jobs.iter_mut().find(|j| {
                j.dir == dir
                    && PlanSpec {
                        kernels: spec.kernels.clone(),
                        ..j.spec.clone()
                    } == spec
            }) {
                Some(j) => {
                    if !j.spec.kernels.contains(&spec.kernels[0]) {
                        j.spec.kernels.push(spec.kernels[0].clone());
                    }
                    j.kernels.push(kernel.clone());
                }
                None => jobs.push(Job {
                    dir,
                    spec,
                    config: config.config.clone(),
                    kernels: vec![kernel.clone()],
                }),
            }
        }
    }
    Ok(jobs)
}

/// The first repetition number the narrowed plan has not used in `records`.
fn next_rep(records: &[RunRecord], plan_id: &str) -> u32 {
    resume::completed(records, plan_id)
        .keys()
        .map(|(_, rep)| rep + 1)
        .max()
        .unwrap_or(0)
}

/// Run `n` more repetitions of every differing configuration; what each added.
pub fn rerun(
    loaded: &Loaded,
    report: &Report,
    n: u32,
    jobs_arg: Option<u32>,
    progress: &Progress,
) -> Result<Vec<Rerun>, CliError> {
    let mut done = Vec::new();
    for job in jobs(loaded, report)? {
        // The plan id hashes the axes, not the repetitions: known before reps is set.
        let id = job.spec.id();
        let store = Store::open(&job.dir).map_err(usage)?;
        let first = next_rep(&store.load().map_err(usage)?, &id);
        let mut spec = job.spec;
        spec.reps = first + n;
        let mut opts = crate::run_options(&RunArgs::defaults());
        opts.out = job.dir.clone();
        let req = matrix::Request {
            spec,
            base: PathBuf::from("."),
            resume: true,
            shard: None,
            shard_count: None,
            jobs: jobs_arg,
        };
        let added = matrix::execute(&opts, &req, progress)?.len();
        done.push(Rerun {
            config: job.config,
            kernels: job.kernels,
            added,
        });
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::plan::{ScenarioAxis, Variant};

    fn plan() -> PlanSpec {
        PlanSpec {
            kernels: vec!["debian:6.1".into(), "debian:6.12".into()],
            scenarios: vec![
                ScenarioAxis {
                    name: "usemem".into(),
                    params: Default::default(),
                },
                ScenarioAxis {
                    name: "oom-adj-herd".into(),
                    params: [("herd.adj".to_string(), "0".to_string())].into(),
                },
            ],
            set: vec!["vm.oom_dump_tasks=0".into()],
            variants: vec![
                Variant {
                    name: "default".into(),
                    set: vec![],
                },
                Variant {
                    name: "alloc-task".into(),
                    set: vec!["vm.oom_kill_allocating_task=1".into()],
                },
            ],
            reps: 5,
            memory_mib: 256,
            cpus: 2,
            timeout_s: 90,
            accel: "tcg".into(),
        }
    }

    #[test]
    fn a_cell_narrows_its_plan_to_itself() {
        let cell = PlanRef {
            id: "x".into(),
            cell: "debian:6.12|oom-adj-herd[herd.adj=0]|alloc-task".into(),
            variant: "alloc-task".into(),
        };
        let n = narrow(&plan(), &cell).unwrap();
        assert_eq!(n.kernels, ["debian:6.12"]);
        assert_eq!(n.scenarios, [plan().scenarios[1].clone()]);
        assert_eq!(n.variants, [plan().variants[1].clone()]);
        assert_eq!(n.set, plan().set);
        assert_eq!((n.reps, n.memory_mib, n.timeout_s), (0, 256, 90));
        let gone = PlanRef {
            cell: "debian:6.6|usemem|default".into(),
            ..cell
        };
        assert_eq!(narrow(&plan(), &gone), None);
    }
}
