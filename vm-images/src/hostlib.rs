//! The shared libraries a dynamically linked host program needs, found the way
//! glibc's ld.so finds them, so the program can run in a guest that has no libc.
//!
//! Search order for a DT_NEEDED name, as in glibc's `_dl_map_object`: the RPATHs
//! of the needing object and of the objects that loaded it (only when the needing
//! object has no RUNPATH), its RUNPATH, the directories of /etc/ld.so.conf (which
//! ld.so knows through ld.so.cache), then the built-in directories.

use crate::elf::deps::{self, Dynamic};
use crate::initramfs::GuestFile;
use crate::Error;
use std::collections::{BTreeSet, VecDeque};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The loader's built-in directories: Debian's multiarch ones, the lib64 layout
/// of Fedora and friends, then the classic ones.
const DEFAULT_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

const LD_SO_CONF: &str = "/etc/ld.so.conf";

/// The program interpreter and every library `binary` needs, recursively, each at
/// the guest path it was found at on the host (contents of symlinks resolved).
/// The binary itself is not included: the caller chooses its guest path.
pub fn closure(binary: &Path) -> Result<Vec<GuestFile>, Error> {
    let c = resolve(Path::new("/"), binary)?;
    let mut files = c.files;
    merge(&mut files, c.aliases);
    Ok(files)
}

/// `files` plus the closure of each dynamic executable among them, without
/// duplicates; a guest path already in `files` keeps its file.
pub(crate) fn add_closures(root: &Path, files: Vec<GuestFile>) -> Result<Vec<GuestFile>, Error> {
    let mut out = files.clone();
    let mut aliases = Vec::new();
    for f in &files {
        if crate::elf::inspect(&f.host_path)? == crate::elf::ElfKind::DynamicExecutable {
            let c = resolve(root, &f.host_path)?;
            merge(&mut out, c.files);
            aliases.extend(c.aliases);
        }
    }
    // Last, so a library really found at a path wins over another's alias there.
    merge(&mut out, aliases);
    Ok(out)
}

/// Append the files whose guest path is not taken yet.
fn merge(into: &mut Vec<GuestFile>, more: Vec<GuestFile>) {
    for f in more {
        if !into.iter().any(|g| g.guest_path == f.guest_path) {
            into.push(f);
        }
    }
}

/// What one program needs in the guest.
pub(crate) struct Closure {
    /// The interpreter at its PT_INTERP path, then the libraries where found.
    pub files: Vec<GuestFile>,
    /// Libraries found where the guest's ld.so will not look, copied again into
    /// the interpreter's own directory, which it always searches: the guest has
    /// no ld.so.cache to tell it about ld.so.conf directories, and `$ORIGIN`
    /// depends on where the caller puts the program in the guest.
    pub aliases: Vec<GuestFile>,
}

/// A directory or file to look in, as an absolute path under the host root (which
/// is also its guest path), and whether the guest's ld.so would look there too.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    path: String,
    guest_finds: bool,
}

/// An object whose DT_NEEDED entries are still to be resolved.
struct Object {
    /// Its path under the root: `$ORIGIN` is its directory.
    path: String,
    dynamic: Dynamic,
    /// RPATHs of the objects that loaded it, nearest first.
    inherited_rpath: Vec<Place>,
}

/// The closure of `binary` on the file system under `root` ("/" but in tests).
pub(crate) fn resolve(root: &Path, binary: &Path) -> Result<Closure, Error> {
    let root = std::fs::canonicalize(root).map_err(Error::io("resolving", root))?;
    let host = Host { root: &root };
    // ld.so takes the executable's $ORIGIN from /proc/self/exe: symlinks resolved.
    let real = std::fs::canonicalize(binary).map_err(Error::io("resolving", binary))?;
    let exe = Object {
        path: host.logical(&real),
        dynamic: deps::read(&real)?,
        inherited_rpath: Vec::new(),
    };
    let mut out = Closure {
        files: Vec::new(),
        aliases: Vec::new(),
    };
    // Names ld.so would consider loaded already, so not searched again.
    let mut loaded = BTreeSet::new();
    let mut alias_dir = None;
    if let Some(interp) = &exe.dynamic.interp {
        let found = host.usable(interp).ok_or_else(|| Error::MissingLibrary {
            library: interp.clone(),
            needed_by: binary.to_path_buf(),
            searched: "its program interpreter is missing or not an x86-64 ELF64 file".into(),
        })?;
        // libc lists the loader in DT_NEEDED; ld.so matches it to itself by name.
        loaded.insert(file_name(interp).to_string());
        loaded.extend(deps::read(&found)?.soname);
        alias_dir = Some(parent(&host.logical(&found)).to_string());
        out.files.push(guest_file(interp, &found)?);
    }
    let conf: Vec<Place> = conf_dirs(&host)
        .into_iter()
        .chain(DEFAULT_DIRS.iter().map(|d| d.to_string()))
        .map(|path| Place {
            guest_finds: DEFAULT_DIRS.contains(&path.as_str()),
            path,
        })
        .collect();
    let own_rpath = |o: &Object| match o.dynamic.runpath {
        Some(_) => Vec::new(), // RUNPATH disables the object's RPATH
        None => split_path(o.dynamic.rpath.as_deref(), parent(&o.path)),
    };
    // The executable's RPATH is searched for every object without a RUNPATH.
    let exe_rpath = own_rpath(&exe);

    let mut queue = VecDeque::from([exe]);
    while let Some(obj) = queue.pop_front() {
        let own = own_rpath(&obj);
        let mut search = Vec::new();
        if obj.dynamic.runpath.is_none() {
            search.extend(own.iter().chain(&obj.inherited_rpath).chain(&exe_rpath));
        }
        let runpath = split_path(obj.dynamic.runpath.as_deref(), parent(&obj.path));
        search.extend(runpath.iter().chain(&conf));
        let search = dedup(search);
        let inherited: Vec<Place> = own.iter().chain(&obj.inherited_rpath).cloned().collect();
        for name in &obj.dynamic.needed {
            if !loaded.insert(name.clone()) {
                continue;
            }
            let (place, real) =
                find(&host, name, &search).map_err(|searched| Error::MissingLibrary {
                    library: name.clone(),
                    needed_by: host.path(&obj.path),
                    searched,
                })?;
            out.files.push(guest_file(&place.path, &real)?);
            if let (false, Some(dir)) = (place.guest_finds, &alias_dir) {
                out.aliases
                    .push(guest_file(&format!("{dir}/{}", file_name(name)), &real)?);
            }
            let dynamic = deps::read(&real)?;
            loaded.extend(dynamic.soname.iter().cloned());
            queue.push_back(Object {
                path: place.path,
                dynamic,
                inherited_rpath: inherited.clone(),
            });
        }
    }
    Ok(out)
}

/// Where `name` is found along `search` and its resolved host path, or why not.
fn find(host: &Host, name: &str, search: &[&Place]) -> Result<(Place, PathBuf), String> {
    if name.starts_with('/') {
        let path = normalize(name);
        return match host.usable(&path) {
            Some(real) => Ok((
                Place {
                    path,
                    guest_finds: true,
                },
                real,
            )),
            None => Err("an absolute DT_NEEDED path that does not exist".into()),
        };
    }
    if name.contains('/') {
        return Err("a relative DT_NEEDED path, which depends on the working directory".into());
    }
    search
        .iter()
        .find_map(|dir| {
            let path = format!("{}/{name}", dir.path.trim_end_matches('/'));
            let real = host.usable(&path)?;
            let place = Place {
                path,
                guest_finds: dir.guest_finds,
            };
            Some((place, real))
        })
        .ok_or_else(|| {
            "searched RPATH/RUNPATH, /etc/ld.so.conf and the default library directories".into()
        })
}

/// The host file system as seen from `root`; paths "under the root" are absolute
/// strings like "/lib/x86_64-linux-gnu/libc.so.6", the same in the guest.
struct Host<'a> {
    root: &'a Path,
}

impl Host<'_> {
    fn path(&self, under_root: &str) -> PathBuf {
        self.root.join(under_root.trim_start_matches('/'))
    }

    /// The absolute path under the root of a host path (itself if outside it).
    fn logical(&self, host: &Path) -> String {
        match host.strip_prefix(self.root) {
            Ok(rel) => format!("/{}", rel.to_string_lossy()),
            Err(_) => host.to_string_lossy().into_owned(),
        }
    }

    /// The resolved host path of `under_root` if it is an ELF64 x86-64 object, as
    /// ld.so requires of a candidate (it skips 32-bit libraries and keeps looking).
    fn usable(&self, under_root: &str) -> Option<PathBuf> {
        let real = std::fs::canonicalize(self.path(under_root)).ok()?;
        let mut head = Vec::with_capacity(64);
        std::fs::File::open(&real)
            .ok()?
            .take(64)
            .read_to_end(&mut head)
            .ok()?;
        deps::is_x86_64_object(&head).then_some(real)
    }
}

/// A guest file at `guest_path` with the contents and permissions of `real`.
fn guest_file(guest_path: &str, real: &Path) -> Result<GuestFile, Error> {
    let meta = std::fs::metadata(real).map_err(Error::io("reading", real))?;
    Ok(GuestFile {
        guest_path: guest_path.to_string(),
        host_path: real.to_path_buf(),
        mode: meta.permissions().mode() & 0o7777,
    })
}

/// The directories of an RPATH or RUNPATH value with `$ORIGIN` expanded to
/// `origin`. Entries with other tokens ($LIB, $PLATFORM) or relative ones are
/// skipped: they depend on the machine or the working directory.
fn split_path(value: Option<&str>, origin: &str) -> Vec<Place> {
    value
        .unwrap_or_default()
        .split(':')
        .filter_map(|entry| {
            let expanded = entry
                .replace("${ORIGIN}", origin)
                .replace("$ORIGIN", origin);
            (expanded.starts_with('/') && !expanded.contains('$')).then(|| Place {
                guest_finds: expanded == entry,
                path: normalize(&expanded),
            })
        })
        .collect()
}

/// The directories /etc/ld.so.conf lists, following `include` lines.
fn conf_dirs(host: &Host) -> Vec<String> {
    let mut out = Vec::new();
    read_conf(host, LD_SO_CONF, 0, &mut out);
    out
}

fn read_conf(host: &Host, file: &str, depth: u32, out: &mut Vec<String>) {
    // A missing or unreadable file adds nothing, as for ldconfig; the depth limit
    // stops include loops.
    let Ok(text) = std::fs::read_to_string(host.path(file)) else {
        return;
    };
    if depth > 8 {
        return;
    }
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let mut words = line.split(|c: char| c.is_whitespace() || c == ':' || c == ',');
        match words.next() {
            Some("include") => {
                for pattern in words.filter(|w| !w.is_empty()) {
                    let pattern = match pattern.starts_with('/') {
                        true => pattern.to_string(),
                        false => format!("{}/{pattern}", parent(file)),
                    };
                    for f in glob(host, &pattern) {
                        read_conf(host, &f, depth + 1, out);
                    }
                }
            }
            Some("hwcap") => {}
            _ => {
                let dirs = line.split(|c: char| c.is_whitespace() || c == ':' || c == ',');
                // ldconfig once accepted "DIR=TYPE"; the type does not matter here.
                let dirs = dirs.map(|d| d.split('=').next().unwrap_or_default());
                out.extend(dirs.filter(|d| d.starts_with('/')).map(normalize));
            }
        }
    }
}

/// The files matching `pattern`, sorted; `*` and `?` only in the last component,
/// which is all ld.so.conf's `include /etc/ld.so.conf.d/*.conf` needs.
fn glob(host: &Host, pattern: &str) -> Vec<String> {
    let (dir, name_pattern) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    if !name_pattern.contains(['*', '?']) {
        return vec![pattern.to_string()];
    }
    let Ok(entries) = std::fs::read_dir(host.path(dir)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && wildcard(name_pattern.as_bytes(), n.as_bytes()))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    names.sort();
    names
}

fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.split_first(), name.split_first()) {
        (None, _) => name.is_empty(),
        (Some((b'*', rest)), _) => {
            wildcard(rest, name) || (!name.is_empty() && wildcard(pattern, &name[1..]))
        }
        (Some((b'?', rest)), Some((_, n))) => wildcard(rest, n),
        (Some((p, rest)), Some((c, n))) => p == c && wildcard(rest, n),
        (Some(_), None) => false,
    }
}

/// `path` without `.`, `..` and repeated slashes, worked out as text: the guest
/// archive takes no `..`, and the host's symlinks are resolved separately.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn parent(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((dir, _)) => dir,
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Keep the first of each directory: ld.so would not find anything new later.
fn dedup(places: Vec<&Place>) -> Vec<&Place> {
    let mut seen = BTreeSet::new();
    places
        .into_iter()
        .filter(|p| seen.insert(p.path.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::deps::testdata::{dynamic_elf, library, library_i386};

    const INTERP: &str = "/lib64/ld-linux-x86-64.so.2";
    const MULTIARCH: &str = "/lib/x86_64-linux-gnu";

    /// A fake root with a loader (reached through a /lib64 symlink, as on Debian)
    /// and a libc that lists the loader in DT_NEEDED, as glibc's does.
    fn fake_root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        put(
            root,
            "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            &library("ld-linux-x86-64.so.2", &[]),
        );
        link(root, INTERP, "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
        put(
            root,
            "/lib/x86_64-linux-gnu/libc.so.6",
            &library("libc.so.6", &["ld-linux-x86-64.so.2"]),
        );
        dir
    }

    fn put(root: &Path, path: &str, bytes: &[u8]) {
        let p = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    fn link(root: &Path, path: &str, target: &str) {
        let p = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
    }

    /// A program at `path` under `root` that needs `needed`.
    fn program(
        root: &Path,
        path: &str,
        needed: &[&str],
        rpath: Option<&str>,
        runpath: Option<&str>,
    ) -> PathBuf {
        let d = Dynamic {
            interp: Some(INTERP.into()),
            needed: needed.iter().map(|s| s.to_string()).collect(),
            soname: None,
            rpath: rpath.map(Into::into),
            runpath: runpath.map(Into::into),
        };
        put(root, path, &dynamic_elf(&d));
        root.join(path.trim_start_matches('/'))
    }

    /// Guest path → host path relative to the root.
    fn layout(root: &Path, files: &[GuestFile]) -> Vec<(String, String)> {
        let root = std::fs::canonicalize(root).unwrap();
        files
            .iter()
            .map(|f| {
                let host = f.host_path.strip_prefix(&root).unwrap();
                (f.guest_path.clone(), format!("/{}", host.display()))
            })
            .collect()
    }

    fn pair(guest: &str, host: &str) -> (String, String) {
        (guest.to_string(), host.to_string())
    }

    #[test]
    fn origin_runpath_symlinks_and_the_loader() {
        let dir = fake_root();
        let root = dir.path();
        put(
            root,
            "/opt/app/lib/libapp.so.1.2.3",
            &library("libapp.so.1", &["libc.so.6"]),
        );
        link(root, "/opt/app/lib/libapp.so.1", "libapp.so.1.2.3");
        let prog = program(
            root,
            "/opt/app/bin/prog",
            &["libapp.so.1", "libc.so.6"],
            None,
            Some("${ORIGIN}/../lib"),
        );
        let c = resolve(root, &prog).unwrap();
        assert_eq!(
            layout(root, &c.files),
            [
                // At exactly the PT_INTERP path, with the symlink's target's contents.
                pair(INTERP, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
                // Under the name looked up, with the versioned file's contents.
                pair("/opt/app/lib/libapp.so.1", "/opt/app/lib/libapp.so.1.2.3"),
                pair(
                    "/lib/x86_64-linux-gnu/libc.so.6",
                    "/lib/x86_64-linux-gnu/libc.so.6"
                ),
            ]
        );
        // Found through $ORIGIN: also where the guest's loader looks by itself.
        assert_eq!(
            layout(root, &c.aliases),
            [pair(
                "/lib/x86_64-linux-gnu/libapp.so.1",
                "/opt/app/lib/libapp.so.1.2.3"
            )]
        );
        assert_eq!(c.files[1].mode, 0o644);
    }

    #[test]
    fn runpath_disables_rpath() {
        let dir = fake_root();
        let root = dir.path();
        for d in ["/r", "/p", MULTIARCH] {
            put(root, &format!("{d}/libx.so.1"), &library("libx.so.1", &[]));
        }
        let found = |rpath, runpath| {
            let prog = program(root, "/bin/prog", &["libx.so.1"], rpath, runpath);
            let c = resolve(root, &prog).unwrap();
            std::fs::remove_file(prog).unwrap();
            c.files[1].guest_path.clone()
        };
        assert_eq!(found(Some("/r"), Some("/p")), "/p/libx.so.1");
        assert_eq!(found(Some("/r"), None), "/r/libx.so.1");
        assert_eq!(found(None, Some("/p")), "/p/libx.so.1");
        assert_eq!(found(Some("/nowhere:/r/"), None), "/r/libx.so.1");
        assert_eq!(found(None, None), "/lib/x86_64-linux-gnu/libx.so.1");
    }

    #[test]
    fn rpath_is_inherited_unless_the_needer_has_runpath() {
        let dir = fake_root();
        let root = dir.path();
        put(root, "/r/libdeep.so.1", &library("libdeep.so.1", &[]));
        put(
            root,
            "/usr/lib/libmid.so.1",
            &library("libmid.so.1", &["libdeep.so.1"]),
        );
        let prog = program(root, "/bin/prog", &["libmid.so.1"], Some("/r"), None);
        let c = resolve(root, &prog).unwrap();
        assert!(c.files.iter().any(|f| f.guest_path == "/r/libdeep.so.1"));

        // The same library with a RUNPATH: the program's RPATH no longer applies.
        let mut mid = crate::elf::deps::parse(&library("libmid.so.1", &["libdeep.so.1"])).unwrap();
        mid.runpath = Some("/elsewhere".into());
        let mid = dynamic_elf(&mid);
        put(root, "/usr/lib/libmid.so.1", &mid);
        let err = resolve(root, &prog).err().unwrap();
        assert!(
            matches!(&err, Error::MissingLibrary { library, .. } if library == "libdeep.so.1"),
            "{err}"
        );
    }

    #[test]
    fn ld_so_conf_includes_and_32_bit_libraries() {
        let dir = fake_root();
        let root = dir.path();
        put(
            root,
            "/etc/ld.so.conf",
            b"# comment\ninclude /etc/ld.so.conf.d/*.conf\n/usr/lib/i386-linux-gnu\n",
        );
        put(
            root,
            "/etc/ld.so.conf.d/local.conf",
            b"/usr/local/lib # trailing comment\n",
        );
        put(root, "/etc/ld.so.conf.d/skip.conf.off", b"/skipped\n");
        put(root, "/skipped/libloc.so.1", &library("libloc.so.1", &[]));
        put(
            root,
            "/usr/local/lib/libloc.so.1",
            &library("libloc.so.1", &[]),
        );
        // Earlier in the search path but 32-bit, or not ELF at all: passed over.
        put(
            root,
            "/usr/lib/i386-linux-gnu/libz.so.1",
            &library_i386("libz.so.1"),
        );
        put(
            root,
            "/lib/x86_64-linux-gnu/libz.so.1",
            b"/* GNU ld script */",
        );
        put(
            root,
            "/usr/lib/x86_64-linux-gnu/libz.so.1",
            &library("libz.so.1", &[]),
        );
        let prog = program(root, "/bin/prog", &["libloc.so.1", "libz.so.1"], None, None);
        let c = resolve(root, &prog).unwrap();
        let guest: Vec<&str> = c.files.iter().map(|f| f.guest_path.as_str()).collect();
        assert_eq!(
            guest,
            [
                INTERP,
                "/usr/local/lib/libloc.so.1",
                "/usr/lib/x86_64-linux-gnu/libz.so.1"
            ]
        );
        let aliases: Vec<&str> = c.aliases.iter().map(|f| f.guest_path.as_str()).collect();
        assert_eq!(aliases, ["/lib/x86_64-linux-gnu/libloc.so.1"]);
    }

    #[test]
    fn missing_library_is_a_one_line_error() {
        let dir = fake_root();
        let root = dir.path();
        put(
            root,
            "/usr/lib/liba.so.1",
            &library("liba.so.1", &["libgone.so.3"]),
        );
        let prog = program(root, "/bin/prog", &["liba.so.1"], None, None);
        let msg = resolve(root, &prog).err().unwrap().to_string();
        assert!(!msg.contains('\n'), "{msg}");
        assert!(msg.starts_with("libgone.so.3, needed by "), "{msg}");
        assert!(msg.contains("/usr/lib/liba.so.1"), "{msg}");
        assert!(
            msg.contains("install it on the host or build the program statically"),
            "{msg}"
        );

        std::fs::remove_file(root.join("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")).unwrap();
        let msg = resolve(root, &prog).err().unwrap().to_string();
        assert!(msg.starts_with(&format!("{INTERP}, needed by ")), "{msg}");
    }

    #[test]
    fn static_programs_need_nothing() {
        let dir = fake_root();
        put(
            dir.path(),
            "/bin/agent",
            &crate::elf::testdata::static_exe(),
        );
        let c = resolve(dir.path(), &dir.path().join("bin/agent")).unwrap();
        assert!(c.files.is_empty() && c.aliases.is_empty());
    }

    #[test]
    fn add_closures_keeps_given_files_and_dedups() {
        let dir = fake_root();
        let root = dir.path();
        put(
            root,
            "/usr/local/lib/libloc.so.1",
            &library("libloc.so.1", &[]),
        );
        put(root, "/etc/ld.so.conf", b"/usr/local/lib\n");
        let a = program(root, "/bin/a", &["libc.so.6", "libloc.so.1"], None, None);
        let b = program(root, "/bin/b", &["libc.so.6"], None, None);
        let mine = root.join("mine");
        std::fs::write(&mine, b"not the loader").unwrap();
        let given = vec![
            GuestFile {
                guest_path: "/bin/a".into(),
                host_path: a,
                mode: 0o755,
            },
            GuestFile {
                guest_path: "/bin/b".into(),
                host_path: b,
                mode: 0o755,
            },
            GuestFile {
                guest_path: "/lib/x86_64-linux-gnu/libloc.so.1".into(),
                host_path: mine.clone(),
                mode: 0o644,
            },
        ];
        let all = add_closures(root, given.clone()).unwrap();
        let guest: Vec<&str> = all.iter().map(|f| f.guest_path.as_str()).collect();
        assert_eq!(
            guest,
            [
                "/bin/a",
                "/bin/b",
                "/lib/x86_64-linux-gnu/libloc.so.1",
                INTERP,
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/usr/local/lib/libloc.so.1"
            ]
        );
        assert_eq!(all[..3], given[..], "given files come first and are kept");
    }

    #[test]
    fn host_programs() {
        for bin in ["/usr/bin/make", "/bin/ls"] {
            let bin = Path::new(bin);
            if !bin.exists() {
                continue;
            }
            let files = closure(bin).unwrap();
            let guest: BTreeSet<&str> = files.iter().map(|f| f.guest_path.as_str()).collect();
            assert_eq!(guest.len(), files.len(), "no duplicates: {files:?}");
            assert!(guest.contains(INTERP), "{guest:?}");
            assert!(guest.iter().any(|g| g.ends_with("/libc.so.6")), "{guest:?}");
            for f in &files {
                let meta = std::fs::symlink_metadata(&f.host_path).unwrap();
                assert!(
                    meta.is_file(),
                    "{} resolved to a regular file",
                    f.host_path.display()
                );
            }
        }
    }

    #[test]
    fn path_helpers() {
        assert_eq!(normalize("/usr/bin/../lib//x/./"), "/usr/lib/x");
        assert_eq!(normalize("/.."), "/");
        assert_eq!(parent("/usr/bin/x"), "/usr/bin");
        assert_eq!(parent("/x"), "/");
        assert!(wildcard(b"*.conf", b"libc.conf"));
        assert!(!wildcard(b"*.conf", b"libc.conf.off"));
        assert!(wildcard(b"a?c*", b"abc"));
        let dirs = split_path(
            Some("$ORIGIN/../lib:/abs:$LIB/x:rel::${ORIGIN}"),
            "/opt/app/bin",
        );
        let got: Vec<(&str, bool)> = dirs
            .iter()
            .map(|p| (p.path.as_str(), p.guest_finds))
            .collect();
        assert_eq!(
            got,
            [
                ("/opt/app/lib", false),
                ("/abs", true),
                ("/opt/app/bin", false)
            ]
        );
    }
}
