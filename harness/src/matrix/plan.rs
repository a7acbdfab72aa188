//! The matrix plan: kernels × setting sets × scenarios × repetitions, from a TOML plan
//! file or from the command line, checked whole before any guest boots.
//!
//! A plan file's every mistake is one line naming the file, the line and the fix.

use crate::scenario;
use oomlab_vm_images::kernel::KernelSpec;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The setting set every plan has when it names none.
pub const DEFAULT_VARIANT: &str = "default";
pub const DEFAULT_REPS: u32 = 1;
pub const DEFAULT_MEMORY_MIB: u64 = 256;
pub const DEFAULT_CPUS: u32 = 2;
pub const DEFAULT_TIMEOUT_S: u64 = 120;

/// The normalized plan: what its id hashes and what `OUT/plans/<id>.json` keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSpec {
    pub kernels: Vec<String>,
    pub scenarios: Vec<ScenarioAxis>,
    /// Settings every run gets; a variant's own settings come after and win.
    pub set: Vec<String>,
    pub variants: Vec<Variant>,
    pub reps: u32,
    pub memory_mib: u64,
    pub cpus: u32,
    pub timeout_s: u64,
    pub accel: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioAxis {
    pub name: String,
    /// As given (defaults are not filled in: the key names what the user asked for).
    pub params: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub name: String,
    pub set: Vec<String>,
}

impl ScenarioAxis {
    /// `usemem`, or `oom-adj-herd[herd.adj=0,herd.count=10]`.
    pub fn label(&self) -> String {
        if self.params.is_empty() {
            return self.name.clone();
        }
        let p: Vec<String> = self.param_args();
        format!("{}[{}]", self.name, p.join(","))
    }

    pub fn param_args(&self) -> Vec<String> {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// The scenario as a run plan; a relative scenario file is found from `base`
    /// (the plan file's folder).
    pub fn resolve(&self, base: &Path) -> Result<scenario::Plan, String> {
        let path = Path::new(&self.name);
        let name = if crate::scenario_file::is_file(&self.name) && path.is_relative() {
            base.join(path).to_string_lossy().to_string()
        } else {
            self.name.clone()
        };
        scenario::resolve(&name, &self.param_args())
    }
}

impl PlanSpec {
    /// Hash of everything but `reps`: raising the repetitions of a finished plan and
    /// resuming it runs only the new repetitions.
    pub fn id(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.remove("reps");
        }
        let digest = Sha256::digest(v.to_string().as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn runs(&self) -> usize {
        self.kernels.len() * self.variants.len() * self.scenarios.len() * self.reps as usize
    }

    /// Check every axis value (used for plans built from the command line; a plan
    /// file is checked value by value with line numbers as it is read).
    pub fn check(&self, base: &Path) -> Result<(), String> {
        check_shape(self.reps, self.memory_mib, self.cpus, self.timeout_s)?;
        check_accel(&self.accel)?;
        unique("--kernel", self.kernels.iter().map(String::as_str))?;
        for k in &self.kernels {
            check_kernel(k)?;
        }
        let labels: Vec<String> = self.scenarios.iter().map(ScenarioAxis::label).collect();
        unique("--scenario", labels.iter().map(String::as_str))?;
        for s in &self.scenarios {
            s.resolve(base)?;
        }
        unique("setting set", self.variants.iter().map(|v| v.name.as_str()))?;
        for v in &self.variants {
            check_variant_name(&v.name)?;
            check_sets(&self.set, &v.set)?;
        }
        Ok(())
    }
}

pub fn check_shape(reps: u32, memory: u64, cpus: u32, timeout: u64) -> Result<(), String> {
    if memory < 64 || cpus == 0 || reps == 0 || timeout == 0 {
        return Err("memory must be at least 64 (MiB); cpus, reps and timeout at least 1".into());
    }
    Ok(())
}

pub fn check_accel(accel: &str) -> Result<crate::qemu::accel::AccelRequest, String> {
    <crate::qemu::accel::AccelRequest as clap::ValueEnum>::from_str(accel, false)
        .map_err(|_| format!("accel {accel:?}: use auto, tcg or kvm"))
}

fn unique<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for n in names {
        if !seen.insert(n) {
            return Err(format!("{what} {n:?} is given twice; list each once"));
        }
    }
    Ok(())
}

/// A kernel spec's syntax, and for a path that the file exists.
pub fn check_kernel(spec: &str) -> Result<KernelSpec, String> {
    let parsed: KernelSpec = spec
        .parse()
        .map_err(|e: oomlab_vm_images::Error| e.to_string())?;
    if let KernelSpec::Path { bzimage } = &parsed {
        if !bzimage.is_file() {
            return Err(format!(
                "kernel {spec:?}: no such file; give a bzImage path or debian:6.1, debian:6.12"
            ));
        }
    }
    Ok(parsed)
}

pub fn check_variant_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    match ok {
        true => Ok(()),
        false => Err(format!(
            "setting set name {name:?}: use 1-64 letters, digits, '.', '_' and '-'"
        )),
    }
}

/// The settings of one variant: the plan's own, then the variant's.
pub fn variant_sets(global: &[String], variant: &[String]) -> Vec<String> {
    global.iter().chain(variant).cloned().collect()
}

pub fn check_sets(global: &[String], variant: &[String]) -> Result<(), String> {
    crate::settings::resolve(&variant_sets(global, variant)).map(drop)
}

/// `key=value` with the spaces around `=` dropped, so equal settings hash equally.
fn normalize_set(s: &str) -> String {
    match s.split_once('=') {
        Some((k, v)) => format!("{}={}", k.trim(), v.trim()),
        None => s.trim().to_string(),
    }
}

// ---- the command line ----

/// The matrix as `oomlab run` flags give it.
pub struct CliAxes {
    pub kernels: Vec<String>,
    /// `NAME` or `NAME:key=value,key=value`.
    pub scenarios: Vec<String>,
    /// `--param`: applies to every scenario.
    pub params: Vec<String>,
    pub sets: Vec<String>,
    /// `--set-variant NAME:key=value,key=value`.
    pub variants: Vec<String>,
    pub reps: u32,
    pub memory_mib: u64,
    pub cpus: u32,
    pub timeout_s: u64,
    pub accel: String,
}

/// Split `key=value,key=value`; a piece without `=` belongs to the value before it
/// (values may hold commas).
fn split_pairs(list: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in list.split(',') {
        match out.last_mut() {
            Some(last) if !piece.contains('=') => {
                last.push(',');
                last.push_str(piece);
            }
            _ => out.push(piece.to_string()),
        }
    }
    out.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

fn scenario_arg(arg: &str, params: &[String]) -> Result<ScenarioAxis, String> {
    let (name, inline) = match arg.split_once(':') {
        Some((n, p)) if p.contains('=') => (n, split_pairs(p)),
        _ => (arg, vec![]),
    };
    let mut map = BTreeMap::new();
    for p in inline.iter().chain(params) {
        let (k, v) = p.split_once('=').ok_or_else(|| {
            format!("--scenario {arg:?}: parameter {p:?} is not NAME=VALUE, e.g. oom-adj-herd:herd.adj=0")
        })?;
        map.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(ScenarioAxis {
        name: name.to_string(),
        params: map,
    })
}

fn variant_arg(arg: &str) -> Result<Variant, String> {
    let (name, sets) = arg.split_once(':').ok_or_else(|| {
        format!("--set-variant {arg:?}: expected NAME:key=value,key=value, e.g. --set-variant dump-off:vm.oom_dump_tasks=0")
    })?;
    check_variant_name(name).map_err(|e| format!("--set-variant {arg:?}: {e}"))?;
    Ok(Variant {
        name: name.to_string(),
        set: split_pairs(sets).iter().map(|s| normalize_set(s)).collect(),
    })
}

pub fn from_cli(a: CliAxes) -> Result<PlanSpec, String> {
    let scenarios = a
        .scenarios
        .iter()
        .map(|s| scenario_arg(s, &a.params))
        .collect::<Result<Vec<_>, _>>()?;
    let mut variants = a
        .variants
        .iter()
        .map(|v| variant_arg(v))
        .collect::<Result<Vec<_>, _>>()?;
    if variants.is_empty() {
        variants.push(Variant {
            name: DEFAULT_VARIANT.into(),
            set: vec![],
        });
    }
    let spec = PlanSpec {
        kernels: a.kernels,
        scenarios,
        set: a.sets.iter().map(|s| normalize_set(s)).collect(),
        variants,
        reps: a.reps,
        memory_mib: a.memory_mib,
        cpus: a.cpus,
        timeout_s: a.timeout_s,
        accel: a.accel,
    };
    spec.check(Path::new("."))?;
    Ok(spec)
}

// ---- plan files ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    kernels: Spanned<Vec<Spanned<String>>>,
    scenarios: Spanned<Vec<Spanned<FileScenario>>>,
    reps: Option<Spanned<u32>>,
    memory: Option<Spanned<u64>>,
    cpus: Option<Spanned<u32>>,
    timeout: Option<Spanned<u64>>,
    accel: Option<Spanned<String>>,
    #[serde(default)]
    set: Vec<Spanned<String>>,
    #[serde(default)]
    settings: Vec<Spanned<FileVariant>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FileScenario {
    Name(String),
    Table(FileScenarioTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScenarioTable {
    name: String,
    #[serde(default)]
    params: BTreeMap<String, ParamValue>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ParamValue {
    Int(i64),
    Str(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileVariant {
    name: Spanned<String>,
    #[serde(default)]
    set: Vec<Spanned<String>>,
}

/// A plan file as read: the normalized plan, and the folder its relative scenario
/// files are found from.
pub struct Loaded {
    pub spec: PlanSpec,
    pub base: PathBuf,
}

pub fn load(path: &Path) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "plan file {}: {e}; give the path of a .toml plan file (docs/matrix.md)",
            path.display()
        )
    })?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let spec = parse(path, &text, &base)?;
    Ok(Loaded { spec, base })
}

/// `FILE:LINE`, for a byte offset into the file.
fn at(path: &Path, text: &str, offset: usize) -> String {
    let line = text[..offset.min(text.len())].matches('\n').count() + 1;
    format!("{}:{line}", path.display())
}

pub fn parse(path: &Path, text: &str, base: &Path) -> Result<PlanSpec, String> {
    let file: File = toml::from_str(text).map_err(|e| {
        let place = e
            .span()
            .map_or_else(|| format!("{}:1", path.display()), |s| at(path, text, s.start));
        let first = e.message().lines().next().unwrap_or("invalid TOML");
        let message = if first.contains("untagged enum FileScenario") {
            "a scenario is a name (\"usemem\") or a table ({ name = \"oom-adj-herd\", params = { \"herd.adj\" = \"0\" } })".to_string()
        } else {
            first.to_string()
        };
        format!("{place}: {message}")
    })?;
    let err = |offset: usize, what: String| format!("{}: {what}", at(path, text, offset));

    if file.kernels.get_ref().is_empty() {
        return Err(err(
            file.kernels.span().start,
            "kernels is empty; list at least one, e.g. kernels = [\"debian:6.1\"]".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    for k in file.kernels.get_ref() {
        if !seen.insert(k.get_ref()) {
            return Err(err(
                k.span().start,
                format!("kernel {:?} is listed twice", k.get_ref()),
            ));
        }
        check_kernel(k.get_ref()).map_err(|e| err(k.span().start, e))?;
    }

    if file.scenarios.get_ref().is_empty() {
        return Err(err(
            file.scenarios.span().start,
            "scenarios is empty; list at least one, e.g. scenarios = [\"usemem\"]".into(),
        ));
    }
    let mut scenarios = Vec::new();
    let mut labels = BTreeSet::new();
    for s in file.scenarios.get_ref() {
        let axis = match s.get_ref() {
            FileScenario::Name(n) => ScenarioAxis {
                name: n.clone(),
                params: BTreeMap::new(),
            },
            FileScenario::Table(t) => ScenarioAxis {
                name: t.name.clone(),
                params: t
                    .params
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            ParamValue::Int(i) => i.to_string(),
                            ParamValue::Str(s) => s.clone(),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            },
        };
        if !labels.insert(axis.label()) {
            return Err(err(
                s.span().start,
                format!("scenario {} is listed twice", axis.label()),
            ));
        }
        axis.resolve(base).map_err(|e| err(s.span().start, e))?;
        scenarios.push(axis);
    }

    let reps = file.reps.as_ref().map_or(DEFAULT_REPS, |r| *r.get_ref());
    let memory_mib = file
        .memory
        .as_ref()
        .map_or(DEFAULT_MEMORY_MIB, |r| *r.get_ref());
    let cpus = file.cpus.as_ref().map_or(DEFAULT_CPUS, |r| *r.get_ref());
    let timeout_s = file
        .timeout
        .as_ref()
        .map_or(DEFAULT_TIMEOUT_S, |r| *r.get_ref());
    if let Some(r) = file.reps.as_ref().filter(|r| *r.get_ref() == 0) {
        return Err(err(r.span().start, "reps must be at least 1".into()));
    }
    if let Some(m) = file.memory.as_ref().filter(|m| *m.get_ref() < 64) {
        return Err(err(
            m.span().start,
            "memory is in MiB and must be at least 64".into(),
        ));
    }
    if let Some(c) = file.cpus.as_ref().filter(|c| *c.get_ref() == 0) {
        return Err(err(c.span().start, "cpus must be at least 1".into()));
    }
    if let Some(t) = file.timeout.as_ref().filter(|t| *t.get_ref() == 0) {
        return Err(err(
            t.span().start,
            "timeout is in seconds and must be at least 1".into(),
        ));
    }
    let accel = match &file.accel {
        Some(a) => {
            check_accel(a.get_ref()).map_err(|e| err(a.span().start, e))?;
            a.get_ref().clone()
        }
        None => "auto".into(),
    };

    let set: Vec<String> = file
        .set
        .iter()
        .map(|s| normalize_set(s.get_ref()))
        .collect();
    for (i, s) in file.set.iter().enumerate() {
        check_sets(&set[..=i], &[]).map_err(|e| err(s.span().start, e))?;
    }
    let mut variants = Vec::new();
    let mut names = BTreeSet::new();
    for v in &file.settings {
        let name = v.get_ref().name.get_ref();
        let name_at = v.get_ref().name.span().start;
        check_variant_name(name).map_err(|e| err(name_at, e))?;
        if !names.insert(name.clone()) {
            return Err(err(
                name_at,
                format!("setting set {name:?} is defined twice; names must be unique"),
            ));
        }
        let mut sets = Vec::new();
        for s in &v.get_ref().set {
            sets.push(normalize_set(s.get_ref()));
            check_sets(&set, &sets).map_err(|e| err(s.span().start, e))?;
        }
        variants.push(Variant {
            name: name.clone(),
            set: sets,
        });
    }
    if variants.is_empty() {
        variants.push(Variant {
            name: DEFAULT_VARIANT.into(),
            set: vec![],
        });
    }
    Ok(PlanSpec {
        kernels: file
            .kernels
            .get_ref()
            .iter()
            .map(|k| k.get_ref().clone())
            .collect(),
        scenarios,
        set,
        variants,
        reps,
        memory_mib,
        cpus,
        timeout_s,
        accel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const EXAMPLE: &str = r#"
kernels = ["debian:6.1", "debian:6.12"]
scenarios = ["usemem", { name = "oom-adj-herd", params = { "herd.adj" = "0" } }]
reps = 5
memory = 256
cpus = 2
timeout = 120
[[settings]]
name = "default"
[[settings]]
name = "alloc-task"   # free label, recorded
set = ["vm.oom_kill_allocating_task = 1"]
"#;

    fn parse_str(text: &str) -> Result<PlanSpec, String> {
        parse(Path::new("/tmp/plan.toml"), text, Path::new("/tmp"))
    }

    #[test]
    fn the_example_plan_parses_and_normalizes() {
        let p = parse_str(EXAMPLE).unwrap();
        assert_eq!(p.kernels, ["debian:6.1", "debian:6.12"]);
        assert_eq!(p.scenarios[1].label(), "oom-adj-herd[herd.adj=0]");
        assert_eq!(p.variants[1].set, ["vm.oom_kill_allocating_task=1"]);
        assert_eq!(
            (p.reps, p.memory_mib, p.cpus, p.timeout_s),
            (5, 256, 2, 120)
        );
        assert_eq!(p.accel, "auto");
        assert_eq!(p.runs(), 2 * 2 * 2 * 5);
    }

    #[test]
    fn integer_params_and_defaults() {
        let p = parse_str(
            "kernels = [\"debian:6.1\"]\nscenarios = [{ name = \"oom-adj-herd\", params = { \"herd.adj\" = 0 } }]\n",
        )
        .unwrap();
        assert_eq!(p.scenarios[0].params["herd.adj"], "0");
        assert_eq!(
            p.variants,
            [Variant {
                name: "default".into(),
                set: vec![]
            }]
        );
        assert_eq!(p.reps, DEFAULT_REPS);
    }

    #[test]
    fn the_id_ignores_reps_and_formatting_but_not_axes() {
        let a = parse_str(EXAMPLE).unwrap();
        let b = parse_str(
            &EXAMPLE
                .replace("reps = 5", "reps = 9")
                .replace(" = 1\"", "=1\""),
        )
        .unwrap();
        assert_eq!(a.id(), b.id());
        assert_eq!(a.id().len(), 16);
        let c = parse_str(&EXAMPLE.replace("memory = 256", "memory = 512")).unwrap();
        assert_ne!(a.id(), c.id());
        let d = parse_str(&EXAMPLE.replace("\"debian:6.1\", ", "")).unwrap();
        assert_ne!(a.id(), d.id());
    }

    /// (file text, line the error must name, words it must contain)
    const BAD: &[(&str, usize, &str)] = &[
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"nope\"]\n", 2, "unknown scenario \"nope\""),
        ("kernels = [\"debian:6.1\"]\n\nscenarios = [\"usemem\", { name = \"oom-adj-herd\", params = { \"herd.adj\" = \"5000\" } }]\n", 3, "-1000 to 1000"),
        ("kernels = [\"debian:6.1\",\n  \"linux:6.1\"]\nscenarios = [\"usemem\"]\n", 2, "linux:6.1"),
        ("kernels = [\"/no/such/bzImage\"]\nscenarios = [\"usemem\"]\n", 1, "no such file"),
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\"]\n[[settings]]\nname = \"x\"\nset = [\"net.core.x=1\"]\n", 5, "vm.*"),
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\"]\n[[settings]]\nname = \"a\"\n[[settings]]\nname = \"a\"\n", 6, "defined twice"),
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\"]\n[[settings]]\nname = \"a b\"\n", 4, "letters, digits"),
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\"]\nreps = 0\n", 3, "at least 1"),
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\"]\nreps = -2\n", 3, "integer `-2`"),
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\"]\nmemory = 32\n", 3, "at least 64"),
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\"]\naccel = \"xen\"\n", 3, "auto, tcg or kvm"),
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\"]\nrepz = 3\n", 3, "unknown field `repz`"),
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\", 3]\n", 2, "a scenario is a name"),
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\", \"usemem\"]\n", 2, "listed twice"),
        ("kernels = []\nscenarios = [\"usemem\"]\n", 1, "kernels is empty"),
        ("scenarios = [\"usemem\"]\n", 1, "missing field `kernels`"),
        ("kernels = [\"debian:6.1\"]\nscenarios = [\"usemem\"]\nset = [\"console.loglevel=9\"]\n", 3, "0-8"),
        ("kernels = [\"debian:6.1\"\n", 2, "invalid array"),
    ];

    #[test]
    fn every_mistake_is_one_line_with_file_and_line() {
        for (text, line, words) in BAD {
            let e = parse_str(text).unwrap_err();
            assert!(
                e.starts_with(&format!("/tmp/plan.toml:{line}: ")),
                "{text:?} -> {e}"
            );
            assert!(e.contains(words), "{text:?} -> {e}");
            assert!(!e.contains('\n'), "{text:?} -> {e}");
        }
    }

    fn cli(scenarios: &[&str], variants: &[&str]) -> Result<PlanSpec, String> {
        from_cli(CliAxes {
            kernels: vec!["debian:6.1".into()],
            scenarios: scenarios.iter().map(|s| s.to_string()).collect(),
            params: vec![],
            sets: vec!["vm.oom_dump_tasks=0".into()],
            variants: variants.iter().map(|s| s.to_string()).collect(),
            reps: 2,
            memory_mib: 256,
            cpus: 2,
            timeout_s: 120,
            accel: "tcg".into(),
        })
    }

    #[test]
    fn the_command_line_gives_the_same_axes() {
        let p = cli(
            &["usemem", "oom-adj-herd:herd.adj=0,herd.count=10"],
            &[
                "a:vm.overcommit_memory=1",
                "b:kernel.printk=7 4 1 7,vm.panic_on_oom=0",
            ],
        )
        .unwrap();
        assert_eq!(
            p.scenarios[1].label(),
            "oom-adj-herd[herd.adj=0,herd.count=10]"
        );
        assert_eq!(
            p.variants[1].set,
            ["kernel.printk=7 4 1 7", "vm.panic_on_oom=0"]
        );
        assert_eq!(p.set, ["vm.oom_dump_tasks=0"]);
        let e = cli(&["usemem"], &["nocolon"]).unwrap_err();
        assert!(e.contains("NAME:key=value"), "{e}");
        let e = cli(&["usemem"], &["a:vm.x=1", "a:vm.y=2"]).unwrap_err();
        assert!(e.contains("given twice"), "{e}");
        let e = cli(&["usemem:herd.adj=0"], &[]).unwrap_err();
        assert!(e.contains("takes no parameters"), "{e}");
        assert_eq!(cli(&["usemem"], &[]).unwrap().variants[0].name, "default");
    }

    #[test]
    fn values_with_commas_stay_whole() {
        assert_eq!(split_pairs("a=1,2,b=3"), ["a=1,2", "b=3"]);
        assert_eq!(split_pairs(""), Vec::<String>::new());
    }
}
