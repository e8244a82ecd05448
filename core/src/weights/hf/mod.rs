//! Hugging Face checkpoint folders: `config.json` with `model.safetensors`, or shards listed
//! in `model.safetensors.index.json`, their tensors renamed into scrub's [`Weights`] by the
//! family's module (one per [`HfFamily`]).
//!
//! As for TransformerLens files, nothing is dropped silently: every tensor the config implies
//! must be present with the shape the config gives it, and every tensor in the files must be
//! one of them or a buffer the family recomputes (GPT-2's `attn.bias` and GPT-NeoX's
//! `attention.bias` causal masks, rotary `inv_freq` tables); anything else is an error naming
//! it. Shards are read one at a time and their tensors widened to f32 as they are read, so
//! loading holds at most the f32 weights and one shard's bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::config::hf::{self, HfConfig, HfFamily};
use crate::error::{ModelError, Result};

use super::Model;

mod gpt2;
mod llama;
mod neox;

/// The single-file weights of a Hugging Face folder.
pub const SAFETENSORS: &str = "model.safetensors";
/// The index of a sharded checkpoint.
pub const INDEX: &str = "model.safetensors.index.json";

/// A model read from a Hugging Face folder, with what was found in its files.
#[derive(Debug, Clone)]
pub struct HfCheckpoint {
    pub model: Model,
    pub family: HfFamily,
    /// The config's `architectures` entry, if any.
    pub architecture: Option<String>,
    pub tie_word_embeddings: bool,
    /// The safetensors files read, in order.
    pub files: Vec<PathBuf>,
    /// Element types of the parameters in the files (`F32`, `F16`, `BF16`).
    pub dtypes: Vec<String>,
    /// Parameters stored in the files (a tied embedding counted once; buffers not counted).
    pub n_params: usize,
}

impl HfCheckpoint {
    /// Reads the Hugging Face folder `dir`.
    pub fn load(dir: &Path) -> Result<HfCheckpoint> {
        let hf = hf::load(dir)?;
        let files = weight_files(dir)?;
        let listed = files.iter().map(|(_, l)| l.len()).sum();
        let mut tensors = Tensors::new(&hf, dir, listed);
        for (file, listed) in &files {
            tensors.read(file, listed)?;
        }
        let dtypes = tensors.dtypes.iter().cloned().collect();
        let n_params = tensors.n_params;
        let weights = match hf.family {
            HfFamily::Gpt2 => gpt2::assemble(&hf, tensors)?,
            HfFamily::Llama | HfFamily::Qwen2 => llama::assemble(&hf, tensors)?,
            HfFamily::GptNeox => neox::assemble(&hf, tensors)?,
        };
        Ok(HfCheckpoint {
            model: Model {
                config: hf.config,
                weights,
            },
            family: hf.family,
            architecture: hf.architecture,
            tie_word_embeddings: hf.tie_word_embeddings,
            files: files.into_iter().map(|(f, _)| f).collect(),
            dtypes,
            n_params,
        })
    }
}

impl Model {
    /// Loads a Hugging Face model folder (`config.json` and `model.safetensors` or its
    /// shards); see [`HfCheckpoint`]. Supported `model_type`s:
    /// [`hf::SUPPORTED_MODEL_TYPES`].
    pub fn load_hf(dir: &Path) -> Result<Model> {
        Ok(HfCheckpoint::load(dir)?.model)
    }
}

/// The safetensors files of `dir`, each with the tensors the index says it holds (empty for
/// a single file).
fn weight_files(dir: &Path) -> Result<Vec<(PathBuf, Vec<String>)>> {
    let index = dir.join(INDEX);
    if index.is_file() {
        return shards(&index, dir);
    }
    let single = dir.join(SAFETENSORS);
    if single.is_file() {
        return Ok(vec![(single, Vec::new())]);
    }
    let pytorch = ["pytorch_model.bin", "pytorch_model.bin.index.json"]
        .iter()
        .find(|n| dir.join(n).is_file());
    let message = match pytorch {
        Some(n) => format!(
            "it holds {n} but no {SAFETENSORS}: convert it with\n  python -c \"from transformers \
             import AutoModelForCausalLM; AutoModelForCausalLM.from_pretrained('{d}')\
             .save_pretrained('{d}', safe_serialization=True)\"",
            d = dir.display()
        ),
        None => format!("it holds neither {SAFETENSORS} nor {INDEX}"),
    };
    Err(ModelError::HfFolder {
        dir: dir.to_path_buf(),
        message,
    })
}

/// The shards an index lists, each with its tensors; a listed shard that is not there is a
/// [`ModelError::MissingShard`].
fn shards(index: &Path, dir: &Path) -> Result<Vec<(PathBuf, Vec<String>)>> {
    let text = std::fs::read_to_string(index).map_err(|source| ModelError::Io {
        path: index.to_path_buf(),
        source,
    })?;
    let bad = |message: String| ModelError::ConfigValue {
        path: index.to_path_buf(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(crate::text::strip_bom(&text)).map_err(|e| ModelError::Config {
            path: index.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
    let map = value
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| bad("no `weight_map` object (tensor name → shard file)".into()))?;
    let mut by_shard: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (tensor, shard) in map {
        let shard = shard
            .as_str()
            .ok_or_else(|| bad(format!("`weight_map` entry `{tensor}` is not a file name")))?;
        if Path::new(shard).components().count() != 1 {
            return Err(bad(format!(
                "`weight_map` entry `{tensor}` names `{shard}`, not a file beside the index"
            )));
        }
        by_shard
            .entry(shard.to_string())
            .or_default()
            .push(tensor.clone());
    }
    if by_shard.is_empty() {
        return Err(bad("`weight_map` lists no tensors".into()));
    }
    by_shard
        .into_iter()
        .map(|(shard, tensors)| {
            let path = dir.join(&shard);
            if !path.is_file() {
                return Err(ModelError::MissingShard {
                    index: index.to_path_buf(),
                    tensor: tensors[0].clone(),
                    shard,
                    path,
                });
            }
            Ok((path, tensors))
        })
        .collect()
}

/// One tensor read from a file, widened to f32.
pub(super) struct Tensor {
    /// The name in the file (with any `transformer.` prefix), for errors.
    pub file_name: String,
    /// The file it came from.
    pub path: PathBuf,
    pub data: Vec<f32>,
}

/// The tensors of a checkpoint under the family's canonical names, each checked against the
/// shape the config gives it.
pub(super) struct Tensors<'a> {
    hf: &'a HfConfig,
    dir: PathBuf,
    /// Canonical name → expected shape.
    shapes: HashMap<String, Vec<usize>>,
    got: HashMap<String, Tensor>,
    dtypes: BTreeSet<String>,
    n_params: usize,
    /// Whether the layer count was checked against the first file's tensors.
    layers_checked: bool,
    /// Tensors the index lists in all shards (0 for a single file).
    listed: usize,
}

/// A config claiming more layers than a checkpoint of `n_tensors` tensors can hold is a
/// [`ModelError::MissingTensor`] naming the first layer's tensor `first(layer)` (name and
/// expected shape) that cannot be there: listing every layer's tensors of a config claiming
/// millions of layers would not fit in memory, and such a checkpoint lacks one of its first
/// n + 1 layers anyway.
pub(super) fn check_layer_count(
    c: &crate::config::ModelConfig,
    n_tensors: usize,
    dir: &Path,
    first: impl Fn(usize) -> (String, Vec<usize>),
) -> Result<()> {
    if c.n_layers > n_tensors + 1 {
        let (name, expected) = first(n_tensors + 1);
        return Err(ModelError::MissingTensor {
            path: dir.to_path_buf(),
            name,
            expected,
        });
    }
    Ok(())
}

/// `t` [rows, cols] transposed to [cols, rows].
pub(super) fn transpose(t: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; t.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = t[r * cols + c];
        }
    }
    out
}

impl<'a> Tensors<'a> {
    /// The unembedding `[d_model, d_vocab_out]`: the transposed embedding `w_e` (named
    /// `embed` in the checkpoint) when the config ties them, else the output matrix `head`
    /// (`lm_head.weight`, GPT-NeoX's `embed_out.weight`). A tied checkpoint may still hold
    /// `head`, but only equal to the embedding.
    pub(super) fn unembedding(
        &mut self,
        tied: bool,
        w_e: &[f32],
        embed: &str,
        head: &str,
        d_vocab: usize,
        d_vocab_out: usize,
    ) -> Result<Vec<f32>> {
        let d = w_e.len() / d_vocab.max(1);
        let source = self
            .source(head)
            .map(|(p, n)| (p.to_path_buf(), n.to_string()));
        match (tied, self.try_take(head)) {
            (true, None) => Ok(transpose(w_e, d_vocab, d)),
            (true, Some(out)) if out != w_e => {
                let (path, name) = source.expect("a held tensor");
                Err(ModelError::TensorData {
                    path,
                    name,
                    message: format!(
                        "config.json ties the embeddings (`tie_word_embeddings` true, or the \
                         family's default), but this output matrix differs from `{embed}`"
                    ),
                })
            }
            (_, Some(out)) => Ok(transpose(&out, d_vocab_out, d)),
            (false, None) => Err(ModelError::TensorData {
                path: self.dir().to_path_buf(),
                name: head.into(),
                message: format!(
                    "config.json sets `tie_word_embeddings` false (or leaves it at the \
                     family's default, false), so the output matrix is a tensor of its own \
                     (shape {:?}), but no file of the checkpoint holds it",
                    [d_vocab_out, d]
                ),
            }),
        }
    }

    fn new(hf: &'a HfConfig, dir: &Path, listed: usize) -> Self {
        Tensors {
            hf,
            dir: dir.to_path_buf(),
            shapes: HashMap::new(),
            got: HashMap::new(),
            dtypes: BTreeSet::new(),
            n_params: 0,
            layers_checked: false,
            listed,
        }
    }

    /// Reads every tensor of `path`; `listed` are those the index says it holds.
    fn read(&mut self, path: &Path, listed: &[String]) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let st = super::store::open(&bytes, path)?;
        if !self.layers_checked {
            // Bounded by the tensors present (see `check_layer_count`).
            let n = self.listed.max(st.len());
            self.shapes = match self.hf.family {
                HfFamily::Gpt2 => gpt2::expected(self.hf, n, &self.dir)?,
                HfFamily::Llama | HfFamily::Qwen2 => llama::expected(self.hf, n, &self.dir)?,
                HfFamily::GptNeox => neox::expected(self.hf, n, &self.dir)?,
            }
            .into_iter()
            .collect();
            self.layers_checked = true;
        }
        let mut unknown = Vec::new();
        for name in st.names() {
            let canon = match self.hf.family {
                HfFamily::Gpt2 => gpt2::canonical(name),
                HfFamily::Llama | HfFamily::Qwen2 => llama::canonical(name),
                HfFamily::GptNeox => neox::canonical(name),
            };
            let Some(expected) = self.shapes.get(canon) else {
                let buffer = match self.hf.family {
                    HfFamily::Gpt2 => gpt2::is_buffer(canon, self.hf.config.n_layers),
                    HfFamily::Llama | HfFamily::Qwen2 => {
                        llama::is_buffer(canon, self.hf.config.n_layers)
                    }
                    HfFamily::GptNeox => neox::is_buffer(canon, self.hf.config.n_layers),
                };
                if !buffer {
                    unknown.push(name.to_string());
                }
                continue;
            };
            let view = st.tensor(name).expect("a listed tensor");
            if view.shape() != expected.as_slice() {
                return Err(ModelError::WrongShape {
                    path: path.to_path_buf(),
                    name: name.to_string(),
                    found: view.shape().to_vec(),
                    expected: expected.clone(),
                });
            }
            let data = super::store::widen(view.dtype(), view.data()).ok_or_else(|| {
                ModelError::WrongDtype {
                    path: path.to_path_buf(),
                    name: name.to_string(),
                    found: format!("{:?}", view.dtype()),
                }
            })?;
            if let Some((index, &value)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(ModelError::NonFinite {
                    path: path.to_path_buf(),
                    name: name.to_string(),
                    index,
                    value,
                });
            }
            if let Some(first) = self.got.get(canon) {
                return Err(ModelError::TensorData {
                    path: path.to_path_buf(),
                    name: name.to_string(),
                    message: format!(
                        "the checkpoint holds it twice (also as `{}` in {})",
                        first.file_name,
                        first.path.display()
                    ),
                });
            }
            self.dtypes.insert(format!("{:?}", view.dtype()));
            self.n_params += data.len();
            self.got.insert(
                canon.to_string(),
                Tensor {
                    file_name: name.to_string(),
                    path: path.to_path_buf(),
                    data,
                },
            );
        }
        if !unknown.is_empty() {
            unknown.sort();
            return Err(ModelError::UnusedTensors {
                path: path.to_path_buf(),
                names: unknown,
                hint: format!(
                    "they are not parameters of a {} model of this config{}",
                    self.hf
                        .architecture
                        .as_deref()
                        .unwrap_or(self.hf.family.causal_lm()),
                    self.hint()
                ),
            });
        }
        for name in listed {
            if st.tensor(name).is_err() {
                return Err(ModelError::TensorData {
                    path: path.to_path_buf(),
                    name: name.clone(),
                    message: format!("{INDEX} places it in this shard, but it is not there"),
                });
            }
        }
        Ok(())
    }

    /// Where layers beyond the config's are the likely cause.
    fn hint(&self) -> String {
        format!(
            " (config.json has {} = {})",
            self.hf.family.layers_field(),
            self.hf.config.n_layers
        )
    }

    /// Takes tensor `name` (canonical), or a [`ModelError::MissingTensor`].
    pub(super) fn take(&mut self, name: &str) -> Result<Vec<f32>> {
        self.try_take(name)
            .ok_or_else(|| ModelError::MissingTensor {
                path: self.dir.clone(),
                name: name.to_string(),
                expected: self.shapes.get(name).cloned().unwrap_or_default(),
            })
    }

    /// Takes tensor `name` (canonical) if the checkpoint holds it.
    pub(super) fn try_take(&mut self, name: &str) -> Option<Vec<f32>> {
        self.got.remove(name).map(|t| t.data)
    }

    /// The file and file name of tensor `name`, if held.
    pub(super) fn source(&self, name: &str) -> Option<(&Path, &str)> {
        self.got
            .get(name)
            .map(|t| (t.path.as_path(), t.file_name.as_str()))
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }
}
