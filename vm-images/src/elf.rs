//! Just enough ELF64 reading for three questions: can this binary run in an
//! initramfs without a libc (no PT_INTERP), what does a kernel module's .modinfo
//! say, and (in [`deps`]) what does a dynamic binary need from the loader.

pub mod deps;

use crate::Error;
use std::io::Read;
use std::path::Path;

const PT_INTERP: u32 = 3;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;

/// What kind of file a guest binary is, as far as running it in the guest goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfKind {
    /// Not an ELF file at all (a script, data).
    NotElf,
    /// An ELF64 x86-64 executable with no program interpreter: runs without a libc.
    /// Static-PIE (what Rust's crt-static emits) is ET_DYN without PT_INTERP and counts.
    StaticExecutable,
    /// An executable that needs the dynamic loader named in PT_INTERP.
    DynamicExecutable,
    /// Some other ELF: another class or machine, a relocatable object, a core file.
    Other,
}

/// True for an ELF64 x86-64 executable with no PT_INTERP program header.
pub fn is_static_executable(path: &Path) -> Result<bool, Error> {
    Ok(inspect(path)? == ElfKind::StaticExecutable)
}

/// Classify the file at `path`; I/O errors are errors, odd contents are not.
pub fn inspect(path: &Path) -> Result<ElfKind, Error> {
    let mut file = std::fs::File::open(path).map_err(Error::io("reading", path))?;
    // Program headers sit near the start in every linker's output; 64 KiB is plenty.
    let mut head = Vec::with_capacity(1 << 16);
    file.by_ref()
        .take(1 << 16)
        .read_to_end(&mut head)
        .map_err(Error::io("reading", path))?;
    Ok(classify(&head))
}

/// Classify from the first bytes of a file.
pub fn classify(data: &[u8]) -> ElfKind {
    if data.len() < 4 || &data[..4] != b"\x7fELF" {
        return ElfKind::NotElf;
    }
    let Some(h) = Header::parse(data) else {
        return ElfKind::Other;
    };
    if h.machine != EM_X86_64 || !(h.e_type == ET_EXEC || h.e_type == ET_DYN) {
        return ElfKind::Other;
    }
    let mut has_interp = false;
    for i in 0..usize::from(h.phnum) {
        let off = h
            .phoff
            .saturating_add(i.saturating_mul(usize::from(h.phentsize)));
        let whole = off
            .checked_add(usize::from(h.phentsize))
            .is_some_and(|end| end <= data.len());
        match u32_at(data, off) {
            Some(PT_INTERP) => has_interp = true,
            Some(_) if whole => {}
            // Program headers beyond what we read: cannot tell, so not "static".
            _ => return ElfKind::Other,
        }
    }
    if has_interp {
        ElfKind::DynamicExecutable
    } else {
        ElfKind::StaticExecutable
    }
}

/// The fields of the ELF64 little-endian header we use.
struct Header {
    e_type: u16,
    machine: u16,
    phoff: usize,
    shoff: usize,
    phentsize: u16,
    phnum: u16,
    shentsize: u16,
    shnum: u16,
    shstrndx: u16,
}

impl Header {
    /// Parse an ELFCLASS64, little-endian header; None for anything else.
    fn parse(d: &[u8]) -> Option<Header> {
        if d.get(..4)? != b"\x7fELF" || *d.get(4)? != 2 || *d.get(5)? != 1 {
            return None;
        }
        Some(Header {
            e_type: u16_at(d, 0x10)?,
            machine: u16_at(d, 0x12)?,
            phoff: usize::try_from(u64_at(d, 0x20)?).ok()?,
            shoff: usize::try_from(u64_at(d, 0x28)?).ok()?,
            phentsize: u16_at(d, 0x36)?,
            phnum: u16_at(d, 0x38)?,
            shentsize: u16_at(d, 0x3A)?,
            shnum: u16_at(d, 0x3C)?,
            shstrndx: u16_at(d, 0x3E)?,
        })
    }
}

/// The contents of the section called `name` in a whole ELF64 file, or None if the
/// file has no such section. Malformed files are errors with a reason.
pub(crate) fn section<'a>(data: &'a [u8], name: &str) -> Result<Option<&'a [u8]>, String> {
    let h = Header::parse(data).ok_or("not an ELF64 little-endian file")?;
    let sh = |i: usize| -> Result<(u32, usize, usize), String> {
        let get = || {
            let base = h
                .shoff
                .checked_add(i.checked_mul(usize::from(h.shentsize))?)?;
            let name = u32_at(data, base)?;
            let off = usize::try_from(u64_at(data, base.checked_add(0x18)?)?).ok()?;
            let size = usize::try_from(u64_at(data, base.checked_add(0x20)?)?).ok()?;
            Some((name, off, size))
        };
        get().ok_or_else(|| format!("section header {i} lies outside the file"))
    };
    let bytes = |off: usize, size: usize| {
        off.checked_add(size)
            .and_then(|end| data.get(off..end))
            .ok_or_else(|| "section lies outside the file".to_string())
    };
    let (_, stroff, strsize) = sh(usize::from(h.shstrndx))?;
    let strtab = bytes(stroff, strsize)?;
    for i in 0..usize::from(h.shnum) {
        let (name_off, off, size) = sh(i)?;
        let Some(rest) = strtab.get(name_off as usize..) else {
            continue;
        };
        let sec_name = rest.split(|&b| b == 0).next().unwrap_or_default();
        if sec_name == name.as_bytes() {
            return bytes(off, size).map(Some);
        }
    }
    Ok(None)
}

/// The `key=value` strings of a kernel module's .modinfo section.
pub(crate) fn modinfo(data: &[u8]) -> Result<Vec<(String, String)>, String> {
    let sec = section(data, ".modinfo")?.ok_or("no .modinfo section (not a kernel module)")?;
    Ok(sec
        .split(|&b| b == 0)
        .filter_map(|s| std::str::from_utf8(s).ok())
        .filter_map(|s| s.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

fn u16_at(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        d.get(o..o.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(d: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        d.get(o..o.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Synthetic ELF files for tests across the crate.
#[cfg(test)]
pub(crate) mod testdata {
    /// A minimal ELF64 x86-64 file of type `e_type` whose program headers have the
    /// given `p_type`s, plus sections named and filled as given (section 0 is null,
    /// the last is .shstrtab).
    pub fn elf(e_type: u16, phdrs: &[u32], sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut d = vec![0u8; 64];
        d[..4].copy_from_slice(b"\x7fELF");
        d[4] = 2; // ELFCLASS64
        d[5] = 1; // little-endian
        d[6] = 1; // EV_CURRENT
        d[0x10..0x12].copy_from_slice(&e_type.to_le_bytes());
        d[0x12..0x14].copy_from_slice(&62u16.to_le_bytes());
        d[0x14..0x18].copy_from_slice(&1u32.to_le_bytes());
        d[0x34..0x36].copy_from_slice(&64u16.to_le_bytes());
        d[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        d[0x38..0x3A].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        d[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        for &p in phdrs {
            let mut ph = vec![0u8; 56];
            ph[..4].copy_from_slice(&p.to_le_bytes());
            d.extend_from_slice(&ph);
        }
        // Section contents, then the string table, then the section headers.
        let mut strtab = vec![0u8];
        let mut placed = Vec::new();
        for (name, body) in sections {
            let name_off = strtab.len() as u32;
            strtab.extend_from_slice(name.as_bytes());
            strtab.push(0);
            placed.push((name_off, d.len() as u64, body.len() as u64));
            d.extend_from_slice(body);
        }
        let shstr_name = strtab.len() as u32;
        strtab.extend_from_slice(b".shstrtab\0");
        placed.push((shstr_name, d.len() as u64, strtab.len() as u64));
        d.extend_from_slice(&strtab);
        let shoff = d.len() as u64;
        d.extend_from_slice(&[0u8; 64]); // null section
        for (name, off, size) in &placed {
            let mut sh = vec![0u8; 64];
            sh[..4].copy_from_slice(&name.to_le_bytes());
            sh[0x18..0x20].copy_from_slice(&off.to_le_bytes());
            sh[0x20..0x28].copy_from_slice(&size.to_le_bytes());
            d.extend_from_slice(&sh);
        }
        d[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        d[0x3A..0x3C].copy_from_slice(&64u16.to_le_bytes());
        d[0x3C..0x3E].copy_from_slice(&(placed.len() as u16 + 1).to_le_bytes());
        d[0x3E..0x40].copy_from_slice(&(placed.len() as u16).to_le_bytes());
        d
    }

    /// A static executable (ET_EXEC, one PT_LOAD).
    pub fn static_exe() -> Vec<u8> {
        elf(2, &[1], &[])
    }

    /// A relocatable kernel module with the given .modinfo strings.
    pub fn module(modinfo: &[&str]) -> Vec<u8> {
        let mut body = Vec::new();
        for s in modinfo {
            body.extend_from_slice(s.as_bytes());
            body.push(0);
        }
        elf(1, &[], &[(".text", b"\xc3"), (".modinfo", &body)])
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::*;
    use super::*;

    #[test]
    fn crafted_static_executables() {
        assert_eq!(classify(&static_exe()), ElfKind::StaticExecutable);
        // static-pie: ET_DYN without PT_INTERP
        assert_eq!(classify(&elf(3, &[1, 1], &[])), ElfKind::StaticExecutable);
    }

    #[test]
    fn crafted_dynamic_and_other() {
        assert_eq!(
            classify(&elf(3, &[6, 3, 1], &[])),
            ElfKind::DynamicExecutable
        );
        assert_eq!(classify(&elf(1, &[], &[])), ElfKind::Other);
        let mut arm = static_exe();
        arm[0x12] = 183; // EM_AARCH64
        assert_eq!(classify(&arm), ElfKind::Other);
        let mut elf32 = static_exe();
        elf32[4] = 1;
        assert_eq!(classify(&elf32), ElfKind::Other);
        assert_eq!(classify(b"#!/bin/sh\n"), ElfKind::NotElf);
        assert_eq!(classify(b""), ElfKind::NotElf);
        // Truncated: claims program headers it does not have.
        assert_eq!(classify(&static_exe()[..70]), ElfKind::Other);
    }

    #[test]
    fn bin_true_is_dynamic() {
        let p = Path::new("/bin/true");
        if p.exists() {
            assert_eq!(inspect(p).unwrap(), ElfKind::DynamicExecutable);
            assert!(!is_static_executable(p).unwrap());
        }
    }

    #[test]
    fn static_file_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("agent");
        std::fs::write(&p, static_exe()).unwrap();
        assert!(is_static_executable(&p).unwrap());
        assert!(is_static_executable(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn modinfo_of_crafted_module() {
        let m = module(&[
            "license=GPL",
            "depends=virtio,virtio_ring",
            "name=virtio_blk",
        ]);
        let info = modinfo(&m).unwrap();
        assert!(info.contains(&("depends".into(), "virtio,virtio_ring".into())));
        assert!(modinfo(&static_exe()).is_err());
        assert!(modinfo(b"junk").is_err());
        assert!(modinfo(&m[..m.len() / 2]).is_err());
    }
}
