//! `scrub-train`: builds the induction scenario's tokenizer, token files and model.
//! See the README section "Induction model" for the commands that made the committed files.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use scrub_core::config::{ActFn, AttentionKind, Normalization, PositionalKind};
use scrub_core::ModelConfig;
use scrub_train::corpus::Corpus;
use scrub_train::tokens_file::TokenFile;
use scrub_train::train::{self, Settings};
use scrub_train::{bpe, prepare, TrainError};

/// Tokenizer, token files and training of the induction model.
#[derive(Debug, Parser)]
#[command(name = "scrub-train", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train the BPE tokenizer on the corpus's train split.
    Tokenizer {
        /// Corpus directory made by scenarios/induction/corpus.sh.
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long, default_value_t = 2048)]
        vocab: usize,
        /// Where to write the tokenizer JSON.
        #[arg(long)]
        out: PathBuf,
    },
    /// Encode the corpus: the training stream and the validation slice.
    Tokenize {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long)]
        tokenizer: PathBuf,
        /// Training stream (u16 ids + JSON sidecar).
        #[arg(long)]
        train_out: PathBuf,
        /// Validation sequences (u16 ids + JSON sidecar).
        #[arg(long)]
        validation_out: PathBuf,
        #[arg(long, default_value_t = 256)]
        n_ctx: usize,
        /// How many validation sequences to keep.
        #[arg(long, default_value_t = 1200)]
        validation_seqs: usize,
    },
    /// Train (or resume) the model.
    Train {
        /// Training stream from `tokenize`.
        #[arg(long)]
        train_tokens: PathBuf,
        /// Validation sequences from `tokenize`.
        #[arg(long)]
        validation_tokens: PathBuf,
        /// Output directory: model, config, loss curve, checkpoint (resumed if present).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value_t = 3000)]
        steps: usize,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        #[arg(long, default_value_t = 1e-3)]
        lr: f64,
        #[arg(long, default_value_t = 200)]
        warmup: usize,
        #[arg(long, default_value_t = 0.01)]
        weight_decay: f64,
        #[arg(long, default_value_t = 25)]
        eval_every: usize,
        #[arg(long, default_value_t = 100)]
        checkpoint_every: usize,
        #[arg(long, default_value_t = 32)]
        val_seqs: usize,
        /// Fraction of windows that repeat a passage of their own text (0 to 1).
        #[arg(long, default_value_t = 0.0)]
        repeat_fraction: f64,
        /// Shortest repeated passage, in tokens.
        #[arg(long, default_value_t = 8)]
        repeat_min_len: usize,
        /// Longest repeated passage, in tokens (default and cap: a quarter of the window).
        #[arg(long)]
        repeat_max_len: Option<usize>,
        /// Passages copied into each window that repeats.
        #[arg(long, default_value_t = 1)]
        repeats_per_window: usize,
    },
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// The model the scenario uses: 2 layers of 8 heads, d_model 256, d_head 32, no MLPs.
fn model_config(d_vocab: usize, n_ctx: usize) -> ModelConfig {
    ModelConfig {
        n_layers: 2,
        n_heads: 8,
        d_model: 256,
        d_head: 32,
        d_mlp: None,
        d_vocab,
        d_vocab_out: d_vocab,
        n_ctx,
        act_fn: ActFn::Relu,
        normalization: Normalization::PreLayerNorm,
        attention: AttentionKind::Causal,
        positional: PositionalKind::Shortformer,
        pad_token: None,
        ln_eps: 1e-5,
        n_kv_heads: None,
        rope_theta: 10000.0,
        gated_mlp: false,
        rotary_dim: None,
        parallel_attn_mlp: false,
    }
}

fn run(cli: Cli) -> Result<(), TrainError> {
    match cli.command {
        Command::Tokenizer { corpus, vocab, out } => {
            let c = Corpus::open(&corpus)?;
            tracing::info!(documents = c.train.files.len(), vocab, "training BPE");
            let t = bpe::train(&c.train.files, vocab)?;
            bpe::save(&t, &out)?;
            tracing::info!(path = %out.display(), "tokenizer written");
        }
        Command::Tokenize {
            corpus,
            tokenizer,
            train_out,
            validation_out,
            n_ctx,
            validation_seqs,
        } => {
            let c = Corpus::open(&corpus)?;
            let t = bpe::load(&tokenizer)?;
            let vocab = t.get_vocab_size(true);
            let train = prepare::stream(&t, &c.train)?;
            let n_train = train.len();
            prepare::write_stream(
                train,
                vocab,
                &train_out,
                &format!(
                    "train split of {}, documents joined by [END]",
                    corpus.display()
                ),
            )?;
            let val = prepare::stream(&t, &c.validation)?;
            let n_val = val.len();
            let seqs = prepare::sequences(&val, n_ctx, validation_seqs);
            let n_seqs = seqs.len() / n_ctx;
            prepare::write_sequences(
                seqs,
                n_ctx,
                vocab,
                &validation_out,
                &format!(
                    "validation split ({n_val} tokens) joined by [END], cut into consecutive windows of {} tokens with [BEGIN] in front; the first {n_seqs}",
                    n_ctx - 1
                ),
            )?;
            tracing::info!(n_train, n_val, n_seqs, "token files written");
        }
        Command::Train {
            train_tokens,
            validation_tokens,
            out,
            seed,
            steps,
            batch,
            lr,
            warmup,
            weight_decay,
            eval_every,
            checkpoint_every,
            val_seqs,
            repeat_fraction,
            repeat_min_len,
            repeat_max_len,
            repeats_per_window,
        } => {
            if !(0.0..=1.0).contains(&repeat_fraction) {
                return Err(TrainError::Invalid(format!(
                    "--repeat-fraction {repeat_fraction} is not between 0 and 1"
                )));
            }
            if repeat_min_len < 2 || repeat_max_len.is_some_and(|m| m < repeat_min_len) {
                return Err(TrainError::Invalid(format!(
                    "--repeat-min-len {repeat_min_len} must be at least 2 and at most --repeat-max-len {}",
                    repeat_max_len.map_or("(a quarter of the window)".to_string(), |m| m.to_string())
                )));
            }
            if repeat_fraction > 0.0 && repeats_per_window == 0 {
                return Err(TrainError::Invalid(format!(
                    "--repeats-per-window 0 copies nothing, but --repeat-fraction is {repeat_fraction}"
                )));
            }
            let stream = TokenFile::read(&train_tokens)?;
            let val = TokenFile::read(&validation_tokens)?;
            let n_ctx = val.meta.seq_len.ok_or_else(|| {
                TrainError::Invalid(format!(
                    "{} is a stream, not a sequence file",
                    validation_tokens.display()
                ))
            })?;
            if repeat_fraction > 0.0 && repeat_min_len > n_ctx / 4 {
                return Err(TrainError::Invalid(format!(
                    "--repeat-min-len {repeat_min_len} is longer than a quarter of the {n_ctx}-token window, the longest passage copied"
                )));
            }
            if stream.meta.vocab_size != val.meta.vocab_size {
                return Err(TrainError::Invalid(
                    "training and validation tokens come from different tokenizers".into(),
                ));
            }
            let cfg = model_config(stream.meta.vocab_size, n_ctx);
            let settings = Settings {
                seed,
                steps,
                batch,
                lr,
                warmup,
                min_lr_fraction: 0.1,
                weight_decay,
                eval_every,
                checkpoint_every,
                val_seqs,
                repeat_fraction,
                repeat_min_len,
                repeat_max_len,
                repeats_per_window,
            };
            let data = train::Data {
                stream: &stream.tokens,
                begin: stream.meta.begin_token,
                val: val.sequences().expect("sequence file").collect(),
            };
            let curve = train::run(&cfg, &settings, &data, &out)?;
            if let Some(p) = curve.last() {
                tracing::info!(step = p.step, train = p.train, val = p.val, "done");
            }
        }
    }
    Ok(())
}
