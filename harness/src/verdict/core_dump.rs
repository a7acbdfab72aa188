//! Whether a core dumped through oomlab's pipe helper came out whole: the helper writes
//! `oomlab-core: wrote N of M bytes (complete|truncated)` to the kernel log.

use oomlab_results::record::CoreDump;

const MARK: &str = "oomlab-core: wrote ";

/// The last such line in the kernel log, if any.
pub fn from_log(log: &[u8]) -> Option<CoreDump> {
    let text = String::from_utf8_lossy(log);
    text.lines().rev().find_map(|l| {
        let rest = &l[l.find(MARK)? + MARK.len()..];
        let mut words = rest.split_whitespace();
        let written: u64 = words.next()?.parse().ok()?;
        let expected = match (words.next(), words.next()) {
            (Some("of"), Some(m)) => m.parse().ok(),
            _ => None,
        };
        Some(CoreDump {
            written_bytes: written,
            expected_bytes: expected,
            truncated: expected.map(|m| written < m),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_helpers_line() {
        let log =
            b"[ 5.1] something\n[ 9.2] oomlab-core: wrote 4096 of 134217728 bytes (truncated)\n";
        let c = from_log(log).unwrap();
        assert_eq!(
            (c.written_bytes, c.expected_bytes, c.truncated),
            (4096, Some(134217728), Some(true))
        );
        let whole = from_log(b"[1.0] oomlab-core: wrote 10 of 10 bytes (complete)\n").unwrap();
        assert_eq!(whole.truncated, Some(false));
        let odd = from_log(b"[1.0] oomlab-core: wrote 10 bytes, not an ELF core\n").unwrap();
        assert_eq!((odd.expected_bytes, odd.truncated), (None, None));
        assert_eq!(from_log(b"[1.0] nothing\n"), None);
    }
}
