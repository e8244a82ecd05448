//! The loss curve as CSV and as a small hand-written SVG line chart (no plotting crate:
//! two polylines and a few labelled ticks are all it needs).

use std::fmt::Write;

/// One logged point of the curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossPoint {
    pub step: usize,
    /// Mean training loss over the steps since the previous point.
    pub train: f64,
    /// Validation loss at this step.
    pub val: f64,
    pub lr: f64,
    /// Wall-clock seconds of training so far.
    pub seconds: f64,
}

/// Header line of the CSV.
pub const CSV_HEADER: &str = "step,train_loss,val_loss,lr,seconds";

/// The curve as CSV.
pub fn csv(points: &[LossPoint]) -> String {
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    for p in points {
        let _ = writeln!(
            s,
            "{},{:.5},{:.5},{:.3e},{:.1}",
            p.step, p.train, p.val, p.lr, p.seconds
        );
    }
    s
}

/// Parses what [`csv`] wrote (for resuming a run); malformed lines are an error.
pub fn parse_csv(text: &str) -> Result<Vec<LossPoint>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |j: usize| -> Result<f64, String> {
            f.get(j)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("line {}: {line:?}", i + 1))
        };
        out.push(LossPoint {
            step: num(0)? as usize,
            train: num(1)?,
            val: num(2)?,
            lr: num(3)?,
            seconds: num(4)?,
        });
    }
    Ok(out)
}

/// An SVG chart of train and validation loss against step.
pub fn svg(points: &[LossPoint], title: &str) -> String {
    let (w, h, left, right, top, bottom) = (720.0, 420.0, 60.0, 20.0, 40.0, 50.0);
    let max_step = points.iter().map(|p| p.step).max().unwrap_or(1).max(1) as f64;
    let losses = points.iter().flat_map(|p| [p.train, p.val]);
    let lo = losses
        .clone()
        .fold(f64::INFINITY, f64::min)
        .min(1e9)
        .floor()
        .max(0.0);
    let hi = losses.fold(0.0f64, f64::max).ceil().max(lo + 1.0);
    let x = |s: f64| left + (w - left - right) * s / max_step;
    let y = |l: f64| top + (h - top - bottom) * (hi - l) / (hi - lo);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="24" font-size="14">{title}</text>"#
    );
    let (x0, x1, y0, y1) = (x(0.0), x(max_step), y(lo), y(hi));
    let _ = writeln!(
        s,
        r#"<polyline points="{x0},{y1} {x0},{y0} {x1},{y0}" fill="none" stroke="black"/>"#
    );
    let ticks = (hi - lo).round() as usize;
    let every = ticks.div_ceil(8).max(1);
    for i in (0..=ticks).step_by(every) {
        let l = lo + i as f64;
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{l}</text><line x1="{x0}" x2="{x1}" y1="{}" y2="{}" stroke="#ddd"/>"##,
            left - 6.0,
            y(l) + 4.0,
            y(l),
            y(l)
        );
    }
    for i in 0..=5 {
        let st = max_step * i as f64 / 5.0;
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            x(st),
            y0 + 18.0,
            st.round()
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">step</text>"#,
        (x0 + x1) / 2.0,
        h - 10.0
    );
    for (name, colour, get, dy) in [
        (
            "train",
            "#999",
            (|p: &LossPoint| p.train) as fn(&LossPoint) -> f64,
            0.0,
        ),
        ("validation", "#1f5fbf", |p: &LossPoint| p.val, 16.0),
    ] {
        let pts: Vec<String> = points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.step as f64), y(get(p))))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5"/>"#,
            pts.join(" ")
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" fill="{colour}">{name}</text>"#,
            x1 - 90.0,
            top + 10.0 + dy
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_and_svg_has_both_lines() {
        let pts = vec![
            LossPoint {
                step: 100,
                train: 6.5,
                val: 6.25,
                lr: 1e-3,
                seconds: 10.0,
            },
            LossPoint {
                step: 200,
                train: 4.0,
                val: 4.25,
                lr: 9e-4,
                seconds: 20.0,
            },
        ];
        assert_eq!(parse_csv(&csv(&pts)).unwrap(), pts);
        let s = svg(&pts, "loss");
        assert_eq!(s.matches("<polyline").count(), 3);
        assert!(s.contains("validation"));
    }
}
