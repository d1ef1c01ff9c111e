//! Time-series line charts as SVG markup, drawn on the server: no script,
//! no inline style (the CSP forbids both), only presentation attributes.
//!
//! [`render`] draws a title, a legend (for several series), a y axis from
//! zero with 3–5 "nice" ticks printed by the caller's formatter, an x axis
//! with hour or date labels (UTC), and one line per series. The `viewBox`
//! lets the drawing shrink to any width (the CSS gives it `width: 100%`).
//! Every text is escaped; screen readers get `role="img"`, an `aria-label`
//! and a `<title>` summarizing each series (latest and peak value).

use crate::web::human_bytes;
use std::fmt::Write as _;

/// Width of the drawing, in viewBox units.
const W: f64 = 480.0;
/// Left edge of the plot (room for the y tick labels).
const LEFT: f64 = 72.0;
/// Right margin (room for half an x label).
const RIGHT: f64 = 24.0;
/// Height of the plot area.
const PLOT_H: f64 = 150.0;
/// A row of the legend.
const LEGEND_ROW: f64 = 18.0;
/// Series colours (dark enough on white) and dash patterns, so that series
/// differ in more than colour.
const COLOURS: [&str; 6] = ["#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#b3261e", "#0f766e"];
const DASHES: [&str; 6] = ["", "6 3", "2 3", "8 3 2 3", "1 3", "4 4"];
const GRID: &str = "#d9dee4";
const MUTED: &str = "#5b6673";
/// Markers are drawn on a lone series of at most this many points.
const MARKERS_UP_TO: usize = 40;

/// The text of a chart without data.
pub(crate) const NO_DATA: &str = "No data for this period yet";

/// How values on the y axis are stepped and printed.
#[derive(Clone, Copy)]
pub(crate) struct YAxis {
    /// Prints a value (tick labels and the accessible summary).
    pub format: fn(f64) -> String,
    /// Step ticks in powers of 1024 (bytes) rather than of 10.
    pub binary: bool,
}

/// Byte values: `512 B`, `1.5 KiB`.
pub(crate) const BYTES: YAxis = YAxis { format: fmt_bytes, binary: true };
/// Counts: `950`, `1.5k`, `2M`.
pub(crate) const COUNT: YAxis = YAxis { format: fmt_count, binary: false };

fn fmt_bytes(v: f64) -> String {
    human_bytes(if v.is_finite() && v > 0.0 { v.round() as u64 } else { 0 })
}

/// A count as people read it: `999`, `1k`, `1.5k`, `2.3M`, `4G`.
pub(crate) fn fmt_count(v: f64) -> String {
    let v = if v.is_finite() && v > 0.0 { v } else { 0.0 };
    let (scaled, suffix) = match v {
        v if v < 1e3 => return format!("{}", v.round() as u64),
        v if v < 1e6 => (v / 1e3, "k"),
        v if v < 1e9 => (v / 1e6, "M"),
        v => (v / 1e9, "G"),
    };
    let s = format!("{scaled:.1}");
    format!("{}{suffix}", s.strip_suffix(".0").unwrap_or(&s))
}

/// One line: `(slot start in Unix seconds, value)` in time order.
pub(crate) struct Series {
    pub name: String,
    pub points: Vec<(i64, f64)>,
}

/// What to draw.
pub(crate) struct Chart<'a> {
    pub title: &'a str,
    /// The slots shown: `from`, `from + step`, ... before `to` (Unix seconds).
    pub from: i64,
    pub to: i64,
    pub step: i64,
    pub y: YAxis,
    pub series: &'a [Series],
}

/// Escapes text for HTML and SVG content and attribute values, with
/// askama's HTML escaper (the one every template uses).
pub(crate) fn esc(s: &str) -> String {
    use askama::filters::Escaper as _;
    let mut out = String::with_capacity(s.len());
    // Writing into a String cannot fail.
    let _ = askama::filters::Html.write_escaped_str(&mut out, s);
    out
}

/// Y ticks from 0: 3 to 5 evenly spaced whole values, the last at or above
/// `max`, stepped 1, 2, 2.5 or 5 times a power of ten (of the largest power
/// of 1024 not above `max` when `binary`).
pub(crate) fn ticks(max: f64, binary: bool) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 { max } else { 0.0 };
    let mut unit = 1.0;
    while binary && max / unit >= 1024.0 {
        unit *= 1024.0;
    }
    let raw = max / unit / 4.0;
    let step = nice_step(raw, unit);
    let intervals = ((max / step) - 1e-9).ceil().max(2.0) as usize;
    (0..=intervals).map(|i| i as f64 * step).collect()
}

/// The smallest whole `m × 10^k × unit` (m in 1, 2, 2.5, 5) at least `raw × unit`.
fn nice_step(raw: f64, unit: f64) -> f64 {
    if raw <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0, 20.0] {
        let s = m * mag * unit;
        let s = if (s - s.round()).abs() < 1e-6 * s.max(1.0) { s.round() } else { s };
        if s >= raw * unit && s >= 1.0 && s.fract() == 0.0 {
            return s;
        }
    }
    (10.0 * mag * unit).ceil().max(1.0)
}

/// Where slot start `t` goes on the x axis: `from` at the left edge of the
/// plot, the last slot at its right edge (one slot: the middle).
pub(crate) fn x_of(t: i64, from: i64, last: i64, left: f64, width: f64) -> f64 {
    if last <= from {
        return left + width / 2.0;
    }
    left + (t - from) as f64 / (last - from) as f64 * width
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `Jan 5` (UTC).
fn day_label(t: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(t) {
        Ok(d) => format!("{} {}", MONTHS[usize::from(u8::from(d.month())) - 1], d.day()),
        Err(_) => String::new(),
    }
}

/// `2026-01-05` (UTC).
pub(crate) fn date(t: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(t) {
        Ok(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
        Err(_) => "-".into(),
    }
}

/// Labels of the x axis: at most 7, on whole hours or days (UTC).
fn x_labels(from: i64, to: i64, step: i64) -> Vec<(i64, String)> {
    const H: i64 = 3600;
    const D: i64 = 86_400;
    let last = to - step;
    let span = (to - from).max(1);
    let every = [H, 3 * H, 6 * H, 12 * H, D, 2 * D, 7 * D, 14 * D, 28 * D, 91 * D, 364 * D]
        .into_iter()
        .find(|&e| e >= step && span / e <= 7)
        .unwrap_or(span);
    let mut t = from.div_euclid(every) * every;
    if t < from {
        t += every;
    }
    let mut out = Vec::new();
    while t <= last && out.len() < 8 {
        let label =
            if every >= D || t.rem_euclid(D) == 0 { day_label(t) } else { format!("{:02}:00", t.rem_euclid(D) / H) };
        out.push((t, label));
        t += every;
    }
    out
}

/// The chart as an `<svg>` element.
pub(crate) fn render(c: &Chart) -> String {
    let empty = c.series.iter().all(|s| s.points.is_empty());
    let last = if c.to - c.step > c.from { c.to - c.step } else { c.from };
    let period = format!("{} to {} (UTC)", date(c.from), date(c.to - 1));
    // Legend rows (several series only).
    let mut legend = Vec::new();
    if c.series.len() > 1 {
        let (mut x, mut row) = (0.0, 0usize);
        for (i, s) in c.series.iter().enumerate() {
            let w = 26.0 + 8.5 * s.name.chars().count() as f64 + 14.0;
            if x > 0.0 && x + w > W {
                x = 0.0;
                row += 1;
            }
            legend.push((i, x, row));
            x += w;
        }
    }
    let legend_rows = legend.last().map_or(0, |&(_, _, r)| r + 1);
    let top = 30.0 + legend_rows as f64 * LEGEND_ROW + 8.0;
    let bottom = top + PLOT_H;
    let height = bottom + 24.0;
    let plot_w = W - LEFT - RIGHT;

    let summary = if empty {
        format!("{}, {period}: {}.", c.title, NO_DATA.to_lowercase())
    } else {
        let parts: Vec<String> = c
            .series
            .iter()
            .map(|s| match s.points.last() {
                None => format!("{}: no data", s.name),
                Some(&(_, latest)) => {
                    let peak = s.points.iter().map(|p| p.1).fold(0.0, f64::max);
                    format!("{}: latest {}, peak {}", s.name, (c.y.format)(latest), (c.y.format)(peak))
                }
            })
            .collect();
        format!("{}, {period}. {}.", c.title, parts.join("; "))
    };

    let mut o = String::with_capacity(4096);
    let _ = write!(
        o,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(&summary),
        esc(&summary)
    );
    let _ =
        write!(o, r#"<text x="0" y="18" font-size="15" font-weight="600" fill="currentColor">{}</text>"#, esc(c.title));
    for &(i, x, row) in &legend {
        let y = 30.0 + row as f64 * LEGEND_ROW + 9.0;
        let _ = write!(
            o,
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="2.5"{}/><text x="{:.1}" y="{:.1}" font-size="13" fill="currentColor">{}</text>"#,
            x + 20.0,
            COLOURS[i % COLOURS.len()],
            dash(i),
            x + 26.0,
            y + 4.5,
            esc(&c.series[i].name)
        );
    }
    if empty {
        let _ = write!(
            o,
            r#"<rect x="{LEFT}" y="{top:.1}" width="{plot_w:.1}" height="{PLOT_H}" fill="none" stroke="{GRID}" stroke-dasharray="4 4"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="14" fill="{MUTED}">{}</text></svg>"#,
            LEFT + plot_w / 2.0,
            top + PLOT_H / 2.0 + 5.0,
            esc(NO_DATA)
        );
        return o;
    }

    let max = c.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    let ticks = ticks(max, c.y.binary);
    let top_value = ticks.last().copied().unwrap_or(1.0).max(1.0);
    let y_of = |v: f64| bottom - (v.max(0.0) / top_value) * PLOT_H;
    for &t in &ticks {
        let y = y_of(t);
        let _ = write!(
            o,
            r#"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{GRID}"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12" fill="{MUTED}">{}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(&(c.y.format)(t))
        );
    }
    for (t, label) in x_labels(c.from, c.to, c.step) {
        let x = x_of(t, c.from, last, LEFT, plot_w);
        let _ = write!(
            o,
            r#"<line x1="{x:.1}" y1="{bottom:.1}" x2="{x:.1}" y2="{:.1}" stroke="{MUTED}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="{MUTED}">{}</text>"#,
            bottom + 4.0,
            bottom + 17.0,
            esc(&label)
        );
    }
    for (i, s) in c.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let pts: Vec<(f64, f64)> =
            s.points.iter().map(|&(t, v)| (x_of(t, c.from, last, LEFT, plot_w), y_of(v))).collect();
        let coords = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
        if c.series.len() == 1 && pts.len() > 1 {
            let (first_x, last_x) = (pts[0].0, pts[pts.len() - 1].0);
            let _ = write!(
                o,
                r#"<polygon points="{first_x:.1},{bottom:.1} {coords} {last_x:.1},{bottom:.1}" fill="{colour}" fill-opacity="0.12"/>"#
            );
        }
        if pts.len() > 1 {
            let _ = write!(
                o,
                r#"<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round"{}/>"#,
                dash(i)
            );
        }
        if pts.len() == 1 || (c.series.len() == 1 && pts.len() <= MARKERS_UP_TO) {
            let r = if pts.len() == 1 { 4.0 } else { 2.5 };
            for (x, y) in &pts {
                let _ = write!(o, r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{colour}"/>"#);
            }
        }
    }
    let _ = write!(
        o,
        r#"<line x1="{LEFT}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="{MUTED}"/></svg>"#,
        W - RIGHT
    );
    o
}

fn dash(i: usize) -> String {
    match DASHES[i % DASHES.len()] {
        "" => String::new(),
        d => format!(r#" stroke-dasharray="{d}""#),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;
    const T0: i64 = 1_767_225_600; // 2026-01-01 00:00 UTC

    fn chart<'a>(title: &'a str, series: &'a [Series]) -> Chart<'a> {
        Chart { title, from: T0, to: T0 + 24 * H, step: H, y: COUNT, series }
    }

    #[test]
    fn ticks_are_few_round_and_cover_the_maximum() {
        assert_eq!(ticks(1000.0, false), [0.0, 250.0, 500.0, 750.0, 1000.0]);
        assert_eq!(ticks(4.1, false), [0.0, 2.0, 4.0, 6.0]);
        assert_eq!(ticks(10.0, false), [0.0, 5.0, 10.0], "no fractional counts");
        assert_eq!(ticks(1.0, false), [0.0, 1.0, 2.0]);
        assert_eq!(ticks(0.0, false), [0.0, 1.0, 2.0]);
        assert_eq!(ticks(f64::NAN, true), [0.0, 1.0, 2.0]);
        assert_eq!(ticks(1536.0, true), [0.0, 512.0, 1024.0, 1536.0]);
        assert_eq!(ticks(3.0 * 1024.0 * 1024.0 * 1024.0, true).last(), Some(&(3.0 * 1024.0 * 1024.0 * 1024.0)));
        for max in [1.0, 3.0, 7.0, 99.0, 101.0, 12_345.0, 987_654_321.0, 5e12] {
            for binary in [false, true] {
                let t = ticks(max, binary);
                assert!((3..=5).contains(&t.len()), "{max} {binary}: {t:?}");
                assert!(t[t.len() - 1] >= max && (t.len() == 3 || t[t.len() - 2] < max), "{max} {binary}: {t:?}");
                assert!(t.iter().all(|v| v.fract() == 0.0), "{max} {binary}: {t:?}");
            }
        }
        assert_eq!(
            ticks(1536.0, true).iter().map(|&v| fmt_bytes(v)).collect::<Vec<_>>(),
            ["0 B", "512 B", "1.0 KiB", "1.5 KiB"]
        );
    }

    #[test]
    fn counts_print_short() {
        assert_eq!(fmt_count(0.0), "0");
        assert_eq!(fmt_count(999.0), "999");
        assert_eq!(fmt_count(1000.0), "1k");
        assert_eq!(fmt_count(1500.0), "1.5k");
        assert_eq!(fmt_count(2_500_000.0), "2.5M");
        assert_eq!(fmt_count(-3.0), "0");
    }

    #[test]
    fn x_mapping_is_monotonic_and_spans_the_plot() {
        let last = T0 + 23 * H;
        let xs: Vec<f64> = (0..24).map(|i| x_of(T0 + i * H, T0, last, LEFT, 300.0)).collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
        assert_eq!(xs[0], LEFT);
        assert_eq!(xs[23], LEFT + 300.0);
        // One slot: the middle, no division by zero.
        assert_eq!(x_of(T0, T0, T0, LEFT, 300.0), LEFT + 150.0);
    }

    #[test]
    fn x_labels_are_hours_or_days() {
        let l = x_labels(T0, T0 + 24 * H, H);
        assert_eq!(l[0], (T0, "Jan 1".to_owned()));
        assert_eq!(l[1], (T0 + 6 * H, "06:00".to_owned()));
        let week = x_labels(T0 + 5 * H, T0 + 5 * H + 7 * 24 * H, H);
        assert_eq!(week.len(), 7);
        assert_eq!(week[0], (T0 + 24 * H, "Jan 2".to_owned()));
        assert!(x_labels(T0, T0 + 30 * 24 * H, 24 * H).len() <= 7);
    }

    #[test]
    fn text_is_escaped() {
        let s = [
            Series { name: "<b>&\"x\"".into(), points: vec![(T0, 1.0)] },
            Series { name: "'y'".into(), points: vec![] },
        ];
        let svg = render(&chart("A <script>alert(1)</script> & co", &s));
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("A &#60;script&#62;alert(1)&#60;/script&#62; &#38; co"), "{svg}");
        assert!(svg.contains("&#60;b&#62;&#38;&#34;x&#34;"), "{svg}");
        assert!(svg.contains("&#39;y&#39;"), "{svg}");
        assert_eq!(esc(r#"<a href="x">&'"#), "&#60;a href=&#34;x&#34;&#62;&#38;&#39;");
    }

    #[test]
    fn no_points_is_the_empty_state() {
        for series in [vec![], vec![Series { name: "GET".into(), points: vec![] }]] {
            let svg = render(&chart("Requests", &series));
            assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
            assert!(svg.contains(NO_DATA), "{svg}");
            assert!(
                svg.contains(r#"role="img""#)
                    && svg.contains("<title>Requests, 2026-01-01 to 2026-01-01 (UTC): no data")
            );
            assert!(!svg.contains("<polyline"));
        }
    }

    #[test]
    fn one_point_is_a_marker_with_its_figures() {
        let s = [Series { name: "Stored".into(), points: vec![(T0 + 3 * H, 1536.0)] }];
        let svg = render(&Chart { y: BYTES, ..chart("Stored bytes", &s) });
        assert!(!svg.contains(NO_DATA));
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
        assert!(!svg.contains("<polyline"), "a line needs two points");
        assert!(svg.contains("Stored: latest 1.5 KiB, peak 1.5 KiB"), "{svg}");
        assert!(svg.contains(">1.5 KiB</text>"), "the top tick: {svg}");
    }

    #[test]
    fn several_series_get_a_legend_and_distinct_lines() {
        let pts = |k: f64| (0..24).map(|i| (T0 + i * H, k * i as f64)).collect::<Vec<_>>();
        let s = [Series { name: "GET".into(), points: pts(1.0) }, Series { name: "PUT".into(), points: pts(2.0) }];
        let svg = render(&chart("Requests", &s));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">GET</text>") && svg.contains(">PUT</text>"));
        assert!(svg.contains(r#"stroke-dasharray="6 3""#));
        assert!(svg.contains("PUT: latest 46, peak 46"), "{svg}");
        assert!(!svg.contains("<polygon"), "areas only under a single series");
    }
}
