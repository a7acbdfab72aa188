//! The smallest possible /init: power off at once. `oomlab bench` boots it to measure
//! what a bare QEMU boot of a kernel costs, the baseline for the agent's boot time.

fn main() {
    // SAFETY: reboot with RB_POWER_OFF as PID 1 ends the machine; nothing to clean up.
    unsafe {
        libc::reboot(libc::RB_POWER_OFF);
    }
}
