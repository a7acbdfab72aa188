//! Find the static guest binaries (agent, workloads) built from this workspace.

use std::path::{Path, PathBuf};

pub const AGENT: &str = "oomlab-agent";
pub const WORKLOADS: &[&str] = &[
    "usemem",
    "oomlab-probe",
    "herd",
    "mmap-sem-writers",
    "coredump-victim",
    "core-pipe-helper",
    "core-check",
    "inode-lock-writers",
    "fsync-storm",
    "fsync-verify",
    "oom-lock-starvation",
    "syscall-enomem",
    "shared-mm",
    "filewalk",
    "cc-sim",
];

/// Where to look: $OOMLAB_GUEST_BIN_DIR, then beside the running binary, then its
/// parent (test binaries live in target/.../deps/).
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("OOMLAB_GUEST_BIN_DIR") {
        dirs.push(PathBuf::from(d));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        if let Some(parent) = dir.parent() {
            dirs.push(dir.clone());
            dirs.push(parent.to_path_buf());
        } else {
            dirs.push(dir);
        }
    }
    dirs
}

/// Path of one guest binary, checked to be a static executable (the initramfs has no libc).
pub fn locate(name: &str) -> Result<PathBuf, String> {
    let dirs = search_dirs();
    let path = dirs
        .iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "guest binary {name} not found (looked in {}); build it with `cargo build --workspace` or set OOMLAB_GUEST_BIN_DIR",
                dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
            )
        })?;
    match oomlab_vm_images::elf::is_static_executable(&path) {
        Ok(true) => Ok(path),
        Ok(false) => Err(format!(
            "{} is dynamically linked; guest binaries must be static: build with the workspace's .cargo/config.toml (target x86_64-unknown-linux-gnu, +crt-static)",
            path.display()
        )),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
