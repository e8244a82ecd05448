//! The write-up's paren table (experiments 0a–4): every shipped hypothesis scored on the
//! same samples and seed, beside the write-up's figures.

use std::path::{Path, PathBuf};

use serde::Serialize;

use scrub_core::scrub::hypothesis::HypothesisFile;

use super::experiment::{baselines, run_file, ExperimentResult};
use super::scrub::ParenScrub;
use crate::cells::{loss, pct};
use crate::error::ScenarioError;
use crate::progress::Progress;
use crate::scrub_graph::ScrubExecutor;

/// A write-up experiment: its file's stem, and the write-up's loss and % recovered.
pub struct Shipped {
    pub name: &'static str,
    pub write_up_loss: f64,
    pub write_up_pct: f64,
}

macro_rules! shipped {
    ($($name:literal => $loss:expr, $pct:expr;)*) => {
        /// The table's rows, in the write-up's order; each is read from `<name>.ron` of the
        /// hypotheses folder at run time, so an edited file changes the table.
        pub const SHIPPED: &[Shipped] = &[$(Shipped {
            name: $name,
            write_up_loss: $loss,
            write_up_pct: $pct,
        }),*];
    };
}

/// The committed hypothesis files of the paren table.
pub fn hypotheses_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("paren/hypotheses")
}

/// The committed hypothesis file `<name>.ron` (e.g. `3c`), read from disk.
pub fn load_shipped(name: &str) -> Result<HypothesisFile, ScenarioError> {
    Ok(HypothesisFile::load(
        &hypotheses_dir().join(format!("{name}.ron")),
    )?)
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
    /// The folder the hypothesis files were read from.
    pub hypotheses: PathBuf,
    pub samples: usize,
    pub seed: u64,
    pub balanced_fraction: f64,
    pub executor: String,
    pub seconds: f64,
    pub rows: Vec<TableRow>,
}

/// Scores every row's hypothesis file of `dir` on `samples` samples with `seed`.
#[allow(clippy::too_many_arguments)]
pub fn run_table(
    scrub: &ParenScrub,
    exec: &ScrubExecutor,
    base: &scrub_core::scrub::transformer::TransformerGraph,
    dir: &Path,
    samples: usize,
    seed: u64,
    progress: &Progress,
) -> Result<ParenTable, ScenarioError> {
    let start = std::time::Instant::now();
    let graph = exec.graph();
    // Every file is read and checked before any scrubbing, so a mistake in the last one
    // does not cost the others' work.
    let files = SHIPPED
        .iter()
        .map(|s| HypothesisFile::load(&dir.join(format!("{}.ron", s.name))))
        .collect::<Result<Vec<_>, _>>()?;
    let l = baselines(scrub, graph, base, samples, seed, progress)?;
    let mut rows = Vec::new();
    for (s, file) in SHIPPED.iter().zip(files) {
        tracing::info!(hypothesis = s.name, "scrubbing");
        let result = run_file(
            scrub,
            graph,
            base,
            &file,
            s.name,
            samples,
            seed,
            &l,
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
        hypotheses: dir.to_path_buf(),
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
                "| {} | {:.4} ± {:.4} | {} | {:.1}% | {} | {} | {} | {:.0}% |\n",
                x.hypothesis,
                x.loss,
                x.stderr,
                pct(x.pct_recovered, 1),
                100.0 * x.accuracy,
                loss(x.loss_balanced),
                loss(x.loss_unbalanced),
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
                "{:<4} {:>18} {:>8} {:>7.1}% {:>10} {:>10} {:>9} {:>5.0}%\n",
                x.hypothesis,
                format!("{:.4} ± {:.4}", x.loss, x.stderr),
                pct(x.pct_recovered, 1),
                100.0 * x.accuracy,
                loss(x.loss_balanced),
                loss(x.loss_unbalanced),
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
