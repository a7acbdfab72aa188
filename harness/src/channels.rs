//! Follow files QEMU is writing (console, agent events), a line at a time.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// Longest line kept whole; a longer one (a flood with no newline) is cut here so
/// memory stays bounded.
const MAX_LINE: usize = 64 * 1024;

pub struct FileTail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl FileTail {
    pub fn new(path: PathBuf) -> FileTail {
        FileTail {
            path,
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// Complete lines written since the last call (without their newlines).
    pub fn poll(&mut self) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        let Ok(mut f) = File::open(&self.path) else {
            return lines;
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return lines;
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return lines;
        }
        self.offset += buf.len() as u64;
        for &b in &buf {
            if b == b'\n' {
                lines.push(std::mem::take(&mut self.partial));
            } else if self.partial.len() < MAX_LINE {
                self.partial.push(b);
            } else {
                lines.push(std::mem::take(&mut self.partial));
                self.partial.push(b);
            }
        }
        lines
    }

    /// Everything left, including an unterminated last line.
    pub fn finish(&mut self) -> Vec<Vec<u8>> {
        let mut lines = self.poll();
        if !self.partial.is_empty() {
            lines.push(std::mem::take(&mut self.partial));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn yields_only_complete_lines_until_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut f = File::create(&path).unwrap();
        let mut tail = FileTail::new(path);
        assert!(tail.poll().is_empty());
        write!(f, "one\ntw").unwrap();
        assert_eq!(tail.poll(), vec![b"one".to_vec()]);
        write!(f, "o\nthr").unwrap();
        assert_eq!(tail.poll(), vec![b"two".to_vec()]);
        assert_eq!(tail.finish(), vec![b"thr".to_vec()]);
        assert_eq!(tail.offset, 11);
    }
}
