//! The guest's root file system. A base archive (agent, tools, modules) is built
//! once per set of inputs and cached; each run appends a tiny second archive with
//! its spec, since Linux unpacks concatenated cpio archives in order.
//!
//! The guest has no libc, so a dynamically linked program travels with its loader
//! and libraries ([`with_libraries`]).

use crate::cache::CacheDir;
use crate::cpio::CpioWriter;
use crate::elf::{self, ElfKind};
use crate::fsutil::{self, TempGuard};
use crate::kernel::ResolvedKernel;
use crate::{hostlib, modules, Error};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bump when the archive layout changes, so old cached archives are not reused.
const LAYOUT_VERSION: &str = "oomlab-initramfs v1";

/// Where the per-run spec lands in the guest.
pub const SPEC_PATH: &str = "/oomlab/spec.json";
/// One module file name per line, in load order.
pub const MODULES_LIST_PATH: &str = "/oomlab/modules.list";
/// Where module files land in the guest.
pub const MODULES_DIR: &str = "/lib/modules";

/// Directories every base archive has (mode), besides parents of added files.
const BASE_DIRS: &[(&str, u32)] = &[
    ("bin", 0o755),
    ("dev", 0o755),
    ("lib", 0o755),
    ("lib/modules", 0o755),
    ("oomlab", 0o755),
    ("proc", 0o555),
    ("run", 0o755),
    ("sys", 0o555),
    ("tmp", 0o1777),
];

/// A host file to copy into the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestFile {
    /// Absolute path in the guest, e.g. "/bin/usemem".
    pub guest_path: String,
    pub host_path: PathBuf,
    /// Permission bits, e.g. 0o755.
    pub mode: u32,
}

/// One archive entry, before writing.
enum Node {
    Dir(u32),
    File(u32, Vec<u8>),
    CharDev(u32, u32, u32),
}

/// Base archive: /init (the agent), the given files (a dynamic program only with its
/// loader among them, see [`with_libraries`]), dirs /dev /proc /sys /tmp /run
/// /oomlab /bin /lib/modules, /dev/console (char 5:1), /dev/null (1:3), the modules
/// (decompressed) at `/lib/modules/<name>.ko` plus /oomlab/modules.list (one file name
/// per line, load order). Cached under `cache.root/initramfs/<hash>.cpio` keyed by
/// sha256 of every input; written atomically. Uncompressed, since the kernel
/// unpacks it faster under TCG than gzip. Returns the path.
pub fn build_base(
    kernel: &ResolvedKernel,
    agent: &Path,
    files: &[GuestFile],
    modules: &[&str],
    cache: &CacheDir,
) -> Result<PathBuf, Error> {
    require_static(agent)?;
    let agent_bytes = fsutil::read(agent)?;
    check_guest_binaries(files)?;
    let mut file_bytes = Vec::with_capacity(files.len());
    for f in files {
        file_bytes.push(fsutil::read(&f.host_path)?);
    }
    let planned = match (&kernel.modules_dir, modules.is_empty()) {
        (_, true) => Vec::new(),
        (Some(dir), false) => modules::plan(dir, modules)?,
        (None, false) => {
            return Err(Error::NoModulesDir {
                kernel: kernel.spec.clone(),
                names: modules.join(", "),
            })
        }
    };

    let mut h = Sha256::new();
    let mut line = |s: String| {
        h.update(s.as_bytes());
        h.update(b"\n");
    };
    line(LAYOUT_VERSION.to_string());
    line(format!("kernel {}", kernel.sha256));
    line(format!("agent {}", sha256(&agent_bytes)));
    for (f, bytes) in files.iter().zip(&file_bytes) {
        line(format!(
            "file {:?} {:o} {}",
            f.guest_path,
            f.mode,
            sha256(bytes)
        ));
    }
    line(format!("modules {modules:?}"));
    for m in &planned {
        let raw = fsutil::read(&m.path)?;
        line(format!(
            "module {} {} {}",
            m.name,
            m.file_name(),
            sha256(&raw)
        ));
    }
    let key = fsutil::hex(&h.finalize());

    let dir = cache.initramfs_dir();
    cache.ensure(&dir)?;
    let dest = dir.join(format!("{key}.cpio"));
    if dest.is_file() {
        return Ok(dest);
    }

    let mut tree = fixed_tree();
    tree.insert("init".into(), Node::File(0o755, agent_bytes));
    let mut list = String::new();
    for m in &planned {
        let m = m.load()?;
        list.push_str(&m.file_name);
        list.push('\n');
        add(
            &mut tree,
            &format!("{MODULES_DIR}/{}", m.file_name),
            Node::File(0o644, m.data),
        )?;
    }
    add(
        &mut tree,
        MODULES_LIST_PATH,
        Node::File(0o644, list.into_bytes()),
    )?;
    for (f, bytes) in files.iter().zip(file_bytes) {
        add(&mut tree, &f.guest_path, Node::File(f.mode, bytes))?;
    }

    fsutil::write_atomically(&dest, |out| {
        let mut w = CpioWriter::new(out);
        write_tree(&mut w, tree.iter())?;
        w.finish().map(|_| ())
    })?;
    Ok(dest)
}

/// The entries every base archive has whatever the inputs: the base directories,
/// the device nodes the kernel needs before devtmpfs, and /init (empty here; the
/// base replaces it with the agent).
fn fixed_tree() -> BTreeMap<String, Node> {
    let mut tree: BTreeMap<String, Node> = BTreeMap::new();
    for (d, mode) in BASE_DIRS {
        tree.insert(d.to_string(), Node::Dir(*mode));
    }
    tree.insert("dev/console".into(), Node::CharDev(0o600, 5, 1));
    tree.insert("dev/null".into(), Node::CharDev(0o666, 1, 3));
    // Stands for the agent in per-run archives, which never write it.
    tree.insert("init".into(), Node::File(0o755, Vec::new()));
    tree
}

/// Write entries in path order: BTreeMap order puts every parent before its children.
fn write_tree<'a, W: Write>(
    w: &mut CpioWriter<W>,
    entries: impl Iterator<Item = (&'a String, &'a Node)>,
) -> std::io::Result<()> {
    for (path, node) in entries {
        match node {
            Node::Dir(mode) => w.add_dir(path, *mode)?,
            Node::File(mode, data) => w.add_file(path, *mode, data)?,
            Node::CharDev(mode, major, minor) => w.add_char_dev(path, *mode, *major, *minor)?,
        }
    }
    Ok(())
}

/// `files` plus, for each dynamically linked executable among them, its program
/// interpreter and libraries ([`hostlib::closure`]), each guest path once; a path
/// already in `files` keeps its file. Static programs and other files pass as is.
pub fn with_libraries(files: Vec<GuestFile>) -> Result<Vec<GuestFile>, Error> {
    hostlib::add_closures(Path::new("/"), files)
}

/// Per-run initrd = base bytes followed by a small cpio holding /oomlab/spec.json.
/// Linux unpacks concatenated cpio archives in order, so the per-run spec travels
/// without rebuilding the base.
pub fn write_run_initrd(base: &Path, spec_json: &[u8], dest: &Path) -> Result<(), Error> {
    write_run_initrd_with_files(base, spec_json, &[], dest)
}

/// [`write_run_initrd`] with `files` added to the per-run archive, for files that
/// change between runs (a reproducer under test) so the cached base stays valid.
/// They may replace base files but not /init, the spec, the device nodes or a base
/// directory; a dynamic program needs its libraries among `files` (see
/// [`with_libraries`]), even those already in the base.
pub fn write_run_initrd_with_files(
    base: &Path,
    spec_json: &[u8],
    files: &[GuestFile],
    dest: &Path,
) -> Result<(), Error> {
    check_guest_binaries(files)?;
    // A model of the base's fixed entries, so clashes with them are refused and
    // re-emitted parents keep the base's modes (the kernel chmods an existing
    // directory to the mode of a later entry for it, and /tmp is 1777).
    let mut tree = fixed_tree();
    add(&mut tree, SPEC_PATH, Node::File(0o644, spec_json.to_vec()))?;
    // Only what the run adds and its parents; /oomlab is in every base already.
    let mut emit = BTreeSet::from([SPEC_PATH.trim_start_matches('/').to_string()]);
    for f in files {
        let bytes = fsutil::read(&f.host_path)?;
        add(&mut tree, &f.guest_path, Node::File(f.mode, bytes))?;
        let path = f.guest_path.trim_start_matches('/');
        emit.extend(path.match_indices('/').map(|(i, _)| path[..i].to_string()));
        emit.insert(path.to_string());
    }
    let tmp = TempGuard::new(fsutil::temp_sibling(dest));
    // fs::copy uses copy_file_range, so the base is not pulled through user space.
    std::fs::copy(base, tmp.path()).map_err(Error::io("copying base initramfs", base))?;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(tmp.path())
        .map_err(Error::io("appending to", tmp.path()))?;
    let mut w = CpioWriter::new(std::io::BufWriter::new(file));
    let entries = tree.iter().filter(|(path, _)| emit.contains(*path));
    let written = write_tree(&mut w, entries)
        .and_then(|()| w.finish())
        .and_then(|mut out| out.flush());
    written.map_err(Error::io("writing", tmp.path()))?;
    std::fs::rename(tmp.path(), dest).map_err(Error::io("renaming into", dest))?;
    tmp.keep();
    Ok(())
}

/// Insert a node at a guest path, creating parent directories; a path given twice
/// or clashing with a directory is an error.
fn add(tree: &mut BTreeMap<String, Node>, guest_path: &str, node: Node) -> Result<(), Error> {
    let bad = |reason: &str| Error::BadGuestPath {
        path: guest_path.to_string(),
        reason: reason.to_string(),
    };
    let path = guest_path.trim_start_matches('/');
    if path.is_empty()
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad(
            "must be an absolute path without empty, '.' or '..' parts",
        ));
    }
    let mut parent = String::new();
    let components: Vec<&str> = path.split('/').collect();
    for c in &components[..components.len() - 1] {
        if !parent.is_empty() {
            parent.push('/');
        }
        parent.push_str(c);
        match tree.get(&parent) {
            None => {
                tree.insert(parent.clone(), Node::Dir(0o755));
            }
            Some(Node::Dir(_)) => {}
            Some(_) => return Err(bad("a parent of it is a file in the archive")),
        }
    }
    if tree.contains_key(path) {
        return Err(bad("already present in the archive (the agent is /init)"));
    }
    tree.insert(path.to_string(), node);
    Ok(())
}

/// The agent runs as /init with no libc in the guest.
fn require_static(path: &Path) -> Result<(), Error> {
    match elf::inspect(path)? {
        ElfKind::StaticExecutable => Ok(()),
        ElfKind::DynamicExecutable => Err(Error::NotStatic {
            path: path.to_path_buf(),
        }),
        ElfKind::NotElf | ElfKind::Other => Err(Error::BadElf {
            path: path.to_path_buf(),
            reason: "the agent must be an x86-64 ELF executable".into(),
        }),
    }
}

/// Other guest files may be anything but a dynamically linked program without its
/// loader among `files`, which would fail in the guest with a baffling "not found".
/// (Its libraries are not checked here: [`with_libraries`] adds them with the loader.)
fn check_guest_binaries(files: &[GuestFile]) -> Result<(), Error> {
    for f in files {
        if elf::inspect(&f.host_path)? != ElfKind::DynamicExecutable {
            continue;
        }
        let interp = elf::deps::read(&f.host_path)?.interp.unwrap_or_default();
        if !files.iter().any(|g| g.guest_path == interp) {
            return Err(Error::LoaderMissing {
                path: f.host_path.clone(),
                interp,
            });
        }
    }
    Ok(())
}

fn sha256(bytes: &[u8]) -> String {
    fsutil::hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::read::{parse_all, Parsed};
    use crate::elf::testdata::static_exe;

    struct Fixture {
        _dir: tempfile::TempDir,
        cache: CacheDir,
        kernel: ResolvedKernel,
        agent: PathBuf,
        tool: PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::resolve(Some(&dir.path().join("cache"))).unwrap();
        let mods = dir.path().join("mods");
        crate::modules::testdata::tree(&mods);
        let agent = dir.path().join("agent");
        std::fs::write(&agent, static_exe()).unwrap();
        let tool = dir.path().join("tool");
        std::fs::write(&tool, b"#!/bin/sh\necho hi\n").unwrap();
        let kernel = ResolvedKernel {
            spec: "./bz".into(),
            release: "6.12.0-test".into(),
            sha256: "ab".repeat(32),
            bzimage: dir.path().join("bz"),
            modules_dir: Some(mods),
            config: None,
            package: None,
            bzimage_header_ok: true,
        };
        Fixture {
            _dir: dir,
            cache,
            kernel,
            agent,
            tool,
        }
    }

    fn by_name(entries: &[Parsed]) -> BTreeMap<&str, &Parsed> {
        entries.iter().map(|e| (e.name.as_str(), e)).collect()
    }

    #[test]
    fn base_archive_layout() {
        let f = fixture();
        let files = [GuestFile {
            guest_path: "/usr/local/bin/tool".into(),
            host_path: f.tool.clone(),
            mode: 0o755,
        }];
        let path = build_base(&f.kernel, &f.agent, &files, &["a", "virtio_blk"], &f.cache).unwrap();
        assert!(path.starts_with(f.cache.initramfs_dir()));
        let bytes = std::fs::read(&path).unwrap();
        let entries = parse_all(&bytes);
        let e = by_name(&entries);
        for d in [
            "dev",
            "proc",
            "sys",
            "tmp",
            "run",
            "oomlab",
            "bin",
            "lib",
            "lib/modules",
            "usr",
            "usr/local/bin",
        ] {
            assert_eq!(e[d].mode & 0o170000, 0o040000, "{d} is a dir");
        }
        assert_eq!(e["tmp"].mode, 0o041777);
        assert_eq!(e["dev/console"].rdev, (5, 1));
        assert_eq!(e["dev/null"].rdev, (1, 3));
        assert_eq!(e["init"].data, static_exe());
        assert_eq!(e["init"].mode, 0o100755);
        assert_eq!(e["usr/local/bin/tool"].data, b"#!/bin/sh\necho hi\n");
        let list = String::from_utf8(e["oomlab/modules.list"].data.clone()).unwrap();
        assert_eq!(list, "c.ko\nb-x.ko\na.ko\nvirtio_ring.ko\nvirtio_blk.ko\n");
        for m in list.lines() {
            assert!(e[format!("lib/modules/{m}").as_str()]
                .data
                .starts_with(b"\x7fELF"));
        }
        // Parents come before children.
        let pos = |n: &str| entries.iter().position(|x| x.name == n).unwrap();
        assert!(pos("usr") < pos("usr/local") && pos("usr/local/bin") < pos("usr/local/bin/tool"));

        // Same inputs: the cached archive is reused; different inputs: a new one.
        let again =
            build_base(&f.kernel, &f.agent, &files, &["a", "virtio_blk"], &f.cache).unwrap();
        assert_eq!(again, path);
        let fewer = build_base(&f.kernel, &f.agent, &files, &["a"], &f.cache).unwrap();
        assert_ne!(fewer, path);
        let mut k2 = f.kernel.clone();
        k2.sha256 = "cd".repeat(32);
        assert_ne!(
            build_base(&k2, &f.agent, &files, &["a"], &f.cache).unwrap(),
            fewer
        );
    }

    #[test]
    fn build_is_deterministic() {
        let f = fixture();
        let p = build_base(&f.kernel, &f.agent, &[], &["c"], &f.cache).unwrap();
        let first = std::fs::read(&p).unwrap();
        std::fs::remove_file(&p).unwrap();
        let p2 = build_base(&f.kernel, &f.agent, &[], &["c"], &f.cache).unwrap();
        assert_eq!(std::fs::read(p2).unwrap(), first);
    }

    #[test]
    fn run_initrd_appends_spec() {
        let f = fixture();
        let base = build_base(&f.kernel, &f.agent, &[], &[], &f.cache).unwrap();
        let dest = f.cache.root.join("run.cpio");
        write_run_initrd(&base, br#"{"run":1}"#, &dest).unwrap();
        let bytes = std::fs::read(&dest).unwrap();
        let base_bytes = std::fs::read(&base).unwrap();
        assert!(bytes.starts_with(&base_bytes));
        let entries = parse_all(&bytes);
        let e = by_name(&entries);
        assert_eq!(e["oomlab/spec.json"].data, br#"{"run":1}"#);
        assert_eq!(e["oomlab/modules.list"].data, b"");
        assert!(e.contains_key("init"));
        assert_eq!(
            std::fs::read_dir(&f.cache.root).unwrap().count(),
            2,
            "no temp files left"
        );
    }

    #[test]
    fn dynamic_program_with_its_libraries() {
        let f = fixture();
        let prog = ["/usr/bin/make", "/bin/ls"]
            .map(Path::new)
            .into_iter()
            .find(|p| p.exists());
        let Some(prog) = prog else {
            return; // no dynamic host program to try
        };
        let files = with_libraries(vec![GuestFile {
            guest_path: "/usr/bin/prog".into(),
            host_path: prog.into(),
            mode: 0o755,
        }])
        .unwrap();
        assert_eq!(files[0].guest_path, "/usr/bin/prog");
        assert!(
            files
                .iter()
                .any(|g| g.guest_path == "/lib64/ld-linux-x86-64.so.2"),
            "{files:?}"
        );
        let path = build_base(&f.kernel, &f.agent, &files, &[], &f.cache).unwrap();
        let entries = parse_all(&std::fs::read(path).unwrap());
        let e = by_name(&entries);
        for g in &files {
            let name = g.guest_path.trim_start_matches('/');
            assert_eq!(e[name].data, std::fs::read(&g.host_path).unwrap(), "{name}");
            let mut dir = name;
            while let Some((parent, _)) = dir.rsplit_once('/') {
                assert_eq!(e[parent].mode & 0o170000, 0o040000, "{parent} is a dir");
                dir = parent;
            }
        }
        let libc = entries.iter().filter(|x| x.name.ends_with("/libc.so.6"));
        assert_eq!(libc.count(), 1);
    }

    #[test]
    fn run_initrd_carries_extra_files() {
        let f = fixture();
        let base = build_base(&f.kernel, &f.agent, &[], &[], &f.cache).unwrap();
        let dest = f.cache.root.join("run.cpio");
        let extra = |guest_path: &str| GuestFile {
            guest_path: guest_path.into(),
            host_path: f.tool.clone(),
            mode: 0o755,
        };
        let files = [extra("/usr/local/bin/repro"), extra("/tmp/input")];
        write_run_initrd_with_files(&base, b"{}", &files, &dest).unwrap();
        let bytes = std::fs::read(&dest).unwrap();
        let base_len = std::fs::metadata(&base).unwrap().len() as usize;
        let appended = parse_all(&bytes[base_len..]);
        let names: Vec<&str> = appended.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "oomlab/spec.json",
                "tmp",
                "tmp/input",
                "usr",
                "usr/local",
                "usr/local/bin",
                "usr/local/bin/repro"
            ]
        );
        let e = by_name(&appended);
        assert_eq!(e["tmp"].mode, 0o041777, "the base's mode, not 0755");
        assert_eq!(e["usr/local/bin/repro"].data, b"#!/bin/sh\necho hi\n");
        assert_eq!(e["usr/local/bin/repro"].mode, 0o100755);

        for bad in [
            "/init",
            "/dev/console",
            "/tmp",
            "/oomlab/spec.json",
            "/dev/null/x",
        ] {
            let err = write_run_initrd_with_files(&base, b"{}", &[extra(bad)], &dest).unwrap_err();
            assert!(matches!(err, Error::BadGuestPath { .. }), "{bad}: {err}");
        }
        let dynamic = Path::new("/bin/true");
        if dynamic.exists() {
            let lone = GuestFile {
                host_path: dynamic.into(),
                ..extra("/bin/true")
            };
            let err = write_run_initrd_with_files(&base, b"{}", std::slice::from_ref(&lone), &dest)
                .unwrap_err();
            assert!(matches!(err, Error::LoaderMissing { .. }), "{err}");
            let all = with_libraries(vec![lone]).unwrap();
            write_run_initrd_with_files(&base, b"{}", &all, &dest).unwrap();
        }
    }

    #[test]
    fn rejects_bad_inputs() {
        let f = fixture();
        let dynamic = Path::new("/bin/true");
        if dynamic.exists() {
            let err = build_base(&f.kernel, dynamic, &[], &[], &f.cache).unwrap_err();
            assert!(matches!(err, Error::NotStatic { .. }), "{err}");
            let files = [GuestFile {
                guest_path: "/bin/true".into(),
                host_path: dynamic.into(),
                mode: 0o755,
            }];
            let err = build_base(&f.kernel, &f.agent, &files, &[], &f.cache).unwrap_err();
            assert!(matches!(err, Error::LoaderMissing { .. }), "{err}");
            assert!(err.to_string().contains("with_libraries"), "{err}");
        }
        let err = build_base(&f.kernel, &f.tool, &[], &[], &f.cache).unwrap_err();
        assert!(matches!(err, Error::BadElf { .. }), "{err}");

        for guest_path in ["/init", "/", "/a/../b", "/dev/console/x", "/tmp"] {
            let files = [GuestFile {
                guest_path: guest_path.into(),
                host_path: f.tool.clone(),
                mode: 0o755,
            }];
            let err = build_base(&f.kernel, &f.agent, &files, &[], &f.cache).unwrap_err();
            assert!(
                matches!(err, Error::BadGuestPath { .. }),
                "{guest_path}: {err}"
            );
        }

        let mut k = f.kernel.clone();
        k.modules_dir = None;
        let err = build_base(&k, &f.agent, &[], &["a"], &f.cache).unwrap_err();
        assert!(matches!(err, Error::NoModulesDir { .. }), "{err}");
        let err = build_base(&f.kernel, &f.agent, &[], &["nosuch"], &f.cache).unwrap_err();
        assert!(matches!(err, Error::UnknownModule { .. }), "{err}");
    }
}
