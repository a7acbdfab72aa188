//! One run's agent and kernel events merged on one clock (the agent's CLOCK_MONOTONIC,
//! ms since boot), saved as `timeline.jsonl` so every metric can be recomputed from it.

use crate::session::Observation;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

pub const TIMELINE_LOG: &str = "timeline.jsonl";

#[derive(Serialize)]
struct Entry<'a> {
    t_ms: i64,
    source: &'static str,
    event: Payload<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Payload<'a> {
    Agent(&'a oomlab_workloads::event::Event),
    Kernel(&'a oomlab_klog::Event),
    /// A task dump stands as its row count: the rows are in console.log, and a herd's
    /// reports would otherwise repeat hundreds of rows per kill.
    TaskDump {
        kind: &'static str,
        rows: usize,
    },
}

pub(crate) fn kernel_payload(e: &oomlab_klog::Event) -> Payload<'_> {
    match e {
        oomlab_klog::Event::TaskDump { tasks, .. } => Payload::TaskDump {
            kind: "task_dump",
            rows: tasks.len(),
        },
        other => Payload::Kernel(other),
    }
}

/// Merge both streams. Kernel times are printk times shifted by the measured clock
/// offset; a kernel line without a timestamp takes the time of the line before it.
fn merged(obs: &Observation) -> Vec<Entry<'_>> {
    let offset = obs.clock_offset_ms.unwrap_or(0);
    let mut entries: Vec<Entry> = obs
        .agent
        .iter()
        .map(|e| Entry {
            t_ms: e.t_ms() as i64,
            source: "agent",
            event: Payload::Agent(e),
        })
        .collect();
    let mut last = 0i64;
    for e in &obs.kernel {
        last = e.t_ms().map_or(last, |t| t as i64 - offset);
        entries.push(Entry {
            t_ms: last,
            source: "kernel",
            event: kernel_payload(e),
        });
    }
    // Stable: events at the same millisecond keep their order within each stream.
    entries.sort_by_key(|e| e.t_ms);
    entries
}

pub fn write(obs: &Observation, dir: &Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(TIMELINE_LOG))?);
    for e in merged(obs) {
        serde_json::to_writer(&mut out, &e)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{observe_logs, EndReason};

    #[test]
    fn merges_kernel_and_agent_events_in_time_order() {
        let obs = observe_logs(
            include_bytes!("../tests/fixtures/runs/usemem-6.1-recovered/console.log"),
            include_bytes!("../tests/fixtures/runs/usemem-6.1-recovered/events.jsonl"),
            EndReason::Finished,
        );
        let m = merged(&obs);
        assert!(m.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
        let kill = m
            .iter()
            .position(|e| matches!(e.event, Payload::Kernel(oomlab_klog::Event::Kill { .. })))
            .unwrap();
        let hog_exit = m
            .iter()
            .position(|e| {
                matches!(
                    e.event,
                    Payload::Agent(oomlab_workloads::event::Event::Exited { pid: 89, .. })
                )
            })
            .unwrap();
        // The kernel kills the hog before the agent reaps it.
        assert!(kill < hog_exit);
        let line = serde_json::to_string(&m[kill]).unwrap();
        assert!(
            line.contains(r#""source":"kernel""#) && line.contains(r#""kind":"kill""#),
            "{line}"
        );
    }
}
