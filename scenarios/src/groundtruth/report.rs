//! The ground-truth suite as a terminal table and as markdown (with each attack).

use std::fmt::Write;

use super::{Expect, Outcome, Program};

fn expected(e: &Expect) -> &'static str {
    match e {
        Expect::Exact => "exact",
        Expect::Lower => "lower",
        Expect::Washout { .. } => "washout",
        Expect::Discovered => "found",
    }
}

fn verdict(survives: bool) -> &'static str {
    if survives {
        "survives"
    } else {
        "exposed"
    }
}

fn ok(o: &Outcome) -> String {
    if o.as_expected {
        "yes".into()
    } else {
        format!("NO: {}", o.why)
    }
}

/// A row's cells: program, hypothesis, % recovered ± s.e., after the attack, verdict,
/// expected, as expected, deciding move.
fn cells(program: &str, o: &Outcome) -> [String; 8] {
    [
        program.to_string(),
        o.hypothesis.clone(),
        format!("{:.1}% ± {:.1}", o.pct_recovered, o.pct_stderr),
        format!("{:.1}%", o.attacked_pct),
        verdict(o.survives).into(),
        expected(&o.expect).into(),
        ok(o),
        o.deciding_move.clone().unwrap_or_else(|| "none".into()),
    ]
}

/// One line per program and hypothesis: % recovered, after the attack, the verdict, the
/// deciding move, and whether that is the expected outcome.
pub fn terminal(programs: &[Program]) -> String {
    let mut s = format!(
        "{:<13} {:<10} {:>15} {:>9} {:>9} {:>8}  {:<8} deciding move\n",
        "program", "hypothesis", "recovered", "attacked", "verdict", "expected", "as exp."
    );
    for p in programs {
        for o in &p.outcomes {
            let [a, b, c, d, e, f, g, h] = cells(&p.name, o);
            let _ = writeln!(
                s,
                "{a:<13} {b:<10} {c:>15} {d:>9} {e:>9} {f:>8}  {g:<8} {h}"
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
            let _ = writeln!(s, "| {} |", cells(&p.name, o).join(" | "));
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
            if let Some(t) = &o.truth {
                s.push_str(&t.markdown());
            }
            if let Some(f) = &o.found {
                let _ = writeln!(s, "```ron\n{f}```\n");
            }
            if let Some(a) = &o.attack {
                s.push_str(&a.markdown());
                s.push('\n');
            }
        }
    }
    s
}
