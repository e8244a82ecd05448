//! Counterexample results as a terminal table and as markdown (with each attack's rounds).

use std::fmt::Write;

use super::CounterexampleOutcome;

fn pct(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:.1}%"))
}

fn verdict(o: &CounterexampleOutcome) -> &'static str {
    if o.exposed {
        "exposed"
    } else {
        "survives"
    }
}

/// One line per counterexample: naive, adversary and true % loss recovered, the verdict.
pub fn terminal(outcomes: &[CounterexampleOutcome]) -> String {
    let mut s = format!(
        "{:<20} {:>16} {:>10} {:>8} {:>9} {:>6}  first move\n",
        "counterexample", "naive", "adversary", "truth", "verdict", "moves"
    );
    for o in outcomes {
        let _ = writeln!(
            s,
            "{:<20} {:>8.1}% ± {:<4.1} {:>9.1}% {:>8} {:>9} {:>6}  {}",
            o.name,
            o.naive_pct,
            o.naive_stderr,
            o.adversary_pct,
            pct(o.truth_pct),
            verdict(o),
            o.moves_tried,
            o.chosen_move.as_deref().unwrap_or("none applied")
        );
        for a in &o.also {
            let _ = writeln!(
                s,
                "{:<20} {}: {:.1}% ± {:.1}",
                "", a.hypothesis, a.pct_recovered, a.pct_stderr
            );
        }
    }
    s
}

/// A markdown report: the summary table, then each claim and its attack.
pub fn markdown(outcomes: &[CounterexampleOutcome]) -> String {
    let mut s = String::from("# Counterexamples\n\n");
    s.push_str("| counterexample | naive | adversary | truth | verdict | moves tried |\n");
    s.push_str("|---|---|---|---|---|---|\n");
    for o in outcomes {
        let _ = writeln!(
            s,
            "| {} | {:.1}% ± {:.1} | {:.1}% | {} | {} | {} |",
            o.name,
            o.naive_pct,
            o.naive_stderr,
            o.adversary_pct,
            pct(o.truth_pct),
            verdict(o),
            o.moves_tried
        );
    }
    for o in outcomes {
        let _ = write!(s, "\n## {}\n\nClaim: {}\n\n", o.name, o.claim);
        for a in &o.also {
            let _ = writeln!(
                s,
                "- {}: {:.1}% ± {:.1} recovered",
                a.hypothesis, a.pct_recovered, a.pct_stderr
            );
        }
        s.push('\n');
        s.push_str(&o.attack.markdown());
    }
    s
}
