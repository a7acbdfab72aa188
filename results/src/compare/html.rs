//! The comparison as one self-contained HTML page: per configuration the table, a
//! time-to-recovery strip plot, outcome bars, and each run's probe latency with its kills.
//!
//! The page loads nothing: no scripts, no fonts, no style sheets; the plots are inline
//! SVG drawn by [`super::svg`]. It is written as XHTML-compatible HTML5 (every element
//! closed, only XML's own entities) so an XML parser can check its structure.

use super::group::{self, KernelId};
use super::load::Loaded;
use super::svg::{self, escape, Anchor, Scale, Svg};
use super::table::{self, preamble, tally};
use super::{Cell, ConfigReport, Report};
use crate::record::{Outcome, RunRecord};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

/// Runs per configuration that get a latency plot; the rest are only counted.
pub const MAX_TIMELINES: usize = 12;

/// One fill per outcome; the rendering test looks for these exact colors.
pub const OUTCOME_COLORS: [(Outcome, &str); 9] = [
    (Outcome::Recovered, "#2b8a3e"),
    (Outcome::NoOom, "#74b9e8"),
    (Outcome::Livelock, "#f08c00"),
    (Outcome::Unrecovered, "#ae3ec9"),
    (Outcome::Hung, "#5c3d1e"),
    (Outcome::Panic, "#e03131"),
    (Outcome::BootFailure, "#868e96"),
    (Outcome::Timeout, "#fcc419"),
    (Outcome::Error, "#0c8599"),
];

/// The interquartile box of the time-to-recovery plot.
pub const TTR_BOX_FILL: &str = "#a5c8ec";
const TTR_INK: &str = "#1c3f6e";
const PROBE_LINE: &str = "#1971c2";
const KILL_MARK: &str = "#c2255c";

const CSS: &str = "body{font-family:sans-serif;margin:16px;color:#222222;max-width:1180px}\
h2{margin-top:32px;border-bottom:1px solid #cccccc}\
h3{margin:18px 0 4px 0;font-size:15px}\
table{border-collapse:collapse;font-size:12px;margin:8px 0}\
th,td{border:1px solid #cccccc;padding:3px 6px;text-align:left;vertical-align:top}\
th{background:#f1f3f5}\
td.v-worse{background:#ffe3e3}td.v-better{background:#e6fcf5}\
td.v-not-enough-runs{background:#f8f9fa}\
.why{font-size:11px;color:#444444}\
.note{font-size:12px;color:#555555;margin:2px 0}\
figure{display:inline-block;margin:4px;vertical-align:top}\
figcaption{font-size:11px;width:280px;overflow-wrap:anywhere}\
.missing{width:280px;height:150px;border:1px dashed #bbbbbb;display:flex;\
align-items:center;justify-content:center;font-size:12px;color:#666666;text-align:center;\
overflow-wrap:anywhere;padding:0 6px;box-sizing:border-box}";

pub fn outcome_color(name: &str) -> &'static str {
    OUTCOME_COLORS
        .iter()
        .find(|(o, _)| o.as_str() == name)
        .map_or("#000000", |(_, c)| c)
}

/// `report` as a page; `loaded` is what it was computed from, for the runs' own data.
pub fn html(report: &Report, loaded: &Loaded) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n");
    out.push_str("<meta charset=\"utf-8\"/>\n<title>oomlab compare</title>\n");
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>");
    out.push_str("<h1>oomlab compare</h1>\n");
    let _ = writeln!(out, "<p>{}.</p>", escape(&preamble(report)));
    let _ = writeln!(out, "<p>{}.</p>", escape(&tally(report)));
    let dirs: HashMap<&str, &Path> = loaded
        .records
        .iter()
        .zip(&loaded.dirs)
        .map(|(r, d)| (r.run_id.as_str(), d.as_path()))
        .collect();
    // compare() builds its configurations from the same grouping, in the same order.
    for (config, g) in report
        .configurations
        .iter()
        .zip(group::group(&loaded.records))
    {
        let runs: Vec<Vec<&RunRecord>> = config
            .cells
            .iter()
            .map(|c| {
                g.kernels
                    .iter()
                    .find(|(k, _)| *k == c.kernel)
                    .map_or_else(Vec::new, |(_, runs)| runs.clone())
            })
            .collect();
        section(&mut out, config, &runs, &dirs);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn section(
    out: &mut String,
    config: &ConfigReport,
    runs: &[Vec<&RunRecord>],
    dirs: &HashMap<&str, &Path>,
) {
    out.push_str("<section class=\"configuration\">\n");
    let _ = writeln!(out, "<h2>{}</h2>", escape(&config.label));
    comparison_table(out, &config.cells);

    out.push_str("<h3>Time to recovery</h3>\n");
    out.push_str(
        "<p class=\"note\">One dot per comparable run that recovered (seconds from pressure \
         start); the box spans the interquartile range, the thick line is the median.</p>\n",
    );
    out.push_str(&ttr_plot(&config.cells, runs));

    out.push_str("\n<h3>Outcomes</h3>\n");
    out.push_str("<p class=\"note\">Share of every run of each kernel, by outcome.</p>\n");
    out.push_str(&outcome_bars(&config.cells));

    out.push_str("\n<h3>Probe latency per run</h3>\n");
    let total: usize = runs.iter().map(Vec::len).sum();
    let shown = pick(runs, MAX_TIMELINES);
    let _ = write!(
        out,
        "<p class=\"note\">Responsiveness-probe latency (ms) against seconds since pressure \
         start, each plot on its own scales; dashed lines are OOM kills, hollow circles \
         failed probes, the grey line the probe threshold."
    );
    if shown.len() < total {
        let _ = write!(
            out,
            " Showing {} of {total} runs: at most {MAX_TIMELINES} per configuration, taken \
             in turn from each kernel (its first runs).",
            shown.len()
        );
    }
    out.push_str("</p>\n<div class=\"runs\">\n");
    for r in shown {
        let plot = match timeline_path(r, dirs) {
            Ok(path) => {
                read_timeline(&path).map_err(|why| format!("{}: {why}", r.artifacts.timeline))
            }
            Err(why) => Err(why),
        };
        out.push_str("<figure>");
        match plot {
            Ok(t) => out.push_str(&timeline_plot(r, &t)),
            Err(why) => {
                let _ = write!(
                    out,
                    "<div class=\"missing\"><p>timeline not available<br/><small>{}</small></p></div>",
                    escape(&why)
                );
            }
        }
        let ttr = r.time_to_recovery_ms.map_or_else(String::new, |t| {
            format!(", recovered in {:.2} s", t as f64 / 1e3)
        });
        let _ = writeln!(
            out,
            "<figcaption>{} rep {}: {}{}<br/><small>{}</small></figcaption></figure>",
            escape(&r.kernel.spec),
            r.rep,
            r.outcome,
            ttr,
            escape(&r.run_id)
        );
    }
    out.push_str("</div>\n</section>\n");
}

fn comparison_table(out: &mut String, cells: &[Cell]) {
    out.push_str("<table>\n<thead><tr>");
    for h in table::HEADER {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for c in cells {
        let row = table::row(c);
        out.push_str("<tr>");
        let (verdict, numbers) = row.split_last().expect("the row has columns");
        for v in numbers {
            let _ = write!(out, "<td>{}</td>", escape(v));
        }
        let class = format!("v-{}", c.verdict.as_str().replace(' ', "-"));
        let _ = write!(
            out,
            "<td class=\"{class}\"><strong>{}</strong>",
            escape(verdict)
        );
        for why in &c.reasons {
            let _ = write!(out, "<div class=\"why\">{}</div>", escape(why));
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Long kernel names are cut to fit the label column.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

const WIDTH: f64 = 900.0;
const LEFT: f64 = 330.0;
const RIGHT: f64 = 30.0;
const LABEL_CHARS: usize = 50;

fn kernel_label(svg: &mut Svg, y: f64, k: &KernelId) {
    let style = "font-size=\"12\" fill=\"#222222\"";
    svg.text(
        LEFT - 10.0,
        y + 4.0,
        Anchor::End,
        style,
        &short(&k.to_string(), LABEL_CHARS),
    );
}

/// (a) Time to recovery per kernel: dots, median and interquartile box, shared x axis.
fn ttr_plot(cells: &[Cell], runs: &[Vec<&RunRecord>]) -> String {
    const ROW: f64 = 34.0;
    const TOP: f64 = 10.0;
    let secs: Vec<Vec<(&RunRecord, f64)>> = runs
        .iter()
        .map(|rs| {
            super::comparable(rs)
                .into_iter()
                .filter_map(|r| Some((r, r.time_to_recovery_ms? as f64 / 1e3)))
                .collect()
        })
        .collect();
    let max = secs.iter().flatten().map(|(_, s)| *s).fold(0.0, f64::max);
    let ticks = svg::ticks(0.0, max, 8);
    let x = Scale::new(
        (ticks[0], *ticks.last().expect("ticks are never empty")),
        (LEFT, WIDTH - RIGHT),
    );
    let axis_y = TOP + ROW * cells.len() as f64;
    let height = axis_y + 44.0;
    let mut svg = Svg::new(
        WIDTH,
        height,
        "plot ttr",
        "time to recovery per kernel, seconds",
    );
    svg.x_axis(&x, &ticks, axis_y, TOP, "");
    svg.text(
        (LEFT + WIDTH - RIGHT) / 2.0,
        axis_y + 34.0,
        Anchor::Middle,
        svg::SMALL,
        "time to recovery (s)",
    );
    for (i, (cell, values)) in cells.iter().zip(&secs).enumerate() {
        let y = TOP + ROW * i as f64 + ROW / 2.0;
        kernel_label(&mut svg, y, &cell.kernel);
        if values.is_empty() {
            svg.text(
                LEFT + 8.0,
                y + 4.0,
                Anchor::Start,
                "font-size=\"12\" fill=\"#777777\" font-style=\"italic\"",
                "no comparable run recovered",
            );
            continue;
        }
        if let Some(s) = cell.ttr_ms {
            let (q1, q3, med) = (x.at(s.q1 / 1e3), x.at(s.q3 / 1e3), x.at(s.median / 1e3));
            let title = format!(
                "{}: median {:.2} s, IQR {:.2}-{:.2} s, {} runs",
                cell.kernel,
                s.median / 1e3,
                s.q1 / 1e3,
                s.q3 / 1e3,
                s.n
            );
            // At least 3 px wide, so identical quartiles still show a box.
            let style = format!("fill=\"{TTR_BOX_FILL}\" stroke=\"{TTR_INK}\" stroke-width=\"1\"");
            let w = (q3 - q1).max(3.0);
            svg.rect(q1.min(med - 1.5), y - 11.0, w, 22.0, &style, Some(&title));
            let ink = format!("stroke=\"{TTR_INK}\" stroke-width=\"3\"");
            svg.line((med, y - 13.0), (med, y + 13.0), &ink);
        }
        for (j, (r, v)) in values.iter().enumerate() {
            let jitter = [0.0, -5.0, 5.0][j % 3];
            let title = format!("{}: {:.2} s", r.run_id, v);
            let style = format!(
                "fill=\"{TTR_INK}\" fill-opacity=\"0.75\" stroke=\"#ffffff\" stroke-width=\"0.5\""
            );
            svg.circle(x.at(*v), y + jitter, 3.5, &style, Some(&title));
        }
    }
    svg.finish()
}

/// (b) One stacked bar per kernel: the share of its runs with each outcome, and a legend.
fn outcome_bars(cells: &[Cell]) -> String {
    const ROW: f64 = 30.0;
    const TOP: f64 = 10.0;
    let x = Scale::new((0.0, 100.0), (LEFT, WIDTH - RIGHT));
    let axis_y = TOP + ROW * cells.len() as f64;
    let present: Vec<(Outcome, &str)> = OUTCOME_COLORS
        .iter()
        .copied()
        .filter(|(o, _)| cells.iter().any(|c| c.outcomes.contains_key(o.as_str())))
        .collect();
    // The legend: one swatch and name per outcome seen, wrapped onto lines.
    let mut legend = Vec::new();
    let (mut lx, mut ly) = (LEFT, axis_y + 34.0);
    for (o, color) in &present {
        let w = 30.0 + 7.0 * o.as_str().len() as f64;
        if lx + w > WIDTH - RIGHT && lx > LEFT {
            lx = LEFT;
            ly += 18.0;
        }
        legend.push((lx, ly, *o, *color));
        lx += w;
    }
    let height = ly + 14.0;
    let mut svg = Svg::new(WIDTH, height, "plot outcomes", "outcomes per kernel");
    svg.x_axis(&x, &[0.0, 25.0, 50.0, 75.0, 100.0], axis_y, TOP, "%");
    for (i, cell) in cells.iter().enumerate() {
        let y = TOP + ROW * i as f64 + ROW / 2.0;
        kernel_label(&mut svg, y, &cell.kernel);
        let mut done = 0usize;
        for (o, color) in &present {
            let n = cell.outcomes.get(o.as_str()).copied().unwrap_or(0);
            if n == 0 || cell.runs == 0 {
                continue;
            }
            let x0 = x.at(100.0 * done as f64 / cell.runs as f64);
            done += n;
            let x1 = x.at(100.0 * done as f64 / cell.runs as f64);
            let title = format!("{}: {o} {n} of {}", cell.kernel, cell.runs);
            svg.rect(
                x0,
                y - 10.0,
                x1 - x0,
                20.0,
                &format!("fill=\"{color}\""),
                Some(&title),
            );
            if x1 - x0 >= 16.0 {
                svg.text(
                    (x0 + x1) / 2.0,
                    y + 4.0,
                    Anchor::Middle,
                    "font-size=\"11\" fill=\"#ffffff\"",
                    &n.to_string(),
                );
            }
        }
    }
    for (lx, ly, o, color) in legend {
        svg.rect(
            lx,
            ly - 10.0,
            12.0,
            12.0,
            &format!("fill=\"{color}\""),
            None,
        );
        svg.text(lx + 16.0, ly, Anchor::Start, svg::SMALL, o.as_str());
    }
    svg.finish()
}

/// The runs that get a latency plot: taken in turn from each kernel until `cap`, then
/// listed kernel by kernel, each kernel's first runs.
fn pick<'a>(runs: &[Vec<&'a RunRecord>], cap: usize) -> Vec<&'a RunRecord> {
    let mut quota = vec![0usize; runs.len()];
    let mut taken = 0;
    while taken < cap {
        let before = taken;
        for (q, rs) in quota.iter_mut().zip(runs) {
            if taken < cap && *q < rs.len() {
                *q += 1;
                taken += 1;
            }
        }
        if taken == before {
            break;
        }
    }
    runs.iter()
        .zip(quota)
        .flat_map(|(rs, q)| rs.iter().take(q).copied())
        .collect()
}

fn timeline_path(r: &RunRecord, dirs: &HashMap<&str, &Path>) -> Result<std::path::PathBuf, String> {
    if r.artifacts.timeline.is_empty() {
        return Err("the record names no timeline".to_string());
    }
    let dir = dirs
        .get(r.run_id.as_str())
        .ok_or_else(|| "its results directory is unknown".to_string())?;
    Ok(dir.join(&r.artifacts.timeline))
}

/// What a latency plot shows, in seconds since pressure start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// (time, latency ms, ok)
    pub probes: Vec<(f64, u64, bool)>,
    /// (time, what was killed)
    pub kills: Vec<(f64, String)>,
}

pub fn read_timeline(path: &Path) -> Result<Timeline, String> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => format!("cannot read it: {e}"),
    })?;
    parse_timeline(&text)
}

/// Probes and kills of a `timeline.jsonl` (agent clock, ms), relative to `pressure_start`.
pub fn parse_timeline(text: &str) -> Result<Timeline, String> {
    let mut start: Option<i64> = None;
    let mut probes = Vec::new();
    let mut kills = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        let (Some(t), Some(source)) = (v["t_ms"].as_i64(), v["source"].as_str()) else {
            return Err(format!("line {}: no t_ms or source", i + 1));
        };
        let e = &v["event"];
        match (source, e["event"].as_str(), e["kind"].as_str()) {
            ("agent", Some("pressure_start"), _) => {
                start.get_or_insert(t);
            }
            ("agent", Some("probe"), _) => {
                if let Some(ms) = e["latency_ms"].as_u64() {
                    probes.push((t, ms, e["ok"].as_bool().unwrap_or(true)));
                }
            }
            ("kernel", _, Some("kill")) => {
                let what = format!(
                    "{} ({})",
                    e["comm"].as_str().unwrap_or("?"),
                    e["pid"].as_u64().map_or("?".to_string(), |p| p.to_string())
                );
                kills.push((t, what));
            }
            _ => {}
        }
    }
    let start = start.ok_or("no pressure_start event")?;
    let secs = |t: i64| (t - start) as f64 / 1e3;
    Ok(Timeline {
        probes: probes
            .into_iter()
            .filter(|(t, _, _)| *t >= start)
            .map(|(t, ms, ok)| (secs(t), ms, ok))
            .collect(),
        kills: kills.into_iter().map(|(t, w)| (secs(t), w)).collect(),
    })
}

/// (c) One run: probe latency over time since pressure start, kills as vertical lines.
fn timeline_plot(r: &RunRecord, t: &Timeline) -> String {
    const W: f64 = 280.0;
    const H: f64 = 150.0;
    const L: f64 = 40.0;
    const R: f64 = 10.0;
    const T: f64 = 16.0;
    const B: f64 = 112.0;
    let threshold = r.verdict_config.probe_threshold_ms;
    let t_max = t
        .probes
        .iter()
        .map(|p| p.0)
        .chain(t.kills.iter().map(|k| k.0))
        .fold(0.0, f64::max);
    let ms_max = t.probes.iter().map(|p| p.1).fold(threshold, u64::max) as f64;
    let xt = svg::ticks(
        0.0_f64.min(t.kills.iter().map(|k| k.0).fold(0.0, f64::min)),
        t_max,
        5,
    );
    let yt = svg::ticks(0.0, ms_max, 4);
    let last = |v: &[f64]| *v.last().expect("ticks are never empty");
    let x = Scale::new((xt[0], last(&xt)), (L, W - R));
    let y = Scale::new((yt[0], last(&yt)), (B, T));
    let label = format!("probe latency of run {}", r.run_id);
    let mut svg = Svg::new(W, H, "plot timeline", &label);
    svg.y_axis(&y, &yt, L, W - R);
    svg.x_axis(&x, &xt, B, T, "");
    svg.text(
        W - R,
        H - 4.0,
        Anchor::End,
        svg::SMALL,
        "s since pressure start",
    );
    svg.text(L - 6.0, 9.0, Anchor::End, svg::SMALL, "ms");
    if threshold > 0 {
        let ty = y.at(threshold as f64);
        svg.line_titled(
            (L, ty),
            (W - R, ty),
            "stroke=\"#999999\" stroke-width=\"1\" stroke-dasharray=\"2 2\"",
            Some(&format!("probe threshold {threshold} ms")),
        );
    }
    let points: Vec<(f64, f64)> = t
        .probes
        .iter()
        .map(|(s, ms, _)| (x.at(*s), y.at(*ms as f64)))
        .collect();
    svg.polyline(
        &points,
        &format!("stroke=\"{PROBE_LINE}\" stroke-width=\"1.5\""),
    );
    for (s, ms, ok) in &t.probes {
        if !ok {
            svg.circle(
                x.at(*s),
                y.at(*ms as f64),
                3.0,
                "fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"",
                Some(&format!("failed probe at {s:.2} s: {ms} ms")),
            );
        }
    }
    let style = format!("stroke=\"{KILL_MARK}\" stroke-width=\"1.5\" stroke-dasharray=\"4 2\"");
    for (s, what) in &t.kills {
        let kx = x.at(*s);
        svg.line_titled(
            (kx, T),
            (kx, B),
            &style,
            Some(&format!("OOM kill of {what} at {s:.2} s")),
        );
    }
    if t.probes.is_empty() {
        svg.text(
            (L + W - R) / 2.0,
            (T + B) / 2.0,
            Anchor::Middle,
            svg::SMALL,
            "no probes after pressure start",
        );
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::testdata::recovered;
    use crate::compare::{compare, Options};
    use quick_xml::events::Event;
    use quick_xml::Reader;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/compare")
            .join(name)
    }

    fn render(loaded: &Loaded) -> String {
        html(
            &compare(&loaded.records, &Options::default()).unwrap(),
            loaded,
        )
    }

    /// Parse as XML, strictly: every element closed and properly nested, only XML's own
    /// entities, well-formed attributes. Returns the number of elements.
    fn well_formed(doc: &str) -> Result<usize, String> {
        let mut reader = Reader::from_str(doc);
        reader.config_mut().check_end_names = true;
        let mut open: Vec<String> = Vec::new();
        let mut elements = 0;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| format!("at {}: {e}", reader.buffer_position()))?;
            let start = match &event {
                Event::Eof => break,
                Event::Start(e) | Event::Empty(e) => Some(e),
                Event::End(e) => {
                    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    if open.pop().as_deref() != Some(name.as_str()) {
                        return Err(format!("</{name}> closes nothing open"));
                    }
                    None
                }
                Event::Text(t) => {
                    t.unescape().map_err(|e| format!("text: {e}"))?;
                    None
                }
                Event::DocType(_) if elements == 0 => None,
                Event::CData(_) | Event::Comment(_) => None,
                other => return Err(format!("unexpected {other:?}")),
            };
            if let Some(e) = start {
                if elements == 0 && e.name().as_ref() != b"html" {
                    return Err("the root is not <html>".into());
                }
                if elements > 0 && open.is_empty() {
                    return Err("a second root element".into());
                }
                elements += 1;
                for a in e.attributes() {
                    let a = a.map_err(|e| format!("attribute: {e}"))?;
                    a.unescape_value().map_err(|e| format!("attribute: {e}"))?;
                }
                if matches!(event, Event::Start(_)) {
                    open.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                }
            }
        }
        match open.last() {
            Some(name) => Err(format!("<{name}> is never closed")),
            None if elements == 0 => Err("no elements".into()),
            None => Ok(elements),
        }
    }

    #[test]
    fn the_checker_rejects_what_is_not_well_formed() {
        let ok = "<!DOCTYPE html>\n<html><body><p>a &amp; b<br/></p></body></html>";
        assert_eq!(well_formed(ok), Ok(4));
        for bad in [
            "<html><body><p>a</body></html>",
            "<html><body><p>a</p></body>",
            "<html><p>&nbsp;</p></html>",
            "<html><p>a & b</p></html>",
            "<html><meta charset=utf-8/></html>",
            "<html><br></html>",
            "<html></html><html></html>",
        ] {
            assert!(well_formed(bad).is_err(), "{bad}");
        }
    }

    fn fixtures() -> Loaded {
        load::load_with_dirs(&[fixture("derived"), fixture("with-timelines")]).unwrap()
    }

    use crate::compare::load;

    #[test]
    fn one_plot_of_each_kind_per_configuration_and_one_per_shown_run() {
        let loaded = fixtures();
        let report = compare(&loaded.records, &Options::default()).unwrap();
        let page = html(&report, &loaded);
        assert_eq!(well_formed(&page).map(|n| n > 100), Ok(true));
        // usemem (derived, 27 runs, no run folders), protected-hog and idle-hog (2 runs
        // each, with their timelines).
        assert_eq!(report.configurations.len(), 3);
        let sections: Vec<&str> = page.split("<section ").skip(1).collect();
        assert_eq!(sections.len(), 3);
        for (s, (timelines, missing)) in sections.iter().zip([(0, 12), (2, 0), (2, 0)]) {
            assert_eq!(s.matches("<svg ").count(), 2 + timelines);
            assert_eq!(s.matches("class=\"plot ttr\"").count(), 1);
            assert_eq!(s.matches("class=\"plot outcomes\"").count(), 1);
            assert_eq!(s.matches("class=\"plot timeline\"").count(), timelines);
            assert_eq!(s.matches("timeline not available").count(), missing);
            assert_eq!(s.matches("<figure>").count(), timelines + missing);
        }
        assert!(sections[0].contains("Showing 12 of 27 runs"));
        assert!(!sections[1].contains("Showing"));
        // The tables: a row per kernel, with the verdicts and their reasons.
        assert_eq!(sections[0].matches("<tr>").count(), 7);
        assert!(sections[0].contains("<td class=\"v-worse\"><strong>worse</strong>"));
        assert!(sections[0].contains("time to recovery slower: median +3000 ms"));
        // Outcome bars in the outcome colors, one segment per kernel and outcome.
        let panic = format!("fill=\"{}\"", outcome_color("panic"));
        // Two bars and the legend's swatch.
        assert_eq!(sections[1].matches(&panic).count(), 3);
    }

    #[test]
    fn the_page_loads_nothing_from_anywhere() {
        let page = render(&fixtures());
        let svg_ns = "xmlns=\"http://www.w3.org/2000/svg\"";
        let without_ns = page.replace(svg_ns, "");
        assert_eq!(page.matches(svg_ns).count(), 10);
        for needle in [
            "http:",
            "https:",
            "//",
            "<script",
            "<link",
            "<img",
            "<iframe",
            "<object",
            "src=",
            "href=",
            "url(",
            "@import",
            "@font-face",
        ] {
            assert!(!without_ns.contains(needle), "{needle}");
        }
    }

    #[test]
    fn hostile_names_are_escaped_and_the_page_stays_well_formed() {
        let mut records = recovered("<script>alert('x')</script>", 5, 1000, 100);
        records.extend(recovered("k&\"b\u{1}\"", 5, 2000, 100));
        for r in &mut records {
            r.scenario = "a</h2><b>&amp;".into();
            r.run_id = format!("{}-<{}>", r.run_id, r.time_to_recovery_ms.unwrap());
        }
        let loaded = Loaded {
            dirs: vec![PathBuf::from("/nonexistent"); records.len()],
            records,
        };
        let page = render(&loaded);
        well_formed(&page).unwrap();
        assert!(!page.contains("<script>") && !page.contains("<b>"));
        assert!(page.contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"));
        assert!(page.contains("<h2>a&lt;/h2&gt;&lt;b&gt;&amp;amp;, 256 MiB"));
    }

    const REAL: &str = "runs/20261127T133240Z-idle-hog-6.1.0-r0-344bd62e/timeline.jsonl";

    #[test]
    fn a_real_timeline_gives_probes_and_the_recorded_kill_time() {
        let t = read_timeline(&fixture("with-timelines").join(REAL)).unwrap();
        // The record says the kill came 3908 ms after pressure start.
        assert_eq!(t.kills.len(), 1);
        assert_eq!(t.kills[0].0, 3.908);
        assert_eq!(t.kills[0].1, "usemem (101)");
        assert!(t.probes.len() > 5, "{t:?}");
        assert!(t
            .probes
            .iter()
            .all(|(s, ms, ok)| *s >= 0.0 && *ms > 0 && *ok));
        assert!(t.probes.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn missing_and_broken_timelines_are_said_in_place_of_the_plot() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::read_to_string(fixture("with-timelines").join(REAL)).unwrap();
        let mut records = recovered("a", 5, 1000, 100);
        let contents: [Option<String>; 5] = [
            Some(real.clone()),
            None,
            Some(format!("{real}{{\"t_ms\": 1, \"truncated")),
            Some(real.replace("pressure_start", "something_else")),
            Some(real.replace("\"ok\":true", "\"ok\":false")),
        ];
        for (i, (r, text)) in records.iter_mut().zip(&contents).enumerate() {
            r.artifacts.timeline = format!("runs/{i}/timeline.jsonl");
            if let Some(text) = text {
                let d = dir.path().join(format!("runs/{i}"));
                std::fs::create_dir_all(&d).unwrap();
                std::fs::write(d.join("timeline.jsonl"), text).unwrap();
            }
        }
        records[1].artifacts.timeline.clear();
        let loaded = Loaded {
            dirs: vec![dir.path().to_path_buf(); records.len()],
            records,
        };
        let page = render(&loaded);
        well_formed(&page).unwrap();
        assert_eq!(page.matches("class=\"plot timeline\"").count(), 2);
        assert_eq!(page.matches("timeline not available").count(), 3);
        assert!(page.contains("the record names no timeline"));
        let lines = real.lines().count();
        assert!(page.contains(&format!("runs/2/timeline.jsonl: line {}", lines + 1)));
        assert!(page.contains("runs/3/timeline.jsonl: no pressure_start event"));
        // Failed probes are drawn as hollow circles, with what they were.
        assert!(page.contains("<title>failed probe at "));
        std::fs::remove_dir_all(dir.path().join("runs/0")).unwrap();
        let page = render(&loaded);
        assert!(page.contains("runs/0/timeline.jsonl: no such file"));
    }

    #[test]
    fn at_most_twelve_runs_are_plotted_taken_in_turn_from_each_kernel() {
        let mut records = recovered("a", 20, 1000, 10);
        records.extend(recovered("b", 1, 1000, 10));
        records.extend(recovered("c", 3, 1000, 10));
        for (i, r) in records.iter_mut().enumerate() {
            r.run_id = format!("run{i}");
        }
        let loaded = Loaded {
            dirs: vec![PathBuf::from("/nonexistent"); records.len()],
            records,
        };
        let groups = group::group(&loaded.records);
        let runs: Vec<Vec<&RunRecord>> = groups[0].kernels.iter().map(|k| k.1.clone()).collect();
        let ids: Vec<&str> = pick(&runs, MAX_TIMELINES)
            .iter()
            .map(|r| r.run_id.as_str())
            .collect();
        let a: Vec<String> = (0..8).map(|i| format!("run{i}")).collect();
        let expected: Vec<&str> = a
            .iter()
            .map(String::as_str)
            .chain(["run20", "run21", "run22", "run23"])
            .collect();
        assert_eq!(ids, expected);
        assert_eq!(pick(&runs, 100).len(), 24);
        let page = render(&loaded);
        assert_eq!(page.matches("<figure>").count(), 12);
        assert!(page.contains("Showing 12 of 24 runs: at most 12 per configuration"));
    }

    #[test]
    fn long_kernel_names_are_shortened_in_the_plots_only() {
        let long = "x".repeat(80);
        assert_eq!(short(&long, 10), "xxxxxxxxx…");
        assert_eq!(short("abc", 10), "abc");
        let records = recovered(&long, 2, 1000, 10);
        let loaded = Loaded {
            dirs: vec![PathBuf::new(); records.len()],
            records,
        };
        let page = render(&loaded);
        assert!(page.contains(&format!("<td>{long} ({long}-release)</td>")));
        assert!(page.contains(&format!("{}…</text>", "x".repeat(LABEL_CHARS - 1))));
    }
}
