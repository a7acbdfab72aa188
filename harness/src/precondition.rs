//! What a scenario claims to put the kernel into, checked against the agent's /proc
//! snapshot at the first OOM invocation: a run can then say whether the scenario did
//! what it names (the victim really was in mmap, really was dumping core, ...).

use crate::syscalls;
use oomlab_results::record::{
    Evidence, EvidenceProcess, EvidenceThread, PsiSummary, RefaultSummary,
};
use oomlab_workloads::spec::Role;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Precondition {
    /// A process of `role` is alive and the largest by RSS.
    Largest { role: Role },
    /// A process of `role` is in memory cgroup `path`.
    InCgroup { role: Role, path: String },
    /// At least `at_least` threads of `role`'s processes are in one of `states` (any,
    /// if empty) and in one of `syscalls` or asleep in a function whose name contains one
    /// of `wchan` (either, if both are empty).
    Threads {
        role: Role,
        #[serde(default)]
        states: Vec<String>,
        #[serde(default)]
        syscalls: Vec<String>,
        #[serde(default)]
        wchan: Vec<String>,
        #[serde(default = "one")]
        at_least: u32,
    },
    /// A process of `role` is writing a core dump.
    CoreDumping { role: Role },
    /// A process of `role` has at least `min_kb` mlocked.
    Mlocked { role: Role, min_kb: u64 },
    /// At least `at_least` processes of `role` have a higher oom_score than every
    /// process of `than`.
    Outranks {
        role: Role,
        than: Role,
        at_least: u32,
    },
    /// A process of `role` runs at this oom_score_adj (e.g. -1000 inherited through a
    /// shared mm).
    OomScoreAdj { role: Role, value: i32 },
    /// Memory pressure stalled everything for at least `min_full_pct` of the pressure
    /// phase (PSI memory `full`), and, where given, the page cache refaulted at least
    /// `min_refault_ram` times the guest's RAM and block devices served reads of at
    /// least `min_disk_read_ram` times it: thrashing, with or without an OOM kill.
    Thrashing {
        min_full_pct: f64,
        #[serde(default)]
        min_refault_ram: Option<f64>,
        #[serde(default)]
        min_disk_read_ram: Option<f64>,
    },
    /// Every one of these.
    AllOf { all: Vec<Precondition> },
}

fn one() -> u32 {
    1
}

impl Precondition {
    /// Names in a scenario file that must exist (syscalls), checked before any boot.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Precondition::Threads { syscalls: s, .. } => {
                match s.iter().find(|n| !syscalls::known(n)) {
                    Some(bad) => Err(format!("unknown system call {bad:?} in precondition")),
                    None => Ok(()),
                }
            }
            Precondition::AllOf { all } => all.iter().try_for_each(Precondition::validate),
            _ => Ok(()),
        }
    }

    /// The claim in words, for the record.
    pub fn describe(&self) -> String {
        match self {
            Precondition::Largest { role } => {
                format!("the {} is the largest process", role.as_str())
            }
            Precondition::InCgroup { role, path } => {
                format!("the {} is in memory cgroup {path}", role.as_str())
            }
            Precondition::Threads {
                role,
                states,
                syscalls,
                wchan,
                at_least,
            } => {
                let mut s = format!("at least {at_least} {} thread(s)", role.as_str());
                if !states.is_empty() {
                    s += &format!(" in state {}", states.join("/"));
                }
                let mut places: Vec<String> = syscalls.iter().map(|c| format!("{c}()")).collect();
                places.extend(wchan.iter().map(|w| format!("*{w}*")));
                if !places.is_empty() {
                    s += &format!(" in {}", places.join(" or "));
                }
                s
            }
            Precondition::CoreDumping { role } => format!("the {} is dumping core", role.as_str()),
            Precondition::Mlocked { role, min_kb } => {
                format!("the {} has at least {min_kb} kB mlocked", role.as_str())
            }
            Precondition::Outranks {
                role,
                than,
                at_least,
            } => format!(
                "at least {at_least} {} process(es) outrank every {} by oom_score",
                role.as_str(),
                than.as_str()
            ),
            Precondition::Thrashing {
                min_full_pct,
                min_refault_ram,
                min_disk_read_ram,
            } => {
                let mut s = format!(
                    "memory pressure stalls every task at least {min_full_pct}% of the time (PSI full)"
                );
                if let Some(r) = min_refault_ram {
                    s += &format!(" and the page cache refaults at least {r} times the RAM");
                }
                if let Some(r) = min_disk_read_ram {
                    s += &format!(" and the disks serve reads of at least {r} times the RAM");
                }
                s
            }
            Precondition::OomScoreAdj { role, value } => {
                format!("the {} runs at oom_score_adj {value}", role.as_str())
            }
            Precondition::AllOf { all } => all
                .iter()
                .map(Precondition::describe)
                .collect::<Vec<_>>()
                .join("; and "),
        }
    }

    /// Whether the claim needs the /proc snapshot (not only the run's pressure numbers).
    fn needs_snapshot(&self) -> bool {
        match self {
            Precondition::Thrashing { .. } => false,
            Precondition::AllOf { all } => all.iter().any(Precondition::needs_snapshot),
            _ => true,
        }
    }

    /// Whether the snapshot (and the run's PSI summary) shows the claim, and what was seen.
    pub fn check(&self, ev: &Evidence, pressure: Pressure) -> (bool, String) {
        let of = |role: &Role| -> Vec<&EvidenceProcess> {
            ev.processes
                .iter()
                .filter(|p| p.role == role.as_str())
                .collect()
        };
        let alive = |p: &&EvidenceProcess| p.state != "Z" && p.state != "X";
        match self {
            Precondition::Largest { role } => {
                // Processes sharing one mm tie: any of them with the role counts.
                let live: Vec<&EvidenceProcess> = ev.processes.iter().filter(alive).collect();
                let top = live.iter().map(|p| p.rss_kb.unwrap_or(0)).max();
                let tied: Vec<&&EvidenceProcess> = live
                    .iter()
                    .filter(|p| Some(p.rss_kb.unwrap_or(0)) == top)
                    .collect();
                if tied.is_empty() {
                    (false, "no live process in the snapshot".into())
                } else {
                    let seen: Vec<String> = tied
                        .iter()
                        .map(|p| {
                            format!(
                                "{} (pid {}, {}, {} kB)",
                                p.comm,
                                p.pid,
                                p.role,
                                p.rss_kb.unwrap_or(0)
                            )
                        })
                        .collect();
                    (
                        tied.iter().any(|p| p.role == role.as_str()),
                        format!("largest: {}", seen.join(", ")),
                    )
                }
            }
            Precondition::InCgroup { role, path } => {
                let cgroups: Vec<String> = of(role)
                    .iter()
                    .map(|p| p.cgroup.clone().unwrap_or_default())
                    .collect();
                (
                    cgroups.iter().any(|c| c == path),
                    format!("{} cgroups: {}", role.as_str(), list(&cgroups)),
                )
            }
            Precondition::Threads {
                role,
                states,
                syscalls,
                wchan,
                at_least,
            } => {
                let matches = |t: &EvidenceThread| {
                    let state_ok = states.is_empty() || states.contains(&t.state);
                    let place_ok = (syscalls.is_empty() && wchan.is_empty())
                        || t.syscall.as_ref().is_some_and(|s| syscalls.contains(s))
                        || t.wchan
                            .as_ref()
                            .is_some_and(|w| wchan.iter().any(|x| w.contains(x.as_str())));
                    state_ok && place_ok
                };
                let procs = of(role);
                let threads: Vec<&EvidenceThread> = procs.iter().flat_map(|p| &p.threads).collect();
                let hits: Vec<String> = threads
                    .iter()
                    .filter(|t| matches(t))
                    .map(|t| describe_thread(t))
                    .collect();
                let all: Vec<String> = threads
                    .iter()
                    .take(12)
                    .map(|t| describe_thread(t))
                    .collect();
                (
                    hits.len() as u32 >= *at_least,
                    format!(
                        "{} of {} {} threads match ({}); threads: {}",
                        hits.len(),
                        threads.len(),
                        role.as_str(),
                        list(&hits),
                        list(&all)
                    ),
                )
            }
            Precondition::CoreDumping { role } => {
                let flags: Vec<String> = of(role)
                    .iter()
                    .map(|p| {
                        format!(
                            "pid {} CoreDumping {}",
                            p.pid,
                            p.core_dumping.map_or("?", |d| if d { "1" } else { "0" })
                        )
                    })
                    .collect();
                (
                    of(role).iter().any(|p| p.core_dumping == Some(true)),
                    list(&flags),
                )
            }
            Precondition::Mlocked { role, min_kb } => {
                let locked: Vec<u64> = of(role).iter().map(|p| p.mlocked_kb.unwrap_or(0)).collect();
                (
                    locked.iter().any(|k| k >= min_kb),
                    format!(
                        "{} mlocked kB: {}",
                        role.as_str(),
                        list(&locked.iter().map(u64::to_string).collect::<Vec<_>>())
                    ),
                )
            }
            Precondition::Outranks {
                role,
                than,
                at_least,
            } => {
                let top_other = of(than).iter().filter_map(|p| p.oom_score).max();
                let ahead = of(role)
                    .iter()
                    .filter(|p| p.oom_score.zip(top_other).is_some_and(|(s, t)| s > t))
                    .count() as u32;
                (
                    top_other.is_some() && ahead >= *at_least,
                    format!(
                        "{ahead} {} process(es) in the snapshot outrank the {} (oom_score {})",
                        role.as_str(),
                        than.as_str(),
                        top_other.map_or("unknown".into(), |s| s.to_string())
                    ),
                )
            }
            Precondition::OomScoreAdj { role, value } => {
                let adjs: Vec<String> = of(role)
                    .iter()
                    .map(|p| {
                        format!(
                            "pid {} oom_score_adj {}",
                            p.pid,
                            p.oom_score_adj.map_or("?".into(), |a| a.to_string())
                        )
                    })
                    .collect();
                (
                    of(role).iter().any(|p| p.oom_score_adj == Some(*value)),
                    list(&adjs),
                )
            }
            Precondition::Thrashing {
                min_full_pct,
                min_refault_ram,
                min_disk_read_ram,
            } => {
                let (stalled, mut seen) = match pressure.psi {
                    Some(p) => (
                        p.full_pct >= *min_full_pct,
                        format!(
                            "PSI memory full {:.1}%, some {:.1}% of the pressure phase",
                            p.full_pct, p.some_pct
                        ),
                    ),
                    None => (false, "no PSI samples".into()),
                };
                seen += &refault_words(pressure.refaults);
                let at_least = |min: &Option<f64>, got: Option<f64>| match min {
                    None => true,
                    Some(min) => got.is_some_and(|m| m >= *min),
                };
                let refaulted = at_least(
                    min_refault_ram,
                    pressure.refaults.and_then(|r| r.ram_multiple),
                );
                let read = at_least(
                    min_disk_read_ram,
                    pressure.refaults.and_then(|r| r.disk_read_ram_multiple),
                );
                if pressure.refaults.is_none()
                    && (min_refault_ram.is_some() || min_disk_read_ram.is_some())
                {
                    seen += "; no refault counts";
                }
                (stalled && refaulted && read, seen)
            }
            Precondition::AllOf { all } => {
                let results: Vec<(bool, String)> =
                    all.iter().map(|p| p.check(ev, pressure)).collect();
                (
                    results.iter().all(|r| r.0),
                    results
                        .into_iter()
                        .map(|r| r.1)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            }
        }
    }
}

fn describe_thread(t: &EvidenceThread) -> String {
    let mut s = format!("{} {}", t.tid, t.state);
    if let Some(c) = &t.syscall {
        s += &format!(" {c}()");
    }
    if let Some(w) = &t.wchan {
        s += &format!(" @{w}");
    }
    s
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// The run's pressure numbers a claim may rest on, besides the /proc snapshot.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pressure<'a> {
    pub psi: Option<&'a PsiSummary>,
    pub refaults: Option<&'a RefaultSummary>,
}

fn refault_words(r: Option<&RefaultSummary>) -> String {
    match r {
        Some(r) => format!(
            "; {} file pages refaulted ({:.0}/s{}){}",
            r.file_pages,
            r.per_s,
            r.ram_multiple
                .map_or(String::new(), |m| format!(", {m:.2} times the RAM")),
            r.disk_read_ram_multiple.map_or(String::new(), |m| format!(
                "; disk reads {m:.2} times the RAM"
            ))
        ),
        None => String::new(),
    }
}

/// Fill in the record's precondition fields from the scenario's claim.
/// A claim about pressure alone is judged even without an OOM (and so a snapshot).
pub fn apply(claim: Option<&Precondition>, evidence: &mut Option<Evidence>, pressure: Pressure) {
    let Some(claim) = claim else { return };
    if evidence.is_none() && !claim.needs_snapshot() {
        *evidence = Some(Evidence {
            trigger: "none: no OOM invocation".into(),
            ..Default::default()
        });
    }
    if let Some(ev) = evidence.as_mut() {
        let (met, seen) = claim.check(ev, pressure);
        ev.precondition = Some(claim.describe());
        ev.precondition_met = Some(met);
        ev.seen = seen;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(tid: u32, state: &str, syscall: Option<&str>, wchan: Option<&str>) -> EvidenceThread {
        EvidenceThread {
            tid,
            state: state.into(),
            syscall: syscall.map(Into::into),
            wchan: wchan.map(Into::into),
        }
    }

    fn process(
        pid: u32,
        role: &str,
        rss_kb: u64,
        score: i64,
        threads: Vec<EvidenceThread>,
    ) -> EvidenceProcess {
        EvidenceProcess {
            pid,
            role: role.into(),
            comm: "x".into(),
            state: "R".into(),
            oom_score: Some(score),
            rss_kb: Some(rss_kb),
            threads,
            ..Default::default()
        }
    }

    fn snapshot() -> Evidence {
        Evidence {
            processes: vec![
                process(
                    10,
                    "hog",
                    200_000,
                    700,
                    vec![
                        thread(10, "R", None, None),
                        thread(11, "D", Some("mmap"), Some("rwsem_down_write_slowpath")),
                        thread(12, "S", Some("futex"), Some("futex_wait_queue")),
                    ],
                ),
                process(20, "expendable", 100, 1001, vec![]),
                process(21, "expendable", 100, 1001, vec![]),
                process(30, "bystander", 8_000, 20, vec![]),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn thread_claims_match_state_syscall_and_wchan() {
        let ev = snapshot();
        let in_mmap = Precondition::Threads {
            role: Role::Hog,
            states: vec![],
            syscalls: vec!["mmap".into(), "munmap".into()],
            wchan: vec![],
            at_least: 1,
        };
        let (met, seen) = in_mmap.check(&ev, Pressure::default());
        assert!(met, "{seen}");
        assert!(
            seen.contains("11 D mmap() @rwsem_down_write_slowpath"),
            "{seen}"
        );
        let two_in_d = Precondition::Threads {
            role: Role::Hog,
            states: vec!["D".into()],
            syscalls: vec![],
            wchan: vec!["rwsem".into()],
            at_least: 2,
        };
        assert!(!two_in_d.check(&ev, Pressure::default()).0);
        assert_eq!(
            two_in_d.describe(),
            "at least 2 hog thread(s) in state D in *rwsem*"
        );
    }

    #[test]
    fn size_rank_cgroup_and_flags() {
        let mut ev = snapshot();
        assert!(
            Precondition::Largest { role: Role::Hog }
                .check(&ev, Pressure::default())
                .0
        );
        assert!(
            !Precondition::Largest {
                role: Role::Bystander
            }
            .check(&ev, Pressure::default())
            .0
        );
        let outranks = Precondition::Outranks {
            role: Role::Expendable,
            than: Role::Hog,
            at_least: 2,
        };
        assert!(outranks.check(&ev, Pressure::default()).0);
        assert!(
            !Precondition::CoreDumping { role: Role::Hog }
                .check(&ev, Pressure::default())
                .0
        );
        ev.processes[0].core_dumping = Some(true);
        ev.processes[0].mlocked_kb = Some(4096);
        ev.processes[0].cgroup = Some("/oomlab-hog".into());
        let all = Precondition::AllOf {
            all: vec![
                Precondition::CoreDumping { role: Role::Hog },
                Precondition::Mlocked {
                    role: Role::Hog,
                    min_kb: 4096,
                },
                Precondition::InCgroup {
                    role: Role::Hog,
                    path: "/oomlab-hog".into(),
                },
            ],
        };
        let (met, seen) = all.check(&ev, Pressure::default());
        assert!(met, "{seen}");
        let mut none = None;
        apply(Some(&all), &mut none, Pressure::default());
        assert_eq!(none, None);
        let mut some = Some(ev);
        apply(Some(&all), &mut some, Pressure::default());
        let ev = some.unwrap();
        assert_eq!(ev.precondition_met, Some(true));
        assert!(ev.precondition.unwrap().contains("dumping core"));
    }

    #[test]
    fn thrashing_is_judged_from_psi_and_refaults_without_a_snapshot() {
        let psi = PsiSummary {
            some_pct: 60.0,
            full_pct: 35.5,
        };
        let refaults = RefaultSummary {
            file_pages: 98_304,
            per_s: 2048.0,
            ram_multiple: Some(1.75),
            majfaults: Some(1000),
            disk_read_ram_multiple: Some(3.0),
        };
        let pressure = Pressure {
            psi: Some(&psi),
            refaults: Some(&refaults),
        };
        let judged = |claim: &Precondition, pressure: Pressure| {
            let mut ev = None;
            apply(Some(claim), &mut ev, pressure);
            ev.map(|e| (e.precondition_met.unwrap(), e.seen))
        };
        let psi_only = Precondition::Thrashing {
            min_full_pct: 10.0,
            min_refault_ram: None,
            min_disk_read_ram: None,
        };
        let (met, seen) = judged(&psi_only, pressure).unwrap();
        assert!(met, "{seen}");
        assert!(
            seen.contains("35.5%") && seen.contains("98304 file pages"),
            "{seen}"
        );
        let both = |min| Precondition::Thrashing {
            min_full_pct: 10.0,
            min_refault_ram: Some(min),
            min_disk_read_ram: None,
        };
        assert!(both(1.5)
            .describe()
            .contains("refaults at least 1.5 times the RAM"));
        assert!(judged(&both(1.5), pressure).unwrap().0);
        // Stalled, but too little read back: memory pressure that is not thrashing.
        let (met, seen) = judged(&both(2.0), pressure).unwrap();
        assert!(!met && seen.contains("1.75 times the RAM"), "{seen}");
        // No refault counts (an agent that did not report them): not shown.
        let no_counts = Pressure {
            refaults: None,
            ..pressure
        };
        assert!(!judged(&both(1.0), no_counts).unwrap().0);
        // Disk reads: the measure that means the same on every kernel.
        let read = |min| Precondition::Thrashing {
            min_full_pct: 10.0,
            min_refault_ram: None,
            min_disk_read_ram: Some(min),
        };
        assert!(read(2.5)
            .describe()
            .contains("disks serve reads of at least 2.5 times the RAM"));
        let (met, seen) = judged(&read(2.5), pressure).unwrap();
        assert!(
            met && seen.contains("disk reads 3.00 times the RAM"),
            "{seen}"
        );
        assert!(!judged(&read(3.5), pressure).unwrap().0);
        // Refaults undercounted (6.1 with MGLRU on) do not matter to a disk-read claim.
        let undercounted = RefaultSummary {
            ram_multiple: Some(0.6),
            ..refaults.clone()
        };
        let pressure_6_1 = Pressure {
            refaults: Some(&undercounted),
            ..pressure
        };
        assert!(judged(&read(2.5), pressure_6_1).unwrap().0);
        assert!(!judged(&both(1.0), pressure_6_1).unwrap().0);
        // An agent without disk read counts: not shown.
        let no_reads = RefaultSummary {
            disk_read_ram_multiple: None,
            ..refaults.clone()
        };
        let pressure_old = Pressure {
            refaults: Some(&no_reads),
            ..pressure
        };
        assert!(!judged(&read(1.0), pressure_old).unwrap().0);
        // A snapshot claim without a snapshot stays unknown.
        assert_eq!(
            judged(&Precondition::Largest { role: Role::Hog }, pressure),
            None
        );
    }

    #[test]
    fn an_inherited_adj_is_seen() {
        let mut ev = snapshot();
        let claim = Precondition::OomScoreAdj {
            role: Role::Hog,
            value: -1000,
        };
        assert!(!claim.check(&ev, Pressure::default()).0);
        ev.processes[0].oom_score_adj = Some(-1000);
        let (met, seen) = claim.check(&ev, Pressure::default());
        assert!(met, "{seen}");
        assert_eq!(seen, "pid 10 oom_score_adj -1000");
    }

    #[test]
    fn unknown_syscalls_are_refused() {
        let p = Precondition::Threads {
            role: Role::Hog,
            states: vec![],
            syscalls: vec!["mmap".into(), "frob".into()],
            wchan: vec![],
            at_least: 1,
        };
        assert!(p.validate().unwrap_err().contains("frob"));
    }
}
