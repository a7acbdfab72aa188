//! Choosing which kernel modules go into the initramfs, and in what order.
//!
//! Dependencies come from `modules.dep` when the directory has one; otherwise (a
//! `make modules_install` tree without depmod, say) from the `depends=` field of
//! each needed module's .modinfo, read on demand.

pub(crate) mod depmod;
mod file;

pub use file::{module_name, normalize};

use crate::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module ready to be written into the initramfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFile {
    /// Canonical module name, e.g. "virtio_blk".
    pub name: String,
    /// File name without compression suffix, e.g. "virtio_blk.ko".
    pub file_name: String,
    /// The decompressed ELF object.
    pub data: Vec<u8>,
}

/// A module chosen for loading, before its file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedModule {
    pub name: String,
    /// The module file as installed (possibly `.ko.xz`).
    pub path: PathBuf,
}

impl PlannedModule {
    /// The uncompressed file name the guest sees.
    pub fn file_name(&self) -> String {
        let base = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        file::file_name(&base).unwrap_or(&base).to_string()
    }

    /// Read and decompress the module.
    pub fn load(&self) -> Result<ModuleFile, Error> {
        Ok(ModuleFile {
            name: self.name.clone(),
            file_name: self.file_name(),
            data: file::read(&self.path)?,
        })
    }
}

/// Modules in load order (dependencies first, each once), read from
/// modules_dir/modules.dep; names may use - or _ interchangeably; a name listed in
/// modules.builtin is skipped (already in the kernel); an unknown name is an error
/// naming it.
pub fn resolve(modules_dir: &Path, names: &[&str]) -> Result<Vec<ModuleFile>, Error> {
    plan(modules_dir, names)?
        .iter()
        .map(PlannedModule::load)
        .collect()
}

/// Like [`resolve`] but without reading the module files, so a caller can hash the
/// files to decide whether it needs their contents at all.
pub fn plan(modules_dir: &Path, names: &[&str]) -> Result<Vec<PlannedModule>, Error> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut index = Index::load(modules_dir)?;
    let mut order = Vec::new();
    let mut state = BTreeMap::new();
    for name in names {
        index.visit(&normalize(name), None, &mut state, &mut order)?;
    }
    Ok(order
        .into_iter()
        .map(|(name, rel)| PlannedModule {
            name,
            path: modules_dir.join(rel),
        })
        .collect())
}

/// DFS colouring: a module is being visited (its deps are in progress) or done.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    InProgress,
    Done,
}

/// What we know about a modules directory.
struct Index {
    dir: PathBuf,
    /// name → (path relative to dir, dependency names if known yet).
    modules: BTreeMap<String, (String, Option<Vec<String>>)>,
    builtin: BTreeSet<String>,
}

impl Index {
    fn load(dir: &Path) -> Result<Index, Error> {
        let builtin = match std::fs::read_to_string(dir.join("modules.builtin")) {
            Ok(text) => text.lines().filter_map(module_name).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
            Err(e) => return Err(Error::io("reading", dir.join("modules.builtin"))(e)),
        };
        let modules = match std::fs::read_to_string(dir.join("modules.dep")) {
            Ok(text) => parse_modules_dep(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !dir.is_dir() {
                    return Err(Error::io("reading modules directory", dir)(e));
                }
                walk(dir)?
                    .into_iter()
                    .filter_map(|rel| Some((module_name(&rel)?, (rel, None))))
                    .collect()
            }
            Err(e) => return Err(Error::io("reading", dir.join("modules.dep"))(e)),
        };
        Ok(Index {
            dir: dir.to_path_buf(),
            modules,
            builtin,
        })
    }

    /// Append `name` and its dependencies to `order`, dependencies first.
    fn visit(
        &mut self,
        name: &str,
        needed_by: Option<&str>,
        state: &mut BTreeMap<String, Visit>,
        order: &mut Vec<(String, String)>,
    ) -> Result<(), Error> {
        match state.get(name) {
            Some(Visit::Done) => return Ok(()),
            Some(Visit::InProgress) => {
                return Err(Error::ModuleCycle {
                    name: name.to_string(),
                    dir: self.dir.clone(),
                })
            }
            None => {}
        }
        let Some((rel, deps)) = self.modules.get(name).cloned() else {
            if self.builtin.contains(name) {
                return Ok(());
            }
            return Err(Error::UnknownModule {
                name: name.to_string(),
                dir: self.dir.clone(),
                context: needed_by
                    .map(|n| format!("; it is a dependency of '{n}'"))
                    .unwrap_or_default(),
            });
        };
        let deps = match deps {
            Some(d) => d,
            None => depmod::depends_of(&self.dir.join(&rel))?,
        };
        state.insert(name.to_string(), Visit::InProgress);
        for dep in &deps {
            self.visit(dep, Some(name), state, order)?;
        }
        state.insert(name.to_string(), Visit::Done);
        order.push((name.to_string(), rel));
        Ok(())
    }
}

/// `path: dep dep ...` lines → name → (path, dependency names).
fn parse_modules_dep(text: &str) -> BTreeMap<String, (String, Option<Vec<String>>)> {
    text.lines()
        .filter_map(|line| {
            let (path, deps) = line.split_once(':')?;
            let path = path.trim();
            let deps = deps.split_whitespace().filter_map(module_name).collect();
            Some((module_name(path)?, (path.to_string(), Some(deps))))
        })
        .collect()
}

/// Every module file under `dir`, as sorted relative paths. Symlinks are not
/// followed (`build` and `source` point into kernel source trees).
pub(crate) fn walk(dir: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let abs = dir.join(&rel);
        for entry in std::fs::read_dir(&abs).map_err(Error::io("listing", &abs))? {
            let entry = entry.map_err(Error::io("listing", &abs))?;
            let ty = entry.file_type().map_err(Error::io("listing", &abs))?;
            let child = rel.join(entry.file_name());
            if ty.is_dir() {
                stack.push(child);
            } else if ty.is_file() {
                let s = child.to_string_lossy().into_owned();
                if module_name(&s).is_some() {
                    out.push(s);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
pub(crate) mod testdata {
    use crate::elf::testdata::module;
    use std::path::Path;
    use std::process::{Command, Stdio};

    /// Write a module at `dir/rel` whose .modinfo says `depends=deps`; `.xz`
    /// paths are compressed with the crate's own xz encoder.
    pub fn write_module(dir: &Path, rel: &str, name: &str, deps: &str) {
        let depends = format!("depends={deps}");
        let modname = format!("name={name}");
        let elf = module(&["license=GPL", &depends, &modname, "vermagic=6.12.0 SMP"]);
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let bytes = if rel.ends_with(".xz") {
            let mut out = Vec::new();
            lzma_rs::xz_compress(&mut elf.as_slice(), &mut out).unwrap();
            out
        } else {
            elf
        };
        std::fs::write(path, bytes).unwrap();
    }

    /// Compress with the xz CLI using kbuild's options, if xz is installed.
    pub fn xz_cli(data: &[u8]) -> Option<Vec<u8>> {
        use std::io::Write;
        let mut child = Command::new("xz")
            .args(["--check=crc32", "--lzma2=dict=1MiB", "-c"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(data).ok()?;
        let out = child.wait_with_output().ok()?;
        out.status.success().then_some(out.stdout)
    }

    /// A tree like Debian 6.12's: virtio core built in, virtio_blk a module
    /// needing virtio_ring... plus a chain a → b-x → c, all .ko.xz.
    pub fn tree(dir: &Path) {
        write_module(
            dir,
            "kernel/drivers/block/virtio_blk.ko.xz",
            "virtio_blk",
            "virtio_ring",
        );
        write_module(
            dir,
            "kernel/drivers/virtio/virtio_ring.ko.xz",
            "virtio_ring",
            "",
        );
        write_module(dir, "kernel/a.ko.xz", "a", "b_x,c");
        write_module(dir, "kernel/sub/b-x.ko.xz", "b_x", "c");
        write_module(dir, "kernel/c.ko", "c", "");
        std::fs::write(
            dir.join("modules.builtin"),
            "kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_pci.ko\n",
        )
        .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::*;
    use super::*;

    fn names(m: &[ModuleFile]) -> Vec<&str> {
        m.iter().map(|m| m.name.as_str()).collect()
    }

    fn with_dep_file(dir: &Path) {
        // depmod's layout: transitive deps, listed so that loading them from last
        // to first works.
        std::fs::write(
            dir.join("modules.dep"),
            "kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio_ring.ko.xz\n\
             kernel/drivers/virtio/virtio_ring.ko.xz:\n\
             kernel/a.ko.xz: kernel/sub/b-x.ko.xz kernel/c.ko\n\
             kernel/sub/b-x.ko.xz: kernel/c.ko\n\
             kernel/c.ko:\n",
        )
        .unwrap();
    }

    fn check_order(dir: &Path) {
        let m = resolve(dir, &["a", "virtio-blk", "virtio", "c"]).unwrap();
        assert_eq!(names(&m), ["c", "b_x", "a", "virtio_ring", "virtio_blk"]);
        assert_eq!(m[1].file_name, "b-x.ko");
        assert_eq!(m[4].file_name, "virtio_blk.ko");
        assert!(m.iter().all(|m| m.data.starts_with(b"\x7fELF")));
        // Built-in only: nothing to load.
        assert!(resolve(dir, &["virtio_pci"]).unwrap().is_empty());
        assert!(resolve(dir, &[]).unwrap().is_empty());
        let err = resolve(dir, &["nosuch"]).unwrap_err().to_string();
        assert!(err.contains("'nosuch'"), "{err}");
    }

    #[test]
    fn order_from_modules_dep() {
        let d = tempfile::tempdir().unwrap();
        tree(d.path());
        with_dep_file(d.path());
        check_order(d.path());
    }

    #[test]
    fn order_from_modinfo_without_modules_dep() {
        let d = tempfile::tempdir().unwrap();
        tree(d.path());
        check_order(d.path());
    }

    #[test]
    fn generated_modules_dep_matches() {
        let d = tempfile::tempdir().unwrap();
        tree(d.path());
        assert_eq!(depmod::write_modules_dep(d.path()).unwrap(), 5);
        let text = std::fs::read_to_string(d.path().join("modules.dep")).unwrap();
        assert!(
            text.contains("kernel/a.ko.xz: kernel/sub/b-x.ko.xz kernel/c.ko\n"),
            "{text}"
        );
        assert!(text.contains("kernel/c.ko:\n"), "{text}");
        check_order(d.path());
    }

    #[test]
    fn decodes_xz_made_by_the_cli() {
        let d = tempfile::tempdir().unwrap();
        let elf = crate::elf::testdata::module(&["depends=", "name=m"]);
        let Some(xz) = xz_cli(&elf) else {
            return; // xz not installed; the crate-encoder tests cover decoding
        };
        std::fs::write(d.path().join("m.ko.xz"), xz).unwrap();
        let m = resolve(d.path(), &["m"]).unwrap();
        assert_eq!(m[0].data, elf);
    }

    #[test]
    fn unknown_dependency_is_named() {
        let d = tempfile::tempdir().unwrap();
        write_module(d.path(), "kernel/x.ko", "x", "ghost");
        let err = resolve(d.path(), &["x"]).unwrap_err().to_string();
        assert!(err.contains("'ghost'") && err.contains("'x'"), "{err}");
    }

    #[test]
    fn cycles_are_errors() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("modules.dep"), "p.ko: q.ko\nq.ko: p.ko\n").unwrap();
        let err = resolve(d.path(), &["p"]).unwrap_err();
        assert!(matches!(err, Error::ModuleCycle { .. }), "{err}");
    }

    #[test]
    fn missing_directory_is_an_error() {
        assert!(resolve(Path::new("/nonexistent/modules"), &["x"]).is_err());
    }
}
