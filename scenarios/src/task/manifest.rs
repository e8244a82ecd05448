//! `task.ron`: the one small file that makes a folder of a user's files a scenario.
//!
//! ```ron
//! Task(
//!     description: "balanced parentheses",
//!     model: (config: "model/config.json", weights: "model/model.safetensors", pad_token: Some(1)),
//!     // or a Hugging Face folder: model: (hf: "gpt2_small/"),
//!     dataset: "data.jsonl",
//!     metric: CrossEntropy(label: "label", position: At(0)),
//!     features: Some(["is_balanced", "horizon_at"]),  // default: every int, bool and string column
//!     groups: ["is_balanced"],                   // the loss is broken down by these
//!     baselines: Some((low: "hypotheses/0a.ron", high: "hypotheses/0b.ron")),
//!     predictors: {"phi": (file: "phi.npy", row: Some(1))},
//!     directions: {"d": "d.npy"},
//! )
//! ```
//! Paths are relative to the task directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::TaskError;

/// The manifest's file name inside a task directory.
pub const MANIFEST: &str = "task.ron";

/// A parsed `task.ron`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename = "Task", deny_unknown_fields)]
pub struct Manifest {
    /// What the task is, in words.
    #[serde(default)]
    pub description: String,
    pub model: ModelFiles,
    /// `.jsonl`, `.safetensors`, or a directory of `.npy` files.
    pub dataset: PathBuf,
    pub metric: MetricSpec,
    /// Columns hypotheses and the adversary may use as features (a per-position column
    /// `c` gives `c[i]`); default: every int, bool and string column except `pool`.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// Columns the loss is broken down by in reports.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The hypotheses counted as 100% and 0% recovered; default: the unscrubbed model and
    /// the whole model on a random datum.
    #[serde(default)]
    pub baselines: Option<BaselinePaths>,
    /// Per-datum vectors rewrites may name as predictors (`Predict(term, predictor)`).
    #[serde(default)]
    pub predictors: BTreeMap<String, PredictorFile>,
    /// Directions (`.npy` of `[d_model]` floats) rewrites may project onto.
    #[serde(default)]
    pub directions: BTreeMap<String, PathBuf>,
    /// Every head's attention pattern as a node of its own (`L.H.pattern`, with ports `q`
    /// and `k`), for hypotheses about queries, keys and values separately.
    #[serde(default)]
    pub attention_patterns: bool,
    /// Samples evaluated together (default: as many as keep one recomputed value of a
    /// batch near 64 MB).
    #[serde(default)]
    pub batch: Option<usize>,
    /// A bool column choosing the data scrubbing draws from (default: every datum the
    /// metric can score).
    #[serde(default)]
    pub pool: Option<String>,
}

/// The model's files: `config` and `weights`, or a Hugging Face folder `hf` (exactly one of
/// the two forms).
///
/// ```ron
/// model: (config: "model/config.json", weights: "model/model.safetensors")
/// model: (hf: "gpt2_small/")   // config.json + model.safetensors (or its shards)
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFiles {
    /// The project's RON config, or TransformerLens's config dictionary as JSON.
    #[serde(
        default,
        with = "plain_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub config: Option<PathBuf>,
    /// Safetensors in TransformerLens naming.
    #[serde(
        default,
        with = "plain_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub weights: Option<PathBuf>,
    /// A Hugging Face model folder (`config.json` with `model.safetensors` or shards listed
    /// in `model.safetensors.index.json`); supported `model_type`s:
    /// [`scrub_core::config::hf::SUPPORTED_MODEL_TYPES`].
    #[serde(
        default,
        with = "plain_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub hf: Option<PathBuf>,
    /// Token that pads ragged sequences and whose key positions attention ignores;
    /// overrides the config's.
    #[serde(default)]
    pub pad_token: Option<u32>,
}

/// Where the manifest says the model is.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource<'a> {
    /// A config file and a TransformerLens-named safetensors file.
    Files { config: &'a Path, weights: &'a Path },
    /// A Hugging Face folder.
    Hf(&'a Path),
}

impl ModelFiles {
    /// The one form the manifest uses; `manifest` names the file in errors.
    pub fn source(&self, manifest: &Path) -> Result<ModelSource<'_>, TaskError> {
        let forms = "either `config` and `weights` (a config file and TransformerLens-named \
                     safetensors) or `hf` (a Hugging Face model folder)";
        let fail = |what: String| {
            Err(TaskError::Invalid(format!(
                "{}: `model` {what}; give {forms}",
                manifest.display()
            )))
        };
        match (&self.config, &self.weights, &self.hf) {
            (Some(config), Some(weights), None) => Ok(ModelSource::Files { config, weights }),
            (None, None, Some(hf)) => Ok(ModelSource::Hf(hf)),
            (None, None, None) => fail("names no model".into()),
            (_, _, Some(_)) => fail("names both a Hugging Face folder and model files".into()),
            (Some(_), None, None) => fail("has `config` without `weights`".into()),
            (None, Some(_), None) => fail("has `weights` without `config`".into()),
        }
    }
}

/// An optional field written as its plain value (`config: "m.json"`, not `Some("m.json")`).
mod plain_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => v.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        T::deserialize(d).map(Some)
    }
}

/// Where a metric reads the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Position {
    /// A fixed position (0 is the first token).
    At(usize),
    /// Each datum's last token.
    Last,
    /// The position an int column gives per datum.
    Column(String),
    /// Every position a per-position bool column marks true, the loss averaged over them
    /// (a program's output read at every position but BOS). The label or target may then be
    /// a per-position column.
    Where(String),
}

/// How one sample's output is scored against its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MetricSpec {
    /// Cross-entropy of the class in int column `label` (a classifier's output; per position
    /// with `position: Where(..)`).
    CrossEntropy { label: String, position: Position },
    /// Next-token cross-entropy, averaged over the positions a per-position bool column
    /// selects (a language model).
    NextToken { mask: String },
    /// Logit of the token in column `incorrect` minus that of `correct` (lower is better,
    /// so that loss conventions hold; "correct" when the difference is negative).
    LogitDiff {
        correct: String,
        incorrect: String,
        position: Position,
    },
    /// Squared error of output `output` against the float or int column `target` (per
    /// position with `position: Where(..)`).
    SquaredError {
        target: String,
        position: Position,
        #[serde(default)]
        output: usize,
    },
}

impl MetricSpec {
    /// Where the metric reads, if at one position per datum.
    pub fn position(&self) -> Option<&Position> {
        match self {
            MetricSpec::CrossEntropy { position, .. }
            | MetricSpec::LogitDiff { position, .. }
            | MetricSpec::SquaredError { position, .. } => Some(position),
            MetricSpec::NextToken { .. } => None,
        }
    }
}

/// The two baseline hypothesis files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselinePaths {
    pub low: PathBuf,
    pub high: PathBuf,
}

/// A predictor: `.npy` floats, `[n_data, d_model]` placed at `row` (zero elsewhere) or
/// `[n_data, n_ctx, d_model]` whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictorFile {
    pub file: PathBuf,
    #[serde(default)]
    pub row: Option<usize>,
}

impl Manifest {
    /// Reads `dir/task.ron`; errors name the file, line and column.
    pub fn load(dir: &Path) -> Result<Manifest, TaskError> {
        let path = dir.join(MANIFEST);
        let fail = |line, column, message: String| TaskError::Manifest {
            path: path.clone(),
            line,
            column,
            message,
        };
        let text = scrub_core::text::read(&path).map_err(|e| match e {
            scrub_core::text::TextError::NotUtf8(n) => fail(n.line, n.column, n.to_string()),
            scrub_core::text::TextError::Io(e) => fail(0, 0, e.to_string()),
        })?;
        scrub_core::text::parse_ron(&text).map_err(|f| fail(f.line, f.column, f.message))
    }
}
