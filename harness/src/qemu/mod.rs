//! Everything about the QEMU process: its command line, its lifetime, QMP, and the
//! choice of accelerator.

pub mod accel;
pub mod command;
pub mod process;
pub mod qmp;

pub use command::GuestMachine;
pub use process::QemuProcess;

/// The QEMU binary oomlab drives (override with OOMLAB_QEMU for a build of your own).
pub fn binary() -> String {
    std::env::var("OOMLAB_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".to_string())
}

/// `qemu-system-x86_64 --version`'s first line, or an error telling how to install it.
pub fn version() -> Result<String, String> {
    let bin = binary();
    let out = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .map_err(|e| {
            format!("cannot run {bin}: {e}; install it with `apt-get install qemu-system-x86`")
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().next().unwrap_or("unknown").trim().to_string())
}
