//! A very small SVG writer for the HTML report: shapes, text, linear scales and axis
//! ticks. Every string that reaches the output goes through [`escape`], and numbers are
//! written with one decimal, so the drawing is well-formed XML whatever the names hold.

use std::fmt::Write;

/// Escape for XML text and attribute values alike. Characters XML 1.0 cannot carry at
/// all (most C0 controls) become U+FFFD rather than make the document invalid.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate: one decimal, no trailing `.0`, never `NaN` or `inf` (those become 0).
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let s = format!("{:.1}", v);
    let s = s.strip_suffix(".0").unwrap_or(&s);
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Linear map from a data interval onto a pixel interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl Scale {
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Scale {
        Scale {
            d0: domain.0,
            d1: domain.1,
            r0: range.0,
            r1: range.1,
        }
    }

    /// Pixel position of `v`; an empty domain maps everything to the range's start.
    pub fn at(&self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 || !span.is_finite() {
            return self.r0;
        }
        self.r0 + (v - self.d0) / span * (self.r1 - self.r0)
    }
}

/// Axis ticks: round values (1, 2 or 5 times a power of ten apart) from the last one at
/// or below `lo` up to the first one at or above `hi`, at most about `max_ticks` of them. The first
/// and last ticks are the axis ends, so every value lies on the axis.
pub fn ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<f64> {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    let hi = if hi - lo <= 0.0 { lo + 1.0 } else { hi };
    let step = tick_step(hi - lo, max_ticks.max(1));
    // The slack keeps 0.3 / 0.1 = 2.9999999999999996 from adding a tick.
    let first = (lo / step + 1e-9).floor();
    let last = (hi / step - 1e-9).ceil();
    let decimals = decimals_for(step);
    let count = (last - first) as i64;
    (0..=count)
        .map(|i| {
            // Through the decimal string, so 3 * 0.2 is 0.6 and not 0.6000000000000001.
            let v = (first + i as f64) * step;
            format!("{v:.decimals$}").parse().unwrap_or(v)
        })
        .collect()
}

/// Decimals that a multiple of `step` needs to be written exactly.
fn decimals_for(step: f64) -> usize {
    if step >= 1.0 || step <= 0.0 || !step.is_finite() {
        0
    } else {
        (-step.log10() - 1e-9).ceil() as usize
    }
}

/// The round step that cuts `span` into at most `n` intervals.
pub fn tick_step(span: f64, n: usize) -> f64 {
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag)
}

/// A tick label: as many decimals as the step between ticks needs, no more.
pub fn tick_label(v: f64, step: f64) -> String {
    let s = format!("{:.*}", decimals_for(step), v);
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn as_str(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// One `<svg>` element being drawn. Colors and classes are the caller's constants;
/// titles and text are escaped here.
pub struct Svg {
    out: String,
}

impl Svg {
    /// `class` marks the plot's kind; `label` is its accessible name.
    pub fn new(width: f64, height: f64, class: &str, label: &str) -> Svg {
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{}\" width=\"{}\" height=\"{}\" \
             viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">",
            escape(class),
            num(width),
            num(height),
            num(width),
            num(height),
            escape(label)
        );
        let _ = write!(out, "<title>{}</title>", escape(label));
        Svg { out }
    }

    fn tooltip(&mut self, tag: &str, title: Option<&str>) {
        match title {
            Some(t) => {
                let _ = write!(self.out, "><title>{}</title></{tag}>", escape(t));
            }
            None => self.out.push_str("/>"),
        }
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, style: &str, title: Option<&str>) {
        let _ = write!(
            self.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {style}",
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0))
        );
        self.tooltip("rect", title);
    }

    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), style: &str) {
        self.line_titled((x1, y1), (x2, y2), style, None);
    }

    pub fn line_titled(
        &mut self,
        (x1, y1): (f64, f64),
        (x2, y2): (f64, f64),
        style: &str,
        title: Option<&str>,
    ) {
        let _ = write!(
            self.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {style}",
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
        self.tooltip("line", title);
    }

    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, style: &str, title: Option<&str>) {
        let _ = write!(
            self.out,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" {style}",
            num(cx),
            num(cy),
            num(r)
        );
        self.tooltip("circle", title);
    }

    pub fn polyline(&mut self, points: &[(f64, f64)], style: &str) {
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
            .collect();
        let _ = write!(
            self.out,
            "<polyline points=\"{}\" fill=\"none\" {style}/>",
            pts.join(" ")
        );
    }

    pub fn text(&mut self, x: f64, y: f64, anchor: Anchor, style: &str, text: &str) {
        let _ = write!(
            self.out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{}\" {style}>{}</text>",
            num(x),
            num(y),
            anchor.as_str(),
            escape(text)
        );
    }

    /// A horizontal axis at `y` with ticks, labels and light grid lines up to `grid_top`.
    pub fn x_axis(&mut self, scale: &Scale, ticks: &[f64], y: f64, grid_top: f64, unit: &str) {
        let step = tick_spacing(ticks);
        for &t in ticks {
            let x = scale.at(t);
            self.line((x, grid_top), (x, y), GRID);
            self.line((x, y), (x, y + 4.0), AXIS);
            let label = format!("{}{unit}", tick_label(t, step));
            self.text(x, y + 16.0, Anchor::Middle, SMALL, &label);
        }
        self.line((scale.r0, y), (scale.r1, y), AXIS);
    }

    /// A vertical axis at `x` with ticks, labels and light grid lines across to `grid_right`.
    pub fn y_axis(&mut self, scale: &Scale, ticks: &[f64], x: f64, grid_right: f64) {
        let step = tick_spacing(ticks);
        for &t in ticks {
            let y = scale.at(t);
            self.line((x, y), (grid_right, y), GRID);
            self.line((x - 4.0, y), (x, y), AXIS);
            self.text(x - 6.0, y + 4.0, Anchor::End, SMALL, &tick_label(t, step));
        }
        self.line((x, scale.r0), (x, scale.r1), AXIS);
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

fn tick_spacing(ticks: &[f64]) -> f64 {
    match ticks {
        [a, b, ..] => b - a,
        _ => 1.0,
    }
}

/// Shared presentation attributes.
pub const AXIS: &str = "stroke=\"#555555\" stroke-width=\"1\"";
pub const GRID: &str = "stroke=\"#e4e4e4\" stroke-width=\"1\"";
pub const SMALL: &str = "font-size=\"11\" fill=\"#333333\"";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_quotes_and_controls() {
        assert_eq!(
            escape("a<b>&\"c\" 'd'"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;"
        );
        assert_eq!(
            escape("tab\there\u{1}\u{ffff}é"),
            "tab\there\u{fffd}\u{fffd}é"
        );
        let mut svg = Svg::new(10.0, 10.0, "k<i>nd", "</svg><script>");
        svg.text(1.0, 2.0, Anchor::Start, SMALL, "&lt; stays text");
        svg.rect(
            0.0,
            0.0,
            1.0,
            1.0,
            "fill=\"#000000\"",
            Some("a \"quoted\" <title>"),
        );
        let s = svg.finish();
        assert!(!s.contains("<script>") && !s.contains("k<i>"), "{s}");
        assert!(s.contains(">&amp;lt; stays text</text>"), "{s}");
        assert!(s.contains("<title>a &quot;quoted&quot; &lt;title&gt;</title></rect>"));
        assert_eq!(s.matches("<svg").count(), 1);
        assert!(s.ends_with("</svg>"));
    }

    #[test]
    fn numbers_are_short_and_finite() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.25), "2.2");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::INFINITY), "0");
        assert_eq!(num(1234.56), "1234.6");
    }

    #[test]
    fn scales_map_linearly_and_survive_empty_domains() {
        let s = Scale::new((0.0, 10.0), (100.0, 600.0));
        assert_eq!(s.at(0.0), 100.0);
        assert_eq!(s.at(10.0), 600.0);
        assert_eq!(s.at(2.5), 225.0);
        // An inverted range, as the y axis has.
        let y = Scale::new((0.0, 200.0), (150.0, 10.0));
        assert_eq!(y.at(100.0), 80.0);
        assert_eq!(Scale::new((5.0, 5.0), (1.0, 9.0)).at(5.0), 1.0);
    }

    #[test]
    fn ticks_are_round_and_cover_the_data() {
        assert_eq!(ticks(0.0, 5.551, 6), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(ticks(0.0, 10.0, 5), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0, 174.0, 4), [0.0, 50.0, 100.0, 150.0, 200.0]);
        assert_eq!(ticks(1.99, 5.55, 4), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let small = ticks(0.0, 0.3, 3);
        assert_eq!(small.len(), 4);
        assert!((small[3] - 0.3).abs() < 1e-12, "{small:?}");
        // Nothing to show still gives an axis.
        assert_eq!(ticks(0.0, 0.0, 5), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(ticks(f64::NAN, 3.0, 5), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        for (hi, n) in [(7.3, 5), (123.0, 4), (0.042, 6), (86_400.0, 8)] {
            let t = ticks(0.0, hi, n);
            assert!(t.len() <= n + 2, "{hi}: {t:?}");
            assert!(*t.last().unwrap() >= hi, "{hi}: {t:?}");
        }
    }

    #[test]
    fn tick_labels_use_the_decimals_the_step_needs() {
        assert_eq!(tick_label(2.0, 1.0), "2");
        assert_eq!(tick_label(150.0, 50.0), "150");
        assert_eq!(tick_label(0.5, 0.5), "0.5");
        assert_eq!(tick_label(0.30000000000000004, 0.1), "0.3");
        assert_eq!(tick_label(0.04, 0.02), "0.04");
        assert_eq!(tick_label(-0.0, 0.1), "0.0");
    }
}
