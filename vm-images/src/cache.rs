//! Where downloaded kernels and built initramfs archives live between runs.
//! Everything in it can be deleted at any time; it is rebuilt on demand.

use crate::Error;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The root of oomlab's cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheDir {
    pub root: PathBuf,
}

impl CacheDir {
    /// Pick the cache directory and create it if missing. Precedence: `explicit`
    /// (the --cache-dir flag), `$OOMLAB_CACHE_DIR`, `$XDG_CACHE_HOME/oomlab`,
    /// `$HOME/.cache/oomlab`.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self, Error> {
        let root = choose(explicit, |k| std::env::var_os(k)).ok_or(Error::NoCacheHome)?;
        std::fs::create_dir_all(&root).map_err(|source| Error::CacheDir {
            path: root.clone(),
            source,
        })?;
        Ok(CacheDir { root })
    }

    /// Unpacked kernel packages, one directory per package version.
    pub fn kernels_dir(&self) -> PathBuf {
        self.root.join("kernels")
    }

    /// Built base initramfs archives, named by the hash of their inputs.
    pub fn initramfs_dir(&self) -> PathBuf {
        self.root.join("initramfs")
    }

    /// Create a subdirectory of the cache, reporting failures as cache errors.
    pub(crate) fn ensure(&self, dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::CacheDir {
            path: dir.to_path_buf(),
            source,
        })
    }
}

/// The precedence rule, with the environment injected so it can be tested.
/// Empty variables count as unset; XDG_CACHE_HOME must be absolute (XDG spec).
fn choose(explicit: Option<&Path>, env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = var("OOMLAB_CACHE_DIR") {
        return Some(p);
    }
    if let Some(p) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Some(p.join("oomlab"));
    }
    var("HOME").map(|h| h.join(".cache").join("oomlab"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.into())
    }

    #[test]
    fn precedence() {
        let all = [
            ("OOMLAB_CACHE_DIR", "/o"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(choose(Some(Path::new("/e")), env(&all)), Some("/e".into()));
        assert_eq!(choose(None, env(&all)), Some("/o".into()));
        assert_eq!(choose(None, env(&all[1..])), Some("/x/oomlab".into()));
        assert_eq!(
            choose(None, env(&all[2..])),
            Some("/h/.cache/oomlab".into())
        );
        assert_eq!(choose(None, env(&[])), None);
    }

    #[test]
    fn empty_and_relative_values_are_ignored() {
        let e = [
            ("OOMLAB_CACHE_DIR", ""),
            ("XDG_CACHE_HOME", "rel"),
            ("HOME", "/h"),
        ];
        assert_eq!(choose(None, env(&e)), Some("/h/.cache/oomlab".into()));
    }

    #[test]
    fn resolve_creates_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b");
        let c = CacheDir::resolve(Some(&root)).unwrap();
        assert!(c.root.is_dir());
    }
}
