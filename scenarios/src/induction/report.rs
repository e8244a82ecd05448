//! The induction table as a person reads it: terminal text and markdown, % loss recovered
//! per hypothesis and part beside the write-up's figures.

use std::fmt::Write;

use super::experiment::Table;
use crate::cells::pct;

impl Table {
    /// Cells `(hypothesis, [q, k, v, all] as "ours (write-up)")`, in table order.
    fn grid(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for r in &self.rows {
            let cell = format!("{} ({:.0}%)", pct(r.pct_recovered, 0), r.write_up);
            match out.last_mut() {
                Some((h, cells)) if *h == r.hypothesis => cells.push(cell),
                _ => out.push((r.hypothesis.clone(), vec![cell])),
            }
        }
        out
    }

    fn settings(&self) -> String {
        format!(
            "{} samples, seed {}, {} executor; {} sequences with {} inductiony positions; {:.0} s",
            self.samples, self.seed, self.executor, self.sequences, self.examples, self.seconds
        )
    }

    /// Plain-text table for the terminal.
    pub fn terminal(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "induction: % loss recovered (write-up in parentheses); {}",
            self.settings()
        );
        let _ = writeln!(
            s,
            "model loss {:.4} ± {:.4}, baseline (induction heads on emb2) {:.4} ± {:.4}",
            self.model_loss, self.model_stderr, self.baseline_loss, self.baseline_stderr
        );
        let _ = writeln!(
            s,
            "{:<10} {:>12} {:>12} {:>12} {:>12}",
            "hypothesis", "q", "k", "v", "all"
        );
        for (h, cells) in self.grid() {
            let _ = write!(s, "{h:<10}");
            for c in cells {
                let _ = write!(s, " {c:>12}");
            }
            s.push('\n');
        }
        s
    }

    /// Markdown report with the losses behind every cell.
    pub fn markdown(&self) -> String {
        let mut s = String::from("# Induction heads: causal scrubbing\n\n");
        let _ = writeln!(s, "{}.\n", self.settings());
        let _ = writeln!(s, "Loss: {}.\n", self.loss_definition);
        let _ = writeln!(
            s,
            "Model loss {:.4} ± {:.4}; baseline (induction heads run on emb2) {:.4} ± {:.4}. \
             % recovered = (L_baseline − L) / (L_baseline − L_model).\n",
            self.model_loss, self.model_stderr, self.baseline_loss, self.baseline_stderr
        );
        s.push_str("| hypothesis | q | k | v | all |\n|---|---|---|---|---|\n");
        for (h, cells) in self.grid() {
            let _ = writeln!(s, "| {h} | {} |", cells.join(" | "));
        }
        s.push_str("\nCells: ours (the write-up's).\n\n| hypothesis | part | loss | ± | % recovered | write-up |\n|---|---|---|---|---|---|\n");
        for r in &self.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {:.4} | {:.4} | {} | {:.0} |",
                r.hypothesis,
                r.part,
                r.loss,
                r.stderr,
                pct(r.pct_recovered, 1),
                r.write_up
            );
        }
        s
    }
}
