//! End-to-end tests: the real `oomlab` binary boots real Debian kernels under QEMU.
//!
//! Needs qemu-system-x86_64, apt-get (kernels are fetched on first use into the normal
//! cache) and the guest binaries built (`cargo build --workspace`). See README.

mod common;
mod console;
mod errors;
mod matrix;
mod repetitions;
mod rerun;
mod scenario_files;
mod scenarios;
mod signals;
mod usemem;
mod verdicts;
