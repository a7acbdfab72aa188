//! Turn on the run's swap before pressure: size a zram disk or take the host's swap
//! disk, write a swap header (there is no mkswap in the guest), swapon, and check
//! /proc/swaps. One `check` event says what happened; a failure ends the run as an error.

use crate::channel::Channel;
use crate::sys;
use oomlab_workloads::event::Event;
use oomlab_workloads::spec::SwapSpec;
use std::io::{Seek, SeekFrom, Write};

const PAGE: usize = 4096;
/// How long a device may take to appear after its module loaded.
const DEVICE_WAIT_MS: u64 = 5000;

/// The first page of a version-1 swap area, as mkswap writes it: `version`,
/// `last_page` and `nr_badpages` at byte 1024, the magic in the page's last 10 bytes.
pub fn swap_header(device_bytes: u64) -> Result<Vec<u8>, String> {
    let pages = device_bytes / PAGE as u64;
    // The kernel refuses areas of fewer than 10 pages.
    if pages < 10 {
        return Err(format!("{device_bytes} bytes is too small for swap"));
    }
    let last_page = u32::try_from(pages - 1).map_err(|_| "swap device too large".to_string())?;
    let mut page = vec![0u8; PAGE];
    page[1024..1028].copy_from_slice(&1u32.to_le_bytes());
    page[1028..1032].copy_from_slice(&last_page.to_le_bytes());
    page[PAGE - 10..].copy_from_slice(b"SWAPSPACE2");
    Ok(page)
}

fn device_bytes(device: &str) -> Result<u64, String> {
    let name = device.trim_start_matches("/dev/");
    let sectors = std::fs::read_to_string(format!("/sys/class/block/{name}/size"))
        .map_err(|e| format!("size of {device}: {e}"))?;
    let sectors: u64 = sectors
        .trim()
        .parse()
        .map_err(|_| format!("size of {device}: {sectors:?}"))?;
    Ok(sectors * 512)
}

fn wait_for(path: &str) -> bool {
    let deadline = sys::monotonic_ms() + DEVICE_WAIT_MS;
    while !std::path::Path::new(path).exists() {
        if sys::monotonic_ms() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    true
}

fn swapon(device: &str) -> std::io::Result<()> {
    let path = std::ffi::CString::new(device)
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid NUL-terminated path that outlives the call; no flags.
    if unsafe { libc::swapon(path.as_ptr(), 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The device's line in /proc/swaps, if it is in use as swap.
fn listed(device: &str) -> Option<String> {
    std::fs::read_to_string("/proc/swaps")
        .ok()?
        .lines()
        .find(|l| l.split_whitespace().next() == Some(device))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn enable(s: &SwapSpec) -> Result<String, String> {
    if !wait_for(&s.device) {
        return Err(format!("{} never appeared", s.device));
    }
    if let Some(bytes) = s.zram_bytes {
        let name = s.device.trim_start_matches("/dev/");
        std::fs::write(format!("/sys/block/{name}/disksize"), bytes.to_string())
            .map_err(|e| format!("zram disksize {bytes}: {e}"))?;
    }
    let header = swap_header(device_bytes(&s.device)?)?;
    let mut dev = std::fs::OpenOptions::new()
        .write(true)
        .open(&s.device)
        .map_err(|e| format!("open {}: {e}", s.device))?;
    dev.seek(SeekFrom::Start(0))
        .and_then(|_| dev.write_all(&header))
        .and_then(|_| dev.sync_all())
        .map_err(|e| format!("write swap header to {}: {e}", s.device))?;
    drop(dev);
    swapon(&s.device).map_err(|e| format!("swapon {}: {e}", s.device))?;
    listed(&s.device).ok_or_else(|| {
        format!(
            "swapon {} returned but /proc/swaps does not list it",
            s.device
        )
    })
}

/// Turn swap on; false when it did not happen (reported as a failed check).
pub fn setup(channel: &Channel, swap: Option<&SwapSpec>) -> bool {
    let Some(s) = swap else {
        return true;
    };
    let result = enable(s);
    channel.send(&Event::Check {
        t_ms: sys::monotonic_ms(),
        name: format!("swap on {}", s.device),
        ok: result.is_ok(),
        detail: match &result {
            Ok(line) => format!("/proc/swaps: {line}"),
            Err(e) => e.clone(),
        },
    });
    result.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_what_mkswap_writes() {
        let h = swap_header(64 << 20).unwrap();
        assert_eq!(h.len(), PAGE);
        assert_eq!(&h[PAGE - 10..], b"SWAPSPACE2");
        assert_eq!(u32::from_le_bytes(h[1024..1028].try_into().unwrap()), 1);
        // 64 MiB = 16384 pages, numbered 0..16383.
        assert_eq!(u32::from_le_bytes(h[1028..1032].try_into().unwrap()), 16383);
        assert!(h[..1024].iter().all(|b| *b == 0));
        assert!(swap_header(9 * PAGE as u64).is_err());
    }
}
