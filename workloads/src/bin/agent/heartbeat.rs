//! A fixed-period heartbeat: proof that the agent still gets scheduled.
//!
//! It only measures and sends; the gap between beats is what the host reads.

use crate::channel::Channel;
use crate::sys;
use oomlab_workloads::event::Event;
use std::sync::Arc;

pub fn spawn(channel: Arc<Channel>, period_ms: u64) {
    let period_us = period_ms.max(1) * 1_000;
    let _ = std::thread::Builder::new()
        .name("heartbeat".into())
        .spawn(move || {
            let mut seq = 0u64;
            let mut last = sys::monotonic_us();
            let mut next = last + period_us;
            loop {
                sys::sleep_until_us(next);
                let now = sys::monotonic_us();
                channel.send(&Event::Heartbeat {
                    t_ms: now / 1_000,
                    seq,
                    gap_ms: (now - last) / 1_000,
                });
                seq += 1;
                last = now;
                // After a stall, beat again one period from now rather than in a burst.
                next = (next + period_us).max(now + period_us / 2);
            }
        });
}
