//! `oomlab parse-log`: the same kernel-log analysis a run gets, for any log a user has.

use crate::error::CliError;
use crate::timeline::kernel_payload;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

pub fn run(file: &Path, json: bool) -> Result<(), CliError> {
    let reader: Box<dyn Read> = if file == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            File::open(file)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?,
        )
    };
    // With --json, every event also goes into a timeline (task dumps as their row count,
    // as in a run's timeline.jsonl); the summary is the same single streaming pass.
    let mut timeline: Vec<serde_json::Value> = Vec::new();
    let summary = oomlab_klog::parse_reader_with(BufReader::with_capacity(1 << 20, reader), |e| {
        if json {
            timeline.push(serde_json::to_value(kernel_payload(e)).unwrap_or_default());
        }
    })
    .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
    if json {
        let mut object =
            serde_json::to_value(&summary).map_err(|e| CliError::Internal(e.to_string()))?;
        if let Some(map) = object.as_object_mut() {
            map.insert("timeline".into(), serde_json::Value::Array(timeline));
        }
        let text =
            serde_json::to_string_pretty(&object).map_err(|e| CliError::Internal(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{} lines, {} OOM invocations, {} kills",
        summary.lines,
        summary.oom_invocations,
        summary.kills.len()
    );
    for k in &summary.kills {
        let t = k
            .t_ms
            .map_or_else(|| "-".to_string(), |t| format!("{:.3}s", t as f64 / 1000.0));
        println!(
            "  kill at {t}: pid {} ({}) anon-rss {} kB, oom_score_adj {}{}",
            k.pid,
            k.comm,
            k.anon_rss_kb.map_or_else(|| "?".into(), |v| v.to_string()),
            k.oom_score_adj
                .map_or_else(|| "?".into(), |v| v.to_string()),
            k.memcg
                .as_ref()
                .map(|m| match m.as_str() {
                    "" => ", memcg (path not logged)".to_string(),
                    m => format!(", memcg {m}"),
                })
                .unwrap_or_default()
        );
    }
    let reaped = summary
        .reaper
        .iter()
        .filter(|r| r.result == oomlab_klog::ReapResult::Reaped)
        .count();
    println!(
        "  oom_reaper: {reaped} reaped, {} unable",
        summary.reaper.len() - reaped
    );
    Ok(())
}
