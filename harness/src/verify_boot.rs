//! After a scenario that writes to its scratch disk, boot the same kernel again on the
//! same disk and run the scenario's verifier there (fsync-storm's `fsync-verify`): data
//! the kernel acknowledged with fsync before the OOM kills must be on the disk, intact.
//! No existing suite checks data after an OOM; a kernel that loses it must be caught.
//!
//! The second guest runs in `verify/` inside the run directory and sees only the run's
//! scratch image. The verifier prints one JSON line on the console.

use crate::qemu::command::{kernel_cmdline, ConsoleDevice, Drive, CONSOLE_LOG};
use crate::qemu::GuestMachine;
use crate::session::{self, EndReason, Limits};
use oomlab_results::record::DataCheck;
use oomlab_vm_images::initramfs;
use oomlab_workloads::spec::{GuestSpec, MountSpec, ProcessSpec, Role};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub const VERIFY_DIR: &str = "verify";
const LIMIT: Duration = Duration::from_secs(120);

pub struct VerifyGuest<'a> {
    pub base_initrd: &'a Path,
    pub kernel: &'a Path,
    pub accel: crate::qemu::command::Accel,
    pub memory_mib: u64,
    pub cpus: u32,
    /// The scratch image, relative to the run directory.
    pub scratch_image: &'a str,
    pub mount_target: &'a str,
}

/// Boot the verifier over the run's scratch disk; the check says what it found, or why
/// it could not look.
pub fn verify(g: &VerifyGuest, run_dir: &Path, argv: &[String]) -> DataCheck {
    let dir = run_dir.join(VERIFY_DIR);
    let failed = |error: String| DataCheck {
        error: Some(error),
        ..Default::default()
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return failed(format!("cannot create {}: {e}", dir.display()));
    }
    let spec = GuestSpec {
        run_id: "verify".into(),
        scenario: "verify".into(),
        probe_only: false,
        heartbeat_ms: 100,
        sample_ms: 1000,
        probe_ms: 0,
        probe_kib: 0,
        settle_ms: 0,
        max_pressure_ms: LIMIT.as_millis() as u64 - 20_000,
        sysctls: BTreeMap::new(),
        sysfs: vec![],
        processes: vec![ProcessSpec {
            name: "verify".into(),
            role: Role::Bystander,
            argv: argv.to_vec(),
            oom_score_adj: 0,
            start_delay_ms: 0,
            cgroup: None,
            rlimits: BTreeMap::new(),
        }],
        end: Default::default(),
        mounts: vec![MountSpec {
            device: "/dev/vda".into(),
            target: g.mount_target.into(),
            fstype: "ext4".into(),
        }],
        fault: None,
        kmsg_forward: false,
        cmdline: vec![],
        swap: None,
    };
    let initrd = dir.join("initrd.img");
    if let Err(e) = initramfs::write_run_initrd(g.base_initrd, &spec.to_json(), &initrd) {
        return failed(format!("cannot write the verifier's initrd: {e}"));
    }
    let machine = GuestMachine {
        accel: g.accel,
        tcg_threads: Default::default(),
        memory_mib: g.memory_mib,
        cpus: g.cpus,
        kernel: g.kernel.to_path_buf(),
        initrd: initrd.clone(),
        cmdline: kernel_cmdline(ConsoleDevice::Serial, &[]),
        drives: vec![Drive::plain(&format!("../{}", g.scratch_image))],
        console: ConsoleDevice::Serial,
        kmsg_port: false,
        cpu_affinity: vec![],
    };
    let limits = Limits {
        boot: LIMIT,
        total: LIMIT,
        silence: LIMIT,
        poll: session::DEFAULT_POLL,
        livelock: None,
        sysrq_f: false,
        probe_threshold: Duration::from_millis(500),
    };
    let obs = session::watch(&machine, &dir, limits, &mut |_| {});
    let _ = std::fs::remove_file(&initrd);
    let console = std::fs::read_to_string(dir.join(CONSOLE_LOG)).unwrap_or_default();
    match (parse_report(&console), &obs.end) {
        (Some(check), _) => check,
        (None, Some(EndReason::Finished)) => failed("the verifier printed no report".into()),
        (None, end) => failed(format!("the verification boot ended early: {end:?}")),
    }
}

/// The verifier's one JSON line (`{"files":...}`) from the console.
fn parse_report(console: &str) -> Option<DataCheck> {
    console
        .lines()
        .filter_map(|l| l.find("{\"files\"").map(|i| &l[i..]))
        .find_map(|json| serde_json::from_str::<DataCheck>(json).ok())
        .map(|mut c| {
            c.verified = true;
            c
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_verifiers_line_among_kernel_lines() {
        let console = "[    2.1] EXT4-fs (vda): mounted filesystem\n\
            {\"files\":100,\"records\":5000,\"acked\":4900,\"lost_acked\":2,\"corrupt_records\":1,\"torn_tail_records\":40,\"files_with_problems\":[\"child-3.dat\"]}\n\
            [    3.0] reboot: Power down\n";
        let c = parse_report(console).unwrap();
        assert!(c.verified);
        assert_eq!(
            (c.files, c.acked, c.lost_acked, c.corrupt_records),
            (100, 4900, 2, 1)
        );
        assert_eq!(c.files_with_problems, ["child-3.dat"]);
        assert!(c.data_lost());
        assert_eq!(parse_report("[ 1.0] nothing\n"), None);
    }
}
