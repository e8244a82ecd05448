//! The report of one attack: serialisable for `--json` and the saved JSON file, and rendered
//! as a terminal table of rounds and as markdown.

use std::fmt::Write;

use serde::Serialize;

use crate::moves::Move;
use crate::search::{Attack, EvaluatedMove, Round, Score, Tolerance};

/// What an attack found, with the settings that make it reproducible.
#[derive(Debug, Clone, Serialize)]
pub struct AttackReport {
    pub hypothesis: String,
    pub samples: usize,
    pub seed: u64,
    /// The baseline that counts as 100% recovered (paren: 0a; a task: the model).
    pub low: Reference,
    /// The baseline that counts as 0% recovered (paren: 0b; a task: all resampled).
    pub high: Reference,
    /// Moves the hypothesis permits before any is applied.
    pub moves_available: usize,
    /// Moves given to the attack (`--moves`), applied to the file's tree before the search.
    pub given_moves: Vec<Move>,
    /// The hypothesis file's own score, before the given moves, on the same samples (`None`
    /// when no moves are given: then it is `initial`).
    pub file_score: Option<Score>,
    /// The score the search starts from: the file's tree after the given moves.
    pub initial: Score,
    pub rounds: Vec<Round>,
    /// Moves evaluated in the scan that stopped the search (none applied).
    pub last_scan: Vec<EvaluatedMove>,
    #[serde(rename = "final")]
    pub final_score: Score,
    pub survives: bool,
    /// The fully scored move that decided the verdict (see [`Attack::deciding_move`]); `None`
    /// when the hypothesis survives.
    pub deciding_move: Option<EvaluatedMove>,
    pub tolerance: Tolerance,
    pub stopped: String,
}

/// One of the two reference losses, by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    /// The baseline hypothesis's name (`0a`, `model`, ...).
    pub name: String,
    pub loss: f64,
}

impl Reference {
    fn new((name, loss): (&str, f64)) -> Self {
        Reference {
            name: name.to_string(),
            loss,
        }
    }
}

impl AttackReport {
    /// The report of `attack` on `hypothesis`.
    pub fn new(
        hypothesis: impl Into<String>,
        samples: usize,
        seed: u64,
        baselines: [(&str, f64); 2],
        tolerance: Tolerance,
        attack: &Attack,
    ) -> Self {
        AttackReport {
            hypothesis: hypothesis.into(),
            samples,
            seed,
            low: Reference::new(baselines[0]),
            high: Reference::new(baselines[1]),
            moves_available: attack.moves_available,
            given_moves: Vec::new(),
            file_score: None,
            initial: attack.initial,
            rounds: attack.rounds.clone(),
            last_scan: attack.last_scan.clone(),
            final_score: attack.final_score,
            survives: attack.survives,
            deciding_move: attack.deciding_move.clone(),
            tolerance,
            stopped: attack.stopped.clone(),
        }
    }

    /// The report of an attack that started from the file's tree after `given` moves; `file`
    /// is the file's own score on the same samples.
    pub fn with_given_moves(mut self, given: Vec<Move>, file: Score) -> Self {
        if !given.is_empty() {
            self.given_moves = given;
            self.file_score = Some(file);
        }
        self
    }

    /// What the starting score is: the hypothesis, or the hypothesis after the given moves.
    fn start_label(&self) -> &'static str {
        if self.given_moves.is_empty() {
            "the hypothesis"
        } else {
            "the hypothesis after the given moves"
        }
    }

    fn verdict(&self) -> String {
        let tol = format!(
            "max({} points, {} paired standard errors)",
            self.tolerance.points, self.tolerance.stderrs
        );
        match &self.deciding_move {
            None => {
                format!("survives: no permitted move changed % loss recovered by more than {tol}")
            }
            Some(d) => format!(
                "does not survive: a permitted move changed % loss recovered by more than {tol} (deciding move: {}, {:+.1} ± {:.1} on {} samples)",
                d.mv.description, d.delta, d.delta_stderr, d.samples
            ),
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
        let pct = |x: &Score| format!("{:.1} ± {:.1}", x.pct_recovered, x.pct_stderr);
        if let Some(f) = &self.file_score {
            let _ = writeln!(
                s,
                "{:>5}  {:>16}  {:>16}  {:>8.4}  (the hypothesis file's own score)",
                "file",
                pct(f),
                "",
                f.loss
            );
            for m in &self.given_moves {
                let _ = writeln!(
                    s,
                    "{:>5}  {:>16}  {:>16}  {:>8}  {}",
                    "given", "", "", "", m.description
                );
            }
        }
        let _ = writeln!(
            s,
            "{:>5}  {:>16}  {:>16}  {:>8.4}  ({})",
            0,
            pct(&self.initial),
            "",
            self.initial.loss,
            self.start_label()
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
            "{} samples, seed {}; loss at 100% recovered {:.4} ({}), at 0% {:.4} ({}); {} moves permitted.\n",
            self.samples,
            self.seed,
            self.low.loss,
            self.low.name,
            self.high.loss,
            self.high.name,
            self.moves_available
        );
        let score = |x: &Score| {
            format!(
                "loss {:.4} ± {:.4}, {:.1} ± {:.1}% loss recovered",
                x.loss, x.stderr, x.pct_recovered, x.pct_stderr
            )
        };
        if let Some(f) = &self.file_score {
            let _ = writeln!(s, "The hypothesis file's own score: {}.\n", score(f));
            let _ = writeln!(s, "Moves given (applied before the search):\n");
            for m in &self.given_moves {
                let _ = writeln!(s, "- {}", m.description);
            }
            let _ = writeln!(
                s,
                "\nInitial, after the given moves: {}.\n",
                score(&self.initial)
            );
        } else {
            let _ = writeln!(s, "Initial: {}.\n", score(&self.initial));
        }
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

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
