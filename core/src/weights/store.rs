//! Reading a safetensors file against a config: the file must be safetensors (a PyTorch
//! checkpoint gets told how to convert), every tensor the config names must be there with its
//! shape, and every tensor in the file must be one the config uses or a buffer exporters leave
//! in. A file that does not match its config would otherwise load with parts of the model
//! silently dropped (a third layer, the LayerNorms, the MLPs) and give wrong logits.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use super::LayerNorm;
use crate::config::{ModelConfig, Normalization};
use crate::error::{ModelError, Result};

/// Per-layer tensors that TransformerLens and similar exporters save although they are not
/// parameters: the causal mask, the masked-score constant and rotary tables. They are
/// recomputed from the config, so a file may carry them or not.
const LAYER_BUFFERS: [&str; 4] = [
    "attn.IGNORE",
    "attn.mask",
    "attn.rotary_sin",
    "attn.rotary_cos",
];

/// Extensions PyTorch checkpoints are usually saved under.
const PYTORCH_EXTENSIONS: [&str; 4] = ["pt", "pth", "bin", "ckpt"];

/// Parses `bytes` as safetensors, explaining what is wrong where the library's message
/// would not say (a PyTorch file, a tensor whose data is cut off).
pub(super) fn open<'a>(bytes: &'a [u8], path: &Path) -> Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes).map_err(|e| {
        if is_pytorch(bytes, path) {
            return ModelError::PyTorchCheckpoint {
                path: path.to_path_buf(),
            };
        }
        if let Some((name, message)) = diagnose_offsets(bytes) {
            return ModelError::TensorData {
                path: path.to_path_buf(),
                name,
                message,
            };
        }
        ModelError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    })
}

/// A zip archive (what `torch.save` writes since PyTorch 1.6), a pickle (older `torch.save`),
/// or a file named like a checkpoint.
fn is_pytorch(bytes: &[u8], path: &Path) -> bool {
    let zip = bytes.starts_with(b"PK\x03\x04");
    let pickle = bytes.len() >= 2 && bytes[0] == 0x80 && (2..=5).contains(&bytes[1]);
    let named = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PYTORCH_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    zip || pickle || named
}

/// One tensor's entry in a safetensors header, as far as checking its offsets needs.
#[derive(serde::Deserialize)]
struct HeaderEntry {
    dtype: Dtype,
    shape: Vec<usize>,
    data_offsets: (usize, usize),
}

/// The tensor whose declared data does not fit the file, and how, when the header itself
/// reads; `None` leaves the library's message to stand.
fn diagnose_offsets(bytes: &[u8]) -> Option<(String, String)> {
    let n = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let header = bytes.get(8..8usize.checked_add(n)?)?;
    let entries: BTreeMap<String, serde_json::Value> = serde_json::from_slice(header).ok()?;
    let mut tensors: Vec<(String, HeaderEntry)> = entries
        .into_iter()
        .filter(|(k, _)| k != "__metadata__")
        .map(|(k, v)| Some((k, serde_json::from_value(v).ok()?)))
        .collect::<Option<_>>()?;
    tensors.sort_by_key(|(_, e)| e.data_offsets);
    let data_len = bytes.len() - 8 - n;
    for (name, e) in &tensors {
        let (start, end) = e.data_offsets;
        if end > data_len {
            return Some((
                name.clone(),
                format!(
                    "its data is bytes {start}..{end} of the data section, but the file holds \
                     only {data_len} data bytes: the file is cut short"
                ),
            ));
        }
        let needed = e
            .shape
            .iter()
            .try_fold(e.dtype.bitsize(), |a, &d| a.checked_mul(d))
            .map(|bits| bits.div_ceil(8));
        if end < start || needed != Some(end - start) {
            return Some((
                name.clone(),
                format!(
                    "{:?} {:?} takes {} bytes, but its offsets {start}..{end} span {}",
                    e.dtype,
                    e.shape,
                    needed.map_or("more than addressable".to_string(), |b| b.to_string()),
                    end.saturating_sub(start)
                ),
            ));
        }
    }
    None
}

/// Reads named tensors out of a safetensors file, checking each against its expected shape
/// and remembering which were read.
pub(super) struct TensorStore<'a> {
    st: SafeTensors<'a>,
    path: PathBuf,
    shapes: HashMap<String, Vec<usize>>,
    used: HashSet<String>,
}

impl<'a> TensorStore<'a> {
    /// A store over `st` (read from `path`) expecting `shapes`.
    pub(super) fn new(
        st: SafeTensors<'a>,
        path: &Path,
        shapes: HashMap<String, Vec<usize>>,
    ) -> Self {
        TensorStore {
            st,
            path: path.to_path_buf(),
            shapes,
            used: HashSet::new(),
        }
    }

    /// Tensor `name` as f32 (half-precision files widened), of its expected shape, finite.
    pub(super) fn get(&mut self, name: &str) -> Result<Vec<f32>> {
        let expected = self.shapes[name].clone();
        let view = self
            .st
            .tensor(name)
            .map_err(|_| ModelError::MissingTensor {
                path: self.path.clone(),
                name: name.to_string(),
                expected: expected.clone(),
            })?;
        if view.shape() != expected.as_slice() {
            return Err(ModelError::WrongShape {
                path: self.path.clone(),
                name: name.into(),
                found: view.shape().to_vec(),
                expected,
            });
        }
        let data = widen(view.dtype(), view.data()).ok_or_else(|| ModelError::WrongDtype {
            path: self.path.clone(),
            name: name.into(),
            found: format!("{:?}", view.dtype()),
        })?;
        if let Some((index, &value)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ModelError::NonFinite {
                path: self.path.clone(),
                name: name.into(),
                index,
                value,
            });
        }
        self.used.insert(name.to_string());
        Ok(data)
    }

    /// The LayerNorm `{prefix}.w`, `{prefix}.b`.
    pub(super) fn layer_norm(&mut self, prefix: &str) -> Result<LayerNorm> {
        Ok(LayerNorm {
            w: self.get(&format!("{prefix}.w"))?,
            b: self.get(&format!("{prefix}.b"))?,
        })
    }

    /// Rejects a file holding tensors `cfg` does not use, other than known buffers.
    pub(super) fn finish(self, cfg: &ModelConfig) -> Result<()> {
        let buffers: HashSet<String> = (0..cfg.n_layers)
            .flat_map(|l| LAYER_BUFFERS.iter().map(move |b| format!("blocks.{l}.{b}")))
            .collect();
        let mut unused: Vec<String> = self
            .st
            .names()
            .into_iter()
            .filter(|n| !self.used.contains(*n) && !buffers.contains(*n))
            .map(str::to_string)
            .collect();
        if unused.is_empty() {
            return Ok(());
        }
        unused.sort();
        Err(ModelError::UnusedTensors {
            path: self.path,
            hint: mismatch_hint(cfg, &unused),
            names: unused,
        })
    }
}

/// What in the config most likely leaves `unused` out, for the error.
fn mismatch_hint(cfg: &ModelConfig, unused: &[String]) -> String {
    let mut hints = Vec::new();
    let layer_of =
        |n: &str| -> Option<usize> { n.strip_prefix("blocks.")?.split('.').next()?.parse().ok() };
    if let Some(top) = unused
        .iter()
        .filter_map(|n| layer_of(n))
        .filter(|&l| l >= cfg.n_layers)
        .max()
    {
        hints.push(format!(
            "the file has blocks up to {top} but `n_layers` is {}",
            cfg.n_layers
        ));
    }
    if cfg.normalization != Normalization::PreLayerNorm && unused.iter().any(|n| n.contains("ln")) {
        hints.push(format!(
            "the file has LayerNorm weights but `normalization` is {:?}",
            cfg.normalization
        ));
    }
    if cfg.d_mlp.is_none() && unused.iter().any(|n| n.contains(".mlp.")) {
        hints.push("the file has MLP weights but `d_mlp` is None".to_string());
    }
    if hints.is_empty() {
        "the config does not describe these tensors".to_string()
    } else {
        hints.join("; ")
    }
}

/// `data` of element type `dtype` as f32: F32 as is, F16 and BF16 widened exactly; `None`
/// for any other type.
pub(super) fn widen(dtype: Dtype, data: &[u8]) -> Option<Vec<f32>> {
    let halves = |f: fn(u16) -> f32| {
        data.chunks_exact(2)
            .map(|c| f(u16::from_le_bytes([c[0], c[1]])))
            .collect()
    };
    Some(match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => halves(|b| half::f16::from_bits(b).to_f32()),
        Dtype::BF16 => halves(|b| half::bf16::from_bits(b).to_f32()),
        _ => return None,
    })
}
