//! `scrub induction`: the induction scenario's experiment table (no subcommand), head
//! identification, token subset and hypothesis files.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::error::ScenarioError;
use crate::induction::heads::{Head, HeadProbe, HeadScores};
use crate::induction::paths::{ModelDir, SUBSET};
use crate::induction::subset::{pair_stats, select, SubsetParams, SubsetToken};
use crate::induction::subset_file::{BetaScore, SubsetFile};
use crate::induction::{evaluation_examples, identify, Induction, InductionError, TokenFile};
use crate::output::write_result;

/// `scrub induction`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InductionArgs {
    #[command(subcommand)]
    pub command: Option<InductionCommand>,
    #[command(flatten)]
    pub table: super::induction_table::TableArgs,
}

/// What `scrub induction` does.
#[derive(Debug, Subcommand)]
pub enum InductionCommand {
    /// Score every head (prefix matching, previous token) and name the induction heads and
    /// the previous-token head by fixed thresholds.
    Heads(HeadsArgs),
    /// Show the saved "inductiony" token subset, or compute it from a token file.
    Subset(SubsetArgs),
    /// Generate the experiments' hypothesis files from the identified heads.
    Hypotheses(super::induction_table::HypothesesArgs),
}

/// Where the model is.
#[derive(Debug, Args)]
pub struct ModelDirArg {
    /// Directory with config.ron, model.safetensors, tokenizer.json, validation.u16
    /// (default: the committed scenarios/induction/model).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `scrub induction heads`.
#[derive(Debug, Args)]
pub struct HeadsArgs {
    #[command(flatten)]
    pub dir: ModelDirArg,
    /// Repeated random sequences for the prefix-matching score and the half losses.
    #[arg(long, default_value_t = 100)]
    pub sequences: usize,
    /// Length of the random block that is repeated.
    #[arg(long, default_value_t = 100)]
    pub half_len: usize,
    /// Validation sequences for the text scores (previous token on text, same token).
    #[arg(long, default_value_t = 50)]
    pub text_sequences: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `scrub induction subset`.
#[derive(Debug, Args)]
pub struct SubsetArgs {
    #[command(flatten)]
    pub dir: ModelDirArg,
    /// Compute the subset from this token file (e.g. the training stream) instead of
    /// showing the saved one.
    #[arg(long)]
    pub compute: Option<PathBuf>,
    /// Beta of the induction heuristic; default: the grid value that selects the most tokens.
    #[arg(long)]
    pub beta: Option<f64>,
    /// Minimum mean gain (nats) of the heuristic over bigrams.
    #[arg(long, default_value_t = 0.4)]
    pub threshold: f64,
    /// Minimum number of occurrences of a token.
    #[arg(long, default_value_t = 200)]
    pub min_count: usize,
    /// With --compute: save the result as subset.json in the model directory.
    #[arg(long)]
    pub write: bool,
}

fn err(e: InductionError) -> ScenarioError {
    e.into()
}

pub(super) fn run(args: InductionArgs) -> Result<(), ScenarioError> {
    match args.command {
        None => super::induction_table::table(args.table),
        Some(InductionCommand::Heads(a)) => heads(a),
        Some(InductionCommand::Subset(a)) => subset(a),
        Some(InductionCommand::Hypotheses(a)) => super::induction_table::hypotheses(a),
    }
}

fn heads(a: HeadsArgs) -> Result<(), ScenarioError> {
    let dir = ModelDir::resolve(a.dir.model_dir.as_deref()).map_err(err)?;
    let sc = Induction::load(&dir).map_err(err)?;
    let probe = HeadProbe {
        sequences: a.sequences,
        half_len: a.half_len,
        text_sequences: a.text_sequences,
        seed: a.seed,
    };
    let text = sc.validation_sequences(a.text_sequences);
    let s = identify(&sc.model, &text, &probe).map_err(err)?;
    if a.dir.json {
        println!("{}", serde_json::to_string(&s).expect("scores serialise"));
    } else {
        print_heads(&s);
    }
    Ok(())
}

fn print_heads(s: &HeadScores) {
    for (name, rows) in [
        ("prefix matching", &s.prefix_matching),
        ("previous token (random)", &s.previous_token),
        ("previous token (text)", &s.previous_token_on_text),
        ("same token", &s.same_token),
    ] {
        println!("{name} (layer: heads 0..)");
        for (l, row) in rows.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:.2}")).collect();
            println!("  {l}: {}", cells.join(" "));
        }
    }
    println!("induction heads      {}", names(&s.induction_heads));
    println!(
        "previous-token head  {}",
        s.previous_token_head
            .map_or_else(|| "none".to_string(), |h| h.to_string())
    );
    println!("self-attending heads {}", names(&s.self_attending_heads));
    println!(
        "repeated random tokens: loss {:.3} on the first half, {:.3} on the second ({} sequences of 2×{}, seed {})",
        s.repeated_first_half_loss, s.repeated_second_half_loss, s.sequences, s.half_len, s.seed
    );
}

/// `1.5, 1.6`, or `none`.
fn names(heads: &[Head]) -> String {
    if heads.is_empty() {
        return "none".into();
    }
    let v: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    v.join(", ")
}

fn subset(a: SubsetArgs) -> Result<(), ScenarioError> {
    let dir = ModelDir::resolve(a.dir.model_dir.as_deref()).map_err(err)?;
    let sc = Induction::load(&dir).map_err(err)?;
    let file = match &a.compute {
        Some(path) => {
            let f = compute_subset(&sc, path, &a).map_err(err)?;
            if a.write {
                let text = serde_json::to_string_pretty(&f).expect("subset serialises") + "\n";
                let p = write_result(dir.path(), SUBSET, &text)?;
                tracing::info!(path = %p.display(), "subset written");
            }
            f
        }
        None => SubsetFile::load(&dir.file(SUBSET), sc.model.config.d_vocab).map_err(err)?,
    };
    let examples = evaluation_examples(&sc.validation, &file.ids());
    let total = sc.validation.meta.n_tokens - sc.validation.sequences().map_or(0, |s| s.len());
    if a.dir.json {
        let j = json!({
            "beta": file.params.beta,
            "threshold": file.params.threshold,
            "min_count": file.params.min_count,
            "n_tokens": file.tokens.len(),
            "tokens": file.tokens,
            "evaluation_examples": examples.len(),
            "validation_examples": total,
            "beta_grid": file.beta_grid,
            "source": file.source,
        });
        println!("{j}");
    } else {
        println!(
            "{} inductiony tokens (beta {}, threshold {} nats, min count {}); {} of {} validation examples end on one",
            file.tokens.len(),
            file.params.beta,
            file.params.threshold,
            file.params.min_count,
            examples.len(),
            total
        );
        println!(
            "{:>6} {:>8} {:>8} {:>8}  token",
            "id", "count", "bigram", "heur."
        );
        for t in &file.tokens {
            println!(
                "{:>6} {:>8} {:>8.3} {:>8.3}  {:?}",
                t.id, t.count, t.bigram_loss, t.induction_loss, t.text
            );
        }
    }
    Ok(())
}

/// The grid of betas tried when none is given.
const BETA_GRID: [f64; 8] = [0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0];

fn compute_subset(
    sc: &Induction,
    path: &std::path::Path,
    a: &SubsetArgs,
) -> Result<SubsetFile, InductionError> {
    let f = TokenFile::read(path)?;
    if f.meta.vocab_size != sc.vocab.len() {
        return Err(InductionError::Malformed {
            path: path.to_path_buf(),
            message: format!(
                "made with a tokenizer of {} tokens; the model's has {}",
                f.meta.vocab_size,
                sc.vocab.len()
            ),
        });
    }
    // Documents: a stream splits at [END]; a sequence file's sequences are documents.
    let docs: Vec<&[u16]> = match f.sequences() {
        Some(s) => s.collect(),
        None => f
            .tokens
            .split(|&t| t as u32 == f.meta.end_token)
            .filter(|d| d.len() > 1)
            .collect(),
    };
    let betas: Vec<f64> = a.beta.map_or_else(|| BETA_GRID.to_vec(), |b| vec![b]);
    let window = sc.model.config.n_ctx - 1;
    let smoothing = 0.1;
    let stats = pair_stats(&docs, sc.vocab.len(), smoothing, window, &betas);
    let specials = [f.meta.begin_token, f.meta.end_token];
    let params_for = |beta: f64| SubsetParams {
        beta,
        threshold: a.threshold,
        min_count: a.min_count,
        smoothing,
        window,
    };
    let picks: Vec<Vec<SubsetToken>> = betas
        .iter()
        .zip(&stats)
        .map(|(&b, s)| select(s, &params_for(b), &specials, |i| sc.vocab.display(i)))
        .collect();
    // The beta under which hard induction beats bigrams by the threshold for the most
    // tokens (the first such on ties).
    let best = (0..betas.len())
        .rev()
        .max_by_key(|&i| picks[i].len())
        .expect("at least one beta");
    let params = params_for(betas[best]);
    let tokens = picks[best].clone();
    if tokens.is_empty() {
        return Err(InductionError::Invalid(format!(
            "no token gains more than {} nats with beta {}: lower --threshold or --min-count",
            params.threshold, params.beta
        )));
    }
    Ok(SubsetFile {
        params,
        source: format!("{} ({})", path.display(), f.meta.description),
        n_pairs: stats[best].count.iter().sum(),
        mean_bigram_loss: stats[best].mean_bigram_loss,
        beta_grid: betas
            .iter()
            .zip(&stats)
            .zip(&picks)
            .map(|((&beta, s), p)| BetaScore {
                beta,
                mean_induction_loss: s.mean_induction_loss,
                selected: p.len(),
            })
            .collect(),
        tokens,
    })
}
