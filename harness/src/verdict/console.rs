//! What the console cost: bytes it printed around the OOM kills, and how much of the
//! OOM window the killer spent inside its reports (printing, with the OOM lock held).

use crate::session::printk_timestamp_us;
use crate::settings::ConsoleSettings;
use oomlab_klog::Event as K;
use oomlab_results::record::ConsoleStats;
use oomlab_workloads::KMSG_LOST_PREFIX;

/// `console` is console.log as the device wrote it; `kmsg` the forwarded kernel log,
/// when the verdict read it from there; `kernel` the events parsed from the source.
pub fn console_stats(
    settings: &ConsoleSettings,
    console: &[u8],
    kmsg: Option<&[u8]>,
    kernel: &[K],
) -> ConsoleStats {
    let window = oom_window(kernel);
    let kills = kernel
        .iter()
        .filter(|e| matches!(e, K::Kill { .. }))
        .count() as u64;
    let window_bytes = window.map(|(from, to)| bytes_between(console, from, to));
    let in_reports = window.map(|_| time_in_reports(kernel));
    let window_ms = window.map(|(from, to)| to - from);
    ConsoleStats {
        device: settings.device.as_str().to_string(),
        loglevel: settings.loglevel,
        kernel_log_source: if kmsg.is_some() { "kmsg" } else { "console" }.to_string(),
        bytes: console.len() as u64,
        oom_window_ms: window_ms,
        oom_window_bytes: window_bytes,
        bytes_per_kill: window_bytes.filter(|_| kills > 0).map(|b| b / kills),
        in_reports_ms: in_reports,
        report_share: in_reports
            .zip(window_ms)
            .filter(|(_, w)| *w > 0)
            .map(|(r, w)| r as f64 / w as f64),
        kmsg_lost_records: kmsg.map(lost_records),
    }
}

/// From the first OOM report (or kill, if its header was rate limited) to the last kill.
fn oom_window(kernel: &[K]) -> Option<(u64, u64)> {
    let start = kernel.iter().find_map(|e| match e {
        K::OomInvoked { t_ms, .. } | K::Kill { t_ms, .. } => *t_ms,
        _ => None,
    })?;
    let end = kernel.iter().rev().find_map(|e| match e {
        K::Kill { t_ms, .. } => *t_ms,
        _ => None,
    })?;
    Some((start, end.max(start)))
}

/// Sum over reports of the time from `invoked oom-killer` to the kill that ends it.
fn time_in_reports(kernel: &[K]) -> u64 {
    let mut open: Option<u64> = None;
    let mut total = 0;
    for e in kernel {
        match e {
            K::OomInvoked { t_ms: Some(t), .. } => open = Some(*t),
            K::Kill { t_ms: Some(t), .. } => {
                if let Some(start) = open.take() {
                    total += t.saturating_sub(start);
                }
            }
            _ => {}
        }
    }
    total
}

/// Bytes (newlines included) of console lines stamped within [from_ms, to_ms]; an
/// unstamped line belongs to the stamp before it.
fn bytes_between(console: &[u8], from_ms: u64, to_ms: u64) -> u64 {
    let mut stamp_ms: Option<u64> = None;
    let mut total = 0;
    for line in console.split(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line.get(..32).unwrap_or(line));
        if let Some((us, _)) = printk_timestamp_us(&text) {
            stamp_ms = Some(us / 1_000);
        }
        if stamp_ms.is_some_and(|t| t >= from_ms && t <= to_ms) {
            total += line.len() as u64 + 1;
        }
    }
    total
}

fn lost_records(kmsg: &[u8]) -> u64 {
    kmsg.split(|&b| b == b'\n')
        .filter_map(|l| {
            let text = std::str::from_utf8(l).ok()?;
            text.strip_prefix(KMSG_LOST_PREFIX)?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qemu::command::ConsoleDevice;

    const SERIAL: ConsoleSettings = ConsoleSettings {
        loglevel: 7,
        device: ConsoleDevice::Serial,
    };

    fn parse(text: &str) -> Vec<K> {
        let mut p = oomlab_klog::Parser::new();
        let mut events: Vec<K> = text
            .lines()
            .flat_map(|l| p.push_line(l.as_bytes()))
            .collect();
        events.extend(p.finish());
        events
    }

    /// Two reports, each 1 s of printing before its kill, 4 s apart.
    const TWO_KILLS: &str = "\
[   10.000000] a invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0
[   10.500000] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
[   11.000000] Out of memory: Killed process 100 (a) total-vm:1000kB, anon-rss:800kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:1000
[   12.000000] unrelated line
[   14.000000] b invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0
[   15.000000] Out of memory: Killed process 101 (b) total-vm:1000kB, anon-rss:800kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:1000
[   20.000000] after the window
";

    #[test]
    fn measures_the_window_the_reports_and_their_bytes() {
        let kernel = parse(TWO_KILLS);
        let s = console_stats(&SERIAL, TWO_KILLS.as_bytes(), None, &kernel);
        assert_eq!(s.oom_window_ms, Some(5_000));
        assert_eq!(s.in_reports_ms, Some(2_000));
        assert_eq!(s.report_share, Some(0.4));
        let in_window: u64 = TWO_KILLS.lines().take(6).map(|l| l.len() as u64 + 1).sum();
        assert_eq!(s.oom_window_bytes, Some(in_window));
        assert_eq!(s.bytes_per_kill, Some(in_window / 2));
        assert_eq!(s.bytes, TWO_KILLS.len() as u64);
        assert_eq!(s.kernel_log_source, "console");
        assert_eq!(s.kmsg_lost_records, None);
    }

    #[test]
    fn a_silent_console_costs_nothing_and_lost_records_are_counted() {
        let kmsg =
            format!("{TWO_KILLS}oomlab-kmsg: lost 12 records\noomlab-kmsg: lost 3 records\n");
        let kernel = parse(&kmsg);
        let none = ConsoleSettings {
            loglevel: 7,
            device: ConsoleDevice::None,
        };
        let s = console_stats(&none, b"", Some(kmsg.as_bytes()), &kernel);
        assert_eq!(s.bytes, 0);
        assert_eq!(s.oom_window_bytes, Some(0));
        assert_eq!(s.bytes_per_kill, Some(0));
        assert_eq!(s.in_reports_ms, Some(2_000));
        assert_eq!(s.kernel_log_source, "kmsg");
        assert_eq!(s.kmsg_lost_records, Some(15));
        assert_eq!(s.device, "none");
    }

    #[test]
    fn no_kill_no_window() {
        let s = console_stats(&SERIAL, b"[    1.000000] boot\n", None, &[]);
        assert_eq!(s.oom_window_ms, None);
        assert_eq!(s.bytes_per_kill, None);
        assert_eq!(s.report_share, None);
    }
}
