//! `oomlab compare --format kcidb`, validated against KCIDB's own I/O schema v5.3 (the
//! JSON schema of the `kcidb-io` package, vendored in tests/fixtures/kcidb, see its
//! README) by a JSON Schema validator, as kcidb-io does it: Draft 7, formats checked.
//! On top of the schema: every id unique within its kind, every reference resolving.

use oomlab_results::compare::{self, kcidb, load, Options};
use oomlab_results::RunRecord;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn records(name: &str) -> Vec<RunRecord> {
    load::load(&[fixtures().join("compare").join(name)]).unwrap()
}

/// The document for these records, as `oomlab compare --format kcidb` writes it.
fn document(records: &[RunRecord]) -> Value {
    let report = compare::compare(records, &Options::default()).unwrap();
    serde_json::from_str(&kcidb::kcidb(&report, records)).unwrap()
}

/// `\0` (NUL) in an ECMA-262 or Python pattern is `\x00`: the Rust regex engines behind
/// `jsonschema` read `\0` as a backreference and reject the pattern. Same meaning, so
/// the schema's patterns (`[^\0]*`: no NUL anywhere) are rewritten to what they accept.
fn nul_escapes(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') if !chars.peek().is_some_and(char::is_ascii_digit) => out.push_str("\\x00"),
            Some(e) => {
                out.push('\\');
                out.push(e);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Every `pattern` of a schema through [`nul_escapes`]; how many changed.
fn rewrite_patterns(v: &mut Value) -> usize {
    match v {
        Value::Object(m) => m
            .iter_mut()
            .map(|(k, v)| match v {
                Value::String(p) if k == "pattern" => {
                    let new = nul_escapes(p);
                    let changed = usize::from(new != *p);
                    *p = new;
                    changed
                }
                v => rewrite_patterns(v),
            })
            .sum(),
        Value::Array(a) => a.iter_mut().map(rewrite_patterns).sum(),
        _ => 0,
    }
}

#[test]
fn nul_escapes_keep_every_other_escape() {
    assert_eq!(nul_escapes(r"^[^\0]*$"), r"^[^\x00]*$");
    assert_eq!(
        nul_escapes(r"^[^ \0]+(,[^ \0]+)*$"),
        r"^[^ \x00]+(,[^ \x00]+)*$"
    );
    assert_eq!(nul_escapes(r"a\\0\.\01"), r"a\\0\.\01");
}

/// The schema is read at run time, not compiled in: it is kcidb-io's (GPL-2.0-or-later)
/// and stays a separate data file.
fn validator() -> jsonschema::Validator {
    let path = fixtures().join("kcidb/kcidb-io-141-v5.3.schema.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        rewrite_patterns(&mut schema),
        32,
        "the patterns that forbid NUL"
    );
    assert!(
        jsonschema::draft7::meta::is_valid(&schema),
        "the vendored schema is a Draft 7 schema"
    );
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn schema_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect()
}

/// What the schema cannot say: ids unique per kind, each with its own origin as prefix,
/// and every build's checkout and every test's build present in the document.
fn check_ids(doc: &Value) -> Result<(), String> {
    let mut ids: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for kind in ["checkouts", "builds", "tests"] {
        let seen = ids.entry(kind).or_default();
        for o in doc[kind].as_array().ok_or(format!("no {kind}"))? {
            let id = o["id"].as_str().ok_or("an object without id")?;
            if !seen.insert(id) {
                return Err(format!("{kind}: id {id} twice"));
            }
            let origin = o["origin"].as_str().ok_or("an object without origin")?;
            if !id.starts_with(&format!("{origin}:")) {
                return Err(format!("{id} does not start with its origin {origin}"));
            }
        }
    }
    for (kind, key, target) in [
        ("builds", "checkout_id", "checkouts"),
        ("tests", "build_id", "builds"),
    ] {
        for o in doc[kind].as_array().unwrap() {
            let to = o[key].as_str().ok_or(format!("{kind}: no {key}"))?;
            if !ids[target].contains(to) {
                return Err(format!(
                    "{kind}: {} names {key} {to}, not in {target}",
                    o["id"]
                ));
            }
        }
    }
    Ok(())
}

fn nulls(v: &Value) -> usize {
    match v {
        Value::Null => 1,
        Value::Array(a) => a.iter().map(nulls).sum(),
        Value::Object(m) => m.values().map(nulls).sum(),
        _ => 0,
    }
}

fn valid(v: &jsonschema::Validator, doc: &Value) {
    let errors = schema_errors(v, doc);
    assert!(errors.is_empty(), "{errors:#?}");
    check_ids(doc).unwrap();
    assert_eq!(nulls(doc), 0, "KCIDB has no null values");
}

#[test]
fn every_fixture_gives_a_valid_kcidb_v5_3_document() {
    let v = validator();
    for name in ["derived", "real-reps", "with-timelines"] {
        let records = records(name);
        let doc = document(&records);
        valid(&v, &doc);
        assert_eq!(doc["version"], json!({"major": 5, "minor": 3}));
        // A test per run and one per compare cell.
        let report = compare::compare(&records, &Options::default()).unwrap();
        let tests = doc["tests"].as_array().unwrap();
        assert_eq!(
            tests.len(),
            records.len() + report.cells().count(),
            "{name}"
        );
    }
}

fn statuses<'a>(doc: &'a Value, path: &str) -> Vec<(&'a str, &'a str)> {
    doc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["path"] == path)
        .map(|t| {
            (
                t["misc"]["kernel_spec"].as_str().unwrap(),
                t["status"].as_str().unwrap(),
            )
        })
        .collect()
}

#[test]
fn runs_and_cells_map_to_checkouts_builds_and_statuses() {
    let doc = document(&records("derived"));
    // Six kernels, each its own release and so its own checkout and build.
    let releases: Vec<&str> = doc["checkouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["misc"]["kernel_release"].as_str().unwrap())
        .collect();
    assert_eq!(
        releases,
        [
            "6.1.0-56-cloud-amd64",
            "6.12.117+deb12-cloud-amd64",
            "6.1.0-56-cloud-amd64+livelock",
            "6.1.0-56-cloud-amd64+slow",
            "6.1.0-56-cloud-amd64+fast",
            "6.1.0-56-cloud-amd64+few",
        ]
    );
    let build = &doc["builds"][0];
    assert_eq!(
        build["id"],
        "oomlab:6.1.0-56-cloud-amd64:6aa38b0cef36a423251ee101cf94967dbd604cfd8f56f0c5f767be8d903f6d86"
    );
    assert_eq!(build["checkout_id"], "oomlab:6.1.0-56-cloud-amd64");
    assert_eq!(
        build["misc"]["kernel_packages"],
        json!(["linux-image-6.1.0-56-cloud-amd64-unsigned=6.1.192-2"])
    );

    // Runs: the livelocks fail, every other run of the fixture recovered and passes.
    let runs = statuses(&doc, "oomlab.usemem");
    assert_eq!(runs.len(), 27);
    for (kernel, status) in &runs {
        let expected = if *kernel == "./bzImage-livelock" {
            "FAIL"
        } else {
            "PASS"
        };
        assert_eq!(*status, expected, "{kernel}");
    }
    let first = &doc["tests"][0];
    assert_eq!(
        first["id"],
        "oomlab:20261127T132927Z-usemem-6.1.0-r0-16d1e16c"
    );
    assert_eq!(first["start_time"], "2026-11-27T13:29:27Z");
    assert_eq!(first["misc"]["outcome"], "recovered");
    assert_eq!(first["misc"]["time_to_recovery_ms"], 2939);
    assert_eq!(first["number"], json!({"value": 2939, "unit": "ms"}));
    assert_eq!(first["environment"]["misc"]["accel"], "tcg");
    assert_eq!(
        first["environment"]["misc"]["settings"]["vm.oom_dump_tasks"],
        "1"
    );

    // Cells: one per kernel, the verdict as the status.
    assert_eq!(
        statuses(&doc, "oomlab-compare.usemem"),
        [
            ("debian:6.1", "SKIP"),
            ("debian:6.12", "PASS"),
            ("./bzImage-livelock", "FAIL"),
            ("./bzImage-slow", "FAIL"),
            ("./bzImage-fast", "PASS"),
            ("./bzImage-few", "SKIP"),
        ]
    );
    let slow = doc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["path"] == "oomlab-compare.usemem" && t["misc"]["kernel_spec"] == "./bzImage-slow"
        })
        .unwrap();
    assert_eq!(slow["misc"]["verdict"], "worse");
    assert_eq!(slow["misc"]["ttr_diff_ms"]["estimate"], 3000.0);
    assert_eq!(slow["misc"]["run_test_ids"].as_array().unwrap().len(), 5);
    assert_eq!(
        slow["misc"]["baseline"],
        "debian:6.1 (6.1.0-56-cloud-amd64)"
    );
    assert!(slow["comment"]
        .as_str()
        .unwrap()
        .contains("time to recovery slower"));
}

#[test]
fn error_and_boot_failure_runs_are_errors() {
    let mut records = records("real-reps");
    records[0].outcome = oomlab_results::Outcome::BootFailure;
    records[1].outcome = oomlab_results::Outcome::Error;
    let doc = document(&records);
    valid(&validator(), &doc);
    let tests = doc["tests"].as_array().unwrap();
    assert_eq!(
        (tests[0]["status"].as_str(), tests[1]["status"].as_str()),
        (Some("ERROR"), Some("ERROR"))
    );
    // protected-hog panicked on every run.
    assert_eq!(tests[10]["misc"]["outcome"], "panic");
    assert_eq!(tests[10]["status"], "FAIL");
}

#[test]
fn odd_names_still_give_valid_paths_and_ids() {
    let mut records = records("derived");
    for r in &mut records {
        r.scenario = "odd.name with spaces/ü\0".into();
        r.kernel.release = format!("{}:with\0nul", r.kernel.release);
        r.scenario_params.insert("a#b".into(), "1\n2".into());
    }
    let doc = document(&records);
    valid(&validator(), &doc);
    assert_eq!(doc["tests"][0]["path"], "oomlab.odd_name_with_spaces___");
}

#[test]
fn the_same_records_give_the_same_ids_and_other_records_other_cell_ids() {
    let records = records("derived");
    let ids = |doc: &Value| -> Vec<String> {
        doc["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let one = ids(&document(&records));
    assert_eq!(one, ids(&document(&records)));
    // Without the last baseline run every cell's verdict rests on other runs: new ids.
    let fewer: Vec<RunRecord> = records.iter().skip(1).cloned().collect();
    let two = ids(&document(&fewer));
    let cells = |ids: &[String]| -> BTreeSet<String> {
        ids.iter()
            .filter(|i| i.starts_with("oomlab:compare-"))
            .cloned()
            .collect()
    };
    assert_eq!(cells(&one).len(), 6);
    assert!(cells(&one).is_disjoint(&cells(&two)));
}

/// What a broken copy breaks, and how.
type Break = (&'static str, fn(&mut Value));

/// The checks must be able to fail: each of these breaks one rule of the schema or of
/// the references, starting from a valid document.
#[test]
fn invalid_documents_are_rejected() {
    let v = validator();
    let good = document(&records("derived"));
    valid(&v, &good);
    let schema_breaks: [Break; 12] = [
        ("an unknown status", |d| {
            d["tests"][0]["status"] = json!("WORSE")
        }),
        ("a lower-case status", |d| {
            d["tests"][0]["status"] = json!("pass")
        }),
        ("a path with a space", |d| {
            d["tests"][0]["path"] = json!("oomlab.use mem")
        }),
        ("an id without origin", |d| {
            d["builds"][0]["id"] = json!("no-origin")
        }),
        ("an upper-case origin", |d| {
            d["checkouts"][0]["origin"] = json!("OOMLAB")
        }),
        ("a test without build_id", |d| {
            d["tests"][0].as_object_mut().unwrap().remove("build_id");
        }),
        ("a field KCIDB does not have", |d| {
            d["tests"][0]["verdict"] = json!("worse")
        }),
        ("a null", |d| d["tests"][0]["comment"] = Value::Null),
        ("a start time that is not a date-time", |d| {
            d["tests"][0]["start_time"] = json!("yesterday")
        }),
        ("schema v4", |d| d["version"]["major"] = json!(4)),
        ("a NUL in a comment", |d| {
            d["tests"][0]["comment"] = json!("a\0b")
        }),
        ("a NUL in an id", |d| {
            d["tests"][0]["id"] = json!("oomlab:a\0b")
        }),
    ];
    for (what, brk) in schema_breaks {
        let mut doc = good.clone();
        brk(&mut doc);
        assert!(!schema_errors(&v, &doc).is_empty(), "accepted {what}");
    }
    let reference_breaks: [Break; 3] = [
        ("a dangling build_id", |d| {
            d["tests"][3]["build_id"] = json!("oomlab:nowhere")
        }),
        ("a dangling checkout_id", |d| {
            d["builds"][1]["checkout_id"] = json!("oomlab:x")
        }),
        ("a test id twice", |d| {
            d["tests"][1]["id"] = d["tests"][0]["id"].clone()
        }),
    ];
    for (what, brk) in reference_breaks {
        let mut doc = good.clone();
        brk(&mut doc);
        assert!(
            schema_errors(&v, &doc).is_empty(),
            "{what} is not the schema's to catch"
        );
        assert!(check_ids(&doc).is_err(), "accepted {what}");
    }
}
