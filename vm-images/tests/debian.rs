//! Real Debian kernels through apt. The first run downloads ~30 MB per kernel into
//! the user's oomlab cache ($OOMLAB_CACHE_DIR or ~/.cache/oomlab); later runs reuse it.

use oomlab_vm_images::cache::CacheDir;
use oomlab_vm_images::initramfs;
use oomlab_vm_images::kernel::{self, KernelSpec, ResolvedKernel};
use oomlab_vm_images::modules;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

fn resolve(text: &str) -> ResolvedKernel {
    let cache = CacheDir::resolve(None).expect("cache dir");
    let spec: KernelSpec = text.parse().expect("spec parses");
    let start = Instant::now();
    let k = kernel::resolve(&spec, text, None, &cache, &mut |m| {
        eprintln!("[{text}] {m}")
    })
    .unwrap_or_else(|e| panic!("resolving {text}: {e}"));
    eprintln!("[{text}] resolved in {:?}: {k:?}", start.elapsed());
    k
}

fn builtin(dir: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(dir.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .filter_map(modules::module_name)
        .collect()
}

/// Checks shared by every Debian kernel.
fn check(k: &ResolvedKernel, series_prefix: &str) {
    assert!(k.release.starts_with(series_prefix), "{}", k.release);
    assert!(k.release.ends_with("-cloud-amd64"), "{}", k.release);
    assert!(k.bzimage.is_file());
    assert!(k.bzimage_header_ok);
    assert_eq!(k.sha256.len(), 64);
    assert!(k
        .package
        .as_deref()
        .is_some_and(|p| p.contains("-unsigned=")));
    assert_eq!(k.config_value("CONFIG_MEMCG").as_deref(), Some("y"));
    let dir = k.modules_dir.as_ref().expect("modules dir");
    assert!(dir.ends_with(&k.release));
    assert!(dir.join("modules.dep").is_file());

    let start = Instant::now();
    let mods = modules::resolve(dir, &["virtio_blk"]).expect("virtio_blk resolves");
    eprintln!(
        "[{}] virtio_blk resolved in {:?}",
        k.release,
        start.elapsed()
    );
    let names: Vec<&str> = mods.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names.last(), Some(&"virtio_blk"), "{names:?}");
    assert_eq!(
        names.iter().collect::<BTreeSet<_>>().len(),
        names.len(),
        "each once"
    );
    assert!(mods
        .iter()
        .all(|m| m.data.starts_with(b"\x7fELF") && m.file_name.ends_with(".ko")));
    let builtin = builtin(dir);
    // Whatever the kernel does not build in, virtio_blk needs before it.
    for dep in ["virtio", "virtio_ring"] {
        assert!(
            builtin.contains(dep) || names.contains(&dep),
            "{dep} is neither built in nor loaded before virtio_blk: {names:?}"
        );
        assert!(
            !(builtin.contains(dep) && names.contains(&dep)),
            "{dep} both built in and loaded"
        );
    }
}

#[test]
fn debian_6_1() {
    let k = resolve("debian:6.1");
    check(&k, "6.1.");
}

#[test]
fn debian_6_12() {
    let k = resolve("debian:6.12");
    check(&k, "6.12.");
    let dir = k.modules_dir.as_ref().expect("modules dir");
    let builtin = builtin(dir);
    assert!(
        builtin.contains("virtio") && builtin.contains("virtio_pci"),
        "6.12 cloud builds virtio in"
    );
    // 6.12 ships .ko.xz; what we hand back is decompressed.
    let dep = std::fs::read_to_string(dir.join("modules.dep")).unwrap();
    assert!(dep.contains("virtio_blk.ko.xz:"));

    // A base initramfs with a real module, built fresh in a private cache.
    let tmp = tempfile::tempdir().unwrap();
    let private = CacheDir::resolve(Some(&tmp.path().join("cache"))).unwrap();
    let agent = tmp.path().join("agent");
    std::fs::write(&agent, minimal_static_elf()).unwrap();
    let start = Instant::now();
    let base = initramfs::build_base(&k, &agent, &[], &["virtio_blk", "loop"], &private).unwrap();
    eprintln!(
        "[{}] base initramfs built in {:?}",
        k.release,
        start.elapsed()
    );
    let bytes = std::fs::read(&base).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("lib/modules/virtio_blk.ko\0"));
    assert!(text.ends_with("TRAILER!!!\0\0\0\0"));
    let start = Instant::now();
    let again = initramfs::build_base(&k, &agent, &[], &["virtio_blk", "loop"], &private).unwrap();
    eprintln!(
        "[{}] cached base initramfs found in {:?}",
        k.release,
        start.elapsed()
    );
    assert_eq!(again, base);
}

#[test]
fn debian_concurrent_resolves_agree() {
    let threads: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(|| resolve("debian:6.1")))
        .collect();
    let got: Vec<ResolvedKernel> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(got[0].bzimage, got[1].bzimage);
    assert_eq!(got[0].sha256, got[1].sha256);
}

#[test]
fn unknown_series_lists_what_exists() {
    let cache = CacheDir::resolve(None).unwrap();
    let spec: KernelSpec = "debian:2.4".parse().unwrap();
    let err = kernel::resolve(&spec, "debian:2.4", None, &cache, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("debian:6.1") && err.contains("debian:6.12"),
        "{err}"
    );
}

/// An ELF64 x86-64 ET_EXEC header with one PT_LOAD and no PT_INTERP.
fn minimal_static_elf() -> Vec<u8> {
    let mut d = vec![0u8; 64 + 56];
    d[..4].copy_from_slice(b"\x7fELF");
    d[4] = 2;
    d[5] = 1;
    d[6] = 1;
    d[0x10] = 2; // ET_EXEC
    d[0x12] = 62; // EM_X86_64
    d[0x20] = 64; // e_phoff
    d[0x34] = 64; // e_ehsize
    d[0x36] = 56; // e_phentsize
    d[0x38] = 1; // e_phnum
    d[64] = 1; // PT_LOAD
    d
}
