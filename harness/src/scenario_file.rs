//! Scenario files: a user's own scenario in TOML, run as `oomlab run --scenario ./x.toml`.
//!
//! A file composes processes (a built-in workload or the user's own program, a host
//! path copied into the guest), roles, oom_score_adj, cgroups, rlimits, sysctls, a
//! scratch disk and the precondition the run must show. Every mistake is one line
//! naming the file, the line and the fix, and is found before any guest boots.

use crate::guest_bins;
use crate::precondition::Precondition;
use crate::scenario::{KernelHelper, Plan};
use oomlab_vm_images::initramfs::GuestFile;
use oomlab_workloads::spec::{CgroupSpec, ProcessSpec, Role, ScenarioEnd};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Where users' programs go in the guest.
pub const USER_BIN_DIR: &str = "/opt/oomlab/bin";
/// The rlimits a process may set, as `ulimit`-style names.
pub const RLIMITS: &[&str] = &[
    "core", "memlock", "nofile", "nproc", "as", "data", "stack", "fsize",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    description: Option<String>,
    #[serde(default)]
    end: Option<Spanned<String>>,
    scratch_disk_mib: Option<Spanned<u64>>,
    /// Throttle the scratch disk (QEMU `throttling.iops-total`): a slow disk.
    scratch_iops: Option<Spanned<u64>>,
    /// At least this share of guest RAM (percent), so RAM-sized files fit.
    scratch_ram_percent: Option<Spanned<u64>>,
    #[serde(default)]
    sysctls: BTreeMap<String, Spanned<String>>,
    /// Host programs to copy into the guest (at /opt/oomlab/bin/NAME, with their
    /// libraries) that no argv names first: one process runs another (make).
    #[serde(default)]
    programs: Vec<Spanned<String>>,
    #[serde(default, rename = "process")]
    processes: Vec<FileProcess>,
    precondition: Option<Spanned<Precondition>>,
    verify: Option<Verify>,
    /// Programs the kernel starts for the scenario (a core_pattern pipe helper).
    #[serde(default, rename = "kernel_helper")]
    kernel_helpers: Vec<FileHelper>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHelper {
    /// The file name the kernel execs, which becomes the task's name.
    program: Spanned<String>,
    role: Role,
}

/// A program run in a second boot on the scratch disk, after the scenario.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verify {
    argv: Spanned<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileProcess {
    name: Spanned<String>,
    role: Role,
    /// Program and arguments: a built-in workload name or a host path first.
    argv: Spanned<Vec<String>>,
    oom_score_adj: Option<Spanned<i32>>,
    #[serde(default)]
    start_delay_ms: u64,
    cgroup: Option<Spanned<CgroupSpec>>,
    #[serde(default)]
    rlimits: BTreeMap<String, Spanned<String>>,
}

/// Whether a `--scenario` argument names a file rather than a built-in.
pub fn is_file(arg: &str) -> bool {
    arg.ends_with(".toml") || arg.contains('/')
}

/// Read and check a scenario file.
pub fn load(path: &Path) -> Result<Plan, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "scenario file {}: {e}; give the path of a .toml scenario file",
            path.display()
        )
    })?;
    parse(path, &text)
}

/// `FILE:LINE: what`, for a byte offset into the file.
fn at(path: &Path, text: &str, offset: usize) -> String {
    let line = text[..offset.min(text.len())].matches('\n').count() + 1;
    format!("{}:{line}", path.display())
}

pub fn parse(path: &Path, text: &str) -> Result<Plan, String> {
    let file: File = toml::from_str(text).map_err(|e| {
        let place = e
            .span()
            .map_or_else(|| path.display().to_string(), |s| at(path, text, s.start));
        // toml's message repeats the offending source lines; the first line says it all.
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string();
        format!("{place}: {message}")
    })?;
    let err = |offset: usize, what: String| format!("{}: {what}", at(path, text, offset));
    let name = path.file_stem().map_or_else(
        || "scenario".to_string(),
        |s| s.to_string_lossy().to_string(),
    );
    if file.processes.is_empty() {
        return Err(format!(
            "{}: no [[process]]; a scenario needs at least one, e.g. [[process]] name = \"hog\" role = \"hog\" argv = [\"usemem\", \"--percent\", \"150\"]",
            path.display()
        ));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut names = BTreeSet::new();
    let mut files: Vec<GuestFile> = Vec::new();
    let mut processes = Vec::new();
    for p in &file.processes {
        let pname = p.name.get_ref();
        if !names.insert(pname.clone()) {
            return Err(err(
                p.name.span().start,
                format!("process name {pname:?} is used twice; names must be unique"),
            ));
        }
        let (program, args) = p
            .argv
            .get_ref()
            .split_first()
            .ok_or_else(|| err(p.argv.span().start, "argv is empty; give a program first, e.g. argv = [\"usemem\", \"--percent\", \"150\"]".into()))?;
        let guest_program =
            resolve_program(program, base, &mut files).map_err(|e| err(p.argv.span().start, e))?;
        let adj = p.oom_score_adj.as_ref().map_or(0, |a| *a.get_ref());
        if let Some(a) = p
            .oom_score_adj
            .as_ref()
            .filter(|_| !(-1000..=1000).contains(&adj))
        {
            return Err(err(
                a.span().start,
                format!("oom_score_adj {adj} is outside -1000..1000"),
            ));
        }
        if let Some(g) = &p.cgroup {
            check_cgroup(g.get_ref()).map_err(|e| err(g.span().start, e))?;
        }
        for (resource, value) in &p.rlimits {
            check_rlimit(resource, value.get_ref()).map_err(|e| err(value.span().start, e))?;
        }
        let mut argv = vec![guest_program];
        argv.extend(args.iter().cloned());
        processes.push(ProcessSpec {
            name: pname.clone(),
            role: p.role,
            argv,
            oom_score_adj: adj,
            start_delay_ms: p.start_delay_ms,
            cgroup: p.cgroup.as_ref().map(|g| g.get_ref().clone()),
            rlimits: p
                .rlimits
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
        });
    }
    let end = match file
        .end
        .as_ref()
        .map(|e| (e.get_ref().as_str(), e.span().start))
    {
        None | Some(("hogs-exited", _)) => ScenarioEnd::HogsExited,
        Some(("any-exited", _)) => ScenarioEnd::AnyExited,
        Some((named, at)) if named.starts_with("exited:") => {
            let names: Vec<String> = named["exited:".len()..]
                .split(',')
                .map(|n| n.trim().to_string())
                .collect();
            if let Some(n) = names
                .iter()
                .find(|n| !processes.iter().any(|p| &p.name == *n))
            {
                return Err(err(
                    at,
                    format!("end = {named:?}: no [[process]] is named {n:?}"),
                ));
            }
            ScenarioEnd::Exited(names)
        }
        Some((other, at)) => {
            return Err(err(
                at,
                format!(
                    "end = {other:?}: use \"hogs-exited\", \"any-exited\" or \"exited:NAME,NAME\""
                ),
            ))
        }
    };
    if let Some(mib) = &file.scratch_disk_mib {
        if !(16..=65_536).contains(mib.get_ref()) {
            return Err(err(
                mib.span().start,
                format!(
                    "scratch_disk_mib = {}: give 16 to 65536 (MiB)",
                    mib.get_ref()
                ),
            ));
        }
    }
    if let Some(pct) = &file.scratch_ram_percent {
        if file.scratch_disk_mib.is_none() || !(1..=1000).contains(pct.get_ref()) {
            return Err(err(
                pct.span().start,
                "scratch_ram_percent sizes the scratch disk by guest RAM: give scratch_disk_mib too, and 1-1000".into(),
            ));
        }
    }
    if let Some(iops) = &file.scratch_iops {
        if file.scratch_disk_mib.is_none() || *iops.get_ref() == 0 {
            return Err(err(
                iops.span().start,
                "scratch_iops throttles the scratch disk: give scratch_disk_mib too, and at least 1".into(),
            ));
        }
    }
    for program in &file.programs {
        if !program.get_ref().contains('/') {
            return Err(err(
                program.span().start,
                format!(
                    "programs: {:?} must be a host path, e.g. \"/usr/bin/make\"",
                    program.get_ref()
                ),
            ));
        }
        resolve_program(program.get_ref(), base, &mut files)
            .map_err(|e| err(program.span().start, e))?;
    }
    let mut sysctls = BTreeMap::new();
    for (k, v) in &file.sysctls {
        let (key, value) = crate::settings::parse(&format!("{k}={}", v.get_ref()))
            .map_err(|e| err(v.span().start, format!("sysctls: {e}")))?;
        sysctls.insert(key, value);
    }
    let verify = match &file.verify {
        None => None,
        Some(v) => {
            let (program, args) = v.argv.get_ref().split_first().ok_or_else(|| {
                err(
                    v.argv.span().start,
                    "verify argv is empty; give the verifier first".into(),
                )
            })?;
            if file.scratch_disk_mib.is_none() {
                return Err(err(
                    v.argv.span().start,
                    "[verify] checks the scratch disk; add scratch_disk_mib".into(),
                ));
            }
            let guest = resolve_program(program, base, &mut files)
                .map_err(|e| err(v.argv.span().start, e))?;
            Some(std::iter::once(guest).chain(args.iter().cloned()).collect())
        }
    };
    if let Some(p) = &file.precondition {
        p.get_ref().validate().map_err(|e| err(p.span().start, e))?;
    }
    let mut kernel_helpers = Vec::new();
    for h in &file.kernel_helpers {
        let program = h.program.get_ref();
        check_helper_program(program).map_err(|e| err(h.program.span().start, e))?;
        kernel_helpers.push(KernelHelper {
            program: program.clone(),
            role: h.role,
        });
    }
    Ok(Plan {
        name,
        description: file.description.unwrap_or_default(),
        params: BTreeMap::new(),
        processes,
        end,
        scratch_disk_mib: file.scratch_disk_mib.map(|m| *m.get_ref()),
        precondition: file.precondition.map(|p| p.into_inner()),
        sysctls,
        files,
        source: Some(path.to_path_buf()),
        verify,
        scratch_iops: file.scratch_iops.map(|i| *i.get_ref()),
        scratch_ram_percent: file.scratch_ram_percent.map(|i| *i.get_ref()),
        kernel_helpers,
    })
}

/// A kernel helper is matched by task name, which the kernel takes from the file name.
fn check_helper_program(program: &str) -> Result<(), String> {
    let ok = !program.is_empty()
        && program
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "kernel_helper program {program:?}: give the file name the kernel runs, without its directory (\"core-pipe-helper\" for \"|/bin/core-pipe-helper\")"
        ))
    }
}

/// A built-in workload's guest path, or a host program copied into the guest.
fn resolve_program(
    program: &str,
    base: &Path,
    files: &mut Vec<GuestFile>,
) -> Result<String, String> {
    if guest_bins::WORKLOADS.contains(&program) {
        return Ok(format!("/bin/{program}"));
    }
    if !program.contains('/') {
        return Err(format!(
            "unknown program {program:?}: use a built-in workload ({}) or a path to your own program, e.g. \"./repro\"",
            guest_bins::WORKLOADS.join(", ")
        ));
    }
    let host: PathBuf = base.join(program);
    if !host.is_file() {
        return Err(format!(
            "program {} does not exist; the path is relative to the scenario file",
            host.display()
        ));
    }
    let file_name = host
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let guest = format!("{USER_BIN_DIR}/{file_name}");
    if !files.iter().any(|f| f.guest_path == guest) {
        files.push(GuestFile {
            guest_path: guest.clone(),
            host_path: host,
            mode: 0o755,
        });
    }
    Ok(guest)
}

fn check_cgroup(g: &CgroupSpec) -> Result<(), String> {
    let name_ok = !g.name.is_empty()
        && g.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        return Err(format!(
            "cgroup name {:?}: use letters, digits, '-' and '_'",
            g.name
        ));
    }
    for (key, value) in [
        ("memory_max", &g.memory_max),
        ("memory_high", &g.memory_high),
    ] {
        if let Some(v) = value {
            size_ok(v).map_err(|e| format!("cgroup {key} = {v:?}: {e}"))?;
        }
    }
    Ok(())
}

/// `N`, `N[KMG]` (bytes) or `N%` of guest RAM, 1-100%, as the agent takes them.
pub fn size_ok(v: &str) -> Result<(), String> {
    let bad =
        || "give bytes with an optional K/M/G suffix (64M) or 1-100% of guest RAM".to_string();
    if let Some(p) = v.strip_suffix('%') {
        return match p.parse::<u64>() {
            Ok(1..=100) => Ok(()),
            _ => Err(bad()),
        };
    }
    let digits = v.trim_end_matches(['K', 'M', 'G', 'k', 'm', 'g']);
    if v.len() - digits.len() > 1 {
        return Err(bad());
    }
    match digits.parse::<u64>() {
        Ok(n) if n > 0 => Ok(()),
        _ => Err(bad()),
    }
}

fn check_rlimit(resource: &str, value: &str) -> Result<(), String> {
    if !RLIMITS.contains(&resource) {
        return Err(format!(
            "unknown rlimit {resource:?}; oomlab sets {}",
            RLIMITS.join(", ")
        ));
    }
    if value != "unlimited" && value.parse::<u64>().is_err() {
        return Err(format!(
            "rlimit {resource} = {value:?}: give a number or \"unlimited\""
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
description = "usemem beside a protected bystander"
end = "hogs-exited"

[sysctls]
"vm.overcommit_memory" = "1"

[[process]]
name = "keeper"
role = "bystander"
argv = ["usemem", "--mib", "8", "--hold", "forever"]
oom_score_adj = -1000

[[process]]
name = "hog"
role = "hog"
argv = ["usemem", "--percent", "150"]
start_delay_ms = 200
rlimits = { core = "unlimited" }
cgroup = { name = "oomlab-hog", memory_max = "30%", members_role = "expendable" }

[precondition]
kind = "largest"
role = "hog"
"#;

    fn parse_str(text: &str) -> Result<Plan, String> {
        parse(Path::new("/tmp/my.toml"), text)
    }

    #[test]
    fn a_good_file_becomes_a_plan() {
        let plan = parse_str(GOOD).unwrap();
        assert_eq!(plan.name, "my");
        assert_eq!(plan.processes.len(), 2);
        assert_eq!(plan.processes[1].argv[0], "/bin/usemem");
        assert_eq!(plan.processes[0].oom_score_adj, -1000);
        assert_eq!(plan.processes[1].rlimits["core"], "unlimited");
        let cgroup = plan.processes[1].cgroup.as_ref().unwrap();
        assert_eq!(cgroup.members_role, Some(Role::Expendable));
        assert_eq!(plan.sysctls["vm.overcommit_memory"], "1");
        assert_eq!(
            plan.precondition,
            Some(Precondition::Largest { role: Role::Hog })
        );
        assert!(plan.files.is_empty());
    }

    fn error_of(text: &str) -> String {
        let e = parse_str(text).unwrap_err();
        assert!(!e.contains('\n'), "one line: {e}");
        e
    }

    #[test]
    fn mistakes_name_the_file_the_line_and_the_fix() {
        let e = error_of("[[process]]\nname = \"a\"\nrole = \"hog\"\nargv = [\"usemem\"\n");
        assert!(e.starts_with("/tmp/my.toml:"), "{e}");
        let e = error_of(&GOOD.replace("start_delay_ms = 200", "start_delay = 200"));
        assert!(
            e.starts_with("/tmp/my.toml:18:") && e.contains("unknown field `start_delay`"),
            "{e}"
        );
        let e = error_of(&GOOD.replace("[\"usemem\", \"--percent\", \"150\"]", "[\"stress-ng\"]"));
        assert!(
            e.starts_with("/tmp/my.toml:17:") && e.contains("unknown program \"stress-ng\""),
            "{e}"
        );
        let e = error_of(&GOOD.replace("\"30%\"", "\"300%\""));
        assert!(
            e.starts_with("/tmp/my.toml:20:") && e.contains("1-100%"),
            "{e}"
        );
        let e = error_of(&GOOD.replace("\"hog\"\nrole", "\"keeper\"\nrole"));
        assert!(e.contains("used twice"), "{e}");
        let e = error_of(&GOOD.replace("core = \"unlimited\"", "cores = \"1\""));
        assert!(e.contains("unknown rlimit \"cores\""), "{e}");
        let e = error_of(&GOOD.replace("role = \"bystander\"", "role = \"victim\""));
        assert!(
            e.contains("/tmp/my.toml:10:") && e.contains("victim"),
            "{e}"
        );
        let e = error_of(&GOOD.replace("\"expendable\"", "\"victims\""));
        assert!(
            e.starts_with("/tmp/my.toml:20:") && e.contains("victims"),
            "{e}"
        );
        let e = error_of(&GOOD.replace("kind = \"largest\"", "kind = \"biggest\""));
        assert!(e.contains("biggest"), "{e}");
        let e = error_of(&GOOD.replace("oom_score_adj = -1000", "oom_score_adj = -1001"));
        assert!(e.starts_with("/tmp/my.toml:12:"), "{e}");
        let named = |end: &str| GOOD.replace("end = \"hogs-exited\"", &format!("end = {end:?}"));
        let e = error_of(&named("exited:keeper,maker"));
        assert!(
            e.contains("my.toml:") && e.contains("no [[process]] is named \"maker\""),
            "{e}"
        );
        let plan = parse_str(&named("exited:keeper, hog")).unwrap();
        assert_eq!(
            plan.end,
            ScenarioEnd::Exited(vec!["keeper".into(), "hog".into()])
        );
        let e = error_of("description = \"nothing\"\n");
        assert!(e.contains("no [[process]]"), "{e}");
        let e = error_of(&GOOD.replace("\"vm.overcommit_memory\"", "\"net.core.x\""));
        assert!(e.starts_with("/tmp/my.toml:6:"), "{e}");
    }

    #[test]
    fn a_kernel_helper_is_named_by_its_file_name() {
        let helper = "\n[[kernel_helper]]\nprogram = \"core-pipe-helper\"\nrole = \"expendable\"\n";
        let plan = parse_str(&format!("{GOOD}{helper}")).unwrap();
        assert_eq!(plan.kernel_helpers.len(), 1);
        assert_eq!(plan.kernel_helpers[0].role, Role::Expendable);
        assert_eq!(plan.kernel_helpers[0].comm(), "core-pipe-helpe");
        let e = error_of(&format!(
            "{GOOD}{}",
            helper.replace("\"core-pipe-helper\"", "\"/bin/core-pipe-helper\"")
        ));
        assert!(
            e.starts_with("/tmp/my.toml:27:") && e.contains("without its directory"),
            "{e}"
        );
        let e = error_of(&format!("{GOOD}{}", helper.replace("expendable", "helper")));
        assert!(e.contains("helper"), "{e}");
    }

    #[test]
    fn a_users_program_is_copied_from_beside_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("repro"), b"\x7fELF").unwrap();
        let text =
            "[[process]]\nname = \"r\"\nrole = \"hog\"\nargv = [\"./repro\", \"-n\", \"3\"]\n";
        let plan = parse(&dir.path().join("s.toml"), text).unwrap();
        assert_eq!(plan.processes[0].argv, ["/opt/oomlab/bin/repro", "-n", "3"]);
        assert_eq!(plan.files[0].host_path, dir.path().join("./repro"));
        let missing = parse(
            &dir.path().join("s.toml"),
            &text.replace("./repro", "./nope"),
        )
        .unwrap_err();
        assert!(
            missing.contains("s.toml:4:") && missing.contains("does not exist"),
            "{missing}"
        );
    }
}
