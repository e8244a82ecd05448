//! The scatter of attribution (x) against the actual patching effect (y), one colour per
//! group, with the line y = x where a perfect approximation would put every point: an SVG
//! a person would rather look at than read the table.

use super::report::AttributionReport;

const W: f64 = 640.0;
const H: f64 = 480.0;
const PAD: f64 = 56.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
];

/// The SVG, or `None` when the actual effects were not measured.
pub fn svg(report: &AttributionReport) -> Option<String> {
    if !report.actual_measured {
        return None;
    }
    let points: Vec<(usize, f64, f64)> = report
        .candidates
        .iter()
        .filter(|c| !c.result.constant)
        .filter_map(|c| {
            let g = report.groups.iter().position(|g| g.group == c.group)?;
            Some((g, c.result.attribution.mean, c.result.actual?.mean))
        })
        .collect();
    let lim = points
        .iter()
        .flat_map(|&(_, x, y)| [x.abs(), y.abs()])
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.05;
    let sx = |x: f64| PAD + (x + lim) / (2.0 * lim) * (W - 2.0 * PAD);
    let sy = |y: f64| H - PAD - (y + lim) / (2.0 * lim) * (H - 2.0 * PAD);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">attribution vs actual patching: {} ({} samples)</text>\n",
        W / 2.0,
        xml(&report.scenario),
        report.samples
    );
    s += &format!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
        sx(-lim),
        sy(-lim),
        sx(lim),
        sy(lim)
    );
    s += &format!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ccc\"/>\n<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ccc\"/>\n",
        sx(-lim), sy(0.0), sx(lim), sy(0.0), sx(0.0), sy(-lim), sx(0.0), sy(lim)
    );
    s += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">attribution (first-order estimate of Δ loss)</text>\n\
         <text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">actual Δ loss when patched</text>\n\
         <text x=\"{}\" y=\"{}\">{:+.3}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:+.3}</text>\n",
        W / 2.0,
        H - 12.0,
        H / 2.0,
        H / 2.0,
        PAD,
        H - PAD + 16.0,
        -lim,
        W - PAD,
        H - PAD + 16.0,
        lim
    );
    for &(g, x, y) in &points {
        s += &format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{}\" fill-opacity=\"0.7\"/>\n",
            sx(x),
            sy(y),
            COLOURS[g % COLOURS.len()]
        );
    }
    for (i, g) in report.groups.iter().enumerate() {
        let y = PAD + 16.0 * i as f64;
        s += &format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{} (r = {})</text>\n",
            PAD + 8.0,
            y - 4.0,
            COLOURS[i % COLOURS.len()],
            PAD + 16.0,
            y,
            xml(&g.group),
            g.pearson.map_or("—".into(), |r| format!("{r:.2}"))
        );
    }
    s += "</svg>\n";
    Some(s)
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
