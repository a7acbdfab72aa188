//! What a dynamically linked ELF64 file asks of the loader: its program interpreter
//! (PT_INTERP) and, from PT_DYNAMIC, the libraries it needs and where to look.
//!
//! The dynamic section names strings by offset into DT_STRTAB, which is a virtual
//! address, so it is mapped to a file offset through the PT_LOAD segments. Section
//! headers are not used: `strip` may remove them, ld.so never reads them.

use super::{u32_at, u64_at, Header, EM_X86_64, ET_DYN, ET_EXEC, PT_INTERP};
use crate::Error;
use std::path::Path;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;

/// The loader-facing facts of one ELF file; all empty for a static executable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dynamic {
    /// PT_INTERP, e.g. "/lib64/ld-linux-x86-64.so.2".
    pub interp: Option<String>,
    /// DT_NEEDED entries in order, e.g. "libc.so.6".
    pub needed: Vec<String>,
    pub soname: Option<String>,
    /// Colon-separated, unexpanded (may hold `$ORIGIN`).
    pub rpath: Option<String>,
    pub runpath: Option<String>,
}

/// Read and parse the whole file at `path` (the dynamic section can sit anywhere).
pub fn read(path: &Path) -> Result<Dynamic, Error> {
    let data = crate::fsutil::read(path)?;
    parse(&data).map_err(|reason| Error::BadElf {
        path: path.to_path_buf(),
        reason,
    })
}

/// True if `head` (the first 64 bytes suffice) starts an ELF64 little-endian x86-64
/// executable or shared object: what ld.so accepts when it searches a directory,
/// so 32-bit libraries in the same directories are passed over as it does.
pub fn is_x86_64_object(head: &[u8]) -> bool {
    Header::parse(head)
        .is_some_and(|h| h.machine == EM_X86_64 && (h.e_type == ET_DYN || h.e_type == ET_EXEC))
}

/// One program header's fields that locate its bytes.
struct Segment {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// Parse a whole ELF64 file; malformed files are errors with a reason.
pub fn parse(data: &[u8]) -> Result<Dynamic, String> {
    let h = Header::parse(data).ok_or("not an ELF64 little-endian file")?;
    let segments = (0..usize::from(h.phnum))
        .map(|i| {
            let base = h
                .phoff
                .checked_add(i.checked_mul(usize::from(h.phentsize))?)?;
            Some(Segment {
                kind: u32_at(data, base)?,
                offset: u64_at(data, base.checked_add(0x08)?)?,
                vaddr: u64_at(data, base.checked_add(0x10)?)?,
                filesz: u64_at(data, base.checked_add(0x20)?)?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or("program headers lie outside the file")?;
    let bytes_of = |s: &Segment| slice(data, s.offset, Some(s.filesz));

    let mut out = Dynamic::default();
    if let Some(s) = segments.iter().find(|s| s.kind == PT_INTERP) {
        out.interp = Some(c_string(bytes_of(s)?, "PT_INTERP")?);
    }
    let Some(dynamic) = segments.iter().find(|s| s.kind == PT_DYNAMIC) else {
        return Ok(out);
    };
    let entries: Vec<(u64, u64)> = bytes_of(dynamic)?
        .chunks_exact(16)
        .map(|e| (u64_at(e, 0).unwrap_or(0), u64_at(e, 8).unwrap_or(0)))
        .take_while(|&(tag, _)| tag != DT_NULL)
        .collect();
    let value = |tag: u64| entries.iter().find(|e| e.0 == tag).map(|e| e.1);
    let strings = |tag: u64| entries.iter().filter(move |e| e.0 == tag).map(|e| e.1);
    let uses_strings = [DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH]
        .iter()
        .any(|&t| value(t).is_some());
    if !uses_strings {
        return Ok(out);
    }
    let addr = value(DT_STRTAB).ok_or("dynamic section has strings but no DT_STRTAB")?;
    let offset = segments
        .iter()
        .filter(|s| s.kind == PT_LOAD)
        .find(|s| addr >= s.vaddr && addr - s.vaddr < s.filesz)
        .map(|s| s.offset + (addr - s.vaddr))
        .ok_or("DT_STRTAB is not inside any PT_LOAD segment")?;
    let strtab = slice(data, offset, value(DT_STRSZ))?;
    let string = |off: u64| {
        let rest = usize::try_from(off)
            .ok()
            .and_then(|o| strtab.get(o..))
            .ok_or("dynamic string offset lies outside DT_STRTAB")?;
        c_string(rest, "dynamic string")
    };
    out.needed = strings(DT_NEEDED).map(string).collect::<Result<_, _>>()?;
    out.soname = value(DT_SONAME).map(string).transpose()?;
    out.rpath = value(DT_RPATH).map(string).transpose()?;
    out.runpath = value(DT_RUNPATH).map(string).transpose()?;
    Ok(out)
}

/// `len` bytes at `offset` (to the end of the file when `len` is None).
fn slice(data: &[u8], offset: u64, len: Option<u64>) -> Result<&[u8], String> {
    let start = usize::try_from(offset).ok();
    let end = match len {
        None => Some(data.len()),
        Some(n) => offset.checked_add(n).and_then(|e| usize::try_from(e).ok()),
    };
    start
        .zip(end)
        .and_then(|(s, e)| data.get(s..e))
        .ok_or_else(|| "a segment or table lies outside the file".to_string())
}

/// The NUL-terminated UTF-8 string at the start of `bytes`.
fn c_string(bytes: &[u8], what: &str) -> Result<String, String> {
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| format!("{what} is not NUL-terminated"))?;
    String::from_utf8(bytes[..end].to_vec()).map_err(|_| format!("{what} is not UTF-8"))
}

/// Synthetic dynamically linked files for tests across the crate.
#[cfg(test)]
pub(crate) mod testdata {
    use super::Dynamic;

    /// Where the one PT_LOAD maps the file, so virtual addresses differ from offsets.
    const BASE: u64 = 0x40_0000;

    /// A minimal ELF64 x86-64 file (ET_DYN) with PT_INTERP (if any), one PT_LOAD
    /// covering the file at `BASE`, and PT_DYNAMIC holding what `d` says.
    pub fn dynamic_elf(d: &Dynamic) -> Vec<u8> {
        let phnum: u16 = if d.interp.is_some() { 3 } else { 2 };
        let data_start = 64 + 56 * u64::from(phnum);
        let mut data = Vec::new();
        let interp_at = data_start;
        if let Some(i) = &d.interp {
            data.extend_from_slice(i.as_bytes());
            data.push(0);
        }
        let interp_len = data.len() as u64;
        let strtab_at = data_start + data.len() as u64;
        let mut strtab = vec![0u8];
        let mut entries = Vec::new();
        let mut put = |tag: u64, s: &str| {
            entries.push((tag, strtab.len() as u64));
            strtab.extend_from_slice(s.as_bytes());
            strtab.push(0);
        };
        for n in &d.needed {
            put(super::DT_NEEDED, n);
        }
        for (tag, s) in [
            (super::DT_SONAME, &d.soname),
            (super::DT_RPATH, &d.rpath),
            (super::DT_RUNPATH, &d.runpath),
        ] {
            if let Some(s) = s {
                put(tag, s);
            }
        }
        entries.push((super::DT_STRTAB, BASE + strtab_at));
        entries.push((super::DT_STRSZ, strtab.len() as u64));
        entries.push((super::DT_NULL, 0));
        data.extend_from_slice(&strtab);
        let dynamic_at = data_start + data.len() as u64;
        for (tag, val) in &entries {
            data.extend_from_slice(&tag.to_le_bytes());
            data.extend_from_slice(&val.to_le_bytes());
        }
        let total = data_start + data.len() as u64;

        let mut f = crate::elf::testdata::elf(3, &[], &[]);
        f.truncate(64);
        f[0x18..0x20].copy_from_slice(&0u64.to_le_bytes());
        f[0x28..0x30].copy_from_slice(&0u64.to_le_bytes()); // no section headers
        f[0x3A..0x40].fill(0);
        f[0x38..0x3A].copy_from_slice(&phnum.to_le_bytes());
        let mut phdr = |kind: u32, offset: u64, vaddr: u64, size: u64| {
            let mut ph = [0u8; 56];
            ph[..4].copy_from_slice(&kind.to_le_bytes());
            ph[0x08..0x10].copy_from_slice(&offset.to_le_bytes());
            ph[0x10..0x18].copy_from_slice(&vaddr.to_le_bytes());
            ph[0x20..0x28].copy_from_slice(&size.to_le_bytes());
            ph[0x28..0x30].copy_from_slice(&size.to_le_bytes());
            f.extend_from_slice(&ph);
        };
        if d.interp.is_some() {
            phdr(super::PT_INTERP, interp_at, BASE + interp_at, interp_len);
        }
        phdr(super::PT_LOAD, 0, BASE, total);
        let dyn_len = 16 * entries.len() as u64;
        phdr(super::PT_DYNAMIC, dynamic_at, BASE + dynamic_at, dyn_len);
        f.extend_from_slice(&data);
        f
    }

    /// A shared library with the given soname and needs.
    pub fn library(soname: &str, needed: &[&str]) -> Vec<u8> {
        dynamic_elf(&Dynamic {
            soname: Some(soname.into()),
            needed: needed.iter().map(|s| s.to_string()).collect(),
            ..Dynamic::default()
        })
    }

    /// The same library as a 32-bit i386 file would look to ld.so on x86-64.
    pub fn library_i386(soname: &str) -> Vec<u8> {
        let mut f = library(soname, &[]);
        f[4] = 1; // ELFCLASS32
        f[0x12..0x14].copy_from_slice(&3u16.to_le_bytes()); // EM_386
        f
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::*;
    use super::*;

    #[test]
    fn round_trips_a_crafted_file() {
        let d = Dynamic {
            interp: Some("/lib64/ld-linux-x86-64.so.2".into()),
            needed: vec!["libfoo.so.1".into(), "libc.so.6".into()],
            soname: None,
            rpath: Some("/opt/x".into()),
            runpath: Some("$ORIGIN/../lib".into()),
        };
        let f = dynamic_elf(&d);
        assert_eq!(parse(&f).unwrap(), d);
        assert_eq!(
            crate::elf::classify(&f),
            crate::elf::ElfKind::DynamicExecutable
        );
        assert!(is_x86_64_object(&f));
        assert!(!is_x86_64_object(&library_i386("libx.so")));
        assert!(!is_x86_64_object(b"/* GNU ld script */"));
    }

    #[test]
    fn static_files_have_nothing() {
        let f = crate::elf::testdata::static_exe();
        assert_eq!(parse(&f).unwrap(), Dynamic::default());
    }

    #[test]
    fn malformed_files_are_errors() {
        let f = library("libx.so.1", &["liby.so.2"]);
        assert!(
            parse(&f[..f.len() - 20]).is_err(),
            "truncated dynamic section"
        );
        assert!(parse(&f[..100]).is_err(), "truncated program headers");
        assert!(parse(b"\x7fELF").is_err());
        // Move the one PT_LOAD (the first program header) away from DT_STRTAB.
        let mut bad = f.clone();
        bad[64 + 0x10..64 + 0x18].copy_from_slice(&0x1000_0000u64.to_le_bytes());
        let err = parse(&bad).unwrap_err();
        assert!(err.contains("PT_LOAD"), "{err}");
    }

    #[test]
    fn host_binary_needs_libc() {
        let p = Path::new("/bin/ls");
        if p.exists() {
            let d = read(p).unwrap();
            assert!(d.interp.unwrap().contains("ld-linux"));
            assert!(d.needed.iter().any(|n| n == "libc.so.6"), "{:?}", d.needed);
        }
    }
}
