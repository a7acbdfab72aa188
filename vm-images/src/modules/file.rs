//! Module files on disk: their names, and their contents decompressed. The guest's
//! finit_module gets plain ELF, because a busybox/agent insmod cannot read xz and
//! the kernel's own in-kernel decompression is a config option we cannot rely on.

use crate::Error;
use std::path::Path;

/// Compression suffixes seen after `.ko`, with whether we decode them.
const COMPRESSIONS: &[(&str, bool)] = &[(".xz", true), (".gz", false), (".zst", false)];

/// The module name a path names: the file name without `.ko[.xz|.gz|.zst]`, with
/// '-' as '_' (the kernel treats them alike). None if it is not a module file.
pub fn module_name(path: &str) -> Option<String> {
    let base = path.rsplit('/').next()?;
    let stem = file_name(base)?.strip_suffix(".ko")?.to_string();
    (!stem.is_empty()).then(|| normalize(&stem))
}

/// The uncompressed file name: `virtio_blk.ko.xz` → `virtio_blk.ko`.
pub fn file_name(base: &str) -> Option<&str> {
    if base.ends_with(".ko") {
        return Some(base);
    }
    COMPRESSIONS
        .iter()
        .find_map(|(suffix, _)| base.strip_suffix(suffix))
        .filter(|s| s.ends_with(".ko"))
}

/// Module names may use '-' and '_' interchangeably; '_' is canonical.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// Read a module file and return plain ELF bytes.
pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    let raw = std::fs::read(path).map_err(Error::io("reading module", path))?;
    let name = path.to_string_lossy();
    let data = if name.ends_with(".ko.xz") {
        let mut out = Vec::with_capacity(raw.len() * 5);
        lzma_rs::xz_decompress(&mut raw.as_slice(), &mut out).map_err(|e| Error::Decompress {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        out
    } else if COMPRESSIONS
        .iter()
        .any(|(s, _)| name.ends_with(&format!(".ko{s}")))
    {
        return Err(Error::UnsupportedCompression {
            path: path.to_path_buf(),
        });
    } else {
        raw
    };
    if !data.starts_with(b"\x7fELF") {
        return Err(Error::BadElf {
            path: path.to_path_buf(),
            reason: "does not start with the ELF magic".into(),
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            module_name("kernel/drivers/block/virtio_blk.ko").as_deref(),
            Some("virtio_blk")
        );
        assert_eq!(
            module_name("kernel/lib/crc-t10dif.ko.xz").as_deref(),
            Some("crc_t10dif")
        );
        assert_eq!(module_name("x.ko.zst").as_deref(), Some("x"));
        assert_eq!(module_name("modules.dep"), None);
        assert_eq!(module_name("foo.xz"), None);
        assert_eq!(module_name(".ko"), None);
        assert_eq!(file_name("crc-t10dif.ko.xz"), Some("crc-t10dif.ko"));
    }

    #[test]
    fn rejects_non_elf_and_other_compressions() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.ko");
        std::fs::write(&p, b"nope").unwrap();
        assert!(matches!(read(&p), Err(Error::BadElf { .. })));
        let p = d.path().join("a.ko.zst");
        std::fs::write(&p, b"nope").unwrap();
        assert!(matches!(
            read(&p),
            Err(Error::UnsupportedCompression { .. })
        ));
        let p = d.path().join("a.ko.xz");
        std::fs::write(&p, b"nope").unwrap();
        assert!(matches!(read(&p), Err(Error::Decompress { .. })));
    }
}
