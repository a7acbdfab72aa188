//! Summarises a log with `parse_reader` and reports the time taken on stderr:
//! `cargo run --release --example klog_summary -- FILE` (used to compare with `grep -cE`).

use std::io::{BufReader, Write};
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: klog_summary FILE");
        std::process::exit(2);
    };
    let start = Instant::now();
    let file = std::fs::File::open(&path)?;
    let summary = oomlab_klog::parse_reader(BufReader::with_capacity(1 << 20, file))?;
    let secs = start.elapsed().as_secs_f64();
    // Ignore a closed pipe (`| head`): the timing on stderr is what matters.
    let _ = writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string(&summary).unwrap_or_default()
    );
    eprintln!(
        "{} lines, {} kills, {:.3}s",
        summary.lines,
        summary.kills.len(),
        secs
    );
    Ok(())
}
