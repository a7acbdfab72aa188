//! Debian version ordering (deb-version(7)), so "newest kernel" means what apt and
//! dpkg mean by it: `6.12.117-1~deb12u1` < `6.12.117-1`, `6.1.192-2` > `6.1.192-1`.

use std::cmp::Ordering;

/// Compare two Debian version strings `[epoch:]upstream[-revision]`.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| verrevcmp(ua, ub))
        .then_with(|| verrevcmp(ra, rb))
}

/// Split into (epoch, upstream, revision). A missing epoch is 0, a missing revision
/// is empty; the revision starts after the last hyphen.
fn split(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), r)
        }
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((u, r)) => (epoch, u, r),
        None => (epoch, rest, ""),
    }
}

/// Sort weight of one character in a non-digit run: `~` sorts before everything,
/// even the end of the string; letters sort before other characters.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's verrevcmp: alternate non-digit runs (compared by `order`) and digit runs
/// (compared numerically).
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(a[i]) - i32::from(b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    const CASES: &[(&str, &str, Ordering)] = &[
        ("6.1.192-2", "6.1.192-1", Greater),
        ("6.1.192-1", "6.1.190-1", Greater),
        ("6.12.117-1~deb12u1", "6.12.115-2~deb12u1", Greater),
        ("6.12.117-1~deb12u1", "6.12.117-1", Less),
        ("1.0~rc1", "1.0", Less),
        ("1.0", "1.0+b1", Less),
        ("1.0a", "1.0", Greater),
        ("1.0a", "1.0+", Less),
        ("1:0.1", "9.9", Greater),
        ("0:1.0", "1.0", Equal),
        ("1.01", "1.1", Equal),
        ("1.10", "1.9", Greater),
        ("2.0-1", "2.0-1.1", Less),
        ("1.0-", "1.0", Equal),
        ("~~", "~", Less),
        ("~", "", Less),
        ("a", "", Greater),
    ];

    #[test]
    fn known_orderings() {
        for (a, b, want) in CASES {
            assert_eq!(compare(a, b), *want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    /// Cross-check against dpkg itself when it is installed (it is on Debian hosts).
    #[test]
    fn agrees_with_dpkg() {
        let dpkg_says = |a: &str, op: &str, b: &str| {
            std::process::Command::new("dpkg")
                .args(["--compare-versions", a, op, b])
                .status()
                .ok()
                .map(|s| s.success())
        };
        for (a, b, _) in CASES
            .iter()
            .filter(|(a, b, _)| !a.is_empty() && !b.is_empty())
        {
            let Some(lt) = dpkg_says(a, "lt", b) else {
                return;
            };
            let gt = dpkg_says(a, "gt", b).unwrap_or(false);
            let ours = compare(a, b);
            assert_eq!(lt, ours == Less, "{a} lt {b}");
            assert_eq!(gt, ours == Greater, "{a} gt {b}");
        }
    }
}
