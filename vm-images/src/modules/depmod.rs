//! A small depmod: Debian's image packages ship no modules.dep (postinst runs
//! depmod), and the host may have no kmod, so we derive it from each module's
//! `.modinfo` `depends=` field. Only modules.dep is written; the other depmod
//! outputs (aliases, symbols) are not needed to load modules by name.

use super::{file, module_name, normalize, walk};
use crate::{elf, fsutil, Error};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The direct dependencies (canonical names) a module file declares.
pub(crate) fn depends_of(path: &Path) -> Result<Vec<String>, Error> {
    let data = file::read(path)?;
    let info = elf::modinfo(&data).map_err(|reason| Error::BadElf {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(info
        .iter()
        .filter(|(k, _)| k == "depends")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(normalize)
        .collect())
}

/// Write `modules_dir/modules.dep` in depmod's format: each module with its
/// transitive dependencies, listed so that loading from last to first works (what
/// modprobe does). Returns the number of modules. Decompression dominates, so the
/// modules are read on all cores.
pub(crate) fn write_modules_dep(modules_dir: &Path) -> Result<usize, Error> {
    let files = walk(modules_dir)?;
    let direct = read_all(modules_dir, &files)?;
    let by_name: BTreeMap<String, &str> = files
        .iter()
        .filter_map(|rel| Some((module_name(rel)?, rel.as_str())))
        .collect();
    let direct = direct_map(&files, &direct);
    let mut text = String::new();
    for rel in &files {
        let Some(name) = module_name(rel) else {
            continue;
        };
        let mut order = Vec::new();
        let mut seen = BTreeSet::from([name.clone()]);
        closure(&name, &by_name, &direct, &mut seen, &mut order);
        text.push_str(rel);
        text.push(':');
        for path in order.iter().rev().filter_map(|dep| by_name.get(dep)) {
            text.push(' ');
            text.push_str(path);
        }
        text.push('\n');
    }
    let dest = modules_dir.join("modules.dep");
    fsutil::write_atomically(&dest, |w| std::io::Write::write_all(w, text.as_bytes()))?;
    Ok(files.len())
}

/// name → direct dependency names.
fn direct_map<'a>(
    files: &'a [String],
    direct: &'a [Vec<String>],
) -> BTreeMap<String, &'a [String]> {
    files
        .iter()
        .zip(direct)
        .filter_map(|(rel, deps)| Some((module_name(rel)?, deps.as_slice())))
        .collect()
}

/// Dependencies of `name` in load order (deepest first), each once. Names that no
/// file provides (built in, or missing) are left out, as depmod does.
fn closure(
    name: &str,
    by_name: &BTreeMap<String, &str>,
    direct: &BTreeMap<String, &[String]>,
    seen: &mut BTreeSet<String>,
    order: &mut Vec<String>,
) {
    for dep in direct.get(name).copied().unwrap_or_default() {
        if !by_name.contains_key(dep) || !seen.insert(dep.clone()) {
            continue;
        }
        closure(dep, by_name, direct, seen, order);
        order.push(dep.clone());
    }
}

/// One file's result: None until a worker has read it.
type Slot = Option<Result<Vec<String>, Error>>;

/// Each file's direct dependencies, read in parallel, in `files` order.
fn read_all(dir: &Path, files: &[String]) -> Result<Vec<Vec<String>>, Error> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Slot>> = Mutex::new((0..files.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(rel) = files.get(i) else {
                    break;
                };
                let r = depends_of(&dir.join(rel));
                let failed = r.is_err();
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(r);
                }
                if failed {
                    // Stop the other workers early; the first error is reported.
                    next.store(files.len(), Ordering::Relaxed);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut out = Vec::with_capacity(files.len());
    for r in results {
        match r {
            Some(Ok(deps)) => out.push(deps),
            Some(Err(e)) => return Err(e),
            // Only skipped after another file failed, whose error comes up too.
            None => {}
        }
    }
    if out.len() != files.len() {
        return Err(Error::BadElf {
            path: dir.to_path_buf(),
            reason: "some modules could not be read".into(),
        });
    }
    Ok(out)
}
