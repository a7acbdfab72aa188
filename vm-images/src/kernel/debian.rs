//! Fetching Debian kernel image packages with apt and unpacking them into the cache.
//! Each package version is unpacked once into `kernels/<package>_<version>/`, which
//! appears atomically (unpack into a temporary directory, then rename) under an
//! flock, so concurrent oomlab processes neither corrupt nor duplicate it.

use super::release::{self, Release};
use crate::cache::CacheDir;
use crate::fsutil::{self, FileLock, TempGuard};
use crate::{debversion, Error};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Written last into an unpacked tree; its presence marks the tree complete.
const META_FILE: &str = "oomlab-kernel.json";

/// An apt package version that ships a kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub package: String,
    pub version: String,
    pub release: Release,
}

/// A kernel package unpacked in the cache.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Unpacked {
    pub package: String,
    pub version: String,
    pub release: String,
    /// SHA-256 of boot/vmlinuz-RELEASE, computed once at unpack time.
    pub sha256: String,
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Unpacked {
    pub fn bzimage(&self) -> PathBuf {
        self.dir
            .join("boot")
            .join(format!("vmlinuz-{}", self.release))
    }
    pub fn config(&self) -> PathBuf {
        self.dir
            .join("boot")
            .join(format!("config-{}", self.release))
    }
    pub fn modules_dir(&self) -> PathBuf {
        self.dir.join("lib/modules").join(&self.release)
    }
}

/// Find the newest package for `series`/`flavour` and make sure it is unpacked.
pub(crate) fn fetch(
    series: &str,
    flavour: &str,
    cache: &CacheDir,
    progress: &mut dyn FnMut(&str),
) -> Result<Unpacked, Error> {
    let kernels = cache.kernels_dir();
    cache.ensure(&kernels)?;
    let cached = newest_cached(&kernels, series, flavour);
    let lookups = kernels.join(LOOKUP_FILE);
    let key = format!("{series} {flavour}");
    let fingerprint = lists_fingerprint();
    let remembered = fingerprint
        .as_deref()
        .and_then(|f| remembered_lookup(&lookups, &key, f));
    let looked_up = match remembered {
        Some(c) => Ok(c),
        None => {
            progress(&format!(
                "looking up Debian {series} {flavour} kernels with apt"
            ));
            let found = newest_in_apt(series, flavour);
            if let (Ok(c), Some(f)) = (&found, &fingerprint) {
                remember_lookup(&lookups, &key, f, c);
            }
            found
        }
    };
    let candidate = match looked_up {
        Ok(c) => c,
        Err(e) => {
            // Without apt (or without a match in its lists) a kernel unpacked
            // earlier still lets the run go ahead.
            return match cached {
                Some(u) => {
                    progress(&format!("{e}; using cached {}={}", u.package, u.version));
                    Ok(u)
                }
                None => Err(e),
            };
        }
    };
    let dir = kernels.join(dir_name(&candidate.package, &candidate.version));
    if let Some(u) = load_meta(&dir) {
        return Ok(u);
    }
    let lock_path = kernels.join(format!(
        "{}.lock",
        dir_name(&candidate.package, &candidate.version)
    ));
    let _lock = FileLock::acquire(&lock_path, &mut || {
        progress(&format!(
            "waiting for another oomlab to finish unpacking {}",
            candidate.package
        ))
    })?;
    if let Some(u) = load_meta(&dir) {
        return Ok(u);
    }
    remove_stale_temps(&dir);
    match download_and_unpack(&candidate, &dir, progress) {
        Ok(u) => Ok(u),
        Err(e) => match cached {
            Some(u) if matches!(e, Error::ToolFailed { .. } | Error::ToolMissing { .. }) => {
                progress(&format!("{e}; using cached {}={}", u.package, u.version));
                Ok(u)
            }
            _ => Err(e),
        },
    }
}

/// Remembered apt answers, so a warm resolve does not pay for two apt-cache runs
/// (about 0.8 s each where apt keeps no binary cache, as in Debian's container
/// images).
const LOOKUP_FILE: &str = "apt-lookups.json";

/// Where apt keeps its package lists; they change only when apt-get update runs.
const APT_LISTS: &str = "/var/lib/apt/lists";

/// One remembered answer, valid while apt's lists are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Lookup {
    lists: String,
    package: String,
    version: String,
}

/// A hash of the names, sizes and mtimes of apt's list files; None if unreadable
/// (then nothing is remembered).
fn lists_fingerprint() -> Option<String> {
    let mut entries: Vec<String> = std::fs::read_dir(APT_LISTS)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            let mtime = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            meta.is_file().then(|| {
                format!(
                    "{} {} {}.{}",
                    e.file_name().to_string_lossy(),
                    meta.len(),
                    mtime.as_secs(),
                    mtime.subsec_nanos()
                )
            })
        })
        .collect();
    if entries.is_empty() {
        return None;
    }
    entries.sort();
    Some(fsutil::hex(&Sha256::digest(entries.join("\n").as_bytes())))
}

/// The remembered candidate for `key` if it was looked up against these lists.
fn remembered_lookup(path: &Path, key: &str, lists: &str) -> Option<Candidate> {
    let text = std::fs::read(path).ok()?;
    let all: BTreeMap<String, Lookup> = serde_json::from_slice(&text).ok()?;
    let l = all.get(key).filter(|l| l.lists == lists)?;
    Some(Candidate {
        release: release::parse_package(&l.package)?,
        package: l.package.clone(),
        version: l.version.clone(),
    })
}

/// Remember an apt answer. Best effort: a failure only costs the next lookup time.
fn remember_lookup(path: &Path, key: &str, lists: &str, c: &Candidate) {
    let mut all: BTreeMap<String, Lookup> = std::fs::read(path)
        .ok()
        .and_then(|t| serde_json::from_slice(&t).ok())
        .unwrap_or_default();
    all.insert(
        key.to_string(),
        Lookup {
            lists: lists.to_string(),
            package: c.package.clone(),
            version: c.version.clone(),
        },
    );
    if let Ok(json) = serde_json::to_vec_pretty(&all) {
        let _ = fsutil::write_atomically(path, |w| std::io::Write::write_all(w, &json));
    }
}

/// The cache directory name of a package version (':' from an epoch is escaped as
/// apt does in .deb file names).
fn dir_name(package: &str, version: &str) -> String {
    format!("{package}_{}", version.replace(':', "%3a"))
}

/// Delete temporary unpack directories of `dest` left by a killed oomlab. Only the
/// holder of `dest`'s lock creates them, so under the lock any that exist are stale.
fn remove_stale_temps(dest: &Path) {
    let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else {
        return;
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Read a complete unpacked tree's metadata; None if absent or incomplete.
fn load_meta(dir: &Path) -> Option<Unpacked> {
    let text = std::fs::read(dir.join(META_FILE)).ok()?;
    let mut u: Unpacked = serde_json::from_slice(&text).ok()?;
    u.dir = dir.to_path_buf();
    u.bzimage().is_file().then_some(u)
}

/// The newest already-unpacked kernel of this series and flavour.
fn newest_cached(kernels: &Path, series: &str, flavour: &str) -> Option<Unpacked> {
    let entries = std::fs::read_dir(kernels).ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| load_meta(&e.path()))
        .filter(|u| {
            release::parse_release(&u.release)
                .is_some_and(|r| r.series == series && r.flavour == flavour)
        })
        .max_by(|a, b| {
            debversion::compare(&a.version, &b.version)
                .then_with(|| debversion::compare(&a.release, &b.release))
        })
}

/// Ask apt for the newest installable unsigned image package of this series/flavour.
fn newest_in_apt(series: &str, flavour: &str) -> Result<Candidate, Error> {
    const WHY: &str =
        "oomlab looks Debian kernels up with apt-cache; install apt or pass a bzImage path instead";
    let names = run(
        Command::new("apt-cache").args(["pkgnames", "linux-image-"]),
        "apt-cache",
        WHY,
        "run apt-get update, or pass a bzImage path",
    )?;
    let images: Vec<Release> = String::from_utf8_lossy(&names.stdout)
        .lines()
        .filter_map(|l| release::parse_package(l.trim()))
        .collect();
    let wanted: Vec<&Release> = images
        .iter()
        .filter(|r| r.series == series && r.flavour == flavour)
        .collect();
    let none = || Error::NoDebianKernel {
        series: series.to_string(),
        flavour: flavour.to_string(),
        available: summarize(&images),
    };
    if wanted.is_empty() {
        return Err(none());
    }
    let mut cmd = Command::new("apt-cache");
    cmd.args(["show", "--no-all-versions"]);
    cmd.args(wanted.iter().map(|r| release::package_name(&r.release)));
    // apt-cache exits non-zero if any one name lacks a candidate but still prints
    // the others, so its output is read whatever the status.
    let out = spawn(&mut cmd, "apt-cache", WHY)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let stanzas = parse_stanzas(&text);
    stanzas
        .into_iter()
        .filter_map(|s| {
            let package = s.get("Package")?;
            let version = s.get("Version")?;
            let release = release::parse_package(package)?;
            (release.series == series && release.flavour == flavour).then(|| Candidate {
                package: package.to_string(),
                version: version.to_string(),
                release,
            })
        })
        .max_by(|a, b| {
            debversion::compare(&a.version, &b.version)
                .then_with(|| debversion::compare(&a.release.release, &b.release.release))
        })
        .ok_or_else(none)
}

/// "6.1 (amd64, cloud-amd64, rt-amd64), 6.12 (…)", series in version order.
fn summarize(images: &[Release]) -> String {
    let mut by_series: BTreeMap<(u32, u32), BTreeSet<&str>> = BTreeMap::new();
    for r in images {
        let (a, b) = r.series.split_once('.').unwrap_or((&r.series, "0"));
        let key = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
        by_series.entry(key).or_default().insert(&r.flavour);
    }
    if by_series.is_empty() {
        return "no linux-image-*-unsigned packages at all (is a Debian archive in apt's sources?)"
            .to_string();
    }
    by_series
        .iter()
        .map(|((a, b), fl)| {
            format!(
                "debian:{a}.{b} ({})",
                fl.iter().copied().collect::<Vec<_>>().join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Split `apt-cache show` output into field maps, one per stanza. Continuation
/// lines (leading space) are ignored: we only read single-line fields.
fn parse_stanzas(text: &str) -> Vec<BTreeMap<&str, &str>> {
    let mut out = Vec::new();
    let mut cur = BTreeMap::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else if !line.starts_with(char::is_whitespace) {
            if let Some((k, v)) = line.split_once(':') {
                cur.insert(k.trim(), v.trim());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Download with apt-get, unpack with dpkg-deb, index modules, then rename the tree
/// into place. Caller holds the lock.
fn download_and_unpack(
    c: &Candidate,
    dest: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Unpacked, Error> {
    let tmp = TempGuard::new(fsutil::temp_sibling(dest));
    std::fs::create_dir(tmp.path()).map_err(Error::io("creating", tmp.path()))?;
    progress(&format!("downloading {}={}", c.package, c.version));
    let mut cmd = Command::new("apt-get");
    cmd.current_dir(tmp.path()).args(["-q", "download"]);
    // As root apt drops to the _apt user for downloads, which cannot write into a
    // root-owned cache; downloading as root into our own directory is what we want.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.args(["-o", "APT::Sandbox::User=root"]);
    }
    cmd.arg(format!("{}={}", c.package, c.version));
    run(
        &mut cmd,
        "apt-get",
        "oomlab fetches Debian kernels with apt-get; pass a bzImage path instead",
        "check that the Debian archive is reachable, or pass a bzImage path",
    )?;
    let deb = find_deb(tmp.path())?;
    progress(&format!("unpacking {}", c.package));
    let tree = tmp.path().join("tree");
    run(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tree),
        "dpkg-deb",
        "oomlab unpacks Debian kernels with dpkg-deb; install dpkg or pass a bzImage path instead",
        "the download may be corrupt; retry",
    )?;
    let mut u = Unpacked {
        package: c.package.clone(),
        version: c.version.clone(),
        release: c.release.release.clone(),
        sha256: String::new(),
        dir: tree.clone(),
    };
    let bad = |reason: String| Error::BadPackage {
        package: c.package.clone(),
        reason,
        dir: dest.to_path_buf(),
    };
    if !u.bzimage().is_file() {
        return Err(bad(format!("no boot/vmlinuz-{}", u.release)));
    }
    let modules_dir = u.modules_dir();
    if !modules_dir.is_dir() {
        return Err(bad(format!("no lib/modules/{}", u.release)));
    }
    // Debian generates modules.dep in postinst (depmod), so the package lacks it.
    if !modules_dir.join("modules.dep").exists() {
        progress(&format!("indexing module dependencies of {}", u.release));
        crate::modules::depmod::write_modules_dep(&modules_dir)?;
    }
    u.sha256 = fsutil::sha256_file(&u.bzimage())?;
    let meta = serde_json::to_vec_pretty(&u).map_err(|e| bad(e.to_string()))?;
    fsutil::write_atomically(&tree.join(META_FILE), |w| {
        std::io::Write::write_all(w, &meta)
    })?;
    std::fs::rename(&tree, dest).map_err(Error::io("renaming into", dest))?;
    u.dir = dest.to_path_buf();
    drop(tmp);
    progress(&format!("cached {} in {}", c.package, dest.display()));
    Ok(u)
}

/// The one .deb apt-get download left in `dir`.
fn find_deb(dir: &Path) -> Result<PathBuf, Error> {
    let entries = std::fs::read_dir(dir).map_err(Error::io("listing", dir))?;
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| Error::ToolFailed {
            command: "apt-get download".into(),
            status: "exit 0".into(),
            detail: format!("no .deb file appeared in {}", dir.display()),
            hint: "check apt's configuration, or pass a bzImage path",
        })
}

/// Run a command; a missing binary is ToolMissing, a non-zero exit is ToolFailed.
fn run(
    cmd: &mut Command,
    tool: &'static str,
    why: &'static str,
    hint: &'static str,
) -> Result<Output, Error> {
    let out = spawn(cmd, tool, why)?;
    if out.status.success() {
        return Ok(out);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let detail = stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no error output")
        .to_string();
    Err(Error::ToolFailed {
        command: describe(cmd),
        status: out.status.to_string(),
        detail,
        hint,
    })
}

/// Run a command and collect its output, whatever its exit status.
fn spawn(cmd: &mut Command, tool: &'static str, why: &'static str) -> Result<Output, Error> {
    cmd.env("LC_ALL", "C").stdin(std::process::Stdio::null());
    cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::ToolMissing { tool, why }
        } else {
            Error::io("running", tool)(e)
        }
    })
}

/// The command line, for error messages (a long argument list is elided).
fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    let args: Vec<_> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    parts.extend(args.iter().take(6).cloned());
    if args.len() > 6 {
        parts.push("…".into());
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stanzas_parse() {
        let text = "Package: a\nVersion: 1\nDescription: x\n more\n\nPackage: b\nVersion: 2\n";
        let s = parse_stanzas(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0]["Package"], "a");
        assert_eq!(s[1]["Version"], "2");
    }

    #[test]
    fn summary_lists_series_in_version_order() {
        let imgs: Vec<Release> = [
            "linux-image-6.12.117+deb12-cloud-amd64-unsigned",
            "linux-image-6.1.0-56-rt-amd64-unsigned",
            "linux-image-6.1.0-56-cloud-amd64-unsigned",
            "linux-image-6.2.0-1-amd64-unsigned",
        ]
        .iter()
        .filter_map(|n| release::parse_package(n))
        .collect();
        assert_eq!(
            summarize(&imgs),
            "debian:6.1 (cloud-amd64, rt-amd64), debian:6.2 (amd64), debian:6.12 (cloud-amd64)"
        );
        assert!(summarize(&[]).contains("no linux-image"));
    }

    #[test]
    fn lookups_are_remembered_per_lists_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOOKUP_FILE);
        let pkg = "linux-image-6.1.0-56-cloud-amd64-unsigned";
        let c = Candidate {
            package: pkg.into(),
            version: "6.1.192-2".into(),
            release: release::parse_package(pkg).unwrap(),
        };
        assert_eq!(remembered_lookup(&path, "6.1 cloud-amd64", "f1"), None);
        remember_lookup(&path, "6.1 cloud-amd64", "f1", &c);
        assert_eq!(
            remembered_lookup(&path, "6.1 cloud-amd64", "f1"),
            Some(c.clone())
        );
        assert_eq!(remembered_lookup(&path, "6.1 cloud-amd64", "f2"), None);
        assert_eq!(remembered_lookup(&path, "6.12 cloud-amd64", "f1"), None);
    }

    #[test]
    fn stale_temps_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("pkg_1");
        let stale = fsutil::temp_sibling(&dest);
        std::fs::create_dir_all(stale.join("tree")).unwrap();
        let other = fsutil::temp_sibling(&dir.path().join("pkg_2"));
        std::fs::create_dir(&other).unwrap();
        remove_stale_temps(&dest);
        assert!(!stale.exists());
        assert!(other.exists());
    }

    #[test]
    fn dir_names_escape_epochs() {
        assert_eq!(dir_name("p", "1:2.0-1~deb12u1"), "p_1%3a2.0-1~deb12u1");
    }

    #[test]
    fn cached_tree_is_found_and_newest_wins() {
        let dir = tempfile::tempdir().unwrap();
        for (rel, ver) in [
            ("6.1.0-55-cloud-amd64", "6.1.192-1"),
            ("6.1.0-56-cloud-amd64", "6.1.192-2"),
            ("6.1.0-56-amd64", "6.1.192-3"),
        ] {
            let pkg = release::package_name(rel);
            let d = dir.path().join(dir_name(&pkg, ver));
            std::fs::create_dir_all(d.join("boot")).unwrap();
            std::fs::write(d.join("boot").join(format!("vmlinuz-{rel}")), b"k").unwrap();
            let meta = format!(
                r#"{{"package":"{pkg}","version":"{ver}","release":"{rel}","sha256":"00"}}"#
            );
            std::fs::write(d.join(META_FILE), meta).unwrap();
        }
        // An incomplete tree (no metadata) is ignored.
        std::fs::create_dir_all(
            dir.path()
                .join("linux-image-6.1.0-99-cloud-amd64-unsigned_9"),
        )
        .unwrap();
        let u = newest_cached(dir.path(), "6.1", "cloud-amd64").unwrap();
        assert_eq!(u.release, "6.1.0-56-cloud-amd64");
        assert!(u.bzimage().is_file());
        assert!(newest_cached(dir.path(), "6.12", "cloud-amd64").is_none());
    }

    #[test]
    fn missing_tool_is_reported_as_such() {
        let err = run(
            &mut Command::new("/nonexistent/apt-get"),
            "apt-get",
            "why",
            "hint",
        )
        .unwrap_err();
        assert!(matches!(
            err,
            Error::ToolMissing {
                tool: "apt-get",
                ..
            }
        ));
        let err = run(
            Command::new("sh").args(["-c", "echo oops >&2; exit 3"]),
            "sh",
            "w",
            "h",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("oops") && err.contains("3"), "{err}");
    }
}
