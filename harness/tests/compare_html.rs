//! `oomlab compare --format html` drawn by a real browser: the built binary writes the
//! report of the fixtures (results/tests/fixtures/compare, see its README), headless
//! Chromium screenshots it, and the screenshot must show the outcome bars and the
//! time-to-recovery boxes in their colors, as large as the page's SVG says they are.
//!
//! Chromium is required, not optional: scripts/setup installs it. Without it this test
//! fails rather than skip, so a machine that cannot check the rendering is noticed.

use oomlab_results::compare::html::{OUTCOME_COLORS, TTR_BOX_FILL};
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A screenshot takes a few seconds; a minute and a half means Chromium is stuck.
const TIMEOUT: Duration = Duration::from_secs(90);
/// Tall enough for the whole fixture report (about 3300 px).
const WINDOW: (u32, u32) = (1200, 4500);

fn fixture(name: &str) -> String {
    format!(
        "{}/../results/tests/fixtures/compare/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn rgb(hex: &str) -> [u8; 3] {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// The area, in CSS pixels, of the `<rect>`s the page fills with each color.
fn rect_areas(page: &str) -> HashMap<String, f64> {
    let mut areas = HashMap::new();
    for rect in page.split("<rect ").skip(1) {
        let tag = &rect[..rect.find('>').unwrap()];
        let attr = |name: &str| {
            let start = tag
                .find(&format!(" {name}=\""))
                .map(|i| i + name.len() + 3)?;
            let len = tag[start..].find('"')?;
            Some(tag[start..start + len].to_string())
        };
        let (Some(fill), Some(w), Some(h)) = (attr("fill"), attr("width"), attr("height")) else {
            continue;
        };
        let area = w.parse::<f64>().unwrap() * h.parse::<f64>().unwrap();
        *areas.entry(fill).or_insert(0.0) += area;
    }
    areas
}

/// Screenshot `page` with headless Chromium, bounded by TIMEOUT; the PNG's path.
fn screenshot(page: &Path, dir: &Path) -> PathBuf {
    let shot = dir.join("shot.png");
    let log = dir.join("chromium.log");
    let mut child = match Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        // Its own process group, so a stuck Chromium is ended with all its helpers.
        .process_group(0)
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "chromium is not installed: run scripts/setup (it installs Debian's chromium \
             package); this test renders the HTML report with it"
        ),
        Err(e) => panic!("cannot start chromium: {e}"),
    };
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            // SAFETY: kill(2) on the process group this test started.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            panic!("chromium did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        status.success() && shot.exists(),
        "chromium: {status}\n{stderr}"
    );
    shot
}

/// How many pixels of the screenshot have each of `colors` exactly.
fn count_pixels(png_path: &Path, colors: &[[u8; 3]]) -> Vec<usize> {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    assert_eq!((info.width, info.height), WINDOW);
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG color type {other:?}"),
    };
    let mut counts = vec![0; colors.len()];
    for px in buf[..info.buffer_size()].chunks_exact(channels) {
        if let Some(i) = colors.iter().position(|c| px[..3] == c[..]) {
            counts[i] += 1;
        }
    }
    counts
}

#[test]
fn the_html_report_renders_its_plots_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_oomlab"))
        .args(["compare", &fixture("derived"), &fixture("with-timelines")])
        .args(["--format", "html", "--out"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let page = std::fs::read_to_string(&report).unwrap();
    let areas = rect_areas(&page);

    let started = Instant::now();
    let shot = screenshot(&report, dir.path());
    eprintln!("chromium took {:.1} s", started.elapsed().as_secs_f64());

    // What is checked, and the share of its rects' area that must show its exact color:
    // bars lose only their anti-aliased edges and white counts; the interquartile boxes
    // also lie under their outline, median line and dots.
    let mut checked: Vec<(&str, &str, f64)> = OUTCOME_COLORS
        .iter()
        .map(|(o, c)| (o.as_str(), *c, 0.95))
        .collect();
    checked.push(("time-to-recovery box", TTR_BOX_FILL, 0.4));
    let colors: Vec<[u8; 3]> = checked.iter().map(|c| rgb(c.1)).collect();
    let counts = count_pixels(&shot, &colors);
    let mut drawn = Vec::new();
    for ((what, color, share), got) in checked.iter().zip(counts) {
        let want = areas.get(*color).copied().unwrap_or(0.0);
        eprintln!("{what} {color}: {got} px on screen, rects of {want:.0} px");
        // Nothing the page did not ask for has the color.
        assert!(
            got as f64 >= share * want && got as f64 <= want + 50.0,
            "{what} ({color}): {got} pixels on screen, the page's rects cover {want:.0}"
        );
        if want > 0.0 {
            drawn.push(*what);
        }
    }
    // The fixtures have recovered, livelock and panic runs, and recovery times; each
    // outcome fills at least one whole bar (540 x 20 px), the boxes a few thousand px.
    assert_eq!(
        drawn,
        ["recovered", "livelock", "panic", "time-to-recovery box"]
    );
    for (what, min) in [
        ("recovered", 10_000.0),
        ("livelock", 10_000.0),
        ("panic", 10_000.0),
        ("time-to-recovery box", 2_000.0),
    ] {
        let color = checked.iter().find(|c| c.0 == what).unwrap().1;
        assert!(areas[color] > min, "{what}: {}", areas[color]);
    }
}
