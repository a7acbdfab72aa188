//! The QEMU command line for one guest.
//!
//! No network, no default devices, nothing from the host but the kernel and initrd
//! QEMU reads at start. The guest talks through two serial ports (ttyS0: kernel console,
//! ttyS1: agent events), each written by QEMU to a file in the run directory, which is
//! QEMU's working directory, so every path it writes is relative to it. QMP runs over
//! QEMU's stdin/stdout: no socket path, nothing left behind.

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Tcg,
    Kvm,
}

impl Accel {
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// How TCG runs the guest's vCPUs.
///
/// `Single` (the default) runs every vCPU round-robin on one host thread. `Multi` gives
/// each vCPU a host thread (MTTCG): truer parallelism, but with QEMU 7.2 on these
/// machines about one 6.12 boot in 20-100 oopsed on a stale `int3` in `sched_clock_cpu`
/// while the kernel patched static keys (cross-modifying code between vCPU threads), an
/// emulator artifact that a verdict about a kernel must not contain. Single-threaded
/// TCG showed none in the same conditions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TcgThreads {
    #[default]
    Single,
    Multi,
}

impl TcgThreads {
    pub fn as_str(self) -> &'static str {
        match self {
            TcgThreads::Single => "single",
            TcgThreads::Multi => "multi",
        }
    }
}

/// File names (relative to the run directory) QEMU writes.
pub const CONSOLE_LOG: &str = "console.log";
pub const EVENTS_LOG: &str = "events.jsonl";

#[derive(Debug, Clone)]
pub struct GuestMachine {
    pub accel: Accel,
    pub tcg_threads: TcgThreads,
    pub memory_mib: u64,
    pub cpus: u32,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
    /// Raw disk images, relative to the run directory, attached as virtio-blk in order
    /// (/dev/vda, /dev/vdb, ...).
    pub drives: Vec<String>,
}

impl GuestMachine {
    pub fn args(&self) -> Vec<String> {
        let (cpu, accel) = match self.accel {
            Accel::Tcg => ("max", format!("tcg,thread={}", self.tcg_threads.as_str())),
            Accel::Kvm => ("host", "kvm".to_string()),
        };
        let mut a: Vec<String> = [
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
            "-nic",
            "none",
            "-machine",
            "pc",
            "-accel",
            &accel,
            "-cpu",
            cpu,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend([
            "-m".into(),
            format!("{}M", self.memory_mib),
            "-smp".into(),
            self.cpus.to_string(),
            "-kernel".into(),
            self.kernel.display().to_string(),
            "-initrd".into(),
            self.initrd.display().to_string(),
            "-append".into(),
            self.cmdline.clone(),
            "-chardev".into(),
            format!("file,id=console,path={CONSOLE_LOG}"),
            "-serial".into(),
            "chardev:console".into(),
            "-chardev".into(),
            format!("file,id=events,path={EVENTS_LOG}"),
            "-serial".into(),
            "chardev:events".into(),
            "-chardev".into(),
            "stdio,id=qmp,signal=off".into(),
            "-mon".into(),
            "chardev=qmp,mode=control".into(),
            // QEMU's seccomp filter: the emulator may not spawn processes or gain privileges.
            "-sandbox".into(),
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny".into(),
        ]);
        for d in &self.drives {
            a.push("-drive".into());
            a.push(format!("file={d},format=raw,if=virtio"));
        }
        a
    }
}

/// The guest kernel command line. `quiet` keeps boot fast on a serial console; the
/// agent raises the console log level before pressure (setting `kernel.printk`), so OOM
/// reports and reaper lines still reach the console. panic=-1 reboots at once on a panic
/// and -no-reboot turns that into QEMU exiting, so a panicked guest never idles.
/// The RCU stall (20 s) and soft-lockup (2 x 11 s) watchdogs are set to fire, in that
/// order, before the hung-task check (30 s) and the harness's own livelock window (40 s).
pub fn kernel_cmdline(extra: &[String]) -> String {
    let mut parts = vec![
        "console=ttyS0",
        "quiet",
        "panic=-1",
        "rdinit=/init",
        "printk.time=1",
        "rcupdate.rcu_cpu_stall_timeout=20",
        "watchdog_thresh=11",
    ];
    parts.extend(extra.iter().map(String::as_str));
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guests_get_no_network_and_relative_log_paths() {
        let m = GuestMachine {
            accel: Accel::Tcg,
            tcg_threads: TcgThreads::Single,
            memory_mib: 256,
            cpus: 2,
            kernel: "/k".into(),
            initrd: "/i".into(),
            cmdline: kernel_cmdline(&[]),
            drives: vec!["scratch.img".into()],
        };
        let args = m.args().join(" ");
        assert!(args.contains("-drive file=scratch.img,format=raw,if=virtio"));
        assert!(args.contains("-nodefaults"));
        assert!(args.contains("-nic none"));
        assert!(args.contains("-accel tcg,thread=single -cpu max"));
        assert!(args.contains("path=console.log"));
        assert!(args.contains("path=events.jsonl"));
        assert!(!args.contains("-netdev"));
        assert!(args.contains("-m 256M -smp 2"));
    }
}
