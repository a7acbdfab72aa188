//! No QEMU outlives the harness.
//!
//! Three independent paths, because no single one covers every way the harness ends:
//! 1. every QEMU runs in its own process group, registered here; a guard kills the group
//!    on drop (normal end, error, unwinding panic);
//! 2. SIGINT, SIGTERM and SIGHUP are caught on a thread of their own that kills every
//!    registered group at once, then lets the main loop finish the run as interrupted
//!    (and exits by itself if the main loop does not within a bound);
//! 3. each QEMU gets PR_SET_PDEATHSIG=SIGKILL, so even a SIGKILL of the harness takes
//!    its guests down with it.
//!
//! The panic hook also kills every registered group before the default hook runs.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

static GROUPS: Mutex<Option<HashSet<i32>>> = Mutex::new(None);
static INTERRUPTED_BY: AtomicI32 = AtomicI32::new(0);
/// How long the main loop gets to record an interruption before the process exits anyway.
const EXIT_GRACE: Duration = Duration::from_secs(10);

pub fn register(pgid: i32) {
    let mut g = GROUPS.lock().unwrap_or_else(|p| p.into_inner());
    g.get_or_insert_with(HashSet::new).insert(pgid);
}

pub fn unregister(pgid: i32) {
    let mut g = GROUPS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(set) = g.as_mut() {
        set.remove(&pgid);
    }
}

/// SIGKILL a process group.
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        // SAFETY: kill() takes plain integers; a negative pid addresses the group.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
}

fn kill_all() {
    let g = GROUPS.lock().unwrap_or_else(|p| p.into_inner());
    for pgid in g.iter().flatten() {
        kill_group(*pgid);
    }
}

/// The signal that interrupted the harness, if any.
pub fn interrupted() -> Option<i32> {
    match INTERRUPTED_BY.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Exit status for an interrupted harness (128 + signal, as shells report it).
pub fn interrupted_exit_code() -> Option<u8> {
    interrupted().map(|s| (128 + s) as u8)
}

/// Install the signal thread and the panic hook. Call once, first thing in main.
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                INTERRUPTED_BY.store(sig, Ordering::SeqCst);
                kill_all();
                eprintln!("oomlab: interrupted by signal {sig}; stopping guests");
                std::thread::sleep(EXIT_GRACE);
                kill_all();
                std::process::exit(128 + sig);
            }
        })?;
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_all();
        default_hook(info);
    }));
    Ok(())
}
