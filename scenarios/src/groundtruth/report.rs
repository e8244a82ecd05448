//! The ground-truth suite as a terminal table and as markdown (with each attack).

use std::fmt::Write;

use super::{Expect, Program};

fn expected(e: &Expect) -> &'static str {
    match e {
        Expect::Exact => "exact",
        Expect::Lower => "lower",
        Expect::Washout { .. } => "washout",
    }
}

fn verdict(survives: bool) -> &'static str {
    if survives {
        "survives"
    } else {
        "exposed"
    }
}

fn ok(o: &super::Outcome) -> String {
    if o.as_expected {
        "yes".into()
    } else {
        format!("NO: {}", o.why)
    }
}

/// One line per program and hypothesis: % recovered, after the attack, the verdict, the
/// deciding move, and whether that is the expected outcome.
pub fn terminal(programs: &[Program]) -> String {
    let mut s = format!(
        "{:<13} {:<10} {:>17} {:>9} {:>9} {:>8}  {:<8} deciding move\n",
        "program", "hypothesis", "recovered", "attacked", "verdict", "expected", "as exp."
    );
    for p in programs {
        for o in &p.outcomes {
            let _ = writeln!(
                s,
                "{:<13} {:<10} {:>8.1}% ± {:<5.1} {:>8.1}% {:>9} {:>8}  {:<8} {}",
                p.name,
                o.hypothesis,
                o.pct_recovered,
                o.pct_stderr,
                o.attacked_pct,
                verdict(o.survives),
                expected(&o.expect),
                ok(o),
                o.deciding_move.as_deref().unwrap_or("none")
            );
        }
        if !p.zero.is_empty() {
            let _ = writeln!(s, "{:<13} always zero: {}", "", p.zero.join(", "));
        }
    }
    s
}

/// A markdown report: the summary table, then each program's attacks.
pub fn markdown(programs: &[Program]) -> String {
    let mut s = String::from("# Ground truth: compiled transformers with known circuits\n\n");
    s.push_str("| program | hypothesis | recovered | after attack | verdict | expected | as expected | deciding move |\n");
    s.push_str("|---|---|---|---|---|---|---|---|\n");
    for p in programs {
        for o in &p.outcomes {
            let _ = writeln!(
                s,
                "| {} | {} | {:.1}% ± {:.1} | {:.1}% | {} | {} | {} | {} |",
                p.name,
                o.hypothesis,
                o.pct_recovered,
                o.pct_stderr,
                o.attacked_pct,
                verdict(o.survives),
                expected(&o.expect),
                ok(o),
                o.deciding_move.as_deref().unwrap_or("none")
            );
        }
    }
    for p in programs {
        let _ = write!(s, "\n## {} ({} data)\n\n", p.name, p.data);
        if !p.zero.is_empty() {
            let _ = writeln!(s, "Identically zero: {}.\n", p.zero.join(", "));
        }
        for o in &p.outcomes {
            let _ = writeln!(
                s,
                "### {}\n\nModel loss {:.4}, all resampled {:.4}; the hypothesis {:.4} ± {:.4}.\n",
                o.hypothesis, o.model_loss, o.random_loss, o.loss, o.stderr
            );
            if let Some(a) = &o.attack {
                s.push_str(&a.markdown());
                s.push('\n');
            }
        }
    }
    s
}
