//! The report of one discovery: the settings, what was found, every scrub it took, the
//! attack's verdict, and where the circuit is known, how the found one compares; as a
//! terminal summary, markdown and JSON.

use std::fmt::Write;

use serde::Serialize;

use scrub_adversary::AttackReport;
use scrub_core::discover::Discovery;

use crate::groundtruth::Comparison;

/// What `scrub discover` reports.
#[derive(Debug, Clone, Serialize)]
pub struct DiscoverReport {
    pub scenario: String,
    /// Where the hypothesis was written.
    pub file: String,
    pub discovery: Discovery,
    /// The attack on the found hypothesis (`None` with `--no-attack`).
    pub attack: Option<AttackReport>,
    /// Against the true circuit, for a program with a `circuit.json`.
    pub truth: Option<Comparison>,
}

impl DiscoverReport {
    /// The verdict in words.
    pub fn verdict(&self) -> String {
        match &self.attack {
            None => "not attacked".into(),
            Some(a) if a.survives => format!(
                "survives the adversary: no permitted move changes % recovered by more than {} points and {} s.e. ({} moves available, {} applied)",
                a.tolerance.points,
                a.tolerance.stderrs,
                a.moves_available,
                a.rounds.len()
            ),
            Some(a) => format!(
                "exposed: {} ({:.1}% after the attack)",
                a.deciding_move
                    .as_ref()
                    .map(|m| m.mv.description.clone())
                    .unwrap_or_else(|| "a move beyond the tolerance".into()),
                a.final_score.pct_recovered
            ),
        }
    }

    fn summary_lines(&self) -> Vec<String> {
        let d = &self.discovery;
        let mut lines = vec![
            format!(
                "discovered on {}: threshold {}%, {} samples, seed {}; {} scrubs of a budget of {}{} in {:.1} s",
                self.scenario,
                d.threshold,
                d.samples,
                d.seed,
                d.scrubs,
                d.budget,
                if d.exhausted { " (spent: some nodes unexamined)" } else { "" },
                d.seconds
            ),
            format!(
                "found: {:.1} ± {:.1}% recovered (start {:.1}%), {} nodes, important components: {}",
                d.score.pct_recovered,
                d.score.pct_stderr,
                d.start.pct_recovered,
                d.nodes,
                d.components.join(", ")
            ),
            format!(
                "inputs ordered by {}; features tried (coarsest first): {}",
                if d.attribution { "attribution patching" } else { "graph position (no attribution)" },
                match d.features.is_empty() {
                    true => "none in the library".to_string(),
                    false => d
                        .features
                        .iter()
                        .map(|f| format!("{} ({})", f.name, f.classes))
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            ),
            format!("verdict: {}", self.verdict()),
        ];
        if let Some(t) = &self.truth {
            lines.push(t.summary());
        }
        lines.extend(d.warnings.iter().map(|w| format!("warning: {w}")));
        lines
    }

    /// The summary for the terminal.
    pub fn terminal(&self) -> String {
        let mut s = String::new();
        for l in self.summary_lines() {
            let _ = writeln!(s, "{l}");
        }
        s
    }

    /// The report as markdown: summary, the hypothesis, every scrub.
    pub fn markdown(&self) -> String {
        let d = &self.discovery;
        let mut s = format!("# Discovered hypothesis: {}\n\n", self.scenario);
        for l in self.summary_lines() {
            let _ = writeln!(s, "- {l}");
        }
        let _ = writeln!(s, "- file: `{}`\n", self.file);
        if let Some(t) = &self.truth {
            s += &t.markdown();
        }
        let _ = writeln!(s, "## The hypothesis\n\n```ron\n{}```\n", d.ron());
        let _ = writeln!(
            s,
            "## Every change tried\n\n| # | node | change | samples | % recovered | kept |\n|---|---|---|---:|---|---|"
        );
        for (i, t) in d.trials.iter().enumerate() {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {:.1} ± {:.1} | {} |",
                i + 1,
                t.node,
                t.change,
                t.samples,
                t.pct_recovered,
                t.pct_stderr,
                if t.accepted { "yes" } else { "no" }
            );
        }
        if let Some(a) = &self.attack {
            let _ = writeln!(s, "\n## The attack\n\n{}", a.markdown());
        }
        s
    }

    /// The report as a JSON value, the hypothesis's RON text included.
    pub fn json_value(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("the report serialises");
        v["hypothesis"] = serde_json::Value::String(self.discovery.ron());
        v
    }

    /// [`DiscoverReport::json_value`], pretty-printed.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(&self.json_value()).expect("the report serialises")
    }
}
