//! A writer for the cpio "newc" format, the only format the kernel's initramfs
//! unpacker reads. Output is deterministic (mtime 0, uid/gid 0, inode numbers in
//! call order) so identical inputs give byte-identical archives.

use std::io::{self, Write};

const MAGIC: &[u8; 6] = b"070701";
const HEADER_LEN: u64 = 110;

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

/// Streams newc entries into `W`. Paths are stored without a leading `/` or `./`,
/// as the kernel and GNU cpio expect; parents must be added before children.
pub struct CpioWriter<W: Write> {
    out: W,
    written: u64,
    next_ino: u32,
}

/// One header's worth of fields that vary between entry kinds.
struct Entry<'a> {
    path: &'a str,
    mode: u32,
    nlink: u32,
    rdev: (u32, u32),
    data: &'a [u8],
}

impl<W: Write> CpioWriter<W> {
    /// Start an archive. Inode numbers start at 1 (0 marks the trailer).
    pub fn new(out: W) -> Self {
        CpioWriter {
            out,
            written: 0,
            next_ino: 1,
        }
    }

    /// A directory; `mode` holds the permission bits (e.g. 0o755).
    pub fn add_dir(&mut self, path: &str, mode: u32) -> io::Result<()> {
        self.entry(Entry {
            path,
            mode: S_IFDIR | (mode & 0o7777),
            nlink: 2,
            rdev: (0, 0),
            data: &[],
        })
    }

    /// A regular file with the given permission bits and contents.
    pub fn add_file(&mut self, path: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        self.entry(Entry {
            path,
            mode: S_IFREG | (mode & 0o7777),
            nlink: 1,
            rdev: (0, 0),
            data,
        })
    }

    /// A character device node, e.g. /dev/console (5, 1), so the kernel has a console
    /// for /init before devtmpfs is mounted.
    pub fn add_char_dev(
        &mut self,
        path: &str,
        mode: u32,
        major: u32,
        minor: u32,
    ) -> io::Result<()> {
        self.entry(Entry {
            path,
            mode: S_IFCHR | (mode & 0o7777),
            nlink: 1,
            rdev: (major, minor),
            data: &[],
        })
    }

    /// A symbolic link to `target` (stored as the entry's data, as newc does).
    pub fn add_symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        self.entry(Entry {
            path,
            mode: S_IFLNK | 0o777,
            nlink: 1,
            rdev: (0, 0),
            data: target.as_bytes(),
        })
    }

    /// Write the TRAILER!!! entry, pad to 4 bytes, and hand back the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.header(0, "TRAILER!!!", 0, 1, (0, 0), 0)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn entry(&mut self, e: Entry<'_>) -> io::Result<()> {
        let path = normalize(e.path)?;
        let size = u32::try_from(e.data.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path}: newc entries are limited to 4 GiB"),
            )
        })?;
        let ino = self.next_ino;
        self.next_ino = self
            .next_ino
            .checked_add(1)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "too many cpio entries"))?;
        self.header(ino, path, e.mode, e.nlink, e.rdev, size)?;
        self.put(e.data)?;
        self.pad()
    }

    fn header(
        &mut self,
        ino: u32,
        name: &str,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        size: u32,
    ) -> io::Result<()> {
        let namesize = u32::try_from(name.len() + 1)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "cpio name too long"))?;
        // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
        let fields = [
            ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev.0, rdev.1, namesize, 0,
        ];
        let mut h = Vec::with_capacity(HEADER_LEN as usize + name.len() + 4);
        h.extend_from_slice(MAGIC);
        for f in fields {
            h.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        h.extend_from_slice(name.as_bytes());
        h.push(0);
        self.put(&h)?;
        self.pad()
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Zero-pad to the next multiple of 4, as newc requires after names and data.
    fn pad(&mut self) -> io::Result<()> {
        let n = (4 - (self.written % 4)) % 4;
        self.put(&[0u8; 3][..n as usize])
    }
}

/// Strip leading `/` and `./` and reject names the kernel would mishandle.
fn normalize(path: &str) -> io::Result<&str> {
    let mut p = path;
    loop {
        if let Some(rest) = p.strip_prefix('/') {
            p = rest;
        } else if let Some(rest) = p.strip_prefix("./") {
            p = rest;
        } else {
            break;
        }
    }
    let bad = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cpio path '{path}': {why}"),
        ))
    };
    if p.is_empty() {
        return bad("empty");
    }
    if p.contains('\0') {
        return bad("contains NUL");
    }
    if p == "TRAILER!!!" {
        return bad("reserved name");
    }
    if p.split('/').any(|c| c == ".." || c == "." || c.is_empty()) {
        return bad("has an empty, '.' or '..' component");
    }
    Ok(p)
}

/// A newc reader for tests: parses an archive (or concatenated archives) back.
#[cfg(test)]
pub(crate) mod read {
    /// One parsed entry.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Parsed {
        pub name: String,
        pub ino: u32,
        pub mode: u32,
        pub uid: u32,
        pub gid: u32,
        pub nlink: u32,
        pub mtime: u32,
        pub rdev: (u32, u32),
        pub data: Vec<u8>,
    }

    /// Parse every archive in `bytes`, checking alignment and trailers the way the
    /// kernel does: archives may be separated by zero padding only.
    pub fn parse_all(bytes: &[u8]) -> Vec<Parsed> {
        let mut out = Vec::new();
        let mut pos = 0usize;
        let mut seen_trailer = true;
        while pos < bytes.len() {
            if bytes[pos] == 0 {
                pos += 1;
                continue;
            }
            assert_eq!(pos % 4, 0, "header at unaligned offset {pos}");
            assert_eq!(&bytes[pos..pos + 6], b"070701", "bad magic at {pos}");
            let field = |i: usize| {
                let s = std::str::from_utf8(&bytes[pos + 6 + 8 * i..pos + 14 + 8 * i]).unwrap();
                u32::from_str_radix(s, 16).unwrap()
            };
            let namesize = field(11) as usize;
            let filesize = field(6) as usize;
            assert_eq!(field(12), 0, "check field");
            let name_start = pos + 110;
            let name = &bytes[name_start..name_start + namesize - 1];
            assert_eq!(bytes[name_start + namesize - 1], 0, "name NUL");
            let data_start = (name_start + namesize).div_ceil(4) * 4;
            let data = bytes[data_start..data_start + filesize].to_vec();
            let end = (data_start + filesize).div_ceil(4) * 4;
            assert!(end <= bytes.len(), "entry padding past end of archive");
            assert!(bytes[data_start + filesize..end].iter().all(|&b| b == 0));
            let name = String::from_utf8(name.to_vec()).unwrap();
            seen_trailer = name == "TRAILER!!!";
            if !seen_trailer {
                out.push(Parsed {
                    name,
                    ino: field(0),
                    mode: field(1),
                    uid: field(2),
                    gid: field(3),
                    nlink: field(4),
                    mtime: field(5),
                    rdev: (field(9), field(10)),
                    data,
                });
            }
            pos = end;
        }
        assert!(seen_trailer, "archive does not end with TRAILER!!!");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::read::parse_all;
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = CpioWriter::new(Vec::new());
        w.add_dir("/dev", 0o755).unwrap();
        w.add_char_dev("/dev/console", 0o600, 5, 1).unwrap();
        w.add_file("init", 0o755, b"#!/bin/sh\n").unwrap();
        w.add_file("./empty", 0o644, b"").unwrap();
        w.add_symlink("/bin", "usr/bin").unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn round_trips_entries() {
        let bytes = sample();
        assert_eq!(bytes.len() % 4, 0);
        let e = parse_all(&bytes);
        let names: Vec<_> = e.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["dev", "dev/console", "init", "empty", "bin"]);
        assert_eq!(e[0].mode, 0o040755);
        assert_eq!(e[1].mode, 0o020600);
        assert_eq!(e[1].rdev, (5, 1));
        assert_eq!(e[2].mode, 0o100755);
        assert_eq!(e[2].data, b"#!/bin/sh\n");
        assert_eq!(e[3].data, b"");
        assert_eq!(e[4].mode, 0o120777);
        assert_eq!(e[4].data, b"usr/bin");
        let inos: std::collections::BTreeSet<_> = e.iter().map(|e| e.ino).collect();
        assert_eq!(inos.len(), e.len(), "inode numbers are unique");
        assert!(e
            .iter()
            .all(|e| e.uid == 0 && e.gid == 0 && e.mtime == 0 && e.ino != 0));
    }

    #[test]
    fn exact_bytes_of_one_entry() {
        let mut w = CpioWriter::new(Vec::new());
        w.add_file("a", 0o644, b"xyz").unwrap();
        let b = w.finish().unwrap();
        let head = std::str::from_utf8(&b[..110]).unwrap();
        let want = concat!(
            "070701", "00000001", "000081a4", "00000000", "00000000", "00000001", "00000000",
            "00000003", "00000000", "00000000", "00000000", "00000000", "00000002", "00000000"
        );
        assert_eq!(head, want);
        // name "a\0" ends at 112, already aligned; data at 112..115, padded to 116.
        assert_eq!(&b[110..112], b"a\0");
        assert_eq!(&b[112..116], b"xyz\0");
        assert_eq!(&b[116..122], b"070701");
        assert!(b.ends_with(b"TRAILER!!!\0\0\0\0"));
        assert_eq!(b.len(), 240);
    }

    #[test]
    fn deterministic() {
        assert_eq!(sample(), sample());
    }

    #[test]
    fn rejects_bad_paths() {
        let mut w = CpioWriter::new(Vec::new());
        for p in ["", "/", "a/../b", "a//b", "TRAILER!!!", "a\0b"] {
            assert!(w.add_file(p, 0o644, b"").is_err(), "{p:?}");
        }
    }

    /// GNU cpio, when installed, must list the same names.
    #[test]
    fn gnu_cpio_agrees() {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let Ok(mut child) = Command::new("cpio")
            .args(["-t", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        else {
            return; // not installed
        };
        child.stdin.take().unwrap().write_all(&sample()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let listed = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            listed.lines().collect::<Vec<_>>(),
            ["dev", "dev/console", "init", "empty", "bin"]
        );
    }
}
