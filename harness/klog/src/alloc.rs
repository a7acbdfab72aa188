//! Allocation warnings from `warn_alloc()` (mm/page_alloc.c, mm/vmalloc.c).
//!
//! ```text
//! 2.6.x   COMM: page allocation failure. order:N, mode:0x20
//! 3.x     COMM: page allocation failure: order:N, mode:0x20
//! 4.x+    COMM: page allocation failure: order:N, mode:0x820(GFP_ATOMIC), nodemask=(null)[,cpuset=..]
//! 4.x+    COMM: vmalloc: allocation failure: N bytes, mode:0xcc0(GFP_KERNEL), nodemask=(null)
//! 4.9-4.14 COMM: page allocation stalls for Nms, order:N, mode:0x...(GFP_...)
//! ```
//!
//! Up to 4.9 the message was printed in several printk calls, so on a busy machine the comm
//! can end up on a different line than the rest; `comm` is then empty.

use crate::bytes::{field_i32, field_token, find, lossy, parse_u64, trim};
use crate::event::Event;
use crate::scan::{mask, Present};

pub(crate) fn parse(msg: &[u8], has: Present, t_ms: Option<u64>, out: &mut Vec<Event>) {
    if !has.any(mask::ALLOC_FAIL | mask::ALLOC_STALL) {
        return;
    }
    let failure =
        find(msg, b"page allocation failure").or_else(|| find(msg, b"vmalloc: allocation failure"));
    if let Some(i) = failure {
        let rest = msg.get(i..).unwrap_or_default();
        let order = if rest.starts_with(b"page") {
            field_i32(rest, b"order:")
        } else {
            None
        };
        out.push(Event::AllocFailure {
            t_ms,
            comm: comm_before(msg, i),
            order,
            gfp_mask: field_token(rest, b"mode:").map(lossy),
        });
    }
    if let Some(i) = find(msg, b"page allocation stalls for ") {
        let rest = msg
            .get(i + b"page allocation stalls for ".len()..)
            .unwrap_or_default();
        let stall_ms = parse_u64(rest)
            .and_then(|(v, n)| (rest.get(n..n + 2) == Some(&b"ms"[..])).then_some(v));
        out.push(Event::AllocStall {
            t_ms,
            comm: comm_before(msg, i),
            order: field_i32(rest, b"order:"),
            stall_ms,
        });
    }
}

/// `COMM` in `COMM: <anchor>`; empty when the message did not start with it.
fn comm_before(msg: &[u8], i: usize) -> String {
    let head = msg.get(..i).unwrap_or_default();
    match head.strip_suffix(b": ") {
        Some(c) => lossy(trim(c)),
        None => String::new(),
    }
}
