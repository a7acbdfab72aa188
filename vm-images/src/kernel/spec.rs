//! The user-facing kernel spec: `debian:SERIES[-FLAVOUR]` or a path to a bzImage.

use crate::Error;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The flavour used when a Debian spec names none: the cloud kernel is the smallest
/// and is built for virtual machines.
pub const DEFAULT_FLAVOUR: &str = "cloud-amd64";

/// Debian's amd64 kernel flavours and the short names accepted for them.
const FLAVOURS: &[(&str, &str)] = &[
    ("cloud", "cloud-amd64"),
    ("cloud-amd64", "cloud-amd64"),
    ("amd64", "amd64"),
    ("rt", "rt-amd64"),
    ("rt-amd64", "rt-amd64"),
];

/// Which kernel to boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelSpec {
    /// The newest Debian image package of a series ("6.1") and flavour ("cloud-amd64").
    Debian { series: String, flavour: String },
    /// A bzImage on disk.
    Path { bzimage: PathBuf },
}

impl FromStr for KernelSpec {
    type Err = Error;

    /// Parse `debian:6.1`, `debian:6.12-rt`, `debian:6.1-amd64`, `debian:6.12-cloud`;
    /// anything containing '/' or starting with '.' is a path.
    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidSpec {
            spec: s.to_string(),
            reason,
        };
        if s.contains('/') || s.starts_with('.') {
            return Ok(KernelSpec::Path {
                bzimage: PathBuf::from(s),
            });
        }
        let Some(rest) = s.strip_prefix("debian:") else {
            let reason = if s.is_empty() {
                "empty".to_string()
            } else if std::path::Path::new(s).exists() {
                format!("a file named '{s}' exists; write ./{s} to boot it")
            } else {
                "not a debian: spec and not a path".to_string()
            };
            return Err(invalid(reason));
        };
        let (series, flavour) = match rest.split_once('-') {
            Some((series, flavour)) => (series, flavour),
            None => (rest, "cloud"),
        };
        if !is_series(series) {
            return Err(invalid(format!(
                "series '{series}' is not MAJOR.MINOR like 6.1"
            )));
        }
        let Some((_, flavour)) = FLAVOURS.iter().find(|(short, _)| *short == flavour) else {
            return Err(invalid(format!("unknown flavour '{flavour}'")));
        };
        Ok(KernelSpec::Debian {
            series: series.to_string(),
            flavour: flavour.to_string(),
        })
    }
}

impl fmt::Display for KernelSpec {
    /// The canonical spelling, which parses back to the same spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelSpec::Debian { series, flavour } => write!(f, "debian:{series}-{flavour}"),
            KernelSpec::Path { bzimage } => {
                let s = bzimage.display().to_string();
                if s.contains('/') || s.starts_with('.') {
                    write!(f, "{s}")
                } else {
                    write!(f, "./{s}")
                }
            }
        }
    }
}

/// `MAJOR.MINOR`, both decimal numbers.
pub(crate) fn is_series(s: &str) -> bool {
    let num = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    matches!(s.split_once('.'), Some((a, b)) if num(a) && num(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debian(series: &str, flavour: &str) -> KernelSpec {
        KernelSpec::Debian {
            series: series.into(),
            flavour: flavour.into(),
        }
    }

    #[test]
    fn good_specs() {
        let cases = [
            ("debian:6.1", debian("6.1", "cloud-amd64")),
            ("debian:6.12", debian("6.12", "cloud-amd64")),
            ("debian:6.12-rt", debian("6.12", "rt-amd64")),
            ("debian:6.12-rt-amd64", debian("6.12", "rt-amd64")),
            ("debian:6.1-amd64", debian("6.1", "amd64")),
            ("debian:6.12-cloud", debian("6.12", "cloud-amd64")),
            ("debian:6.12-cloud-amd64", debian("6.12", "cloud-amd64")),
            (
                "/boot/vmlinuz",
                KernelSpec::Path {
                    bzimage: "/boot/vmlinuz".into(),
                },
            ),
            (
                "./bzImage",
                KernelSpec::Path {
                    bzimage: "./bzImage".into(),
                },
            ),
            (
                "linux/arch/x86/boot/bzImage",
                KernelSpec::Path {
                    bzimage: "linux/arch/x86/boot/bzImage".into(),
                },
            ),
            (
                ".hidden",
                KernelSpec::Path {
                    bzimage: ".hidden".into(),
                },
            ),
        ];
        for (text, want) in cases {
            let got: KernelSpec = text.parse().unwrap();
            assert_eq!(got, want, "{text}");
            let again: KernelSpec = got.to_string().parse().unwrap();
            assert_eq!(again, got, "display of {text} round-trips");
        }
    }

    #[test]
    fn bad_specs() {
        for text in [
            "",
            "debian:",
            "debian:6",
            "debian:6.1.0",
            "debian:six.one",
            "debian:6.1-arm64",
            "debian:6.1-",
            "ubuntu:22.04",
            "6.1",
            "bzImage",
        ] {
            let err = text.parse::<KernelSpec>().unwrap_err().to_string();
            assert!(err.contains("accepted:"), "{text}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}
