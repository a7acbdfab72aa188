//! Is a core dump whole? An ELF64 core's program headers say where its last segment
//! ends; a dump cut short (the OOM killer took the dumper, or memory ran out) ends
//! before that. Used by core-pipe-helper (pipe cores) and core-check (file cores).

use std::io::{Read, Write};

/// Where an ELF64 core's last segment ends, from its program headers (in `head`, the
/// first bytes of the file); None if `head` is not an ELF64 core's start.
pub fn expected_size(head: &[u8]) -> Option<u64> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(head.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(head.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(head.get(o..o + 8)?.try_into().ok()?));
    if head.get(..5)? != b"\x7fELF\x02" {
        return None;
    }
    let (phoff, phentsize, phnum) = (
        u64_at(0x20)? as usize,
        u16_at(0x36)? as usize,
        u16_at(0x38)?,
    );
    let mut end = 0u64;
    for i in 0..phnum as usize {
        let ph = phoff + i * phentsize;
        let _type = u32_at(ph)?;
        let (offset, filesz) = (u64_at(ph + 8)?, u64_at(ph + 32)?);
        end = end.max(offset.saturating_add(filesz));
    }
    Some(end)
}

/// Say in the kernel log how much of the core at `path` was written, `written` bytes:
/// `oomlab-core: wrote N of M bytes (complete|truncated)`, which the harness records
/// (`core_dump`). The kernel log, since a core_pattern helper's stdout goes nowhere.
pub fn report(written: u64, path: &str) {
    let mut head = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(1 << 20).read_to_end(&mut head);
    }
    let line = match expected_size(&head) {
        Some(expected) => format!(
            "<4>oomlab-core: wrote {written} of {expected} bytes ({})\n",
            if written >= expected {
                "complete"
            } else {
                "truncated"
            }
        ),
        None => format!("<4>oomlab-core: wrote {written} bytes, not an ELF core\n"),
    };
    if let Ok(mut kmsg) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
        let _ = kmsg.write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ELF64 header with two program headers ending at 4096+100 and 8192+4096.
    fn fake_core() -> Vec<u8> {
        let mut h = vec![0u8; 64 + 2 * 56];
        h[..5].copy_from_slice(b"\x7fELF\x02");
        h[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        h[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        h[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        for (i, (off, sz)) in [(4096u64, 100u64), (8192, 4096)].into_iter().enumerate() {
            let ph = 64 + i * 56;
            h[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes());
            h[ph + 8..ph + 16].copy_from_slice(&off.to_le_bytes());
            h[ph + 32..ph + 40].copy_from_slice(&sz.to_le_bytes());
        }
        h
    }

    #[test]
    fn knows_where_a_core_ends() {
        assert_eq!(expected_size(&fake_core()), Some(12288));
        assert_eq!(expected_size(b"not elf"), None);
        assert_eq!(
            expected_size(&fake_core()[..80]),
            None,
            "cut inside the headers"
        );
    }
}
