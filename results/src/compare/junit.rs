//! The comparison as JUnit XML, the format most CI systems show as test results: one
//! testsuite per configuration, one testcase per kernel; a `worse` kernel is a failure,
//! the baseline and cells with too few runs are skipped.

use super::table::{preamble, summary};
use super::{ConfigReport, Report, Verdict};
use std::fmt::Write;

pub use super::svg::escape;

fn counts<'a>(configs: impl Iterator<Item = &'a ConfigReport>) -> (usize, usize, usize) {
    let (mut tests, mut failures, mut skipped) = (0, 0, 0);
    for c in configs.flat_map(|c| &c.cells) {
        tests += 1;
        match c.verdict {
            Verdict::Worse => failures += 1,
            Verdict::Baseline | Verdict::NotEnoughRuns => skipped += 1,
            Verdict::Better | Verdict::NoSignificantDifference => {}
        }
    }
    (tests, failures, skipped)
}

pub fn junit(r: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let (tests, failures, skipped) = counts(r.configurations.iter());
    let _ = writeln!(
        out,
        "<testsuites name=\"oomlab compare\" tests=\"{tests}\" failures=\"{failures}\" \
         skipped=\"{skipped}\" errors=\"0\">"
    );
    for config in &r.configurations {
        let name = escape(&config.label);
        let (tests, failures, skipped) = counts(std::iter::once(config));
        let _ = writeln!(
            out,
            "  <testsuite name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" \
             skipped=\"{skipped}\" errors=\"0\">"
        );
        let _ = writeln!(
            out,
            "    <properties>\n      <property name=\"comparison\" value=\"{}\"/>\n    </properties>",
            escape(&preamble(r))
        );
        for cell in &config.cells {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{name}\" name=\"{}\">",
                escape(&cell.kernel.to_string())
            );
            let reasons = escape(&cell.reasons.join("\n"));
            match cell.verdict {
                Verdict::Worse => {
                    let _ = writeln!(
                        out,
                        "      <failure message=\"worse than the baseline\" type=\"regression\">{reasons}</failure>"
                    );
                }
                Verdict::Baseline | Verdict::NotEnoughRuns => {
                    let _ = writeln!(
                        out,
                        "      <skipped message=\"{}\"/>",
                        escape(cell.verdict.as_str())
                    );
                }
                Verdict::Better | Verdict::NoSignificantDifference => {}
            }
            let _ = writeln!(
                out,
                "      <system-out>{}: {}</system-out>",
                cell.verdict,
                escape(&summary(cell))
            );
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
