//! Hugging Face checkpoints' `config.json` (what `PretrainedConfig.save_pretrained` writes),
//! mapped onto [`ModelConfig`], one module per model family.
//!
//! The `model_type` field picks the family; any other is a [`ModelError::HfModelType`] listing
//! the supported ones ([`SUPPORTED_MODEL_TYPES`]). Within a family the policy is
//! TransformerLens's ([`super::tl_json`]): every field is mapped, checked to hold the value
//! under which scrub computes the same function (any other value a [`ModelError::HfField`]
//! naming it), moot, or known not to change the forward pass (dropout, generation settings,
//! token ids, the storage dtype); any other key is a [`ModelError::HfUnknownField`], since
//! it may be a switch that changes the computation.
//!
//! Adding a family: a module here turning the JSON into an [`HfConfig`], a variant of
//! [`HfFamily`], and its tensor names in `weights/hf/`.

use std::path::Path;

use serde_json::{Map, Value};

use super::{ActFn, ModelConfig};
use crate::error::{ModelError, Result};

pub mod gpt2;
pub mod llama;
pub mod neox;

/// The `model_type` values scrub reads.
pub const SUPPORTED_MODEL_TYPES: &[&str] = &["gpt2", "gpt_neox", "llama", "qwen2"];

/// The architecture family of a Hugging Face checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum HfFamily {
    /// `model_type: "gpt2"`: `GPT2LMHeadModel` / `GPT2Model`.
    Gpt2,
    /// `model_type: "llama"`: `LlamaForCausalLM` / `LlamaModel`.
    Llama,
    /// `model_type: "qwen2"`: `Qwen2ForCausalLM` / `Qwen2Model` (Llama with q/k/v biases).
    Qwen2,
    /// `model_type: "gpt_neox"`: `GPTNeoXForCausalLM` / `GPTNeoXModel` (Pythia).
    GptNeox,
}

impl HfFamily {
    /// The `model_type` string of the family.
    pub fn model_type(self) -> &'static str {
        match self {
            HfFamily::Gpt2 => "gpt2",
            HfFamily::Llama => "llama",
            HfFamily::Qwen2 => "qwen2",
            HfFamily::GptNeox => "gpt_neox",
        }
    }

    /// The language-model class a checkpoint of the family is read as when its config
    /// names none.
    pub fn causal_lm(self) -> &'static str {
        match self {
            HfFamily::Gpt2 => "GPT2LMHeadModel",
            HfFamily::Llama => "LlamaForCausalLM",
            HfFamily::Qwen2 => "Qwen2ForCausalLM",
            HfFamily::GptNeox => "GPTNeoXForCausalLM",
        }
    }

    /// The config field holding the number of layers.
    pub fn layers_field(self) -> &'static str {
        match self {
            HfFamily::Gpt2 => "n_layer",
            HfFamily::Llama | HfFamily::Qwen2 | HfFamily::GptNeox => "num_hidden_layers",
        }
    }
}

/// A Hugging Face config read for scrub: the model's hyperparameters and what the weight
/// loader needs to know beyond them.
#[derive(Debug, Clone, PartialEq)]
pub struct HfConfig {
    pub family: HfFamily,
    pub config: ModelConfig,
    /// Whether the output matrix is the token embedding (`tie_word_embeddings`).
    pub tie_word_embeddings: bool,
    /// The `architectures` entry (e.g. `GPT2LMHeadModel`), if the file names one.
    pub architecture: Option<String>,
    /// Whether the q, k and v projections have biases (GPT-2 and Qwen2 always; Llama when
    /// `attention_bias`).
    pub qkv_bias: bool,
    /// Whether the output projection has a bias (GPT-2 always; Llama when `attention_bias`).
    pub o_bias: bool,
}

/// Fields every `PretrainedConfig` may carry that do not change what a model computes:
/// bookkeeping, token ids, generation settings, output switches, label names.
pub const COMMON_HARMLESS: &[&str] = &[
    "_name_or_path",
    "_commit_hash",
    "_attn_implementation",
    "attn_implementation",
    "_num_labels",
    "transformers_version",
    // Weights are widened to f32 and every executor computes in f32.
    "dtype",
    "torch_dtype",
    "use_bfloat16",
    "torchscript",
    "use_cache",
    "output_attentions",
    "output_hidden_states",
    "return_dict",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "sep_token_id",
    "decoder_start_token_id",
    "tokenizer_class",
    "prefix",
    "task_specific_params",
    "finetuning_task",
    "id2label",
    "label2id",
    "num_labels",
    "problem_type",
    "gradient_checkpointing",
    "chunk_size_feed_forward",
    // Generation settings.
    "max_length",
    "min_length",
    "do_sample",
    "early_stopping",
    "num_beams",
    "num_beam_groups",
    "diversity_penalty",
    "temperature",
    "top_k",
    "top_p",
    "typical_p",
    "repetition_penalty",
    "length_penalty",
    "no_repeat_ngram_size",
    "encoder_no_repeat_ngram_size",
    "bad_words_ids",
    "num_return_sequences",
    "output_scores",
    "return_dict_in_generate",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "remove_invalid_values",
    "exponential_decay_length_penalty",
    "suppress_tokens",
    "begin_suppress_tokens",
];

/// Reads `dir/config.json`.
pub fn load(dir: &Path) -> Result<HfConfig> {
    let path = dir.join("config.json");
    if !dir.is_dir() {
        return Err(ModelError::HfFolder {
            dir: dir.to_path_buf(),
            message: "no such folder".into(),
        });
    }
    if !path.is_file() {
        return Err(ModelError::HfFolder {
            dir: dir.to_path_buf(),
            message: "it holds no config.json (a Hugging Face model folder has config.json \
                      beside model.safetensors)"
                .into(),
        });
    }
    let text = crate::text::read(&path).map_err(|e| match e {
        crate::text::TextError::Io(source) => ModelError::Io {
            path: path.clone(),
            source,
        },
        crate::text::TextError::NotUtf8(n) => ModelError::Config {
            path: path.clone(),
            line: n.line,
            column: n.column,
            message: n.to_string(),
        },
    })?;
    from_hf_json_str(&text, &path)
}

/// Parses a Hugging Face `config.json` (a leading byte-order mark dropped); `path` names
/// the source in errors.
pub fn from_hf_json_str(text: &str, path: &Path) -> Result<HfConfig> {
    let map = super::tl_json::json_object(
        text,
        path,
        "a Hugging Face config.json must be a JSON object",
    )?;
    let f = Fields {
        map: &map,
        path,
        model_type: "",
    };
    let model_type = match f.present("model_type") {
        None => {
            return Err(ModelError::HfMissingField {
                path: path.to_path_buf(),
                field: "model_type".into(),
            })
        }
        Some(_) => f.string("model_type")?,
    };
    let f = Fields { model_type, ..f };
    let hf = match model_type {
        "gpt2" => gpt2::config(&f)?,
        "llama" => llama::config(&f, HfFamily::Llama)?,
        "qwen2" => llama::config(&f, HfFamily::Qwen2)?,
        "gpt_neox" => neox::config(&f)?,
        other => {
            return Err(ModelError::HfModelType {
                path: path.to_path_buf(),
                found: Value::String(other.into()).to_string(),
                supported: SUPPORTED_MODEL_TYPES.join(", "),
            })
        }
    };
    hf.config.validate(path)?;
    Ok(hf)
}

/// What a checked field must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Must {
    /// `false` (or absent).
    False,
    /// `true` (or absent).
    True,
    /// An empty object `{}` (or absent).
    EmptyObject,
}

/// The JSON object being mapped, where it came from and its `model_type`.
pub struct Fields<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) path: &'a Path,
    pub(crate) model_type: &'a str,
}

impl Fields<'_> {
    /// Rejects keys in none of the lists, and checked fields holding another value.
    pub(crate) fn check_keys(
        &self,
        mapped: &[&str],
        must_be: &[(&str, Must, &str)],
        moot: &[&str],
        harmless: &[&str],
    ) -> Result<()> {
        for (key, value) in self.map {
            let k = key.as_str();
            let known = k == "model_type"
                || mapped.contains(&k)
                || must_be.iter().any(|(n, _, _)| *n == k)
                || moot.contains(&k)
                || harmless.contains(&k)
                || COMMON_HARMLESS.contains(&k);
            if !known {
                return Err(ModelError::HfUnknownField {
                    path: self.path.to_path_buf(),
                    model_type: self.model_type.to_string(),
                    field: key.clone(),
                    value: value.to_string(),
                });
            }
        }
        for &(name, must, why) in must_be {
            let Some(v) = self.present(name) else {
                continue;
            };
            let ok = match must {
                Must::False => v == &Value::Bool(false),
                Must::True => v == &Value::Bool(true),
                Must::EmptyObject => v.as_object().is_some_and(Map::is_empty),
            };
            if !ok {
                return Err(self.bad(name, why));
            }
        }
        Ok(())
    }

    /// The field's value, `None` when absent or `null`.
    pub(crate) fn present(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub(crate) fn bad(&self, name: &str, message: &str) -> ModelError {
        ModelError::HfField {
            path: self.path.to_path_buf(),
            field: name.into(),
            value: self.map.get(name).map_or("null".into(), Value::to_string),
            message: message.into(),
        }
    }

    /// A required positive integer.
    pub(crate) fn positive(&self, name: &str) -> Result<usize> {
        let v = self
            .present(name)
            .ok_or_else(|| ModelError::HfMissingField {
                path: self.path.to_path_buf(),
                field: name.into(),
            })?;
        match v.as_u64() {
            Some(n) if n > 0 => {
                usize::try_from(n).map_err(|_| self.bad(name, "does not fit this machine's usize"))
            }
            _ => Err(self.bad(name, "expected a positive integer")),
        }
    }

    /// A boolean, `default` when absent.
    pub(crate) fn flag(&self, name: &str, default: bool) -> Result<bool> {
        match self.present(name) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.bad(name, "expected true or false")),
        }
    }

    /// A string field that is present.
    pub(crate) fn string(&self, name: &str) -> Result<&str> {
        self.present(name)
            .and_then(Value::as_str)
            .ok_or_else(|| self.bad(name, "expected a string"))
    }

    /// A positive finite number, `default` when absent.
    pub(crate) fn positive_f32(&self, name: &str, default: f32) -> Result<f32> {
        match self.present(name) {
            None => Ok(default),
            Some(v) => match v.as_f64() {
                Some(x) if x > 0.0 && x.is_finite() => Ok(x as f32),
                _ => Err(self.bad(name, "expected a positive number")),
            },
        }
    }

    /// An MLP activation named as transformers' `ACT2FN` names it, `default` when absent.
    pub(crate) fn act_fn(&self, name: &str, default: ActFn) -> Result<ActFn> {
        if self.present(name).is_none() {
            return Ok(default);
        }
        match self.string(name)? {
            "gelu_new" => Ok(ActFn::GeluTanh),
            "gelu" => Ok(ActFn::Gelu),
            "relu" => Ok(ActFn::Relu),
            _ => Err(self.bad(
                name,
                "supported: \"gelu_new\" (tanh approximation), \"gelu\" (exact), \"relu\"",
            )),
        }
    }

    /// The single `architectures` entry, which must be one of `allowed`; `None` when absent.
    pub(crate) fn architecture(&self, allowed: &[&str]) -> Result<Option<String>> {
        let Some(v) = self.present("architectures") else {
            return Ok(None);
        };
        let why = format!(
            "supported: [{}] (another head is not a language model's unembedding)",
            allowed
                .iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join("] or [")
        );
        match v.as_array().map(Vec::as_slice) {
            Some([Value::String(a)]) if allowed.contains(&a.as_str()) => Ok(Some(a.clone())),
            _ => Err(self.bad("architectures", &why)),
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
