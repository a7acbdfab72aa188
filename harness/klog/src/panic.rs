//! `Kernel panic - not syncing: MESSAGE` (kernel/panic.c, unchanged since 2.6).
//!
//! Since 4.x the kernel also prints `---[ end Kernel panic - not syncing: MESSAGE ]---` when it
//! stops; that is the same panic and is not reported again. The OOM killer's panics
//! (`Out of memory and no killable processes...`, `Out of memory: system-wide panic_on_oom is
//! enabled`, `compulsory panic_on_oom`, `System is deadlocked on memory`) are ordinary panic
//! messages; a `panic_on_oom is` message seen without the `Kernel panic` text (e.g. a console
//! that cut the line) is still reported as the panic it announces.

use crate::bytes::{find, lossy, trim};
use crate::event::Event;
use crate::scan::{mask, Present};

const ANCHOR: &[u8] = b"Kernel panic - not syncing";

pub(crate) fn parse(msg: &[u8], has: Present, t_ms: Option<u64>, out: &mut Vec<Event>) {
    if !has.any(mask::PANIC) {
        return;
    }
    if let Some(i) = find(msg, ANCHOR) {
        let head = msg.get(..i).unwrap_or_default();
        if head.ends_with(b"end ") {
            return;
        }
        let rest = msg.get(i + ANCHOR.len()..).unwrap_or_default();
        let rest = rest.strip_prefix(b":").unwrap_or(rest);
        out.push(Event::Panic {
            t_ms,
            message: lossy(trim(rest)),
        });
    } else if find(msg, b"panic_on_oom is").is_some() {
        let start = find(msg, b"Out of memory").unwrap_or(0);
        out.push(Event::Panic {
            t_ms,
            message: lossy(trim(msg.get(start..).unwrap_or_default())),
        });
    }
}
