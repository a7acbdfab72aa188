//! Faults the agent injects on request (spec `fault`), so the harness's detectors can be
//! tested against a real guest rather than a recording.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static FROZEN: AtomicBool = AtomicBool::new(false);

/// From now on every agent thread stops at its next event.
pub fn freeze() {
    FROZEN.store(true, Ordering::SeqCst);
}

/// Called before every event: a frozen agent sends nothing, ever again.
pub fn freeze_point() {
    while FROZEN.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
