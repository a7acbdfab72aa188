//! The x86 boot protocol's setup header (Documentation/arch/x86/boot.rst), read to
//! tell a bzImage from garbage and to learn the kernel release without booting it.

use crate::Error;
use std::io::Read;
use std::path::Path;

const MAGIC_OFFSET: usize = 0x202;
const VERSION_PTR_OFFSET: usize = 0x20E;
/// The setup header and the version string both live in the first few KiB.
const READ_LIMIT: u64 = 64 * 1024;

/// What the setup header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The release, i.e. the first word of the kernel_version string; None if the
    /// header has no version pointer.
    pub release: Option<String>,
}

/// Parse the setup header from the start of a file; None if there is no "HdrS".
pub fn parse(data: &[u8]) -> Option<Header> {
    if data.get(MAGIC_OFFSET..MAGIC_OFFSET + 4)? != b"HdrS" {
        return None;
    }
    let ptr = data
        .get(VERSION_PTR_OFFSET..VERSION_PTR_OFFSET + 2)
        .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])));
    let release = ptr.filter(|&p| p != 0).and_then(|p| {
        let s = data.get(p + 0x200..)?;
        let s = &s[..s.iter().position(|&b| b == 0)?];
        let first = std::str::from_utf8(s).ok()?.split_whitespace().next()?;
        let printable = first.bytes().all(|b| b.is_ascii_graphic());
        printable.then(|| first.to_string())
    });
    Some(Header { release })
}

/// Read and parse the header of the file at `path`.
pub fn read(path: &Path) -> Result<Option<Header>, Error> {
    let file = std::fs::File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::KernelNotFound {
                path: path.to_path_buf(),
            }
        } else {
            Error::io("reading", path)(e)
        }
    })?;
    let mut head = Vec::new();
    file.take(READ_LIMIT)
        .read_to_end(&mut head)
        .map_err(Error::io("reading", path))?;
    Ok(parse(&head))
}

/// Synthetic bzImage bytes for tests.
#[cfg(test)]
pub(crate) fn synthetic(version: Option<&str>) -> Vec<u8> {
    let mut d = vec![0u8; 0x1000];
    d[MAGIC_OFFSET..MAGIC_OFFSET + 4].copy_from_slice(b"HdrS");
    if let Some(v) = version {
        let at = 0x400usize;
        let text = format!("{v} (builder@host) #1 SMP PREEMPT_DYNAMIC\0");
        d[at..at + text.len()].copy_from_slice(text.as_bytes());
        d[VERSION_PTR_OFFSET..VERSION_PTR_OFFSET + 2]
            .copy_from_slice(&((at - 0x200) as u16).to_le_bytes());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_from_synthetic_header() {
        let h = parse(&synthetic(Some("6.12.117+deb12-cloud-amd64"))).unwrap();
        assert_eq!(h.release.as_deref(), Some("6.12.117+deb12-cloud-amd64"));
    }

    #[test]
    fn header_without_version() {
        assert_eq!(parse(&synthetic(None)).unwrap().release, None);
    }

    #[test]
    fn version_pointer_out_of_range_or_unterminated() {
        let mut d = synthetic(None);
        d[VERSION_PTR_OFFSET..VERSION_PTR_OFFSET + 2].copy_from_slice(&0xFFF0u16.to_le_bytes());
        assert_eq!(parse(&d).unwrap().release, None);
        let mut d = synthetic(None);
        let n = d.len();
        d[n - 4..].copy_from_slice(b"6.1x");
        d[VERSION_PTR_OFFSET..VERSION_PTR_OFFSET + 2]
            .copy_from_slice(&((n - 4 - 0x200) as u16).to_le_bytes());
        assert_eq!(parse(&d).unwrap().release, None);
    }

    #[test]
    fn garbage_is_not_a_bzimage() {
        assert_eq!(parse(b"hello"), None);
        assert_eq!(parse(&[0u8; 0x1000]), None);
        assert_eq!(parse(&[]), None);
    }

    #[test]
    fn read_reports_missing_file() {
        let err = read(Path::new("/nonexistent/bzImage")).unwrap_err();
        assert!(matches!(err, Error::KernelNotFound { .. }));
    }
}
