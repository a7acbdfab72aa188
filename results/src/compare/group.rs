//! Which runs are comparable: same configuration, grouped by kernel.

use crate::record::RunRecord;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Everything a run was asked to do except the kernel: runs that share it differ only in
/// the kernel (and chance), so their difference can be laid at the kernel's door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Configuration {
    pub scenario: String,
    pub scenario_params: BTreeMap<String, String>,
    pub settings: BTreeMap<String, String>,
    pub memory_mib: u64,
    pub cpus: u32,
    /// tcg or kvm: emulation changes every time, so runs on the two never pool.
    pub accel: String,
}

impl Configuration {
    pub fn of(r: &RunRecord) -> Self {
        Configuration {
            scenario: r.scenario.clone(),
            scenario_params: r.scenario_params.clone(),
            settings: r.settings.clone(),
            memory_mib: r.guest.memory_mib,
            cpus: r.guest.cpus,
            accel: r.accel.used.clone(),
        }
    }
}

/// A kernel as the records name it: the spec alone is not enough (`debian:6.1` resolves
/// to a newer release after a point release), the release alone hides what was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelId {
    pub spec: String,
    pub release: String,
}

impl KernelId {
    pub fn of(r: &RunRecord) -> Self {
        KernelId {
            spec: r.kernel.spec.clone(),
            release: r.kernel.release.clone(),
        }
    }

    /// `--baseline` names a kernel by its spec or by its release.
    pub fn is_named(&self, name: &str) -> bool {
        self.spec == name || self.release == name
    }
}

impl std::fmt::Display for KernelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.spec, self.release)
    }
}

pub struct Group<'a> {
    pub config: Configuration,
    /// In order of first appearance in the input.
    pub kernels: Vec<(KernelId, Vec<&'a RunRecord>)>,
}

/// Configurations in order of first appearance, each with its kernels likewise.
pub fn group(records: &[RunRecord]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    for r in records {
        let config = Configuration::of(r);
        let g = match groups.iter().position(|g| g.config == config) {
            Some(i) => &mut groups[i],
            None => {
                groups.push(Group {
                    config,
                    kernels: Vec::new(),
                });
                groups.last_mut().expect("just pushed")
            }
        };
        let kernel = KernelId::of(r);
        match g.kernels.iter_mut().find(|(k, _)| *k == kernel) {
            Some((_, runs)) => runs.push(r),
            None => g.kernels.push((kernel, vec![r])),
        }
    }
    groups
}

/// A short name per configuration: scenario, its parameters, guest size, and only those
/// settings that differ between the configurations (the rest is the same everywhere and
/// is in the JSON report).
pub fn labels(configs: &[&Configuration]) -> Vec<String> {
    let keys: BTreeSet<&String> = configs.iter().flat_map(|c| c.settings.keys()).collect();
    let varying: Vec<&String> = keys
        .into_iter()
        .filter(|k| {
            let first = configs.first().and_then(|c| c.settings.get(*k));
            configs.iter().any(|c| c.settings.get(*k) != first)
        })
        .collect();
    configs
        .iter()
        .map(|c| {
            let mut parts = vec![c.scenario.clone()];
            parts.extend(c.scenario_params.iter().map(|(k, v)| format!("{k}={v}")));
            parts.push(format!("{} MiB", c.memory_mib));
            parts.push(format!("{} cpus", c.cpus));
            parts.push(c.accel.clone());
            parts.extend(varying.iter().map(|k| {
                format!(
                    "{k}={}",
                    c.settings.get(*k).map_or("(unset)", String::as_str)
                )
            }));
            parts.join(", ")
        })
        .collect()
}
