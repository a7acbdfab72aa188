//! The QEMU command line for one guest.
//!
//! No network, no default devices, nothing from the host but the kernel and initrd
//! QEMU reads at start. The guest talks through serial ports (ttyS0: kernel console,
//! ttyS1: agent events, ttyS2 when asked: the kernel log forwarded by the agent), each
//! written by QEMU to a file in the run directory, which is QEMU's working directory, so
//! every path it writes is relative to it. QMP runs over QEMU's stdin/stdout: no socket
//! path, nothing left behind.

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
pub const KMSG_LOG: &str = "kmsg.log";

/// Where the kernel's console goes (`--set console.device=`). Whatever the device, its
/// output lands in console.log, so console bytes are comparable across devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConsoleDevice {
    /// ttyS0, the emulated 16550 UART: the kernel writes a byte per port access.
    #[default]
    Serial,
    /// hvc0 on virtio-serial: the kernel hands over whole buffers.
    Virtio,
    /// No console at all: the kernel only fills its ring buffer.
    None,
}

impl ConsoleDevice {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleDevice::Serial => "serial",
            ConsoleDevice::Virtio => "virtio",
            ConsoleDevice::None => "none",
        }
    }

    /// The `console=` parameter. `ttynull` names a console these kernels do not build
    /// (CONFIG_NULL_TTY is off), so none registers; a kernel that has it discards output.
    fn kernel_param(self) -> &'static str {
        match self {
            ConsoleDevice::Serial => "console=ttyS0",
            ConsoleDevice::Virtio => "console=hvc0",
            ConsoleDevice::None => "console=ttynull",
        }
    }

    /// Modules the device needs in the guest (built in on some kernels, then skipped).
    pub fn modules(self) -> &'static [&'static str] {
        match self {
            ConsoleDevice::Virtio => &["virtio_pci", "virtio_console"],
            _ => &[],
        }
    }
}

impl std::str::FromStr for ConsoleDevice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "serial" => Ok(ConsoleDevice::Serial),
            "virtio" => Ok(ConsoleDevice::Virtio),
            "none" => Ok(ConsoleDevice::None),
            _ => Err(format!(
                "console.device {s:?} is not one of serial, virtio, none"
            )),
        }
    }
}

/// A raw disk image, relative to the run directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Drive {
    pub path: String,
    /// QEMU's I/O throttle (`throttling.iops-total`): a slow disk, for thrashing.
    pub iops: Option<u64>,
}

impl Drive {
    pub fn plain(path: &str) -> Drive {
        Drive {
            path: path.to_string(),
            iops: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GuestMachine {
    pub accel: Accel,
    pub tcg_threads: TcgThreads,
    pub memory_mib: u64,
    pub cpus: u32,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
    /// Raw disk images, attached as virtio-blk in order (/dev/vda, /dev/vdb, ...).
    pub drives: Vec<Drive>,
    pub console: ConsoleDevice,
    /// A third serial port (ttyS2) for the agent to forward /dev/kmsg on.
    pub kmsg_port: bool,
    /// Host cores QEMU is pinned to (parallel guests get their own); empty: not pinned.
    pub cpu_affinity: Vec<usize>,
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
        ]);
        // ttyS0 is always there, so the event port stays ttyS1; with a virtio console it
        // is a null device and console.log is written by the virtconsole instead.
        match self.console {
            ConsoleDevice::Virtio => a.extend([
                "-serial".into(),
                "null".into(),
                "-device".into(),
                "virtio-serial-pci,id=vser0".into(),
                "-device".into(),
                "virtconsole,chardev=console,bus=vser0.0".into(),
            ]),
            ConsoleDevice::Serial | ConsoleDevice::None => {
                a.extend(["-serial".into(), "chardev:console".into()])
            }
        }
        a.extend([
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
        if self.kmsg_port {
            a.extend([
                "-chardev".into(),
                format!("file,id=kmsg,path={KMSG_LOG}"),
                "-serial".into(),
                "chardev:kmsg".into(),
            ]);
        }
        for d in &self.drives {
            a.push("-drive".into());
            let mut spec = format!("file={},format=raw,if=virtio", d.path);
            if let Some(iops) = d.iops {
                spec.push_str(&format!(",throttling.iops-total={iops}"));
            }
            a.push(spec);
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
pub fn kernel_cmdline(console: ConsoleDevice, extra: &[String]) -> String {
    let mut parts = vec![
        console.kernel_param(),
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

    fn machine(console: ConsoleDevice, kmsg_port: bool, drives: &[&str]) -> GuestMachine {
        GuestMachine {
            accel: Accel::Tcg,
            tcg_threads: TcgThreads::Single,
            memory_mib: 256,
            cpus: 2,
            kernel: "/k".into(),
            initrd: "/i".into(),
            cmdline: kernel_cmdline(console, &[]),
            drives: drives.iter().map(|d| Drive::plain(d)).collect(),
            console,
            kmsg_port,
            cpu_affinity: vec![],
        }
    }

    #[test]
    fn guests_get_no_network_and_relative_log_paths() {
        let m = machine(ConsoleDevice::Serial, false, &["scratch.img"]);
        let args = m.args().join(" ");
        assert!(m
            .args()
            .contains(&"file=scratch.img,format=raw,if=virtio".to_string()));
        let mut slow = machine(ConsoleDevice::Serial, false, &[]);
        slow.drives = vec![Drive {
            path: "scratch.img".into(),
            iops: Some(200),
        }];
        assert!(slow.args().contains(
            &"file=scratch.img,format=raw,if=virtio,throttling.iops-total=200".to_string()
        ));
        assert!(args.contains("-nodefaults"));
        assert!(args.contains("-nic none"));
        assert!(args.contains("-accel tcg,thread=single -cpu max"));
        assert!(args.contains("path=console.log"));
        assert!(args.contains("path=events.jsonl"));
        assert!(!args.contains("-netdev"));
        assert!(args.contains("-m 256M -smp 2"));
        assert!(!args.contains(KMSG_LOG));
        assert!(m.cmdline.starts_with("console=ttyS0 "));
    }

    #[test]
    fn the_event_port_stays_ttys1_whatever_the_console() {
        for console in [
            ConsoleDevice::Serial,
            ConsoleDevice::Virtio,
            ConsoleDevice::None,
        ] {
            let args = machine(console, true, &[]).args();
            let serials: Vec<&String> = args
                .iter()
                .zip(args.iter().skip(1))
                .filter(|(flag, _)| *flag == "-serial")
                .map(|(_, v)| v)
                .collect();
            let first = if console == ConsoleDevice::Virtio {
                "null"
            } else {
                "chardev:console"
            };
            assert_eq!(serials, [first, "chardev:events", "chardev:kmsg"]);
            let joined = args.join(" ");
            assert_eq!(
                joined.contains("virtconsole,chardev=console"),
                console == ConsoleDevice::Virtio
            );
        }
        assert!(kernel_cmdline(ConsoleDevice::Virtio, &[]).starts_with("console=hvc0 "));
        assert!(kernel_cmdline(ConsoleDevice::None, &[]).starts_with("console=ttynull "));
    }
}
