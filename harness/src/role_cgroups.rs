//! Memory cgroup limits per role, from `--set cgroup.ROLE.KNOB=VALUE`: a variant axis for
//! any scenario ("the same run with the hog capped at 30%").
//!
//! A started process of that role already in a cgroup of the scenario's gets the limit
//! on that group (the setting wins over the scenario file); the others of the role share
//! one group, `oomlab-role-ROLE`, so the limit caps the role as a whole. The agent
//! creates, limits and reads back every group before pressure, as for scenario groups.

use crate::scenario_file::size_ok;
use oomlab_workloads::spec::{CgroupSpec, ProcessSpec, Role};
use std::collections::BTreeMap;

/// The knobs one role's group can get (cgroup v2 names).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoleLimits {
    pub memory_max: Option<String>,
    pub memory_high: Option<String>,
    pub oom_group: Option<bool>,
}

/// Limits by role name (`hog`, `expendable`, `bystander`), ordered for stable records.
pub type ByRole = BTreeMap<&'static str, RoleLimits>;

const ROLES: [Role; 3] = [Role::Hog, Role::Expendable, Role::Bystander];
const KNOBS: &str = "memory.max, memory.high or memory.oom.group";

/// Whether `key` is a role-cgroup setting (`cgroup.` prefix).
pub fn is_key(key: &str) -> bool {
    key.starts_with("cgroup.")
}

/// Take one `cgroup.ROLE.KNOB=VALUE` into `all`; `arg` is the whole `--set` argument.
pub fn parse(all: &mut ByRole, arg: &str, key: &str, value: &str) -> Result<(), String> {
    let rest = &key["cgroup.".len()..];
    let (role, knob) = rest.split_once('.').unwrap_or((rest, ""));
    let Some(role) = ROLES.iter().map(|r| r.as_str()).find(|r| *r == role) else {
        return Err(format!(
            "--set {arg:?}: {role:?} is not a role; use cgroup.hog, cgroup.expendable or cgroup.bystander, then {KNOBS}"
        ));
    };
    let limits = all.entry(role).or_default();
    match knob {
        "memory.max" | "memory.high" => {
            size_ok(value).map_err(|e| format!("--set {arg:?}: {e}"))?;
            let slot = if knob == "memory.max" {
                &mut limits.memory_max
            } else {
                &mut limits.memory_high
            };
            *slot = Some(value.to_string());
        }
        "memory.oom.group" => {
            limits.oom_group = Some(match value {
                "1" => true,
                "0" => false,
                _ => {
                    return Err(format!(
                        "--set {arg:?}: memory.oom.group is 1 (kill the whole group) or 0"
                    ))
                }
            });
        }
        _ => {
            return Err(format!(
                "--set {arg:?}: a role's cgroup takes {KNOBS}, e.g. --set cgroup.hog.memory.max=30%"
            ))
        }
    }
    Ok(())
}

/// The settings as recorded: `cgroup.hog.memory.max` -> `30%`.
pub fn recorded(all: &ByRole) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (role, l) in all {
        let knobs = [
            ("memory.max", l.memory_max.clone()),
            ("memory.high", l.memory_high.clone()),
            (
                "memory.oom.group",
                l.oom_group.map(|g| u8::from(g).to_string()),
            ),
        ];
        for (knob, value) in knobs {
            if let Some(v) = value {
                out.insert(format!("cgroup.{role}.{knob}"), v);
            }
        }
    }
    out
}

/// Put the limits on the scenario's processes.
pub fn apply(processes: &mut [ProcessSpec], all: &ByRole) {
    for p in processes {
        let Some(limits) = all.get(p.role.as_str()) else {
            continue;
        };
        let group = p.cgroup.get_or_insert_with(|| CgroupSpec {
            name: format!("oomlab-role-{}", p.role.as_str()),
            memory_max: None,
            memory_high: None,
            oom_group: false,
            v1: false,
            members_role: None,
        });
        if let Some(max) = &limits.memory_max {
            group.memory_max = Some(max.clone());
        }
        if let Some(high) = &limits.memory_high {
            group.memory_high = Some(high.clone());
        }
        if let Some(g) = limits.oom_group {
            group.oom_group = g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<ByRole, String> {
        let mut all = ByRole::new();
        for a in args {
            let (k, v) = a.split_once('=').unwrap();
            parse(&mut all, a, k, v)?;
        }
        Ok(all)
    }

    fn process(name: &str, role: Role, cgroup: Option<&str>) -> ProcessSpec {
        ProcessSpec {
            name: name.into(),
            role,
            argv: vec!["/bin/usemem".into()],
            oom_score_adj: 0,
            start_delay_ms: 0,
            cgroup: cgroup.map(|g| CgroupSpec {
                name: g.into(),
                memory_max: Some("30%".into()),
                memory_high: None,
                oom_group: false,
                v1: false,
                members_role: Some(Role::Expendable),
            }),
            rlimits: Default::default(),
        }
    }

    #[test]
    fn reads_each_knob_and_records_it() {
        let all = parsed(&[
            "cgroup.hog.memory.max=40%",
            "cgroup.hog.memory.oom.group=1",
            "cgroup.expendable.memory.high=64M",
        ])
        .unwrap();
        let rec = recorded(&all);
        assert_eq!(rec["cgroup.hog.memory.max"], "40%");
        assert_eq!(rec["cgroup.hog.memory.oom.group"], "1");
        assert_eq!(rec["cgroup.expendable.memory.high"], "64M");
        assert_eq!(rec.len(), 3);
    }

    #[test]
    fn rejects_unknown_roles_knobs_and_sizes() {
        let err = |a: &str| parsed(&[a]).unwrap_err();
        assert!(err("cgroup.victim.memory.max=1G").contains("not a role"));
        assert!(err("cgroup.hog.memory.swap.max=1G").contains("memory.max, memory.high"));
        assert!(err("cgroup.hog=1G").contains("memory.max, memory.high"));
        assert!(err("cgroup.hog.memory.max=150%").contains("1-100%"));
        assert!(err("cgroup.hog.memory.max=lots").contains("K/M/G"));
        assert!(err("cgroup.hog.memory.oom.group=yes").contains("1 (kill the whole group) or 0"));
    }

    #[test]
    fn a_role_without_a_group_shares_one_and_a_scenario_group_takes_the_limit() {
        let mut ps = vec![
            process("a", Role::Hog, None),
            process("b", Role::Hog, None),
            process("storm", Role::Hog, Some("oomlab-storm")),
            process("keeper", Role::Bystander, None),
        ];
        apply(&mut ps, &parsed(&["cgroup.hog.memory.max=50%"]).unwrap());
        let group = |i: usize| ps[i].cgroup.clone();
        let (a, b) = (group(0).unwrap(), group(1).unwrap());
        assert_eq!(
            (a.name.as_str(), a.memory_max.as_deref()),
            ("oomlab-role-hog", Some("50%"))
        );
        assert_eq!(a, b);
        let storm = group(2).unwrap();
        assert_eq!(storm.name, "oomlab-storm");
        assert_eq!(storm.memory_max.as_deref(), Some("50%"));
        assert_eq!(storm.members_role, Some(Role::Expendable));
        assert_eq!(group(3), None);
    }
}
