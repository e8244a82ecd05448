//! The training loop: AdamW with linear warmup and cosine decay, periodic validation loss,
//! checkpoints that resume exactly (parameters, optimiser moments, step, loss curve); the
//! checkpoint's parameters are the exported model (safetensors + RON config).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Tensor;
use scrub_core::ModelConfig;
use serde::{Deserialize, Serialize};

use crate::adam::{AdamConfig, AdamW};
use crate::batches;
use crate::error::{io, TrainError};
use crate::model::AttnOnly;
use crate::plot::{self, LossPoint};

/// Everything that decides a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub seed: u64,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub warmup: usize,
    /// Final learning rate as a fraction of `lr` (cosine decay).
    pub min_lr_fraction: f64,
    pub weight_decay: f64,
    pub eval_every: usize,
    pub checkpoint_every: usize,
    /// Validation sequences used for the logged validation loss.
    pub val_seqs: usize,
    /// Fraction of training windows that repeat a passage of their own text.
    #[serde(default)]
    pub repeat_fraction: f64,
    /// Shortest repeated passage, in tokens.
    #[serde(default = "default_repeat_min_len")]
    pub repeat_min_len: usize,
    /// Longest repeated passage, in tokens; `None`: a quarter of the window.
    #[serde(default)]
    pub repeat_max_len: Option<usize>,
    /// Passages copied into each window that repeats.
    #[serde(default = "default_repeats_per_window")]
    pub repeats_per_window: usize,
}

/// Runs made before the option existed used passages of at least 8 tokens.
fn default_repeat_min_len() -> usize {
    8
}

/// Runs made before the option existed copied one passage per window.
fn default_repeats_per_window() -> usize {
    1
}

impl Settings {
    /// How training windows repeat passages of their own text.
    pub fn repeats(&self) -> batches::Repeats {
        batches::Repeats {
            fraction: self.repeat_fraction,
            min_len: self.repeat_min_len,
            max_len: self.repeat_max_len,
            per_window: self.repeats_per_window,
        }
    }

    /// Learning rate at `step` (0-based).
    pub fn lr_at(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.lr * (step + 1) as f64 / self.warmup as f64;
        }
        let span = (self.steps - self.warmup).max(1) as f64;
        let t = ((step - self.warmup) as f64 / span).min(1.0);
        let min = self.lr * self.min_lr_fraction;
        min + (self.lr - min) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

/// `checkpoint.json`: where a run stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub step: usize,
    pub settings: Settings,
}

/// Files of one run's output directory.
pub struct RunDir(pub PathBuf);

impl RunDir {
    fn f(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

/// What the loop needs besides its settings.
pub struct Data<'a> {
    pub stream: &'a [u16],
    pub begin: u32,
    /// Validation sequences, each `n_ctx` tokens starting with `[BEGIN]`.
    pub val: Vec<&'a [u16]>,
}

/// Trains (or resumes) into `out`; returns the loss curve.
pub fn run(
    cfg: &ModelConfig,
    settings: &Settings,
    data: &Data,
    out: &Path,
) -> Result<Vec<LossPoint>, TrainError> {
    let dir = RunDir(out.to_path_buf());
    std::fs::create_dir_all(out).map_err(io(out))?;
    let (model, mut adam, mut curve, start) = resume_or_init(cfg, settings, &dir)?;
    let (val_x, val_y) = batches::sequences(&data.val[..settings.val_seqs.min(data.val.len())])?;
    let t0 = Instant::now();
    let base_seconds = curve.last().map_or(0.0, |p| p.seconds);
    let mut since = Vec::new();
    for step in start..settings.steps {
        let lr = settings.lr_at(step);
        let (x, y) = batches::batch(
            data.stream,
            data.begin,
            cfg.n_ctx,
            settings.batch,
            settings.seed,
            step,
            &settings.repeats(),
        )?;
        let loss = model.loss(&x, &y)?;
        let grads = loss.backward()?;
        adam.step(&model.params, &grads, lr)?;
        let l = loss.to_scalar::<f32>()? as f64;
        if !l.is_finite() {
            return Err(TrainError::Invalid(format!(
                "loss became {l} at step {step}"
            )));
        }
        since.push(l);
        let done = step + 1;
        if done % settings.eval_every == 0 || done == settings.steps {
            let val = model.loss(&val_x, &val_y)?.to_scalar::<f32>()? as f64;
            let train = since.iter().sum::<f64>() / since.len() as f64;
            since.clear();
            let p = LossPoint {
                step: done,
                train,
                val,
                lr,
                seconds: base_seconds + t0.elapsed().as_secs_f64(),
            };
            tracing::info!(
                step = done,
                train = format!("{train:.4}"),
                val = format!("{val:.4}"),
                lr = format!("{lr:.2e}"),
                "loss"
            );
            curve.push(p);
        }
        if done % settings.checkpoint_every == 0 || done == settings.steps {
            save(&dir, cfg, settings, &model, &adam, &curve, done)?;
            tracing::info!(step = done, dir = %out.display(), "checkpoint");
        }
    }
    Ok(curve)
}

type Resumed = (AttnOnly, AdamW, Vec<LossPoint>, usize);

fn resume_or_init(
    cfg: &ModelConfig,
    settings: &Settings,
    dir: &RunDir,
) -> Result<Resumed, TrainError> {
    let adam_cfg = AdamConfig {
        beta1: 0.9,
        beta2: 0.99,
        eps: 1e-8,
        weight_decay: settings.weight_decay,
        clip_norm: 1.0,
    };
    let meta_path = dir.f("checkpoint.json");
    if !meta_path.is_file() {
        let model = AttnOnly::init(cfg, settings.seed)?;
        let adam = AdamW::new(adam_cfg, &model.params)?;
        return Ok((model, adam, Vec::new(), 0));
    }
    let text = std::fs::read_to_string(&meta_path).map_err(io(&meta_path))?;
    let meta: CheckpointMeta = serde_json::from_str(&text)
        .map_err(|e| TrainError::Invalid(format!("{}: {e}", meta_path.display())))?;
    if meta.settings.seed != settings.seed || meta.settings.batch != settings.batch {
        // Other settings (steps, learning rate, repeat fraction) may change on resume;
        // training.json records each leg.
        return Err(TrainError::Invalid(format!(
            "{} was made with seed {} and batch {}; resume with the same settings or use another --out",
            meta_path.display(),
            meta.settings.seed,
            meta.settings.batch
        )));
    }
    let model = AttnOnly::load(cfg, &dir.f("model.safetensors"))?;
    let opt = dir.f("optimizer.safetensors");
    let mut all = candle_core::safetensors::load(&opt, &candle_core::Device::Cpu)?;
    let mut adam = AdamW::new(adam_cfg, &model.params)?;
    for name in model.params.keys() {
        for (prefix, store) in [("adam.m.", &mut adam.m), ("adam.v.", &mut adam.v)] {
            let t = all.remove(&format!("{prefix}{name}")).ok_or_else(|| {
                TrainError::Invalid(format!("{}: no optimiser state for {name}", opt.display()))
            })?;
            store.insert(name.clone(), t);
        }
    }
    adam.step = meta.step;
    let csv_path = dir.f("loss.csv");
    let text = std::fs::read_to_string(&csv_path).map_err(io(&csv_path))?;
    let mut curve = plot::parse_csv(&text)
        .map_err(|e| TrainError::Invalid(format!("{}: {e}", csv_path.display())))?;
    curve.retain(|p| p.step <= meta.step);
    tracing::info!(step = meta.step, "resuming");
    Ok((model, adam, curve, meta.step))
}

fn save(
    dir: &RunDir,
    cfg: &ModelConfig,
    settings: &Settings,
    model: &AttnOnly,
    adam: &AdamW,
    curve: &[LossPoint],
    step: usize,
) -> Result<(), TrainError> {
    // Parameters (model.safetensors, which is also the exported model) and optimiser
    // moments in separate files, each small enough to travel on its own.
    let mut moments: HashMap<String, Tensor> = HashMap::new();
    for (name, t) in &adam.m {
        moments.insert(format!("adam.m.{name}"), t.clone());
    }
    for (name, t) in &adam.v {
        moments.insert(format!("adam.v.{name}"), t.clone());
    }
    // Write under temporary names first and record the step last: a run killed mid-save
    // resumes from a consistent earlier state or finds the new one complete.
    let tmp = dir.f(".optimizer.safetensors.tmp");
    candle_core::safetensors::save(&moments, &tmp)?;
    let tmp_model = dir.f(".model.safetensors.tmp");
    model.save(&tmp_model)?;
    let meta = CheckpointMeta {
        step,
        settings: settings.clone(),
    };
    write(dir, "loss.csv", &plot::csv(curve))?;
    write(
        dir,
        "loss.svg",
        &plot::svg(curve, "induction model: next-token loss (nats)"),
    )?;
    let ron = ron::ser::to_string_pretty(cfg, ron::ser::PrettyConfig::default())
        .map_err(|e| TrainError::Invalid(e.to_string()))?;
    write(dir, "config.ron", &(ron + "\n"))?;
    rename(&tmp_model, &dir.f("model.safetensors"))?;
    rename(&tmp, &dir.f("optimizer.safetensors"))?;
    write(
        dir,
        "checkpoint.json",
        &(serde_json::to_string_pretty(&meta).expect("plain struct") + "\n"),
    )
}

fn write(dir: &RunDir, name: &str, text: &str) -> Result<(), TrainError> {
    let tmp = dir.f(&format!(".{name}.tmp"));
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    rename(&tmp, &dir.f(name))
}

fn rename(from: &Path, to: &Path) -> Result<(), TrainError> {
    std::fs::rename(from, to).map_err(io(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_the_floor() {
        let s = Settings {
            seed: 0,
            steps: 1000,
            batch: 1,
            lr: 1e-3,
            warmup: 100,
            min_lr_fraction: 0.1,
            weight_decay: 0.0,
            eval_every: 10,
            checkpoint_every: 100,
            val_seqs: 1,
            repeat_fraction: 0.0,
            repeat_min_len: 8,
            repeat_max_len: None,
            repeats_per_window: 1,
        };
        assert!((s.lr_at(0) - 1e-5).abs() < 1e-12);
        assert!((s.lr_at(99) - 1e-3).abs() < 1e-12);
        assert!(s.lr_at(500) < 1e-3 && s.lr_at(500) > 1e-4);
        assert!((s.lr_at(999) - 1e-4).abs() < 1e-6);
    }
}
