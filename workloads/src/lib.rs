//! What the guest and the host say to each other.
//!
//! The harness writes a [`spec::GuestSpec`] into the initramfs; the PID-1 agent reads it,
//! runs the scenario and streams [`event::Event`]s back, one JSON object per line, over a
//! serial port of their own (never the kernel console). Both sides use these types, so
//! they cannot drift apart.

pub mod core_file;
pub mod event;
pub mod fsync_log;
pub mod guest;
pub mod spec;

/// Where the spec travels inside the guest (an appended cpio puts it there).
pub const SPEC_PATH: &str = "/oomlab/spec.json";
/// Load order of the kernel modules packed into the initramfs, one file name per line.
pub const MODULES_LIST_PATH: &str = "/oomlab/modules.list";
/// Directory holding those modules.
pub const MODULES_DIR: &str = "/lib/modules";
/// The agent's event channel: the second 16550 UART (8250 is built into every kernel we boot).
pub const EVENT_TTY: &str = "/dev/ttyS1";
/// The third UART: the kernel log forwarded from /dev/kmsg, when the spec asks for it.
pub const KMSG_TTY: &str = "/dev/ttyS2";
/// Start of the line the agent's kmsg forwarder writes when the ring buffer overwrote
/// records before it read them: `oomlab-kmsg: lost N records`.
pub const KMSG_LOST_PREFIX: &str = "oomlab-kmsg: lost ";
/// Where the agent mounts a cgroup v1 memory hierarchy when a scenario asks for one.
pub const CGROUP_V1_MEMORY: &str = "/run/cgroup-v1-memory";
/// Prefix of the agent's clock marker written to /dev/kmsg, so the host can measure the
/// offset between printk timestamps and the agent's CLOCK_MONOTONIC.
pub const CLOCK_MARKER: &str = "oomlab-agent: clock mono_us=";
