//! Check the kernel command-line parameters the run asked for: each must be on
//! /proc/cmdline, and the kernel must not have listed it as unknown ("Unknown kernel
//! command line parameters ..., will be passed to user space"), which is how a
//! misspelt or compiled-out parameter shows.

use crate::channel::Channel;
use crate::sys;
use oomlab_workloads::event::Event;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

const UNKNOWN: &str = "Unknown kernel command line parameters";

/// The messages of every record still in the kernel log buffer.
fn kernel_log() -> Vec<String> {
    let Ok(mut kmsg) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match kmsg.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let rec = String::from_utf8_lossy(&buf[..n]);
                if let Some((_, msg)) = rec.split_once(';') {
                    out.push(msg.lines().next().unwrap_or("").to_string());
                }
            }
            // EPIPE: records were overwritten under us; read on.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(_) => break,
        }
    }
    out
}

/// Whether `param` (`name=value`) took: on the command line and not called unknown.
pub fn verdict(param: &str, cmdline: &str, log: &[String]) -> Result<(), String> {
    if !cmdline.split_whitespace().any(|t| t == param) {
        return Err(format!("{param} is not on /proc/cmdline"));
    }
    let name = param.split('=').next().unwrap_or(param);
    let unknown = log.iter().filter(|m| m.contains(UNKNOWN)).any(|m| {
        m.split('"').skip(1).step_by(2).any(|list| {
            list.split_whitespace()
                .any(|t| t.split('=').next() == Some(name))
        })
    });
    if unknown {
        return Err(format!("the kernel does not know {name} ({UNKNOWN})"));
    }
    Ok(())
}

/// One check per asked parameter; false if any did not take.
pub fn check(channel: &Channel, params: &[String]) -> bool {
    if params.is_empty() {
        return true;
    }
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let log = kernel_log();
    let mut all_ok = true;
    for p in params {
        let result = verdict(p, &cmdline, &log);
        all_ok &= result.is_ok();
        channel.send(&Event::Check {
            t_ms: sys::monotonic_ms(),
            name: format!("cmdline {p}"),
            ok: result.is_ok(),
            detail: result
                .err()
                .unwrap_or_else(|| "on /proc/cmdline, known to the kernel".into()),
        });
    }
    all_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_must_be_present_and_known() {
        let cmdline = "console=ttyS0 quiet numa_balancing=disable foo_bar=1";
        let log = vec![
            "Linux version 6.12".to_string(),
            "Unknown kernel command line parameters \"foo_bar=1\", will be passed to user space."
                .to_string(),
        ];
        assert!(verdict("numa_balancing=disable", cmdline, &log).is_ok());
        assert!(verdict("foo_bar=1", cmdline, &log)
            .unwrap_err()
            .contains("does not know foo_bar"));
        assert!(verdict("init_on_free=1", cmdline, &log)
            .unwrap_err()
            .contains("not on /proc/cmdline"));
    }
}
