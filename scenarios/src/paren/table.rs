//! The write-up's paren table (experiments 0a–4): every shipped hypothesis scored on the
//! same samples and seed, beside the write-up's figures.

use std::path::Path;

use serde::Serialize;

use scrub_core::scrub::hypothesis::HypothesisFile;

use super::experiment::{baselines, run_file, ExperimentResult};
use super::scrub::ParenScrub;
use crate::error::ScenarioError;
use crate::progress::Progress;
use crate::scrub_graph::ScrubExecutor;

/// A shipped hypothesis: its name, file text, and the write-up's loss and % recovered.
pub struct Shipped {
    pub name: &'static str,
    pub text: &'static str,
    pub write_up_loss: f64,
    pub write_up_pct: f64,
}

macro_rules! shipped {
    ($($name:literal => $loss:expr, $pct:expr;)*) => {
        /// The hypotheses under `scenarios/paren/hypotheses/`, in the write-up's order.
        pub const SHIPPED: &[Shipped] = &[$(Shipped {
            name: $name,
            text: include_str!(concat!("../../paren/hypotheses/", $name, ".ron")),
            write_up_loss: $loss,
            write_up_pct: $pct,
        }),*];
    };
}

shipped! {
    "0a" => 0.0003, 100.0;
    "0b" => 4.30, 0.0;
    "1a" => 0.52, 88.0;
    "1b" => 0.30, 93.0;
    "2a" => 0.55, 88.0;
    "2b" => 0.53, 88.0;
    "3a" => 0.97, 77.0;
    "3b" => 0.68, 84.0;
    "3c" => 0.69, 84.0;
    "3d" => 0.81, 81.0;
    "4" => 1.22, 72.0;
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct TableRow {
    #[serde(flatten)]
    pub result: ExperimentResult,
    pub write_up_loss: f64,
    pub write_up_pct: f64,
}

/// The whole table and its settings.
#[derive(Debug, Clone, Serialize)]
pub struct ParenTable {
    pub samples: usize,
    pub seed: u64,
    pub balanced_fraction: f64,
    pub executor: String,
    pub seconds: f64,
    pub rows: Vec<TableRow>,
}

/// Scores every shipped hypothesis on `samples` samples with `seed`.
pub fn run_table(
    scrub: &ParenScrub,
    exec: &ScrubExecutor,
    base: &scrub_core::scrub::transformer::TransformerGraph,
    samples: usize,
    seed: u64,
    progress: &Progress,
) -> Result<ParenTable, ScenarioError> {
    let start = std::time::Instant::now();
    let graph = exec.graph();
    let l = baselines(scrub, graph, samples, seed, progress)?;
    let mut rows = Vec::new();
    for s in SHIPPED {
        let path = format!("scenarios/paren/hypotheses/{}.ron", s.name);
        let file = HypothesisFile::parse(s.text, Path::new(&path))?;
        tracing::info!(hypothesis = s.name, "scrubbing");
        let result = run_file(
            scrub,
            graph,
            base,
            &file,
            s.name,
            samples,
            seed,
            l,
            exec.name(),
            progress,
        )?;
        rows.push(TableRow {
            result,
            write_up_loss: s.write_up_loss,
            write_up_pct: s.write_up_pct,
        });
    }
    let balanced_fraction = rows.first().map_or(0.0, |r| r.result.balanced_fraction);
    Ok(ParenTable {
        samples,
        seed,
        balanced_fraction,
        executor: exec.name().into(),
        seconds: start.elapsed().as_secs_f64(),
        rows,
    })
}

impl ParenTable {
    /// The table as markdown, with the settings every number depends on.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "# Paren balancer: causal scrubbing experiments 0a–4\n\n{} samples, seed {}, scrubbing pool {:.1}% balanced, executor {}; {:.1} s.\n\
             % loss recovered = (L_0b − L) / (L_0b − L_0a), with 0a and 0b measured on the same samples.\n\
             The write-up's columns are from its own data (26% balanced) and 2000 samples.\n\n",
            self.samples,
            self.seed,
            100.0 * self.balanced_fraction,
            self.executor,
            self.seconds
        );
        s.push_str("| hypothesis | loss ± s.e. | % recovered | accuracy | loss (balanced refs) | loss (unbalanced refs) | write-up loss | write-up % |\n");
        s.push_str("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for r in &self.rows {
            let x = &r.result;
            s.push_str(&format!(
                "| {} | {:.4} ± {:.4} | {:.1}% | {:.1}% | {:.4} | {:.4} | {} | {:.0}% |\n",
                x.hypothesis,
                x.loss,
                x.stderr,
                x.pct_recovered,
                100.0 * x.accuracy,
                x.loss_balanced,
                x.loss_unbalanced,
                r.write_up_loss,
                r.write_up_pct
            ));
        }
        s
    }

    /// A terminal table.
    pub fn terminal(&self) -> String {
        let mut s = format!(
            "{:<4} {:>18} {:>8} {:>8} {:>10} {:>10} {:>9} {:>6}\n",
            "hyp", "loss ± s.e.", "% rec", "acc", "L(bal)", "L(unbal)", "write-up", "w-u %"
        );
        for r in &self.rows {
            let x = &r.result;
            s.push_str(&format!(
                "{:<4} {:>18} {:>7.1}% {:>7.1}% {:>10.4} {:>10.4} {:>9} {:>5.0}%\n",
                x.hypothesis,
                format!("{:.4} ± {:.4}", x.loss, x.stderr),
                x.pct_recovered,
                100.0 * x.accuracy,
                x.loss_balanced,
                x.loss_unbalanced,
                r.write_up_loss,
                r.write_up_pct
            ));
        }
        s.push_str(&format!(
            "{} samples, seed {}, pool {:.1}% balanced, executor {}, {:.1} s\n",
            self.samples,
            self.seed,
            100.0 * self.balanced_fraction,
            self.executor,
            self.seconds
        ));
        s
    }
}
