//! `--shard I/N`: run `index % N == I` of the expanded matrix (docs/matrix.md).
//!
//! The index is the run's stable position (expand.rs: `rep * cells + cell`), so
//! shards are disjoint, together cover the matrix, and are the same on every machine.

use super::expand::Item;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// `--shard` as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    Fixed(Shard),
    /// From the batch system's environment.
    Auto,
}

pub const COUNT_ENV: &str = "OOMLAB_SHARD_COUNT";

pub fn parse_arg(s: &str) -> Result<ShardArg, String> {
    if s == "auto" {
        return Ok(ShardArg::Auto);
    }
    let bad = || format!("--shard {s:?}: expected I/N with 0 <= I < N (e.g. 0/4), or auto");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    Shard::new(index, count)
        .map(ShardArg::Fixed)
        .map_err(|_| bad())
}

impl Shard {
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: need 0 <= index < count"));
        }
        Ok(Shard { index, count })
    }

    pub fn holds(&self, item: &Item) -> bool {
        item.index % self.count as usize == self.index as usize
    }

    pub fn select(&self, items: Vec<Item>) -> Vec<Item> {
        items.into_iter().filter(|i| self.holds(i)).collect()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `--shard auto`: Slurm job arrays (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT,
/// SLURM_ARRAY_TASK_MIN), else Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX, with the
/// count from --shard-count or OOMLAB_SHARD_COUNT).
pub fn from_env(
    env: impl Fn(&str) -> Option<String>,
    shard_count: Option<u32>,
) -> Result<Shard, String> {
    let num = |name: &str| -> Result<Option<u32>, String> {
        env(name)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| format!("--shard auto: {name}={v:?} is not a number"))
            })
            .transpose()
    };
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let count = num("SLURM_ARRAY_TASK_COUNT")?.ok_or(
            "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; submit as a job array (sbatch --array=0-N)",
        )?;
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        // Arrays with gaps or steps (--array=1,5 or 0-8:2) do not number tasks 0..N.
        let index = id.checked_sub(min).filter(|i| *i < count).ok_or_else(|| {
            format!("--shard auto: task {id} of a Slurm array of {count} starting at {min} is not numbered contiguously; use --array=0-{}", count.saturating_sub(1))
        })?;
        return Shard::new(index, count).map_err(|e| format!("--shard auto: {e}"));
    }
    if let Some(index) = num("JOB_COMPLETION_INDEX")? {
        let count = match shard_count {
            Some(c) => c,
            None => num(COUNT_ENV)?.ok_or(
                "--shard auto: JOB_COMPLETION_INDEX is set but the shard count is not; pass --shard-count N (the Job's completions) or set OOMLAB_SHARD_COUNT",
            )?,
        };
        return Shard::new(index, count).map_err(|e| format!("--shard auto: {e}"));
    }
    Err("--shard auto: no batch-system index found (SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX); run inside a Slurm job array or a Kubernetes Indexed Job, or give --shard I/N".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::expand::items;
    use std::collections::BTreeSet;

    #[test]
    fn shards_partition_the_matrix_deterministically() {
        let all = items(7, 3);
        for n in 1..=25 {
            let shards: Vec<Vec<Item>> = (0..n)
                .map(|i| Shard::new(i, n).unwrap().select(all.clone()))
                .collect();
            let union: BTreeSet<Item> = shards.iter().flatten().copied().collect();
            assert_eq!(union.len(), all.len(), "n={n}: union is the matrix");
            assert_eq!(
                shards.iter().map(Vec::len).sum::<usize>(),
                all.len(),
                "disjoint"
            );
            // Balanced to within one run.
            let sizes: Vec<usize> = shards.iter().map(Vec::len).collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
            let again = Shard::new(0, n).unwrap().select(items(7, 3));
            assert_eq!(again, shards[0]);
        }
        // Raising reps adds runs but moves none between shards.
        let more = Shard::new(1, 4).unwrap().select(items(7, 5));
        let before = Shard::new(1, 4).unwrap().select(all);
        assert_eq!(more[..before.len()], before[..]);
    }

    #[test]
    fn shard_arguments() {
        assert_eq!(
            parse_arg("1/4"),
            Ok(ShardArg::Fixed(Shard { index: 1, count: 4 }))
        );
        assert_eq!(parse_arg("auto"), Ok(ShardArg::Auto));
        for bad in ["4/4", "1", "a/2", "0/0", "-1/2"] {
            assert!(parse_arg(bad).unwrap_err().contains("I/N"), "{bad}");
        }
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn auto_reads_slurm_and_kubernetes() {
        let s = from_env(
            env(&[
                ("SLURM_ARRAY_TASK_ID", "3"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
            ]),
            None,
        );
        assert_eq!(s, Ok(Shard { index: 3, count: 4 }));
        let s = from_env(
            env(&[
                ("SLURM_ARRAY_TASK_ID", "11"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "10"),
            ]),
            None,
        );
        assert_eq!(s, Ok(Shard { index: 1, count: 4 }));
        let e = from_env(
            env(&[
                ("SLURM_ARRAY_TASK_ID", "8"),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
            ]),
            None,
        );
        assert!(e.unwrap_err().contains("contiguously"));
        let s = from_env(env(&[("JOB_COMPLETION_INDEX", "2")]), Some(3));
        assert_eq!(s, Ok(Shard { index: 2, count: 3 }));
        let s = from_env(
            env(&[("JOB_COMPLETION_INDEX", "0"), (COUNT_ENV, "2")]),
            None,
        );
        assert_eq!(s, Ok(Shard { index: 0, count: 2 }));
        let e = from_env(env(&[("JOB_COMPLETION_INDEX", "0")]), None).unwrap_err();
        assert!(e.contains("--shard-count"), "{e}");
        let e = from_env(env(&[]), None).unwrap_err();
        assert!(
            e.contains("SLURM_ARRAY_TASK_ID") && e.contains("--shard I/N"),
            "{e}"
        );
    }
}
