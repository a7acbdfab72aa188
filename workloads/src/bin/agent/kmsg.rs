//! Forward the kernel log from /dev/kmsg to a serial port of its own, as console-style
//! `[seconds.micros] message` lines, for runs whose console does not carry the whole
//! log (a quiet `console.loglevel`, or `console.device=none`).
//!
//! This is user space: under memory pressure it lags, but every record keeps the
//! kernel's own timestamp, so times stay right. Records the ring buffer overwrote
//! before they were read are counted in an `oomlab-kmsg: lost N records` line.

use crate::channel::Channel;
use oomlab_workloads::KMSG_LOST_PREFIX;
use std::io::{Read, Write};

/// Every record fits: the kernel caps a record's text at 1 KiB (and escapes it).
const RECORD_MAX: usize = 8192;

pub fn spawn(out: Channel) {
    let kmsg = match std::fs::File::open("/dev/kmsg") {
        Ok(f) => f,
        Err(e) => {
            let line = format!("oomlab-kmsg: cannot open /dev/kmsg: {e}\n");
            out.send_line(line.as_bytes());
            return;
        }
    };
    let _ = std::thread::Builder::new()
        .name("kmsg".into())
        .spawn(move || forward(kmsg, &out));
}

fn forward(mut kmsg: std::fs::File, out: &Channel) {
    let mut record = [0u8; RECORD_MAX];
    let mut line = [0u8; RECORD_MAX + 64];
    let mut last_seq: Option<u64> = None;
    loop {
        let n = match kmsg.read(&mut record) {
            Ok(0) => return,
            Ok(n) => n,
            // EPIPE: the records we were about to read were overwritten; the sequence
            // gap of the next one says how many.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let Some(rec) = parse_record(&record[..n]) else {
            continue;
        };
        if let Some(last) = last_seq {
            if rec.seq > last + 1 {
                let lost = rec.seq - last - 1;
                let mut cursor = std::io::Cursor::new(&mut line[..]);
                let _ = writeln!(cursor, "{KMSG_LOST_PREFIX}{lost} records");
                let len = cursor.position() as usize;
                out.send_line(&line[..len]);
            }
        }
        last_seq = Some(rec.seq);
        let len = console_line(&rec, &mut line);
        out.send_line(&line[..len]);
    }
}

/// One /dev/kmsg record: `PRI,SEQ,TS_US,FLAGS[,...];MESSAGE\n` then dictionary lines.
#[derive(Debug, PartialEq)]
struct Record<'a> {
    seq: u64,
    ts_us: u64,
    message: &'a [u8],
}

fn parse_record(raw: &[u8]) -> Option<Record<'_>> {
    let semi = raw.iter().position(|&b| b == b';')?;
    let header = std::str::from_utf8(&raw[..semi]).ok()?;
    let mut fields = header.split(',');
    let _prio = fields.next()?;
    let seq = fields.next()?.parse().ok()?;
    let ts_us = fields.next()?.parse().ok()?;
    let body = &raw[semi + 1..];
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    Some(Record {
        seq,
        ts_us,
        message: &body[..end],
    })
}

/// Format a record as the console prints it. A message the kernel split into several
/// lines (escaped `\x0a`) becomes several lines with the same timestamp.
fn console_line(rec: &Record, out: &mut [u8]) -> usize {
    let mut cursor = std::io::Cursor::new(&mut out[..]);
    let (secs, micros) = (rec.ts_us / 1_000_000, rec.ts_us % 1_000_000);
    let _ = write!(cursor, "[{secs:5}.{micros:06}] ");
    let mut rest = rec.message;
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix(b"\\x0a") {
            let _ = write!(cursor, "\n[{secs:5}.{micros:06}] ");
            rest = tail;
        } else {
            let _ = cursor.write_all(&rest[..1]);
            rest = &rest[1..];
        }
    }
    let _ = cursor.write_all(b"\n");
    let len = cursor.position() as usize;
    // A record that outgrew the buffer through its escapes is cut, still as one line.
    if len == out.len() {
        out[len - 1] = b'\n';
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_become_console_lines() {
        let raw = b"3,1234,5123456,-;usemem invoked oom-killer: gfp_mask=0x140dca\n SUBSYSTEM=x\n";
        let rec = parse_record(raw).unwrap();
        assert_eq!(rec.seq, 1234);
        assert_eq!(rec.ts_us, 5_123_456);
        let mut out = [0u8; 256];
        let n = console_line(&rec, &mut out);
        assert_eq!(
            std::str::from_utf8(&out[..n]).unwrap(),
            "[    5.123456] usemem invoked oom-killer: gfp_mask=0x140dca\n"
        );
        let split = parse_record(b"6,2,1000000,-;one\\x0atwo\n").unwrap();
        let n = console_line(&split, &mut out);
        assert_eq!(
            std::str::from_utf8(&out[..n]).unwrap(),
            "[    1.000000] one\n[    1.000000] two\n"
        );
        assert_eq!(parse_record(b"garbage"), None);
        assert_eq!(parse_record(b"6,x,1;msg"), None);
    }

    #[test]
    fn the_longest_record_fits() {
        let mut raw = b"6,1,1,-;".to_vec();
        raw.resize(RECORD_MAX, b'a');
        let rec = parse_record(&raw).unwrap();
        let mut out = [0u8; RECORD_MAX + 64];
        let n = console_line(&rec, &mut out);
        assert!(out[..n].ends_with(b"a\n"));
    }
}
