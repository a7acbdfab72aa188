//! A plan expanded into cells (kernel × setting set × scenario) and runs (cell × rep).
//!
//! Runs are numbered repetition first: run `index = rep * cells + cell`. An
//! interrupted matrix has then covered every cell before it repeats any, and raising
//! `reps` only appends indexes, so the shard of an existing run never changes.

use super::plan::{variant_sets, PlanSpec};
use crate::{scenario, settings};
use oomlab_results::record::PlanRef;
use oomlab_vm_images::kernel::KernelSpec;
use std::path::Path;

/// One cell's key and axis positions: needs nothing but the plan (merge uses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellKey {
    /// `KERNEL|SCENARIO[PARAMS]|VARIANT`.
    pub key: String,
    pub kernel: usize,
    pub variant: usize,
    pub scenario: usize,
}

/// A cell resolved for running.
pub struct Cell {
    pub key: CellKey,
    pub kernel_spec: KernelSpec,
    pub scenario: scenario::Plan,
    pub settings: settings::Settings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Item {
    pub index: usize,
    pub cell: usize,
    pub rep: u32,
}

pub struct Matrix {
    pub id: String,
    pub spec: PlanSpec,
    pub cells: Vec<Cell>,
}

/// Cells in plan order: kernels, then setting sets, then scenarios.
pub fn cell_keys(spec: &PlanSpec) -> Vec<CellKey> {
    let mut keys = Vec::new();
    for (k, kernel) in spec.kernels.iter().enumerate() {
        for (v, variant) in spec.variants.iter().enumerate() {
            for (s, sc) in spec.scenarios.iter().enumerate() {
                keys.push(CellKey {
                    key: format!("{kernel}|{}|{}", sc.label(), variant.name),
                    kernel: k,
                    variant: v,
                    scenario: s,
                });
            }
        }
    }
    keys
}

/// Every run of a plan with `cells` cells and `reps` repetitions, in index order.
pub fn items(cells: usize, reps: u32) -> Vec<Item> {
    (0..reps)
        .flat_map(|rep| {
            (0..cells).map(move |cell| Item {
                index: rep as usize * cells + cell,
                cell,
                rep,
            })
        })
        .collect()
}

impl Matrix {
    /// Resolve every cell: scenario, settings and kernel spec (already checked, so
    /// an error here is one line without a place).
    pub fn expand(spec: PlanSpec, base: &Path) -> Result<Matrix, String> {
        let scenarios = spec
            .scenarios
            .iter()
            .map(|s| s.resolve(base))
            .collect::<Result<Vec<_>, _>>()?;
        let kernels = spec
            .kernels
            .iter()
            .map(|k| super::plan::check_kernel(k))
            .collect::<Result<Vec<_>, _>>()?;
        let cells = cell_keys(&spec)
            .into_iter()
            .map(|key| {
                let sets = variant_sets(&spec.set, &spec.variants[key.variant].set);
                let scenario = scenarios[key.scenario].clone();
                Ok(Cell {
                    settings: crate::run::cell_settings(&scenario, &sets)?,
                    kernel_spec: kernels[key.kernel].clone(),
                    scenario,
                    key,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Matrix {
            id: spec.id(),
            spec,
            cells,
        })
    }

    pub fn items(&self) -> Vec<Item> {
        items(self.cells.len(), self.spec.reps)
    }

    pub fn plan_ref(&self, item: &Item) -> PlanRef {
        let key = &self.cells[item.cell].key;
        PlanRef {
            id: self.id.clone(),
            cell: key.key.clone(),
            variant: self.spec.variants[key.variant].name.clone(),
        }
    }

    pub fn kernel_text(&self, cell: &Cell) -> &str {
        &self.spec.kernels[cell.key.kernel]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::plan::parse;

    fn example() -> Matrix {
        let text = r#"
kernels = ["debian:6.1", "debian:6.12"]
scenarios = ["usemem", { name = "oom-adj-herd", params = { "herd.adj" = "0" } }]
reps = 3
set = ["vm.oom_dump_tasks=0"]
[[settings]]
name = "default"
[[settings]]
name = "quiet"
set = ["console.loglevel=1"]
"#;
        let spec = parse(Path::new("p.toml"), text, Path::new(".")).unwrap();
        Matrix::expand(spec, Path::new(".")).unwrap()
    }

    #[test]
    fn cells_are_the_cross_product_in_plan_order() {
        let m = example();
        let keys: Vec<&str> = m.cells.iter().map(|c| c.key.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "debian:6.1|usemem|default",
                "debian:6.1|oom-adj-herd[herd.adj=0]|default",
                "debian:6.1|usemem|quiet",
                "debian:6.1|oom-adj-herd[herd.adj=0]|quiet",
                "debian:6.12|usemem|default",
                "debian:6.12|oom-adj-herd[herd.adj=0]|default",
                "debian:6.12|usemem|quiet",
                "debian:6.12|oom-adj-herd[herd.adj=0]|quiet",
            ]
        );
        // Plan-wide settings reach every cell, a variant's only its own.
        for c in &m.cells {
            assert_eq!(c.settings.sysctls["vm.oom_dump_tasks"], "0");
            let quiet = c.key.key.ends_with("|quiet");
            assert_eq!(c.settings.console.loglevel == 1, quiet, "{}", c.key.key);
        }
        assert_eq!(m.cells[1].scenario.params["herd.adj"], "0");
    }

    #[test]
    fn runs_are_numbered_repetition_first() {
        let m = example();
        let all = m.items();
        assert_eq!(all.len(), 8 * 3);
        assert_eq!(
            all[0],
            Item {
                index: 0,
                cell: 0,
                rep: 0
            }
        );
        assert_eq!(
            all[9],
            Item {
                index: 9,
                cell: 1,
                rep: 1
            }
        );
        assert!(all.iter().enumerate().all(|(i, it)| it.index == i));
        // More repetitions append: the first runs keep their indexes.
        assert_eq!(items(8, 5)[..24], all[..]);
        let r = m.plan_ref(&all[10]);
        assert_eq!(r.cell, "debian:6.1|usemem|quiet");
        assert_eq!(r.variant, "quiet");
        assert_eq!(r.id, m.spec.id());
    }
}
