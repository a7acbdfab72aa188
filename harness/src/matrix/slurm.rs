//! `oomlab slurm-script`: an sbatch script that runs a plan as a job array, one shard
//! per task, and merges the shards in a job that waits for the whole array.

use super::plan::PlanSpec;
use std::path::Path;

/// Memory the harness itself may use beside a guest, for Slurm's --mem.
const HARNESS_MIB: u64 = 300;
/// Per run beyond its timeout: kernel preparation, verdict, record.
const RUN_SLACK_S: u64 = 60;
/// First use on a node fetches and unpacks kernels.
const FETCH_S: u64 = 600;

/// POSIX shell single-quoting.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=+,@%".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub struct ScriptArgs<'a> {
    pub plan_file: &'a Path,
    pub spec: &'a PlanSpec,
    pub shards: u32,
    pub out: &'a Path,
    pub oomlab: &'a Path,
}

pub fn script(a: &ScriptArgs) -> String {
    let id = a.spec.id();
    let runs = a.spec.runs() as u64;
    let per_shard = runs.div_ceil(a.shards as u64);
    let minutes = (FETCH_S + per_shard * (a.spec.timeout_s + RUN_SLACK_S)).div_ceil(60);
    // Single-threaded TCG runs a guest on one host thread; KVM (or auto, which may find
    // it) gives each vCPU one.
    let cpus = if a.spec.accel == "tcg" {
        1
    } else {
        a.spec.cpus
    };
    let mem = a.spec.memory_mib + super::jobs::QEMU_OVERHEAD_MIB + HARNESS_MIB;
    let (oomlab, plan, out) = (
        quote(&a.oomlab.to_string_lossy()),
        quote(&a.plan_file.to_string_lossy()),
        quote(&a.out.to_string_lossy()),
    );
    let last = a.shards - 1;
    format!(
        r#"#!/bin/bash
# oomlab plan {id}: {runs} runs in {shards} shards (docs/matrix.md).
# Submit with: sbatch THIS_FILE
# Each array task runs one shard into $OUT/shard-$SLURM_ARRAY_TASK_ID (with --resume, so a
# requeued task only runs what is missing). The first task submits the merge as a job
# that starts when the whole array has ended (afterany: it reports missing runs and
# exits 3 if a shard failed). To merge by hand instead:
#   {oomlab} merge {out} {out}/shard-{{0..{last}}}
#SBATCH --job-name=oomlab-{id}
#SBATCH --array=0-{last}
#SBATCH --ntasks=1
#SBATCH --cpus-per-task={cpus}
#SBATCH --mem={mem}M
#SBATCH --time={minutes}
#SBATCH --output={out}/slurm-%A_%a.out
set -euo pipefail
OOMLAB={oomlab}
PLAN={plan}
OUT={out}
if [ "$SLURM_ARRAY_TASK_ID" = "${{SLURM_ARRAY_TASK_MIN:-0}}" ]; then
    SHARDS=()
    for i in $(seq 0 {last}); do SHARDS+=("$OUT/shard-$i"); done
    sbatch --job-name=oomlab-{id}-merge --dependency=afterany:"$SLURM_ARRAY_JOB_ID" \
        --ntasks=1 --cpus-per-task=1 --mem=512M --time=30 \
        --output="$OUT/slurm-%j-merge.out" \
        --wrap="$(printf '%q ' "$OOMLAB" merge "$OUT" "${{SHARDS[@]}}")"
fi
exec "$OOMLAB" run --plan "$PLAN" --shard auto --resume --jobs 1 --out "$OUT/shard-$SLURM_ARRAY_TASK_ID"
"#,
        shards = a.shards,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::plan::parse;

    #[test]
    fn the_script_runs_an_array_of_shards_and_a_dependent_merge() {
        let spec = parse(
            Path::new("p.toml"),
            "kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\"]\nreps = 2\naccel = \"tcg\"\n",
            Path::new("."),
        )
        .unwrap();
        let s = script(&ScriptArgs {
            plan_file: Path::new("/plans/my plan.toml"),
            spec: &spec,
            shards: 2,
            out: Path::new("/res/m"),
            oomlab: Path::new("/usr/bin/oomlab"),
        });
        assert!(s.starts_with("#!/bin/bash\n"));
        for want in [
            "#SBATCH --array=0-1\n",
            "#SBATCH --cpus-per-task=1\n",
            "#SBATCH --mem=756M\n",
            // 10 min fetch + 1 run of (120 + 60) s.
            "#SBATCH --time=13\n",
            "PLAN='/plans/my plan.toml'\n",
            "--shard auto --resume --jobs 1 --out \"$OUT/shard-$SLURM_ARRAY_TASK_ID\"",
            "--dependency=afterany:\"$SLURM_ARRAY_JOB_ID\"",
            "for i in $(seq 0 1)",
        ] {
            assert!(s.contains(want), "missing {want:?} in\n{s}");
        }
        assert!(s.contains(&format!("oomlab-{}", spec.id())));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("/a/b"), "/a/b");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }
}
