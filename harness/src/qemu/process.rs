//! One QEMU process: spawned in its own process group, registered for cleanup, tied to
//! the harness by PR_SET_PDEATHSIG, and killed when this value is dropped.

use super::command::GuestMachine;
use super::qmp::Qmp;
use crate::cleanup;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const STDERR_LOG: &str = "qemu.stderr";
const QMP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

pub struct QemuProcess {
    child: Child,
    pgid: i32,
    pub qmp: Option<Qmp>,
    /// Why QMP could not be reached, if it could not.
    pub qmp_error: Option<String>,
    pub started: Instant,
    exit: Option<ExitStatus>,
}

impl QemuProcess {
    /// Start QEMU with `run_dir` as its working directory (the only host path it writes).
    ///
    /// Must be called from a thread that lives as long as the guest: PR_SET_PDEATHSIG
    /// fires when the *thread* that forked the child exits.
    pub fn spawn(machine: &GuestMachine, run_dir: &Path) -> Result<QemuProcess, String> {
        let stderr = File::create(run_dir.join(STDERR_LOG))
            .map_err(|e| format!("cannot create {}: {e}", run_dir.join(STDERR_LOG).display()))?;
        let bin = super::binary();
        let mut cmd = Command::new(&bin);
        cmd.args(machine.args())
            .current_dir(run_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .process_group(0);
        let affinity = cpu_set(&machine.cpu_affinity);
        // SAFETY: runs between fork and exec; prctl, getppid and sched_setaffinity are
        // async-signal-safe and read only the cpu set copied in before fork.
        unsafe {
            cmd.pre_exec(move || {
                if let Some(set) = &affinity {
                    if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The harness may have died between fork and prctl.
                if libc::getppid() == 1 {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| {
            format!("cannot start {bin}: {e}; install it with `apt-get install qemu-system-x86`")
        })?;
        let pgid = child.id() as i32;
        cleanup::register(pgid);
        let started = Instant::now();
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let (qmp, qmp_error) = match (stdin, stdout) {
            (Some(i), Some(o)) => match Qmp::connect(i, o, QMP_CONNECT_TIMEOUT) {
                Ok(q) => (Some(q), None),
                Err(e) => (None, Some(e)),
            },
            _ => (None, Some("QEMU's stdio was not captured".into())),
        };
        Ok(QemuProcess {
            child,
            pgid,
            qmp,
            qmp_error,
            started,
            exit: None,
        })
    }

    /// Has QEMU exited? Never blocks.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Wait (bounded) for QEMU to exit on its own, e.g. after the guest powered off.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(s) = self.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.try_wait()
    }

    /// Stop the guest: ask politely over QMP, then kill the whole process group.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.try_wait().is_none() {
            if let Some(q) = self.qmp.as_mut() {
                q.quit(grace);
            }
            self.wait_for_exit(grace);
        }
        cleanup::kill_group(self.pgid);
        self.wait_for_exit(REAP_TIMEOUT)
    }
}

impl Drop for QemuProcess {
    fn drop(&mut self) {
        cleanup::kill_group(self.pgid);
        self.wait_for_exit(REAP_TIMEOUT);
        cleanup::unregister(self.pgid);
    }
}

/// The cpu set for sched_setaffinity, built before fork; None for no pinning.
fn cpu_set(cpus: &[usize]) -> Option<libc::cpu_set_t> {
    if cpus.is_empty() {
        return None;
    }
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus {
        // SAFETY: CPU_SET only sets a bit in `set`; `c` is below CPU_SETSIZE (host cores).
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    Some(set)
}
