//! `oomlab compare`'s report formats, checked against their grammar or by a real parser
//! rather than by comparing strings. The records are tests/fixtures/compare/derived (see
//! its README): one cell of every verdict against the Debian 6.1 baseline.

use oomlab_results::compare::{self, junit, ktap, load, table, Options, Report, Verdict};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compare")
        .join(name)
}

fn derived() -> Report {
    let records = load::load(&[fixture("derived")]).unwrap();
    compare::compare(&records, &Options::default()).unwrap()
}

#[test]
fn the_derived_fixture_has_one_cell_of_each_verdict() {
    let r = derived();
    assert_eq!(r.baseline, "debian:6.1");
    let got: Vec<(&str, Verdict)> = r
        .cells()
        .map(|(_, c)| (c.kernel.spec.as_str(), c.verdict))
        .collect();
    assert_eq!(
        got,
        [
            ("debian:6.1", Verdict::Baseline),
            // Real 6.12 runs: medians 2939 vs 3282 ms, but with one run at 5551 ms and one
            // at 1990 ms five runs cannot tell them apart.
            ("debian:6.12", Verdict::NoSignificantDifference),
            ("./bzImage-livelock", Verdict::Worse),
            ("./bzImage-slow", Verdict::Worse),
            ("./bzImage-fast", Verdict::Better),
            ("./bzImage-few", Verdict::NotEnoughRuns),
        ]
    );
    // The slowdown was +3000 ms on every run: the estimate is exact, the interval tight.
    let slow = r.cells().map(|(_, c)| c).nth(3).unwrap();
    let d = slow.ttr_diff_ms.unwrap();
    assert_eq!(d.estimate, 3000.0);
    assert!(d.lo > 2000.0 && d.hi < 4000.0, "{d:?}");
}

// --- KTAP -------------------------------------------------------------------------

#[derive(Debug)]
struct KtapTest {
    ok: bool,
    description: String,
    directive: Option<String>,
    subtests: Vec<KtapTest>,
}

/// A strict reader of KTAP version 1 (Documentation/dev-tools/ktap.rst): a version line,
/// diagnostics, a plan, then exactly the planned results numbered from 1, each optionally
/// preceded by a subtest block indented two more spaces. Anything else is an error naming
/// the line.
struct Ktap<'a> {
    lines: Vec<&'a str>,
    at: usize,
}

impl<'a> Ktap<'a> {
    fn err(&self, why: &str) -> String {
        format!("line {}: {why}: {:?}", self.at + 1, self.lines.get(self.at))
    }

    fn peek(&self) -> Option<&'a str> {
        self.lines.get(self.at).copied()
    }

    /// The rest of the current line after `indent`, if it is indented exactly so.
    fn at_indent(&self, indent: &str) -> Option<&'a str> {
        let rest = self.peek()?.strip_prefix(indent)?;
        (!rest.starts_with(' ')).then_some(rest)
    }

    fn skip_diagnostics(&mut self, indent: &str) -> Result<(), String> {
        while let Some(rest) = self.at_indent(indent) {
            if !rest.starts_with('#') {
                break;
            }
            if rest.len() > 1 && !rest.starts_with("# ") {
                return Err(self.err("a diagnostic line is '# ' and text"));
            }
            self.at += 1;
        }
        Ok(())
    }

    fn block(&mut self, indent: &str) -> Result<Vec<KtapTest>, String> {
        if self.at_indent(indent) != Some("KTAP version 1") {
            return Err(self.err("expected the version line"));
        }
        self.at += 1;
        self.skip_diagnostics(indent)?;
        let plan = self
            .at_indent(indent)
            .and_then(|l| l.strip_prefix("1.."))
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| self.err("expected a plan 1..N"))?;
        self.at += 1;
        let sub_indent = format!("{indent}  ");
        let mut tests = Vec::new();
        for number in 1..=plan {
            self.skip_diagnostics(indent)?;
            let subtests = if self.at_indent(&sub_indent) == Some("KTAP version 1") {
                self.block(&sub_indent)?
            } else {
                Vec::new()
            };
            let line = self
                .at_indent(indent)
                .ok_or_else(|| self.err("expected a result line"))?;
            let (ok, rest) = if let Some(rest) = line.strip_prefix("ok ") {
                (true, rest)
            } else if let Some(rest) = line.strip_prefix("not ok ") {
                (false, rest)
            } else {
                return Err(self.err("expected 'ok' or 'not ok'"));
            };
            let (num, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            if num.parse::<usize>() != Ok(number) {
                return Err(self.err(&format!("expected test number {number}")));
            }
            let (description, directive) = match rest.split_once(" # ") {
                Some((d, dir)) => (d, Some(dir.to_string())),
                None => (rest, None),
            };
            if description.contains('#') || description.is_empty() {
                return Err(self.err("a description is non-empty and holds no '#'"));
            }
            if !subtests.is_empty() && ok != subtests.iter().all(|t| t.ok) {
                return Err(self.err("a parent's result disagrees with its subtests"));
            }
            self.at += 1;
            tests.push(KtapTest {
                ok,
                description: description.to_string(),
                directive,
                subtests,
            });
        }
        self.skip_diagnostics(indent)?;
        Ok(tests)
    }
}

fn parse_ktap(text: &str) -> Result<Vec<KtapTest>, String> {
    let mut k = Ktap {
        lines: text.lines().collect(),
        at: 0,
    };
    let tests = k.block("")?;
    if k.at != k.lines.len() {
        return Err(k.err("trailing lines after the last result"));
    }
    Ok(tests)
}

#[test]
fn ktap_follows_the_grammar_with_one_subtest_per_kernel() {
    let r = derived();
    let text = ktap::ktap(&r);
    let tests = parse_ktap(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(tests.len(), 1);
    let config = &tests[0];
    assert!(!config.ok, "a worse kernel fails its configuration");
    assert_eq!(config.description, "usemem, 256 MiB, 2 cpus, tcg");
    let kernels: Vec<(bool, &str, Option<&str>)> = config
        .subtests
        .iter()
        .map(|t| (t.ok, t.description.as_str(), t.directive.as_deref()))
        .collect();
    assert_eq!(
        kernels,
        [
            (
                true,
                "debian:6.1 (6.1.0-56-cloud-amd64)",
                Some("SKIP baseline")
            ),
            (
                true,
                "debian:6.12 (6.12.117+deb12-cloud-amd64)",
                Some("no significant difference")
            ),
            (
                false,
                "./bzImage-livelock (6.1.0-56-cloud-amd64+livelock)",
                None
            ),
            (false, "./bzImage-slow (6.1.0-56-cloud-amd64+slow)", None),
            (
                true,
                "./bzImage-fast (6.1.0-56-cloud-amd64+fast)",
                Some("better")
            ),
            (
                true,
                "./bzImage-few (6.1.0-56-cloud-amd64+few)",
                Some("SKIP not enough runs")
            ),
        ]
    );
}

#[test]
fn the_ktap_checker_rejects_what_is_not_ktap() {
    let good = "KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  ok 1 a\nok 1 b\n";
    assert!(parse_ktap(good).is_ok());
    for bad in [
        "TAP version 13\n1..1\nok 1 a\n",
        "KTAP version 1\n1..2\nok 1 a\n",
        "KTAP version 1\n1..1\nok 2 a\n",
        "KTAP version 1\n1..1\nok 1 a#b\n",
        "KTAP version 1\n1..1\nok 1 a\nstray\n",
        "KTAP version 1\n1..1\n#oops\nok 1 a\n",
        "KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  not ok 1 a\nok 1 b\n",
        "KTAP version 1\n1..1\n   KTAP version 1\n   1..1\n   ok 1 a\nok 1 b\n",
    ] {
        assert!(parse_ktap(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn ktap_descriptions_never_carry_a_hash() {
    let mut records = load::load(&[fixture("derived")]).unwrap();
    for r in &mut records {
        r.scenario_params.insert("odd#name".into(), "1\n2".into());
    }
    let text = ktap::ktap(&compare::compare(&records, &Options::default()).unwrap());
    let tests = parse_ktap(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(tests[0].subtests.len(), 6);
}

// --- JUnit ------------------------------------------------------------------------

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .unwrap()
        .map(|a| a.unescape_value().unwrap().into_owned())
}

#[derive(Debug, Default)]
struct Counted {
    tests: usize,
    failures: usize,
    skipped: usize,
}

/// Parse the whole document (any malformed XML fails here), check the nesting
/// testsuites > testsuite > testcase > failure|skipped|system-out, and that every
/// count attribute equals what its children hold. Returns the testcase names.
fn check_junit(xml: &str) -> Vec<(String, String, Option<&'static str>)> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut declared: Vec<Counted> = Vec::new(); // [testsuites, current testsuite]
    let mut seen = [Counted::default(), Counted::default()];
    let mut cases = Vec::new();
    let check_counts = |declared: &Counted, seen: &Counted| {
        assert_eq!(
            (declared.tests, declared.failures, declared.skipped),
            (seen.tests, seen.failures, seen.skipped)
        );
    };
    loop {
        let (e, empty) = match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()));
                if name == "testsuite" {
                    check_counts(&declared.pop().unwrap(), &seen[1]);
                    seen[1] = Counted::default();
                }
                continue;
            }
            Event::Text(t) => {
                t.unescape().unwrap();
                continue;
            }
            Event::Decl(_) => continue,
            other => panic!("unexpected {other:?}"),
        };
        let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
        let parent = stack.last().map(String::as_str);
        let allowed = match name.as_str() {
            "testsuites" => parent.is_none(),
            "testsuite" => parent == Some("testsuites"),
            "properties" => parent == Some("testsuite"),
            "property" => parent == Some("properties"),
            "testcase" => parent == Some("testsuite"),
            "failure" | "skipped" | "system-out" => parent == Some("testcase"),
            _ => false,
        };
        assert!(allowed, "<{name}> inside {parent:?}");
        if matches!(name.as_str(), "testsuites" | "testsuite") {
            let n = |a| attr(&e, a).unwrap().parse::<usize>().unwrap();
            assert_eq!(n("errors"), 0);
            declared.push(Counted {
                tests: n("tests"),
                failures: n("failures"),
                skipped: n("skipped"),
            });
        }
        let mut bump = |f: fn(&mut Counted)| seen.iter_mut().for_each(f);
        match name.as_str() {
            "testcase" => {
                bump(|c| c.tests += 1);
                cases.push((
                    attr(&e, "classname").unwrap(),
                    attr(&e, "name").unwrap(),
                    None,
                ));
            }
            "failure" => {
                bump(|c| c.failures += 1);
                cases.last_mut().unwrap().2 = Some("failure");
            }
            "skipped" => {
                bump(|c| c.skipped += 1);
                cases.last_mut().unwrap().2 = Some("skipped");
            }
            _ => {}
        }
        if !empty {
            stack.push(name);
        }
    }
    assert!(stack.is_empty());
    check_counts(&declared.pop().expect("a <testsuites> root"), &seen[0]);
    cases
}

#[test]
fn junit_parses_and_its_counts_match_its_testcases() {
    let r = derived();
    let cases = check_junit(&junit::junit(&r));
    let outcome: Vec<(&str, Option<&str>)> = cases.iter().map(|c| (c.1.as_str(), c.2)).collect();
    assert_eq!(
        outcome,
        [
            ("debian:6.1 (6.1.0-56-cloud-amd64)", Some("skipped")),
            ("debian:6.12 (6.12.117+deb12-cloud-amd64)", None),
            (
                "./bzImage-livelock (6.1.0-56-cloud-amd64+livelock)",
                Some("failure")
            ),
            (
                "./bzImage-slow (6.1.0-56-cloud-amd64+slow)",
                Some("failure")
            ),
            ("./bzImage-fast (6.1.0-56-cloud-amd64+fast)", None),
            ("./bzImage-few (6.1.0-56-cloud-amd64+few)", Some("skipped")),
        ]
    );
    assert!(cases.iter().all(|c| c.0 == "usemem, 256 MiB, 2 cpus, tcg"));
}

#[test]
fn junit_escapes_markup_and_control_characters() {
    let mut records = load::load(&[fixture("derived")]).unwrap();
    let odd = "<a & \"b\" 'c'>\u{1}]]>";
    for r in &mut records {
        r.scenario = odd.to_string();
        if r.kernel.spec == "debian:6.12" {
            r.kernel.spec = "</testcase>&amp;".into();
        }
    }
    let r = compare::compare(&records, &Options::default()).unwrap();
    let cases = check_junit(&junit::junit(&r));
    assert_eq!(cases.len(), 6);
    // Round trip: the parser gives back the text, the control character replaced.
    assert!(
        cases[0].0.starts_with("<a & \"b\" 'c'>\u{fffd}]]>"),
        "{:?}",
        cases[0]
    );
    assert_eq!(cases[1].1, "</testcase>&amp; (6.12.117+deb12-cloud-amd64)");
}

// --- JSON, Markdown, terminal -----------------------------------------------------

#[test]
fn json_carries_every_cell_with_its_numbers() {
    let v: serde_json::Value = serde_json::to_value(derived()).unwrap();
    assert_eq!(v["baseline"], "debian:6.1");
    assert_eq!(v["min_runs"], 5);
    assert_eq!(v["resamples"], 2000);
    let config = &v["configurations"][0];
    assert_eq!(config["config"]["scenario"], "usemem");
    assert_eq!(config["config"]["settings"]["vm.oom_dump_tasks"], "1");
    let cells = config["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 6);
    let livelock = &cells[2];
    assert_eq!(livelock["verdict"], "worse");
    assert_eq!(livelock["livelock"]["k"], 5);
    assert_eq!(livelock["livelock"]["n"], 5);
    assert_eq!(livelock["outcomes"]["livelock"], 5);
    assert!(livelock["ttr_ms"].is_null());
    let ci = livelock["livelock"]["ci95"].as_array().unwrap();
    assert!((ci[0].as_f64().unwrap() - 0.5655).abs() < 5e-4);
    assert_eq!(cells[0]["ttr_ms"]["median"], 2939.0);
    assert_eq!(cells[4]["verdict"], "better");
    assert_eq!(cells[5]["verdict"], "not_enough_runs");
}

/// Split a Markdown table row on the `|` that are not escaped.
fn md_cells(row: &str) -> Vec<String> {
    let inner = row
        .strip_prefix('|')
        .and_then(|r| r.strip_suffix('|'))
        .unwrap();
    let mut cells = vec![String::new()];
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cells.last_mut().unwrap().extend(chars.next()),
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

#[test]
fn markdown_tables_are_rectangular_and_escaped() {
    let mut records = load::load(&[fixture("derived")]).unwrap();
    for r in &mut records {
        r.kernel.release = format!("{}|pipe", r.kernel.release);
    }
    let text = table::markdown(&compare::compare(&records, &Options::default()).unwrap());
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(rows.len(), 2 + 6, "{text}");
    let width = md_cells(rows[0]).len();
    assert_eq!(width, 12);
    assert!(md_cells(rows[1]).iter().all(|c| c == "---"));
    for row in &rows[2..] {
        assert_eq!(md_cells(row).len(), width, "{row}");
    }
    assert_eq!(
        md_cells(rows[2])[0],
        "debian:6.1 (6.1.0-56-cloud-amd64|pipe)"
    );
    assert!(text.contains("\n## usemem, 256 MiB, 2 cpus, tcg\n"));
}

#[test]
fn the_terminal_table_has_a_row_per_kernel_and_the_reasons() {
    let text = table::terminal(&derived());
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("debian:") || l.starts_with("./bzImage"))
        .collect();
    assert_eq!(rows.len(), 6, "{text}");
    assert!(rows[2].ends_with("worse"), "{}", rows[2]);
    assert!(
        text.contains("./bzImage-livelock (6.1.0-56-cloud-amd64+livelock): worse: livelock 5/5")
    );
    assert!(text.ends_with(
        "verdicts: worse 2, better 1, no significant difference 1, not enough runs 1\n"
    ));
}

#[test]
fn real_repetitions_compare_without_a_verdict_either_way() {
    // 6.1 against 6.12, five runs each, three configurations: nothing differs enough.
    let records = load::load(&[fixture("real-reps")]).unwrap();
    let r = compare::compare(&records, &Options::default()).unwrap();
    assert_eq!(r.configurations.len(), 3);
    for (config, cell) in r.cells() {
        let expected = if cell.kernel.spec == "debian:6.1" {
            Verdict::Baseline
        } else {
            Verdict::NoSignificantDifference
        };
        assert_eq!(
            cell.verdict, expected,
            "{}: {:?}",
            config.label, cell.reasons
        );
    }
    // protected-hog panicked every time on both: bad 5/5 each, no difference.
    let panics = &r.configurations[1].cells[1];
    assert_eq!((panics.bad.k, panics.bad.n), (5, 5));
}
