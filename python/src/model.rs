//! `scrub_cs.Model`: a transformer loaded by scrub's loaders, and its CPU reference logits.

use std::path::{Path, PathBuf};

use numpy::{PyArray3, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use scrub_core::{CpuExecutor, Executor, TokenBatch, TokenId};

use crate::scrub_err;

/// A transformer in scrub's loaders (TransformerLens JSON or RON config with safetensors
/// weights, or a Hugging Face folder).
#[pyclass(module = "scrub_cs", frozen)]
pub struct Model {
    model: scrub_core::Model,
}

#[pymethods]
impl Model {
    /// Loads a config (a TransformerLens `cfg.to_dict()` JSON, or scrub's RON) and its
    /// safetensors weights, checking every tensor.
    #[staticmethod]
    fn from_files(py: Python<'_>, config: PathBuf, weights: PathBuf) -> PyResult<Model> {
        let model = py
            .detach(|| scrub_core::Model::load(&config, &weights))
            .map_err(scrub_err)?;
        Ok(Model { model })
    }

    /// Loads a model folder: `config.ron` or `config.json` with `model.safetensors`, or a
    /// Hugging Face checkpoint (a `config.json` with `model_type`).
    #[staticmethod]
    fn from_dir(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
        let model = py.detach(|| load_dir(&path)).map_err(scrub_err)?;
        Ok(Model { model })
    }

    /// Logits `[batch, pos, d_vocab_out]` (float32) of integer tokens `[batch, pos]`, from
    /// the CPU reference forward pass.
    fn logits<'py>(
        &self,
        py: Python<'py>,
        tokens: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray3<f32>>> {
        let tokens = token_array(tokens)?;
        let shape = tokens.shape().to_vec();
        let (n, pos) = (shape[0], shape[1]);
        let ids: Vec<TokenId> = tokens
            .as_array()
            .iter()
            .map(|&t| {
                u32::try_from(t).map(TokenId).map_err(|_| {
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "tokens: {t} is not a token id (ids are 0 ..< {})",
                        self.model.config.d_vocab
                    ))
                })
            })
            .collect::<PyResult<_>>()?;
        let batch = TokenBatch::from_sequences(ids.chunks(pos.max(1)).take(n));
        let vocab = self.model.config.d_vocab_out;
        let logits = py
            .detach(|| CpuExecutor::new(&self.model).logits(&batch))
            .map_err(scrub_err)?;
        let array = numpy::ndarray::Array3::from_shape_vec((n, pos, vocab), logits.data)
            .map_err(scrub_err)?;
        Ok(PyArray3::from_owned_array(py, array))
    }

    /// The model's configuration as a dict (scrub's field names).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(&self.model.config).map_err(scrub_err)?;
        py.import("json")?.call_method1("loads", (text,))
    }

    fn __repr__(&self) -> String {
        let c = &self.model.config;
        format!(
            "Model(n_layers={}, d_model={}, n_heads={}, d_vocab={}, n_ctx={})",
            c.n_layers, c.d_model, c.n_heads, c.d_vocab, c.n_ctx
        )
    }
}

/// Integer tokens `[batch, pos]` from a numpy array or nested lists, with a clear error for
/// anything else.
fn token_array<'py>(tokens: &Bound<'py, PyAny>) -> PyResult<PyReadonlyArray2<'py, i64>> {
    let np = tokens.py().import("numpy")?;
    let array = np.call_method1("asarray", (tokens,))?;
    let dtype = array.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    if kind != "i" && kind != "u" {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "tokens must be integers, got an array of dtype {}",
            dtype.str()?
        )));
    }
    let ndim: usize = array.getattr("ndim")?.extract()?;
    if ndim != 2 {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "tokens must have shape [batch, pos], got {} dimension(s) of shape {}",
            ndim,
            array.getattr("shape")?.str()?
        )));
    }
    // No copy when the caller's array is already int64 and C-contiguous.
    let kwargs = pyo3::types::PyDict::new(tokens.py());
    kwargs.set_item("copy", false)?;
    let array = np
        .call_method1("ascontiguousarray", (array,))?
        .call_method("astype", ("int64",), Some(&kwargs))?;
    array.extract().map_err(Into::into)
}

/// A model folder as [`Model::from_dir`] reads it.
fn load_dir(dir: &Path) -> Result<scrub_core::Model, String> {
    let weights = dir.join("model.safetensors");
    let ron = dir.join("config.ron");
    if ron.is_file() {
        return scrub_core::Model::load(&ron, &weights).map_err(|e| e.to_string());
    }
    let json = dir.join("config.json");
    let text = std::fs::read_to_string(&json).map_err(|e| {
        format!(
            "{}: no model here (need config.ron or config.json): {e}",
            dir.display()
        )
    })?;
    if text.contains("\"model_type\"") {
        scrub_core::Model::load_hf(dir).map_err(|e| e.to_string())
    } else {
        scrub_core::Model::load(&json, &weights).map_err(|e| e.to_string())
    }
}
