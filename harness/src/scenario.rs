//! Built-in scenarios: which processes a run starts, with which roles.
//!
//! Sizes are relative to guest RAM (usemem reads MemTotal in the guest), so a scenario
//! works at any `--memory`.

use crate::precondition::Precondition;
use oomlab_workloads::spec::{CgroupSpec, ProcessSpec, Role, ScenarioEnd};
use std::collections::BTreeMap;

pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    /// When the pressure phase is over.
    pub end: ScenarioEnd,
    /// A throwaway ext4 scratch disk of this many MiB, mounted at /scratch.
    pub scratch_disk_mib: Option<u64>,
    /// What `--param NAME=VALUE` may change, with defaults.
    pub params: &'static [Param],
    build: fn(&Params) -> Vec<ProcessSpec>,
    /// What the run must show at the first OOM invocation for the scenario to have put
    /// the kernel where it says (checked against the agent's /proc snapshot).
    precondition: fn(&Params) -> Option<Precondition>,
}

/// A whole-number scenario parameter and its allowed range.
pub struct Param {
    pub name: &'static str,
    pub default: i64,
    pub min: i64,
    pub max: i64,
    pub help: &'static str,
}

/// A scenario's parameters as given (defaults filled in), checked against its ranges.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(BTreeMap<String, i64>);

impl Params {
    fn get(&self, name: &str) -> i64 {
        self.0.get(name).copied().unwrap_or_default()
    }

    /// As recorded: name -> value.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect()
    }
}

impl Scenario {
    pub fn processes(&self, params: &Params) -> Vec<ProcessSpec> {
        (self.build)(params)
    }

    pub fn precondition(&self, params: &Params) -> Option<Precondition> {
        (self.precondition)(params)
    }

    /// Defaults overlaid with `--param NAME=VALUE` arguments; one line on any error.
    pub fn params_from(&self, args: &[String]) -> Result<Params, String> {
        let mut out: BTreeMap<String, i64> = self
            .params
            .iter()
            .map(|p| (p.name.to_string(), p.default))
            .collect();
        for a in args {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| format!("--param {a:?}: expected NAME=VALUE"))?;
            let p = self.params.iter().find(|p| p.name == k).ok_or_else(|| {
                let known: Vec<&str> = self.params.iter().map(|p| p.name).collect();
                match known.is_empty() {
                    true => format!("--param {a:?}: scenario {} takes no parameters", self.name),
                    false => format!(
                        "--param {a:?}: scenario {} has no parameter {k:?}; it takes {}",
                        self.name,
                        known.join(", ")
                    ),
                }
            })?;
            let n: i64 = v
                .parse()
                .ok()
                .filter(|n| (p.min..=p.max).contains(n))
                .ok_or_else(|| {
                    format!(
                        "--param {a:?}: {k} must be a whole number from {} to {}",
                        p.min, p.max
                    )
                })?;
            out.insert(k.to_string(), n);
        }
        Ok(Params(out))
    }
}

/// The herd scenarios' parameters.
const HERD_PARAMS: &[Param] = &[
    Param {
        name: "herd.count",
        default: 400,
        min: 1,
        max: 5000,
        help: "herd members",
    },
    Param {
        name: "herd.adj",
        default: 1000,
        min: -1000,
        max: 1000,
        help: "the members' oom_score_adj",
    },
    Param {
        name: "herd.kib",
        default: 32,
        min: 0,
        max: 65536,
        help: "memory each member touches",
    },
];

fn process(name: &str, role: Role, argv: &[&str]) -> ProcessSpec {
    ProcessSpec {
        name: name.to_string(),
        role,
        argv: argv.iter().map(|s| s.to_string()).collect(),
        oom_score_adj: 0,
        start_delay_ms: 0,
        cgroup: None,
        rlimits: BTreeMap::new(),
    }
}

/// Guest path of the usemem binary.
pub const USEMEM: &str = "/bin/usemem";
/// Guest path of the herd binary.
pub const HERD: &str = "/bin/herd";

fn in_cgroup(name: &str) -> Option<CgroupSpec> {
    Some(CgroupSpec {
        name: name.into(),
        memory_max: None,
        memory_high: None,
        oom_group: false,
        v1: false,
        members_role: None,
    })
}

/// The memcg-oom hog: 60% of RAM in /oomlab-hog limited to 30%, v2 or v1.
fn memcg_hog(v1: bool) -> ProcessSpec {
    ProcessSpec {
        start_delay_ms: 200,
        cgroup: Some(CgroupSpec {
            name: "oomlab-hog".into(),
            memory_max: Some("30%".into()),
            memory_high: None,
            oom_group: false,
            v1,
            members_role: None,
        }),
        ..process(
            "hog",
            Role::Hog,
            &[USEMEM, "--percent", "60", "--hold", "forever"],
        )
    }
}

fn hog_largest() -> Option<Precondition> {
    Some(Precondition::Largest { role: Role::Hog })
}

fn hog_in_its_cgroup() -> Option<Precondition> {
    Some(Precondition::InCgroup {
        role: Role::Hog,
        path: "/oomlab-hog".into(),
    })
}

/// Above the hog's adj the herd must outrank it; at or below, the hog must lead.
fn herd_precondition(p: &Params) -> Option<Precondition> {
    Some(if p.get("herd.adj") > 0 {
        Precondition::Outranks {
            role: Role::Expendable,
            than: Role::Hog,
            at_least: 1,
        }
    } else {
        Precondition::Largest { role: Role::Hog }
    })
}

pub const CATALOG: &[Scenario] = &[
    Scenario {
        name: "usemem",
        description: "one hog touching 150% of guest RAM beside a small bystander holding 8 MiB",
        end: ScenarioEnd::HogsExited,
        scratch_disk_mib: None,
        params: &[],
        precondition: |_| hog_largest(),
        build: |_| {
            // Give the bystander a moment to map its memory first.
            vec![bystander_8mib(), usemem_hog(200)]
        },
    },
    Scenario {
        name: "idle-hog",
        description: "a hog that takes 60% of RAM and idles, then a bystander that allocates until memory runs out (vm.oom_kill_allocating_task=1 kills the bystander)",
        // Either death relieves the pressure; the idle hog never exits by itself.
        end: ScenarioEnd::AnyExited,
        scratch_disk_mib: None,
        params: &[],
        precondition: |_| hog_largest(),
        build: |_| {
            vec![
                process(
                    "hog",
                    Role::Hog,
                    &[USEMEM, "--percent", "60", "--hold", "forever"],
                ),
                ProcessSpec {
                    // Start once the hog holds its memory, so the bystander is the one
                    // allocating when memory runs out.
                    start_delay_ms: 3_000,
                    ..process(
                        "allocator",
                        Role::Bystander,
                        &[USEMEM, "--percent", "70", "--hold", "forever"],
                    )
                },
            ]
        },
    },
    Scenario {
        name: "protected-hog",
        description: "the usemem hog at oom_score_adj -1000 (unkillable) beside an 8 MiB bystander: the kernel may only kill the bystander, then has nothing left to kill",
        end: ScenarioEnd::HogsExited,
        scratch_disk_mib: None,
        params: &[],
        precondition: |_| hog_largest(),
        build: |_| {
            vec![
                bystander_8mib(),
                ProcessSpec {
                    oom_score_adj: -1000,
                    ..usemem_hog(200)
                },
            ]
        },
    },
    Scenario {
        name: "memcg-oom",
        description: "the hog in cgroup /oomlab-hog with memory.max at 30% of RAM touches 60%: a memcg OOM, while the 8 MiB bystander outside is untouched",
        end: ScenarioEnd::HogsExited,
        scratch_disk_mib: None,
        params: &[],
        precondition: |_| hog_in_its_cgroup(),
        build: |_| vec![bystander_8mib(), memcg_hog(false)],
    },
    Scenario {
        name: "memcg-v1-oom",
        description: "memcg-oom in a cgroup v1 memory hierarchy (memory.limit_in_bytes): needs a kernel with cgroup v1 memory, which Debian's 6.12 lacks",
        end: ScenarioEnd::HogsExited,
        scratch_disk_mib: None,
        params: &[],
        precondition: |_| hog_in_its_cgroup(),
        build: |_| vec![bystander_8mib(), memcg_hog(true)],
    },
    Scenario {
        name: "oom-adj-herd-idle",
        description: "oom-adj-herd without the filesystem work: idle members die at once, so the killer clears the herd quickly",
        end: ScenarioEnd::HogsExited,
        scratch_disk_mib: None,
        params: HERD_PARAMS,
        precondition: herd_precondition,
        build: |p| herd_beside_hog(p, false),
    },
    Scenario {
        name: "oom-adj-herd",
        description: "400 herd processes at oom_score_adj 1000, each renaming and appending to its own file on an ext4 scratch disk, beside a hog at 0 touching 150% of RAM: members busy in the filesystem die slowly, one kill per oom_reaper delay",
        end: ScenarioEnd::HogsExited,
        scratch_disk_mib: Some(256),
        params: HERD_PARAMS,
        precondition: herd_precondition,
        build: |p| herd_beside_hog(p, true),
    },
];

/// Where the scratch disk is mounted in the guest.
pub const SCRATCH: &str = "/scratch";
/// The modules a scratch disk needs, with their dependencies resolved from modules.dep
/// (built-in ones are skipped: on Debian 6.12 only virtio_blk is a module).
pub const SCRATCH_MODULES: &[&str] = &["virtio_pci", "virtio_blk"];

/// The herd scenarios: 400 members at adj 1000 in /oomlab-herd (so each kill can be
/// traced to this role through its cgroup), a bystander, and 5 s later (the herd has
/// finished forking) a hog at 0 in /oomlab-hog. With `on_disk` every member also renames
/// and appends to a file of its own on the scratch disk.
fn herd_beside_hog(p: &Params, on_disk: bool) -> Vec<ProcessSpec> {
    let (count, kib) = (
        p.get("herd.count").to_string(),
        p.get("herd.kib").to_string(),
    );
    let mut herd = vec![HERD, "--count", &count, "--kib", &kib, "--period-ms", "100"];
    if on_disk {
        herd.extend(["--fs-dir", SCRATCH]);
    }
    vec![
        bystander_8mib(),
        ProcessSpec {
            oom_score_adj: p.get("herd.adj") as i32,
            cgroup: in_cgroup("oomlab-herd"),
            ..process("herd", Role::Expendable, &herd)
        },
        ProcessSpec {
            cgroup: in_cgroup("oomlab-hog"),
            ..usemem_hog(5_000)
        },
    ]
}

/// The classic hog: usemem touching 150% of guest RAM and holding it, started `delay_ms`
/// after pressure start.
fn usemem_hog(delay_ms: u64) -> ProcessSpec {
    ProcessSpec {
        start_delay_ms: delay_ms,
        ..process(
            "hog",
            Role::Hog,
            &[USEMEM, "--percent", "150", "--hold", "forever"],
        )
    }
}

fn bystander_8mib() -> ProcessSpec {
    process(
        "bystander",
        Role::Bystander,
        &[USEMEM, "--mib", "8", "--hold", "forever"],
    )
}

/// A scenario ready to run: a built-in with its parameters applied, or a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub name: String,
    pub description: String,
    /// Parameters as used (defaults included), as recorded.
    pub params: BTreeMap<String, String>,
    pub processes: Vec<ProcessSpec>,
    pub end: ScenarioEnd,
    /// A throwaway ext4 scratch disk of this many MiB, mounted at /scratch.
    pub scratch_disk_mib: Option<u64>,
    pub precondition: Option<Precondition>,
    /// Sysctls the scenario itself needs; `--set` overrides them.
    pub sysctls: BTreeMap<String, String>,
    /// Host programs the scenario runs (a file's own programs), copied into the guest.
    pub files: Vec<oomlab_vm_images::initramfs::GuestFile>,
    /// The scenario file, for a file.
    pub source: Option<std::path::PathBuf>,
    /// A verifier to run in a second boot on the scratch disk (guest argv).
    pub verify: Option<Vec<String>>,
    /// Throttle the scratch disk to this many I/O operations per second.
    pub scratch_iops: Option<u64>,
    /// Make the scratch disk at least this share of guest RAM (percent).
    pub scratch_ram_percent: Option<u64>,
    /// Programs the kernel itself starts for the scenario, with their roles.
    pub kernel_helpers: Vec<KernelHelper>,
}

/// A program the kernel starts on the scenario's behalf (a `core_pattern` pipe helper):
/// the agent never learns its pid, so a victim is known by its command name.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelHelper {
    /// The program's file name, as exec'd (`core-pipe-helper`).
    pub program: String,
    pub role: Role,
}

impl KernelHelper {
    /// The task name the kernel gives it: the file name cut to TASK_COMM_LEN - 1 bytes.
    pub fn comm(&self) -> &str {
        let mut end = self.program.len().min(15);
        while !self.program.is_char_boundary(end) {
            end -= 1;
        }
        &self.program[..end]
    }
}

impl Scenario {
    pub fn plan(&self, params: &Params) -> Plan {
        Plan {
            name: self.name.to_string(),
            description: self.description.to_string(),
            params: params.to_map(),
            processes: self.processes(params),
            end: self.end.clone(),
            scratch_disk_mib: self.scratch_disk_mib,
            precondition: self.precondition(params),
            sysctls: BTreeMap::new(),
            files: vec![],
            source: None,
            verify: None,
            scratch_iops: None,
            scratch_ram_percent: None,
            kernel_helpers: vec![],
        }
    }
}

/// Built-in scenarios written as scenario files (harness/scenarios/), the same format a
/// user writes: compiled in, read with the same loader.
pub const FILES: &[(&str, &str)] = &[
    ("usemem-many", include_str!("../scenarios/usemem-many.toml")),
    (
        "mmap-sem-writers",
        include_str!("../scenarios/mmap-sem-writers.toml"),
    ),
    (
        "coredump-victim",
        include_str!("../scenarios/coredump-victim.toml"),
    ),
    (
        "coredump-pipe",
        include_str!("../scenarios/coredump-pipe.toml"),
    ),
    (
        "inode-lock-writers",
        include_str!("../scenarios/inode-lock-writers.toml"),
    ),
    (
        "memcg-syscall-enomem",
        include_str!("../scenarios/memcg-syscall-enomem.toml"),
    ),
    (
        "mlocked-victim",
        include_str!("../scenarios/mlocked-victim.toml"),
    ),
    (
        "oom-score-adj",
        include_str!("../scenarios/oom-score-adj.toml"),
    ),
    ("fork-storm", include_str!("../scenarios/fork-storm.toml")),
    ("shared-mm", include_str!("../scenarios/shared-mm.toml")),
    (
        "oom-lock-starvation",
        include_str!("../scenarios/oom-lock-starvation.toml"),
    ),
    ("fsync-storm", include_str!("../scenarios/fsync-storm.toml")),
    ("thrash", include_str!("../scenarios/thrash.toml")),
    (
        "parallel-make",
        include_str!("../scenarios/parallel-make.toml"),
    ),
    (
        "parallel-make+usemem",
        include_str!("../scenarios/parallel-make+usemem.toml"),
    ),
];

/// A built-in scenario file as a plan.
fn builtin_file(name: &str, text: &str) -> Result<Plan, String> {
    crate::scenario_file::parse(std::path::Path::new(&format!("{name}.toml")), text)
}

/// Every built-in's name and description, for `oomlab scenarios list`.
pub fn list() -> Vec<(String, String, &'static [Param])> {
    let mut all: Vec<(String, String, &'static [Param])> = CATALOG
        .iter()
        .map(|s| (s.name.to_string(), s.description.to_string(), s.params))
        .collect();
    for (name, text) in FILES {
        let description = builtin_file(name, text).map_or_else(|e| e, |p| p.description);
        all.push((name.to_string(), description, &[]));
    }
    all
}

/// `--scenario` (a built-in name or a scenario file) with `--param`s, as a plan.
pub fn resolve(arg: &str, params: &[String]) -> Result<Plan, String> {
    if let Some((name, text)) = FILES.iter().find(|(n, _)| *n == arg) {
        if let Some(p) = params.first() {
            return Err(format!(
                "--param {p:?}: scenario {name} takes no parameters"
            ));
        }
        return builtin_file(name, text);
    }
    if crate::scenario_file::is_file(arg) {
        if let Some(p) = params.first() {
            return Err(format!(
                "--param {p:?}: scenario files take no parameters; edit {arg} instead"
            ));
        }
        return crate::scenario_file::load(std::path::Path::new(arg));
    }
    let s = find(arg)?;
    Ok(s.plan(&s.params_from(params)?))
}

pub fn find(name: &str) -> Result<&'static Scenario, String> {
    CATALOG.iter().find(|s| s.name == name).ok_or_else(|| {
        let known: Vec<&str> = CATALOG
            .iter()
            .map(|s| s.name)
            .chain(FILES.iter().map(|f| f.0))
            .collect();
        format!(
            "unknown scenario {name:?}; known scenarios: {} (see `oomlab scenarios list`), or a path to a .toml scenario file",
            known.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_scenario_file_loads_and_starts_built_in_programs() {
        for (name, _) in FILES {
            let plan = resolve(name, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(plan.name, *name);
            assert!(!plan.description.is_empty(), "{name}");
            // Only the make scenarios take a host program: the host's GNU make.
            let host: Vec<&std::path::PathBuf> = plan.files.iter().map(|f| &f.host_path).collect();
            assert!(
                host.iter().all(|h| h.ends_with("usr/bin/make")),
                "{name}: {host:?}"
            );
            assert!(plan
                .processes
                .iter()
                .all(|p| p.argv[0].starts_with("/bin/")));
            assert!(!CATALOG.iter().any(|s| s.name == *name), "{name} twice");
        }
        assert!(resolve("mmap-sem-writers", &["x=1".into()]).is_err());
        assert_eq!(list().len(), CATALOG.len() + FILES.len());
    }

    #[test]
    fn usemem_has_one_hog_and_a_bystander() {
        let p = find("usemem").unwrap().processes(&Params::default());
        assert_eq!(p.iter().filter(|p| p.role == Role::Hog).count(), 1);
        assert!(p.iter().any(|p| p.role == Role::Bystander));
    }

    #[test]
    fn every_scenario_has_exactly_one_hog_and_unique_names() {
        for s in CATALOG {
            let p = s.processes(&s.params_from(&[]).unwrap());
            assert_eq!(
                p.iter().filter(|p| p.role == Role::Hog).count(),
                1,
                "{}",
                s.name
            );
            let mut names: Vec<_> = p.iter().map(|p| &p.name).collect();
            names.dedup();
            assert_eq!(names.len(), p.len(), "{}", s.name);
        }
    }

    #[test]
    fn only_the_fs_herd_works_on_the_scratch_disk() {
        let argv = |name: &str| -> Vec<String> {
            let s = find(name).unwrap();
            s.processes(&s.params_from(&[]).unwrap())
                .into_iter()
                .find(|p| p.name == "herd")
                .unwrap()
                .argv
        };
        assert!(argv("oom-adj-herd")
            .join(" ")
            .ends_with("--fs-dir /scratch"));
        assert!(!argv("oom-adj-herd-idle").contains(&"--fs-dir".to_string()));
        assert_eq!(find("oom-adj-herd").unwrap().scratch_disk_mib, Some(256));
    }

    #[test]
    fn herd_parameters_are_checked_and_applied() {
        let s = find("oom-adj-herd").unwrap();
        let p = s
            .params_from(&["herd.adj=0".into(), "herd.count=10".into()])
            .unwrap();
        let herd = s
            .processes(&p)
            .into_iter()
            .find(|p| p.name == "herd")
            .unwrap();
        assert_eq!(herd.oom_score_adj, 0);
        assert!(herd.argv.windows(2).any(|w| w == ["--count", "10"]));
        let e = s.params_from(&["herd.adj=2000".into()]).unwrap_err();
        assert!(e.contains("from -1000 to 1000"), "{e}");
        let e = s.params_from(&["herd.size=3".into()]).unwrap_err();
        assert!(e.contains("herd.count, herd.adj, herd.kib"), "{e}");
        let e = find("usemem")
            .unwrap()
            .params_from(&["x=1".into()])
            .unwrap_err();
        assert!(e.contains("takes no parameters"), "{e}");
    }

    #[test]
    fn unknown_scenarios_name_the_known_ones() {
        let e = find("nope").err().unwrap();
        assert!(e.contains("usemem"), "{e}");
    }
}
