//! Who was killed: the role of each victim, and how the agent's processes ended.

use crate::scenario::KernelHelper;
use oomlab_klog::Event as K;
use oomlab_results::record::ProcessRecord;
use oomlab_workloads::event::Event as A;
use oomlab_workloads::spec::Role;
use std::collections::HashMap;

/// Maps a victim's pid to the role of the scenario process it belongs to.
///
/// A process the agent started has its role by pid. Descendants of a scenario process (a
/// herd's members) are not known to the agent by pid, but they share its cgroup: the
/// kernel names the victim's cgroup in the `oom-kill:constraint=...,task_memcg=/NAME,
/// ...,pid=N` line, and, since that line is rate-limited with the rest of the OOM report,
/// the agent also lists each scenario cgroup's new members as they appear. A member's
/// role is the cgroup's `members_role` where the scenario gives one. A program the kernel
/// starts for the scenario (a core_pattern pipe helper) is known by its task name alone,
/// and only when neither pid nor cgroup says who it is.
pub(super) struct Roles {
    by_pid: HashMap<u32, Role>,
    by_cgroup: HashMap<String, Role>,
    victim_cgroups: HashMap<u32, String>,
    member_cgroups: HashMap<u32, String>,
    by_comm: HashMap<String, Role>,
}

impl Roles {
    pub(super) fn new(
        obs: &super::Observation,
        processes: &[ProcessRecord],
        helpers: &[KernelHelper],
    ) -> Roles {
        let by_pid = processes
            .iter()
            .filter_map(|p| Some((p.pid, role_from_str(&p.role)?)))
            .collect();
        let by_cgroup = obs
            .agent
            .iter()
            .filter_map(|e| match e {
                A::Started {
                    role,
                    cgroup: Some(g),
                    members_role,
                    ..
                } => Some((format!("/{g}"), members_role.unwrap_or(*role))),
                _ => None,
            })
            .collect();
        let victim_cgroups = obs
            .kernel
            .iter()
            .filter_map(|e| match e {
                K::Constraint {
                    pid: Some(pid),
                    task_memcg: Some(m),
                    ..
                } => Some((*pid, m.clone())),
                _ => None,
            })
            .collect();
        let member_cgroups = obs
            .agent
            .iter()
            .filter_map(|e| match e {
                A::Members { cgroup, pids, .. } => {
                    Some(pids.iter().map(move |p| (*p, format!("/{cgroup}"))))
                }
                _ => None,
            })
            .flatten()
            .collect();
        let by_comm = helpers
            .iter()
            .map(|h| (h.comm().to_string(), h.role))
            .collect();
        Roles {
            by_pid,
            by_cgroup,
            victim_cgroups,
            member_cgroups,
            by_comm,
        }
    }

    /// The role of a process seen in /proc: by pid, else by the cgroup it is in, else
    /// as a kernel helper by its name.
    pub(super) fn of_process(&self, pid: u32, cgroup: Option<&str>, comm: &str) -> &'static str {
        self.known(pid)
            .or_else(|| self.by_cgroup.get(cgroup?))
            .or_else(|| self.by_comm.get(comm))
            .map_or("unknown", |r| r.as_str())
    }

    /// A victim's role: `hog`, `expendable`, `bystander`, or `unknown`.
    pub(super) fn of(&self, pid: u32, comm: &str) -> &'static str {
        self.known(pid)
            .or_else(|| self.by_comm.get(comm))
            .map_or("unknown", |r| r.as_str())
    }

    fn known(&self, pid: u32) -> Option<&Role> {
        self.by_pid
            .get(&pid)
            .or_else(|| self.by_cgroup.get(self.victim_cgroups.get(&pid)?))
            .or_else(|| self.by_cgroup.get(self.member_cgroups.get(&pid)?))
    }
}

pub(super) fn processes(agent: &[A]) -> Vec<ProcessRecord> {
    let mut out: Vec<ProcessRecord> = Vec::new();
    for e in agent {
        match e {
            A::Started {
                name, role, pid, ..
            } => out.push(ProcessRecord {
                name: name.clone(),
                role: role.as_str().to_string(),
                pid: *pid,
                exit_code: None,
                signal: None,
                stopped_by_agent: false,
            }),
            A::Exited {
                pid,
                code,
                signal,
                stopped_by_agent,
                ..
            } => {
                if let Some(p) = out.iter_mut().find(|p| p.pid == *pid) {
                    p.exit_code = *code;
                    p.signal = *signal;
                    p.stopped_by_agent = *stopped_by_agent;
                }
            }
            _ => {}
        }
    }
    out
}

fn role_from_str(s: &str) -> Option<Role> {
    match s {
        "hog" => Some(Role::Hog),
        "expendable" => Some(Role::Expendable),
        "bystander" => Some(Role::Bystander),
        _ => None,
    }
}
