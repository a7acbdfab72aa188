//! A fixed-period heartbeat: proof that the agent still gets scheduled.
//!
//! It only measures and sends; the gap between beats is what the host reads. After it
//! starts it never allocates and never forks: each line is formatted on the stack, so
//! a beat cannot wait on the page allocator, and a silent heartbeat means the agent's
//! thread got no CPU (or the guest is dead), never that memory was short. This is what
//! keeps "user space starved" (beats on, probe stalled) apart from "guest dead".

use crate::channel::Channel;
use crate::sys;
use std::io::Write;
use std::sync::Arc;

/// Longest heartbeat line: three u64s and the fixed text fit with room to spare.
const LINE_MAX: usize = 128;

pub fn spawn(channel: Arc<Channel>, period_ms: u64) {
    let period_us = period_ms.max(1) * 1_000;
    let _ = std::thread::Builder::new()
        .name("heartbeat".into())
        .spawn(move || {
            let mut seq = 0u64;
            let mut last = sys::monotonic_us();
            let mut next = last + period_us;
            let mut buf = [0u8; LINE_MAX];
            loop {
                sys::sleep_until_us(next);
                let now = sys::monotonic_us();
                let n = format_beat(&mut buf, now / 1_000, seq, (now - last) / 1_000);
                channel.send_line(&buf[..n]);
                seq += 1;
                last = now;
                // After a stall, beat again one period from now rather than in a burst.
                next = (next + period_us).max(now + period_us / 2);
            }
        });
}

/// The `heartbeat` event as one JSON line, written into `buf`; returns its length.
fn format_beat(buf: &mut [u8; LINE_MAX], t_ms: u64, seq: u64, gap_ms: u64) -> usize {
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    // Cannot fail: the longest line (u64::MAX thrice) is under LINE_MAX.
    let _ = writeln!(
        cursor,
        r#"{{"event":"heartbeat","t_ms":{t_ms},"seq":{seq},"gap_ms":{gap_ms}}}"#
    );
    cursor.position() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use oomlab_workloads::event::Event;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    /// Counts allocations made by the current thread, to prove a code path makes none.
    struct Counting;
    thread_local! {
        static ALLOCS: Cell<u64> = const { Cell::new(0) };
    }
    // SAFETY: defers to the system allocator; the counter is a const-initialised
    // thread-local, which needs no allocation itself.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            ALLOCS.with(|c| c.set(c.get() + 1));
            // SAFETY: same layout contract as the caller's.
            unsafe { System.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            // SAFETY: `p` came from System.alloc with this layout.
            unsafe { System.dealloc(p, l) }
        }
    }
    #[global_allocator]
    static COUNTING: Counting = Counting;

    #[test]
    fn the_beat_line_is_the_event_the_host_parses() {
        let mut buf = [0u8; LINE_MAX];
        for (t, seq, gap) in [(0, 0, 0), (123_456, 7, 101), (u64::MAX, u64::MAX, u64::MAX)] {
            let n = format_beat(&mut buf, t, seq, gap);
            let line = std::str::from_utf8(&buf[..n]).unwrap();
            assert!(line.ends_with('\n'));
            let expected = Event::Heartbeat {
                t_ms: t,
                seq,
                gap_ms: gap,
            };
            assert_eq!(Event::from_line(line), Some(expected.clone()));
            assert_eq!(line.trim_end(), expected.to_line());
        }
    }

    #[test]
    fn sending_a_beat_allocates_nothing() {
        let mut buf = [0u8; LINE_MAX];
        let dev_null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        let channel = Channel::from_file(dev_null);
        let before = ALLOCS.with(Cell::get);
        for seq in 0..100 {
            let n = format_beat(&mut buf, seq * 100, seq, 100);
            channel.send_line(&buf[..n]);
        }
        assert_eq!(ALLOCS.with(Cell::get), before);
    }
}
