//! oomlab-probe: the agent's responsiveness probe. Allocate and touch a little memory,
//! then exit. How long the agent waits from fork to reaping it is the probe latency:
//! it covers fork, exec, page faults and allocation, all of which stall when the
//! guest is starved, unlike a heartbeat thread that only needs the scheduler.

fn main() {
    let kib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let mut buf = vec![0u8; kib * 1024];
    for i in (0..buf.len()).step_by(4096) {
        buf[i] = 1;
    }
    std::hint::black_box(&buf);
}
