//! Prints the events and summary for a log file: `cargo run --example klog_dump -- FILE`.
//! Handy when adding a fixture or checking a real guest log by eye.

use std::io::{BufRead, BufReader, Write};

fn main() -> std::io::Result<()> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: klog_dump FILE");
        std::process::exit(2);
    };
    let mut parser = oomlab_klog::Parser::new();
    let mut reader = BufReader::new(std::fs::File::open(&path)?);
    let mut line = Vec::new();
    let mut out = std::io::stdout().lock();
    while reader.read_until(b'\n', &mut line)? > 0 {
        for e in parser.push_line(&line) {
            let _ = writeln!(out, "{}", serde_json::to_string(&e).unwrap_or_default());
        }
        line.clear();
    }
    for e in parser.finish() {
        let _ = writeln!(out, "{}", serde_json::to_string(&e).unwrap_or_default());
    }
    let summary = oomlab_klog::parse_reader(BufReader::new(std::fs::File::open(&path)?))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    Ok(())
}
