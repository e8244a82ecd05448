//! The report of one attack: serialisable for `--json` and the saved JSON file, and rendered
//! as a terminal table of rounds and as markdown.

use std::fmt::Write;

use serde::Serialize;

use crate::search::{Attack, EvaluatedMove, Round, Score, Tolerance};

/// What an attack found, with the settings that make it reproducible.
#[derive(Debug, Clone, Serialize)]
pub struct AttackReport {
    pub hypothesis: String,
    pub samples: usize,
    pub seed: u64,
    /// Losses that count as 100% and 0% recovered (paren: 0a and 0b; induction: the
    /// unscrubbed model and the induction heads on emb2).
    pub baseline_0a: f64,
    pub baseline_0b: f64,
    /// Moves the hypothesis permits before any is applied.
    pub moves_available: usize,
    pub initial: Score,
    pub rounds: Vec<Round>,
    /// Moves evaluated in the scan that stopped the search (none applied).
    pub last_scan: Vec<EvaluatedMove>,
    #[serde(rename = "final")]
    pub final_score: Score,
    pub survives: bool,
    pub tolerance: Tolerance,
    pub stopped: String,
}

impl AttackReport {
    /// The report of `attack` on `hypothesis`.
    pub fn new(
        hypothesis: impl Into<String>,
        samples: usize,
        seed: u64,
        baselines: (f64, f64),
        tolerance: Tolerance,
        attack: &Attack,
    ) -> Self {
        AttackReport {
            hypothesis: hypothesis.into(),
            samples,
            seed,
            baseline_0a: baselines.0,
            baseline_0b: baselines.1,
            moves_available: attack.moves_available,
            initial: attack.initial,
            rounds: attack.rounds.clone(),
            last_scan: attack.last_scan.clone(),
            final_score: attack.final_score,
            survives: attack.survives,
            tolerance,
            stopped: attack.stopped.clone(),
        }
    }

    fn verdict(&self) -> String {
        let tol = format!(
            "max({} points, {} paired standard errors)",
            self.tolerance.points, self.tolerance.stderrs
        );
        if self.survives {
            format!("survives: no permitted move changed % loss recovered by more than {tol}")
        } else {
            format!(
                "does not survive: a permitted move changed % loss recovered by more than {tol}"
            )
        }
    }

    /// A table of rounds for the terminal.
    pub fn terminal(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "attack on {} ({} samples, seed {}, {} moves permitted)",
            self.hypothesis, self.samples, self.seed, self.moves_available
        );
        let _ = writeln!(
            s,
            "{:>5}  {:>16}  {:>16}  {:>8}  move",
            "round", "% recovered", "delta", "loss"
        );
        let _ = writeln!(
            s,
            "{:>5}  {:>16}  {:>16}  {:>8.4}  (the hypothesis)",
            0,
            format!(
                "{:.1} ± {:.1}",
                self.initial.pct_recovered, self.initial.pct_stderr
            ),
            "",
            self.initial.loss
        );
        for (i, r) in self.rounds.iter().enumerate() {
            let _ = writeln!(
                s,
                "{:>5}  {:>16}  {:>16}  {:>8.4}  {}",
                i + 1,
                format!("{:.1}", r.pct_recovered),
                format!("{:+.1} ± {:.1}", r.delta, r.delta_stderr),
                r.loss,
                r.mv.description
            );
        }
        let _ = writeln!(
            s,
            "final  {:.1} ± {:.1}% recovered; {}; stopped: {}",
            self.final_score.pct_recovered,
            self.final_score.pct_stderr,
            self.verdict(),
            self.stopped
        );
        s
    }

    /// The report as markdown: settings, rounds, each round's evaluated moves, verdict.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Attack on {}\n", self.hypothesis);
        let _ = writeln!(
            s,
            "{} samples, seed {}; loss at 100% recovered {:.4}, at 0% {:.4}; {} moves permitted.\n",
            self.samples, self.seed, self.baseline_0a, self.baseline_0b, self.moves_available
        );
        let _ = writeln!(
            s,
            "Initial: loss {:.4} ± {:.4}, {:.1} ± {:.1}% loss recovered.\n",
            self.initial.loss,
            self.initial.stderr,
            self.initial.pct_recovered,
            self.initial.pct_stderr
        );
        let _ = writeln!(
            s,
            "| round | move | % recovered after | delta (paired) | loss |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|");
        for (i, r) in self.rounds.iter().enumerate() {
            let _ = writeln!(
                s,
                "| {} | {} | {:.1} | {:+.2} ± {:.2} | {:.4} ± {:.4} |",
                i + 1,
                r.mv.description,
                r.pct_recovered,
                r.delta,
                r.delta_stderr,
                r.loss,
                r.stderr
            );
        }
        let _ = writeln!(
            s,
            "\nFinal: {:.1} ± {:.1}% loss recovered. Verdict: the hypothesis {}. Stopped: {}.\n",
            self.final_score.pct_recovered,
            self.final_score.pct_stderr,
            self.verdict(),
            self.stopped
        );
        let scans = self
            .rounds
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("round {}", i + 1), &r.evaluated))
            .chain(
                (!self.last_scan.is_empty())
                    .then(|| ("last scan (nothing applied)".to_string(), &self.last_scan)),
            );
        for (title, moves) in scans {
            let _ = writeln!(s, "## Moves evaluated in {title}\n");
            let _ = writeln!(s, "| move | samples | delta (paired) | beyond tolerance |");
            let _ = writeln!(s, "|---|---|---|---|");
            for e in moves {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:+.2} ± {:.2} | {} |",
                    e.mv.description,
                    e.samples,
                    e.delta,
                    e.delta_stderr,
                    if e.significant { "yes" } else { "no" }
                );
            }
            let _ = writeln!(s);
        }
        s
    }
}
