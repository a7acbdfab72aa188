//! Reading Debian kernel package names. A release (`uname -r`) is
//! `UPSTREAM-[ABI-]FLAVOUR`: `6.1.0-56-cloud-amd64` (upstream 6.1.0, ABI 56) or
//! `6.12.117+deb12-cloud-amd64` (no ABI part). The flavour is what follows the ABI
//! part, never a suffix match: `-cloud-amd64` also ends in `-amd64`.

const PREFIX: &str = "linux-image-";
const SUFFIX: &str = "-unsigned";

/// The parts of a kernel release string we select on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The full `uname -r` string.
    pub release: String,
    /// `MAJOR.MINOR`, e.g. "6.12".
    pub series: String,
    /// e.g. "cloud-amd64".
    pub flavour: String,
}

/// Parse a release string; None if it does not look like a Debian kernel release.
pub fn parse_release(release: &str) -> Option<Release> {
    let (upstream, rest) = release.split_once('-')?;
    let numeric = upstream.split('+').next()?;
    let mut parts = numeric.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    let series = format!("{major}.{minor}");
    if !super::spec::is_series(&series) {
        return None;
    }
    let flavour = match rest.split_once('-') {
        Some((abi, f)) if !abi.is_empty() && abi.bytes().all(|b| b.is_ascii_digit()) => f,
        _ => rest,
    };
    if flavour.is_empty() || flavour.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Release {
        release: release.to_string(),
        series,
        flavour: flavour.to_string(),
    })
}

/// The release inside an unsigned image package name
/// (`linux-image-RELEASE-unsigned`); None for any other package.
pub fn parse_package(name: &str) -> Option<Release> {
    let release = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    parse_release(release)
}

/// The unsigned image package that ships `release`.
pub fn package_name(release: &str) -> String {
    format!("{PREFIX}{release}{SUFFIX}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(r: &str, series: &str, flavour: &str) -> Release {
        Release {
            release: r.into(),
            series: series.into(),
            flavour: flavour.into(),
        }
    }

    #[test]
    fn flavours_from_package_names() {
        let cases = [
            (
                "linux-image-6.1.0-56-cloud-amd64-unsigned",
                rel("6.1.0-56-cloud-amd64", "6.1", "cloud-amd64"),
            ),
            (
                "linux-image-6.1.0-56-amd64-unsigned",
                rel("6.1.0-56-amd64", "6.1", "amd64"),
            ),
            (
                "linux-image-6.1.0-47-rt-amd64-unsigned",
                rel("6.1.0-47-rt-amd64", "6.1", "rt-amd64"),
            ),
            (
                "linux-image-6.12.117+deb12-cloud-amd64-unsigned",
                rel("6.12.117+deb12-cloud-amd64", "6.12", "cloud-amd64"),
            ),
            (
                "linux-image-6.12.117+deb12-amd64-unsigned",
                rel("6.12.117+deb12-amd64", "6.12", "amd64"),
            ),
            (
                "linux-image-6.12.117+deb12-rt-amd64-unsigned",
                rel("6.12.117+deb12-rt-amd64", "6.12", "rt-amd64"),
            ),
        ];
        for (name, want) in cases {
            assert_eq!(parse_package(name), Some(want.clone()), "{name}");
            assert_eq!(package_name(&want.release), name);
        }
    }

    #[test]
    fn other_packages_are_not_images() {
        for name in [
            "linux-image-6.1.0-56-cloud-amd64",
            "linux-image-6.1.0-56-cloud-amd64-dbg",
            "linux-image-6.12-amd64-signed-template",
            "linux-image-amd64",
            "linux-image-6.1.0-56-unsigned",
            "linux-headers-6.1.0-56-amd64",
        ] {
            assert_eq!(parse_package(name), None, "{name}");
        }
    }
}
