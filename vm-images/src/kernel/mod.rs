//! Turning a kernel spec into files on disk: a bzImage, its modules and its config.
//!
//! Garbage images: resolving a `Path` spec never fails because the file is not a
//! bzImage. It succeeds with `bzimage_header_ok: false` and release "unknown", so the
//! harness can boot a broken image on purpose (to check that a bad kernel yields a
//! boot_failure record); callers that want to refuse it call
//! [`ResolvedKernel::require_bzimage`], which gives the one-line error.

mod bzimage;
mod debian;
mod release;
mod spec;

pub use release::{parse_package, parse_release, Release};
pub use spec::{KernelSpec, DEFAULT_FLAVOUR};

use crate::cache::CacheDir;
use crate::{fsutil, Error};
use std::path::{Path, PathBuf};

/// The release recorded when an image's header names none.
pub const UNKNOWN_RELEASE: &str = "unknown";

/// A kernel ready to boot, as recorded with each run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ResolvedKernel {
    /// The spec text the user gave.
    pub spec: String,
    /// `uname -r` of the kernel, or "unknown".
    pub release: String,
    /// SHA-256 of the bzImage.
    pub sha256: String,
    pub bzimage: PathBuf,
    /// `.../lib/modules/RELEASE`, if the kernel has modules.
    pub modules_dir: Option<PathBuf>,
    /// The kernel's .config, if known.
    pub config: Option<PathBuf>,
    /// "name=version" of the Debian package the kernel came from.
    pub package: Option<String>,
    /// Whether the image carries the x86 boot protocol's "HdrS" header. False means
    /// the file will not boot; see the module docs for why this is not an error.
    #[serde(default = "default_true")]
    pub bzimage_header_ok: bool,
}

fn default_true() -> bool {
    true
}

impl ResolvedKernel {
    /// Err(NotBzImage) unless the image has a bzImage header.
    pub fn require_bzimage(&self) -> Result<(), Error> {
        if self.bzimage_header_ok {
            Ok(())
        } else {
            Err(Error::NotBzImage {
                path: self.bzimage.clone(),
            })
        }
    }

    /// The value of a kernel config option: "y", "m" or the value (string values
    /// lose their quotes). None if the option is unset or there is no config file.
    /// `key` may be given with or without the `CONFIG_` prefix.
    pub fn config_value(&self, key: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.config.as_ref()?).ok()?;
        config_lookup(&text, key)
    }
}

/// Find `key` in .config text.
fn config_lookup(text: &str, key: &str) -> Option<String> {
    let key = if key.starts_with("CONFIG_") {
        key.to_string()
    } else {
        format!("CONFIG_{key}")
    };
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        if k.trim() != key {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(v);
        Some(v.to_string())
    })
}

/// Resolve `spec` to files on disk. `spec_text` is recorded as given; `modules` is
/// the user's --modules directory (`lib/modules/RELEASE` or a root containing it),
/// which overrides the package's own. `progress` receives one-line status messages
/// (downloads take a while).
pub fn resolve(
    spec: &KernelSpec,
    spec_text: &str,
    modules: Option<&Path>,
    cache: &CacheDir,
    progress: &mut dyn FnMut(&str),
) -> Result<ResolvedKernel, Error> {
    match spec {
        KernelSpec::Debian { series, flavour } => {
            let u = debian::fetch(series, flavour, cache, progress)?;
            let modules_dir = match modules {
                Some(m) => Some(find_modules_dir(m, &u.release)?),
                None => Some(u.modules_dir()).filter(|d| d.is_dir()),
            };
            let config = Some(u.config()).filter(|c| c.is_file());
            let header_ok = bzimage::read(&u.bzimage())?.is_some();
            Ok(ResolvedKernel {
                spec: spec_text.to_string(),
                release: u.release.clone(),
                sha256: u.sha256.clone(),
                bzimage: u.bzimage(),
                modules_dir,
                config,
                package: Some(format!("{}={}", u.package, u.version)),
                bzimage_header_ok: header_ok,
            })
        }
        KernelSpec::Path { bzimage } => resolve_path(bzimage, spec_text, modules),
    }
}

/// A bzImage on disk: read its header for the release, hash it, find modules and
/// config next to it. A file without a header resolves with `bzimage_header_ok:
/// false` (see the module docs).
fn resolve_path(
    bzimage: &Path,
    spec_text: &str,
    modules: Option<&Path>,
) -> Result<ResolvedKernel, Error> {
    let header = bzimage::read(bzimage)?;
    if !bzimage.is_file() {
        return Err(Error::KernelNotFound {
            path: bzimage.to_path_buf(),
        });
    }
    let release = header
        .as_ref()
        .and_then(|h| h.release.clone())
        .unwrap_or_else(|| UNKNOWN_RELEASE.to_string());
    let modules_dir = modules.map(|m| find_modules_dir(m, &release)).transpose()?;
    Ok(ResolvedKernel {
        spec: spec_text.to_string(),
        sha256: fsutil::sha256_file(bzimage)?,
        config: find_config(bzimage, &release),
        release,
        bzimage: bzimage.to_path_buf(),
        modules_dir,
        package: None,
        bzimage_header_ok: header.is_some(),
    })
}

/// Accept either `lib/modules/RELEASE` itself or a directory containing it (an
/// install root, or `lib/modules`). With an unknown release, a root holding exactly
/// one `lib/modules/*` is taken.
fn find_modules_dir(dir: &Path, release: &str) -> Result<PathBuf, Error> {
    let is_modules_dir = |d: &Path| {
        d.join("modules.dep").is_file()
            || d.join("modules.builtin").is_file()
            || d.join("kernel").is_dir()
    };
    if is_modules_dir(dir) {
        return Ok(dir.to_path_buf());
    }
    for parent in [dir.join("lib/modules"), dir.to_path_buf()] {
        let candidate = parent.join(release);
        if release != UNKNOWN_RELEASE && is_modules_dir(&candidate) {
            return Ok(candidate);
        }
        if release == UNKNOWN_RELEASE {
            let subdirs: Vec<PathBuf> = std::fs::read_dir(&parent)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| is_modules_dir(p))
                .collect();
            if let [only] = subdirs.as_slice() {
                return Ok(only.clone());
            }
        }
    }
    Err(Error::ModulesDirNotFound {
        path: dir.to_path_buf(),
        release: release.to_string(),
    })
}

/// Look for the config where kernels keep it: `config-RELEASE` beside a
/// distribution vmlinuz, or `.config` at the top of a build tree
/// (`arch/x86/boot/bzImage` is three levels down).
fn find_config(bzimage: &Path, release: &str) -> Option<PathBuf> {
    let dir = bzimage.parent()?;
    let beside = dir.join(format!("config-{release}"));
    if release != UNKNOWN_RELEASE && beside.is_file() {
        return Some(beside);
    }
    let tree = dir.parent()?.parent()?.parent()?;
    let dotconfig = tree.join(".config");
    (dir.ends_with("arch/x86/boot") && dotconfig.is_file()).then_some(dotconfig)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> (tempfile::TempDir, CacheDir) {
        let d = tempfile::tempdir().unwrap();
        let c = CacheDir::resolve(Some(&d.path().join("cache"))).unwrap();
        (d, c)
    }

    fn resolve_text(
        text: &str,
        modules: Option<&Path>,
        c: &CacheDir,
    ) -> Result<ResolvedKernel, Error> {
        let spec: KernelSpec = text.parse()?;
        resolve(&spec, text, modules, c, &mut |_| {})
    }

    #[test]
    fn path_kernel_with_build_tree() {
        let (d, c) = cache();
        let boot = d.path().join("linux/arch/x86/boot");
        std::fs::create_dir_all(&boot).unwrap();
        std::fs::write(boot.join("bzImage"), bzimage::synthetic(Some("6.9.0-test"))).unwrap();
        std::fs::write(d.path().join("linux/.config"), "CONFIG_MEMCG=y\n# CONFIG_ZSWAP is not set\nCONFIG_LOCALVERSION=\"-test\"\nCONFIG_NR_CPUS=64\n").unwrap();
        let mods = d.path().join("root/lib/modules/6.9.0-test");
        std::fs::create_dir_all(&mods).unwrap();
        std::fs::write(mods.join("modules.dep"), "").unwrap();

        let text = boot.join("bzImage").display().to_string();
        let k = resolve_text(&text, Some(&d.path().join("root")), &c).unwrap();
        assert_eq!(k.release, "6.9.0-test");
        assert!(k.bzimage_header_ok);
        k.require_bzimage().unwrap();
        assert_eq!(k.sha256.len(), 64);
        assert_eq!(k.modules_dir.as_deref(), Some(mods.as_path()));
        assert_eq!(k.package, None);
        assert_eq!(k.config_value("MEMCG").as_deref(), Some("y"));
        assert_eq!(k.config_value("CONFIG_ZSWAP"), None);
        assert_eq!(k.config_value("LOCALVERSION").as_deref(), Some("-test"));
        assert_eq!(k.config_value("NR_CPUS").as_deref(), Some("64"));
        assert_eq!(k.config_value("NR_CPU"), None);

        // The modules dir itself and lib/modules are accepted too.
        let k = resolve_text(&text, Some(&mods), &c).unwrap();
        assert_eq!(k.modules_dir.as_deref(), Some(mods.as_path()));
        let k = resolve_text(&text, Some(&d.path().join("root/lib/modules")), &c).unwrap();
        assert_eq!(k.modules_dir.as_deref(), Some(mods.as_path()));
        // A directory without them is an error.
        let err = resolve_text(&text, Some(d.path()), &c).unwrap_err();
        assert!(matches!(err, Error::ModulesDirNotFound { .. }), "{err}");

        let json = serde_json::to_string(&k).unwrap();
        let back: ResolvedKernel = serde_json::from_str(&json).unwrap();
        assert_eq!(back.sha256, k.sha256);
    }

    #[test]
    fn garbage_path_resolves_but_is_flagged() {
        let (d, c) = cache();
        let p = d.path().join("garbage");
        std::fs::write(&p, b"this is not a kernel").unwrap();
        let k = resolve_text(&p.display().to_string(), None, &c).unwrap();
        assert!(!k.bzimage_header_ok);
        assert_eq!(k.release, UNKNOWN_RELEASE);
        let err = k.require_bzimage().unwrap_err().to_string();
        assert!(err.contains("not an x86 bzImage (no HdrS header)"), "{err}");
    }

    #[test]
    fn unknown_release_takes_the_only_modules_dir() {
        let (d, c) = cache();
        let img = d.path().join("bz");
        std::fs::write(&img, bzimage::synthetic(None)).unwrap();
        let mods = d.path().join("lib/modules/6.1.0-x");
        std::fs::create_dir_all(mods.join("kernel")).unwrap();
        let k = resolve_text(&img.display().to_string(), Some(d.path()), &c).unwrap();
        assert_eq!(k.release, UNKNOWN_RELEASE);
        assert_eq!(k.modules_dir.as_deref(), Some(mods.as_path()));
    }

    #[test]
    fn missing_path_is_an_error() {
        let (_d, c) = cache();
        let err = resolve_text("./no/such/bzImage", None, &c).unwrap_err();
        assert!(matches!(err, Error::KernelNotFound { .. }), "{err}");
    }

    #[test]
    fn deserializes_records_without_header_flag() {
        let json = r#"{"spec":"x/y","release":"r","sha256":"s","bzimage":"/b","modules_dir":null,"config":null,"package":null}"#;
        let k: ResolvedKernel = serde_json::from_str(json).unwrap();
        assert!(k.bzimage_header_ok);
    }
}
